"""What the deploy tests do inside the layout's database, run as the layout's own processes are:

    python deploy/layout.py run --var V -- python -m tests.deploy.actions seed '{"shippo_url": ...}'

`seed` makes a merchant (tenant, owner, API key; through the service `bootstrap_tenant` calls)
with two stocked warehouses, the fake Shippo as carrier and the fake Shopify as a channel; `pack`
packs every open shipment (what staff do at the packing bench); `report` counts what happened.
Each prints one JSON object.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

import django

django.setup()

from django.db.models import Sum  # noqa: E402

from fulfillment.models import Label, Shipment  # noqa: E402
from fulfillment.services import shipment_pack  # noqa: E402
from integrations.models import ChannelAccount, InboundEvent  # noqa: E402
from inventory.models import StockLevel, StockMovement  # noqa: E402
from inventory.services import stock_receive  # noqa: E402
from oms.models import Tenant  # noqa: E402
from oms.services import tenant_bootstrap  # noqa: E402
from orders.models import Allocation, Order, OrderLine, Payment, PaymentOperation  # noqa: E402
from tests.inventory.factories import SKUFactory, WarehouseFactory  # noqa: E402

SHOP_TOKEN, SHOP_SECRET, SHIPPO_SECRET = "shpat_deploy", "shpss_deploy", "shippo_whsec_deploy"
PACKED_PARCEL = {"weight_grams": 1900, "length_mm": 330, "width_mm": 220, "height_mm": 130}


def seed(args: dict[str, Any]) -> dict[str, Any]:
    tenant, _, api_key = tenant_bootstrap(
        slug=args.get("slug", "layout"), name="Layout", owner_email="ops@example.com"
    )
    ChannelAccount.objects.create(  # the tenant's payment gateway: Stripe (localstripe)
        tenant=tenant, kind="stripe", name="main", base_url=args["stripe_url"], credentials="sk_test_layout",
        webhook_secret="whsec_layout",
    )  # fmt: skip
    near = WarehouseFactory(
        tenant=tenant, code="TX", line1="9 Cesar Chavez St", postal_code="78701", region="TX", city="Austin"
    )
    far = WarehouseFactory(
        tenant=tenant, code="NJ", line1="1 Industrial Hwy", postal_code="07001", region="NJ", city="Avenel"
    )
    for code, (tx, nj) in args["stock"].items():
        sku = SKUFactory(tenant=tenant, code=code, name=code, weight_grams=900)
        for warehouse, quantity in ((near, tx), (far, nj)):
            if quantity:
                stock_receive(
                    tenant=tenant,
                    sku_id=sku.pk,
                    warehouse_id=warehouse.pk,
                    quantity=quantity,
                    reference="setup",
                )
    carrier = ChannelAccount.objects.create(
        tenant=tenant, kind="shippo", name="Shippo", base_url=args["shippo_url"],
        credentials="shippo_test_deploy", webhook_secret=SHIPPO_SECRET,
    )  # fmt: skip
    shop = ChannelAccount.objects.create(
        tenant=tenant, kind="shopify", name="shop", base_url=args["shop_url"],
        credentials=SHOP_TOKEN, webhook_secret=SHOP_SECRET,
    )  # fmt: skip
    return {
        "tenant_id": tenant.pk,
        "api_key": api_key,
        "shop_webhook_path": shop.webhook_path,
        "shippo_webhook_path": carrier.webhook_path,
    }


def pack(args: dict[str, Any]) -> dict[str, Any]:
    tenant = Tenant.objects.get(pk=args["tenant_id"])
    packed = []
    for shipment in (
        Shipment.objects.for_tenant(tenant).filter(state__in=["pending", "picking"]).order_by("pk")
    ):
        quantities = {line.pk: line.quantity for line in shipment.lines.all()}
        shipment_pack(
            tenant=tenant, shipment_id=shipment.pk, packed_quantities=quantities, parcels=[PACKED_PARCEL]
        )
        packed.append(shipment.pk)
    return {"packed": packed}


def report(args: dict[str, Any]) -> dict[str, Any]:
    tenant = Tenant.objects.get(pk=args["tenant_id"])
    orders = Order.objects.for_tenant(tenant)
    lines = OrderLine.objects.for_tenant(tenant)
    allocated = dict(
        Allocation.objects.for_tenant(tenant)
        .values_list("order_line_id")
        .annotate(n=Sum("quantity"))
        .order_by()
    )
    over_allocated = [line.pk for line in lines if allocated.get(line.pk, 0) > line.quantity]
    shipments = Shipment.objects.for_tenant(tenant)
    captures = Counter(
        PaymentOperation.objects.for_tenant(tenant)
        .filter(kind="capture", state="succeeded")
        .values_list("payment__order_id", flat=True)
    )
    levels = StockLevel.objects.for_tenant(tenant).select_related("sku", "warehouse")
    ledger = dict(
        StockMovement.objects.for_tenant(tenant)
        .values_list("stock_level_id")
        .annotate(n=Sum("delta"))
        .order_by()
    )
    return {
        "orders": {
            o.pk: {"state": o.state, "channel": o.channel, "external_id": o.external_id} for o in orders
        },
        "external_ids": Counter(f"{o.channel}:{o.external_id}" for o in orders).most_common(3),
        "order_lines": lines.count(),
        "ordered_units": lines.aggregate(n=Sum("quantity"))["n"] or 0,
        "allocated_units": sum(allocated.values()),
        "over_allocated_lines": over_allocated,
        "shipments": {
            s.pk: {"state": s.state, "order": s.order_id, "tracking": s.tracking_number} for s in shipments
        },
        "labels": Counter(
            Label.objects.for_tenant(tenant).filter(is_return=False).values_list("shipment_id", flat=True)
        ),
        "captures": captures,
        "payments": {p.order_id: p.state for p in Payment.objects.for_tenant(tenant)},
        "inbound_events": InboundEvent.objects.for_tenant(tenant).count(),
        "stock": {
            f"{lv.sku.code}@{lv.warehouse.code}": {
                "on_hand": lv.on_hand,
                "allocated": lv.allocated,
                "ledger": ledger.get(lv.pk, 0),
            }
            for lv in levels
        },
    }


if __name__ == "__main__":
    command, payload = sys.argv[1], json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
    result = {"seed": seed, "pack": pack, "report": report}[command](payload)
    sys.stdout.write(json.dumps(result, default=str) + "\n")
