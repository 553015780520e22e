"""Order-level money: what shipments, cancels and edits take or give back, and the sweeps.

The order services enqueue these (by task name) on commit; each is re-runnable, and each
first finishes whatever payment operation of the order is still in flight, so a retry or a
redelivery never decides on a stale picture.

- A shipment captures by the tenant's policies: one capture operation per shipment, keyed by
  the shipment's reference; a later shipment under "per_shipment" is charged off-session.
- A cancel voids every authorization and refunds every capture.
- An edit reconciles the money with the new total: a smaller total refunds what was taken
  beyond it; a larger one re-authorizes (uncaptured) or charges the difference off-session
  (captured), and a refused charge puts the order on a "payment due" hold for staff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from oms.core.errors import ConflictError, DomainError
from oms.models import CapturePolicy, SplitCapturePolicy
from orders import locks
from orders.models import Order, OrderEvent, Payment, PaymentOperation
from orders.payments.callbacks import EDIT_REASON
from orders.payments.gateway import PaymentDeclined, PaymentGatewayUnavailable
from orders.payments.operations import (
    CAPTURED_STATES,
    ZERO,
    assert_no_open_transaction,
    declined_from,
    money,
    op_create,
    op_get,
    op_key,
    op_store,
    payment_get,
    tenant_row,
)
from orders.payments.services import (
    captured_net,
    payment_capture_once,
    payment_reauthorize,
    payment_release_if_cancelled,
    payment_settle_pending,
    reauthorize_store,
    refund_key,
    refund_store,
    require_open,
    run_operation,
)
from orders.states import (
    OperationState,
    OrderEventType,
    OrderState,
    PaymentOperationKind,
    PaymentPurpose,
    PaymentState,
)

logger = logging.getLogger(__name__)


def _reauthorize_margin() -> timedelta:
    return timedelta(hours=getattr(settings, "PAYMENT_REAUTHORIZE_MARGIN_HOURS", 24))


def primary_payment(tenant: Any, order_id: int) -> Payment | None:
    """The order's own authorization (not a later charge), the newest live one."""
    return (
        Payment.objects.for_tenant(tenant)
        .filter(order_id=order_id, purpose=PaymentPurpose.ORDER)
        .exclude(state__in=[PaymentState.VOIDED, PaymentState.FAILED])
        .order_by("-pk")
        .first()
    )


def _settle_order(tenant: Any, order_id: int, *, actor: Any) -> None:
    """Finish every payment operation of the order that is still in flight (or wait for it)."""
    for payment in Payment.objects.for_tenant(tenant).filter(order_id=order_id).order_by("pk"):
        payment_settle_pending(tenant=tenant, payment=payment, actor=actor)


# --- shipments --------------------------------------------------------------------------------------
def payment_capture_for_shipment(
    *, tenant: Any, order_id: int, shipment_amount: Decimal, shipment_ref: str, actor: Any = None
) -> None:
    """Take the money for a shipment according to the tenant's capture policies. Re-runnable per shipment."""
    assert_no_open_transaction()
    tenant = tenant_row(tenant)
    shipment_amount = money(shipment_amount)
    primary = primary_payment(tenant, order_id)
    if primary is None:
        return  # paid elsewhere (a marketplace) or not paid through us
    primary = payment_settle_pending(tenant=tenant, payment=primary, actor=actor)
    if primary.state not in (PaymentState.AUTHORIZED, *CAPTURED_STATES):
        raise ConflictError(
            "payment_not_authorized",
            f"The order's payment is {primary.state}; nothing to capture.",
            payment_id=primary.pk,
            state=primary.state,
        )
    per_shipment = (
        tenant.capture_policy == CapturePolicy.ON_SHIPMENT
        and tenant.split_capture_policy == SplitCapturePolicy.PER_SHIPMENT
    )

    def amount_for(order: Order, payment: Payment) -> Decimal:
        # Never more than the order total (it may have shrunk by an edit since the authorization).
        others = sum(
            (
                p.amount_captured
                for p in Payment.objects.for_tenant(tenant)
                .filter(order=order, state__in=CAPTURED_STATES)
                .exclude(pk=payment.pk)
            ),
            ZERO,
        )
        amount = min(payment.amount_authorized, order.total - others)
        return min(amount, shipment_amount) if per_shipment else amount

    _, op = payment_capture_once(
        tenant=tenant,
        payment_id=primary.pk,
        purpose=f"shipment:{shipment_ref}",
        amount_for=amount_for,
        actor=actor,
    )
    if op is not None or not per_shipment:
        return  # this shipment's capture; or captured at order time or by the first shipment
    legacy = op_get(tenant.pk, op_key(tenant.pk, "payment", primary.pk, "capture", 1))
    if legacy is not None and legacy.reason == shipment_ref:
        return  # captured for this shipment before captures were keyed by shipment
    _charge(
        tenant=tenant,
        order_id=order_id,
        primary=primary,
        purpose=PaymentPurpose.SHIPMENT,
        ref=shipment_ref,
        key=op_key(tenant.pk, "order", order_id, "shipment", shipment_ref, "charge"),
        amount_for=lambda order, taken: min(shipment_amount, order.total - taken),
        actor=actor,
    )


