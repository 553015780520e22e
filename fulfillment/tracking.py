"""Carrier tracking moves shipments, and the order follows its shipments.

Two ways in, one way to apply: a Shippo `track_updated` webhook (integrations/shippo/events.py,
from the inbox) and the periodic poll of shipments that have gone quiet (`tracking_poll_quiet`,
beat) both end in `tracking_apply`.

The policy, in the order it is applied:
- Each carrier status is recorded once: a `TrackingEvent` per (shipment, status, status_date),
  the table's unique constraint. Deliveries repeat; a repeat records nothing and moves nothing.
- Carrier statuses map to shipment states: PRE_TRANSIT and UNKNOWN move nothing (the parcel is
  still "shipped"); TRANSIT → in_transit; DELIVERED → delivered; FAILURE → exception;
  RETURNED → returned_to_sender.
- Updates arrive out of order. One older than the newest recorded status of the shipment is
  kept as history and moves nothing, unless it is DELIVERED or RETURNED (the carrier's last
  word, whatever its date). Delivered and returned to sender are final: the state machine has
  no way out of them, so a late TRANSIT never moves a parcel back.
- Only a shipment that has left the warehouse moves (shipped, in transit, exception). A status
  for a shipment still in the warehouse, or cancelled, is history only, with one exception: a
  carrier scan (TRANSIT, DELIVERED, FAILURE, RETURNED) of a parcel whose label we bought proves
  it left, so a shipment still `label_purchased` is shipped first (`shipment_ship`: stock out,
  the order on, capture) and then moved. Staff who forget "mark shipped" lose nothing.
- The order follows: when every shipment of a fully shipped order that was not cancelled is
  delivered, the order is delivered (`orders.services.order_mark_delivered`).
- A delivered shipment writes the customer's delivered email to the outbox
  (`effects.shipment_delivered`), in the same transaction.

Concurrency: `tracking_apply` locks the order, then the shipment (the house lock order), so
two updates of one shipment, or of two shipments of one order, queue; the second sees the
first. The poll calls the carrier outside any transaction and row lock, one shipment at a
time, and a carrier that is down ends that tenant's turn without failing the sweep.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_fsm import can_proceed

from fulfillment import effects, locks
from fulfillment.carriers import (
    CarrierRefused,
    CarrierUnavailable,
    NoCarrierAccount,
    TrackingUpdate,
    carrier_gateway_for,
)
from fulfillment.models import FulfillmentSettings, Label, Shipment, TrackingEvent
from fulfillment.shipping import shipment_ship
from fulfillment.signals import return_parcel_tracked
from fulfillment.states import TRACKABLE, LabelState, ShipmentState, TrackingStatus
from oms.core.audit import audit_record
from oms.models import Tenant
from orders import locks as order_locks
from orders.services import order_event_record, order_mark_delivered
from orders.states import OrderEventType, OrderState

logger = logging.getLogger(__name__)

S = ShipmentState

# Which transition of the shipment a carrier status asks for (None: it moves nothing).
TRANSITION_FOR_STATUS: dict[str, str | None] = {
    TrackingStatus.UNKNOWN: None,
    TrackingStatus.PRE_TRANSIT: None,
    TrackingStatus.TRANSIT: "in_transit",
    TrackingStatus.DELIVERED: "deliver",
    TrackingStatus.FAILURE: "exception",
    TrackingStatus.RETURNED: "returned",
}

# A carrier's scan: the parcel is in the carrier's hands, whatever the warehouse clicked.
SCANNED_STATUSES = (
    TrackingStatus.TRANSIT,
    TrackingStatus.DELIVERED,
    TrackingStatus.FAILURE,
    TrackingStatus.RETURNED,
)

# Final: the carrier's last word on a parcel, applied whatever its date (a late-dated TRANSIT
# cannot undo it); and the shipment states nothing moves out of.
FINAL_STATUSES = (TrackingStatus.DELIVERED, TrackingStatus.RETURNED)
FINAL_STATES = (S.DELIVERED, S.RETURNED_TO_SENDER)

# The poll: how many shipments of one tenant per run, how long one run may call carriers, and
# how many carrier outages in a row end a tenant's turn.
POLL_PER_TENANT = 100
POLL_BUDGET_SECONDS = 200.0
POLL_OUTAGES_PER_TENANT = 3


@dataclass(frozen=True)
class TrackingOutcome:
    shipment_id: int
    recorded: bool  # a new TrackingEvent (False: a repeat)
    from_state: str
    to_state: str
    order_delivered: bool = False

    @property
    def moved(self) -> bool:
        return self.from_state != self.to_state

    def describe(self, number: str) -> str:
        if not self.recorded:
            return f"shipment {number}: status already recorded"
        text = (
            f"shipment {number}: {self.from_state} → {self.to_state}"
            if self.moved
            else (f"shipment {number}: recorded, stays {self.to_state}")
        )
        return text + ("; order delivered" if self.order_delivered else "")


def _status_of(update: TrackingUpdate) -> str:
    status = (update.status or "").upper()
    return status if status in TrackingStatus.values else TrackingStatus.UNKNOWN


def _record(shipment: Shipment, update: TrackingUpdate, status: str, source: str, now: Any) -> bool:
    """Record the status once; True when it is new."""
    status_date = update.status_date
    events = TrackingEvent.objects.for_tenant(shipment.tenant_id).filter(shipment=shipment)
    if status_date is None:
        # No date from the carrier: the same status as the newest one is a repeat.
        latest = events.order_by("-status_date", "-pk").first()
        if latest is not None and latest.status == status:
            return False
        status_date = now
    elif events.filter(status=status, status_date=status_date).exists():
        return False
    try:
        with transaction.atomic():
            TrackingEvent.objects.create(
                tenant_id=shipment.tenant_id,
                shipment=shipment,
                status=status,
                status_details=(update.status_details or "")[:500],
                status_date=status_date,
                location=(update.location or "")[:200],
                source=source[:20],
            )
    except IntegrityError:  # the constraint is the last word on "once"
        return False
    return True


def _is_newest(shipment: Shipment, update: TrackingUpdate) -> bool:
    """No recorded status of the shipment is later than this one (undated updates are news)."""
    if update.status_date is None:
        return True
    return (
        not TrackingEvent.objects.for_tenant(shipment.tenant_id)
        .filter(shipment=shipment, status_date__gt=update.status_date)
        .exists()
    )


def _order_follows(tenant: Any, order_id: int, actor: str) -> bool:
    """Deliver the order when every shipment of it that was not cancelled is delivered."""
    order = order_locks.order_for_update(tenant=tenant, order_id=order_id)
    if order.state != OrderState.SHIPPED:
        return False  # not fully shipped yet (or already delivered)
    states = set(
        Shipment.objects.for_tenant(tenant)
        .filter(order_id=order_id)
        .exclude(state=S.CANCELLED)
        .values_list("state", flat=True)
    )
    if states != {S.DELIVERED}:
        return False
    order_mark_delivered(
        tenant=tenant, order_id=order_id, actor=actor, message="Every shipment was delivered."
    )
    return True


@transaction.atomic
def tracking_apply(*, tenant: Any, shipment_id: int, update: TrackingUpdate, source: str) -> TrackingOutcome:
    """Apply one carrier status to a shipment of `tenant` (see the module's policy). Re-runnable."""
    actor = f"tracking:{source}"
    order_id, state = Shipment.objects.for_tenant(tenant).values_list("order_id", "state").get(pk=shipment_id)
    if state == S.LABEL_PURCHASED and _status_of(update) in SCANNED_STATUSES:
        # Before any lock of ours: shipment_ship takes the house order itself (order, lines,
        # shipment, stock), and re-checks the state under its locks.
        shipment_ship(tenant=tenant, shipment_id=shipment_id, actor=actor)
    order_locks.order_for_update(tenant=tenant, order_id=order_id)  # the house order: order first
    shipment = locks.shipment_for_update(tenant=tenant, shipment_id=shipment_id)
    now = timezone.now()
    status = _status_of(update)
    before = shipment.state

    news = status in FINAL_STATUSES or _is_newest(shipment, update)
    recorded = _record(shipment, update, status, source, now)
    shipment.last_tracking_at = now
    fields = ["last_tracking_at", "updated_at"]
    if recorded and news and shipment.state not in FINAL_STATES:
        shipment.tracking_status = status
        fields.append("tracking_status")
        name = TRANSITION_FOR_STATUS[status]
        move = getattr(shipment, name) if name else None
        if move is not None and shipment.state in TRACKABLE and can_proceed(move):
            move()
            fields.append("state")
            if shipment.state == S.DELIVERED:
                shipment.delivered_at = update.status_date or now
                fields.append("delivered_at")
    shipment.save(update_fields=fields)

    order_delivered = False
    if shipment.state != before:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="shipment.tracked",
            obj=shipment,
            before={"state": before},
            after={"state": shipment.state, "carrier_status": status},
        )
        order_event_record(
            order=shipment.order,
            actor=actor,
            type=OrderEventType.NOTE,
            message=f"Shipment {shipment.number}: {shipment.get_state_display().lower()}"
            + (f" ({update.status_details})" if update.status_details else ""),
            data={"shipment": shipment.pk, "from": before, "to": shipment.state, "carrier_status": status},
        )
        if shipment.state == S.DELIVERED:
            effects.shipment_delivered(shipment, actor=actor)
            order_delivered = _order_follows(tenant, order_id, actor)
    return TrackingOutcome(
        shipment_id=shipment.pk,
        recorded=recorded,
        from_state=before,
        to_state=shipment.state,
        order_delivered=order_delivered,
    )


