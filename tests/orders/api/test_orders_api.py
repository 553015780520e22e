from __future__ import annotations

import pytest

from orders.models import Order
from tests.orders.conftest import order_payload

URL = "/api/v1/orders/"


def _create(client, body=None, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(URL, body or order_payload(), format="json", **headers)


def test_create_returns_the_order_as_the_contract_shows(api_a, stocked):
    response = _create(api_a)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "allocated"
    assert (body["subtotal"], body["shipping_price"], body["total"]) == ("39.98", "5.00", "44.98")
    assert body["holds"] == [] and body["shipments"] == [] and body["payments"] == []
    line = body["lines"][0]
    assert (line["sku"], line["quantity"], line["allocated"], line["backordered"]) == ("SKU-123", 2, 2, 0)
    assert line["allocations"] == [{"warehouse": "W3", "quantity": 2}]
    assert body["allocation_plan"]["strategy"] == "single_nearest"
    assert body["ship_to"]["postal_code"] == "78701" and body["customer"]["email"] == "ana@example.com"
    assert body["number"].isdigit() and body["id"]


def test_same_external_id_returns_existing_order_with_200(api_a, stocked):
    first = _create(api_a)
    again = _create(api_a)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]


def test_idempotency_key_replays_and_refuses_other_body(api_a, stocked):
    first = _create(api_a, key="key-1")
    replay = _create(api_a, key="key-1")
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    other = _create(api_a, order_payload("W-2002"), key="key-1")
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert Order.objects.for_tenant(first.wsgi_request.tenant).count() == 1


def test_validation_errors_carry_codes_per_field(api_a, stocked):
    body = order_payload(
        lines=[
            {"sku": "NOPE", "quantity": 0, "unit_price": "-1"},
            {"sku": "SKU-123", "quantity": 1, "unit_price": "1.00"},
        ]
    )
    body["ship_to"]["postal_code"] = "ABCDE"
    body["currency"] = "dollars"
    response = _create(api_a, body)
    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "validation_error"
    fields = data["fields"]
    assert fields["ship_to.postal_code"][0]["code"] == "invalid_postal_code"
    assert fields["lines.0.quantity"][0]["code"] == "min_value"
    assert fields["currency"][0]["code"] == "invalid_currency"
    assert not Order.objects.unscoped().exists()


