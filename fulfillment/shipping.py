"""Shipping and cancelling shipments.

Ship: from a bought label (label_purchased, the label's tracking), or for a 3PL / "ship these"
without a label from pending, picking or packed with the carrier and tracking given. It goes
through `orders.services.order_record_shipment` (stock out through the ledger, the order's
state, the capture on commit): one service, not two. Shipping twice changes nothing.

Cancel: an open shipment is cancelled, leaves its pick list, a bought label is voided through
the outbox, and its units are the order's uncovered allocations again; an order left with no
open or departed shipment goes back from in fulfillment to its allocation state. An order
cancelled while in fulfillment cancels its open shipments in the same transaction
(`orders.signals.order_recalled`); so does one put on hold while in fulfillment.

Locks: the house order (fulfillment/locks.py): order, its lines, the shipment(s), their lines;
stock rows only inside order_record_shipment, after all of those.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from fulfillment import effects, labels, locks
from fulfillment.errors import FulfillmentConflict, FulfillmentError, FulfillmentErrorCode
from fulfillment.lists import pick_list_refresh
from fulfillment.models import Label, Shipment, ShipmentLine
from fulfillment.states import DEPARTED, OPEN, LabelState, ShipmentState
from oms.core.audit import audit_record
from orders.models import Order
from orders.services import order_event_record, order_fulfillment_stop, order_record_shipment
from orders.states import OrderEventType


def shipment_reference(shipment: Shipment) -> str:
    """The reference a shipment's stock movements, order event and capture carry."""
    return f"shipment:{shipment.pk}"


# --- ship ---------------------------------------------------------------------------------
@transaction.atomic
def shipment_ship(
    *,
    tenant: Any,
    shipment_id: int,
    carrier: str | None = None,
    tracking_number: str | None = None,
    tracking_url: str | None = None,
    actor: Any = None,
) -> Shipment:
    """The shipment left the warehouse. Returns it shipped; a shipment that already left is
    returned unchanged. Raises Shipment.DoesNotExist for another tenant's id, `not_shippable` (409)
    for a cancelled shipment, `carrier_required` (422) without a label and without a carrier."""
    tree = locks.shipment_tree_for_update(tenant=tenant, shipment_id=shipment_id)
    shipment, order = tree.shipment, tree.order
    if shipment.state in DEPARTED:
        return shipment
    if shipment.state not in OPEN:
        raise FulfillmentConflict(
            FulfillmentErrorCode.NOT_SHIPPABLE,
            f"Shipment {shipment.number} is {shipment.state}; it cannot ship.",
            state=shipment.state,
        )
    if shipment.state == ShipmentState.LABEL_PURCHASED:
        label = (
            Label.objects.for_tenant(tenant)
            .filter(shipment=shipment, is_return=False, state=LabelState.PURCHASED)
            .order_by("-pk")
            .first()
        )
        if label is not None:
            carrier = label.carrier or shipment.carrier
            tracking_number = label.tracking_number or shipment.tracking_number
            tracking_url = label.tracking_url or shipment.tracking_url
    carrier = (carrier if carrier is not None else shipment.carrier).strip()
    tracking_number = (tracking_number if tracking_number is not None else shipment.tracking_number).strip()
    tracking_url = (tracking_url if tracking_url is not None else shipment.tracking_url).strip()
    if not carrier:
        raise FulfillmentError(
            FulfillmentErrorCode.CARRIER_REQUIRED,
            f"Shipment {shipment.number} has no label: say which carrier took it.",
        )
    quantities = {line.order_line_id: line.quantity for line in tree.lines if line.quantity}
    if not quantities:
        raise FulfillmentConflict(
            FulfillmentErrorCode.NOT_SHIPPABLE, f"Shipment {shipment.number} has nothing left to ship."
        )
    order_record_shipment(
        tenant=tenant,
        order_id=order.pk,
        reference=shipment_reference(shipment),
        quantities=quantities,
        warehouse_id=shipment.warehouse_id,
        carrier=carrier,
        tracking_number=tracking_number,
        actor=actor,
    )
    for line in tree.lines:
        line.quantity_picked = line.quantity_packed = line.quantity
    ShipmentLine.objects.for_tenant(tenant).bulk_update(tree.lines, ["quantity_picked", "quantity_packed"])
    before = shipment.state
    shipment.carrier = carrier[:64]
    shipment.tracking_number = tracking_number[:128]
    shipment.tracking_url = tracking_url[:500]
    shipment.ship()
    shipment.shipped_at = timezone.now()
    shipment.last_tracking_at = shipment.shipped_at
    shipment.save()
    pick_list_refresh(tenant=tenant, pick_list_id=shipment.pick_list_id)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="shipment.shipped",
        obj=shipment,
        before={"state": before},
        after={"state": shipment.state, "carrier": carrier, "tracking_number": tracking_number},
    )
    effects.shipment_shipped(shipment, actor=actor)
    return shipment


