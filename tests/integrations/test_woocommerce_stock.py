"""Stock published to WooCommerce over real HTTP to the fake shop: each mapped product or variation
gets what we can still sell minus the account's buffer, through the batch endpoints."""

from __future__ import annotations

import pytest

from integrations.ingest import sku_mapping_save
from integrations.models import ChannelStock
from integrations.publishing import channel_stock_publish
from integrations.tasks import channel_stock_publish_all_task
from integrations.woocommerce import stock as woo_stock
from integrations.woocommerce.fake_server import FakeWooCommerce
from inventory.models import SKU
from orders.channels import ChannelUnavailable
from orders.services import order_create
from tests.integrations.test_woocommerce import CONSUMER_KEY, CONSUMER_SECRET, woo_world
from tests.orders.conftest import order_input


@pytest.fixture
def fake():
    shop = FakeWooCommerce(consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET).start()
    yield shop
    shop.stop()


@pytest.fixture
def account(tenant_a, fake):
    account = woo_world(tenant_a, fake)  # 50 of SHOE-1 and SOCK-2 in one warehouse
    account.stock_buffer = 5
    account.save()
    return account


def mapped(account, code, channel_id):
    sku = SKU.objects.for_tenant(account.tenant_id).get(code=code)
    sku_mapping_save(account=account, sku=sku, channel_variant_id=str(channel_id))


def publish(account):
    return channel_stock_publish(tenant=account.tenant_id, account_id=account.pk)


def api_calls(fake):
    return [(method, path.removeprefix("/wp-json/wc/v3")) for method, path in fake.calls]


def test_a_product_and_a_variation_get_what_we_can_sell_minus_the_buffer(account, fake):
    shoe = fake.add_product("shoe-1", stock_quantity=999)
    sock = fake.add_variation(None, "sock-2")
    mapped(account, "SHOE-1", shoe["id"])
    mapped(account, "SOCK-2", sock["id"])  # the variation's own id, as an order line names it

    result = publish(account)

    assert (fake.stock_of(shoe["id"]), fake.stock_of(sock["id"])) == (45, 45)
    assert fake.products[str(sock["id"])]["manage_stock"] is True
    assert (result.sent, result.skipped) == (2, 0)
    assert api_calls(fake) == [
        ("GET", "/products"),  # ?include= finds the product
        ("GET", f"/products/{sock['id']}"),  # the id it did not find is a variation: its parent
        ("POST", "/products/batch"),
        ("POST", f"/products/{sock['parent_id']}/variations/batch"),
    ]
    assert fake.stock_updates == [
        {
            "path": "/products/batch",
            "update": [{"id": shoe["id"], "manage_stock": True, "stock_quantity": 45}],
        },
        {
            "path": f"/products/{sock['parent_id']}/variations/batch",
            "update": [{"id": sock["id"], "manage_stock": True, "stock_quantity": 45}],
        },
    ]
    rows = ChannelStock.objects.for_tenant(account.tenant_id).order_by("sku__code")
    assert [(r.sku.code, r.published_quantity, r.error) for r in rows] == [
        ("SHOE-1", 45, ""),
        ("SOCK-2", 45, ""),
    ]
    account.refresh_from_db()
    assert (account.last_sync_status, account.last_sync_error) == ("ok", "")


def test_a_variation_named_parent_colon_id_needs_no_look_up(account, fake):
    sock = fake.add_variation(None, "sock-2", stock_quantity=3)
    mapped(account, "SOCK-2", f"{sock['parent_id']}:{sock['id']}")

    assert publish(account).sent == 1

    assert fake.stock_of(sock["id"]) == 45
    assert api_calls(fake) == [("POST", f"/products/{sock['parent_id']}/variations/batch")]


