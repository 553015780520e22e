"""Payment fixtures: localstripe for the session, a Stripe account per test tenant, the sandbox."""

from __future__ import annotations

import pytest

from orders.payments import sandbox_gateway
from tests.fakes.localstripe import localstripe_url  # noqa: F401  (session fixture)
from tests.orders.payments.factories import make_order, make_stripe_account


@pytest.fixture
def sandbox():
    sandbox_gateway.reset()
    yield sandbox_gateway
    sandbox_gateway.reset()


@pytest.fixture
def stripe_a(tenant_a, localstripe_url):  # noqa: F811
    return make_stripe_account(tenant_a, localstripe_url)


@pytest.fixture
def order_a(tenant_a):
    return make_order(tenant_a, total="100.00")
