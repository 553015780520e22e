"""The ChannelGateway of WooCommerce accounts: tracking as an order note plus status completed, and
cancellations, through the shop's REST API v3.

Each call is a thin `requests` call to `{shop}/wp-json/wc/v3/...` with a 10 s timeout and HTTP
Basic authentication with the account's REST API consumer key and secret (see
`woocommerce_credentials` for the format). The shop's address is the account's base URL
(`effective_base_url`: the settings decide which hosts it may name); WooCommerce accepts Basic
authentication over HTTPS only.

push_tracking (once per shipment; repeated after an unknown outcome, so idempotent):
1. `GET /orders/{id}`: an order WooCommerce shows cancelled, refunded, failed or trashed is a refusal.
2. `GET /orders/{id}/notes`: a note that already names the shipment (`(ref <shipment number>)`)
   means the note went out before (the worker died after it): no second note.
3. Else `POST /orders/{id}/notes` {"note": "Shipped with <carrier>, tracking number <n>: <url>
   (ref <shipment number>)", "customer_note": true}: WooCommerce emails it to the customer.
4. `PUT /orders/{id}` {"status": "completed"} unless it is completed already, and only once our
   order has nothing left to ship (state shipped, delivered or completed): the first parcel of a
   split order adds its note, the last one completes the order.

push_cancellation: `GET /orders/{id}`; cancelled, refunded, failed or trashed already: done.
Completed: a refusal (it has shipped). Else a private note `... (cancel ref <our order number>)`
(once) and `PUT /orders/{id}` {"status": "cancelled"}.

Errors: connection errors, timeouts, 429 and 5xx are `ChannelUnavailable` (the task retries
with backoff); 400, 401, 403, 404 and other 4xx are `ChannelRefused`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import requests

from integrations.accounts import AccountGateway, account_for_order, channel_order_of, has_active_account
from integrations.endpoints import effective_base_url
from integrations.models import ChannelAccount, ChannelKind
from integrations.vendor_http import http_checked, http_json, http_send, refusal
from orders.channels import CancellationPush, ChannelRefused, ChannelUnavailable, TrackingPush
from orders.states import OrderState

logger = logging.getLogger(__name__)

API_PATH = "/wp-json/wc/v3"
TIMEOUT_SECONDS = 10
CLOSED_STATUSES = ("cancelled", "refunded", "failed", "trash")
NOTHING_LEFT_TO_SHIP = (OrderState.SHIPPED, OrderState.DELIVERED, OrderState.COMPLETED)


def woocommerce_credentials(account: ChannelAccount) -> tuple[str, str]:
    """The account's REST API key pair: `credentials` holds JSON
    `{"consumer_key": "ck_...", "consumer_secret": "cs_..."}`, or `ck_...:cs_...`."""
    raw = (account.credentials or "").strip()
    key = secret = ""
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict):
            key, secret = str(data.get("consumer_key") or ""), str(data.get("consumer_secret") or "")
    else:
        key, _, secret = raw.partition(":")
    if not key.strip() or not secret.strip():
        raise ChannelRefused(
            f"WooCommerce account {account.pk} has no consumer key and secret in its credentials.",
            code="channel_credentials",
        )
    return key.strip(), secret.strip()


def _message(response: requests.Response) -> str:
    """WooCommerce's own words for an error (`{"code", "message", "data": {"status"}}`)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or ""
    if isinstance(body, dict) and body.get("message"):
        return f"{body.get('message')} ({body.get('code', '')})"
    return response.reason or ""


class WooCommerceClient:
    """A thin REST API v3 client for one account."""

    def __init__(self, account: ChannelAccount, *, session: requests.Session | None = None) -> None:
        self.account = account
        base = effective_base_url(account).rstrip("/")
        if not base:
            raise ChannelRefused(f"WooCommerce account {account.pk} has no shop address (base URL).")
        self.api = base + API_PATH
        self.auth = woocommerce_credentials(account)
        self.session = session or requests.Session()

    def call(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        response = http_send(
            self.session,
            method,
            self.api + path,
            vendor="WooCommerce",
            json=body,
            params=params,
            auth=self.auth,
            headers={"Accept": "application/json"},
            timeout=TIMEOUT_SECONDS,
        )
        http_checked(
            response, answered="WooCommerce answered {status}", refused=refusal(_message, with_status=True)
        )
        return http_json(response, not_json="WooCommerce answered something that is not JSON")

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params or None)

    def post(self, path: str, body: Any) -> Any:
        return self.call("POST", path, body=body)

    def put(self, path: str, body: Any) -> Any:
        return self.call("PUT", path, body=body)


