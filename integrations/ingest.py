"""Marketplace orders in: a channel's order (normalised by its connector) becomes, or updates, ours.

Every connector turns its vendor's shape into a `MarketplaceOrder` and calls
`marketplace_order_ingest(account=, incoming=)` from the inbox task (webhooks) or the poller.
The vendors' shapes stop at the connector; from here on everything is ours.

- **One order per channel order.** A `ChannelOrder` row per (account, the channel's order id)
  is created first and locked for the whole ingest, so concurrent deliveries of the same
  order (orders/create and orders/updated racing, or a webhook and a poll) take turns; the
  order itself is made by `orders.services.order_create`, idempotent on (tenant, channel,
  external id) as a second wall.
- **Lines are matched** by the account's `SkuMapping` (variant id first, then the channel's SKU
  text), else by one of our active SKUs whose code is the channel's SKU text.
- **Unmapped SKUs: the order is kept whole and held.** A line nothing matches is taken in under
  the tenant's placeholder SKU (`UNMAPPED_SKU_CODE`, no stock anywhere) with the channel's
  quantity and price, so the order's lines and totals are the channel's; the order is placed
  on hold "unmapped SKU", naming the channel SKUs. It is in the order list like any other.
  When staff add the mapping (`sku_mapping_save`), each waiting line gets the real SKU and,
  once none of its order's lines is unmapped, the hold is released, which allocates.
- **Cancelled at the channel:** the order is cancelled if it has not shipped (in fulfillment
  included: its open shipments are recalled). A shipped or partly shipped order cannot be
  cancelled; it is flagged for staff (`ChannelOrder.attention`, a note on the order).
  A channel order first seen already cancelled is recorded, and no order is made.
- **Oversold** (the channel sold stock we no longer had: the new order is backordered or
  partly allocated): the account's `oversell_rule` decides. `backorder` keeps it (its promise
  date stands); `cancel` cancels it, flags it for staff, and pushes the cancellation to the
  channel through the outbox (`channel_cancellation_push_task`).
- **Updates** of an order we already have: the ship-to address is applied while the order can
  still be edited (before the warehouse has it); any other change (lines, quantities,
  prices) is not applied, and the reason is recorded on the channel order and the order's
  timeline. Updates older than the last one applied (`channel_updated_at`) are ignored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_fsm import can_proceed

from integrations.locks import channel_order_for_update
from integrations.models import (
    ChannelAccount,
    ChannelOrder,
    ChannelOrderLine,
    ChannelOrderState,
    OversellRule,
    SkuMapping,
)
from inventory.models import SKU
from oms.core.audit import audit_record
from oms.core.tasks import enqueue_on_commit
from orders.channels import CancellationPush, ChannelRefused, channel_gateway_for
from orders.models import Hold, Order
from orders.services import (
    LineInput,
    OrderInput,
    order_allocate,
    order_cancel,
    order_create,
    order_edit,
    order_event_record,
    order_line_sku_replace,
    order_release,
)
from orders.states import ALLOCATABLE, EDITABLE, HoldKind, OrderEventType, OrderState

UNMAPPED_SKU_CODE = "UNMAPPED-CHANNEL-SKU"
UNMAPPED_SKU_NAME = "Unmapped channel item (map its channel SKU on the channel account)"
ADDRESS_KEYS = ("name", "company", "line1", "line2", "city", "region", "postal_code", "country", "phone")


class MarketplaceOrderInvalid(ValueError):
    """The channel's order cannot be taken as it is (no lines, a negative quantity...)."""


@dataclass(frozen=True)
class MarketplaceLine:
    channel_line_id: str
    channel_sku: str
    channel_variant_id: str
    quantity: int
    unit_price: Decimal
    title: str = ""
    channel_listing_id: str = ""
    tax: Decimal = Decimal("0")
    discount: Decimal = Decimal("0")


