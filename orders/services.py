"""Order writes: create, allocate, hold/release, cancel, edit. Each owns its transaction.

Lock order: the order row, then its lines, then every stock row the change needs in one
statement (inside inventory's allocation_apply / allocation_release / stock_ship; see
inventory/locks.py). A re-allocation or an edit gives its allocations back inside the same
allocation_apply that takes new ones, so old and new stock rows are locked at once.
Vendor calls (payments) are enqueued on commit; a worker may run them twice safely.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.utils import timezone
from django_fsm import can_proceed

from inventory.allocation import (
    AllocationPolicy,
    DemandLine,
    ShipTo,
    allocation_apply,
    allocation_release,
    allocation_reserved_rows,
)
from inventory.locks import stock_lock
from inventory.models import SKU, MovementReason, StockLevel, Warehouse
from inventory.selectors import promise_date_for, skus_by_code
from inventory.services import stock_adjust, stock_ship
from oms.core.audit import actor_of, audit_event, audit_record
from oms.core.money import fits_currency, is_currency
from oms.core.tasks import enqueue_on_commit
from oms.metrics import order_placed_on_commit
from oms.models import Tenant
from orders import fastpath, locks
from orders.errors import OrderConflict, OrderError, OrderErrorCode
from orders.models import (
    ADDRESS_FIELDS,
    MONEY,
    Address,
    Allocation,
    Customer,
    Hold,
    Order,
    OrderEvent,
    OrderLine,
)
from orders.numbers import number_next
from orders.signals import order_allocated, order_cancelled, order_placed, order_recalled, order_shipped
from orders.states import (
    ALLOCATABLE,
    EDITABLE,
    FULFILLING,
    RELEASABLE,
    WAITING,
    HoldKind,
    OrderEventType,
    OrderState,
)

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")
# The largest amount an order's money columns hold (12 digits, 2 of them decimals).
LARGEST_AMOUNT = Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"]) - CENT


@dataclass
class LineInput:
    sku: str
    quantity: int
    unit_price: Decimal
    tax: Decimal = Decimal("0")
    discount: Decimal = Decimal("0")


@dataclass
class OrderInput:
    channel: str
    external_id: str
    currency: str
    customer: dict[str, str]
    ship_to: dict[str, str]
    lines: list[LineInput]
    bill_to: dict[str, str] | None = None
    service_level: str = "standard"
    shipping_price: Decimal = Decimal("0")
    tax: Decimal | None = None
    discount: Decimal = Decimal("0")
    reservation: int | None = None
    payment: dict[str, str] | None = None
    placed_at: Any = None
    holds: list[tuple[str, str]] = field(default_factory=list)


# --- small helpers ------------------------------------------------------------------------
def _label(actor: Any) -> str:
    return actor_of(actor)[1]


def order_event_record(
    *,
    order: Order,
    actor: Any,
    type: str,
    message: str = "",
    from_state: str = "",
    to_state: str = "",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    """Write an event on the order's timeline. While the order is being placed, its events wait
    in `order.pending_events` and are written together, in order, at the end (`_order_create`)."""
    event = OrderEvent(
        tenant_id=order.tenant_id,
        order=order,
        type=type,
        actor=_label(actor),
        message=message,
        from_state=from_state,
        to_state=to_state,
        data=data or {},
    )
    pending = getattr(order, "pending_events", None)
    if pending is not None:
        pending.append(event)
    else:
        event.save(force_insert=True)
    return event


def _transition_event(order: Order, before: str, actor: Any, message: str = "", **data: Any) -> None:
    if before != order.state:
        order_event_record(
            order=order,
            actor=actor,
            type=OrderEventType.TRANSITION,
            from_state=before,
            to_state=order.state,
            message=message,
            data=data,
        )


def _address_create(tenant: Any, data: dict[str, str]) -> Address:
    return Address.objects.create(tenant=tenant, **{k: (data.get(k) or "") for k in ADDRESS_FIELDS})


def _customer_for(tenant: Any, given: dict[str, str]) -> Customer:
    """The tenant's customer with this email, made on their first order (name and phone as given
    then). One SELECT for a returning customer; a new one is one upsert more, with no savepoint:
    a concurrent first order of the same email makes one customer, and both orders point at it."""
    email = (given.get("email") or "").strip().lower()
    found = Customer.objects.for_tenant(tenant).filter(email=email).first()
    if found is not None:
        return found
    customer = Customer(tenant=tenant, email=email, name=given.get("name", ""), phone=given.get("phone", ""))
    Customer.objects.bulk_create(
        [customer], update_conflicts=True, unique_fields=["tenant", "email"], update_fields=["email"]
    )
    return customer


def _skus_by_code(tenant: Any, codes: list[str]) -> dict[str, SKU]:
    skus = skus_by_code(tenant=tenant, codes=codes)
    unknown = [c for c in codes if c not in skus]
    if unknown:
        raise OrderError(
            OrderErrorCode.UNKNOWN_SKU,
            f"Unknown SKU(s): {', '.join(sorted(set(unknown)))}",
            skus=sorted(set(unknown)),
        )
    inactive = sorted({c for c in codes if not skus[c].active})
    if inactive:
        raise OrderError(
            OrderErrorCode.INACTIVE_SKU, f"Inactive SKU(s): {', '.join(inactive)}", skus=inactive
        )
    return skus


def _money_check(currency: str, lines: list[LineInput], **amounts: Decimal | None) -> None:
    """Every door's last check: an ISO 4217 currency, and amounts that are neither negative nor
    finer than the currency's minor unit (no 19.99 JPY)."""
    if not is_currency(currency):
        raise OrderError(OrderErrorCode.INVALID_CURRENCY, f"{currency!r} is not an ISO 4217 currency code.")
    for index, line in enumerate(lines):
        for name in ("unit_price", "tax", "discount"):
            amounts[f"lines.{index}.{name}"] = getattr(line, name)
    for name, value in amounts.items():
        if value is not None and (Decimal(value) < 0 or not fits_currency(Decimal(value), currency)):
            raise OrderError(
                OrderErrorCode.INVALID_MONEY,
                f"{name} {value} is not an amount of {currency.upper()}.",
                field=name,
            )


def order_totals_recompute(order: Order, lines: list[OrderLine], *, tax: Decimal | None = None) -> None:
    order.subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal("0")).quantize(CENT)
    line_tax = sum((line.tax for line in lines), Decimal("0"))
    line_discount = sum((line.discount for line in lines), Decimal("0"))
    if tax is not None:
        order.tax = tax.quantize(CENT)
    elif line_tax:
        order.tax = line_tax.quantize(CENT)
    discount = order.discount if order.discount else line_discount
    order.discount = Decimal(discount).quantize(CENT)
    total = order.subtotal + order.shipping_price + order.tax - order.discount
    if total < 0:
        raise OrderError(OrderErrorCode.INVALID_MONEY, "The discount is larger than the order.")
    order.total = total.quantize(CENT)
    for name in ("subtotal", "tax", "total"):
        if getattr(order, name) > LARGEST_AMOUNT:  # the column would overflow (a 500 on PostgreSQL)
            raise OrderError(
                OrderErrorCode.INVALID_MONEY,
                f"The order's {name} would be larger than {LARGEST_AMOUNT}.",
                field=name,
            )


