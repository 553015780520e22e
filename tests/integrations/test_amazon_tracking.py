"""Tracking confirmed at Amazon (confirmShipment) over real HTTP to the fake SP-API: once per
shipment, also when the task runs again after the push; cancellations are refused with the reason."""

from __future__ import annotations

import pytest

from fulfillment.models import Shipment, ShipmentLine, ShipmentNotification
from fulfillment.notifications import NotificationRetry, shipment_tracking_push
from fulfillment.states import ShipmentState
from integrations.amazon.events import marketplace_order_from_amazon
from integrations.amazon.fake_server import FakeAmazon
from integrations.amazon.gateway import AmazonGateway, amazon_gateway_for, carrier_code
from integrations.ingest import channel_cancellation_push, marketplace_order_ingest
from integrations.models import ChannelOrder, OversellRule
from inventory.models import Warehouse
from orders.channels import CancellationPush, ChannelRefused, TrackingPush, register_channel_gateway
from orders.services import order_record_shipment
from orders.states import OrderState
from tests.integrations.channels import push, row_of
from tests.integrations.test_amazon import amazon_world
from tests.oms.factories import TenantFactory

ORDERS_PATH = "/orders/2026-01-01/orders"


@pytest.fixture(autouse=True)
def _amazon_registered():
    # Other tests may register an in-memory gateway for a channel; ours is the app's.
    register_channel_gateway("amazon", amazon_gateway_for)


@pytest.fixture
def fake():
    amazon = FakeAmazon().start()
    yield amazon
    amazon.stop()


@pytest.fixture
def tenant(db):
    return TenantFactory(slug="amz-push")


@pytest.fixture
def account(tenant, fake):
    return amazon_world(tenant, fake)


def ingest(account, fake, items):
    placed = fake.create_order(items=items)
    outcome = marketplace_order_ingest(account=account, incoming=marketplace_order_from_amazon(placed))
    return placed, outcome.order


def ship(order, lines, *, n=1, carrier="usps"):
    """Record a shipment of `lines` ({order line: units}) as the ship service leaves it."""
    tenant = order.tenant
    number = f"S-{order.number}-{n}"
    tracking = f"9400{order.pk:08d}{n:04d}"
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
    )
    for line, qty in lines.items():
        ShipmentLine.objects.create(
            tenant=tenant, shipment=shipment, order_line=line, sku=line.sku, quantity=qty
        )
    return shipment


def confirms(fake, order_id):
    return [c for c in fake.calls if c == ("POST", f"/orders/v0/orders/{order_id}/shipmentConfirmation")]


def test_a_shipment_is_confirmed_at_amazon_with_its_tracking_once(account, fake):
    placed, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 2, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 2})

    push(shipment)
    push(shipment)

    [package] = fake.packages_of(placed["orderId"])
    assert (package["packageReferenceId"], package["trackingNumber"], package["carrierCode"]) == (
        str(shipment.pk),
        shipment.tracking_number,
        "USPS",
    )
    assert package["packageItems"] == [{"orderItemId": placed["orderItems"][0]["orderItemId"], "quantity": 2}]
    [body] = fake.confirmations
    assert body["marketplaceId"] == placed["salesChannel"]["marketplaceId"]
    assert fake.orders[placed["orderId"]]["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert (row_of(shipment).state, row_of(shipment).recipient) == ("sent", "amazon")
    assert len(confirms(fake, placed["orderId"])) == 1  # the second run found the row sent and asked nothing


def test_a_task_run_again_after_the_push_finds_the_package_there(account, fake):
    placed, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 1})
    push(shipment)
    # The worker died after Amazon took the confirmation and before the row was marked sent:
    # its lease ran out and the row is pending again.
    ShipmentNotification.objects.for_tenant(shipment.tenant_id).filter(pk=row_of(shipment).pk).update(
        state="pending", claimed_at=None, sent_at=None
    )

    push(shipment)

    assert len(fake.packages_of(placed["orderId"])) == 1
    assert len(confirms(fake, placed["orderId"])) == 1
    assert fake.calls.count(("GET", f"{ORDERS_PATH}/{placed['orderId']}")) == 2
    assert row_of(shipment).state == "sent"


