"""Amazon orders polled over real HTTP from the fake SP-API (integrations/amazon/fake_server.py):
searchOrders pages into the inbox, the inbox tasks make our orders; tokens, limits and faults.
SQLite and PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from fulfillment.models import FulfillmentSettings
from integrations.amazon import poller
from integrations.amazon.fake_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    MARKETPLACE_ID,
    REFRESH_TOKEN,
    SELLER_ID,
    FakeAmazon,
)
from integrations.inbox import InboundEventRetry, inbound_event_process
from integrations.models import ChannelAccount, ChannelOrder, InboundEvent, RateBucket
from integrations.polling import channel_poll
from orders.models import Order
from orders.states import OrderState
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.oms.factories import TenantFactory

committing = pytest.mark.django_db(transaction=True)
ORDERS_PATH = "/orders/2026-01-01/orders"


def credentials(**changes) -> str:
    return json.dumps(
        {
            "refresh_token": REFRESH_TOKEN,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "seller_id": SELLER_ID,
            "marketplace_id": MARKETPLACE_ID,
            **changes,
        }
    )


def amazon_world(tenant, fake, *, skus=("SHOE-1", "SOCK-2"), units=50):
    """A tenant with a warehouse holding `units` of each SKU, and an Amazon account at the fake."""
    FulfillmentSettings.objects.update_or_create(tenant=tenant, defaults={"auto_release": False})
    warehouse = WarehouseFactory(tenant=tenant, code=f"AMZ-{tenant.slug}", postal_code="78701")
    for code in skus:
        stock(tenant, SKUFactory(tenant=tenant, code=code, name=code.title()), warehouse, units)
    return ChannelAccount.objects.create(
        tenant=tenant, kind="amazon", name="sp-api", base_url=fake.url, credentials=credentials()
    )


@pytest.fixture
def fake():
    amazon = FakeAmazon().start()
    yield amazon
    amazon.stop()


@pytest.fixture
def world(db, fake):
    tenant = TenantFactory(slug="amz-a")
    return tenant, amazon_world(tenant, fake)


def poll(account):
    result = channel_poll(tenant=account.tenant_id, account_id=account.pk)
    account.refresh_from_db()
    return result


def orders(tenant):
    return Order.objects.for_tenant(tenant).filter(channel="amazon")


def events(tenant):
    return InboundEvent.objects.for_tenant(tenant).filter(source="amazon")


def searches(fake):
    return [call for call in fake.calls if call == ("GET", ORDERS_PATH)]


def when(text):
    return datetime.fromisoformat(text)


def seconds_ago(text):
    return (timezone.now() - when(text)).total_seconds()


@committing
def test_a_poll_makes_allocated_orders_of_the_merchants_paid_orders(world, fake):
    tenant, account = world
    paid = fake.create_order(
        items=[
            {"sku": "SHOE-1", "quantity": 2, "price": "49.50"},
            {"sku": "SOCK-2", "quantity": 1, "price": "9.00"},
        ]
    )
    fake.create_order(items=[{"sku": "SHOE-1", "quantity": 1}], fulfilled_by="AMAZON")
    unpaid = fake.create_order(items=[{"sku": "SOCK-2", "quantity": 3, "price": "9.00"}], status="PENDING")

    result = poll(account)

    assert (result.error, result.pages, result.records, result.new) == ("", 1, 2, 2)  # Amazon ships its own
    order = orders(tenant).get()
    assert (order.external_id, order.state) == (paid["orderId"], OrderState.ALLOCATED)
    assert [(line.sku.code, line.quantity, str(line.unit_price)) for line in order.lines.all()] == [
        ("SHOE-1", 2, "49.50"),
        ("SOCK-2", 1, "9.00"),
    ]
    assert str(order.shipping_price) == "4.99"
    assert str(order.total) == paid["proceeds"]["grandTotal"]["amount"] == "112.99"
    assert (order.ship_to.line1, order.ship_to.postal_code, order.ship_to.country) == (
        "500 Congress Ave",
        "78701",
        "US",
    )
    assert order.customer.email == "ana.lima@marketplace.amazon.com"
    channel_order = ChannelOrder.objects.for_tenant(tenant).get(order=order)
    assert [(x.channel_line_id, x.channel_sku, x.channel_listing_id) for x in channel_order.lines.all()] == [
        (i["orderItemId"], i["product"]["sellerSku"], i["product"]["asin"]) for i in paid["orderItems"]
    ]
    waiting = events(tenant).get(event_id__startswith=f"order:{unpaid['orderId']}@")
    assert waiting.state == "ignored" and "PENDING (not paid yet)" in waiting.outcome
    [query] = fake.search_queries
    assert query["marketplaceIds"] == MARKETPLACE_ID and query["fulfilledBy"] == "MERCHANT"
    assert set(query["includedData"].split(",")) >= {"RECIPIENT", "FULFILLMENT", "PROCEEDS", "BUYER"}
    assert seconds_ago(query["lastUpdatedAfter"]) == pytest.approx(86400, abs=60)
    # The next window starts at the end of this one less the overlap, and Amazon's later news arrives.
    cursor = json.loads(account.sync_cursor)
    assert cursor["token"] is None and account.last_sync_status == "ok"
    assert seconds_ago(cursor["after"]) == pytest.approx(poller.OVERLAP.total_seconds(), abs=10)

    fake.update_order(unpaid["orderId"], status="UNSHIPPED")
    again = poll(account)

    assert fake.search_queries[1]["lastUpdatedAfter"] == cursor["after"]
    assert again.new == 1 and orders(tenant).count() == 2
    assert orders(tenant).get(external_id=unpaid["orderId"]).state == OrderState.ALLOCATED


@committing
def test_a_poll_interrupted_mid_page_resumes_with_no_gap_and_no_duplicate(world, fake, monkeypatch):
    tenant, account = world
    monkeypatch.setattr(poller, "PAGE_SIZE", 2)
    made = [fake.create_order(items=[{"sku": "SHOE-1", "quantity": 1}])["orderId"] for _ in range(5)]
    fake.fail_next_page(1, status=503)  # page 2 of 3

    first = poll(account)

    assert first.pages == 1 and first.error == "ChannelUnavailable: Amazon answered 503 to searchOrders"
    assert (account.last_sync_status, orders(tenant).count()) == ("error", 2)
    assert json.loads(account.sync_cursor)["token"]  # the page after the committed one

    second = poll(account)

    assert (second.pages, second.error, second.new) == (2, "", 3)
    assert sorted(orders(tenant).values_list("external_id", flat=True)) == sorted(made)
    assert events(tenant).count() == 5
    assert account.last_sync_status == "ok" and json.loads(account.sync_cursor)["token"] is None
    # Page 2 was asked with page 1's filters, as Amazon requires of a page token.
    assert fake.search_queries[2]["lastUpdatedAfter"] == fake.search_queries[0]["lastUpdatedAfter"]

    third = poll(account)  # the overlap sees the same orders again: counted, not stored twice

    assert (third.records, third.new) == (5, 0) and orders(tenant).count() == 5


@committing
def test_a_429_stops_the_poll_takes_amazons_rate_and_the_next_poll_goes_on(world, fake, monkeypatch):
    tenant, account = world
    monkeypatch.setattr(poller, "PAGE_SIZE", 2)
    for _ in range(5):
        fake.create_order(items=[{"sku": "SOCK-2", "quantity": 1}])
    fake.set_rate_limit("searchOrders", rate=0.0056, burst=1)

    first = poll(account)

    assert first.pages == 1 and orders(tenant).count() == 2
    assert account.last_sync_error.startswith("PollThrottled: Amazon answered 429 to searchOrders")
    assert "x-amzn-RateLimit-Limit: 0.0056" in account.last_sync_error
    bucket = RateBucket.objects.for_tenant(tenant).get(account=account, operation="searchOrders")
    assert (round(bucket.rate, 4), bucket.throttled, bucket.tokens) == (0.0056, 1, 0.0)

    asked = len(searches(fake))
    early = poll(account)  # our own bucket holds the call back: nothing is sent

    assert early.pages == 0 and len(searches(fake)) == asked
    assert "the rate limit allows the next call in" in account.last_sync_error

    fake.set_rate_limit("searchOrders", rate=0, burst=0)
    RateBucket.objects.for_tenant(tenant).filter(pk=bucket.pk).update(
        refreshed_at=timezone.now() - timedelta(hours=1)
    )  # an hour on
    later = poll(account)

    assert (later.pages, later.error) == (2, "")
    assert orders(tenant).count() == 5 and events(tenant).count() == 5


@committing
def test_the_access_token_is_refreshed_when_expired_and_a_revoked_refresh_token_is_recorded(world, fake):
    tenant, account = world
    fake.create_order(items=[{"sku": "SHOE-1", "quantity": 1}])

    assert poll(account).error == "" and fake.tokens_issued == 1
    assert poll(account).error == "" and fake.tokens_issued == 1  # reused while fresh

    ChannelAccount.objects.for_tenant(tenant).filter(pk=account.pk).update(
        access_token_expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert poll(account).error == "" and fake.tokens_issued == 2  # expired here: refreshed first

    fake.expire_tokens()  # expired at Amazon while we thought it fresh: 403, refreshed, asked again
    assert poll(account).error == "" and fake.tokens_issued == 3
    assert account.last_sync_status == "ok"

    cursor = account.sync_cursor
    fake.revoke_refresh_token()
    fake.expire_tokens()
    result = poll(account)

    assert result.error.startswith("ChannelRefused: Amazon LWA refused the refresh token (invalid_grant")
    assert (account.last_sync_status, account.sync_cursor) == ("error", cursor)
    assert REFRESH_TOKEN not in account.last_sync_error and CLIENT_SECRET not in account.last_sync_error
    assert orders(tenant).count() == 1


@committing
def test_an_order_cancelled_at_amazon_cancels_ours(world, fake):
    tenant, account = world
    placed = fake.create_order(items=[{"sku": "SHOE-1", "quantity": 2, "price": "49.50"}])
    poll(account)
    assert orders(tenant).get().state == OrderState.ALLOCATED

    fake.cancel_order(placed["orderId"], reason="Buyer changed their mind")
    poll(account)

    order = orders(tenant).get()
    assert order.state == OrderState.CANCELLED
    assert order.cancel_reason == "Cancelled at Amazon: Buyer changed their mind"
    assert ChannelOrder.objects.for_tenant(tenant).get().state == "cancelled"


@committing
def test_an_order_searched_without_its_address_is_asked_again_with_get_order(world, fake):
    tenant, account = world
    placed = fake.create_order(items=[{"sku": "SOCK-2", "quantity": 1, "price": "9.00"}])
    fake.lean_search = True

    poll(account)

    assert ("GET", f"{ORDERS_PATH}/{placed['orderId']}") in fake.calls
    order = orders(tenant).get()
    assert (order.state, order.ship_to.city) == (OrderState.ALLOCATED, "Austin")


def test_a_record_that_cannot_be_read_is_kept_failed_with_the_reason(
    world, fake, django_capture_on_commit_callbacks
):
    tenant, account = world
    placed = fake.create_order(items=[{"sku": "SHOE-1", "quantity": 1}])
    with fake.lock:
        fake.orders[placed["orderId"]]["orderItems"][0]["quantityOrdered"] = "two"

    with django_capture_on_commit_callbacks(execute=False):
        result = poll(account)
    event = events(tenant).get()
    with pytest.raises(InboundEventRetry):
        inbound_event_process(tenant_id=tenant.pk, event_id=event.pk)

    event.refresh_from_db()
    assert result.new == 1 and event.event_type == "amazon.order"
    assert (event.state, event.error) == (
        "failed",
        "MarketplaceOrderInvalid: orderItems[0].quantityOrdered 'two' is not a whole number",
    )
    assert not orders(tenant).exists()


def test_another_tenants_account_id_polls_nothing(world, fake, tenant_b):
    tenant, _ = world
    theirs = amazon_world(tenant_b, fake)
    fake.create_order(items=[{"sku": "SHOE-1", "quantity": 1}])

    result = channel_poll(tenant=tenant, account_id=theirs.pk)

    assert result.skipped == "no such polled account" and fake.calls == []
    assert not InboundEvent.objects.for_tenant(tenant).exists()
    assert not InboundEvent.objects.for_tenant(tenant_b).exists()
    theirs.refresh_from_db()
    assert (theirs.last_poll_at, theirs.sync_cursor) == (None, "")


def test_unusable_credentials_are_a_refusal_and_nothing_is_sent(world, fake):
    _, account = world
    ChannelAccount.objects.for_tenant(account.tenant_id).filter(pk=account.pk).update(
        credentials=credentials(seller_id="")
    )

    result = poll(account)

    assert result.error == f"ChannelRefused: Amazon account {account.pk}: the credentials lack seller_id."
    assert fake.calls == []


def test_the_cursor_is_json_and_an_unreadable_one_starts_a_day_back():
    assert poller.PollCursor.loads('{"after": "2026-03-01T10:00:00Z", "token": "t1"}') == poller.PollCursor(
        after="2026-03-01T10:00:00Z", token="t1"
    )
    fresh = poller.PollCursor.loads("not json")
    assert seconds_ago(fresh.after) == pytest.approx(86400, abs=60)


def test_a_page_token_amazon_no_longer_knows_restarts_the_window(world, fake):
    tenant, account = world
    placed = fake.create_order(items=[{"sku": "SHOE-1", "quantity": 1}])
    stale = poller.PollCursor(
        after="2026-01-01T00:00:00Z", token="expired-token", window_end="2026-01-02T00:00:00Z"
    )
    ChannelAccount.objects.for_tenant(tenant).filter(pk=account.pk).update(sync_cursor=stale.dumps())

    result = poll(account)

    assert (result.error, result.new) == ("", 1)
    assert [q.get("paginationToken") for q in fake.search_queries] == ["expired-token", None]
    assert events(tenant).get().event_id == f"order:{placed['orderId']}@{placed['lastUpdatedTime']}"
    assert json.loads(account.sync_cursor)["token"] is None
