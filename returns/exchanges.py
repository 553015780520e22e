"""Exchanges: the customer sends goods back and gets other goods instead.

After inspection, `return_exchange` places a replacement order through
`orders.services.order_create`, like any order, so it is allocated normally (nearest warehouse,
split, backorder) and flows to the warehouse:
- channel `exchange`, external id the RMA number (placing it twice returns the first order);
  the original order's customer and ship-to; no shipping charge, no tax;
- each replacement SKU at its catalog price (`SKU.price`; a SKU without a price is refused,
  422 `exchange_price_unknown`), and the returned goods' value (returns/refunds.py
  `unit_value`, received units only, no restocking fee or label charge on an exchange) as
  the order's discount, so the order's total is what the customer still owes.
The price difference:
- the replacement costs the same or less: nothing to pay; the difference (value − price) is
  refunded to the original payment, through the same refund rows and task as a refund;
- the replacement costs more: the order is placed on a `payment_due` hold naming the amount
  owed. It is not charged automatically: staff collect it, then release the hold (and the
  order is allocated then).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from oms.core.errors import NotFoundError
from orders import locks as order_locks
from orders.models import Order
from orders.services import LineInput, OrderInput, order_create
from orders.states import HoldKind
from returns import locks
from returns.errors import ReturnError, ReturnErrorCode
from returns.models import ReturnRefund, ReturnRequest
from returns.refunds import ZERO, _places, refund_quote, refund_store
from returns.services import _illegal, record
from returns.states import Resolution, ReturnState

E = ReturnErrorCode
R = ReturnState
CHANNEL = "exchange"


def _replacement_input(ret: ReturnRequest, credit: Decimal) -> tuple[OrderInput, Decimal]:
    """The replacement order, and what the customer owes beyond the returned goods (0 or more)."""
    order = ret.order
    lines = []
    for item in ret.exchange_lines.select_related("sku"):
        if item.sku.price <= 0:
            raise ReturnError(
                E.EXCHANGE_PRICE_UNKNOWN,
                f"SKU {item.sku.code} has no price: set it before exchanging for it.",
                sku=item.sku.code,
            )
        lines.append(LineInput(sku=item.sku.code, quantity=item.quantity, unit_price=item.sku.price))
    if not lines:
        raise ReturnError(
            E.EXCHANGE_LINES_REQUIRED, f"Return {ret.rma_number} names nothing to exchange for."
        )
    price = sum((line.unit_price * line.quantity for line in lines), ZERO)
    owed = max(price - credit, ZERO)
    holds = []
    if owed > 0:
        holds.append(
            (
                HoldKind.PAYMENT_DUE,
                f"Exchange for {ret.rma_number}: the customer owes {owed} {order.currency} "
                "for the replacement; collect it, then release this hold.",
            )
        )
    customer = order.customer
    data = OrderInput(
        channel=CHANNEL,
        external_id=ret.rma_number,
        currency=order.currency,
        customer={"email": customer.email, "name": customer.name, "phone": customer.phone},
        ship_to=order.ship_to.as_dict(),
        lines=lines,
        service_level=order.service_level,
        shipping_price=ZERO,
        tax=ZERO,
        discount=min(credit, price),
        holds=holds,
    )
    return data, owed


def return_exchange(*, tenant: Any, return_id: Any, actor: Any = None) -> ReturnRequest:
    """Place the replacement order of an inspected exchange and settle the price difference
    (see the module). Re-runnable: the replacement order is placed once (its external id)."""
    ret = (
        ReturnRequest.objects.for_tenant(tenant)
        .select_related("order__customer", "order__ship_to")
        .filter(pk=return_id)
        .first()
    )
    if ret is None:
        raise NotFoundError(E.NOT_FOUND, "No such return.", return_id=return_id)
    if ret.state == R.EXCHANGED:
        return ret
    if ret.state != R.INSPECTED or ret.resolution != Resolution.EXCHANGE:
        raise _illegal(ret, "exchanged")
    credit = refund_quote(ret).goods
    data, owed = _replacement_input(ret, credit)
    replacement, _ = order_create(tenant=tenant, data=data, actor=actor)  # allocated like any order
    return _exchange_record(tenant, ret.pk, replacement, credit, owed, actor)


@transaction.atomic
def _exchange_record(
    tenant: Any, return_id: int, replacement: Order, credit: Decimal, owed: Decimal, actor: Any
) -> ReturnRequest:
    order_id = locks.return_order_id(tenant=tenant, return_id=return_id)
    order = order_locks.order_for_update(tenant=tenant, order_id=order_id)
    payments = order_locks.payments_for_update(order=order)
    ret = locks.return_for_update(tenant=tenant, return_id=return_id)
    ret.order = order
    if ret.state != R.INSPECTED:
        return ret  # recorded by an earlier run
    price = replacement.subtotal
    difference = (credit - price).quantize(_places(order.currency)) if credit > price else ZERO
    before = ret.state
    ret.exchange_order = replacement
    ret.exchanged()
    ret.resolved_at = timezone.now()
    ret.refund_amount = difference
    ret.save()
    note = f"exchanged: replacement order #{replacement.number}"
    if owed > 0:
        note += f" (the customer owes {owed} {order.currency}: on a payment-due hold)"
    refundable = sum((p.refundable for p in payments), ZERO)
    back = min(difference, refundable)
    if back > 0 and not ReturnRefund.objects.for_tenant(tenant).filter(return_request=ret).exists():
        refund_store(order=order, payments=payments, ret=ret, amount=back, actor=actor)
        note += f"; {back} {order.currency} of the price difference refunded"
    if difference > back:
        note += f"; {difference - back} {order.currency} of the price difference to refund at the channel"
    record(ret, actor=actor, action="exchanged", before=before, note=note, exchange_order=replacement.pk)
    return ret
