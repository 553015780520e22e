"""The one place returns spell select_for_update.

Lock order (the house order, orders/locks.py and inventory/locks.py): the return's order row,
then its lines (pk order), then its payments (pk order), then the return request, then its
return lines (pk order), then stock rows (inventory/locks.py, one statement). A return service
that starts from a return reads its order id without a lock, locks the order, then the return.
Every writer of a return takes the order's lock first, so two requests for the last returnable
unit of an order line queue on the order: the second sees the first's return lines.

Rows are locked FOR NO KEY UPDATE, as in the other rooms.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from returns.models import ReturnLine, ReturnRequest


def _for_update(qs: QuerySet[Any]) -> QuerySet[Any]:
    """The one spelling of a row lock in returns."""
    return qs.select_for_update(of=("self",), no_key=True)


def return_order_id(*, tenant: Any, return_id: Any) -> int:
    """The order of a return, read without a lock (it never changes).
    Raises ReturnRequest.DoesNotExist for another tenant's id."""
    return int(ReturnRequest.objects.for_tenant(tenant).values_list("order_id", flat=True).get(pk=return_id))


def return_for_update(*, tenant: Any, return_id: Any) -> ReturnRequest:
    return _for_update(ReturnRequest.objects.for_tenant(tenant)).get(pk=return_id)


def return_lines_for_update(*, return_request: ReturnRequest) -> list[ReturnLine]:
    lines = ReturnLine.objects.for_tenant(return_request.tenant_id).filter(return_request=return_request)
    return list(_for_update(lines.select_related("order_line", "sku").order_by("pk")))
