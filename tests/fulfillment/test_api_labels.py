"""Rates and labels through the API, over real HTTP to the fake Shippo with the real SDK.

The label tests commit for real (transactional db): the purchase task runs when label_request's
transaction commits, as a worker would pick it up, while the view waits for its answer.
"""

from __future__ import annotations

import pytest
import requests

from fulfillment.api import views
from fulfillment.models import Label, Shipment
from fulfillment.states import ShipmentState
from oms.core.outbox import outbox_relay_pending
from oms.models import Role
from oms.services import api_key_create
from orders.models import Address
from tests.conftest import api_client_for
from tests.fulfillment.conftest import make_shipment

URL = "/api/v1/shipments/"
committing = pytest.mark.django_db(transaction=True)


def label_url(shipment):
    return f"{URL}{shipment.pk}/label/"


# --- rates ----------------------------------------------------------------------------------------
def test_rates_are_quoted_once_and_listed_in_the_contracts_shape(
    api_a, shippo, shippo_account_a, packed_shipment
):
    response = api_a.get(f"{URL}{packed_shipment.pk}/rates/")
    assert response.status_code == 200
    rates = response.json()
    assert len(rates) == 6
    assert set(rates[0]) == {
        "rate_id",
        "carrier",
        "service",
        "service_name",
        "amount",
        "currency",
        "estimated_days",
    }
    usps = next(r for r in rates if r["service"] == "usps_ground_advantage")
    assert usps["carrier"] == "USPS" and usps["currency"] == "USD" and isinstance(usps["estimated_days"], int)
    assert api_a.get(f"{URL}{packed_shipment.pk}/rates/").json() == rates  # the stored quote
    assert len(shippo.shipments) == 1


def test_rates_refused_by_the_carrier_are_422_with_its_words(
    api_a, tenant_a, shippo_account_a, packed_shipment
):
    Address.objects.for_tenant(tenant_a).filter(pk=packed_shipment.order.ship_to_id).update(postal_code="")
    response = api_a.get(f"{URL}{packed_shipment.pk}/rates/")
    assert response.status_code == 422
    assert response.json()["message"] == "No rates: Recipient: The postal code is missing."


def test_rates_when_shippo_is_down_are_503_with_retry_after(api_a, shippo, shippo_account_a, packed_shipment):
    shippo.fail_next(1, status=502)
    response = api_a.get(f"{URL}{packed_shipment.pk}/rates/")
    assert response.status_code == 503
    assert response.json()["code"] == "carrier_unavailable" and response["Retry-After"]
    assert api_a.get(f"{URL}{packed_shipment.pk}/rates/").status_code == 200


def test_rates_without_a_carrier_account_say_so(api_a, packed_shipment):
    response = api_a.get(f"{URL}{packed_shipment.pk}/rates/")
    assert response.status_code == 409 and response.json()["code"] == "no_carrier_account"


def test_rates_of_a_shipped_or_cancelled_shipment_are_409(
    api_a, tenant_a, shippo, shippo_account_a, order_a, warehouses
):
    gone = make_shipment(order_a, warehouses[2], state=ShipmentState.CANCELLED)
    response = api_a.get(f"{URL}{gone.pk}/rates/")
    assert response.status_code == 409 and response.json()["code"] == "shipment_not_open"
    assert shippo.requests == []


