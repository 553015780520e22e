"""The exceptions queue: what needs a person, each row with the action that fixes it.

One query per kind, newest problems last (the oldest first), at most `LIMIT` rows a kind.
Where the fix is an existing admin action, the page posts to it (the action checks the role
again); where it is a page, it links there. docs/dashboard.md lists each kind and its source.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from fulfillment.models import Label, Shipment
from fulfillment.states import LabelState, ShipmentState
from integrations.models import ChannelOrderLine, ChannelOrderState, InboundEvent, InboundEventState
from inventory.models import StockLevel, StockMovement
from oms.core.roles import Capability
from orders.models import Hold
from orders.states import HoldKind
from workspace.links import change, changelist, ids

C = Capability
LIMIT = 100
UNSHIPPED = [
    ShipmentState.PENDING,
    ShipmentState.PICKING,
    ShipmentState.PACKED,
    ShipmentState.LABEL_PURCHASED,
]
CARRIER_TROUBLE = [ShipmentState.EXCEPTION, ShipmentState.RETURNED_TO_SENDER]


@dataclass
class Fix:
    """A button posting an admin action (`action`) for `ids` to `url`, or a link to `url`."""

    label: str
    url: str
    capability: Capability
    action: str = ""
    ids: list[int] = field(default_factory=list)


@dataclass
class Row:
    title: str
    url: str
    detail: str
    since: dt.datetime | dt.date | None
    fixes: list[Fix] = field(default_factory=list)


@dataclass
class Kind:
    key: str
    title: str
    why: str
    rows: list[Row]
    list_url: str
    fix_all: Fix | None = None

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def more(self) -> bool:
        return len(self.rows) >= LIMIT


def holds(tenant: Any) -> Kind:
    found = list(
        Hold.objects.for_tenant(tenant)
        .filter(released_at__isnull=True)
        .select_related("order")
        .order_by("created_at", "pk")[:LIMIT]
    )
    orders = changelist("orders.order")
    rows = []
    for hold in found:
        if hold.kind == HoldKind.UNMAPPED_SKU:
            fixes = [Fix("Map the SKU (releases the hold)", "#unmapped", C.CHANNEL_SKUS_MAP)]
        else:
            fixes = [Fix("Release hold", orders, C.ORDERS_HOLD, "release_orders", [hold.order_id])]
        rows.append(
            Row(
                f"Order #{hold.order.number}",
                change("orders.order", hold.order_id),
                f"{hold.get_kind_display()} hold: {hold.reason or 'no reason given'}",
                hold.created_at,
                fixes,
            )
        )
    return Kind(
        "holds",
        "Orders on hold",
        "Held orders are not allocated or shipped until every hold is released.",
        rows,
        changelist("orders.order", state="on_hold"),
    )


def inbound_events(tenant: Any) -> Kind:
    states = [InboundEventState.FAILED, InboundEventState.DEAD]
    found = list(
        InboundEvent.objects.for_tenant(tenant)
        .filter(state__in=states)
        .select_related("account")
        .order_by("received_at", "pk")[:LIMIT]
    )
    url = changelist("integrations.inboundevent")
    rows = [
        Row(
            f"{e.get_source_display()} {e.event_type or 'event'} {e.event_id}".strip(),
            change("integrations.inboundevent", e.pk),
            f"{e.get_state_display()} after {e.attempts} attempt(s): {(e.error or e.outcome)[:200]}",
            e.received_at,
            [Fix("Replay", url, C.INTEGRATIONS_REPLAY, "replay_events", [e.pk])],
        )
        for e in found
    ]
    return Kind(
        "events",
        "Failed or dead inbound events",
        "Webhooks and polled changes from channels and vendors that could not be processed.",
        rows,
        changelist("integrations.inboundevent", state__in=",".join(states)),
        Fix("Replay all shown", url, C.INTEGRATIONS_REPLAY, "replay_events", [e.pk for e in found])
        if found
        else None,
    )


def label_failures(tenant: Any) -> Kind:
    """Packed shipments whose last label purchase failed and that have no label bought or pending."""
    labels = Label.objects.for_tenant(tenant).filter(shipment=OuterRef("pk"), is_return=False)
    found = list(
        Shipment.objects.for_tenant(tenant)
        .filter(state=ShipmentState.PACKED)
        .filter(Exists(labels.filter(state=LabelState.FAILED)))
        .exclude(Exists(labels.filter(state__in=[LabelState.PENDING, LabelState.PURCHASED])))
        .annotate(
            error=Subquery(
                labels.filter(state=LabelState.FAILED).order_by("-updated_at", "-pk").values("error")[:1]
            )
        )
        .select_related("order")
        .order_by("updated_at", "pk")[:LIMIT]
    )
    url = changelist("fulfillment.shipment")
    rows = [
        Row(
            f"Shipment {s.number} (order #{s.order.number})",
            change("fulfillment.shipment", s.pk),
            f"Label purchase failed: {s.error or s.last_error or 'no error recorded'}",
            s.updated_at,
            [Fix("Retry label", url, C.SHIPMENTS_MANAGE, "buy_labels", [s.pk])],
        )
        for s in found
    ]
    return Kind(
        "labels",
        "Label failures",
        "The carrier refused the label purchase; the shipment waits, packed.",
        rows,
        changelist("fulfillment.shipment", id__in=ids(s.pk for s in found)) if found else url,
        Fix("Retry all shown", url, C.SHIPMENTS_MANAGE, "buy_labels", [s.pk for s in found])
        if found
        else None,
    )


def tracking_exceptions(tenant: Any) -> Kind:
    found = list(
        Shipment.objects.for_tenant(tenant)
        .filter(state__in=CARRIER_TROUBLE)
        .select_related("order")
        .order_by("updated_at", "pk")[:LIMIT]
    )
    rows = []
    for s in found:
        fixes = [Fix("Open the shipment", change("fulfillment.shipment", s.pk), C.SHIPMENTS_VIEW)]
        if s.tracking_url:
            fixes.append(Fix("Carrier's tracking page", s.tracking_url, C.SHIPMENTS_VIEW))
        rows.append(
            Row(
                f"Shipment {s.number} (order #{s.order.number})",
                change("fulfillment.shipment", s.pk),
                f"{s.get_state_display()}: {s.carrier} {s.tracking_number}".strip(),
                s.last_tracking_at or s.updated_at,
                fixes,
            )
        )
    return Kind(
        "tracking",
        "Tracking exceptions",
        "The carrier reports a problem or sends the parcel back: contact the carrier or the customer.",
        rows,
        changelist("fulfillment.shipment", state__in=",".join(CARRIER_TROUBLE)),
    )


def late_shipments(tenant: Any, today: dt.date) -> Kind:
    found = list(
        Shipment.objects.for_tenant(tenant)
        .filter(state__in=UNSHIPPED, promised_date__lt=today)
        .select_related("order", "warehouse")
        .order_by("promised_date", "pk")[:LIMIT]
    )
    url = changelist("fulfillment.shipment")
    rows = []
    for s in found:
        if s.state == ShipmentState.PACKED:
            fixes = [Fix("Buy label", url, C.SHIPMENTS_MANAGE, "buy_labels", [s.pk])]
        elif s.state == ShipmentState.LABEL_PURCHASED:
            fixes = [Fix("Ship", url, C.SHIPMENTS_MANAGE, "ship_selected", [s.pk])]
        else:
            fixes = [Fix("Open the shipment", change("fulfillment.shipment", s.pk), C.SHIPMENTS_VIEW)]
        rows.append(
            Row(
                f"Shipment {s.number} (order #{s.order.number})",
                change("fulfillment.shipment", s.pk),
                f"{s.get_state_display()} at {s.warehouse.code}; promised {s.promised_date:%Y-%m-%d}",
                s.promised_date,
                fixes,
            )
        )
    return Kind(
        "late",
        "Shipments past their promised date",
        "Not shipped yet, and the date promised to the customer has passed.",
        rows,
        changelist("fulfillment.shipment", state__in=",".join(UNSHIPPED), promised_date__lt=str(today)),
    )


def stock_drift(tenant: Any) -> Kind:
    """Stock rows whose on_hand differs from the sum of their ledger rows: what
    `manage.py reconcile_stock` reports, computed here live (drift is stored nowhere)."""
    ledger = (
        StockMovement.objects.for_tenant(tenant)
        .filter(stock_level=OuterRef("pk"))
        .order_by()
        .values("stock_level")
        .annotate(total=Sum("delta"))
        .values("total")
    )
    found = list(
        StockLevel.objects.for_tenant(tenant)
        .annotate(ledger=Coalesce(Subquery(ledger, output_field=IntegerField()), Value(0)))
        .filter(~Q(on_hand=F("ledger")))
        .select_related("sku", "warehouse")
        .order_by("sku__code", "warehouse__code")[:LIMIT]
    )
    command = f"manage.py reconcile_stock --tenant {tenant.slug} --fix"
    rows = [
        Row(
            f"{s.sku.code} at {s.warehouse.code}",
            change("inventory.stocklevel", s.pk),
            f"On hand {s.on_hand}, ledger {s.ledger} (drift {s.on_hand - s.ledger:+d}). Fix: {command}",
            s.updated_at,
            [Fix("See the ledger", changelist("inventory.stockmovement", stock_level=s.pk), C.STOCK_VIEW)],
        )
        for s in found
    ]
    return Kind(
        "drift",
        "Stock drift",
        "On hand no longer equals the stock ledger's sum. Count the shelf, or set on hand to the "
        f"ledger with `{command}`.",
        rows,
        changelist("inventory.stocklevel", id__in=ids(s.pk for s in found)) if found else "",
    )


def unmapped_skus(tenant: Any) -> Kind:
    found = list(
        ChannelOrderLine.objects.for_tenant(tenant)
        .filter(sku__isnull=True, channel_order__state=ChannelOrderState.UNMAPPED)
        .values(
            "channel_order__account",
            "channel_order__account__name",
            "channel_sku",
            "channel_variant_id",
            "channel_listing_id",
        )
        .annotate(orders=Count("channel_order", distinct=True), units=Sum("quantity"))
        .order_by("channel_order__account__name", "channel_sku", "channel_variant_id", "channel_listing_id")[
            :LIMIT
        ]
    )
    add = reverse("admin:integrations_skumapping_add")
    rows = []
    for line in found:
        prefill = {
            "account": line["channel_order__account"],
            "channel_sku": line["channel_sku"],
            "channel_variant_id": line["channel_variant_id"],
            "channel_listing_id": line["channel_listing_id"],
        }
        shown = line["channel_sku"] or f"variant {line['channel_variant_id']}"
        rows.append(
            Row(
                f"{shown} on {line['channel_order__account__name']}",
                changelist("integrations.channelorder", state=ChannelOrderState.UNMAPPED),
                f"{line['orders']} order(s), {line['units']} unit(s) waiting",
                None,
                [Fix("Map to one of our SKUs", f"{add}?{urlencode(prefill)}", C.CHANNEL_SKUS_MAP)],
            )
        )
    return Kind(
        "unmapped",
        "Unmapped SKUs",
        "Marketplace items that match none of our SKUs; their orders are held until mapped.",
        rows,
        changelist("integrations.channelorder", state=ChannelOrderState.UNMAPPED),
    )


def queue(tenant: Any, now: dt.datetime | None = None) -> list[Kind]:
    today = timezone.localdate(now or timezone.now())
    return [
        holds(tenant),
        inbound_events(tenant),
        label_failures(tenant),
        tracking_exceptions(tenant),
        late_shipments(tenant, today),
        stock_drift(tenant),
        unmapped_skus(tenant),
    ]
