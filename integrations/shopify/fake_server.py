"""A local fake of a Shopify shop: what the tests and `make run`'s demo talk to instead of Shopify.

It speaks what our adapter uses (../shared/integrations.md section 3): the GraphQL Admin API at
`POST /admin/api/<version>/graphql.json` (header `X-Shopify-Access-Token`), answering the
`order(id:) { fulfillments, fulfillmentOrders }` query and the `fulfillmentCreate` mutation
(200 with `userErrors` when refused, as Shopify does), and it sends signed webhooks
(`X-Shopify-Hmac-Sha256` = base64 HMAC-SHA256 of the raw body, `X-Shopify-Topic`,
`X-Shopify-Event-Id`, `X-Shopify-Webhook-Id`, `X-Shopify-Shop-Domain`...) with the REST
Order resource as the body. It keeps state: orders (REST shape), one fulfillment order per
order with its line items, fulfillments with their tracking.

Tests start it in a thread on a free port::

    fake = FakeShopify(access_token="shpat_x").start()      # fake.url -> "http://127.0.0.1:PORT"
    fake.add_webhook(url, secret="shpss_x")
    order = fake.create_order(line_items=[{"sku": "SKU-1", "quantity": 2, "price": "10.00"}])
    fake.deliver("orders/create", order["id"], times=5)     # the same event (same event id) 5 times
    fake.cancel_order(order["id"])                          # orders/cancelled
    fake.fulfillments_of(order["id"])                       # what our tracking push made
    fake.request_return(order["id"], line_items=[(item_id, 1, "defective")])  # returns/request
    fake.fail_next(2, status=503)
    fake.stop()

As a process (`make run`)::

    python -m integrations.shopify.fake_server --port 8026 --webhook-url URL --webhook-secret S

and over HTTP, without authentication, under /_control/: GET state, POST reset,
POST orders {line_items, email, shipping_address} (creates an order and sends orders/create),
POST orders/<id>/cancel, POST orders/<id>/update {shipping_address}, POST webhooks {url, secret},
POST variants {sku, available, variant_id}, POST faults {fail, status}; GET / is a page of its
state (the shared scaffolding, integrations/fakes/base.py).

Stock: `add_variant(sku, available=)` makes a product variant with an inventory item at the
shop's one location (`LOCATION`); `locations`, `nodes(ids:)` (variants) and
`inventorySetQuantities` answer as Shopify does; `available_of(variant_id)` and
`stock_updates` (each mutation's quantities) show what we published.

Stdlib only: no Django, so it runs anywhere the project's Python does.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from integrations.fakes.base import (
    FakeRequest,
    FakeResponse,
    FakeServer,
    base_arguments,
    demo_line,
    now_text,
    serve_forever,
    sku_list,
)
from integrations.signing import hmac_sha256_base64

API_VERSION = "2026-07"
SHOP_DOMAIN = "fake-shop.myshopify.com"
LOCATION = "gid://shopify/Location/1"
DEFAULT_ADDRESS = {
    "first_name": "Ana",
    "last_name": "Lima",
    "name": "Ana Lima",
    "company": None,
    "address1": "500 Congress Ave",
    "address2": "",
    "city": "Austin",
    "province": "Texas",
    "province_code": "TX",
    "zip": "78701",
    "country": "United States",
    "country_code": "US",
    "phone": "+15125550100",
}


def sign(secret: str, body: bytes) -> str:
    """`X-Shopify-Hmac-Sha256`: base64(HMAC-SHA256(secret, raw body))."""
    return hmac_sha256_base64(secret, body)


@dataclass
class Hook:
    url: str
    secret: str


@dataclass
class Delivery:
    topic: str
    event_id: str
    status: int | None
    error: str = ""


def _gid(kind: str, number: int | str) -> str:
    return f"gid://shopify/{kind}/{number}"


def _tail(gid: str) -> str:
    return str(gid).rsplit("/", 1)[-1]


class FakeShopify(FakeServer):
    title = "Fake Shopify"

    def __init__(self, *, access_token: str | None = None, webhooks: list[Hook] | None = None) -> None:
        super().__init__()
        self.access_token = access_token
        self.initial_hooks = list(webhooks or [])
        self.reset()

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.ids = itertools.count(820982911946154508)
            self.orders: dict[str, dict[str, Any]] = {}
            self.fulfillment_orders: dict[str, list[dict[str, Any]]] = {}
            self.fulfillments: dict[str, list[dict[str, Any]]] = {}
            self.hooks: list[Hook] = list(self.initial_hooks)
            self.deliveries: list[Delivery] = []
            self.requests: list[dict[str, Any]] = []
            self.events: dict[tuple[str, str], str] = {}  # (topic, order id) -> last event id
            self.variants: dict[str, dict[str, Any]] = {}  # variant id -> sku, inventory item, available
            self.stock_updates: list[list[dict[str, Any]]] = []  # each inventorySetQuantities' quantities
            self.returns: dict[str, dict[str, Any]] = {}  # return id -> the Return (webhook shape)

    # --- the shop --------------------------------------------------------------------------------------
    def add_webhook(self, url: str, *, secret: str) -> Hook:
        hook = Hook(url, secret)
        with self.lock:
            self.hooks.append(hook)
        return hook

    def create_order(
        self,
        *,
        line_items: list[dict[str, Any]],
        email: str = "ana@example.com",
        shipping_address: dict[str, Any] | None = None,
        currency: str = "USD",
        shipping: str = "5.00",
        notify: bool = False,
    ) -> dict[str, Any]:
        """A new order (REST shape) with one open fulfillment order; with `notify`, orders/create goes out."""
        with self.lock:
            order_id = next(self.ids)
            number = 1000 + len(self.orders) + 1
            items = []
            for raw in line_items:
                item_id = next(self.ids)
                quantity = int(raw.get("quantity", 1))
                items.append(
                    {
                        "id": item_id,
                        "admin_graphql_api_id": _gid("LineItem", item_id),
                        "variant_id": raw.get("variant_id", next(self.ids)),
                        "product_id": raw.get("product_id", next(self.ids)),
                        "sku": raw.get("sku", ""),
                        "name": raw.get("title", raw.get("sku", "Item")),
                        "title": raw.get("title", raw.get("sku", "Item")),
                        "quantity": quantity,
                        "fulfillable_quantity": quantity,
                        "fulfillment_status": None,
                        "price": str(raw.get("price", "10.00")),
                        "requires_shipping": True,
                        "grams": int(raw.get("grams", 200)),
                        "tax_lines": [],
                    }
                )
            subtotal = sum(Decimal(i["price"]) * i["quantity"] for i in items)
            address = dict(shipping_address or DEFAULT_ADDRESS)
            now = now_text("+00:00")
            order = {
                "id": order_id,
                "admin_graphql_api_id": _gid("Order", order_id),
                "name": f"#{number}",
                "order_number": number,
                "email": email,
                "phone": None,
                "created_at": now,
                "updated_at": now,
                "processed_at": now,
                "currency": currency,
                "presentment_currency": currency,
                "test": True,
                "financial_status": "paid",
                "fulfillment_status": None,
                "cancelled_at": None,
                "cancel_reason": None,
                "subtotal_price": str(subtotal),
                "total_tax": "0.00",
                "total_discounts": "0.00",
                "total_price": str(subtotal + Decimal(shipping)),
                "customer": {
                    "id": next(self.ids),
                    "email": email,
                    "first_name": address.get("first_name"),
                    "last_name": address.get("last_name"),
                },
                "shipping_address": address,
                "billing_address": address,
                "line_items": items,
                "shipping_lines": [{"id": next(self.ids), "title": "Standard", "price": shipping}],
            }
            key = str(order_id)
            self.orders[key] = order
            fo_id = next(self.ids)
            self.fulfillment_orders[key] = [
                {
                    "id": _gid("FulfillmentOrder", fo_id),
                    "status": "OPEN",
                    "lineItems": [
                        {
                            "id": _gid("FulfillmentOrderLineItem", next(self.ids)),
                            "remainingQuantity": i["quantity"],
                            "lineItem": {"id": i["admin_graphql_api_id"], "sku": i["sku"]},
                        }
                        for i in items
                    ],
                }
            ]
            self.fulfillments[key] = []
        if notify:
            self.deliver("orders/create", key)
        return order

    def add_variant(self, sku: str, *, available: int = 0, variant_id: str | int | None = None) -> str:
        """A product variant with its inventory item, `available` at the shop's one location."""
        with self.lock:
            key = str(variant_id if variant_id is not None else next(self.ids))
            self.variants[key] = {
                "sku": sku,
                "inventory_item_id": _gid("InventoryItem", next(self.ids)),
                "available": available,
            }
            return key

    def available_of(self, variant_id: str | int) -> int:
        with self.lock:
            return int(self.variants[str(variant_id)]["available"])

    def update_order(
        self, order_id: str | int, *, shipping_address: dict[str, Any], notify: bool = True
    ) -> None:
        with self.lock:
            order = self.orders[str(order_id)]
            order["shipping_address"] = {**order["shipping_address"], **shipping_address}
            order["updated_at"] = now_text("+00:00")
        if notify:
            self.deliver("orders/updated", order_id)

    def cancel_order(self, order_id: str | int, *, reason: str = "customer", notify: bool = True) -> None:
        with self.lock:
            order = self.orders[str(order_id)]
            order["cancelled_at"] = order["updated_at"] = now_text("+00:00")
            order["cancel_reason"] = reason
            for fo in self.fulfillment_orders[str(order_id)]:
                if fo["status"] == "OPEN":
                    fo["status"] = "CANCELLED"
        if notify:
            self.deliver("orders/cancelled", order_id)

    def request_return(
        self,
        order_id: str | int,
        line_items: list[tuple[str | int, int, str]],
        *,
        customer_note: str = "",
        notify: bool = True,
        times: int = 1,
    ) -> dict[str, Any]:
        """The customer asks to return (line item id, quantity, Shopify return reason) of an order:
        a Return in `REQUESTED` status; with `notify`, `returns/request` goes out `times` times
        (the same event id). The body is Shopify's REST-style Return webhook body."""
        with self.lock:
            return_id = next(self.ids)
            order_key = str(order_id)
            ret = {
                "id": return_id,
                "admin_graphql_api_id": _gid("Return", return_id),
                "name": f"{self.orders[order_key]['name'] if order_key in self.orders else '#0'}-R1",
                "status": "requested",
                "order": {"id": int(order_id), "admin_graphql_api_id": _gid("Order", order_id)},
                "total_return_line_items": sum(int(q) for _, q, _ in line_items),
                "return_line_items": [
                    {
                        "id": (item_id := next(self.ids)),
                        "admin_graphql_api_id": _gid("ReturnLineItem", item_id),
                        "fulfillment_line_item": {
                            "id": (fli := next(self.ids)),
                            "admin_graphql_api_id": _gid("FulfillmentLineItem", fli),
                            "line_item": {
                                "id": int(line_item_id),
                                "admin_graphql_api_id": _gid("LineItem", line_item_id),
                            },
                        },
                        "quantity": int(quantity),
                        "return_reason": reason,
                        "return_reason_note": "",
                        "customer_note": customer_note or None,
                    }
                    for line_item_id, quantity, reason in line_items
                ],
            }
            self.returns[str(return_id)] = ret
        if notify:
            self.deliver("returns/request", order_id, body=self.return_body(return_id), times=times)
        return ret

    def return_body(self, return_id: str | int) -> bytes:
        with self.lock:
            return json.dumps(self.returns[str(return_id)]).encode()

    def fulfillments_of(self, order_id: str | int) -> list[dict[str, Any]]:
        with self.lock:
            return json.loads(json.dumps(self.fulfillments.get(str(order_id), [])))

    # --- webhooks -----------------------------------------------------------------------------------------
    def webhook_body(self, order_id: str | int) -> bytes:
        with self.lock:
            return json.dumps(self.orders[str(order_id)]).encode()

    def deliver(
        self,
        topic: str,
        order_id: str | int,
        *,
        event_id: str | None = None,
        times: int = 1,
        concurrently: int = 0,
        body: bytes | None = None,
        signature: str | None = None,
    ) -> list[Delivery]:
        """POST one event to every webhook: `times` deliveries one after the other, then
        `concurrently` more at once, all with the same event id (a duplicate, by Shopify's word)."""
        raw = body if body is not None else self.webhook_body(order_id)
        event_id = event_id or str(uuid.uuid4())
        with self.lock:
            hooks = list(self.hooks)
            self.events[(topic, str(order_id))] = event_id
        results: list[Delivery] = []
        for hook in hooks:
            for _ in range(times):
                results.append(self._post(hook, topic, event_id, raw, signature))
            if concurrently:
                threads = [
                    threading.Thread(
                        target=lambda h=hook: results.append(self._post(h, topic, event_id, raw, signature))
                    )
                    for _ in range(concurrently)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(30)
        with self.lock:
            self.deliveries.extend(results)
        return results

    def _post(self, hook: Hook, topic: str, event_id: str, raw: bytes, signature: str | None) -> Delivery:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Shopify-Captain-Hook",
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": SHOP_DOMAIN,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": event_id,
            "X-Shopify-Triggered-At": now_text("+00:00"),
        }
        if signature is None:
            headers["X-Shopify-Hmac-Sha256"] = sign(hook.secret, raw)
        elif signature:
            headers["X-Shopify-Hmac-Sha256"] = signature
        request = urllib.request.Request(hook.url, data=raw, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Delivery(topic, event_id, response.status)
        except urllib.error.HTTPError as exc:
            return Delivery(topic, event_id, exc.code, error=exc.read().decode(errors="replace")[:500])
        except (OSError, ValueError) as exc:
            return Delivery(topic, event_id, None, error=str(exc))

    # --- GraphQL Admin API -------------------------------------------------------------------------
    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        if "inventorySetQuantities(" in query:
            return {"data": {"inventorySetQuantities": self._set_quantities(variables.get("input") or {})}}
        if "locations(" in query:
            return {"data": {"locations": {"nodes": [{"id": LOCATION}]}}}
        if "nodes(" in query:
            return {"data": {"nodes": [self._variant_node(str(i)) for i in variables.get("ids") or []]}}
        if "orderCancel(" in query:
            return {"data": {"orderCancel": self._order_cancel(variables)}}
        if "fulfillmentCreate(" in query:
            return {
                "data": {"fulfillmentCreate": self._fulfillment_create(variables.get("fulfillment") or {})}
            }
        if re.search(r"\border\s*\(", query):
            return {"data": {"order": self._order_node(str(variables.get("id", "")))}}
        return {
            "errors": [
                {"message": "Field is not supported by the fake", "extensions": {"code": "UNSUPPORTED"}}
            ]
        }

    def _order_cancel(self, variables: dict[str, Any]) -> dict[str, Any]:
        key = _tail(str(variables.get("orderId", "")))
        with self.lock:
            order = self.orders.get(key)
            if order is None:
                error = {"field": ["orderId"], "message": "Order does not exist", "code": "NOT_FOUND"}
                return {"job": None, "orderCancelUserErrors": [error]}
            if order["cancelled_at"] or self.fulfillments.get(key):
                message = "Cannot cancel an order that is already cancelled or has fulfillments"
                return {
                    "job": None,
                    "orderCancelUserErrors": [{"field": ["orderId"], "message": message, "code": "INVALID"}],
                }
            order["cancelled_at"] = order["updated_at"] = now_text("+00:00")
            order["cancel_reason"] = str(variables.get("reason", "OTHER")).lower()
            order["note"] = variables.get("staffNote")
            for fo in self.fulfillment_orders[key]:
                fo["status"] = "CANCELLED"
            return {"job": {"id": _gid("Job", next(self.ids)), "done": True}, "orderCancelUserErrors": []}

    def _variant_node(self, gid: str) -> dict[str, Any] | None:
        if not gid.startswith("gid://shopify/ProductVariant/"):
            return None
        with self.lock:
            variant = self.variants.get(_tail(gid))
            if variant is None:
                return None
            return {"id": gid, "inventoryItem": {"id": variant["inventory_item_id"]}}

    def _set_quantities(self, data: dict[str, Any]) -> dict[str, Any]:
        def refused(message: str) -> dict[str, Any]:
            return {
                "inventoryAdjustmentGroup": None,
                "userErrors": [{"field": ["input"], "message": message}],
            }

        if data.get("name") not in ("available", "on_hand"):
            return refused("The quantity name must be available or on_hand.")
        quantities = data.get("quantities") or []
        with self.lock:
            by_item = {v["inventory_item_id"]: v for v in self.variants.values()}
            for row in quantities:
                if row.get("locationId") != LOCATION:
                    return refused("The specified location could not be found.")
                if row.get("inventoryItemId") not in by_item:
                    return refused("The specified inventory item could not be found.")
                if not isinstance(row.get("quantity"), int):
                    return refused("The quantity must be an integer.")
            for row in quantities:
                by_item[row["inventoryItemId"]]["available"] = row["quantity"]
            self.stock_updates.append(json.loads(json.dumps(quantities)))
            return {
                "inventoryAdjustmentGroup": {"id": _gid("InventoryAdjustmentGroup", next(self.ids))},
                "userErrors": [],
            }

    def _order_node(self, gid: str) -> dict[str, Any] | None:
        key = _tail(gid)
        with self.lock:
            if key not in self.orders:
                return None
            return {
                "id": _gid("Order", key),
                "cancelledAt": self.orders[key]["cancelled_at"],
                "fulfillments": json.loads(json.dumps(self.fulfillments[key])),
                "fulfillmentOrders": {
                    "nodes": [
                        {**fo, "lineItems": {"nodes": json.loads(json.dumps(fo["lineItems"]))}}
                        for fo in self.fulfillment_orders[key]
                    ]
                },
            }

    def _fulfillment_create(self, data: dict[str, Any]) -> dict[str, Any]:
        def refused(message: str, field: list[str]) -> dict[str, Any]:
            return {"fulfillment": None, "userErrors": [{"field": field, "message": message}]}

        groups = data.get("lineItemsByFulfillmentOrder") or []
        if not groups:
            return refused("lineItemsByFulfillmentOrder is required", ["fulfillment"])
        with self.lock:
            located = []
            for group in groups:
                fo_id = group.get("fulfillmentOrderId")
                owner = next(
                    (k for k, fos in self.fulfillment_orders.items() if any(f["id"] == fo_id for f in fos)),
                    None,
                )
                if owner is None:
                    return refused(
                        "Fulfillment order does not exist.", ["fulfillment", "lineItemsByFulfillmentOrder"]
                    )
                fo = next(f for f in self.fulfillment_orders[owner] if f["id"] == fo_id)
                if fo["status"] not in ("OPEN", "IN_PROGRESS"):
                    return refused(f"Fulfillment order is {fo['status'].lower()}.", ["fulfillment"])
                wanted = group.get("fulfillmentOrderLineItems") or [
                    {"id": i["id"], "quantity": i["remainingQuantity"]} for i in fo["lineItems"]
                ]
                for item in wanted:
                    line = next((i for i in fo["lineItems"] if i["id"] == item.get("id")), None)
                    if line is None or int(item.get("quantity", 0)) > line["remainingQuantity"]:
                        return refused(
                            "Invalid fulfillment order line item quantity requested.", ["fulfillment"]
                        )
                located.append((owner, fo, wanted))
            owners = {owner for owner, _, _ in located}
            if len(owners) != 1:
                return refused("Fulfillment orders belong to different orders.", ["fulfillment"])
            for _, fo, wanted in located:
                for item in wanted:
                    line = next(i for i in fo["lineItems"] if i["id"] == item["id"])
                    line["remainingQuantity"] -= int(item["quantity"])
                fo["status"] = (
                    "CLOSED" if all(i["remainingQuantity"] == 0 for i in fo["lineItems"]) else "IN_PROGRESS"
                )
            owner = owners.pop()
            tracking = data.get("trackingInfo") or {}
            fulfillment = {
                "id": _gid("Fulfillment", next(self.ids)),
                "status": "SUCCESS",
                "trackingInfo": [
                    {
                        "number": tracking.get("number"),
                        "company": tracking.get("company"),
                        "url": tracking.get("url"),
                    }
                ],
                "notifyCustomer": bool(data.get("notifyCustomer")),
                "lineItems": [item for _, _, wanted in located for item in wanted],
                "createdAt": now_text("+00:00"),
            }
            self.fulfillments[owner].append(fulfillment)
            order = self.orders[owner]
            done = all(f["status"] == "CLOSED" for f in self.fulfillment_orders[owner])
            order["fulfillment_status"] = "fulfilled" if done else "partial"
            return {
                "fulfillment": {k: fulfillment[k] for k in ("id", "status", "trackingInfo")},
                "userErrors": [],
            }

    # --- control --------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "orders": list(self.orders.values()),
                "fulfillment_orders": self.fulfillment_orders,
                "fulfillments": self.fulfillments,
                "variants": self.variants,
                "returns": list(self.returns.values()),
                "webhooks": [{"url": h.url} for h in self.hooks],
                "deliveries": [d.__dict__ for d in self.deliveries[-100:]],
            }

    def control(self, method: str, path: str, body: Any) -> FakeResponse | None:
        body = body if isinstance(body, dict) else {}
        if method == "POST" and path == "webhooks":
            self.add_webhook(str(body.get("url", "")), secret=str(body.get("secret", "")))
            return FakeResponse(201, {"added": True})
        if method == "POST" and path == "variants":
            key = self.add_variant(
                str(body.get("sku", "")),
                available=int(body.get("available", 0)),
                variant_id=body.get("variant_id"),
            )
            return FakeResponse(201, {"variant_id": key, **self.variants[key]})
        if method == "POST" and path == "orders":
            items = body.get("line_items") or [{"sku": "SKU-1", "quantity": 1, "price": "10.00"}]
            order = self.create_order(
                line_items=items,
                email=body.get("email") or "ana@example.com",
                shipping_address=body.get("shipping_address"),
            )
            deliveries = self.deliver("orders/create", order["id"])
            return FakeResponse(201, {"order": order, "deliveries": [d.__dict__ for d in deliveries]})
        m = re.fullmatch(r"orders/(\d+)/(cancel|update)", path)
        if method == "POST" and m and m.group(1) in self.orders:
            if m.group(2) == "cancel":
                self.cancel_order(m.group(1), reason=str(body.get("reason") or "customer"))
            else:
                self.update_order(m.group(1), shipping_address=body.get("shipping_address") or {})
            return FakeResponse(200, {"order": self.orders[m.group(1)]})
        return None

    def handle(self, request: FakeRequest) -> FakeResponse:
        path = request.path.rstrip("/") or "/"
        body = request.json() if request.body else {}
        if request.body and body is None:
            return FakeResponse(400, {"errors": "The body is not JSON."})
        with self.lock:
            self.requests.append({"method": request.method, "path": path, "body": body})
        if (
            self.access_token is not None
            and request.headers.get("X-Shopify-Access-Token") != self.access_token
        ):
            return FakeResponse(
                401,
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
            )
        if request.method == "POST" and re.fullmatch(r"/admin/api/[\w-]+/graphql\.json", path):
            if not isinstance(body, dict) or not isinstance(body.get("query"), str):
                return FakeResponse(400, {"errors": "Parameter Missing or Invalid"})
            return FakeResponse(200, self.graphql(body["query"], body.get("variables") or {}))
        return FakeResponse(404, {"errors": "Not Found"})


def main(argv: list[str] | None = None) -> None:
    parser = base_arguments("A local fake of a Shopify shop (development and tests).", port=8026)
    parser.add_argument("--access-token", default=None, help="accept only this token (default: any)")
    parser.add_argument("--webhook-url", action="append", default=[])
    parser.add_argument("--webhook-secret", default="")
    parser.add_argument("--generate", type=float, default=0, help="every N seconds, a new order arrives")
    parser.add_argument("--skus", default="SKU-1", help="comma-separated SKUs the generated orders use")
    args = parser.parse_args(argv)
    fake = FakeShopify(
        access_token=args.access_token, webhooks=[Hook(u, args.webhook_secret) for u in args.webhook_url]
    )
    skus = sku_list(args.skus)
    serve_forever(
        fake,
        args,
        note=f" (webhooks: {', '.join(args.webhook_url) or 'none'})",
        generate=lambda n: fake.create_order(line_items=[demo_line(skus, n)], notify=True),
        every=args.generate,
        count=-1 if args.generate else 0,
    )


if __name__ == "__main__":
    main()