def test_unknown_sku_is_a_field_error(api_a, stocked):
    response = _create(api_a, order_payload(lines=[{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]))
    assert response.status_code == 400
    assert response.json()["fields"]["lines.0.sku"][0]["code"] == "unknown_sku"


def test_insufficient_stock_is_422_when_backorders_are_off(api_a, tenant_a, stocked):
    tenant_a.allow_backorder = False
    tenant_a.save()
    response = _create(api_a, order_payload(lines=[{"sku": "SKU-123", "quantity": 99, "unit_price": "1.00"}]))
    assert response.status_code == 422
    assert response.json()["code"] == "insufficient_stock"
    assert not Order.objects.unscoped().exists()


def test_list_filters_and_cursor_pagination(api_a, stocked):
    for n in range(3):
        _create(api_a, order_payload(f"W-{n}"))
    _create(
        api_a,
        order_payload(
            "AMZ-1", channel="amazon", lines=[{"sku": "SKU-456", "quantity": 1, "unit_price": "9.99"}]
        ),
    )
    page = api_a.get(URL, {"limit": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
    rest = api_a.get(page["next"]).json()
    assert len(rest["results"]) == 2 and rest["next"] is None
    assert [o["external_id"] for o in api_a.get(URL, {"channel": "amazon"}).json()["results"]] == ["AMZ-1"]
    assert len(api_a.get(URL, {"sku": "SKU-456"}).json()["results"]) == 1
    assert len(api_a.get(URL, {"email": "ANA@example.com"}).json()["results"]) == 4
    assert api_a.get(URL, {"state": "cancelled"}).json()["results"] == []
    assert api_a.get(URL, {"created_after": "not-a-date"}).status_code == 400


def test_cancel_hold_release_and_events(api_a, stocked):
    order_id = _create(api_a).json()["id"]
    held = api_a.post(f"{URL}{order_id}/hold/", {"reason": "check", "kind": "fraud"}, format="json")
    assert held.json()["state"] == "on_hold" and held.json()["holds"][0]["kind"] == "fraud"
    released = api_a.post(f"{URL}{order_id}/release/", {"reason": "ok"}, format="json")
    assert released.json()["state"] == "allocated"
    cancelled = api_a.post(f"{URL}{order_id}/cancel/", {"reason": "changed mind"}, format="json")
    assert cancelled.json()["state"] == "cancelled"
    again = api_a.post(f"{URL}{order_id}/cancel/", {"reason": "again"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"
    events = api_a.get(f"{URL}{order_id}/events/").json()
    assert [e["type"] for e in events][:2] == ["created", "allocated"]
    assert events[-1]["to_state"] == "cancelled"
    assert events[-1]["actor"].startswith("api_key:")


def test_patch_changes_address_and_lines(api_a, stocked):
    order_id = _create(api_a).json()["id"]
    la = {"line1": "1 Sunset Blvd", "city": "Los Angeles", "postal_code": "90001", "country": "US"}
    response = api_a.patch(
        f"{URL}{order_id}/",
        {"ship_to": la, "lines": [{"sku": "SKU-123", "quantity": 1, "unit_price": "19.99"}]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["ship_to"]["city"] == "Los Angeles"
    assert body["lines"][0]["allocations"] == [{"warehouse": "W2", "quantity": 1}]
    assert body["total"] == "24.99"
    assert api_a.patch(f"{URL}{order_id}/", {}, format="json").status_code == 400


def test_another_tenants_key_gets_404_everywhere(api_a, api_b, stocked):
    order_id = _create(api_a).json()["id"]
    assert api_b.get(f"{URL}{order_id}/").status_code == 404
    assert api_b.get(f"{URL}{order_id}/events/").status_code == 404
    assert api_b.patch(f"{URL}{order_id}/", {"service_level": "express"}, format="json").status_code == 404
    for action in ("cancel", "hold", "release"):
        response = api_b.post(f"{URL}{order_id}/{action}/", {"reason": "x"}, format="json")
        assert response.status_code == 404, action
        assert response.json()["code"] == "not_found"
    assert api_b.get(URL).json()["results"] == []
    assert api_a.get(f"{URL}{order_id}/").json()["state"] == "allocated"


def test_no_key_is_401(stocked):
    from rest_framework.test import APIClient

    assert APIClient().get(URL).status_code == 401


@pytest.mark.django_db
def test_warehouse_role_key_cannot_create_orders(tenant_a, stocked):
    from oms.services import api_key_create
    from tests.conftest import api_client_for

    _, raw = api_key_create(tenant=tenant_a, name="scanner", role="warehouse")
    response = _create(api_client_for(raw))
    assert response.status_code == 403
    assert not Order.objects.unscoped().exists()


def test_order_shows_its_shipments_with_tracking(api_a, tenant_a, stocked):
    from orders.services import order_record_shipment

    order_id = _create(api_a).json()["id"]
    order_record_shipment(
        tenant=tenant_a,
        order_id=int(order_id),
        reference="SHP-9",
        carrier="USPS",
        tracking_number="9400100000000000000000",
    )
    body = api_a.get(f"{URL}{order_id}/").json()
    assert body["state"] == "shipped"
    assert body["lines"][0]["shipped"] == 2 and body["lines"][0]["allocated"] == 0
    [shipment] = body["shipments"]
    assert (shipment["number"], shipment["carrier"], shipment["tracking_number"]) == (
        "SHP-9",
        "USPS",
        "9400100000000000000000",
    )
    assert shipment["lines"] == [{"sku": "SKU-123", "quantity": 2}]
    cancel = api_a.post(f"{URL}{order_id}/cancel/", {"reason": "late"}, format="json")
    assert cancel.status_code == 409 and cancel.json()["code"] == "illegal_transition"


def test_malformed_json_is_a_400_with_a_code_and_creates_nothing(api_a, stocked):
    response = api_a.post(URL, data='{"external_id": "W-1", "lines": [', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert not Order.objects.unscoped().exists()
    wrong_type = api_a.post(URL, data="external_id=W-1", content_type="application/x-www-form-urlencoded")
    assert wrong_type.status_code == 415
    assert wrong_type.json()["code"] == "unsupported_media_type"


def test_a_cancelled_backorder_waits_for_nothing(api_a, stocked):
    body = order_payload("W-BIG", lines=[{"sku": "SKU-123", "quantity": 20, "unit_price": "1.00"}])
    order_id = _create(api_a, body).json()["id"]
    assert api_a.get(f"{URL}{order_id}/").json()["lines"][0]["backordered"] == 5
    cancelled = api_a.post(f"{URL}{order_id}/cancel/", {"reason": "too slow"}, format="json").json()
    assert cancelled["lines"][0]["backordered"] == 0 and cancelled["lines"][0]["allocated"] == 0


# --- bad input answers 400 or a JSON 404, never 500 or HTML (found by fuzzing the schema) ---------
def _field_codes(response):
    return {name: [error["code"] for error in errors] for name, errors in response.json()["fields"].items()}


@pytest.mark.parametrize(
    "query", ["state=bogus", "state=allocated,bogus", "state=,", "state=", "limit=null", "limit=abc"]
)
def test_unknown_filter_values_and_bad_limits_are_400(api_a, stocked, query):
    response = api_a.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_state_filter_takes_several_states(api_a, stocked):
    _create(api_a)
    assert len(api_a.get(URL, {"state": "cancelled,allocated"}).json()["results"]) == 1
    assert api_a.get(URL, {"state": "cancelled"}).json()["results"] == []


@pytest.mark.parametrize("quantity", ["1.0", 1.0, "2", False])
def test_line_quantities_are_json_integers(api_a, stocked, quantity):
    body = order_payload(lines=[{"sku": "SKU-123", "quantity": quantity, "unit_price": "19.99"}])
    response = _create(api_a, body)
    assert response.status_code == 400
    assert _field_codes(response) == {"lines.0.quantity": ["invalid"]}
    assert not Order.objects.unscoped().exists()


def test_a_typo_in_an_order_is_400_unknown_field(api_a, stocked):
    response = _create(api_a, order_payload(shiping_price="5.00"))
    assert response.status_code == 400
    assert _field_codes(response) == {"shiping_price": ["unknown_field"]}
    order_id = _create(api_a).json()["id"]
    typo = api_a.post(f"{URL}{order_id}/hold/", {"reason": "x", "knd": "fraud"}, format="json")
    assert typo.status_code == 400
    assert _field_codes(typo) == {"knd": ["unknown_field"]}
    assert api_a.get(f"{URL}{order_id}/").json()["state"] == "allocated"


def test_a_reservation_id_past_64_bits_is_400(api_a, stocked):
    response = _create(api_a, order_payload(reservation=2**63))
    assert response.status_code == 400
    assert _field_codes(response) == {"reservation": ["max_value"]}


def test_an_unknown_or_another_tenants_reservation_is_400_and_places_nothing(api_a, api_b, stocked, tenant_a):
    """A body naming a reservation that is not the tenant's: a field error, as an unknown SKU is
    (it was the reservation's 404, which the schema does not list for this operation)."""
    held = api_a.post(
        "/api/v1/reservations/",
        {"lines": [{"sku": "SKU-123", "quantity": 1}], "ship_to": order_payload()["ship_to"]},
        format="json",
    ).json()["id"]
    for client, reservation in ((api_a, int(held) + 1000), (api_b, int(held))):
        response = _create(client, order_payload(reservation=reservation))
        assert response.status_code == 400, response.content
        assert _field_codes(response)["reservation"] == ["unknown_reservation"]
    assert not Order.objects.unscoped().exists()
    placed = _create(api_a, order_payload(reservation=int(held)))
    assert placed.status_code == 201, placed.content


@pytest.mark.parametrize("path", ["abc/", "1.5/cancel/", "-1/hold/", f"{10**19}/", f"{10**19}/events/"])
def test_order_paths_that_match_no_route_answer_the_json_404(api_a, stocked, path):
    """`<int:…>` routes that did not match gave Django's HTML 404 page; ids past 64 bits, a 500."""
    response = api_a.get(f"{URL}{path}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "message": "Not found."}


def test_cancel_hold_and_release_share_one_view(api_a, stocked):
    """Each action parses its own body, calls its one service and answers the order."""
    order_id = _create(api_a).json()["id"]
    for action, body, state in (
        ("hold", {"kind": "address"}, "on_hold"),
        ("release", {"kind": "address"}, "allocated"),
        ("cancel", {}, "cancelled"),
    ):
        response = api_a.post(f"{URL}{order_id}/{action}/", body, format="json")
        assert response.status_code == 200, (action, response.json())
        assert response.json()["state"] == state
    bad_kind = api_a.post(f"{URL}{order_id}/hold/", {"kind": "whim"}, format="json")
    assert _field_codes(bad_kind) == {"kind": ["invalid_choice"]}


@pytest.mark.parametrize(
    ("line", "shipping"),
    [
        ({"sku": "SKU-123", "quantity": 5385, "unit_price": "6779031.00"}, "0.00"),
        ({"sku": "SKU-123", "quantity": 1, "unit_price": "9999999999.99"}, "5.00"),
    ],
)
def test_an_order_total_past_its_column_is_422_not_a_500(api_a, stocked, line, shipping):
    """Each amount fits 12 digits, their product or sum did not: PostgreSQL's numeric overflow, a 500."""
    response = _create(api_a, order_payload(lines=[line], shipping_price=shipping))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_money"
    assert not Order.objects.unscoped().exists()
    order_id = _create(api_a).json()["id"]
    edited = api_a.patch(f"{URL}{order_id}/", {"lines": [line]}, format="json")
    assert edited.status_code == 422
    assert api_a.get(f"{URL}{order_id}/").json()["total"] == "44.98"


def test_a_string_over_its_length_is_refused_as_sent_not_after_trimming(api_a, stocked):
    # 499 characters and trailing no-break spaces: 600 as sent, which the schema's maxLength 500 refuses.
    order = api_a.post("/api/v1/orders/", order_payload(), format="json").json()
    reason = "x" * 499 + "\u00a0" * 101

    response = api_a.post(f"/api/v1/orders/{order['id']}/cancel/", {"reason": reason}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["reason"][0]["code"] == "max_length"
    assert api_a.get(f"/api/v1/orders/{order['id']}/").json()["state"] != "cancelled"
