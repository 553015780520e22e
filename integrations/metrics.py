"""The inbox's gauges for GET /metrics (oms/metrics/exposition.py reads them at each scrape).

- `oms_inbox_backlog{source}`: stored inbound events not processed yet (received, or failed
  and waiting for their retry);
- `oms_inbox_oldest_backlog_age_seconds`: how long the oldest of them has waited (0: none);
- `oms_inbox_dead_letters{source}`: events that ran out of retries (staff replay them from
  the admin).

Counted over every tenant (metrics are per installation), with one series per channel kind.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from integrations.models import ChannelKind, InboundEvent, InboundEventState

BACKLOG = (InboundEventState.RECEIVED, InboundEventState.FAILED)


def inbox_gauges() -> Iterator[Metric]:
    rows = (
        InboundEvent.objects.unscoped()  # the whole installation's inbox, no tenant's rows read
        .filter(state__in=[*BACKLOG, InboundEventState.DEAD])
        .values("source", "state")
        .annotate(count=Count("pk"), oldest=Min("received_at"))
        .order_by()
    )
    backlog = dict.fromkeys(ChannelKind.values, 0)
    dead = dict.fromkeys(ChannelKind.values, 0)
    oldest = None
    for row in rows:
        if row["state"] == InboundEventState.DEAD:
            dead[row["source"]] = dead.get(row["source"], 0) + row["count"]
            continue
        backlog[row["source"]] = backlog.get(row["source"], 0) + row["count"]
        oldest = row["oldest"] if oldest is None else min(oldest, row["oldest"])
    family = GaugeMetricFamily(
        "oms_inbox_backlog", "Inbound events stored and not processed yet.", labels=["source"]
    )
    for source, count in sorted(backlog.items()):
        family.add_metric([source], count)
    yield family
    age = (timezone.now() - oldest).total_seconds() if oldest is not None else 0.0
    yield GaugeMetricFamily(
        "oms_inbox_oldest_backlog_age_seconds",
        "How long the oldest inbound event not processed yet has waited (0: none waits).",
        value=round(max(age, 0.0), 3),
    )
    family = GaugeMetricFamily(
        "oms_inbox_dead_letters", "Inbound events that ran out of retries (dead letters).", labels=["source"]
    )
    for source, count in sorted(dead.items()):
        family.add_metric([source], count)
    yield family
