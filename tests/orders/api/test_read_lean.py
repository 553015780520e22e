"""The order page and the order list (orders/api/render.py) beside the serializers they stand in for.

For orders in every state the storefront can meet (allocated, split, backordered, on hold with a
released hold behind it, paid, released to a warehouse with a label and a parcel, shipped outside
our labels, delivered and returned, cancelled), `GET /api/v1/orders/<id>/` answers exactly what
`OrderOutputSerializer` renders from `order_get`, key for key and in the same key order, and
`GET /api/v1/orders/` answers exactly what `OrderListOutputSerializer` renders for the same page.
On PostgreSQL the order page is one statement (`order_json`); its reference, the ORM reads
(`order_json_orm`, SQLite's path), answers the same, value for value and type for type.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rest_framework.renderers import JSONRenderer

from orders import selectors
from orders.api.render import ORDER_FIELDS, order_json, order_json_orm
from orders.api.render_list import LIST_FIELDS
from orders.api.serializers import OrderListOutputSerializer, OrderOutputSerializer
from orders.models import Order
from orders.services import order_cancel, order_create, order_hold, order_record_shipment, order_release
from tests.inventory.factories import stock
from tests.orders.conftest import order_input
from tests.returns.factories import authorized_return, dallas, receive_all, shipped_order
from tests.worlds import build_world

pytestmark = pytest.mark.django_db


def _json(data):
    """What the client receives: the renderer's bytes, parsed (pairs kept in order)."""
    return json.loads(JSONRenderer().render(data))


@pytest.fixture
def orders_in_every_state(tenant_a):
    """{what: order id}, each order reached through the services. SKU-123: 10 in ACME-WH (the world's
    orders take 4) and 3 in DAL; RET-1 and RET-2: 20 each in DAL."""
    world = build_world(tenant_a, "ACME")  # held (fraud), authorized payment, a return; a labelled shipment
    made = {"held, paid, returned": world["order"].pk, "released, labelled": world["ship_order"].pk}
    stock(tenant_a, world["sku"], dallas(tenant_a), 3)

    def place(external_id, lines):
        order, _ = order_create(tenant=tenant_a, data=order_input(external_id, lines=lines))
        return order.pk

    made["allocated, two lines"] = place(
        "W-ALLOC",
        [
            {"sku": "SKU-123", "quantity": 1, "unit_price": "19.99"},
            {"sku": "RET-2", "quantity": 1, "unit_price": "5"},
        ],
    )
    made["split, part backordered"] = place(
        "W-SPLIT", [{"sku": "SKU-123", "quantity": 20, "unit_price": "9.99"}]
    )
    made["backordered"] = place(
        "W-BACK", [{"sku": "SKU-123", "quantity": 1, "unit_price": "9.99"}]
    )  # none left
    cancelled = place("W-CANCEL", [{"sku": "RET-2", "quantity": 30, "unit_price": "1.10"}])
    order_cancel(tenant=tenant_a, order_id=cancelled, reason="customer asked")
    made["cancelled with a backorder"] = cancelled
    held = place("W-HOLD", [{"sku": "RET-2", "quantity": 1, "unit_price": "3.00"}])
    order_hold(tenant=tenant_a, order_id=held, kind="address", reason="check the street")
    order_release(tenant=tenant_a, order_id=held, kind="address", reason="checked")
    order_hold(tenant=tenant_a, order_id=held, kind="manual", reason="call the buyer")
    order_hold(tenant=tenant_a, order_id=held, kind="fraud", reason="second look")
    made["one hold released, two active"] = held
    recorded = place("W-3PL", [{"sku": "RET-1", "quantity": 2, "unit_price": "30.00"}])
    order_record_shipment(
        tenant=tenant_a, order_id=recorded, reference="3PL-1", carrier="UPS", tracking_number="1Z999"
    )
    made["shipped outside our labels"] = recorded
    returned = shipped_order(tenant_a, delivered_days_ago=3)
    receive_all(authorized_return(returned, ("RET-1", 1, "wrong_size")))
    made["delivered, paid and captured, returned"] = returned.pk
    return made


def test_the_order_page_is_the_serializers_rendering_for_orders_in_every_state(
    api_a, tenant_a, orders_in_every_state
):
    states = set()
    for what, order_id in orders_in_every_state.items():
        expected = _json(OrderOutputSerializer(selectors.order_get(tenant=tenant_a, order_id=order_id)).data)
        lean = _json(order_json(tenant=tenant_a, order_id=order_id))
        answered = api_a.get(f"/api/v1/orders/{order_id}/")
        assert answered.status_code == 200, what
        assert lean == expected, what
        reference = order_json_orm(tenant=tenant_a, order_id=order_id)
        assert order_json(tenant=tenant_a, order_id=order_id) == reference, what  # the same Python values
        assert list(lean) == list(expected) == list(ORDER_FIELDS), what
        assert answered.json() == expected, what
        states.add(expected["state"])
    assert states >= {
        *(
            "allocated",
            "partially_allocated",
            "backordered",
            "on_hold",
            "cancelled",
            "shipped",
            "in_fulfillment",
        )
    }


