"""Checkout holds: a reserved unit is nobody else's until it expires or is released."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.allocation import DemandLine, ShipTo, allocation_apply
from inventory.errors import InventoryError
from inventory.models import Reservation, StockLevel
from inventory.services import reservation_create, reservation_release
from inventory.tasks import reservations_expire_task
from tests.inventory.conftest import AUSTIN

AUSTIN_TX = ShipTo(country="US", postal_code=AUSTIN)


@pytest.fixture
def one_unit(tenant_a, warehouses, sku_a):
    from tests.inventory.factories import stock

    return stock(tenant_a, sku_a, warehouses[2], 1)


def _expire(reservation):
    Reservation.objects.for_tenant(reservation.tenant_id).filter(pk=reservation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_reserved_unit_cannot_be_allocated_to_another_order(tenant_a, sku_a, one_unit):
    reservation_create(tenant=tenant_a, lines=[(sku_a.pk, 1)], ship_to=AUSTIN_TX)

    plan = allocation_apply(tenant=tenant_a, lines=[DemandLine("other:1", sku_a.pk, 1)], ship_to=AUSTIN_TX)

    assert plan.strategy == "backorder"
    one_unit.refresh_from_db()
    assert (one_unit.on_hand, one_unit.allocated, one_unit.reserved) == (1, 0, 1)


def test_the_reservation_becomes_the_orders_allocation(tenant_a, sku_a, one_unit):
    reservation = reservation_create(tenant=tenant_a, lines=[(sku_a.pk, 1)], ship_to=AUSTIN_TX)

    plan = allocation_apply(
        tenant=tenant_a,
        lines=[DemandLine("order:1", sku_a.pk, 1)],
        ship_to=AUSTIN_TX,
        reservation_id=reservation.pk,
    )

    assert [(p.key, p.stock_level_id, p.quantity) for p in plan.picks] == [("order:1", one_unit.pk, 1)]
    assert plan.strategy == "single_nearest"
    one_unit.refresh_from_db()
    assert (one_unit.allocated, one_unit.reserved) == (1, 0)
    reservation.refresh_from_db()
    assert reservation.state == "consumed"

    with pytest.raises(InventoryError) as error:
        allocation_apply(
            tenant=tenant_a,
            lines=[DemandLine("order:2", sku_a.pk, 1)],
            ship_to=AUSTIN_TX,
            reservation_id=reservation.pk,
        )
    assert error.value.code == "reservation_consumed"
    one_unit.refresh_from_db()
    assert (one_unit.allocated, one_unit.reserved) == (1, 0)


def test_an_expired_reservation_never_blocks_allocation(tenant_a, sku_a, one_unit):
    reservation = reservation_create(tenant=tenant_a, lines=[(sku_a.pk, 1)], ship_to=AUSTIN_TX)
    _expire(reservation)

    plan = allocation_apply(tenant=tenant_a, lines=[DemandLine("other:1", sku_a.pk, 1)], ship_to=AUSTIN_TX)

    assert plan.strategy == "single_nearest"
    assert "had expired" in plan.explanation
    one_unit.refresh_from_db()
    assert (one_unit.allocated, one_unit.reserved) == (1, 0)
    reservation.refresh_from_db()
    assert reservation.state == "expired"


def test_the_expiry_task_frees_expired_holds_only(tenant_a, sku_a, one_unit, warehouses):
    from tests.inventory.factories import stock

    stock(tenant_a, sku_a, warehouses[1], 1)
    expired = reservation_create(tenant=tenant_a, lines=[(sku_a.pk, 1)], ship_to=AUSTIN_TX)
    live = reservation_create(tenant=tenant_a, lines=[(sku_a.pk, 1)], ship_to=AUSTIN_TX)
    _expire(expired)

    assert reservations_expire_task.delay().get() == 1

    expired.refresh_from_db()
    live.refresh_from_db()
    assert (expired.state, live.state) == ("expired", "active")
    assert sum(lv.reserved for lv in StockLevel.objects.for_tenant(tenant_a)) == 1


def test_a_reservation_that_cannot_be_held_holds_nothing(tenant_a, sku_a, one_unit):
    with pytest.raises(InventoryError) as error:
        reservation_create(tenant=tenant_a, lines=[(sku_a.pk, 2)], ship_to=AUSTIN_TX)
    assert error.value.code == "insufficient_stock"
    assert not Reservation.objects.for_tenant(tenant_a).exists()
    one_unit.refresh_from_db()
    assert one_unit.reserved == 0


def test_release_is_idempotent_and_another_tenant_cannot_release(tenant_a, tenant_b, sku_a, one_unit):
    reservation = reservation_create(tenant=tenant_a, lines=[(sku_a.pk, 1)], ship_to=AUSTIN_TX)
    with pytest.raises(Reservation.DoesNotExist):
        reservation_release(tenant=tenant_b, reservation_id=reservation.pk)
    one_unit.refresh_from_db()
    assert one_unit.reserved == 1

    reservation_release(tenant=tenant_a, reservation_id=reservation.pk)
    reservation_release(tenant=tenant_a, reservation_id=reservation.pk)
    one_unit.refresh_from_db()
    assert one_unit.reserved == 0
