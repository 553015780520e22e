"""Each dashboard figure against the world of tests/workspace/world.py, worked out by hand.

The world (M = midnight of NOW, windows: today >= M, 7 days >= M-6d, 30 days >= M-29d):
  o1 api      shipped     placed NOW-3h   A×2 shipped 2; shipment shipped NOW-1h, promised today, label 5.00
  o2 shopify  delivered   placed M-3d+2h  A×1, B×1 shipped; shipped +10h, no promise, label 7.00
  o3 shopify  completed   placed M-10d    B×4 shipped, waited (backordered); shipped +30h, promised
                                          the day it was placed (late), label 9.00 (+ a failed label,
                                          + a 4.00 return label)
  o4 api      backordered placed M-2d+1h  A×3, waited
  o5 api      part. alloc placed M+1h     B×5 (2 allocated), waited
  o6 api      cancelled   placed M-5d     A×7
  o7 api      shipped     placed M-40d    A×1 (outside every window), label 50.00
  o8 api      on hold     placed M-1d     A×1
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.workspace.world import NOW, build_kpi_world
from workspace import kpis

pytestmark = pytest.mark.django_db


@pytest.fixture
def figures(tenant_a):
    build_kpi_world(tenant_a)
    return kpis.dashboard(tenant_a, now=NOW)


def counts(rows):
    return {r.key: (r.today, r.week, r.month) for r in rows}


def test_orders_placed_by_channel_and_state(figures):
    orders = figures["orders"]
    # today: o1, o5; 7 days: + o2, o4, o6, o8; 30 days: + o3
    assert (orders["total"].today, orders["total"].week, orders["total"].month) == (2, 6, 7)
    assert counts(orders["by_channel"]) == {"api": (2, 5, 5), "shopify": (0, 1, 2)}
    assert counts(orders["by_state"]) == {
        "shipped": (1, 1, 1),
        "delivered": (0, 1, 1),
        "completed": (0, 0, 1),
        "backordered": (0, 1, 1),
        "partially_allocated": (1, 1, 1),
        "cancelled": (0, 1, 1),
        "on_hold": (0, 1, 1),
    }
    per_day = dict(orders["daily"])
    assert len(per_day) == 30 and sum(per_day.values()) == 7
    assert per_day[NOW.date()] == 2


def test_order_counts_link_to_the_filtered_order_list(figures):
    shopify = next(r for r in figures["orders"]["by_channel"] if r.key == "shopify")
    url = urlsplit(shopify.links["week"])
    assert url.path == "/admin/orders/order/"
    assert parse_qs(url.query) == {"placed_at__gte": ["2026-11-14 00:00:00+00:00"], "channel": ["shopify"]}


def test_cycle_time_percentiles(figures):
    # shipped in full within 30 days: o1 2 h, o2 10 h, o3 30 h; p50 = 10; p90 = 10 + 0.8 × 20 = 26
    assert figures["cycle"]["p50_hours"] == 10.0
    assert figures["cycle"]["p90_hours"] == 26.0


def test_fill_rate(figures):
    # ordered (not cancelled): o1 2 + o2 2 + o3 4 + o4 3 + o5 5 + o8 1 = 17;
    # shipped 8 (o1 2, o2 2, o3 4), of which o3 waited for stock: 4 shipped from the first allocation
    fill = figures["fill"]
    assert (fill["ordered"], fill["shipped"], fill["first_pass"]) == (17, 8, 4)
    assert fill["rate"] == 23.5


def test_backorders(figures):
    found = figures["backorders"]
    # o4 short 3, o5 short 5 - 2 allocated = 3
    assert (found["backordered"], found["partial"], found["units_short"]) == (1, 1, 6)
    assert found["backordered_link"].endswith("?state=backordered")


def test_stockouts_and_low_stock(figures):
    # A: 10 - 2 = 8 free, reorder 5 (fine); B: 2 - 2 = 0 (out, and low); C: 4 free, reorder 5 (low)
    found = figures["stock"]
    assert (found["rows"], found["out"], found["low"]) == (3, 1, 2)
    assert found["out_link"] == "/admin/inventory/stocklevel/?stock=out"


def test_on_time_rate(figures):
    # shipped in 30 days: s1, s2, s3; with a promise: s1 (on time), s3 (a day late)
    found = figures["on_time"]
    assert (found["shipped"], found["promised"], found["on_time"], found["rate"]) == (3, 2, 1, 50.0)


def test_shipping_cost_per_order(figures):
    # purchased outbound labels of shipments shipped in 30 days: 5 + 7 + 9 = 21 over 3 orders
    [usd] = figures["shipping_cost"]["per_currency"]
    assert (usd["currency"], usd["total"], usd["orders"], usd["per_order"]) == (
        "USD",
        Decimal("21.00"),
        3,
        Decimal("7.00"),
    )


def test_return_rate_by_sku_and_reason(figures):
    # shipped in 30 days: A 3 (o1 2, o2 1), B 5 (o2 1, o3 4); asked back: B 2 damaged, A 1 wrong size
    found = figures["returns"]
    assert (found["shipped"], found["returned"], found["rate"]) == (8, 3, 37.5)
    assert [(r.sku, r.shipped, r.returned) for r in found["by_sku"]] == [("K-B", 5, 2), ("K-A", 3, 1)]
    assert found["by_reason"] == [("Arrived damaged", 2), ("Wrong size or fit", 1)]


def test_an_empty_tenant_has_no_figures_but_no_errors(tenant_b):
    figures = kpis.dashboard(tenant_b, now=NOW)
    assert figures["orders"]["total"].month == 0
    assert figures["cycle"]["p50_hours"] is None and figures["fill"]["rate"] is None
    assert figures["on_time"]["rate"] is None and figures["returns"]["rate"] is None


def test_the_links_open_the_rows_they_count(client, tenant_a, figures):
    from tests.worlds import staff

    client.force_login(staff(tenant_a, "owner", "owner@acme.test"))

    def listed(url):
        response = client.get(url)
        assert response.status_code == 200, url
        return sorted(str(row) for row in response.context["cl"].result_list)

    assert listed(kpis.day_link(NOW.date())) == ["#K1001", "#K1005"]  # o1 and o5, placed that day
    shopify = next(r for r in figures["orders"]["by_channel"] if r.key == "shopify")
    assert listed(shopify.links["month"]) == ["#K1002", "#K1003"]
    assert listed(figures["backorders"]["backordered_link"]) == ["#K1004"]
    assert len(listed(figures["stock"]["low_link"])) == figures["stock"]["low"]
