"""Fair queues between tenants: a tenant with many tasks waiting has its next ones wait behind others'.

The problem. Every queue is first in, first out. A marketplace backfill or a bulk import of
100,000 orders enqueues 100,000 tasks (ingest, allocation) for one tenant in a few minutes; a
storefront order of another tenant placed a second later waits behind all of them.

The policy. Each tenant may have TASK_QUEUED_PER_TENANT tasks (default 10) published at the
normal broker priority and not yet finished. Past that, its tasks are published at
LOW_PRIORITY. On the Redis broker a priority is a second list beside each queue, and a worker
takes from the normal lists of all its queues before any low list (kombu's BRPOP order), so a
tenant with few tasks waiting, a storefront placing orders at a human pace, is served next:
behind at most TASK_QUEUED_PER_TENANT tasks of each flooding tenant and the task each busy
worker slot is running, not behind the backlog, whatever the workers' speed. Nothing is
refused, delayed or dropped: a flood still runs at the full speed of the workers whenever
nobody else has work queued.

Counting. Publishing at normal priority increments the tenant's counter in the Django cache and
marks the message (header FAIR_HEADER); the task base decrements it when such a task returns
(success, failure or retry). A message that never runs (a purged queue) would leave the counter
too high: the counter expires COUNTER_SECONDS after the tenant's last normal publish, so a
tenant is never kept at low priority for longer than that by a lost message.

Why this design: it keeps the queues, routes, worker command lines and /health as they are (a
priority list is part of its queue: `/health` counts it); it needs no knowledge of where a task
comes from (a backfill, an import, an API script or a retry storm are all "a tenant with much
work waiting"); the decision is a cache read and write at publish time, so nothing is
re-published or held in a worker's memory (a countdown on Redis is held by the worker that
took the message until its time: 100,000 of them would be). A share of the publish *rate*
(tried first) bounds nothing when the workers are slower than the share: the normal lists grow.
What it does not do: order within a tenant is not kept across priorities (its later task may
run before an earlier low-priority one; tasks never relied on an order: several workers run
them side by side).

Where there is no Redis the embedded filesystem broker has no priorities: the priority is
ignored, queues stay first in, first out, nothing fails (and the cache is per process). Only
tasks published with a `tenant_id` keyword are counted; beat's periodic tasks never are.
TASK_FAIRNESS=0 turns it off (every task at the normal priority).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

# kombu's Redis transport: 0 is the highest priority, lists at 0, 3, 6 and 9 (priority_steps).
LOW_PRIORITY = 9
FAIR_HEADER = "oms_fair_tenant"  # on a message counted as one of its tenant's normal-priority tasks
COUNTER_SECONDS = 300


def _key(tenant_id: int) -> str:
    return f"fair:queued:{tenant_id}"


def tenant_queued(tenant_id: int) -> int:
    """The tenant's normal-priority tasks published and not finished (as counted)."""
    return int(cache.get(_key(tenant_id)) or 0)


def _count_publish(tenant_id: int) -> bool:
    """Count one normal-priority publish unless the tenant has its share waiting. True if counted."""
    key = _key(tenant_id)
    if int(cache.get(key) or 0) >= settings.TASK_QUEUED_PER_TENANT:
        return False
    if not cache.add(key, 1, COUNTER_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired meanwhile
            cache.add(key, 1, COUNTER_SECONDS)
        cache.touch(key, COUNTER_SECONDS)
    return True


def fair_publish_options(app: Any, kwargs: dict[str, Any] | None, options: dict[str, Any]) -> dict[str, Any]:
    """The publish options of a task: marked and counted, or LOW_PRIORITY when its tenant has its share."""
    if options.get("priority") is not None:
        # Given by the caller, or a retry keeping its delivery's priority: not counted (again).
        headers = options.get("headers") or {}
        if FAIR_HEADER in headers:
            options = {**options, "headers": {k: v for k, v in headers.items() if k != FAIR_HEADER}}
        return options
    if not settings.TASK_FAIRNESS or app.conf.task_always_eager:
        return options
    tenant_id = (kwargs or {}).get("tenant_id")
    if not isinstance(tenant_id, int) or isinstance(tenant_id, bool):
        return options
    try:
        counted = _count_publish(tenant_id)
    except Exception:  # the cache is down: publish as usual rather than not at all
        logger.warning("Fair share of tenant %s not counted: cache unavailable", tenant_id, exc_info=True)
        return options
    if not counted:
        return {**options, "priority": LOW_PRIORITY}
    return {**options, "headers": {**(options.get("headers") or {}), FAIR_HEADER: tenant_id}}


def fair_task_finished(request: Any) -> None:
    """A task returned: if its message was counted for its tenant, count it off."""
    value = getattr(request, FAIR_HEADER, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(FAIR_HEADER)
    if value is None:
        return
    key = _key(int(value))
    try:
        if cache.decr(key) < 0:
            cache.set(key, 0, COUNTER_SECONDS)
    except ValueError:
        pass  # expired: nothing to count off
    except Exception:
        logger.warning("Fair share of tenant %s not counted off: cache unavailable", value, exc_info=True)
