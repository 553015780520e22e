"""The optimistic placement: plan on unlocked stock, write the order as planned, take the stock last.

The storefront API's hot path (services.order_create with savepoint=False). A plain placement (no
holds, no checkout reservation) whose SKUs no older order is waiting for, and that stock covers
in full, is planned on stock rows read without a lock. The order, its lines and allocations and
its timeline are then inserted once, in their final state (no UPDATE after the INSERT), and the
stock is taken in one guarded statement, the transaction's last before the Idempotency-Key record
and the commit (inventory.locks.stock_take_guarded): stock rows stay locked for that statement
and the commit only, so orders for one hot SKU do not queue behind each other's Python.

When another transaction took the units in between, the guard fails, `StockMoved` rolls the whole
placement back and the caller runs it again the locked way (services._order_create), which also
serves older backorders first, releases expired reservations and backorders what is short.
Anything this path does not cover (`placement_plan` returns None) goes the locked way at once,
in the same transaction, with nothing written yet.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import CharField, Exists, F, OuterRef
from django.utils import timezone

from inventory.allocation import (
    AllocationPlan,
    AllocationPolicy,
    DemandLine,
    ShipTo,
    candidates_from_levels,
    levels_from_rows,
    plan_allocation,
)
from inventory.locks import STOCK_ROW_FIELDS, stock_none_free_shared, stock_take_guarded
from inventory.models import SKU, StockLevel, Warehouse
from inventory.signals import stock_taken
from oms.core.inserts import insert_sql, loaded
from oms.core.prepared import server_bound_cursor
from oms.metrics import allocation_timed
from oms.models import AuditEvent
from orders.models import (
    ADDRESS_FIELDS,
    Address,
    Allocation,
    Customer,
    Order,
    OrderEvent,
    OrderLine,
)
from orders.numbers import number_next_sql, sequence_name
from orders.states import WAITING


class StockMoved(Exception):
    """The units planned on were taken by another transaction: run the placement again, locked."""


def line_key(index: int) -> str:
    return f"line:{index}"


def placement_rows(*, tenant: Any, lines: list[OrderLine]) -> list[dict[str, Any]]:
    """The stock rows of the lines' SKUs as they stand, read in one statement without locks."""
    read = stock_rows_sql if connection.vendor == "postgresql" else stock_rows
    return read(tenant, {line.sku_id for line in lines})


@allocation_timed("planned")
def placement_plan(
    *, rows: list[dict[str, Any]], lines: list[OrderLine], ship_to: ShipTo, policy: AllocationPolicy
) -> AllocationPlan | None:
    """A complete plan for these (unsaved) lines on the stock rows read (placement_rows); None when
    the locked way must decide (an older order waits for one of the SKUs, or the stock does not
    cover every unit)."""
    if any(row["waiting"] for row in rows):
        return None
    demand = [DemandLine(line_key(index), line.sku_id, line.quantity) for index, line in enumerate(lines)]
    plan = _plan(rows, demand, ship_to, policy)
    return plan if plan.is_complete else None


def _plan(
    rows: list[dict[str, Any]], demand: list[DemandLine], ship_to: ShipTo, policy: AllocationPolicy
) -> Any:
    sku_ids = {line.sku_id for line in demand}
    return plan_allocation(
        demand, candidates_from_levels(levels_from_rows(rows).values(), sku_ids), ship_to, policy
    )


def nothing_free(rows: list[dict[str, Any]], policy: AllocationPolicy) -> bool:
    """No unit free and none reserved (an expired reservation is the locked way's to release) in
    any row read, and backorders allowed: the order is backordered whole, whoever else waits."""
    return policy.allow_backorder and not any(
        row["on_hand"] - row["allocated"] - row["reserved"] > 0 or row["reserved"] > 0 for row in rows
    )


def backorder_plan(
    rows: list[dict[str, Any]], lines: list[OrderLine], ship_to: ShipTo, policy: AllocationPolicy
) -> AllocationPlan:
    """The plan for lines that find no stock: no picks, every unit backordered (keyed by position)."""
    demand = [DemandLine(line_key(index), line.sku_id, line.quantity) for index, line in enumerate(lines)]
    return _plan(rows, demand, ship_to, policy)


def stock_rows(tenant: Any, sku_ids: set[int]) -> list[dict[str, Any]]:
    """The stock rows of these SKUs (inventory.locks.STOCK_ROW_FIELDS), by pk, unlocked, each with
    `waiting`: does an older order wait for units of its SKU? The ORM's way, and the reference
    of stock_rows_sql."""
    waiting = OrderLine.objects.for_tenant(tenant).filter(
        sku_id=OuterRef("sku_id"),
        order__state__in=WAITING,
        quantity__gt=F("quantity_allocated") + F("quantity_shipped"),
    )
    return list(
        StockLevel.objects.for_tenant(tenant)
        .filter(sku_id__in=sku_ids)
        .annotate(waiting=Exists(waiting))
        .values(*STOCK_ROW_FIELDS, "waiting")
        .order_by("pk")
    )


