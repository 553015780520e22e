"""The Shipments API: list, one, and shipments in the order JSON; other tenants' ids are 404."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator

from fulfillment.models import Label, Parcel, Shipment
from fulfillment.services import order_release_to_warehouse, shipment_ship
from oms.models import Role
from oms.services import api_key_create
from orders.api import shipments as order_shipments_registry
from orders.services import order_create, order_record_shipment
from tests.conftest import api_client_for
from tests.orders.conftest import order_input

URL = "/api/v1/shipments/"
TWO_WAREHOUSES = [
    {"sku": "SKU-123", "quantity": 2, "unit_price": "10.00"},
    {"sku": "SKU-456", "quantity": 1, "unit_price": "20.00"},
]


def released(order):
    """One shipment per warehouse the order is allocated from."""
    return order_release_to_warehouse(tenant=order.tenant, order_id=order.pk, actor="test")


@pytest.fixture
def order(tenant_a, stocked):
    return order_create(tenant=tenant_a, data=order_input(lines=TWO_WAREHOUSES))[0]


@pytest.fixture
def shipments(order):
    return released(order)


def by_warehouse(shipments):
    return {s.warehouse.code: s for s in shipments}


def test_list_shows_the_tenants_shipments_in_the_contracts_shape(api_a, order, shipments):
    w1, w3 = by_warehouse(shipments)["W1"], by_warehouse(shipments)["W3"]
    Parcel.objects.create(
        tenant=order.tenant, shipment=w3, weight_grams=900, length_mm=300, width_mm=200, height_mm=100
    )
    response = api_a.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "next", "previous"}
    newest_first = sorted([w1, w3], key=lambda s: -s.pk)
    assert [r["id"] for r in body["results"]] == [str(s.pk) for s in newest_first]
    first = next(r for r in body["results"] if r["id"] == str(w3.pk))
    assert set(first) >= {
        "id",
        "order",
        "warehouse",
        "state",
        "carrier",
        "service",
        "tracking_number",
        "tracking_url",
        "label_url",
        "lines",
        "parcels",
        "shipped_at",
        "delivered_at",
    }
    assert first["order"] == str(order.pk)
    assert first["warehouse"] == w3.warehouse.code
    assert first["state"] == "pending"
    assert first["lines"] == [{"sku": "SKU-123", "quantity": 2}]
    assert first["parcels"] == [{"weight_grams": 900, "length_mm": 300, "width_mm": 200, "height_mm": 100}]
    assert first["shipped_at"] is None and first["label_state"] is None


def test_list_filters_by_order_warehouse_and_state(api_a, tenant_a, order, shipments):
    w1, w3 = by_warehouse(shipments)["W1"], by_warehouse(shipments)["W3"]
    other = order_create(
        tenant=tenant_a,
        data=order_input("W-2", lines=[{"sku": "SKU-123", "quantity": 1, "unit_price": "1.00"}]),
    )[0]
    [other_shipment] = released(other)
    by_order = api_a.get(URL, {"order": order.pk}).json()["results"]
    assert {r["id"] for r in by_order} == {str(w1.pk), str(w3.pk)}
    from_w1 = api_a.get(URL, {"warehouse": "W1"}).json()["results"]
    assert [r["id"] for r in from_w1] == [str(w1.pk)]
    Shipment.objects.for_tenant(tenant_a).filter(pk=w3.pk).update(state="packed")
    packed = api_a.get(URL, {"state": "packed,shipped"}).json()["results"]
    assert [r["id"] for r in packed] == [str(w3.pk)]
    assert api_a.get(URL, {"order": 999999}).json()["results"] == []
    assert api_a.get(URL, {"warehouse": "NOPE"}).json()["results"] == []
    assert {r["id"] for r in api_a.get(URL).json()["results"]} == {
        str(w1.pk),
        str(w3.pk),
        str(other_shipment.pk),
    }


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"state": "lost"}, "state", "invalid_choice"),
        ({"state": "packed,"}, "state", "invalid_choice"),
        ({"state": ""}, "state", "blank"),
        ({"order": "abc"}, "order", "invalid"),
        ({"order": "0"}, "order", "min_value"),
        ({"limit": "500"}, "limit", "invalid"),
    ],
)
def test_bad_filters_are_400_with_the_field(api_a, shipments, params, field, code):
    response = api_a.get(URL, params)
    assert response.status_code == 400
    assert response.json()["fields"][field][0]["code"] == code


def test_list_pages_with_a_cursor(api_a, shipments):
    first = api_a.get(URL, {"limit": 1}).json()
    assert len(first["results"]) == 1 and first["next"]
    second = api_a.get(first["next"]).json()
    assert [r["id"] for r in first["results"] + second["results"]] == [str(s.pk) for s in reversed(shipments)]
    assert second["next"] is None


def test_one_shipment_and_its_label_state(api_a, tenant_a, shipments):
    shipment = shipments[0]
    Label.objects.create(tenant=tenant_a, shipment=shipment, reference="lbl-1", state="pending")
    response = api_a.get(f"{URL}{shipment.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(shipment.pk) and body["number"] == shipment.number
    assert body["label_state"] == "pending"


def test_another_tenants_shipments_do_not_exist(api_b, shipments):
    assert api_b.get(URL).json()["results"] == []
    assert api_b.get(URL, {"order": shipments[0].order_id}).json()["results"] == []
    response = api_b.get(f"{URL}{shipments[0].pk}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize("role", [Role.AGENT, Role.WAREHOUSE, Role.MANAGER, Role.OWNER])
def test_every_role_reads_shipments(tenant_a, shipments, role):
    _, raw = api_key_create(tenant=tenant_a, name=f"{role}", role=role)
    client = api_client_for(raw)
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}{shipments[0].pk}/").status_code == 200


def test_no_key_is_401(client, shipments):
    assert client.get(URL).status_code == 401


# --- shipments in the order JSON ----------------------------------------------------------------
def test_the_order_shows_its_shipments_in_the_shipment_shape(api_a, order, shipments):
    body = api_a.get(f"/api/v1/orders/{order.pk}/").json()
    assert [s["id"] for s in body["shipments"]] == [str(s.pk) for s in shipments]
    assert body["shipments"] == [api_a.get(f"{URL}{s.pk}/").json() for s in shipments]


def test_a_shipment_recorded_on_the_order_without_a_row_shows_too(api_a, tenant_a, stocked):
    order = order_create(tenant=tenant_a, data=order_input())[0]
    order_record_shipment(
        tenant=tenant_a, order_id=order.pk, reference="SHP-9", carrier="USPS", tracking_number="94001"
    )
    [shipment] = api_a.get(f"/api/v1/orders/{order.pk}/").json()["shipments"]
    assert shipment["id"] is None and shipment["warehouse"] is None
    assert (shipment["number"], shipment["state"], shipment["carrier"], shipment["tracking_number"]) == (
        "SHP-9",
        "shipped",
        "USPS",
        "94001",
    )
    assert shipment["lines"] == [{"sku": "SKU-123", "quantity": 2}]
    assert shipment["shipped_at"] and shipment["order"] == str(order.pk)


def test_without_a_shipments_room_the_order_shows_what_it_recorded(api_a, tenant_a, stocked, monkeypatch):
    """Orders stand alone: until a room registers its shipments, the order renders its own records."""
    monkeypatch.setattr(order_shipments_registry, "_registered", None)
    order = order_create(tenant=tenant_a, data=order_input())[0]
    order_record_shipment(tenant=tenant_a, order_id=order.pk, reference="SHP-1", carrier="UPS")
    [shipment] = api_a.get(f"/api/v1/orders/{order.pk}/").json()["shipments"]
    assert set(shipment) == {"reference", "carrier", "tracking_number", "shipped_at", "lines"}
    assert shipment["reference"] == "SHP-1"


def test_the_schema_shows_shipments_in_the_order_and_on_their_routes(db):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    order = schema["components"]["schemas"]["OrderOutput"]["properties"]["shipments"]
    assert order["items"] == {"$ref": "#/components/schemas/Shipment"}
    listed = schema["paths"]["/api/v1/shipments/"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listed["schema"]["$ref"] == "#/components/schemas/PaginatedShipmentList"
    assert {p["name"] for p in schema["paths"]["/api/v1/shipments/"]["get"]["parameters"]} >= {
        "order",
        "warehouse",
        "state",
        "cursor",
        "limit",
    }


def test_a_shipment_that_shipped_shows_once_in_the_order(api_a, tenant_a, order, shipments):
    shipment = by_warehouse(shipments)["W3"]
    shipment_ship(
        tenant=tenant_a, shipment_id=shipment.pk, carrier="UPS", tracking_number="1Z9", actor="test"
    )
    body = api_a.get(f"/api/v1/orders/{order.pk}/").json()
    assert body["state"] == "partially_shipped"
    assert [(s["id"], s["state"]) for s in body["shipments"]] == [
        (str(s.pk), "shipped" if s.pk == shipment.pk else "pending") for s in shipments
    ]
    shipped = next(s for s in body["shipments"] if s["id"] == str(shipment.pk))
    assert (shipped["carrier"], shipped["tracking_number"]) == ("UPS", "1Z9") and shipped["shipped_at"]


def test_a_page_of_shipments_costs_the_same_queries_whatever_its_size(api_a, tenant_a, stocked):
    def queries_for_list():
        with CaptureQueriesContext(connection) as captured:
            assert api_a.get(URL, {"limit": 50}).status_code == 200
        return len(captured)

    released(order_create(tenant=tenant_a, data=order_input("Q-0"))[0])
    queries_for_list()  # the key's last use is written down (at most once a while)
    one = queries_for_list()
    for n in range(1, 5):
        released(order_create(tenant=tenant_a, data=order_input(f"Q-{n}", lines=TWO_WAREHOUSES))[0])
    assert Shipment.objects.for_tenant(tenant_a).count() == 9
    assert queries_for_list() == one
