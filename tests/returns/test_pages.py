"""The receiving page: every route for every role, against the member's own warehouse, another
warehouse of the tenant and another tenant's; scanning an RMA or a return label; recording what
arrived."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from inventory.models import StockLevel
from oms.models import Role
from returns import urls as receiving_urls
from returns.models import ReturnRequest
from tests.fulfillment.pages_world import assign
from tests.inventory.factories import WarehouseFactory
from tests.returns.factories import authorized_return, dallas, open_return, shipped_order
from tests.worlds import staff

ROUTES = [(p.name, str(p.pattern)) for p in receiving_urls.urlpatterns]
POSTED = {"scan", "receive"}


def url(name, route, warehouse, ret):
    values = {"warehouse_id": warehouse.pk, "return_id": ret.pk}
    params = re.findall(r"<int:(\w+)>", route)
    return reverse(f"receiving:{name}", kwargs={p: values[p] for p in params})


def call(client, name, target):
    return client.post(target, {}) if name in POSTED else client.get(target)


@pytest.fixture
def world(tenant_a, tenant_b):
    order = shipped_order(tenant_a, delivered_days_ago=1)
    ret = authorized_return(order, ("RET-1", 2, "wrong_size"))
    other = WarehouseFactory(tenant=tenant_a, code="AUS", postal_code="78701")
    theirs = authorized_return(shipped_order(tenant_b, delivered_days_ago=1), ("RET-1", 1, "defective"))
    picker = staff(tenant_a, Role.WAREHOUSE, "picker@acme.test")
    assign(picker, tenant_a, dallas(tenant_a))
    return {
        "ret": ret,
        "mine": dallas(tenant_a),
        "other": other,
        "theirs": theirs,
        "foreign": dallas(tenant_b),
        "people": {
            Role.OWNER: staff(tenant_a, Role.OWNER, "owner@acme.test"),
            Role.MANAGER: staff(tenant_a, Role.MANAGER, "manager@acme.test"),
            Role.AGENT: staff(tenant_a, Role.AGENT, "agent@acme.test"),
            Role.WAREHOUSE: picker,
        },
    }


def test_the_posted_set_is_what_the_views_accept(client, world):
    client.force_login(world["people"][Role.OWNER])
    for name, route in ROUTES:
        answered = client.get(url(name, route, world["mine"], world["ret"])).status_code
        assert (answered == 405) == (name in POSTED), f"{name}: GET answered {answered}"


def test_signed_out_goes_to_the_login(client, world):
    for name, route in ROUTES:
        response = call(client, name, url(name, route, world["mine"], world["ret"]))
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), name


def test_support_agents_are_refused(client, world):
    client.force_login(world["people"][Role.AGENT])
    for name, route in ROUTES:
        assert call(client, name, url(name, route, world["mine"], world["ret"])).status_code == 403, name


@pytest.mark.parametrize("role", [Role.WAREHOUSE, Role.OWNER, Role.MANAGER])
def test_another_tenants_warehouse_or_return_is_a_404(client, world, role):
    client.force_login(world["people"][role])
    for name, route in ROUTES:
        assert call(client, name, url(name, route, world["foreign"], world["theirs"])).status_code == 404, (
            name
        )
        if "return_id" in route:
            assert call(client, name, url(name, route, world["mine"], world["theirs"])).status_code == 404, (
                name
            )
    theirs = ReturnRequest.objects.for_tenant(world["theirs"].tenant_id).get(pk=world["theirs"].pk)
    assert theirs.state == "authorized"


def test_the_warehouse_role_gets_a_404_in_a_warehouse_it_is_not_assigned_to(client, world):
    client.force_login(world["people"][Role.WAREHOUSE])
    for name, route in ROUTES:
        assert call(client, name, url(name, route, world["other"], world["ret"])).status_code == 404, name


def test_a_return_coming_to_another_warehouse_is_a_404_there(client, world):
    client.force_login(world["people"][Role.OWNER])
    page = reverse("receiving:return", args=[world["other"].pk, world["ret"].pk])
    assert client.get(page).status_code == 404
    assert (
        client.get(reverse("receiving:return", args=[world["mine"].pk, world["ret"].pk])).status_code == 200
    )


def test_scanning_the_rma_or_the_label_opens_the_return(client, world):
    ret = world["ret"]
    ReturnRequest.objects.for_tenant(ret.tenant_id).filter(pk=ret.pk).update(tracking_number="1Z999")
    client.force_login(world["people"][Role.WAREHOUSE])
    scan = reverse("receiving:scan", args=[world["mine"].pk])
    page = reverse("receiving:return", args=[world["mine"].pk, ret.pk])

    by_rma = client.post(scan, {"code": ret.rma_number.lower()}, follow=True)
    assert by_rma.redirect_chain[-1][0] == page
    assert f"{ret.rma_number}: 2 units expected." in by_rma.content.decode()
    assert client.post(scan, {"code": "1Z999"})["Location"] == page
    nothing = client.post(scan, {"code": world["theirs"].rma_number + "X"}, follow=True).content.decode()
    assert "no return coming to DAL has this RMA or label" in nothing


def test_recording_a_restock_and_a_scrap_on_the_page(client, world):
    ret, warehouse = world["ret"], world["mine"]
    line = ret.lines.get()
    client.force_login(world["people"][Role.WAREHOUSE])
    receive = reverse("receiving:receive", args=[warehouse.pk, ret.pk])
    before = StockLevel.objects.for_tenant(ret.tenant_id).get(sku__code="RET-1", warehouse=warehouse).on_hand
    prefix = f"l{line.pk}"

    first = client.post(
        receive,
        {
            f"{prefix}-line": line.pk,
            f"{prefix}-quantity": 1,
            f"{prefix}-condition": "new",
            f"{prefix}-disposition": "restock",
        },
        follow=True,
    )
    assert "1 × RET-1 as new (sealed): restock (sellable)." in first.content.decode()
    second = client.post(
        receive,
        {
            f"{prefix}-line": line.pk,
            f"{prefix}-quantity": 1,
            f"{prefix}-condition": "damaged",
            f"{prefix}-disposition": "scrap",
        },
        follow=True,
    )
    body = second.content.decode()
    assert "2 / 2" in body and "1 × Damaged → Scrap (DAL)" in body
    ret.refresh_from_db()
    assert ret.state == "received"
    after = StockLevel.objects.for_tenant(ret.tenant_id).get(sku__code="RET-1", warehouse=warehouse).on_hand
    assert after == before + 1
    too_many = client.post(
        receive,
        {
            f"{prefix}-line": line.pk,
            f"{prefix}-quantity": 1,
            f"{prefix}-condition": "new",
            f"{prefix}-disposition": "restock",
        },
        follow=True,
    )
    assert "only 0 more are expected" in too_many.content.decode()


def test_a_requested_return_cannot_be_received_yet(client, world):
    ret = open_return(shipped_order(world["ret"].tenant, delivered_days_ago=1), ("RET-2", 1, "defective"))
    client.force_login(world["people"][Role.OWNER])
    page = client.get(reverse("receiving:return", args=[world["mine"].pk, ret.pk])).content.decode()
    assert (
        "is requested: nothing to receive here" in page
        and '<form method="post" action' not in page.split("wh-main")[1]
    )


def test_the_warehouse_page_leads_to_receiving(client, world):
    client.force_login(world["people"][Role.WAREHOUSE])
    page = client.get(reverse("warehouse:index", args=[world["mine"].pk])).content.decode()
    assert f'href="{reverse("receiving:index", args=[world["mine"].pk])}"' in page
