"""The Returns API as a storefront and a 3PL use it: open with an Idempotency-Key, list and read,
receive, cancel; the refusals by code; another tenant's return is a 404 on every route."""

from __future__ import annotations

import pytest

from inventory.models import StockLevel
from oms.models import Role
from oms.services import api_key_create
from returns.models import ReturnRequest
from tests.conftest import api_client_for
from tests.returns.factories import authorized_return, line_of, open_return, shipped_order


def body(order, *items, **extra):
    return {
        "order": order.pk,
        "lines": [
            {"line": line_of(order, code).pk, "quantity": q, "reason": reason, "note": "too small"}
            for code, q, reason in (items or (("RET-1", 1, "wrong_size"),))
        ],
        **extra,
    }


def test_a_storefront_opens_a_return_once_per_idempotency_key(tenant_a, api_a):
    order = shipped_order(tenant_a, delivered_days_ago=2)
    payload = body(order)

    first = api_a.post("/api/v1/returns/", payload, format="json", HTTP_IDEMPOTENCY_KEY="ret-1")
    again = api_a.post("/api/v1/returns/", payload, format="json", HTTP_IDEMPOTENCY_KEY="ret-1")

    assert first.status_code == 201, first.json()
    data = first.json()
    assert again.status_code == 201 and again.json() == data and again["Idempotent-Replayed"] == "true"
    assert ReturnRequest.objects.for_tenant(tenant_a).count() == 1
    assert data["rma_number"] == f"RMA-{order.number}-1"
    assert data["order"] == str(order.pk) and data["state"] == "requested" and data["resolution"] == "refund"
    [line] = data["lines"]
    assert line == {
        "line": str(line_of(order, "RET-1").pk),
        "sku": "RET-1",
        "quantity": 1,
        "reason": "wrong_size",
        "note": "too small",
        "quantity_received": 0,
        "condition": None,
        "disposition": None,
        "receipts": [],
    }
    assert data["label"] is None and data["refund"] is None and data["exchange_order"] is None
    assert data["warehouse"] == "DAL"


@pytest.mark.parametrize(
    ("setup", "items", "code"),
    [
        ({"delivered_days_ago": 31}, (("RET-1", 1, "wrong_size"),), "outside_return_window"),
        ({"delivered_days_ago": 1}, (("RET-1", 3, "wrong_size"),), "quantity_exceeds_returnable"),
        (
            {"lines": (("RET-FINAL", 1),), "delivered_days_ago": 1},
            (("RET-FINAL", 1, "defective"),),
            "not_returnable",
        ),
    ],
)
def test_the_rules_refuse_with_422_and_a_code(tenant_a, api_a, setup, items, code):
    order = shipped_order(tenant_a, setup.pop("lines", (("RET-1", 2), ("RET-2", 1))), **setup)

    response = api_a.post("/api/v1/returns/", body(order, *items), format="json")

    assert response.status_code == 422, response.json()
    assert response.json()["code"] == code
    assert not ReturnRequest.objects.for_tenant(tenant_a).exists()


