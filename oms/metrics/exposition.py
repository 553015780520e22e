"""The text GET /metrics answers: every process's counters added up, and gauges read at scrape time.

Counters and histograms (oms/metrics/__init__.py) come from the files the processes write under
PROMETHEUS_MULTIPROC_DIR. Gauges are not kept in files: each scrape reads them where they live,
so they are never stale and no dead process's value lingers:

- the broker: messages waiting per queue and the age of the oldest (oms/health.py measures
  both; on RabbitMQ only the count, see `queue_stats`);
- the outbox: rows waiting to be handed to the broker, the oldest one's age, rows failed;
- what the rooms register with `register_gauge_source` (integrations: the inbox's backlog
  and dead letters). oms imports no room: a room hands its reader in from its AppConfig.ready.

A source that fails (broker down, database unreachable) is left out of that scrape and
`oms_metrics_source_up{source}` says 0; the rest still answers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from oms.celery import app
from oms.core.outbox import outbox_counts, outbox_oldest_pending_age
from oms.health import queue_stats

logger = logging.getLogger(__name__)

GaugeSource = Callable[[], Iterable[Metric]]
_sources: dict[str, GaugeSource] = {}


def register_gauge_source(name: str, source: GaugeSource) -> None:
    """`source()` yields metric families read at scrape time (called once per scrape)."""
    _sources[name] = source


def broker_gauges() -> Iterator[Metric]:
    with app.connection_for_write() as conn:
        stats = queue_stats(conn, list(settings.CELERY_QUEUES_ALL))
    depth = GaugeMetricFamily("oms_queue_messages", "Messages waiting on a queue.", labels=["queue"])
    for queue, length in sorted(stats["lengths"].items()):
        depth.add_metric([queue], length)
    yield depth
    if stats["ages_measured"]:
        age = GaugeMetricFamily(
            "oms_queue_oldest_message_age_seconds",
            "How long the oldest message waiting on a queue has waited (0: none waits).",
            labels=["queue"],
        )
        for queue in sorted(stats["lengths"]):
            age.add_metric([queue], round(stats["ages"].get(queue, 0.0), 3))
        yield age
    if "held" in stats:
        yield GaugeMetricFamily(
            "oms_queue_unacked_messages",
            "Messages taken by workers and not yet acknowledged (Redis).",
            value=stats["held"],
        )


def outbox_gauges() -> Iterator[Metric]:
    counts = outbox_counts()
    age = outbox_oldest_pending_age()
    yield GaugeMetricFamily(
        "oms_outbox_pending", "Outbox rows not yet handed to the broker.", value=counts["pending"]
    )
    yield GaugeMetricFamily(
        "oms_outbox_oldest_pending_age_seconds",
        "Outbox lag: how long the oldest row not yet handed to the broker has waited (0: none).",
        value=round(age or 0.0, 3),
    )
    yield GaugeMetricFamily(
        "oms_outbox_failed",
        "Dead letters of the outbox: rows that failed for good (manage.py outbox --retry-failed).",
        value=counts["failed"],
    )


class ScrapeTimeGauges(Collector):
    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "oms_metrics_source_up", "1 when the source could be read in this scrape.", labels=["source"]
        )
        builtin: list[tuple[str, GaugeSource]] = [("broker", broker_gauges), ("outbox", outbox_gauges)]
        for name, source in [*builtin, *sorted(_sources.items())]:
            try:
                families = list(source())
            except Exception as exc:
                logger.warning("Metrics source %s could not be read: %s", name, exc.__class__.__name__)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


class _ThisProcess(Collector):
    """Without a multiprocess directory: this process's own metrics (a single-process server)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def metrics_exposition() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(ScrapeTimeGauges())
    return generate_latest(registry)
