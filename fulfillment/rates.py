"""Rates: quote a shipment at the carrier, keep the quote on the shipment, choose one by policy.

Quoting (`shipment_rates_quote`) calls the carrier outside any transaction, from the shipment's
warehouse to the order's ship-to address with the shipment's parcels, then stores the rates on
the shipment (`rates`, `rates_at`, `carrier_shipment_id`) under its row lock. A refusal (an
address the carrier cannot ship to) or an outage is written to `Shipment.last_error`, where
staff see it, and raised.

Rate shopping (`rate_choose`) is a pure function of the rates and the tenant's policy:
- cheapest: the lowest amount (ties: the faster);
- fastest: the fewest estimated days (ties: the cheaper); rates without an estimate come last;
- cheapest_on_time: the cheapest rate that arrives in time. "In time" is the fewer of the days
  the service level allows (SERVICE_LEVEL_DAYS: standard 5, expedited 3, two_day 2,
  express/overnight 1; unknown levels set no limit) and the days left until the shipment's
  promised date. When no rate arrives in time the fastest is chosen, and the choice says so.
  With neither a known service level nor a promised date it is the cheapest.
Every choice carries a sentence a merchant reads: what was chosen and why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from fulfillment import locks
from fulfillment.carriers import (
    AddressCheck,
    CarrierRefused,
    CarrierUnavailable,
    ParcelSpec,
    PostalAddress,
    Rate,
    carrier_gateway_for,
)
from fulfillment.models import FulfillmentSettings, Parcel, Shipment, ShipmentLine
from fulfillment.states import OPEN, RatePolicy
from oms.core.errors import ConflictError, DomainError, NotFoundError

# Most days in transit each service level allows (lower-case keys; "2day" and "two_day" alike).
SERVICE_LEVEL_DAYS = {
    "economy": 7,
    "standard": 5,
    "ground": 5,
    "expedited": 3,
    "priority": 3,
    "two_day": 2,
    "2day": 2,
    "express": 1,
    "overnight": 1,
    "next_day": 1,
}
# Stored rates older than this are quoted again before a policy picks one.
RATES_FRESH_FOR = dt.timedelta(hours=1)
NO_DAYS = 10**6  # sorts rates without an estimate after every rate with one


@dataclass(frozen=True)
class RateChoice:
    rate: Rate
    policy: str
    max_days: int | None  # the limit cheapest_on_time applied (None: no limit)
    meets: bool  # False: nothing arrived in time, the fastest was chosen
    reason: str


# --- pure policy ----------------------------------------------------------------------------------
def days_allowed(
    *, service_level: str = "", promised_date: dt.date | None = None, today: dt.date
) -> int | None:
    """The most days in transit the service level and the promised date allow (None: no limit)."""
    key = (service_level or "").strip().lower().replace("-", "_").replace(" ", "_")
    limits = [SERVICE_LEVEL_DAYS[key]] if key in SERVICE_LEVEL_DAYS else []
    if promised_date is not None:
        limits.append(max((promised_date - today).days, 0))
    return min(limits) if limits else None


def _label(rate: Rate) -> str:
    days = (
        f", {rate.estimated_days} day{'s' if rate.estimated_days != 1 else ''}" if rate.estimated_days else ""
    )
    return f"{rate.carrier} {rate.service_name or rate.service} at {rate.amount} {rate.currency}{days}"


def _cheapest(rates: list[Rate]) -> Rate:
    return min(rates, key=lambda r: (r.amount, r.estimated_days if r.estimated_days is not None else NO_DAYS))


def _fastest(rates: list[Rate]) -> Rate:
    return min(rates, key=lambda r: (r.estimated_days if r.estimated_days is not None else NO_DAYS, r.amount))


def rate_choose(
    rates: list[Rate],
    *,
    policy: str,
    service_level: str = "",
    promised_date: dt.date | None = None,
    today: dt.date | None = None,
) -> RateChoice:
    """The rate `policy` picks from `rates` (see the module docstring). DomainError if there are none."""
    if not rates:
        raise DomainError("no_rates", "There are no rates to choose from: quote the shipment first.")
    if policy == RatePolicy.FASTEST:
        rate = _fastest(rates)
        return RateChoice(rate, policy, None, True, f"Fastest: {_label(rate)}.")
    if policy == RatePolicy.CHEAPEST_ON_TIME:
        today = today or timezone.localdate()
        limit = days_allowed(service_level=service_level, promised_date=promised_date, today=today)
        if limit is None:
            rate = _cheapest(rates)
            return RateChoice(
                rate, policy, None, True, f"Cheapest (no service level or promised date): {_label(rate)}."
            )
        why = _limit_words(service_level, promised_date, limit)
        on_time = [r for r in rates if r.estimated_days is not None and r.estimated_days <= limit]
        if on_time:
            rate = _cheapest(on_time)
            return RateChoice(rate, policy, limit, True, f"Cheapest within {why}: {_label(rate)}.")
        rate = _fastest(rates)
        return RateChoice(
            rate, policy, limit, False, f"No rate arrives within {why}; chose the fastest: {_label(rate)}."
        )
    rate = _cheapest(rates)
    return RateChoice(rate, RatePolicy.CHEAPEST, None, True, f"Cheapest: {_label(rate)}.")


def _limit_words(service_level: str, promised_date: dt.date | None, limit: int) -> str:
    days = f"{limit} day{'s' if limit != 1 else ''}"
    if promised_date is not None:
        return f"{days} (promised for {promised_date.isoformat()})"
    return f"{days} (service level {service_level})"


# --- the rates stored on a shipment ---------------------------------------------------------------
def rate_to_json(rate: Rate) -> dict[str, Any]:
    """The API's shape (API.md, GET /shipments/{id}/rates), plus the service's name."""
    return {
        "rate_id": rate.rate_id,
        "carrier": rate.carrier,
        "service": rate.service,
        "service_name": rate.service_name,
        "amount": str(rate.amount),
        "currency": rate.currency,
        "estimated_days": rate.estimated_days,
    }


def rates_of(shipment: Shipment) -> list[Rate]:
    return [
        Rate(
            rate_id=r["rate_id"],
            carrier=r.get("carrier", ""),
            service=r.get("service", ""),
            service_name=r.get("service_name", ""),
            amount=Decimal(str(r["amount"])),
            currency=r.get("currency", ""),
            estimated_days=r.get("estimated_days"),
            carrier_shipment_id=shipment.carrier_shipment_id,
        )
        for r in shipment.rates or []
    ]


def rates_are_fresh(shipment: Shipment, *, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return (
        bool(shipment.rates) and shipment.rates_at is not None and now - shipment.rates_at < RATES_FRESH_FOR
    )


# --- addresses and parcels ------------------------------------------------------------------------
def fulfillment_settings(tenant: Any) -> FulfillmentSettings:
    """The tenant's settings row, or (unsaved) the defaults when it has none yet."""
    found = FulfillmentSettings.objects.for_tenant(tenant).first()
    return found if found is not None else FulfillmentSettings(tenant_id=getattr(tenant, "pk", tenant))


