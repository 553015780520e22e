"""Return writes: open, authorize, reject, cancel, the label and the parcel's tracking, receive,
inspect, close. Refunds live in returns/refunds.py, exchanges in returns/exchanges.py.

Each service owns its transaction and takes the house lock order (returns/locks.py): the
return's order, then its lines, then the return and its lines, then stock rows in one
statement. Every move of a return writes an audit event and a note on the order's timeline.
Vendor calls (the return label, emails, refunds) go through the outbox.

A return comes from the storefront API (`source="api"`), from staff in the admin
(`"admin"`), or from a marketplace's return notification: a connector calls
`return_open(..., source="shopify", external_id=<the marketplace's return id>)`, which is
idempotent on that pair. (No connector calls it yet; Shopify `returns/request` and the Amazon
and eBay return reports are the integrations room's to wire.)
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import can_proceed

from fulfillment.labels import return_label_request
from fulfillment.models import Label, ShipmentLine
from fulfillment.states import DEPARTED, LabelState, TrackingStatus
from inventory import locks as stock_locks
from inventory.models import SKU, MovementReason, Warehouse
from inventory.services import stock_adjust, stock_receive, stock_restock
from oms.core.audit import actor_of, audit_record
from oms.core.errors import NotFoundError
from oms.core.tasks import enqueue_on_commit
from orders import locks as order_locks
from orders.models import Order, OrderLine
from orders.services import order_event_record
from orders.states import OrderEventType
from returns import locks
from returns.eligibility import claimed_units, return_policy, window_days_used, window_last_day, window_start
from returns.errors import ReturnConflict, ReturnError, ReturnErrorCode
from returns.models import ReturnExchangeLine, ReturnLine, ReturnReceipt, ReturnRequest
from returns.signals import return_received
from returns.states import (
    CANCELLABLE,
    RECEIVABLE,
    Condition,
    Disposition,
    Resolution,
    ReturnReason,
    ReturnSource,
    ReturnState,
)

logger = logging.getLogger(__name__)

R = ReturnState
E = ReturnErrorCode
LABEL_EMAIL_TASK = "returns.tasks.return_label_email_task"
# Carrier statuses that prove the parcel is on its way back (or already at the warehouse's door).
MOVING = (TrackingStatus.TRANSIT, TrackingStatus.DELIVERED, TrackingStatus.FAILURE)


@dataclass(frozen=True)
class ReturnLineInput:
    line: int  # the order line's id
    quantity: int
    reason: str
    note: str = ""


@dataclass(frozen=True)
class ExchangeLineInput:
    sku: str  # the SKU's code
    quantity: int


@dataclass(frozen=True)
class ReceiptInput:
    line: int  # the return line's id
    quantity: int
    condition: str
    disposition: str
    warehouse: int  # the warehouse's id (restocked units go into it)


# --- small helpers ------------------------------------------------------------------------------
def _label(actor: Any) -> str:
    return actor_of(actor)[1][:200]


def record(
    ret: ReturnRequest, *, actor: Any, action: str, before: str = "", note: str = "", **after: Any
) -> None:
    """The audit event and the order's timeline note that every change of a return writes."""
    audit_record(
        tenant=ret.tenant,
        actor=actor,
        action=f"return.{action}",
        obj=ret,
        before={"state": before} if before else None,
        after={
            "state": ret.state,
            **{k: v if isinstance(v, int | list | dict) else str(v) for k, v in after.items()},
        },
    )
    order_event_record(
        order=ret.order,
        actor=actor,
        type=OrderEventType.NOTE,
        message=f"Return {ret.rma_number}: {note or ret.get_state_display().lower()}",
        data={"return": ret.pk, "from": before, "to": ret.state},
    )


def _illegal(ret: ReturnRequest, doing: str) -> ReturnConflict:
    return ReturnConflict(
        E.ILLEGAL_TRANSITION,
        f"Return {ret.rma_number} is {ret.get_state_display().lower()}: it cannot be {doing}.",
        return_id=ret.pk,
        state=ret.state,
    )


