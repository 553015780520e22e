"""Marketplace orders end to end, through real processes: the web app under gunicorn, a real Celery
worker, and the fake Shopify, Amazon and Shippo over HTTP.

- A signed Shopify orders/create webhook → the inbox → the worker makes the order and allocates
  it to the nearest warehouse → released to the warehouse → packed (staff) → the label bought
  from the fake Shippo by the worker → the carrier's first scan (Shippo's track_updated webhook)
  ships it → the worker pushes the tracking to the fake Shopify, once.
- The same for an order polled from the fake Amazon (the poll task runs on the worker, as beat
  would send it), whose tracking goes back as one confirmShipment package.

Redis is the broker when REDIS_URL is set (CI), else the embedded filesystem broker.
"""

from __future__ import annotations

import json
import os
import time

import pytest
import requests

from fulfillment.models import Shipment
from fulfillment.services import shipment_pack
from integrations.amazon.fake_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    MARKETPLACE_ID,
    REFRESH_TOKEN,
    SELLER_ID,
    FakeAmazon,
)
from integrations.models import ChannelAccount
from integrations.shippo.fake_server import FakeShippo
from integrations.shopify.fake_server import FakeShopify
from oms.models import Role
from oms.services import api_key_create
from orders.models import Order
from tests.e2e.worker import producer, running_web, running_worker, wait_for
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BROKER = os.environ.get("REDIS_URL") or "filesystem://"
SHOP_TOKEN, SHOP_SECRET, SHIPPO_SECRET = "shpat_e2e", "shpss_e2e", "shippo_whsec_e2e"
AUSTIN = {
    "first_name": "Ana",
    "last_name": "Lima",
    "address1": "500 Congress Ave",
    "city": "Austin",
    "province_code": "TX",
    "zip": "78701",
    "country_code": "US",
}


@pytest.fixture
def fakes():
    shop, shippo = FakeShopify(access_token=SHOP_TOKEN).start(), FakeShippo().start()
    yield shop, shippo
    shop.stop()
    shippo.stop()


def _world(tenant, shop, shippo):
    """Two stocked warehouses (NJ, Austin), the fake Shippo as carrier, and the fake shop if given."""
    far = WarehouseFactory(
        tenant=tenant, code="NJ", line1="1 Industrial Hwy", postal_code="07001", region="NJ", city="Avenel"
    )
    near = WarehouseFactory(
        tenant=tenant, code="TX", line1="9 Cesar Chavez St", postal_code="78701", region="TX", city="Austin"
    )
    sku = SKUFactory(tenant=tenant, code="TRAIL-9", name="Trail shoe", weight_grams=900)
    for warehouse in (far, near):
        stock(tenant, sku, warehouse, 10)
    shopify = shop and ChannelAccount.objects.create(
        tenant=tenant,
        kind="shopify",
        name="shop",
        base_url=shop.url,
        credentials=SHOP_TOKEN,
        webhook_secret=SHOP_SECRET,
    )
    carrier = ChannelAccount.objects.create(
        tenant=tenant,
        kind="shippo",
        name="Shippo",
        base_url=shippo.url,
        credentials="shippo_test_e2e",
        webhook_secret=SHIPPO_SECRET,
    )
    return near, shopify, carrier


def _ship_through_the_warehouse(tenant, order, near, web, api_key, shippo, worker, log) -> str:
    """Staff pack the order's one shipment, buy its label through the API (the worker buys it from
    the fake Shippo) and the carrier scans it (Shippo's webhook to the web app). Its tracking number."""
    shipment = Shipment.objects.for_tenant(tenant).get(order=order)
    assert shipment.warehouse_id == near.pk  # the nearest warehouse to Austin
    [line] = shipment.lines.all()
    shipment_pack(
        tenant=tenant,
        shipment_id=shipment.pk,
        packed_quantities={line.pk: line.quantity},
        parcels=[{"weight_grams": 1900, "length_mm": 330, "width_mm": 220, "height_mm": 130}],
    )
    bought = requests.post(
        f"{web}/api/v1/shipments/{shipment.pk}/label/",
        json={},
        headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": f"e2e-label-{shipment.pk}"},
        timeout=30,
    )
    assert bought.status_code in (200, 202), bought.text

    def labelled():
        shipment.refresh_from_db()
        return shipment.state == "label_purchased" and shipment.tracking_number

    tracking_number = wait_for(labelled, timeout=90, process=worker, log=log)
    shippo.advance(tracking_number)  # the carrier's first scan: track_updated to our web app
    return tracking_number


