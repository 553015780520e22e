"""The sandbox approves any card: only dev and test settings, or a tenant in sandbox mode, reach it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from oms.core.errors import DomainError
from oms.models import Tenant
from orders.payments.services import payment_authorize
from orders.states import PaymentState
from tests.orders.payments.factories import make_order


def test_without_the_setting_a_tenant_not_in_sandbox_mode_cannot_reach_the_sandbox(
    tenant_a, sandbox, settings
):
    settings.PAYMENT_SANDBOX_ALLOWED = False
    order = make_order(tenant_a)

    with pytest.raises(DomainError) as exc:
        payment_authorize(tenant=tenant_a, order=order, provider="sandbox", payment_method="pm_card_visa")

    assert exc.value.code == "payment_provider_not_allowed"
    assert sandbox.calls == []
    assert not order.payments.exists()


def test_a_tenant_in_sandbox_mode_pays_through_the_sandbox_by_default(tenant_a, sandbox, settings):
    settings.PAYMENT_SANDBOX_ALLOWED = False
    tenant_a.payment_gateway = "sandbox"
    tenant_a.save(update_fields=["payment_gateway"])

    payment = payment_authorize(tenant=tenant_a, order=make_order(tenant_a), payment_method="pm_card_visa")

    assert (payment.provider, payment.state) == ("sandbox", PaymentState.AUTHORIZED)


def test_the_demo_tenant_is_explicitly_in_sandbox_mode(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo")

    assert set(Tenant.objects.values_list("payment_gateway", flat=True)) == {"sandbox"}