def _retaxed(order: Order, old_subtotal: Decimal, lines: list[OrderLine]) -> Decimal:
    """The tax for changed lines: their own tax when they carry it, else the order's rate so far on
    the new goods (the storefront computed the tax; we keep its rate, not its amount)."""
    line_tax = sum((line.tax for line in lines), Decimal("0"))
    if line_tax:
        return line_tax
    if not old_subtotal:
        return Decimal("0")
    new_subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    return (order.tax * new_subtotal / old_subtotal).quantize(CENT)


def _ship_to_of(order: Order) -> ShipTo:
    address = order.ship_to
    return ShipTo(country=address.country, postal_code=address.postal_code, city=address.city)


# --- create -------------------------------------------------------------------------------
def order_create(
    *,
    tenant: Any,
    data: OrderInput,
    actor: Any = None,
    skus: dict[str, SKU] | None = None,
    savepoint: bool = True,
) -> tuple[Order, bool]:
    """Place an order. Idempotent on tenant + channel + external id: returns (order, created).

    `skus`: the SKUs by code, when the caller has already looked them up (the API's validation).
    `savepoint=False`, the optimistic placement: no look for an order with this external id and
    no savepoint; the caller owns the transaction, and when an order with this external id exists
    (an IntegrityError, which spoils the transaction) it runs it again with savepoint=True, which
    finds that order. The storefront API does so: a placement is one transaction with its
    Idempotency-Key record, and a duplicate costs a second one.
    """
    if savepoint:
        existing = (
            Order.objects.for_tenant(tenant)
            .filter(channel=data.channel, external_id=data.external_id)
            .first()
        )
        if existing is not None:
            return existing, False
    _money_check(
        data.currency, data.lines, shipping_price=data.shipping_price, discount=data.discount, tax=data.tax
    )
    if not savepoint:
        with transaction.atomic(savepoint=False):
            return _order_create(tenant=tenant, data=data, actor=actor, skus=skus, optimistic=True), True
    try:
        with transaction.atomic():
            order = _order_create(tenant=tenant, data=data, actor=actor, skus=skus)
    except IntegrityError:
        # A concurrent create of the same external id won; hand back its order.
        existing = (
            Order.objects.for_tenant(tenant)
            .filter(channel=data.channel, external_id=data.external_id)
            .first()
        )
        if existing is None:
            raise
        return existing, False
    return order, True


def _order_create(
    *, tenant: Any, data: OrderInput, actor: Any, skus: dict[str, SKU] | None, optimistic: bool = False
) -> Order:
    """The placement itself, in the transaction order_create opened. `optimistic`: try the
    fast path first (orders/fastpath.py)."""
    codes = [line.sku for line in data.lines]
    if skus is None or any(code not in skus for code in codes):
        skus = _skus_by_code(tenant, codes)
    folded = fastpath.customer_and_address(tenant, data.customer, data.ship_to)  # PostgreSQL: one statement
    if folded is None:
        customer, ship_to = _customer_for(tenant, data.customer), _address_create(tenant, data.ship_to)
    else:
        customer, ship_to = folded
    bill_to = _address_create(tenant, data.bill_to) if data.bill_to else ship_to
    order = Order(
        tenant=tenant,
        channel=data.channel,
        external_id=data.external_id,
        currency=data.currency.upper(),
        customer=customer,
        ship_to=ship_to,
        bill_to=bill_to,
        service_level=data.service_level,
        shipping_price=Decimal(data.shipping_price).quantize(CENT),
        discount=Decimal(data.discount or 0).quantize(CENT),
        placed_at=data.placed_at or timezone.now(),
    )
    lines = [
        OrderLine(
            tenant=tenant,
            sku=skus[item.sku],
            quantity=item.quantity,
            unit_price=item.unit_price,
            tax=item.tax,
            discount=item.discount,
            position=index,
        )
        for index, item in enumerate(data.lines)
    ]
    order_totals_recompute(order, lines, tax=data.tax)
    if not data.holds and not data.reservation:
        policy = AllocationPolicy.for_tenant(tenant)
        rows = fastpath.placement_rows(tenant=tenant, lines=lines)
        plan = (
            fastpath.placement_plan(rows=rows, lines=lines, ship_to=_ship_to_of(order), policy=policy)
            if optimistic
            else None
        )
        if plan is not None and fastpath.scarce(rows, plan):
            return _place_scarce(order, lines, rows, plan, policy, data=data, actor=actor)
        if plan is not None:
            return _place_planned(order, lines, plan, data=data, actor=actor)
        if fastpath.nothing_free(rows, policy) and fastpath.still_nothing_free(tenant=tenant, lines=lines):
            return _place_backordered(order, lines, rows, policy, data=data, actor=actor)
    order.number = number_next(tenant)
    order.save()  # a duplicate external id raises here; order_create's transaction rolls back
    order.just_placed = True  # _record_plan: no allocations to read back (cleared below)
    order.pending_events = []  # the timeline, written in one statement below
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)
    _placed_recorded(order, data, actor)
    for kind, reason in data.holds:
        _hold_add(order, kind=kind, reason=reason, actor=actor)
    if order.state == OrderState.PENDING:
        now = timezone.now()
        _backorders_first(order, lines, reservation_id=data.reservation, now=now)
        _allocate_locked(order, lines, actor=actor, reservation_id=data.reservation, now=now)
        if not data.holds and not data.reservation:
            # What a read would fetch, as written (no holds, payments or shipments yet): the
            # storefront's 201 is rendered from it (orders/api/views.py).
            order.placed_lines = lines
    elif data.reservation:
        _allocate_while_held(order, lines, actor=actor, reservation_id=data.reservation)
    del order.just_placed
    fastpath.timeline_and_audit_insert(order.pending_events, order.pending_audit)  # PostgreSQL: one statement
    del order.pending_events, order.pending_audit
    order_placed.send(sender=Order, tenant_id=order.tenant_id, order_id=order.pk)
    _payment_enqueue(order, data)
    return order


def _placed_inserted(order: Order, lines: list[OrderLine], *, data: OrderInput, actor: Any) -> None:
    """Insert the order in its final state with its number (on PostgreSQL taken in the INSERT
    itself), start its timeline with "placed" and hang the unsaved lines on it."""
    if not fastpath.order_insert_numbered(order):
        order.number = number_next(order.tenant)
        order.save()
    order.pending_events = []
    _placed_recorded(order, data, actor)
    for line in lines:
        line.order = order