def test_a_shopify_webhook_becomes_a_parcel_whose_tracking_goes_back_once(tmp_path, tenant_a, fakes, figures):
    shop, shippo = fakes
    near, shopify, carrier = _world(tenant_a, shop, shippo)
    _, api_key = api_key_create(tenant=tenant_a, name="warehouse bench", role=Role.MANAGER)
    producer(BROKER, tmp_path).close()  # purges the queues a shared broker may hold from an earlier run
    log = tmp_path / "worker.log"
    with running_worker(BROKER, tmp_path) as worker, running_web(BROKER, tmp_path) as web:
        shop.add_webhook(web + shopify.webhook_path, secret=SHOP_SECRET)
        shippo.add_webhook(web + carrier.webhook_path, secret=SHIPPO_SECRET)
        started = time.monotonic()

        placed = shop.create_order(
            line_items=[{"sku": "TRAIL-9", "quantity": 2, "price": "89.00"}],
            shipping_address=AUSTIN,
            notify=True,
        )

        def released():
            order = Order.objects.for_tenant(tenant_a).filter(
                channel="shopify", external_id=str(placed["id"])
            )
            order = order.first()
            return order if order is not None and order.state == "in_fulfillment" else None

        order = wait_for(released, timeout=90, process=worker, log=log)
        allocated_at = time.monotonic() - started
        tracking_number = _ship_through_the_warehouse(
            tenant_a, order, near, web, api_key, shippo, worker, log
        )

        def pushed():
            return shop.fulfillments_of(placed["id"])

        fulfillments = wait_for(pushed, timeout=90, process=worker, log=log)
        elapsed = time.monotonic() - started
        time.sleep(2)  # a second push, if one were coming, would land by now

    assert len(shop.fulfillments_of(placed["id"])) == 1
    assert [t["number"] for t in fulfillments[0]["trackingInfo"]] == [tracking_number]
    order.refresh_from_db()
    shipment = Shipment.objects.for_tenant(tenant_a).get(order=order)
    assert (order.state, shipment.state) == ("shipped", "in_transit")  # the scan said TRANSIT
    worker_log = log.read_text()
    for task in ("inbound_event_process_task", "label_purchase_task", "shipment_tracking_push_task"):
        assert task in worker_log, task
    figures(f"webhook to allocated {allocated_at:.1f}s, webhook to tracking at Shopify {elapsed:.1f}s")


def test_a_polled_amazon_order_becomes_a_parcel_confirmed_once_at_amazon(tmp_path, tenant_a, fakes, figures):
    _, shippo = fakes
    amazon = FakeAmazon().start()
    try:
        near, _, carrier = _world(tenant_a, None, shippo)
        account = ChannelAccount.objects.create(
            tenant=tenant_a,
            kind="amazon",
            name="sp-api",
            base_url=amazon.url,
            credentials=json.dumps(
                {
                    "refresh_token": REFRESH_TOKEN,
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "seller_id": SELLER_ID,
                    "marketplace_id": MARKETPLACE_ID,
                }
            ),
        )
        _, api_key = api_key_create(tenant=tenant_a, name="warehouse bench", role=Role.MANAGER)
        app = producer(BROKER, tmp_path)
        log = tmp_path / "worker.log"
        with running_worker(BROKER, tmp_path) as worker, running_web(BROKER, tmp_path) as web:
            shippo.add_webhook(web + carrier.webhook_path, secret=SHIPPO_SECRET)
            started = time.monotonic()
            placed = amazon.create_order(items=[{"sku": "TRAIL-9", "quantity": 2, "price": "89.00"}])
            # What beat sends every poll interval, sent now.
            app.send_task(
                "integrations.tasks.channel_poll_task",
                kwargs={"tenant_id": tenant_a.pk, "account_id": account.pk},
                queue="ingest",
            )

            def released():
                order = Order.objects.for_tenant(tenant_a).filter(
                    channel="amazon", external_id=placed["orderId"]
                )
                order = order.first()
                return order if order is not None and order.state == "in_fulfillment" else None

            order = wait_for(released, timeout=90, process=worker, log=log)
            allocated_at = time.monotonic() - started
            tracking_number = _ship_through_the_warehouse(
                tenant_a, order, near, web, api_key, shippo, worker, log
            )
            packages = wait_for(
                lambda: amazon.packages_of(placed["orderId"]), timeout=90, process=worker, log=log
            )
            elapsed = time.monotonic() - started
            time.sleep(2)  # a second confirmation, if one were coming, would land by now
        app.close()
    finally:
        amazon.stop()

    assert len(amazon.packages_of(placed["orderId"])) == 1
    assert packages[0]["trackingNumber"] == tracking_number
    order.refresh_from_db()
    assert order.state == "shipped"
    account.refresh_from_db()
    assert account.last_sync_status == "ok" and account.sync_cursor
    figures(f"poll to allocated {allocated_at:.1f}s, poll to confirmShipment at Amazon {elapsed:.1f}s")
