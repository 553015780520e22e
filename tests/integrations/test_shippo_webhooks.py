"""Shippo track_updated webhooks: stored first, deduplicated, applied once, within the account's tenant."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.core import mail
from django.urls import reverse

from fulfillment.models import Shipment, TrackingEvent
from fulfillment.states import ShipmentState as S
from integrations.models import ChannelAccount, InboundEvent
from integrations.shippo import webhooks as shippo_webhooks
from integrations.webhooks import DeliveryRejected
from orders.models import Order, OrderEvent
from orders.states import OrderEventType, OrderState
from tests.fulfillment.conftest import shippo, shippo_server  # noqa: F401  (fixtures)
from tests.fulfillment.shipped import shipped_order

SECRET = "shippo_whsec_acme"


def shippo_account(tenant, *, secret="", name="main"):
    return ChannelAccount.objects.create(
        tenant=tenant,
        kind="shippo",
        name=name,
        credentials=f"shippo_test_{tenant.slug}",
        webhook_secret=secret,
    )


def track_updated(shipment, status, *, date="2026-11-20T15:19:00Z", carrier="usps", number=None):
    return json.dumps(
        {
            "event": "track_updated",
            "test": False,
            "data": {
                "carrier": carrier,
                "tracking_number": number or shipment.tracking_number,
                "transaction": None,
                "metadata": None,
                "tracking_status": {
                    "object_id": "ts_1",
                    "status": status,
                    "status_details": f"{status.title()} at the destination.",
                    "status_date": date,
                    "location": {"city": "Austin", "state": "TX", "zip": "78701", "country": "US"},
                },
                "tracking_history": [],
            },
        }
    )


def sign(body: str, secret: str, ts: int | None = None) -> str:
    ts = int(time.time()) if ts is None else ts
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body.encode(), hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST to an account's Shippo URL; queued processing (and what it enqueues) runs on commit."""

    def post(account, body: str, *, signature: str | None = None, token: str | None = None, **headers):
        if signature is not None:
            headers["HTTP_SHIPPO_AUTH_SIGNATURE"] = signature
        url = reverse(
            "integrations:webhook", kwargs={"kind": "shippo", "token": token or account.webhook_token}
        )
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data=body, content_type="application/json", **headers)

    return post


@pytest.fixture
def shipped_a(tenant_a):
    order, (shipment,) = shipped_order(tenant_a)
    return order, shipment


def stored(tenant):
    return InboundEvent.objects.for_tenant(tenant)


def state_of(shipment):
    return Shipment.objects.for_tenant(shipment.tenant_id).get(pk=shipment.pk).state


def test_a_tracking_webhook_delivered_five_times_moves_the_order_once(tenant_a, shipped_a, post):
    order, shipment = shipped_a
    account = shippo_account(tenant_a)
    body = track_updated(shipment, "DELIVERED")

    answers = [post(account, body) for _ in range(5)]

    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["duplicate"] for a in answers] == [False, True, True, True, True]
    event = stored(tenant_a).get()
    assert (event.state, event.deliveries, event.event_type) == ("processed", 5, "track_updated")
    assert event.outcome == f"shipment {shipment.number}: shipped → delivered; order delivered"
    assert TrackingEvent.objects.for_tenant(tenant_a).filter(shipment=shipment).count() == 1
    assert state_of(shipment) == S.DELIVERED
    assert Order.objects.for_tenant(tenant_a).get(pk=order.pk).state == OrderState.DELIVERED
    moves = OrderEvent.objects.for_tenant(tenant_a).filter(
        order=order, type=OrderEventType.TRANSITION, to_state=OrderState.DELIVERED
    )
    assert moves.count() == 1
    assert [m.subject for m in mail.outbox] == [f"Your order {order.number} has been delivered"]


def test_a_repeat_with_the_carrier_spelled_otherwise_is_the_same_event(tenant_a, shipped_a, post):
    _, shipment = shipped_a
    account = shippo_account(tenant_a)

    post(account, track_updated(shipment, "DELIVERED"))
    post(account, track_updated(shipment, "DELIVERED", carrier="USPS"))

    event = stored(tenant_a).get()  # carriers are compared case aside in the event id
    assert event.deliveries == 2
    assert TrackingEvent.objects.for_tenant(tenant_a).filter(shipment=shipment).count() == 1
    assert len(mail.outbox) == 1


def test_delivered_then_transit_ends_delivered(tenant_a, shipped_a, post):
    order, shipment = shipped_a
    account = shippo_account(tenant_a)

    post(account, track_updated(shipment, "DELIVERED", date="2026-11-20T15:19:00Z"))
    late = post(account, track_updated(shipment, "TRANSIT", date="2026-11-19T08:00:00Z"))

    assert late.status_code == 200
    assert state_of(shipment) == S.DELIVERED
    assert Order.objects.for_tenant(tenant_a).get(pk=order.pk).state == OrderState.DELIVERED
    assert stored(tenant_a).filter(event_id__contains=":TRANSIT:").get().outcome == (
        f"shipment {shipment.number}: recorded, stays delivered"
    )
    assert TrackingEvent.objects.for_tenant(tenant_a).filter(shipment=shipment).count() == 2