def test_an_allocation_reaches_the_shop_on_the_next_publish_and_nothing_else_is_sent(tenant_a, account, fake):
    shoe, sock = fake.add_product("shoe-1"), fake.add_product("sock-2")
    mapped(account, "SHOE-1", shoe["id"])
    mapped(account, "SOCK-2", sock["id"])
    publish(account)

    order_create(
        tenant=tenant_a,
        data=order_input("W-1", lines=[{"sku": "SHOE-1", "quantity": 3, "unit_price": "10.00"}]),
    )
    result = publish(account)

    assert (fake.stock_of(shoe["id"]), fake.stock_of(sock["id"])) == (42, 45)
    assert (result.sent, result.unchanged) == (1, 1)
    assert [[u["stock_quantity"] for u in batch["update"]] for batch in fake.stock_updates] == [
        [45, 45],
        [42],
    ]


def test_batches_hold_at_most_the_shops_limit(account, fake, monkeypatch):
    monkeypatch.setattr(woo_stock, "BATCH_LIMIT", 1)
    shoe, sock = fake.add_product("shoe-1"), fake.add_product("sock-2")
    mapped(account, "SHOE-1", shoe["id"])
    mapped(account, "SOCK-2", sock["id"])

    assert publish(account).sent == 2
    assert [len(batch["update"]) for batch in fake.stock_updates] == [1, 1]


def test_unknown_ids_and_mappings_without_an_id_are_skipped_with_the_reason(account, fake):
    shoe = fake.add_product("shoe-1")
    mapped(account, "SHOE-1", "404")
    sku_mapping_save(
        account=account,
        sku=SKU.objects.for_tenant(account.tenant_id).get(code="SOCK-2"),
        channel_sku="sock-2",
    )

    result = publish(account)

    assert (result.sent, result.skipped) == (0, 2) and fake.stock_updates == []
    errors = dict(ChannelStock.objects.for_tenant(account.tenant_id).values_list("sku__code", "error"))
    assert errors == {
        "SHOE-1": "WooCommerce has no product or variation 404",
        "SOCK-2": "mapped without a WooCommerce product or variation id: not published",
    }
    assert fake.stock_of(shoe["id"]) is None


def test_a_variation_under_the_wrong_parent_is_refused_by_the_shop_and_skipped(account, fake):
    sock = fake.add_variation(None, "sock-2")
    other = fake.add_variation(None, "other")
    mapped(account, "SOCK-2", f"{other['parent_id']}:{sock['id']}")

    result = publish(account)

    assert (result.sent, result.skipped) == (0, 1)
    assert ChannelStock.objects.for_tenant(account.tenant_id).get().error == (
        f"WooCommerce refused item {sock['id']}: Invalid ID."
    )


def test_the_shop_down_is_recorded_and_the_next_publish_sends_it(account, fake):
    shoe = fake.add_product("shoe-1", stock_quantity=1)
    mapped(account, "SHOE-1", shoe["id"])
    fake.fail_next(1, status=503)

    with pytest.raises(ChannelUnavailable):
        publish(account)
    account.refresh_from_db()
    assert account.last_sync_status == "error" and "503" in account.last_sync_error
    assert fake.stock_of(shoe["id"]) == 1

    assert publish(account).sent == 1 and fake.stock_of(shoe["id"]) == 45


def test_the_sweep_publishes_each_tenant_its_own_stock_to_its_own_shop(tenant_a, tenant_b, account, fake):
    other = FakeWooCommerce(consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET).start()
    try:
        account_b = woo_world(tenant_b, other)
        shoe_a, shoe_b = fake.add_product("shoe-1"), other.add_product("shoe-1")
        mapped(account, "SHOE-1", shoe_a["id"])
        mapped(account_b, "SHOE-1", shoe_b["id"])
        order_create(
            tenant=tenant_b,
            data=order_input("W-B", lines=[{"sku": "SHOE-1", "quantity": 10, "unit_price": "10.00"}]),
        )

        assert channel_stock_publish_all_task() == {"accounts": 2, "failed": 0}

        assert (fake.stock_of(shoe_a["id"]), other.stock_of(shoe_b["id"])) == (45, 40)
        assert len(fake.stock_updates) == len(other.stock_updates) == 1
    finally:
        other.stop()
