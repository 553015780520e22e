"""Webhook URLs: an unguessable token per account, answers that do not tell whether an account
exists, rejected deliveries kept as bounded summaries and rate-limited per endpoint."""

from __future__ import annotations

import json
import secrets

import pytest
import stripe

from integrations import webhooks
from integrations.inbox import MAX_REJECTED_BODY_BYTES, SCRUBBED
from integrations.models import ChannelAccount, InboundEvent
from tests.integrations.conftest import stripe_event
from tests.orders.payments.factories import WEBHOOK_SECRET, make_stripe_account

UNVERIFIED = {"code": "invalid_signature", "message": "The delivery could not be verified."}


def _post(client, path, body="{}", **headers):
    return client.post(path, data=body, content_type="application/json", **headers)


def _signed(payload, secret=WEBHOOK_SECRET):
    return {"HTTP_STRIPE_SIGNATURE": stripe.WebhookSignature.generate_signature_header(payload, secret)}


def _rows(tenant):
    return InboundEvent.objects.for_tenant(tenant)


def test_the_url_carries_an_unguessable_token_not_the_accounts_id(client, tenant_a, tenant_b):
    a, b = make_stripe_account(tenant_a), make_stripe_account(tenant_b)

    assert a.webhook_path == f"/webhooks/stripe/{a.webhook_token}/"
    assert len(a.webhook_token) >= 43 and a.webhook_token != b.webhook_token
    assert str(a.pk) not in a.webhook_path.split("/")
    payload = stripe_event("customer.created", {"id": "cus_1"}, event_id="evt_by_id")
    # Neither the old id route nor the id in the token's place reaches the account.
    assert (
        _post(client, f"/integrations/stripe/{a.pk}/webhook/", payload, **_signed(payload)).status_code == 404
    )
    assert _post(client, f"/webhooks/stripe/{a.pk}/", payload, **_signed(payload)).json() == UNVERIFIED
    assert _post(client, a.webhook_path, payload, **_signed(payload)).json()["received"] is True


def test_an_unknown_token_and_a_bad_signature_get_the_same_answer(client, tenant_a, monkeypatch):
    monkeypatch.delitem(webhooks._verifiers, "woocommerce")  # every webhook kind has one now
    account = make_stripe_account(tenant_a)
    shop = ChannelAccount.objects.create(
        tenant=tenant_a, kind="woocommerce", name="shop", webhook_secret="wc_x"
    )
    unconfigured = make_stripe_account(tenant_a, name="no-secret", secret="")
    inactive = make_stripe_account(tenant_a, name="paused")
    ChannelAccount.objects.for_tenant(tenant_a).filter(pk=inactive.pk).update(active=False)
    payload = stripe_event("charge.refunded", {}, event_id="evt_probe")

    answers = {
        "unknown token": _post(
            client, f"/webhooks/stripe/{secrets.token_urlsafe(32)}/", payload, **_signed(payload)
        ),
        "not a token": _post(client, "/webhooks/stripe/a%00b/", payload, **_signed(payload)),
        "bad signature": _post(client, account.webhook_path, payload, **_signed(payload, "whsec_wrong")),
        "no signature": _post(client, account.webhook_path, payload),
        "garbage signature": _post(client, account.webhook_path, payload, HTTP_STRIPE_SIGNATURE="t=x,v1"),
        "not UTF-8": _post(client, account.webhook_path, b"\xff\xfe{}", **_signed("{}")),
        "no secret set": _post(client, unconfigured.webhook_path, payload, **_signed(payload)),
        "inactive account": _post(client, inactive.webhook_path, payload, **_signed(payload)),
        "kind not built yet": _post(client, shop.webhook_path, payload),
        "token of another kind": _post(client, f"/webhooks/shopify/{account.webhook_token}/", payload),
    }

    assert {name: (r.status_code, r.content) for name, r in answers.items()} == {
        name: (401, json.dumps(UNVERIFIED).encode()) for name in answers
    }
    # Every delivery to a real account is kept; the probes of unknown tokens have nowhere to go.
    rows = _rows(tenant_a)
    assert rows.count() == 7 and set(rows.values_list("state", flat=True)) == {"rejected"}
    assert rows.get(account=shop).error == "no verifier for woocommerce yet"
    assert rows.get(account=inactive).error == "account inactive"


