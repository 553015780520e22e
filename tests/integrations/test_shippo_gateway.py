"""The Shippo adapter: the real shippo SDK over HTTP against the fake server, errors mapped."""

from __future__ import annotations

import pytest
import requests

from fulfillment.carriers import (
    CarrierGateway,
    CarrierRefused,
    CarrierUnavailable,
    ParcelSpec,
    PostalAddress,
    carrier_gateway_for,
)
from integrations.shippo.fake_server import FakeShippo
from integrations.shippo.gateway import ShippoGateway, TimeoutSession
from tests.fulfillment.conftest import make_shippo_account, shippo, shippo_server  # noqa: F401

WAREHOUSE = PostalAddress(
    name="Dallas TX", line1="100 Commerce St", city="Dallas", region="TX", postal_code="75201", country="US"
)
CUSTOMER = PostalAddress(
    name="Ana Lima",
    line1="1 Main St",
    city="Austin",
    region="TX",
    postal_code="78701",
    country="US",
    email="ana@example.com",
)
PARCEL = [ParcelSpec(weight_grams=900, length_mm=250, width_mm=200, height_mm=100)]


@pytest.fixture
def gateway(tenant_a, shippo):  # noqa: F811
    make_shippo_account(tenant_a, shippo.url)
    found = carrier_gateway_for(tenant_a)
    assert isinstance(found, ShippoGateway)
    return found


def _rates(gateway):
    return gateway.rates(ship_from=WAREHOUSE, ship_to=CUSTOMER, parcels=PARCEL, reference="acme:shp1")


def test_the_registered_adapter_speaks_the_protocol(gateway):
    assert isinstance(gateway, CarrierGateway)
    assert gateway.provider == "shippo"


def test_address_validation(gateway, shippo):  # noqa: F811
    assert gateway.validate_address(address=CUSTOMER).valid
    check = gateway.validate_address(address=PostalAddress(name="X", line1="", city="Austin", country="US"))
    assert not check.valid
    assert check.messages == ("The street address is missing.", "The postal code is missing.")


def test_a_label_bought_is_found_again_by_our_reference_only(gateway, shippo):  # noqa: F811
    rate = min(_rates(gateway), key=lambda r: r.amount)
    bought = gateway.buy_label(rate_id=rate.rate_id, reference="acme:shp1:L1")

    assert bought.reference == "acme:shp1:L1"
    assert (bought.carrier, bought.service, bought.amount) == ("USPS", "usps_ground_advantage", rate.amount)
    assert bought.tracking_number.startswith("9400")
    assert bought.label_url.startswith(shippo.url)
    assert gateway.find_label(rate_id=rate.rate_id, reference="acme:shp1:L1") == bought
    assert gateway.find_label(rate_id=rate.rate_id, reference="acme:shp1:L2") is None
    assert shippo.purchases == 1
    assert gateway.download_label(label_url=bought.label_url).startswith(b"%PDF-1.4")


def test_a_lost_answer_is_unavailable_and_the_purchase_is_found_afterwards(gateway, shippo):  # noqa: F811
    rate = _rates(gateway)[0]
    shippo.drop_next(1, method="POST", path="/transactions", after=True)

    with pytest.raises(CarrierUnavailable):
        gateway.buy_label(rate_id=rate.rate_id, reference="acme:shp1:L1")

    assert shippo.purchases == 1
    found = gateway.find_label(rate_id=rate.rate_id, reference="acme:shp1:L1")
    assert found is not None and found.transaction_id in shippo.transactions


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_throttling_are_transient(gateway, shippo, status):  # noqa: F811
    shippo.fail_next(1, status=status)
    with pytest.raises(CarrierUnavailable, match=f"Shippo answered {status}"):
        _rates(gateway)
    assert len(_rates(gateway)) == 6