def test_the_orders_cover_what_the_order_page_shows(tenant_a, orders_in_every_state):
    """Else the comparison above compares empty lists: holds, payments, shipments, allocations,
    returns and backorders all appear in at least one order."""
    pages = [order_json(tenant=tenant_a, order_id=pk) for pk in orders_in_every_state.values()]
    assert any(len(page["holds"]) >= 2 for page in pages)
    assert any(page["payments"] for page in pages)
    assert any(
        len(page["shipments"]) >= 1 and page["shipments"][0]["id"] is None for page in pages
    )  # recorded
    assert any(page["shipments"] and page["shipments"][0]["label_state"] for page in pages)
    assert any(len(line["allocations"]) >= 2 for page in pages for line in page["lines"])
    assert any(line["returned"] for page in pages for line in page["lines"])
    assert any(line["backordered"] for page in pages for line in page["lines"])
    held = order_json(tenant=tenant_a, order_id=orders_in_every_state["one hold released, two active"])
    assert [hold["kind"] for hold in held["holds"]] == ["manual", "fraud"]  # active ones, oldest first
    cancelled = orders_in_every_state["cancelled with a backorder"]
    assert [line["backordered"] for line in order_json(tenant=tenant_a, order_id=cancelled)["lines"]] == [0]


def test_an_order_without_a_bill_to_address(api_a, tenant_a, orders_in_every_state):
    order_id = orders_in_every_state["allocated, two lines"]
    Order.objects.for_tenant(tenant_a).filter(pk=order_id).update(bill_to=None, allocation_plan={})
    expected = _json(OrderOutputSerializer(selectors.order_get(tenant=tenant_a, order_id=order_id)).data)
    assert expected["bill_to"] is None and expected["ship_to"]["city"]
    assert expected["allocation_plan"] == {"strategy": "", "explanation": ""}
    assert api_a.get(f"/api/v1/orders/{order_id}/").json() == expected
    assert order_json(tenant=tenant_a, order_id=order_id) == order_json_orm(
        tenant=tenant_a, order_id=order_id
    )


def test_the_order_list_is_the_serializers_rendering_page_after_page(api_a, tenant_a, orders_in_every_state):
    # Timestamps the statement writes as text (render_list._UTC_TEXT): a whole second (no
    # fraction), a few microseconds, a year's last one, one stored from another zone.
    first, second, third = list(orders_in_every_state.values())[:3]
    at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    mine = Order.objects.for_tenant(tenant_a)
    mine.filter(pk=first).update(placed_at=at, created_at=at, updated_at=at + timedelta(microseconds=50))
    mine.filter(pk=second).update(placed_at=datetime(2025, 12, 31, 23, 59, 59, 999999, UTC))
    mine.filter(pk=third).update(created_at=at.astimezone(ZoneInfo("Asia/Kolkata")))
    seen = []
    url = "/api/v1/orders/?limit=3"
    while url:
        page = api_a.get(url).json()
        ids = [int(row["id"]) for row in page["results"]]
        orders = {o.pk: o for o in selectors.order_list(tenant=tenant_a).filter(pk__in=ids)}
        expected = _json(OrderListOutputSerializer([orders[pk] for pk in ids], many=True).data)
        assert page["results"] == expected
        assert all(list(row) == list(LIST_FIELDS) for row in page["results"])
        seen += ids
        url = page["next"]
    everything = Order.objects.for_tenant(tenant_a).order_by("-id").values_list("pk", flat=True)
    assert seen == list(everything)
    assert set(orders_in_every_state.values()) <= set(seen)


def test_filters_pick_the_same_orders_as_the_selector(api_a, tenant_a, orders_in_every_state):
    for query, filters in (
        ("state=on_hold,cancelled", {"state": "on_hold,cancelled"}),
        ("sku=RET-2", {"sku": "RET-2"}),
        ("channel=web&email=ana@example.com", {"channel": "web", "email": "ana@example.com"}),
    ):
        answered = [int(row["id"]) for row in api_a.get(f"/api/v1/orders/?{query}").json()["results"]]
        expected = list(
            selectors.order_list(tenant=tenant_a, **filters).order_by("-id").values_list("pk", flat=True)
        )
        assert answered == expected and answered, query


def test_another_tenants_order_is_not_found(api_b, tenant_b, orders_in_every_state):
    order_id = orders_in_every_state["held, paid, returned"]
    answered = api_b.get(f"/api/v1/orders/{order_id}/")
    assert answered.status_code == 404
    assert answered.json()["code"] == "not_found"
    with pytest.raises(Order.DoesNotExist):
        order_json(tenant=tenant_b, order_id=order_id)
    assert api_b.get("/api/v1/orders/").json()["results"] == []
