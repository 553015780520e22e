"""An order placed with a payment: authorized on commit, or put on a payment hold when declined."""

from __future__ import annotations

from tests.orders.conftest import order_payload

URL = "/api/v1/orders/"


def test_order_with_payment_is_authorized_for_its_total(api_a, stocked, django_capture_on_commit_callbacks):
    body = order_payload(payment={"provider": "sandbox", "payment_method": "pm_card_visa"})
    with django_capture_on_commit_callbacks(execute=True):
        created = api_a.post(URL, body, format="json")
    assert created.status_code == 201
    order = api_a.get(f"{URL}{created.json()['id']}/").json()
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
