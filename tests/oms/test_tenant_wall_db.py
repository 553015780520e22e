"""On PostgreSQL the database itself keeps every row inside its tenant (oms/core/tenant_fk.py).

These tests do not trust the declarations: they walk the app registry for every foreign key
between tenant-owned models and look for the composite key in pg_constraint.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import IntegrityError, connection, transaction

from oms.core.models import TenantOwned
from oms.core.tenant_fk import installed_foreign_keys
from orders.models import OrderLine
from tests.inventory.factories import SKUFactory
from tests.orders.payments.factories import make_order
from tests.tenant_probe.models import ProbeParcel

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the composite keys exist on PostgreSQL"),
]


def _tenant_tables():
    return [
        m for m in apps.get_models() if issubclass(m, TenantOwned) and not m._meta.proxy and m._meta.managed
    ]


def _relations_between_tenant_tables():
    tables = set(_tenant_tables())
    for model in tables:
        for field in model._meta.get_fields():
            if field.concrete and (field.many_to_one or field.one_to_one) and field.name != "tenant":
                if field.related_model in tables:
                    yield model, field


def _check_now(cursor) -> None:
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT does with deferred keys


def test_every_foreign_key_between_tenant_owned_models_has_a_composite_key(db):
    installed = installed_foreign_keys(connection)
    relations = list(_relations_between_tenant_tables())
    assert len(relations) >= 30  # today's rooms and the probe; more as rooms are added
    missing = [
        f"{model._meta.label}.{field.name}"
        for model, field in relations
        if (
            model._meta.db_table,
            ("tenant_id", field.column),
            field.related_model._meta.db_table,
            ("tenant_id", field.target_field.column),
        )
        not in installed
    ]
    assert missing == []


def test_every_tenant_owned_table_has_a_unique_tenant_and_id(db):
    with connection.cursor() as cursor:
        for model in _tenant_tables():
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
            keys = [c for c in constraints.values() if c["unique"] and c["columns"] == ["tenant_id", "id"]]
            assert keys, model._meta.label


def test_the_composite_keys_are_deferred_like_djangos_own(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, condeferrable, condeferred, confdeltype, confmatchtype FROM pg_constraint "
            "WHERE contype = 'f' AND conname LIKE '%%_tenant_fk'"
        )
        rows = cursor.fetchall()
    assert len(rows) >= 30
    # deferrable, initially deferred, no ON DELETE action (Django's collector decides), MATCH SIMPLE
    assert {(d, i, on_delete, match) for _, d, i, on_delete, match in rows} == {(True, True, "a", "s")}


def test_raw_sql_cannot_insert_an_order_line_with_another_tenants_sku(tenant_a, tenant_b):
    order = make_order(tenant_a)
    sku_a, sku_b = SKUFactory(tenant=tenant_a), SKUFactory(tenant=tenant_b)
    insert = (
        "INSERT INTO orders_orderline (tenant_id, order_id, sku_id, quantity, unit_price, tax, discount, "
        "quantity_allocated, quantity_shipped, quantity_returned, position) "
        "VALUES (%s, %s, %s, 1, 5, 0, 0, 0, 0, 0, 0)"
    )
    with pytest.raises(IntegrityError, match="orders_orderline_sku_id_tenant_fk"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(insert, [tenant_a.pk, order.pk, sku_b.pk])
            _check_now(cursor)
    # the same statement with the tenant's own SKU goes in
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(insert, [tenant_a.pk, order.pk, sku_a.pk])
        _check_now(cursor)
    assert OrderLine.objects.for_tenant(tenant_a).get().sku_id == sku_a.pk
    # nor can an UPDATE move it to the other tenant's SKU, or the line to the other tenant
    for statement, params in (
        ("UPDATE orders_orderline SET sku_id = %s", [sku_b.pk]),
        ("UPDATE orders_orderline SET tenant_id = %s", [tenant_b.pk]),
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
            _check_now(cursor)


def test_a_null_foreign_key_passes_and_django_keeps_deciding_deletes(tenant_a, tenant_b):
    order = make_order(tenant_a)
    first = ProbeParcel.objects.create(tenant=tenant_a, order=order, label="first")
    second = ProbeParcel.objects.create(tenant=tenant_a, order=order, label="second", replaces=first)
    theirs = ProbeParcel.objects.create(tenant=tenant_b, order=make_order(tenant_b), label="theirs")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tenant_probe_probeparcel SET replaces_id = %s WHERE id = %s", [theirs.pk, second.pk]
        )
        _check_now(cursor)
    first.delete()  # SET_NULL, as the model says
    second.refresh_from_db()
    assert second.replaces_id is None
    with connection.cursor() as cursor:
        _check_now(cursor)


class _Undo(Exception):
    pass


def test_manage_py_check_reports_a_missing_composite_key(db):
    call_command("check", databases=["default"], fail_level="ERROR")
    with pytest.raises(_Undo), transaction.atomic():  # DDL is transactional: rolled back below
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE orders_orderline DROP CONSTRAINT orders_orderline_sku_id_tenant_fk")
        with pytest.raises(SystemCheckError, match=r"orders\.OrderLine\.sku has no composite foreign key"):
            call_command("check", databases=["default"], fail_level="ERROR")
        raise _Undo
    call_command("check", databases=["default"], fail_level="ERROR")