def shipment_find_by_tracking(*, tenant: Any, carrier: str, tracking_number: str) -> Shipment | None:
    """The tenant's shipment with this tracking number at this carrier, or None.

    Carriers are compared by their letters and digits, case aside ("USPS" is "usps",
    "DHL Express" is "dhl_express"): the carrier platform's token and the name a label or a
    3PL gave us need not be spelled alike. The newest shipment wins if a number was reused.
    """
    if not tracking_number:
        return None
    wanted = _carrier_key(carrier)
    candidates = (
        Shipment.objects.for_tenant(tenant).filter(tracking_number=tracking_number).order_by("-pk")[:20]
    )
    for shipment in candidates:
        if not wanted or not shipment.carrier or _carrier_key(shipment.carrier) == wanted:
            return shipment
    return None


def return_label_find_by_tracking(*, tenant: Any, carrier: str, tracking_number: str) -> Label | None:
    """The tenant's purchased return label with this tracking number (carriers compared as in
    `shipment_find_by_tracking`), or None."""
    if not tracking_number:
        return None
    wanted = _carrier_key(carrier)
    labels = (
        Label.objects.for_tenant(tenant)
        .filter(is_return=True, state=LabelState.PURCHASED, tracking_number=tracking_number)
        .order_by("-pk")[:20]
    )
    for label in labels:
        if not wanted or not label.carrier or _carrier_key(label.carrier) == wanted:
            return label
    return None


