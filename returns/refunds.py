"""Refunds for returns: what a return is worth, and giving it back through the payment services.

What a returned unit is worth: what the customer paid for it, i.e. the line's unit price plus
its share of the line's tax, minus its share of the line's discount (an order whose tax or
discount is only on the order, not on its lines, shares them out by the lines' value). Shipping
is not refunded. Only units that arrived count (`quantity_received`), whatever their
disposition (a defective unit scrapped is still refunded).

From that:
- the restocking fee: `ReturnPolicy.restocking_fee_percent` of the value of the lines whose
  reason is the customer's (not defective, damaged, wrong item, not as described);
- the return label: its price (as the carrier billed it) when the policy says the customer pays
  (`label_payer = customer`) and some line's reason is the customer's;
- the refund: value − fee − label, never below zero; staff may give a smaller (or larger) amount,
  up to what the order's payments can still give back: captured minus refunded (422
  `refund_exceeds_refundable`), and a support agent up to the tenant's agent refund limit.

Giving it back (exactly once):
1. `return_refund` (one transaction: the order, its payments, the return, locked in that order)
   splits the amount over the order's captured payments, newest first, as `ReturnRefund` rows,
   and writes `returns.tasks.return_refund_task` to the outbox with them.
2. The task (`return_refund_execute`, outside any transaction) calls
   `orders.payments.services.payment_refund` for each pending row with the request_ref
   `return-refund:<row id>`. The payment services store that refund once (PaymentOperation,
   unique key) and reach the provider once with an idempotency key derived from it; a task
   killed after the provider answered and retried gets the stored answer and refunds nothing
   twice. A transient provider error raises, and Celery retries with backoff.
3. Each row is marked succeeded or failed (a refusal, with the provider's words, noted on the
   order). When the whole decided amount went back, a refund-resolution return is refunded;
   after a refusal it stays inspected and refunding again asks only for what did not go back.
An order with no captured payment here (a marketplace's, paid at the marketplace) cannot be
refunded here: 409 `no_captured_payment` (refund it at the channel, then close the return).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from oms.core.errors import ConflictError, DomainError
from oms.core.money import currency_exponent
from oms.core.roles import actor_refund_check
from oms.core.tasks import enqueue_on_commit
from orders import locks as order_locks
from orders.models import Order, OrderLine, Payment
from orders.payments.gateway import PaymentDeclined
from orders.payments.operations import OPERATION_IN_PROGRESS
from orders.payments.services import payment_refund
from orders.states import OperationState
from returns import locks
from returns.eligibility import return_policy
from returns.errors import ReturnConflict, ReturnError, ReturnErrorCode
from returns.models import ReturnRefund, ReturnRequest
from returns.services import _illegal, _label, record
from returns.signals import return_refunded
from returns.states import MERCHANT_FAULT, LabelPayer, RefundState, Resolution, ReturnState

E = ReturnErrorCode
R = ReturnState
ZERO = Decimal("0.00")
REFUND_TASK = "returns.tasks.return_refund_task"


def _places(currency: str) -> Decimal:
    """The finest amount stored for this currency (the money columns keep two decimals)."""
    try:
        exponent = min(currency_exponent(currency), 2)
    except ValueError:
        exponent = 2
    return Decimal(1).scaleb(-exponent)


def unit_value(order: Order, line: OrderLine, order_lines: list[OrderLine]) -> Decimal:
    """What the customer paid for one unit of `line` (see the module's rule), unrounded."""
    line_value = line.unit_price * line.quantity
    lines_tax = sum((x.tax for x in order_lines), ZERO)
    lines_discount = sum((x.discount for x in order_lines), ZERO)
    share = line_value / order.subtotal if order.subtotal else Decimal(0)
    tax = line.tax if lines_tax else order.tax * share
    discount = line.discount if lines_discount else order.discount * share
    return (line_value + tax - discount) / line.quantity


@dataclass(frozen=True)
class RefundQuote:
    currency: str
    goods: Decimal  # what the received units are worth
    restocking_fee: Decimal
    label_cost: Decimal
    total: Decimal  # goods - fee - label, at least 0

    def describe(self) -> str:
        parts = [f"{self.goods} {self.currency} of goods"]
        if self.restocking_fee:
            parts.append(f"minus {self.restocking_fee} restocking fee")
        if self.label_cost:
            parts.append(f"minus {self.label_cost} return label")
        return " ".join(parts) + f" = {self.total} {self.currency}"


def refund_quote(ret: ReturnRequest) -> RefundQuote:
    """What the return is worth back to the customer now (reads only)."""
    order = ret.order
    order_lines = list(OrderLine.objects.for_tenant(ret.tenant_id).filter(order=order))
    by_id = {line.pk: line for line in order_lines}
    places = _places(order.currency)
    goods = fee_base = Decimal(0)
    customers_fault = False
    for line in ret.lines.all():
        if not line.quantity_received:
            continue
        value = unit_value(order, by_id[line.order_line_id], order_lines) * line.quantity_received
        goods += value
        if line.reason not in MERCHANT_FAULT:
            fee_base += value
            customers_fault = True
    goods = max(goods.quantize(places, rounding=ROUND_HALF_UP), ZERO)
    policy = return_policy(ret.tenant_id)
    fee = (fee_base * policy.restocking_fee_percent / 100).quantize(places, rounding=ROUND_HALF_UP)
    label = ZERO
    if policy.label_payer == LabelPayer.CUSTOMER and customers_fault and ret.label_id:
        label = ret.label.amount or ZERO  # type: ignore[union-attr]
    total = max(goods - fee - label, ZERO)
    return RefundQuote(order.currency, goods, fee, label, total)


def _split(payments: list[Payment], amount: Decimal) -> list[tuple[Payment, Decimal]]:
    """`amount` over the payments that can still give money back, newest first."""
    left, parts = amount, []
    for payment in sorted(payments, key=lambda p: -p.pk):
        if left <= 0:
            break
        take = min(left, payment.refundable)
        if take > 0:
            parts.append((payment, take))
            left -= take
    return parts


def refund_store(
    *, order: Order, payments: list[Payment], ret: ReturnRequest, amount: Decimal, actor: Any
) -> list[ReturnRefund]:
    """Inside a transaction holding the order, its payments and the return: the refund rows and
    their task (the caller checked the return's state)."""
    refundable = sum((p.refundable for p in payments), ZERO)
    if refundable <= 0:
        raise ReturnConflict(
            E.NO_CAPTURED_PAYMENT,
            f"Order #{order.number} has no captured payment to refund here (paid at the channel?): "
            "refund it there, then close the return.",
            order_id=order.pk,
        )
    if amount > refundable:
        raise ReturnError(
            E.REFUND_EXCEEDS_REFUNDABLE,
            f"{amount} {order.currency} is more than the {refundable} the order's payments can give back.",
            amount=str(amount),
            refundable=str(refundable),
        )
    rows = [
        ReturnRefund.objects.create(
            tenant_id=ret.tenant_id,
            return_request=ret,
            payment=payment,
            amount=part,
            requested_by=_label(actor),
        )
        for payment, part in _split(payments, amount)
    ]
    enqueue_on_commit(REFUND_TASK, tenant_id=ret.tenant_id, return_id=ret.pk)
    return rows


@transaction.atomic
def return_refund(
    *, tenant: Any, return_id: Any, amount: Decimal | None = None, actor: Any = None
) -> ReturnRequest:
    """Refund an inspected return: the quote's total, or `amount`. The money goes back in a task
    (exactly once, see the module). Asking again while a refund is pending or done is harmless."""
    try:
        order_id = locks.return_order_id(tenant=tenant, return_id=return_id)
    except ReturnRequest.DoesNotExist:
        raise DomainError(E.NOT_FOUND, "No such return.", status=404, return_id=return_id) from None
    order = order_locks.order_for_update(tenant=tenant, order_id=order_id)
    payments = order_locks.payments_for_update(order=order)
    ret = locks.return_for_update(tenant=tenant, return_id=return_id)
    ret.order = order
    refunds = list(ReturnRefund.objects.for_tenant(tenant).filter(return_request=ret))
    if any(r.state == RefundState.PENDING for r in refunds) or ret.state == R.REFUNDED:
        return ret  # the task is giving it back, or it was
    if ret.state != R.INSPECTED:
        raise _illegal(ret, "refunded")
    quote = refund_quote(ret)
    target = quote.total if amount is None else Decimal(amount).quantize(_places(order.currency))
    paid = sum((r.amount for r in refunds if r.state == RefundState.SUCCEEDED), ZERO)
    left = target - paid  # after a refusal, only what did not go back yet
    if left <= 0:
        raise ReturnError(
            E.REFUND_EXCEEDS_REFUNDABLE,
            f"Nothing to refund ({quote.describe()}; {paid} refunded already): close the return instead.",
            amount=str(target),
        )
    actor_refund_check(tenant=order.tenant, actor=actor, amount=left)
    ret.restocking_fee, ret.label_cost, ret.refund_amount = quote.restocking_fee, quote.label_cost, target
    ret.save(update_fields=["restocking_fee", "label_cost", "refund_amount", "updated_at"])
    refund_store(order=order, payments=payments, ret=ret, amount=left, actor=actor)
    record(
        ret,
        actor=actor,
        action="refund_requested",
        before=ret.state,
        note=f"refund of {left} {order.currency} asked ({quote.describe()})",
        amount=left,
    )
    return ret


# --- the task's side ------------------------------------------------------------------------------
def return_refund_execute(*, tenant: Any, return_id: Any) -> ReturnRequest:
    """Give back each pending refund row of the return through the payment services, then settle
    the return. Outside any transaction (the provider is called). Re-runnable: see the module."""
    rows = list(
        ReturnRefund.objects.for_tenant(tenant)
        .filter(return_request_id=return_id, state=RefundState.PENDING)
        .select_related("return_request")
        .order_by("pk")
    )
    for row in rows:
        try:
            op = payment_refund(
                tenant=tenant,
                payment_id=row.payment_id,
                amount=row.amount,
                request_ref=row.request_ref,
                reason=f"Return {row.return_request.rma_number}",
                actor="task",
            )
        except PaymentDeclined as refused:
            refund_row_record(tenant=tenant, row_id=row.pk, succeeded=False, error=refused.message)
            continue
        except ConflictError as busy:
            if busy.code == OPERATION_IN_PROGRESS:
                raise  # another worker talks to the provider: the task retries
            refund_row_record(tenant=tenant, row_id=row.pk, succeeded=False, error=busy.message)
            continue
        except DomainError as refused:  # more than the payment can give back now
            refund_row_record(tenant=tenant, row_id=row.pk, succeeded=False, error=refused.message)
            continue
        refund_row_record(
            tenant=tenant,
            row_id=row.pk,
            succeeded=op.state == OperationState.SUCCEEDED,
            provider_id=op.provider_id,
            error=op.error,
        )
    return refund_settle(tenant=tenant, return_id=return_id)


@transaction.atomic
def refund_row_record(
    *, tenant: Any, row_id: int, succeeded: bool, provider_id: str = "", error: str = ""
) -> bool:
    """Mark one refund row with the payment service's answer (only a pending row changes, once);
    a refusal is noted on the return for staff. True when the row changed."""
    changed = (
        ReturnRefund.objects.for_tenant(tenant)
        .filter(pk=row_id, state=RefundState.PENDING)
        .update(
            state=RefundState.SUCCEEDED if succeeded else RefundState.FAILED,
            provider_id=provider_id[:128],
            error=error[:500],
            updated_at=timezone.now(),
        )
    )
    if changed and not succeeded:
        row = ReturnRefund.objects.for_tenant(tenant).select_related("return_request__order").get(pk=row_id)
        ret = row.return_request
        record(
            ret,
            actor="task",
            action="refund_failed",
            before=ret.state,
            note=f"the refund of {row.amount} failed: {error or 'refused'}",
        )
    return bool(changed)


@transaction.atomic
def refund_settle(*, tenant: Any, return_id: Any) -> ReturnRequest:
    """Once no refund row of the return is pending: a refund-resolution return that got its whole
    refund back is refunded (after a refusal it stays inspected: staff refund the rest or close)."""
    order_id = locks.return_order_id(tenant=tenant, return_id=return_id)
    order = order_locks.order_for_update(tenant=tenant, order_id=order_id)
    ret = locks.return_for_update(tenant=tenant, return_id=return_id)
    ret.order = order
    rows = list(ReturnRefund.objects.for_tenant(tenant).filter(return_request=ret))
    if not rows or any(r.state == RefundState.PENDING for r in rows):
        return ret
    paid = sum((r.amount for r in rows if r.state == RefundState.SUCCEEDED), ZERO)
    if ret.state == R.INSPECTED and ret.resolution == Resolution.REFUND and paid >= ret.refund_amount:
        before = ret.state
        ret.refunded()
        ret.resolved_at = timezone.now()
        ret.save()
        record(
            ret,
            actor="task",
            action="refunded",
            before=before,
            note=f"refunded {paid} {order.currency}",
            amount=paid,
        )
        return_refunded.send(
            sender=ReturnRequest,
            tenant_id=ret.tenant_id,
            return_id=ret.pk,
            amount=str(paid),
            currency=order.currency,
        )
    return ret
