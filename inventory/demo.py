"""Demo stock for `manage.py seed_demo`: three US warehouses and about 50 outdoor SKUs.

Everything goes through the services, so the demo ledger reconciles like real data. The opening
stock is received when the demo's history begins (the clock of `manage.py seed_demo`); some SKUs
are out everywhere (their orders are backordered, a purchase order is on its way) and the thirty
days of orders that follow run others low or out.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from inventory.models import StockLevel
from inventory.services import inbound_create, sku_create, stock_receive, warehouse_create

WAREHOUSES = [
    # code, name, line1, city, region, zip, priority
    ("NJ1", "Avenel NJ (East)", "1 Distribution Way", "Avenel", "NJ", "07001", 10),
    ("TX1", "Dallas TX (Central)", "2200 Commerce St", "Dallas", "TX", "75201", 20),
    ("CA1", "Los Angeles CA (West)", "900 E 61st St", "Los Angeles", "CA", "90001", 30),
]

# code, name, price, weight in grams
SKUS = [
    ("TENT-1P", "Ultralight One-Person Tent", "289.00", 1100),
    ("TENT-2P", "Backpacking Tent, 2 Person", "349.00", 1600),
    ("TENT-4P", "Family Dome Tent, 4 Person", "429.00", 5200),
    ("BAG-20F", "Down Sleeping Bag 20°F", "319.00", 900),
    ("BAG-40F", "Synthetic Sleeping Bag 40°F", "129.00", 1200),
    ("PAD-INF", "Insulated Inflatable Sleeping Pad", "159.00", 480),
    ("PAD-FOAM", "Closed-Cell Foam Pad", "49.00", 400),
    ("PACK-30", "Daypack 30 L", "119.00", 850),
    ("PACK-55", "Trekking Pack 55 L", "239.00", 1700),
    ("PACK-70", "Expedition Pack 70 L", "329.00", 2200),
    ("STOVE-CAN", "Canister Stove", "59.00", 85),
    ("STOVE-LIQ", "Liquid Fuel Stove", "149.00", 390),
    ("FUEL-230", "Isobutane Fuel 230 g", "7.95", 370),
    ("POT-TI", "Titanium Pot 900 ml", "64.00", 120),
    ("MUG-INS", "Insulated Camp Mug", "24.00", 200),
    ("FILTER-SQ", "Squeeze Water Filter", "39.00", 85),
    ("FILTER-PMP", "Pump Water Filter", "99.00", 450),
    ("BOTTLE-1L", "Wide-Mouth Bottle 1 L", "18.00", 180),
    ("BLADDER-3L", "Hydration Reservoir 3 L", "36.00", 220),
    ("LAMP-400", "Headlamp 400 lm", "49.00", 75),
    ("LANTERN", "Rechargeable Camp Lantern", "59.00", 300),
    ("POLE-CF", "Carbon Trekking Poles (pair)", "169.00", 460),
    ("POLE-AL", "Aluminium Trekking Poles (pair)", "89.00", 540),
    ("BOOT-M-9", "Hiking Boot, Men's 9", "199.00", 1300),
    ("BOOT-M-10", "Hiking Boot, Men's 10", "199.00", 1350),
    ("BOOT-W-7", "Hiking Boot, Women's 7", "199.00", 1100),
    ("BOOT-W-8", "Hiking Boot, Women's 8", "199.00", 1150),
    ("TRAIL-M-10", "Trail Runner, Men's 10", "139.00", 600),
    ("TRAIL-W-8", "Trail Runner, Women's 8", "139.00", 520),
    ("SOCK-MER-M", "Merino Hiking Socks, M", "24.00", 80),
    ("SOCK-MER-L", "Merino Hiking Socks, L", "24.00", 90),
    ("BASE-TOP-M", "Merino Base Layer Top, M", "89.00", 200),
    ("BASE-TOP-L", "Merino Base Layer Top, L", "89.00", 220),
    ("FLEECE-M", "Grid Fleece Jacket, M", "119.00", 380),
    ("FLEECE-L", "Grid Fleece Jacket, L", "119.00", 400),
    ("DOWN-M", "Down Jacket 800 fill, M", "279.00", 350),
    ("DOWN-L", "Down Jacket 800 fill, L", "279.00", 370),
    ("RAIN-M", "3-Layer Rain Shell, M", "249.00", 390),
    ("RAIN-L", "3-Layer Rain Shell, L", "249.00", 410),
    ("PANT-HIKE-32", "Convertible Hiking Pants 32", "79.00", 350),
    ("PANT-HIKE-34", "Convertible Hiking Pants 34", "79.00", 360),
    ("GLOVE-L", "Softshell Gloves, L", "39.00", 90),
    ("HAT-SUN", "Wide-Brim Sun Hat", "34.00", 110),
    ("BEANIE", "Merino Beanie", "29.00", 60),
    ("GAITER", "Trail Gaiters", "35.00", 150),
    ("FIRSTAID", "Trail First-Aid Kit", "45.00", 300),
    ("COMPASS", "Baseplate Compass", "32.00", 40),
    ("KNIFE-FOLD", "Folding Knife", "54.00", 95),
    ("BEAR-CAN", "Bear-Resistant Canister", "89.00", 1100),
    ("HAMMOCK", "Camping Hammock with Straps", "79.00", 600),
]


def _quantity(index: int, warehouse_index: int) -> int:
    """Deterministic, uneven stock: some SKUs out in some warehouses, a few out everywhere."""
    if index % 17 == 5:
        return 0  # out everywhere: orders for these are backordered
    if (index + warehouse_index) % 4 == 0:
        return 0
    return (index * 7 + warehouse_index * 11) % 40 + 3


def seed(tenant: Any, stdout: Any, clock: Any = None) -> None:
    actor = "system:demo"
    warehouses = [
        warehouse_create(
            tenant=tenant,
            actor=actor,
            code=code,
            name=name,
            line1=line1,
            city=city,
            region=region,
            postal_code=zip_code,
            country="US",
            priority=priority,
            ships_to=["US"],
        )
        for code, name, line1, city, region, zip_code, priority in WAREHOUSES
    ]
    skus = [
        sku_create(
            tenant=tenant,
            actor=actor,
            code=code,
            name=name,
            price=Decimal(price),
            weight_grams=grams,
            barcode=f"0{840000000000 + index:012d}"[:13],
        )
        for index, (code, name, price, grams) in enumerate(SKUS)
    ]
    for index, sku in enumerate(skus):
        for wh_index, warehouse in enumerate(warehouses):
            quantity = _quantity(index, wh_index)
            if quantity:
                stock_receive(
                    tenant=tenant,
                    sku_id=sku.pk,
                    warehouse_id=warehouse.pk,
                    quantity=quantity,
                    reference="opening stock",
                    actor=actor,
                )
            else:
                StockLevel.objects.for_tenant(tenant).get_or_create(
                    tenant=tenant, sku=sku, warehouse=warehouse
                )
    StockLevel.objects.for_tenant(tenant).update(reorder_point=5, safety_stock=2)
    out_everywhere = [sku for index, sku in enumerate(skus) if index % 17 == 5]
    if out_everywhere:
        inbound_create(
            tenant=tenant,
            warehouse_id=warehouses[1].pk,
            lines=[(sku.pk, 24) for sku in out_everywhere],
            expected_at=timezone.localdate() + timedelta(days=10),
            reference="PO-DEMO-1",
            supplier="Summit Supply Co.",
            actor=actor,
        )
    stdout.write(f"Inventory: {len(warehouses)} warehouses, {len(skus)} SKUs with stock, 1 purchase order.")