def warehouse_address(warehouse: Any, *, company: str = "") -> PostalAddress:
    return PostalAddress(
        name=warehouse.name,
        company=company,
        line1=warehouse.line1,
        line2=warehouse.line2,
        city=warehouse.city,
        region=warehouse.region,
        postal_code=warehouse.postal_code,
        country=warehouse.country,
    )


def order_address(address: Any, *, email: str = "") -> PostalAddress:
    return PostalAddress(
        name=address.name,
        company=address.company,
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        region=address.region,
        postal_code=address.postal_code,
        country=address.country,
        phone=address.phone,
        email=address.email or email,
    )


def shipment_parcels(shipment: Shipment) -> list[ParcelSpec]:
    """The parcels packed; before packing, one parcel from the lines' SKU weights and sizes."""
    parcels = Parcel.objects.for_tenant(shipment.tenant_id).filter(shipment=shipment).order_by("pk")
    specs = [ParcelSpec(p.weight_grams, p.length_mm, p.width_mm, p.height_mm) for p in parcels]
    if specs:
        return specs
    lines = (
        ShipmentLine.objects.for_tenant(shipment.tenant_id).filter(shipment=shipment).select_related("sku")
    )
    weight, sizes = 0, [0, 0, 0]
    for line in lines:
        weight += line.sku.weight_grams * line.quantity
        sizes = [
            max(a, b)
            for a, b in zip(sizes, (line.sku.length_mm, line.sku.width_mm, line.sku.height_mm), strict=True)
        ]
    if weight <= 0:
        raise DomainError(
            "parcels_missing",
            "Weigh the shipment's parcels (or give its SKUs a weight) before asking for rates.",
            shipment_id=shipment.pk,
        )
    return [ParcelSpec(weight, *sizes)]