def _place_planned(
    order: Order, lines: list[OrderLine], plan: Any, *, data: OrderInput, actor: Any, taken: bool = False
) -> Order:
    """The optimistic placement (orders/fastpath.py): order, lines and allocations inserted as
    planned, the stock taken last (`taken`: first, for scarce stock); StockMoved when it went in
    between (the caller runs it again)."""
    tenant = order.tenant
    fastpath.lines_allocated(plan, lines)
    order.allocation_plan = plan.as_dict()
    order.apply_allocation(outcome=OrderState.ALLOCATED)
    # Inserted allocated (a duplicate external id raises here); its timeline still tells
    # "placed", then "allocated". On PostgreSQL the number is taken in the INSERT itself.
    _placed_inserted(order, lines, data=data, actor=actor)
    allocations = fastpath.lines_and_allocations_insert(plan, lines)  # PostgreSQL: one statement
    if allocations is None:
        OrderLine.objects.bulk_create(lines)
        allocations = fastpath.allocations_of(plan, lines)
        Allocation.objects.bulk_create(allocations)
    _remember_allocations(lines, allocations, plan)
    order_event_record(
        order=order, actor=actor, type=OrderEventType.ALLOCATED, message=plan.explanation, data=plan.as_dict()
    )
    _transition_event(order, OrderState.PENDING, actor)
    fastpath.timeline_and_audit_insert(order.pending_events, order.pending_audit)  # PostgreSQL: one statement
    del order.pending_events, order.pending_audit
    order_allocated.send(sender=Order, tenant_id=order.tenant_id, order_id=order.pk)
    order_placed.send(sender=Order, tenant_id=order.tenant_id, order_id=order.pk)
    _payment_enqueue(order, data)
    if not taken:
        fastpath.stock_take(tenant=tenant, plan=plan, now=timezone.now())
    order.placed_lines = lines
    return order


def _place_scarce(
    order: Order,
    lines: list[OrderLine],
    rows: list[dict[str, Any]],
    plan: Any,
    policy: Any,
    *,
    data: OrderInput,
    actor: Any,
) -> Order:
    """Scarce stock (fastpath.scarce) is taken before anything is written. An order that lost the
    units to others reads what they left: none, and it is placed backordered in this transaction;
    some, and it starts again the locked way (StockMoved), since the locked way would lock older
    orders after the stock rows this transaction now holds (the house order is orders first)."""
    tenant = order.tenant
    if fastpath.stock_taken_first(tenant=tenant, rows=rows, plan=plan, now=timezone.now()):
        return _place_planned(order, lines, plan, data=data, actor=actor, taken=True)
    rows = fastpath.placement_rows(tenant=tenant, lines=lines)  # what the winners left
    if fastpath.nothing_free(rows, policy) and fastpath.still_nothing_free(tenant=tenant, lines=lines):
        return _place_backordered(order, lines, rows, policy, data=data, actor=actor)
    raise fastpath.StockMoved("Part of the scarce stock was taken since the plan")


def _place_backordered(
    order: Order,
    lines: list[OrderLine],
    rows: list[dict[str, Any]],
    policy: Any,
    *,
    data: OrderInput,
    actor: Any,
) -> Order:
    """An order that finds no unit free (orders/fastpath.py `nothing_free`, checked again under a
    share lock) is inserted backordered, with the rows the locked way writes (its plan's lines
    keyed by position, as the optimistic placement keys them), and no exclusive stock lock
    (they queue only on the tenant's order number, as every placement does)."""
    plan = fastpath.backorder_plan(rows, lines, _ship_to_of(order), policy)
    order.allocation_plan = plan.as_dict()
    order.apply_allocation(outcome=_outcome(lines))
    order.promise_date = _promise_date(order, lines)
    _placed_inserted(order, lines, data=data, actor=actor)
    OrderLine.objects.bulk_create(lines)
    _transition_event(order, OrderState.PENDING, actor)
    fastpath.timeline_and_audit_insert(order.pending_events, order.pending_audit)  # PostgreSQL: one statement
    del order.pending_events, order.pending_audit
    for line in lines:
        line.placed_allocations = []
    order_placed.send(sender=Order, tenant_id=order.tenant_id, order_id=order.pk)
    _payment_enqueue(order, data)
    order.placed_lines = lines
    return order


def _placed_recorded(order: Order, data: OrderInput, actor: Any) -> None:
    """The order's first event and its audit row (both written with the timeline, at the end)."""
    order_placed_on_commit(channel=order.channel)
    order_event_record(
        order=order,
        actor=actor,
        type=OrderEventType.CREATED,
        to_state=OrderState.PENDING,
        message=f"Order placed through {data.channel}",
        data={"total": str(order.total)},
    )
    order.pending_audit = audit_event(
        tenant=order.tenant,
        actor=actor,
        action="order.created",
        obj=order,
        after={"number": order.number, "total": str(order.total), "channel": order.channel},
    )


def _payment_enqueue(order: Order, data: OrderInput) -> None:
    if data.payment:
        # The worker authorizes on commit (a storefront may also do it at once: one attempt either way).
        enqueue_on_commit(
            "orders.tasks.payment_authorize_task",
            tenant_id=order.tenant_id,
            order_id=order.pk,
            provider=data.payment.get("provider") or order.tenant.payment_gateway,
            payment_method=data.payment.get("payment_method", ""),
        )


# --- allocation ---------------------------------------------------------------------------
def _demand(lines: list[OrderLine]) -> list[DemandLine]:
    return [
        DemandLine(key=f"orderline:{line.pk}", sku_id=line.sku_id, quantity=line.quantity_backordered)
        for line in lines
        if line.quantity_backordered > 0
    ]


def _record_plan(order: Order, lines: list[OrderLine], plan: Any) -> None:
    """Write the plan's picks as Allocation rows (adding to a line's existing row per stock level)."""
    if not plan.picks:
        return
    by_key = {f"orderline:{line.pk}": line for line in lines}
    existing = (
        {}
        if getattr(order, "just_placed", False)
        else {
            (a.order_line_id, a.stock_level_id): a
            for a in Allocation.objects.for_tenant(order.tenant_id).filter(order_line__in=lines)
        }
    )
    new: dict[tuple[int, int], Allocation] = {}
    grown: dict[int, Allocation] = {}
    touched: dict[int, OrderLine] = {}
    for pick in plan.picks:
        line = by_key[pick.key]
        slot = (line.pk, pick.stock_level_id)
        if slot in existing:
            existing[slot].quantity += pick.quantity
            grown[existing[slot].pk] = existing[slot]
        elif slot in new:
            new[slot].quantity += pick.quantity
        else:
            new[slot] = Allocation(
                tenant_id=order.tenant_id,
                order_line=line,
                stock_level_id=pick.stock_level_id,
                warehouse_id=pick.warehouse_id,
                quantity=pick.quantity,
            )
        line.quantity_allocated += pick.quantity
        touched[line.pk] = line
    Allocation.objects.bulk_create(new.values())
    if getattr(order, "just_placed", False):
        _remember_allocations(lines, list(new.values()), plan)
    if grown:
        Allocation.objects.for_tenant(order.tenant_id).bulk_update(grown.values(), ["quantity"])
    OrderLine.objects.for_tenant(order.tenant_id).bulk_update(touched.values(), ["quantity_allocated"])


def _remember_allocations(lines: list[OrderLine], allocations: list[Allocation], plan: Any) -> None:
    """A new order's lines keep the allocations just written (`placed_allocations`), with their
    warehouses' codes: the API renders the placed order without reading it back."""
    by_line: dict[int, list[Allocation]] = defaultdict(list)
    warehouses: dict[int, Warehouse] = {}  # one instance a warehouse: only its code is rendered
    for allocation in allocations:
        warehouse = warehouses.get(allocation.warehouse_id)
        if warehouse is None:
            info = plan.warehouses.get(allocation.warehouse_id) or {}
            warehouse = warehouses[allocation.warehouse_id] = Warehouse(
                pk=allocation.warehouse_id, tenant_id=allocation.tenant_id, code=info.get("code", "")
            )
        allocation.warehouse = warehouse
        by_line[allocation.order_line_id].append(allocation)
    for line in lines:
        line.placed_allocations = by_line.get(line.pk, [])


