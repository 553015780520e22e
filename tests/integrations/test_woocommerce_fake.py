"""The WooCommerce signature and verifier against WooCommerce's own rules, and the fake shop itself
(authentication, batch limit, controls, the command line and its order generator), over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from integrations.fakes.base import FakeRequest, FakeResponse, FakeServer
from integrations.models import ChannelAccount
from integrations.webhooks import DeliveryMalformed, DeliveryPing, DeliveryRejected
from integrations.woocommerce.fake_server import FakeWooCommerce
from integrations.woocommerce.signing import woocommerce_signature, wp_specialchars_decode
from integrations.woocommerce.webhooks import woocommerce_event_id, woocommerce_webhook_verify

BODY = b'{"id":727,"status":"processing"}'


def reference_signature(secret: str, body: bytes) -> str:
    """../shared/proofs/webhook_signatures.py: base64(HMAC-SHA256(secret, raw body))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(signature: str | None, **extra: str) -> dict[str, str]:
    sent = {"X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Delivery-ID": "d-1", **extra}
    if signature is not None:
        sent["X-WC-Webhook-Signature"] = signature
    return sent


def test_the_signature_is_the_reference_one_keyed_with_the_entity_decoded_secret():
    assert woocommerce_signature("wc_secret", BODY) == reference_signature("wc_secret", BODY)
    # WooCommerce keys the HMAC with wp_specialchars_decode(secret, ENT_QUOTES).
    assert woocommerce_signature("a&amp;b&lt;c", BODY) == reference_signature("a&b<c", BODY)


@pytest.mark.parametrize(
    ("stored", "decoded"),
    [
        ("plain", "plain"),
        ("&amp;&lt;&gt;&quot;&#039;", "&<>\"'"),
        ("&#38;&#0038;&#x26;&#X0026;", "&&&&"),
        ("&#34;&#x22;&#39;&#x27;&#60;&#62;", "\"\"''<>"),
        ("&amp;amp;", "&amp;"),  # one pass, as PHP's strtr
        ("&nbsp;&copy;&#65;", "&nbsp;&copy;&#65;"),  # only the special characters are decoded
    ],
)
def test_wp_specialchars_decode_is_wordpress_s(stored, decoded):
    assert wp_specialchars_decode(stored) == decoded


def account(secret="wc_secret"):
    return ChannelAccount(kind="woocommerce", name="shop", webhook_secret=secret)


def test_the_verifier_takes_a_signed_delivery_and_names_the_event():
    delivery = woocommerce_webhook_verify(account(), BODY, headers(reference_signature("wc_secret", BODY)))

    assert (delivery.event_type, delivery.body) == ("order.created", BODY.decode())
    assert delivery.event_id == woocommerce_event_id("d-1", BODY) and delivery.event_id.startswith("d-1:")
    # The secret as the shop stores it (entity-encoded) verifies as well as the one typed.
    signed = reference_signature("a&b", BODY)
    assert woocommerce_webhook_verify(account("a&amp;b"), BODY, headers(signed)).event_type == "order.created"
    assert woocommerce_webhook_verify(account("a&b"), BODY, headers(signed)).event_type == "order.created"


def test_the_older_delivery_id_header_is_read_when_the_new_one_is_missing():
    sent = headers(reference_signature("wc_secret", BODY), **{"X-WC-Delivery-ID": "old-1"})
    del sent["X-WC-Webhook-Delivery-ID"]

    assert woocommerce_webhook_verify(account(), BODY, sent).event_id.startswith("old-1:")


@pytest.mark.parametrize(
    ("secret", "signature", "why"),
    [
        ("", reference_signature("", BODY), "no webhook secret configured"),
        ("wc_secret", None, "no X-WC-Webhook-Signature header"),
        ("wc_secret", reference_signature("other", BODY), "signature does not verify"),
        ("wc_secret", "sïgnature", "signature does not verify"),
    ],
)
def test_an_unverified_delivery_is_rejected(secret, signature, why):
    with pytest.raises(DeliveryRejected, match=why):
        woocommerce_webhook_verify(account(secret), BODY, headers(signature))


@pytest.mark.parametrize(
    ("body", "drop", "why"),
    [
        (b"[1, 2]", None, "not a JSON object"),
        (b"\xff{}", None, "not UTF-8"),
        (BODY, "X-WC-Webhook-Topic", "no X-WC-Webhook-Topic header"),
        (BODY, "X-WC-Webhook-Delivery-ID", "no X-WC-Webhook-Delivery-ID header"),
    ],
)
def test_a_signed_delivery_that_is_not_an_event_is_malformed(body, drop, why):
    sent = headers(reference_signature("wc_secret", body))
    sent.pop(drop or "", None)

    with pytest.raises(DeliveryMalformed, match=why):
        woocommerce_webhook_verify(account(), body, sent)


def test_the_ping_is_recognised_without_a_secret():
    with pytest.raises(DeliveryPing):
        woocommerce_webhook_verify(account(""), b"webhook_id=12", {})


