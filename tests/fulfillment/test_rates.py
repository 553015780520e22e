"""Rates over real HTTP (the real shippo SDK against the fake Shippo server) and the shopping policies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from fulfillment.carriers import CarrierRefused, CarrierUnavailable, NoCarrierAccount, Rate
from fulfillment.models import FulfillmentSettings
from fulfillment.rates import (
    days_allowed,
    rate_choose,
    shipment_rate_choose,
    shipment_rates,
    shipment_rates_quote,
)
from fulfillment.states import RatePolicy
from oms.core.errors import NotFoundError
from orders.models import Address


def _token(choice):
    return choice.rate.service


def test_quote_stores_the_carriers_rates_on_the_shipment(tenant_a, shippo, shippo_account_a, packed_shipment):
    rates = shipment_rates_quote(tenant=tenant_a, shipment_id=packed_shipment.pk)

    packed_shipment.refresh_from_db()
    assert len(rates) == 6
    assert {r.carrier for r in rates} == {"USPS", "UPS", "FedEx"}
    assert packed_shipment.carrier_shipment_id in shippo.shipments
    assert packed_shipment.rates_at is not None
    stored = {r["service"]: r for r in packed_shipment.rates}
    # 1.2 kg is 2.65 lb: Ground Advantage is 5.50 + 0.50/lb
    assert stored["usps_ground_advantage"] == {
        "rate_id": stored["usps_ground_advantage"]["rate_id"],
        "carrier": "USPS",
        "service": "usps_ground_advantage",
        "service_name": "Ground Advantage",
        "amount": "6.82",
        "currency": "USD",
        "estimated_days": 5,
    }
    sent = shippo.shipments[packed_shipment.carrier_shipment_id]
    assert sent["metadata"] == f"acme:shp{packed_shipment.pk}"
    assert sent["address_to"]["zip"] == "78701"
    assert sent["address_from"]["city"] == "Dallas"
    assert sent["parcels"][0]["weight"] == "1200" and sent["parcels"][0]["mass_unit"] == "g"


@pytest.mark.parametrize(
    ("policy", "service_level", "promised_in_days", "expected"),
    [
        (RatePolicy.CHEAPEST, "standard", None, "usps_ground_advantage"),
        (RatePolicy.FASTEST, "standard", None, "usps_priority_express"),
        (RatePolicy.CHEAPEST_ON_TIME, "standard", None, "usps_ground_advantage"),
        (RatePolicy.CHEAPEST_ON_TIME, "expedited", None, "usps_priority"),
        (RatePolicy.CHEAPEST_ON_TIME, "overnight", None, "usps_priority_express"),
        (RatePolicy.CHEAPEST_ON_TIME, "standard", 2, "ups_second_day_air"),
    ],
)
def test_each_policy_picks_its_rate_from_the_carriers_quote(
    tenant_a, shippo_account_a, packed_shipment, policy, service_level, promised_in_days, expected
):
    FulfillmentSettings.objects.create(tenant=tenant_a, rate_policy=policy)
    promised = timezone.localdate() + dt.timedelta(days=promised_in_days) if promised_in_days else None
    type(packed_shipment).objects.for_tenant(tenant_a).filter(pk=packed_shipment.pk).update(
        service_level=service_level, promised_date=promised
    )

    choice = shipment_rate_choose(tenant=tenant_a, shipment_id=packed_shipment.pk)

    assert _token(choice) == expected
    assert choice.meets


def test_when_no_rate_arrives_in_time_the_fastest_is_chosen_and_the_choice_says_so(
    tenant_a, shippo_account_a, packed_shipment
):
    type(packed_shipment).objects.for_tenant(tenant_a).filter(pk=packed_shipment.pk).update(
        promised_date=timezone.localdate()
    )

    choice = shipment_rate_choose(
        tenant=tenant_a, shipment_id=packed_shipment.pk, policy=RatePolicy.CHEAPEST_ON_TIME
    )

    assert _token(choice) == "usps_priority_express"
    assert not choice.meets
    assert choice.reason.startswith("No rate arrives within 0 days")
    assert "chose the fastest: USPS Priority Mail Express" in choice.reason


def test_a_fresh_quote_is_reused_and_a_stale_one_is_quoted_again(
    tenant_a, shippo, shippo_account_a, packed_shipment
):
    first = shipment_rates(tenant=tenant_a, shipment_id=packed_shipment.pk)
    again = shipment_rates(tenant=tenant_a, shipment_id=packed_shipment.pk)
    assert [r.rate_id for r in again] == [r.rate_id for r in first]
    assert len(shippo.shipments) == 1

    type(packed_shipment).objects.for_tenant(tenant_a).filter(pk=packed_shipment.pk).update(
        rates_at=timezone.now() - dt.timedelta(hours=2)
    )
    fresh = shipment_rates(tenant=tenant_a, shipment_id=packed_shipment.pk)
    assert len(shippo.shipments) == 2
    assert {r.rate_id for r in fresh}.isdisjoint({r.rate_id for r in first})


def test_an_address_the_carrier_refuses_is_a_clear_error_staff_see(
    tenant_a, shippo_account_a, packed_shipment
):
    Address.objects.for_tenant(tenant_a).filter(pk=packed_shipment.order.ship_to_id).update(postal_code="")

    with pytest.raises(CarrierRefused) as refused:
        shipment_rates_quote(tenant=tenant_a, shipment_id=packed_shipment.pk)

    assert str(refused.value) == "No rates: Recipient: The postal code is missing."
    assert refused.value.status == 422
    packed_shipment.refresh_from_db()
    assert packed_shipment.last_error == "No rates: Recipient: The postal code is missing."
    assert packed_shipment.rates == []


def test_an_outage_while_quoting_is_shown_and_nothing_is_stored(
    tenant_a, shippo, shippo_account_a, packed_shipment
):
    shippo.fail_next(1, status=502)

    with pytest.raises(CarrierUnavailable):
        shipment_rates_quote(tenant=tenant_a, shipment_id=packed_shipment.pk)

    packed_shipment.refresh_from_db()
    assert packed_shipment.last_error == "Shippo answered 502; try again"
    assert packed_shipment.rates == [] and packed_shipment.rates_at is None

    shipment_rates_quote(tenant=tenant_a, shipment_id=packed_shipment.pk)
    packed_shipment.refresh_from_db()
    assert packed_shipment.last_error == ""
    assert len(packed_shipment.rates) == 6


def test_another_tenant_cannot_quote_this_tenants_shipment(
    tenant_a, tenant_b, shippo, shippo_account_b, packed_shipment
):
    with pytest.raises(NotFoundError):
        shipment_rates_quote(tenant=tenant_b, shipment_id=packed_shipment.pk)
    assert shippo.requests == []


def test_without_a_shippo_account_the_merchant_is_told_to_add_one(tenant_a, packed_shipment):
    with pytest.raises(NoCarrierAccount) as missing:
        shipment_rates_quote(tenant=tenant_a, shipment_id=packed_shipment.pk)
    assert "add one under Integrations" in str(missing.value)


# --- the policy alone ---------------------------------------------------------------------------------
def _rate(service, amount, days):
    return Rate(f"r-{service}", "X", service, service, Decimal(amount), "USD", days)


def test_days_allowed_takes_the_tighter_of_service_level_and_promised_date():
    today = dt.date(2026, 3, 2)
    assert days_allowed(service_level="standard", today=today) == 5
    assert days_allowed(service_level="Express", today=today) == 1
    assert days_allowed(service_level="two-day", today=today) == 2
    assert days_allowed(service_level="standard", promised_date=dt.date(2026, 3, 5), today=today) == 3
    assert days_allowed(service_level="overnight", promised_date=dt.date(2026, 3, 9), today=today) == 1
    assert days_allowed(service_level="whenever", today=today) is None
    assert days_allowed(promised_date=dt.date(2026, 3, 1), today=today) == 0


def test_rates_without_an_estimate_are_never_the_fastest_nor_on_time():
    rates = [_rate("mystery", "1.00", None), _rate("slow", "4.00", 6), _rate("quick", "9.00", 2)]
    assert rate_choose(rates, policy=RatePolicy.CHEAPEST).rate.service == "mystery"
    assert rate_choose(rates, policy=RatePolicy.FASTEST).rate.service == "quick"
    on_time = rate_choose(rates, policy=RatePolicy.CHEAPEST_ON_TIME, service_level="standard")
    assert on_time.rate.service == "quick" and on_time.meets


def test_ties_are_broken_by_the_other_measure():
    rates = [_rate("a", "5.00", 4), _rate("b", "5.00", 2), _rate("c", "7.00", 1), _rate("d", "6.00", 1)]
    assert rate_choose(rates, policy=RatePolicy.CHEAPEST).rate.service == "b"
    assert rate_choose(rates, policy=RatePolicy.FASTEST).rate.service == "d"
