"""An order keeps every part of the addresses it was given: the service copies the model's fields."""

from __future__ import annotations

from orders.models import ADDRESS_FIELDS, Address
from orders.services import order_create
from tests.orders.conftest import AUSTIN, order_input

FULL = {
    **AUSTIN,
    "company": "Lima Outfitters",
    "line2": "Suite 200",
    "phone": "+1 512 555 0100",
    "email": "ana@example.com",
}
BILLING = {**FULL, "line1": "9 Bill St", "company": "Lima Holdings", "email": "billing@example.com"}


def test_every_address_field_is_kept_on_ship_to_and_bill_to(tenant_a, stocked):
    order, _ = order_create(tenant=tenant_a, data=order_input(ship_to=dict(FULL), bill_to=dict(BILLING)))
    order.refresh_from_db()
    assert order.ship_to.as_dict() == FULL
    assert order.bill_to.as_dict() == BILLING


def test_the_address_fields_are_the_models():
    data_fields = {f.name for f in Address._meta.concrete_fields} - {"id", "tenant"}
    assert set(ADDRESS_FIELDS) == data_fields == set(FULL)
