"""Stock published to eBay over real HTTP to the fake eBay's Inventory API: each mapped SKU's inventory
item gets what we can still sell minus the account's buffer, at most 25 SKUs a call, and a SKU eBay
refuses is skipped with its reason."""

from __future__ import annotations

import pytest

from integrations.ingest import sku_mapping_save
from integrations.models import ChannelStock
from integrations.publishing import channel_stock_publish
from inventory.models import SKU, Warehouse
from orders.channels import ChannelUnavailable
from tests.integrations.test_ebay import ebay_world, fake_ebay
from tests.inventory.factories import SKUFactory, stock
from tests.oms.factories import TenantFactory


@pytest.fixture
def fake():
    with fake_ebay() as ebay:
        yield ebay


@pytest.fixture
def account(db, fake):
    account = ebay_world(TenantFactory(slug="bay-stock"), fake)  # 50 of SHOE-1 and SOCK-2
    account.stock_buffer = 5
    account.save()
    return account


def mapped(account, fake, code, *, at_ebay=True, channel_sku=None):
    channel_sku = channel_sku or f"eb-{code.lower()}"
    if at_ebay:
        fake.add_inventory_item(channel_sku, 999)
    sku = SKU.objects.for_tenant(account.tenant_id).get(code=code)
    sku_mapping_save(account=account, sku=sku, channel_sku=channel_sku)
    return channel_sku


def publish(account):
    return channel_stock_publish(tenant=account.tenant_id, account_id=account.pk)


def rows(account):
    return {
        r.sku.code: (r.published_quantity, r.error)
        for r in ChannelStock.objects.for_tenant(account.tenant_id).select_related("sku")
    }


def test_each_mapped_sku_gets_what_we_can_sell_minus_the_buffer(account, fake):
    shoe, sock = mapped(account, fake, "SHOE-1"), mapped(account, fake, "SOCK-2")

    result = publish(account)

    assert (fake.quantity_of(shoe), fake.quantity_of(sock)) == (45, 45)
    assert (result.sent, result.skipped, result.failed) == (2, 0, 0)
    assert fake.stock_updates == [[{"sku": shoe, "quantity": 45}, {"sku": sock, "quantity": 45}]]
    assert rows(account) == {"SHOE-1": (45, ""), "SOCK-2": (45, "")}
    assert publish(account).sent == 0 and len(fake.stock_updates) == 1  # nothing changed: nothing sent


def test_a_sku_ebay_does_not_have_or_mapped_without_a_sku_is_skipped_with_the_reason(account, fake):
    shoe = mapped(account, fake, "SHOE-1")
    mapped(account, fake, "SOCK-2", at_ebay=False, channel_sku="eb-gone")
    hat = SKUFactory(tenant=account.tenant, code="HAT-3")
    stock(account.tenant, hat, Warehouse.objects.for_tenant(account.tenant_id).get(), 9)
    sku_mapping_save(account=account, sku=hat, channel_variant_id="110000000123")

    result = publish(account)

    assert (result.sent, result.skipped) == (1, 2)
    assert fake.quantity_of(shoe) == 45
    assert rows(account) == {
        "SHOE-1": (45, ""),
        "SOCK-2": (None, "eBay refused SKU eb-gone: The SKU eb-gone is not available in the system."),
        "HAT-3": (None, "mapped without an eBay SKU (the Inventory API needs one): not published"),
    }


def test_more_than_25_skus_go_in_calls_of_25(account, fake):
    warehouse = Warehouse.objects.for_tenant(account.tenant_id).get()
    for n in range(28):
        stock(account.tenant, SKUFactory(tenant=account.tenant, code=f"BULK-{n:02d}"), warehouse, 10 + n)
        mapped(account, fake, f"BULK-{n:02d}")

    result = publish(account)

    assert result.sent == 28
    assert [len(update) for update in fake.stock_updates] == [25, 3]
    assert fake.quantity_of("eb-bulk-27") == 10 + 27 - 5


def test_ebay_down_keeps_the_old_figures_for_the_next_publish(account, fake):
    shoe = mapped(account, fake, "SHOE-1")
    fake.fail_next(1, status=503, path="/sell/inventory")

    with pytest.raises(ChannelUnavailable):
        publish(account)
    assert fake.quantity_of(shoe) == 999
    assert rows(account)["SHOE-1"] == (None, "unavailable: eBay bulkUpdatePriceQuantity answered 503")

    assert publish(account).sent == 1 and fake.quantity_of(shoe) == 45


def test_each_tenant_publishes_to_its_own_account(account, fake):
    other = TenantFactory(slug="bay-stock-b")
    with fake_ebay() as other_fake:
        theirs = ebay_world(other, other_fake)
        mine = mapped(account, fake, "SHOE-1")
        mapped(theirs, other_fake, "SHOE-1")

        publish(account)

        assert fake.quantity_of(mine) == 45
        assert other_fake.quantity_of("eb-shoe-1") == 999 and other_fake.calls == []
        assert not ChannelStock.objects.for_tenant(other).exists()