def _charge(
    *,
    tenant: Any,
    order_id: int,
    primary: Payment,
    purpose: str,
    ref: str,
    key: str,
    amount_for: Callable[[Order, Decimal], Decimal],
    actor: Any,
) -> Payment | None:
    """Charge off-session with the saved payment method, as a new Payment row.

    `amount_for(order, taken)` is read under the order's lock, with what the order's payments
    hold so far; zero or less means nothing to charge.
    """

    def create(order: Order, _: Payment | None) -> PaymentOperation | None:
        require_open(order)
        taken = captured_net(list(Payment.objects.for_tenant(tenant).filter(order=order)))
        amount = money(amount_for(order, taken))
        if amount <= 0:
            return None  # the order total is taken already
        return charge_store(order=order, primary=primary, purpose=purpose, ref=ref, amount=amount, key=key)

    op, owner = op_store(tenant=tenant, order_id=order_id, key=key, create=create)
    if op is None:
        return None
    op = run_operation(op, owner=owner, actor=actor)
    return payment_get(tenant, op.payment_id)


def charge_store(
    *, order: Order, primary: Payment, purpose: str, ref: str, amount: Decimal, key: str
) -> PaymentOperation:
    """Store an off-session charge as a new Payment, inside a transaction holding the order's lock."""
    payment = Payment.objects.create(
        tenant_id=order.tenant_id,
        order=order,
        provider=primary.provider,
        payment_method=primary.payment_method,
        currency=order.currency,
        purpose=purpose,
        shipment_ref=ref[:128] if purpose == PaymentPurpose.SHIPMENT else "",
    )
    return op_create(payment=payment, kind=PaymentOperationKind.CHARGE, amount=amount, key=key, reason=ref)


# --- cancel -----------------------------------------------------------------------------------------
def payments_for_order_cancel(*, tenant: Any, order_id: int, actor: Any = None) -> None:
    """Void the authorizations and refund the captures of a cancelled order. Re-runnable.

    An operation still in flight (an authorization or capture that began before the cancel)
    is finished first, or waited for; what it brings in is then given back too. Refusals do
    not stop the other payments; the first is raised at the end.
    """
    assert_no_open_transaction()
    refused: list[PaymentDeclined] = []
    for payment in Payment.objects.for_tenant(tenant).filter(order_id=order_id).order_by("pk"):
        try:
            payment = payment_settle_pending(tenant=tenant, payment=payment, actor=actor)
            payment_release_if_cancelled(tenant=tenant, payment=payment, actor=actor)
        except PaymentDeclined as exc:
            refused.append(exc)
    if refused:
        raise refused[0]


def payments_release_cancelled(*, now: datetime | None = None) -> int:
    """Sweep every tenant: money still held for a cancelled order (its cancel task gave up) is given back."""
    now = now or timezone.now()
    stranded = (
        Payment.objects.unscoped()
        .filter(order__state=OrderState.CANCELLED, order__updated_at__lt=now - timedelta(minutes=5))
        .filter(
            Q(state__in=[PaymentState.AUTHORIZED, PaymentState.CAPTURED, PaymentState.PARTIALLY_REFUNDED])
            | Q(state=PaymentState.PENDING)
        )
        .values_list("tenant_id", "order_id")
        .distinct()
    )
    done = 0
    for tenant_id, order_id in sorted(set(stranded)):
        try:
            payments_for_order_cancel(tenant=tenant_id, order_id=order_id, actor="system:release")
        except (DomainError, PaymentGatewayUnavailable) as exc:
            logger.warning("Releasing the payments of cancelled order %s failed: %s", order_id, exc)
            continue
        done += 1
    return done


