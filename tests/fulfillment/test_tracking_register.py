"""On ship, the carrier platform is asked to follow a parcel it did not label (a 3PL's number)."""

from __future__ import annotations

import pytest

from fulfillment import carriers
from fulfillment.carriers import CarrierRefused, CarrierUnavailable
from fulfillment.models import Label, Shipment
from fulfillment.states import LabelState
from fulfillment.tasks import shipment_tracking_register_task
from tests.fulfillment.shipped import shipped_order


class Platform:
    def __init__(self):
        self.registered: list[tuple[int, str, str, str]] = []
        self.fail: Exception | None = None

    def gateway_for(self, tenant):
        platform = self

        class Gateway:
            provider = "shippo"

            def register_tracking(self, *, carrier, tracking_number, reference):
                if platform.fail is not None:
                    raise platform.fail
                platform.registered.append((tenant.pk, carrier, tracking_number, reference))

        return Gateway()


@pytest.fixture
def platform(monkeypatch):
    found = Platform()
    monkeypatch.setitem(carriers._FACTORIES, "shippo", found.gateway_for)
    return found


def register(shipment):
    shipment_tracking_register_task(tenant_id=shipment.tenant_id, shipment_id=shipment.pk)


def test_a_3pl_tracking_number_is_registered(tenant_a, platform):
    _, (shipment,) = shipped_order(tenant_a)

    register(shipment)

    assert platform.registered == [(tenant_a.pk, "USPS", shipment.tracking_number, shipment.number)]


def test_a_label_bought_through_the_platform_is_followed_already(tenant_a, platform):
    _, (shipment,) = shipped_order(tenant_a)
    Label.objects.create(
        tenant=tenant_a,
        shipment=shipment,
        reference=f"label-{shipment.pk}",
        state=LabelState.PURCHASED,
        tracking_number=shipment.tracking_number,
    )

    register(shipment)

    assert platform.registered == []


def test_an_outage_is_retried_and_a_refusal_is_left_to_the_poll(tenant_a, platform):
    _, (shipment,) = shipped_order(tenant_a)
    platform.fail = CarrierUnavailable("timeout")
    with pytest.raises(CarrierUnavailable):
        register(shipment)

    platform.fail = CarrierRefused("Invalid tracking number")
    register(shipment)  # no error, nothing to retry

    assert platform.registered == []


def test_the_register_task_with_another_tenants_shipment_finds_nothing(tenant_a, tenant_b, platform):
    _, (shipment,) = shipped_order(tenant_a)

    with pytest.raises(Shipment.DoesNotExist):
        shipment_tracking_register_task(tenant_id=tenant_b.pk, shipment_id=shipment.pk)

    assert platform.registered == []
