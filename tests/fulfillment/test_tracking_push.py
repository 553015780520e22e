"""On ship, the tracking goes to the order's channel through its ChannelGateway, once."""

from __future__ import annotations

import pytest

from fulfillment.models import Shipment, ShipmentNotification
from fulfillment.notifications import NotificationRetry
from fulfillment.tasks import shipment_tracking_push_task
from orders.channels import (
    ChannelGateway,
    ChannelLine,
    ChannelRefused,
    ChannelUnavailable,
    TrackingPush,
    register_channel_gateway,
    unregister_channel_gateway,
)
from orders.models import OrderEvent
from orders.states import OrderEventType
from tests.fulfillment.shipped import shipped_order


class Marketplace:
    """An in-memory channel: remembers pushes, can fail the next ones."""

    channel = "shopify"

    def __init__(self):
        self.pushes: list[TrackingPush] = []
        self.failures: list[Exception] = []
        self.tenants: list[int] = []

    def push_tracking(self, *, push):
        if self.failures:
            raise self.failures.pop(0)
        self.pushes.append(push)

    def push_cancellation(self, *, push):
        raise AssertionError("not expected")


@pytest.fixture
def marketplace():
    gateway = Marketplace()

    def factory(tenant):
        gateway.tenants.append(tenant.pk)
        return gateway

    register_channel_gateway("shopify", factory)
    yield gateway
    unregister_channel_gateway("shopify")


def push(shipment):
    shipment_tracking_push_task(tenant_id=shipment.tenant_id, shipment_id=shipment.pk)


def row_of(shipment):
    return ShipmentNotification.objects.for_tenant(shipment.tenant_id).get(
        shipment=shipment, kind="channel_tracking"
    )


def test_the_gateway_speaks_the_protocol(marketplace):
    assert isinstance(marketplace, ChannelGateway)


def test_a_marketplace_order_gets_its_tracking_pushed_once(tenant_a, marketplace):
    order, (shipment,) = shipped_order(tenant_a, channel="shopify", tracking_url="https://t.example/1")

    push(shipment)
    push(shipment)

    assert marketplace.pushes == [
        TrackingPush(
            reference=shipment.number,
            order_external_id=order.external_id,
            carrier="USPS",
            tracking_number=shipment.tracking_number,
            tracking_url="https://t.example/1",
            lines=(ChannelLine(order_line_id=order.lines.get().pk, sku="TRK-1", quantity=1),),
        )
    ]
    assert marketplace.tenants == [tenant_a.pk]
    row = row_of(shipment)
    assert (row.state, row.recipient) == ("sent", "shopify")
    assert (
        OrderEvent.objects.for_tenant(tenant_a)
        .filter(order=order, type=OrderEventType.NOTE, message="Tracking pushed to shopify")
        .exists()
    )


@pytest.mark.parametrize("channel", ["api", "web", "etsy"])
def test_storefront_and_unknown_channels_are_recorded_as_skipped(tenant_a, marketplace, channel):
    _, (shipment,) = shipped_order(tenant_a, channel=channel)

    push(shipment)

    row = row_of(shipment)
    assert (row.state, row.recipient) == ("skipped", channel)
    assert row.detail == f"Nothing is pushed to the {channel!r} channel."
    assert marketplace.pushes == []


def test_a_channel_outage_is_retried_and_pushes_once_it_is_back(tenant_a, marketplace):
    _, (shipment,) = shipped_order(tenant_a, channel="shopify")
    marketplace.failures.append(ChannelUnavailable("503 from the channel"))

    with pytest.raises(NotificationRetry):
        push(shipment)

    row = row_of(shipment)
    assert (row.state, row.claimed_at) == ("pending", None)
    assert "503 from the channel" in row.detail

    push(shipment)

    assert len(marketplace.pushes) == 1
    assert row_of(shipment).state == "sent"


def test_a_refusal_is_final_and_shown_on_the_order(tenant_a, marketplace):
    order, (shipment,) = shipped_order(tenant_a, channel="shopify")
    marketplace.failures.append(ChannelRefused("The order is not open on the channel."))

    push(shipment)
    push(shipment)

    row = row_of(shipment)
    assert (row.state, row.detail) == ("failed", "The order is not open on the channel.")
    assert marketplace.pushes == []
    assert (
        OrderEvent.objects.for_tenant(tenant_a)
        .filter(
            order=order,
            message="The shopify channel refused the tracking: The order is not open on the channel.",
        )
        .exists()
    )


def test_the_push_task_with_another_tenants_shipment_finds_nothing(tenant_a, tenant_b, marketplace):
    _, (shipment,) = shipped_order(tenant_a, channel="shopify")

    with pytest.raises(Shipment.DoesNotExist):
        shipment_tracking_push_task(tenant_id=tenant_b.pk, shipment_id=shipment.pk)

    assert marketplace.pushes == []
    assert not ShipmentNotification.objects.unscoped().exists()
