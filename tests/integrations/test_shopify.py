"""Shopify over real HTTP: the fake shop signs and POSTs its webhooks to our live server, and our
tracking push calls the fake's GraphQL Admin API. SQLite and PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import json
import threading

import pytest

from fulfillment.models import FulfillmentSettings
from integrations.models import ChannelAccount, ChannelOrder, InboundEvent
from integrations.shopify.fake_server import FakeShopify
from integrations.shopify.fake_server import sign as shopify_sign
from orders.models import Hold, Order
from orders.states import HoldKind, OrderState
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.oms.factories import TenantFactory

committing = pytest.mark.django_db(transaction=True)
SECRET = "shpss_fake_client_secret"
TOKEN = "shpat_fake_access_token"


@pytest.fixture
def fake():
    shop = FakeShopify(access_token=TOKEN).start()
    yield shop
    shop.stop()


def shopify_world(tenant, fake, *, live_url: str | None = None, skus=("SHOE-1", "SOCK-2"), secret=SECRET):
    """A tenant with a warehouse holding 50 of each SKU, and a Shopify account pointing at the fake."""
    FulfillmentSettings.objects.update_or_create(tenant=tenant, defaults={"auto_release": False})
    warehouse = WarehouseFactory(tenant=tenant, code=f"SHP-{tenant.slug}", postal_code="78701")
    for code in skus:
        stock(tenant, SKUFactory(tenant=tenant, code=code, name=code.title()), warehouse, 50)
    account = ChannelAccount.objects.create(
        tenant=tenant,
        kind="shopify",
        name="main",
        base_url=fake.url,
        credentials=TOKEN,
        webhook_secret=secret,
    )
    if live_url:
        fake.add_webhook(live_url + account.webhook_path, secret=secret)
    return account


@pytest.fixture
def world(fake, live_server):
    tenant = TenantFactory(slug="shop-a")
    return tenant, shopify_world(tenant, fake, live_url=live_server.url)


def events(tenant):
    return InboundEvent.objects.for_tenant(tenant).filter(source="shopify")


def orders(tenant):
    return Order.objects.for_tenant(tenant).filter(channel="shopify")


@committing
def test_a_signed_orders_create_makes_one_allocated_order(world, fake):
    tenant, _ = world
    shop_order = fake.create_order(
        line_items=[
            {"sku": "SHOE-1", "quantity": 2, "price": "49.50"},
            {"sku": "SOCK-2", "quantity": 1, "price": "9.00"},
        ]
    )
    [delivery] = fake.deliver("orders/create", shop_order["id"])

    assert delivery.status == 200
    event = events(tenant).get()
    assert (event.state, event.event_type, event.outcome[:5]) == ("processed", "orders/create", "order")
    assert event.headers["X-Shopify-Hmac-Sha256"] == "[scrubbed]"
    order = orders(tenant).get()
    assert order.external_id == str(shop_order["id"])
    assert order.state == OrderState.ALLOCATED
    assert [(line.sku.code, line.quantity, str(line.unit_price)) for line in order.lines.all()] == [
        ("SHOE-1", 2, "49.50"),
        ("SOCK-2", 1, "9.00"),
    ]
    assert str(order.total) == shop_order["total_price"] == "113.00"
    assert order.ship_to.postal_code == "78701" and order.customer.email == "ana@example.com"
    channel_order = ChannelOrder.objects.for_tenant(tenant).get()
    assert (channel_order.order_id, channel_order.name) == (order.pk, shop_order["name"])
    assert [line.channel_line_id for line in channel_order.lines.all()] == [
        str(item["id"]) for item in shop_order["line_items"]
    ]


@committing
def test_the_same_event_five_times_and_five_at_once_is_one_order(world, fake):
    tenant, _ = world
    shop_order = fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])

    deliveries = fake.deliver("orders/create", shop_order["id"], event_id="evt-5x", times=5, concurrently=5)

    assert [d.status for d in deliveries] == [200] * 10
    assert orders(tenant).count() == 1
    event = events(tenant).get()
    assert (event.deliveries, event.state) == (10, "processed")


@committing
def test_create_and_update_of_one_order_racing_make_one_order(world, fake):
    tenant, _ = world
    shop_order = fake.create_order(line_items=[{"sku": "SOCK-2", "quantity": 3, "price": "9.00"}])
    threads = [
        threading.Thread(
            target=fake.deliver, args=(topic, shop_order["id"]), kwargs={"times": 0, "concurrently": 3}
        )
        for topic in ("orders/create", "orders/updated")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert all(d.status == 200 for d in fake.deliveries) and len(fake.deliveries) == 6
    assert orders(tenant).count() == 1
    assert ChannelOrder.objects.for_tenant(tenant).count() == 1
    assert set(events(tenant).values_list("state", flat=True)) <= {"processed", "ignored"}


@committing
def test_a_bad_or_missing_signature_is_refused_and_kept_as_rejected(world, fake):
    tenant, _ = world
    shop_order = fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    forged = shopify_sign("not-the-secret", fake.webhook_body(shop_order["id"]))

    [bad] = fake.deliver("orders/create", shop_order["id"], signature=forged)
    [missing] = fake.deliver("orders/create", shop_order["id"], signature="")

    # The house answer for every unverified delivery (docs/webhooks.md): 401 invalid_signature.
    assert (bad.status, missing.status) == (401, 401)
    assert json.loads(bad.error)["code"] == "invalid_signature"
    rejected = events(tenant).order_by("pk")
    assert [(e.state, e.event_id, e.error) for e in rejected] == [
        ("rejected", "", "signature does not verify"),
        ("rejected", "", "no X-Shopify-Hmac-Sha256 header"),
    ]
    assert not orders(tenant).exists()


@committing
def test_a_signed_body_that_is_not_json_is_kept_as_rejected_with_the_reason(world, fake):
    tenant, _ = world
    body = b"{not json"
    fake.orders["1"] = {}
    [delivery] = fake.deliver("orders/create", "1", body=body, signature=shopify_sign(SECRET, body))

    assert delivery.status == 400 and json.loads(delivery.error)["code"] == "malformed_payload"
    event = events(tenant).get()
    assert (event.state, event.error) == ("rejected", "malformed: not JSON (JSONDecodeError)")


@committing
def test_an_unmapped_sku_keeps_the_order_on_hold_until_it_is_mapped(world, fake):
    from integrations.ingest import UNMAPPED_SKU_CODE, sku_mapping_save
    from inventory.models import SKU

    tenant, account = world
    shop_order = fake.create_order(
        line_items=[
            {"sku": "SHOE-1", "quantity": 1, "price": "49.50"},
            {"sku": "shoe-blue-42", "quantity": 2, "price": "55.00", "variant_id": 4242},
        ],
        notify=True,
    )

    order = orders(tenant).get()
    assert order.state == OrderState.ON_HOLD
    hold = Hold.objects.for_tenant(tenant).get(order=order)
    assert (hold.kind, hold.reason) == (HoldKind.UNMAPPED_SKU, "Channel SKU(s) not mapped: shoe-blue-42")
    assert [line.sku.code for line in order.lines.all()] == ["SHOE-1", UNMAPPED_SKU_CODE]
    assert str(order.total) == shop_order["total_price"]

    sku_mapping_save(
        account=account, sku=SKU.objects.for_tenant(tenant).get(code="SOCK-2"), channel_variant_id="4242"
    )

    order.refresh_from_db()
    assert order.state == OrderState.ALLOCATED
    assert [(line.sku.code, line.quantity_allocated) for line in order.lines.all()] == [
        ("SHOE-1", 1),
        ("SOCK-2", 2),
    ]


@committing
def test_a_cancellation_cancels_an_unshipped_order(world, fake):
    tenant, _ = world
    shop_order = fake.create_order(
        line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}], notify=True
    )

    fake.cancel_order(shop_order["id"], reason="customer")

    order = orders(tenant).get()
    assert order.state == OrderState.CANCELLED
    assert order.cancel_reason == "Cancelled at Shopify: customer"
    assert ChannelOrder.objects.for_tenant(tenant).get().state == "cancelled"


@committing
def test_an_address_change_before_fulfillment_is_applied(world, fake):
    tenant, _ = world
    shop_order = fake.create_order(
        line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}], notify=True
    )

    fake.update_order(shop_order["id"], shipping_address={"address1": "1 Main St", "zip": "78702"})

    order = orders(tenant).select_related("ship_to").get()
    assert (order.ship_to.line1, order.ship_to.postal_code) == ("1 Main St", "78702")
    assert order.state == OrderState.ALLOCATED


@committing
def test_a_delivery_for_another_tenants_account_makes_nothing_there(fake, live_server):
    tenant_a, tenant_b = TenantFactory(slug="shop-x"), TenantFactory(slug="shop-y")
    account_a = shopify_world(tenant_a, fake)
    shopify_world(tenant_b, fake, secret="shpss_other")
    # The fake signs with tenant B's secret but posts to tenant A's URL.
    fake.add_webhook(live_server.url + account_a.webhook_path, secret="shpss_other")
    shop_order = fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])

    [delivery] = fake.deliver("orders/create", shop_order["id"])

    assert delivery.status == 401
    assert not Order.objects.for_tenant(tenant_a).exists() and not Order.objects.for_tenant(tenant_b).exists()
    assert events(tenant_a).get().state == "rejected" and not events(tenant_b).exists()
