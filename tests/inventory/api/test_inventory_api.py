"""The inventory REST API as a storefront sees it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from inventory.models import SKU, Reservation, StockLevel, StockMovement, Warehouse
from inventory.services import stock_ship
from oms.models import Role
from oms.services import api_key_create
from tests.conftest import api_client_for
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock

ADDRESS = {"line1": "1 Main St", "city": "Austin", "region": "TX", "postal_code": "78701", "country": "US"}


@pytest.fixture
def stocked(tenant_a, warehouses, sku_a):
    _w1, w2, w3 = warehouses
    stock(tenant_a, sku_a, w2, 5)
    stock(tenant_a, sku_a, w3, 10)
    return sku_a


@pytest.fixture
def other_tenant_rows(tenant_b):
    wh = WarehouseFactory(tenant=tenant_b, code="GLOBEX-WH", postal_code="10001")
    sku = SKUFactory(tenant=tenant_b, code="GLOBEX-SKU")
    stock(tenant_b, sku, wh, 7)
    return wh, sku


# --- auth and tenancy -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/warehouses/"),
        ("post", "/api/v1/warehouses/"),
        ("get", "/api/v1/skus/"),
        ("get", "/api/v1/skus/SKU-123/"),
        ("get", "/api/v1/skus/SKU-123/availability/"),
        ("get", "/api/v1/stock/"),
        ("post", "/api/v1/stock/adjustments/"),
        ("post", "/api/v1/reservations/"),
        ("delete", "/api/v1/reservations/1/"),
        ("get", "/api/v1/replenishment/"),
    ],
)
def test_no_key_is_401(db, method, url):
    response = getattr(APIClient(), method)(url, {}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_another_tenants_objects_do_not_exist(api_a, tenant_a, other_tenant_rows):
    wh, sku = other_tenant_rows
    for url in (
        f"/api/v1/warehouses/{wh.code}/",
        f"/api/v1/skus/{sku.code}/",
        f"/api/v1/skus/{sku.code}/availability/",
    ):
        response = api_a.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"
    assert api_a.patch(f"/api/v1/skus/{sku.code}/", {"name": "mine"}, format="json").status_code == 404
    assert api_a.patch(f"/api/v1/warehouses/{wh.code}/", {"name": "mine"}, format="json").status_code == 404
    assert SKU.objects.for_tenant(sku.tenant).get(pk=sku.pk).name != "mine"


def test_lists_show_only_own_rows(api_a, stocked, other_tenant_rows):
    assert [w["code"] for w in api_a.get("/api/v1/warehouses/").json()["results"]] == ["W3", "W2", "W1"]
    assert [s["code"] for s in api_a.get("/api/v1/skus/").json()["results"]] == ["SKU-123"]
    rows = api_a.get("/api/v1/stock/").json()["results"]
    assert {(r["sku"], r["warehouse"]) for r in rows} == {("SKU-123", "W2"), ("SKU-123", "W3")}
    assert api_a.get("/api/v1/stock/?sku=GLOBEX-SKU").json()["results"] == []


def test_a_read_only_role_cannot_write(tenant_a, warehouses, sku_a):
    _, raw = api_key_create(tenant=tenant_a, name="picker", role=Role.WAREHOUSE)
    client = api_client_for(raw)
    assert client.get("/api/v1/skus/").status_code == 200
    response = client.post("/api/v1/skus/", {"code": "NEW", "name": "New"}, format="json")
    assert response.status_code == 403
    assert not SKU.objects.for_tenant(tenant_a).filter(code="NEW").exists()


# --- warehouses ------------------------------------------------------------------------------
def test_create_warehouse_fills_coordinates_from_the_postal_code(api_a, tenant_a):
    response = api_a.post(
        "/api/v1/warehouses/",
        {"code": "ATX", "name": "Austin DC", "address": ADDRESS, "ships_to": ["us", "ca"], "priority": 5},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["code"] == "ATX"
    assert body["address"]["postal_code"] == "78701"
    assert body["ships_to"] == ["CA", "US"]
    assert abs(float(body["latitude"]) - 30.27) < 0.1
    assert abs(float(body["longitude"]) + 97.74) < 0.1
    assert api_a.get("/api/v1/warehouses/ATX/").json() == body


def test_create_warehouse_validation_errors_carry_codes(api_a, tenant_a):
    response = api_a.post(
        "/api/v1/warehouses/",
        {"code": "bad code!", "name": "", "address": {**ADDRESS, "postal_code": "ABC", "country": "USA"}},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["fields"]["code"][0]["code"] == "invalid"
    assert body["fields"]["name"][0]["code"] == "blank"
    assert "address.country" in body["fields"]
    assert not Warehouse.objects.for_tenant(tenant_a).exists()


def test_duplicate_warehouse_code_is_409(api_a, warehouses):
    response = api_a.post(
        "/api/v1/warehouses/", {"code": "W1", "name": "Again", "address": ADDRESS}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_code"


def test_patch_warehouse_address_moves_its_coordinates(api_a, warehouses):
    response = api_a.patch(
        "/api/v1/warehouses/W1/",
        {"address": {**ADDRESS, "postal_code": "90001", "city": "LA"}},
        format="json",
    )
    assert response.status_code == 200
    assert abs(float(response.json()["latitude"]) - 33.97) < 0.1


# --- SKUs ------------------------------------------------------------------------------------
def test_create_and_patch_sku(api_a, tenant_a):
    response = api_a.post(
        "/api/v1/skus/", {"code": "TENT-2P", "name": "Two-person tent", "price": "249.00"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["price"] == "249.00"
    response = api_a.patch("/api/v1/skus/TENT-2P/", {"active": False}, format="json")
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert response.json()["name"] == "Two-person tent"


def test_availability_per_warehouse(api_a, stocked, tenant_a, warehouses):
    response = api_a.get("/api/v1/skus/SKU-123/availability/")
    assert response.status_code == 200
    assert response.json() == {
        "sku": "SKU-123",
        "available": 15,
        "warehouses": [
            {"warehouse": "W2", "on_hand": 5, "allocated": 0, "reserved": 0, "available": 5},
            {"warehouse": "W3", "on_hand": 10, "allocated": 0, "reserved": 0, "available": 10},
        ],
    }


# --- adjustments -----------------------------------------------------------------------------
def test_adjustment_by_delta_returns_the_row_and_writes_the_ledger(api_a, stocked, tenant_a):
    response = api_a.post(
        "/api/v1/stock/adjustments/",
        {"sku": "SKU-123", "warehouse": "W2", "delta": -2, "reason": "damage", "reference": "crushed box"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "sku": "SKU-123",
        "warehouse": "W2",
        "on_hand": 3,
        "allocated": 0,
        "reserved": 0,
        "available": 3,
    }
    movement = StockMovement.objects.for_tenant(tenant_a).first()
    assert (movement.delta, movement.reason, movement.reference) == (-2, "damage", "crushed box")
    assert movement.actor.startswith("api_key:")


def test_adjustment_to_an_absolute_count(api_a, stocked):
    response = api_a.post(
        "/api/v1/stock/adjustments/",
        {"sku": "SKU-123", "warehouse": "W3", "on_hand": 12, "reason": "count"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["on_hand"] == 12


def test_adjustment_below_allocated_is_422_and_changes_nothing(api_a, stocked, tenant_a, warehouses):
    level = StockLevel.objects.for_tenant(tenant_a).get(sku=stocked, warehouse=warehouses[1])
    StockLevel.objects.for_tenant(tenant_a).filter(pk=level.pk).update(allocated=4)
    movements = StockMovement.objects.for_tenant(tenant_a).count()

    response = api_a.post(
        "/api/v1/stock/adjustments/",
        {"sku": "SKU-123", "warehouse": "W2", "on_hand": 3, "reason": "count"},
        format="json",
    )

    assert response.status_code == 422
    assert response.json()["code"] == "below_committed"
    level.refresh_from_db()
    assert (level.on_hand, level.allocated) == (5, 4)
    assert StockMovement.objects.for_tenant(tenant_a).count() == movements


def test_adjustment_validation_names_the_fields(api_a, stocked, other_tenant_rows):
    response = api_a.post(
        "/api/v1/stock/adjustments/",
        {"sku": "GLOBEX-SKU", "warehouse": "NOPE", "delta": 1, "reason": "theft"},
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert fields["sku"][0]["code"] == "unknown_sku"
    assert fields["warehouse"][0]["code"] == "unknown_warehouse"
    assert fields["reason"][0]["code"] == "invalid_choice"

    both = api_a.post(
        "/api/v1/stock/adjustments/",
        {"sku": "SKU-123", "warehouse": "W2", "delta": 1, "on_hand": 3, "reason": "adjustment"},
        format="json",
    )
    assert both.status_code == 400
    assert both.json()["fields"]["non_field_errors"][0]["code"] == "delta_or_on_hand"


# --- reservations ----------------------------------------------------------------------------
def test_reserve_and_release(api_a, stocked, tenant_a, warehouses):
    response = api_a.post(
        "/api/v1/reservations/",
        {"lines": [{"sku": "SKU-123", "quantity": 2}], "ttl_seconds": 600, "ship_to": ADDRESS},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["lines"] == [{"sku": "SKU-123", "quantity": 2, "warehouse": "W3"}]
    assert body["expires_at"]
    level = StockLevel.objects.for_tenant(tenant_a).get(sku=stocked, warehouse=warehouses[2])
    assert level.reserved == 2
    assert api_a.get("/api/v1/skus/SKU-123/availability/").json()["available"] == 13

    assert api_a.delete(f"/api/v1/reservations/{body['id']}/").status_code == 204
    level.refresh_from_db()
    assert level.reserved == 0
    assert Reservation.objects.for_tenant(tenant_a).get().state == "released"
    # Released, it no longer exists for the storefront: a second DELETE or a GET answers 404.
    assert api_a.delete(f"/api/v1/reservations/{body['id']}/").status_code == 404
    assert api_a.get(f"/api/v1/reservations/{body['id']}/").status_code == 404


def test_reservation_that_cannot_be_held_is_422_and_holds_nothing(api_a, stocked, tenant_a):
    response = api_a.post(
        "/api/v1/reservations/",
        {"lines": [{"sku": "SKU-123", "quantity": 99}], "ship_to": ADDRESS},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["code"] == "insufficient_stock"
    assert not Reservation.objects.for_tenant(tenant_a).exists()
    assert sum(lv.reserved for lv in StockLevel.objects.for_tenant(tenant_a)) == 0


def test_reservation_validation(api_a, stocked):
    response = api_a.post(
        "/api/v1/reservations/",
        {"lines": [{"sku": "NOPE", "quantity": 0}], "ship_to": {**ADDRESS, "postal_code": "7870"}},
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert fields["lines.0.sku"][0]["code"] == "unknown_sku"
    assert fields["lines.0.quantity"][0]["code"] == "min_value"
    assert fields["ship_to.postal_code"][0]["code"] == "invalid_postal_code"


def test_another_tenants_reservation_is_404(api_a, api_b, stocked, tenant_a):
    body = api_a.post(
        "/api/v1/reservations/",
        {"lines": [{"sku": "SKU-123", "quantity": 1}], "ship_to": ADDRESS},
        format="json",
    ).json()
    assert api_b.delete(f"/api/v1/reservations/{body['id']}/").status_code == 404
    assert api_b.get(f"/api/v1/reservations/{body['id']}/").status_code == 404
    assert Reservation.objects.for_tenant(tenant_a).get().state == "active"


# --- replenishment ---------------------------------------------------------------------------
def test_replenishment_lists_reorders(api_a, tenant_a, warehouses, sku_a):
    level = stock(tenant_a, sku_a, warehouses[0], 10)
    StockLevel.objects.for_tenant(tenant_a).filter(pk=level.pk).update(reorder_point=5, allocated=8)
    stock_ship(tenant=tenant_a, picks=[(level.pk, 8)], reference="orders")  # it sells: 2 left
    idle = stock(tenant_a, sku_a, warehouses[1], 2)  # at its reorder point, but sells nothing
    StockLevel.objects.for_tenant(tenant_a).filter(pk=idle.pk).update(reorder_point=5)
    response = api_a.get("/api/v1/replenishment/")
    assert response.status_code == 200
    reorders = response.json()["reorders"]
    assert [(r["sku"], r["warehouse"]) for r in reorders] == [("SKU-123", "W1")]
    assert reorders[0]["reorder_quantity"] >= 4
    assert api_a.get("/api/v1/replenishment/?sku=NOPE").status_code == 404


def test_reservation_create_is_idempotent_on_its_key(api_a, stocked, tenant_a):
    body = {"lines": [{"sku": "SKU-123", "quantity": 1}], "ship_to": ADDRESS}
    headers = {"HTTP_IDEMPOTENCY_KEY": "checkout-77"}
    first = api_a.post("/api/v1/reservations/", body, format="json", **headers)
    again = api_a.post("/api/v1/reservations/", body, format="json", **headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Reservation.objects.for_tenant(tenant_a).count() == 1
    other = api_a.post(
        "/api/v1/reservations/",
        {**body, "lines": [{"sku": "SKU-123", "quantity": 2}]},
        format="json",
        **headers,
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert sum(lv.reserved for lv in StockLevel.objects.for_tenant(tenant_a)) == 1


# --- bad input answers 400, never 500 (found by fuzzing the schema) ----------------------------
def _field_codes(response):
    return {name: [error["code"] for error in errors] for name, errors in response.json()["fields"].items()}


@pytest.mark.parametrize("field", ["weight_grams", "length_mm", "width_mm", "height_mm"])
def test_sku_integers_past_32_bits_are_400(api_a, sku_a, field):
    """PostgreSQL answered `integer out of range` (500); SQLite stored the value."""
    created = api_a.post("/api/v1/skus/", {"code": "BIG", "name": "Big", field: 2**31}, format="json")
    assert created.status_code == 400
    assert _field_codes(created) == {field: ["max_value"]}
    patched = api_a.patch("/api/v1/skus/SKU-123/", {field: 2**31}, format="json")
    assert patched.status_code == 400
    assert _field_codes(patched) == {field: ["max_value"]}
    assert api_a.patch("/api/v1/skus/SKU-123/", {field: 2**31 - 1}, format="json").status_code == 200


def test_small_integer_columns_are_bounded_like_the_column(api_a, warehouses):
    response = api_a.patch("/api/v1/warehouses/W1/", {"priority": 32768}, format="json")
    assert response.status_code == 400
    assert _field_codes(response) == {"priority": ["max_value"]}


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/skus/a%00b/",
        "/api/v1/skus/a%00b/availability/",
        "/api/v1/warehouses/a%00b/",
        "/api/v1/stock/?sku=a%00b",
        "/api/v1/stock/?warehouse=a%00b",
        "/api/v1/replenishment/?warehouse=a%00b",
        "/api/v1/replenishment/?sku=a%00b",
        "/api/v1/skus/?cursor=a%00b",
    ],
)
def test_a_nul_byte_in_a_path_or_filter_is_400(api_a, warehouses, sku_a, url):
    """PostgreSQL cannot even compare a string holding NUL: these were 500s."""
    response = api_a.get(url)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert {error["code"] for errors in response.json()["fields"].values() for error in errors} == {
        "null_characters_not_allowed"
    }


def test_patch_warehouse_with_an_address_without_country_is_400(api_a, warehouses):
    """The nested address's validate() read attrs["country"] under partial=True: KeyError, 500."""
    response = api_a.patch(
        "/api/v1/warehouses/W1/", {"address": {"line1": "1 Main St", "city": "Austin"}}, format="json"
    )
    assert response.status_code == 400
    assert _field_codes(response) == {"address.country": ["required"]}
    assert Warehouse.objects.for_tenant(warehouses[0].tenant).get(code="W1").country == "US"