# --- cancel -------------------------------------------------------------------------------
def cancel_locked(*, tenant: Any, order: Order, shipment: Shipment, reason: str, actor: Any) -> None:
    """Cancel a locked open shipment (its order, order lines and lines locked before it)."""
    before = shipment.state
    pick_list_id = shipment.pick_list_id
    shipment.cancel(reason=reason)
    shipment.pick_list = None
    shipment.save(update_fields=["state", "cancel_reason", "pick_list", "updated_at"])
    voided = labels.shipment_labels_void_on_cancel(shipment, actor=actor)
    pick_list_refresh(tenant=tenant, pick_list_id=pick_list_id)
    order_event_record(
        order=order,
        actor=actor,
        type=OrderEventType.NOTE,
        message=f"Shipment {shipment.number} cancelled" + (f": {reason}" if reason else ""),
        data={"shipment": shipment.pk, "labels_voided": [label.pk for label in voided]},
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="shipment.cancelled",
        obj=shipment,
        before={"state": before},
        after={"state": shipment.state, "reason": reason, "labels_voided": len(voided)},
    )


def order_after_shipment_gone(*, tenant: Any, order: Order, reason: str, actor: Any) -> None:
    """With no open or departed shipment left, an order in fulfillment goes back to its allocation state."""
    alive = Shipment.objects.for_tenant(tenant).filter(order=order, state__in=[*OPEN, *DEPARTED]).exists()
    if not alive:
        order_fulfillment_stop(tenant=tenant, order_id=order.pk, reason=reason, actor=actor)


@transaction.atomic
def shipment_cancel(*, tenant: Any, shipment_id: int, reason: str = "", actor: Any = None) -> Shipment:
    """Cancel an open shipment; its units go back to the order's allocations (uncovered, ready to be
    released again). Cancelling a cancelled shipment changes nothing. Raises Shipment.DoesNotExist
    for another tenant's id and `not_cancellable` (409) for a shipment that has left."""
    tree = locks.shipment_tree_for_update(tenant=tenant, shipment_id=shipment_id)
    shipment, order = tree.shipment, tree.order
    if shipment.state == ShipmentState.CANCELLED:
        return shipment
    if shipment.state not in OPEN:
        raise FulfillmentConflict(
            FulfillmentErrorCode.NOT_CANCELLABLE,
            f"Shipment {shipment.number} is {shipment.state}; it has left the warehouse.",
            state=shipment.state,
        )
    cancel_locked(tenant=tenant, order=order, shipment=shipment, reason=reason, actor=actor)
    order_after_shipment_gone(
        tenant=tenant, order=order, reason=f"Shipment {shipment.number} cancelled", actor=actor
    )
    return shipment


def on_order_recalled(
    sender: Any, *, tenant: Any, order: Order, reason: str = "", actor: Any = None, **_: Any
) -> None:
    """orders.signals.order_recalled: the order (and its lines) are locked, it is being cancelled or
    put on hold; its open shipments are cancelled in the same transaction, their labels voided."""
    shipments = locks.open_shipments_for_update(order=order)
    if not shipments:
        return
    locks.shipment_lines_for_update(tenant=tenant, shipment_ids=[s.pk for s in shipments])
    for shipment in shipments:
        cancel_locked(
            tenant=tenant,
            order=order,
            shipment=shipment,
            reason=reason or "Order recalled",
            actor=actor,
        )
