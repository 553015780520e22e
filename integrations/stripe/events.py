"""Processing verified Stripe events (from the inbox, in a task). Vendor shapes stop here.

Each handler turns a Stripe object into a call to an orders.payments.recorders recorder,
scoped to the tenant that owns the account the event came in through; a PaymentIntent id
of another tenant simply matches nothing. Handlers are idempotent: the recorders only
change what is not already so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from integrations.inbox import IGNORED, PROCESSED
from integrations.models import InboundEvent
from integrations.stripe.money import from_minor, to_minor
from orders.models import Payment
from orders.payments import recorders

ACTOR = "stripe"


def _id(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _payment_for(
    event: InboundEvent, intent_id: str, metadata: dict[str, Any] | None = None
) -> Payment | None:
    metadata = metadata or {}
    hint = metadata.get("payment", "") if str(metadata.get("tenant", "")) == str(event.tenant_id) else ""
    return recorders.payment_find_for_provider(
        tenant=event.tenant, provider="stripe", provider_id=intent_id, payment_id_hint=hint
    )


def _created(payload: dict[str, Any]) -> datetime | None:
    created = payload.get("created")
    return datetime.fromtimestamp(int(created), tz=UTC) if created else None


def _amount(obj: dict[str, Any], field: str, payment: Payment) -> Decimal | None:
    """A Stripe amount (minor units) of the object, in the object's currency; None when absent."""
    value = obj.get(field)
    return from_minor(value, str(obj.get("currency") or payment.currency)) if value is not None else None


def _verdict(changed: bool, what: str) -> tuple[str, str]:
    return PROCESSED, what if changed else f"{what} (already so)"


Handler = Callable[[InboundEvent, dict[str, Any], dict[str, Any]], tuple[str, str]]
PaymentHandler = Callable[[InboundEvent, dict[str, Any], dict[str, Any], Payment], tuple[str, str]]
HANDLERS: dict[str, Handler] = {}


def _handles(event_type: str, *, intent_field: str = "id") -> Callable[[PaymentHandler], PaymentHandler]:
    """Register the handler of `event_type`. It is given the payment the object names (the
    PaymentIntent id in `intent_field`, or our own id in its metadata); an object that names
    none of this tenant's payments is ignored."""

    def register(handler: PaymentHandler) -> PaymentHandler:
        def handle(event: InboundEvent, payload: dict[str, Any], obj: dict[str, Any]) -> tuple[str, str]:
            payment = _payment_for(event, _id(obj.get(intent_field)), obj.get("metadata"))
            if payment is None:
                return IGNORED, "no matching payment"
            return handler(event, payload, obj, payment)

        HANDLERS[event_type] = handle
        return handler

    return register


@_handles("payment_intent.succeeded")
def _intent_succeeded(
    event: InboundEvent, payload: dict[str, Any], obj: dict[str, Any], payment: Payment
) -> tuple[str, str]:
    # amount_received is absent in localstripe: then we do not know the captured amount.
    amount = _amount(obj, "amount_received", payment)
    if amount is None and payment.amount_authorized == 0:
        amount = _amount(obj, "amount", payment) or Decimal("0")
    changed = recorders.payment_record_captured(
        tenant=event.tenant, payment_id=payment.pk, amount=amount, provider_id=_id(obj.get("id")), actor=ACTOR
    )
    return _verdict(changed, f"payment {payment.pk} captured")


@_handles("payment_intent.amount_capturable_updated")
def _intent_capturable(
    event: InboundEvent, payload: dict[str, Any], obj: dict[str, Any], payment: Payment
) -> tuple[str, str]:
    amount = _amount(obj, "amount_capturable", payment) or _amount(obj, "amount", payment) or Decimal("0")
    changed = recorders.payment_record_authorized(
        tenant=event.tenant, payment_id=payment.pk, amount=amount, provider_id=_id(obj.get("id")), actor=ACTOR
    )
    return _verdict(changed, f"payment {payment.pk} authorized")


@_handles("payment_intent.payment_failed")
def _intent_failed(
    event: InboundEvent, payload: dict[str, Any], obj: dict[str, Any], payment: Payment
) -> tuple[str, str]:
    error = obj.get("last_payment_error") or {}
    changed = recorders.payment_record_failed(
        tenant=event.tenant,
        payment_id=payment.pk,
        failure_code=str(error.get("decline_code") or error.get("code") or "payment_failed"),
        failure_message=str(error.get("message") or "The payment failed."),
        occurred_at=_created(payload),
        provider_id=_id(obj.get("id")),
        actor=ACTOR,
    )
    return _verdict(changed, f"payment {payment.pk} failed")


@_handles("payment_intent.canceled")
def _intent_canceled(
    event: InboundEvent, payload: dict[str, Any], obj: dict[str, Any], payment: Payment
) -> tuple[str, str]:
    changed = recorders.payment_record_voided(tenant=event.tenant, payment_id=payment.pk, actor=ACTOR)
    return _verdict(changed, f"payment {payment.pk} voided")


@_handles("charge.refunded", intent_field="payment_intent")
def _charge_refunded(
    event: InboundEvent, payload: dict[str, Any], obj: dict[str, Any], payment: Payment
) -> tuple[str, str]:
    currency = str(obj.get("currency") or payment.currency)
    refunded = int(obj.get("amount_refunded") or 0)
    if "amount_captured" not in obj and payment.amount_captured:
        # localstripe models a partial capture as a full capture plus a refund of the rest;
        # that refund is the released part of the authorization, not money given back.
        released = int(obj.get("amount") or 0) - to_minor(payment.amount_captured, currency)
        refunded -= max(released, 0)
    changed = recorders.payment_record_refunded(
        tenant=event.tenant,
        payment_id=payment.pk,
        amount_refunded=from_minor(max(refunded, 0), currency),
        actor=ACTOR,
    )
    return _verdict(changed, f"payment {payment.pk} refunds synced")


@_handles("charge.dispute.created", intent_field="payment_intent")
def _dispute_created(
    event: InboundEvent, payload: dict[str, Any], obj: dict[str, Any], payment: Payment
) -> tuple[str, str]:
    changed = recorders.payment_record_dispute(
        tenant=event.tenant,
        payment_id=payment.pk,
        dispute_ref=_id(obj.get("id")) or str(payload.get("id")),
        amount=_amount(obj, "amount", payment),
        reason=str(obj.get("reason") or ""),
        actor=ACTOR,
    )
    return _verdict(changed, f"dispute recorded on payment {payment.pk}")


def stripe_event_handle(event: InboundEvent, payload: dict[str, Any]) -> tuple[str, str]:
    """The inbox handler for source "stripe"."""
    handler = HANDLERS.get(str(payload.get("type") or event.event_type))
    if handler is None:
        return IGNORED, f"event type {payload.get('type')!r} is not used"
    obj = (payload.get("data") or {}).get("object") or {}
    if not isinstance(obj, dict):
        raise ValueError("event data.object is not an object")
    return handler(event, payload, obj)
