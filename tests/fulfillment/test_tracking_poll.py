"""The beat poll asks the carrier about shipments that have gone quiet, tenant by tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from fulfillment import carriers
from fulfillment.carriers import CarrierRefused, CarrierUnavailable, TrackingUpdate
from fulfillment.models import FulfillmentSettings, Shipment, TrackingEvent
from fulfillment.states import ShipmentState as S
from fulfillment.tasks import tracking_poll_quiet_task
from fulfillment.tracking import tracking_poll_quiet
from orders.models import Order
from orders.states import OrderState
from tests.fulfillment.shipped import shipped_order

QUIET = timedelta(hours=30)
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class Carrier:
    """An in-memory carrier platform: a status per tracking number, outages and refusals on demand."""

    def __init__(self):
        self.statuses: dict[str, str] = {}
        self.down_for: set[int] = set()  # tenant ids whose calls fail
        self.refused: set[str] = set()
        self.asked: list[tuple[int, str, str]] = []
        self.atomic_depth: list[int] = []  # how deep in transactions each call was made

    def track(self, tenant, carrier: str, tracking_number: str) -> TrackingUpdate:
        self.asked.append((tenant.pk, carrier, tracking_number))
        self.atomic_depth.append(len(connection.atomic_blocks))
        if tenant.pk in self.down_for:
            raise CarrierUnavailable("503 Service Unavailable")
        if tracking_number in self.refused:
            raise CarrierRefused("Tracking number not found")
        return TrackingUpdate(
            carrier=carrier.lower(),
            tracking_number=tracking_number,
            status=self.statuses.get(tracking_number, "TRANSIT"),
            status_details="Departed the facility",
            status_date=T0,
        )

    def gateway_for(self, tenant):
        platform = self

        class Gateway:
            provider = "shippo"

            def track(self, *, carrier: str, tracking_number: str) -> TrackingUpdate:
                return platform.track(tenant, carrier, tracking_number)

        return Gateway()


@pytest.fixture
def carrier(monkeypatch):
    platform = Carrier()
    monkeypatch.setitem(carriers._FACTORIES, "shippo", platform.gateway_for)
    return platform


def state_of(shipment):
    return Shipment.objects.for_tenant(shipment.tenant_id).get(pk=shipment.pk).state


def test_a_quiet_shipment_is_polled_and_moved(tenant_a, carrier):
    _, (shipment,) = shipped_order(tenant_a, quiet_for=QUIET)
    carrier.statuses[shipment.tracking_number] = "TRANSIT"

    outside = len(connection.atomic_blocks)  # the test's own transaction

    report = tracking_poll_quiet()

    assert carrier.asked == [(tenant_a.pk, "USPS", shipment.tracking_number)]
    assert carrier.atomic_depth == [outside]  # called outside any transaction of the poll's
    assert (report.polled, report.moved) == (1, 1)
    assert state_of(shipment) == S.IN_TRANSIT
    assert TrackingEvent.objects.for_tenant(tenant_a).get().source == "poll"


def test_a_polled_delivery_delivers_the_order(tenant_a, carrier):
    order, (shipment,) = shipped_order(tenant_a, quiet_for=QUIET)
    carrier.statuses[shipment.tracking_number] = "DELIVERED"

    tracking_poll_quiet_task()

    assert state_of(shipment) == S.DELIVERED
    assert Order.objects.for_tenant(tenant_a).get(pk=order.pk).state == OrderState.DELIVERED


def test_a_shipment_heard_from_recently_is_not_polled(tenant_a, carrier):
    _, (recent,) = shipped_order(tenant_a, quiet_for=QUIET)
    Shipment.objects.for_tenant(tenant_a).filter(pk=recent.pk).update(
        last_tracking_at=timezone.now() - timedelta(hours=2)
    )
    shipped_order(tenant_a)  # shipped just now

    report = tracking_poll_quiet()

    assert carrier.asked == []
    assert report.polled == 0


def test_a_poll_answer_counts_as_news_so_the_next_run_waits(tenant_a, carrier):
    shipped_order(tenant_a, quiet_for=QUIET)

    tracking_poll_quiet()
    tracking_poll_quiet()

    assert len(carrier.asked) == 1
    assert TrackingEvent.objects.for_tenant(tenant_a).count() == 1


def test_each_tenant_has_its_own_quiet_hours(tenant_a, tenant_b, carrier):
    FulfillmentSettings.objects.create(tenant=tenant_a, quiet_tracking_hours=48)
    shipped_order(tenant_a, quiet_for=QUIET)  # quiet for 30 hours: not yet for this tenant
    _, (eager,) = shipped_order(tenant_b, quiet_for=QUIET)  # the default: 24 hours

    tracking_poll_quiet()

    assert [number for _, _, number in carrier.asked] == [eager.tracking_number]


def test_only_departed_undelivered_shipments_with_a_number_are_polled(tenant_a, carrier):
    _, shipments = shipped_order(tenant_a, parcels=2, quiet_for=QUIET)
    delivered, unnumbered = shipments
    Shipment.objects.for_tenant(tenant_a).filter(pk=delivered.pk).update(state=S.DELIVERED)
    Shipment.objects.for_tenant(tenant_a).filter(pk=unnumbered.pk).update(tracking_number="")
    _, (in_exception,) = shipped_order(tenant_a, quiet_for=QUIET)
    Shipment.objects.for_tenant(tenant_a).filter(pk=in_exception.pk).update(state=S.EXCEPTION)

    tracking_poll_quiet()

    assert [number for _, _, number in carrier.asked] == [in_exception.tracking_number]


def test_a_run_is_bounded_per_tenant_quietest_first(tenant_a, carrier):
    shipments = [shipped_order(tenant_a, quiet_for=QUIET + timedelta(hours=h))[1][0] for h in (1, 3, 2)]

    report = tracking_poll_quiet(per_tenant=2)

    assert report.polled == 2
    assert [number for _, _, number in carrier.asked] == [
        shipments[1].tracking_number,
        shipments[2].tracking_number,
    ]


def test_a_carrier_outage_ends_that_tenants_turn_and_not_the_sweep(tenant_a, tenant_b, carrier):
    down = [shipped_order(tenant_a, quiet_for=QUIET)[1][0] for _ in range(5)]
    _, (fine,) = shipped_order(tenant_b, quiet_for=QUIET)
    carrier.down_for.add(tenant_a.pk)

    report = tracking_poll_quiet()

    asked_a = [a for a in carrier.asked if a[0] == tenant_a.pk]
    assert len(asked_a) == 3  # three outages in a row end the tenant's turn
    assert report.unavailable == 3
    assert f"{tenant_a.pk}: carrier unavailable" in report.skipped_tenants
    assert state_of(fine) == S.IN_TRANSIT
    assert all(state_of(s) == S.SHIPPED for s in down)
    assert all(
        Shipment.objects.for_tenant(tenant_a).get(pk=s.pk).last_tracking_at is None for s in down
    )  # asked again next run


def test_a_number_the_carrier_refuses_waits_another_quiet_period(tenant_a, carrier):
    _, (shipment,) = shipped_order(tenant_a, quiet_for=QUIET)
    carrier.refused.add(shipment.tracking_number)

    report = tracking_poll_quiet()
    tracking_poll_quiet()

    assert report.refused == 1
    assert len(carrier.asked) == 1
    assert Shipment.objects.for_tenant(tenant_a).get(pk=shipment.pk).last_tracking_at is not None
    assert state_of(shipment) == S.SHIPPED


def test_a_tenant_without_a_carrier_account_is_skipped(tenant_a, tenant_b, carrier, monkeypatch):
    def no_account(tenant):
        if tenant.pk == tenant_a.pk:
            raise carriers.NoCarrierAccount("shippo")
        return carrier.gateway_for(tenant)

    monkeypatch.setitem(carriers._FACTORIES, "shippo", no_account)
    shipped_order(tenant_a, quiet_for=QUIET)
    _, (other,) = shipped_order(tenant_b, quiet_for=QUIET)

    report = tracking_poll_quiet()

    assert report.skipped_tenants == [f"{tenant_a.pk}: no shippo account"]
    assert state_of(other) == S.IN_TRANSIT


def test_an_error_in_one_tenant_does_not_stop_the_others(tenant_a, tenant_b, carrier, monkeypatch):
    def broken(tenant):
        if tenant.pk == tenant_a.pk:
            raise RuntimeError("bug")
        return carrier.gateway_for(tenant)

    monkeypatch.setitem(carriers._FACTORIES, "shippo", broken)
    shipped_order(tenant_a, quiet_for=QUIET)
    _, (other,) = shipped_order(tenant_b, quiet_for=QUIET)

    report = tracking_poll_quiet()

    assert report.skipped_tenants == [f"{tenant_a.pk}: error"]
    assert state_of(other) == S.IN_TRANSIT


def test_the_poll_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["fulfillment-tracking-poll-quiet"]
    assert entry["task"] == "fulfillment.tasks.tracking_poll_quiet_task"
    assert entry["schedule"] == settings.TRACKING_POLL_SECONDS == 900