def _outcome(lines: list[OrderLine]) -> str:
    open_units = sum(line.quantity_backordered for line in lines)
    held_units = sum(line.quantity_allocated + line.quantity_shipped for line in lines)
    if open_units == 0:
        return OrderState.ALLOCATED
    return OrderState.PARTIALLY_ALLOCATED if held_units else OrderState.BACKORDERED


def _allocate_locked(
    order: Order,
    lines: list[OrderLine],
    *,
    actor: Any,
    reservation_id: int | None = None,
    release: list[tuple[int, int]] | None = None,
    now: Any = None,
    policy: AllocationPolicy | None = None,
) -> Order:
    """Allocate what is still open on a locked order and move it to the matching state.

    `release`: stock given back by `_take_allocations`, released in the same stock lock.
    `now`: when reservations count as expired (`_backorders_first` locked their rows at that time).
    New allocations of an order a warehouse may ship from are announced (`order_allocated`):
    fulfillment turns them into shipments.
    """
    before = order.state
    demand = _demand(lines)
    policy = policy or AllocationPolicy.for_tenant(order.tenant)
    if release and not demand and not reservation_id:
        allocation_release(tenant=order.tenant, picks=release)
        release = None
    if order.state in FULFILLING:
        # Released to a warehouse or partly on its way: the rest is allocated as it arrives; the
        # state stays, and fulfillment makes new shipments of the new allocations.
        if demand:
            plan = allocation_apply(
                tenant=order.tenant,
                lines=demand,
                ship_to=_ship_to_of(order),
                policy=policy,
                release=release or (),
                now=now,
            )
            _record_plan(order, lines, plan)
            if plan.picks:
                order.allocation_plan = plan.as_dict()
                order.save(update_fields=["allocation_plan", "updated_at"])
                order_event_record(
                    order=order,
                    actor=actor,
                    type=OrderEventType.ALLOCATED,
                    message=plan.explanation,
                    data=plan.as_dict(),
                )
                order_allocated.send(sender=Order, tenant_id=order.tenant_id, order_id=order.pk)
        return order
    plan = None
    if demand or reservation_id:
        tenant = order.tenant
        plan = allocation_apply(
            tenant=tenant,
            lines=demand,
            ship_to=_ship_to_of(order),
            policy=policy,
            reservation_id=reservation_id,
            release=release or (),
            now=now,
        )
        _record_plan(order, lines, plan)
        order.allocation_plan = plan.as_dict()
    outcome = _outcome(lines)
    if order.state != outcome or plan is not None:
        order.apply_allocation(outcome=outcome)
        order.promise_date = _promise_date(order, lines) if outcome != OrderState.ALLOCATED else None
        order.save(update_fields=["state", "allocation_plan", "promise_date", "updated_at"])
        if plan is not None and plan.picks:
            order_event_record(
                order=order,
                actor=actor,
                type=OrderEventType.ALLOCATED,
                message=plan.explanation,
                data=plan.as_dict(),
            )
        _transition_event(order, before, actor)
        if order.state in RELEASABLE and ((plan is not None and plan.picks) or before not in RELEASABLE):
            order_allocated.send(sender=Order, tenant_id=order.tenant_id, order_id=order.pk)
    return order


def _allocate_while_held(order: Order, lines: list[OrderLine], *, actor: Any, reservation_id: int) -> None:
    """An order placed on hold still turns its checkout reservation into allocations, so the units it
    was promised at checkout stay promised; releasing the hold moves it on from there."""
    tenant = order.tenant
    plan = allocation_apply(
        tenant=tenant,
        lines=_demand(lines),
        ship_to=_ship_to_of(order),
        policy=AllocationPolicy.for_tenant(tenant),
        reservation_id=reservation_id,
    )
    _record_plan(order, lines, plan)
    order.allocation_plan = plan.as_dict()
    order.save(update_fields=["allocation_plan", "updated_at"])
    order_event_record(
        order=order, actor=actor, type=OrderEventType.ALLOCATED, message=plan.explanation, data=plan.as_dict()
    )


def _units_ahead(order: Order, sku_id: int) -> int:
    """Units of this SKU that older waiting orders are owed: incoming stock goes to them first."""
    ahead = (
        OrderLine.objects.for_tenant(order.tenant_id)
        .filter(
            sku_id=sku_id,
            order__state__in=WAITING,
            order__placed_at__lt=order.placed_at,
        )
        .aggregate(units=Sum(F("quantity") - F("quantity_allocated") - F("quantity_shipped")))["units"]
    )
    return max(int(ahead or 0), 0)


def _promise_date(order: Order, lines: list[OrderLine]) -> Any:
    """When the last backordered unit should be in: incoming stock, after older orders' shares."""
    dates = []
    for line in lines:
        if line.quantity_backordered:
            needed = _units_ahead(order, line.sku_id) + line.quantity_backordered
            promised = promise_date_for(tenant=order.tenant, sku_id=line.sku_id, quantity=needed)
            if promised is None:
                return None
            dates.append(promised)
    return max(dates) if dates else None


@transaction.atomic
def order_allocate(*, tenant: Any, order_id: int, actor: Any = None) -> Order:
    """(Re-)allocate whatever is still open. A no-op for orders that are not waiting on stock."""
    order = locks.order_for_update(tenant=tenant, order_id=order_id)
    if order.state not in [*ALLOCATABLE, *FULFILLING]:
        return order
    lines = locks.order_lines_for_update(order=order)
    return _allocate_locked(order, lines, actor=actor)


# --- backorders ---------------------------------------------------------------------------
# How many older waiting orders a new order serves first (they are locked in its transaction);
# past that the receipt's own sweep and the periodic one serve them.
BACKORDERS_AHEAD_LIMIT = 100


def _free_stock(tenant: Any, sku_ids: list[int]) -> Any:
    return StockLevel.objects.for_tenant(tenant).filter(
        sku_id__in=sku_ids, warehouse__active=True, on_hand__gt=F("allocated") + F("reserved")
    )


def _stock_left(tenant: Any, sku_ids: list[int]) -> bool:
    return _free_stock(tenant, sku_ids).exists()


def _waiting_order_ids(
    tenant: Any, sku_ids: list[int], *, placed_before: Order | None = None, stock_left: bool = False
) -> list[int]:
    """Orders with an open line for one of these SKUs, oldest placed first (then by id).
    `stock_left`: none unless one of the SKUs has a free unit (asked in the same statement)."""
    waiting = (
        Order.objects.for_tenant(tenant)
        .filter(state__in=WAITING)
        .filter(
            lines__sku_id__in=sku_ids,
            lines__quantity__gt=F("lines__quantity_allocated") + F("lines__quantity_shipped"),
        )
    )
    if stock_left:
        waiting = waiting.filter(Exists(_free_stock(tenant, sku_ids)))
    if placed_before is not None:
        when = placed_before.placed_at
        waiting = waiting.filter(Q(placed_at__lt=when) | Q(placed_at=when, pk__lt=placed_before.pk))
    return list(waiting.order_by("placed_at", "pk").values_list("pk", flat=True).distinct())


