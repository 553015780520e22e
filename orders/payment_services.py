"""Payment writes: authorize, capture, void, refund, re-authorize, and the order-level policies.

The rule every function here follows (docs/payments.md tells the long version):

1. In a short transaction, under a row lock, check the rules and store a PaymentOperation
   whose idempotency key is derived from our own ids (for a refund: also reserve the amount
   on Payment.amount_refunded, which the DB CHECK keeps <= amount_captured). The operation
   carries a lease (`locked_until`): whoever stored or claimed it is the one caller that
   talks to the provider.
2. Commit. Call the provider OUTSIDE any transaction or row lock, with that idempotency key.
3. In a second short transaction, under the lock, record the answer on the operation and
   the payment, with an order event and an audit event.

A retried call with the same key finds the operation: settled -> the stored answer, no
provider call; pending with a live lease -> wait briefly for the owner's answer, else
ConflictError; pending with a lapsed lease (the owner died, or got a transient error) ->
claim it and send the same request with the same key again.

The provider's definitive refusal (PaymentDeclined) is an answer and is stored; a transient
failure (PaymentGatewayUnavailable) is not: the lease is released and the error propagates,
so a Celery task retries. A refund's reserved amount stays reserved until the outcome is known.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django_fsm import can_proceed

from oms.core.audit import actor_of, audit_record
from oms.core.errors import CommonErrorCode, ConflictError, DomainError, NotFoundError
from oms.models import CapturePolicy, SplitCapturePolicy, Tenant
from orders.models import Hold, Order, OrderEvent, Payment, PaymentOperation
from orders.payments import GatewayResult, PaymentDeclined, PaymentGatewayUnavailable, gateway_for
from orders.states import (
    HoldKind,
    OperationState,
    OrderEventType,
    OrderState,
    PaymentOperationKind,
    PaymentState,
)

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
CARD_AUTHORIZATION_VALIDITY = timedelta(days=7)
OPERATION_IN_PROGRESS = "payment_operation_in_progress"
CAPTURED_STATES = (PaymentState.CAPTURED, PaymentState.PARTIALLY_REFUNDED, PaymentState.REFUNDED)
CREATING_KINDS = (
    PaymentOperationKind.AUTHORIZE,
    PaymentOperationKind.REAUTHORIZE,
    PaymentOperationKind.CHARGE,
)


def _lease() -> timedelta:
    return timedelta(seconds=getattr(settings, "PAYMENT_OPERATION_LEASE_SECONDS", 90))


def _wait_seconds() -> float:
    return float(getattr(settings, "PAYMENT_OPERATION_WAIT_SECONDS", 5.0))


def _reauthorize_margin() -> timedelta:
    return timedelta(hours=getattr(settings, "PAYMENT_REAUTHORIZE_MARGIN_HOURS", 24))


# --- small helpers ------------------------------------------------------------------------------
def _key(tenant_id: int, *parts: object) -> str:
    return ":".join([str(tenant_id), *(str(p) for p in parts)])[:200]


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _assert_no_open_transaction() -> None:
    """The provider is called between our transactions, never inside a caller's.

    (The wrapping transaction of a pytest-django `db` test is not a caller's transaction.)
    """
    if any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks):
        raise RuntimeError(
            "Payment services call the payment provider and own their transactions; call them "
            "outside transaction.atomic (e.g. from a task enqueued on commit)."
        )


def _payment_get(tenant: Any, payment_id: int) -> Payment:
    try:
        return Payment.objects.for_tenant(tenant).get(pk=payment_id)
    except Payment.DoesNotExist:
        raise NotFoundError("payment_not_found", "No such payment.", payment_id=payment_id)


def _payment_for_update(tenant: Any, payment_id: int) -> Payment:
    try:
        return Payment.objects.for_tenant(tenant).select_for_update(of=("self",)).get(pk=payment_id)
    except Payment.DoesNotExist:
        raise NotFoundError("payment_not_found", "No such payment.", payment_id=payment_id)


def _order_for_update(tenant: Any, order_id: int) -> Order:
    try:
        return Order.objects.for_tenant(tenant).select_for_update(of=("self",)).get(pk=order_id)
    except Order.DoesNotExist:
        raise NotFoundError(CommonErrorCode.NOT_FOUND, "No such order.", order_id=order_id)


def _op_get(tenant_id: int, key: str) -> PaymentOperation | None:
    return PaymentOperation.objects.for_tenant(tenant_id).filter(idempotency_key=key).first()


def _op_create(
    *, payment: Payment, kind: str, amount: Decimal, key: str, reason: str = ""
) -> PaymentOperation:
    """Store the operation with our lease on it: the creator is the caller that talks to the provider."""
    return PaymentOperation.objects.create(
        tenant_id=payment.tenant_id,
        payment=payment,
        kind=kind,
        amount=amount,
        idempotency_key=key,
        reason=reason[:200],
        attempts=1,
        locked_until=timezone.now() + _lease(),
    )


def _payment_event(payment: Payment, *, actor: Any, message: str, **data: Any) -> None:
    OrderEvent.objects.create(
        tenant_id=payment.tenant_id,
        order_id=payment.order_id,
        type=OrderEventType.PAYMENT,
        actor=actor_of(actor)[1][:200],
        message=message,
        data={
            "payment_id": payment.pk,
            "provider": payment.provider,
            "provider_id": payment.provider_id,
            "state": payment.state,
            **data,
        },
    )


def _audit(payment: Payment, *, actor: Any, action: str, before: str, **after: Any) -> None:
    audit_record(
        tenant=payment.tenant,
        actor=actor,
        action=f"payment.{action}",
        obj=payment,
        before={"state": before},
        after={"state": payment.state, **{k: str(v) for k, v in after.items()}},
    )


def _declined_from(op: PaymentOperation) -> PaymentDeclined:
    return PaymentDeclined(
        op.error or "The payment provider refused the request.",
        failure_code=op.failure_code or "declined",
        provider_id=op.provider_id,
        operation_id=op.pk,
    )


def _result_dict(result: GatewayResult) -> dict[str, Any]:
    return {
        "provider_id": result.provider_id,
        "status": result.status,
        "amount": str(result.amount),
        "failure_code": result.failure_code,
        "failure_message": result.failure_message,
    }


# --- running one operation against the provider ------------------------------------------------
OnSuccess = Callable[[Payment, PaymentOperation, GatewayResult], None]
OnDeclined = Callable[[Payment, PaymentOperation, PaymentDeclined], None]


def _op_claim(op: PaymentOperation) -> bool:
    """Take the lease of a pending operation whose lease is free or lapsed (one winner, by UPDATE)."""
    now = timezone.now()
    claimed = (
        PaymentOperation.objects.for_tenant(op.tenant_id)
        .filter(pk=op.pk, state=OperationState.PENDING)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + _lease(), attempts=F("attempts") + 1, updated_at=now)
    )
    return claimed == 1


def _op_release(op: PaymentOperation, *, error: str) -> None:
    PaymentOperation.objects.for_tenant(op.tenant_id).filter(pk=op.pk, state=OperationState.PENDING).update(
        locked_until=None, error=error[:500], updated_at=timezone.now()
    )


def _op_wait(op: PaymentOperation) -> PaymentOperation:
    """Someone else holds the lease: wait briefly for their answer. Never call the provider here."""
    deadline = time.monotonic() + _wait_seconds()
    while True:
        op.refresh_from_db()
        if op.state != OperationState.PENDING:
            return op
        if op.locked_until is None or op.locked_until < timezone.now():
            # The owner gave up (transient error) or died: the outcome is unknown. A retry claims it.
            raise PaymentGatewayUnavailable(
                f"The previous attempt of payment operation {op.pk} did not finish; retry."
            )
        if time.monotonic() >= deadline:
            raise ConflictError(
                OPERATION_IN_PROGRESS,
                "This payment operation is being processed; retry shortly.",
                operation_id=op.pk,
            )
        time.sleep(0.05)


def _op_run(
    op: PaymentOperation,
    *,
    owner: bool,
    call: Callable[[PaymentOperation], GatewayResult],
    on_success: OnSuccess,
    on_declined: OnDeclined,
) -> PaymentOperation:
    if op.state != OperationState.PENDING:
        return op
    if not owner and not _op_claim(op):
        return _op_wait(op)
    try:
        result = call(op)
    except PaymentDeclined as exc:
        return _op_settle(op, declined=exc, on_declined=on_declined)
    except PaymentGatewayUnavailable as exc:
        _op_release(op, error=f"unavailable: {exc}")
        raise
    except Exception as exc:
        _op_release(op, error=f"{type(exc).__name__}: {exc}")
        raise
    if result.status == "failed":
        declined = PaymentDeclined(
            result.failure_message,
            failure_code=result.failure_code or "failed",
            provider_id=result.provider_id,
        )
        return _op_settle(op, declined=declined, on_declined=on_declined)
    return _op_settle(op, result=result, on_success=on_success)


def _op_settle(
    op: PaymentOperation,
    *,
    result: GatewayResult | None = None,
    declined: PaymentDeclined | None = None,
    on_success: OnSuccess | None = None,
    on_declined: OnDeclined | None = None,
) -> PaymentOperation:
    with transaction.atomic():
        payment = _payment_for_update(op.tenant_id, op.payment_id)
        op = PaymentOperation.objects.for_tenant(op.tenant_id).select_for_update().get(pk=op.pk)
        if op.state != OperationState.PENDING:
            return op  # settled by an earlier owner whose lease had lapsed
        op.locked_until = None
        op.completed_at = timezone.now()
        if declined is not None:
            op.state = OperationState.FAILED
            op.failure_code = declined.failure_code[:64]
            op.error = declined.failure_message[:500]
            op.provider_id = declined.provider_id[:128]
            op.result = {
                "status": "failed",
                "failure_code": declined.failure_code,
                "failure_message": declined.failure_message,
                "provider_id": declined.provider_id,
            }
            op.save()
            if on_declined is not None:
                on_declined(payment, op, declined)
        else:
            assert result is not None
            op.state = OperationState.SUCCEEDED
            op.provider_id = result.provider_id[:128]
            op.error = ""
            op.result = _result_dict(result)
            op.save()
            if on_success is not None:
                on_success(payment, op, result)
    return op


# --- what each answer does to the payment -------------------------------------------------------
def _on_authorized(actor: Any) -> OnSuccess:
    def apply(payment: Payment, op: PaymentOperation, result: GatewayResult) -> None:
        before = payment.state
        now = timezone.now()
        payment.provider_id = result.provider_id or payment.provider_id
        if result.status == "requires_action":
            payment.failure_code = "requires_action"
            payment.failure_message = "The customer must complete authentication."
            payment.save()
            _payment_event(payment, actor=actor, message="Payment needs customer authentication")
            return
        if result.status == "captured":
            if can_proceed(payment.capture):
                payment.capture()
            payment.amount_captured = result.amount
        elif can_proceed(payment.authorize):
            payment.authorize()
        payment.amount_authorized = result.amount
        payment.authorized_at = now
        payment.authorization_expires_at = now + CARD_AUTHORIZATION_VALIDITY
        payment.failure_code = payment.failure_message = ""
        payment.save()
        _payment_event(
            payment,
            actor=actor,
            message=f"Payment authorized: {result.amount} {payment.currency}",
            amount=str(result.amount),
            operation=op.kind,
        )
        _audit(payment, actor=actor, action=payment.state, before=before, amount=result.amount)

    return apply


def _on_authorize_declined(actor: Any) -> OnDeclined:
    def apply(payment: Payment, op: PaymentOperation, exc: PaymentDeclined) -> None:
        before = payment.state
        if can_proceed(payment.fail):
            payment.fail()
        payment.provider_id = payment.provider_id or exc.provider_id[:128]
        payment.failure_code = exc.failure_code[:64]
        payment.failure_message = exc.failure_message[:500]
        payment.save()
        _payment_event(
            payment,
            actor=actor,
            message=f"Payment declined: {exc.failure_message}",
            failure_code=exc.failure_code,
            operation=op.kind,
        )
        _audit(payment, actor=actor, action="failed", before=before, failure_code=exc.failure_code)

    return apply


def _on_captured(actor: Any) -> OnSuccess:
    def apply(payment: Payment, op: PaymentOperation, result: GatewayResult) -> None:
        before = payment.state
        if can_proceed(payment.capture):
            payment.capture()
        if result.amount >= payment.amount_refunded:
            payment.amount_captured = result.amount
        payment.save()
        _payment_event(
            payment,
            actor=actor,
            message=f"Payment captured: {result.amount} {payment.currency}",
            amount=str(result.amount),
            shipment_ref=op.reason,
        )
        _audit(payment, actor=actor, action="captured", before=before, amount=result.amount)

    return apply


def _on_charged(actor: Any) -> OnSuccess:
    def apply(payment: Payment, op: PaymentOperation, result: GatewayResult) -> None:
        before = payment.state
        payment.provider_id = result.provider_id
        if can_proceed(payment.capture):
            payment.capture()
        payment.amount_authorized = payment.amount_captured = result.amount
        payment.authorized_at = timezone.now()
        payment.save()
        _payment_event(
            payment,
            actor=actor,
            message=f"Shipment {payment.shipment_ref} charged: {result.amount} {payment.currency}",
            amount=str(result.amount),
            shipment_ref=payment.shipment_ref,
        )
        _audit(payment, actor=actor, action="captured", before=before, amount=result.amount)

    return apply


def _on_voided(actor: Any) -> OnSuccess:
    def apply(payment: Payment, op: PaymentOperation, result: GatewayResult) -> None:
        before = payment.state
        if can_proceed(payment.void):
            payment.void()
            payment.save()
        _payment_event(payment, actor=actor, message="Payment authorization voided")
        _audit(payment, actor=actor, action="voided", before=before)

    return apply


def _on_refunded(actor: Any) -> OnSuccess:
    def apply(payment: Payment, op: PaymentOperation, result: GatewayResult) -> None:
        before = payment.state
        if can_proceed(payment.record_refund):
            payment.record_refund()
        payment.save()
        _payment_event(
            payment,
            actor=actor,
            message=f"Refunded {op.amount} {payment.currency}",
            amount=str(op.amount),
            refund_id=result.provider_id,
            operation_id=op.pk,
            reason=op.reason,
        )
        _audit(payment, actor=actor, action="refunded", before=before, amount=op.amount)

    return apply


def _on_refund_declined(actor: Any) -> OnDeclined:
    def apply(payment: Payment, op: PaymentOperation, exc: PaymentDeclined) -> None:
        # Give the reservation back: the provider did not move the money.
        payment.amount_refunded = payment.amount_refunded - op.amount
        if can_proceed(payment.record_refund):
            payment.record_refund()
        payment.save()
        _payment_event(
            payment,
            actor=actor,
            message=f"Refund of {op.amount} {payment.currency} refused: {exc.failure_message}",
            failure_code=exc.failure_code,
            operation_id=op.pk,
        )

    return apply


def _on_refused(actor: Any, what: str) -> OnDeclined:
    def apply(payment: Payment, op: PaymentOperation, exc: PaymentDeclined) -> None:
        _payment_event(
            payment,
            actor=actor,
            message=f"{what} refused by the provider: {exc.failure_message}",
            failure_code=exc.failure_code,
            operation_id=op.pk,
        )

    return apply


# --- building the provider calls ------------------------------------------------------------------
def _metadata(payment: Payment, order: Order, **extra: Any) -> dict[str, str]:
    return {
        "tenant": str(payment.tenant_id),
        "order": str(order.pk),
        "order_number": order.number,
        "payment": str(payment.pk),
        **{k: str(v) for k, v in extra.items()},
    }


def _customer_ref(order: Order) -> str:
    return order.customer.stripe_customer_id if order.customer_id else ""


def _creating_call(payment: Payment, order: Order) -> Callable[[PaymentOperation], GatewayResult]:
    """The provider call behind an operation that creates the provider-side payment."""
    gateway = gateway_for(tenant=_tenant_of(payment), provider=payment.provider)

    def call(op: PaymentOperation) -> GatewayResult:
        if op.kind == PaymentOperationKind.CHARGE:
            return gateway.charge_off_session(
                amount=op.amount,
                currency=payment.currency,
                payment_method=payment.payment_method,
                customer_ref=_customer_ref(order),
                idempotency_key=op.idempotency_key,
                metadata=_metadata(payment, order, shipment=payment.shipment_ref),
            )
        reauthorizing = op.kind == PaymentOperationKind.REAUTHORIZE
        extra = {"reauthorizes": payment.reauthorized_from_id} if reauthorizing else {}
        return gateway.authorize(
            amount=op.amount,
            currency=payment.currency,
            payment_method=payment.payment_method,
            idempotency_key=op.idempotency_key,
            metadata=_metadata(payment, order, **extra),
            customer_ref=_customer_ref(order),
            off_session=reauthorizing,
        )

    return call


def _tenant_of(payment: Payment) -> Tenant:
    return Tenant.objects.get(pk=payment.tenant_id)


def _run_creating_op(op: PaymentOperation, *, owner: bool, actor: Any) -> PaymentOperation:
    payment = _payment_get(op.tenant_id, op.payment_id)
    order = Order.objects.for_tenant(op.tenant_id).select_related("customer").get(pk=payment.order_id)
    if op.kind == PaymentOperationKind.CHARGE:
        on_success, on_declined = _on_charged(actor), _on_authorize_declined(actor)
    else:
        on_success, on_declined = _on_authorized(actor), _on_authorize_declined(actor)
    return _op_run(
        op, owner=owner, call=_creating_call(payment, order), on_success=on_success, on_declined=on_declined
    )


def _settle_pending_payment(tenant: Any, payment: Payment, *, actor: Any) -> Payment:
    """Finish (or wait for) the operation that is creating a pending payment at the provider."""
    op = (
        PaymentOperation.objects.for_tenant(tenant)
        .filter(payment=payment, kind__in=CREATING_KINDS, state=OperationState.PENDING)
        .order_by("pk")
        .first()
    )
    if op is not None:
        _run_creating_op(op, owner=False, actor=actor)
    return _payment_get(tenant, payment.pk)


# --- the services ---------------------------------------------------------------------------------
def payment_authorize(
    *,
    tenant: Any,
    order: Order,
    provider: str,
    payment_method: str,
    amount: Decimal | None = None,
    actor: Any = None,
) -> Payment:
    """Authorize the order's amount (default: order.total). A decline leaves a failed Payment, no exception.

    Idempotent per order and provider: while a live (pending/authorized/captured) payment of
    this provider exists for the order, it is resumed or returned, never a second one made.
    """
    _assert_no_open_transaction()
    amount = _money(order.total if amount is None else amount)
    if amount <= 0:
        raise DomainError("invalid_amount", "The amount to authorize must be positive.", amount=str(amount))
    # An unknown or unconfigured provider fails here, before any write.
    gateway_for(tenant=tenant, provider=provider)
    with transaction.atomic():
        locked = _order_for_update(tenant, order.pk)
        payment = (
            Payment.objects.for_tenant(tenant)
            .filter(order=locked, provider=provider, shipment_ref="")
            .filter(state__in=[PaymentState.PENDING, PaymentState.AUTHORIZED, *CAPTURED_STATES[:2]])
            .order_by("-pk")
            .first()
        )
        op: PaymentOperation | None = None
        owner = False
        if payment is None:
            payment = Payment.objects.create(
                tenant_id=locked.tenant_id,
                order=locked,
                provider=provider,
                payment_method=payment_method,
                currency=locked.currency,
            )
            op = _op_create(
                payment=payment,
                kind=PaymentOperationKind.AUTHORIZE,
                amount=amount,
                key=_key(locked.tenant_id, "payment", payment.pk, "authorize"),
            )
            owner = True
    if op is not None:
        _run_creating_op(op, owner=owner, actor=actor)
    elif payment.state == PaymentState.PENDING:
        _settle_pending_payment(tenant, payment, actor=actor)
    payment = _payment_get(tenant, payment.pk)
    if payment.state == PaymentState.FAILED:
        # An order whose payment was refused must not be fulfilled until someone looks at it.
        _hold_order(
            tenant=tenant,
            order_id=order.pk,
            kind=HoldKind.PAYMENT,
            reason=f"Payment declined: {payment.failure_message or payment.failure_code}",
            actor=actor,
        )
    tenant_row = tenant if isinstance(tenant, Tenant) else Tenant.objects.get(pk=tenant)
    if payment.state == PaymentState.AUTHORIZED and tenant_row.capture_policy == CapturePolicy.ON_ORDER:
        payment = payment_capture(tenant=tenant, payment_id=payment.pk, actor=actor)
    return payment


def _capture(
    *, tenant: Any, payment_id: int, amount: Decimal | None, reason: str = "", actor: Any
) -> tuple[Payment, PaymentOperation | None]:
    _assert_no_open_transaction()
    with transaction.atomic():
        payment = _payment_for_update(tenant, payment_id)
        key = _key(payment.tenant_id, "payment", payment.pk, "capture", 1)
        op = _op_get(payment.tenant_id, key)
        owner = False
        if op is None:
            if payment.state in CAPTURED_STATES:
                return payment, None  # captured already (e.g. in the provider's dashboard, synced by webhook)
            if payment.state != PaymentState.AUTHORIZED:
                raise ConflictError(
                    "payment_not_capturable",
                    f"A {payment.state} payment cannot be captured.",
                    payment_id=payment.pk,
                    state=payment.state,
                )
            amount = payment.amount_authorized if amount is None else _money(amount)
            if amount <= 0 or amount > payment.amount_authorized:
                raise DomainError(
                    "capture_exceeds_authorized",
                    f"Capture {amount} must be positive and at most {payment.amount_authorized}.",
                    amount=str(amount),
                    authorized=str(payment.amount_authorized),
                )
            op = _op_create(
                payment=payment, kind=PaymentOperationKind.CAPTURE, amount=amount, key=key, reason=reason
            )
            owner = True
    gateway = gateway_for(tenant=tenant, provider=payment.provider)
    op = _op_run(
        op,
        owner=owner,
        call=lambda o: gateway.capture(
            provider_id=payment.provider_id, amount=o.amount, idempotency_key=o.idempotency_key
        ),
        on_success=_on_captured(actor),
        on_declined=_on_refused(actor, "Capture"),
    )
    if op.state == OperationState.FAILED:
        raise _declined_from(op)
    return _payment_get(tenant, payment_id), op


def payment_capture(
    *, tenant: Any, payment_id: int, amount: Decimal | None = None, actor: Any = None
) -> Payment:
    """Capture once (at most the authorized amount; the rest of the authorization is released)."""
    return _capture(tenant=tenant, payment_id=payment_id, amount=amount, actor=actor)[0]


def payment_void(*, tenant: Any, payment_id: int, actor: Any = None) -> Payment:
    """Release an uncaptured authorization."""
    _assert_no_open_transaction()
    with transaction.atomic():
        payment = _payment_for_update(tenant, payment_id)
        key = _key(payment.tenant_id, "payment", payment.pk, "void", 1)
        op = _op_get(payment.tenant_id, key)
        owner = False
        if op is None:
            if payment.state == PaymentState.VOIDED:
                return payment
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
            op = _op_create(
                payment=payment, kind=PaymentOperationKind.VOID, amount=payment.amount_authorized, key=key
            )
            owner = True
    gateway = gateway_for(tenant=tenant, provider=payment.provider)
    op = _op_run(
        op,
        owner=owner,
        call=lambda o: gateway.void(provider_id=payment.provider_id, idempotency_key=o.idempotency_key),
        on_success=_on_voided(actor),
        on_declined=_on_refused(actor, "Void"),
    )
    if op.state == OperationState.FAILED:
        raise _declined_from(op)
    return _payment_get(tenant, payment_id)


def _refund_key(tenant_id: int, payment_id: int, request_ref: str) -> str:
    return _key(tenant_id, "payment", payment_id, "refund", request_ref)


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
    PaymentDeclined when the provider refuses (the reserved amount is given back).
    """
    _assert_no_open_transaction()
    amount = _money(amount)
    if amount <= 0:
        raise DomainError("invalid_amount", "The refund amount must be positive.", amount=str(amount))
    if not request_ref:
        raise DomainError(CommonErrorCode.VALIDATION_ERROR, "A refund needs a request_ref.")
    try:
        with transaction.atomic():
            payment = _payment_for_update(tenant, payment_id)
            key = _refund_key(payment.tenant_id, payment.pk, request_ref)
            op = _op_get(payment.tenant_id, key)
            owner = False
            if op is None:
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
                # Reserve before the provider call; the DB CHECK refunded <= captured is the backstop.
                payment.amount_refunded = payment.amount_refunded + amount
                payment.save(update_fields=["amount_refunded", "updated_at"])
                op = _op_create(
                    payment=payment, kind=PaymentOperationKind.REFUND, amount=amount, key=key, reason=reason
                )
                owner = True
    except IntegrityError:
        # Only reachable if two writers got past the check at once: a constraint refused one.
        tenant_id = _tenant_id(tenant)
        op = _op_get(tenant_id, _refund_key(tenant_id, payment_id, request_ref))
        if op is None:
            raise DomainError(
                "refund_exceeds_captured", "Refund exceeds the refundable amount.", amount=str(amount)
            )
        owner = False
        payment = _payment_get(tenant, payment_id)
    if op.amount != amount:
        raise ConflictError(
            CommonErrorCode.IDEMPOTENCY_KEY_REUSED,
            f"Refund request {request_ref!r} was already made for {op.amount}.",
            request_ref=request_ref,
            amount=str(op.amount),
        )
    gateway = gateway_for(tenant=tenant, provider=payment.provider)
    op = _op_run(
        op,
        owner=owner,
        call=lambda o: gateway.refund(
            provider_id=payment.provider_id,
            amount=o.amount,
            idempotency_key=o.idempotency_key,
            reason=o.reason,
        ),
        on_success=_on_refunded(actor),
        on_declined=_on_refund_declined(actor),
    )
    if op.state == OperationState.FAILED:
        raise _declined_from(op)
    return op


def _tenant_id(tenant: Any) -> int:
    return tenant if isinstance(tenant, int) else tenant.pk


def payment_reauthorize(*, tenant: Any, payment_id: int, actor: Any = None) -> Payment:
    """Before an authorization expires: authorize the same amount again (new Payment), void the old one."""
    return _reauthorize(tenant=tenant, payment_id=payment_id, amount=None, actor=actor)


def payment_adjust_authorization(*, tenant: Any, order_id: int, actor: Any = None) -> Payment | None:
    """After an order edit changed the total: make the live authorization cover it.

    A larger total gets a new authorization for the new total (the old one is voided); a
    smaller one needs nothing at the provider, since captures never take more than the order
    total. A payment already captured is left alone (a refund or a shipment charge settles it).
    """
    _assert_no_open_transaction()
    order = Order.objects.for_tenant(tenant).get(pk=order_id)
    primary = _primary_payment(tenant, order_id)
    if primary is not None and primary.state == PaymentState.PENDING:
        primary = _settle_pending_payment(tenant, primary, actor=actor)
    if primary is None or primary.state != PaymentState.AUTHORIZED:
        return primary
    if order.total <= primary.amount_authorized:
        return primary
    return _reauthorize(tenant=tenant, payment_id=primary.pk, amount=order.total, actor=actor)


def _reauthorize(*, tenant: Any, payment_id: int, amount: Decimal | None, actor: Any) -> Payment:
    _assert_no_open_transaction()
    with transaction.atomic():
        old = _payment_for_update(tenant, payment_id)
        key = _key(old.tenant_id, "payment", old.pk, "reauthorize")
        op = _op_get(old.tenant_id, key)
        owner = False
        if op is None:
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
            op = _op_create(
                payment=new,
                kind=PaymentOperationKind.REAUTHORIZE,
                amount=old.amount_authorized if amount is None else _money(amount),
                key=key,
            )
            owner = True
    op = _run_creating_op(op, owner=owner, actor=actor)
    new = _payment_get(tenant, op.payment_id)
    if new.state == PaymentState.AUTHORIZED:
        try:
            payment_void(tenant=tenant, payment_id=payment_id, actor=actor)
        except ConflictError:
            pass  # no longer voidable (captured meanwhile, or voided by the provider)
        except PaymentDeclined as exc:
            logger.warning("Voiding re-authorized payment %s was refused: %s", payment_id, exc.failure_code)
    return new


def _primary_payment(tenant: Any, order_id: int) -> Payment | None:
    """The order's own authorization (not a per-shipment charge), the newest live one."""
    return (
        Payment.objects.for_tenant(tenant)
        .filter(order_id=order_id, shipment_ref="")
        .exclude(state__in=[PaymentState.VOIDED, PaymentState.FAILED])
        .order_by("-pk")
        .first()
    )


def payments_for_order_cancel(*, tenant: Any, order_id: int, actor: Any = None) -> None:
    """Void uncaptured authorizations and refund captured amounts of a cancelled order. Re-runnable."""
    _assert_no_open_transaction()
    refused: list[PaymentDeclined] = []
    for payment in Payment.objects.for_tenant(tenant).filter(order_id=order_id).order_by("pk"):
        try:
            if payment.state == PaymentState.PENDING:
                payment = _settle_pending_payment(tenant, payment, actor=actor)
            if payment.state == PaymentState.AUTHORIZED or (
                payment.state == PaymentState.PENDING and payment.provider_id
            ):
                payment_void(tenant=tenant, payment_id=payment.pk, actor=actor)
                continue
            request_ref = f"order-cancel:{order_id}"
            earlier = _op_get(payment.tenant_id, _refund_key(payment.tenant_id, payment.pk, request_ref))
            amount = earlier.amount if earlier is not None else payment.refundable
            if payment.state in (PaymentState.CAPTURED, PaymentState.PARTIALLY_REFUNDED) and amount > 0:
                payment_refund(
                    tenant=tenant,
                    payment_id=payment.pk,
                    amount=amount,
                    request_ref=request_ref,
                    reason="order cancelled",
                    actor=actor,
                )
        except PaymentDeclined as exc:
            refused.append(exc)
    if refused:
        raise refused[0]


def payment_capture_for_shipment(
    *, tenant: Any, order_id: int, shipment_amount: Decimal, shipment_ref: str, actor: Any = None
) -> None:
    """Take the money for a shipment according to the tenant's capture policies. Re-runnable per shipment."""
    _assert_no_open_transaction()
    tenant_row = tenant if isinstance(tenant, Tenant) else Tenant.objects.get(pk=tenant)
    shipment_amount = _money(shipment_amount)
    primary = _primary_payment(tenant_row, order_id)
    if primary is None:
        return  # paid elsewhere (a marketplace) or not paid through us
    if primary.state == PaymentState.PENDING:
        primary = _settle_pending_payment(tenant_row, primary, actor=actor)
    if primary.state not in (PaymentState.AUTHORIZED, *CAPTURED_STATES):
        raise ConflictError(
            "payment_not_authorized",
            f"The order's payment is {primary.state}; nothing to capture.",
            payment_id=primary.pk,
            state=primary.state,
        )
    per_shipment = (
        tenant_row.capture_policy == CapturePolicy.ON_SHIPMENT
        and tenant_row.split_capture_policy == SplitCapturePolicy.PER_SHIPMENT
    )
    if primary.state == PaymentState.AUTHORIZED:
        # Never more than the order total (it may have shrunk by an edit since the authorization).
        others = sum(
            (
                p.amount_captured
                for p in Payment.objects.for_tenant(tenant_row)
                .filter(order_id=order_id, state__in=CAPTURED_STATES)
                .exclude(pk=primary.pk)
            ),
            ZERO,
        )
        total = Order.objects.for_tenant(tenant_row).values_list("total", flat=True).get(pk=order_id)
        amount = min(primary.amount_authorized, total - others)
        if per_shipment:
            amount = min(amount, shipment_amount)
        if amount <= 0:
            return
        _capture(tenant=tenant_row, payment_id=primary.pk, amount=amount, reason=shipment_ref, actor=actor)
        return
    if not per_shipment:
        return  # captured at order time or at the first shipment: later shipments take nothing
    first = _op_get(primary.tenant_id, _key(primary.tenant_id, "payment", primary.pk, "capture", 1))
    if first is not None and first.reason == shipment_ref:
        return  # this shipment was the first one; its capture is done
    _charge_shipment(
        tenant=tenant_row,
        order_id=order_id,
        primary=primary,
        amount=shipment_amount,
        shipment_ref=shipment_ref,
        actor=actor,
    )


def _charge_shipment(
    *, tenant: Tenant, order_id: int, primary: Payment, amount: Decimal, shipment_ref: str, actor: Any
) -> Payment | None:
    """Charge a later shipment off-session with the saved payment method, as a new Payment row."""
    key = _key(tenant.pk, "order", order_id, "shipment", shipment_ref, "charge")
    with transaction.atomic():
        order = _order_for_update(tenant, order_id)
        op = _op_get(tenant.pk, key)
        owner = False
        if op is None:
            taken = sum(
                (
                    p.amount_captured
                    for p in Payment.objects.for_tenant(tenant).filter(order=order, state__in=CAPTURED_STATES)
                ),
                ZERO,
            )
            amount = min(amount, order.total - taken)
            if amount <= 0:
                return None  # the order total is taken already
            payment = Payment.objects.create(
                tenant=tenant,
                order=order,
                provider=primary.provider,
                payment_method=primary.payment_method,
                currency=order.currency,
                shipment_ref=shipment_ref[:128],
            )
            op = _op_create(
                payment=payment, kind=PaymentOperationKind.CHARGE, amount=amount, key=key, reason=shipment_ref
            )
            owner = True
    op = _run_creating_op(op, owner=owner, actor=actor)
    payment = _payment_get(tenant, op.payment_id)
    if payment.state == PaymentState.FAILED:
        logger.warning(
            "Off-session charge for shipment %s of order %s failed: %s",
            shipment_ref,
            order_id,
            payment.failure_code,
        )
    return payment


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


# --- recording what the provider tells us (webhooks) ----------------------------------------------
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


def _learn_provider_id(payment: Payment, provider_id: str) -> None:
    """A payment whose create call's answer was lost learns its provider id from the provider's event."""
    if provider_id and not payment.provider_id:
        payment.provider_id = provider_id[:128]
        payment.save(update_fields=["provider_id", "updated_at"])


def _hold_order(*, tenant: Any, order_id: int, kind: str, reason: str, actor: Any) -> None:
    if (
        Hold.objects.for_tenant(tenant)
        .filter(order_id=order_id, kind=kind, released_at__isnull=True)
        .exists()
    ):
        return
    from orders import services as order_services  # the order room's write services

    tenant = tenant if isinstance(tenant, Tenant) else Tenant.objects.get(pk=tenant)

    try:
        with transaction.atomic():
            order_services.order_hold(tenant=tenant, order_id=order_id, kind=kind, reason=reason, actor=actor)
    except DomainError as exc:
        order = Order.objects.for_tenant(tenant).get(pk=order_id)
        OrderEvent.objects.create(
            tenant_id=order.tenant_id,
            order=order,
            type=OrderEventType.NOTE,
            actor=actor_of(actor)[1][:200],
            message=f"Could not put the order on a {kind} hold: {exc.message}",
            data={"kind": kind, "reason": reason, "code": exc.code},
        )


@transaction.atomic
def payment_record_authorized(
    *, tenant: Any, payment_id: int, amount: Decimal, provider_id: str = "", actor: Any = None
) -> bool:
    """The provider says the payment is authorized (e.g. after the customer completed 3-D Secure)."""
    payment = _payment_for_update(tenant, payment_id)
    _learn_provider_id(payment, provider_id)
    if payment.state != PaymentState.PENDING:
        return False
    _on_authorized(actor)(
        payment,
        PaymentOperation(kind=PaymentOperationKind.AUTHORIZE),
        GatewayResult(payment.provider_id, "authorized", amount),
    )
    return True


@transaction.atomic
def payment_record_captured(
    *, tenant: Any, payment_id: int, amount: Decimal | None, provider_id: str = "", actor: Any = None
) -> bool:
    """The provider says the money was captured. `amount` None: the provider did not say how much."""
    payment = _payment_for_update(tenant, payment_id)
    _learn_provider_id(payment, provider_id)
    before = payment.state
    if payment.state in (PaymentState.PENDING, PaymentState.AUTHORIZED):
        captured = amount if amount is not None else (payment.amount_authorized or ZERO)
        payment.capture()
        payment.amount_captured = captured
        if not payment.amount_authorized:
            payment.amount_authorized = captured
        payment.save()
        _payment_event(
            payment, actor=actor, message=f"Payment captured at the provider: {captured} {payment.currency}"
        )
        _audit(payment, actor=actor, action="captured", before=before, amount=captured)
        return True
    if payment.state in CAPTURED_STATES and amount is not None and amount != payment.amount_captured:
        if amount < payment.amount_refunded:
            return False
        previous = payment.amount_captured
        payment.amount_captured = amount
        if can_proceed(payment.record_refund):
            payment.record_refund()
        payment.save()
        _payment_event(
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
    payment = _payment_for_update(tenant, payment_id)
    _learn_provider_id(payment, provider_id)
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
        _payment_event(
            payment, actor=actor, message=f"Payment failed: {failure_message}", failure_code=failure_code
        )
        _audit(payment, actor=actor, action="failed", before=before, failure_code=failure_code)
        changed = True
    if payment.state == PaymentState.FAILED and payment.shipment_ref == "":
        _hold_order(
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
    payment = _payment_for_update(tenant, payment_id)
    if not can_proceed(payment.void) or payment.state == PaymentState.VOIDED:
        return False
    before = payment.state
    payment.void()
    payment.save()
    _payment_event(payment, actor=actor, message="Authorization cancelled at the provider")
    _audit(payment, actor=actor, action="voided", before=before)
    return True


@transaction.atomic
def payment_record_refunded(
    *, tenant: Any, payment_id: int, amount_refunded: Decimal, actor: Any = None
) -> bool:
    """The provider's running refunded total (refunds made in its dashboard included).

    Ours already counts every refund we made or reserved, so only a larger total changes anything.
    """
    payment = _payment_for_update(tenant, payment_id)
    if payment.state not in CAPTURED_STATES:
        return False
    total = min(_money(amount_refunded), payment.amount_captured)
    if total <= payment.amount_refunded:
        return False
    before, previous = payment.state, payment.amount_refunded
    payment.amount_refunded = total
    payment.record_refund()
    payment.save()
    _payment_event(
        payment,
        actor=actor,
        message=f"Refund made at the provider: refunded {previous} -> {total} {payment.currency}",
        amount_refunded=str(total),
    )
    _audit(payment, actor=actor, action="refunded", before=before, amount_refunded=total)
    return True


@transaction.atomic
def payment_record_dispute(
    *, tenant: Any, payment_id: int, dispute_ref: str, amount: Decimal | None, reason: str, actor: Any = None
) -> bool:
    """A chargeback was opened: an order event and a fraud hold. Recorded once per dispute."""
    payment = _payment_for_update(tenant, payment_id)
    seen = OrderEvent.objects.for_tenant(tenant).filter(
        order_id=payment.order_id, type=OrderEventType.PAYMENT, data__dispute_ref=dispute_ref
    )
    if seen.exists():
        return False
    _payment_event(
        payment,
        actor=actor,
        message=f"Dispute opened ({reason or 'no reason given'})",
        dispute_ref=dispute_ref,
        amount=str(amount) if amount is not None else "",
        reason=reason,
    )
    _hold_order(
        tenant=tenant,
        order_id=payment.order_id,
        kind=HoldKind.FRAUD,
        reason=f"Dispute {dispute_ref} opened: {reason}"[:500],
        actor=actor,
    )
    return True
