"""A row's foreign keys never point at another tenant's rows: what saves and services refuse.

Every backend: a loaded related object of another tenant is refused in memory (no query). A
bare id is looked up on backends without the database wall; PostgreSQL refuses it itself
(tests/oms/test_tenant_wall_db.py).
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from inventory.models import StockLevel
from oms.core.errors import DomainError
from oms.core.models import CrossTenantReference, tenant_relations
from orders.models import OrderLine
from tests.inventory.factories import SKUFactory, WarehouseFactory
from tests.orders.payments.factories import make_order
from tests.tenant_probe.models import ProbeParcel

ON_POSTGRES = connection.vendor == "postgresql"


@pytest.fixture
def world(tenant_a, tenant_b):
    return {
        "order_a": make_order(tenant_a),
        "sku_a": SKUFactory(tenant=tenant_a, code="A-1"),
        "sku_b": SKUFactory(tenant=tenant_b, code="B-1"),
        "wh_a": WarehouseFactory(tenant=tenant_a, code="WA"),
        "wh_b": WarehouseFactory(tenant=tenant_b, code="WB"),
    }


def _line(tenant, order, sku, **fields):
    return OrderLine(tenant=tenant, order=order, sku=sku, quantity=1, unit_price="5.00", **fields)


def _database_check() -> None:
    """Run the deferred constraint checks now, as COMMIT would."""
    if ON_POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_an_order_line_cannot_point_at_another_tenants_sku(world, tenant_a):
    with pytest.raises(CrossTenantReference) as refused:
        _line(tenant_a, world["order_a"], world["sku_b"]).save()
    error = refused.value
    assert isinstance(error, DomainError)
    assert error.code == "cross_tenant_reference"
    assert error.message == "orders.OrderLine.sku must point at a row of the same tenant."
    assert error.extra == {"model": "orders.OrderLine", "field": "sku"}
    assert not OrderLine.objects.for_tenant(tenant_a).exists()


def test_get_or_create_of_a_stock_row_refuses_another_tenants_sku(world, tenant_a, tenant_b):
    # The pattern stock helpers used: before the wall it made a StockLevel of tenant A that
    # holds tenant B's SKU.
    rows = StockLevel.objects.for_tenant(tenant_a)
    with pytest.raises(CrossTenantReference):
        rows.get_or_create(tenant=tenant_a, sku=world["sku_b"], warehouse=world["wh_a"])
    with pytest.raises(CrossTenantReference):
        rows.get_or_create(tenant=tenant_a, sku=world["sku_a"], warehouse=world["wh_b"])
    assert not StockLevel.objects.unscoped().exists()
    level, created = rows.get_or_create(tenant=tenant_a, sku=world["sku_a"], warehouse=world["wh_a"])
    assert created and (level.sku_id, level.warehouse_id) == (world["sku_a"].pk, world["wh_a"].pk)


def test_loaded_related_rows_cost_no_query(world, tenant_a, django_assert_num_queries):
    with django_assert_num_queries(1):  # the INSERT alone
        line = OrderLine.objects.create(
            tenant=tenant_a, order=world["order_a"], sku=world["sku_a"], quantity=1, unit_price="5.00"
        )
    with django_assert_num_queries(1):  # an unchanged id is not looked up again
        line.quantity = 2
        line.save()
    loaded = OrderLine.objects.for_tenant(tenant_a).get(pk=line.pk)
    with django_assert_num_queries(1):
        loaded.save()
    with django_assert_num_queries(1):
        loaded.save(update_fields=["quantity"])


def test_a_bare_id_of_another_tenants_row_is_refused(world, tenant_a):
    line = OrderLine(
        tenant_id=tenant_a.pk,
        order_id=world["order_a"].pk,
        sku_id=world["sku_b"].pk,
        quantity=1,
        unit_price="5.00",
    )
    expected = IntegrityError if ON_POSTGRES else CrossTenantReference
    with pytest.raises(expected), transaction.atomic():
        line.save()
        _database_check()


def test_changing_a_foreign_key_to_another_tenants_row_is_refused(world, tenant_a):
    line = _line(tenant_a, world["order_a"], world["sku_a"])
    line.save()
    line.sku = world["sku_b"]
    with pytest.raises(CrossTenantReference):
        line.save()
    with pytest.raises(CrossTenantReference):
        line.save(update_fields=["sku"])
    line = OrderLine.objects.for_tenant(tenant_a).get()
    line.sku_id = world["sku_b"].pk  # a bare id
    expected = IntegrityError if ON_POSTGRES else CrossTenantReference
    with pytest.raises(expected), transaction.atomic():
        line.save()
        _database_check()
    assert OrderLine.objects.for_tenant(tenant_a).get().sku_id == world["sku_a"].pk


def test_bulk_writes_and_updates_are_checked(world, tenant_a):
    with pytest.raises(CrossTenantReference):
        OrderLine.objects.bulk_create(
            [
                _line(tenant_a, world["order_a"], world["sku_a"]),
                _line(tenant_a, world["order_a"], world["sku_b"]),
            ]
        )
    assert not OrderLine.objects.for_tenant(tenant_a).exists()
    [line] = OrderLine.objects.bulk_create([_line(tenant_a, world["order_a"], world["sku_a"])])
    line.sku = world["sku_b"]
    with pytest.raises(CrossTenantReference):
        OrderLine.objects.for_tenant(tenant_a).bulk_update([line], ["sku"])
    with pytest.raises(CrossTenantReference):
        OrderLine.objects.for_tenant(tenant_a).update(sku=world["sku_b"])
    assert OrderLine.objects.for_tenant(tenant_a).get().sku_id == world["sku_a"].pk


def test_bulk_create_with_bare_ids_looks_each_foreign_key_up_once(world, tenant_a, django_assert_num_queries):
    if ON_POSTGRES:
        pytest.skip("PostgreSQL checks bare ids itself (test_tenant_wall_db.py)")
    lines = [
        OrderLine(
            tenant=tenant_a, order_id=world["order_a"].pk, sku_id=world["sku_a"].pk, quantity=n, unit_price=1
        )
        for n in (1, 2, 3)
    ]
    with django_assert_num_queries(3):  # order ids, sku ids, the INSERT
        OrderLine.objects.bulk_create(lines)
    lines = [
        OrderLine(tenant=tenant_a, order_id=world["order_a"].pk, sku_id=sku.pk, quantity=1, unit_price=1)
        for sku in (world["sku_a"], world["sku_b"])
    ]
    with pytest.raises(CrossTenantReference):
        OrderLine.objects.bulk_create(lines)


def test_full_clean_reports_the_field(world, tenant_a):
    line = _line(tenant_a, world["order_a"], world["sku_b"])
    with pytest.raises(ValidationError) as refused:
        line.full_clean()
    assert refused.value.message_dict["sku"] == [
        "orders.OrderLine.sku must point at a row of the same tenant."
    ]
    line.sku_id = world["sku_b"].pk  # not loaded: looked up, on every backend
    with pytest.raises(ValidationError) as refused:
        line.full_clean()
    assert "sku" in refused.value.message_dict
    _line(tenant_a, world["order_a"], world["sku_a"]).full_clean()


def test_a_nullable_foreign_key_may_be_empty_but_not_foreign(world, tenant_a, tenant_b):
    parcel = ProbeParcel.objects.create(tenant=tenant_a, order=world["order_a"], label="first")
    assert parcel.replaces_id is None
    other = ProbeParcel.objects.create(tenant=tenant_b, order=make_order(tenant_b), label="theirs")
    with pytest.raises(CrossTenantReference):
        ProbeParcel.objects.create(tenant=tenant_a, order=world["order_a"], replaces=other, label="x")
    ProbeParcel.objects.create(tenant=tenant_a, order=world["order_a"], replaces=parcel, label="second")


def test_every_relation_between_tenant_owned_models_is_walled():
    """The same walk the database test uses: the save check covers what the registry holds."""
    names = {f"{f.model._meta.label}.{f.name}" for f in tenant_relations(OrderLine)}
    assert names == {"orders.OrderLine.order", "orders.OrderLine.sku"}
    assert {f.name for f in tenant_relations(ProbeParcel)} == {"order", "replaces"}


def test_the_migrations_declare_the_wall_for_every_app(db):
    """A room that adds a tenant-owned model or foreign key without its migration fails here.

    The declarations come from the registry (oms/core/tenant_fk.py), so `makemigrations` writes
    them; this also covers the tests-only probe app, which `make test`'s check does not load.
    """
    call_command("makemigrations", check=True, dry_run=True, verbosity=0)
