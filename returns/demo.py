"""Demo returns for `manage.py seed_demo`: some delivered orders come back, for several reasons.

About one delivered order in eight opens a return a few days after delivery (`return_open`), at
its moment of the seed's clock, for one line and a reason that fits the SKU (boots and clothes
come back for their size, gear for a defect or a damaged parcel, some "no longer needed"). The
older a return, the further it went: authorized (`return_authorize`, its return label bought and
sent: `return_label_sent`), received at the warehouse
the parcel left from (`return_receive`: sellable units restocked through the ledger, damaged
ones scrapped), inspected (`return_inspect`). Marketplace orders were paid at the channel, so
their inspected returns are closed once the channel refunded the customer (`return_close`);
storefront returns are refunded to the card after the seed commits (`seed_after_commit`), but
the newest, which waits for its refund. One return is rejected (used item).
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from fulfillment.models import Label, Shipment, ShipmentLine
from fulfillment.states import LabelState
from orders.payments.services import payment_authorize, payment_capture
from orders.states import OrderState
from returns.models import ReturnRequest
from returns.refunds import return_refund, return_refund_execute
from returns.services import (
    ReceiptInput,
    ReturnLineInput,
    return_authorize,
    return_close,
    return_inspect,
    return_label_sent,
    return_open,
    return_receive,
    return_reject,
)
from returns.states import Condition, Disposition, ReturnReason, ReturnSource, ReturnState

ACTOR = "system:demo-returns"
STOREFRONT_CHANNELS = ("web", "api")
SIZED = ("BOOT-", "TRAIL-", "SOCK-", "BASE-", "FLEECE-", "DOWN-", "RAIN-", "PANT-", "GLOVE-")
SIZE_REASONS = [ReturnReason.WRONG_SIZE] * 5 + [ReturnReason.NOT_AS_DESCRIBED, ReturnReason.NO_LONGER_NEEDED]
GEAR_REASONS = [
    ReturnReason.DEFECTIVE,
    ReturnReason.DEFECTIVE,
    ReturnReason.DAMAGED,
    ReturnReason.NO_LONGER_NEEDED,
    ReturnReason.NOT_AS_DESCRIBED,
    ReturnReason.WRONG_ITEM,
]
NOTES = {
    ReturnReason.WRONG_SIZE: "Runs half a size small",
    ReturnReason.DEFECTIVE: "Zip broke on the first trip",
    ReturnReason.DAMAGED: "Box crushed, item dented",
    ReturnReason.WRONG_ITEM: "Received a different colour",
    ReturnReason.NOT_AS_DESCRIBED: "Heavier than the listing says",
    ReturnReason.NO_LONGER_NEEDED: "Trip cancelled",
}


def _reason(rng: random.Random, sku_code: str) -> str:
    return rng.choice(SIZE_REASONS if sku_code.startswith(SIZED) else GEAR_REASONS)


def seed(tenant: Any, stdout: Any, clock: Any) -> None:
    rng = random.Random(11)
    now = clock.today
    delivered = (
        Shipment.objects.for_tenant(tenant)
        .filter(
            delivered_at__isnull=False,
            order__state__in=[OrderState.DELIVERED, OrderState.COMPLETED],
        )
        .select_related("order")
        .order_by("delivered_at", "pk")
    )
    opened = 0
    for shipment in delivered:
        if rng.random() > 0.13:
            continue
        line = ShipmentLine.objects.for_tenant(tenant).filter(shipment=shipment).select_related("sku").first()
        if line is None:
            continue
        at = shipment.delivered_at + timedelta(days=rng.uniform(1, 8))
        if at > now - timedelta(hours=1):
            continue
        reason = _reason(rng, line.sku.code)
        clock.set(at)
        ret, _ = return_open(
            tenant=tenant,
            order_id=shipment.order_id,
            lines=[ReturnLineInput(line=line.order_line_id, quantity=1, reason=reason, note=NOTES[reason])],
            source=ReturnSource.API,
            customer_note=NOTES[reason],
            actor="system:demo-customer",
        )
        opened += 1
        _progress(tenant, clock, ret, shipment, rng, at, now, reason, first=opened == 1)
    stdout.write(f"Returns: {opened} opened.")


def _label_bought(tenant: Any, label_id: int, rng: random.Random) -> None:
    """The carrier is not running while the seed runs: the demo stands in for it and records the
    return label as bought; `return_label_sent` then moves the return on (label sent)."""
    tracking = f"9202{label_id:012d}"
    Label.objects.for_tenant(tenant).filter(pk=label_id).update(
        state=LabelState.PURCHASED,
        carrier="USPS",
        service="Ground Advantage Return",
        amount=Decimal(rng.randint(550, 990)) / 100,
        currency="USD",
        tracking_number=tracking,
        tracking_url=f"https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking}",
        attempts=1,
    )
    return_label_sent(tenant=tenant, label_id=label_id)


def _progress(
    tenant: Any,
    clock: Any,
    ret: Any,
    shipment: Shipment,
    rng: random.Random,
    at: Any,
    now: Any,
    reason: str,
    *,
    first: bool,
) -> None:
    if first:
        clock.set(at + timedelta(hours=5))
        return_reject(
            tenant=tenant, return_id=ret.pk, reason="Used on a trip: outside the return policy", actor=ACTOR
        )
        return
    steps = [
        timedelta(hours=rng.uniform(2, 20)),
        timedelta(days=rng.uniform(3, 5)),
        timedelta(hours=rng.uniform(4, 30)),
    ]
    moments = [at + steps[0], at + steps[0] + steps[1], at + steps[0] + steps[1] + steps[2]]
    if moments[0] > now:
        return  # requested: waiting for staff
    clock.set(moments[0])
    ret = return_authorize(tenant=tenant, return_id=ret.pk, actor=ACTOR)
    if ret.label_id:
        clock.set(moments[0] + timedelta(minutes=10))
        _label_bought(tenant, ret.label_id, rng)
    if moments[1] > now:
        return  # authorized: the parcel is on its way back
    clock.set(moments[1])
    damaged = reason in (ReturnReason.DAMAGED, ReturnReason.DEFECTIVE) and rng.random() < 0.5
    line = ret.lines.get()
    return_receive(
        tenant=tenant,
        return_id=ret.pk,
        receipts=[
            ReceiptInput(
                line=line.pk,
                quantity=line.quantity,
                condition=Condition.DAMAGED if damaged else rng.choice((Condition.NEW, Condition.OPENED)),
                disposition=Disposition.SCRAP if damaged else Disposition.RESTOCK,
                warehouse=shipment.warehouse_id,
            )
        ],
        actor="system:demo-warehouse",
    )
    if moments[2] > now:
        return  # received: waiting for inspection
    clock.set(moments[2])
    return_inspect(tenant=tenant, return_id=ret.pk, note="Checked against the RMA", actor=ACTOR)
    if shipment.order.channel not in STOREFRONT_CHANNELS:
        clock.set(moments[2] + timedelta(days=1))
        return_close(
            tenant=tenant,
            return_id=ret.pk,
            reason=f"Refunded by {shipment.order.channel} (paid at the channel)",
            actor=ACTOR,
        )


def seed_after_commit(tenant: Any, stdout: Any, clock: Any) -> None:
    """Storefront returns are refunded to the card they were paid with. Payment services call the
    provider (the sandbox) between our transactions, so this runs after the seed committed: the
    order's payment is authorized when it was placed and captured when it shipped, then the
    inspected return is refunded (`return_refund`, and its task's work, `return_refund_execute`).
    The newest inspected return is left waiting for its refund."""
    waiting = list(
        ReturnRequest.objects.for_tenant(tenant)
        .filter(state=ReturnState.INSPECTED, order__channel__in=STOREFRONT_CHANNELS)
        .select_related("order")
        .order_by("inspected_at", "pk")
    )
    for ret in waiting[:-1]:
        order = ret.order
        clock.set(order.placed_at)
        payment = payment_authorize(
            tenant=tenant, order=order, payment_method="pm_card_visa", provider="sandbox"
        )
        clock.set(ret.shipment.shipped_at if ret.shipment_id else order.placed_at + timedelta(days=1))
        payment_capture(tenant=tenant, payment_id=payment.pk, actor="system:demo-warehouse")
        clock.set(ret.inspected_at + timedelta(hours=2))
        return_refund(tenant=tenant, return_id=ret.pk, actor=ACTOR)
        return_refund_execute(tenant=tenant, return_id=ret.pk)
    stdout.write(f"Refunds: {max(len(waiting) - 1, 0)} storefront returns refunded.")
