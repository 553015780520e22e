"""Recording what a payment provider tells us (its webhooks): change only what is not already so.

Each recorder runs in the caller's transaction (the inbox task's), locks the order and then
the payment (the one lock order for money), and never calls the provider. Money that
arrives for a cancelled order (an authorization completed after 3-D Secure, a capture in the
provider's dashboard) is given back by the cancel task, enqueued on commit.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django_fsm import can_proceed

from oms.core.tasks import enqueue_on_commit
from orders.models import Order, OrderEvent, Payment, PaymentOperation
from orders.payments.callbacks import OUTCOMES, hold_order, payment_audit, payment_event
from orders.payments.gateway import GatewayResult
from orders.payments.operations import CAPTURED_STATES, ZERO, money, payment_locked
from orders.states import (
    HoldKind,
    OrderEventType,
    OrderState,
    PaymentOperationKind,
    PaymentPurpose,
    PaymentState,
)


def payment_find_for_provider(
    *, tenant: Any, provider: str, provider_id: str, payment_id_hint: str = ""
) -> Payment | None:
    """The payment a provider object refers to, within this tenant only."""
    qs = Payment.objects.for_tenant(tenant).filter(provider=provider)
    if provider_id:
        found = qs.filter(provider_id=provider_id).first()
        if found is not None:
            return found
    if payment_id_hint and str(payment_id_hint).isdigit():
        # Our own id from the provider object's metadata, for a payment whose provider id we never learned.
        return (
            qs.filter(pk=int(payment_id_hint)).filter(Q(provider_id="") | Q(provider_id=provider_id)).first()
        )
    return None


def _locked(tenant: Any, payment_id: int, provider_id: str = "") -> tuple[Order, Payment]:
    """The order and the payment, locked; a payment whose create call's answer was lost learns its id."""
    order, payment = payment_locked(tenant, payment_id)
    if provider_id and not payment.provider_id:
        payment.provider_id = provider_id[:128]
        payment.save(update_fields=["provider_id", "updated_at"])
    return order, payment


def _give_back_if_cancelled(order: Order) -> None:
    if order.state == OrderState.CANCELLED:
        enqueue_on_commit(
            "orders.tasks.payments_for_order_cancel_task", tenant_id=order.tenant_id, order_id=order.pk
        )


@transaction.atomic
def payment_record_authorized(
    *, tenant: Any, payment_id: int, amount: Decimal, provider_id: str = "", actor: Any = None
) -> bool:
    """The provider says the payment is authorized (e.g. after the customer completed 3-D Secure)."""
    order, payment = _locked(tenant, payment_id, provider_id)
    if payment.state != PaymentState.PENDING:
        return False
    on_success, _ = OUTCOMES[PaymentOperationKind.AUTHORIZE](actor)
    on_success(
        order,
        payment,
        PaymentOperation(kind=PaymentOperationKind.AUTHORIZE),
        GatewayResult(payment.provider_id, "authorized", amount),
    )
    _give_back_if_cancelled(order)
    return True


@transaction.atomic
def payment_record_captured(
    *, tenant: Any, payment_id: int, amount: Decimal | None, provider_id: str = "", actor: Any = None
) -> bool:
    """The provider says the money was captured. `amount` None: the provider did not say how much."""
    order, payment = _locked(tenant, payment_id, provider_id)
    before = payment.state
    if payment.state in (PaymentState.PENDING, PaymentState.AUTHORIZED):
        captured = amount if amount is not None else (payment.amount_authorized or ZERO)
        payment.capture()
        payment.amount_captured = captured
        if not payment.amount_authorized:
            payment.amount_authorized = captured
        payment.save()
        payment_event(
            payment, actor=actor, message=f"Payment captured at the provider: {captured} {payment.currency}"
        )
        payment_audit(payment, actor=actor, action="captured", before=before, amount=captured)
        _give_back_if_cancelled(order)
        return True
    if payment.state in CAPTURED_STATES and amount is not None and amount != payment.amount_captured:
        if amount < payment.amount_refunded:
            return False
        previous = payment.amount_captured
        payment.amount_captured = amount
        if can_proceed(payment.record_refund):
            payment.record_refund()
        payment.save()
        payment_event(
            payment,
            actor=actor,
            message=f"Captured amount corrected by the provider: {previous} -> {amount}",
            amount=str(amount),
        )
        return True
    return False


