"""The Stripe PaymentGateway: PaymentIntents with manual capture, through the real `stripe` SDK.

One `StripeClient` per tenant account (no global SDK state), network retries off: retries
belong to our Celery tasks, which resend with the same idempotency key. Every write passes
`options={"idempotency_key": ...}` with the key our payment services derived from our ids.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import stripe

from integrations.endpoints import effective_base_url
from integrations.models import ChannelAccount, ChannelKind
from integrations.stripe.money import from_minor, to_minor
from oms.core.errors import DomainError
from oms.metrics import VendorErrorKind, vendor_error, vendor_http_error_kind
from orders.payments.gateway import GatewayResult, PaymentDeclined, PaymentGatewayUnavailable

HTTP_TIMEOUT_SECONDS = 30


def stripe_client(account: ChannelAccount) -> stripe.StripeClient:
    """A client for `account`; its base_url replaces Stripe's host only where settings allow it."""
    kwargs: dict[str, Any] = {
        "max_network_retries": 0,
        "http_client": stripe.RequestsClient(timeout=HTTP_TIMEOUT_SECONDS),
    }
    base_url = effective_base_url(account)
    if base_url:
        kwargs["base_addresses"] = {"api": base_url.rstrip("/")}
    return stripe.StripeClient(account.credentials, **kwargs)


def stripe_account_for(tenant: Any) -> ChannelAccount:
    account = (
        ChannelAccount.objects.for_tenant(tenant)
        .filter(kind=ChannelKind.STRIPE, active=True)
        .order_by("pk")
        .first()
    )
    if account is None or not account.credentials:
        raise DomainError(
            "payment_provider_not_configured", "Stripe is not set up for this merchant.", provider="stripe"
        )
    return account


def stripe_gateway_for(tenant: Any) -> StripeGateway:
    return StripeGateway(stripe_account_for(tenant))


def _charge_id(latest_charge: Any) -> str:
    """`latest_charge` is an id string (real Stripe) or an expanded Charge (localstripe, or expand=[])."""
    if latest_charge is None:
        return ""
    return latest_charge if isinstance(latest_charge, str) else str(latest_charge.id)


def _raw(obj: Any) -> dict:
    return obj.to_dict() if hasattr(obj, "to_dict") else {}


def _unavailable_kind(exc: Exception) -> VendorErrorKind:
    if isinstance(exc, stripe.RateLimitError):
        return VendorErrorKind.THROTTLED
    if isinstance(exc, stripe.IdempotencyError):
        return VendorErrorKind.CONFLICT
    return VendorErrorKind.UNREACHABLE