@transaction.atomic
def return_label_tracking_apply(*, tenant: Any, label_id: int, update: TrackingUpdate, source: str) -> None:
    """A carrier status for a return label's parcel: told to whoever follows returns (the returns
    room moves its RMA to in transit). The outbound shipment is not touched."""
    label = Label.objects.for_tenant(tenant).get(pk=label_id, is_return=True)
    return_parcel_tracked.send(
        sender=Label,
        tenant_id=label.tenant_id,
        label_id=label.pk,
        status=_status_of(update),
        details=(update.status_details or "")[:500],
        source=source,
    )


def _carrier_key(carrier: str) -> str:
    return "".join(ch for ch in (carrier or "").lower() if ch.isalnum())


# Public tracking pages of the common carriers, for a shipment that came without a tracking URL
# (a 3PL's tracking number). Keyed by `_carrier_key`.
CARRIER_TRACKING_PAGES = {
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "ups": "https://www.ups.com/track?tracknum={number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "dhlexpress": "https://www.dhl.com/en/express/tracking.html?AWB={number}",
    "dhl": "https://www.dhl.com/en/express/tracking.html?AWB={number}",
}


def tracking_link(shipment: Shipment) -> str:
    """Where the customer follows the parcel: the carrier platform's URL, else the carrier's page."""
    if shipment.tracking_url:
        return shipment.tracking_url
    page = CARRIER_TRACKING_PAGES.get(_carrier_key(shipment.carrier))
    if page and shipment.tracking_number:
        return page.format(number=quote(shipment.tracking_number, safe=""))
    return ""


# --- asking the carrier platform to follow a parcel ------------------------------------------
def shipment_tracking_register(*, tenant_id: int, shipment_id: int) -> bool:
    """Ask the carrier platform to send tracking webhooks for a shipment it did not label (a 3PL's
    tracking number). A label bought through the platform is followed already. Called outside
    any transaction; True when the platform was asked. Raises CarrierUnavailable (retry)."""
    shipment = Shipment.objects.for_tenant(tenant_id).select_related("tenant").get(pk=shipment_id)
    if not shipment.tracking_number or shipment.state not in TRACKABLE:
        return False
    if (
        Label.objects.for_tenant(tenant_id)
        .filter(shipment=shipment, state=LabelState.PURCHASED, tracking_number=shipment.tracking_number)
        .exists()
    ):
        return False
    provider = _provider_of(shipment.tenant)
    try:
        gateway = carrier_gateway_for(shipment.tenant, provider)
        gateway.register_tracking(
            carrier=shipment.carrier, tracking_number=shipment.tracking_number, reference=shipment.number
        )
    except (NoCarrierAccount, CarrierRefused) as exc:
        # Nothing to retry: the poll of quiet shipments follows the parcel instead.
        logger.info("Tracking of shipment %s not registered: %s", shipment.pk, exc.message)
        return False
    return True