def test_refused_connections_and_timeouts_are_transient(tenant_a, shippo):  # noqa: F811
    make_shippo_account(tenant_a, shippo.url)
    slow = ShippoGateway(carrier_gateway_for(tenant_a).account, timeout=0.3)
    shippo.delay_next(1, seconds=1.0)
    with pytest.raises(CarrierUnavailable, match="ReadTimeout"):
        _rates(slow)

    shippo.stop()
    try:
        with pytest.raises(CarrierUnavailable, match="ConnectionError"):
            _rates(slow)
    finally:
        shippo.start()


def test_a_refusal_carries_shippos_message(gateway):
    with pytest.raises(CarrierRefused) as refused:
        gateway.buy_label(rate_id="rate_missing", reference="acme:shp1:L1")
    assert str(refused.value) == "Shippo refused the request (400): rate: Rate rate_missing not found."


def test_a_wrong_api_key_is_refused_with_a_hint(tenant_a, shippo_server):  # noqa: F811
    strict = FakeShippo(api_key="shippo_test_right").start()
    try:
        account = make_shippo_account(tenant_a, strict.url, key="shippo_test_wrong")
        with pytest.raises(CarrierRefused) as refused:
            _rates(ShippoGateway(account))
        assert refused.value.code == "carrier_auth_failed"
        assert "check the Shippo account under Integrations" in str(refused.value)
    finally:
        strict.stop()


def test_void_is_asked_once_and_answers_true_again(gateway, shippo):  # noqa: F811
    rate = _rates(gateway)[0]
    bought = gateway.buy_label(rate_id=rate.rate_id, reference="acme:shp1:L1")

    assert gateway.void_label(transaction_id=bought.transaction_id) is True
    assert gateway.void_label(transaction_id=bought.transaction_id) is True
    assert len(shippo.refunds) == 1
    assert shippo.transactions[bought.transaction_id]["status"] == "REFUNDED"


def test_a_label_the_carrier_scanned_cannot_be_voided(gateway, shippo):  # noqa: F811
    bought = gateway.buy_label(rate_id=_rates(gateway)[0].rate_id, reference="acme:shp1:L1")
    shippo.advance(bought.tracking_number, "TRANSIT", emit=False)
    with pytest.raises(CarrierRefused, match="scanned by the carrier"):
        gateway.void_label(transaction_id=bought.transaction_id)


def test_a_return_label_goes_from_the_customer_back_to_the_warehouse(gateway, shippo):  # noqa: F811
    label = gateway.return_label(ship_from=CUSTOMER, ship_to=WAREHOUSE, parcels=PARCEL, reference="acme:ret1")

    (shipment,) = shippo.shipments.values()
    assert shipment["extra"] == {"is_return": True}
    # Shippo takes the outbound addresses and swaps them on the label itself.
    assert shipment["address_from"]["city"] == "Dallas" and shipment["address_to"]["city"] == "Austin"
    assert label.service == "usps_ground_advantage"
    assert shippo.transactions[label.transaction_id]["metadata"] == "acme:ret1"


def test_tracking_reads_the_carriers_status_and_registers_for_webhooks(gateway, shippo):  # noqa: F811
    bought = gateway.buy_label(rate_id=_rates(gateway)[0].rate_id, reference="acme:shp1:L1")
    shippo.advance(bought.tracking_number, "TRANSIT", emit=False, location={"city": "Waco", "state": "TX"})

    update = gateway.track(carrier="usps", tracking_number=bought.tracking_number)
    assert (update.status, update.location) == ("TRANSIT", "Waco, TX")
    assert [h["status"] for h in update.raw["tracking_history"]] == ["PRE_TRANSIT", "TRANSIT"]

    gateway.register_tracking(carrier="usps", tracking_number=bought.tracking_number, reference="acme:shp1")
    assert shippo.tracks[("usps", bought.tracking_number)]["metadata"] == "acme:shp1"


def test_the_session_gives_every_request_a_timeout(monkeypatch):
    seen = {}

    def fake_send(self, request, **kwargs):
        seen.update(kwargs)
        raise requests.ConnectionError("stop here")

    monkeypatch.setattr(requests.Session, "send", fake_send)
    with pytest.raises(requests.ConnectionError):
        TimeoutSession(7).get("http://127.0.0.1:9/")
    assert seen["timeout"] == 7
