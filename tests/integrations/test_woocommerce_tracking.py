"""Tracking and cancellations pushed back to WooCommerce over real HTTP to the fake shop's REST API:
one customer note per shipment and the order completed, also when the task runs again."""

from __future__ import annotations

import json

import pytest

from fulfillment.models import ShipmentNotification
from fulfillment.notifications import NotificationRetry, shipment_tracking_push
from integrations.ingest import marketplace_order_ingest
from integrations.models import ChannelOrder
from integrations.woocommerce.events import marketplace_order_from_woocommerce
from integrations.woocommerce.fake_server import FakeWooCommerce
from integrations.woocommerce.gateway import WooCommerceGateway, woocommerce_gateway_for
from orders.channels import (
    CancellationPush,
    ChannelRefused,
    ChannelUnavailable,
    TrackingPush,
    register_channel_gateway,
)
from orders.states import OrderState
from tests.integrations.channels import push, row_of, ship
from tests.integrations.test_woocommerce import CONSUMER_KEY, CONSUMER_SECRET, woo_world
from tests.oms.factories import TenantFactory

committing = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _woocommerce_registered():
    # Other tests may register an in-memory gateway for a channel and remove it after.
    register_channel_gateway("woocommerce", woocommerce_gateway_for)


@pytest.fixture
def fake():
    shop = FakeWooCommerce(consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET).start()
    yield shop
    shop.stop()


@pytest.fixture
def tenant(db):
    return TenantFactory(slug="woo-push")


@pytest.fixture
def account(tenant, fake):
    return woo_world(tenant, fake)


def ingest(account, fake, items):
    shop_order = fake.create_order(line_items=items, notify=False)
    outcome = marketplace_order_ingest(
        account=account, incoming=marketplace_order_from_woocommerce(shop_order)
    )
    return str(shop_order["id"]), outcome.order


def api_calls(fake):
    return [(method, path.removeprefix("/wp-json/wc/v3")) for method, path in fake.calls]


def attempt(order_external_id, reference="S-1"):
    return TrackingPush(
        reference=reference,
        order_external_id=order_external_id,
        carrier="USPS",
        tracking_number="9400111",
        tracking_url="",
        lines=(),
    )


def test_a_shipment_adds_one_customer_note_and_completes_the_order(account, fake):
    woo_id, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 2, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 2})

    push(shipment)
    push(shipment)

    [note] = fake.notes_of(woo_id)
    assert note["customer_note"] is True
    assert note["note"].startswith(f"Shipped with USPS, tracking number {shipment.tracking_number}: https://")
    assert note["note"].endswith(f"(ref {shipment.number})")
    assert fake.order(woo_id)["status"] == "completed"
    assert (row_of(shipment).state, row_of(shipment).recipient) == ("sent", "woocommerce")
    assert api_calls(fake) == [
        ("GET", f"/orders/{woo_id}"),
        ("GET", f"/orders/{woo_id}/notes"),
        ("POST", f"/orders/{woo_id}/notes"),
        ("PUT", f"/orders/{woo_id}"),
    ]  # the second task found the push sent and asked nothing


def test_a_push_run_again_after_a_killed_worker_adds_no_second_note(account, fake):
    woo_id, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 1})
    push(shipment)
    # The worker died after WooCommerce took the note and before the row was marked sent: its
    # lease ran out and the row is pending again.
    ShipmentNotification.objects.for_tenant(shipment.tenant_id).filter(pk=row_of(shipment).pk).update(
        state="pending", claimed_at=None, sent_at=None
    )

    push(shipment)

    assert len(fake.notes_of(woo_id)) == 1 and fake.order(woo_id)["status"] == "completed"
    assert row_of(shipment).state == "sent"
    assert api_calls(fake)[4:] == [("GET", f"/orders/{woo_id}"), ("GET", f"/orders/{woo_id}/notes")]


def test_a_push_killed_between_the_note_and_the_status_completes_it_on_the_rerun(account, fake):
    woo_id, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 1})
    gateway = WooCommerceGateway(account.tenant)
    gateway.push_tracking(push=attempt(woo_id, shipment.number))
    fake.orders[woo_id]["status"] = "processing"  # as if the worker died before the status went
    fake.calls.clear()

    gateway.push_tracking(push=attempt(woo_id, shipment.number))

    assert len(fake.notes_of(woo_id)) == 1 and fake.order(woo_id)["status"] == "completed"
    assert api_calls(fake) == [
        ("GET", f"/orders/{woo_id}"),
        ("GET", f"/orders/{woo_id}/notes"),
        ("PUT", f"/orders/{woo_id}"),
    ]


def test_two_shipments_add_two_notes_and_the_last_completes_the_order(account, fake):
    woo_id, order = ingest(
        account,
        fake,
        [
            {"sku": "SHOE-1", "quantity": 1, "price": "49.50"},
            {"sku": "SOCK-2", "quantity": 2, "price": "9.00"},
        ],
    )
    shoe, sock = order.lines.order_by("position")
    first = ship(order, {shoe: 1}, n=1)

    push(first)

    order.refresh_from_db()
    assert order.state == OrderState.PARTIALLY_SHIPPED
    assert fake.order(woo_id)["status"] == "processing" and len(fake.notes_of(woo_id)) == 1

    second = ship(order, {sock: 2}, n=2)
    push(second)

    notes = fake.notes_of(woo_id)
    assert [n["note"].rsplit(" ", 1)[-1] for n in notes] == [f"{first.number})", f"{second.number})"]
    assert fake.order(woo_id)["status"] == "completed"