# --- the fake over HTTP --------------------------------------------------------------------------
class Receiver(FakeServer):
    """Where the fake's webhooks go: keeps every request, answers 200."""

    title = "Receiver"

    def __init__(self) -> None:
        super().__init__()
        self.got: list[FakeRequest] = []

    def handle(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            self.got.append(request)
        return FakeResponse(200, {"received": True})


def lowered(sent) -> dict[str, str]:
    """Header names as sent over the wire (urllib capitalises them; HTTP ignores their case)."""
    return {name.lower(): value for name, value in sent.items()}


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def shop():
    with FakeWooCommerce(consumer_key="ck_k", consumer_secret="cs_s") as fake:
        yield fake


def call(url, method="GET", body=None, *, auth=None):
    request = urllib.request.Request(
        url, data=None if body is None else json.dumps(body).encode(), method=method
    )
    request.add_header("Content-Type", "application/json")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_the_rest_api_wants_the_consumer_key_and_secret(shop):
    product = shop.add_product("A")
    url = f"{shop.url}/wp-json/wc/v3/products/{product['id']}"

    assert call(url) == (
        401,
        {
            "code": "woocommerce_rest_cannot_view",
            "message": "Sorry, you cannot list resources.",
            "data": {"status": 401},
        },
    )
    assert call(url, auth=("ck_k", "cs_wrong"))[0] == 401
    assert call(url, auth=("ck_k", "cs_s")) == (200, product)
    assert call(f"{url}?consumer_key=ck_k&consumer_secret=cs_s")[0] == 200


def test_a_batch_of_more_than_100_items_is_refused(shop):
    items = [{"id": n, "stock_quantity": 1} for n in range(101)]

    status, body = call(
        f"{shop.url}/wp-json/wc/v3/products/batch", "POST", {"update": items}, auth=("ck_k", "cs_s")
    )

    assert (status, body["code"]) == (413, "woocommerce_rest_request_entity_too_large")
    assert shop.stock_updates == []


def test_controls_make_orders_that_send_signed_webhooks_as_woocommerce_does(shop, receiver):
    status, _ = call(
        f"{shop.url}/_control/webhooks", "POST", {"url": receiver.url + "/hook", "secret": "a&amp;b"}
    )
    assert status == 201
    call(f"{shop.url}/_control/products", "POST", {"sku": "SHOE-1", "stock_quantity": 3})

    status, made = call(
        f"{shop.url}/_control/orders",
        "POST",
        {"line_items": [{"sku": "SHOE-1", "quantity": 2, "price": "5.00"}]},
    )
    order_id = made["order"]["id"]
    call(f"{shop.url}/_control/orders/{order_id}/cancel", "POST", {})

    assert status == 201 and [d["status"] for d in made["deliveries"]] == [200]
    created, updated = receiver.got
    assert json.loads(created.body)["line_items"][0]["sku"] == "SHOE-1"
    assert json.loads(updated.body)["status"] == "cancelled"
    hook = shop.hooks[0]
    for request, topic in ((created, "order.created"), (updated, "order.updated")):
        sent = lowered(request.headers)
        assert (sent["x-wc-webhook-topic"], sent["x-wc-webhook-resource"], sent["x-wc-webhook-event"]) == (
            topic,
            "order",
            topic.split(".")[1],
        )
        assert sent["x-wc-webhook-signature"] == reference_signature("a&b", request.body)
        assert sent["x-wc-webhook-id"] == str(hook.ids[topic])
        assert len(sent["x-wc-webhook-delivery-id"]) == 32 and sent["x-wc-webhook-source"] == shop.url + "/"
        assert sent["user-agent"].startswith("WooCommerce/")


def test_the_ping_control_posts_webhook_id_unsigned(shop, receiver):
    status, sent = call(f"{shop.url}/_control/ping", "POST", {"url": receiver.url + "/hook"})

    [ping] = receiver.got
    assert status == 200 and sent["status"] == 200
    assert ping.body.decode().startswith("webhook_id=") and "x-wc-webhook-signature" not in lowered(
        ping.headers
    )


def test_the_command_line_serves_the_shop_and_generates_orders_with_the_given_skus(receiver):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "integrations.woocommerce.fake_server",
            "--port",
            "0",
            "--webhook-url",
            receiver.url + "/hook",
            "--webhook-secret",
            "wc_cli",
            "--consumer-key",
            "ck_cli",
            "--consumer-secret",
            "cs_cli",
            "--generate",
            "2",
            "--interval",
            "0.2",
            "--skus",
            "RED-1,BLUE-2",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        deadline = time.monotonic() + 20
        while len(receiver.got) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)

        bodies = [json.loads(r.body) for r in receiver.got]
        assert [b["line_items"][0]["sku"] for b in bodies] == ["RED-1", "BLUE-2"]
        assert all(
            lowered(r.headers)["x-wc-webhook-signature"] == reference_signature("wc_cli", r.body)
            for r in receiver.got
        )
        status, products = call(f"{url}/wp-json/wc/v3/products?per_page=100", auth=("ck_cli", "cs_cli"))
        assert status == 200 and [p["sku"] for p in products] == ["RED-1", "BLUE-2"]
    finally:
        process.terminate()
        process.wait(10)
