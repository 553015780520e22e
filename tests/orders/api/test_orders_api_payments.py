"""An order placed with a payment: authorized at checkout (one attempt), or held when declined."""

from __future__ import annotations

import subprocess
import sys

from orders.models import Order, Payment
from orders.payments import PaymentGatewayUnavailable, SandboxGateway, sandbox_gateway
from orders.tasks import payment_authorize_task
from tests.orders.conftest import order_payload

URL = "/api/v1/orders/"
CARD = {"provider": "sandbox", "payment_method": "pm_card_visa"}
DECLINED = {"provider": "sandbox", "payment_method": "pm_card_chargeDeclined"}


def _payments(order: dict) -> list[tuple[str, str, str]]:
    return [(p["provider"], p["state"], p["amount"]) for p in order["payments"]]


def _authorize_calls() -> int:
    return [method for method, _ in sandbox_gateway.calls].count("authorize")


def test_the_create_response_already_shows_the_authorization(api_a, stocked):
    created = api_a.post(URL, order_payload(payment=CARD), format="json")

    assert created.status_code == 201
    order = created.json()
    assert _payments(order) == [("sandbox", "authorized", "44.98")]
    assert order["state"] == "allocated"


def test_declined_payment_puts_the_order_on_a_payment_hold(
    api_a, stocked, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = api_a.post(URL, order_payload(payment=DECLINED), format="json")

    order = api_a.get(f"{URL}{created.json()['id']}/").json()
    assert _payments(order) == [("sandbox", "failed", "0.00")]
    assert order["state"] == "on_hold"
    assert [h["kind"] for h in order["holds"]] == ["payment"]


def test_a_declined_card_is_tried_once_by_checkout_task_and_redelivery(
    api_a, stocked, tenant_a, django_capture_on_commit_callbacks
):
    # The task enqueued on commit and the checkout's own call make one attempt between them.
    with django_capture_on_commit_callbacks(execute=True):
        created = api_a.post(URL, order_payload(payment=DECLINED), format="json")
    order_id = int(created.json()["id"])
    assert _authorize_calls() == 1

    # A redelivered task gets the stored refusal; the provider is not asked again.
    payment_authorize_task(tenant_id=tenant_a.pk, order_id=order_id, **DECLINED)

    assert _authorize_calls() == 1
    assert Payment.objects.for_tenant(tenant_a).filter(order_id=order_id).count() == 1
    assert _payments(api_a.get(f"{URL}{order_id}/").json()) == [("sandbox", "failed", "0.00")]


def test_the_authorization_task_on_commit_does_not_authorize_twice(
    api_a, stocked, tenant_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = api_a.post(URL, order_payload(payment=CARD), format="json")

    assert _payments(created.json()) == [("sandbox", "authorized", "44.98")]
    assert Payment.objects.for_tenant(tenant_a).count() == 1
    assert _authorize_calls() == 1


def test_unknown_payment_provider_is_a_field_error(api_a, stocked):
    response = api_a.post(
        URL, order_payload(payment={"provider": "paypal", "payment_method": "x"}), format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["payment.provider"][0]["code"] == "invalid_choice"


def test_an_unreachable_provider_leaves_the_payment_to_the_worker(api_a, stocked, monkeypatch):
    def down(self, **kwargs):
        raise PaymentGatewayUnavailable("connection refused")

    monkeypatch.setattr(SandboxGateway, "authorize", down)
    created = api_a.post(URL, order_payload(payment=CARD), format="json")

    assert created.status_code == 201
    body = created.json()
    assert body["state"] == "allocated"
    assert _payments(body) == [("sandbox", "pending", "0.00")]


# --- which gateway -------------------------------------------------------------------------------
def test_the_default_provider_is_the_tenants_configured_gateway(api_a, stocked, tenant_a):
    tenant_a.payment_gateway = "sandbox"
    tenant_a.save(update_fields=["payment_gateway"])

    created = api_a.post(URL, order_payload(payment={"payment_method": "pm_card_visa"}), format="json")

    assert created.status_code == 201
    assert _payments(created.json()) == [("sandbox", "authorized", "44.98")]


def test_a_tenant_without_a_configured_gateway_is_refused_before_the_order_is_placed(
    api_a, stocked, tenant_a
):
    # tenant_a's gateway is Stripe by default, and it has no Stripe account.
    response = api_a.post(URL, order_payload(payment={"payment_method": "pm_card_visa"}), format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "payment_provider_not_configured"
    assert not Order.objects.for_tenant(tenant_a).exists()


def test_production_settings_keep_the_sandbox_from_a_tenant_not_in_sandbox_mode(
    api_a, stocked, tenant_a, settings
):
    settings.PAYMENT_SANDBOX_ALLOWED = False

    refused = api_a.post(URL, order_payload(payment=CARD), format="json")

    assert refused.status_code == 422
    assert refused.json()["code"] == "payment_provider_not_allowed"
    assert not Order.objects.for_tenant(tenant_a).exists()
    assert sandbox_gateway.calls == []

    tenant_a.payment_gateway = "sandbox"  # explicitly in sandbox mode
    tenant_a.save(update_fields=["payment_gateway"])
    allowed = api_a.post(URL, order_payload(payment=CARD), format="json")
    assert _payments(allowed.json()) == [("sandbox", "authorized", "44.98")]


def test_production_settings_never_allow_the_sandbox_for_every_tenant():
    probe = "import oms.settings.prod as s; print(s.PAYMENT_SANDBOX_ALLOWED)"
    env = {
        "SECRET_KEY": "x" * 50,
        "FIELD_ENCRYPTION_KEY": "k",
        "ALLOWED_HOSTS": "shop.example",
        "PAYMENT_SANDBOX_ALLOWED": "1",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
