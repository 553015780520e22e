"""Stripe webhooks: verified, stored first, processed once, scoped to the account's tenant."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import stripe
from celery.exceptions import Retry

from integrations.inbox import (
    InboundEventRetry,
    inbound_event_process,
    inbound_events_replay,
    register_inbound_handler,
)
from integrations.models import InboundEvent
from integrations.stripe.events import stripe_event_handle
from orders.models import Hold, Order, OrderEvent, Payment
from orders.states import HoldKind, OrderState, PaymentState
from tests.integrations.conftest import stripe_event
from tests.orders.payments.factories import WEBHOOK_SECRET, make_order, make_payment


def _events(tenant):
    return InboundEvent.objects.for_tenant(tenant)


def test_a_bad_signature_is_refused_and_kept_as_rejected(tenant_a, account_a, order_a, post_webhook):
    payment = make_payment(order_a, provider_id="pi_a1")
    payload = stripe_event("payment_intent.payment_failed", {"id": "pi_a1", "object": "payment_intent"})

    response = post_webhook(account_a, payload, secret="whsec_wrong")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    row = _events(tenant_a).get()
    assert row.state == "rejected"
    assert row.event_id == ""  # an unverified id does not take the real event's slot
    assert row.body == payload
    assert Payment.objects.for_tenant(tenant_a).get(pk=payment.pk).state == PaymentState.AUTHORIZED


def test_a_missing_signature_is_refused(tenant_a, account_a, post_webhook):
    response = post_webhook(account_a, stripe_event("charge.refunded", {}), secret=None)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert _events(tenant_a).get().state == "rejected"


def test_a_stale_signature_is_refused(tenant_a, account_a, post_webhook):
    payload = stripe_event("charge.refunded", {})
    old = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET, timestamp=1_000_000_000)

    assert post_webhook(account_a, payload, signature=old).status_code == 401
    assert _events(tenant_a).get().state == "rejected"


@pytest.mark.parametrize("payload", ["{not json", json.dumps({"object": "event"}), "[]"])
def test_a_malformed_body_is_refused_and_kept(tenant_a, account_a, post_webhook, payload):
    response = post_webhook(account_a, payload)

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_payload"
    assert _events(tenant_a).get().state == "rejected"


def test_an_unknown_token_is_answered_like_a_bad_signature(db, client):
    response = client.post("/webhooks/stripe/no-such-token/", data="{}", content_type="application/json")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert not InboundEvent.objects.unscoped().exists()


def test_the_same_event_delivered_five_times_is_processed_once(tenant_a, account_a, order_a, post_webhook):
    payment = make_payment(order_a, provider_id="pi_a2")
    payload = stripe_event(
        "payment_intent.succeeded",
        {
            "id": "pi_a2",
            "object": "payment_intent",
            "amount": 10000,
            "amount_received": 10000,
            "currency": "usd",
        },
        event_id="evt_five",
    )

    responses = [post_webhook(account_a, payload) for _ in range(5)]

    assert [r.status_code for r in responses] == [200] * 5
    assert [r.json()["duplicate"] for r in responses] == [False, True, True, True, True]
    row = _events(tenant_a).get()
    assert (row.state, row.deliveries, row.attempts) == ("processed", 5, 1)
    payment = Payment.objects.for_tenant(tenant_a).get(pk=payment.pk)
    assert payment.state == PaymentState.CAPTURED
    assert payment.amount_captured == Decimal("100.00")
    assert OrderEvent.objects.for_tenant(tenant_a).filter(order=order_a, type="payment").count() == 1


def test_an_event_through_another_tenants_account_cannot_touch_this_tenants_payments(
    tenant_a, tenant_b, account_a, account_b, order_a, post_webhook
):
    payment = make_payment(order_a, provider_id="pi_victim")
    # Tenant B's account, tenant B's secret, tenant A's PaymentIntent id and metadata.
    obj = {
        "id": "pi_victim",
        "object": "payment_intent",
        "metadata": {"tenant": str(tenant_a.pk), "payment": str(payment.pk)},
        "last_payment_error": {"code": "card_declined", "message": "declined"},
    }
    payload = stripe_event("payment_intent.payment_failed", obj, event_id="evt_cross")

    response = post_webhook(account_b, payload, secret="whsec_globex")

    assert response.status_code == 200
    row = _events(tenant_b).get()
    assert (row.state, row.outcome) == ("ignored", "no matching payment")
    assert not _events(tenant_a).exists()
    assert Payment.objects.for_tenant(tenant_a).get(pk=payment.pk).state == PaymentState.AUTHORIZED
    assert not Hold.objects.for_tenant(tenant_a).exists()
    # Signed with A's secret but sent to B's endpoint: rejected.
    assert post_webhook(account_b, payload, secret=WEBHOOK_SECRET).status_code == 401


def test_payment_failed_fails_the_payment_and_holds_the_order(tenant_a, account_a, order_a, post_webhook):
    payment = make_payment(order_a, provider_id="pi_a3", state=PaymentState.PENDING, authorized="0")
    obj = {
        "id": "pi_a3",
        "object": "payment_intent",
        "status": "requires_payment_method",
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
    }

    post_webhook(account_a, stripe_event("payment_intent.payment_failed", obj, event_id="evt_fail"))

    payment = Payment.objects.for_tenant(tenant_a).get(pk=payment.pk)
    assert (payment.state, payment.failure_code) == (PaymentState.FAILED, "card_declined")
    hold = Hold.objects.for_tenant(tenant_a).get(order=order_a)
    assert hold.kind == HoldKind.PAYMENT and hold.released_at is None
    assert Order.objects.for_tenant(tenant_a).get(pk=order_a.pk).state == OrderState.ON_HOLD


def test_a_stale_failure_does_not_fail_an_authorized_payment(tenant_a, account_a, order_a, post_webhook):
    payment = make_payment(order_a, provider_id="pi_a4")
    obj = {"id": "pi_a4", "object": "payment_intent", "last_payment_error": {"code": "card_declined"}}

    post_webhook(account_a, stripe_event("payment_intent.payment_failed", obj, created=1_000_000_000))

    assert Payment.objects.for_tenant(tenant_a).get(pk=payment.pk).state == PaymentState.AUTHORIZED
    assert not Hold.objects.for_tenant(tenant_a).exists()


def test_charge_refunded_in_the_dashboard_is_synced(tenant_a, account_a, order_a, post_webhook):
    payment = make_payment(order_a, provider_id="pi_a5", state=PaymentState.CAPTURED, captured="100.00")
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": "pi_a5",
        "amount": 10000,
        "amount_captured": 10000,
        "amount_refunded": 2500,
        "currency": "usd",
    }

    post_webhook(account_a, stripe_event("charge.refunded", charge, event_id="evt_r1"))
    post_webhook(
        account_a, stripe_event("charge.refunded", {**charge, "amount_refunded": 1000}, event_id="evt_r0")
    )

    payment = Payment.objects.for_tenant(tenant_a).get(pk=payment.pk)
    assert (payment.amount_refunded, payment.state) == (Decimal("25.00"), PaymentState.PARTIALLY_REFUNDED)


def test_a_dispute_records_an_event_and_a_fraud_hold(tenant_a, account_a, order_a, post_webhook):
    make_payment(order_a, provider_id="pi_a6", state=PaymentState.CAPTURED, captured="100.00")
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "payment_intent": "pi_a6",
        "amount": 10000,
        "currency": "usd",
        "reason": "fraudulent",
        "charge": "ch_2",
    }

    post_webhook(account_a, stripe_event("charge.dispute.created", dispute, event_id="evt_d1"))
    post_webhook(account_a, stripe_event("charge.dispute.created", dispute, event_id="evt_d1_again"))

    assert Hold.objects.for_tenant(tenant_a).get(order=order_a).kind == HoldKind.FRAUD
    events = OrderEvent.objects.for_tenant(tenant_a).filter(order=order_a, type="payment")
    assert [e.message for e in events] == ["Dispute opened (fraudulent)"]


def test_unknown_event_types_are_ignored(tenant_a, account_a, post_webhook):
    response = post_webhook(account_a, stripe_event("customer.created", {"id": "cus_1"}, event_id="evt_c"))

    assert response.status_code == 200
    assert _events(tenant_a).get().state == "ignored"


def test_a_failing_handler_retries_then_dead_letters_then_replays(tenant_a, account_a, order_a, post_webhook):
    payment = make_payment(order_a, provider_id="pi_a7")
    calls = []

    def broken(event, payload):
        calls.append(event.pk)
        raise RuntimeError("database was away")

    register_inbound_handler("stripe", broken)
    try:
        payload = stripe_event(
            "payment_intent.succeeded",
            {"id": "pi_a7", "amount": 10000, "amount_received": 10000, "currency": "usd"},
            event_id="evt_dead",
        )
        with pytest.raises(Retry):  # the task asks Celery to retry with backoff
            post_webhook(account_a, payload)
        row = _events(tenant_a).get()
        assert (row.state, row.attempts) == ("failed", 1)
        for _ in range(3):
            with pytest.raises(InboundEventRetry):
                inbound_event_process(tenant_id=tenant_a.pk, event_id=row.pk)
        inbound_event_process(tenant_id=tenant_a.pk, event_id=row.pk)  # the fifth attempt: dead letter
        row = _events(tenant_a).get()
        assert (row.state, row.attempts) == ("dead", 5)
        assert "database was away" in row.error
        assert len(calls) == 5
        inbound_event_process(tenant_id=tenant_a.pk, event_id=row.pk)  # dead stays dead
        assert len(calls) == 5
    finally:
        register_inbound_handler("stripe", stripe_event_handle)

    assert inbound_events_replay(tenant=tenant_a, event_ids=[row.pk], actor="test") == 1
    row = _events(tenant_a).get()
    assert row.state == "received"
    inbound_event_process(tenant_id=tenant_a.pk, event_id=row.pk)
    assert _events(tenant_a).get().state == "processed"
    assert Payment.objects.for_tenant(tenant_a).get(pk=payment.pk).state == PaymentState.CAPTURED


def test_a_real_localstripe_event_flows_through(tenant_a, localstripe_url, post_webhook):
    from integrations.stripe.gateway import stripe_client
    from orders.payments.services import payment_authorize
    from tests.orders.payments.factories import make_stripe_account

    account = make_stripe_account(tenant_a, localstripe_url, name="live")
    order = make_order(tenant_a)
    payment = payment_authorize(
        tenant=tenant_a, order=order, provider="stripe", payment_method="pm_card_chargeCustomerFail"
    )
    assert payment.state == PaymentState.FAILED
    events = stripe_client(account).v1.events.list(params={"limit": 100}).data
    failed = next(
        e
        for e in events
        if e.type == "payment_intent.payment_failed"
        and e.data.object.metadata.to_dict().get("payment") == str(payment.pk)
    )

    response = post_webhook(account, json.dumps(failed.to_dict()))

    assert response.status_code == 200
    assert _events(tenant_a).get().state == "processed"
    assert Payment.objects.for_tenant(tenant_a).get(pk=payment.pk).provider_id.startswith("pi_")
    assert Hold.objects.for_tenant(tenant_a).get(order=order).kind == HoldKind.PAYMENT
