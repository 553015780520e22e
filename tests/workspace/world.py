"""A small tenant whose dashboard figures are worked out by hand in test_kpis.py.

Times are relative to NOW (a fixed instant, site time zone UTC) and its midnight M. Rows are
written as the services would leave them, so each figure's inputs are exactly what is listed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from fulfillment.models import Label, Shipment
from integrations.models import ChannelAccount, ChannelOrder, ChannelOrderLine, InboundEvent
from inventory.models import StockLevel, StockMovement
from orders.models import Address, Customer, Hold, Order, OrderEvent, OrderLine
from returns.models import ReturnLine, ReturnRequest
from tests.inventory.factories import SKUFactory, WarehouseFactory

NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
M = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


class Builder:
    def __init__(self, tenant: Any, tag: str) -> None:
        self.tenant = tenant
        self.tag = tag
        self.customer = Customer.objects.create(
            tenant=tenant, email=f"buyer.{uuid.uuid4().hex[:8]}@{tag.lower()}.test"
        )
        self.address = Address.objects.create(
            tenant=tenant, line1="1 Main St", city="Austin", region="TX", postal_code="78701", country="US"
        )
        self.warehouse = WarehouseFactory(tenant=tenant, code=f"{tag}-W")
        self.n = 0

    def order(
        self,
        channel: str,
        state: str,
        placed_at: dt.datetime,
        lines: list[tuple[Any, int, int, int]],
        *,
        waited: str = "",
    ) -> Order:
        """lines: (sku, quantity, allocated, shipped)."""
        self.n += 1
        order = Order.objects.create(
            tenant=self.tenant,
            channel=channel,
            external_id=f"{self.tag}-{self.n}",
            number=f"{self.tag}{1000 + self.n}",
            state=state,
            currency="USD",
            customer=self.customer,
            ship_to=self.address,
            placed_at=placed_at,
        )
        for position, (sku, quantity, allocated, shipped) in enumerate(lines):
            OrderLine.objects.create(
                tenant=self.tenant,
                order=order,
                sku=sku,
                quantity=quantity,
                unit_price=Decimal("10.00"),
                quantity_allocated=allocated,
                quantity_shipped=shipped,
                position=position,
            )
        if waited:
            OrderEvent.objects.create(
                tenant=self.tenant, order=order, type="transition", from_state="pending", to_state=waited
            )
        return order

    def shipment(
        self,
        order: Order,
        state: str,
        *,
        shipped_at: dt.datetime | None = None,
        promised: dt.date | None = None,
        label: str = "",
        tracking_url: str = "",
    ) -> Shipment:
        self.n += 1
        shipment = Shipment.objects.create(
            tenant=self.tenant,
            order=order,
            warehouse=self.warehouse,
            number=f"{order.number}-S{self.n}",
            state=state,
            shipped_at=shipped_at,
            promised_date=promised,
            carrier="usps",
            tracking_number=f"TRK{self.n}" if tracking_url else "",
            tracking_url=tracking_url,
        )
        if label:
            self.label(shipment, "purchased", label)
        return shipment

    def label(
        self, shipment: Shipment, state: str, amount: str, *, is_return: bool = False, error: str = ""
    ) -> Label:
        self.n += 1
        return Label.objects.create(
            tenant=self.tenant,
            shipment=shipment,
            reference=f"{self.tag}:L{self.n}",
            state=state,
            is_return=is_return,
            amount=Decimal(amount),
            currency="USD",
            error=error,
        )

    def stock(
        self, sku: Any, *, on_hand: int, allocated: int = 0, reorder: int = 0, ledger: int
    ) -> StockLevel:
        level = StockLevel.objects.create(
            tenant=self.tenant,
            sku=sku,
            warehouse=self.warehouse,
            on_hand=on_hand,
            allocated=allocated,
            reorder_point=reorder,
        )
        StockMovement.objects.create(
            tenant=self.tenant,
            stock_level=level,
            sku=sku,
            warehouse=self.warehouse,
            delta=ledger,
            on_hand_after=ledger,
            reason="receipt",
        )
        return level

    def ret(self, order: Order, state: str, sku: Any, quantity: int, reason: str) -> ReturnRequest:
        self.n += 1
        request = ReturnRequest.objects.create(
            tenant=self.tenant, order=order, rma_number=f"RMA-{self.tag}-{self.n}", state=state
        )
        line = order.lines.get(sku=sku)
        ReturnLine.objects.create(
            tenant=self.tenant,
            return_request=request,
            order_line=line,
            sku=sku,
            quantity=quantity,
            reason=reason,
        )
        return request


def build_kpi_world(tenant: Any, tag: str = "K", now: dt.datetime = NOW) -> dict[str, Any]:
    """The orders, shipments, labels, stock and returns test_kpis.py counts (see its comments)."""
    NOW, M = now, now.replace(hour=0, minute=0, second=0, microsecond=0)
    b = Builder(tenant, tag)
    a = SKUFactory(tenant=tenant, code=f"{tag}-A")
    bb = SKUFactory(tenant=tenant, code=f"{tag}-B")
    c = SKUFactory(tenant=tenant, code=f"{tag}-C")
    o1 = b.order("api", "shipped", NOW - 3 * H, [(a, 2, 0, 2)])
    o2 = b.order("shopify", "delivered", M - 3 * D + 2 * H, [(a, 1, 0, 1), (bb, 1, 0, 1)])
    o3 = b.order("shopify", "completed", M - 10 * D, [(bb, 4, 0, 4)], waited="backordered")
    o4 = b.order("api", "backordered", M - 2 * D + H, [(a, 3, 0, 0)], waited="backordered")
    o5 = b.order("api", "partially_allocated", M + H, [(bb, 5, 2, 0)], waited="partially_allocated")
    o6 = b.order("api", "cancelled", M - 5 * D, [(a, 7, 0, 0)])
    o7 = b.order("api", "shipped", M - 40 * D, [(a, 1, 0, 1)])
    o8 = b.order("api", "on_hold", M - D, [(a, 1, 0, 0)])
    b.shipment(o1, "shipped", shipped_at=NOW - H, promised=NOW.date(), label="5.00")
    b.shipment(o2, "delivered", shipped_at=o2.placed_at + 10 * H, label="7.00")
    s3 = b.shipment(
        o3, "shipped", shipped_at=o3.placed_at + 30 * H, promised=o3.placed_at.date(), label="9.00"
    )
    b.label(s3, "failed", "0.00", error="address not found")  # a failed try before the purchase
    b.label(s3, "purchased", "4.00", is_return=True)  # a return label: not shipping cost
    b.shipment(o7, "shipped", shipped_at=o7.placed_at + 5 * H, promised=o7.placed_at.date(), label="50.00")
    b.stock(a, on_hand=10, allocated=2, reorder=5, ledger=10)
    b.stock(bb, on_hand=2, allocated=2, reorder=0, ledger=3)  # out, and drifted by -1
    b.stock(c, on_hand=4, reorder=5, ledger=4)  # low
    b.ret(o3, "received", bb, 2, "damaged")
    b.ret(o2, "requested", a, 1, "wrong_size")
    b.ret(o1, "rejected", a, 1, "other")  # rejected: not counted
    return {"builder": b, "skus": (a, bb, c), "orders": (o1, o2, o3, o4, o5, o6, o7, o8)}


def build_exceptions_world(tenant: Any, tag: str = "X", now: dt.datetime | None = None) -> dict[str, Any]:
    """One row of each exception kind (and rows that look alike but are fine)."""
    b = Builder(tenant, tag)
    now = now or NOW
    sku = SKUFactory(tenant=tenant, code=f"{tag}-SKU")
    held = b.order("api", "on_hold", now - D, [(sku, 1, 0, 0)])
    Hold.objects.create(tenant=tenant, order=held, kind="fraud", reason=f"{tag} looks odd")
    released = b.order("api", "allocated", now - D, [(sku, 1, 1, 0)])
    Hold.objects.create(tenant=tenant, order=released, kind="manual", reason="done", released_at=now)
    account = ChannelAccount.objects.create(
        tenant=tenant, kind="shopify", name=f"{tag} shop", credentials="shpat_x", webhook_secret="shpss_x"
    )
    dead = InboundEvent.objects.create(
        tenant=tenant,
        source="shopify",
        account=account,
        event_id=f"{tag}-evt-dead",
        event_type="orders/create",
        state="dead",
        error=f"{tag} payload broke",
        attempts=5,
    )
    InboundEvent.objects.create(
        tenant=tenant, source="shopify", account=account, event_id=f"{tag}-evt-ok", state="processed"
    )
    packed = b.order("api", "in_fulfillment", now - 2 * D, [(sku, 1, 1, 0)])
    failed = b.shipment(packed, "packed")
    b.label(failed, "failed", "0.00", error=f"{tag} carrier refused")
    trouble_order = b.order("api", "shipped", now - 5 * D, [(sku, 1, 0, 1)])
    trouble = b.shipment(
        trouble_order,
        "exception",
        shipped_at=now - 4 * D,
        tracking_url=f"https://track.example/{tag.lower()}",
    )
    late_order = b.order("api", "in_fulfillment", now - 6 * D, [(sku, 1, 1, 0)])
    late = b.shipment(late_order, "pending", promised=(now - 2 * D).date())
    b.shipment(late_order, "pending", promised=(now + 2 * D).date())  # not late yet
    drifted = b.stock(sku, on_hand=7, ledger=5)
    channel = ChannelOrder.objects.create(
        tenant=tenant, account=account, external_id=f"{tag}-CO-1", state="unmapped", order=held
    )
    ChannelOrderLine.objects.create(
        tenant=tenant, channel_order=channel, channel_sku=f"{tag}-MYSTERY", quantity=2, title="?"
    )
    return {
        "held": held,
        "event": dead,
        "label_shipment": failed,
        "trouble": trouble,
        "late": late,
        "drifted": drifted,
        "account": account,
    }