@pytest.mark.parametrize("status", [503, 429])
def test_a_shop_that_is_down_or_throttling_leaves_the_push_for_a_retry(account, fake, status):
    woo_id, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    shipment = ship(order, {order.lines.get(): 1})
    fake.fail_next(1, status=status, headers={"Retry-After": "1"} if status == 429 else None)

    with pytest.raises(NotificationRetry):
        shipment_tracking_push(tenant_id=shipment.tenant_id, shipment_id=shipment.pk)
    assert row_of(shipment).state == "pending" and fake.notes_of(woo_id) == []

    shipment_tracking_push(tenant_id=shipment.tenant_id, shipment_id=shipment.pk)
    assert row_of(shipment).state == "sent" and len(fake.notes_of(woo_id)) == 1


@pytest.mark.parametrize("status", [503, 429])
def test_503_and_429_are_unavailable(account, fake, status):
    woo_id, _ = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    fake.fail_next(1, status=status)

    with pytest.raises(ChannelUnavailable, match=str(status)):
        WooCommerceGateway(account.tenant).push_tracking(push=attempt(woo_id))


def test_an_order_the_shop_does_not_know_is_a_refusal(account, fake):
    with pytest.raises(ChannelRefused, match="WooCommerce has no order 999"):
        WooCommerceGateway(account.tenant).push_tracking(push=attempt("999"))
    assert fake.notes == {}


def test_a_wrong_key_is_a_refusal_and_a_dead_shop_is_unavailable(account, fake):
    woo_id, _ = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    account.credentials = f"{CONSUMER_KEY}:cs_wrong"
    account.save()
    with pytest.raises(ChannelRefused, match="401: Sorry, you cannot list resources"):
        WooCommerceGateway(account.tenant).push_tracking(push=attempt(woo_id))

    account.credentials = f"{CONSUMER_KEY}:{CONSUMER_SECRET}"  # the "ck:cs" form works too
    account.save()
    WooCommerceGateway(account.tenant).push_tracking(push=attempt(woo_id))
    assert len(fake.notes_of(woo_id)) == 1

    fake.stop()
    with pytest.raises(ChannelUnavailable, match="unreachable"):
        WooCommerceGateway(account.tenant).push_tracking(push=attempt(woo_id))


def test_credentials_without_a_key_and_secret_are_a_refusal(account, fake):
    woo_id, _ = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    for credentials in ("", "ck_only", json.dumps({"consumer_key": CONSUMER_KEY}), "{not json"):
        account.credentials = credentials
        account.save()
        with pytest.raises(ChannelRefused, match="no consumer key and secret"):
            WooCommerceGateway(account.tenant).push_tracking(push=attempt(woo_id))
    assert fake.calls == []


def test_an_order_cancelled_at_the_shop_gets_no_tracking(account, fake):
    woo_id, _ = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    fake.cancel_order(woo_id, notify=False)

    with pytest.raises(ChannelRefused, match=f"WooCommerce order {woo_id} is cancelled"):
        WooCommerceGateway(account.tenant).push_tracking(push=attempt(woo_id))
    assert fake.notes_of(woo_id) == [] and fake.order(woo_id)["status"] == "cancelled"


@committing
def test_a_tenant_without_a_woocommerce_account_gets_nothing_pushed(fake):
    tenant_a, tenant_b = TenantFactory(slug="woo-push-x"), TenantFactory(slug="woo-push-y")
    account_a = woo_world(tenant_a, fake)

    assert woocommerce_gateway_for(tenant_b) is None
    assert isinstance(woocommerce_gateway_for(tenant_a), WooCommerceGateway)
    # Tenant B's gateway does not find tenant A's order, nor push through A's account.
    woo_id, _ = ingest(account_a, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "9"}])
    with pytest.raises(ChannelRefused, match="No WooCommerce account"):
        WooCommerceGateway(tenant_b).push_tracking(push=attempt(woo_id))
    assert fake.notes_of(woo_id) == []


def cancellation(order, reason="out of stock"):
    return CancellationPush(
        reference=order.number, order_external_id=order.external_id, reason=reason, lines=()
    )


def test_a_cancellation_is_pushed_once(account, fake):
    woo_id, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    gateway = WooCommerceGateway(account.tenant)

    gateway.push_cancellation(push=cancellation(order))
    gateway.push_cancellation(push=cancellation(order))

    assert fake.order(woo_id)["status"] == "cancelled"
    [note] = fake.notes_of(woo_id)
    assert (note["note"], note["customer_note"]) == (
        f"Cancelled: out of stock (cancel ref {order.number})",
        False,
    )
    assert api_calls(fake).count(("PUT", f"/orders/{woo_id}")) == 1  # the second found it cancelled


def test_a_completed_order_cannot_be_cancelled_at_the_shop(account, fake):
    woo_id, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    push(ship(order, {order.lines.get(): 1}))

    with pytest.raises(ChannelRefused, match="is completed: it cannot be cancelled there"):
        WooCommerceGateway(account.tenant).push_cancellation(push=cancellation(order, "customer asked"))
    assert fake.order(woo_id)["status"] == "completed"


@committing
def test_an_oversold_order_is_cancelled_here_and_at_the_shop_by_the_cancel_rule(fake):
    tenant = TenantFactory(slug="woo-oversell")
    account = woo_world(tenant, fake)
    account.oversell_rule = "cancel"
    account.save()

    woo_id, order = ingest(account, fake, [{"sku": "SHOE-1", "quantity": 60, "price": "49.50"}])

    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED
    assert fake.order(woo_id)["status"] == "cancelled"
    assert (
        ChannelOrder.objects.for_tenant(tenant).get().notes[-1]["text"]
        == "Cancellation pushed to the channel."
    )