def tracking_note(push: TrackingPush) -> str:
    """The customer note a shipment adds: carrier, number, link, and our reference."""
    text = "Shipped"
    if push.carrier:
        text += f" with {push.carrier}"
    if push.tracking_number:
        text += f", tracking number {push.tracking_number}"
    if push.tracking_url:
        text += f": {push.tracking_url}"
    return f"{text} (ref {push.reference})"


class WooCommerceGateway(AccountGateway):
    channel = ChannelKind.WOOCOMMERCE.value

    def _client_and_order(self, order_external_id: str) -> tuple[WooCommerceClient, dict[str, Any], Any]:
        row = channel_order_of(self.tenant, ChannelKind.WOOCOMMERCE, order_external_id)
        account = account_for_order(self.tenant, ChannelKind.WOOCOMMERCE, order_external_id, row=row)
        client = WooCommerceClient(account, session=self.session)
        if not order_external_id.isdigit():
            raise ChannelRefused(f"{order_external_id!r} is not a WooCommerce order id.")
        try:
            order = client.get(f"/orders/{order_external_id}")
        except ChannelRefused as exc:
            if exc.extra.get("http_status") == 404:
                raise ChannelRefused(f"WooCommerce has no order {order_external_id}.") from None
            raise
        if not isinstance(order, dict):
            raise ChannelUnavailable("WooCommerce answered an order that is not an object")
        return client, order, row.order if row is not None else None

    def _has_note(self, client: WooCommerceClient, order_external_id: str, marker: str) -> bool:
        notes = client.get(f"/orders/{order_external_id}/notes")
        return any(marker in str(n.get("note", "")) for n in notes or [] if isinstance(n, dict))

    def push_tracking(self, *, push: TrackingPush) -> None:
        client, order, ours = self._client_and_order(push.order_external_id)
        status = str(order.get("status", ""))
        if status in CLOSED_STATUSES:
            raise ChannelRefused(
                f"WooCommerce order {push.order_external_id} is {status}: tracking not sent."
            )
        if self._has_note(client, push.order_external_id, f"(ref {push.reference})"):
            logger.info(
                "WooCommerce order %s already has the note of %s", push.order_external_id, push.reference
            )
        else:
            client.post(
                f"/orders/{push.order_external_id}/notes",
                {"note": tracking_note(push), "customer_note": True},
            )
        if status != "completed" and (ours is None or ours.state in NOTHING_LEFT_TO_SHIP):
            client.put(f"/orders/{push.order_external_id}", {"status": "completed"})

    def push_cancellation(self, *, push: CancellationPush) -> None:
        """Cancel the whole order at WooCommerce, once: one that no longer ships is left as it is;
        a completed one (shipped) is refused."""
        client, order, _ = self._client_and_order(push.order_external_id)
        status = str(order.get("status", ""))
        if status in CLOSED_STATUSES:
            return
        if status == "completed":
            raise ChannelRefused(
                f"WooCommerce order {push.order_external_id} is completed: it cannot be cancelled there."
            )
        marker = f"(cancel ref {push.reference})"
        if not self._has_note(client, push.order_external_id, marker):
            note = f"Cancelled: {push.reason or 'by the merchant'} {marker}"
            client.post(f"/orders/{push.order_external_id}/notes", {"note": note, "customer_note": False})
        client.put(f"/orders/{push.order_external_id}", {"status": "cancelled"})


def woocommerce_gateway_for(tenant: Any) -> WooCommerceGateway | None:
    """The registry's factory: a gateway when the tenant has an active WooCommerce account."""
    return WooCommerceGateway(tenant) if has_active_account(tenant, ChannelKind.WOOCOMMERCE) else None
