"""The ingest framework: a channel's order becomes one order of ours, kept whole when a SKU is not
mapped, cancelled or flagged when the channel cancels, and updated only where it is safe."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from celery.exceptions import Retry
from django.urls import reverse

from fulfillment.models import FulfillmentSettings
from integrations.ingest import (
    UNMAPPED_SKU_CODE,
    MarketplaceLine,
    MarketplaceOrder,
    MarketplaceOrderInvalid,
    marketplace_order_ingest,
    sku_mapping_save,
    unmapped_skus,
)
from integrations.models import ChannelAccount, ChannelOrder, InboundEvent
from integrations.shopify.webhooks import shopify_signature
from inventory.models import SKU
from orders.models import Hold, Order, OrderEvent
from orders.services import order_record_shipment, order_release
from orders.states import HoldKind, OrderEventType, OrderState
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock

SECRET = "shpss_ingest"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ADDRESS = {"name": "Ana Lima", "line1": "500 Congress Ave", "city": "Austin", "region": "TX",
           "postal_code": "78701", "country": "US"}  # fmt: skip


def account_for(tenant, *, name="main"):
    FulfillmentSettings.objects.update_or_create(tenant=tenant, defaults={"auto_release": False})
    if not SKU.objects.for_tenant(tenant).filter(code="SHOE-1").exists():
        warehouse = WarehouseFactory(tenant=tenant, code=f"ING-{tenant.slug}", postal_code="78701")
        for code in ("SHOE-1", "SOCK-2"):
            stock(tenant, SKUFactory(tenant=tenant, code=code), warehouse, 20)
    return ChannelAccount.objects.create(
        tenant=tenant, kind="shopify", name=name, credentials="shpat_x", webhook_secret=SECRET
    )


def line(sku="SHOE-1", quantity=1, price="10.00", variant="", line_id="1"):
    return MarketplaceLine(
        channel_line_id=line_id,
        channel_sku=sku,
        channel_variant_id=variant,
        quantity=quantity,
        unit_price=Decimal(price),
        title=f"{sku} title",
    )


def incoming(*lines, external_id="1001", updated=T0, ship_to=None, cancelled=False, **extra):
    return MarketplaceOrder(
        external_id=external_id,
        name=f"#{external_id}",
        currency="USD",
        customer={"email": "ana@example.com", "name": "Ana Lima"},
        ship_to=ship_to or dict(ADDRESS),
        lines=tuple(lines) or (line(),),
        placed_at=T0,
        updated_at=updated,
        cancelled=cancelled,
        **extra,
    )


@pytest.fixture
def account(tenant_a):
    return account_for(tenant_a)


def the_order(tenant):
    return Order.objects.for_tenant(tenant).select_related("ship_to").get(channel="shopify")


def test_the_same_channel_order_twice_is_one_order(tenant_a, account):
    first = marketplace_order_ingest(account=account, incoming=incoming(line(quantity=2)))
    second = marketplace_order_ingest(account=account, incoming=incoming(line(quantity=2)))

    assert first.order == second.order
    assert (first.verdict, second.verdict) == ("processed", "ignored")
    assert second.text == "no change"
    assert Order.objects.for_tenant(tenant_a).count() == 1


def test_a_channel_sku_equal_to_our_code_maps_itself_a_mapping_wins_over_it(tenant_a, account):
    sku_mapping_save(
        account=account, sku=SKU.objects.for_tenant(tenant_a).get(code="SOCK-2"), channel_sku="SHOE-1"
    )

    order = marketplace_order_ingest(
        account=account, incoming=incoming(line("SHOE-1"), line("SOCK-2", line_id="2"))
    ).order

    assert [x.sku.code for x in order.lines.all()] == ["SOCK-2", "SOCK-2"]


def test_two_unmapped_items_hold_the_order_until_both_are_mapped(tenant_a, account):
    order = marketplace_order_ingest(
        account=account,
        incoming=incoming(
            line("red-9", 1, "30.00", variant="v-red", line_id="1"),
            line("blue-9", 2, "31.00", variant="v-blue", line_id="2"),
            line("SHOE-1", 1, "10.00", line_id="3"),
            shipping_price=Decimal("5.00"),
        ),
    ).order

    assert order.state == OrderState.ON_HOLD and str(order.total) == "107.00"
    assert [x.sku.code for x in order.lines.all()] == [UNMAPPED_SKU_CODE, UNMAPPED_SKU_CODE, "SHOE-1"]
    assert all(x.quantity_allocated == 0 for x in order.lines.all())
    assert [(u["channel_sku"], u["units"], u["orders"]) for u in unmapped_skus(account)] == [
        ("red-9", 1, 1),
        ("blue-9", 2, 1),
    ]
    shoe, sock = (SKU.objects.for_tenant(tenant_a).get(code=c) for c in ("SHOE-1", "SOCK-2"))

    _, released = sku_mapping_save(account=account, sku=sock, channel_variant_id="v-blue")
    order.refresh_from_db()
    assert released == 0 and order.state == OrderState.ON_HOLD
    assert Hold.objects.for_tenant(tenant_a).get(order=order).released_at is None

    _, released = sku_mapping_save(account=account, sku=shoe, channel_sku="red-9")
    order.refresh_from_db()
    assert released == 1 and order.state == OrderState.ALLOCATED
    assert [(x.sku.code, x.quantity_allocated) for x in order.lines.all()] == [
        ("SHOE-1", 1),
        ("SOCK-2", 2),
        ("SHOE-1", 1),
    ]
    assert unmapped_skus(account) == []
    assert ChannelOrder.objects.for_tenant(tenant_a).get().state == "open"


def test_a_hold_released_by_staff_before_the_mapping_still_allocates_on_mapping(tenant_a, account):
    order = marketplace_order_ingest(account=account, incoming=incoming(line("red-9", 2))).order
    order_release(tenant=tenant_a, order_id=order.pk, kind=HoldKind.UNMAPPED_SKU)
    order.refresh_from_db()
    assert order.state == OrderState.BACKORDERED  # the placeholder has no stock anywhere

    sku_mapping_save(
        account=account, sku=SKU.objects.for_tenant(tenant_a).get(code="SOCK-2"), channel_sku="red-9"
    )

    order.refresh_from_db()
    assert order.state == OrderState.ALLOCATED and order.lines.get().sku.code == "SOCK-2"


def test_a_mapping_of_one_tenant_resolves_nothing_of_another(tenant_a, tenant_b, account):
    account_b = account_for(tenant_b)
    order_b = marketplace_order_ingest(account=account_b, incoming=incoming(line("red-9"))).order

    sku_mapping_save(
        account=account, sku=SKU.objects.for_tenant(tenant_a).get(code="SOCK-2"), channel_sku="red-9"
    )

    order_b.refresh_from_db()
    assert order_b.state == OrderState.ON_HOLD and order_b.lines.get().sku.code == UNMAPPED_SKU_CODE


def test_a_cancellation_after_shipping_is_flagged_for_staff(tenant_a, account):
    order = marketplace_order_ingest(account=account, incoming=incoming(line(quantity=1))).order
    order_record_shipment(
        tenant=tenant_a, order_id=order.pk, reference="S-1", carrier="USPS", tracking_number="9400"
    )

    outcome = marketplace_order_ingest(
        account=account,
        incoming=incoming(line(), cancelled=True, cancel_reason="fraud", updated=T0 + timedelta(1)),
    )

    assert the_order(tenant_a).state == OrderState.SHIPPED
    row = ChannelOrder.objects.for_tenant(tenant_a).get()
    assert row.attention.startswith("Cancelled at Shopify: fraud, but order #") and "shipped" in row.attention
    assert outcome.text.endswith("is shipped: flagged for staff")
    assert (
        OrderEvent.objects.for_tenant(tenant_a)
        .filter(order=order, type=OrderEventType.NOTE, message__startswith="Cancelled at Shopify")
        .exists()
    )


def test_an_order_first_seen_cancelled_makes_no_order(tenant_a, account):
    outcome = marketplace_order_ingest(account=account, incoming=incoming(cancelled=True))
    again = marketplace_order_ingest(account=account, incoming=incoming())

    assert outcome.verdict == again.verdict == "ignored"
    assert not Order.objects.for_tenant(tenant_a).exists()
    assert ChannelOrder.objects.for_tenant(tenant_a).get().state == "cancelled"


def test_changes_that_are_not_safe_are_recorded_and_not_applied(tenant_a, account):
    order = marketplace_order_ingest(account=account, incoming=incoming(line(quantity=1))).order
    order_record_shipment(
        tenant=tenant_a, order_id=order.pk, reference="S-1", carrier="USPS", tracking_number="9400"
    )

    outcome = marketplace_order_ingest(
        account=account,
        incoming=incoming(
            line(quantity=3), ship_to={**ADDRESS, "line1": "1 Elsewhere"}, updated=T0 + timedelta(1)
        ),
    )

    assert outcome.verdict == "ignored"
    assert "ship-to address changed at the channel while the order is shipped" in outcome.text
    assert the_order(tenant_a).ship_to.line1 == "500 Congress Ave"
    assert the_order(tenant_a).lines.get().quantity == 1
    notes = [n["text"] for n in ChannelOrder.objects.for_tenant(tenant_a).get().notes]
    assert any("lines changed at the channel" in n for n in notes)


def test_an_older_update_than_the_last_applied_is_ignored(tenant_a, account):
    marketplace_order_ingest(account=account, incoming=incoming(updated=T0 + timedelta(hours=1)))

    outcome = marketplace_order_ingest(
        account=account, incoming=incoming(ship_to={**ADDRESS, "line1": "Old St"})
    )

    assert outcome.verdict == "ignored" and "older version" in outcome.text
    assert the_order(tenant_a).ship_to.line1 == "500 Congress Ave"


def test_an_order_without_lines_address_or_quantity_is_invalid():
    with pytest.raises(MarketplaceOrderInvalid, match="no line items"):
        replace(incoming(), lines=()).check()
    with pytest.raises(MarketplaceOrderInvalid, match="no shipping address"):
        incoming(ship_to={"city": "Austin"}).check()
    with pytest.raises(MarketplaceOrderInvalid, match="quantity 0 is not positive"):
        incoming(line(quantity=0)).check()


def test_a_signed_order_that_cannot_be_read_is_kept_as_failed_with_the_reason(
    client, tenant_a, account, django_capture_on_commit_callbacks
):
    body = json.dumps({"id": 5, "currency": "USD", "line_items": "none"})
    url = reverse("integrations:webhook", kwargs={"kind": "shopify", "token": account.webhook_token})
    headers = {
        "HTTP_X_SHOPIFY_HMAC_SHA256": shopify_signature(SECRET, body.encode()),
        "HTTP_X_SHOPIFY_TOPIC": "orders/create",
        "HTTP_X_SHOPIFY_EVENT_ID": "evt-bad",
    }

    with pytest.raises(Retry), django_capture_on_commit_callbacks(execute=True):
        client.post(url, data=body, content_type="application/json", **headers)

    event = InboundEvent.objects.for_tenant(tenant_a).get()
    assert (event.state, event.event_id) == ("failed", "evt-bad")
    assert event.error == "MarketplaceOrderInvalid: line_items is not a list"
    assert not Order.objects.for_tenant(tenant_a).exists()
