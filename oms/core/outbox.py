"""The transactional outbox: a side effect that must not be lost is a row committed with its cause.

Writing. `enqueue_on_commit` (oms/core/tasks.py) calls `outbox_write` inside the caller's
transaction, so the row commits or rolls back with the change that causes it: a broker outage
delays a side effect but never loses it, and a rolled-back change sends nothing.

Relaying. `outbox_relay` claims ready rows in a short transaction (on PostgreSQL with
`SELECT ... FOR UPDATE SKIP LOCKED`, so relays running side by side never claim the same row;
SQLite serialises writers anyway), leases them for CLAIM_SECONDS, publishes each outside any
transaction and marks the published ones sent in one statement. It has two callers: the
on-commit kick for the rows a transaction wrote (best effort, never raises into the request) and
`oms.tasks.outbox_relay_task` on beat every few seconds, the safety net that catches up after an
outage. On PostgreSQL (OUTBOX_RELAY_THREAD, unless tasks run eagerly) the kick only hands the rows
to the process's relay thread (oms/core/relay_thread.py), which relays the rows of many requests
per batch off the request path; elsewhere the kick relays them inline after the commit. A row
written for the relay thread is written already leased to it (`outbox_write(leased=True)`,
unless a broker outage paused the kicks): the thread publishes it without a claim statement,
and the beat relay leaves it alone for the lease, as it does a claimed row. A failed
publish leaves the row pending with exponential backoff; a task name that does not resolve fails
the row for good (`manage.py outbox` and the admin show it; `manage.py outbox --retry-failed`
sends it again).

Consuming. The relay puts the row's id in the message header `outbox_id`. Every task runs on
`OutboxTask` (the Celery app's task class): a delivery of a row that is already done is skipped,
and a success records the row as done. A relay that dies between publishing and marking sent
publishes the row again once the lease ends; that second delivery is recognised, and the
services behind the tasks are idempotent besides, so the effect happens once.

Purging. Sent rows are deleted after OUTBOX_RETENTION_DAYS (`outbox_purge`, hourly on beat).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import import_module
from typing import Any

from celery import Task, current_app
from celery.exceptions import Ignore
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from oms.core.fairness import fair_publish_options, fair_task_finished
from oms.core.inserts import insert_sql, loaded
from oms.core.relay_thread import BatchingThread
from oms.core.request_id import get_request_id
from oms.models import OutboxMessage, OutboxState

logger = logging.getLogger(__name__)

HEADER = "outbox_id"
BATCH_SIZE = 200
CLAIM_SECONDS = 60  # a claimed row not marked sent or retried within this is claimed again
MAX_BACKOFF_SECONDS = 300
# One quick retry: a publish that cannot reach the broker fails in milliseconds, not after
# kombu's default connection retries, and the row waits for the next relay.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
KICK_PAUSE_SECONDS = 5.0  # after a kick finds the broker down, this process leaves rows to the beat relay
_kick_paused_until = 0.0


def task_by_name(name: str) -> Any:
    """The registered task called `name` ("orders.tasks.order_allocate_task"), importing its module."""
    module, _, attr = name.rpartition(".")
    return getattr(import_module(module), attr)


# --- writing ----------------------------------------------------------------------------------
def outbox_write(
    task: Any, kwargs: dict[str, Any], *, tenant_id: int | None = None, leased: bool = False
) -> OutboxMessage:
    """Write the row in the current transaction (`task` is a task or its dotted name); one INSERT
    from oms.core.inserts, as it is on every placement's path.

    `leased`: written already claimed by this process's relay thread (available CLAIM_SECONDS
    from now, as a claim leaves it), which publishes it after the commit without claiming it
    first (`outbox_kick_leased`); the returned row then holds its kwargs as the table does (JSON
    read back). Should this process die before publishing it, the beat relay sends it once the
    lease ends, as it does a claimed row."""
    name = task if isinstance(task, str) else task.name
    request_id = get_request_id()
    row = OutboxMessage(
        tenant_id=tenant_id,
        task=name,
        kwargs=kwargs,
        request_id="" if request_id == "-" else request_id[:64],
    )
    if leased:
        row.available_at = row.created_at + timedelta(seconds=CLAIM_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(*insert_sql(OutboxMessage, [row]))
        [row.pk] = cursor.fetchone()
    if leased:
        row.kwargs = json.loads(json.dumps(kwargs, cls=DjangoJSONEncoder))  # as a claim reads it
    return loaded(row)


# --- relaying ---------------------------------------------------------------------------------
@dataclass
class RelayResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    published_at: dict[int, float] = field(default_factory=dict)  # row id -> time.monotonic()

    def __iadd__(self, other: RelayResult) -> RelayResult:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.published_at.update(other.published_at)
        return self


# In the model's field order: Model.from_db places the values by position.
_CLAIMED = (
    *("id", "tenant_id", "task", "kwargs", "state", "attempts", "available_at", "created_at", "request_id"),
)
_CLAIM_SQL = """
UPDATE {table} SET available_at = %s WHERE id IN (
    SELECT id FROM {table} WHERE state = %s AND available_at <= %s {only}
    ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
) RETURNING {columns}
"""


def _claimed_rows(sql: str, params: list[Any]) -> list[OutboxMessage]:
    """The claimed rows as instances (Model.from_db, the JSON decoded as the field does), without
    a RawQuerySet's per-call column resolution: the relay claims after every placement's commit."""
    kwargs_field = OutboxMessage._meta.get_field("kwargs")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    rows = []
    for values in found:
        row = OutboxMessage.from_db(connection.alias, _CLAIMED, values)
        row.kwargs = kwargs_field.from_db_value(row.kwargs, None, connection)
        rows.append(row)
    return sorted(rows, key=lambda row: row.pk)


def _claim(*, ids: Iterable[int] | None, limit: int) -> list[OutboxMessage]:
    now = timezone.now()
    lease = now + timedelta(seconds=CLAIM_SECONDS)
    if connection.vendor == "postgresql":
        # One statement: lock the ready rows no other relay holds, lease them, read them back.
        only, params = "", [lease, OutboxState.PENDING, now]
        if ids is not None:
            only, params = "AND id = ANY(%s)", [*params, list(ids)]
        sql = _CLAIM_SQL.format(table=OutboxMessage._meta.db_table, only=only, columns=", ".join(_CLAIMED))
        return _claimed_rows(sql, [*params, limit])
    with transaction.atomic():
        qs = OutboxMessage.objects.filter(state=OutboxState.PENDING, available_at__lte=now)
        if ids is not None:
            qs = qs.filter(pk__in=list(ids))
        rows = list(qs.order_by("pk").select_for_update(skip_locked=True)[:limit])
        if rows:
            OutboxMessage.objects.filter(pk__in=[row.pk for row in rows]).update(available_at=lease)
    return rows


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


_MARK_SENT_SQL = """
UPDATE {table} SET state = %s, sent_at = %s, attempts = attempts + 1, last_error = %s
WHERE id = ANY(%s)"""


def _mark_sent(rows: list[OutboxMessage], *, error: str = "") -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":  # once per relayed batch: the statement written once
        with connection.cursor() as cursor:
            cursor.execute(
                _MARK_SENT_SQL.format(table=OutboxMessage._meta.db_table),
                [OutboxState.SENT.value, timezone.now(), error, [row.pk for row in rows]],
            )
        return
    OutboxMessage.objects.filter(pk__in=[row.pk for row in rows]).update(
        state=OutboxState.SENT, sent_at=timezone.now(), attempts=F("attempts") + 1, last_error=error
    )


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def _mark_retry(row: OutboxMessage, exc: BaseException) -> None:
    attempts = row.attempts + 1
    OutboxMessage.objects.filter(pk=row.pk).update(
        attempts=attempts, available_at=timezone.now() + _backoff(attempts), last_error=_error_text(exc)
    )


def _mark_failed(row: OutboxMessage, exc: BaseException) -> None:
    OutboxMessage.objects.filter(pk=row.pk).update(
        state=OutboxState.FAILED, attempts=F("attempts") + 1, last_error=_error_text(exc)
    )


def _release(rows: list[OutboxMessage]) -> None:
    """Claimed rows not tried (the broker is down): ready again for the next relay."""
    if rows:
        OutboxMessage.objects.filter(pk__in=[row.pk for row in rows], state=OutboxState.PENDING).update(
            available_at=timezone.now()
        )


def _publish(task: Any, row: OutboxMessage) -> None:
    headers: dict[str, Any] = {HEADER: row.pk}
    if row.request_id:
        headers["request_id"] = row.request_id
    task.apply_async(kwargs=row.kwargs, headers=headers, retry=True, retry_policy=PUBLISH_RETRY_POLICY)


def outbox_relay(*, ids: Iterable[int] | None = None, limit: int = BATCH_SIZE) -> RelayResult:
    """Publish up to `limit` ready rows (only `ids` if given), oldest first. Stops at a broker error.

    The rows published are marked sent together once the batch ends (also when it ends on an
    error); a relay that dies before that leaves them to be published again after the lease, and
    that second delivery is recognised (OutboxTask)."""
    return _relayed(_claim(ids=ids, limit=limit))


def _relayed(rows: list[OutboxMessage]) -> RelayResult:
    """Publish claimed (or leased) rows in order; mark the published ones sent (see outbox_relay)."""
    result = RelayResult()
    published: list[OutboxMessage] = []
    try:
        for index, row in enumerate(rows):
            try:
                task = task_by_name(row.task)
            except (ImportError, AttributeError, ValueError) as exc:
                logger.error("Outbox message %s names no task (%s); it is marked failed", row.pk, row.task)
                _mark_failed(row, exc)
                result.failed += 1
                continue
            try:
                _publish(task, row)
            except Exception as exc:
                if task.app.conf.task_always_eager:
                    # Run in-process (tests, CELERY_TASK_ALWAYS_EAGER): it was delivered and failed,
                    # and the caller sees the error as it would without the outbox.
                    _mark_sent([row], error=_error_text(exc))
                    _release(rows[index + 1 :])
                    raise
                logger.warning("Publishing outbox message %s failed; it stays pending: %s", row.pk, exc)
                _mark_retry(row, exc)
                _release(rows[index + 1 :])
                result.retrying += len(rows) - index
                break
            published.append(row)
            result.published_at[row.pk] = time.monotonic()
            result.sent += 1
    finally:
        _mark_sent(published)
    return result


# --- the kick after a commit ----------------------------------------------------------------------
@dataclass
class KickStats:
    """What this process's kicks did: rows relayed, batches, and commit-to-broker latencies (s)."""

    rows: int = 0
    batches: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))


