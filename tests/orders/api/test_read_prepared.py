"""The order page's statement is prepared on PostgreSQL once a connection has run it a few times
(orders/api/render.py: PostgreSQL then stops planning it for every request), and never where the
settings turn preparing off (a transaction-mode pooler: DB_POOLER, oms/settings/prod.py).
"""

from __future__ import annotations

import pytest
from django.db import connection

from oms.core.prepared import PREPARE_THRESHOLD
from orders.api.render import order_json, order_json_orm
from orders.services import order_create
from tests.orders.conftest import order_input

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the tests open connections of their own
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements"),
]


def _prepared_order_pages() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%o.allocation_plan%"]
        )
        return cursor.fetchone()[0]


@pytest.fixture
def fresh_connection():
    """A new connection, with nothing prepared on it yet; closed again afterwards."""
    connection.close()
    yield connection
    connection.close()


@pytest.fixture
def order(tenant_a, stocked):
    placed, _ = order_create(tenant=tenant_a, data=order_input("W-1"))
    return placed


def test_the_order_page_is_prepared_after_a_few_runs(fresh_connection, tenant_a, order):
    pages = []
    for _ in range(PREPARE_THRESHOLD):
        assert _prepared_order_pages() == 0
        pages.append(order_json(tenant=tenant_a, order_id=order.pk))
    pages.append(order_json(tenant=tenant_a, order_id=order.pk))
    assert _prepared_order_pages() == 1
    assert all(page == order_json_orm(tenant=tenant_a, order_id=order.pk) for page in pages)


def test_nothing_is_prepared_when_the_settings_turn_it_off(fresh_connection, tenant_a, order):
    options = {**connection.settings_dict["OPTIONS"], "prepare_threshold": None}  # DB_POOLER=transaction
    settings_dict = {**connection.settings_dict, "OPTIONS": options}
    original = connection.settings_dict
    connection.settings_dict = settings_dict
    try:
        connection.close()
        for _ in range(PREPARE_THRESHOLD * 2):
            page = order_json(tenant=tenant_a, order_id=order.pk)
        assert connection.connection.prepare_threshold is None
        assert _prepared_order_pages() == 0
        assert page == order_json_orm(tenant=tenant_a, order_id=order.pk)
    finally:
        connection.close()
        connection.settings_dict = original
