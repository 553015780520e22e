"""Integration fixtures: localstripe for the session, Stripe accounts, signed webhook deliveries."""

from __future__ import annotations

import json
import time

import pytest
import stripe
from django.urls import reverse

from tests.fakes.localstripe import localstripe_url  # noqa: F401  (session fixture)
from tests.orders.payments.factories import WEBHOOK_SECRET, make_order, make_stripe_account


@pytest.fixture
def account_a(tenant_a):
    return make_stripe_account(tenant_a)


@pytest.fixture
def account_b(tenant_b):
    return make_stripe_account(tenant_b, secret="whsec_globex")


@pytest.fixture
def order_a(tenant_a):
    return make_order(tenant_a, total="100.00")


def stripe_event(event_type: str, obj: dict, *, event_id: str = "evt_1", created: int | None = None) -> str:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": created or int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }
    )


@pytest.fixture
def post_webhook(client, django_capture_on_commit_callbacks):
    """POST a delivery to an account's endpoint, signed with `secret`; queued processing runs on commit."""

    def post(account, payload: str, *, secret: str | None = WEBHOOK_SECRET, signature: str | None = None):
        headers = {}
        if signature is not None:
            headers["HTTP_STRIPE_SIGNATURE"] = signature
        elif secret is not None:
            headers["HTTP_STRIPE_SIGNATURE"] = stripe.WebhookSignature.generate_signature_header(
                payload, secret
            )
        url = reverse("integrations:webhook", kwargs={"kind": "stripe", "token": account.webhook_token})
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data=payload, content_type="application/json", **headers)

    return post
