"""Small builders for payment tests: an order row (no lines needed), a Stripe account, a payment."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from integrations.models import ChannelAccount
from orders.models import Address, Customer, Order, Payment
from orders.services import LineInput, order_create
from orders.states import PaymentState

_numbers = itertools.count(1)

WEBHOOK_SECRET = "whsec_test_local"


def make_order(tenant: Any, *, total: str = "100.00", currency: str = "USD", state: str = "pending") -> Order:
    n = next(_numbers)
    customer, _ = Customer.objects.for_tenant(tenant).get_or_create(
        tenant=tenant, email=f"buyer{n}@example.test", defaults={"name": "Buyer"}
    )
    address = Address.objects.create(
        tenant=tenant, line1="1 Main St", city="Austin", postal_code="78701", country="US"
    )
    return Order.objects.create(
        tenant=tenant,
        channel="web",
        external_id=f"W-{n}",
        number=f"P{n:05d}",
        state=state,
        currency=currency,
        subtotal=Decimal(total),
        total=Decimal(total),
        customer=customer,
        ship_to=address,
        placed_at=timezone.now(),
    )


def place_order(
    tenant: Any,
    *,
    quantity: int = 2,
    unit_price: str = "19.99",
    tax: str | None = None,
    external_id: str = "",
) -> Order:
    """An order placed through order_create with real lines (SKU-123 from the `stocked` fixture)
    and 5.00 shipping: 2 x 19.99 makes 44.98. Its payment task (on commit) does not run here."""
    from tests.orders.conftest import order_input

    data = order_input(
        external_id or f"W-P{next(_numbers)}",
        lines=[{"sku": "SKU-123", "quantity": quantity, "unit_price": unit_price}],
    )
    if tax is not None:
        data.tax = Decimal(tax)
    return order_create(tenant=tenant, data=data)[0]


def lines(quantity: int, unit_price: str = "19.99") -> list[LineInput]:
    return [LineInput(sku="SKU-123", quantity=quantity, unit_price=Decimal(unit_price))]


def make_stripe_account(
    tenant: Any, base_url: str = "", *, secret: str = WEBHOOK_SECRET, name: str = "main"
) -> ChannelAccount:
    return ChannelAccount.objects.create(
        tenant=tenant,
        kind="stripe",
        name=name,
        base_url=base_url,
        credentials=f"sk_test_{tenant.slug}",
        webhook_secret=secret,
    )


def make_payment(
    order: Order,
    *,
    provider: str = "stripe",
    provider_id: str = "pi_test_1",
    state: str = PaymentState.AUTHORIZED,
    authorized: str | None = None,
    captured: str = "0.00",
    refunded: str = "0.00",
) -> Payment:
    """A payment row as if the provider had already answered (for webhook tests)."""
    amount = Decimal(authorized if authorized is not None else order.total)
    return Payment.objects.create(
        tenant_id=order.tenant_id,
        order=order,
        provider=provider,
        provider_id=provider_id,
        payment_method="pm_card_visa",
        state=state,
        currency=order.currency,
        amount_authorized=amount,
        amount_captured=Decimal(captured),
        amount_refunded=Decimal(refunded),
        authorized_at=timezone.now() - timedelta(minutes=5),
        authorization_expires_at=timezone.now() + timedelta(days=7),
    )
