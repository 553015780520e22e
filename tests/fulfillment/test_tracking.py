"""tracking_apply: carrier statuses move shipments once, never backwards, and the order follows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fulfillment.carriers import TrackingUpdate
from fulfillment.models import Shipment, TrackingEvent
from fulfillment.states import ShipmentState as S
from fulfillment.tracking import shipment_find_by_tracking, tracking_apply, tracking_link
from oms.models import AuditEvent, OutboxMessage
from orders.models import Order, OrderEvent
from orders.states import OrderEventType, OrderState
from tests.fulfillment.shipped import shipped_order

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def update(shipment, status, at=T0, details="", location=""):
    return TrackingUpdate(
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        status=status,
        status_details=details,
        status_date=at,
        location=location,
    )


def apply(shipment, status, at=T0, **kw):
    return tracking_apply(
        tenant=shipment.tenant,
        shipment_id=shipment.pk,
        update=update(shipment, status, at, **kw),
        source="test",
    )


def fresh(shipment):
    return Shipment.objects.for_tenant(shipment.tenant_id).get(pk=shipment.pk)


def events(shipment):
    return list(TrackingEvent.objects.for_tenant(shipment.tenant_id).filter(shipment=shipment))


def transitions(order):
    return list(
        OrderEvent.objects.for_tenant(order.tenant_id)
        .filter(order=order, type=OrderEventType.TRANSITION)
        .values_list("from_state", "to_state")
    )


def delivered_emails(tenant):
    return OutboxMessage.objects.filter(
        tenant=tenant, task="fulfillment.tasks.shipment_email_send_task", kwargs__kind="delivered_email"
    ).count()


@pytest.fixture
def one(tenant_a):
    order, (shipment,) = shipped_order(tenant_a)
    return order, shipment


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("UNKNOWN", S.SHIPPED),
        ("PRE_TRANSIT", S.SHIPPED),
        ("TRANSIT", S.IN_TRANSIT),
        ("DELIVERED", S.DELIVERED),
        ("FAILURE", S.EXCEPTION),
        ("RETURNED", S.RETURNED_TO_SENDER),
    ],
)
def test_each_carrier_status_maps_to_a_shipment_state(one, status, state):
    _, shipment = one

    outcome = apply(shipment, status, details="Scanned", location="Austin, TX")

    after = fresh(shipment)
    assert after.state == state
    assert after.tracking_status == status
    assert after.last_tracking_at is not None
    assert outcome.recorded and outcome.to_state == state
    (event,) = events(shipment)
    assert (event.status, event.status_date, event.status_details, event.location, event.source) == (
        status,
        T0,
        "Scanned",
        "Austin, TX",
        "test",
    )


def test_a_move_is_audited_and_noted_on_the_order(one):
    order, shipment = one

    apply(shipment, "TRANSIT", details="Accepted at the origin facility")

    audit = AuditEvent.objects.for_tenant(order.tenant_id).get(action="shipment.tracked")
    assert audit.before == {"state": "shipped"}
    assert audit.after == {"state": "in_transit", "carrier_status": "TRANSIT"}
    note = OrderEvent.objects.for_tenant(order.tenant_id).get(
        order=order, type=OrderEventType.NOTE, data__to="in_transit"
    )
    assert note.message == f"Shipment {shipment.number}: in transit (Accepted at the origin facility)"


def test_the_same_status_twice_is_recorded_once_and_moves_once(one):
    order, shipment = one

    first = apply(shipment, "DELIVERED")
    second = apply(shipment, "DELIVERED")

    assert first.recorded and first.moved and first.order_delivered
    assert not second.recorded and not second.moved and not second.order_delivered
    assert len(events(shipment)) == 1
    assert transitions(order)[-1] == ("shipped", "delivered")
    assert transitions(order).count(("shipped", "delivered")) == 1
    assert delivered_emails(order.tenant) == 1


def test_delivered_then_an_earlier_transit_stays_delivered(one):
    order, shipment = one

    apply(shipment, "DELIVERED", at=T0 + timedelta(hours=5))
    late = apply(shipment, "TRANSIT", at=T0)

    after = fresh(shipment)
    assert after.state == S.DELIVERED
    assert after.tracking_status == "DELIVERED"
    assert after.delivered_at == T0 + timedelta(hours=5)
    assert late.recorded and not late.moved  # kept as history
    assert [e.status for e in events(shipment)] == ["TRANSIT", "DELIVERED"]
    assert Order.objects.for_tenant(order.tenant_id).get(pk=order.pk).state == OrderState.DELIVERED


def test_a_later_dated_transit_never_moves_a_delivered_parcel_back(one):
    _, shipment = one

    apply(shipment, "DELIVERED", at=T0)
    apply(shipment, "TRANSIT", at=T0 + timedelta(days=1))

    after = fresh(shipment)
    assert (after.state, after.tracking_status) == (S.DELIVERED, "DELIVERED")


def test_an_older_update_does_not_undo_a_newer_one(one):
    _, shipment = one

    apply(shipment, "TRANSIT", at=T0 + timedelta(hours=2))
    older = apply(shipment, "FAILURE", at=T0)

    assert not older.moved
    after = fresh(shipment)
    assert (after.state, after.tracking_status) == (S.IN_TRANSIT, "TRANSIT")


def test_an_exception_clears_when_the_parcel_moves_again(one):
    _, shipment = one

    apply(shipment, "FAILURE", at=T0)
    apply(shipment, "TRANSIT", at=T0 + timedelta(hours=1))

    assert fresh(shipment).state == S.IN_TRANSIT


def test_a_returned_parcel_stays_returned_and_the_order_stays_shipped(one):
    order, shipment = one

    apply(shipment, "RETURNED", at=T0)
    apply(shipment, "DELIVERED", at=T0 + timedelta(days=1))

    assert fresh(shipment).state == S.RETURNED_TO_SENDER
    assert Order.objects.for_tenant(order.tenant_id).get(pk=order.pk).state == OrderState.SHIPPED
    assert delivered_emails(order.tenant) == 0


def test_undated_updates_are_repeats_when_the_status_has_not_changed(one):
    _, shipment = one

    apply(shipment, "TRANSIT", at=None)
    again = apply(shipment, "TRANSIT", at=None)

    assert not again.recorded
    assert len(events(shipment)) == 1


def test_the_order_is_delivered_only_when_every_shipment_is(tenant_a):
    order, (first, second) = shipped_order(tenant_a, parcels=2)
    assert order.state == OrderState.SHIPPED

    one_done = apply(first, "DELIVERED")

    assert not one_done.order_delivered
    assert Order.objects.for_tenant(tenant_a).get(pk=order.pk).state == OrderState.SHIPPED

    both_done = apply(second, "DELIVERED", at=T0 + timedelta(hours=1))

    assert both_done.order_delivered
    assert Order.objects.for_tenant(tenant_a).get(pk=order.pk).state == OrderState.DELIVERED
    assert transitions(order).count(("shipped", "delivered")) == 1
    assert delivered_emails(tenant_a) == 2  # one per shipment
    audit = AuditEvent.objects.for_tenant(tenant_a).get(action="order.delivered")
    assert audit.actor == "tracking:test"


def test_a_partially_shipped_order_is_not_delivered(tenant_a):
    order, (first,) = shipped_order(tenant_a, parcels=2, ship=1)
    assert order.state == OrderState.PARTIALLY_SHIPPED

    apply(first, "DELIVERED")

    assert fresh(first).state == S.DELIVERED
    assert Order.objects.for_tenant(tenant_a).get(pk=order.pk).state == OrderState.PARTIALLY_SHIPPED


@pytest.mark.parametrize("state", [S.PENDING, S.PICKING, S.PACKED, S.CANCELLED])
def test_a_shipment_still_in_the_warehouse_is_not_moved_by_tracking(one, state):
    _, shipment = one
    Shipment.objects.for_tenant(shipment.tenant_id).filter(pk=shipment.pk).update(state=state)

    outcome = apply(shipment, "TRANSIT")

    assert outcome.recorded and not outcome.moved
    assert fresh(shipment).state == state


def test_a_bought_label_waiting_for_pickup_is_not_moved_by_pre_transit(one):
    _, shipment = one
    Shipment.objects.for_tenant(shipment.tenant_id).filter(pk=shipment.pk).update(state=S.LABEL_PURCHASED)

    outcome = apply(shipment, "PRE_TRANSIT")

    assert outcome.recorded and not outcome.moved
    assert fresh(shipment).state == S.LABEL_PURCHASED


def test_another_tenants_shipment_cannot_be_moved(one, tenant_b):
    _, shipment = one

    with pytest.raises(Shipment.DoesNotExist):
        tracking_apply(
            tenant=tenant_b, shipment_id=shipment.pk, update=update(shipment, "DELIVERED"), source="t"
        )

    assert fresh(shipment).state == S.SHIPPED
    assert events(shipment) == []


def test_a_shipment_is_found_by_carrier_and_number_within_its_tenant(one, tenant_b):
    _, shipment = one

    found = shipment_find_by_tracking(
        tenant=shipment.tenant_id, carrier="usps", tracking_number=shipment.tracking_number
    )
    assert found == shipment
    assert shipment_find_by_tracking(tenant=shipment.tenant_id, carrier="ups", tracking_number="x") is None
    assert (
        shipment_find_by_tracking(
            tenant=shipment.tenant_id, carrier="ups", tracking_number=shipment.tracking_number
        )
        is None
    )
    assert (
        shipment_find_by_tracking(tenant=tenant_b, carrier="usps", tracking_number=shipment.tracking_number)
        is None
    )


def test_the_tracking_link_is_the_platforms_else_the_carriers_page(one):
    _, shipment = one
    assert tracking_link(shipment) == (
        f"https://tools.usps.com/go/TrackConfirmAction?tLabels={shipment.tracking_number}"
    )
    shipment.tracking_url = "https://track.example/abc"
    assert tracking_link(shipment) == "https://track.example/abc"
    shipment.tracking_url, shipment.carrier = "", "Pigeon Post"
    assert tracking_link(shipment) == ""


@pytest.mark.parametrize(("status", "state"), [("TRANSIT", S.IN_TRANSIT), ("DELIVERED", S.DELIVERED)])
def test_a_carrier_scan_of_a_bought_label_ships_the_shipment_first(tenant_a, status, state):
    order, _ = shipped_order(tenant_a, ship=0)
    shipment = Shipment.objects.for_tenant(tenant_a).get(order=order)
    Shipment.objects.for_tenant(tenant_a).filter(pk=shipment.pk).update(
        state=S.LABEL_PURCHASED, carrier="usps", tracking_number="9400111"
    )

    outcome = apply(fresh(shipment), status)

    after = fresh(shipment)
    assert outcome.moved and after.state == state and after.shipped_at is not None
    assert Order.objects.for_tenant(tenant_a).get(pk=order.pk).state in (
        OrderState.SHIPPED,
        OrderState.DELIVERED,
    )
    shipments_recorded = OrderEvent.objects.for_tenant(tenant_a).filter(
        order=order, type=OrderEventType.SHIPMENT
    )
    assert shipments_recorded.count() == 1
    assert shipments_recorded.get().data["tracking_number"] == "9400111"

    apply(fresh(shipment), status)  # a repeat ships nothing twice
    assert shipments_recorded.count() == 1
