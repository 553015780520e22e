"""Demo shipments for `manage.py seed_demo`: the allocated demo orders go out, as they would have.

Oldest first, each at its own moment of the seed's clock:
- an order is released to the warehouse an hour after it was placed (`order_release_to_warehouse`),
  a partly allocated one a day after (it waits for the rest), the newest three wait for the
  warehouse's next wave (allocated); each shipment is promised to ship
  within one day (express) or two (standard);
- it is packed and labelled a few hours to a day and a half later. The carrier is not running
  while the seed runs, so the demo stands in for it: the label (carrier, service, tracking number,
  cost) is recorded as bought, then the shipment leaves through `shipment_ship`, which moves the
  stock out through the ledger and the order to shipped. About one shipment in twelve leaves
  after its promised date (late);
- tracking follows through `tracking_apply`: in transit the next morning, delivered two to four
  days after shipping (the order is delivered with its last shipment); one parcel is stuck with a
  carrier exception (address not found), one came back to the sender;
- delivered orders more than two weeks old are partly completed (`orders.services.order_complete`).
Left in the warehouse on purpose: the most recent orders (pending, picking, packed, labelled),
two labels the carrier refused (the exceptions queue's label failures) and a few shipments past
their promised date.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from fulfillment.carriers import TrackingUpdate
from fulfillment.models import Label, Shipment
from fulfillment.release import order_release_to_warehouse
from fulfillment.shipping import shipment_ship
from fulfillment.states import LabelState, TrackingStatus
from fulfillment.tracking import tracking_apply
from orders.models import Order
from orders.services import order_complete
from orders.states import OrderState

ACTOR = "system:demo-warehouse"
# carrier, service, tracking number prefix, tracking link
CARRIERS = [
    ("USPS", "Priority Mail", "9400", "https://tools.usps.com/go/TrackConfirmAction?tLabels={}"),
    ("UPS", "Ground", "1Z", "https://www.ups.com/track?tracknum={}"),
    ("FedEx", "Home Delivery", "7", "https://www.fedex.com/fedextrack/?trknbr={}"),
]
LABEL_REFUSALS = [
    "The carrier refused the address: street not found (USPS: Address Not Found)",
    "Parcel over the service's weight limit (UPS Ground: 70 lb)",
]


def _tracking_number(prefix: str, shipment: Shipment) -> str:
    return f"{prefix}{shipment.pk:010d}{shipment.order_id % 97:02d}"


def _label_and_ship(tenant: Any, clock: Any, shipment: Shipment, rng: random.Random, at: Any) -> None:
    carrier, service, prefix, link = rng.choice(CARRIERS)
    tracking = _tracking_number(prefix, shipment)
    clock.set(at - timedelta(minutes=rng.randint(20, 90)))
    shipment.refresh_from_db()
    shipment.pack()
    shipment.packed_at = clock.now()
    shipment.label_bought()
    shipment.carrier, shipment.service, shipment.tracking_number = carrier, service, tracking
    shipment.tracking_url = link.format(tracking)
    shipment.save()
    Label.objects.create(
        tenant=tenant,
        shipment=shipment,
        reference=f"demo-{shipment.number}",
        state=LabelState.PURCHASED,
        provider="shippo",
        carrier=carrier,
        service=service,
        amount=Decimal(rng.randint(650, 1890)) / 100,
        currency="USD",
        tracking_number=tracking,
        tracking_url=shipment.tracking_url,
        requested_by=ACTOR,
    )
    clock.set(at)
    shipment_ship(tenant=tenant, shipment_id=shipment.pk, actor=ACTOR)


def _track(tenant: Any, clock: Any, shipment: Shipment, status: str, at: Any, details: str) -> None:
    clock.set(at)
    update = TrackingUpdate(
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        status=status,
        status_details=details,
        status_date=at,
    )
    tracking_apply(tenant=tenant, shipment_id=shipment.pk, update=update, source="demo")


def _refused_label(tenant: Any, clock: Any, shipment: Shipment, message: str) -> None:
    shipment.refresh_from_db()
    shipment.pack()
    shipment.packed_at = clock.now()
    shipment.last_error = message
    shipment.save()
    Label.objects.create(
        tenant=tenant,
        shipment=shipment,
        reference=f"demo-{shipment.number}",
        state=LabelState.FAILED,
        provider="shippo",
        error=message,
        attempts=1,
        requested_by=ACTOR,
    )


def seed(tenant: Any, stdout: Any, clock: Any) -> None:
    rng = random.Random(7)
    now = clock.today
    orders = list(
        Order.objects.for_tenant(tenant)
        .filter(state__in=[OrderState.ALLOCATED, OrderState.PARTIALLY_ALLOCATED])
        .order_by("placed_at", "pk")
    )
    shipped: list[tuple[Shipment, Any]] = []
    waiting: list[Shipment] = []
    next_wave = {o.pk for o in orders if o.state == OrderState.ALLOCATED}
    next_wave = set(sorted(next_wave)[-3:])  # the newest three wait for the warehouse's next wave
    for order in orders:
        if order.pk in next_wave or _not_released_yet(order, now):
            continue
        clock.set(order.placed_at + timedelta(hours=1))
        shipments = order_release_to_warehouse(tenant=tenant, order_id=order.pk, actor="system:auto-release")
        days = 1 if order.service_level == "express" else 2
        promised = (order.placed_at + timedelta(days=days)).date()
        Shipment.objects.for_tenant(tenant).filter(pk__in=[s.pk for s in shipments]).update(
            promised_date=promised
        )
        late = rng.random() < 1 / 12
        for shipment in shipments:
            at = order.placed_at + timedelta(hours=rng.uniform(3, 36))
            if late:
                at = order.placed_at + timedelta(days=days + rng.uniform(1, 3))
            if at > now - timedelta(hours=2) or rng.random() < 0.02:
                waiting.append(shipment)  # still in the warehouse (some past their promised date)
                continue
            _label_and_ship(tenant, clock, shipment, rng, at)
            shipped.append((shipment, at))
    _in_the_warehouse(tenant, clock, waiting)
    _tracking(tenant, clock, shipped, rng, now)
    _complete(tenant, clock, rng, now)
    stdout.write(f"Shipments: {len(shipped)} shipped, {len(waiting)} still in the warehouse.")


def _not_released_yet(order: Order, now: Any) -> bool:
    """Released an hour after placement; a partly allocated order waits a day for the rest."""
    if order.state == OrderState.PARTIALLY_ALLOCATED:
        return order.placed_at > now - timedelta(days=1)
    return order.placed_at > now - timedelta(hours=1)


def _in_the_warehouse(tenant: Any, clock: Any, waiting: list[Shipment]) -> None:
    """The newest: two labels refused, a few packed or being picked, the rest waiting to be picked."""
    newest = sorted(waiting, key=lambda s: s.pk, reverse=True)
    for shipment, message in zip(newest[:2], LABEL_REFUSALS, strict=False):
        _refused_label(tenant, clock, shipment, message)
    for shipment in newest[2:4]:
        shipment.refresh_from_db()
        shipment.pack()
        shipment.packed_at = clock.now()
        shipment.save()
    for shipment in newest[4:6]:
        shipment.refresh_from_db()
        shipment.start_picking()
        shipment.save()


def _tracking(
    tenant: Any, clock: Any, shipped: list[tuple[Shipment, Any]], rng: random.Random, now: Any
) -> None:
    moves = []
    for index, (shipment, at) in enumerate(shipped):
        scanned = at + timedelta(hours=rng.uniform(6, 14))
        if scanned < now:
            moves.append((scanned, shipment, TrackingStatus.TRANSIT, "Departed the origin facility"))
        arrival = at + timedelta(days=rng.uniform(2, 4.5))
        if index == len(shipped) // 2:
            moves.append((arrival, shipment, TrackingStatus.RETURNED, "Refused by the recipient"))
        elif index == len(shipped) - 25:
            moves.append(
                (scanned + timedelta(hours=20), shipment, TrackingStatus.FAILURE, "Address not found")
            )
        elif arrival < now:
            moves.append((arrival, shipment, TrackingStatus.DELIVERED, "Delivered, front door"))
    for at, shipment, status, details in sorted(moves, key=lambda move: (move[0], move[1].pk)):
        shipment.refresh_from_db(fields=["carrier", "tracking_number"])
        _track(tenant, clock, shipment, status, at, details)


def _complete(tenant: Any, clock: Any, rng: random.Random, now: Any) -> None:
    delivered = Order.objects.for_tenant(tenant).filter(
        state=OrderState.DELIVERED, placed_at__lt=now - timedelta(days=16)
    )
    for order in delivered.order_by("placed_at", "pk"):
        if rng.random() < 0.6:
            clock.set(order.placed_at + timedelta(days=15))
            order_complete(tenant=tenant, order_id=order.pk, actor=ACTOR, message="Return window closed")
