"""The carrier gateway protocol the fulfillment room owns, and the registry of implementations.

Domain code never imports a vendor SDK. It asks `carrier_gateway_for(tenant)` for something
that speaks `CarrierGateway`; `integrations/shippo` registers the Shippo adapter in its
AppConfig.ready(). Every method is one call at the carrier platform. A gateway:
- returns plain dataclasses (below) when the carrier answered;
- raises `CarrierRefused` when the carrier definitively refused the request (an invalid
  address, an expired rate): repeating it will not help, staff must change something;
- raises `CarrierUnavailable` when the outcome is unknown or the carrier is unreachable
  (connection refused, timeout, 5xx, 429): the caller looks the outcome up by its own
  reference (`find_label`) before it repeats a purchase.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from oms.core.errors import DomainError


@dataclass(frozen=True)
class PostalAddress:
    name: str
    line1: str
    city: str
    country: str
    line2: str = ""
    region: str = ""
    postal_code: str = ""
    company: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class ParcelSpec:
    weight_grams: int
    length_mm: int
    width_mm: int
    height_mm: int


@dataclass(frozen=True)
class AddressCheck:
    valid: bool
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rate:
    rate_id: str
    carrier: str
    service: str  # the carrier's service-level token, e.g. "usps_priority"
    service_name: str
    amount: Decimal
    currency: str
    estimated_days: int | None
    carrier_shipment_id: str = ""


@dataclass(frozen=True)
class PurchasedLabel:
    transaction_id: str
    reference: str  # ours, echoed back: how an unknown outcome is found again
    rate_id: str
    carrier: str
    service: str
    tracking_number: str
    tracking_url: str
    label_url: str
    amount: Decimal | None = None
    currency: str = ""


@dataclass(frozen=True)
class TrackingUpdate:
    carrier: str
    tracking_number: str
    status: str  # fulfillment.states.TrackingStatus
    status_details: str
    status_date: datetime | None
    location: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


class CarrierRefused(DomainError):
    """The carrier definitively refused the request."""

    status = 422

    def __init__(self, message: str, *, code: str = "carrier_refused", **extra: object) -> None:
        super().__init__(code, message, **extra)


class CarrierUnavailable(Exception):
    """Transient: connection refused, timeout, 5xx, 429. The outcome of a write is unknown."""


@runtime_checkable
class CarrierGateway(Protocol):
    provider: str

    def validate_address(self, *, address: PostalAddress) -> AddressCheck: ...

    def rates(
        self,
        *,
        ship_from: PostalAddress,
        ship_to: PostalAddress,
        parcels: list[ParcelSpec],
        reference: str,
        is_return: bool = False,
    ) -> list[Rate]:
        """Rates for carrying `parcels` from `ship_from` to `ship_to` (for a return label: from the
        customer, `ship_from`, back to the warehouse, `ship_to`). CarrierRefused when the carrier
        quotes none (an address it cannot ship to), with its reasons."""
        ...

    def buy_label(
        self, *, rate_id: str, reference: str, label_file_type: str = "PDF_4x6"
    ) -> PurchasedLabel: ...

    def find_label(self, *, rate_id: str, reference: str) -> PurchasedLabel | None:
        """The label bought earlier for this reference, if the carrier has one (unknown outcomes)."""
        ...

    def void_label(self, *, transaction_id: str) -> bool:
        """True once the carrier accepted the void (refund) of the label."""
        ...

    def return_label(
        self,
        *,
        ship_from: PostalAddress,
        ship_to: PostalAddress,
        parcels: list[ParcelSpec],
        reference: str,
    ) -> PurchasedLabel:
        """Quote return rates and buy the cheapest, in one go (no look-up by reference first:
        fulfillment.labels buys return labels step by step, idempotently)."""
        ...

    def download_label(self, *, label_url: str) -> bytes:
        """The label file behind `label_url` (CarrierUnavailable when it cannot be fetched)."""
        ...

    def track(self, *, carrier: str, tracking_number: str) -> TrackingUpdate: ...

    def register_tracking(self, *, carrier: str, tracking_number: str, reference: str) -> None: ...


GatewayFactory = Callable[[Any], CarrierGateway]
_FACTORIES: dict[str, GatewayFactory] = {}


def register_carrier_gateway(provider: str, factory: GatewayFactory) -> None:
    """`factory(tenant)` returns a gateway for that tenant (its credentials, its base URL)."""
    _FACTORIES[provider] = factory


class NoCarrierAccount(DomainError):
    status = 409

    def __init__(self, provider: str) -> None:
        super().__init__(
            "no_carrier_account",
            f"No active {provider} account is set up for this tenant: add one under Integrations.",
            provider=provider,
        )


def carrier_gateway_for(tenant: Any, provider: str = "shippo") -> CarrierGateway:
    try:
        factory = _FACTORIES[provider]
    except KeyError:
        raise NoCarrierAccount(provider) from None
    return factory(tenant)