def test_transit_moves_the_shipment_and_not_the_order(tenant_a, shipped_a, post):
    order, shipment = shipped_a

    post(shippo_account(tenant_a), track_updated(shipment, "TRANSIT"))

    assert state_of(shipment) == S.IN_TRANSIT
    assert Order.objects.for_tenant(tenant_a).get(pk=order.pk).state == OrderState.SHIPPED


def test_an_unknown_tracking_number_is_stored_and_marked_ignored(tenant_a, shipped_a, post):
    _, shipment = shipped_a

    answer = post(shippo_account(tenant_a), track_updated(shipment, "TRANSIT", number="NOSUCH123"))

    assert answer.status_code == 200
    event = stored(tenant_a).get()
    assert event.state == "ignored"
    assert event.outcome == "no shipment with usps tracking number NOSUCH123"
    assert "NOSUCH123" in event.body
    assert state_of(shipment) == S.SHIPPED


def test_a_number_of_another_carrier_does_not_match(tenant_a, shipped_a, post):
    _, shipment = shipped_a

    post(shippo_account(tenant_a), track_updated(shipment, "DELIVERED", carrier="fedex"))

    assert stored(tenant_a).get().state == "ignored"
    assert state_of(shipment) == S.SHIPPED


def test_an_account_of_another_tenant_cannot_move_this_tenants_shipment(tenant_a, tenant_b, shipped_a, post):
    order, shipment = shipped_a
    account_b = shippo_account(tenant_b)

    answer = post(account_b, track_updated(shipment, "DELIVERED"))

    assert answer.status_code == 200
    event = stored(tenant_b).get()
    assert event.state == "ignored"
    assert not stored(tenant_a).exists()
    assert state_of(shipment) == S.SHIPPED
    assert TrackingEvent.objects.for_tenant(tenant_a).count() == 0
    assert Order.objects.for_tenant(tenant_a).get(pk=order.pk).state == OrderState.SHIPPED
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "malformed: not JSON"),
        ("[]", "malformed: no event type"),
        (json.dumps({"data": {}}), "malformed: no event type"),
        (json.dumps({"event": "track_updated", "data": "x"}), "malformed: track_updated without data"),
        (
            json.dumps({"event": "track_updated", "data": {"carrier": "usps", "tracking_status": {}}}),
            "malformed: track_updated without data.tracking_number, data.tracking_status.status",
        ),
    ],
)
def test_a_malformed_body_is_stored_and_marked_with_its_reason(tenant_a, post, body, reason):
    answer = post(shippo_account(tenant_a), body)

    assert answer.status_code == 400
    assert answer.json()["code"] == "malformed_payload"
    event = stored(tenant_a).get()
    assert (event.state, event.body, event.event_id) == ("rejected", body, "")
    assert event.error.startswith(reason)


def test_other_shippo_events_are_stored_and_ignored(tenant_a, post):
    body = json.dumps({"event": "transaction_updated", "data": {"object_id": "txn_1"}})

    assert post(shippo_account(tenant_a), body).status_code == 200

    event = stored(tenant_a).get()
    assert (event.state, event.outcome) == ("ignored", "event type 'transaction_updated' is not used")


def test_an_unknown_token_is_refused_and_nothing_is_stored(tenant_a, shipped_a, post):
    _, shipment = shipped_a
    account = shippo_account(tenant_a)

    answer = post(account, track_updated(shipment, "DELIVERED"), token="not-the-token")

    assert answer.status_code == 401
    assert answer.json()["code"] == "invalid_signature"
    assert not InboundEvent.objects.unscoped().exists()
    assert state_of(shipment) == S.SHIPPED


def test_an_inactive_account_is_refused_and_the_delivery_kept(tenant_a, shipped_a, post):
    _, shipment = shipped_a
    account = shippo_account(tenant_a)
    ChannelAccount.objects.for_tenant(tenant_a).filter(pk=account.pk).update(active=False)
    account.refresh_from_db()

    answer = post(account, track_updated(shipment, "DELIVERED"))

    assert answer.status_code == 401
    event = stored(tenant_a).get()
    assert (event.state, event.error) == ("rejected", "account inactive")
    assert state_of(shipment) == S.SHIPPED


def test_with_a_webhook_secret_a_signed_delivery_is_taken(tenant_a, shipped_a, post):
    _, shipment = shipped_a
    account = shippo_account(tenant_a, secret=SECRET)
    body = track_updated(shipment, "TRANSIT")

    answer = post(account, body, signature=sign(body, SECRET))

    assert answer.status_code == 200
    event = stored(tenant_a).get()
    assert event.state == "processed"
    assert event.headers["Shippo-Auth-Signature"] == "[scrubbed]"
    assert state_of(shipment) == S.IN_TRANSIT