@dataclass(frozen=True)
class MarketplaceOrder:
    external_id: str
    name: str
    currency: str
    customer: dict[str, str]
    ship_to: dict[str, str]
    lines: tuple[MarketplaceLine, ...]
    bill_to: dict[str, str] | None = None
    shipping_price: Decimal = Decimal("0")
    tax: Decimal | None = None
    discount: Decimal = Decimal("0")
    total: Decimal | None = None
    placed_at: datetime | None = None
    updated_at: datetime | None = None
    cancelled: bool = False
    cancel_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        if not self.external_id:
            raise MarketplaceOrderInvalid("no order id")
        if not self.cancelled and not self.lines:
            raise MarketplaceOrderInvalid("no line items")
        for index, line in enumerate(self.lines):
            if line.quantity <= 0:
                raise MarketplaceOrderInvalid(f"line {index}: quantity {line.quantity} is not positive")
            if not (line.channel_sku or line.channel_variant_id):
                raise MarketplaceOrderInvalid(f"line {index}: neither a SKU nor a variant id")
        if not self.cancelled and not (self.ship_to.get("line1") and self.ship_to.get("country")):
            raise MarketplaceOrderInvalid("no shipping address (street and country)")


@dataclass(frozen=True)
class IngestOutcome:
    verdict: str  # "processed" | "ignored" (the inbox's words)
    text: str
    order: Order | None = None


def channel_actor(account: ChannelAccount) -> str:
    return f"channel:{account.kind}:{account.pk}"


# --- placeholder and mappings -------------------------------------------------------------------
def placeholder_sku(tenant: Any) -> SKU:
    """The tenant's stand-in SKU for channel items no mapping names yet (made on first use)."""
    found = SKU.objects.for_tenant(tenant).filter(code=UNMAPPED_SKU_CODE).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return SKU.objects.create(
                tenant_id=getattr(tenant, "pk", tenant),
                code=UNMAPPED_SKU_CODE,
                name=UNMAPPED_SKU_NAME,
                returnable=False,
            )
    except IntegrityError:
        return SKU.objects.for_tenant(tenant).get(code=UNMAPPED_SKU_CODE)


def sku_for_line(account: ChannelAccount, *, channel_sku: str, channel_variant_id: str) -> SKU | None:
    """Our SKU for a channel item: its mapping (variant id first), else an active SKU of that code."""
    mappings = SkuMapping.objects.for_tenant(account.tenant_id).filter(account=account).select_related("sku")
    if channel_variant_id:
        mapping = mappings.filter(channel_variant_id=channel_variant_id).first()
        if mapping is not None:
            return mapping.sku
    if channel_sku:
        mapping = mappings.filter(channel_sku=channel_sku).first()
        if mapping is not None:
            return mapping.sku
        own = SKU.objects.for_tenant(account.tenant_id).filter(code=channel_sku, active=True).first()
        if own is not None and own.code != UNMAPPED_SKU_CODE:
            return own
    return None


# --- ingest ---------------------------------------------------------------------------------------
def _channel_order_locked(account: ChannelAccount, incoming: MarketplaceOrder) -> tuple[ChannelOrder, bool]:
    rows = ChannelOrder.objects.for_tenant(account.tenant_id)
    if not rows.filter(account=account, external_id=incoming.external_id).exists():
        try:
            with transaction.atomic():
                ChannelOrder.objects.create(
                    tenant_id=account.tenant_id,
                    account=account,
                    external_id=incoming.external_id,
                    name=incoming.name[:100],
                )
        except IntegrityError:
            pass  # another delivery made it; wait for its lock below
    row = channel_order_for_update(
        tenant=account.tenant_id, account=account, external_id=incoming.external_id
    )
    return row, row.order_id is None and row.state != ChannelOrderState.CANCELLED


def _data(incoming: MarketplaceOrder) -> dict[str, Any]:
    data = asdict(incoming)
    data.pop("extra", None)
    return data


def _note(row: ChannelOrder, text: str, *, attention: bool = False) -> None:
    row.notes = [*row.notes, {"at": timezone.now().isoformat(), "text": text}][-50:]
    if attention:
        row.attention = text[:300]


@transaction.atomic
def marketplace_order_ingest(*, account: ChannelAccount, incoming: MarketplaceOrder) -> IngestOutcome:
    """Create or update our order for a channel order. Idempotent; safe to run concurrently."""
    incoming.check()
    row, new = _channel_order_locked(account, incoming)
    if new:
        outcome = _create(account, row, incoming)
    elif row.order_id is None:  # cancelled at the channel before we ever made it
        outcome = IngestOutcome(
            "ignored", f"channel order {incoming.external_id} was cancelled before import"
        )
    else:
        outcome = _update(account, row, incoming)
    if incoming.updated_at and (
        row.channel_updated_at is None or incoming.updated_at > row.channel_updated_at
    ):
        row.channel_updated_at = incoming.updated_at
    row.save()
    return outcome