# --- edits ------------------------------------------------------------------------------------------
def payments_for_order_edit(*, tenant: Any, order_id: int, actor: Any = None) -> None:
    """After an edit changed the total: make what the order's payments hold match it. Re-runnable.

    Decided and stored under the order's lock from the payments as they are (operations in
    flight are finished first), so a second run, or the runs of two edits, take nothing twice.
    """
    assert_no_open_transaction()
    tenant = tenant_row(tenant)
    _settle_order(tenant, order_id, actor=actor)
    edit = (
        OrderEvent.objects.for_tenant(tenant)
        .filter(order_id=order_id, type=OrderEventType.EDITED)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    attempt = f"edit:{edit or 0}"
    stored: list[tuple[PaymentOperation, bool]] = []
    with transaction.atomic():
        order = locks.order_for_update(tenant=tenant, order_id=order_id)
        if order.state == OrderState.CANCELLED:
            return  # the cancel gives everything back
        payments = locks.payments_for_update(order=order)
        taken = captured_net(payments)
        authorized = [
            p for p in payments if p.purpose == PaymentPurpose.ORDER and p.state == PaymentState.AUTHORIZED
        ]
        captured = [p for p in payments if p.state in CAPTURED_STATES]
        need = order.total - taken
        if need < 0:
            # Taken beyond the new total: refund the difference, newest payment first.
            excess = -need
            for payment in sorted(captured, key=lambda p: -p.pk):
                earlier = op_get(tenant.pk, refund_key(tenant.pk, payment.pk, f"order-{attempt}"))
                if earlier is not None:
                    # A rerun of this edit: the refund is stored already (finished, refused or in flight).
                    stored.append((earlier, False))
                    excess -= earlier.amount
                    continue
                amount = min(excess, payment.refundable)
                if amount > 0:
                    op = refund_store(
                        payment=payment,
                        amount=amount,
                        request_ref=f"order-{attempt}",
                        reason="order total lowered by an edit",
                    )
                    stored.append((op, True))
                    excess -= amount
        elif authorized and need > authorized[-1].amount_authorized:
            # Not captured yet: a new authorization for the larger total replaces the old one.
            key = op_key(tenant.pk, "payment", authorized[-1].pk, "reauthorize", attempt)
            op = op_get(tenant.pk, key)
            if op is None:
                op = reauthorize_store(old=authorized[-1], amount=need, key=key, reason=EDIT_REASON)
                stored.append((op, True))
            else:
                stored.append((op, False))
        elif not authorized and captured and need > 0:
            # Captured already: charge the difference off-session with the saved payment method.
            key = op_key(tenant.pk, "order", order_id, attempt, "charge")
            op = op_get(tenant.pk, key)
            if op is None:
                op = charge_store(
                    order=order,
                    primary=captured[-1],
                    purpose=PaymentPurpose.EDIT,
                    ref=attempt,
                    amount=need,
                    key=key,
                )
                stored.append((op, True))
            else:
                stored.append((op, False))
    refused: list[PaymentDeclined] = []
    for op, owner in stored:
        op = run_operation(op, owner=owner, actor=actor)
        if op.state == OperationState.FAILED and op.kind == PaymentOperationKind.REFUND:
            refused.append(declined_from(op))
    if refused:
        raise refused[0]


# --- sweeps -----------------------------------------------------------------------------------------
def payments_reauthorize_expiring(*, now: datetime | None = None) -> int:
    """Sweep every tenant: re-authorize card authorizations that expire within the margin."""
    now = now or timezone.now()
    failed_before = Payment.objects.unscoped().filter(
        reauthorized_from=OuterRef("pk"), state=PaymentState.FAILED
    )
    due = (
        Payment.objects.unscoped()
        .filter(state=PaymentState.AUTHORIZED, authorization_expires_at__lte=now + _reauthorize_margin())
        .exclude(order__state=OrderState.CANCELLED)
        .filter(~Exists(failed_before))
        .select_related("tenant")
        .order_by("pk")
    )
    done = 0
    for payment in due:
        try:
            new = payment_reauthorize(
                tenant=payment.tenant, payment_id=payment.pk, actor="system:reauthorize"
            )
        except (DomainError, PaymentGatewayUnavailable) as exc:
            logger.warning("Re-authorizing payment %s failed: %s", payment.pk, exc)
            continue
        if new.state == PaymentState.AUTHORIZED:
            done += 1
    return done