kick_stats = KickStats()
_kicked_at: dict[int, float] = {}
_kicked_lock = threading.Lock()


def _relay_kicked(items: list[Any]) -> None:
    """Relay rows whose transactions committed (ids to claim, or rows leased when written); note
    how long after their commit each went out."""
    global _kick_paused_until
    leased = sorted((item for item in items if isinstance(item, OutboxMessage)), key=lambda row: row.pk)
    ids = [item for item in items if not isinstance(item, OutboxMessage)]
    with _kicked_lock:
        kicked = {pk: _kicked_at.pop(pk, None) for pk in [*ids, *(row.pk for row in leased)]}
    if time.monotonic() < _kick_paused_until:
        return
    try:
        result = RelayResult()
        for start in range(0, len(leased), BATCH_SIZE):
            result += _relayed(leased[start : start + BATCH_SIZE])
            if result.retrying:
                break
        for start in range(0, len(ids), BATCH_SIZE):
            if result.retrying:
                break
            result += outbox_relay(ids=ids[start : start + BATCH_SIZE])
    except Exception:
        if current_app.conf.task_always_eager:
            raise  # the task ran in-process and failed: let the test or the developer see it
        logger.warning(
            "Outbox kick for %s failed; the beat relay sends them (a leased row once its lease ends)",
            [*ids, *(row.pk for row in leased)],
            exc_info=True,
        )
        return
    kick_stats.rows += result.sent
    kick_stats.batches += 1
    for pk, at in result.published_at.items():
        if (since := kicked.get(pk)) is not None:
            kick_stats.latencies.append(at - since)
    if result.retrying:
        _kick_paused_until = time.monotonic() + KICK_PAUSE_SECONDS