@cache
def _stock_rows_statement() -> str:
    stock, warehouses, skus = (_qn(m._meta.db_table) for m in (StockLevel, Warehouse, SKU))
    lines, orders = _qn(OrderLine._meta.db_table), _qn(Order._meta.db_table)
    return f"""SELECT s.id, s.sku_id, s.warehouse_id, s.on_hand, s.allocated, s.reserved,
        w.code, w.latitude, w.longitude, w.priority, w.active, w.ships_to, k.code,
        EXISTS (
            SELECT 1 FROM {lines} l JOIN {orders} o ON o.tenant_id = l.tenant_id AND o.id = l.order_id
            WHERE l.tenant_id = %s::bigint AND o.state = ANY(%s::text[]) AND l.sku_id = s.sku_id
              AND l.quantity > l.quantity_allocated + l.quantity_shipped
        )
    FROM {stock} s JOIN {warehouses} w ON w.id = s.warehouse_id JOIN {skus} k ON k.id = s.sku_id
    WHERE s.tenant_id = %s::bigint AND s.sku_id = ANY(%s::bigint[])
    ORDER BY s.id"""


def stock_rows_sql(tenant: Any, sku_ids: set[int]) -> list[dict[str, Any]]:
    """stock_rows in a statement written once (PostgreSQL): the same rows, without building the
    query each time, and planned once per connection (oms.core.prepared): planning it was a
    quarter of PostgreSQL's CPU per placement, more than running it."""
    ships_to = Warehouse._meta.get_field("ships_to")
    with server_bound_cursor() as cursor:
        cursor.execute(_stock_rows_statement(), [tenant.pk, list(WAITING), tenant.pk, sorted(sku_ids)])
        found = cursor.fetchall()
    rows = []
    for *stock, shipping_to, sku_code, waiting in found:
        values = (*stock, ships_to.from_db_value(shipping_to, None, connection), sku_code)
        rows.append(dict(zip(STOCK_ROW_FIELDS, values, strict=True)) | {"waiting": waiting})
    return rows


def allocations_of(plan: AllocationPlan, lines: list[OrderLine]) -> list[Allocation]:
    """The plan's picks as Allocation rows of the lines, one per line and stock row."""
    rows: dict[tuple[int, int], Allocation] = {}
    for pick in plan.picks:
        index = int(pick.key.split(":")[1])
        line = lines[index]
        slot = (index, pick.stock_level_id)
        if slot in rows:
            rows[slot].quantity += pick.quantity
        else:
            rows[slot] = Allocation(
                tenant_id=line.tenant_id,
                order_line=line,
                stock_level_id=pick.stock_level_id,
                warehouse_id=pick.warehouse_id,
                quantity=pick.quantity,
            )
    return list(rows.values())


def lines_allocated(plan: AllocationPlan, lines: list[OrderLine]) -> None:
    for pick in plan.picks:
        lines[int(pick.key.split(":")[1])].quantity_allocated += pick.quantity


def still_nothing_free(*, tenant: Any, lines: list[OrderLine]) -> bool:
    """Checked again under a share lock (inventory.locks.stock_none_free_shared) before the order
    is written backordered: a receipt since the read sends it the locked way."""
    return stock_none_free_shared(tenant=tenant, sku_ids={line.sku_id for line in lines})


def _wanted(plan: AllocationPlan) -> dict[int, int]:
    wanted: dict[int, int] = {}
    for pick in plan.picks:
        wanted[pick.stock_level_id] = wanted.get(pick.stock_level_id, 0) + pick.quantity
    return wanted


def scarce(rows: list[dict[str, Any]], plan: AllocationPlan) -> bool:
    """Would SCARCE_ORDERS more orders like this one sell out a stock row it picks? Then the
    placement takes its units first (stock_taken_first), not last: when many orders race for the
    last units, the ones that lose find out before writing anything, and go on in their own
    transaction, instead of writing the order, rolling it all back and running again."""
    free = {row["pk"]: row["on_hand"] - row["allocated"] - row["reserved"] for row in rows}
    return any(free[pk] - units < units * SCARCE_ORDERS for pk, units in _wanted(plan).items())


SCARCE_ORDERS = 20


