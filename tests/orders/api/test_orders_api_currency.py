"""The order door takes only ISO 4217 currencies and amounts that exist in them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.errors import OrderError
from orders.models import Order
from orders.services import LineInput, OrderInput, order_create
from tests.orders.conftest import order_payload

URL = "/api/v1/orders/"


def test_an_unknown_currency_is_a_field_error(api_a, stocked):
    body = order_payload()
    body["currency"] = "XYZ"
    response = api_a.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["currency"][0]["code"] == "invalid_currency"
    assert not Order.objects.unscoped().exists()


def test_a_lower_case_code_reads_as_the_iso_code(api_a, stocked):
    body = order_payload()
    body["currency"] = "eur"
    response = api_a.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["currency"] == "EUR"


def test_yen_prices_have_no_decimals(api_a, stocked):
    body = order_payload()
    body["currency"] = "JPY"
    body["lines"][0]["unit_price"] = "19.99"
    response = api_a.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["lines.0.unit_price"][0]["code"] == "too_many_decimals"

    body["lines"][0]["unit_price"] = "1999"
    body["shipping_price"] = "500"
    response = api_a.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["total"] == f"{1999 * body['lines'][0]['quantity'] + 500}.00"


@pytest.mark.django_db
def test_the_service_refuses_what_a_door_let_through(tenant_a, stocked):
    data = OrderInput(
        channel="mp",
        external_id="X-1",
        currency="XYZ",
        customer={"email": "a@example.com"},
        ship_to={"line1": "1 Main St", "city": "Austin", "postal_code": "78701", "country": "US"},
        lines=[LineInput(sku="SKU-123", quantity=1, unit_price=Decimal("1.00"))],
    )
    with pytest.raises(OrderError) as raised:
        order_create(tenant=tenant_a, data=data)
    assert raised.value.code == "invalid_currency"

    data.currency = "USD"
    data.lines[0].unit_price = Decimal("-3.00")
    with pytest.raises(OrderError) as raised:
        order_create(tenant=tenant_a, data=data)
    assert raised.value.code == "invalid_money"
    assert not Order.objects.for_tenant(tenant_a).exists()