relay_thread = BatchingThread("outbox-relay", _relay_kicked, batch_limit=BATCH_SIZE)


def _kick_in_thread() -> bool:
    return (
        getattr(settings, "OUTBOX_RELAY_THREAD", False)
        and not current_app.conf.task_always_eager
        and connection.vendor == "postgresql"
    )


def outbox_kick_leases() -> bool:
    """Whether a row written now should be leased to this process's relay thread (outbox_write):
    the thread will relay it after the commit, and the kicks are not paused by a broker outage."""
    return _kick_in_thread() and time.monotonic() >= _kick_paused_until


def outbox_kick_leased(rows: list[OutboxMessage]) -> None:
    """Hand rows written leased (outbox_write) to the relay thread once their transaction committed."""
    now = time.monotonic()
    with _kicked_lock:
        for row in rows:
            _kicked_at[row.pk] = now
    relay_thread.submit(list(rows))


def outbox_kick(ids: list[int]) -> None:
    """Relay the rows a transaction just committed. Best effort: never raises; the beat relay follows.

    On the relay thread when there is one (the request only hands the ids over), else inline."""
    now = time.monotonic()
    with _kicked_lock:
        for pk in ids:
            _kicked_at[pk] = now
    if _kick_in_thread():
        relay_thread.submit(list(ids))
    else:
        _relay_kicked(list(ids))


