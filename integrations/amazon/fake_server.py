"""A local fake of Amazon's SP-API and LWA: what the tests and the demo talk to instead of Amazon.

It speaks what our connector uses (../shared/integrations.md section 4), from one address:

- `POST /auth/o2/token` (LWA, form-encoded `grant_type=refresh_token`): checks the client id,
  secret and refresh token (400 `invalid_grant` once the refresh token is revoked, 401
  `invalid_client`), answers `{"access_token": "Atza|...", "expires_in": ...}`; tokens expire.
- `GET /orders/2026-01-01/orders` (searchOrders): `lastUpdatedAfter` / `createdAfter`,
  `lastUpdatedBefore`, `marketplaceIds`, `fulfilledBy`, `fulfillmentStatuses`,
  `maxResultsPerPage` (1-100), `includedData` (only the datasets asked for are in the answer),
  `paginationToken` (a snapshot of the result's order ids kept by the fake; it must come with
  the same filters, as Amazon asks), and `lastUpdatedBefore` in the answer (now minus
  `data_delay_seconds`, 0 unless set: Amazon's is about 120).
- `GET /orders/2026-01-01/orders/{orderId}` (getOrder, with `packages` for `includedData=PACKAGES`).
- `POST /orders/v0/orders/{orderId}/shipmentConfirmation` (confirmShipment): the body is checked
  as documented (400 with `InvalidInput` on a missing or wrong field, more units than ordered, a
  cancelled or pending order); a new `packageReferenceId` adds a package, a known one edits it;
  204. The order becomes PARTIALLY_SHIPPED or SHIPPED.
- `PATCH /listings/2021-08-01/items/{sellerId}/{sku}` (patchListingsItem): `fulfillment_availability`
  quantities are kept per SKU; an unknown SKU answers 200 with status INVALID and an issue.

Every SP-API call needs a live `x-amz-access-token` (403 `Unauthorized` otherwise). Rate limits:
`set_rate_limit(operation, rate=, burst=)` gives an operation its own token bucket (off by
default); past it the fake answers 429 with `x-amzn-RateLimit-Limit`. The base's faults
(`fail_next`) apply too, and `fail_next_page(n)` fails only searchOrders calls that carry a
page token (an outage in the middle of a poll).

Tests start it in a thread on a free port::

    fake = FakeAmazon().start()                     # fake.url: SP-API and LWA both
    order = fake.create_order(items=[{"sku": "SHOE-1", "quantity": 2, "price": "49.50"}])
    fake.cancel_order(order["orderId"]); fake.packages_of(order["orderId"]); fake.quantity_of("SHOE-1")

As a process (the demo)::

    python -m integrations.amazon.fake_server --port 8028 --generate 20 --interval 15 --skus SHOE-1,SOCK-2

and over HTTP under /_control/ (no authentication): GET state, POST reset, POST faults, POST orders
{items, status}, POST orders/<id>/cancel {reason}, POST orders/<id>/update {status, address},
POST listings {sku, quantity}, POST rate-limits {operation, rate, burst} (rate 0 removes it),
POST tokens/expire, POST refresh-token/revoke, POST lean-search {on}. The page at / shows the
orders, packages and listings. Stdlib only.
"""

from __future__ import annotations

import copy
import itertools
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from integrations.fakes.base import (
    FakeRequest,
    FakeResponse,
    FakeServer,
    base_arguments,
    client_arguments,
    generator_arguments,
    later_than,
    serve_with_orders,
)

