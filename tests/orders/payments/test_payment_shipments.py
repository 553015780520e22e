"""One capture operation per shipment: what is captured equals what shipped, whatever fails on the way."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import OrderEvent, Payment, PaymentOperation
from orders.payments import PaymentGatewayUnavailable, register_gateway
from orders.payments.policies import payment_capture_for_shipment
from orders.payments.services import payment_authorize
from orders.services import order_record_shipment
from tests.orders.payments.factories import place_order
from tests.orders.payments.gateways import FlakyCaptureGateway


def _ship(tenant, order, reference, quantity):
    line = order.lines.get()
    order_record_shipment(
        tenant=tenant, order_id=order.pk, reference=reference, quantities={line.pk: quantity}
    )
    event = OrderEvent.objects.for_tenant(tenant).get(order=order, type="shipment", data__reference=reference)
    return Decimal(event.data["amount"])


def _capture(tenant, order, reference, amount):
    payment_capture_for_shipment(
        tenant=tenant, order_id=order.pk, shipment_amount=amount, shipment_ref=reference
    )


@pytest.mark.parametrize("split", ["per_shipment", "all_at_first"])
def test_two_shipments_with_a_transient_error_on_the_first_capture_what_shipped(tenant_a, stocked, split):
    tenant_a.split_capture_policy = split
    tenant_a.save(update_fields=["split_capture_policy"])
    gateway = FlakyCaptureGateway()
    register_gateway("flaky-capture", lambda tenant: gateway)
    order = place_order(tenant_a)  # 2 x 19.99 + 5.00 shipping = 44.98
    payment_authorize(tenant=tenant_a, order=order, provider="flaky-capture", payment_method="pm_card_visa")
    first = _ship(tenant_a, order, "SHP-1", 1)  # 19.99 + the shipping: 24.99
    second = _ship(tenant_a, order, "SHP-2", 1)  # the rest: 19.99

    with pytest.raises(PaymentGatewayUnavailable):
        _capture(tenant_a, order, "SHP-1", first)
    _capture(tenant_a, order, "SHP-2", second)  # finishes the first shipment's capture, then its own
    _capture(tenant_a, order, "SHP-1", first)  # the first shipment's retry
    _capture(tenant_a, order, "SHP-2", second)  # and a redelivery of the second

    payments = Payment.objects.for_tenant(tenant_a).filter(order=order)
    assert (first + second, sum(p.amount_captured for p in payments)) == (Decimal("44.98"), Decimal("44.98"))
    keys = sorted(
        PaymentOperation.objects.for_tenant(tenant_a)
        .filter(kind__in=["capture", "charge"])
        .values_list("idempotency_key", flat=True)
    )
    primary = payments.get(purpose="order")
    if split == "per_shipment":
        assert keys == [
            f"{tenant_a.pk}:order:{order.pk}:shipment:SHP-2:charge",
            f"{tenant_a.pk}:payment:{primary.pk}:capture:shipment:SHP-1",
        ]
    else:
        assert keys == [f"{tenant_a.pk}:payment:{primary.pk}:capture:shipment:SHP-1"]
