"""Payment writes: authorize, capture, void, refund, re-authorize (docs/payments.md).

Each one stores a PaymentOperation under the order's lock (`op_store`), then runs it
(`run_operation`). The rules are checked under that lock: nothing is authorized, captured or
charged for a cancelled order, and an authorization or capture that completes after the order
was cancelled is given back at once (voided, or refunded).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from oms.core.errors import CommonErrorCode, ConflictError, DomainError
from oms.models import CapturePolicy
from orders.models import Order, Payment, PaymentOperation
from orders.payments.callbacks import CREATING_KINDS, op_execute
from orders.payments.gateway import PaymentDeclined, gateway_for
from orders.payments.operations import (
    CAPTURED_STATES,
    OPERATION_IN_PROGRESS,
    ZERO,
    assert_no_open_transaction,
    declined_from,
    money,
    op_create,
    op_get,
    op_key,
    op_store,
    ops_pending,
    payment_get,
    tenant_row,
)
from orders.states import OperationState, OrderState, PaymentOperationKind, PaymentPurpose, PaymentState

logger = logging.getLogger(__name__)

ORDER_CANCELLED = "order_cancelled"
LIVE_STATES = (
    PaymentState.PENDING,
    PaymentState.AUTHORIZED,
    PaymentState.CAPTURED,
    PaymentState.PARTIALLY_REFUNDED,
)


def require_open(order: Order) -> None:
    """Money is never taken for a cancelled order (checked under the order's lock)."""
    if order.state == OrderState.CANCELLED:
        raise ConflictError(
            ORDER_CANCELLED,
            f"Order #{order.number} is cancelled; no money is taken for it.",
            order_id=order.pk,
        )


def cancel_ref(order_id: int) -> str:
    return f"order-cancel:{order_id}"


# --- running what was stored --------------------------------------------------------------------
def run_operation(op: PaymentOperation, *, owner: bool, actor: Any) -> PaymentOperation:
    """Run a stored operation, then tidy what its answer leaves behind.

    A re-authorization that succeeded voids the authorization it replaces; money that arrived
    for an order cancelled meanwhile (an authorization, a capture, a charge) is given back.
    """
    op = op_execute(op, owner=owner, actor=actor)
    if op.state != OperationState.SUCCEEDED or op.kind in (
        PaymentOperationKind.VOID,
        PaymentOperationKind.REFUND,
    ):
        return op
    payment = payment_get(op.tenant_id, op.payment_id)
    if op.kind == PaymentOperationKind.REAUTHORIZE and payment.state == PaymentState.AUTHORIZED:
        _void_replaced(payment, actor=actor)
    payment_release_if_cancelled(tenant=op.tenant_id, payment=payment, actor=actor)
    return op


def payment_settle_pending(
    *, tenant: Any, payment: Payment, actor: Any, kinds: tuple[str, ...] = ()
) -> Payment:
    """Finish (or wait for) every operation of this payment that is still in flight."""
    for op in ops_pending(payment, *kinds):
        run_operation(op, owner=False, actor=actor)
    return payment_get(tenant, payment.pk)


def payment_release_if_cancelled(*, tenant: Any, payment: Payment, actor: Any) -> Payment:
    """A payment of a cancelled order is voided (uncaptured) or refunded (captured). Re-runnable."""
    order_state = Order.objects.for_tenant(tenant).values_list("state", flat=True).get(pk=payment.order_id)
    if order_state != OrderState.CANCELLED:
        return payment
    if payment.state == PaymentState.AUTHORIZED or (
        payment.state == PaymentState.PENDING and payment.provider_id
    ):
        return payment_void(tenant=tenant, payment_id=payment.pk, actor=actor)
    if payment.state in (PaymentState.CAPTURED, PaymentState.PARTIALLY_REFUNDED):
        request_ref = cancel_ref(payment.order_id)
        earlier = op_get(payment.tenant_id, refund_key(payment.tenant_id, payment.pk, request_ref))
        amount = earlier.amount if earlier is not None else payment.refundable
        if amount > 0:
            payment_refund(
                tenant=tenant,
                payment_id=payment.pk,
                amount=amount,
                request_ref=request_ref,
                reason="order cancelled",
                actor=actor,
            )
    return payment_get(tenant, payment.pk)


def _void_replaced(new: Payment, *, actor: Any) -> None:
    old = payment_get(new.tenant_id, new.reauthorized_from_id) if new.reauthorized_from_id else None
    if old is None or old.state != PaymentState.AUTHORIZED:
        return
    try:
        payment_void(tenant=new.tenant_id, payment_id=old.pk, actor=actor)
    except ConflictError:
        pass  # no longer voidable (captured meanwhile, or voided by the provider)
    except PaymentDeclined as exc:
        logger.warning("Voiding re-authorized payment %s was refused: %s", old.pk, exc.failure_code)


def _finished(op: PaymentOperation | None, *, owner: bool, actor: Any) -> PaymentOperation | None:
    """Run the operation and raise its stored refusal, if it was refused."""
    if op is None:
        return None
    op = run_operation(op, owner=owner, actor=actor)
    if op.state == OperationState.FAILED:
        raise declined_from(op)
    return op


# --- authorize ----------------------------------------------------------------------------------
def payment_authorize(
    *,
    tenant: Any,
    order: Order,
    payment_method: str,
    provider: str = "",
    amount: Decimal | None = None,
    actor: Any = None,
) -> Payment:
    """Authorize the order's amount (default: order.total). A decline leaves a failed Payment, no exception.

    One attempt per order, provider and payment method: the key is derived from them, so the
    checkout request and its task, or a redelivered task, reach the provider once (a declined
    card is not tried again). While a live payment of this provider exists for the order it is
    resumed or returned, never a second one made. `provider` defaults to the tenant's gateway.
    """
    assert_no_open_transaction()
    tenant = tenant_row(tenant)
    provider = provider or tenant.payment_gateway
    if amount is not None and money(amount) <= 0:
        raise DomainError("invalid_amount", "The amount to authorize must be positive.", amount=str(amount))
    # An unknown, unconfigured or forbidden provider fails here, before any write.
    gateway_for(tenant=tenant, provider=provider)
    key = op_key(tenant.pk, "order", order.pk, "authorize", provider, payment_method)
    live: list[Payment] = []

    def create(locked: Order, _: Payment | None) -> PaymentOperation | None:
        require_open(locked)
        existing = (
            Payment.objects.for_tenant(tenant)
            .filter(order=locked, provider=provider, purpose=PaymentPurpose.ORDER, state__in=LIVE_STATES)
            .order_by("-pk")
            .first()
        )
        if existing is not None:
            live.append(existing)
            return None
        total = money(locked.total if amount is None else amount)
        if total <= 0:
            raise DomainError(
                "invalid_amount", "The amount to authorize must be positive.", amount=str(total)
            )
        payment = Payment.objects.create(
            tenant_id=locked.tenant_id,
            order=locked,
            provider=provider,
            payment_method=payment_method,
            currency=locked.currency,
        )
        return op_create(payment=payment, kind=PaymentOperationKind.AUTHORIZE, amount=total, key=key)

    op, owner = op_store(tenant=tenant, order_id=order.pk, key=key, create=create)
    if op is not None:
        op = run_operation(op, owner=owner, actor=actor)
        payment = payment_get(tenant, op.payment_id)
    else:
        payment = payment_settle_pending(tenant=tenant, payment=live[0], actor=actor, kinds=CREATING_KINDS)
    if payment.state == PaymentState.AUTHORIZED and tenant.capture_policy == CapturePolicy.ON_ORDER:
        try:
            payment = payment_capture(tenant=tenant, payment_id=payment.pk, actor=actor)
        except ConflictError as exc:
            if exc.code != ORDER_CANCELLED:
                raise
            payment = payment_release_if_cancelled(tenant=tenant, payment=payment, actor=actor)
    return payment


# --- capture --------------------------------------------------------------------------------------
AmountFor = Callable[[Order, Payment], Decimal]


def payment_capture_once(
    *, tenant: Any, payment_id: int, purpose: str, amount_for: AmountFor, actor: Any
) -> tuple[Payment, PaymentOperation | None]:
    """Capture the payment once, for `purpose` ("order", "manual", "shipment:<ref>").

    A PaymentIntent is captured once, so a payment has at most one capture in flight or done:
    another purpose's pending capture is finished first, and then this one finds the payment
    captured and returns (payment, None). `amount_for(order, payment)` is read under the locks;
    zero means nothing to capture.
    """
    key = op_key(tenant_row(tenant).pk, "payment", payment_id, "capture", purpose)
    payment = payment_get(tenant, payment_id)
    if op_get(payment.tenant_id, key) is None:
        payment_settle_pending(
            tenant=tenant, payment=payment, actor=actor, kinds=(PaymentOperationKind.CAPTURE,)
        )

    def create(order: Order, payment: Payment | None) -> PaymentOperation | None:
        assert payment is not None
        require_open(order)
        if payment.state in CAPTURED_STATES:
            return None  # captured already (another shipment, or the provider's dashboard via webhook)
        if payment.state != PaymentState.AUTHORIZED:
            raise ConflictError(
                "payment_not_capturable",
                f"A {payment.state} payment cannot be captured.",
                payment_id=payment.pk,
                state=payment.state,
            )
        if ops_pending(payment, PaymentOperationKind.CAPTURE):
            raise ConflictError(OPERATION_IN_PROGRESS, "Another capture of this payment is in flight.")
        amount = money(amount_for(order, payment))
        if amount <= 0:
            return None
        return op_create(
            payment=payment, kind=PaymentOperationKind.CAPTURE, amount=amount, key=key, reason=purpose
        )

    op, owner = op_store(tenant=tenant, payment_id=payment_id, key=key, create=create)
    op = _finished(op, owner=owner, actor=actor)
    return payment_get(tenant, payment_id), op


def payment_capture(
    *, tenant: Any, payment_id: int, amount: Decimal | None = None, actor: Any = None
) -> Payment:
    """Capture once (at most the authorized amount; the rest of the authorization is released)."""

    def amount_for(order: Order, payment: Payment) -> Decimal:
        wanted = payment.amount_authorized if amount is None else money(amount)
        if wanted <= 0 or wanted > payment.amount_authorized:
            raise DomainError(
                "capture_exceeds_authorized",
                f"Capture {wanted} must be positive and at most {payment.amount_authorized}.",
                amount=str(wanted),
                authorized=str(payment.amount_authorized),
            )
        return wanted

    return payment_capture_once(
        tenant=tenant, payment_id=payment_id, purpose="order", amount_for=amount_for, actor=actor
    )[0]


# --- void and refund ------------------------------------------------------------------------------
def payment_void(*, tenant: Any, payment_id: int, actor: Any = None) -> Payment:
    """Release an uncaptured authorization. A voided payment is returned unchanged."""
    key = op_key(tenant_row(tenant).pk, "payment", payment_id, "void", 1)

    def create(order: Order, payment: Payment | None) -> PaymentOperation | None:
        assert payment is not None
        if payment.state == PaymentState.VOIDED:
            return None
        if not (
            payment.state == PaymentState.AUTHORIZED
            or (payment.state == PaymentState.PENDING and payment.provider_id)
        ):
            raise ConflictError(
                "payment_not_voidable",
                f"A {payment.state} payment cannot be voided.",
                payment_id=payment.pk,
                state=payment.state,
            )
        return op_create(
            payment=payment, kind=PaymentOperationKind.VOID, amount=payment.amount_authorized, key=key
        )

    op, owner = op_store(tenant=tenant, payment_id=payment_id, key=key, create=create)
    _finished(op, owner=owner, actor=actor)
    return payment_get(tenant, payment_id)


def refund_key(tenant_id: int, payment_id: int, request_ref: str) -> str:
    return op_key(tenant_id, "payment", payment_id, "refund", request_ref)


def refund_store(*, payment: Payment, amount: Decimal, request_ref: str, reason: str) -> PaymentOperation:
    """Store a refund and reserve its amount, inside a transaction that holds the payment's lock.

    The reservation on `amount_refunded` keeps every later refund within what is left; the
    database CHECK refunded <= captured is the backstop.
    """
    if payment.state not in (PaymentState.CAPTURED, PaymentState.PARTIALLY_REFUNDED):
        raise ConflictError(
            "payment_not_refundable",
            f"A {payment.state} payment cannot be refunded.",
            payment_id=payment.pk,
            state=payment.state,
        )
    if amount > payment.refundable:
        raise DomainError(
            "refund_exceeds_captured",
            f"Refund {amount} exceeds the refundable {payment.refundable}.",
            amount=str(amount),
            refundable=str(payment.refundable),
        )
    payment.amount_refunded = payment.amount_refunded + amount
    payment.save(update_fields=["amount_refunded", "updated_at"])
    key = refund_key(payment.tenant_id, payment.pk, request_ref)
    return op_create(payment=payment, kind=PaymentOperationKind.REFUND, amount=amount, key=key, reason=reason)


def payment_refund(
    *,
    tenant: Any,
    payment_id: int,
    amount: Decimal,
    request_ref: str,
    reason: str = "",
    actor: Any = None,
) -> PaymentOperation:
    """Refund `amount` once per `request_ref`; never more than captured minus refunded.

    Raises DomainError("refund_exceeds_captured") and changes nothing when too much, and
    PaymentDeclined when the provider refuses (the reserved amount is given back). A transient
    error keeps the reservation until a retry learns the outcome.
    """
    amount = money(amount)
    if amount <= 0:
        raise DomainError("invalid_amount", "The refund amount must be positive.", amount=str(amount))
    if not request_ref:
        raise DomainError(CommonErrorCode.VALIDATION_ERROR, "A refund needs a request_ref.")
    key = refund_key(tenant_row(tenant).pk, payment_id, request_ref)

    def create(order: Order, payment: Payment | None) -> PaymentOperation:
        assert payment is not None
        return refund_store(payment=payment, amount=amount, request_ref=request_ref, reason=reason)

    op, owner = op_store(tenant=tenant, payment_id=payment_id, key=key, create=create)
    assert op is not None
    if op.amount != amount:
        raise ConflictError(
            CommonErrorCode.IDEMPOTENCY_KEY_REUSED,
            f"Refund request {request_ref!r} was already made for {op.amount}.",
            request_ref=request_ref,
            amount=str(op.amount),
        )
    result = _finished(op, owner=owner, actor=actor)
    assert result is not None
    return result


# --- re-authorize -----------------------------------------------------------------------------------
def payment_reauthorize(*, tenant: Any, payment_id: int, actor: Any = None) -> Payment:
    """Before an authorization expires: authorize the same amount again (new Payment), void the old one."""
    return reauthorize(tenant=tenant, payment_id=payment_id, actor=actor)


def reauthorize(
    *,
    tenant: Any,
    payment_id: int,
    amount: Decimal | None = None,
    attempt: str = "",
    reason: str = "",
    actor: Any = None,
) -> Payment:
    """Authorize again off-session, as a new Payment (the same amount by default); then void the old one.

    `attempt` names the attempt in the key (each order edit gets its own); `reason` is stored
    on the operation. A declined re-authorization leaves the new payment failed and the old
    one as it was.
    """
    key = op_key(tenant_row(tenant).pk, "payment", payment_id, "reauthorize", *([attempt] if attempt else []))

    def create(order: Order, old: Payment | None) -> PaymentOperation | None:
        assert old is not None
        require_open(order)
        return reauthorize_store(old=old, amount=amount, key=key, reason=reason)

    op, owner = op_store(tenant=tenant, payment_id=payment_id, key=key, create=create)
    assert op is not None
    op = run_operation(op, owner=owner, actor=actor)
    return payment_get(tenant, op.payment_id)


def reauthorize_store(*, old: Payment, amount: Decimal | None, key: str, reason: str) -> PaymentOperation:
    """Store a re-authorization of `old` as a new Payment, inside a transaction holding the order's lock."""
    if old.state != PaymentState.AUTHORIZED:
        raise ConflictError(
            "payment_not_reauthorizable",
            f"A {old.state} payment cannot be re-authorized.",
            payment_id=old.pk,
            state=old.state,
        )
    new = Payment.objects.create(
        tenant_id=old.tenant_id,
        order_id=old.order_id,
        provider=old.provider,
        payment_method=old.payment_method,
        currency=old.currency,
        reauthorized_from=old,
    )
    return op_create(
        payment=new,
        kind=PaymentOperationKind.REAUTHORIZE,
        amount=old.amount_authorized if amount is None else money(amount),
        key=key,
        reason=reason,
    )


def captured_net(payments: list[Payment]) -> Decimal:
    """Money we hold for the order: captured minus refunded (refunds in flight count as given back)."""
    return sum((p.amount_captured - p.amount_refunded for p in payments if p.state in CAPTURED_STATES), ZERO)
