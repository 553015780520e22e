"""Processing verified Shippo deliveries (from the inbox, in a task). Shippo's shapes stop here.

A `track_updated` names a parcel by (carrier, tracking number). The shipment is looked up
among the shipments of the tenant that owns the account the delivery came in through, never
elsewhere: another tenant's tracking number simply matches nothing. The Track becomes a
`TrackingUpdate` and goes to `fulfillment.tracking.tracking_apply`, which records each status
once and moves the shipment and its order. A tracking number we do not know is kept and
marked ignored, with the reason.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.utils.dateparse import parse_datetime

from fulfillment.carriers import TrackingUpdate
from fulfillment.tracking import shipment_find_by_tracking, tracking_apply
from integrations.inbox import IGNORED, PROCESSED
from integrations.models import InboundEvent
from integrations.shippo.webhooks import TRACK_UPDATED


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _when(value: Any) -> Any:
    parsed = parse_datetime(_text(value)) if value else None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _place(location: Any) -> str:
    if not isinstance(location, dict):
        return ""
    parts = [_text(location.get(k)) for k in ("city", "state", "zip", "country")]
    return ", ".join(p for p in parts if p)


def tracking_update_from_track(track: dict[str, Any]) -> TrackingUpdate:
    """A Shippo Track (a webhook's `data`, or GET /tracks) as the carrier gateway's TrackingUpdate."""
    status = track.get("tracking_status") or {}
    if not isinstance(status, dict):
        raise ValueError("tracking_status is not an object")
    return TrackingUpdate(
        carrier=_text(track.get("carrier")),
        tracking_number=_text(track.get("tracking_number")),
        status=_text(status.get("status")).upper(),
        status_details=_text(status.get("status_details")),
        status_date=_when(status.get("status_date")),
        location=_place(status.get("location")),
        raw=track,
    )


def shippo_event_handle(event: InboundEvent, payload: dict[str, Any]) -> tuple[str, str]:
    """The inbox handler for source "shippo"."""
    kind = _text(payload.get("event")) or event.event_type
    if kind != TRACK_UPDATED:
        return IGNORED, f"event type {kind!r} is not used"
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ValueError("track_updated data is not an object")
    update = tracking_update_from_track(data)
    shipment = shipment_find_by_tracking(
        tenant=event.tenant_id, carrier=update.carrier, tracking_number=update.tracking_number
    )
    if shipment is None:
        return IGNORED, f"no shipment with {update.carrier} tracking number {update.tracking_number}"[:200]
    outcome = tracking_apply(tenant=event.tenant, shipment_id=shipment.pk, update=update, source="webhook")
    return PROCESSED, outcome.describe(shipment.number)[:200]