CLIENT_ID = "amzn1.application-oa2-client.fake"
CLIENT_SECRET = "fake-lwa-client-secret"
REFRESH_TOKEN = "Atzr|fake-refresh-token"
SELLER_ID = "A2FAKESELLER01"
MARKETPLACE_ID = "ATVPDKIKX0DER"
DATASETS = (
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
)
STATUSES = ("PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED")
DEFAULT_ADDRESS = {
    "name": "Ana Lima",
    "addressLine1": "500 Congress Ave",
    "addressLine2": "Suite 200",
    "city": "Austin",
    "stateOrRegion": "TX",
    "postalCode": "78701",
    "countryCode": "US",
    "phone": "+1 512-555-0100",
    "addressType": "RESIDENTIAL",
}
ORDERS = re.compile(r"/orders/2026-01-01/orders")
ORDER = re.compile(r"/orders/2026-01-01/orders/([^/]+)")
CONFIRM = re.compile(r"/orders/v0/orders/([^/]+)/shipmentConfirmation")
LISTING = re.compile(r"/listings/2021-08-01/items/([^/]+)/([^/]+)")
POSITIVE_NUMBER = re.compile(r"[1-9][0-9]*")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _errors(status: int, code: str, message: str, **headers: str) -> FakeResponse:
    return FakeResponse(status, {"errors": [{"code": code, "message": message}]}, dict(headers))


def _money(amount: Decimal | str, currency: str) -> dict[str, str]:
    return {"amount": f"{Decimal(amount):.2f}", "currencyCode": currency}


def _args(request: FakeRequest, name: str) -> list[str]:
    """A list parameter, comma-separated or repeated."""
    return [part for value in request.query.get(name, []) for part in value.split(",") if part]


