"""Stock published to Amazon over real HTTP to the fake SP-API: one patchListingsItem per seller SKU
with what we can still sell minus the account's buffer; only changes; skips, outages, limits."""

from __future__ import annotations

import pytest

from integrations.amazon.fake_server import FakeAmazon
from integrations.ingest import sku_mapping_save
from integrations.models import ChannelStock, RateBucket
from integrations.publishing import channel_stock_publish
from inventory.models import SKU
from orders.channels import ChannelUnavailable
from tests.integrations.test_amazon import amazon_world


@pytest.fixture
def fake():
    amazon = FakeAmazon().start()
    yield amazon
    amazon.stop()


@pytest.fixture
def account(tenant_a, fake):
    account = amazon_world(tenant_a, fake)  # 50 of SHOE-1 and SOCK-2 in one warehouse
    account.stock_buffer = 5
    account.save()
    return account


def mapped(account, code, *, seller_sku=None, variant=""):
    sku = SKU.objects.for_tenant(account.tenant_id).get(code=code)
    sku_mapping_save(account=account, sku=sku, channel_sku=seller_sku or "", channel_variant_id=variant)


def publish(account):
    return channel_stock_publish(tenant=account.tenant_id, account_id=account.pk)


def rows(account):
    return [
        (r.sku.code, r.published_quantity, r.error)
        for r in ChannelStock.objects.for_tenant(account.tenant_id)
        .filter(account=account)
        .order_by("sku__code")
    ]


def test_each_seller_sku_gets_what_we_can_sell_minus_the_buffer(account, fake):
    fake.add_listing("AMZ-SHOE", quantity=999)
    fake.add_listing("AMZ-SOCK")
    mapped(account, "SHOE-1", seller_sku="AMZ-SHOE")
    mapped(account, "SOCK-2", seller_sku="AMZ-SOCK")

    result = publish(account)

    assert (fake.quantity_of("AMZ-SHOE"), fake.quantity_of("AMZ-SOCK")) == (45, 45)
    assert (result.sent, result.unchanged, result.errors) == (2, 0, [])
    assert rows(account) == [("SHOE-1", 45, ""), ("SOCK-2", 45, "")]
    first = fake.listing_patches[0]
    assert first == {
        "sku": "AMZ-SHOE",
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 45}],
            }
        ],
    }

    again = publish(account)  # nothing changed: nothing sent

    assert (again.sent, again.unchanged) == (0, 2) and len(fake.listing_patches) == 2


def test_a_sku_amazon_has_no_listing_for_is_skipped_with_amazons_reason(account, fake):
    fake.add_listing("AMZ-SHOE")
    mapped(account, "SHOE-1", seller_sku="AMZ-SHOE")
    mapped(account, "SOCK-2", seller_sku="NOT-LISTED")

    result = publish(account)

    assert (result.sent, result.skipped) == (1, 1)
    assert rows(account) == [
        ("SHOE-1", 45, ""),
        (
            "SOCK-2",
            None,
            "Amazon found seller SKU NOT-LISTED INVALID: "
            "8541: SKU NOT-LISTED has no listing in this marketplace.",
        ),
    ]


def test_a_sku_mapped_without_a_seller_sku_is_not_published(account, fake):
    mapped(account, "SHOE-1", variant="B0VARIANT")

    result = publish(account)

    assert result.skipped == 1 and fake.listing_patches == []
    assert rows(account) == [("SHOE-1", None, "mapped without an Amazon seller SKU: not published")]


def test_amazon_down_leaves_the_quantities_for_the_next_run(account, fake):
    fake.add_listing("AMZ-SHOE", quantity=7)
    mapped(account, "SHOE-1", seller_sku="AMZ-SHOE")
    fake.fail_next(1, status=503, path="/listings/")

    with pytest.raises(ChannelUnavailable):
        publish(account)
    assert fake.quantity_of("AMZ-SHOE") == 7 and rows(account)[0][1] is None

    assert publish(account).sent == 1 and fake.quantity_of("AMZ-SHOE") == 45


def test_a_429_takes_amazons_rate_and_leaves_the_batch_for_later(account, fake):
    fake.add_listing("AMZ-SHOE")
    mapped(account, "SHOE-1", seller_sku="AMZ-SHOE")
    fake.fail_next(1, status=429, headers={"x-amzn-RateLimit-Limit": "0.2"}, path="/listings/")

    with pytest.raises(ChannelUnavailable, match="429 to patchListingsItem"):
        publish(account)

    bucket = RateBucket.objects.for_tenant(account.tenant_id).get(operation="patchListingsItem")
    assert (bucket.rate, bucket.throttled) == (0.2, 1)
    assert rows(account)[0][1] is None and fake.quantity_of("AMZ-SHOE") == 0


def test_each_tenant_publishes_to_its_own_account(account, fake, tenant_b):
    other = FakeAmazon().start()
    try:
        theirs = amazon_world(tenant_b, other, units=3)
        for amazon, acct in ((fake, account), (other, theirs)):
            amazon.add_listing("AMZ-SHOE")
            mapped(acct, "SHOE-1", seller_sku="AMZ-SHOE")

        publish(account)

        assert fake.quantity_of("AMZ-SHOE") == 45 and other.listing_patches == []
        with pytest.raises(type(account).DoesNotExist):
            channel_stock_publish(tenant=account.tenant_id, account_id=theirs.pk)
        publish(theirs)
        assert other.quantity_of("AMZ-SHOE") == 3 and len(fake.listing_patches) == 1
    finally:
        other.stop()
