"""A merchant's receiver on 127.0.0.1 (a thread with http.server) and the order fixtures."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.cache import cache

from notifications.models import WebhookEndpoint
from tests.inventory.conftest import sku_a, sku_b, warehouses  # noqa: F401
from tests.orders.conftest import order_input, stocked  # noqa: F401

SECRET = "whsec_receiver-test-secret-0123456789"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The receiver's check, written as docs/webhooks-outbound.md tells a merchant to write it."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Receiver:
    """Answers the queued statuses in turn (then 200) and checks each request's signature."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.statuses: list[int] = []
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {
                        "body": body,
                        "headers": dict(self.headers),
                        "verified": verify(receiver.secret, self.headers.get("OMS-Signature", ""), body),
                    }
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"boom")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver(SECRET) as running:
        yield running


@pytest.fixture
def local_hooks(settings):
    settings.OMS_WEBHOOKS_ALLOW_PRIVATE_HOSTS = True
    return settings


@pytest.fixture
def endpoint_a(tenant_a, receiver, local_hooks):
    return WebhookEndpoint.objects.create(
        tenant=tenant_a, url=receiver.url, events=["order.created", "order.cancelled"], secret=SECRET
    )


@pytest.fixture(autouse=True)
def eager_retries():
    """Run a task's retries in-process, as a worker would run them later (countdowns aside): with
    eager propagation Celery raises the Retry instead of applying it."""
    from celery import current_app

    before = current_app.conf.task_eager_propagates
    current_app.conf.task_eager_propagates = False
    yield
    current_app.conf.task_eager_propagates = before
    cache.clear()  # what a rolled-back test's tenants wanted (notifications/preferences.py)
