"""The domain rooms' signals, heard here. Each runs inside the change's transaction and only writes
this room's rows and their outbox rows (webhooks.py, emails.py), so they commit or roll back with
the change. The rooms that send import nothing of this one."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from integrations.signals import inbound_event_dead
from inventory.models import StockLevel
from inventory.signals import stock_became_available, stock_taken
from notifications.emails import email_owe
from notifications.models import EmailTemplate, LowStockMark, WebhookEndpoint
from notifications.preferences import tenant_wants, tenant_wants_forget
from notifications.states import EmailKind, EventType
from notifications.webhooks import webhook_event_emit
from orders.signals import order_allocated, order_cancelled, order_placed, order_shipped
from returns.signals import return_received, return_refunded

E = EventType


def on_order_placed(sender: Any, *, tenant_id: int, order_id: int, **_: Any) -> None:
    webhook_event_emit(tenant_id=tenant_id, event_type=E.ORDER_CREATED, refs={"order_id": order_id})
    email_owe(
        tenant_id=tenant_id,
        kind=EmailKind.ORDER_CONFIRMED,
        key=f"order:{order_id}",
        refs={"order_id": order_id},
    )


def on_order_allocated(sender: Any, *, tenant_id: int, order_id: int, **_: Any) -> None:
    webhook_event_emit(tenant_id=tenant_id, event_type=E.ORDER_ALLOCATED, refs={"order_id": order_id})


def on_order_cancelled(sender: Any, *, tenant_id: int, order_id: int, **_: Any) -> None:
    webhook_event_emit(tenant_id=tenant_id, event_type=E.ORDER_CANCELLED, refs={"order_id": order_id})


def on_order_shipped(sender: Any, *, tenant_id: int, order_id: int, reference: str = "", **_: Any) -> None:
    refs = {"order_id": order_id, "reference": reference}
    webhook_event_emit(tenant_id=tenant_id, event_type=E.ORDER_SHIPPED, refs=refs)


def on_return_received(sender: Any, *, tenant_id: int, return_id: int, **_: Any) -> None:
    webhook_event_emit(tenant_id=tenant_id, event_type=E.RETURN_RECEIVED, refs={"return_id": return_id})


def on_return_refunded(
    sender: Any, *, tenant_id: int, return_id: int, amount: str, currency: str, **_: Any
) -> None:
    refs = {"return_id": return_id, "amount": amount, "currency": currency}
    webhook_event_emit(tenant_id=tenant_id, event_type=E.REFUND_ISSUED, refs=refs)
    email_owe(tenant_id=tenant_id, kind=EmailKind.REFUND_ISSUED, key=f"return:{return_id}", refs=refs)


def on_inbound_event_dead(sender: Any, *, tenant_id: int, event_id: int, **_: Any) -> None:
    # A replayed event that dies again is told again: the key carries the moment it died.
    key = f"inbound_event:{event_id}:{timezone.now():%Y%m%d%H%M%S%f}"
    email_owe(tenant_id=tenant_id, kind=EmailKind.INBOUND_DEAD, key=key, refs={"event_id": event_id})


def _low(tenant_id: int, ids: list[int]) -> list[dict[str, Any]]:
    return list(
        StockLevel.objects.for_tenant(tenant_id)
        .filter(pk__in=ids)
        .annotate(free=F("on_hand") - F("allocated") - F("reserved"))
        .filter(free__lte=F("reorder_point"))
        .values("pk", "sku_id", "free")
    )


def on_stock_taken(sender: Any, *, tenant_id: int, stock_level_ids: list[int], **_: Any) -> None:
    """A stock row at or below its reorder point (or out) is told once: stock.low to webhooks, and a
    stockout to staff, until stock arrives and lifts it above the point again. Costs nothing for a
    tenant that wants neither."""
    wants = tenant_wants(tenant_id)
    if E.STOCK_LOW not in wants.events and EmailKind.STOCKOUT not in wants.emails:
        return
    low = _low(tenant_id, stock_level_ids)
    if not low:
        return
    marked = set(
        LowStockMark.objects.for_tenant(tenant_id)
        .filter(stock_level_id__in=[row["pk"] for row in low])
        .values_list("stock_level_id", flat=True)
    )
    for row in low:
        if row["pk"] in marked:
            continue
        try:
            with transaction.atomic():
                mark = LowStockMark.objects.create(
                    tenant_id=tenant_id, stock_level_id=row["pk"], sku_id=row["sku_id"]
                )
        except IntegrityError:  # marked beside us
            continue
        refs = {"stock_level_id": row["pk"]}
        webhook_event_emit(tenant_id=tenant_id, event_type=E.STOCK_LOW, refs=refs)
        if row["free"] <= 0:
            email_owe(
                tenant_id=tenant_id,
                kind=EmailKind.STOCKOUT,
                key=f"stock_level:{row['pk']}:{mark.pk}",
                refs=refs,
            )


def on_stock_became_available(sender: Any, *, tenant_id: int, sku_ids: list[int], **_: Any) -> None:
    """Rows of these SKUs back above their reorder point may be told low again later."""
    wants = tenant_wants(tenant_id)
    if E.STOCK_LOW not in wants.events and EmailKind.STOCKOUT not in wants.emails:
        return
    marks = dict(
        LowStockMark.objects.for_tenant(tenant_id)
        .filter(sku_id__in=sku_ids)
        .values_list("stock_level_id", "pk")
    )
    if not marks:
        return
    still_low = {row["pk"] for row in _low(tenant_id, list(marks))}
    lifted = [pk for level, pk in marks.items() if level not in still_low]
    if lifted:
        LowStockMark.objects.for_tenant(tenant_id).filter(pk__in=lifted).delete()


def on_preferences_changed(sender: Any, *, instance: Any, **_: Any) -> None:
    tenant_wants_forget(instance.tenant_id)


def connect() -> None:
    for model in (WebhookEndpoint, EmailTemplate):
        uid = f"notifications.wants.{model.__name__}"
        post_save.connect(on_preferences_changed, sender=model, dispatch_uid=uid + ".save")
        post_delete.connect(on_preferences_changed, sender=model, dispatch_uid=uid + ".delete")
    pairs = [
        (order_placed, on_order_placed),
        (order_allocated, on_order_allocated),
        (order_cancelled, on_order_cancelled),
        (order_shipped, on_order_shipped),
        (return_received, on_return_received),
        (return_refunded, on_return_refunded),
        (inbound_event_dead, on_inbound_event_dead),
        (stock_taken, on_stock_taken),
        (stock_became_available, on_stock_became_available),
    ]
    for signal, receiver in pairs:
        signal.connect(receiver, dispatch_uid=f"notifications.{receiver.__name__}")
