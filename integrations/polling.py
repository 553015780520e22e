"""Polled marketplaces (Amazon, eBay): one poll per account at its interval, pages into the inbox.

A connector registers a poller for its kind (`register_poller(kind, poller)`):
`poller(account, cursor) -> PollPage` fetches ONE page of orders changed since `cursor` (its
own text: a last-updated time, a page token) and says where the next page or poll starts. The
poller calls the vendor; everything else is here:

- **One poll of an account at a time.** `channel_poll` first takes the account's lease with a
  compare-and-set UPDATE (`poll_lease_owner`, `poll_lease_until`): a second worker finds it
  held and leaves. A worker killed mid-poll leaves a lease that runs out after LEASE_SECONDS.
- **The cursor moves only after the page is committed.** Each page's records are stored raw
  in the inbox (`inbound_event_store`, one event per record version, so a record seen twice
  is counted, not stored twice) and the account's `sync_cursor` is set to the page's cursor in
  the SAME transaction. A poll interrupted anywhere resumes at the first page not committed:
  no gap, and no duplicate (the inbox and the ingest are idempotent on the channel's ids).
  The inbox tasks then turn the records into orders (retried, dead-lettered, replayable).
- **Errors** are recorded on the account (`last_sync_status` / `last_sync_error`, shown in the
  admin): `ChannelUnavailable` (down, 5xx, 429: `PollThrottled`) and `ChannelRefused` (bad
  credentials) end the poll; the next one (beat, or "sync now") tries again from the cursor.

Beat runs `channel_polls_due` every POLL_SWEEP_SECONDS: it queues a poll (through the outbox)
for each active account of a polled kind whose `poll_interval_seconds` has passed since its
last poll. The admin's "Sync now" queues one at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.inbox import inbound_event_store
from integrations.models import ChannelAccount, SyncStatus
from oms.core.tasks import enqueue_on_commit
from orders.channels import ChannelRefused, ChannelUnavailable

logger = logging.getLogger(__name__)

LEASE_SECONDS = 300
MAX_PAGES = 100  # per poll; the rest waits for the next one (the cursor is kept)


@dataclass(frozen=True)
class PolledRecord:
    """One record of a page, as the vendor sent it."""

    record_id: str  # the channel's id (its order id)
    version: str  # its last-updated time: (record_id, version) is one inbox event
    body: str  # the record as JSON text, as received
    record_type: str = "order"


@dataclass(frozen=True)
class PollPage:
    records: tuple[PolledRecord, ...]
    cursor: str  # where the next page (or the next poll) starts
    more: bool  # another page follows at once


class PollThrottled(ChannelUnavailable):
    """The vendor (or our bucket for it) says wait: 429, or no token for `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


Poller = Callable[[ChannelAccount, str], PollPage]
_pollers: dict[str, Poller] = {}


def register_poller(kind: str, poller: Poller) -> None:
    _pollers[kind] = poller


def unregister_poller(kind: str) -> None:
    _pollers.pop(kind, None)


def polled_kinds() -> tuple[str, ...]:
    return tuple(sorted(_pollers))


@dataclass
class PollResult:
    pages: int = 0
    records: int = 0
    new: int = 0
    skipped: str = ""
    error: str = ""
    cursor: str = ""
    events: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "records": self.records,
            "new": self.new,
            "skipped": self.skipped,
            "error": self.error,
        }


def _accounts(tenant: Any) -> Any:
    return ChannelAccount.objects.for_tenant(tenant)


def _lease_take(tenant: Any, account_id: int, owner: str) -> bool:
    now = timezone.now()
    taken = (
        _accounts(tenant)
        .filter(pk=account_id, active=True)
        .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lt=now))
        .update(poll_lease_owner=owner, poll_lease_until=now + timedelta(seconds=LEASE_SECONDS))
    )
    return taken == 1


def _finish(tenant: Any, account_id: int, owner: str, *, error: str) -> None:
    now = timezone.now()
    _accounts(tenant).filter(pk=account_id, poll_lease_owner=owner).update(
        poll_lease_owner="",
        poll_lease_until=None,
        last_poll_at=now,
        last_sync_at=now,
        last_sync_status=SyncStatus.ERROR if error else SyncStatus.OK,
        last_sync_error=error[:2000],
    )


def _commit_page(account: ChannelAccount, owner: str, page: PollPage, result: PollResult) -> bool:
    """Store the page's records and move the cursor, in one transaction. False: the lease was lost."""
    with transaction.atomic():
        locked = _accounts(account.tenant_id).select_for_update().get(pk=account.pk)
        if locked.poll_lease_owner != owner:
            return False
        for record in page.records:
            event, created = inbound_event_store(
                account=locked,
                event_id=f"{record.record_type}:{record.record_id}@{record.version}",
                event_type=f"{locked.kind}.{record.record_type}",
                headers={"X-OMS-Polled": f"{locked.kind} {record.record_type} {record.record_id}"},
                body=record.body,
            )
            result.records += 1
            result.new += int(created)
            result.events.append(event.pk)
        locked.sync_cursor = page.cursor
        locked.poll_lease_until = timezone.now() + timedelta(seconds=LEASE_SECONDS)
        locked.save(update_fields=["sync_cursor", "poll_lease_until", "updated_at"])
    account.sync_cursor = page.cursor
    result.cursor = page.cursor
    result.pages += 1
    return True


def channel_poll(*, tenant: Any, account_id: int, max_pages: int = MAX_PAGES) -> PollResult:
    """Poll one account now: page after page into the inbox, the cursor moved after each commit."""
    result = PollResult()
    account = _accounts(tenant).filter(pk=account_id).first()
    poller = _pollers.get(account.kind) if account is not None else None
    if account is None or poller is None:
        result.skipped = "no such polled account"
        return result
    owner = uuid.uuid4().hex
    if not _lease_take(tenant, account_id, owner):
        result.skipped = "inactive, or another poll of this account is running"
        return result
    account.refresh_from_db()
    error = ""
    try:
        for _ in range(max_pages):
            page = poller(account, account.sync_cursor)
            if not _commit_page(account, owner, page, result):
                result.skipped = "the poll's lease ran out and another poll took over"
                return result
            if not page.more:
                break
    except (ChannelUnavailable, ChannelRefused) as exc:
        error = f"{type(exc).__name__}: {exc}"
        logger.warning("Polling %r stopped: %s", account, error)
    except Exception as exc:
        _finish(tenant, account_id, owner, error=f"{type(exc).__name__}: {exc}")
        raise
    result.error = error
    _finish(tenant, account_id, owner, error=error)
    return result


def channel_polls_due(*, now: Any = None) -> int:
    """Beat: queue a poll for every active polled account whose interval has passed. Returns how many."""
    now = now or timezone.now()
    kinds = polled_kinds()
    if not kinds:
        return 0
    queued = 0
    accounts = (
        ChannelAccount.objects.unscoped()  # the sweep covers every tenant; each task is one tenant's
        .filter(kind__in=kinds, active=True)
        .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lt=now))
        .only("pk", "tenant_id", "last_poll_at", "poll_interval_seconds")
        .order_by("pk")
    )
    with transaction.atomic():
        for account in accounts:
            due = (
                account.last_poll_at is None
                or account.last_poll_at + timedelta(seconds=account.poll_interval_seconds) <= now
            )
            if due:
                enqueue_on_commit(
                    "integrations.tasks.channel_poll_task", tenant_id=account.tenant_id, account_id=account.pk
                )
                queued += 1
    return queued


def channel_sync_now(*, tenant: Any, account_ids: list[int]) -> int:
    """The admin's "Sync now": a poll queued at once for each polled account. Returns how many."""
    kinds = polled_kinds()
    queued = 0
    with transaction.atomic():
        accounts = _accounts(tenant).filter(pk__in=account_ids, kind__in=kinds, active=True)
        for account in accounts.order_by("pk"):
            enqueue_on_commit(
                "integrations.tasks.channel_poll_task", tenant_id=account.tenant_id, account_id=account.pk
            )
            queued += 1
    return queued
