"""Tracking pushed back to eBay as shipping fulfillments, over real HTTP to the fake eBay: once per
shipment, also when the task runs again after the push; cancellations are refused with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from fulfillment.models import Shipment, ShipmentLine, ShipmentNotification
from fulfillment.notifications import NotificationRetry, shipment_tracking_push
from fulfillment.states import ShipmentState
from integrations.ebay.events import marketplace_order_from_ebay
from integrations.ebay.gateway import EbayGateway, ebay_gateway_for
from integrations.ingest import channel_cancellation_push, marketplace_order_ingest
from integrations.models import ChannelOrder, RateBucket
from inventory.models import Warehouse
from orders.channels import CancellationPush, ChannelLine, ChannelRefused, ChannelUnavailable, TrackingPush
from orders.services import order_record_shipment
from tests.integrations.channels import push, row_of
from tests.integrations.test_ebay import ebay_world, fake_ebay
from tests.oms.factories import TenantFactory

SHIPPED_AT = datetime(2026, 7, 16, 15, 30, 12, 345000, tzinfo=UTC)


@pytest.fixture
def fake():
    with fake_ebay() as ebay:
        yield ebay


@pytest.fixture
def account(db, fake):
    return ebay_world(TenantFactory(slug="bay-push"), fake)


def ingest(account, fake, items):
    ebay_order = fake.create_order(line_items=items)
    outcome = marketplace_order_ingest(account=account, incoming=marketplace_order_from_ebay(ebay_order))
    return ebay_order, outcome.order


def ship(order, lines, *, n=1, carrier="USPS", tracking=None):
    """Record a shipment of `lines` ({order line: units}) as the ship service leaves it."""
    tenant = order.tenant
    number = f"S-{order.number}-{n}"
    tracking = tracking or f"9400{order.pk:08d}{n:04d}"
    order_record_shipment(
        tenant=tenant,
        order_id=order.pk,
        reference=number,
        quantities={line.pk: qty for line, qty in lines.items()},
        carrier=carrier,
        tracking_number=tracking,
    )
    shipment = Shipment.objects.create(
        tenant=tenant,
        order=order,
        warehouse=Warehouse.objects.for_tenant(tenant).get(),
        number=number,
        state=ShipmentState.SHIPPED,
        carrier=carrier,
        service="usps_priority",
        tracking_number=tracking,
        shipped_at=SHIPPED_AT,
    )
    for line, qty in lines.items():
        ShipmentLine.objects.create(
            tenant=tenant, shipment=shipment, order_line=line, sku=line.sku, quantity=qty
        )
    return shipment


def creates(fake):
    return [c for c in fake.calls if c[0] == "POST" and c[1].endswith("/shipping_fulfillment")]


def test_a_shipment_becomes_one_ebay_fulfillment_with_its_tracking(account, fake):
    ebay_order, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 2, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 2})

    push(shipment)
    push(shipment)

    [fulfillment] = fake.fulfillments_of(ebay_order["orderId"])
    assert fulfillment == {
        "fulfillmentId": shipment.tracking_number,
        "lineItems": [{"lineItemId": ebay_order["lineItems"][0]["lineItemId"], "quantity": 2}],
        "shippedDate": "2026-07-16T15:30:12.345Z",
        "shipmentTrackingNumber": shipment.tracking_number,
        "shippingCarrierCode": "USPS",
    }
    assert fake.orders[ebay_order["orderId"]]["orderFulfillmentStatus"] == "FULFILLED"
    assert (row_of(shipment).state, row_of(shipment).recipient) == ("sent", "ebay")
    assert len(creates(fake)) == 1  # the second run found the row sent and asked nothing


def test_a_task_run_again_after_the_push_finds_the_fulfillment_there(account, fake):
    ebay_order, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 1})
    push(shipment)
    # The worker died after eBay took the fulfillment and before the row was marked sent:
    # its lease ran out and the row is pending again.
    ShipmentNotification.objects.for_tenant(shipment.tenant_id).filter(pk=row_of(shipment).pk).update(
        state="pending", claimed_at=None, sent_at=None
    )

    push(shipment)

    assert len(fake.fulfillments_of(ebay_order["orderId"])) == 1
    assert len(creates(fake)) == 1
    assert row_of(shipment).state == "sent"


def test_two_shipments_are_two_fulfillments_of_their_own_line_items(account, fake):
    ebay_order, order = ingest(
        account,
        fake,
        [
            {"sku": "SHOE-1", "quantity": 1, "price": "49.50"},
            {"sku": "SOCK-2", "quantity": 3, "price": "9.00"},
        ],
    )
    shoe, sock = order.lines.order_by("position")
    shoe_item, sock_item = (i["lineItemId"] for i in ebay_order["lineItems"])
    first = ship(order, {shoe: 1, sock: 1}, n=1, carrier="UPS", tracking="1Z 999-AA1 0123456784")
    second = ship(order, {sock: 2}, n=2)

    push(first)
    push(second)

    fulfillments = fake.fulfillments_of(ebay_order["orderId"])
    assert [(f["shipmentTrackingNumber"], f["shippingCarrierCode"]) for f in fulfillments] == [
        ("1Z999AA10123456784", "UPS"),  # eBay takes letters and digits only
        (second.tracking_number, "USPS"),
    ]
    assert [f["lineItems"] for f in fulfillments] == [
        [{"lineItemId": shoe_item, "quantity": 1}, {"lineItemId": sock_item, "quantity": 1}],
        [{"lineItemId": sock_item, "quantity": 2}],
    ]
    assert fake.orders[ebay_order["orderId"]]["orderFulfillmentStatus"] == "FULFILLED"


def test_ebay_down_leaves_the_push_for_a_retry(account, fake):
    ebay_order, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 1})
    fake.fail_next(1, status=503, path="/sell/fulfillment")

    with pytest.raises(NotificationRetry):
        shipment_tracking_push(tenant_id=shipment.tenant_id, shipment_id=shipment.pk)
    assert row_of(shipment).state == "pending" and fake.fulfillments_of(ebay_order["orderId"]) == []

    shipment_tracking_push(tenant_id=shipment.tenant_id, shipment_id=shipment.pk)
    assert row_of(shipment).state == "sent" and len(fake.fulfillments_of(ebay_order["orderId"])) == 1


def tracking_push(order, number="94001"):
    line = order.lines.get()
    return TrackingPush(
        reference="S-1",
        order_external_id=order.external_id,
        carrier="USPS",
        tracking_number=number,
        tracking_url="",
        lines=(ChannelLine(order_line_id=line.pk, sku=line.sku.code, quantity=line.quantity),),
    )


def test_a_429_on_the_push_is_unavailable_and_paced_and_a_revoked_token_is_a_refusal(account, fake):
    _, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    fake.fail_next(1, status=429, path="/sell/fulfillment")

    with pytest.raises(ChannelUnavailable, match="429"):
        EbayGateway(account.tenant).push_tracking(push=tracking_push(order))
    with pytest.raises(ChannelUnavailable, match="call budget is spent"):  # the bucket waits first
        EbayGateway(account.tenant).push_tracking(push=tracking_push(order))

    RateBucket.objects.for_tenant(account.tenant_id).update(
        refreshed_at=timezone.now() - timedelta(seconds=60)
    )
    fake.revoke_refresh_token()
    with pytest.raises(ChannelRefused, match="invalid_grant"):
        EbayGateway(account.tenant).push_tracking(push=tracking_push(order))
    assert not creates(fake)


def test_an_order_ebay_does_not_know_is_a_refusal_recorded_on_the_shipment(account, fake):
    ebay_order, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 1})
    with fake.lock:
        fake.orders.pop(ebay_order["orderId"])

    push(shipment)

    row = row_of(shipment)
    assert row.state == "failed"
    assert (
        row.detail
        == f"eBay getShippingFulfillments answered 404: Order {ebay_order['orderId']} was not found."
    )


def test_a_cancellation_is_refused_with_the_reason_and_noted_for_staff(account, fake):
    _, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    refused = CancellationPush(
        reference=order.number, order_external_id=order.external_id, reason="Oversold", lines=()
    )

    with pytest.raises(ChannelRefused, match="cancel it in Seller Hub"):
        EbayGateway(account.tenant).push_cancellation(push=refused)
    outcome = channel_cancellation_push(tenant=account.tenant_id, order_id=order.pk)

    assert outcome.startswith("The channel refused the cancellation: eBay order")
    channel_order = ChannelOrder.objects.for_tenant(account.tenant_id).get()
    assert channel_order.attention.startswith("The channel refused the cancellation")
    assert not [c for c in fake.calls if c[0] == "POST"]  # nothing was sent to eBay


def test_each_tenant_pushes_through_its_own_account_only(account, fake):
    ebay_order, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    other = TenantFactory(slug="bay-other")
    assert ebay_gateway_for(other) is None  # no eBay account: nothing is pushed for its orders
    with fake_ebay() as other_fake:
        ebay_world(other, other_fake)
        theirs = tracking_push(order, "94009")
        # Tenant B names tenant A's eBay order and order line: B's own account knows neither.
        with pytest.raises(ChannelRefused, match="no eBay line item is known"):
            ebay_gateway_for(other).push_tracking(push=theirs)
    assert fake.fulfillments_of(ebay_order["orderId"]) == [] and other_fake.calls == []
