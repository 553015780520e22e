"""The lean check of a placement's body (orders/api/lean.py) beside the serializer it stands in for.

For every body: when the serializer refuses it, the lean check declines (the serializer then words
the error); when the serializer accepts it, the lean check gives exactly its validated_data, or
declines. Sound bodies of the usual shapes must be taken by the lean check, else it saves nothing.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import Reservation
from orders.api.lean import lean_validated
from orders.api.serializers import OrderCreateInputSerializer
from tests.orders.conftest import AUSTIN, order_payload

pytestmark = pytest.mark.django_db

SOUND = {
    "minimal": order_payload("W-1"),
    "two lines, every amount": order_payload(
        "W-2",
        lines=[
            {"sku": "SKU-123", "quantity": 2, "unit_price": "19.99", "tax": "1.60", "discount": "0"},
            {"sku": "SKU-456", "quantity": 1, "unit_price": "5", "tax": "0.40", "discount": "1.00"},
        ],
        tax="2.00",
        discount="1.50",
        bill_to={**AUSTIN, "name": "Billing", "email": "bill@example.com", "postal_code": " 78701 "},
        service_level="express",
        reservation=None,
        payment=None,
    ),
    "no channel, lowercase currency, padded text": {
        **order_payload("  W-3  "),
        "channel": None,
        "currency": "usd",
        "customer": {"email": " Ana@Example.com ", "name": "  Ana  ", "phone": "+1 512 555 0100"},
    },
    "Canada": order_payload("W-4", ship_to={**AUSTIN, "country": "ca", "postal_code": "k1a 0b1"}),
    "a reservation": order_payload("W-5", reservation=42),
    "null bill_to and tax": order_payload("W-6", bill_to=None, tax=None),
}
SOUND["no channel, lowercase currency, padded text"].pop("channel")


def _broken() -> dict[str, dict]:
    base = order_payload("W-9")
    cases: dict[str, dict] = {}

    def case(name: str, change) -> None:
        body = copy.deepcopy(base)
        change(body)
        cases[name] = body

    case("unknown key", lambda b: b.update(colour="red"))
    case("unknown line key", lambda b: b["lines"][0].update(colour="red"))
    case("unknown customer key", lambda b: b["customer"].update(age=3))
    case("no external id", lambda b: b.pop("external_id"))
    case("blank external id", lambda b: b.update(external_id="   "))
    case("external id too long", lambda b: b.update(external_id="x" * 129))
    case("external id with NUL", lambda b: b.update(external_id="a\x00b"))
    case("external id a number", lambda b: b.update(external_id=12))
    case("bad channel", lambda b: b.update(channel="not a slug"))
    case("unknown currency", lambda b: b.update(currency="XYZ"))
    case("JPY with cents", lambda b: b.update(currency="JPY"))
    case("bad email", lambda b: b["customer"].update(email="nope"))
    case("no customer", lambda b: b.pop("customer"))
    case("customer a list", lambda b: b.update(customer=[]))
    case("no lines", lambda b: b.update(lines=[]))
    case("lines an object", lambda b: b.update(lines={}))
    case("501 lines", lambda b: b.update(lines=b["lines"] * 501))
    case("quantity 0", lambda b: b["lines"][0].update(quantity=0))
    case("quantity a string", lambda b: b["lines"][0].update(quantity="2"))
    case("quantity true", lambda b: b["lines"][0].update(quantity=True))
    case("quantity 1.5", lambda b: b["lines"][0].update(quantity=1.5))
    case("price a number", lambda b: b["lines"][0].update(unit_price=19.99))
    case("price negative", lambda b: b["lines"][0].update(unit_price="-1.00"))
    case("price too fine", lambda b: b["lines"][0].update(unit_price="1.001"))
    case("price too large", lambda b: b["lines"][0].update(unit_price="12345678901.00"))
    case("unknown SKU", lambda b: b["lines"][0].update(sku="NOPE"))
    case("SKU twice", lambda b: b.update(lines=b["lines"] * 2))
    case("no line1", lambda b: b["ship_to"].pop("line1"))
    case("bad country", lambda b: b["ship_to"].update(country="XX"))
    case("bad postal code", lambda b: b["ship_to"].update(postal_code="ABC"))
    case("no postal code in the US", lambda b: b["ship_to"].pop("postal_code"))
    case("address name too long", lambda b: b["ship_to"].update(name="x" + " " * 300))
    case("null ship_to", lambda b: b.update(ship_to=None))
    case("null lines", lambda b: b.update(lines=None))
    case("null customer email", lambda b: b["customer"].update(email=None))
    case("reservation 0", lambda b: b.update(reservation=0))
    case("reservation a string", lambda b: b.update(reservation="1"))
    case("discount larger than allowed digits", lambda b: b.update(discount="99999999999.00"))
    case("shipping price null", lambda b: b.update(shipping_price=None))
    case("body a list", lambda b: b.clear())
    cases["body a list"] = []  # type: ignore[assignment]
    return cases


def _both(tenant, body):
    drf_context = {"tenant": tenant}
    serializer = OrderCreateInputSerializer(data=copy.deepcopy(body), context=drf_context)
    accepted = serializer.is_valid()
    lean_context = {"tenant": tenant}
    lean = lean_validated(OrderCreateInputSerializer, copy.deepcopy(body), lean_context)
    return serializer, accepted, lean, drf_context, lean_context


@pytest.mark.parametrize("name", sorted(SOUND))
def test_a_sound_body_is_taken_lean_with_what_the_serializer_gives(name, tenant_a, sku_a, sku_b):
    body = SOUND[name]
    if body.get("reservation"):  # one of the tenant's (an unknown one is a field error)
        held = Reservation.objects.create(tenant=tenant_a, expires_at=timezone.now() + timedelta(minutes=5))
        body = {**body, "reservation": held.pk}
    serializer, accepted, lean, drf_context, lean_context = _both(tenant_a, body)
    assert accepted, serializer.errors
    assert lean is not None
    assert lean == serializer.validated_data
    assert [type(x) for x in lean.values()] == [type(x) for x in serializer.validated_data.values()]
    assert lean_context["skus"] == drf_context["skus"]


def test_the_lean_values_are_the_serializers_to_the_type(tenant_a, sku_a, sku_b):
    lean = lean_validated(
        OrderCreateInputSerializer, SOUND["no channel, lowercase currency, padded text"], {"tenant": tenant_a}
    )
    assert lean is not None
    assert lean["channel"] == "api" and lean["currency"] == "USD" and lean["external_id"] == "W-3"
    assert lean["customer"] == {"email": "Ana@Example.com", "name": "Ana", "phone": "+1 512 555 0100"}
    assert lean["lines"][0]["unit_price"] == Decimal("19.99") and lean["lines"][0]["tax"] == Decimal("0")
    assert lean["shipping_price"] == Decimal("5.00") and lean["tax"] is None


@pytest.mark.parametrize("name", sorted(_broken()))
def test_a_body_the_serializer_refuses_is_left_to_the_serializer(name, tenant_a, sku_a, sku_b):
    body = _broken()[name]
    serializer, accepted, lean, _, _ = _both(tenant_a, body)
    if accepted:  # a body some would think broken, which the contract takes: then it must agree
        assert lean is None or lean == serializer.validated_data
    else:
        assert lean is None, serializer.errors


def test_an_inactive_sku_is_left_to_the_serializer(tenant_a, sku_a, sku_b):
    sku_a.active = False
    sku_a.save(update_fields=["active"])
    serializer, accepted, lean, _, _ = _both(tenant_a, SOUND["minimal"])
    assert not accepted and lean is None
    assert serializer.errors["lines"]["0"]["sku"][0].code == "inactive_sku"
