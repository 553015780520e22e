"""WooCommerce over real HTTP: the fake shop signs and POSTs its webhooks to our live server as
WooCommerce does, and the inbox turns them into orders. SQLite and PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from fulfillment.models import FulfillmentSettings
from integrations.ingest import UNMAPPED_SKU_CODE, sku_mapping_save
from integrations.models import ChannelAccount, ChannelOrder, InboundEvent
from integrations.woocommerce.events import marketplace_order_from_woocommerce
from integrations.woocommerce.fake_server import FakeWooCommerce
from integrations.woocommerce.signing import woocommerce_signature
from inventory.models import SKU
from orders.models import Hold, Order
from orders.states import HoldKind, OrderState
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.oms.factories import TenantFactory

committing = pytest.mark.django_db(transaction=True)
CONSUMER_KEY = "ck_fake_consumer_key"
CONSUMER_SECRET = "cs_fake_consumer_secret"
SECRET = "wc_fake_webhook_secret"


@pytest.fixture
def fake():
    shop = FakeWooCommerce(consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET).start()
    yield shop
    shop.stop()


def woo_world(tenant, fake, *, live_url: str | None = None, skus=("SHOE-1", "SOCK-2"), secret=SECRET):
    """A tenant with a warehouse holding 50 of each SKU, and a WooCommerce account at the fake."""
    FulfillmentSettings.objects.update_or_create(tenant=tenant, defaults={"auto_release": False})
    warehouse = WarehouseFactory(tenant=tenant, code=f"WOO-{tenant.slug}", postal_code="78701")
    for code in skus:
        stock(tenant, SKUFactory(tenant=tenant, code=code, name=code.title()), warehouse, 50)
    account = ChannelAccount.objects.create(
        tenant=tenant,
        kind="woocommerce",
        name="shop",
        base_url=fake.url,
        credentials=json.dumps({"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET}),
        webhook_secret=secret,
    )
    if live_url:
        fake.add_webhook(live_url + account.webhook_path, secret=secret)
    return account


@pytest.fixture
def world(fake, live_server):
    tenant = TenantFactory(slug="woo-a")
    return tenant, woo_world(tenant, fake, live_url=live_server.url)


def events(tenant):
    return InboundEvent.objects.for_tenant(tenant).filter(source="woocommerce")


def orders(tenant):
    return Order.objects.for_tenant(tenant).filter(channel="woocommerce")


@committing
def test_a_signed_order_created_makes_one_allocated_order(world, fake):
    tenant, _ = world
    shop_order = fake.create_order(
        line_items=[
            {"sku": "SHOE-1", "quantity": 2, "price": "49.50"},
            {"sku": "SOCK-2", "quantity": 1, "price": "9.00"},
        ]
    )

    [sent] = fake.sent
    assert (sent.topic, sent.status) == ("order.created", 200)
    event = events(tenant).get()
    assert (event.state, event.event_type, event.outcome[:5]) == ("processed", "order.created", "order")
    assert event.event_id.startswith(sent.delivery_id + ":")
    assert event.headers["X-Wc-Webhook-Signature"] == "[scrubbed]"
    order = orders(tenant).select_related("ship_to", "customer").get()
    assert (order.external_id, order.state) == (str(shop_order["id"]), OrderState.ALLOCATED)
    assert [(line.sku.code, line.quantity, str(line.unit_price)) for line in order.lines.all()] == [
        ("SHOE-1", 2, "49.50"),
        ("SOCK-2", 1, "9.00"),
    ]
    assert str(order.total) == shop_order["total"] == "113.00"
    assert (order.ship_to.line1, order.ship_to.postal_code) == ("500 Congress Ave", "78701")
    assert (order.customer.email, order.customer.name) == ("ana@example.com", "Ana Lima")
    channel_order = ChannelOrder.objects.for_tenant(tenant).get()
    assert (channel_order.order_id, channel_order.name) == (order.pk, f"#{shop_order['number']}")
    assert [
        (x.channel_line_id, x.channel_variant_id, x.channel_listing_id) for x in channel_order.lines.all()
    ] == [
        (str(item["id"]), str(item["product_id"]), str(item["product_id"]))
        for item in shop_order["line_items"]
    ]


@committing
def test_a_bad_or_missing_signature_is_refused_and_kept_as_rejected(world, fake):
    tenant, _ = world
    shop_order = fake.create_order(
        line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}], notify=False
    )
    forged = woocommerce_signature("not-the-secret", fake.webhook_body("order.created", shop_order["id"]))

    [bad] = fake.deliver("order.created", shop_order["id"], signature=forged)
    [missing] = fake.deliver("order.created", shop_order["id"], signature="")

    assert (bad.status, missing.status) == (401, 401)
    assert json.loads(bad.body)["code"] == json.loads(missing.body)["code"] == "invalid_signature"
    rejected = events(tenant).order_by("pk")
    assert [(e.state, e.event_id, e.error) for e in rejected] == [
        ("rejected", "", "signature does not verify"),
        ("rejected", "", "no X-WC-Webhook-Signature header"),
    ]
    assert not orders(tenant).exists()


@committing
def test_the_ping_of_a_saved_webhook_is_answered_200_and_nothing_is_stored(world, fake):
    tenant, _ = world

    sent = fake.ping(fake.hooks[0].url)

    assert (sent.status, json.loads(sent.body)) == (200, {"received": False, "ping": True})
    assert not events(tenant).exists()
    # The same body with a signature is not a ping: it must verify, and it is not JSON.
    [forged] = fake.deliver("order.created", 1, body=b"webhook_id=5", signature="c2lnbmF0dXJl")
    assert forged.status == 401 and events(tenant).get().error == "signature does not verify"


@committing
def test_the_same_delivery_five_times_and_five_at_once_is_one_order(world, fake):
    tenant, _ = world
    shop_order = fake.create_order(
        line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}], notify=False
    )

    sent = fake.deliver("order.created", shop_order["id"], times=5, concurrently=5)

    assert [s.status for s in sent] == [200] * 10 and len({s.delivery_id for s in sent}) == 1
    assert orders(tenant).count() == 1
    event = events(tenant).get()
    assert (event.deliveries, event.state) == (10, "processed")


@committing
def test_two_orders_sent_in_the_same_second_share_a_delivery_id_and_make_two_orders(world, fake):
    # WooCommerce's delivery id is a hash of the webhook id and the current second.
    tenant, _ = world
    first, second = (
        fake.create_order(line_items=[{"sku": sku, "quantity": 1, "price": "9.00"}], notify=False)
        for sku in ("SHOE-1", "SOCK-2")
    )

    fake.deliver("order.created", first["id"], delivery_id="same-second")
    fake.deliver("order.created", second["id"], delivery_id="same-second")

    assert sorted(orders(tenant).values_list("external_id", flat=True)) == sorted(
        [str(first["id"]), str(second["id"])]
    )
    assert events(tenant).count() == 2


@committing
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda o: o.pop("line_items"), "MarketplaceOrderInvalid: line_items is not a list"),
        (
            lambda o: o["line_items"][0].update(quantity="two"),
            "MarketplaceOrderInvalid: line_items[0].quantity 'two' is not a number",
        ),
        (
            lambda o: o["line_items"][0].update(quantity=0),
            "MarketplaceOrderInvalid: line 0: quantity 0 is not positive",
        ),
        (lambda o: o.update(line_items=[]), "MarketplaceOrderInvalid: no line items"),
    ],
    ids=["no line items key", "quantity not a number", "quantity zero", "empty line items"],
)
def test_a_signed_order_that_cannot_be_read_is_kept_as_failed_with_the_reason(world, fake, change, reason):
    tenant, _ = world
    shop_order = fake.create_order(
        line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}], notify=False
    )
    change(fake.orders[str(shop_order["id"])])

    # Tests run tasks in the request (eager), so this delivery's answer carries the task's retry;
    # with a worker it is answered 200 once stored. What counts is what was kept.
    fake.deliver("order.created", shop_order["id"])

    event = events(tenant).get()
    assert (event.state, event.error, event.attempts) == ("failed", reason, 1)
    assert not orders(tenant).exists()


@committing
def test_a_signed_body_that_is_not_json_is_kept_as_rejected_with_the_reason(world, fake):
    tenant, _ = world
    body = b"{not json"

    [sent] = fake.deliver("order.created", 1, body=body)

    assert sent.status == 400 and json.loads(sent.body)["code"] == "malformed_payload"
    event = events(tenant).get()
    assert (event.state, event.error) == ("rejected", "malformed: not JSON (JSONDecodeError)")


@committing
def test_an_unmapped_variation_keeps_the_order_on_hold_until_it_is_mapped(world, fake):
    tenant, account = world
    variation = fake.add_variation(None, "sock-blue-42")
    shop_order = fake.create_order(
        line_items=[
            {"sku": "SHOE-1", "quantity": 1, "price": "49.50"},
            {"sku": "sock-blue-42", "quantity": 2, "price": "9.00"},
        ]
    )

    order = orders(tenant).get()
    assert order.state == OrderState.ON_HOLD
    hold = Hold.objects.for_tenant(tenant).get(order=order)
    assert (hold.kind, hold.reason) == (HoldKind.UNMAPPED_SKU, "Channel SKU(s) not mapped: sock-blue-42")
    assert [line.sku.code for line in order.lines.all()] == ["SHOE-1", UNMAPPED_SKU_CODE]
    assert str(order.total) == shop_order["total"]
    line = ChannelOrder.objects.for_tenant(tenant).get().lines.get(channel_sku="sock-blue-42")
    assert (line.channel_variant_id, line.channel_listing_id) == (
        str(variation["id"]),
        str(variation["parent_id"]),
    )

    sku_mapping_save(
        account=account,
        sku=SKU.objects.for_tenant(tenant).get(code="SOCK-2"),
        channel_variant_id=str(variation["id"]),
    )

    order.refresh_from_db()
    assert order.state == OrderState.ALLOCATED
    assert [(x.sku.code, x.quantity_allocated) for x in order.lines.all()] == [("SHOE-1", 1), ("SOCK-2", 2)]


@committing
def test_a_cancellation_at_the_shop_cancels_the_unshipped_order(world, fake):
    tenant, _ = world
    shop_order = fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])

    fake.cancel_order(shop_order["id"])

    order = orders(tenant).get()
    assert (order.state, order.cancel_reason) == (OrderState.CANCELLED, "Cancelled at WooCommerce: cancelled")
    assert ChannelOrder.objects.for_tenant(tenant).get().state == "cancelled"
    assert [e.event_type for e in events(tenant).order_by("pk")] == ["order.created", "order.updated"]


@committing
def test_an_order_moved_to_the_trash_is_cancelled(world, fake):
    tenant, _ = world
    shop_order = fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])

    fake.delete_order(shop_order["id"])

    assert json.loads(events(tenant).get(event_type="order.deleted").body) == {"id": shop_order["id"]}
    order = orders(tenant).get()
    assert (order.state, order.cancel_reason) == (OrderState.CANCELLED, "Cancelled at WooCommerce: deleted")


@committing
def test_an_order_awaiting_payment_is_taken_once_it_is_paid(world, fake):
    tenant, _ = world
    shop_order = fake.create_order(
        line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}], status="pending"
    )

    assert not orders(tenant).exists()
    assert events(tenant).get().state == "ignored"

    fake.update_order(shop_order["id"], status="processing")

    assert orders(tenant).get().state == OrderState.ALLOCATED


@committing
def test_an_address_change_before_fulfillment_is_applied(world, fake):
    tenant, _ = world
    shop_order = fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])

    fake.update_order(shop_order["id"], shipping={"address_1": "1 Main St", "postcode": "78702"})

    order = orders(tenant).select_related("ship_to").get()
    assert (order.ship_to.line1, order.ship_to.postal_code) == ("1 Main St", "78702")
    assert order.state == OrderState.ALLOCATED


@committing
def test_another_tenants_secret_cannot_create_orders_here(fake, live_server):
    tenant_a, tenant_b = TenantFactory(slug="woo-x"), TenantFactory(slug="woo-y")
    account_a = woo_world(tenant_a, fake)
    woo_world(tenant_b, fake, secret="wc_other_tenant_secret")
    # The fake signs with tenant B's secret but posts to tenant A's URL.
    fake.add_webhook(live_server.url + account_a.webhook_path, secret="wc_other_tenant_secret")

    fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])

    assert [s.status for s in fake.sent] == [401]
    assert not Order.objects.for_tenant(tenant_a).exists() and not Order.objects.for_tenant(tenant_b).exists()
    assert events(tenant_a).get().state == "rejected" and not events(tenant_b).exists()


# --- reading the order resource (no HTTP) --------------------------------------------------------
EXAMPLE = {  # WooCommerce's documented order (REST v3 "retrieve an order"), trimmed
    "id": 727,
    "number": "727",
    "status": "processing",
    "currency": "USD",
    "date_created_gmt": "2017-03-22T19:28:02",
    "date_modified_gmt": "2017-03-22T19:28:08",
    "discount_total": "0.00",
    "shipping_total": "10.00",
    "total": "29.35",
    "total_tax": "1.35",
    "billing": {
        "first_name": "John",
        "last_name": "Doe",
        "company": "",
        "address_1": "969 Market",
        "address_2": "",
        "city": "San Francisco",
        "state": "CA",
        "postcode": "94103",
        "country": "US",
        "email": "john.doe@example.com",
        "phone": "(555) 555-5555",
    },
    "shipping": {
        "first_name": "John",
        "last_name": "Doe",
        "company": "",
        "address_1": "969 Market",
        "address_2": "",
        "city": "San Francisco",
        "state": "CA",
        "postcode": "94103",
        "country": "US",
    },
    "line_items": [
        {
            "id": 315,
            "name": "Woo Single #1",
            "product_id": 93,
            "variation_id": 0,
            "quantity": 2,
            "subtotal": "6.00",
            "total": "6.00",
            "total_tax": "0.45",
            "sku": "",
            "price": 3,
        },
        {
            "id": 316,
            "name": "Ship Your Idea &ndash; Color: Black, Size: M Test",
            "product_id": 22,
            "variation_id": 23,
            "quantity": 1,
            "subtotal": "12.00",
            "total": "12.00",
            "total_tax": "0.90",
            "sku": "Bar3",
            "price": 12,
        },
    ],
}


def test_the_documented_order_reads_as_a_marketplace_order():
    order = marketplace_order_from_woocommerce(EXAMPLE)

    assert (order.external_id, order.name, order.currency, order.cancelled) == ("727", "#727", "USD", False)
    assert [
        (
            x.channel_line_id,
            x.channel_sku,
            x.channel_variant_id,
            x.channel_listing_id,
            x.quantity,
            x.unit_price,
            x.tax,
        )
        for x in order.lines
    ] == [
        ("315", "", "93", "93", 2, Decimal("3.00"), Decimal("0.45")),
        ("316", "Bar3", "23", "22", 1, Decimal("12.00"), Decimal("0.90")),
    ]
    assert (order.shipping_price, order.tax, order.total) == (
        Decimal("10.00"),
        Decimal("1.35"),
        Decimal("29.35"),
    )
    assert order.customer == {"email": "john.doe@example.com", "name": "John Doe", "phone": "(555) 555-5555"}
    assert (order.ship_to["line1"], order.ship_to["region"], order.ship_to["phone"]) == (
        "969 Market",
        "CA",
        "(555) 555-5555",
    )
    assert order.updated_at.isoformat() == "2017-03-22T19:28:08+00:00"


def test_a_shop_without_a_shipping_address_ships_to_the_billing_address():
    payload = {**EXAMPLE, "shipping": {**EXAMPLE["shipping"], "address_1": "", "city": ""}}

    order = marketplace_order_from_woocommerce(payload)

    assert (order.ship_to["line1"], order.ship_to["city"], order.ship_to["name"]) == (
        "969 Market",
        "San Francisco",
        "John Doe",
    )


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("cancelled", "cancelled"),
        ("refunded", "refunded"),
        ("failed", "payment failed"),
        ("trash", "moved to the trash"),
    ],
)
def test_statuses_that_will_not_ship_read_as_cancelled(status, reason):
    order = marketplace_order_from_woocommerce({**EXAMPLE, "status": status})

    assert (order.cancelled, order.cancel_reason) == (True, reason)
    assert marketplace_order_from_woocommerce({**EXAMPLE, "status": "on-hold"}).cancelled is False


def test_a_coupon_is_the_lines_discount_and_the_orders():
    items = [{**EXAMPLE["line_items"][1], "quantity": 3, "subtotal": "10.00", "total": "8.00"}]
    payload = {**EXAMPLE, "line_items": items, "discount_total": "2.00"}

    [line] = marketplace_order_from_woocommerce(payload).lines

    # 10.00 over 3 is rounded to the cent; the order's totals note any difference.
    assert (line.unit_price, line.discount) == (Decimal("3.33"), Decimal("2.00"))
    assert marketplace_order_from_woocommerce(payload).discount == Decimal("2.00")