def orders_allocate_backorders(*, tenant: Any, sku_ids: list[int], actor: Any = "system:backorders") -> int:
    """Stock arrived: allocate waiting orders for these SKUs, oldest order first. Returns orders touched.

    Only orders with an open line for one of these SKUs are visited, and the walk stops as soon
    as none of the SKUs has a free unit left, so a receipt of one unit does not visit every
    backorder of a popular SKU.
    """
    touched = 0
    for order_id in _waiting_order_ids(tenant, sku_ids):
        if not _stock_left(tenant, sku_ids):
            break
        order_allocate(tenant=tenant, order_id=order_id, actor=actor)
        touched += 1
    return touched


def _backorders_first(order: Order, lines: list[OrderLine], *, reservation_id: int | None, now: Any) -> None:
    """Before a new order takes free stock, older orders waiting for those SKUs get it, oldest first.

    A receipt's sweep runs after it commits (through the outbox); an order placed in between
    must not take the units the sweep is about to hand out. Locks keep the house order
    (inventory/locks.py): the older orders and their lines (by id), then, in one statement, every
    stock row of every SKU any of them or the new order waits for together with the rows held by
    the new order's reservation and by reservations of those SKUs expired at `now` (they may be
    rows of other SKUs); the allocations that follow, at the same `now`, lock again only rows that
    statement holds.
    """
    tenant = order.tenant
    sku_ids = sorted({line.sku_id for line in lines})
    ahead = _waiting_order_ids(tenant, sku_ids, placed_before=order, stock_left=True)[:BACKORDERS_AHEAD_LIMIT]
    if not ahead:
        return
    locked_with_lines = locks.orders_with_lines_for_update(tenant=tenant, order_ids=ahead)
    locked = {older.pk: older for older, _ in locked_with_lines}
    lines_of = {older.pk: older_lines for older, older_lines in locked_with_lines}
    needed = {line.sku_id for waiting in lines_of.values() for line in waiting if line.quantity_backordered}
    every_sku = needed | set(sku_ids)
    reserved_rows = allocation_reserved_rows(
        tenant=tenant, sku_ids=every_sku, reservation_id=reservation_id, now=now
    )
    stock_lock(tenant=tenant, pks=reserved_rows, sku_ids=every_sku)
    for pk in ahead:
        older = locked.get(pk)
        if older is not None and older.state in WAITING:
            _allocate_locked(older, lines_of[pk], actor="system:backorders", now=now)
        if not _stock_left(tenant, sku_ids):
            return


def orders_backorders_sweep(*, actor: Any = "system:backorders-sweep") -> int:
    """The safety net (beat): every tenant's waiting orders with free stock for an open SKU are allocated.

    A receipt enqueues its own sweep through the outbox; this one catches whatever that misses
    (stock fixed in the database, a sweep that died). Returns the orders visited.
    """
    free = StockLevel.objects.unscoped().filter(
        tenant_id=OuterRef("tenant_id"),
        sku_id=OuterRef("sku_id"),
        warehouse__active=True,
        on_hand__gt=F("allocated") + F("reserved"),
    )
    pairs = (
        OrderLine.objects.unscoped()
        .filter(order__state__in=WAITING, quantity__gt=F("quantity_allocated") + F("quantity_shipped"))
        .filter(Exists(free))
        .values_list("tenant_id", "sku_id")
        .distinct()
    )
    by_tenant: dict[int, set[int]] = defaultdict(set)
    for tenant_id, sku_id in pairs:
        by_tenant[tenant_id].add(sku_id)
    touched = 0
    for tenant in Tenant.objects.filter(pk__in=by_tenant).order_by("pk"):
        sku_ids = sorted(by_tenant[tenant.pk])
        touched += orders_allocate_backorders(tenant=tenant, sku_ids=sku_ids, actor=actor)
    return touched


def _take_allocations(order: Order, lines: list[OrderLine]) -> list[tuple[int, int]]:
    """Delete the lines' allocations and return them as (stock_level_id, quantity) picks.

    Stock is not touched here: the caller releases the picks in its one stock lock
    (`allocation_release`, or `allocation_apply(release=...)` when it allocates again).
    """
    allocations = list(
        Allocation.objects.for_tenant(order.tenant_id).filter(order_line__in=lines).order_by("stock_level_id")
    )
    if allocations:
        Allocation.objects.for_tenant(order.tenant_id).filter(pk__in=[a.pk for a in allocations]).delete()
    for line in lines:
        if line.quantity_allocated:
            line.quantity_allocated = 0
            line.save(update_fields=["quantity_allocated"])
    return [(a.stock_level_id, a.quantity) for a in allocations]


@transaction.atomic
def order_reallocate(*, tenant: Any, order_id: int, actor: Any = None) -> Order:
    """Give back every allocation and plan again from scratch (e.g. after stock moved)."""
    order = locks.order_for_update(tenant=tenant, order_id=order_id)
    if order.state not in ALLOCATABLE:
        raise OrderConflict(
            OrderErrorCode.ILLEGAL_TRANSITION,
            f"Order #{order.number} is {order.state}; it cannot be re-allocated.",
            state=order.state,
        )
    lines = locks.order_lines_for_update(order=order)
    released = _take_allocations(order, lines)
    return _allocate_locked(order, lines, actor=actor, release=released)


# --- holds --------------------------------------------------------------------------------
def _hold_add(order: Order, *, kind: str, reason: str, actor: Any) -> Hold:
    if kind not in HoldKind.values:
        raise OrderError("invalid_hold_kind", f"Unknown hold kind {kind!r}.")
    hold = (
        Hold.objects.for_tenant(order.tenant_id)
        .filter(order=order, kind=kind, released_at__isnull=True)
        .first()
    )
    if hold is None:
        hold = Hold.objects.create(
            tenant_id=order.tenant_id, order=order, kind=kind, reason=reason[:500], created_by=_label(actor)
        )
        order_event_record(
            order=order, actor=actor, type=OrderEventType.HOLD_ADDED, message=reason, data={"kind": kind}
        )
    if order.state != OrderState.ON_HOLD:
        before = order.state
        if order.state == OrderState.IN_FULFILLMENT:
            # Back from the warehouse: its open shipments are cancelled (lines locked first).
            locks.order_lines_for_update(order=order)
            order_recalled.send(
                sender=Order, tenant=order.tenant, order=order, reason=f"On hold: {reason}", actor=actor
            )
        order.hold()
        order.save(update_fields=["state", "updated_at"])
        _transition_event(order, before, actor, message=reason)
    return hold


