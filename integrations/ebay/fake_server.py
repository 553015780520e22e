"""A local fake of eBay's identity, Sell Fulfillment and Inventory APIs: what the tests and the demo
talk to instead of eBay. Stdlib only (no Django), built on integrations/fakes/base.py.

It speaks what our connector uses (docs/ebay.md):

- `POST /identity/v1/oauth2/token`: the refresh grant. Checks `Authorization: Basic
  base64(client_id:client_secret)` (401 `invalid_client`), the refresh token (400 `invalid_grant`,
  also once revoked) and the scopes (400 `invalid_scope`); answers `{access_token, expires_in,
  token_type: "User Access Token"}`. Tokens expire after `token_lifetime` seconds; the APIs answer
  401 (errorId 1001) to an unknown or expired token and 403 (errorId 1100) to one without the
  API's scope.
- `GET /sell/fulfillment/v1/order` (getOrders): `filter` with `lastmodifieddate:[from..to]` (or
  `[from..]`), `creationdate:[..]` and `orderfulfillmentstatus:{A|B}`; the brackets, braces and
  bars must be percent-encoded, as eBay asks (a literal one is a 400). `orderIds`, `limit`
  (1-200, default 50), `offset`; answers `{href, total, limit, offset, orders, next?, prev?}`
  with `next` only when another page exists, oldest order first. As on eBay, getOrders returns
  `cancelStatus.cancelRequests` empty; getOrder (`GET .../order/{orderId}`) returns it filled.
- `GET|POST .../order/{orderId}/shipping_fulfillment` (get / createShippingFulfillment: 201 with
  `Location`, the fulfillment id is the tracking number), `GET .../shipping_fulfillment/{id}`.
- `POST /sell/inventory/v1/bulk_update_price_quantity`: up to 25 requests; 200, or 207 with a
  404 entry for a SKU that is not an inventory item here.

Faults: the base's `fail_next(n, status=, headers=, path=)`; `fail_page(offset, status)` (the
getOrders page at that offset fails once); `set_quota(calls, retry_after=)` (after that many API
calls, 429 errorId 2001 until lifted); `expire_tokens()`; `revoke_refresh_token()`.

The seller's side: `create_order(line_items=[{sku, quantity, price}], ...)`, `update_order(id,
ship_to={...})`, `cancel_order(id)`, `add_inventory_item(sku, quantity)`; reading back:
`fulfillments_of(id)`, `quantity_of(sku)`, `stock_updates`. Over HTTP under /_control/: GET state,
POST reset, faults, orders {line_items}, orders/<id>/cancel, orders/<id>/update {ship_to},
inventory {sku, quantity}, quota {calls, retry_after}, tokens/expire, refresh_token/revoke.
The state page (GET /) shows the orders, fulfillments and inventory.

    python -m integrations.ebay.fake_server --port 8029 --generate 20 --interval 15 --skus SKU-1,SKU-2
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from integrations.fakes.base import (
    FakeRequest,
    FakeResponse,
    FakeServer,
    base_arguments,
    client_arguments,
    generator_arguments,
    json_copy,
    later_than,
    serve_with_orders,
)

FULFILLMENT = "/sell/fulfillment/v1"
INVENTORY = "/sell/inventory/v1"
SCOPE_PREFIX = "https://api.ebay.com/oauth/api_scope"
SCOPES = (f"{SCOPE_PREFIX}/sell.fulfillment", f"{SCOPE_PREFIX}/sell.inventory", SCOPE_PREFIX)
MAX_BULK = 25
DEFAULT_SHIP_TO = {
    "fullName": "Ana Lima",
    "contactAddress": {
        "addressLine1": "500 Congress Ave",
        "city": "Austin",
        "stateOrProvince": "TX",
        "postalCode": "78701",
        "countryCode": "US",
    },
    "primaryPhone": {"phoneNumber": "5125550100"},
    "email": "ana.lima@members.ebay.com",
}


def ebay_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _error(status: int, error_id: int, message: str, **extra: Any) -> FakeResponse:
    error = {"errorId": error_id, "domain": "API_FULFILLMENT", "category": "REQUEST", "message": message}
    return FakeResponse(status, {"errors": [{**error, **extra}]})


def _money(value: Decimal, currency: str) -> dict[str, str]:
    return {"value": f"{value:.2f}", "currency": currency}


class FakeEbay(FakeServer):
    title = "Fake eBay (identity, Sell Fulfillment, Inventory)"

    def __init__(
        self,
        *,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        refresh_token: str = "fake-refresh-token",
        token_lifetime: int = 7200,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.token_lifetime = token_lifetime
        self._raw = threading.local()  # the request's query as sent (before percent-decoding)
        self.reset()

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.ids = itertools.count(1)
            self.orders: dict[str, dict[str, Any]] = {}  # in creation order
            self.fulfillments: dict[str, list[dict[str, Any]]] = {}
            self.inventory: dict[str, dict[str, Any]] = {}
            self.stock_updates: list[list[dict[str, Any]]] = []
            self.tokens: dict[str, tuple[datetime, frozenset[str]]] = {}
            self.token_requests = 0
            self.refresh_revoked = False
            self.quota: int | None = None
            self.quota_retry_after: int | None = None
            self.page_faults: dict[int, int] = {}
            self._last = datetime.now(UTC) - timedelta(seconds=1)

    # --- life: keep each request's raw query, to check the filter's encoding --------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeEbay:
        super().start(host, port)
        assert self._server is not None
        base = self._server.RequestHandlerClass
        raw = self._raw

        class RawQueryHandler(base):  # type: ignore[misc, valid-type]
            def _serve(self) -> None:
                raw.query = urlsplit(self.path).query
                super()._serve()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server.RequestHandlerClass = RawQueryHandler
        return self

    # --- time -------------------------------------------------------------------------------------
    def _stamp(self) -> str:
        """Now in eBay's form, strictly after the last stamp (two changes never share a version)."""
        with self.lock:
            self._last = later_than(self._last)
            return ebay_time(self._last)

    # --- the seller's side ------------------------------------------------------------------------
    def create_order(
        self,
        *,
        line_items: list[dict[str, Any]],
        buyer: str = "ana_lima",
        ship_to: dict[str, Any] | None = None,
        currency: str = "USD",
        shipping: str = "5.00",
        tax: str = "0.00",
    ) -> dict[str, Any]:
        """A new paid order, as getOrders returns it."""
        with self.lock:
            n = next(self.ids)
            order_id = f"{10 + n % 90:02d}-{10000 + n:05d}-{(n * 7919) % 100000:05d}"
            stamp = self._stamp()
            items = []
            for raw in line_items:
                quantity = int(raw.get("quantity", 1))
                price = Decimal(str(raw.get("price", "10.00")))
                item_id = str(raw.get("legacy_item_id") or 110000000000 + next(self.ids))
                item = {
                    "lineItemId": str(raw.get("line_item_id") or 10000000000 + next(self.ids)),
                    "legacyItemId": item_id,
                    "sku": raw.get("sku", ""),
                    "title": raw.get("title") or f"Item {raw.get('sku', '')}".strip(),
                    "lineItemCost": _money(price * quantity, currency),
                    "quantity": quantity,
                    "soldFormat": "FIXED_PRICE",
                    "listingMarketplaceId": "EBAY_US",
                    "purchaseMarketplaceId": "EBAY_US",
                    "lineItemFulfillmentStatus": "NOT_STARTED",
                    "total": _money(price * quantity, currency),
                    "deliveryCost": {"shippingCost": _money(Decimal("0"), currency)},
                    "appliedPromotions": [],
                    "taxes": [],
                    "properties": {"buyerProtection": True},
                }
                if raw.get("legacy_variation_id"):
                    item["legacyVariationId"] = str(raw["legacy_variation_id"])
                items.append(item)
            subtotal = sum((Decimal(i["lineItemCost"]["value"]) for i in items), Decimal("0"))
            delivery, tax_amount = Decimal(shipping), Decimal(tax)
            contact = json_copy(ship_to or DEFAULT_SHIP_TO)
            order = {
                "orderId": order_id,
                "legacyOrderId": f"{items[0]['legacyItemId'] if items else n}-{2000000000000 + n}",
                "creationDate": stamp,
                "lastModifiedDate": stamp,
                "orderFulfillmentStatus": "NOT_STARTED",
                "orderPaymentStatus": "PAID",
                "sellerId": "fake_seller",
                "buyer": {
                    "username": buyer,
                    "buyerRegistrationAddress": {
                        "fullName": contact.get("fullName", ""),
                        "email": contact.get("email", ""),
                        "contactAddress": contact.get("contactAddress", {}),
                    },
                },
                "pricingSummary": {
                    "priceSubtotal": _money(subtotal, currency),
                    "deliveryCost": _money(delivery, currency),
                    "tax": _money(tax_amount, currency),
                    "total": _money(subtotal + delivery + tax_amount, currency),
                },
                "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
                "paymentSummary": {
                    "totalDueSeller": _money(subtotal + delivery + tax_amount, currency),
                    "payments": [{"paymentMethod": "EBAY", "paymentStatus": "PAID"}],
                },
                "fulfillmentStartInstructions": [
                    {
                        "fulfillmentInstructionsType": "SHIP_TO",
                        "ebaySupportedFulfillment": False,
                        "shippingStep": {
                            "shipTo": contact,
                            "shippingCarrierCode": "USPS",
                            "shippingServiceCode": "USPSPriority",
                        },
                    }
                ],
                "fulfillmentHrefs": [],
                "salesRecordReference": str(1000 + n),
                "lineItems": items,
            }
            self.orders[order_id] = order
            self.fulfillments[order_id] = []
            return json_copy(order)

    def update_order(self, order_id: str, *, ship_to: dict[str, Any]) -> dict[str, Any]:
        """The buyer changed the address: contactAddress keys (and fullName) merged, modified now."""
        with self.lock:
            order = self.orders[order_id]
            contact = order["fulfillmentStartInstructions"][0]["shippingStep"]["shipTo"]
            contact["contactAddress"].update({k: v for k, v in ship_to.items() if k != "fullName"})
            if "fullName" in ship_to:
                contact["fullName"] = ship_to["fullName"]
            order["lastModifiedDate"] = self._stamp()
            return json_copy(order)

    def cancel_order(self, order_id: str, *, reason: str = "BUYER_ASKED_CANCEL") -> dict[str, Any]:
        with self.lock:
            order = self.orders[order_id]
            stamp = self._stamp()
            order["cancelStatus"] = {
                "cancelState": "CANCELED",
                "cancelledDate": stamp,
                "cancelRequests": [
                    {
                        "cancelInitiator": "BUYER",
                        "cancelReason": reason,
                        "cancelRequestedDate": stamp,
                        "cancelRequestState": "COMPLETED",
                    }
                ],
            }
            order["orderPaymentStatus"] = "FULLY_REFUNDED"
            order["lastModifiedDate"] = stamp
            return json_copy(order)

    def add_inventory_item(self, sku: str, quantity: int = 0) -> None:
        with self.lock:
            self.inventory[sku] = {"sku": sku, "quantity": quantity, "updated": ""}

    def quantity_of(self, sku: str) -> int:
        with self.lock:
            return int(self.inventory[sku]["quantity"])

    def fulfillments_of(self, order_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return json_copy(self.fulfillments.get(order_id, []))

    # --- faults -------------------------------------------------------------------------------------
    def fail_page(self, offset: int, status: int = 503) -> None:
        with self.lock:
            self.page_faults[offset] = status

    def set_quota(self, calls: int | None, *, retry_after: int | None = None) -> None:
        """Allow `calls` more API calls, then answer 429 (None: no quota)."""
        with self.lock:
            self.quota, self.quota_retry_after = calls, retry_after

    def expire_tokens(self) -> None:
        with self.lock:
            past = datetime.now(UTC) - timedelta(seconds=1)
            self.tokens = {t: (past, scopes) for t, (_, scopes) in self.tokens.items()}

    def revoke_refresh_token(self) -> None:
        with self.lock:
            self.refresh_revoked = True
            self.tokens.clear()

    # --- dispatch ----------------------------------------------------------------------------------
    def handle(self, request: FakeRequest) -> FakeResponse:
        if request.method == "POST" and request.path == "/identity/v1/oauth2/token":
            return self._token(request)
        if not request.path.startswith((FULFILLMENT, INVENTORY)):
            return super().handle(request)
        refused = self._authorize(request)
        if refused is not None:
            return refused
        path = request.path.rstrip("/")
        if request.method == "GET" and path == f"{FULFILLMENT}/order":
            return self._get_orders(request)
        if request.method == "POST" and path == f"{INVENTORY}/bulk_update_price_quantity":
            return self._bulk_update(request)
        m = re.fullmatch(rf"{FULFILLMENT}/order/([^/]+)(/shipping_fulfillment(?:/([^/]+))?)?", path)
        if m:
            order_id = unquote(m.group(1))
            with self.lock:
                if order_id not in self.orders:
                    return _error(404, 32100, f"Order {order_id} was not found.")
            if not m.group(2) and request.method == "GET":
                with self.lock:
                    return FakeResponse(200, json_copy(self.orders[order_id]))
            if m.group(3) and request.method == "GET":
                return self._get_fulfillment(order_id, unquote(m.group(3)))
            if m.group(2) and not m.group(3) and request.method == "GET":
                with self.lock:
                    found = json_copy(self.fulfillments[order_id])
                return FakeResponse(200, {"fulfillments": found, "total": len(found)})
            if m.group(2) and not m.group(3) and request.method == "POST":
                return self._create_fulfillment(order_id, request)
        return _error(404, 2002, "Resource not found")

    def _token(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            self.token_requests += 1
        form = request.form()
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            body = {"error": "invalid_client", "error_description": "client authentication failed"}
            return FakeResponse(401, body)
        if form.get("grant_type") != "refresh_token":
            body = {
                "error": "unsupported_grant_type",
                "error_description": "grant type in request is not supported",
            }
            return FakeResponse(400, body)
        if self.refresh_revoked or form.get("refresh_token") != self.refresh_token:
            return FakeResponse(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "the provided authorization refresh token is invalid or was "
                    "issued to another client",
                },
            )
        scopes = frozenset((form.get("scope") or "").split())
        if not scopes or not scopes <= set(SCOPES):
            body = {"error": "invalid_scope", "error_description": "the requested scope is invalid"}
            return FakeResponse(400, body)
        token = f"v^1.1#i^1#fake#{uuid.uuid4().hex}"
        with self.lock:
            self.tokens[token] = (datetime.now(UTC) + timedelta(seconds=self.token_lifetime), scopes)
        return FakeResponse(
            200, {"access_token": token, "expires_in": self.token_lifetime, "token_type": "User Access Token"}
        )

    def _authorize(self, request: FakeRequest) -> FakeResponse | None:
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        with self.lock:
            known = self.tokens.get(token)
            if known is None or known[0] <= datetime.now(UTC):
                return _error(
                    401,
                    1001,
                    "Invalid access token",
                    longMessage="Invalid access token. Check the value of the Authorization HTTP "
                    "request header.",
                    domain="OAuth",
                )
            needed = (
                f"{SCOPE_PREFIX}/sell.{'inventory' if request.path.startswith(INVENTORY) else 'fulfillment'}"
            )
            if needed not in known[1]:
                return _error(
                    403, 1100, "Access denied", longMessage="Insufficient permissions to fulfill the request."
                )
            if self.quota is not None:
                if self.quota <= 0:
                    answer = _error(
                        429, 2001, "Too many requests. The request limit has been reached for the resource."
                    )
                    if self.quota_retry_after is not None:
                        answer.headers["Retry-After"] = str(self.quota_retry_after)
                    return answer
                self.quota -= 1
        return None

    # --- getOrders ---------------------------------------------------------------------------------
    def _get_orders(self, request: FakeRequest) -> FakeResponse:
        raw = getattr(self._raw, "query", "")
        if any(c in raw for c in "[]{}|"):
            return _error(400, 30700, "The filter's brackets, braces and bars must be URL-encoded.")
        try:
            limit = int(request.arg("limit", "50"))
            offset = int(request.arg("offset", "0"))
        except ValueError:
            return _error(400, 30810, "limit and offset must be integers.")
        if not 1 <= limit <= 200 or offset < 0:
            return _error(400, 30810, "limit must be 1 to 200 and offset 0 or more.")
        with self.lock:
            fault = self.page_faults.pop(offset, None)
        if fault is not None:
            return _error(fault, 2003, "Internal error (injected)")
        ids = [i for i in request.arg("orderIds").split(",") if i]
        with self.lock:
            orders = [o for o in self.orders.values() if not ids or o["orderId"] in ids]
            if not ids:
                try:
                    orders = [o for o in orders if self._matches(o, request.arg("filter"))]
                except ValueError as exc:
                    return _error(400, 30700, f"Invalid filter: {exc}")
            page = [self._as_listed(o) for o in orders[offset : offset + limit]]
        base = f"{self.url}{FULFILLMENT}/order?"
        if ids:
            base += f"orderIds={quote(','.join(ids), safe=',')}&"
        elif request.arg("filter"):
            base += f"filter={quote(request.arg('filter'), safe=':.,-')}&"
        body: dict[str, Any] = {
            "href": f"{base}limit={limit}&offset={offset}",
            "total": len(orders),
            "limit": limit,
            "offset": offset,
            "orders": page,
        }
        if offset + limit < len(orders):
            body["next"] = f"{base}limit={limit}&offset={offset + limit}"
        if offset > 0:
            body["prev"] = f"{base}limit={limit}&offset={max(0, offset - limit)}"
        return FakeResponse(200, body)

    @staticmethod
    def _as_listed(order: dict[str, Any]) -> dict[str, Any]:
        listed = json_copy(order)
        listed["cancelStatus"]["cancelRequests"] = []  # getOrders never fills it (getOrder does)
        return listed

    @staticmethod
    def _matches(order: dict[str, Any], text: str) -> bool:
        for part in (p for p in text.split(",") if p.strip()):
            name, _, value = part.strip().partition(":")
            if name in ("lastmodifieddate", "creationdate"):
                m = re.fullmatch(r"\[([^.\]]+\.\d{3}Z)\.\.([^\]]*)\]", value)
                if not m:
                    raise ValueError(f"{name} needs [from..to] or [from..]")
                start, end = parse_time(m.group(1)), parse_time(m.group(2)) if m.group(2) else None
                field = "lastModifiedDate" if name == "lastmodifieddate" else "creationDate"
                when = parse_time(order[field])
                if when < start or (end is not None and when > end):
                    return False
            elif name == "orderfulfillmentstatus":
                m = re.fullmatch(r"\{([A-Z_|]+)\}", value)
                if not m:
                    raise ValueError("orderfulfillmentstatus needs {A|B}")
                if order["orderFulfillmentStatus"] not in m.group(1).split("|"):
                    return False
            else:
                raise ValueError(f"unknown filter {name!r}")
        return True

    # --- shipping fulfillments --------------------------------------------------------------------
    def _get_fulfillment(self, order_id: str, fulfillment_id: str) -> FakeResponse:
        with self.lock:
            for fulfillment in self.fulfillments[order_id]:
                if fulfillment["fulfillmentId"] == fulfillment_id:
                    return FakeResponse(200, json_copy(fulfillment))
        return _error(404, 32200, f"Fulfillment {fulfillment_id} was not found.")

    def _create_fulfillment(self, order_id: str, request: FakeRequest) -> FakeResponse:
        body = request.json()
        if not isinstance(body, dict):
            return _error(400, 32400, "The request body is not a ShippingFulfillmentDetails object.")
        items = body.get("lineItems")
        tracking, carrier = body.get("trackingNumber"), body.get("shippingCarrierCode")
        if not isinstance(items, list) or not items:
            return _error(400, 32400, "lineItems is required.")
        if bool(tracking) != bool(carrier):
            return _error(400, 32400, "trackingNumber and shippingCarrierCode go together.")
        if tracking and not re.fullmatch(r"[A-Za-z0-9]+", str(tracking)):
            return _error(400, 32400, "Only letters and digits are allowed in a tracking number.")
        shipped = body.get("shippedDate")
        try:
            shipped = ebay_time(parse_time(shipped)) if shipped else self._stamp()
        except ValueError:
            return _error(400, 32400, "shippedDate must be YYYY-MM-DDThh:mm:ss.sssZ.")
        with self.lock:
            order = self.orders[order_id]
            if order["cancelStatus"]["cancelState"] == "CANCELED":
                return _error(400, 32500, "The order is cancelled.")
            lines = {i["lineItemId"]: i for i in order["lineItems"]}
            done: dict[str, int] = {}
            for fulfillment in self.fulfillments[order_id]:
                for ref in fulfillment["lineItems"]:
                    done[ref["lineItemId"]] = done.get(ref["lineItemId"], 0) + ref["quantity"]
            for ref in items:
                line = lines.get(str(ref.get("lineItemId")) if isinstance(ref, dict) else "")
                quantity = ref.get("quantity") if isinstance(ref, dict) else None
                if line is None or not isinstance(quantity, int) or quantity <= 0:
                    return _error(400, 32400, f"Invalid line item {ref!r}.")
                if done.get(line["lineItemId"], 0) + quantity > line["quantity"]:
                    return _error(400, 32400, f"Line item {line['lineItemId']}: more than was bought.")
                done[line["lineItemId"]] = done.get(line["lineItemId"], 0) + quantity
            fulfillment_id = str(tracking) if tracking else f"999{next(self.ids)}"
            fulfillment = {
                "fulfillmentId": fulfillment_id,
                "lineItems": [{"lineItemId": str(r["lineItemId"]), "quantity": r["quantity"]} for r in items],
                "shippedDate": shipped,
                **({"shipmentTrackingNumber": tracking, "shippingCarrierCode": carrier} if tracking else {}),
            }
            self.fulfillments[order_id].append(fulfillment)
            for line in order["lineItems"]:
                shipped_units = done.get(line["lineItemId"], 0)
                line["lineItemFulfillmentStatus"] = (
                    "FULFILLED"
                    if shipped_units >= line["quantity"]
                    else "IN_PROGRESS"
                    if shipped_units
                    else "NOT_STARTED"
                )
            states = {line["lineItemFulfillmentStatus"] for line in order["lineItems"]}
            order["orderFulfillmentStatus"] = "FULFILLED" if states == {"FULFILLED"} else "IN_PROGRESS"
            location = (
                f"{self.url}{FULFILLMENT}/order/{quote(order_id)}/shipping_fulfillment/{fulfillment_id}"
            )
            order["fulfillmentHrefs"].append(location)
            order["lastModifiedDate"] = self._stamp()
        return FakeResponse(201, None, {"Location": location})

    # --- inventory ---------------------------------------------------------------------------------
    def _bulk_update(self, request: FakeRequest) -> FakeResponse:
        body = request.json()
        wanted = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(wanted, list) or not wanted:
            return _error(400, 25709, "requests is required.", domain="API_INVENTORY")
        if len(wanted) > MAX_BULK:
            return _error(400, 25709, f"At most {MAX_BULK} requests per call.", domain="API_INVENTORY")
        responses = []
        applied = []
        with self.lock:
            for entry in wanted:
                sku = str(entry.get("sku", "")) if isinstance(entry, dict) else ""
                quantity = (entry.get("shipToLocationAvailability") or {}).get("quantity") if sku else None
                if sku not in self.inventory:
                    responses.append(
                        {
                            "statusCode": 404,
                            "sku": sku,
                            "errors": [
                                {
                                    "errorId": 25702,
                                    "domain": "API_INVENTORY",
                                    "category": "REQUEST",
                                    "message": f"The SKU {sku} is not available in the system.",
                                }
                            ],
                        }
                    )
                    continue
                if not isinstance(quantity, int) or quantity < 0:
                    error = {"errorId": 25706, "message": "The quantity must be 0 or more."}
                    responses.append({"statusCode": 400, "sku": sku, "errors": [error]})
                    continue
                self.inventory[sku].update(quantity=quantity, updated=self._stamp())
                applied.append({"sku": sku, "quantity": quantity})
                responses.append({"statusCode": 200, "sku": sku})
            self.stock_updates.append(applied)
        status = 200 if all(r["statusCode"] == 200 for r in responses) else 207
        return FakeResponse(status, {"responses": responses})

    # --- controls and state ------------------------------------------------------------------------
    def control(self, method: str, path: str, body: Any) -> FakeResponse | None:
        if method != "POST":
            return None
        if path == "orders":
            items = body.get("line_items") or [{"sku": "SKU-1", "quantity": 1, "price": "19.99"}]
            return FakeResponse(201, self.create_order(line_items=items, ship_to=body.get("ship_to")))
        m = re.fullmatch(r"orders/([^/]+)/(cancel|update)", path)
        if m:
            if m.group(1) not in self.orders:
                return FakeResponse(404, {"error": f"no order {m.group(1)}"})
            if m.group(2) == "cancel":
                return FakeResponse(200, self.cancel_order(m.group(1)))
            return FakeResponse(200, self.update_order(m.group(1), ship_to=body.get("ship_to") or {}))
        if path == "inventory":
            self.add_inventory_item(str(body.get("sku", "")), int(body.get("quantity", 0)))
            return FakeResponse(201, {"sku": body.get("sku")})
        if path == "quota":
            calls = body.get("calls")
            self.set_quota(None if calls is None else int(calls), retry_after=body.get("retry_after"))
            return FakeResponse(200, {"quota": self.quota})
        if path == "tokens/expire":
            self.expire_tokens()
            return FakeResponse(200, {"expired": len(self.tokens)})
        if path == "refresh_token/revoke":
            self.revoke_refresh_token()
            return FakeResponse(200, {"revoked": True})
        return None

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "orders": [
                    {
                        "orderId": o["orderId"],
                        "lastModifiedDate": o["lastModifiedDate"],
                        "fulfillment": o["orderFulfillmentStatus"],
                        "cancel": o["cancelStatus"]["cancelState"],
                        "lines": ", ".join(f"{i['quantity']} × {i['sku']}" for i in o["lineItems"]),
                        "total": o["pricingSummary"]["total"]["value"],
                    }
                    for o in self.orders.values()
                ],
                "fulfillments": [
                    {"orderId": order_id, **f} for order_id, rows in self.fulfillments.items() for f in rows
                ],
                "inventory": list(self.inventory.values()),
                "quota left": "none set" if self.quota is None else self.quota,
            }


def main(argv: list[str] | None = None) -> None:
    parser = base_arguments(
        "A local fake of eBay's identity, Sell Fulfillment and Inventory APIs.", port=8029
    )
    client_arguments(
        parser,
        client_id="fake-client-id",
        client_secret="fake-client-secret",
        refresh_token="fake-refresh-token",
    )
    parser.add_argument("--token-lifetime", type=int, default=7200)
    args = generator_arguments(parser, interval=10.0).parse_args(argv)
    fake = FakeEbay(
        client_id=args.client_id,
        client_secret=args.client_secret,
        refresh_token=args.refresh_token,
        token_lifetime=args.token_lifetime,
    )
    serve_with_orders(
        fake,
        args,
        list_sku=fake.add_inventory_item,
        new_order=lambda lines: fake.create_order(line_items=lines),
    )


if __name__ == "__main__":
    main()
