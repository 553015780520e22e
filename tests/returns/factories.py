"""Orders that shipped, through the real services, ready to be returned.

One warehouse (DAL, Dallas) holds RET-1 (a jacket, 30.00), RET-2 (socks, 10.00) and RET-FINAL
(a final-sale item, not returnable). `shipped_order` places an order, releases it to the
warehouse, authorizes and captures its payment (sandbox unless told), and ships it with a
tracking number. `delivered_days_ago` moves the parcel's delivery date back.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import count
from typing import Any

from django.utils import timezone

from fulfillment.models import Shipment
from fulfillment.services import order_release_to_warehouse, shipment_ship
from inventory.models import SKU, Warehouse
from orders.models import Order, OrderLine
from orders.payments.services import payment_authorize, payment_capture
from orders.services import order_create
from returns.services import ReceiptInput, ReturnLineInput, return_authorize, return_open, return_receive
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.orders.conftest import order_input

_numbers = count(1)
CATALOG = (("RET-1", "Rain jacket", "30.00", True), ("RET-2", "Wool socks", "10.00", True))
FINAL = ("RET-FINAL", "Final-sale gloves", "15.00", False)


def dallas(tenant: Any) -> Warehouse:
    """The tenant's Dallas warehouse, stocked with the catalog (made once)."""
    found = Warehouse.objects.for_tenant(tenant).filter(code="DAL").first()
    if found is not None:
        return found
    warehouse = WarehouseFactory(
        tenant=tenant,
        code="DAL",
        name="Dallas",
        line1="100 Commerce St",
        city="Dallas",
        region="TX",
        postal_code="75201",
    )
    for code, name, price, returnable in (*CATALOG, FINAL):
        sku = SKUFactory(
            tenant=tenant,
            code=code,
            name=name,
            price=Decimal(price),
            returnable=returnable,
            barcode=f"0{abs(hash(code)) % 10**11:011d}",
            weight_grams=600,
            length_mm=300,
            width_mm=200,
            height_mm=80,
        )
        stock(tenant, sku, warehouse, 20)
    return warehouse


def shipped_order(
    tenant: Any,
    lines: tuple[tuple[str, int], ...] = (("RET-1", 2), ("RET-2", 1)),
    *,
    provider: str | None = "sandbox",
    delivered_days_ago: int | None = None,
    email: str = "ana@example.com",
) -> Order:
    """An order of `lines` (SKU code, quantity) at catalog prices plus 5.00 shipping, shipped from
    DAL; paid and captured through `provider` (None: unpaid, like a marketplace order)."""
    dallas(tenant)
    n = next(_numbers)
    prices = {sku.code: sku.price for sku in SKU.objects.for_tenant(tenant)}
    order, _ = order_create(
        tenant=tenant,
        data=order_input(
            f"R-{n}",
            lines=[{"sku": code, "quantity": qty, "unit_price": str(prices[code])} for code, qty in lines],
            customer={"email": email, "name": "Ana Lima"},
        ),
    )
    if provider:
        payment = payment_authorize(
            tenant=tenant, order=order, provider=provider, payment_method="pm_card_visa"
        )
        payment_capture(tenant=tenant, payment_id=payment.pk)
    if not Shipment.objects.for_tenant(tenant).filter(order=order).exists():
        order_release_to_warehouse(tenant=tenant, order_id=order.pk, actor="test")
    for i, shipment in enumerate(Shipment.objects.for_tenant(tenant).filter(order=order).order_by("pk")):
        shipment_ship(
            tenant=tenant,
            shipment_id=shipment.pk,
            carrier="USPS",
            tracking_number=f"9400{n:06d}{i:02d}",
            actor="test",
        )
    if delivered_days_ago is not None:
        deliver(order, days_ago=delivered_days_ago)
    order.refresh_from_db()
    return order


def deliver(order: Order, *, days_ago: int) -> None:
    """The carrier delivered the order's parcels `days_ago` days ago."""
    when = timezone.now() - timedelta(days=days_ago)
    Shipment.objects.for_tenant(order.tenant_id).filter(order=order).update(
        state="delivered", delivered_at=when, shipped_at=when - timedelta(days=2)
    )


def line_of(order: Order, code: str) -> OrderLine:
    return OrderLine.objects.for_tenant(order.tenant_id).get(order=order, sku__code=code)


def open_return(order: Order, *items: tuple[str, int, str], **kwargs: Any) -> Any:
    """A return of (SKU code, quantity, reason) lines of `order`, opened through the service."""
    items = items or (("RET-1", 2, "wrong_size"),)
    ret, _ = return_open(
        tenant=order.tenant,
        order_id=order.pk,
        lines=[ReturnLineInput(line=line_of(order, code).pk, quantity=q, reason=r) for code, q, r in items],
        **kwargs,
    )
    return ret


def authorized_return(order: Order, *items: tuple[str, int, str], **kwargs: Any) -> Any:
    ret = open_return(order, *items, **kwargs)
    return return_authorize(tenant=order.tenant, return_id=ret.pk, actor="test")


def receive_all(ret: Any, *, disposition: str = "restock", condition: str = "new") -> Any:
    """Everything expected arrived at DAL, in one condition, given one disposition."""
    warehouse = dallas(ret.tenant)
    return return_receive(
        tenant=ret.tenant,
        return_id=ret.pk,
        receipts=[
            ReceiptInput(
                line=line.pk,
                quantity=line.quantity_expected,
                condition=condition,
                disposition=disposition,
                warehouse=warehouse.pk,
            )
            for line in ret.lines.all()
        ],
        actor="test",
    )
