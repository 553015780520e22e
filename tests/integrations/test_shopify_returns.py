"""Shopify `returns/request` over real HTTP: the fake shop signs and POSTs the Return to our live
server, which opens a return on the order we took from Shopify. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from fulfillment.models import Shipment
from fulfillment.services import order_release_to_warehouse, shipment_ship
from integrations.models import InboundEvent
from integrations.shopify.fake_server import FakeShopify
from integrations.shopify.returns import shopify_reason
from orders.models import Order
from returns.models import ReturnRequest
from tests.integrations.test_shopify import TOKEN, shopify_world
from tests.oms.factories import TenantFactory
from tests.returns.factories import deliver

committing = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fake():
    shop = FakeShopify(access_token=TOKEN).start()
    yield shop
    shop.stop()


@pytest.fixture
def world(fake, live_server):
    tenant = TenantFactory(slug="shop-r")
    return tenant, shopify_world(tenant, fake, live_url=live_server.url)


def shipped_shop_order(tenant, fake, lines=(("SHOE-1", 2), ("SOCK-2", 1))):
    """A Shopify order taken through orders/create, released and shipped here: (shop order, ours)."""
    shop_order = fake.create_order(
        line_items=[{"sku": sku, "quantity": qty, "price": "20.00"} for sku, qty in lines]
    )
    [delivery] = fake.deliver("orders/create", shop_order["id"])
    assert delivery.status == 200
    order = Order.objects.for_tenant(tenant).get(channel="shopify", external_id=str(shop_order["id"]))
    order_release_to_warehouse(tenant=tenant, order_id=order.pk, actor="test")
    for shipment in Shipment.objects.for_tenant(tenant).filter(order=order):
        shipment_ship(
            tenant=tenant, shipment_id=shipment.pk, carrier="USPS", tracking_number="9400111", actor="test"
        )
    order.refresh_from_db()
    return shop_order, order


def item_id(shop_order, sku):
    return next(item["id"] for item in shop_order["line_items"] if item["sku"] == sku)


def return_events(tenant):
    return InboundEvent.objects.for_tenant(tenant).filter(source="shopify", event_type="returns/request")


def returns(tenant):
    return ReturnRequest.objects.for_tenant(tenant)


@committing
def test_a_signed_return_request_opens_one_return_even_when_delivered_twice(world, fake):
    tenant, _ = world
    shop_order, order = shipped_shop_order(tenant, fake)

    shop_return = fake.request_return(
        shop_order["id"],
        [(item_id(shop_order, "SHOE-1"), 1, "size_too_small"), (item_id(shop_order, "SOCK-2"), 1, "color")],
        customer_note="Too tight",
        times=2,
    )
    # Shopify may also send the same Return again as a new event.
    fake.deliver("returns/request", shop_order["id"], body=fake.return_body(shop_return["id"]))

    assert [d.status for d in fake.deliveries if d.topic == "returns/request"] == [200, 200, 200]
    ret = returns(tenant).get()
    assert (ret.order_id, ret.source, ret.external_id) == (order.pk, "shopify", str(shop_return["id"]))
    assert (ret.state, ret.resolution, ret.customer_note) == ("requested", "refund", "Too tight")
    assert sorted((line.sku.code, line.quantity, line.reason) for line in ret.lines.all()) == [
        ("SHOE-1", 1, "wrong_size"),
        ("SOCK-2", 1, "other"),
    ]
    first, second = return_events(tenant).order_by("pk")
    assert first.deliveries == 2
    assert (first.state, first.outcome) == (
        "processed",
        f"return opened {ret.rma_number} for Shopify return {shop_return['name']}",
    )
    assert (second.state, second.outcome) == (
        "processed",
        f"return already open: {ret.rma_number} for Shopify return {shop_return['name']}",
    )


@committing
def test_a_return_for_an_order_we_never_took_is_kept_failed_with_the_reason(world, fake):
    tenant, _ = world
    stranger = fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1}])

    fake.request_return(stranger["id"], [(stranger["line_items"][0]["id"], 1, "defective")])

    event = return_events(tenant).get()
    assert event.state == "failed"
    assert event.error == (
        f"ShopifyReturnInvalid: Shopify order {stranger['id']} is not an order we imported"
    )
    assert not returns(tenant).exists()


@committing
def test_a_line_item_that_is_not_on_our_order_is_kept_failed_with_the_reason(world, fake):
    tenant, _ = world
    shop_order, _ = shipped_shop_order(tenant, fake)

    fake.request_return(shop_order["id"], [(424242, 1, "defective")])

    event = return_events(tenant).get()
    assert event.state == "failed"
    assert event.error == (
        f"ShopifyReturnInvalid: line item 424242 is not a mapped line of Shopify order {shop_order['id']}"
    )
    assert not returns(tenant).exists()


@committing
def test_a_return_outside_the_window_is_processed_as_refused_not_retried(world, fake):
    tenant, _ = world
    shop_order, order = shipped_shop_order(tenant, fake)
    deliver(order, days_ago=45)

    fake.request_return(shop_order["id"], [(item_id(shop_order, "SHOE-1"), 1, "defective")])

    event = return_events(tenant).get()
    assert (event.state, event.attempts) == ("processed", 1)
    assert event.outcome.startswith("refused ") and "outside_return_window" in event.outcome
    assert not returns(tenant).exists()


@committing
def test_more_units_than_shipped_is_processed_as_refused(world, fake):
    tenant, _ = world
    shop_order, _ = shipped_shop_order(tenant, fake)

    fake.request_return(shop_order["id"], [(item_id(shop_order, "SHOE-1"), 3, "unwanted")])

    event = return_events(tenant).get()
    assert event.state == "processed"
    assert "quantity_exceeds_returnable: SHOE-1: 3 asked, 2 can still be returned" in event.outcome
    assert not returns(tenant).exists()


@committing
def test_another_tenants_secret_or_account_cannot_open_a_return_on_this_tenants_order(fake, live_server):
    tenant_a, tenant_b = TenantFactory(slug="shop-ra"), TenantFactory(slug="shop-rb")
    account_a = shopify_world(tenant_a, fake, live_url=live_server.url)
    shop_order, _ = shipped_shop_order(tenant_a, fake)
    account_b = shopify_world(tenant_b, fake, secret="shpss_other")
    fake.hooks.clear()
    # B's secret on A's URL: refused before anything is read.
    fake.add_webhook(live_server.url + account_a.webhook_path, secret="shpss_other")
    # B's own account, signed right, naming A's Shopify order: B never took that order.
    fake.add_webhook(live_server.url + account_b.webhook_path, secret="shpss_other")

    fake.request_return(shop_order["id"], [(item_id(shop_order, "SHOE-1"), 1, "defective")])

    # (Tests run the inbox task eagerly, so B's failed event also fails B's response; in
    # production the task runs after the 200.)
    assert next(d.status for d in fake.deliveries if d.topic == "returns/request") == 401
    assert InboundEvent.objects.for_tenant(tenant_a).filter(state="rejected").count() == 1
    event_b = return_events(tenant_b).get()
    assert event_b.state == "failed" and "is not an order we imported" in event_b.error
    assert not ReturnRequest.objects.for_tenant(tenant_a).exists()
    assert not ReturnRequest.objects.for_tenant(tenant_b).exists()


def test_shopify_reasons_map_to_ours_and_unknown_ones_to_other():
    assert [
        shopify_reason(r)
        for r in (
            "DEFECTIVE",
            "wrong_item",
            "not_as_described",
            "size_too_large",
            "unwanted",
            "style",
            "new",
            None,
        )
    ] == [
        "defective",
        "wrong_item",
        "not_as_described",
        "wrong_size",
        "no_longer_needed",
        "other",
        "other",
        "other",
    ]
