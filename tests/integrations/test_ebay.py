"""eBay over real HTTP: the poller reads the fake eBay's getOrders into the inbox, the inbox makes our
orders; token refresh, a revoked refresh token, 429, an interrupted poll, cancellations, bad data
and another tenant's account. SQLite and PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
import requests
from celery.exceptions import Retry
from django.utils import timezone

from fulfillment.models import FulfillmentSettings
from integrations.ebay import poller
from integrations.ebay.fake_server import FakeEbay
from integrations.models import ChannelAccount, ChannelOrder, InboundEvent, RateBucket
from integrations.polling import channel_poll
from orders.models import Hold, Order
from orders.states import HoldKind, OrderState
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.oms.factories import TenantFactory

committing = pytest.mark.django_db(transaction=True)
CREDENTIALS = {
    "client_id": "AcmeApp-PRD-1234",
    "client_secret": "PRD-cert-secret-5678",
    "refresh_token": "v^1.1#r^1#refresh",
}


def fake_ebay(**extra) -> FakeEbay:
    return FakeEbay(
        client_id=CREDENTIALS["client_id"],
        client_secret=CREDENTIALS["client_secret"],
        refresh_token=CREDENTIALS["refresh_token"],
        **extra,
    )


@pytest.fixture
def fake():
    with fake_ebay() as ebay:
        yield ebay


def ebay_world(tenant, fake, *, skus=("SHOE-1", "SOCK-2"), credentials=None):
    """A tenant with a warehouse holding 50 of each SKU, and an eBay account pointing at the fake."""
    FulfillmentSettings.objects.update_or_create(tenant=tenant, defaults={"auto_release": False})
    warehouse = WarehouseFactory(tenant=tenant, code=f"EB-{tenant.slug}", postal_code="78701")
    for code in skus:
        stock(tenant, SKUFactory(tenant=tenant, code=code, name=code.title()), warehouse, 50)
    return ChannelAccount.objects.create(
        tenant=tenant,
        kind="ebay",
        name="main",
        base_url=fake.url,
        credentials=json.dumps(credentials or CREDENTIALS),
    )


@pytest.fixture
def account(fake):
    return ebay_world(TenantFactory(slug="bay-a"), fake)


def poll(account):
    return channel_poll(tenant=account.tenant_id, account_id=account.pk)


def orders(tenant):
    return Order.objects.for_tenant(tenant).filter(channel="ebay")


def events(tenant):
    return InboundEvent.objects.for_tenant(tenant).filter(source="ebay")


def cursor_of(account):
    account.refresh_from_db()
    return json.loads(account.sync_cursor)


def order_calls(fake):
    return [c for c in fake.calls if c == ("GET", "/sell/fulfillment/v1/order")]


@committing
def test_a_poll_makes_allocated_orders_of_the_ebay_orders(account, fake):
    tenant = account.tenant
    first = fake.create_order(
        line_items=[
            {"sku": "SHOE-1", "quantity": 2, "price": "49.50"},
            {"sku": "SOCK-2", "quantity": 1, "price": "9.00"},
        ]
    )
    second = fake.create_order(line_items=[{"sku": "SOCK-2", "quantity": 3, "price": "9.00"}])

    result = poll(account)

    assert (result.pages, result.records, result.new, result.error) == (1, 2, 2, "")
    order = orders(tenant).get(external_id=first["orderId"])
    assert order.state == OrderState.ALLOCATED
    assert [(line.sku.code, line.quantity, str(line.unit_price)) for line in order.lines.all()] == [
        ("SHOE-1", 2, "49.50"),
        ("SOCK-2", 1, "9.00"),
    ]
    assert str(order.total) == first["pricingSummary"]["total"]["value"] == "113.00"
    assert (order.ship_to.line1, order.ship_to.postal_code, order.ship_to.country) == (
        "500 Congress Ave",
        "78701",
        "US",
    )
    assert order.customer.email == "ana.lima@members.ebay.com"
    assert orders(tenant).get(external_id=second["orderId"]).state == OrderState.ALLOCATED
    channel_order = ChannelOrder.objects.for_tenant(tenant).get(external_id=first["orderId"])
    assert [(x.channel_line_id, x.channel_listing_id) for x in channel_order.lines.all()] == [
        (i["lineItemId"], i["legacyItemId"]) for i in first["lineItems"]
    ]
    event = events(tenant).get(event_id=f"order:{first['orderId']}@{first['lastModifiedDate']}")
    assert (event.event_type, event.state) == ("ebay.order", "processed")
    account.refresh_from_db()
    assert (account.last_sync_status, account.last_sync_error, account.poll_lease_owner) == ("ok", "", "")
    assert fake.token_requests == 1  # one token bought, kept on the account for the next calls


@committing
def test_the_next_poll_starts_before_the_last_window_ended_and_brings_only_changes(account, fake):
    tenant = account.tenant
    kept = fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    moved = fake.create_order(line_items=[{"sku": "SOCK-2", "quantity": 1, "price": "9.00"}])
    poll(account)
    after_first = cursor_of(account)
    assert set(after_first) == {"since", "offset"}  # the window is done: the next poll opens one

    fake.update_order(moved["orderId"], ship_to={"addressLine1": "1 Main St", "postalCode": "78702"})
    second = poll(account)

    # Both are read again (the windows overlap) but only the changed one is a new version.
    assert (second.records, second.new) == (2, 1)
    order = orders(tenant).get(external_id=moved["orderId"])
    assert (order.ship_to.line1, order.ship_to.postal_code) == ("1 Main St", "78702")
    assert orders(tenant).count() == 2
    assert events(tenant).get(event_id=f"order:{kept['orderId']}@{kept['lastModifiedDate']}").deliveries == 2
    assert cursor_of(account)["since"] > after_first["since"]


@committing
def test_a_poll_broken_mid_window_resumes_without_duplicate_or_gap(account, fake, monkeypatch):
    monkeypatch.setattr(poller, "PAGE_LIMIT", 2)
    tenant = account.tenant
    made = [
        fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}]) for _ in range(5)
    ]
    fake.fail_page(2, 503)  # the second page of the window fails

    broken = poll(account)

    assert (broken.pages, broken.error) == (1, "ChannelUnavailable: eBay getOrders answered 503")
    stopped = cursor_of(account)
    assert (stopped["offset"], stopped["total"]) == (2, 5)
    assert sorted(orders(tenant).values_list("external_id", flat=True)) == sorted(
        o["orderId"] for o in made[:2]
    )

    # Meanwhile the first order changes: it leaves the frozen window and the rest move down one.
    fake.update_order(made[0]["orderId"], ship_to={"addressLine1": "9 Elm St"})
    resumed = poll(account)

    assert resumed.error == ""
    assert cursor_of(account)["since"] < stopped["until"]  # the next window overlaps this one
    assert sorted(orders(tenant).values_list("external_id", flat=True)) == sorted(o["orderId"] for o in made)
    assert ChannelOrder.objects.for_tenant(tenant).count() == 5
    assert set(events(tenant).values_list("state", flat=True)) == {"processed"}

    poll(account)  # the changed order's new version comes with the next window
    assert orders(tenant).get(external_id=made[0]["orderId"]).ship_to.line1 == "9 Elm St"


@committing
def test_a_429_is_recorded_the_retry_after_is_honoured_and_the_next_poll_goes_on(account, fake):
    tenant = account.tenant
    made = fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    fake.set_quota(0, retry_after=120)

    throttled = poll(account)

    account.refresh_from_db()
    assert throttled.pages == 0 and account.last_sync_status == "error"
    assert account.last_sync_error.startswith("PollThrottled: eBay getOrders answered 429: Too many requests")
    assert "next call in 120 s" in account.last_sync_error
    assert RateBucket.objects.for_tenant(tenant).get(operation="getOrders").throttled == 1

    fake.set_quota(None)
    calls = len(order_calls(fake))
    held = poll(account)  # Retry-After has not passed: eBay is not asked
    assert held.pages == 0 and len(order_calls(fake)) == calls
    assert "call budget is spent" in held.error

    RateBucket.objects.for_tenant(tenant).update(refreshed_at=timezone.now() - timedelta(seconds=121))
    resumed = poll(account)

    assert (resumed.pages, resumed.error) == (1, "")
    assert orders(tenant).get().external_id == made["orderId"]


@committing
def test_an_expired_access_token_is_refreshed_once_and_the_call_made_again(account, fake):
    fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    poll(account)
    account.refresh_from_db()
    old_token = account.access_token
    fake.expire_tokens()  # eBay no longer takes it, though our clock says it has time left
    fake.create_order(line_items=[{"sku": "SOCK-2", "quantity": 1, "price": "9.00"}])

    result = poll(account)

    assert (result.error, result.new) == ("", 1)
    assert fake.token_requests == 2
    account.refresh_from_db()
    assert account.access_token != old_token and account.last_sync_status == "ok"
    assert orders(account.tenant).count() == 2


@committing
def test_a_revoked_refresh_token_is_a_refusal_recorded_on_the_account(account, fake):
    fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    fake.revoke_refresh_token()

    result = poll(account)

    account.refresh_from_db()
    assert result.pages == 0 and account.sync_cursor == ""
    assert account.last_sync_error.startswith(
        "ChannelRefused: eBay refused the account's refresh token (invalid_grant: the provided "
        "authorization refresh token is invalid or was issued to another client)"
    )
    assert CREDENTIALS["refresh_token"] not in account.last_sync_error
    assert not orders(account.tenant).exists()


@committing
def test_wrong_app_keys_or_unreadable_credentials_are_refusals(account, fake):
    ChannelAccount.objects.for_tenant(account.tenant).filter(pk=account.pk).update(
        credentials=json.dumps({**CREDENTIALS, "client_secret": "not-it"})
    )
    assert poll(account).error == (
        "ChannelRefused: eBay refused the account's app keys (invalid_client: client authentication "
        "failed); check its client_id and client_secret."
    )

    ChannelAccount.objects.for_tenant(account.tenant).filter(pk=account.pk).update(
        credentials="v^1.1#r^1#refresh"
    )
    error = poll(account).error
    assert "credentials must be JSON with client_id, client_secret and refresh_token" in error
    assert "v^1.1" not in error  # the stored text is never echoed
    assert fake.token_requests == 1


@committing
def test_a_cancellation_at_ebay_cancels_our_unshipped_order(account, fake):
    made = fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    poll(account)
    assert orders(account.tenant).get().state == OrderState.ALLOCATED

    fake.cancel_order(made["orderId"])
    poll(account)

    order = orders(account.tenant).get()
    assert (order.state, order.cancel_reason) == (OrderState.CANCELLED, "Cancelled at eBay")
    assert ChannelOrder.objects.for_tenant(account.tenant).get().state == "cancelled"


@committing
def test_an_unmapped_ebay_sku_keeps_the_order_on_hold(account, fake):
    fake.create_order(
        line_items=[
            {"sku": "SHOE-1", "quantity": 1, "price": "49.50"},
            {"sku": "blue-hat", "quantity": 1, "price": "15.00"},
        ]
    )

    poll(account)

    order = orders(account.tenant).get()
    assert order.state == OrderState.ON_HOLD
    hold = Hold.objects.for_tenant(account.tenant).get(order=order)
    assert (hold.kind, hold.reason) == (HoldKind.UNMAPPED_SKU, "Channel SKU(s) not mapped: blue-hat")


@committing
def test_an_order_that_cannot_be_read_is_stored_and_failed_with_the_reason(account, fake):
    made = fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
    with fake.lock:
        fake.orders[made["orderId"]]["lineItems"][0]["quantity"] = "two"

    with pytest.raises(Retry):  # the inbox task retries it (eager in tests: raised here)
        poll(account)

    event = events(account.tenant).get()
    assert (event.state, event.event_id) == ("failed", f"order:{made['orderId']}@{made['lastModifiedDate']}")
    assert event.error == "MarketplaceOrderInvalid: lineItems[0].quantity 'two' is not a number"
    assert json.loads(event.body)["orderId"] == made["orderId"]
    assert not orders(account.tenant).exists()


@committing
def test_each_tenant_polls_its_own_ebay_account_only(fake):
    other_fake = fake_ebay().start()
    try:
        tenant_a, tenant_b = TenantFactory(slug="bay-x"), TenantFactory(slug="bay-y")
        account_a, account_b = ebay_world(tenant_a, fake), ebay_world(tenant_b, other_fake)
        mine = fake.create_order(line_items=[{"sku": "SHOE-1", "quantity": 1, "price": "49.50"}])
        theirs = other_fake.create_order(line_items=[{"sku": "SOCK-2", "quantity": 1, "price": "9.00"}])

        wrong = channel_poll(tenant=tenant_a, account_id=account_b.pk)  # another tenant's account id
        assert wrong.skipped == "no such polled account" and other_fake.token_requests == 0
        poll(account_a)
        poll(account_b)

        assert list(orders(tenant_a).values_list("external_id", flat=True)) == [mine["orderId"]]
        assert list(orders(tenant_b).values_list("external_id", flat=True)) == [theirs["orderId"]]
        assert not events(tenant_a).filter(account=account_b).exists()
        assert not events(tenant_b).filter(account=account_a).exists()
    finally:
        other_fake.stop()


# --- the fake itself ---------------------------------------------------------------------------------
def test_the_fake_refuses_a_filter_whose_brackets_are_not_percent_encoded():
    with fake_ebay() as ebay:
        token = requests.post(
            ebay.url + "/identity/v1/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": CREDENTIALS["refresh_token"],
                "scope": "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
            },
            auth=(CREDENTIALS["client_id"], CREDENTIALS["client_secret"]),
            timeout=5,
        ).json()
        assert token["token_type"] == "User Access Token" and token["expires_in"] == 7200
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        ebay.create_order(line_items=[{"sku": "A", "quantity": 1}])
        url = ebay.url + "/sell/fulfillment/v1/order?filter=lastmodifieddate:{}2026-01-01T00:00:00.000Z..{}"

        # requests would encode the brackets itself; urllib sends them as written.
        with pytest.raises(urllib.error.HTTPError) as raw:
            urllib.request.urlopen(urllib.request.Request(url.format("[", "]"), headers=headers), timeout=5)
        encoded = requests.get(url.format("%5B", "%5D"), headers=headers, timeout=5)
        inventory = requests.post(
            ebay.url + "/sell/inventory/v1/bulk_update_price_quantity", json={}, headers=headers, timeout=5
        )

        assert raw.value.code == 400
        assert (encoded.status_code, encoded.json()["total"]) == (200, 1)
        assert "next" not in encoded.json()
        assert inventory.status_code == 403  # the token has no sell.inventory scope