def _create(account: ChannelAccount, row: ChannelOrder, incoming: MarketplaceOrder) -> IngestOutcome:
    row.data = _data(incoming)
    row.channel_updated_at = incoming.updated_at
    if incoming.cancelled:
        row.state = ChannelOrderState.CANCELLED
        _note(row, "Cancelled at the channel before it was imported: no order made.")
        return IngestOutcome("ignored", f"channel order {incoming.external_id} arrived cancelled")
    actor = channel_actor(account)
    resolved = [
        sku_for_line(account, channel_sku=line.channel_sku, channel_variant_id=line.channel_variant_id)
        for line in incoming.lines
    ]
    unmapped = [line for line, sku in zip(incoming.lines, resolved, strict=True) if sku is None]
    placeholder = placeholder_sku(account.tenant_id) if unmapped else None
    holds = []
    if unmapped:
        names = ", ".join(
            sorted({line.channel_sku or f"variant {line.channel_variant_id}" for line in unmapped})
        )
        holds.append((HoldKind.UNMAPPED_SKU, f"Channel SKU(s) not mapped: {names}"[:500]))
    data = OrderInput(
        channel=account.kind,
        external_id=incoming.external_id,
        currency=incoming.currency,
        customer=incoming.customer,
        ship_to=incoming.ship_to,
        bill_to=incoming.bill_to,
        lines=[
            LineInput(
                sku=(sku or placeholder).code,  # type: ignore[union-attr]
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax=line.tax,
                discount=line.discount,
            )
            for line, sku in zip(incoming.lines, resolved, strict=True)
        ],
        shipping_price=incoming.shipping_price,
        tax=incoming.tax,
        discount=incoming.discount,
        placed_at=incoming.placed_at,
        holds=holds,
    )
    order, created = order_create(tenant=account.tenant, data=data, actor=actor)
    order_lines = list(order.lines.order_by("position", "pk"))
    row.order = order
    row.state = ChannelOrderState.UNMAPPED if unmapped else ChannelOrderState.OPEN
    if created and len(order_lines) == len(incoming.lines):
        ChannelOrderLine.objects.bulk_create(
            ChannelOrderLine(
                tenant_id=account.tenant_id,
                channel_order=row,
                channel_line_id=line.channel_line_id[:100],
                channel_sku=line.channel_sku[:255],
                channel_variant_id=line.channel_variant_id[:100],
                channel_listing_id=line.channel_listing_id[:100],
                title=line.title[:255],
                quantity=line.quantity,
                sku=sku,
                order_line=order_line,
                position=index,
            )
            for index, (line, sku, order_line) in enumerate(
                zip(incoming.lines, resolved, order_lines, strict=True)
            )
        )
    if incoming.total is not None and order.total != incoming.total:
        _note(row, f"Totals differ: the channel says {incoming.total}, the order {order.total}.")
    text = f"order #{order.number} {'created' if created else 'already existed'}"
    if unmapped:
        text += f", on hold: {len(unmapped)} unmapped line(s)"
    elif created:
        text += _oversell(account, row, order)
    return IngestOutcome("processed", text, order)


def _oversell(account: ChannelAccount, row: ChannelOrder, order: Order) -> str:
    """The channel sold stock we no longer had: the allocation (under the stock locks) says so.
    Resolved by the account's rule: keep it as a backorder (its promise date stands), or cancel
    it and tell the channel (through the outbox)."""
    order.refresh_from_db(fields=["state"])
    if order.state not in (OrderState.BACKORDERED, OrderState.PARTIALLY_ALLOCATED):
        return ""
    if account.oversell_rule != OversellRule.CANCEL:
        _note(row, "Oversold at the channel: kept as a backorder.")
        return ", oversold: backordered"
    reason = "Oversold: not enough stock for this channel order"
    order_cancel(tenant=account.tenant, order_id=order.pk, reason=reason, actor=channel_actor(account))
    row.state = ChannelOrderState.CANCELLED
    _note(row, f"{reason}; cancelled here and at the channel.", attention=True)
    enqueue_on_commit(
        "integrations.tasks.channel_cancellation_push_task", tenant_id=account.tenant_id, order_id=order.pk
    )
    return ", oversold: cancelled"


