"""Tracking pushed back to Shopify through the fulfillment-order model, over real HTTP to the fake
shop's GraphQL Admin API: once per shipment, also when the task runs again after the push."""

from __future__ import annotations

import pytest

from fulfillment.models import ShipmentNotification
from fulfillment.notifications import NotificationRetry, shipment_tracking_push
from integrations.ingest import marketplace_order_ingest
from integrations.models import ChannelOrder
from integrations.shopify.events import marketplace_order_from_shopify
from integrations.shopify.fake_server import FakeShopify
from integrations.shopify.gateway import ShopifyGateway, shopify_gateway_for
from orders.channels import (
    CancellationPush,
    ChannelRefused,
    ChannelUnavailable,
    TrackingPush,
    register_channel_gateway,
)
from orders.states import OrderState
from tests.integrations.channels import push, row_of, ship
from tests.integrations.test_shopify import TOKEN, shopify_world
from tests.oms.factories import TenantFactory

committing = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _shopify_registered():
    # Other tests register an in-memory "shopify" gateway and remove it after; ours is the app's.
    register_channel_gateway("shopify", shopify_gateway_for)


@pytest.fixture
def fake():
    shop = FakeShopify(access_token=TOKEN).start()
    yield shop
    shop.stop()


@pytest.fixture
def tenant(db):
    return TenantFactory(slug="push-a")


@pytest.fixture
def account(tenant, fake):
    return shopify_world(tenant, fake)


def ingest(account, fake, items):
    shop_order = fake.create_order(line_items=items)
    outcome = marketplace_order_ingest(account=account, incoming=marketplace_order_from_shopify(shop_order))
    return shop_order, outcome.order


def test_a_shipment_is_fulfilled_at_shopify_with_its_tracking_once(account, fake):
    shop_order, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 2, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 2})

    push(shipment)
    push(shipment)

    [fulfillment] = fake.fulfillments_of(shop_order["id"])
    assert fulfillment["trackingInfo"] == [
        {"number": shipment.tracking_number, "company": "USPS", "url": fulfillment["trackingInfo"][0]["url"]}
    ]
    assert fulfillment["notifyCustomer"] is False
    [fo] = fake.fulfillment_orders[str(shop_order["id"])]
    assert fo["status"] == "CLOSED" and fo["lineItems"][0]["remainingQuantity"] == 0
    assert fake.orders[str(shop_order["id"])]["fulfillment_status"] == "fulfilled"
    assert (row_of(shipment).state, row_of(shipment).recipient) == ("sent", "shopify")
    graphql = [r for r in fake.requests if r["path"].endswith("/graphql.json")]
    assert len(graphql) == 2  # one look-up and one fulfillmentCreate; the rerun asked nothing


def test_a_task_run_again_after_the_push_finds_the_tracking_there(account, fake):
    shop_order, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 1})
    push(shipment)
    # The worker died after Shopify took the fulfillment and before the row was marked sent:
    # its lease ran out and the row is pending again.
    ShipmentNotification.objects.for_tenant(shipment.tenant_id).filter(pk=row_of(shipment).pk).update(
        state="pending", claimed_at=None, sent_at=None
    )

    push(shipment)

    assert len(fake.fulfillments_of(shop_order["id"])) == 1
    assert row_of(shipment).state == "sent"


def test_two_shipments_of_one_order_are_two_fulfillments_of_their_own_lines(account, fake):
    shop_order, order = ingest(
        account,
        fake,
        [
            {"sku": "SHOE-1", "quantity": 1, "price": "49.50"},
            {"sku": "SOCK-2", "quantity": 3, "price": "9.00"},
        ],
    )
    shoe, sock = order.lines.order_by("position")
    first = ship(order, {shoe: 1, sock: 1}, n=1)
    second = ship(order, {sock: 2}, n=2)

    push(first)
    push(second)

    fulfillments = fake.fulfillments_of(shop_order["id"])
    assert [f["trackingInfo"][0]["number"] for f in fulfillments] == [
        first.tracking_number,
        second.tracking_number,
    ]
    assert [[item["quantity"] for item in f["lineItems"]] for f in fulfillments] == [[1, 1], [2]]
    assert fake.fulfillment_orders[str(shop_order["id"])][0]["status"] == "CLOSED"