def test_bad_bodies_are_refused(tenant_a, api_a):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    line = line_of(order, "RET-1").pk

    twice = api_a.post(
        "/api/v1/returns/",
        {"order": order.pk, "lines": [{"line": line, "quantity": 1, "reason": "other"}] * 2},
        format="json",
    )
    assert twice.status_code == 422 and twice.json()["code"] == "duplicate_line"
    unknown = api_a.post("/api/v1/returns/", {**body(order), "colour": "red"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["fields"]["colour"][0]["code"] == "unknown_field"
    exchange = api_a.post("/api/v1/returns/", {**body(order), "resolution": "exchange"}, format="json")
    assert exchange.status_code == 400 and "exchange_lines" in exchange.json()["fields"]


def test_an_exchange_is_opened_with_its_replacement_lines(tenant_a, api_a):
    order = shipped_order(tenant_a, delivered_days_ago=1)

    response = api_a.post(
        "/api/v1/returns/",
        body(order, resolution="exchange", exchange_lines=[{"sku": "RET-2", "quantity": 1}]),
        format="json",
    )

    assert response.status_code == 201
    ret = ReturnRequest.objects.for_tenant(tenant_a).get()
    assert ret.resolution == "exchange"
    assert [(x.sku.code, x.quantity) for x in ret.exchange_lines.all()] == [("RET-2", 1)]


def test_list_filters_by_order_and_state(tenant_a, api_a):
    first = shipped_order(tenant_a, delivered_days_ago=1)
    second = shipped_order(tenant_a, delivered_days_ago=1)
    a = open_return(first, ("RET-1", 1, "wrong_size"))
    b = authorized_return(second, ("RET-2", 1, "defective"))

    everything = api_a.get("/api/v1/returns/").json()["results"]
    assert [r["id"] for r in everything] == [str(b.pk), str(a.pk)]
    by_order = api_a.get(f"/api/v1/returns/?order={first.pk}").json()["results"]
    assert [r["id"] for r in by_order] == [str(a.pk)]
    by_state = api_a.get("/api/v1/returns/?state=authorized,label_sent").json()["results"]
    assert [r["id"] for r in by_state] == [str(b.pk)]
    assert api_a.get("/api/v1/returns/?state=lost").status_code == 400
    assert api_a.get(f"/api/v1/returns/{a.pk}/").json()["rma_number"] == a.rma_number


def test_a_3pl_receives_a_return_and_restocks_it(tenant_a, api_a):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    ret = authorized_return(order, ("RET-1", 2, "wrong_size"))
    line = line_of(order, "RET-1").pk
    before = StockLevel.objects.for_tenant(tenant_a).get(sku__code="RET-1", warehouse__code="DAL").on_hand

    response = api_a.post(
        f"/api/v1/returns/{ret.pk}/receive/",
        {
            "lines": [
                {
                    "line": line,
                    "quantity": 1,
                    "condition": "new",
                    "disposition": "restock",
                    "warehouse": "DAL",
                },
                {"line": line, "quantity": 1, "condition": "damaged", "disposition": "scrap"},
            ]
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["state"] == "received"
    [out] = data["lines"]
    assert (out["quantity_received"], out["condition"], out["disposition"]) == (2, "mixed", "mixed")
    assert [(r["condition"], r["disposition"], r["warehouse"]) for r in out["receipts"]] == [
        ("new", "restock", "DAL"),
        ("damaged", "scrap", "DAL"),
    ]
    after = StockLevel.objects.for_tenant(tenant_a).get(sku__code="RET-1", warehouse__code="DAL").on_hand
    assert after == before + 1
    order_json = api_a.get(f"/api/v1/orders/{order.pk}/").json()
    assert next(x for x in order_json["lines"] if x["sku"] == "RET-1")["returned"] == 2

    again = api_a.post(
        f"/api/v1/returns/{ret.pk}/receive/",
        {"lines": [{"line": line, "quantity": 1, "condition": "new", "disposition": "restock"}]},
        format="json",
    )
    assert again.status_code == 422 and again.json()["code"] == "quantity_exceeds_expected"
    wrong = api_a.post(
        f"/api/v1/returns/{ret.pk}/receive/",
        {
            "lines": [
                {"line": line, "quantity": 1, "condition": "new", "disposition": "restock", "warehouse": "X"}
            ]
        },
        format="json",
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "unknown_warehouse"


def test_cancel_before_receipt_and_409_after(tenant_a, api_a):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    ret = open_return(order, ("RET-1", 1, "wrong_size"))
    received = authorized_return(order, ("RET-2", 1, "defective"))
    api_a.post(
        f"/api/v1/returns/{received.pk}/receive/",
        {
            "lines": [
                {
                    "line": line_of(order, "RET-2").pk,
                    "quantity": 1,
                    "condition": "used",
                    "disposition": "refurbish",
                }
            ]
        },
        format="json",
    )

    cancelled = api_a.post(f"/api/v1/returns/{ret.pk}/cancel/", {"reason": "kept it"}, format="json")
    refused = api_a.post(f"/api/v1/returns/{received.pk}/cancel/", {}, format="json")

    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert refused.status_code == 409 and refused.json()["code"] == "illegal_transition"


def test_a_warehouse_key_receives_but_does_not_open_returns(tenant_a):
    _, raw = api_key_create(tenant=tenant_a, name="3pl", role=Role.WAREHOUSE)
    client = api_client_for(raw)
    order = shipped_order(tenant_a, delivered_days_ago=1)
    ret = authorized_return(order, ("RET-2", 1, "defective"))

    assert client.post("/api/v1/returns/", body(order), format="json").status_code == 403
    assert client.post(f"/api/v1/returns/{ret.pk}/cancel/", {}, format="json").status_code == 403
    received = client.post(
        f"/api/v1/returns/{ret.pk}/receive/",
        {
            "lines": [
                {
                    "line": line_of(order, "RET-2").pk,
                    "quantity": 1,
                    "condition": "new",
                    "disposition": "restock",
                }
            ]
        },
        format="json",
    )
    assert received.status_code == 200


def test_another_tenants_return_is_404_on_every_route(tenant_a, tenant_b, api_a, api_b):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    ret = authorized_return(order, ("RET-1", 1, "wrong_size"))
    line = line_of(order, "RET-1").pk
    receive = {"lines": [{"line": line, "quantity": 1, "condition": "new", "disposition": "restock"}]}

    assert api_b.get(f"/api/v1/returns/{ret.pk}/").status_code == 404
    assert api_b.post(f"/api/v1/returns/{ret.pk}/receive/", receive, format="json").status_code == 404
    assert api_b.post(f"/api/v1/returns/{ret.pk}/cancel/", {}, format="json").status_code == 404
    assert api_b.post("/api/v1/returns/", body(order), format="json").status_code == 404
    assert api_b.get(f"/api/v1/returns/?order={order.pk}").json()["results"] == []
    assert api_b.get("/api/v1/returns/").json()["results"] == []
    ret.refresh_from_db()
    assert ret.state == "authorized" and ret.lines.get().quantity_received == 0
