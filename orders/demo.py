"""Demo orders for `manage.py seed_demo`: thirty days of orders from every channel.

About three hundred orders, placed through `order_create` at their own moment of the last thirty
days (the seed's clock), from the storefront (`web`), the API (`api`) and the four marketplaces,
more of them on recent days. Popular SKUs sell most, so some run low or out and later orders are
backordered or partly allocated; a few SKUs have no stock at all. Then, as staff would have:
- holds on recent orders: payment, fraud review, address (`order_hold`);
- cancellations of a few unshipped orders (`order_cancel`), with the customer's reasons;
- two orders whose payment hold was lifted a moment ago and whose allocation is still queued
  (`pending`).
The fulfillment and returns demos take the allocated orders on from here (shipments, deliveries,
returns); `orders.services.order_complete` closes delivered orders whose return window is over.
Deterministic: the same data on every machine (a seeded random generator).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from inventory.models import SKU
from oms.core.audit import audit_record
from orders import locks
from orders.models import Hold, Order
from orders.services import LineInput, OrderInput, order_cancel, order_create, order_event_record, order_hold
from orders.states import HoldKind, OrderEventType, OrderState

ACTOR = "system:demo"
ORDER_COUNT = 300
HISTORY_DAYS = 30
# channel, weight: the storefront and the API (the shop's own checkout), and each marketplace.
CHANNELS = [("web", 30), ("api", 8), ("shopify", 24), ("woocommerce", 12), ("amazon", 18), ("ebay", 8)]
FIRST_NAMES = ["Ana", "Ben", "Cara", "Dev", "Elena", "Femi", "Grace", "Hiro", "Isla", "Jon", "Kira", "Luis"]
LAST_NAMES = ["Lima", "Ortiz", "Wu", "Patel", "Novak", "Adeyemi", "Kim", "Tanaka", "Berg", "Reyes", "Shah"]
# line1, city, region, postal code
ADDRESSES = [
    ("1 Congress Ave", "Austin", "TX", "78701"),
    ("350 5th Ave", "New York", "NY", "10118"),
    ("1 Market St", "San Francisco", "CA", "94105"),
    ("233 S Wacker Dr", "Chicago", "IL", "60606"),
    ("400 Broad St", "Seattle", "WA", "98109"),
    ("1000 Vin Scully Ave", "Los Angeles", "CA", "90012"),
    ("4 Yawkey Way", "Boston", "MA", "02215"),
    ("1 Olympic Plaza", "Denver", "CO", "80202"),
    ("600 Peachtree St NE", "Atlanta", "GA", "30308"),
    ("1 Independence Mall", "Philadelphia", "PA", "19106"),
    ("100 N Biscayne Blvd", "Miami", "FL", "33132"),
    ("2 N Central Ave", "Phoenix", "AZ", "85004"),
    ("700 SW 5th Ave", "Portland", "OR", "97204"),
    ("1 Nicollet Mall", "Minneapolis", "MN", "55403"),
    ("150 Music Square E", "Nashville", "TN", "37203"),
    ("200 E Main St", "Salt Lake City", "UT", "84111"),
]
HOLDS = [
    (HoldKind.PAYMENT, "Card declined at capture: waiting for the customer to update it"),
    (HoldKind.PAYMENT, "Bank transfer not received yet"),
    (HoldKind.FRAUD, "Billing and shipping addresses 2,000 km apart; first order, express shipping"),
    (HoldKind.FRAUD, "Three cards tried in ten minutes"),
    (HoldKind.ADDRESS, "The carrier could not validate the street number"),
    (HoldKind.ADDRESS, "Apartment number missing"),
]
CANCEL_REASONS = [
    "Customer changed their mind",
    "Ordered the wrong size",
    "Duplicate order",
    "Found it cheaper elsewhere",
    "Delivery would arrive too late",
]


def _customers(rng: random.Random) -> list[tuple[str, str, dict[str, str]]]:
    people = []
    for first in FIRST_NAMES:
        last = rng.choice(LAST_NAMES)
        line1, city, region, postal_code = rng.choice(ADDRESSES)
        address = {
            "line1": line1,
            "city": city,
            "region": region,
            "postal_code": postal_code,
            "country": "US",
        }
        people.append((f"{first.lower()}.{last.lower()}@example.com", f"{first} {last}", address))
    return people


def placement_times(now: Any, rng: random.Random, count: int = ORDER_COUNT) -> list[Any]:
    """`count` moments over the last HISTORY_DAYS, oldest first, busier towards today."""
    moments = []
    for _ in range(count):
        age_days = HISTORY_DAYS * (1 - rng.random() ** 0.8)  # more orders on recent days
        moments.append(now - timedelta(days=age_days, minutes=rng.randint(5, 60)))
    return sorted(moments)


def _lines(rng: random.Random, skus: list[SKU], weights: list[float]) -> list[LineInput]:
    picked: dict[str, SKU] = {}
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        sku = rng.choices(skus, weights)[0]
        picked[sku.code] = sku
    return [
        LineInput(sku=sku.code, quantity=rng.choice((1, 1, 1, 2)), unit_price=sku.price or Decimal("10"))
        for sku in picked.values()
    ]


def seed(tenant: Any, stdout: Any, clock: Any) -> None:
    skus = list(SKU.objects.for_tenant(tenant).filter(active=True).order_by("code"))
    if not skus:
        return
    rng = random.Random(20261126)
    weights = [1 / (1 + (index * 7) % len(skus)) ** 0.7 for index in range(len(skus))]
    customers = _customers(rng)
    channels, channel_weights = zip(*CHANNELS, strict=True)
    counters = dict.fromkeys(channels, 1000)
    orders = []
    times = placement_times(clock.today, rng)
    for index, placed_at in enumerate(times):
        clock.set(placed_at)
        channel = rng.choices(channels, channel_weights)[0]
        counters[channel] += 1
        email, name, address = rng.choice(customers)
        data = OrderInput(
            channel=channel,
            external_id=f"{channel.upper()[:4]}-{counters[channel]}",
            currency="USD",
            customer={"email": email, "name": name},
            ship_to={**address, "name": name},
            service_level=rng.choice(("standard", "standard", "standard", "express")),
            lines=_lines(rng, skus, weights),
            shipping_price=Decimal(rng.choice(("0.00", "5.00", "7.50", "12.00"))),
            placed_at=placed_at,
            # The last two wait for their payment: placed on hold, released just before now.
            holds=[(HoldKind.PAYMENT, "Awaiting payment")] if index >= len(times) - 2 else [],
        )
        order, _ = order_create(tenant=tenant, data=data, actor=ACTOR)
        orders.append(order)
    _holds_and_cancellations(tenant, clock, orders, rng)
    _pending(tenant, clock, orders[-2:])
    stdout.write(f"Orders: {len(orders)} over {HISTORY_DAYS} days from {len(CHANNELS)} channels.")


def _holds_and_cancellations(tenant: Any, clock: Any, orders: list[Order], rng: random.Random) -> None:
    recent = [o for o in orders[-60:-2] if o.state in (OrderState.ALLOCATED, OrderState.PARTIALLY_ALLOCATED)]
    for order, (kind, reason) in zip(rng.sample(recent, len(HOLDS)), HOLDS, strict=True):
        clock.set(order.placed_at + timedelta(minutes=rng.randint(2, 30)))
        order_hold(tenant=tenant, order_id=order.pk, kind=kind, reason=reason, actor="system:demo-review")
    for order in orders[:-2]:
        order.refresh_from_db(fields=["state"])
        if order.state != OrderState.ON_HOLD and rng.random() < 0.05:
            clock.set(order.placed_at + timedelta(hours=rng.uniform(0.2, 6)))
            order_cancel(
                tenant=tenant,
                order_id=order.pk,
                reason=rng.choice(CANCEL_REASONS),
                actor="user:demo@example.com",
            )


@transaction.atomic
def _pending(tenant: Any, clock: Any, orders: Iterable[Order]) -> None:
    """Payment confirmed a moment ago: the hold is lifted and the allocation is queued (pending)."""
    for order in orders:
        locked = locks.order_for_update(tenant=tenant, order_id=order.pk)
        if locked.state != OrderState.ON_HOLD:
            continue
        clock.set(clock.today - timedelta(minutes=1))
        Hold.objects.for_tenant(tenant).filter(order=locked, released_at__isnull=True).update(
            released_at=clock.now(), released_by=ACTOR
        )
        order_event_record(
            order=locked,
            actor=ACTOR,
            type=OrderEventType.HOLD_RELEASED,
            message="Payment authorized",
            data={"kind": HoldKind.PAYMENT},
        )
        _move(tenant, locked, locked.release, "Payment authorized: allocation queued")


def _move(tenant: Any, order: Order, transition: Any, message: str) -> None:
    before = order.state
    transition()
    order.save(update_fields=["state", "updated_at"])
    order_event_record(
        order=order,
        actor=ACTOR,
        type=OrderEventType.TRANSITION,
        from_state=before,
        to_state=order.state,
        message=message,
    )
    audit_record(
        tenant=tenant,
        actor=ACTOR,
        action=f"order.{order.state}",
        obj=order,
        before={"state": before},
        after={"state": order.state},
    )
