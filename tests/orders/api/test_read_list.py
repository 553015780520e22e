"""The order list's page on PostgreSQL (`render_list.order_list_page`, one statement written without the
ORM) is the page of `selectors.order_list` that DRF's cursor paginator reads: the same rows in
the same order for every filter, from any position, in both directions; and the API's `next` and
`previous` links walk the whole list both ways.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from orders import selectors
from orders.api.render_list import LIST_COLUMNS, order_list_page, order_list_rows
from orders.models import Order
from orders.services import order_cancel, order_create
from tests.inventory.factories import SKUFactory
from tests.orders.conftest import order_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(tenant_a, tenant_b, stocked):
    """Nine orders of tenant A over two channels, three customers and two SKUs, some cancelled, with
    their creation times a day apart; and one of tenant B, as alike as can be."""
    SKUFactory(tenant=tenant_b, code="SKU-123")
    made = []
    for n in range(9):
        lines = [{"sku": ("SKU-123", "SKU-456")[n % 2], "quantity": 1, "unit_price": "1.00"}]
        customer = {"email": f"c{n % 3}@example.com", "name": ""}
        channel = ("web", "shop")[n % 3 == 0]
        data = order_input(f"E-{n}", lines=lines, customer=customer, channel=channel)
        order, _ = order_create(tenant=tenant_a, data=data)
        if n % 4 == 0:
            order_cancel(tenant=tenant_a, order_id=order.pk, reason="test")
        made.append(order.pk)
    other = order_input("E-1", lines=[{"sku": "SKU-123", "quantity": 1, "unit_price": "1.00"}])
    order_create(tenant=tenant_b, data=other)
    now = timezone.now()
    for days, pk in enumerate(reversed(made)):
        Order.objects.for_tenant(tenant_a).filter(pk=pk).update(created_at=now - timedelta(days=days))
    return made


FILTERS = [
    {},
    {"state": "cancelled"},
    {"state": "cancelled,in_fulfillment,allocated"},
    {"channel": "shop"},
    {"email": "c1@example.com"},
    {"email": " C1@Example.com "},
    {"sku": "SKU-123"},
    {"external_id": "E-4"},
    {"external_id": "E-1", "sku": "SKU-456"},
    {"channel": "web", "email": "c2@example.com", "sku": "SKU-456"},
    {"sku": "NO-SUCH"},
]


def _reference(tenant, filters, position, ascending, offset, limit):
    qs = selectors.order_list(tenant=tenant, **filters).order_by("id" if ascending else "-id")
    if position is not None:
        qs = qs.filter(id__gt=position) if ascending else qs.filter(id__lt=position)
    return list(qs.values(*LIST_COLUMNS)[offset : offset + limit])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the list's own statement is PostgreSQL's")
def test_a_page_is_the_selectors_page_for_every_filter_position_and_direction(tenant_a, orders):
    now = timezone.now()
    dated = [
        {"created_after": now - timedelta(days=3, hours=1)},
        {"created_before": now - timedelta(days=2, hours=1)},
        {
            "created_after": now - timedelta(days=6),
            "created_before": now - timedelta(days=1),
            "state": "cancelled",
        },
    ]
    pages = 0
    for filters, position, ascending, offset in itertools.product(
        FILTERS + dated, (None, orders[4]), (False, True), (0, 1)
    ):
        got = order_list_page(
            tenant=tenant_a, position=position, ascending=ascending, offset=offset, limit=3, **filters
        )
        expected = _reference(tenant_a, filters, position, ascending, offset, 3)
        assert order_list_rows(got) == order_list_rows(expected), (filters, position)  # as shown
        pages += bool(got)
    assert pages > 60  # most of them found orders


def test_next_and_previous_walk_the_whole_list_both_ways(api_a, tenant_a, orders):
    for filters in ({}, {"state": "cancelled,allocated,in_fulfillment"}, {"sku": "SKU-123"}):
        query = "&".join(f"{name}={value}" for name, value in filters.items())
        expected = [
            str(pk)
            for pk in selectors.order_list(tenant=tenant_a, **filters)
            .order_by("-id")
            .values_list("pk", flat=True)
        ]
        forward, pages, url = [], [], f"/api/v1/orders/?limit=2&{query}"
        while url:
            page = api_a.get(url).json()
            pages.append(page)
            forward += [row["id"] for row in page["results"]]
            url = page["next"]
        assert forward == expected and len(pages) == (len(expected) + 1) // 2, filters
        assert pages[0]["previous"] is None
        backward, url = [], pages[-1]["previous"]
        while url:
            page = api_a.get(url).json()
            backward = [row["id"] for row in page["results"]] + backward
            url = page["previous"]
        assert backward + [row["id"] for row in pages[-1]["results"]] == expected, filters


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the list's own statement is PostgreSQL's")
def test_a_page_read_again_and_again_stays_the_selectors_page(tenant_a, orders):
    """Pages whose plan does not depend on the values are prepared after PREPARE_THRESHOLD runs."""
    for filters in (
        {},
        {"state": "cancelled"},
        {"channel": "web"},
        {"email": "c1@example.com"},
        {"external_id": "E-3"},
    ):
        for position in [None, *orders] * 2:  # past the threshold, from every position
            got = order_list_page(
                tenant=tenant_a, position=position, ascending=False, offset=0, limit=2, **filters
            )
            expected = _reference(tenant_a, filters, position, False, 0, 2)
            assert order_list_rows(got) == order_list_rows(expected), (filters, position)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%o.id DESC LIMIT%"]
        )
        assert cursor.fetchone()[0] >= 5