def test_unknown_body_fields_are_400_not_dropped(api_a, sku_a):
    response = api_a.patch("/api/v1/skus/SKU-123/", {"wieght_grams": 500}, format="json")
    assert response.status_code == 400
    assert _field_codes(response) == {"wieght_grams": ["unknown_field"]}
    nested = api_a.post(
        "/api/v1/reservations/",
        {"lines": [{"sku": "SKU-123", "quantity": 1, "qty": 2}], "ship_to": {**ADDRESS, "zip": "1"}},
        format="json",
    )
    assert nested.status_code == 400
    assert _field_codes(nested) == {"lines.0.qty": ["unknown_field"], "ship_to.zip": ["unknown_field"]}


@pytest.mark.parametrize("quantity", ["1.0", 1.0, "1", True, 1.5])
def test_a_quantity_is_a_json_integer(api_a, stocked, quantity):
    response = api_a.post(
        "/api/v1/reservations/",
        {"lines": [{"sku": "SKU-123", "quantity": quantity}], "ship_to": ADDRESS},
        format="json",
    )
    assert response.status_code == 400
    assert _field_codes(response) == {"lines.0.quantity": ["invalid"]}


@pytest.mark.parametrize(("field", "value"), [("price", 19.99), ("price", "1e2"), ("active", "true")])
def test_values_have_their_json_type(api_a, sku_a, field, value):
    response = api_a.patch("/api/v1/skus/SKU-123/", {field: value}, format="json")
    assert response.status_code == 400
    assert _field_codes(response) == {field: ["invalid"]}


