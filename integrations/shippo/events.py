"""Processing verified Shippo deliveries (from the inbox, in a task). Shippo's shapes stop here.

A `track_updated` names a parcel by (carrier, tracking number). The shipment is looked up
among the shipments of the tenant that owns the account the delivery came in through, never
elsewhere: another tenant's tracking number simply matches nothing. The Track becomes a
`TrackingUpdate` and goes to `fulfillment.tracking.tracking_apply`, which records each status
once and moves the shipment and its order. A tracking number we do not know is kept and
marked ignored, with the reason.
"""

from __future__ import annotations

from typing import Any

from fulfillment.carriers import TrackingUpdate
from fulfillment.tracking import (
    return_label_find_by_tracking,
    return_label_tracking_apply,
    shipment_find_by_tracking,
    tracking_apply,
)
from integrations.inbox import IGNORED, PROCESSED
from integrations.models import InboundEvent
from integrations.parsing import as_moment, as_text, joined
from integrations.shippo.webhooks import TRACK_UPDATED


def _place(location: Any) -> str:
    if not isinstance(location, dict):
        return ""
    return joined(*(location.get(k) for k in ("city", "state", "zip", "country")), sep=", ")


def tracking_update_from_track(track: dict[str, Any]) -> TrackingUpdate:
    """A Shippo Track (a webhook's `data`, or GET /tracks) as the carrier gateway's TrackingUpdate."""
    status = track.get("tracking_status") or {}
    if not isinstance(status, dict):
        raise ValueError("tracking_status is not an object")
    return TrackingUpdate(
        carrier=as_text(track.get("carrier")),
        tracking_number=as_text(track.get("tracking_number")),
        status=as_text(status.get("status")).upper(),
        status_details=as_text(status.get("status_details")),
        status_date=as_moment(status.get("status_date")),
        location=_place(status.get("location")),
        raw=track,
    )


def shippo_event_handle(event: InboundEvent, payload: dict[str, Any]) -> tuple[str, str]:
    """The inbox handler for source "shippo"."""
    kind = as_text(payload.get("event")) or event.event_type
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
        label = return_label_find_by_tracking(
            tenant=event.tenant_id, carrier=update.carrier, tracking_number=update.tracking_number
        )
        if label is not None:  # a customer's return parcel: the returns room follows it
            return_label_tracking_apply(
                tenant=event.tenant_id, label_id=label.pk, update=update, source="webhook"
            )
            return PROCESSED, f"return parcel {update.tracking_number}: {update.status}"[:200]
        return IGNORED, f"no shipment with {update.carrier} tracking number {update.tracking_number}"[:200]
    outcome = tracking_apply(tenant=event.tenant, shipment_id=shipment.pk, update=update, source="webhook")
    return PROCESSED, outcome.describe(shipment.number)[:200]