def locked_return(tenant: Any, return_id: Any) -> ReturnRequest:
    """The return, locked after its order (the house order); 404 for another tenant's.
    `ret.order` is the locked order row."""
    try:
        order_id = locks.return_order_id(tenant=tenant, return_id=return_id)
    except ReturnRequest.DoesNotExist:
        raise NotFoundError(E.NOT_FOUND, "No such return.", return_id=return_id) from None
    order = order_locks.order_for_update(tenant=tenant, order_id=order_id)
    ret = locks.return_for_update(tenant=tenant, return_id=return_id)
    ret.order = order
    return ret


def _departed_shipment_line(tenant: Any, order_line_ids: list[int]) -> ShipmentLine | None:
    """The newest departed shipment that carried one of these lines: its warehouse takes the return."""
    return (
        ShipmentLine.objects.for_tenant(tenant)
        .filter(order_line_id__in=order_line_ids, shipment__state__in=DEPARTED)
        .select_related("shipment")
        .order_by("-shipment_id")
        .first()
    )


# --- open ---------------------------------------------------------------------------------------
def return_open(
    *,
    tenant: Any,
    order_id: Any,
    lines: list[ReturnLineInput],
    resolution: str = Resolution.REFUND,
    exchange_lines: list[ExchangeLineInput] | None = None,
    source: str = ReturnSource.API,
    external_id: str = "",
    customer_note: str = "",
    actor: Any = None,
    now: Any = None,
) -> tuple[ReturnRequest, bool]:
    """Open a return (state requested). Returns (return, created).

    Refuses (422) a SKU that is not returnable (`not_returnable`), a return after the window
    (`outside_return_window`), more units than shipped minus already returned or requested
    (`quantity_exceeds_returnable`). With `external_id` it is idempotent on (source,
    external_id): a marketplace's repeated notification returns the first return.
    """
    if external_id:
        existing = (
            ReturnRequest.objects.for_tenant(tenant).filter(source=source, external_id=external_id).first()
        )
        if existing is not None:
            return existing, False
    try:
        return _return_open(
            tenant=tenant,
            order_id=order_id,
            lines=lines,
            resolution=resolution,
            exchange_lines=exchange_lines or [],
            source=source,
            external_id=external_id,
            customer_note=customer_note,
            actor=actor,
            now=now,
        ), True
    except IntegrityError:
        if not external_id:
            raise
        existing = (
            ReturnRequest.objects.for_tenant(tenant).filter(source=source, external_id=external_id).first()
        )
        if existing is None:
            raise
        return existing, False


def _check_lines(
    order: Order, order_lines: list[OrderLine], lines: list[ReturnLineInput]
) -> dict[int, OrderLine]:
    by_id = {line.pk: line for line in order_lines}
    if not lines:
        raise ReturnError(E.UNKNOWN_LINE, "A return needs at least one line.")
    seen: set[int] = set()
    for item in lines:
        if item.line not in by_id:
            raise ReturnError(
                E.UNKNOWN_LINE,
                f"Line {item.line} is not a line of order #{order.number}.",
                line=str(item.line),
            )
        if item.line in seen:
            raise ReturnError(E.DUPLICATE_LINE, f"Line {item.line} is named twice.", line=str(item.line))
        seen.add(item.line)
        if item.quantity <= 0:
            raise ReturnError(E.QUANTITY_EXCEEDS_RETURNABLE, "Return at least one unit.", line=str(item.line))
        if item.reason not in ReturnReason.values:
            raise ReturnError("invalid_reason", f"Unknown reason {item.reason!r}.", line=str(item.line))
    refused = sorted({by_id[item.line].sku.code for item in lines if not by_id[item.line].sku.returnable})
    if refused:
        raise ReturnError(E.NOT_RETURNABLE, f"Not returnable: {', '.join(refused)}.", skus=refused)
    return by_id


