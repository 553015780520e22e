"""The order list of the storefront API, rendered from plain rows (the order page: render.py).

- `order_list_page(tenant=, ...)`: on PostgreSQL, one page of the list in one statement written
  without the ORM, for the cursor paginator (views.OrderPagination.paginate_rows); elsewhere
  `order_list_page_rows(qs)`, the selector's queryset as `.values()` (customer email joined),
  which DRF's paginator pages (it reads the `id` of a dict as well as of an object). Either page
  then goes through `order_list_rows`, which writes what `OrderListOutputSerializer` writes;
  test_read_list.py holds the statement to the selector, test_read_lean.py the rows to the
  serializer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from inventory.models import SKU
from oms.core.prepared import server_bound_cursor
from orders.api.render import money_text, qn, tenant_pk, time_text
from orders.api.serializers import OrderListOutputSerializer
from orders.models import Customer, Order, OrderLine

LIST_COLUMNS = (
    "id",
    "number",
    "channel",
    "external_id",
    "state",
    "currency",
    "total",
    "customer__email",
    "placed_at",
    "created_at",
    "updated_at",
)


def order_list_page_rows(qs: QuerySet[Order]) -> QuerySet[Order, dict[str, Any]]:
    """The columns the list shows, as dicts (what `order_list_rows` renders)."""
    return qs.values(*LIST_COLUMNS)


def order_list_page(
    *,
    tenant: Any,
    position: int | None,
    ascending: bool,
    offset: int,
    limit: int,
    state: str | None = None,
    channel: str | None = None,
    email: str | None = None,
    sku: str | None = None,
    external_id: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> list[dict[str, Any]]:
    """PostgreSQL: one page of `selectors.order_list` (the same filters, read the same way) in the
    columns of `order_list_page_rows`, newest first (`ascending`: oldest first), after the order
    `position` in that direction, skipping `offset`, at most `limit`: what DRF's cursor paginator
    reads of the queryset (views.OrderPagination.paginate_rows), written here without building
    and compiling the queryset for each request. The customer and the SKU are found by their
    unique keys, an external id by its index (orders/0012)."""
    orders, customers = qn(Order._meta.db_table), qn(Customer._meta.db_table)
    lines, skus = qn(OrderLine._meta.db_table), qn(SKU._meta.db_table)
    tenant_id = tenant_pk(tenant)
    where, params = ["o.tenant_id = %s"], [tenant_id]
    states = state.split(",") if state else []
    # One state or one channel alone: the page is read in the order of that column's index
    # (tenant, state|channel, id). Written `= %s`, PostgreSQL drops the fixed column from the
    # order and may walk the id index backwards through every newer order of other channels or
    # states (a channel whose orders are not the newest: 17 ms for 100 rows behind 30,000 newer
    # ones); written as the range [value, value] (the same rows: the collations are
    # deterministic), the column stays in the ORDER BY and only its index gives that order.
    fixed = "o.state" if len(states) == 1 and not channel else "o.channel" if channel and not states else ""
    if len(states) == 1:
        where.append("o.state >= %s AND o.state <= %s" if fixed else "o.state = %s")
        params += [states[0]] * (2 if fixed else 1)
    elif states:
        where.append("o.state = ANY(%s)")
        params.append(states)
    if channel:
        where.append("o.channel >= %s AND o.channel <= %s" if fixed else "o.channel = %s")
        params += [channel] * (2 if fixed else 1)
    if email:
        where.append(f"o.customer_id IN (SELECT id FROM {customers} WHERE tenant_id = %s AND email = %s)")
        params += [tenant_id, email.strip().lower()]
    if external_id:
        where.append("o.external_id = %s")
        params.append(external_id)
    if sku:
        where.append(
            f"o.id IN (SELECT l.order_id FROM {lines} l"
            f" JOIN {skus} k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id"
            " WHERE l.tenant_id = %s AND k.code = %s)"
        )
        params += [tenant_id, sku]
    if created_after:
        where.append("o.created_at >= %s")
        params.append(created_after)
    if created_before:
        where.append("o.created_at < %s")
        params.append(created_before)
    if position is not None:
        where.append("o.id > %s" if ascending else "o.id < %s")
        params.append(position)
    columns = _columns(utc=timezone.get_current_timezone_name() == "UTC")
    # A page whose best plan is the same whatever the values (the keys' indexes, newest first) is
    # prepared as the order page is; one whose best plan depends on them (how many orders a SKU,
    # some states or some dates hold) is planned for its values each time.
    preparable = len(states) <= 1 and not (sku or created_after or created_before)
    direction = "ASC" if ascending else "DESC"
    order_by = f"{fixed} {direction}, o.id {direction}" if fixed else f"o.id {direction}"
    with server_bound_cursor() if preparable else connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {orders} o"
            f" JOIN {customers} c ON c.tenant_id = o.tenant_id AND c.id = o.customer_id"
            f" WHERE {' AND '.join(where)}"
            f" ORDER BY {order_by} LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        return [dict(zip(LIST_COLUMNS, row, strict=True)) for row in cursor.fetchall()]


# DRF's DateTimeField in UTC, written by PostgreSQL: ISO 8601, the microseconds only when there
# are some (as datetime.isoformat), "Z". A page's three timestamps a row were a fifth of its Python
# (psycopg parsing each, then astimezone and isoformat); test_read_lean.py holds the two equal.
_UTC_TEXT = (
    "to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    " || CASE WHEN extract(microseconds FROM {c})::bigint %% 1000000 = 0 THEN ''"
    " ELSE to_char({c} AT TIME ZONE 'UTC', '.US') END || 'Z'"
)
_TIMES = ("placed_at", "created_at", "updated_at")


def _columns(*, utc: bool) -> str:
    """The page's columns; when the current time zone is UTC, its timestamps as the text shown."""
    columns = []
    for name in LIST_COLUMNS:
        if name == "customer__email":
            columns.append("c.email")
        elif utc and name in _TIMES:
            columns.append(_UTC_TEXT.format(c=f"o.{qn(name)}"))
        else:
            columns.append(f"o.{qn(name)}")
    return ", ".join(columns)


def _time(value: Any, tz: Any) -> str | None:
    return value if type(value) is str else time_text(value, tz)  # text: written by the statement


def order_list_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """`OrderListOutputSerializer(rows, many=True)` of a page of `order_list_page_rows` (or of
    `order_list_page`, whose timestamps may come as their text already)."""
    tz = timezone.get_current_timezone()
    return [
        {
            "id": str(row["id"]),
            "number": str(row["number"]),
            "channel": str(row["channel"]),
            "external_id": str(row["external_id"]),
            "state": str(row["state"]),
            "currency": str(row["currency"]),
            "total": money_text(row["total"]),
            "customer_email": str(row["customer__email"]),
            "placed_at": _time(row["placed_at"], tz),
            "created_at": _time(row["created_at"], tz),
            "updated_at": _time(row["updated_at"], tz),
        }
        for row in rows
    ]


LIST_FIELDS = tuple(OrderListOutputSerializer._declared_fields)
