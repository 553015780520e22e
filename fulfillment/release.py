"""Release to the warehouse: an order's allocations become shipments, one per warehouse.

An allocation is "covered" when an open shipment of its warehouse holds its units. Releasing
makes a shipment for each warehouse with uncovered allocated units, so it can run again
whenever the order gets new allocations (stock arrived, a short pick re-routed a line) and
makes only what is missing: running it twice changes nothing the second time.

Triggers: staff (`order_release_to_warehouse`), or automatically when orders announces new
allocations (`orders.signals.order_allocated`) and the tenant's auto_release is on: the
receiver writes an outbox task in the allocation's transaction (`order_release_to_warehouse_task`).

The receiver runs for every order placed, so the tenant's auto_release flag is kept in Django's
cache (Redis in production, shared by every process) for AUTO_RELEASE_CACHE_SECONDS and dropped
when the settings row is saved or deleted, at once and again on commit. A process with a local
cache (the embedded mode) sees another process's change within those seconds. A stale "on" only
costs a task: the task reads the settings again and leaves the order alone.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Sum
from django.db.models.signals import post_delete, post_save

from fulfillment import locks
from fulfillment.errors import FulfillmentConflict, FulfillmentErrorCode
from fulfillment.models import FulfillmentSettings, Shipment, ShipmentLine
from fulfillment.selectors import fulfillment_settings_get
from fulfillment.states import OPEN
from oms.core.audit import audit_record
from oms.core.tasks import enqueue_on_commit
from orders import locks as order_locks
from orders.models import Allocation, Order, OrderLine
from orders.services import order_event_record, order_fulfillment_start
from orders.states import RELEASABLE, OrderEventType

AUTO_RELEASE_CACHE_SECONDS = 10


def _uncovered(order: Order, lines: list[OrderLine]) -> dict[int, dict[int, int]]:
    """warehouse id -> {order line id: allocated units no open shipment of that warehouse holds}."""
    allocated: dict[tuple[int, int], int] = defaultdict(int)
    for line_id, warehouse_id, quantity in (
        Allocation.objects.for_tenant(order.tenant_id)
        .filter(order_line__in=lines)
        .values_list("order_line_id", "warehouse_id", "quantity")
    ):
        allocated[(line_id, warehouse_id)] += quantity
    covered = (
        ShipmentLine.objects.for_tenant(order.tenant_id)
        .filter(shipment__order=order, shipment__state__in=OPEN)
        .values("order_line_id", "shipment__warehouse_id")
        .annotate(units=Sum("quantity"))
    )
    for row in covered:
        allocated[(row["order_line_id"], row["shipment__warehouse_id"])] -= row["units"]
    out: dict[int, dict[int, int]] = defaultdict(dict)
    for (line_id, warehouse_id), units in allocated.items():
        if units > 0:
            out[warehouse_id][line_id] = units
    return out


def release_locked(order: Order, lines: list[OrderLine], *, tenant: Any, actor: Any) -> list[Shipment]:
    """Make the missing shipments of a locked order (its lines locked too). Returns the new ones."""
    tenant_id = order.tenant_id
    by_warehouse = _uncovered(order, lines)
    if not by_warehouse:
        return []
    sku_of = {line.pk: line.sku_id for line in lines}
    count = Shipment.objects.for_tenant(tenant_id).filter(order=order).count()
    created: list[Shipment] = []
    for warehouse_id in sorted(by_warehouse):
        count += 1
        shipment = Shipment.objects.create(
            tenant_id=tenant_id,
            order=order,
            warehouse_id=warehouse_id,
            number=f"{order.number}-{count}",
            service_level=order.service_level or "",
            promised_date=order.promise_date,
        )
        ShipmentLine.objects.bulk_create(
            ShipmentLine(
                tenant_id=tenant_id,
                shipment=shipment,
                order_line_id=line_id,
                sku_id=sku_of[line_id],
                quantity=units,
            )
            for line_id, units in sorted(by_warehouse[warehouse_id].items())
        )
        units = sum(by_warehouse[warehouse_id].values())
        order_event_record(
            order=order,
            actor=actor,
            type=OrderEventType.NOTE,
            message=f"Shipment {shipment.number} released to the warehouse ({units} unit(s))",
            data={"shipment": shipment.pk, "warehouse": warehouse_id, "units": units},
        )
        audit_record(
            tenant=tenant,
            actor=actor,
            action="shipment.created",
            obj=shipment,
            after={"order": order.number, "warehouse": warehouse_id, "units": units},
        )
        created.append(shipment)
    return created


@transaction.atomic
def order_release_to_warehouse(
    *, tenant: Any, order_id: int, actor: Any = None, quiet: bool = False
) -> list[Shipment]:
    """Release an order to its warehouses: a Shipment per warehouse for allocated units no open
    shipment holds yet; the order moves allocated / partially allocated -> in fulfillment (an order
    in fulfillment or partly shipped keeps its state). Returns the shipments made (none when
    everything is already released).

    Raises Order.DoesNotExist for another tenant's order, and `not_releasable` (409) for an order
    that cannot ship yet (pending, on hold, backordered, cancelled, shipped); with quiet=True (the
    automatic release) such an order is left alone and nothing is returned.
    """
    order = order_locks.order_for_update(tenant=tenant, order_id=order_id)
    if order.state not in RELEASABLE:
        if quiet:
            return []
        raise FulfillmentConflict(
            FulfillmentErrorCode.NOT_RELEASABLE,
            f"Order #{order.number} is {order.state}; it has nothing a warehouse can ship yet.",
            state=order.state,
        )
    lines = order_locks.order_lines_for_update(order=order)
    locks.open_shipments_for_update(order=order)
    created = release_locked(order, lines, tenant=tenant, actor=actor)
    if created:
        order_fulfillment_start(tenant=tenant, order_id=order.pk, actor=actor)
    return created


def order_release_auto(*, tenant: Any, order_id: int, actor: Any = "system:auto-release") -> list[Shipment]:
    """The automatic release (the outbox task): only while the tenant's auto_release is on, and only
    for orders that can ship; anything else is left for staff."""
    if not fulfillment_settings_get(tenant=tenant).auto_release:
        return []
    return order_release_to_warehouse(tenant=tenant, order_id=order_id, actor=actor, quiet=True)


def _auto_release_key(tenant_id: int) -> str:
    return f"fulfillment:auto_release:{tenant_id}"


def tenant_auto_release(tenant_id: int) -> bool:
    """Whether the tenant releases allocated orders at once (cached; see the module's docstring)."""
    key = _auto_release_key(tenant_id)
    cached = cache.get(key)
    if cached is None:
        cached = fulfillment_settings_get(tenant=tenant_id).auto_release
        cache.set(key, cached, AUTO_RELEASE_CACHE_SECONDS)
    return bool(cached)


def _forget_auto_release(sender: Any, instance: FulfillmentSettings, **_: Any) -> None:
    key = _auto_release_key(instance.tenant_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


post_save.connect(
    _forget_auto_release, sender=FulfillmentSettings, dispatch_uid="fulfillment.auto_release.save"
)
post_delete.connect(
    _forget_auto_release, sender=FulfillmentSettings, dispatch_uid="fulfillment.auto_release.delete"
)


def on_order_allocated(sender: Any, *, tenant_id: int, order_id: int, **_: Any) -> None:
    """orders.signals.order_allocated: runs in the allocation's transaction; the release is an outbox
    row committed with it (orders never imports fulfillment)."""
    if tenant_auto_release(tenant_id):
        enqueue_on_commit(
            "fulfillment.tasks.order_release_to_warehouse_task", tenant_id=tenant_id, order_id=order_id
        )