def _check_window(tenant: Any, order: Order, now: Any) -> None:
    start = window_start(order)
    if start is None:
        return  # nothing left the warehouse: the quantity check refuses it
    days = return_policy(tenant).window_days
    used = window_days_used(start, now)
    if used > days:
        last = window_last_day(start, days)
        raise ReturnError(
            E.OUTSIDE_RETURN_WINDOW,
            f"Order #{order.number} reached the customer {used} days ago; returns are accepted for "
            f"{days} days (until {last.isoformat()}).",
            window_days=days,
            days_since_delivery=used,
            last_day=last.isoformat(),
        )


def _check_quantities(tenant: Any, by_id: dict[int, OrderLine], lines: list[ReturnLineInput]) -> None:
    claimed = claimed_units(tenant=tenant, order_line_ids=[item.line for item in lines])
    for item in lines:
        line = by_id[item.line]
        taken = claimed.get(line.pk, 0)
        returnable = max(line.quantity_shipped - taken, 0)
        if item.quantity > returnable:
            raise ReturnError(
                E.QUANTITY_EXCEEDS_RETURNABLE,
                f"{line.sku.code}: {item.quantity} asked, {returnable} can still be returned "
                f"({line.quantity_shipped} shipped, {taken} already returned or requested).",
                line=str(line.pk),
                returnable=returnable,
            )


def _exchange_skus(tenant: Any, items: list[ExchangeLineInput]) -> dict[str, SKU]:
    if not items:
        raise ReturnError(E.EXCHANGE_LINES_REQUIRED, "An exchange names what the customer wants instead.")
    codes = {item.sku for item in items}
    skus = {s.code: s for s in SKU.objects.for_tenant(tenant).filter(code__in=codes, active=True)}
    unknown = sorted(codes - set(skus))
    if unknown:
        raise ReturnError(E.UNKNOWN_SKU, f"Unknown SKU(s): {', '.join(unknown)}.", skus=unknown)
    if any(item.quantity <= 0 for item in items):
        raise ReturnError(E.EXCHANGE_LINES_REQUIRED, "Exchange at least one unit of each SKU.")
    return skus


@transaction.atomic
def _return_open(
    *,
    tenant: Any,
    order_id: Any,
    lines: list[ReturnLineInput],
    resolution: str,
    exchange_lines: list[ExchangeLineInput],
    source: str,
    external_id: str,
    customer_note: str,
    actor: Any,
    now: Any,
) -> ReturnRequest:
    try:
        order = order_locks.order_for_update(tenant=tenant, order_id=order_id)
    except Order.DoesNotExist:
        raise NotFoundError("order_not_found", "No such order.", order_id=order_id) from None
    order_lines = order_locks.order_lines_for_update(order=order)
    by_id = _check_lines(order, order_lines, lines)
    if resolution not in Resolution.values:
        raise ReturnError("invalid_resolution", f"Unknown resolution {resolution!r}.")
    skus = _exchange_skus(tenant, exchange_lines) if resolution == Resolution.EXCHANGE else {}
    _check_window(tenant, order, now)
    _check_quantities(tenant, by_id, lines)
    count = ReturnRequest.objects.for_tenant(tenant).filter(order=order).count()
    carried = _departed_shipment_line(tenant, [item.line for item in lines])
    ret = ReturnRequest.objects.create(
        tenant_id=order.tenant_id,
        order=order,
        rma_number=f"RMA-{order.number}-{count + 1}",
        resolution=resolution,
        source=source,
        external_id=external_id[:128],
        warehouse_id=carried.shipment.warehouse_id if carried else None,
        shipment_id=carried.shipment_id if carried else None,
        customer_note=customer_note[:1000],
        created_by=_label(actor),
    )
    ReturnLine.objects.bulk_create(
        ReturnLine(
            tenant_id=order.tenant_id,
            return_request=ret,
            order_line=by_id[item.line],
            sku=by_id[item.line].sku,
            quantity=item.quantity,
            reason=item.reason,
            note=item.note[:500],
        )
        for item in lines
    )
    ReturnExchangeLine.objects.bulk_create(
        ReturnExchangeLine(
            tenant_id=order.tenant_id, return_request=ret, sku=skus[item.sku], quantity=item.quantity
        )
        for item in exchange_lines
        if resolution == Resolution.EXCHANGE
    )
    what = ", ".join(f"{item.quantity} × {by_id[item.line].sku.code}" for item in lines)
    record(
        ret,
        actor=actor,
        action="opened",
        note=f"requested ({what}; {resolution}; via {source})",
        source=source,
    )
    return ret


