"""Ship (a 3PL's own carrier and tracking) and cancel through the API."""

from __future__ import annotations

import pytest

from fulfillment.models import Label, Shipment
from fulfillment.services import shipment_cancel
from inventory.models import StockMovement
from oms.models import Role
from oms.services import api_key_create
from orders.models import Order
from tests.conftest import api_client_for
from tests.fulfillment.conftest import addressed, make_shipment
from tests.fulfillment.floor import SHOES_AND_SOCK, level, released

URL = "/api/v1/shipments/"


def ship(client, shipment, body):
    return client.post(f"{URL}{shipment.pk}/ship/", body, format="json")


def cancel(client, shipment, body):
    return client.post(f"{URL}{shipment.pk}/cancel/", body, format="json")


def test_a_3pl_ships_with_its_carrier_and_tracking(api_a, tenant_a, stocked, sku_a):
    _, _, w3 = stocked
    [shipment] = released(tenant_a)
    on_hand, _ = level(tenant_a, sku_a, w3)
    response = ship(
        api_a,
        shipment,
        {"carrier": "DHL", "tracking_number": "JD0001", "tracking_url": "https://dhl.example/JD0001"},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["carrier"], body["tracking_number"]) == ("shipped", "DHL", "JD0001")
    assert body["tracking_url"] == "https://dhl.example/JD0001" and body["shipped_at"]
    assert level(tenant_a, sku_a, w3)[0] == on_hand - 2  # stock left through the ledger
    assert StockMovement.objects.for_tenant(tenant_a).filter(reason="shipment").count() == 1
    order = api_a.get(f"/api/v1/orders/{shipment.order_id}/").json()
    assert order["state"] == "shipped" and order["shipments"] == [body]

    again = ship(api_a, shipment, {"carrier": "UPS", "tracking_number": "other"})  # it already left
    assert again.status_code == 200 and again.json() == body
    assert StockMovement.objects.for_tenant(tenant_a).filter(reason="shipment").count() == 1


def test_shipping_without_tracking_needs_only_the_carrier(api_a, tenant_a, stocked):
    [shipment] = released(tenant_a)
    body = ship(api_a, shipment, {"carrier": "Own van"}).json()
    assert (body["state"], body["carrier"], body["tracking_number"]) == ("shipped", "Own van", "")


def test_shipping_without_a_carrier_or_a_label_is_422_and_changes_nothing(api_a, tenant_a, stocked):
    [shipment] = released(tenant_a)
    response = ship(api_a, shipment, {})
    assert response.status_code == 422 and response.json()["code"] == "carrier_required"
    assert Shipment.objects.for_tenant(tenant_a).get(pk=shipment.pk).state == "pending"
    assert not StockMovement.objects.for_tenant(tenant_a).filter(reason="shipment").exists()


def test_a_cancelled_shipment_cannot_ship(api_a, tenant_a, stocked):
    [shipment] = released(tenant_a)
    shipment_cancel(tenant=tenant_a, shipment_id=shipment.pk, reason="x")
    response = ship(api_a, shipment, {"carrier": "UPS"})
    assert response.status_code == 409 and response.json()["code"] == "not_shippable"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"carrier": "UPS", "tracking": "1Z"}, "tracking", "unknown_field"),
        ({"carrier": "UPS", "tracking_url": "not a url"}, "tracking_url", "invalid"),
        ({"carrier": 7}, "carrier", "invalid"),
        ({"carrier": "x" * 65}, "carrier", "max_length"),
    ],
)
def test_bad_ship_bodies_are_400_and_ship_nothing(api_a, tenant_a, stocked, body, field, code):
    [shipment] = released(tenant_a)
    response = ship(api_a, shipment, body)
    assert response.status_code == 400
    assert response.json()["fields"][field][0]["code"] == code
    assert Shipment.objects.for_tenant(tenant_a).get(pk=shipment.pk).state == "pending"