def shipment_route(shipment: Shipment) -> tuple[PostalAddress, PostalAddress]:
    """(from the warehouse, to the order's ship-to address)."""
    order = shipment.order
    ship_from = warehouse_address(shipment.warehouse, company=shipment.tenant.name)
    ship_to = order_address(order.ship_to, email=order.customer.email)
    return ship_from, ship_to


def shipment_reference(shipment: Shipment) -> str:
    """Our name for the shipment at the carrier (its `metadata`)."""
    return f"{shipment.tenant.slug[:40]}:shp{shipment.pk}"


def shipment_get(*, tenant: Any, shipment_id: Any) -> Shipment:
    try:
        return (
            Shipment.objects.for_tenant(tenant)
            .select_related("tenant", "warehouse", "order__ship_to", "order__customer")
            .get(pk=shipment_id)
        )
    except Shipment.DoesNotExist:
        raise NotFoundError("shipment_not_found", "No such shipment.", shipment_id=shipment_id) from None


# --- services ---------------------------------------------------------------------------------------
def shipment_error_record(*, tenant: Any, shipment_id: int, message: str) -> None:
    """Show staff the carrier's last word on this shipment (its own short transaction)."""
    with transaction.atomic():
        shipment = locks.shipment_for_update(tenant=tenant, shipment_id=shipment_id)
        shipment.last_error = message[:500]
        shipment.save(update_fields=["last_error", "updated_at"])


def shipment_rates_quote(*, tenant: Any, shipment_id: Any) -> list[Rate]:
    """Ask the carrier for rates now and keep them on the shipment. Call outside a transaction."""
    shipment = shipment_get(tenant=tenant, shipment_id=shipment_id)
    if shipment.state not in OPEN:
        raise ConflictError(
            "shipment_not_open",
            f"Shipment {shipment.number} is {shipment.get_state_display().lower()}; it needs no rates.",
            shipment_id=shipment.pk,
        )
    ship_from, ship_to = shipment_route(shipment)
    parcels = shipment_parcels(shipment)
    gateway = carrier_gateway_for(tenant, fulfillment_settings(tenant).carrier_provider)
    try:
        rates = gateway.rates(
            ship_from=ship_from, ship_to=ship_to, parcels=parcels, reference=shipment_reference(shipment)
        )
    except (CarrierRefused, CarrierUnavailable) as exc:
        shipment_error_record(tenant=tenant, shipment_id=shipment.pk, message=str(exc))
        raise
    with transaction.atomic():
        locked = locks.shipment_for_update(tenant=tenant, shipment_id=shipment.pk)
        locked.rates = [rate_to_json(r) for r in rates]
        locked.rates_at = timezone.now()
        locked.carrier_shipment_id = rates[0].carrier_shipment_id[:64]
        locked.last_error = ""
        locked.save(update_fields=["rates", "rates_at", "carrier_shipment_id", "last_error", "updated_at"])
    return rates


def shipment_rates(*, tenant: Any, shipment_id: Any) -> list[Rate]:
    """The shipment's rates: the stored quote while fresh, else a new one."""
    shipment = shipment_get(tenant=tenant, shipment_id=shipment_id)
    if rates_are_fresh(shipment):
        return rates_of(shipment)
    return shipment_rates_quote(tenant=tenant, shipment_id=shipment.pk)


def shipment_rate_choose(*, tenant: Any, shipment_id: Any, policy: str | None = None) -> RateChoice:
    """The rate the tenant's policy (or `policy`) picks for this shipment, quoting if needed."""
    rates = shipment_rates(tenant=tenant, shipment_id=shipment_id)
    shipment = shipment_get(tenant=tenant, shipment_id=shipment_id)
    return rate_choose(
        rates,
        policy=policy or fulfillment_settings(tenant).rate_policy,
        service_level=shipment.service_level or shipment.order.service_level,
        promised_date=shipment.promised_date,
    )


def address_check(*, tenant: Any, address: PostalAddress) -> AddressCheck:
    """Ask the carrier whether it can deliver to `address` (CarrierRefused / CarrierUnavailable pass)."""
    return carrier_gateway_for(tenant, fulfillment_settings(tenant).carrier_provider).validate_address(
        address=address
    )
