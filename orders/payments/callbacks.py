"""What each payment operation sends to the provider, and what each answer does to the payment.

`op_execute` runs any stored operation: its kind picks the provider call and the outcome. The
outcomes run inside the record step's transaction, under the order's and the payment's locks,
so each is applied exactly once, by whoever settled the operation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from oms.core.audit import actor_of, audit_record
from oms.core.errors import DomainError
from orders.models import Hold, Order, OrderEvent, Payment, PaymentOperation
from orders.payments.gateway import GatewayResult, PaymentDeclined, PaymentGateway, gateway_for
from orders.payments.operations import OnDeclined, OnSuccess, op_run, payment_get, tenant_row
from orders.services import order_hold
from orders.states import (
    HoldKind,
    OperationState,
    OrderEventType,
    OrderState,
    PaymentOperationKind,
    PaymentPurpose,
)

logger = logging.getLogger(__name__)

CARD_AUTHORIZATION_VALIDITY = timedelta(days=7)
EDIT_REASON = "order-edit"  # the reason on a re-authorization made for a larger total
CREATING_KINDS = (
    PaymentOperationKind.AUTHORIZE,
    PaymentOperationKind.REAUTHORIZE,
    PaymentOperationKind.CHARGE,
)


# --- records ----------------------------------------------------------------------------------------
def payment_event(payment: Payment, *, actor: Any, message: str, **data: Any) -> None:
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


def payment_audit(payment: Payment, *, actor: Any, action: str, before: str, **after: Any) -> None:
    audit_record(
        tenant=payment.tenant,
        actor=actor,
        action=f"payment.{action}",
        obj=payment,
        before={"state": before},
        after={"state": payment.state, **{k: str(v) for k, v in after.items()}},
    )


def _saved(payment: Payment, *, actor: Any, before: str, action: str, message: str, **data: Any) -> None:
    """Save the payment and write its order event and audit event."""
    payment.save()
    payment_event(payment, actor=actor, message=message, **data)
    payment_audit(payment, actor=actor, action=action, before=before, **data)


def hold_order(*, tenant: Any, order_id: int, kind: str, reason: str, actor: Any) -> None:
    """Put the order on a hold for staff (once); an order that can no longer be held gets a note instead."""
    if (
        Hold.objects.for_tenant(tenant)
        .filter(order_id=order_id, kind=kind, released_at__isnull=True)
        .exists()
    ):
        return
    tenant = tenant_row(tenant)
    try:
        with transaction.atomic():
            order_hold(tenant=tenant, order_id=order_id, kind=kind, reason=reason, actor=actor)
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


# --- what each answer does to the payment -------------------------------------------------------
def _created(actor: Any) -> OnSuccess:
    """Authorized, re-authorized, or charged off-session (captured at once)."""

    def apply(order: Order, payment: Payment, op: PaymentOperation, result: GatewayResult) -> None:
        before = payment.state
        payment.provider_id = result.provider_id or payment.provider_id
        if result.status == "requires_action":
            payment.failure_code = "requires_action"
            payment.failure_message = "The customer must complete authentication."
            payment.save()
            payment_event(payment, actor=actor, message="Payment needs customer authentication")
            return
        now = timezone.now()
        if result.status == "captured":
            if can_proceed(payment.capture):
                payment.capture()
            payment.amount_captured = result.amount
        elif can_proceed(payment.authorize):
            payment.authorize()
            payment.authorization_expires_at = now + CARD_AUTHORIZATION_VALIDITY
        payment.amount_authorized = result.amount
        payment.authorized_at = now
        payment.failure_code = payment.failure_message = ""
        what = {
            PaymentPurpose.SHIPMENT: f"Shipment {payment.shipment_ref} charged",
            PaymentPurpose.EDIT: "Larger order total charged",
        }.get(payment.purpose, "Payment authorized")
        _saved(
            payment,
            actor=actor,
            before=before,
            action=payment.state,
            message=f"{what}: {result.amount} {payment.currency}",
            amount=str(result.amount),
            operation=op.kind,
        )

    return apply


def _create_declined(actor: Any) -> OnDeclined:
    """The provider refused to authorize or charge: the payment fails, and staff are told."""

    def apply(order: Order, payment: Payment, op: PaymentOperation, exc: PaymentDeclined) -> None:
        before = payment.state
        if can_proceed(payment.fail):
            payment.fail()
        payment.provider_id = payment.provider_id or exc.provider_id[:128]
        payment.failure_code = exc.failure_code[:64]
        payment.failure_message = exc.failure_message[:500]
        _saved(
            payment,
            actor=actor,
            before=before,
            action="failed",
            message=f"Payment declined: {exc.failure_message}",
            failure_code=exc.failure_code,
            operation=op.kind,
        )
        if order.state == OrderState.CANCELLED:
            return
        if op.kind == PaymentOperationKind.AUTHORIZE and payment.purpose == PaymentPurpose.ORDER:
            # An order whose payment was refused must not be fulfilled until someone looks at it.
            kind, reason = HoldKind.PAYMENT, f"Payment declined: {exc.failure_message or exc.failure_code}"
        elif payment.purpose == PaymentPurpose.EDIT or op.reason == EDIT_REASON:
            kind, reason = (
                HoldKind.PAYMENT_DUE,
                f"The larger total could not be charged: {exc.failure_message}",
            )
        else:
            logger.warning("Payment %s (%s) was declined: %s", payment.pk, op.kind, exc.failure_code)
            return
        hold_order(tenant=order.tenant_id, order_id=order.pk, kind=kind, reason=reason[:500], actor=actor)

    return apply


def _captured(actor: Any) -> OnSuccess:
    def apply(order: Order, payment: Payment, op: PaymentOperation, result: GatewayResult) -> None:
        before = payment.state
        if can_proceed(payment.capture):
            payment.capture()
        if result.amount >= payment.amount_refunded:
            payment.amount_captured = result.amount
        _saved(
            payment,
            actor=actor,
            before=before,
            action="captured",
            message=f"Payment captured: {result.amount} {payment.currency}",
            amount=str(result.amount),
            purpose=op.reason,
        )

    return apply


def _voided(actor: Any) -> OnSuccess:
    def apply(order: Order, payment: Payment, op: PaymentOperation, result: GatewayResult) -> None:
        before = payment.state
        if can_proceed(payment.void):
            payment.void()
        _saved(payment, actor=actor, before=before, action="voided", message="Payment authorization voided")

    return apply


def _refunded(actor: Any) -> OnSuccess:
    def apply(order: Order, payment: Payment, op: PaymentOperation, result: GatewayResult) -> None:
        before = payment.state
        if can_proceed(payment.record_refund):
            payment.record_refund()
        _saved(
            payment,
            actor=actor,
            before=before,
            action="refunded",
            message=f"Refunded {op.amount} {payment.currency}",
            amount=str(op.amount),
            refund_id=result.provider_id,
            operation_id=op.pk,
            reason=op.reason,
        )

    return apply


def _refund_declined(actor: Any) -> OnDeclined:
    def apply(order: Order, payment: Payment, op: PaymentOperation, exc: PaymentDeclined) -> None:
        # Give the reservation back: the provider did not move the money.
        payment.amount_refunded = payment.amount_refunded - op.amount
        if can_proceed(payment.record_refund):
            payment.record_refund()
        payment.save()
        _refused(actor, "Refund")(order, payment, op, exc)

    return apply


def _refused(actor: Any, what: str) -> OnDeclined:
    def apply(order: Order, payment: Payment, op: PaymentOperation, exc: PaymentDeclined) -> None:
        amount = f" of {op.amount} {payment.currency}" if op.kind == PaymentOperationKind.REFUND else ""
        payment_event(
            payment,
            actor=actor,
            message=f"{what}{amount} refused by the provider: {exc.failure_message}",
            failure_code=exc.failure_code,
            operation_id=op.pk,
        )

    return apply


OUTCOMES: dict[str, Callable[[Any], tuple[OnSuccess, OnDeclined]]] = {
    PaymentOperationKind.AUTHORIZE: lambda actor: (_created(actor), _create_declined(actor)),
    PaymentOperationKind.REAUTHORIZE: lambda actor: (_created(actor), _create_declined(actor)),
    PaymentOperationKind.CHARGE: lambda actor: (_created(actor), _create_declined(actor)),
    PaymentOperationKind.CAPTURE: lambda actor: (_captured(actor), _refused(actor, "Capture")),
    PaymentOperationKind.VOID: lambda actor: (_voided(actor), _refused(actor, "Void")),
    PaymentOperationKind.REFUND: lambda actor: (_refunded(actor), _refund_declined(actor)),
}


# --- what each operation sends to the provider ---------------------------------------------------
def _metadata(payment: Payment, order: Order) -> dict[str, str]:
    extra: dict[str, Any] = {}
    if payment.reauthorized_from_id:
        extra["reauthorizes"] = payment.reauthorized_from_id
    if payment.shipment_ref:
        extra["shipment"] = payment.shipment_ref
    if payment.purpose != PaymentPurpose.ORDER:
        extra["purpose"] = payment.purpose
    return {
        "tenant": str(payment.tenant_id),
        "order": str(order.pk),
        "order_number": order.number,
        "payment": str(payment.pk),
        **{k: str(v) for k, v in extra.items()},
    }


def _provider_call(
    gateway: PaymentGateway, op: PaymentOperation, payment: Payment, order: Order
) -> GatewayResult:
    kind, key = op.kind, op.idempotency_key
    customer_ref = order.customer.stripe_customer_id if order.customer_id else ""
    if kind == PaymentOperationKind.CHARGE:
        return gateway.charge_off_session(
            amount=op.amount,
            currency=payment.currency,
            payment_method=payment.payment_method,
            customer_ref=customer_ref,
            idempotency_key=key,
            metadata=_metadata(payment, order),
        )
    if kind in (PaymentOperationKind.AUTHORIZE, PaymentOperationKind.REAUTHORIZE):
        return gateway.authorize(
            amount=op.amount,
            currency=payment.currency,
            payment_method=payment.payment_method,
            idempotency_key=key,
            metadata=_metadata(payment, order),
            customer_ref=customer_ref,
            off_session=kind == PaymentOperationKind.REAUTHORIZE,  # the customer is not present
        )
    if kind == PaymentOperationKind.CAPTURE:
        return gateway.capture(provider_id=payment.provider_id, amount=op.amount, idempotency_key=key)
    if kind == PaymentOperationKind.VOID:
        return gateway.void(provider_id=payment.provider_id, idempotency_key=key)
    return gateway.refund(
        provider_id=payment.provider_id, amount=op.amount, idempotency_key=key, reason=op.reason
    )


def op_execute(op: PaymentOperation, *, owner: bool, actor: Any) -> PaymentOperation:
    """Steps 2 and 3 for a stored operation of any kind; a settled one is returned as it is."""
    if op.state != OperationState.PENDING:
        return op
    payment = payment_get(op.tenant_id, op.payment_id)
    order = Order.objects.for_tenant(op.tenant_id).select_related("customer").get(pk=payment.order_id)
    gateway = gateway_for(tenant=tenant_row(op.tenant_id), provider=payment.provider)
    on_success, on_declined = OUTCOMES[op.kind](actor)
    return op_run(
        op,
        owner=owner,
        call=lambda o: _provider_call(gateway, o, payment, order),
        on_success=on_success,
        on_declined=on_declined,
    )