def outbox_relay_pending(*, budget_seconds: float = 20.0) -> RelayResult:
    """The periodic relay: batches until nothing is ready, the broker fails, or the budget is spent."""
    total = RelayResult()
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        result = outbox_relay()
        total += result
        if result.retrying or result.sent + result.failed < BATCH_SIZE:
            break
    return total


# --- consuming --------------------------------------------------------------------------------
def outbox_id_of(request: Any) -> int | None:
    """The outbox row a task's delivery came from (a worker puts custom headers on the request)."""
    value = getattr(request, HEADER, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(HEADER)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class OutboxTask(Task):  # type: ignore[misc]
    """The task class of the app: recognises a second delivery of an outbox row and skips it.

    Publishing, it lowers the priority of a task whose tenant has its share of tasks waiting, and
    counts a finished one off (oms/core/fairness.py).
    """

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        return super().apply_async(args, kwargs, **fair_publish_options(self.app, kwargs, options))

    def after_return(self, *args: Any, **kwargs: Any) -> None:
        fair_task_finished(self.request)

    def before_start(self, task_id: str, args: Any, kwargs: Any) -> None:
        outbox_id = outbox_id_of(self.request)
        if (
            outbox_id is not None
            and OutboxMessage.objects.filter(pk=outbox_id, done_at__isnull=False).exists()
        ):
            logger.info("Outbox message %s is already done: delivery %s skipped", outbox_id, task_id)
            raise Ignore()

    def on_success(self, retval: Any, task_id: str, args: Any, kwargs: Any) -> None:
        outbox_id = outbox_id_of(self.request)
        if outbox_id is not None:
            OutboxMessage.objects.filter(pk=outbox_id, done_at__isnull=True).update(done_at=timezone.now())


# --- watching and tidying -------------------------------------------------------------------
def outbox_oldest_pending_age(*, now: Any = None) -> float | None:
    """Seconds since the oldest pending row was written; None when nothing is pending."""
    oldest = OutboxMessage.objects.filter(state=OutboxState.PENDING).aggregate(at=Min("created_at"))["at"]
    if oldest is None:
        return None
    return max(((now or timezone.now()) - oldest).total_seconds(), 0.0)


def outbox_unsent(*, limit: int = 50) -> list[OutboxMessage]:
    """Pending and failed rows, oldest first."""
    states = [OutboxState.PENDING, OutboxState.FAILED]
    return list(
        OutboxMessage.objects.filter(state__in=states).select_related("tenant").order_by("pk")[:limit]
    )


def outbox_counts() -> dict[str, int]:
    """Rows waiting to be sent and rows that failed for good."""
    return OutboxMessage.objects.aggregate(
        pending=Count("pk", filter=Q(state=OutboxState.PENDING)),
        failed=Count("pk", filter=Q(state=OutboxState.FAILED)),
    )


def outbox_retry_failed(*, ids: Iterable[int] | None = None) -> int:
    """Put failed rows back to pending (after the missing task is deployed). Returns how many."""
    qs = OutboxMessage.objects.filter(state=OutboxState.FAILED)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(state=OutboxState.PENDING, available_at=timezone.now())


def outbox_purge(*, older_than: timedelta | None = None, batch: int = 5000) -> int:
    """Delete sent rows older than the retention period, in batches. Returns how many."""
    keep = older_than if older_than is not None else timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    cutoff = timezone.now() - keep
    deleted = 0
    while True:
        ids = list(
            OutboxMessage.objects.filter(state=OutboxState.SENT, sent_at__lt=cutoff).values_list(
                "pk", flat=True
            )[:batch]
        )
        if not ids:
            return deleted
        deleted += OutboxMessage.objects.filter(pk__in=ids).delete()[0]
