"""`manage.py seed_demo`: thirty days of a shop in which every chart and queue has something to show.

The seed takes tens of seconds, so one test runs it once and checks what a merchant would look
for, then runs it again (idempotency) and checks another tenant was never touched.
"""

from __future__ import annotations

from datetime import timedelta

from django.apps import apps
from django.core.management import call_command
from django.db.models import Count, F, Sum
from django.utils import timezone

from fulfillment.models import Label, Shipment
from fulfillment.states import LabelState, ShipmentState
from integrations.models import ChannelOrderLine, InboundEvent, InboundEventState
from inventory.models import StockLevel, StockMovement
from oms.core.models import TenantOwned
from oms.models import AuditEvent, OutboxMessage, OutboxState, Tenant
from orders.models import Hold, Order, OrderEvent
from orders.states import HoldKind, OrderState
from returns.models import ReturnLine, ReturnRefund, ReturnRequest
from returns.states import RefundState, ReturnState
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock

CHANNELS = {"web", "api", "shopify", "woocommerce", "amazon", "ebay"}


def _tenant_owned_models():
    return [model for model in apps.get_models() if issubclass(model, TenantOwned)]


def _rows_by_model(*, exclude_tenant=None):
    counts = {}
    for model in _tenant_owned_models():
        rows = model.objects.unscoped() if hasattr(model.objects, "unscoped") else model._base_manager
        if exclude_tenant is not None:
            rows = rows.exclude(tenant=exclude_tenant)
        counts[model._meta.label] = rows.count()
    return counts


def _demo_counts(tenant):
    return {label: n for label, n in _rows_by_model().items() if n} | {
        "orders": Order.objects.for_tenant(tenant).count(),
        "audit": AuditEvent.objects.filter(tenant=tenant).count(),
    }