def test_two_shipments_of_one_order_are_two_packages_of_their_own_items(account, fake):
    placed, order = ingest(
        account,
        fake,
        [
            {"sku": "SHOE-1", "quantity": 1, "price": "49.50"},
            {"sku": "SOCK-2", "quantity": 3, "price": "9.00"},
        ],
    )
    shoe, sock = order.lines.order_by("position")
    first = ship(order, {shoe: 1, sock: 1}, n=1)
    second = ship(order, {sock: 2}, n=2, carrier="FedEx")
    shoe_item, sock_item = (i["orderItemId"] for i in placed["orderItems"])

    push(first)
    assert fake.orders[placed["orderId"]]["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
    push(second)

    packages = fake.packages_of(placed["orderId"])
    assert [(p["trackingNumber"], p["carrierCode"]) for p in packages] == [
        (first.tracking_number, "USPS"),
        (second.tracking_number, "FedEx"),
    ]
    assert [p["packageItems"] for p in packages] == [
        [{"orderItemId": shoe_item, "quantity": 1}, {"orderItemId": sock_item, "quantity": 1}],
        [{"orderItemId": sock_item, "quantity": 2}],
    ]
    assert fake.orders[placed["orderId"]]["fulfillment"]["fulfillmentStatus"] == "SHIPPED"


def test_amazon_down_leaves_the_push_for_a_retry(account, fake):
    placed, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 1})
    fake.fail_next(1, status=503, path="/orders/v0/")

    with pytest.raises(NotificationRetry):
        shipment_tracking_push(tenant_id=shipment.tenant_id, shipment_id=shipment.pk)
    assert row_of(shipment).state == "pending" and fake.packages_of(placed["orderId"]) == []

    shipment_tracking_push(tenant_id=shipment.tenant_id, shipment_id=shipment.pk)
    assert row_of(shipment).state == "sent" and len(fake.packages_of(placed["orderId"])) == 1


def test_a_confirmation_amazon_refuses_is_recorded_as_failed(account, fake):
    placed, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 1})
    fake.cancel_order(placed["orderId"])  # cancelled at Amazon meanwhile

    push(shipment)

    row = row_of(shipment)
    assert row.state == "failed"
    assert row.detail == (
        "Amazon answered 400 to confirmShipment: InvalidInput: The order is CANCELLED and cannot be shipped."
    )
    assert fake.packages_of(placed["orderId"]) == []


def test_an_order_amazon_does_not_know_is_a_refusal(account, fake):
    attempt = TrackingPush(
        reference="S-1",
        order_external_id="999-0000000-0000000",
        carrier="USPS",
        tracking_number="9400",
        tracking_url="",
        lines=(),
    )
    with pytest.raises(ChannelRefused, match="Amazon answered 404 to getOrder: NotFound"):
        AmazonGateway(account.tenant).push_tracking(push=attempt)


def test_another_tenants_order_is_not_reached_through_their_account(account, fake, tenant_b):
    placed, _ = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    attempt = TrackingPush(
        reference="S-9",
        order_external_id=placed["orderId"],
        carrier="USPS",
        tracking_number="9400",
        tracking_url="",
        lines=(),
    )

    assert amazon_gateway_for(tenant_b) is None  # no Amazon account there
    with pytest.raises(ChannelRefused, match="No Amazon account is known"):
        AmazonGateway(tenant_b).push_tracking(push=attempt)
    assert fake.calls == []


def test_carriers_are_named_as_amazon_knows_them():
    assert [carrier_code(c) for c in ("usps", "UPS", "FedEx", "dhl_express", "La Poste")] == [
        "USPS",
        "UPS",
        "FedEx",
        "DHL",
        "Other",
    ]


def test_a_cancellation_cannot_be_pushed_to_amazon_and_staff_are_told(account, fake):
    account.oversell_rule = OversellRule.CANCEL
    account.save()
    placed, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 60, "price": "49.50"}])  # 50 held
    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED

    outcome = channel_cancellation_push(tenant=account.tenant_id, order_id=order.pk)

    assert outcome.startswith(
        "The channel refused the cancellation: Amazon's Orders API cannot cancel an order"
    )
    row = ChannelOrder.objects.for_tenant(account.tenant_id).get(order=order)
    assert placed["orderId"] in row.attention
    with pytest.raises(ChannelRefused) as refused:
        AmazonGateway(account.tenant).push_cancellation(
            push=CancellationPush(
                reference="1", order_external_id=placed["orderId"], reason="Oversold", lines=()
            )
        )
    assert refused.value.code == "amazon_cancel_unsupported"
    assert fake.calls == []