@transaction.atomic
def order_hold(
    *, tenant: Any, order_id: int, kind: str = HoldKind.MANUAL, reason: str = "", actor: Any = None
) -> Order:
    order = locks.order_for_update(tenant=tenant, order_id=order_id)
    if order.state != OrderState.ON_HOLD and not can_proceed(order.hold):
        raise OrderConflict(
            OrderErrorCode.ILLEGAL_TRANSITION,
            f"Order #{order.number} is {order.state}; it cannot be put on hold.",
            state=order.state,
        )
    _hold_add(order, kind=kind, reason=reason, actor=actor)
    audit_record(
        tenant=tenant, actor=actor, action="order.held", obj=order, after={"kind": kind, "reason": reason}
    )
    return order


@transaction.atomic
def order_release(
    *, tenant: Any, order_id: int, kind: str | None = None, reason: str = "", actor: Any = None
) -> Order:
    """Release one kind of hold (or all). With none left the order goes back to allocation."""
    order = locks.order_for_update(tenant=tenant, order_id=order_id)
    active = Hold.objects.for_tenant(tenant).filter(order=order, released_at__isnull=True)
    if kind:
        active = active.filter(kind=kind)
    holds = list(active)
    if not holds:
        raise OrderConflict(OrderErrorCode.NO_ACTIVE_HOLD, f"Order #{order.number} has no such active hold.")
    now = timezone.now()
    for hold in holds:
        hold.released_at, hold.released_by = now, _label(actor)
        hold.save(update_fields=["released_at", "released_by"])
        order_event_record(
            order=order,
            actor=actor,
            type=OrderEventType.HOLD_RELEASED,
            message=reason,
            data={"kind": hold.kind},
        )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="order.released",
        obj=order,
        after={"kinds": [h.kind for h in holds], "reason": reason},
    )
    still_held = Hold.objects.for_tenant(tenant).filter(order=order, released_at__isnull=True).exists()
    if not still_held and order.state == OrderState.ON_HOLD:
        before = order.state
        order.release()
        order.save(update_fields=["state", "updated_at"])
        _transition_event(order, before, actor, message=reason)
        _allocate_locked(order, locks.order_lines_for_update(order=order), actor=actor)
    return order


# --- cancel -------------------------------------------------------------------------------
@transaction.atomic
def order_cancel(*, tenant: Any, order_id: int, reason: str = "", actor: Any = None) -> Order:
    order = locks.order_for_update(tenant=tenant, order_id=order_id)
    if not can_proceed(order.cancel):
        raise OrderConflict(
            OrderErrorCode.ILLEGAL_TRANSITION,
            f"Order #{order.number} is {order.state}; it can no longer be cancelled.",
            state=order.state,
        )
    lines = locks.order_lines_for_update(order=order)
    # Whatever was made of its allocations (open shipments) is cancelled first, in this transaction.
    order_recalled.send(
        sender=Order,
        tenant=tenant,
        order=order,
        reason=f"Order cancelled: {reason}" if reason else "Order cancelled",
        actor=actor,
    )
    allocation_release(tenant=tenant, picks=_take_allocations(order, lines))
    before = order.state
    order.cancel(reason=reason)
    order.save(update_fields=["state", "cancel_reason", "updated_at"])
    Hold.objects.for_tenant(tenant).filter(order=order, released_at__isnull=True).update(
        released_at=timezone.now(), released_by=_label(actor)
    )
    order_event_record(
        order=order,
        actor=actor,
        type=OrderEventType.CANCELLED,
        from_state=before,
        to_state=order.state,
        message=reason,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="order.cancelled",
        obj=order,
        before={"state": before},
        after={"state": order.state, "reason": reason},
    )
    order_cancelled.send(sender=Order, tenant_id=tenant.pk, order_id=order.pk)
    if order.payments.exists():
        # Void or refund every payment, including one whose operation is still in flight.
        enqueue_on_commit(
            "orders.tasks.payments_for_order_cancel_task", tenant_id=tenant.pk, order_id=order.pk
        )
    return order


# --- edits before fulfillment ----------------------------------------------------------------
def _snapshot(order: Order, lines: list[OrderLine]) -> dict[str, Any]:
    return {
        "ship_to": order.ship_to.as_dict(),
        "service_level": order.service_level,
        "lines": [
            {"sku": line.sku.code, "quantity": line.quantity, "unit_price": str(line.unit_price)}
            for line in lines
        ],
        "total": str(order.total),
    }


@transaction.atomic
def order_edit(
    *,
    tenant: Any,
    order_id: int,
    actor: Any = None,
    ship_to: dict[str, str] | None = None,
    service_level: str | None = None,
    lines: list[LineInput] | None = None,
) -> Order:
    """Change address, service level or lines before fulfillment; re-allocate; one event, before and after."""
    order = locks.order_for_update(tenant=tenant, order_id=order_id)
    if order.state not in EDITABLE:
        raise OrderConflict(
            OrderErrorCode.NOT_EDITABLE,
            f"Order #{order.number} is {order.state}; it can no longer be edited.",
            state=order.state,
        )
    current = locks.order_lines_for_update(order=order)
    before = _snapshot(order, current)
    if lines is not None:
        _money_check(order.currency, lines)
        skus = _skus_by_code(tenant, [item.sku for item in lines])
    released = _take_allocations(order, current)
    if ship_to is not None:
        order.ship_to = _address_create(tenant, ship_to)
    if service_level is not None:
        order.service_level = service_level
    old_subtotal = order.subtotal
    if lines is not None:
        by_sku = {line.sku_id: line for line in current}
        kept: list[OrderLine] = []
        for index, item in enumerate(lines):
            sku = skus[item.sku]
            line = by_sku.pop(sku.pk, None) or OrderLine(tenant=tenant, order=order, sku=sku)
            line.quantity, line.unit_price, line.tax, line.discount = (
                item.quantity,
                item.unit_price,
                item.tax,
                item.discount,
            )
            line.position = index
            line.save()
            kept.append(line)
        for removed in by_sku.values():
            removed.delete()
        current = kept
    order_totals_recompute(
        order, current, tax=_retaxed(order, old_subtotal, current) if lines is not None else None
    )
    order.save()
    after = _snapshot(order, current)
    order_event_record(
        order=order,
        actor=actor,
        type=OrderEventType.EDITED,
        message="Order edited",
        data={"before": before, "after": after},
    )
    audit_record(tenant=tenant, actor=actor, action="order.edited", obj=order, before=before, after=after)
    if order.state in ALLOCATABLE:
        _allocate_locked(order, current, actor=actor, release=released)
    else:
        allocation_release(tenant=tenant, picks=released)
    if before["total"] != after["total"] and order.payments.exists():
        # Refund what was taken beyond the new total, or authorize / charge the difference.
        enqueue_on_commit("orders.tasks.payments_for_order_edit_task", tenant_id=tenant.pk, order_id=order.pk)
    return order