def channel_cancellation_push(*, tenant: Any, order_id: int) -> str:
    """Tell the order's channel that we cancelled it (the oversell rule). Re-runnable: the gateway
    is idempotent. ChannelUnavailable propagates (the task retries); a refusal is recorded."""
    order = Order.objects.for_tenant(tenant).get(pk=order_id)
    gateway = channel_gateway_for(order.tenant, order.channel)
    if gateway is None:
        return f"nothing is pushed to {order.channel}"
    push = CancellationPush(
        reference=order.number, order_external_id=order.external_id, reason=order.cancel_reason, lines=()
    )
    try:
        gateway.push_cancellation(push=push)
    except ChannelRefused as exc:
        outcome, attention = f"The channel refused the cancellation: {exc.message}", True
    else:
        outcome, attention = "Cancellation pushed to the channel.", False
    with transaction.atomic():
        row = channel_order_for_update(tenant=tenant, order_id=order_id)
        _note(row, outcome, attention=attention)
        row.save(update_fields=["notes", "attention", "updated_at"])
        order_event_record(
            order=order, actor=f"channel:{order.channel}", type=OrderEventType.NOTE, message=outcome
        )
    return outcome


def _update(account: ChannelAccount, row: ChannelOrder, incoming: MarketplaceOrder) -> IngestOutcome:
    order = Order.objects.for_tenant(account.tenant_id).select_related("ship_to").get(pk=row.order_id)
    actor = channel_actor(account)
    if incoming.cancelled:
        return _cancel(account, row, order, incoming)
    if row.channel_updated_at and incoming.updated_at and incoming.updated_at < row.channel_updated_at:
        return IngestOutcome("ignored", "an older version of the channel order than the last applied", order)
    done: list[str] = []
    ignored: list[str] = []
    wanted = {k: (incoming.ship_to.get(k) or "") for k in ADDRESS_KEYS}
    current = {k: (getattr(order.ship_to, k) or "") for k in ADDRESS_KEYS}
    if wanted != current:
        if order.state in EDITABLE:
            order_edit(tenant=account.tenant, order_id=order.pk, ship_to=incoming.ship_to, actor=actor)
            done.append("ship-to address updated")
        else:
            ignored.append(f"the ship-to address changed at the channel while the order is {order.state}")
    if _lines_key(incoming.lines) != _lines_key_of(row):
        ignored.append("the lines changed at the channel; lines are not changed from the channel")
    for reason in ignored:
        _note(row, f"Not applied: {reason}.", attention=True)
        order_event_record(
            order=order,
            actor=actor,
            type=OrderEventType.NOTE,
            message=f"{account.kind}: not applied: {reason}",
        )
    for change in done:
        _note(row, change)
    row.data = _data(incoming)
    if done:
        return IngestOutcome(
            "processed", "; ".join(done + [f"not applied: {r}" for r in ignored])[:200], order
        )
    return IngestOutcome(
        "ignored", ("not applied: " + "; ".join(ignored) if ignored else "no change")[:200], order
    )


def _lines_key(lines: tuple[MarketplaceLine, ...]) -> list[tuple[str, str, int]]:
    return sorted((x.channel_sku, x.channel_variant_id, x.quantity) for x in lines)


def _lines_key_of(row: ChannelOrder) -> list[tuple[str, str, int]]:
    return sorted((x.channel_sku, x.channel_variant_id, x.quantity) for x in row.lines.all())


def _cancel(
    account: ChannelAccount, row: ChannelOrder, order: Order, incoming: MarketplaceOrder
) -> IngestOutcome:
    actor = channel_actor(account)
    reason = f"Cancelled at {account.get_kind_display()}" + (
        f": {incoming.cancel_reason}" if incoming.cancel_reason else ""
    )
    if order.state == OrderState.CANCELLED:
        row.state = ChannelOrderState.CANCELLED
        return IngestOutcome("ignored", f"order #{order.number} is already cancelled", order)
    if can_proceed(order.cancel):
        order = order_cancel(tenant=account.tenant, order_id=order.pk, reason=reason, actor=actor)
        row.state = ChannelOrderState.CANCELLED
        _note(row, reason)
        return IngestOutcome("processed", f"order #{order.number} cancelled", order)
    text = f"{reason}, but order #{order.number} is {order.state}: staff must resolve it (return, refund)."
    if row.attention != text[:300]:
        _note(row, text, attention=True)
        order_event_record(order=order, actor=actor, type=OrderEventType.NOTE, message=text)
    row.state = ChannelOrderState.CANCELLED
    return IngestOutcome("processed", f"order #{order.number} is {order.state}: flagged for staff", order)


