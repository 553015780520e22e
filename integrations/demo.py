"""Demo integrations for `manage.py seed_demo`: accounts that talk to the local fakes `make run` starts.

- Shippo: `make run` (scripts/run_dev.sh) starts the fake Shippo on OMS_SHIPPO_PORT (8025) and
  points its `track_updated` webhooks at this account's webhook URL, whose path is written to
  var/shippo-webhook-path.txt. Labels bought in the demo are real PDFs from the fake; their
  parcels move on by themselves.
- Marketplaces: one account per fake marketplace, and for each a file `var/fakes/<kind>.args`
  holding the fake's command-line arguments, one per line (`{web}` stands for the web app's
  address, filled in by run_dev.sh). run_dev.sh starts `python -m integrations.<kind>.fake_server`
  with them: each fake makes a new order every OMS_DEMO_ORDER_SECONDS (45) from the demo SKUs,
  signs and POSTs it (webhook channels) or keeps it for our poller (polled channels, asked every
  OMS_DEMO_POLL_SECONDS, 30). Each fake shows its state on a page at its own address.

The files hold the demo's secrets (a token in a URL path, webhook secrets): mode 0600.

History (with the seed's clock): four marketplace orders whose channel SKUs are not mapped yet,
ingested through `marketplace_order_ingest` (they wait on an `unmapped_sku` hold), and four
inbound deliveries the handlers could not process, stored through `inbound_event_store`: two
failed (to be retried), two dead letters waiting for a replay from the admin.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings

from integrations.inbox import MAX_ATTEMPTS, inbound_event_store
from integrations.ingest import MarketplaceLine, MarketplaceOrder, marketplace_order_ingest
from integrations.models import ChannelAccount, ChannelKind

SHIPPO_WEBHOOK_PATH_FILE = "shippo-webhook-path.txt"
DEMO_SHIPPO_KEY = "shippo_test_demo"
FAKES_DIR = "fakes"
# The demo SKUs (inventory/demo.py) the fake marketplaces sell: our codes, so no mapping is needed.
DEMO_CHANNEL_SKUS = ("TENT-1P", "PACK-30", "LAMP-400", "STOVE-CAN", "FILTER-SQ", "MUG-INS", "POLE-AL")


def shippo_fake_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('OMS_SHIPPO_PORT', '8025')}"


def fake_port(kind: str, default: int) -> int:
    return int(os.environ.get(f"OMS_{kind.upper()}_PORT", str(default)))


def _order_seconds() -> str:
    return os.environ.get("OMS_DEMO_ORDER_SECONDS", "45")


def _poll_seconds() -> int:
    return int(os.environ.get("OMS_DEMO_POLL_SECONDS", "30"))


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)


def _fake_account(
    tenant: Any, kind: ChannelKind, default_port: int, **fields: Any
) -> tuple[ChannelAccount, int]:
    """The demo's account of `kind`, at its local fake (made once), and the fake's port."""
    port = fake_port(kind.value, default_port)
    account, _ = ChannelAccount.objects.for_tenant(tenant).get_or_create(
        tenant=tenant,
        kind=kind,
        name=f"{kind.label} (local fake)",
        defaults={"base_url": f"http://127.0.0.1:{port}", **fields},
    )
    return account, port


def _generator_args(count: str) -> list[str]:
    """The fake makes `count` orders (-1: without end) from the demo SKUs, one every few seconds."""
    return ["--generate", count, "--interval", _order_seconds(), "--skus", ",".join(DEMO_CHANNEL_SKUS)]


def _key_args(keys: dict[str, str]) -> list[str]:
    """`--client-id ID --client-secret ...`: the fake accepts the keys the account holds."""
    return [arg for key, value in keys.items() for arg in ("--" + key.replace("_", "-"), value)]


def _shopify(tenant: Any) -> tuple[ChannelAccount, list[str]]:
    account, port = _fake_account(
        tenant, ChannelKind.SHOPIFY, 8026, credentials="shpat_demo", webhook_secret="shpss_demo"
    )
    args = ["--port", str(port), "--access-token", "shpat_demo", "--webhook-secret", "shpss_demo"]
    args += ["--webhook-url", "{web}" + account.webhook_path]
    args += ["--generate", _order_seconds(), "--skus", ",".join(DEMO_CHANNEL_SKUS)]
    return account, args


def _woocommerce(tenant: Any) -> tuple[ChannelAccount, list[str]]:
    account, port = _fake_account(
        tenant, ChannelKind.WOOCOMMERCE, 8027, credentials="ck_demo:cs_demo", webhook_secret="wc_demo_secret"
    )
    args = ["--port", str(port), "--consumer-key", "ck_demo", "--consumer-secret", "cs_demo"]
    args += ["--webhook-secret", "wc_demo_secret", "--webhook-url", "{web}" + account.webhook_path]
    return account, args + _generator_args("100000")


def _amazon(tenant: Any) -> tuple[ChannelAccount, list[str]]:
    keys = {
        "client_id": "amzn1.application-oa2-client.demo",
        "client_secret": "demo-lwa-client-secret",
        "refresh_token": "Atzr|demo-refresh-token",
        "seller_id": "A2DEMOSELLER01",
        "marketplace_id": "ATVPDKIKX0DER",
    }
    account, port = _fake_account(
        tenant, ChannelKind.AMAZON, 8028, credentials=json.dumps(keys), poll_interval_seconds=_poll_seconds()
    )
    return account, ["--port", str(port), *_key_args(keys), *_generator_args("-1")]


def _ebay(tenant: Any) -> tuple[ChannelAccount, list[str]]:
    keys = {"client_id": "Demo-OMS-PRD-1", "client_secret": "PRD-demo-secret", "refresh_token": "v^1.1#demo"}
    account, port = _fake_account(
        tenant, ChannelKind.EBAY, 8029, credentials=json.dumps(keys), poll_interval_seconds=_poll_seconds()
    )
    return account, ["--port", str(port), *_key_args(keys), *_generator_args("100000")]


# kind -> builder(tenant) -> (the account, the fake's arguments). Each marketplace adds its own.
MARKETPLACE_FAKES: dict[str, Callable[[Any], tuple[ChannelAccount, list[str]]]] = {
    "shopify": _shopify,
    "woocommerce": _woocommerce,
    "amazon": _amazon,
    "ebay": _ebay,
}


def seed(tenant: Any, stdout: Any, clock: Any = None) -> None:
    shippo, _ = ChannelAccount.objects.for_tenant(tenant).get_or_create(
        tenant=tenant,
        kind=ChannelKind.SHIPPO,
        name="Shippo (local fake)",
        defaults={"base_url": shippo_fake_url(), "credentials": DEMO_SHIPPO_KEY},
    )
    _write_private(settings.VAR_DIR / SHIPPO_WEBHOOK_PATH_FILE, shippo.webhook_path + "\n")
    stdout.write(f"Demo Shippo account: the local fake at {shippo.base_url}")
    for kind, build in MARKETPLACE_FAKES.items():
        account, args = build(tenant)
        _write_private(settings.VAR_DIR / FAKES_DIR / f"{kind}.args", "\n".join(args) + "\n")
        stdout.write(f"Demo {account.get_kind_display()} account: the local fake at {account.base_url}")
    if clock is not None:
        seed_history(tenant, stdout, clock)


# --- history: what came in from the channels ------------------------------------------------
# Orders whose channel SKUs we do not know yet: they wait on an `unmapped_sku` hold until staff
# map the SKU (integrations.ingest.sku_mapping_save), as a new listing would.
UNMAPPED = [
    # kind, hours ago, order id, channel SKU, title, quantity, unit price
    ("shopify", 30, "5601", "TENT-2P-GREEN", "Backpacking Tent, 2 Person - Forest Green", 1, "349.00"),
    ("shopify", 9, "5617", "MUG-INS-ORANGE", "Insulated Camp Mug (Orange)", 2, "24.00"),
    ("amazon", 20, "113-4471902-5531007", "B0DEMOPOLE7", "Carbon Trekking Poles, pair", 1, "169.00"),
    ("ebay", 4, "14-11890-55210", "headlamp-400-red", "Headlamp 400 lm red", 1, "49.00"),
]
# Deliveries that could not be processed: kind, hours ago, event type, body, error, attempts.
BROKEN_EVENTS = [
    (
        "shopify",
        50,
        "orders/create",
        '{"id": 5588, "line_items": [',
        "JSONDecodeError: Expecting value: line 1",
    ),
    (
        "woocommerce",
        26,
        "order.updated",
        '{"id": 9012, "status": "processing", "shipping": {}}',
        "MarketplaceOrderInvalid: no shipping address (street and country)",
    ),
    (
        "shopify",
        6,
        "orders/updated",
        '{"id": 5611, "currency": "USD", "line_items": []}',
        "MarketplaceOrderInvalid: no line items",
    ),
    (
        "woocommerce",
        2,
        "order.created",
        '{"id": 9050, "currency": "XBT"}',
        "OrderError: 'XBT' is not an ISO 4217 currency code",
    ),
]
DEAD_AFTER = (0, 1)  # these went through every retry: dead letters, waiting for a replay


def _unmapped_orders(tenant: Any, clock: Any, accounts: dict[str, ChannelAccount]) -> int:
    for kind, hours, external_id, channel_sku, title, quantity, price in UNMAPPED:
        clock.set(clock.today - timedelta(hours=hours))
        incoming = MarketplaceOrder(
            external_id=external_id,
            name=f"#{external_id}",
            currency="USD",
            customer={"email": f"buyer{external_id[-4:]}@example.com", "name": "Sam Rivera"},
            ship_to={
                "name": "Sam Rivera",
                "line1": "500 Pine St",
                "city": "Seattle",
                "region": "WA",
                "postal_code": "98101",
                "country": "US",
            },
            lines=(
                MarketplaceLine(
                    channel_line_id=f"{external_id}-1",
                    channel_sku=channel_sku,
                    channel_variant_id="",
                    quantity=quantity,
                    unit_price=Decimal(price),
                    title=title,
                ),
            ),
            placed_at=clock.now(),
        )
        marketplace_order_ingest(account=accounts[kind], incoming=incoming)
    return len(UNMAPPED)


def _broken_events(tenant: Any, clock: Any, accounts: dict[str, ChannelAccount]) -> int:
    for index, (kind, hours, event_type, body, error) in enumerate(BROKEN_EVENTS):
        clock.set(clock.today - timedelta(hours=hours))
        event, _ = inbound_event_store(
            account=accounts[kind],
            event_id=f"demo-broken-{index + 1}",
            event_type=event_type,
            headers={"Content-Type": "application/json"},
            body=body,
        )
        # What the processing task recorded, attempt after attempt (the handlers refused the body).
        clock.set(clock.today - timedelta(hours=hours) + timedelta(minutes=1))
        dead = index in DEAD_AFTER
        event.attempts = MAX_ATTEMPTS if dead else 2
        if dead:
            event.mark_dead(error=error)
        else:
            event.mark_failed(error=error)
        event.processed_at = clock.now()
        event.save()
    return len(BROKEN_EVENTS)


def seed_history(tenant: Any, stdout: Any, clock: Any) -> None:
    accounts = {
        account.kind: account
        for account in ChannelAccount.objects.for_tenant(tenant).filter(kind__in=list(MARKETPLACE_FAKES))
    }
    unmapped = _unmapped_orders(tenant, clock, accounts)
    broken = _broken_events(tenant, clock, accounts)
    stdout.write(f"Channels: {unmapped} orders with unmapped SKUs, {broken} inbound events failed or dead.")