@transaction.atomic
def order_line_sku_replace(
    *, tenant: Any, order_id: int, line_id: int, sku: str, reason: str = "", actor: Any = None
) -> Order:
    """Give one line another SKU while none of its units is allocated or shipped (a marketplace
    line taken in under a placeholder SKU, once staff map the channel's SKU). Quantity and
    price stay; one event, audited. Nothing is (re-)allocated here: the caller releases holds."""
    order = locks.order_for_update(tenant=tenant, order_id=order_id)
    if order.state not in EDITABLE:
        raise OrderConflict(
            OrderErrorCode.NOT_EDITABLE,
            f"Order #{order.number} is {order.state}; its lines can no longer change.",
            state=order.state,
        )
    line = next((x for x in locks.order_lines_for_update(order=order) if x.pk == line_id), None)
    if line is None:
        raise OrderError("unknown_line", f"Order #{order.number} has no line {line_id}.")
    if line.quantity_allocated or line.quantity_shipped:
        raise OrderConflict(
            OrderErrorCode.NOT_EDITABLE, f"Line {line_id} of order #{order.number} has allocated units."
        )
    new_sku = _skus_by_code(tenant, [sku])[sku]
    before = line.sku.code
    if new_sku.pk == line.sku_id:
        return order
    line.sku = new_sku
    line.save(update_fields=["sku"])
    data = {"line": line.pk, "before": before, "after": new_sku.code}
    order_event_record(
        order=order,
        actor=actor,
        type=OrderEventType.EDITED,
        message=reason or f"Line SKU {before} → {sku}",
        data=data,
    )
    audit_record(tenant=tenant, actor=actor, action="order.line_sku_replaced", obj=order, after=data)
    return order


# --- shipping ---------------------------------------------------------------------------------
SHIPPABLE = [
    OrderState.ALLOCATED,
    OrderState.PARTIALLY_ALLOCATED,
    OrderState.IN_FULFILLMENT,
    OrderState.PARTIALLY_SHIPPED,
]


def _shipment_amount(
    order: Order, lines: list[OrderLine], shipped: dict[int, int], *, complete: bool
) -> Decimal:
    """What this shipment is worth: its goods with their share of tax and discount, the shipping
    price on the first shipment; the last shipment takes whatever is left, so shares add up."""
    earlier = sum(
        (
            Decimal(e.data.get("amount", "0"))
            for e in OrderEvent.objects.for_tenant(order.tenant_id).filter(
                order=order, type=OrderEventType.SHIPMENT
            )
        ),
        Decimal("0"),
    )
    if complete:
        return max(order.total - earlier, Decimal("0")).quantize(CENT)
    goods = sum((line.unit_price * shipped.get(line.pk, 0) for line in lines), Decimal("0"))
    share = goods / order.subtotal if order.subtotal else Decimal("0")
    amount = goods + (order.tax - order.discount) * share
    if not earlier:
        amount += order.shipping_price
    return max(amount, Decimal("0")).quantize(CENT)


@transaction.atomic
def order_record_shipment(
    *,
    tenant: Any,
    order_id: int,
    reference: str,
    quantities: dict[int, int] | None = None,
    warehouse_id: int | None = None,
    carrier: str = "",
    tracking_number: str = "",
    actor: Any = None,
) -> Order:
    """Allocated units left the warehouse: stock and allocations go down (ledger `shipment`), the
    lines count them shipped, the order moves to partially shipped or shipped, and the payment
    is captured for the shipment on commit, by the tenant's capture policy.

    `quantities` maps order line ids to units; by default every allocated unit ships. With
    `warehouse_id` only that warehouse's allocations ship (a shipment leaves one warehouse). The
    reference is the shipment's id: recording the same reference twice changes nothing.
    """
    order = locks.order_for_update(tenant=tenant, order_id=order_id)
    if (
        OrderEvent.objects.for_tenant(tenant)
        .filter(order=order, type=OrderEventType.SHIPMENT, data__reference=reference)
        .exists()
    ):
        return order
    if order.state not in SHIPPABLE:
        raise OrderConflict(
            OrderErrorCode.ILLEGAL_TRANSITION,
            f"Order #{order.number} is {order.state}; nothing of it can ship.",
            state=order.state,
        )
    lines = locks.order_lines_for_update(order=order)
    by_id = {line.pk: line for line in lines}
    allocations = Allocation.objects.for_tenant(tenant).filter(order_line__in=lines)
    if warehouse_id is not None:
        allocations = allocations.filter(warehouse_id=warehouse_id)
    allocations = list(allocations.order_by("pk"))
    allocated: dict[int, int] = defaultdict(int)
    for allocation in allocations:
        allocated[allocation.order_line_id] += allocation.quantity
    if quantities is None:
        wanted = dict(allocated)
    else:
        wanted = {int(line_id): int(qty) for line_id, qty in quantities.items()}
    wanted = {line_id: qty for line_id, qty in wanted.items() if qty}
    for line_id, qty in wanted.items():
        line = by_id.get(line_id)
        if line is None or qty < 0 or qty > allocated.get(line_id, 0):
            raise OrderError(
                "exceeds_allocated",
                "Only allocated units of the order's lines can ship"
                + (" (from this warehouse)." if warehouse_id is not None else "."),
                line_id=line_id,
                quantity=qty,
                allocated=allocated.get(line_id, 0),
            )
    if not wanted:
        raise OrderError("nothing_to_ship", f"Order #{order.number} has no allocated units to ship.")

    picks: list[tuple[int, int]] = []
    shipped: dict[int, int] = {}
    for allocation in allocations:
        taken = min(allocation.quantity, wanted.get(allocation.order_line_id, 0))
        if taken <= 0:
            continue
        picks.append((allocation.stock_level_id, taken))
        wanted[allocation.order_line_id] -= taken
        shipped[allocation.order_line_id] = shipped.get(allocation.order_line_id, 0) + taken
        allocation.quantity -= taken
        if allocation.quantity:
            allocation.save(update_fields=["quantity"])
        else:
            allocation.delete()
    for line_id, qty in shipped.items():
        by_id[line_id].quantity_allocated -= qty
        by_id[line_id].quantity_shipped += qty
    OrderLine.objects.for_tenant(tenant).bulk_update(
        [by_id[i] for i in shipped], ["quantity_allocated", "quantity_shipped"]
    )
    stock_ship(tenant=tenant, picks=picks, reference=reference, actor=actor)

    complete = all(line.quantity_shipped >= line.quantity for line in lines)
    amount = _shipment_amount(order, lines, shipped, complete=complete)
    before = order.state
    order.record_shipment(complete=complete)
    order.save(update_fields=["state", "updated_at"])
    units = sum(shipped.values())
    order_event_record(
        order=order,
        actor=actor,
        type=OrderEventType.SHIPMENT,
        message=f"Shipped {units} unit(s)"
        + (f" with {carrier} {tracking_number}".rstrip() if carrier else ""),
        data={
            "reference": reference,
            "carrier": carrier,
            "tracking_number": tracking_number,
            "amount": str(amount),
            "lines": [
                {"line": i, "sku": by_id[i].sku.code, "quantity": q} for i, q in sorted(shipped.items())
            ],
        },
    )
    _transition_event(order, before, actor)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="order.shipped",
        obj=order,
        after={"reference": reference, "amount": str(amount), "complete": complete},
    )
    order_shipped.send(sender=Order, tenant_id=tenant.pk, order_id=order.pk, reference=reference)
    if order.payments.exists():
        enqueue_on_commit(
            "orders.tasks.payment_capture_for_shipment_task",
            tenant_id=tenant.pk,
            order_id=order.pk,
            shipment_amount=str(amount),
            shipment_ref=reference,
        )
    return order