def test_an_unknown_kind_is_not_found(client, db):
    response = _post(client, f"/webhooks/amazon/{secrets.token_urlsafe(32)}/")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_a_rejected_delivery_is_kept_as_a_bounded_summary_with_secrets_scrubbed(client, tenant_a):
    account = make_stripe_account(tenant_a)
    forged_signature = "t=1700000000,v1=" + "ab" * 32
    body = '{"id": "evt_big", "pad": "' + "x" * (200 * 1024) + '"}'

    response = _post(
        client,
        account.webhook_path,
        body,
        HTTP_STRIPE_SIGNATURE=forged_signature,
        HTTP_AUTHORIZATION="Bearer sk_live_leaked",
        HTTP_X_SHOPIFY_HMAC_SHA256="c2lnbmF0dXJl",
        HTTP_X_SENDER="vendor-42",
    )

    assert response.json() == UNVERIFIED
    row = _rows(tenant_a).get()
    assert (row.state, row.event_id) == ("rejected", "")
    assert row.body == body[:MAX_REJECTED_BODY_BYTES]
    assert f"first {MAX_REJECTED_BODY_BYTES} of {len(body)} bytes" in row.error
    assert row.headers["Stripe-Signature"] == row.headers["Authorization"] == SCRUBBED
    assert row.headers["X-Shopify-Hmac-Sha256"] == SCRUBBED
    assert row.headers["X-Sender"] == "vendor-42"
    kept = json.dumps(row.headers) + row.error
    assert "ab" * 32 not in kept and "sk_live_leaked" not in kept and "c2lnbmF0dXJl" not in kept


def test_a_rejected_body_with_nul_bytes_and_bad_utf8_is_kept(client, tenant_a):
    account = make_stripe_account(tenant_a)

    response = _post(client, account.webhook_path, b'{"a": "\x00"}\xff', HTTP_STRIPE_SIGNATURE="t=1,v1=00")

    assert response.json() == UNVERIFIED
    assert _rows(tenant_a).get().body == '{"a": "\ufffd"}\ufffd'


def test_a_verified_delivery_is_stored_whole_with_its_signature_scrubbed(client, tenant_a):
    account = make_stripe_account(tenant_a)
    payload = stripe_event("customer.created", {"id": "cus_1", "pad": "y" * (100 * 1024)}, event_id="evt_ok")
    headers = _signed(payload)

    response = _post(client, account.webhook_path, payload, **headers)

    assert response.status_code == 200
    row = _rows(tenant_a).get()
    assert (row.event_id, row.body) == ("evt_ok", payload)
    assert row.headers["Stripe-Signature"] == SCRUBBED
    assert headers["HTTP_STRIPE_SIGNATURE"].split("v1=")[1] not in json.dumps(row.headers)


@pytest.fixture
def limit_of_three(monkeypatch):
    monkeypatch.setattr(webhooks, "REJECTED_LIMIT", 3)


def test_rejected_deliveries_are_rate_limited_per_account(client, tenant_a, tenant_b, limit_of_three):
    account, other = make_stripe_account(tenant_a), make_stripe_account(tenant_b, secret="whsec_globex")
    forged = stripe_event("charge.refunded", {}, event_id="evt_flood")

    answers = [
        _post(client, account.webhook_path, forged, **_signed(forged, "whsec_wrong")) for _ in range(5)
    ]

    assert [r.status_code for r in answers] == [401, 401, 401, 429, 429]
    assert answers[3].json()["code"] == "rate_limited" and answers[3]["Retry-After"] == "60"
    assert _rows(tenant_a).count() == 3  # nothing more is stored past the limit
    # A verified delivery still goes through, and another account is not affected.
    good = stripe_event("customer.created", {"id": "cus_1"}, event_id="evt_still_ok")
    assert _post(client, account.webhook_path, good, **_signed(good)).status_code == 200
    assert _post(client, other.webhook_path, forged, **_signed(forged, "whsec_wrong")).status_code == 401


def test_an_unknown_token_is_rate_limited_like_a_real_one(client, db, limit_of_three):
    path = f"/webhooks/stripe/{secrets.token_urlsafe(32)}/"

    codes = [_post(client, path).status_code for _ in range(5)]

    assert codes == [401, 401, 401, 429, 429]


def test_a_body_over_the_upload_limit_is_answered_like_a_bad_signature(client, tenant_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    account = make_stripe_account(tenant_a)
    payload = stripe_event("customer.created", {"id": "cus_1", "pad": "z" * 5000}, event_id="evt_huge")

    known = _post(client, account.webhook_path, payload, **_signed(payload))
    unknown = _post(client, f"/webhooks/stripe/{secrets.token_urlsafe(32)}/", payload, **_signed(payload))

    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json()) == (401, UNVERIFIED)
    row = _rows(tenant_a).get()
    assert (row.state, row.body) == ("rejected", payload)
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in row.error
