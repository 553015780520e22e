"""Stock published to Shopify over real HTTP to the fake shop: each mapped variant gets what we can
still sell minus the account's buffer, only what changed is sent, in batches."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from integrations import publishing
from integrations.ingest import sku_mapping_save
from integrations.models import ChannelAccount, ChannelStock
from integrations.publishing import channel_stock_publish, channel_stock_publish_all
from integrations.shopify.fake_server import FakeShopify
from integrations.tasks import channel_stock_publish_all_task
from inventory.models import SKU, Warehouse
from orders.channels import ChannelUnavailable
from orders.services import order_create
from tests.integrations.test_shopify import TOKEN, shopify_world
from tests.orders.conftest import order_input


@pytest.fixture
def fake():
    shop = FakeShopify(access_token=TOKEN).start()
    yield shop
    shop.stop()


@pytest.fixture
def account(tenant_a, fake):
    account = shopify_world(tenant_a, fake)  # 50 of SHOE-1 and SOCK-2 in one warehouse
    account.stock_buffer = 5
    account.save()
    return account


def mapped(account, fake, code, *, available=0):
    variant = fake.add_variant(code.lower(), available=available)
    sku = SKU.objects.for_tenant(account.tenant_id).get(code=code)
    sku_mapping_save(account=account, sku=sku, channel_sku=code.lower(), channel_variant_id=variant)
    return variant


def publish(account):
    return channel_stock_publish(tenant=account.tenant_id, account_id=account.pk)


def test_each_mapped_variant_gets_what_we_can_sell_minus_the_buffer(account, fake):
    shoe, sock = mapped(account, fake, "SHOE-1", available=999), mapped(account, fake, "SOCK-2")

    result = publish(account)

    assert (fake.available_of(shoe), fake.available_of(sock)) == (45, 45)
    assert (result.sent, result.unchanged) == (2, 0)
    assert len(fake.stock_updates) == 1  # one batch
    rows = ChannelStock.objects.for_tenant(account.tenant_id).order_by("sku__code")
    assert [(r.sku.code, r.published_quantity, r.error) for r in rows] == [
        ("SHOE-1", 45, ""),
        ("SOCK-2", 45, ""),
    ]
    account.refresh_from_db()
    assert (account.last_sync_status, account.last_sync_error) == ("ok", "")


def test_an_allocation_reaches_the_shop_on_the_next_publish_and_nothing_else_is_sent(tenant_a, account, fake):
    shoe, sock = mapped(account, fake, "SHOE-1"), mapped(account, fake, "SOCK-2")
    publish(account)

    order_create(
        tenant=tenant_a,
        data=order_input("W-1", lines=[{"sku": "SHOE-1", "quantity": 3, "unit_price": "10.00"}]),
    )
    result = publish(account)

    assert (fake.available_of(shoe), fake.available_of(sock)) == (42, 45)
    assert (result.sent, result.unchanged) == (1, 1)
    assert [[q["quantity"] for q in update] for update in fake.stock_updates] == [[45, 45], [42]]
    assert publish(account).sent == 0 and len(fake.stock_updates) == 2


def test_the_buffer_never_makes_a_negative_quantity_and_inactive_warehouses_do_not_count(
    tenant_a, account, fake
):
    account.stock_buffer = 80
    account.save()
    shoe = mapped(account, fake, "SHOE-1", available=7)

    publish(account)
    assert fake.available_of(shoe) == 0

    account.stock_buffer = 0
    account.save()
    Warehouse.objects.for_tenant(tenant_a).update(active=False)
    publish(account)
    assert fake.available_of(shoe) == 0 and len(fake.stock_updates) == 1  # 0 again: nothing to send


def test_shopify_down_is_recorded_and_the_next_publish_sends_it(account, fake):
    shoe = mapped(account, fake, "SHOE-1", available=1)
    fake.fail_next(1, status=503)

    with pytest.raises(ChannelUnavailable):
        publish(account)
    account.refresh_from_db()
    assert account.last_sync_status == "error" and "503" in account.last_sync_error
    assert fake.available_of(shoe) == 1

    assert publish(account).sent == 1 and fake.available_of(shoe) == 45


def test_a_sku_mapped_without_a_known_variant_is_skipped_with_the_reason(account, fake):
    sku_mapping_save(
        account=account, sku=SKU.objects.for_tenant(account.tenant_id).get(code="SOCK-2"), channel_sku="sock"
    )
    sku_mapping_save(
        account=account,
        sku=SKU.objects.for_tenant(account.tenant_id).get(code="SHOE-1"),
        channel_variant_id="404",
    )

    result = publish(account)

    assert (result.sent, result.skipped) == (0, 2) and fake.stock_updates == []
    errors = dict(ChannelStock.objects.for_tenant(account.tenant_id).values_list("sku__code", "error"))
    assert errors == {
        "SHOE-1": "Shopify has no variant 404",
        "SOCK-2": "mapped without a Shopify variant id: not published",
    }


def test_changes_go_out_in_batches(account, fake, monkeypatch):
    monkeypatch.setattr(publishing, "PUBLISH_BATCH", 1)
    mapped(account, fake, "SHOE-1")
    mapped(account, fake, "SOCK-2")

    assert publish(account).sent == 2
    assert [len(update) for update in fake.stock_updates] == [1, 1]


def test_the_sweep_publishes_each_tenant_its_own_stock(tenant_a, tenant_b, account, fake):
    other = FakeShopify(access_token=TOKEN).start()
    try:
        account_b = shopify_world(tenant_b, other)
        SKU.objects.for_tenant(tenant_b).filter(code="SHOE-1").get()
        shoe_a = mapped(account, fake, "SHOE-1")
        shoe_b = mapped(account_b, other, "SHOE-1")
        order_create(
            tenant=tenant_b,
            data=order_input("W-B", lines=[{"sku": "SHOE-1", "quantity": 10, "unit_price": "10.00"}]),
        )

        assert channel_stock_publish_all_task() == {"accounts": 2, "failed": 0}

        assert (fake.available_of(shoe_a), other.available_of(shoe_b)) == (45, 40)
    finally:
        other.stop()


def test_the_sweep_runs_on_beat_at_the_debounce_window():
    entry = settings.CELERY_BEAT_SCHEDULE["integrations-stock-publish"]
    assert entry["task"] == "integrations.tasks.channel_stock_publish_all_task"
    assert entry["schedule"] == settings.STOCK_PUBLISH_SECONDS


def test_an_inactive_account_gets_nothing(account, fake):
    shoe = mapped(account, fake, "SHOE-1", available=3)
    ChannelAccount.objects.for_tenant(account.tenant_id).filter(pk=account.pk).update(active=False)

    assert channel_stock_publish_all() == {"accounts": 0, "failed": 0}
    assert publish(account).sent == 0 and fake.available_of(shoe) == 3


def test_a_manager_publishes_an_account_now_from_the_admin(
    client, manager_a, account, fake, django_capture_on_commit_callbacks
):
    shoe = mapped(account, fake, "SHOE-1", available=1)
    client.force_login(manager_a)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:integrations_channelaccount_changelist"),
            {"action": "publish_stock_now", "_selected_action": [account.pk]},
            follow=True,
        )

    assert "Stock publishing queued for 1 account(s)." in response.content.decode()
    assert fake.available_of(shoe) == 45
    page = client.get(reverse("admin:integrations_channelstock_changelist")).content.decode()
    assert "SHOE-1" in page and "45" in page