def test_cancel_gives_the_units_back_to_the_orders_allocation(api_a, tenant_a, stocked):
    [shipment] = released(tenant_a)
    response = cancel(api_a, shipment, {"reason": "customer called"})
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    order = Order.objects.for_tenant(tenant_a).get(pk=shipment.order_id)
    assert order.state == "allocated"
    assert api_a.get(f"/api/v1/orders/{order.pk}/").json()["lines"][0]["allocated"] == 2
    assert cancel(api_a, shipment, {}).json()["state"] == "cancelled"  # twice: nothing more


def test_a_shipment_that_left_cannot_be_cancelled(api_a, tenant_a, stocked):
    [shipment] = released(tenant_a)
    ship(api_a, shipment, {"carrier": "UPS"})
    response = cancel(api_a, shipment, {"reason": "too late"})
    assert response.status_code == 409 and response.json()["code"] == "not_cancellable"
    assert Shipment.objects.for_tenant(tenant_a).get(pk=shipment.pk).state == "shipped"


def test_bad_cancel_bodies_are_400(api_a, tenant_a, stocked):
    [shipment] = released(tenant_a)
    response = cancel(api_a, shipment, {"why": "x"})
    assert response.status_code == 400 and response.json()["fields"]["why"][0]["code"] == "unknown_field"
    assert cancel(api_a, shipment, {"reason": "x" * 501}).status_code == 400
    assert Shipment.objects.for_tenant(tenant_a).get(pk=shipment.pk).state == "pending"


@pytest.mark.django_db(transaction=True)
def test_a_labelled_shipment_ships_with_its_label_and_a_cancelled_one_voids_it(
    api_a, tenant_a, shippo, shippo_account_a, packed_shipment, order_a, warehouses
):
    bought = api_a.post(f"{URL}{packed_shipment.pk}/label/", {}, format="json").json()
    shipped = ship(api_a, packed_shipment, {})  # {}: the label's carrier and tracking
    assert shipped.status_code == 200
    assert (shipped.json()["state"], shipped.json()["tracking_number"]) == (
        "shipped",
        bought["tracking_number"],
    )

    other = make_shipment(order_a, addressed(warehouses[1]), number="W-2001-9")
    api_a.post(f"{URL}{other.pk}/label/", {}, format="json")
    cancelled = cancel(api_a, other, {"reason": "customer called"})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    label = Label.objects.for_tenant(tenant_a).get(shipment=other)
    assert label.state == "voided" and len(shippo.refunds) == 1
    assert shippo.purchases == 2


def test_another_tenant_can_neither_ship_nor_cancel(api_b, tenant_a, stocked):
    [shipment] = released(tenant_a)
    for response in (ship(api_b, shipment, {"carrier": "UPS"}), cancel(api_b, shipment, {})):
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert Shipment.objects.for_tenant(tenant_a).get(pk=shipment.pk).state == "pending"


@pytest.mark.parametrize("role", [Role.AGENT, Role.WAREHOUSE])
def test_agents_and_warehouse_keys_read_but_neither_ship_nor_cancel(tenant_a, stocked, role):
    first, second = released(tenant_a, "SPLIT", SHOES_AND_SOCK)
    _, raw = api_key_create(tenant=tenant_a, name=role, role=role)
    client = api_client_for(raw)
    assert client.get(f"{URL}{first.pk}/").status_code == 200
    for response in (ship(client, first, {"carrier": "UPS"}), cancel(client, second, {})):
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert set(Shipment.objects.for_tenant(tenant_a).values_list("state", flat=True)) == {"pending"}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.OWNER])
def test_managers_and_owners_ship_and_cancel(tenant_a, stocked, role):
    first, second = released(tenant_a, "SPLIT", SHOES_AND_SOCK)
    _, raw = api_key_create(tenant=tenant_a, name=role, role=role)
    client = api_client_for(raw)
    assert ship(client, first, {"carrier": "UPS"}).json()["state"] == "shipped"
    assert cancel(client, second, {}).json()["state"] == "cancelled"