def _order_step(
    *, tenant: Any, order_id: int, actor: Any, message: str, done: str, step: str, action: str, refusal: str
) -> Order:
    """Move a locked order one step along its life cycle (`step`, the FSM transition), with its
    timeline event and audit row; an order already in `done` is answered unchanged."""
    order = locks.order_for_update(tenant=tenant, order_id=order_id)
    if order.state == done:
        return order
    transition = getattr(order, step)
    if not can_proceed(transition):
        raise OrderConflict(
            OrderErrorCode.ILLEGAL_TRANSITION,
            f"Order #{order.number} is {order.state}; {refusal}",
            state=order.state,
        )
    before = order.state
    transition()
    order.save(update_fields=["state", "updated_at"])
    _transition_event(order, before, actor, message)
    audit_record(
        tenant=tenant,
        actor=actor,
        action=action,
        obj=order,
        before={"state": before},
        after={"state": order.state},
    )
    return order


@transaction.atomic
def order_mark_delivered(*, tenant: Any, order_id: int, actor: Any = None, message: str = "") -> Order:
    """The carrier delivered every shipment of a fully shipped order: the order is delivered.

    The fulfillment room decides when (its shipments); this only moves the order. Marking a
    delivered order again changes nothing.
    """
    return _order_step(
        tenant=tenant,
        order_id=order_id,
        actor=actor,
        message=message,
        done=OrderState.DELIVERED,
        step="deliver",
        action="order.delivered",
        refusal="only a shipped order can be delivered.",
    )


@transaction.atomic
def order_complete(*, tenant: Any, order_id: int, actor: Any = None, message: str = "") -> Order:
    """A delivered order whose return window the shop considers closed: completed. Completing a
    completed order again changes nothing."""
    return _order_step(
        tenant=tenant,
        order_id=order_id,
        actor=actor,
        message=message,
        done=OrderState.COMPLETED,
        step="complete",
        action="order.completed",
        refusal="only a delivered order can be completed.",
    )


# --- fulfillment: the order side of shipments ---------------------------------------------------
# Fulfillment owns shipments and calls these with the order's row lock taken first (house lock
# order: order, lines, shipments, shipment lines, stock). Orders never imports fulfillment.
@transaction.atomic
def order_fulfillment_start(*, tenant: Any, order_id: int, actor: Any = None) -> Order:
    """Released to the warehouse: allocated / partially allocated -> in fulfillment.

    An order already in fulfillment or partly shipped stays as it is (more shipments are made).
    """
    order = locks.order_for_update(tenant=tenant, order_id=order_id)
    if order.state in FULFILLING:
        return order
    if not can_proceed(order.start_fulfillment):
        raise OrderConflict(
            OrderErrorCode.ILLEGAL_TRANSITION,
            f"Order #{order.number} is {order.state}; it cannot be released to a warehouse.",
            state=order.state,
        )
    before = order.state
    order.start_fulfillment()
    order.save(update_fields=["state", "updated_at"])
    _transition_event(order, before, actor, message="Released to the warehouse")
    audit_record(
        tenant=tenant,
        actor=actor,
        action="order.released_to_warehouse",
        obj=order,
        before={"state": before},
        after={"state": order.state},
    )
    return order


@transaction.atomic
def order_fulfillment_stop(*, tenant: Any, order_id: int, reason: str = "", actor: Any = None) -> Order:
    """Every shipment of an order in fulfillment was cancelled before any left: the order goes back
    to the state its allocations give it (allocated, partially allocated, backordered), so it can be
    edited, re-allocated, cancelled or released again. Other states are left as they are."""
    order = locks.order_for_update(tenant=tenant, order_id=order_id)
    if order.state != OrderState.IN_FULFILLMENT:
        return order
    lines = locks.order_lines_for_update(order=order)
    before = order.state
    outcome = _outcome(lines)
    order.stop_fulfillment(outcome=outcome)
    order.promise_date = _promise_date(order, lines) if outcome != OrderState.ALLOCATED else None
    order.save(update_fields=["state", "promise_date", "updated_at"])
    _transition_event(order, before, actor, message=reason or "Shipments cancelled")
    return order


@transaction.atomic
def order_line_short(
    *,
    tenant: Any,
    order_id: int,
    order_line_id: int,
    warehouse_id: int,
    quantity: int,
    reason: str,
    reference: str = "",
    actor: Any = None,
) -> Order:
    """A picker could not ship `quantity` allocated units of a line from a warehouse (not found,
    damaged): that allocation is given back, the warehouse's stock is written down through the
    ledger (an adjustment, or damage), and the units are allocated again from the nearest other
    warehouse by the allocation engine, or backordered.

    Stock rows are locked in one statement before any is touched: every row of the order's SKUs,
    with the rows of reservations of them expired by now (what the re-allocation may read).
    """
    order = locks.order_for_update(tenant=tenant, order_id=order_id)
    lines = locks.order_lines_for_update(order=order)
    line = next((candidate for candidate in lines if candidate.pk == int(order_line_id)), None)
    if line is None:
        raise OrderLine.DoesNotExist(f"Order line {order_line_id} not found")
    quantity = int(quantity)
    allocation = (
        Allocation.objects.for_tenant(tenant).filter(order_line=line, warehouse_id=warehouse_id).first()
    )
    held = allocation.quantity if allocation is not None else 0
    if quantity <= 0 or quantity > held:
        raise OrderError(
            "exceeds_allocated",
            f"Only the {held} unit(s) allocated from this warehouse can be short.",
            line_id=line.pk,
            quantity=quantity,
            allocated=held,
        )
    assert allocation is not None
    now = timezone.now()
    every_sku = {candidate.sku_id for candidate in lines}
    reserved_rows = allocation_reserved_rows(tenant=tenant, sku_ids=every_sku, reservation_id=None, now=now)
    stock_lock(tenant=tenant, pks=reserved_rows, sku_ids=every_sku)

    level_id = allocation.stock_level_id
    allocation.quantity -= quantity
    if allocation.quantity:
        allocation.save(update_fields=["quantity"])
    else:
        allocation.delete()
    line.quantity_allocated -= quantity
    line.save(update_fields=["quantity_allocated"])
    allocation_release(tenant=tenant, picks=[(level_id, quantity)])
    movement = MovementReason.DAMAGE if reason == "damaged" else MovementReason.ADJUSTMENT
    stock_adjust(
        tenant=tenant,
        sku_id=line.sku_id,
        warehouse_id=warehouse_id,
        delta=-quantity,
        reason=movement,
        reference=reference or f"short pick: order {order.number}",
        actor=actor,
    )
    order_event_record(
        order=order,
        actor=actor,
        type=OrderEventType.NOTE,
        message=f"Short pick: {quantity} × {line.sku.code} ({reason}); allocating elsewhere",
        data={"line": line.pk, "warehouse": warehouse_id, "quantity": quantity, "reason": reason},
    )
    base = AllocationPolicy.for_tenant(tenant)
    policy = AllocationPolicy(
        allow_split=base.allow_split,
        allow_backorder=True,  # a unit that cannot be found anywhere waits; the order stands
        max_shipments=base.max_shipments,
        exclude_warehouses=frozenset({int(warehouse_id)}),
    )
    return _allocate_locked(order, lines, actor=actor, now=now, policy=policy)
