"""An order placed with a payment: authorized on commit, or put on a payment hold when declined."""

from __future__ import annotations

from tests.orders.conftest import order_payload

URL = "/api/v1/orders/"


def test_the_create_response_already_shows_the_authorization(api_a, stocked):
    body = order_payload(payment={"provider": "sandbox", "payment_method": "pm_card_visa"})
    created = api_a.post(URL, body, format="json")
    assert created.status_code == 201
    order = created.json()
    assert [(p["provider"], p["state"], p["amount"]) for p in order["payments"]] == [
        ("sandbox", "authorized", "44.98")
    ]
    assert order["state"] == "allocated"


def test_declined_payment_puts_the_order_on_a_payment_hold(
    api_a, stocked, django_capture_on_commit_callbacks
):
    body = order_payload(payment={"provider": "sandbox", "payment_method": "pm_card_chargeDeclined"})
    with django_capture_on_commit_callbacks(execute=True):
        created = api_a.post(URL, body, format="json")
    order = api_a.get(f"{URL}{created.json()['id']}/").json()
    assert order["payments"][0]["state"] == "failed"
    assert order["state"] == "on_hold"
    assert [h["kind"] for h in order["holds"]] == ["payment"]


def test_unknown_payment_provider_is_a_field_error(api_a, stocked):
    response = api_a.post(
        URL, order_payload(payment={"provider": "paypal", "payment_method": "x"}), format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["payment.provider"][0]["code"] == "invalid_choice"


def test_the_authorization_task_on_commit_does_not_authorize_twice(
    api_a, stocked, tenant_a, django_capture_on_commit_callbacks
):
    from orders.models import Payment
    from orders.payments import sandbox_gateway

    body = order_payload(payment={"provider": "sandbox", "payment_method": "pm_card_visa"})
    with django_capture_on_commit_callbacks(execute=True):
        created = api_a.post(URL, body, format="json")
    assert created.json()["payments"][0]["state"] == "authorized"
    assert Payment.objects.for_tenant(tenant_a).count() == 1
    assert [method for method, _ in sandbox_gateway.calls].count("authorize") == 1


def test_an_unreachable_provider_leaves_the_payment_to_the_worker(api_a, stocked, monkeypatch):
    from orders.payments import PaymentGatewayUnavailable, SandboxGateway

    def down(self, **kwargs):
        raise PaymentGatewayUnavailable("connection refused")

    monkeypatch.setattr(SandboxGateway, "authorize", down)
    created = api_a.post(
        URL, order_payload(payment={"provider": "sandbox", "payment_method": "pm_card_visa"}), format="json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["state"] == "allocated"
    assert [p["state"] for p in body["payments"]] == ["pending"]