@pytest.mark.parametrize(
    ("signature", "error"),
    [
        (None, "no Shippo-Auth-Signature header"),
        ("v1=abc", "signature header is not t=...,v1=..."),
        ("wrong-secret", "signature does not verify"),
        ("stale", "signature timestamp outside the tolerance"),
    ],
)
def test_with_a_webhook_secret_a_bad_signature_is_refused_and_kept(
    tenant_a, shipped_a, post, signature, error
):
    _, shipment = shipped_a
    account = shippo_account(tenant_a, secret=SECRET)
    body = track_updated(shipment, "DELIVERED")
    if signature == "wrong-secret":
        signature = sign(body, "another secret")
    elif signature == "stale":
        signature = sign(body, SECRET, ts=int(time.time()) - 3600)

    answer = post(account, body, signature=signature)

    assert answer.status_code == 401
    assert answer.json()["code"] == "invalid_signature"
    event = stored(tenant_a).get()
    assert (event.state, event.error, event.event_id) == ("rejected", error, "")
    assert state_of(shipment) == S.SHIPPED


def test_the_signature_check_is_pluggable(tenant_a, shipped_a, post):
    _, shipment = shipped_a
    account = shippo_account(tenant_a, secret=SECRET)
    body = track_updated(shipment, "TRANSIT")

    def header_equals_secret(secret, raw, headers):
        if headers.get("X-Shippo-Secret") != secret:
            raise DeliveryRejected("secret header missing")

    previous = shippo_webhooks.register_shippo_signature_check(header_equals_secret)
    try:
        refused = post(account, body, signature=sign(body, SECRET))
        taken = post(account, body, HTTP_X_SHIPPO_SECRET=SECRET)
    finally:
        shippo_webhooks.register_shippo_signature_check(previous)

    assert (refused.status_code, taken.status_code) == (401, 200)
    assert state_of(shipment) == S.IN_TRANSIT


def test_the_event_id_names_one_status_of_one_parcel(shipped_a):
    _, shipment = shipped_a
    data = json.loads(track_updated(shipment, "TRANSIT", date="2026-11-20T10:00:00Z"))["data"]

    assert shippo_webhooks.track_event_id(data) == (
        f"track:usps:{shipment.tracking_number}:TRANSIT:2026-11-20T10:00:00Z"
    )


# --- end to end: the fake Shippo POSTs its webhooks to the real URL over HTTP -------------------
@pytest.mark.django_db(transaction=True)
def test_the_fake_shippo_posts_track_updated_to_the_live_url(live_server, shippo):  # noqa: F811
    """A 3PL's parcel, registered at the fake by the ship's own effect (through the adapter); the
    fake signs and POSTs each status to the account's URL on a live server; the inbox processes
    them on commit; the customer gets the shipped and the delivered email."""
    from tests.oms.factories import TenantFactory

    tenant = TenantFactory(slug="live")
    account = ChannelAccount.objects.create(
        tenant=tenant,
        kind="shippo",
        name="live",
        base_url=shippo.url,
        credentials="shippo_test_live",
        webhook_secret=SECRET,
    )
    shippo.add_webhook(live_server.url + account.webhook_path, secret=SECRET)
    order, (shipment,) = shipped_order(tenant)
    assert ("usps", shipment.tracking_number) in shippo.tracks

    transit = shippo.advance(shipment.tracking_number, "TRANSIT", carrier="usps")
    assert state_of(shipment) == S.IN_TRANSIT
    delivered = shippo.advance(shipment.tracking_number, "DELIVERED", carrier="usps", emit=False)
    for _ in range(5):
        shippo.emit(delivered)
    shippo.emit(transit)  # late and out of order

    assert [d.status for d in shippo.deliveries] == [200] * 7
    assert state_of(shipment) == S.DELIVERED
    assert Order.objects.for_tenant(tenant).get(pk=order.pk).state == OrderState.DELIVERED
    rows = {e.event_id.split(":")[3]: e for e in stored(tenant)}
    assert (rows["DELIVERED"].state, rows["DELIVERED"].deliveries) == ("processed", 5)
    assert (rows["TRANSIT"].state, rows["TRANSIT"].deliveries) == ("processed", 2)
    assert TrackingEvent.objects.for_tenant(tenant).filter(shipment=shipment).count() == 2
    moves = OrderEvent.objects.for_tenant(tenant).filter(
        order=order, type=OrderEventType.TRANSITION, to_state=OrderState.DELIVERED
    )
    assert moves.count() == 1
    assert [m.subject for m in mail.outbox] == [
        f"Your order {order.number} is on its way",
        f"Your order {order.number} has been delivered",
    ]
    assert shipment.tracking_number in mail.outbox[0].body