def stock_taken_first(*, tenant: Any, rows: list[dict[str, Any]], plan: AllocationPlan, now: Any) -> bool:
    """Take the plan's units before the order is written, all or none; False, with nothing taken,
    when another order took them since the plan (the caller reads the rows again). Every row read
    (all the stock rows of the order's SKUs) is locked with them, as the locked way would lock
    them, and stays locked while the order is written, to the commit: only scarce stock is taken
    so. On PostgreSQL the take runs in a savepoint: a refused take is rolled back to it, which
    gives its row locks back, so the orders that lost the race do not hold the rows one after
    the other to their commits (each would wait for the one before: they go on under a share of
    the rows, side by side)."""
    wanted = _wanted(plan)
    every_row = [row["pk"] for row in rows]  # what the locked way or the sold-out check lock next
    savepoint = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if savepoint:
            cursor.execute(f"SAVEPOINT {TAKE_SAVEPOINT}")
        taken = stock_take_guarded(tenant=tenant, wanted=wanted, now=now, also_lock=every_row)
        if savepoint:
            cursor.execute(f"{'RELEASE' if taken else 'ROLLBACK TO'} SAVEPOINT {TAKE_SAVEPOINT}")
    if not taken:
        return False
    stock_taken.send(sender="inventory", tenant_id=tenant.pk, stock_level_ids=sorted(wanted))
    return True


TAKE_SAVEPOINT = "oms_scarce_take"


def stock_take(*, tenant: Any, plan: AllocationPlan, now: Any) -> None:
    """Take the plan's units, all or none; StockMoved when the stock changed since the plan."""
    wanted = _wanted(plan)
    if not stock_take_guarded(tenant=tenant, wanted=wanted, now=now):
        raise StockMoved(f"Stock rows {sorted(wanted)} changed since the plan")
    stock_taken.send(sender="inventory", tenant_id=tenant.pk, stock_level_ids=sorted(wanted))