@transaction.atomic
def payment_record_failed(
    *,
    tenant: Any,
    payment_id: int,
    failure_code: str,
    failure_message: str,
    occurred_at: datetime | None = None,
    provider_id: str = "",
    actor: Any = None,
) -> bool:
    """The provider says the payment failed: the payment fails and the order gets a payment hold."""
    order, payment = _locked(tenant, payment_id, provider_id)
    before = payment.state
    changed = False
    if (
        payment.state == PaymentState.AUTHORIZED
        and occurred_at
        and payment.authorized_at
        and occurred_at < payment.authorized_at
    ):
        return False  # a stale failure from before the authorization succeeded
    if payment.state in (PaymentState.PENDING, PaymentState.AUTHORIZED):
        payment.fail()
        payment.failure_code = failure_code[:64]
        payment.failure_message = failure_message[:500]
        payment.save()
        payment_event(
            payment, actor=actor, message=f"Payment failed: {failure_message}", failure_code=failure_code
        )
        payment_audit(payment, actor=actor, action="failed", before=before, failure_code=failure_code)
        changed = True
    if (
        payment.state == PaymentState.FAILED
        and payment.purpose == PaymentPurpose.ORDER
        and order.state != OrderState.CANCELLED
    ):
        hold_order(
            tenant=tenant,
            order_id=payment.order_id,
            kind=HoldKind.PAYMENT,
            reason=f"Payment failed: {failure_message or failure_code}"[:500],
            actor=actor,
        )
    return changed


@transaction.atomic
def payment_record_voided(*, tenant: Any, payment_id: int, actor: Any = None) -> bool:
    """The provider cancelled the authorization (expired, or cancelled in its dashboard)."""
    _, payment = _locked(tenant, payment_id)
    if not can_proceed(payment.void) or payment.state == PaymentState.VOIDED:
        return False
    before = payment.state
    payment.void()
    payment.save()
    payment_event(payment, actor=actor, message="Authorization cancelled at the provider")
    payment_audit(payment, actor=actor, action="voided", before=before)
    return True


@transaction.atomic
def payment_record_refunded(
    *, tenant: Any, payment_id: int, amount_refunded: Decimal, actor: Any = None
) -> bool:
    """The provider's running refunded total (refunds made in its dashboard included).

    Ours already counts every refund we made or reserved, so only a larger total changes anything.
    """
    _, payment = _locked(tenant, payment_id)
    if payment.state not in CAPTURED_STATES:
        return False
    total = min(money(amount_refunded), payment.amount_captured)
    if total <= payment.amount_refunded:
        return False
    before, previous = payment.state, payment.amount_refunded
    payment.amount_refunded = total
    payment.record_refund()
    payment.save()
    payment_event(
        payment,
        actor=actor,
        message=f"Refund made at the provider: refunded {previous} -> {total} {payment.currency}",
        amount_refunded=str(total),
    )
    payment_audit(payment, actor=actor, action="refunded", before=before, amount_refunded=total)
    return True


@transaction.atomic
def payment_record_dispute(
    *, tenant: Any, payment_id: int, dispute_ref: str, amount: Decimal | None, reason: str, actor: Any = None
) -> bool:
    """A chargeback was opened: an order event and a fraud hold. Recorded once per dispute."""
    _, payment = _locked(tenant, payment_id)
    seen = OrderEvent.objects.for_tenant(tenant).filter(
        order_id=payment.order_id, type=OrderEventType.PAYMENT, data__dispute_ref=dispute_ref
    )
    if seen.exists():
        return False
    payment_event(
        payment,
        actor=actor,
        message=f"Dispute opened ({reason or 'no reason given'})",
        dispute_ref=dispute_ref,
        amount=str(amount) if amount is not None else "",
        reason=reason,
    )
    hold_order(
        tenant=tenant,
        order_id=payment.order_id,
        kind=HoldKind.FRAUD,
        reason=f"Dispute {dispute_ref} opened: {reason}"[:500],
        actor=actor,
    )
    return True
