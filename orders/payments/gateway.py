"""The payment gateway protocol the order room owns, and the registry of implementations.

Domain code never imports a vendor SDK. It asks `gateway_for(tenant=..., provider=...)` for
something that speaks `PaymentGateway`; `integrations/` registers the real adapters (Stripe)
in its AppConfig.ready(), and `orders/payments/sandbox.py` registers the in-memory sandbox.

Every gateway method is one write at the provider and takes the idempotency key that the
payment services derived from our own ids. A gateway:
- returns a `GatewayResult` when the provider accepted the request;
- raises `PaymentDeclined` when the provider definitively refused it (card declined, a
  request the provider rejects): retrying the same request will not help;
- raises `PaymentGatewayUnavailable` when the outcome is unknown or the provider is
  temporarily unreachable (network error, 5xx, 429, 409 in-flight): the same request with
  the same idempotency key may be sent again later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from oms.core.errors import DomainError


@dataclass(frozen=True)
class GatewayResult:
    provider_id: str  # e.g. PaymentIntent id, Refund id
    status: str  # "authorized" | "captured" | "refunded" | "voided" | "failed" | "requires_action"
    amount: Decimal
    failure_code: str = ""
    failure_message: str = ""
    raw: dict = field(default_factory=dict)


class PaymentDeclined(DomainError):
    """The provider definitively refused the request (a card decline, an invalid request)."""

    status = 402

    def __init__(
        self,
        message: str = "",
        *,
        failure_code: str = "card_declined",
        provider_id: str = "",
        status: int | None = None,
        **extra: object,
    ) -> None:
        super().__init__("payment_declined", message or "The payment was declined.", status=status, **extra)
        self.failure_code = failure_code
        self.failure_message = message or "The payment was declined."
        self.provider_id = provider_id
        self.extra.setdefault("failure_code", failure_code)


class PaymentGatewayUnavailable(Exception):
    """Transient: network error, 5xx, 429. The outcome is unknown; retry with the same key."""


@runtime_checkable
class PaymentGateway(Protocol):
    provider: str

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
    ) -> GatewayResult: ...

    def capture(self, *, provider_id: str, amount: Decimal, idempotency_key: str) -> GatewayResult: ...

    def void(self, *, provider_id: str, idempotency_key: str) -> GatewayResult: ...

    def refund(
        self, *, provider_id: str, amount: Decimal, idempotency_key: str, reason: str = ""
    ) -> GatewayResult: ...

    def charge_off_session(
        self,
        *,
        amount: Decimal,
        currency: str,
        payment_method: str,
        customer_ref: str,
        idempotency_key: str,
        metadata: dict,
    ) -> GatewayResult: ...


# --- the registry ---------------------------------------------------------------------------

_factories: dict[str, Callable[[Any], PaymentGateway]] = {}


def register_gateway(provider: str, factory: Callable[[Any], PaymentGateway]) -> None:
    """Make `provider` available: `factory(tenant)` builds a gateway configured for that tenant."""
    _factories[provider] = factory


def gateway_for(*, tenant: Any, provider: str) -> PaymentGateway:
    factory = _factories.get(provider)
    if factory is None:
        raise DomainError(
            "payment_provider_unknown", f"No payment provider called {provider!r}.", provider=provider
        )
    return factory(tenant)