def test_shopify_down_leaves_the_push_for_a_retry(account, fake):
    shop_order, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 1})
    fake.fail_next(1, status=503)

    with pytest.raises(NotificationRetry):
        shipment_tracking_push(tenant_id=shipment.tenant_id, shipment_id=shipment.pk)
    assert row_of(shipment).state == "pending" and fake.fulfillments_of(shop_order["id"]) == []

    shipment_tracking_push(tenant_id=shipment.tenant_id, shipment_id=shipment.pk)
    assert row_of(shipment).state == "sent" and len(fake.fulfillments_of(shop_order["id"])) == 1


def test_an_order_shopify_does_not_know_is_a_refusal(account, fake):
    gateway = ShopifyGateway(account.tenant)
    refused = TrackingPush(
        reference="S-1",
        order_external_id="999",
        carrier="USPS",
        tracking_number="1",
        tracking_url="",
        lines=(),
    )
    with pytest.raises(ChannelRefused, match="no order 999"):
        gateway.push_tracking(push=refused)


def test_a_wrong_access_token_is_a_refusal_and_a_dead_shop_is_unavailable(account, fake):
    _, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    attempt = TrackingPush(
        reference="S-1",
        order_external_id=order.external_id,
        carrier="USPS",
        tracking_number="1",
        tracking_url="",
        lines=(),
    )
    account.credentials = "shpat_wrong"
    account.save()
    with pytest.raises(ChannelRefused, match="401"):
        ShopifyGateway(account.tenant).push_tracking(push=attempt)
    fake.stop()
    with pytest.raises(ChannelUnavailable):
        ShopifyGateway(account.tenant).push_tracking(push=attempt)


@committing
def test_a_tenant_without_a_shopify_account_gets_nothing_pushed(fake):
    tenant_a, tenant_b = TenantFactory(slug="push-x"), TenantFactory(slug="push-y")
    shopify_world(tenant_a, fake)
    assert shopify_gateway_for(tenant_b) is None
    assert isinstance(shopify_gateway_for(tenant_a), ShopifyGateway)


def cancellation(order, reason="out of stock"):
    return CancellationPush(
        reference=order.number, order_external_id=order.external_id, reason=reason, lines=()
    )


def test_a_cancellation_is_pushed_to_shopify_once(account, fake):
    shop_order, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    gateway = ShopifyGateway(account.tenant)

    gateway.push_cancellation(push=cancellation(order))
    gateway.push_cancellation(push=cancellation(order))

    cancelled = fake.orders[str(shop_order["id"])]
    assert cancelled["cancelled_at"] and cancelled["cancel_reason"] == "inventory"
    assert cancelled["note"] == f"{order.number}: out of stock"
    assert fake.fulfillment_orders[str(shop_order["id"])][0]["status"] == "CANCELLED"
    mutations = [r for r in fake.requests if "orderCancel(" in r["body"]["query"]]
    assert len(mutations) == 1  # the second push found it cancelled


def test_a_fulfilled_order_cannot_be_cancelled_at_shopify(account, fake):
    shop_order, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    push(ship(order, {order.lines.get(): 1}))

    with pytest.raises(ChannelRefused, match="already cancelled or has fulfillments"):
        ShopifyGateway(account.tenant).push_cancellation(push=cancellation(order, "customer asked"))
    assert fake.orders[str(shop_order["id"])]["cancelled_at"] is None


def test_an_oversold_order_is_backordered_by_default(account, fake):
    _, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 60, "price": "49.50"}])

    order.refresh_from_db()
    assert order.state == OrderState.PARTIALLY_ALLOCATED
    assert "Oversold at the channel: kept as a backorder." in [
        n["text"] for n in ChannelOrder.objects.for_tenant(order.tenant_id).get().notes
    ]


@committing
def test_an_oversold_order_is_cancelled_here_and_at_shopify_by_the_cancel_rule(fake):
    tenant = TenantFactory(slug="oversell")
    account = shopify_world(tenant, fake)
    account.oversell_rule = "cancel"
    account.save()

    shop_order, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 60, "price": "49.50"}])

    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED
    assert order.cancel_reason == "Oversold: not enough stock for this channel order"
    assert fake.orders[str(shop_order["id"])]["cancel_reason"] == "inventory"
    row = ChannelOrder.objects.for_tenant(tenant).get()
    assert (
        row.attention.startswith("Oversold")
        and row.notes[-1]["text"] == "Cancellation pushed to the channel."
    )