@pytest.mark.parametrize(
    "query", ["limit=null", "limit=0", "limit=201", "limit=1.0", "cursor=bm9wZQ", "days=1.0"]
)
def test_bad_paging_and_window_parameters_are_400(api_a, warehouses, query):
    url = "/api/v1/replenishment/" if query.startswith("days") else "/api/v1/warehouses/"
    response = api_a.get(f"{url}?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_a_forged_cursor_position_is_400(api_a, warehouses):
    import base64

    for position in ("abc", "9" * 30):
        cursor = base64.b64encode(f"p={position}".encode()).decode()
        response = api_a.get("/api/v1/warehouses/", {"cursor": cursor})
        assert response.status_code == 400, position
        assert _field_codes(response) == {"cursor": ["invalid_cursor"]}
    page = api_a.get("/api/v1/warehouses/?limit=1").json()
    assert api_a.get(page["next"]).status_code == 200


def test_a_reservation_id_past_64_bits_is_a_json_404(api_a, stocked):
    response = api_a.get(f"/api/v1/reservations/{10**19}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_warehouse_and_sku_lists_and_creates_share_one_shape(api_a, tenant_a):
    """One list/create view serves both: paging, 201 with the object, replay on the key."""
    bodies = {
        "/api/v1/warehouses/": {"code": "ATX", "name": "Austin", "address": ADDRESS},
        "/api/v1/skus/": {"code": "TENT", "name": "Tent"},
    }
    for url, body in bodies.items():
        first = api_a.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        again = api_a.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert (first.status_code, again.status_code) == (201, 201), url
        assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
        listing = api_a.get(f"{url}?limit=1").json()
        assert [row["code"] for row in listing["results"]] == [body["code"]]


def test_an_adjustment_past_the_column_is_422_not_a_server_error(api_a, stocked, tenant_a, warehouses):
    # A row near the column's limit (reached over many receipts); one more receipt would overflow it.
    level = StockLevel.objects.for_tenant(tenant_a).get(sku=stocked, warehouse=warehouses[1])
    StockLevel.objects.for_tenant(tenant_a).filter(pk=level.pk).update(on_hand=2**31 - 10)
    movements = StockMovement.objects.for_tenant(tenant_a).count()

    body = {"sku": "SKU-123", "warehouse": "W2", "delta": 1_000, "reason": "receipt"}
    response = api_a.post("/api/v1/stock/adjustments/", body, format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "quantity_too_large"
    assert StockMovement.objects.for_tenant(tenant_a).count() == movements
    level.refresh_from_db()
    assert level.on_hand == 2**31 - 10
