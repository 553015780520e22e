"""The inbound event inbox: store first, process later (in a Celery task), idempotently.

A webhook view stores the raw delivery (`inbound_event_store` / `inbound_event_reject`) and
returns; `inbound_event_process` runs the source's handler under a row lock. Handlers are
registered per source and must be idempotent: the same event may be processed again after
a failure or a replay.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integrations.models import ChannelAccount, InboundEvent, InboundEventState
from oms.core.audit import audit_record
from oms.core.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
PROCESSED, IGNORED = "processed", "ignored"

# handler(event, payload) -> (PROCESSED | IGNORED, a short outcome text)
InboundHandler = Callable[[InboundEvent, dict[str, Any]], tuple[str, str]]
_handlers: dict[str, InboundHandler] = {}


class InboundEventRetry(Exception):
    """Processing failed and will be retried with backoff (Celery autoretry)."""


def register_inbound_handler(source: str, handler: InboundHandler) -> None:
    _handlers[source] = handler


def _enqueue(event: InboundEvent) -> None:
    # By name: integrations.tasks imports this module, not the other way round.
    enqueue_on_commit(
        "integrations.tasks.inbound_event_process_task", tenant_id=event.tenant_id, event_id=event.pk
    )


def inbound_event_store(
    *, account: ChannelAccount, event_id: str, event_type: str, headers: dict[str, str], body: str
) -> tuple[InboundEvent, bool]:
    """Store a verified delivery; a redelivery of a known event id is counted, not stored twice.

    Returns (event, created). Processing is enqueued on commit for a new event, and again for
    a redelivered one that has not been processed yet (received or failed).
    """
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                tenant_id=account.tenant_id,
                source=account.kind,
                account=account,
                event_id=event_id[:255],
                event_type=event_type[:100],
                headers=headers,
                body=body,
            )
            _enqueue(event)
            return event, True
    except IntegrityError:
        pass
    with transaction.atomic():
        event = (
            InboundEvent.objects.for_tenant(account.tenant_id)
            .select_for_update()
            .get(source=account.kind, event_id=event_id[:255])
        )
        InboundEvent.objects.for_tenant(account.tenant_id).filter(pk=event.pk).update(
            deliveries=F("deliveries") + 1, last_received_at=timezone.now()
        )
        if event.state in (InboundEventState.RECEIVED, InboundEventState.FAILED):
            _enqueue(event)
    return event, False


def inbound_event_reject(
    *, account: ChannelAccount, headers: dict[str, str], body: str, event_type: str = "", error: str
) -> InboundEvent:
    """Keep a delivery that failed verification or parsing, for the record. It is never processed."""
    return InboundEvent.objects.create(
        tenant_id=account.tenant_id,
        source=account.kind,
        account=account,
        event_id="",
        event_type=event_type[:100],
        headers=headers,
        body=body,
        state=InboundEventState.REJECTED,
        error=error[:4000],
    )


def inbound_event_process(*, tenant_id: int, event_id: int) -> InboundEvent:
    """Run the source's handler once for a received (or failed) event. Re-runnable.

    On an error the event is `failed` and InboundEventRetry is raised (the task retries with
    backoff); after MAX_ATTEMPTS it is `dead` and waits for a replay from the admin.
    """
    failure: str | None = None
    with transaction.atomic():
        event = InboundEvent.objects.for_tenant(tenant_id).select_for_update().get(pk=event_id)
        if event.state not in (InboundEventState.RECEIVED, InboundEventState.FAILED):
            return event
        event.attempts += 1
        try:
            with transaction.atomic():
                handler = _handlers.get(event.source)
                if handler is None:
                    verdict, outcome = IGNORED, f"no handler for {event.source}"
                else:
                    verdict, outcome = handler(event, json.loads(event.body))
        except Exception as exc:
            logger.exception("Processing inbound event %s failed", event.pk)
            failure = f"{type(exc).__name__}: {exc}"
            if event.attempts >= MAX_ATTEMPTS:
                event.mark_dead(error=failure)
            else:
                event.mark_failed(error=failure)
        else:
            if verdict == IGNORED:
                event.mark_ignored(outcome=outcome)
            else:
                event.mark_processed(outcome=outcome)
        event.processed_at = timezone.now()
        event.save()
    if failure is not None and event.state == InboundEventState.FAILED:
        raise InboundEventRetry(failure)
    return event


def inbound_events_replay(*, tenant: Any, event_ids: list[int], actor: Any = None) -> int:
    """Send failed or dead events through processing again (staff action). Returns how many."""
    replayed = 0
    with transaction.atomic():
        events = (
            InboundEvent.objects.for_tenant(tenant)
            .select_for_update()
            .filter(pk__in=event_ids, state__in=[InboundEventState.FAILED, InboundEventState.DEAD])
            .order_by("pk")
        )
        for event in events:
            before = event.state
            event.replay()
            event.save()
            audit_record(
                tenant=tenant,
                actor=actor,
                action="inbound_event.replayed",
                obj=event,
                before={"state": before},
                after={"state": event.state},
            )
            _enqueue(event)
            replayed += 1
    return replayed