# --- labels ---------------------------------------------------------------------------------------
@committing
def test_a_label_is_bought_and_the_shipment_answered_with_it(
    api_a, shippo, shippo_account_a, packed_shipment
):
    response = api_a.post(label_url(packed_shipment), {}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == "label_purchased" and body["label_state"] == "purchased"
    assert (body["carrier"], body["service"]) == ("USPS", "usps_ground_advantage")  # the policy: cheapest
    label = Label.objects.for_tenant(packed_shipment.tenant_id).get(shipment=packed_shipment)
    assert body["tracking_number"] == label.tracking_number != ""
    assert body["tracking_url"] == label.tracking_url and body["label_url"] == label.label_url
    assert body["label_url"].startswith(shippo.url)
    assert shippo.purchases == 1

    again = api_a.post(label_url(packed_shipment), {}, format="json")  # no key: still never twice
    assert again.status_code == 200 and again.json()["tracking_number"] == body["tracking_number"]
    assert shippo.purchases == 1
    assert Label.objects.for_tenant(packed_shipment.tenant_id).count() == 1


@committing
def test_one_of_the_quoted_rates_is_bought(api_a, shippo, shippo_account_a, packed_shipment):
    rates = api_a.get(f"{URL}{packed_shipment.pk}/rates/").json()
    ups = next(r for r in rates if r["service"] == "ups_ground")
    body = api_a.post(label_url(packed_shipment), {"rate_id": ups["rate_id"]}, format="json").json()
    assert (body["carrier"], body["service"]) == ("UPS", "ups_ground")
    assert body["tracking_number"].startswith("1Z")
    assert shippo.purchases == 1


@committing
def test_the_same_idempotency_key_replays_the_first_answer_and_buys_once(
    api_a, shippo, shippo_account_a, packed_shipment
):
    headers = {"HTTP_IDEMPOTENCY_KEY": "label-once-1"}
    first = api_a.post(label_url(packed_shipment), {}, format="json", **headers)
    second = api_a.post(label_url(packed_shipment), {}, format="json", **headers)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json() and second["Idempotent-Replayed"] == "true"
    assert shippo.purchases == 1
    reused = api_a.post(label_url(packed_shipment), {"rate_id": "rate_other"}, format="json", **headers)
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"
    assert shippo.purchases == 1


@committing
def test_the_api_over_http_buys_one_label_for_two_keyed_requests(
    live_server, shippo, shippo_account_a, packed_shipment, key_a
):
    """Both hops over real HTTP: a client to our API, our SDK to the fake Shippo."""
    url = f"{live_server.url}{label_url(packed_shipment)}"
    headers = {"Authorization": f"Bearer {key_a[1]}", "Idempotency-Key": "wms-42"}
    first = requests.post(url, json={}, headers=headers, timeout=30)
    second = requests.post(url, json={}, headers=headers, timeout=30)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json() and first.json()["state"] == "label_purchased"
    assert second.headers["Idempotent-Replayed"] == "true"
    assert shippo.purchases == 1


@committing
def test_a_label_still_being_bought_answers_202_with_the_packed_shipment(
    api_a, shippo, shippo_account_a, packed_shipment, monkeypatch
):
    monkeypatch.setattr(views, "LABEL_WAIT_SECONDS", 0.3)
    monkeypatch.setattr("oms.core.tasks.outbox_kick", lambda ids: None)  # the worker has not got to it yet
    response = api_a.post(label_url(packed_shipment), {}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert (body["state"], body["label_state"], body["tracking_number"]) == ("packed", "pending", "")
    assert shippo.purchases == 0

    again = api_a.post(label_url(packed_shipment), {}, format="json")  # asking again waits for the same label
    assert again.status_code == 202 and Label.objects.for_tenant(packed_shipment.tenant_id).count() == 1

    outbox_relay_pending()  # the worker's turn
    done = api_a.get(f"{URL}{packed_shipment.pk}/").json()
    assert (done["state"], done["label_state"]) == ("label_purchased", "purchased")
    assert shippo.purchases == 1


@committing
def test_a_label_the_carrier_refuses_is_422_and_the_shipment_stays_packed(
    api_a, tenant_a, shippo, shippo_account_a, packed_shipment
):
    Address.objects.for_tenant(tenant_a).filter(pk=packed_shipment.order.ship_to_id).update(line1="")
    response = api_a.post(label_url(packed_shipment), {}, format="json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "label_failed"
    assert body["message"] == "No rates: Recipient: The street address is missing."
    shown = api_a.get(f"{URL}{packed_shipment.pk}/").json()
    assert (shown["state"], shown["label_state"]) == ("packed", "failed")
    assert shown["error"] == "No rates: Recipient: The street address is missing."
    assert shippo.purchases == 0


def test_a_label_for_a_shipment_not_packed_is_409(
    api_a, tenant_a, shippo, shippo_account_a, order_a, warehouses
):
    picking = make_shipment(order_a, warehouses[2], state=ShipmentState.PICKING)
    response = api_a.post(label_url(picking), {}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "shipment_not_packed"
    assert not Label.objects.for_tenant(tenant_a).exists() and shippo.requests == []


def test_an_unknown_rate_is_422_and_buys_nothing(api_a, tenant_a, shippo, shippo_account_a, packed_shipment):
    response = api_a.post(label_url(packed_shipment), {"rate_id": "rate_from_elsewhere"}, format="json")
    assert response.status_code == 422 and response.json()["code"] == "unknown_rate"
    assert not Label.objects.for_tenant(tenant_a).exists()


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"rate": "x"}, "rate", "unknown_field"),
        ({"rate_id": 5}, "rate_id", "invalid"),
        ({"rate_id": "x" * 65}, "rate_id", "max_length"),
    ],
)
def test_bad_label_bodies_are_400(api_a, tenant_a, packed_shipment, body, field, code):
    response = api_a.post(label_url(packed_shipment), body, format="json")
    assert response.status_code == 400
    assert response.json()["fields"][field][0]["code"] == code
    assert not Label.objects.for_tenant(tenant_a).exists()


def test_another_tenant_can_neither_quote_nor_buy(
    api_b, tenant_a, shippo, shippo_account_a, shippo_account_b, packed_shipment
):
    for response in (
        api_b.get(f"{URL}{packed_shipment.pk}/rates/"),
        api_b.post(label_url(packed_shipment), {}, format="json"),
    ):
        assert response.status_code == 404
    assert shippo.requests == [] and not Label.objects.for_tenant(tenant_a).exists()


@pytest.mark.parametrize("role", [Role.AGENT, Role.WAREHOUSE])
def test_agents_and_warehouse_keys_see_rates_but_buy_no_label(
    tenant_a, shippo, shippo_account_a, packed_shipment, role
):
    _, raw = api_key_create(tenant=tenant_a, name=role, role=role)
    client = api_client_for(raw)
    assert client.get(f"{URL}{packed_shipment.pk}/rates/").status_code == 200
    refused = client.post(label_url(packed_shipment), {}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert not Label.objects.for_tenant(tenant_a).exists()
    assert Shipment.objects.for_tenant(tenant_a).get(pk=packed_shipment.pk).state == ShipmentState.PACKED
