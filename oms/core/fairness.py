"""Fair queues between tenants: a tenant over its share of task publishes waits behind the others.

The problem. Every queue is first in, first out. A marketplace backfill or a bulk import of
100,000 orders enqueues 100,000 tasks (ingest, allocation) for one tenant in a few minutes; a
storefront order of another tenant placed a second later waits behind all of them.

The policy. Each tenant may publish TASK_RATE_PER_TENANT tasks (default 20/s) at the normal
broker priority; past that share, within the sliding window, its tasks are published at
LOW_PRIORITY. On the Redis broker a priority is a second list beside each queue, and a worker
takes from the normal lists of all its queues before any low list (kombu's BRPOP order), so a
tenant within its share, a storefront placing orders at a human pace, is served next, while a
tenant's flood is served whenever the normal lists are empty. Nothing is refused, delayed or
dropped: a flood still runs at the full speed of the workers when nobody else needs them. A
flood's tasks within the share still go at normal priority, so a small tenant's task waits
behind at most about two windows' share of the flooding tenant's (the sliding window) and the
task each busy worker slot is running, not behind the backlog. A short window (per second)
keeps that burst small; the share must stay below what the workers run per second, or the
normal lists themselves grow.

Why this design: it keeps the queues, routes, worker command lines and /health as they are (a
priority list is part of its queue: `/health` counts it); it needs no knowledge of where a task
comes from (a backfill, an import, an API script or a retry storm are all "a tenant publishing
more than its share"); the decision is one cache counter at publish time, so nothing is
re-published or held in a worker's memory (a countdown on Redis is held by the worker that took
the message until its time: 100,000 of them would be). What it does not do: order within a
tenant is not kept across priorities (a tenant's later task within a new window may run before
its earlier demoted one; tasks never relied on an order: several workers run them side by side).

The share is counted in the Django cache (oms/core/throttling.py's sliding window), shared by
every process on Redis. Where there is no Redis the embedded filesystem broker has no
priorities: the priority is ignored, queues stay first in, first out, and nothing fails. Only
tasks published with a `tenant_id` keyword are counted; beat's periodic tasks never are.
TASK_FAIRNESS=0 turns it off (every task at the normal priority).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from oms.core.throttling import parse_rate, window_take

logger = logging.getLogger(__name__)

# kombu's Redis transport: 0 is the highest priority, lists at 0, 3, 6 and 9 (priority_steps).
LOW_PRIORITY = 9


def task_over_share(tenant_id: int) -> bool:
    """Count one publish for the tenant: True when it is over its share of the window."""
    limit, duration = parse_rate(settings.TASK_RATE_PER_TENANT)
    return window_take(f"tasks:{tenant_id}", limit, duration) > 0


def fair_publish_options(app: Any, kwargs: dict[str, Any] | None, options: dict[str, Any]) -> dict[str, Any]:
    """The publish options of a task, with LOW_PRIORITY when its tenant is over its share."""
    if not settings.TASK_FAIRNESS or app.conf.task_always_eager or options.get("priority") is not None:
        return options
    tenant_id = (kwargs or {}).get("tenant_id")
    if not isinstance(tenant_id, int) or isinstance(tenant_id, bool):
        return options
    try:
        over = task_over_share(tenant_id)
    except Exception:  # the cache is down: publish as usual rather than not at all
        logger.warning("Fair share of tenant %s not counted: cache unavailable", tenant_id, exc_info=True)
        return options
    return {**options, "priority": LOW_PRIORITY} if over else options