class StripeGateway:
    provider = "stripe"

    def __init__(self, account: ChannelAccount) -> None:
        self.account = account
        self.client = stripe_client(account)

    # --- error mapping ---------------------------------------------------------------------
    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except stripe.CardError as exc:
            vendor_error("stripe", VendorErrorKind.DECLINED)
            error = getattr(exc, "error", None)
            intent = getattr(error, "payment_intent", None) if error is not None else None
            raise PaymentDeclined(
                exc.user_message or str(exc.user_message or "Your card was declined."),
                failure_code=(getattr(error, "decline_code", None) or exc.code or "card_declined"),
                provider_id=_charge_id(intent) if intent is not None else "",
            )
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.IdempotencyError) as exc:
            # Unknown outcome, or a request with this key still in flight: resend later, same key.
            vendor_error("stripe", _unavailable_kind(exc))
            raise PaymentGatewayUnavailable(f"Stripe unavailable: {type(exc).__name__}") from exc
        except stripe.StripeError as exc:
            status = exc.http_status or 0
            vendor_error("stripe", vendor_http_error_kind(status))
            if status >= 500 or status in (409, 429) or status == 0:
                raise PaymentGatewayUnavailable(f"Stripe answered {status or 'nothing'}") from exc
            # 400/401/402/403/404: Stripe definitively refused this request.
            raise PaymentDeclined(
                exc.user_message or "Stripe refused the request.",
                failure_code=exc.code
                or type(exc).__name__.removesuffix("Error").lower()
                or "invalid_request",
                status=422,
            ) from exc

    @staticmethod
    def _intent_result(pi: Any, *, amount: Decimal | None = None) -> GatewayResult:
        currency = str(pi.currency)
        status_map = {
            "requires_capture": "authorized",
            "succeeded": "captured",
            "canceled": "voided",
            "requires_action": "requires_action",
            "processing": "authorized",
        }
        status = status_map.get(str(pi.status), "failed")
        raw = _raw(pi)
        if amount is None:
            received = raw.get("amount_received")
            amount = from_minor(
                received if received is not None and status == "captured" else pi.amount, currency
            )
        failure = raw.get("last_payment_error") or {}
        return GatewayResult(
            provider_id=str(pi.id),
            status=status,
            amount=amount,
            failure_code=(failure.get("code") or "") if status == "failed" else "",
            failure_message=(failure.get("message") or "") if status == "failed" else "",
            raw={
                "id": pi.id,
                "status": pi.status,
                "latest_charge": _charge_id(getattr(pi, "latest_charge", None)),
            },
        )

    # --- PaymentGateway ------------------------------------------------------------------------
    def authorize(
        self,
        *,
        amount: Decimal,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        metadata: dict,
        customer_ref: str = "",
        off_session: bool = False,
    ) -> GatewayResult:
        params: dict[str, Any] = {
            "amount": to_minor(amount, currency),
            "currency": currency.lower(),
            "payment_method": payment_method,  # at create time: localstripe cannot confirm with one later
            "capture_method": "manual",
            "confirm": True,
            "metadata": {k: str(v) for k, v in metadata.items()},
        }
        if customer_ref:
            params["customer"] = customer_ref
        if off_session:
            params["off_session"] = True
        pi = self._call(
            self.client.v1.payment_intents.create, params=params, options={"idempotency_key": idempotency_key}
        )
        return self._intent_result(pi, amount=Decimal(amount))

    def charge_off_session(
        self,
        *,
        amount: Decimal,
        currency: str,
        payment_method: str,
        customer_ref: str,
        idempotency_key: str,
        metadata: dict,
    ) -> GatewayResult:
        params: dict[str, Any] = {
            "amount": to_minor(amount, currency),
            "currency": currency.lower(),
            "payment_method": payment_method,
            "confirm": True,
            "off_session": True,
            "metadata": {k: str(v) for k, v in metadata.items()},
        }
        if customer_ref:
            params["customer"] = customer_ref
        pi = self._call(
            self.client.v1.payment_intents.create, params=params, options={"idempotency_key": idempotency_key}
        )
        return self._intent_result(pi, amount=Decimal(amount))

    def capture(self, *, provider_id: str, amount: Decimal, idempotency_key: str) -> GatewayResult:
        pi = self._call(self.client.v1.payment_intents.retrieve, provider_id)
        params = {"amount_to_capture": to_minor(amount, str(pi.currency))}
        pi = self._call(
            self.client.v1.payment_intents.capture,
            provider_id,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        result = self._intent_result(pi, amount=Decimal(amount))
        if result.status != "captured":
            raise PaymentDeclined(f"Stripe left the payment {pi.status}.", failure_code=f"status_{pi.status}")
        return result

    def void(self, *, provider_id: str, idempotency_key: str) -> GatewayResult:
        pi = self._call(
            self.client.v1.payment_intents.cancel, provider_id, options={"idempotency_key": idempotency_key}
        )
        return self._intent_result(pi)

    def refund(
        self, *, provider_id: str, amount: Decimal, idempotency_key: str, reason: str = ""
    ) -> GatewayResult:
        pi = self._call(self.client.v1.payment_intents.retrieve, provider_id)
        currency = str(pi.currency)
        params: dict[str, Any] = {"payment_intent": provider_id, "amount": to_minor(amount, currency)}
        if reason:
            # Stripe's own `reason` takes three fixed values; our free text travels as metadata.
            params["metadata"] = {"reason": reason[:500]}
        refund = self._call(
            self.client.v1.refunds.create, params=params, options={"idempotency_key": idempotency_key}
        )
        status = str(refund.status)
        if status in ("failed", "canceled"):
            raise PaymentDeclined(
                f"Stripe reports the refund {status}.",
                failure_code=f"refund_{status}",
                provider_id=str(refund.id),
            )
        return GatewayResult(
            provider_id=str(refund.id),
            status="refunded",
            amount=from_minor(refund.amount, currency),
            raw={"id": refund.id, "status": status},
        )
