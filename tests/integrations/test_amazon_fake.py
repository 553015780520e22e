"""The fake Amazon SP-API itself, over HTTP: it refuses what Amazon refuses, so the connector's
tests against it mean something. No database."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from integrations.amazon.fake_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    MARKETPLACE_ID,
    REFRESH_TOKEN,
    FakeAmazon,
)

ORDERS = "/orders/2026-01-01/orders"


@pytest.fixture
def fake():
    amazon = FakeAmazon().start()
    yield amazon
    amazon.stop()


def lwa(fake, **changes):
    form = {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH_TOKEN,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **changes,
    }
    return requests.post(f"{fake.url}/auth/o2/token", data=form, timeout=5)


@pytest.fixture
def api(fake):
    token = lwa(fake).json()["access_token"]

    def call(method, path, **kwargs):
        return requests.request(
            method, fake.url + path, headers={"x-amz-access-token": token}, timeout=5, **kwargs
        )

    return call


def confirm(api, order, **detail):
    item = order["orderItems"][0]
    body = {
        "marketplaceId": MARKETPLACE_ID,
        "packageDetail": {
            "packageReferenceId": "1",
            "carrierCode": "USPS",
            "trackingNumber": "9400100",
            "shipDate": "2026-03-01T12:00:00.000Z",
            "orderItems": [{"orderItemId": item["orderItemId"], "quantity": item["quantityOrdered"]}],
            **detail,
        },
    }
    return api("POST", f"/orders/v0/orders/{order['orderId']}/shipmentConfirmation", json=body)


def test_lwa_checks_the_client_and_the_refresh_token(fake):
    assert lwa(fake, client_secret="wrong").json()["error"] == "invalid_client"
    assert lwa(fake, refresh_token="Atzr|other").status_code == 400
    good = lwa(fake)
    assert good.status_code == 200 and good.json()["access_token"].startswith("Atza|")
    assert good.json()["expires_in"] == 3600
    fake.revoke_refresh_token()
    assert lwa(fake).json()["error"] == "invalid_grant"


def test_the_api_wants_a_live_access_token(fake, api):
    assert requests.get(fake.url + ORDERS, timeout=5).status_code == 403
    assert api("GET", ORDERS, params={"lastUpdatedAfter": "2026-01-01T00:00:00Z"}).status_code == 200
    fake.expire_tokens()
    expired = api("GET", ORDERS, params={"lastUpdatedAfter": "2026-01-01T00:00:00Z"})
    assert expired.status_code == 403
    assert expired.json()["errors"][0]["details"] == "The access token you provided has expired."


def test_search_answers_only_the_datasets_asked_for_and_pages_with_the_same_filters(fake, api):
    for _ in range(3):
        fake.create_order(items=[{"sku": "SHOE-1", "quantity": 1}])
    params = {"lastUpdatedAfter": "2026-01-01T00:00:00Z", "maxResultsPerPage": "2"}

    first = api("GET", ORDERS, params=params).json()

    assert len(first["orders"]) == 2 and "recipient" not in first["orders"][0]
    assert "lastUpdatedBefore" in first
    token = first["pagination"]["nextToken"]
    changed = api(
        "GET", ORDERS, params={**params, "lastUpdatedAfter": "2026-02-01T00:00:00Z", "paginationToken": token}
    )
    assert changed.status_code == 400
    second = api(
        "GET", ORDERS, params={**params, "paginationToken": token, "includedData": "RECIPIENT"}
    ).json()
    assert (
        len(second["orders"]) == 1 and second["orders"][0]["recipient"]["deliveryAddress"]["city"] == "Austin"
    )
    assert "pagination" not in second
    assert api("GET", ORDERS, params={**params, "paginationToken": token}).status_code == 400  # used up
    assert api("GET", ORDERS, params={**params, "maxResultsPerPage": "101"}).status_code == 400
    both = {**params, "createdAfter": "2026-01-01T00:00:00Z"}
    assert api("GET", ORDERS, params=both).status_code == 400
    assert api("GET", ORDERS, params={**params, "includedData": "EVERYTHING"}).status_code == 400


def test_confirm_shipment_checks_the_body_as_documented(fake, api):
    order = fake.create_order(items=[{"sku": "SHOE-1", "quantity": 2}])

    assert (
        confirm(api, order, carrierCode="").json()["errors"][0]["message"]
        == "packageDetail.carrierCode is required."
    )
    assert confirm(api, order, packageReferenceId="PKG-1").status_code == 400
    assert confirm(api, order, shipDate="yesterday").status_code == 400
    too_many = [{"orderItemId": order["orderItems"][0]["orderItemId"], "quantity": 3}]
    assert confirm(api, order, orderItems=too_many).json()["errors"][0]["message"].startswith("More units")
    assert confirm(api, order, orderItems=[{"orderItemId": "1", "quantity": 1}]).status_code == 400
    assert fake.packages_of(order["orderId"]) == []

    assert confirm(api, order).status_code == 204
    assert confirm(api, order, trackingNumber="9400200").status_code == 204  # the same package, edited

    [package] = fake.packages_of(order["orderId"])
    assert package["trackingNumber"] == "9400200"
    shown = api("GET", f"{ORDERS}/{order['orderId']}", params={"includedData": "PACKAGES,FULFILLMENT"}).json()
    assert shown["order"]["packages"][0]["trackingNumber"] == "9400200"
    assert shown["order"]["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert api("GET", f"{ORDERS}/000-0000000-0000000").status_code == 404


def test_a_rate_limit_answers_429_with_amazons_header(fake, api):
    fake.set_rate_limit("getOrder", rate=0.5, burst=1)
    order = fake.create_order(items=[{"sku": "SHOE-1", "quantity": 1}])

    ok = api("GET", f"{ORDERS}/{order['orderId']}")
    limited = api("GET", f"{ORDERS}/{order['orderId']}")

    assert ok.status_code == 200 and ok.headers["x-amzn-RateLimit-Limit"] == "0.5"
    assert limited.status_code == 429 and limited.headers["x-amzn-RateLimit-Limit"] == "0.5"


def test_listings_keep_the_quantity_per_sku(fake, api):
    fake.add_listing("AMZ-SHOE", quantity=3)
    path = f"/listings/2021-08-01/items/{fake.seller_id}/AMZ-SHOE"
    patch = {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 12}],
            }
        ],
    }

    answer = api("PATCH", path, params={"marketplaceIds": MARKETPLACE_ID}, json=patch)

    assert answer.json()["status"] == "ACCEPTED" and fake.quantity_of("AMZ-SHOE") == 12
    assert (
        api("PATCH", path, params={"marketplaceIds": MARKETPLACE_ID}, json={"patches": []}).status_code == 400
    )
    assert api("PATCH", path, json=patch).status_code == 400  # no marketplace
    unknown = api(
        "PATCH", path.replace("AMZ-SHOE", "NOPE"), params={"marketplaceIds": MARKETPLACE_ID}, json=patch
    )
    assert unknown.json()["status"] == "INVALID"


def test_controls_and_the_state_page(fake):
    made = requests.post(
        f"{fake.url}/_control/orders", json={"items": [{"sku": "SOCK-2", "quantity": 2}]}, timeout=5
    )
    order_id = made.json()["order"]["orderId"]
    requests.post(f"{fake.url}/_control/orders/{order_id}/cancel", json={}, timeout=5)
    requests.post(f"{fake.url}/_control/listings", json={"sku": "SOCK-2", "quantity": 4}, timeout=5)

    page = requests.get(fake.url + "/", timeout=5).text
    state = requests.get(f"{fake.url}/_control/state", timeout=5).json()

    assert order_id in page and "2 × SOCK-2" in page
    assert state["orders"][0]["status"] == "CANCELLED" and state["listings"][0]["quantity"] == 4


def test_the_fake_runs_as_a_process_and_generates_orders():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "integrations.amazon.fake_server",
            "--port",
            "0",
            "--generate",
            "2",
            "--interval",
            "0.1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        deadline = time.monotonic() + 10
        orders = []
        while time.monotonic() < deadline and len(orders) < 2:
            time.sleep(0.2)
            orders = requests.get(f"{url}/_control/state", timeout=5).json()["orders"]
        assert len(orders) == 2
    finally:
        process.terminate()
        process.wait(10)
