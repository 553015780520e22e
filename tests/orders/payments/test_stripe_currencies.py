"""Zero- and three-decimal currencies reach Stripe (localstripe) in their own minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.stripe.gateway import stripe_client
from orders.payments.services import payment_authorize
from tests.orders.payments.factories import make_order


@pytest.mark.parametrize(
    ("currency", "total", "minor"),
    [("USD", "44.98", 4498), ("JPY", "1000.00", 1000), ("KWD", "12.35", 12350)],
)
def test_the_intent_holds_the_amount_in_the_currencys_minor_unit(tenant_a, stripe_a, currency, total, minor):
    order = make_order(tenant_a, total=total, currency=currency)

    payment = payment_authorize(
        tenant=tenant_a, order=order, provider="stripe", payment_method="pm_card_visa"
    )

    intent = stripe_client(stripe_a).v1.payment_intents.retrieve(payment.provider_id)
    assert (intent.amount, intent.currency) == (minor, currency.lower())
    assert payment.amount_authorized == Decimal(total)