class FakeAmazon(FakeServer):
    title = "Fake Amazon SP-API"

    def __init__(
        self,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        refresh_token: str = REFRESH_TOKEN,
        seller_id: str = SELLER_ID,
        marketplace_id: str = MARKETPLACE_ID,
        token_lifetime: int = 3600,
        data_delay_seconds: float = 0,
    ) -> None:
        super().__init__()
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.seller_id, self.marketplace_id = seller_id, marketplace_id
        self.token_lifetime = token_lifetime
        self.data_delay_seconds = data_delay_seconds
        self.reset()

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.numbers = itertools.count(1)
            self.orders: dict[str, dict[str, Any]] = {}
            self.listings: dict[str, dict[str, Any]] = {}
            self.stock_updates: list[tuple[str, int]] = []
            self.confirmations: list[dict[str, Any]] = []  # each accepted confirmShipment body
            self.search_queries: list[dict[str, str]] = []  # each searchOrders call's parameters
            self.listing_patches: list[dict[str, Any]] = []  # each patchListingsItem body, with its SKU
            self.tokens: dict[str, float] = {}  # access token -> expiry (time.time())
            self.tokens_issued = 0
            self.refresh_token_revoked = False
            self.page_tokens: dict[str, dict[str, Any]] = {}
            self.page_faults: list[int] = []  # statuses for the next searchOrders calls with a page token
            self.limits: dict[str, tuple[float, int]] = {}
            self.buckets: dict[str, list[float]] = {}  # operation -> [tokens, at]
            self.lean_search = False  # searchOrders leaves out recipient (our poller then asks getOrder)
            self.last_time = datetime.now(UTC) - timedelta(seconds=1)

    # --- the shop ----------------------------------------------------------------------------------
    def _now(self) -> str:
        """A strictly later time for each change, so every change is a new `lastUpdatedTime`."""
        with self.lock:
            self.last_time = later_than(self.last_time)
            return _stamp(self.last_time)

    def add_listing(self, sku: str, *, quantity: int = 0, asin: str | None = None) -> dict[str, Any]:
        with self.lock:
            listing = self.listings.setdefault(
                sku,
                {
                    "sku": sku,
                    "asin": asin or f"B0{next(self.numbers):08d}",
                    "quantity": quantity,
                    "updates": 0,
                },
            )
            listing["quantity"] = quantity
            return dict(listing)

    def quantity_of(self, sku: str) -> int:
        with self.lock:
            return int(self.listings[sku]["quantity"])

    def create_order(
        self,
        *,
        items: list[dict[str, Any]],
        status: str = "UNSHIPPED",
        fulfilled_by: str = "MERCHANT",
        address: dict[str, Any] | None = None,
        buyer_email: str = "ana.lima@marketplace.amazon.com",
        currency: str = "USD",
        shipping: str = "4.99",
        updated_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A new order in the v2026-01-01 shape (all datasets; each answer keeps those asked for)."""
        with self.lock:
            n = next(self.numbers)
            order_id = f"{111 + n % 800:03d}-{1000000 + n:07d}-{2000000 + n * 7 % 9999999:07d}"
            stamp = _stamp(updated_at) if updated_at else self._now()
            order_items = []
            for index, raw in enumerate(items):
                sku = str(raw.get("sku", "SKU-1"))
                listing = self.listings.get(sku) or {}
                quantity = int(raw.get("quantity", 1))
                price = Decimal(str(raw.get("price", "10.00")))
                line_shipping = Decimal(shipping) if index == 0 else Decimal("0")
                order_items.append(
                    {
                        "orderItemId": f"{10000000000000 + n * 100 + index:014d}",
                        "quantityOrdered": quantity,
                        "product": {
                            "asin": raw.get("asin") or listing.get("asin") or f"B0{n:04d}{index:04d}",
                            "title": raw.get("title", sku.replace("-", " ").title()),
                            "sellerSku": sku,
                            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                            "price": {"unitPrice": _money(price, currency)},
                        },
                        "proceeds": {
                            "proceedsTotal": _money(price * quantity + line_shipping, currency),
                            "breakdowns": [
                                {"type": "ITEM", "subtotal": _money(price * quantity, currency)},
                                {"type": "SHIPPING", "subtotal": _money(line_shipping, currency)},
                            ],
                        },
                        "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": quantity},
                    }
                )
            total = sum(
                (Decimal(i["proceeds"]["proceedsTotal"]["amount"]) for i in order_items), Decimal("0")
            )
            order = {
                "orderId": order_id,
                "createdTime": stamp,
                "lastUpdatedTime": stamp,
                "salesChannel": {
                    "channelName": "AMAZON",
                    "marketplaceId": self.marketplace_id,
                    "marketplaceName": "Amazon.com",
                },
                "buyer": {"buyerName": (address or DEFAULT_ADDRESS).get("name"), "buyerEmail": buyer_email},
                "recipient": {"deliveryAddress": dict(address or DEFAULT_ADDRESS)},
                "proceeds": {"grandTotal": _money(total, currency)},
                "fulfillment": {
                    "fulfillmentStatus": status,
                    "fulfilledBy": fulfilled_by,
                    "fulfillmentServiceLevel": "STANDARD",
                },
                "orderItems": order_items,
                "packages": [],
            }
            self.orders[order_id] = order
            return copy.deepcopy(order)

    def update_order(
        self, order_id: str, *, status: str | None = None, address: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """As Amazon would (paid: PENDING -> UNSHIPPED; a new address): a new lastUpdatedTime."""
        with self.lock:
            order = self.orders[order_id]
            if status:
                order["fulfillment"]["fulfillmentStatus"] = status
            if address:
                order["recipient"]["deliveryAddress"] = {**order["recipient"]["deliveryAddress"], **address}
            order["lastUpdatedTime"] = self._now()
            return copy.deepcopy(order)

    def cancel_order(self, order_id: str, *, reason: str = "Buyer cancelled the order") -> dict[str, Any]:
        with self.lock:
            order = self.orders[order_id]
            order["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
            for item in order["orderItems"]:
                item["cancellation"] = {"cancellationRequest": {"requester": "BUYER", "cancelReason": reason}}
            order["lastUpdatedTime"] = self._now()
            return copy.deepcopy(order)

    def packages_of(self, order_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.orders[order_id]["packages"])

    # --- controls for tests -----------------------------------------------------------------------
    def set_rate_limit(self, operation: str, *, rate: float, burst: int) -> None:
        """Give an operation its own token bucket (rate 0: no limit)."""
        with self.lock:
            if rate <= 0:
                self.limits.pop(operation, None)
            else:
                self.limits[operation] = (rate, burst)
            self.buckets.pop(operation, None)

    def fail_next_page(self, n: int = 1, *, status: int = 503) -> None:
        """The next n searchOrders calls that carry a page token answer `status`."""
        with self.lock:
            self.page_faults.extend([status] * n)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def revoke_refresh_token(self) -> None:
        with self.lock:
            self.refresh_token_revoked = True

    # --- HTTP -------------------------------------------------------------------------------------
    def handle(self, request: FakeRequest) -> FakeResponse:
        if request.method == "POST" and request.path == "/auth/o2/token":
            return self._lwa(request)
        routes = (
            ("GET", ORDER, "getOrder", self._get_order),
            ("GET", ORDERS, "searchOrders", self._search_orders),
            ("POST", CONFIRM, "confirmShipment", self._confirm_shipment),
            ("PATCH", LISTING, "patchListingsItem", self._patch_listing),
        )
        for method, pattern, operation, view in routes:
            match = pattern.fullmatch(request.path)
            if match is None or request.method != method:
                continue
            refused = self._unauthorized(request) or self._throttled(operation)
            if refused is not None:
                return refused
            answer = view(request, *[unquote(g) for g in match.groups()])
            if operation in self.limits:
                answer.headers.setdefault("x-amzn-RateLimit-Limit", str(self.limits[operation][0]))
            return answer
        return _errors(404, "NotFound", "The requested resource does not exist.")

    def _lwa(self, request: FakeRequest) -> FakeResponse:
        form = request.form()
        if form.get("grant_type") != "refresh_token":
            return FakeResponse(
                400, {"error": "unsupported_grant_type", "error_description": "Use refresh_token."}
            )
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return FakeResponse(
                401, {"error": "invalid_client", "error_description": "Client authentication failed"}
            )
        with self.lock:
            if form.get("refresh_token") != self.refresh_token or self.refresh_token_revoked:
                return FakeResponse(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "The request has an invalid grant parameter",
                    },
                )
            self.tokens_issued += 1
            token = f"Atza|fake-{self.tokens_issued}-{uuid.uuid4().hex[:12]}"
            self.tokens[token] = time.time() + self.token_lifetime
        return FakeResponse(
            200, {"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime}
        )

    def _unauthorized(self, request: FakeRequest) -> FakeResponse | None:
        token = next((v for k, v in request.headers.items() if k.lower() == "x-amz-access-token"), "")
        with self.lock:
            expiry = self.tokens.get(token)
        if expiry is None:
            return _errors(403, "Unauthorized", "Access to requested resource is denied.")
        if expiry <= time.time():
            return FakeResponse(
                403,
                {
                    "errors": [
                        {
                            "code": "Unauthorized",
                            "message": "Access to requested resource is denied.",
                            "details": "The access token you provided has expired.",
                        }
                    ]
                },
            )
        return None

    def _throttled(self, operation: str) -> FakeResponse | None:
        with self.lock:
            limit = self.limits.get(operation)
            if limit is None:
                return None
            rate, burst = limit
            now = time.monotonic()
            tokens, at = self.buckets.get(operation, [float(burst), now])
            tokens = min(float(burst), tokens + (now - at) * rate)
            if tokens < 1.0:
                self.buckets[operation] = [tokens, now]
                return _errors(
                    429,
                    "QuotaExceeded",
                    "You exceeded your quota for the requested resource.",
                    **{"x-amzn-RateLimit-Limit": str(rate)},
                )
            self.buckets[operation] = [tokens - 1.0, now]
            return None

    # --- orders -------------------------------------------------------------------------------------
    def _view(self, order: dict[str, Any], datasets: set[str]) -> dict[str, Any]:
        """The order as Amazon answers it: the core, and only the datasets asked for."""
        status = order["fulfillment"]["fulfillmentStatus"]
        view: dict[str, Any] = {
            k: copy.deepcopy(order[k]) for k in ("orderId", "createdTime", "lastUpdatedTime", "salesChannel")
        }
        if "BUYER" in datasets:
            view["buyer"] = copy.deepcopy(order["buyer"])
        if "RECIPIENT" in datasets and status not in ("PENDING", "PENDING_AVAILABILITY"):
            view["recipient"] = copy.deepcopy(order["recipient"])
        if "PROCEEDS" in datasets:
            view["proceeds"] = copy.deepcopy(order["proceeds"])
        if "FULFILLMENT" in datasets:
            view["fulfillment"] = copy.deepcopy(order["fulfillment"])
        if "PACKAGES" in datasets:
            view["packages"] = copy.deepcopy(order["packages"])
        items = []
        for item in order["orderItems"]:
            shown = {
                k: copy.deepcopy(item[k]) for k in ("orderItemId", "quantityOrdered", "product") if k in item
            }
            for key, dataset in (
                ("proceeds", "PROCEEDS"),
                ("cancellation", "CANCELLATION"),
                ("fulfillment", "FULFILLMENT"),
            ):
                if dataset in datasets and key in item:
                    shown[key] = copy.deepcopy(item[key])
            items.append(shown)
        view["orderItems"] = items
        return view

    def _datasets(self, request: FakeRequest) -> set[str] | FakeResponse:
        wanted = set(_args(request, "includedData"))
        unknown = wanted - set(DATASETS)
        if unknown:
            return _errors(400, "InvalidInput", f"Invalid includedData: {', '.join(sorted(unknown))}")
        return wanted

    def _search_orders(self, request: FakeRequest) -> FakeResponse:
        datasets = self._datasets(request)
        if isinstance(datasets, FakeResponse):
            return datasets
        try:
            size = int(request.arg("maxResultsPerPage", "100"))
        except ValueError:
            size = 0
        if not 1 <= size <= 100:
            return _errors(400, "InvalidInput", "maxResultsPerPage must be between 1 and 100.")
        filters = {
            name: request.arg(name)
            for name in (
                "createdAfter",
                "lastUpdatedAfter",
                "lastUpdatedBefore",
                "marketplaceIds",
                "fulfilledBy",
                "fulfillmentStatuses",
            )
        }
        token = request.arg("paginationToken")
        with self.lock:
            self.search_queries.append({k: ",".join(v) for k, v in request.query.items()})
            if token and self.page_faults:
                return _errors(
                    self.page_faults.pop(0), "InternalFailure", "We encountered an internal error."
                )
            if token:
                page = self.page_tokens.pop(token, None)
                if page is None:
                    return _errors(400, "InvalidInput", "Invalid paginationToken.")
                if page["filters"] != filters:
                    self.page_tokens[token] = page
                    return _errors(400, "InvalidInput", "The parameters differ from those of the first page.")
                ids, before = page["ids"], page["before"]
            else:
                found = self._matching(filters)
                if isinstance(found, FakeResponse):
                    return found
                ids, before = found
            chosen, rest = ids[:size], ids[size:]
            orders = [self._view(self.orders[i], datasets) for i in chosen]
            if self.lean_search:
                for order in orders:
                    order.pop("recipient", None)
            answer: dict[str, Any] = {"orders": orders, "lastUpdatedBefore": before}
            if rest:
                next_token = uuid.uuid4().hex
                self.page_tokens[next_token] = {"ids": rest, "filters": filters, "before": before}
                answer["pagination"] = {"nextToken": next_token}
        return FakeResponse(200, answer)

    def _matching(self, filters: dict[str, str]) -> tuple[list[str], str] | FakeResponse:
        after_text = filters["lastUpdatedAfter"] or filters["createdAfter"]
        if bool(filters["lastUpdatedAfter"]) == bool(filters["createdAfter"]):
            return _errors(
                400, "InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter is required."
            )
        after = _parse(after_text)
        if after is None:
            return _errors(400, "InvalidInput", f"Invalid date {after_text!r}.")
        latest = datetime.now(UTC) - timedelta(seconds=self.data_delay_seconds)
        before = _parse(filters["lastUpdatedBefore"]) if filters["lastUpdatedBefore"] else latest
        if before is None or before < after or before > latest + timedelta(seconds=1):
            return _errors(
                400,
                "InvalidInput",
                "lastUpdatedBefore must be after lastUpdatedAfter and two minutes before now.",
            )
        field = "lastUpdatedTime" if filters["lastUpdatedAfter"] else "createdTime"
        markets = set(filters["marketplaceIds"].split(",")) if filters["marketplaceIds"] else None
        by = set(filters["fulfilledBy"].split(",")) if filters["fulfilledBy"] else None
        statuses = set(filters["fulfillmentStatuses"].split(",")) if filters["fulfillmentStatuses"] else None
        found = []
        for order in self.orders.values():
            moment = _parse(order[field])
            if moment is None or not after <= moment <= before:
                continue
            if markets and order["salesChannel"]["marketplaceId"] not in markets:
                continue
            if by and order["fulfillment"]["fulfilledBy"] not in by:
                continue
            if statuses and order["fulfillment"]["fulfillmentStatus"] not in statuses:
                continue
            found.append((order[field], order["orderId"]))
        return [order_id for _, order_id in sorted(found)], _stamp(before)

    def _get_order(self, request: FakeRequest, order_id: str) -> FakeResponse:
        datasets = self._datasets(request)
        if isinstance(datasets, FakeResponse):
            return datasets
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return _errors(404, "NotFound", f"Order {order_id} does not exist.")
            return FakeResponse(200, {"order": self._view(order, datasets)})

    def _confirm_shipment(self, request: FakeRequest, order_id: str) -> FakeResponse:
        body = request.json()
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return _errors(404, "NotFound", f"Order {order_id} does not exist.")
            problem = self._shipment_problem(order, body)
            if problem:
                return _errors(400, "InvalidInput", problem)
            detail = body["packageDetail"]
            reference = str(detail["packageReferenceId"])
            package = {
                "packageReferenceId": reference,
                "createdTime": self._now(),
                "packageStatus": {"status": "SHIPPED"},
                "carrier": detail.get("carrierName") or detail["carrierCode"],
                "carrierCode": detail["carrierCode"],
                "shipTime": detail["shipDate"],
                "shippingService": detail.get("shippingMethod", ""),
                "trackingNumber": detail["trackingNumber"],
                "packageItems": [
                    {"orderItemId": str(i["orderItemId"]), "quantity": int(i["quantity"])}
                    for i in detail["orderItems"]
                ],
            }
            packages = [p for p in order["packages"] if p["packageReferenceId"] != reference]
            order["packages"] = [*packages, package]
            shipped: dict[str, int] = {}
            for p in order["packages"]:
                for item in p["packageItems"]:
                    shipped[item["orderItemId"]] = shipped.get(item["orderItemId"], 0) + item["quantity"]
            for item in order["orderItems"]:
                done = shipped.get(item["orderItemId"], 0)
                item["fulfillment"] = {
                    "quantityFulfilled": done,
                    "quantityUnfulfilled": item["quantityOrdered"] - done,
                }
            complete = all(i["fulfillment"]["quantityUnfulfilled"] == 0 for i in order["orderItems"])
            order["fulfillment"]["fulfillmentStatus"] = "SHIPPED" if complete else "PARTIALLY_SHIPPED"
            order["lastUpdatedTime"] = self._now()
            self.confirmations.append({"orderId": order_id, **copy.deepcopy(body)})
        return FakeResponse(204)

    def _shipment_problem(self, order: dict[str, Any], body: Any) -> str:
        """Why a confirmShipment body is refused ("" when it is fine), as the v0 model documents it."""
        if not isinstance(body, dict):
            return "The request body must be a JSON object."
        if body.get("marketplaceId") != order["salesChannel"]["marketplaceId"]:
            return "marketplaceId is missing or is not the order's marketplace."
        detail = body.get("packageDetail")
        if not isinstance(detail, dict):
            return "packageDetail is required."
        for field in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate"):
            if not str(detail.get(field) or "").strip():
                return f"packageDetail.{field} is required."
        if not POSITIVE_NUMBER.fullmatch(str(detail["packageReferenceId"])):
            return "packageDetail.packageReferenceId must be a positive number."
        if _parse(str(detail["shipDate"])) is None:
            return "packageDetail.shipDate is not an ISO 8601 date."
        if order["fulfillment"]["fulfillmentStatus"] not in ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"):
            return f"The order is {order['fulfillment']['fulfillmentStatus']} and cannot be shipped."
        items = detail.get("orderItems")
        if not isinstance(items, list) or not items:
            return "packageDetail.orderItems is required."
        ordered = {i["orderItemId"]: i["quantityOrdered"] for i in order["orderItems"]}
        shipped: dict[str, int] = {}
        for package in order["packages"]:
            if package["packageReferenceId"] == str(detail["packageReferenceId"]):
                continue  # an edit of this package replaces it
            for item in package["packageItems"]:
                shipped[item["orderItemId"]] = shipped.get(item["orderItemId"], 0) + item["quantity"]
        for item in items:
            if not isinstance(item, dict) or str(item.get("orderItemId")) not in ordered:
                named = item.get("orderItemId") if isinstance(item, dict) else item
                return f"orderItemId {named!r} is not in the order."
            quantity = item.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                return "Each order item needs a positive quantity."
            key = str(item["orderItemId"])
            shipped[key] = shipped.get(key, 0) + quantity
            if shipped[key] > ordered[key]:
                return f"More units of order item {key} than were ordered."
        return ""

    # --- listings ------------------------------------------------------------------------------------
    def _patch_listing(self, request: FakeRequest, seller_id: str, sku: str) -> FakeResponse:
        body = request.json()
        if seller_id != self.seller_id:
            return _errors(403, "Unauthorized", "Access to requested resource is denied.")
        if self.marketplace_id not in _args(request, "marketplaceIds"):
            return _errors(400, "InvalidInput", "marketplaceIds is required.")
        if not isinstance(body, dict) or not str(body.get("productType") or "").strip():
            return _errors(400, "InvalidInput", "productType is required.")
        patches = body.get("patches")
        if not isinstance(patches, list) or not patches:
            return _errors(400, "InvalidInput", "patches must list at least one operation.")
        quantity: int | None = None
        for patch in patches:
            if not isinstance(patch, dict) or patch.get("op") not in ("add", "replace", "merge", "delete"):
                return _errors(400, "InvalidInput", "Each patch needs an op: add, replace, merge or delete.")
            if patch.get("path") != "/attributes/fulfillment_availability":
                continue
            for value in patch.get("value") or []:
                if not isinstance(value, dict) or not value.get("fulfillment_channel_code"):
                    return _errors(400, "InvalidInput", "fulfillment_channel_code is required.")
                raw = value.get("quantity")
                if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
                    return _errors(400, "InvalidInput", "quantity must be a whole number, 0 or more.")
                quantity = raw
        submission = uuid.uuid4().hex
        with self.lock:
            self.listing_patches.append({"sku": sku, **body})
            listing = self.listings.get(sku)
            if listing is None:
                issue = {
                    "code": "8541",
                    "message": f"SKU {sku} has no listing in this marketplace.",
                    "severity": "ERROR",
                }
                return FakeResponse(
                    200, {"sku": sku, "status": "INVALID", "submissionId": submission, "issues": [issue]}
                )
            if quantity is not None:
                listing["quantity"] = quantity
                listing["updates"] += 1
                self.stock_updates.append((sku, quantity))
        return FakeResponse(200, {"sku": sku, "status": "ACCEPTED", "submissionId": submission, "issues": []})

    # --- state and controls ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self.lock:
            orders = [
                {
                    "orderId": o["orderId"],
                    "status": o["fulfillment"]["fulfillmentStatus"],
                    "fulfilledBy": o["fulfillment"]["fulfilledBy"],
                    "lastUpdatedTime": o["lastUpdatedTime"],
                    "items": ", ".join(
                        f"{i['quantityOrdered']} × {i['product']['sellerSku']}" for i in o["orderItems"]
                    ),
                    "total": o["proceeds"]["grandTotal"]["amount"],
                }
                for o in self.orders.values()
            ]
            packages = [
                {
                    "orderId": o["orderId"],
                    "packageReferenceId": p["packageReferenceId"],
                    "carrier": p["carrier"],
                    "trackingNumber": p["trackingNumber"],
                    "items": ", ".join(f"{i['quantity']} × {i['orderItemId']}" for i in p["packageItems"]),
                }
                for o in self.orders.values()
                for p in o["packages"]
            ]
            return {
                "orders": orders,
                "packages": packages,
                "listings": [dict(v) for v in self.listings.values()],
                "access tokens issued": self.tokens_issued,
                "rate limits": {k: {"rate": r, "burst": b} for k, (r, b) in self.limits.items()},
            }

    def control(self, method: str, path: str, body: Any) -> FakeResponse | None:
        body = body if isinstance(body, dict) else {}
        if method != "POST":
            return None
        if path == "orders":
            items = body.get("items") or [{"sku": "SKU-1", "quantity": 1, "price": "19.99"}]
            return FakeResponse(
                201, {"order": self.create_order(items=items, status=str(body.get("status") or "UNSHIPPED"))}
            )
        match = re.fullmatch(r"orders/([^/]+)/(cancel|update)", path)
        if match and match.group(1) in self.orders:
            if match.group(2) == "cancel":
                order = self.cancel_order(
                    match.group(1), reason=str(body.get("reason") or "Buyer cancelled the order")
                )
            else:
                order = self.update_order(
                    match.group(1), status=body.get("status"), address=body.get("address")
                )
            return FakeResponse(200, {"order": order})
        if path == "listings":
            return FakeResponse(
                201, self.add_listing(str(body.get("sku", "")), quantity=int(body.get("quantity", 0)))
            )
        if path == "rate-limits":
            self.set_rate_limit(
                str(body.get("operation", "")),
                rate=float(body.get("rate", 0)),
                burst=int(body.get("burst", 1)),
            )
            return FakeResponse(200, {"limits": {k: list(v) for k, v in self.limits.items()}})
        if path == "tokens/expire":
            self.expire_tokens()
            return FakeResponse(200, {"expired": True})
        if path == "refresh-token/revoke":
            self.revoke_refresh_token()
            return FakeResponse(200, {"revoked": True})
        if path == "lean-search":
            self.lean_search = bool(body.get("on", True))
            return FakeResponse(200, {"lean_search": self.lean_search})
        return None


def main(argv: list[str] | None = None) -> None:
    parser = base_arguments("A local fake of Amazon's SP-API and LWA (development and tests).", port=8028)
    client_arguments(parser, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN)
    parser.add_argument("--seller-id", default=SELLER_ID)
    parser.add_argument("--marketplace-id", default=MARKETPLACE_ID)
    args = generator_arguments(parser, interval=15.0).parse_args(argv)
    fake = FakeAmazon(
        client_id=args.client_id,
        client_secret=args.client_secret,
        refresh_token=args.refresh_token,
        seller_id=args.seller_id,
        marketplace_id=args.marketplace_id,
    )
    serve_with_orders(
        fake, args, list_sku=fake.add_listing, new_order=lambda lines: fake.create_order(items=lines)
    )


if __name__ == "__main__":
    main()
