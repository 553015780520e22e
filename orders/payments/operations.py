"""The lease machinery: every write to a payment provider is one stored PaymentOperation.

1. Store. In a short transaction, under the order's row lock (then the payment's), check the
   rules and store a PaymentOperation whose idempotency key is derived from our own ids. The
   operation carries a lease (`locked_until`): whoever stored or claimed it is the one caller
   that talks to the provider.
2. Call. After the commit, call the provider OUTSIDE any transaction or row lock, with that key.
3. Record. In a second short transaction, under the same locks, record the answer on the
   operation and hand it to the caller's outcome (what the answer does to the payment).

A retried call with the same key finds the operation: settled -> the stored answer, no
provider call; pending with a live lease -> wait briefly for the owner's answer, else
ConflictError; pending with a lapsed lease (the owner died, or got a transient error) ->
claim it and send the same request with the same key again.

The provider's definitive refusal (PaymentDeclined) is an answer and is stored; a transient
failure (PaymentGatewayUnavailable) is not: the lease is released and the error propagates,
so a Celery task retries.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from oms.core.errors import CommonErrorCode, ConflictError, NotFoundError
from oms.models import Tenant
from orders import locks
from orders.models import Order, Payment, PaymentOperation
from orders.payments.gateway import GatewayResult, PaymentDeclined, PaymentGatewayUnavailable
from orders.states import OperationState, PaymentState

ZERO = Decimal("0.00")
OPERATION_IN_PROGRESS = "payment_operation_in_progress"
CAPTURED_STATES = (PaymentState.CAPTURED, PaymentState.PARTIALLY_REFUNDED, PaymentState.REFUNDED)

OnSuccess = Callable[[Order, Payment, PaymentOperation, GatewayResult], None]
OnDeclined = Callable[[Order, Payment, PaymentOperation, PaymentDeclined], None]
ProviderCall = Callable[[PaymentOperation], GatewayResult]
Create = Callable[[Order, Payment | None], PaymentOperation | None]


def _lease() -> timedelta:
    return timedelta(seconds=getattr(settings, "PAYMENT_OPERATION_LEASE_SECONDS", 90))


def _wait_seconds() -> float:
    return float(getattr(settings, "PAYMENT_OPERATION_WAIT_SECONDS", 5.0))


# --- small helpers ------------------------------------------------------------------------------
def op_key(tenant_id: int, *parts: object) -> str:
    """An idempotency key from our own ids; a long free-text part is replaced by its digest."""
    cleaned = [
        str(p) if len(str(p)) <= 64 else hashlib.sha256(str(p).encode()).hexdigest()[:32] for p in parts
    ]
    return ":".join([str(tenant_id), *cleaned])[:200]


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def tenant_id_of(tenant: Any) -> int:
    return tenant if isinstance(tenant, int) else tenant.pk


def tenant_row(tenant: Any) -> Tenant:
    return tenant if isinstance(tenant, Tenant) else Tenant.objects.get(pk=tenant)


def assert_no_open_transaction() -> None:
    """The provider is called between our transactions, never inside a caller's.

    (The wrapping transaction of a pytest-django `db` test is not a caller's transaction.)
    """
    if any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks):
        raise RuntimeError(
            "Payment services call the payment provider and own their transactions; call them "
            "outside transaction.atomic (e.g. from a task enqueued on commit)."
        )


def payment_locked(tenant: Any, payment_id: int) -> tuple[Order, Payment]:
    """Inside a transaction: the payment and its order, locked in the one order (order first)."""
    tenant_id = tenant_id_of(tenant)
    order, payment = lock_order_and_payment(
        tenant_id, payment_get(tenant_id, payment_id).order_id, payment_id
    )
    assert payment is not None
    return order, payment


def payment_get(tenant: Any, payment_id: int) -> Payment:
    try:
        return Payment.objects.for_tenant(tenant).get(pk=payment_id)
    except Payment.DoesNotExist:
        raise NotFoundError("payment_not_found", "No such payment.", payment_id=payment_id)


def op_get(tenant_id: int, key: str) -> PaymentOperation | None:
    return PaymentOperation.objects.for_tenant(tenant_id).filter(idempotency_key=key).first()


def ops_pending(payment: Payment, *kinds: str) -> list[PaymentOperation]:
    qs = PaymentOperation.objects.for_tenant(payment.tenant_id).filter(
        payment=payment, state=OperationState.PENDING
    )
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return list(qs.order_by("pk"))


def op_create(
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


def lock_order_and_payment(
    tenant_id: int, order_id: int, payment_id: int | None
) -> tuple[Order, Payment | None]:
    """Inside a transaction: lock the order, then (when given) its payment. The one lock order for money."""
    try:
        order = locks.order_for_update(tenant=tenant_id, order_id=order_id)
        payment = locks.payment_for_update(tenant=tenant_id, payment_id=payment_id) if payment_id else None
    except (Order.DoesNotExist, Payment.DoesNotExist):
        raise NotFoundError(CommonErrorCode.NOT_FOUND, "No such order or payment.", order_id=order_id)
    return order, payment


# --- step 1: store --------------------------------------------------------------------------------
def op_store(
    *, tenant: Any, key: str, create: Create, order_id: int | None = None, payment_id: int | None = None
) -> tuple[PaymentOperation | None, bool]:
    """Find the operation stored under `key`, or let `create` check the rules and store it.

    Runs under the order's lock, then the payment's (`payment_id`, when the operation is on an
    existing payment). Returns (operation, owner): the owner stored it now and is the caller
    that calls the provider. `create` returns None when there is nothing to do.
    """
    assert_no_open_transaction()
    tenant_id = tenant_id_of(tenant)
    if order_id is None:
        assert payment_id is not None
        order_id = payment_get(tenant_id, payment_id).order_id
    try:
        with transaction.atomic():
            order, payment = lock_order_and_payment(tenant_id, order_id, payment_id)
            op = op_get(tenant_id, key)
            if op is not None:
                return op, False
            op = create(order, payment)
            return op, op is not None
    except IntegrityError:
        # Another writer stored the same key between our check and our insert.
        op = op_get(tenant_id, key)
        if op is None:
            raise
        return op, False


# --- steps 2 and 3: call and record -----------------------------------------------------------------
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


def op_run(
    op: PaymentOperation,
    *,
    owner: bool,
    call: ProviderCall,
    on_success: OnSuccess,
    on_declined: OnDeclined,
) -> PaymentOperation:
    """Call the provider for a pending operation (as its owner, or after claiming a lapsed lease)."""
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
        order, payment = payment_locked(op.tenant_id, op.payment_id)
        op = locks.payment_operation_for_update(tenant=op.tenant_id, operation_id=op.pk)
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
                on_declined(order, payment, op, declined)
        else:
            assert result is not None
            op.state = OperationState.SUCCEEDED
            op.provider_id = result.provider_id[:128]
            op.error = ""
            op.result = {
                "provider_id": result.provider_id,
                "status": result.status,
                "amount": str(result.amount),
                "failure_code": result.failure_code,
                "failure_message": result.failure_message,
            }
            op.save()
            if on_success is not None:
                on_success(order, payment, op, result)
    return op


def declined_from(op: PaymentOperation) -> PaymentDeclined:
    """The stored refusal of a failed operation, raised again to a caller that retries it."""
    return PaymentDeclined(
        op.error or "The payment provider refused the request.",
        failure_code=op.failure_code or "declined",
        provider_id=op.provider_id,
        operation_id=op.pk,
    )