# --- authorize, reject, cancel --------------------------------------------------------------------
@transaction.atomic
def return_authorize(*, tenant: Any, return_id: Any, actor: Any = None) -> ReturnRequest:
    """Accept a requested return. With the tenant's `return_labels` on and a shipment to return
    to, a return label is asked for (fulfillment buys it through the outbox; once bought it is
    emailed to the customer and the return becomes label_sent)."""
    ret = locked_return(tenant, return_id)
    if not can_proceed(ret.authorize):
        raise _illegal(ret, "authorized")
    before = ret.state
    ret.authorize()
    if return_policy(tenant).return_labels and ret.shipment_id and ret.label_id is None:
        ret.label = return_label_request(
            tenant=tenant, shipment_id=ret.shipment_id, key=ret.rma_number, actor=actor
        )
    ret.save()
    record(ret, actor=actor, action="authorized", before=before, label=ret.label_id or "")
    return ret


@transaction.atomic
def return_reject(*, tenant: Any, return_id: Any, reason: str, actor: Any = None) -> ReturnRequest:
    """Refuse a requested (or authorized, not yet sent) return. A return label already bought is left
    to expire unused (carriers bill return labels when they are scanned)."""
    ret = locked_return(tenant, return_id)
    if not can_proceed(ret.reject):
        raise _illegal(ret, "rejected")
    before = ret.state
    ret.reject(reason=reason)
    ret.resolved_at = timezone.now()
    ret.save()
    record(ret, actor=actor, action="rejected", before=before, note=f"rejected ({reason})", reason=reason)
    return ret


@transaction.atomic
def return_cancel(*, tenant: Any, return_id: Any, reason: str = "", actor: Any = None) -> ReturnRequest:
    """Call a return off before anything arrived (409 once received). Cancelling twice is harmless."""
    ret = locked_return(tenant, return_id)
    if ret.state == R.CANCELLED:
        return ret
    if ret.state not in CANCELLABLE:
        raise _illegal(ret, "cancelled")
    before = ret.state
    ret.cancel(reason=reason)
    ret.resolved_at = timezone.now()
    ret.save()
    record(ret, actor=actor, action="cancelled", before=before, reason=reason)
    return ret


# --- the label and the parcel ---------------------------------------------------------------------
def return_label_sent(*, tenant: Any, label_id: int) -> ReturnRequest | None:
    """Fulfillment bought the return's label: the return becomes label_sent and the label is
    emailed to the customer (through the outbox, once). Re-runnable; None when no return has it."""
    ret_id = (
        ReturnRequest.objects.for_tenant(tenant)
        .filter(label_id=label_id)
        .values_list("pk", flat=True)
        .first()
    )
    if ret_id is None:
        return None
    with transaction.atomic():
        ret = locked_return(tenant, ret_id)
        label = Label.objects.for_tenant(tenant).get(pk=label_id)
        if label.state != LabelState.PURCHASED:
            return ret
        if not ret.tracking_number:
            ret.carrier, ret.tracking_number = label.carrier, label.tracking_number
        if ret.state == R.AUTHORIZED:
            before = ret.state
            ret.label_sent()
            ret.save()
            record(ret, actor="task", action="label_sent", before=before, tracking_number=ret.tracking_number)
            enqueue_on_commit(LABEL_EMAIL_TASK, tenant_id=ret.tenant_id, return_id=ret.pk)
        else:
            ret.save(update_fields=["carrier", "tracking_number", "updated_at"])
        return ret


