"""Every /warehouse/ URL, generated from the URL conf, for every role, against the member's own
warehouse, another warehouse of the tenant and another tenant's warehouse.

- signed out: the login page;
- a role without `fulfillment.work` (support agents): 403 everywhere;
- the warehouse role: its assigned warehouse opens, any other warehouse is a 404, as is every
  other tenant's;
- owners and managers: every warehouse of their tenant; another tenant's is a 404.
The generic walk in tests/test_role_matrix.py checks the capability; this one the warehouse wall.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from fulfillment import urls as warehouse_urls
from fulfillment.models import Shipment
from oms.models import Role
from tests.fulfillment.pages_world import assign, door_world
from tests.worlds import staff

ROUTES = [(p.name, str(p.pattern)) for p in warehouse_urls.urlpatterns]
# The forms: they answer GET with 405. A test below keeps this set equal to what the views do.
POSTED = {
    "pick_list_create",
    "pick_scan",
    "pick_short",
    "pack_scan",
    "pack_confirm",
    "rates_quote",
    "label_buy",
    "ship",
}
WITH_ARGS = [(name, route) for name, route in ROUTES if "<" in route]


def url(name: str, route: str, floor: Any) -> str:
    params = re.findall(r"<int:(\w+)>", route)
    return reverse(f"warehouse:{name}", kwargs={p: floor.kwargs()[p] for p in params})


def call(client: Any, name: str, target: str) -> Any:
    return client.post(target, {}) if name in POSTED else client.get(target)


@pytest.fixture
def world(tenant_a, tenant_b):
    mine, other = door_world(tenant_a, "ACME")
    (foreign,) = door_world(tenant_b, "GLOBEX", warehouses=1)
    picker = staff(tenant_a, Role.WAREHOUSE, "picker@acme.test")
    assign(picker, tenant_a, mine.warehouse)
    people = {
        Role.OWNER: staff(tenant_a, Role.OWNER, "owner@acme.test"),
        Role.MANAGER: staff(tenant_a, Role.MANAGER, "manager@acme.test"),
        Role.AGENT: staff(tenant_a, Role.AGENT, "agent@acme.test"),
        Role.WAREHOUSE: picker,
    }
    return {"mine": mine, "other": other, "foreign": foreign, "people": people}


def test_the_posted_set_is_what_the_views_accept(client, world):
    client.force_login(world["people"][Role.OWNER])
    for name, route in ROUTES:
        target = url(name, route, world["mine"])
        answered = client.get(target).status_code
        assert (answered == 405) == (name in POSTED), f"{name}: GET answered {answered}"


def test_signed_out_goes_to_the_login(client, world):
    for name, route in ROUTES:
        response = call(client, name, url(name, route, world["mine"]))
        assert response.status_code == 302, name
        assert response["Location"].startswith("/admin/login/"), name


def test_support_agents_are_refused_everywhere(client, world):
    client.force_login(world["people"][Role.AGENT])
    for name, route in ROUTES:
        for where in ("mine", "other"):
            assert call(client, name, url(name, route, world[where])).status_code == 403, (name, where)


@pytest.mark.parametrize("role", [Role.WAREHOUSE, Role.OWNER, Role.MANAGER])
def test_another_tenants_warehouse_is_a_404(client, world, role):
    client.force_login(world["people"][role])
    foreign = world["foreign"]
    before = Shipment.objects.for_tenant(foreign.shipment.tenant_id).get(pk=foreign.shipment.pk)
    for name, route in WITH_ARGS:
        assert call(client, name, url(name, route, foreign)).status_code == 404, name
    after = Shipment.objects.for_tenant(foreign.shipment.tenant_id).get(pk=foreign.shipment.pk)
    assert (after.state, after.updated_at) == (before.state, before.updated_at)


def test_the_warehouse_role_gets_a_404_in_a_warehouse_it_is_not_assigned_to(client, world):
    client.force_login(world["people"][Role.WAREHOUSE])
    other = world["other"]
    for name, route in WITH_ARGS:
        assert call(client, name, url(name, route, other)).status_code == 404, name
    other.shipment.refresh_from_db()
    assert other.shipment.state == "picking"


@pytest.mark.parametrize(
    ("role", "where"),
    [(Role.WAREHOUSE, "mine"), (Role.OWNER, "mine"), (Role.OWNER, "other"), (Role.MANAGER, "other")],
)
def test_the_pages_open_where_the_member_works(client, world, role, where):
    client.force_login(world["people"][role])
    for name, route in ROUTES:
        if name in POSTED:
            continue
        response = client.get(url(name, route, world[where]))
        assert response.status_code in (200, 302), f"{name}: {response.status_code}"


def test_mixing_one_warehouse_with_another_warehouses_rows_is_a_404(client, world):
    """The pick list or shipment must belong to the warehouse in the URL."""
    client.force_login(world["people"][Role.OWNER])
    mine, other = world["mine"], world["other"]
    mixed = {**mine.kwargs(), "pick_list_id": other.pick_list.pk, "shipment_id": other.shipment.pk}
    for name, route in WITH_ARGS:
        if "pick_list_id" in route or "shipment_id" in route:
            params = re.findall(r"<int:(\w+)>", route)
            target = reverse(f"warehouse:{name}", kwargs={p: mixed[p] for p in params})
            assert call(client, name, target).status_code == 404, name


def test_home_lists_only_the_members_warehouses(client, world):
    client.force_login(world["people"][Role.WAREHOUSE])
    response = client.get(reverse("warehouse:home"))
    # one warehouse: straight to its index
    assert response.status_code == 302
    assert response["Location"] == reverse("warehouse:index", args=[world["mine"].warehouse.pk])
    client.force_login(world["people"][Role.MANAGER])
    page = client.get(reverse("warehouse:home")).content.decode()
    assert "ACME-W1" in page and "ACME-W2" in page and "GLOBEX" not in page