# --- mapping ------------------------------------------------------------------------------------
def sku_mapping_save(
    *,
    account: ChannelAccount,
    sku: SKU,
    channel_sku: str = "",
    channel_variant_id: str = "",
    channel_listing_id: str = "",
    actor: Any = None,
) -> tuple[SkuMapping, int]:
    """Map a channel item to our SKU, then resolve the waiting lines it names (see module doc).

    Returns (the mapping, how many orders left the "unmapped SKU" hold).
    """
    with transaction.atomic():
        mapping = SkuMapping.objects.create(
            tenant_id=account.tenant_id,
            account=account,
            channel_sku=channel_sku.strip(),
            channel_variant_id=channel_variant_id.strip(),
            channel_listing_id=channel_listing_id.strip(),
            sku=sku,
        )
        audit_record(
            tenant=account.tenant,
            actor=actor,
            action="skumapping.created",
            obj=mapping,
            after={
                "account": account.pk,
                "channel_sku": mapping.channel_sku,
                "variant": mapping.channel_variant_id,
                "sku": sku.code,
            },
        )
        released = unmapped_lines_resolve(account=account, actor=actor)
    return mapping, released


def _waiting_lines(account: ChannelAccount) -> Any:
    return ChannelOrderLine.objects.for_tenant(account.tenant_id).filter(
        channel_order__account=account, sku__isnull=True
    )


def unmapped_lines_resolve(*, account: ChannelAccount, actor: Any = None) -> int:
    """Give every waiting line its SKU where a mapping now names it; release the orders left with
    none waiting. Returns how many orders were released."""
    released = 0
    order_ids = sorted(set(_waiting_lines(account).values_list("channel_order__order_id", flat=True)))
    for order_id in order_ids:
        if order_id is None:
            continue
        with transaction.atomic():
            # The channel order first (the ingest's lock order), then the order inside the services.
            row = channel_order_for_update(tenant=account.tenant_id, order_id=order_id)
            order = Order.objects.for_tenant(account.tenant_id).get(pk=order_id)
            if order.state not in EDITABLE:
                continue
            for line in _waiting_lines(account).filter(channel_order=row).order_by("position"):
                sku = sku_for_line(
                    account, channel_sku=line.channel_sku, channel_variant_id=line.channel_variant_id
                )
                if sku is None or line.order_line_id is None:
                    continue
                order_line_sku_replace(
                    tenant=account.tenant,
                    order_id=order_id,
                    line_id=line.order_line_id,
                    sku=sku.code,
                    reason=f"Channel SKU {line.channel_sku or line.channel_variant_id} mapped to {sku.code}",
                    actor=actor,
                )
                line.sku = sku
                line.save(update_fields=["sku"])
            if row.lines.filter(sku__isnull=True).exists():
                continue
            row.state = ChannelOrderState.OPEN
            _note(row, "Every line is mapped.")
            row.save(update_fields=["state", "notes", "updated_at"])
            held = Hold.objects.for_tenant(account.tenant_id).filter(
                order_id=order_id, kind=HoldKind.UNMAPPED_SKU, released_at__isnull=True
            )
            if held.exists():
                order_release(
                    tenant=account.tenant,
                    order_id=order_id,
                    kind=HoldKind.UNMAPPED_SKU,
                    reason="Every channel SKU is mapped",
                    actor=actor,
                )
                released += 1
            elif order.state in ALLOCATABLE:
                order_allocate(tenant=account.tenant, order_id=order_id, actor=actor)
    return released


def unmapped_skus(account: ChannelAccount) -> list[dict[str, Any]]:
    """The channel items waiting for a mapping on this account: SKU, variant, title, orders, units."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for line in _waiting_lines(account).select_related("channel_order").order_by("pk"):
        key = (line.channel_sku, line.channel_variant_id)
        entry = seen.setdefault(
            key,
            {
                "channel_sku": line.channel_sku,
                "channel_variant_id": line.channel_variant_id,
                "title": line.title,
                "orders": set(),
                "units": 0,
            },
        )
        entry["orders"].add(line.channel_order.order_id)
        entry["units"] += line.quantity
    return [{**e, "orders": len(e["orders"])} for e in seen.values()]


def channel_order_for(*, tenant: Any, channel: str, external_id: str) -> ChannelOrder | None:
    """The channel order behind one of our orders (for pushes back to the channel)."""
    return (
        ChannelOrder.objects.for_tenant(tenant)
        .filter(Q(order__channel=channel) & Q(order__external_id=external_id))
        .select_related("account")
        .first()
    )
