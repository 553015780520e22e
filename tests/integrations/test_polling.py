"""The polling framework (integrations/polling.py): pages into the inbox, the cursor after the commit,
one poll per account, the beat sweep and "sync now". The connectors' own pollers are tested over
HTTP against their fakes (test_amazon*.py, test_ebay*.py); here a scripted poller stands in."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from integrations import inbox, polling
from integrations.models import ChannelAccount, InboundEvent, RateBucket
from integrations.polling import PolledRecord, PollPage, PollThrottled, channel_poll, channel_polls_due
from integrations.ratelimit import rate_take, rate_throttled, vendor_rate_of
from integrations.tokens import access_token_forget, access_token_get
from oms.models import OutboxMessage
from orders.channels import ChannelRefused, ChannelUnavailable
from tests.conftest import _staff

KIND = "ebay"


class Script:
    """A poller that serves pages of order ids from a list, two per page, and can fail on a page."""

    def __init__(self, ids: list[str], *, fail_on: int | None = None, error: Exception | None = None):
        self.ids = ids
        self.fail_on = fail_on
        self.error = error or ChannelUnavailable("503 from the channel")
        self.cursors: list[str] = []

    def __call__(self, account: ChannelAccount, cursor: str) -> PollPage:
        self.cursors.append(cursor)
        start = int(cursor or 0)
        if self.fail_on is not None and start // 2 == self.fail_on:
            self.fail_on = None  # once
            raise self.error
        chunk = self.ids[start : start + 2]
        records = tuple(
            PolledRecord(record_id=i, version="v1", body=json.dumps({"orderId": i})) for i in chunk
        )
        end = start + len(chunk)
        return PollPage(records=records, cursor=str(end), more=end < len(self.ids))


@pytest.fixture
def script():
    kept = polling._pollers.get(KIND)
    handler = inbox._handlers.pop(KIND, None)  # the scripted records are not real orders: no handler
    poller = Script([f"O-{n}" for n in range(5)])
    polling.register_poller(KIND, poller)
    yield poller
    if kept is None:
        polling.unregister_poller(KIND)
    else:
        polling.register_poller(KIND, kept)
    if handler is not None:
        inbox.register_inbound_handler(KIND, handler)


def account_of(tenant, **extra):
    return ChannelAccount.objects.create(tenant=tenant, kind=KIND, name=f"{KIND}-{tenant.slug}", **extra)


def stored(tenant):
    return sorted(
        json.loads(e.body)["orderId"] for e in InboundEvent.objects.for_tenant(tenant).filter(source=KIND)
    )


def test_a_poll_stores_every_page_in_the_inbox_and_moves_the_cursor(tenant_a, script):
    account = account_of(tenant_a)

    result = channel_poll(tenant=tenant_a, account_id=account.pk)

    assert (result.pages, result.records, result.new, result.error) == (3, 5, 5, "")
    assert stored(tenant_a) == ["O-0", "O-1", "O-2", "O-3", "O-4"]
    account.refresh_from_db()
    assert (account.sync_cursor, account.last_sync_status, account.poll_lease_owner) == ("5", "ok", "")
    assert account.last_poll_at is not None
    event = InboundEvent.objects.for_tenant(tenant_a).get(event_id="order:O-0@v1")
    assert (event.event_type, event.account_id) == ("ebay.order", account.pk)


def test_an_interrupted_poll_resumes_at_the_first_page_not_committed(tenant_a, script):
    account = account_of(tenant_a)
    script.fail_on = 1  # the second page fails: the first is committed, the cursor after it

    first = channel_poll(tenant=tenant_a, account_id=account.pk)

    account.refresh_from_db()
    assert (first.pages, first.error) == (1, "ChannelUnavailable: 503 from the channel")
    assert (account.sync_cursor, account.last_sync_status) == ("2", "error")
    assert "503 from the channel" in account.last_sync_error
    assert stored(tenant_a) == ["O-0", "O-1"]

    second = channel_poll(tenant=tenant_a, account_id=account.pk)

    assert script.cursors == ["", "2", "2", "4"]  # resumed where it stopped: no gap
    assert (second.pages, second.new) == (2, 3)
    assert stored(tenant_a) == ["O-0", "O-1", "O-2", "O-3", "O-4"]  # no duplicate
    account.refresh_from_db()
    assert (account.sync_cursor, account.last_sync_status, account.last_sync_error) == ("5", "ok", "")


def test_a_record_seen_again_is_counted_not_stored_twice(tenant_a, script):
    account = account_of(tenant_a)
    channel_poll(tenant=tenant_a, account_id=account.pk)
    ChannelAccount.objects.for_tenant(tenant_a).filter(pk=account.pk).update(sync_cursor="")

    again = channel_poll(tenant=tenant_a, account_id=account.pk)

    assert (again.records, again.new) == (5, 0)
    assert InboundEvent.objects.for_tenant(tenant_a).get(event_id="order:O-3@v1").deliveries == 2


def test_only_one_poll_of_an_account_runs_and_a_dead_pollers_lease_runs_out(tenant_a, script):
    account = account_of(tenant_a)
    ChannelAccount.objects.for_tenant(tenant_a).filter(pk=account.pk).update(
        poll_lease_owner="someone", poll_lease_until=timezone.now() + timedelta(seconds=60)
    )

    held = channel_poll(tenant=tenant_a, account_id=account.pk)

    assert held.skipped and held.pages == 0 and stored(tenant_a) == []
    ChannelAccount.objects.for_tenant(tenant_a).filter(pk=account.pk).update(
        poll_lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert channel_poll(tenant=tenant_a, account_id=account.pk).pages == 3


def test_a_refusal_is_recorded_and_the_cursor_stays(tenant_a, script):
    account = account_of(tenant_a, sync_cursor="2")
    script.fail_on, script.error = 1, ChannelRefused("401: the refresh token was revoked")

    result = channel_poll(tenant=tenant_a, account_id=account.pk)

    account.refresh_from_db()
    assert result.pages == 0 and account.sync_cursor == "2" and account.poll_lease_owner == ""
    assert account.last_sync_error == "ChannelRefused: 401: the refresh token was revoked"


def test_a_poll_with_another_tenants_account_id_does_nothing(tenant_a, tenant_b, script):
    theirs = account_of(tenant_b)

    result = channel_poll(tenant=tenant_a, account_id=theirs.pk)

    assert result.skipped == "no such polled account" and script.cursors == []
    theirs.refresh_from_db()
    assert theirs.last_poll_at is None


def test_beat_queues_a_poll_for_each_account_whose_interval_passed(tenant_a, tenant_b, script):
    now = timezone.now()
    due = account_of(tenant_a, poll_interval_seconds=300)
    ChannelAccount.objects.for_tenant(tenant_a).filter(pk=due.pk).update(
        last_poll_at=now - timedelta(seconds=301)
    )
    fresh = account_of(tenant_b, poll_interval_seconds=300)
    ChannelAccount.objects.for_tenant(tenant_b).filter(pk=fresh.pk).update(
        last_poll_at=now - timedelta(seconds=30)
    )
    never = ChannelAccount.objects.create(tenant=tenant_b, kind=KIND, name="never polled")
    ChannelAccount.objects.create(tenant=tenant_a, kind=KIND, name="off", active=False)
    ChannelAccount.objects.create(tenant=tenant_a, kind="shopify", name="webhooks")

    assert channel_polls_due(now=now) == 2

    queued = OutboxMessage.objects.filter(task="integrations.tasks.channel_poll_task")
    assert sorted((m.kwargs["tenant_id"], m.kwargs["account_id"]) for m in queued) == sorted(
        [(tenant_a.pk, due.pk), (tenant_b.pk, never.pk)]
    )


def test_sync_now_in_the_admin_polls_the_account_at_once(
    client, manager_a, tenant_a, script, django_capture_on_commit_callbacks
):
    account = account_of(tenant_a)
    shopify = ChannelAccount.objects.create(tenant=tenant_a, kind="shopify", name="webhooks")
    client.force_login(manager_a)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:integrations_channelaccount_changelist"),
            {"action": "sync_now", "_selected_action": [account.pk, shopify.pk]},
            follow=True,
        )

    page = response.content.decode()
    assert "A poll was queued for 1 account(s). 1 skipped" in page
    assert stored(tenant_a) == ["O-0", "O-1", "O-2", "O-3", "O-4"]
    detail = client.get(
        reverse("admin:integrations_channelaccount_change", args=[account.pk])
    ).content.decode()
    assert "Last poll at" in detail


def test_sync_now_is_not_offered_to_an_agent(client, tenant_a, script):
    account = account_of(tenant_a)
    agent = _staff(tenant_a, "agent", "agent@a.example")
    client.force_login(agent)
    response = client.post(
        reverse("admin:integrations_channelaccount_changelist"),
        {"action": "sync_now", "_selected_action": [account.pk]},
    )
    assert response.status_code in (302, 403)
    assert script.cursors == []


# --- the token bucket -------------------------------------------------------------------------
def test_the_bucket_gives_its_burst_then_says_how_long_to_wait(tenant_a):
    account = account_of(tenant_a)
    taken = [rate_take(account, "searchOrders", rate=0.5, burst=3) for _ in range(4)]
    assert taken[:3] == [0.0, 0.0, 0.0]
    assert taken[3] == pytest.approx(2.0, abs=0.1)  # one token at 0.5/s

    RateBucket.objects.for_tenant(tenant_a).update(refreshed_at=timezone.now() - timedelta(seconds=4))
    assert rate_take(account, "searchOrders", rate=0.5, burst=3) == 0.0  # refilled
    assert rate_take(account, "getOrder", rate=0.5, burst=3) == 0.0  # each operation its own bucket


def test_a_429_empties_the_bucket_and_takes_the_vendors_rate(tenant_a):
    account = account_of(tenant_a)
    wait = rate_throttled(account, "searchOrders", rate=1.0, burst=20, vendor_rate=vendor_rate_of("0.0167"))
    assert wait == pytest.approx(1 / 0.0167, rel=0.01)
    assert rate_take(account, "searchOrders", rate=1.0, burst=20) == pytest.approx(1 / 0.0167, rel=0.02)
    bucket = RateBucket.objects.for_tenant(tenant_a).get()
    assert (bucket.throttled, round(bucket.rate, 4)) == (1, 0.0167)
    assert vendor_rate_of("nonsense") is None and vendor_rate_of("") is None
    assert issubclass(PollThrottled, ChannelUnavailable)


def test_an_access_token_is_reused_until_it_is_nearly_expired_and_stored_encrypted(tenant_a):
    account = account_of(tenant_a)
    calls = []

    def fetch():
        calls.append(1)
        return f"Atza|token-{len(calls)}", 3600

    assert access_token_get(account, fetch) == "Atza|token-1"
    fresh = ChannelAccount.objects.for_tenant(tenant_a).get(pk=account.pk)
    assert access_token_get(fresh, fetch) == "Atza|token-1" and len(calls) == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM integrations_channelaccount WHERE id = %s", [account.pk])
        assert "Atza|token-1" not in cursor.fetchone()[0]
    access_token_forget(fresh)
    assert access_token_get(fresh, fetch) == "Atza|token-2"
    ChannelAccount.objects.for_tenant(tenant_a).filter(pk=account.pk).update(
        access_token_expires_at=timezone.now() + timedelta(seconds=30)
    )
    assert (
        access_token_get(ChannelAccount.objects.for_tenant(tenant_a).get(pk=account.pk), fetch)
        == "Atza|token-3"
    )


def test_a_429_with_retry_after_keeps_the_bucket_empty_that_long(tenant_a):
    account = account_of(tenant_a)
    wait = rate_throttled(account, "getOrders", rate=0.1, burst=20, hold_seconds=120)
    assert wait == pytest.approx(120, abs=1)
    assert rate_take(account, "getOrders", rate=0.1, burst=20) == pytest.approx(120, abs=1)
