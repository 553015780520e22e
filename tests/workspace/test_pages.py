"""The dashboard (the admin's home) and the exceptions queue as staff see them: every role,
only their tenant's rows, a query count that does not grow with the orders, fixes that work."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from oms.models import Role
from orders.models import Hold
from tests.inventory.factories import SKUFactory
from tests.workspace.world import Builder, build_exceptions_world, build_kpi_world
from tests.worlds import staff

pytestmark = pytest.mark.django_db
EXCEPTIONS = "/workspace/exceptions/"


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.AGENT, Role.WAREHOUSE])
def test_every_role_sees_its_tenants_dashboard_as_the_admin_home(client, tenant_a, role):
    build_kpi_world(tenant_a, "ACME", now=timezone.now())
    client.force_login(staff(tenant_a, role, f"{role}@acme.test"))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    page = response.content.decode()
    headings = ["Orders placed", "Cycle time", "Fill rate", "Backorders", "Stockouts", "On-time shipments"]
    headings += ["Shipping cost per order", "Return rate", "Orders per day", "Orders by channel"]
    for heading in headings:
        assert heading in page, heading
    assert "<svg" in page and "<script" not in page.split('id="kpis"')[1]
    assert response.context["dashboard"]["orders"]["total"].month >= 6
    assert 'href="/workspace/exceptions/"' in page


def test_a_dashboard_counts_only_its_own_tenants_rows(client, tenant_a, tenant_b):
    now = timezone.now()
    build_kpi_world(tenant_a, "ACME", now=now)
    globex = Builder(tenant_b, "GLOBEX")
    sku = SKUFactory(tenant=tenant_b, code="GLOBEX-SKU")
    for _ in range(9):
        order = globex.order("globex-shop", "shipped", now - dt.timedelta(hours=5), [(sku, 1, 0, 1)])
        globex.shipment(order, "shipped", shipped_at=now - dt.timedelta(hours=1), label="99.00")
    build_exceptions_world(tenant_b, "GLOBEX-X", now=now)
    client.force_login(staff(tenant_a, Role.OWNER, "owner@acme.test"))
    response = client.get(reverse("admin:index"))
    figures = response.context["dashboard"]
    assert {r.key for r in figures["orders"]["by_channel"]} == {"api", "shopify"}
    assert figures["orders"]["total"].month == 7
    assert [c["total"] for c in figures["shipping_cost"]["per_currency"]] == [21]
    assert figures["stock"]["rows"] == 3
    assert "globex" not in response.content.decode().lower()
    queue = client.get(EXCEPTIONS)
    assert queue.status_code == 200
    assert "globex" not in queue.content.decode().lower()
    assert queue.context["total"] == 1  # ACME's one drifted stock row (B at ACME-W)


def _orders(tenant, n):
    b = Builder(tenant, f"Q{n}")
    sku = SKUFactory(tenant=tenant, code=f"Q{n}-SKU")
    now = timezone.now()
    for i in range(n):
        order = b.order(
            ["api", "shopify", "amazon"][i % 3],
            "shipped",
            now - dt.timedelta(hours=i + 2),
            [(sku, 1, 0, 1)],
            waited="backordered" if i % 4 == 0 else "",
        )
        shipment = b.shipment(
            order, "shipped", shipped_at=now - dt.timedelta(hours=1), label="4.00", promised=now.date()
        )
        if i % 5 == 0:
            b.ret(order, "received", sku, 1, "damaged")
        assert shipment.pk


def _dashboard_queries(client, user):
    client.force_login(user)
    client.get(reverse("admin:index"))  # sessions, content types: warm
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return len(queries), response


def test_the_dashboards_query_count_does_not_grow_with_the_orders(client, tenant_a, tenant_b):
    _orders(tenant_a, 5)
    _orders(tenant_b, 50)
    few, small = _dashboard_queries(client, staff(tenant_a, Role.OWNER, "owner@acme.test"))
    many, large = _dashboard_queries(client, staff(tenant_b, Role.OWNER, "owner@globex.test"))
    assert small.context["dashboard"]["orders"]["total"].month == 5
    assert large.context["dashboard"]["orders"]["total"].month == 50
    assert few == many
    assert many <= 25, many


def test_anonymous_visitors_sign_in_first(client):
    assert client.get(reverse("admin:index"))["Location"].startswith("/admin/login/")
    assert client.get(EXCEPTIONS)["Location"].startswith("/admin/login/")


def test_a_superuser_without_a_tenant_gets_the_plain_app_list(client, db):
    root = User.objects.create_superuser("root@platform.test", "root@platform.test", "pw-root-123")
    client.force_login(root)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200 and "dashboard" not in response.context
    assert "Orders placed" not in response.content.decode()
    queue = client.get(EXCEPTIONS)
    assert queue.status_code == 200 and "Pick a tenant first" in queue.content.decode()


# --- the exceptions queue -----------------------------------------------------------------------
def test_the_queue_shows_each_kind_with_its_fix(client, tenant_a):
    world = build_exceptions_world(tenant_a, "ACME", now=timezone.now())
    client.force_login(staff(tenant_a, Role.OWNER, "owner@acme.test"))
    response = client.get(EXCEPTIONS)
    kinds = {k.key: k for k in response.context["kinds"]}
    assert {key: k.count for key, k in kinds.items()} == {
        "holds": 1,
        "events": 1,
        "labels": 1,
        "tracking": 1,
        "late": 1,
        "drift": 1,
        "unmapped": 1,
    }
    page = response.content.decode()
    held = world["held"]
    assert f"Order #{held.number}" in page and "Fraud review hold: ACME looks odd" in page
    assert "ACME payload broke" in page and "ACME carrier refused" in page
    assert "On hand 7, ledger 5 (drift +2)" in page
    assert "ACME-MYSTERY on ACME shop" in page and "1 order(s), 2 unit(s) waiting" in page
    fixes = {f.label for k in kinds.values() for r in k.rows for f in r.fixes}
    assert {
        "Release hold",
        "Replay",
        "Retry label",
        "Open the shipment",
        "See the ledger",
        "Map to one of our SKUs",
        "Carrier's tracking page",
    } <= fixes
    [mapping] = kinds["unmapped"].rows[0].fixes
    assert mapping.url.startswith("/admin/integrations/skumapping/add/?account=")
    assert "channel_sku=ACME-MYSTERY" in mapping.url


def test_the_release_button_runs_the_admin_action(client, tenant_a):
    world = build_exceptions_world(tenant_a, "ACME", now=timezone.now())
    client.force_login(staff(tenant_a, Role.OWNER, "owner@acme.test"))
    [fix] = next(k for k in client.get(EXCEPTIONS).context["kinds"] if k.key == "holds").rows[0].fixes
    response = client.post(
        fix.url, {"action": fix.action, "index": 0, "_selected_action": fix.ids}, follow=True
    )
    assert response.status_code == 200
    assert (
        not Hold.objects.for_tenant(tenant_a).filter(order=world["held"], released_at__isnull=True).exists()
    )


def test_the_replay_button_runs_the_admin_action(client, tenant_a):
    build_exceptions_world(tenant_a, "ACME", now=timezone.now())
    client.force_login(staff(tenant_a, Role.OWNER, "owner@acme.test"))
    [fix] = next(k for k in client.get(EXCEPTIONS).context["kinds"] if k.key == "events").rows[0].fixes
    response = client.post(
        fix.url, {"action": fix.action, "index": 0, "_selected_action": fix.ids}, follow=True
    )
    assert "1 event(s) sent for processing again." in response.content.decode()


def test_a_role_sees_only_the_fixes_it_may_run(client, tenant_a):
    build_exceptions_world(tenant_a, "ACME", now=timezone.now())
    client.force_login(staff(tenant_a, Role.WAREHOUSE, "picker@acme.test"))
    response = client.get(EXCEPTIONS)
    assert response.status_code == 200
    fixes = {f.label for k in response.context["kinds"] for r in k.rows for f in r.fixes}
    assert fixes == {"Open the shipment", "Carrier's tracking page", "See the ledger"}
    assert "your role cannot fix this" in response.content.decode()
