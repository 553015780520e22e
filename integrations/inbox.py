"""The inbound event inbox: store first, process later (in a Celery task), idempotently.

A webhook view stores the raw delivery (`inbound_event_store` / `inbound_event_reject`) and
returns; `inbound_event_process` runs the source's handler under a row lock. Handlers are
registered per source and must be idempotent: the same event may be processed again after
a failure or a replay.

What is kept of a delivery never holds a credential: headers whose name says signature,
secret, token, auth, HMAC, cookie, API key or password are kept as "[scrubbed]", and there
are at most MAX_HEADERS of them, each value cut at MAX_HEADER_CHARS. A rejected delivery
keeps only the first MAX_REJECTED_BODY_BYTES of its body: anyone can send one.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integrations.models import ChannelAccount, InboundEvent, InboundEventState
from integrations.signals import inbound_event_dead
from oms.core.audit import audit_record
from oms.core.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
PROCESSED, IGNORED = "processed", "ignored"

MAX_REJECTED_BODY_BYTES = 64 * 1024
MAX_HEADERS = 50
MAX_HEADER_CHARS = 1000
SCRUBBED = "[scrubbed]"
_SENSITIVE_HEADER = re.compile(r"signature|secret|token|auth|hmac|cookie|api[-_]?key|password", re.I)

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


def _storable(text: str) -> str:
    return text.replace("\x00", "\ufffd")  # PostgreSQL text and jsonb refuse NUL


def delivery_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A bounded copy of a delivery's headers, with credentials and signatures scrubbed."""
    kept: dict[str, str] = {}
    for name, value in headers.items():
        if len(kept) >= MAX_HEADERS:
            break
        name = _storable(str(name))[:100]
        kept[name] = SCRUBBED if _SENSITIVE_HEADER.search(name) else _storable(str(value))[:MAX_HEADER_CHARS]
    return kept


def _bounded_body(body: bytes | str) -> tuple[str, int]:
    """The first MAX_REJECTED_BODY_BYTES of a body as text, and the body's full size in bytes."""
    raw = body.encode("utf-8", errors="replace") if isinstance(body, str) else bytes(body)
    return _storable(raw[:MAX_REJECTED_BODY_BYTES].decode("utf-8", errors="replace")), len(raw)


def inbound_event_store(
    *, account: ChannelAccount, event_id: str, event_type: str, headers: Mapping[str, str], body: str
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
                headers=delivery_headers(headers),
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
    *,
    account: ChannelAccount,
    headers: Mapping[str, str],
    body: bytes | str,
    event_type: str = "",
    error: str,
) -> InboundEvent:
    """Keep a summary of a delivery that failed verification or parsing. It is never processed.

    The summary is bounded: scrubbed headers and the first MAX_REJECTED_BODY_BYTES of the body
    (the error says when the body was cut).
    """
    text, size = _bounded_body(body)
    if size > MAX_REJECTED_BODY_BYTES:
        error = f"{error[:3800]} [body cut to its first {MAX_REJECTED_BODY_BYTES} of {size} bytes]"
    return InboundEvent.objects.create(
        tenant_id=account.tenant_id,
        source=account.kind,
        account=account,
        event_id="",
        event_type=_storable(event_type)[:100],
        headers=delivery_headers(headers),
        body=text,
        state=InboundEventState.REJECTED,
        error=_storable(error)[:4000],
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
        if event.state == InboundEventState.DEAD:
            inbound_event_dead.send(sender=InboundEvent, tenant_id=event.tenant_id, event_id=event.pk)
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
