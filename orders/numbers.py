"""Order numbers: each tenant's own run, from 1001, one more for every order placed.

On PostgreSQL a tenant's numbers come from a sequence of its own (`orders_number_t<tenant id>`).
`nextval` locks no row and is never given back: placements of one tenant do not queue on their
number (they did on a counter row, from their order's INSERT to their COMMIT, whatever their
SKUs), and a placement that rolls back leaves a gap in the run. The sequence is made with the
tenant (`number_sequence_reset`, on the tenant's post_save), by migration orders/0011 for the
tenants made before it, and otherwise by the tenant's first placement (`number_sequence_ensure`),
always starting after the counter row's last value, so a tenant's run never goes back.

Elsewhere (SQLite, the embedded default) the run is the counter row, `OrderNumber`: one UPDATE …
RETURNING in the placement's transaction, its row locked to the commit (SQLite lets one writer
in at a time anyway), a rolled-back placement giving its number back.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from orders.models import OrderNumber

FIRST_NUMBER = 1001  # the counter row's default last value is 1000


def sequence_name(tenant_id: Any) -> str:
    return f"orders_number_t{int(tenant_id)}"


def number_next_sql() -> str:
    """The next number as an SQL expression of one parameter (`sequence_name`): NULL when the
    tenant has no sequence yet (PostgreSQL only)."""
    return "nextval(to_regclass(%s))"


def number_next(tenant: Any) -> str:
    """The tenant's next order number, taken in the placement's transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {number_next_sql()}", [sequence_name(tenant.pk)])
            (value,) = cursor.fetchone()
        if value is not None:
            return str(value)
        number_sequence_ensure(tenant.pk)
        return number_next(tenant)
    table = connection.ops.quote_name(OrderNumber._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_value = last_value + 1 WHERE tenant_id = %s RETURNING last_value",
            [tenant.pk],
        )
        row = cursor.fetchone()
    if row is not None:
        return str(row[0])
    # The tenant's first order: make the counter (a concurrent first order may make it too).
    OrderNumber.objects.bulk_create([OrderNumber(tenant=tenant)], ignore_conflicts=True)
    return number_next(tenant)


def number_sequence_ensure(tenant_id: Any) -> None:
    """Make the tenant's sequence if it has none, starting after its counter row (PostgreSQL).

    Two first placements of a tenant without one queue on a transaction-level advisory lock:
    the second finds the sequence the first made once that one commits (or makes it, if that
    one rolled back)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [sequence_name(tenant_id)])
        cursor.execute(
            f"SELECT last_value FROM {connection.ops.quote_name(OrderNumber._meta.db_table)}"
            " WHERE tenant_id = %s",
            [tenant_id],
        )
        row = cursor.fetchone()
        start = row[0] + 1 if row else FIRST_NUMBER
        cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {sequence_name(tenant_id)} START WITH {int(start)}")


def number_sequence_reset(tenant_id: Any) -> None:
    """A new tenant's sequence, from FIRST_NUMBER (one left by an earlier tenant of this id, as
    a test database reusing ids leaves, is replaced). PostgreSQL only; nothing elsewhere."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SEQUENCE IF EXISTS {sequence_name(tenant_id)}")
        cursor.execute(f"CREATE SEQUENCE {sequence_name(tenant_id)} START WITH {FIRST_NUMBER}")


def number_sequence_drop(tenant_id: Any) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SEQUENCE IF EXISTS {sequence_name(tenant_id)}")


def number_last_set(tenant: Any, last_value: int) -> None:
    """The tenant's next order number is `last_value` + 1 (a seed that writes orders directly)."""
    counters = OrderNumber.objects.for_tenant(tenant)
    counters.update_or_create(tenant=tenant, defaults={"last_value": last_value})
    if connection.vendor == "postgresql":
        number_sequence_ensure(tenant.pk)
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(%s, %s)", [sequence_name(tenant.pk), last_value])


def on_tenant_saved(sender: Any, *, instance: Any, created: bool, raw: bool = False, **_: Any) -> None:
    if created and not raw:
        number_sequence_reset(instance.pk)


def on_tenant_deleted(sender: Any, *, instance: Any, **_: Any) -> None:
    number_sequence_drop(instance.pk)