# --- statements folded together (PostgreSQL; the ORM in services.py is their reference) ---------
def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def customer_and_address(
    tenant: Any, given: dict[str, str], address: dict[str, str]
) -> tuple[Any, Any] | None:
    """The tenant's customer with this email (made on their first order, as
    services._customer_for makes it) and the new ship-to address, in one statement; None when
    the database is not PostgreSQL (the caller then runs services._customer_for and
    _address_create). A returning customer's row is only read, never locked: a placement that
    held it (as ON CONFLICT DO UPDATE would) while it waits for the tenant's order number
    deadlocks with one that holds the number and checks its foreign key to that customer at
    COMMIT. A concurrent first order of the same email meets the unique constraint, waits for
    the other to commit, inserts nothing and reads the customer the other made (one more
    statement, only in that race): both orders point at one customer."""
    if connection.vendor != "postgresql":
        return None
    email = (given.get("email") or "").strip().lower()
    now = timezone.now()
    values = {name: address.get(name) or "" for name in ADDRESS_FIELDS}
    customers, addresses = _qn(Customer._meta.db_table), _qn(Address._meta.db_table)
    columns = ", ".join(_qn(Address._meta.get_field(name).column) for name in ADDRESS_FIELDS)
    made = [tenant.pk, email, given.get("name", ""), given.get("phone", ""), now]
    params = [tenant.pk, email, *made, tenant.pk, *values.values()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH found AS (
                SELECT id, name, phone, stripe_customer_id, created_at FROM {customers}
                WHERE tenant_id = %s AND email = %s
            ), made AS (
                INSERT INTO {customers} (tenant_id, email, name, phone, stripe_customer_id, created_at)
                SELECT %s, %s, %s, %s, '', %s WHERE NOT EXISTS (SELECT 1 FROM found)
                ON CONFLICT (tenant_id, email) DO NOTHING
                RETURNING id, name, phone, stripe_customer_id, created_at
            ), address AS (
                INSERT INTO {addresses} (tenant_id, {columns})
                VALUES (%s, {", ".join(["%s"] * len(values))}) RETURNING id
            )
            SELECT c.id, c.name, c.phone, c.stripe_customer_id, c.created_at, address.id
            FROM address LEFT JOIN (SELECT * FROM found UNION ALL SELECT * FROM made) c ON true""",
            params,
        )
        customer_id, name, phone, stripe_id, created_at, address_id = cursor.fetchone()
        if customer_id is None:  # the rival's, committed while this statement waited for it
            cursor.execute(
                f"SELECT id, name, phone, stripe_customer_id, created_at FROM {customers}"
                " WHERE tenant_id = %s AND email = %s",
                [tenant.pk, email],
            )
            customer_id, name, phone, stripe_id, created_at = cursor.fetchone()
    customer = Customer(
        pk=customer_id, tenant=tenant, email=email, name=name, phone=phone,
        stripe_customer_id=stripe_id, created_at=created_at,
    )  # fmt: skip
    return loaded(customer), loaded(Address(pk=address_id, tenant=tenant, **values))


@cache
def _order_insert_statement() -> tuple[list[Any], str]:
    fields = [f for f in Order._meta.concrete_fields if not f.primary_key and f.attname != "number"]
    # Typed, for INSERT ... SELECT; text for strings, whose column then refuses what is too long.
    typed = ", ".join(f"%s::{'text' if isinstance(f, CharField) else f.db_type(connection)}" for f in fields)
    columns = ", ".join(_qn(f.column) for f in fields)
    return (
        fields,
        f"""WITH n AS (SELECT {number_next_sql()} AS value)
    INSERT INTO {_qn(Order._meta.db_table)} ({columns}, {_qn("number")})
    SELECT {typed}, n.value::text FROM n WHERE n.value IS NOT NULL
    RETURNING id, {_qn("number")}""",
    )


def order_insert_numbered(order: Order) -> bool:
    """INSERT the order with the tenant's next number taken in the same statement (its sequence's
    nextval, orders/numbers.py). False, with nothing written, when the database is not
    PostgreSQL or the tenant has no sequence yet: the caller then takes the number
    (numbers.number_next, which makes the sequence) and saves the order the ORM way."""
    if connection.vendor != "postgresql":
        return False
    fields, statement = _order_insert_statement()
    wrapper = connections[DEFAULT_DB_ALIAS]  # the connection itself: each field asks it for its ops
    values = [f.get_db_prep_save(f.pre_save(order, True), wrapper) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(statement, [sequence_name(order.tenant_id), *values])
        row = cursor.fetchone()
    if row is None:
        return False
    order.pk, order.number = row
    loaded(order)
    order._update_initial_state()  # what the FSM mixin's save() records
    return True


def lines_and_allocations_insert(plan: AllocationPlan, lines: list[OrderLine]) -> list[Allocation] | None:
    """The order's lines (an INSERT from oms.core.inserts) and the plan's allocations of them, in
    one statement: each allocation finds its line by position. The lines get their pks; the
    allocations, saved, are what allocations_of makes. None, with nothing written, when the
    database is not PostgreSQL: the caller bulk-creates both the ORM way."""
    if connection.vendor != "postgresql":
        return None
    lines_sql, lines_params = insert_sql(OrderLine, lines, returning=("id", "position"))
    made = allocations_of(plan, lines)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH l AS ({lines_sql}), a AS (
                INSERT INTO {_qn(Allocation._meta.db_table)}
                    (tenant_id, order_line_id, stock_level_id, warehouse_id, quantity, created_at)
                SELECT %s, l.id, p.stock_level_id, p.warehouse_id, p.quantity, %s
                FROM unnest(%s::integer[], %s::bigint[], %s::bigint[], %s::integer[])
                    AS p(position, stock_level_id, warehouse_id, quantity)
                JOIN l USING (position)
                RETURNING id, order_line_id, stock_level_id
            )
            SELECT l.id, l.position, NULL::bigint, NULL::bigint FROM l
            UNION ALL SELECT a.id, NULL, a.order_line_id, a.stock_level_id FROM a""",
            [
                *lines_params,
                lines[0].tenant_id,
                now,
                [a.order_line.position for a in made],
                [a.stock_level_id for a in made],
                [a.warehouse_id for a in made],
                [a.quantity for a in made],
            ],
        )
        found = cursor.fetchall()
    by_position = {line.position: line for line in lines}
    for pk, position, _, _ in found:
        if position is not None:
            loaded(by_position[position]).pk = pk
    saved = {(line_id, stock_id): pk for pk, position, line_id, stock_id in found if position is None}
    for allocation in made:
        allocation.order_line_id = allocation.order_line.pk
        allocation.pk = saved[(allocation.order_line_id, allocation.stock_level_id)]
        allocation.created_at = now
        loaded(allocation)
    return made


def timeline_and_audit_insert(events: list[OrderEvent], audit: AuditEvent | None) -> None:
    """The order's timeline events and its audit row (oms.core.audit.audit_event), written in one
    statement on PostgreSQL: the audit INSERT as a CTE of the events' INSERT, both from
    oms.core.inserts. Elsewhere (and the reference): the audit row saved, then the events bulk-created.
    Every object gets its pk. The audit row is only inserted, as the append-only table allows."""
    if connection.vendor != "postgresql" or audit is None or not events:
        if audit is not None:
            audit.save()
        OrderEvent.objects.bulk_create(events)
        return
    audit_sql, audit_params = insert_sql(AuditEvent, [audit])
    events_sql, events_params = insert_sql(OrderEvent, events)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH a AS ({audit_sql}), e AS ({events_sql})
            SELECT id, true FROM a UNION ALL SELECT id, false FROM e""",
            [*audit_params, *events_params],
        )
        found = cursor.fetchall()
    # A multi-row INSERT takes its ids from the sequence in the order of its rows.
    event_ids = sorted(pk for pk, is_audit in found if not is_audit)
    [audit.pk] = [pk for pk, is_audit in found if is_audit]
    loaded(audit)
    for event, pk in zip(events, event_ids, strict=True):
        event.pk = pk
        loaded(event)
