"""Demo orders for `manage.py seed_demo`: a handful across channels and states."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from inventory.models import SKU
from orders.services import LineInput, OrderInput, order_cancel, order_create, order_hold

CUSTOMERS = [
    (
        "ana@example.com",
        "Ana Lima",
        {
            "line1": "1 Congress Ave",
            "city": "Austin",
            "region": "TX",
            "postal_code": "78701",
            "country": "US",
        },
    ),
    (
        "ben@example.com",
        "Ben Ortiz",
        {"line1": "350 5th Ave", "city": "New York", "region": "NY", "postal_code": "10118", "country": "US"},
    ),
    (
        "cara@example.com",
        "Cara Wu",
        {
            "line1": "1 Market St",
            "city": "San Francisco",
            "region": "CA",
            "postal_code": "94105",
            "country": "US",
        },
    ),
    (
        "dev@example.com",
        "Dev Patel",
        {
            "line1": "233 S Wacker Dr",
            "city": "Chicago",
            "region": "IL",
            "postal_code": "60606",
            "country": "US",
        },
    ),
]
CHANNELS = ["web", "shopify", "amazon", "ebay", "woocommerce"]


def seed(tenant: Any, stdout: Any) -> None:
    skus = list(SKU.objects.for_tenant(tenant).filter(active=True).order_by("code")[:12])
    if not skus:
        return
    now = timezone.now()
    orders = []
    for n in range(8):
        email, name, address = CUSTOMERS[n % len(CUSTOMERS)]
        picked = [skus[(n * 3 + k) % len(skus)] for k in range(1 + n % 3)]
        lines = [
            LineInput(sku=s.code, quantity=1 + (n + i) % 2, unit_price=s.price or 10)
            for i, s in enumerate(picked)
        ]
        data = OrderInput(
            channel=CHANNELS[n % len(CHANNELS)],
            external_id=f"DEMO-{1001 + n}",
            currency="USD",
            customer={"email": email, "name": name},
            ship_to={**address, "name": name},
            lines=lines,
            shipping_price=5,
            placed_at=now - timedelta(hours=8 - n),
        )
        order, _ = order_create(tenant=tenant, data=data, actor="system:demo")
        orders.append(order)
    order_hold(
        tenant=tenant,
        order_id=orders[5].pk,
        kind="fraud",
        reason="Address mismatch: review",
        actor="system:demo",
    )
    order_cancel(
        tenant=tenant, order_id=orders[7].pk, reason="Customer changed their mind", actor="system:demo"
    )
    stdout.write(f"  {len(orders)} demo orders placed")
