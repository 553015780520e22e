"""Staff map a marketplace's SKU in the admin: the account shows what waits, the link opens a filled
form, saving it releases the held order and allocates it."""

from __future__ import annotations

import html
import re

from django.urls import reverse

from integrations.ingest import marketplace_order_ingest
from integrations.models import SkuMapping
from inventory.models import SKU
from oms.models import Role
from orders.models import Order
from orders.states import OrderState
from tests.conftest import _staff
from tests.integrations.test_ingest import account_for, incoming, line


def test_a_manager_maps_a_waiting_sku_from_the_account_page(client, tenant_a, manager_a):
    account = account_for(tenant_a)
    order = marketplace_order_ingest(
        account=account, incoming=incoming(line("red & 9", 2, variant="v1"))
    ).order
    assert order.state == OrderState.ON_HOLD
    client.force_login(manager_a)

    page = client.get(reverse("admin:integrations_channelaccount_change", args=[account.pk])).content.decode()
    assert "red &amp; 9 variant v1 — 2 unit(s) in 1 order(s)" in page
    link = html.unescape(re.search(r'href="([^"]*skumapping/add/\?[^"]*)"', page).group(1))
    form = client.get(link)
    assert form.context["adminform"].form.initial["channel_sku"] == "red & 9"
    sock = SKU.objects.for_tenant(tenant_a).get(code="SOCK-2")
    response = client.post(
        link,
        {"account": account.pk, "channel_sku": "red & 9", "channel_variant_id": "v1", "sku": sock.pk},
        follow=True,
    )

    assert response.status_code == 200
    assert "1 order(s) released from the unmapped-SKU hold." in response.content.decode()
    order = Order.objects.for_tenant(tenant_a).get(pk=order.pk)
    assert order.state == OrderState.ALLOCATED
    assert [(x.sku.code, x.quantity_allocated) for x in order.lines.all()] == [("SOCK-2", 2)]
    assert SkuMapping.objects.for_tenant(tenant_a).get().sku == sock
    page = client.get(reverse("admin:integrations_channelaccount_change", args=[account.pk])).content.decode()
    assert "None." in page and "red &amp; 9 (variant v1) → SOCK-2" in page


def test_a_mapping_names_a_channel_sku_or_variant(client, tenant_a, manager_a):
    account = account_for(tenant_a)
    client.force_login(manager_a)
    sock = SKU.objects.for_tenant(tenant_a).get(code="SOCK-2")

    response = client.post(
        reverse("admin:integrations_skumapping_add"),
        {"account": account.pk, "channel_sku": " ", "sku": sock.pk},
    )

    assert response.status_code == 200
    assert "Give the channel&#x27;s SKU, its variant id, or both." in response.content.decode()
    assert not SkuMapping.objects.for_tenant(tenant_a).exists()


def test_an_agent_sees_no_way_to_map(client, tenant_a):
    agent = _staff(tenant_a, Role.AGENT, "agent@acme.test")
    client.force_login(agent)

    assert client.get(reverse("admin:integrations_skumapping_add")).status_code == 403