# --- the poll of quiet shipments ------------------------------------------------------------
@dataclass
class PollReport:
    polled: int = 0
    moved: int = 0
    refused: int = 0
    unavailable: int = 0
    tenants: int = 0
    skipped_tenants: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "polled": self.polled,
            "moved": self.moved,
            "refused": self.refused,
            "unavailable": self.unavailable,
            "tenants": self.tenants,
            "skipped_tenants": self.skipped_tenants,
        }


def shipments_quiet(*, tenant: Any, now: Any = None, limit: int = POLL_PER_TENANT) -> list[Shipment]:
    """The tenant's departed, undelivered shipments with a tracking number whose carrier has said
    nothing for the tenant's `quiet_tracking_hours` (never heard: counted from when it shipped),
    the quietest first."""
    now = now or timezone.now()
    config = FulfillmentSettings.objects.for_tenant(tenant).first()
    hours = (
        config.quiet_tracking_hours
        if config
        else FulfillmentSettings._meta.get_field("quiet_tracking_hours").default
    )
    cutoff = now - timedelta(hours=hours)
    quiet = (
        Q(last_tracking_at__lt=cutoff)
        | Q(last_tracking_at__isnull=True, shipped_at__lt=cutoff)
        | Q(last_tracking_at__isnull=True, shipped_at__isnull=True)
    )
    return list(
        Shipment.objects.for_tenant(tenant)
        .filter(quiet, state__in=TRACKABLE)
        .exclude(tracking_number="")
        .order_by("last_tracking_at", "shipped_at", "pk")[:limit]
    )


def _tenants_with_trackable_shipments() -> list[Tenant]:
    ids = (
        Shipment.objects.unscoped()  # the sweep visits every tenant, one at a time
        .filter(state__in=TRACKABLE)
        .exclude(tracking_number="")
        .values_list("tenant_id", flat=True)
        .distinct()
    )
    return list(Tenant.objects.filter(pk__in=list(ids)).order_by("pk"))


def tracking_poll_tenant(
    *, tenant: Any, report: PollReport, deadline: float, now: Any = None, limit: int = POLL_PER_TENANT
) -> None:
    """Ask the carrier about the tenant's quiet shipments, one by one, and apply the answers."""
    shipments = shipments_quiet(tenant=tenant, now=now, limit=limit)
    if not shipments:
        return
    report.tenants += 1
    outages = 0
    provider = _provider_of(tenant)
    try:
        gateway = carrier_gateway_for(tenant, provider)
    except NoCarrierAccount:
        report.skipped_tenants.append(f"{tenant.pk}: no {provider} account")
        return
    for shipment in shipments:
        if time.monotonic() > deadline:
            return
        try:  # outside any transaction: a carrier call
            update = gateway.track(carrier=shipment.carrier, tracking_number=shipment.tracking_number)
        except CarrierUnavailable as exc:
            report.unavailable += 1
            outages += 1
            logger.warning("Tracking poll: carrier unavailable for shipment %s: %s", shipment.pk, exc)
            if outages >= POLL_OUTAGES_PER_TENANT:
                report.skipped_tenants.append(f"{tenant.pk}: carrier unavailable")
                return
            continue
        except CarrierRefused as exc:
            # The carrier does not know the number: ask again after the next quiet period.
            report.refused += 1
            logger.info("Tracking poll: carrier refused shipment %s: %s", shipment.pk, exc.message)
            Shipment.objects.for_tenant(tenant).filter(pk=shipment.pk).update(last_tracking_at=timezone.now())
            continue
        outages = 0
        report.polled += 1
        outcome = tracking_apply(tenant=tenant, shipment_id=shipment.pk, update=update, source="poll")
        report.moved += int(outcome.moved)


def _provider_of(tenant: Any) -> str:
    config = FulfillmentSettings.objects.for_tenant(tenant).only("carrier_provider").first()
    return config.carrier_provider if config else "shippo"


def tracking_poll_quiet(
    *, per_tenant: int = POLL_PER_TENANT, budget_seconds: float = POLL_BUDGET_SECONDS, now: Any = None
) -> PollReport:
    """The beat sweep: every tenant's quiet shipments, tenant by tenant, bounded per tenant and in
    time. One tenant's failure (a carrier down, no account, a bug) never stops the others."""
    report = PollReport()
    deadline = time.monotonic() + budget_seconds
    for tenant in _tenants_with_trackable_shipments():
        if time.monotonic() > deadline:
            break
        try:
            tracking_poll_tenant(tenant=tenant, report=report, deadline=deadline, now=now, limit=per_tenant)
        except Exception:
            logger.exception("Tracking poll failed for tenant %s", tenant.pk)
            report.skipped_tenants.append(f"{tenant.pk}: error")
    return report
