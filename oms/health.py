"""What GET /health/ready (and /health) reports: database, broker, workers, queues, outbox, and why
it is unhealthy. GET /health/live reads none of them: the process answers, that is all.

Each check returns its part of the body and the reasons (plain sentences) that make the
answer 503. Thresholds are settings (HEALTH_*). Broker and database calls are bounded by
short timeouts, so a load balancer's probe answers even when they hang.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import Any

from django.conf import settings
from django.db import connection

from oms.celery import SENT_AT_HEADER, app
from oms.core.outbox import outbox_counts, outbox_oldest_pending_age
from oms.workers import workers_seen

Check = tuple[Any, list[str]]


def _error(exc: BaseException) -> str:
    return f"error: {exc.__class__.__name__}"


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return _error(exc), ["the database is unreachable"]
    return "ok", []


def check_workers() -> Check:
    """Live workers (heartbeat within HEALTH_WORKER_STALE_SECONDS) and the queues none consumes."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"required": False}, []  # tasks run inside the process that sends them
    try:
        seen = workers_seen()
    except Exception as exc:
        return _error(exc), ["worker heartbeats cannot be read"]
    stale_after = settings.HEALTH_WORKER_STALE_SECONDS
    alive = [w for w in seen if w.age_seconds <= stale_after]
    consumed = {queue for w in alive for queue in w.queues}
    uncovered = [queue for queue in settings.CELERY_QUEUES_ALL if queue not in consumed]
    body = {
        "alive": [
            {"name": w.name, "queues": w.queues, "seen_seconds_ago": round(w.age_seconds, 1)} for w in alive
        ],
        "gone": [
            {"name": w.name, "seen_seconds_ago": round(w.age_seconds, 1)}
            for w in seen
            if w.age_seconds > stale_after and w.age_seconds <= 3600
        ],
        "queues_without_worker": uncovered,
    }
    if not alive:
        return body, [f"no worker has reported in the last {stale_after:g} s"]
    return body, [f"no live worker consumes queue {queue}" for queue in uncovered]


def _redis_queues(channel: Any, queues: list[str], now: float) -> dict[str, Any]:
    """Lengths and oldest message ages of kombu's Redis lists (one list per priority step)."""
    client = channel.client
    keys = {queue: [channel._q_for_pri(queue, pri) for pri in channel.priority_steps] for queue in queues}
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            for key in keys[queue]:
                pipe.llen(key)
                pipe.lindex(key, -1)  # BRPOP takes from the right: the oldest message
        replies = iter(pipe.execute())
    lengths, ages = {}, {}
    for queue in queues:
        total, oldest = 0, None
        for _ in keys[queue]:
            total += next(replies)
            raw = next(replies)
            sent_at = _sent_at(raw) if raw else None
            if sent_at is not None:
                oldest = max(oldest or 0.0, now - sent_at)
        lengths[queue] = total
        if oldest is not None:
            ages[queue] = oldest
    return {"lengths": lengths, "ages": ages, "ages_measured": True, "held": client.hlen(channel.unacked_key)}


def _sent_at(raw: bytes | str) -> float | None:
    try:
        return float(json.loads(raw)["headers"][SENT_AT_HEADER])
    except (ValueError, KeyError, TypeError):
        return None


def _filesystem_queues(options: dict[str, Any], queues: list[str], now: float) -> dict[str, Any]:
    """The embedded broker keeps each queued message as a file `<ms>_<id>.<queue>.msg`."""
    lengths = dict.fromkeys(queues, 0)
    ages: dict[str, float] = {}
    with os.scandir(options["data_folder_in"]) as entries:
        for entry in entries:
            queue = entry.name.partition(".")[2].removesuffix(".msg")
            if queue in lengths:
                lengths[queue] += 1
                try:
                    age = now - entry.stat().st_mtime
                except FileNotFoundError:  # taken by a worker meanwhile
                    continue
                ages[queue] = max(ages.get(queue, 0.0), age)
    return {"lengths": lengths, "ages": ages, "ages_measured": True}


def _amqp_queues(conn: Any, queues: list[str]) -> dict[str, Any]:
    """RabbitMQ: each queue's ready messages by a passive declare (it creates nothing).

    The age of the oldest message is not measured: AMQP shows a message only to a consumer that
    takes it (a `basic_get` and a requeue would reorder the queue and mark it redelivered), and
    the management plugin's HTTP API is not assumed. A queue not declared yet has no messages.
    """
    lengths: dict[str, int] = {}
    for queue in queues:
        channel = conn.channel()
        try:
            lengths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
        except conn.channel_errors:  # 404 NOT_FOUND, which also closes the channel
            lengths[queue] = 0
        finally:
            with contextlib.suppress(Exception):
                channel.close()
    return {"lengths": lengths, "ages": {}, "ages_measured": False}


def queue_stats(conn: Any, queues: list[str]) -> dict[str, Any]:
    """Per queue: how many messages wait and how long the oldest has (for the broker of `conn`).

    `ages_measured`: False where the broker cannot tell ages (RabbitMQ), and `ages` is empty.
    """
    now = time.time()
    conn.ensure_connection(max_retries=1, timeout=2)
    if conn.transport.driver_type == "amqp":
        return _amqp_queues(conn, queues)
    channel = conn.default_channel
    if hasattr(channel, "_q_for_pri"):
        return _redis_queues(channel, queues, now)
    options = conn.transport_options or {}
    if "data_folder_in" in options:
        return _filesystem_queues(options, queues, now)
    return {"lengths": {}, "ages": {}, "ages_measured": False}


def check_broker_and_queues() -> tuple[str, Any, list[str]]:
    try:
        with app.connection_for_write() as conn:
            stats = queue_stats(conn, list(settings.CELERY_QUEUES_ALL))
    except Exception as exc:
        return _error(exc), "unknown", ["the broker is unreachable"]
    limit = settings.HEALTH_QUEUE_MAX_AGE_SECONDS
    ages = stats.pop("ages")
    stats.pop("ages_measured")
    oldest = max(ages.values(), default=None)
    body = {**stats, "oldest_age_seconds": None if oldest is None else round(oldest, 1)}
    reasons = [
        f"the oldest message on queue {queue} has waited {age:.0f} s (limit {limit:g} s)"
        for queue, age in sorted(ages.items())
        if age > limit
    ]
    return "ok", body, reasons


def check_outbox() -> Check:
    """Rows waiting to be handed to the broker (docs/outbox.md): the oldest one's age, and how many
    failed for good (reported; `manage.py outbox --retry-failed` sends them again)."""
    try:
        age = outbox_oldest_pending_age()
        counts = outbox_counts()
    except Exception as exc:
        return _error(exc), ["the outbox cannot be read"]
    limit = settings.HEALTH_OUTBOX_MAX_AGE_SECONDS
    body = {**counts, "oldest_pending_age_seconds": None if age is None else round(age, 1)}
    if age is not None and age > limit:
        return body, [f"the oldest outbox row has waited {age:.0f} s to be sent (limit {limit:g} s)"]
    return body, []


def health_report() -> tuple[bool, dict[str, Any]]:
    started = time.monotonic()
    database, database_reasons = check_database()
    broker, queues, broker_reasons = check_broker_and_queues()
    workers, worker_reasons = check_workers()
    outbox, outbox_reasons = check_outbox()
    reasons = database_reasons + broker_reasons + worker_reasons + outbox_reasons
    body = {
        "status": "degraded" if reasons else "ok",
        "database": database,
        "broker": broker,
        "workers": workers,
        "queues": queues,
        "outbox": outbox,
        "reasons": reasons,
        "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
    }
    return not reasons, body