def return_tracking_update(
    *, tenant: Any, label_id: int, status: str, details: str = "", source: str = "webhook"
) -> ReturnRequest | None:
    """The carrier's word on a return parcel (its label's tracking): a scan moves the return to
    in_transit. Statuses are recorded on the return; nothing moves backwards."""
    ret_id = (
        ReturnRequest.objects.for_tenant(tenant)
        .filter(label_id=label_id)
        .values_list("pk", flat=True)
        .first()
    )
    if ret_id is None:
        return None
    with transaction.atomic():
        ret = locked_return(tenant, ret_id)
        before = ret.state
        ret.tracking_status = (status or "")[:20]
        if status in MOVING and can_proceed(ret.in_transit):
            ret.in_transit()
        ret.save()
        if ret.state != before:
            record(
                ret,
                actor=f"tracking:{source}",
                action="in_transit",
                before=before,
                carrier_status=status,
                details=details,
            )
        return ret


# --- receive --------------------------------------------------------------------------------------
def _check_receipts(
    tenant: Any, ret: ReturnRequest, lines: list[ReturnLine], receipts: list[ReceiptInput]
) -> dict[int, Warehouse]:
    by_id = {line.pk: line for line in lines}
    if not receipts:
        raise ReturnError(E.NOTHING_RECEIVED, "Say what arrived: at least one line.")
    warehouses = {
        w.pk: w for w in Warehouse.objects.for_tenant(tenant).filter(pk__in={r.warehouse for r in receipts})
    }
    totals: dict[int, int] = defaultdict(int)
    for item in receipts:
        line = by_id.get(item.line)
        if line is None:
            raise ReturnError(
                E.UNKNOWN_LINE,
                f"Line {item.line} is not a line of return {ret.rma_number}.",
                line=str(item.line),
            )
        if item.warehouse not in warehouses:
            raise ReturnError(E.UNKNOWN_WAREHOUSE, "No such warehouse.", warehouse=str(item.warehouse))
        if item.condition not in Condition.values or item.disposition not in Disposition.values:
            raise ReturnError(
                "invalid_receipt", "Give a known condition and disposition.", line=str(item.line)
            )
        if item.quantity <= 0:
            raise ReturnError(E.NOTHING_RECEIVED, "Receive at least one unit.", line=str(item.line))
        totals[item.line] += item.quantity
    for line_id, total in totals.items():
        line = by_id[line_id]
        if total > line.quantity_expected:
            raise ReturnError(
                E.QUANTITY_EXCEEDS_EXPECTED,
                f"{line.sku.code}: {total} received, but only {line.quantity_expected} more "
                f"{'is' if line.quantity_expected == 1 else 'are'} expected on {ret.rma_number}.",
                line=str(line.pk),
                expected=line.quantity_expected,
            )
    return warehouses


def _move_stock(tenant: Any, ret: ReturnRequest, line: ReturnLine, item: ReceiptInput, actor: Any) -> None:
    """The ledger: restock adds sellable units (and lets backorders take them); scrap records the
    unit arriving and leaving at once (a receipt and a damage write-off: on hand unchanged);
    refurbish writes nothing until the unit is sellable again (a stock receipt then)."""
    reference = f"{ret.rma_number} line {line.pk}"
    common = {"tenant": tenant, "sku_id": line.sku_id, "warehouse_id": item.warehouse, "actor": actor}
    if item.disposition == Disposition.RESTOCK:
        stock_restock(**common, quantity=item.quantity, reference=f"{reference}: restocked")
    elif item.disposition == Disposition.SCRAP:
        stock_receive(
            **common,
            quantity=item.quantity,
            reference=f"{reference}: returned",
            reason=MovementReason.RECEIPT,
        )
        stock_adjust(
            **common, delta=-item.quantity, reason=MovementReason.DAMAGE, reference=f"{reference}: scrapped"
        )