def test_seed_demo_builds_thirty_days_of_a_shop_once_and_only_for_the_demo_tenant(
    tenant_b, settings, tmp_path
):
    # given another shop with its own stock
    settings.VAR_DIR = tmp_path
    warehouse = WarehouseFactory(tenant=tenant_b, code="B1", postal_code="07001")
    stock(tenant_b, SKUFactory(tenant=tenant_b, code="TENT-1P"), warehouse, 7)
    others_before = _rows_by_model()

    # when
    call_command("seed_demo")

    # then: orders over thirty days, from every channel, in every state
    demo = Tenant.objects.get(slug="demo")
    now = timezone.now()
    orders = Order.objects.for_tenant(demo)
    assert 250 <= orders.count() <= 400, orders.count()
    by_state = dict(orders.values_list("state").annotate(n=Count("id")))
    assert set(by_state) == set(OrderState.values), set(OrderState.values) - set(by_state)
    assert by_state[OrderState.DELIVERED] + by_state[OrderState.COMPLETED] > orders.count() / 3
    by_channel = dict(orders.values_list("channel").annotate(n=Count("id")))
    assert set(by_channel) == CHANNELS
    assert all(n >= 10 for n in by_channel.values()), by_channel
    oldest, newest = orders.order_by("placed_at").values_list("placed_at", flat=True)[:: orders.count() - 1]
    assert now - timedelta(days=31) <= oldest < now - timedelta(days=27)
    assert now - timedelta(days=1) < newest <= now
    assert len({placed.date() for placed in orders.values_list("placed_at", flat=True)}) >= 25

    # the timeline and the audit log carry the history's own moments, in the past
    first_event = OrderEvent.objects.for_tenant(demo).order_by("created_at").first()
    assert first_event.created_at < now - timedelta(days=27)
    assert AuditEvent.objects.filter(tenant=demo, created_at__lt=now - timedelta(days=20)).exists()
    assert not AuditEvent.objects.filter(tenant=demo, created_at__gt=now).exists()

    # shipments: labelled, tracked, delivered; some late against the promise; one exception
    shipments = Shipment.objects.for_tenant(demo)
    by_shipment_state = dict(shipments.values_list("state").annotate(n=Count("id")))
    for state in (
        ShipmentState.PENDING,
        ShipmentState.PICKING,
        ShipmentState.PACKED,
        ShipmentState.IN_TRANSIT,
        ShipmentState.DELIVERED,
        ShipmentState.EXCEPTION,
        ShipmentState.RETURNED_TO_SENDER,
    ):
        assert by_shipment_state.get(state), state
    assert by_shipment_state[ShipmentState.EXCEPTION] == 1
    departed = shipments.filter(shipped_at__isnull=False)
    assert departed.filter(promised_date__isnull=True).count() == 0
    late = [s for s in departed.values_list("shipped_at", "promised_date") if s[0].date() > s[1]]
    assert 0.03 < len(late) / departed.count() < 0.25, len(late)
    assert shipments.filter(state=ShipmentState.PENDING, promised_date__lt=now.date()).exists()
    assert not departed.exclude(tracking_number="").filter(carrier="").exists()
    labels = Label.objects.for_tenant(demo).filter(is_return=False)
    assert labels.filter(state=LabelState.PURCHASED, amount__gt=0).count() == departed.count()
    assert labels.filter(state=LabelState.FAILED).exclude(error="").count() == 2
    delivered = shipments.filter(state=ShipmentState.DELIVERED)
    assert not delivered.filter(delivered_at__lte=F("shipped_at")).exists()

    # returns for several reasons, at every stage
    returns = ReturnRequest.objects.for_tenant(demo)
    assert returns.count() >= 10
    assert {
        ReturnState.REJECTED,
        ReturnState.LABEL_SENT,
        ReturnState.RECEIVED,
        ReturnState.INSPECTED,
        ReturnState.CLOSED,
        ReturnState.REFUNDED,
    } <= set(returns.values_list("state", flat=True))
    refunds = ReturnRefund.objects.for_tenant(demo).filter(state=RefundState.SUCCEEDED)
    assert refunds.count() == returns.filter(state=ReturnState.REFUNDED).count() > 0
    assert all(refund.amount > 0 for refund in refunds)
    assert ReturnLine.objects.for_tenant(demo).values("reason").distinct().count() >= 4

    # holds, backorders, stockouts and low stock
    active = Hold.objects.for_tenant(demo).filter(released_at__isnull=True)
    assert {HoldKind.PAYMENT, HoldKind.FRAUD, HoldKind.ADDRESS, HoldKind.UNMAPPED_SKU} <= set(
        active.values_list("kind", flat=True)
    )
    levels = StockLevel.objects.for_tenant(demo)
    assert levels.filter(on_hand=0).exists()
    assert levels.filter(on_hand__gt=0, on_hand__lte=F("reorder_point")).exists()

    # the ledger reconciles: on hand is the sum of its movements, for every stock level
    ledger = dict(
        StockMovement.objects.for_tenant(demo).values_list("stock_level").annotate(total=Sum("delta"))
    )
    assert all(level.on_hand == ledger.get(level.pk, 0) for level in levels)

    # the channels: failed and dead inbound events, unmapped channel SKUs
    events = InboundEvent.objects.for_tenant(demo)
    assert events.filter(state=InboundEventState.FAILED).exclude(error="").exists()
    assert events.filter(state=InboundEventState.DEAD).exclude(error="").exists()
    assert ChannelOrderLine.objects.for_tenant(demo).filter(sku__isnull=True).count() >= 3

    # the past's side effects are not sent now (emails, channel pushes, releases already made);
    # only the refunds' tasks, whose work the seed did after its commit, are left (no-ops then)
    pending = OutboxMessage.objects.filter(tenant=demo, state=OutboxState.PENDING)
    assert set(pending.values_list("task", flat=True)) <= {"returns.tasks.return_refund_task"}

    # idempotent: a second run adds nothing
    before = _demo_counts(demo)
    call_command("seed_demo")
    assert _demo_counts(demo) == before
    assert Tenant.objects.filter(slug="demo").count() == 1

    # and the other shop was never touched: every tenant-owned row it had, it has, no more
    assert _rows_by_model(exclude_tenant=demo) == others_before