@transaction.atomic
def return_receive(
    *, tenant: Any, return_id: Any, receipts: list[ReceiptInput], actor: Any = None
) -> ReturnRequest:
    """What arrived of an authorized return: per line, units in a condition with a disposition and
    the warehouse that took them. Receiving may take several calls (until inspection); units
    beyond what the line still expects are refused (422)."""
    try:
        order_id = locks.return_order_id(tenant=tenant, return_id=return_id)
    except ReturnRequest.DoesNotExist:
        raise NotFoundError(E.NOT_FOUND, "No such return.", return_id=return_id) from None
    order = order_locks.order_for_update(tenant=tenant, order_id=order_id)
    order_lines = {line.pk: line for line in order_locks.order_lines_for_update(order=order)}
    ret = locks.return_for_update(tenant=tenant, return_id=return_id)
    ret.order = order
    if ret.state not in RECEIVABLE:
        raise _illegal(ret, "received")
    lines = locks.return_lines_for_update(return_request=ret)
    warehouses = _check_receipts(tenant, ret, lines, receipts)
    by_id = {line.pk: line for line in lines}
    pairs = [
        (by_id[item.line].sku_id, item.warehouse)
        for item in receipts
        if item.disposition in (Disposition.RESTOCK, Disposition.SCRAP)
    ]
    stock_locks.stock_lock(tenant=tenant, pairs=pairs, create=True)  # the whole set, one statement
    label = _label(actor)
    for item in receipts:
        line = by_id[item.line]
        ReturnReceipt.objects.create(
            tenant_id=ret.tenant_id,
            line=line,
            quantity=item.quantity,
            condition=item.condition,
            disposition=item.disposition,
            warehouse=warehouses[item.warehouse],
            received_by=label,
        )
        _move_stock(tenant, ret, line, item, actor)
        line.quantity_received += item.quantity
        line.save(update_fields=["quantity_received"])
        order_line = order_lines[line.order_line_id]
        order_line.quantity_returned += item.quantity
        order_line.save(update_fields=["quantity_returned"])
    before = ret.state
    if ret.state != R.RECEIVED:
        ret.receive()
        ret.received_at = timezone.now()
    if ret.warehouse_id is None:
        ret.warehouse = warehouses[receipts[0].warehouse]
    ret.save()
    what = "; ".join(
        f"{item.quantity} × {by_id[item.line].sku.code} {item.condition} → {item.disposition} "
        f"({warehouses[item.warehouse].code})"
        for item in receipts
    )
    record(
        ret,
        actor=actor,
        action="received",
        before=before,
        note=f"received {what}",
        receipts=[
            {
                "line": item.line,
                "quantity": item.quantity,
                "condition": item.condition,
                "disposition": item.disposition,
            }
            for item in receipts
        ],
    )
    return_received.send(sender=ReturnRequest, tenant_id=ret.tenant_id, return_id=ret.pk)
    return ret


# --- inspect and close ------------------------------------------------------------------------------
@transaction.atomic
def return_inspect(*, tenant: Any, return_id: Any, note: str = "", actor: Any = None) -> ReturnRequest:
    """Receiving is over: what arrived is what will be refunded or exchanged. Inspecting twice is harmless."""
    ret = locked_return(tenant, return_id)
    if ret.state == R.INSPECTED:
        return ret
    if not can_proceed(ret.inspect):
        raise _illegal(ret, "inspected")
    if not any(line.quantity_received for line in ret.lines.all()):
        raise ReturnError(
            E.NOTHING_RECEIVED,
            f"Nothing of {ret.rma_number} was received: close it instead.",
            return_id=ret.pk,
        )
    before = ret.state
    ret.inspect()
    ret.inspected_at = timezone.now()
    if note:
        ret.staff_note = note[:500]
    ret.save()
    record(
        ret, actor=actor, action="inspected", before=before, note=f"inspected{f' ({note})' if note else ''}"
    )
    return ret


@transaction.atomic
def return_close(*, tenant: Any, return_id: Any, reason: str, actor: Any = None) -> ReturnRequest:
    """End a received return without refund or exchange (staff say why)."""
    ret = locked_return(tenant, return_id)
    if ret.state == R.CLOSED:
        return ret
    if not can_proceed(ret.close):
        raise _illegal(ret, "closed")
    before = ret.state
    ret.close(reason=reason)
    ret.resolved_at = timezone.now()
    ret.save()
    record(ret, actor=actor, action="closed", before=before, note=f"closed ({reason})", reason=reason)
    return ret
