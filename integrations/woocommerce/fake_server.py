"""A local fake of a WooCommerce shop: what the tests and the demo talk to instead of a real shop.

It speaks what our connector uses (../shared/integrations.md section 6), under `/wp-json/wc/v3`,
with HTTP Basic authentication by consumer key and secret (401 otherwise, in WooCommerce's
words):

- `GET /orders/<id>`, `PUT /orders/<id>` (status, shipping, billing, customer_note);
- `GET /orders/<id>/notes`, `POST /orders/<id>/notes` {note, customer_note};
- `GET /products` (`include`, `sku`, `per_page`, `page`; products only, as WooCommerce lists them),
  `GET /products/<id>` (a variation's id too, with its `parent_id`, as WooCommerce answers);
- `POST /products/batch` and `POST /products/<parent>/variations/batch` {"update": [...]}, at
  most 100 items (413 past it), a refused item answered in place with its `error`.

It sends webhooks as WooCommerce does (`WC_Webhook::deliver`): the order resource as compact
JSON, `X-WC-Webhook-Signature` (signing.py), `-Topic`, `-Resource`, `-Event`, `-ID`,
`-Delivery-ID` (`md5(webhook id . the current second)`, like WooCommerce's `wp_hash`: two
deliveries of one webhook in the same second share it), `-Source`; order.deleted carries only
`{"id": n}`; `ping(url)` posts `webhook_id=<n>` unsigned, as WooCommerce does when a webhook is
saved. Changes made through the REST API send no webhook here (WooCommerce would send
order.updated).

Tests start it in a thread on a free port::

    fake = FakeWooCommerce(consumer_key="ck_x", consumer_secret="cs_x").start()
    fake.add_webhook(url, secret="wc_secret")
    order = fake.create_order(line_items=[{"sku": "SKU-1", "quantity": 2, "price": "10.00"}])
    fake.deliver("order.created", order["id"], times=5)     # the same delivery id 5 times
    fake.cancel_order(order["id"])                          # status cancelled, order.updated
    fake.notes_of(order["id"]); fake.orders[str(order["id"])]["status"]
    product = fake.add_product("SKU-1", stock_quantity=0); fake.stock_of(product["id"])
    fake.fail_next(2, status=503)

As a process (the demo)::

    python -m integrations.woocommerce.fake_server --port 8027 --webhook-url URL --webhook-secret S \\
        --consumer-key K --consumer-secret S --generate 30 --interval 5 --skus SHOE-1,SOCK-2

Controls under /_control/ (no authentication): GET/POST orders (POST {line_items, billing,
shipping} creates one and sends order.created), POST orders/<id>/cancel, GET/POST webhooks
{url, secret}, GET/POST products {sku, stock_quantity, parent_id}, POST ping {url}; and the
base's state, reset and faults. `GET /` shows orders, notes, products and deliveries.

Stdlib only: no Django, so it runs anywhere the project's Python does.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from integrations.fakes.base import (
    FakeRequest,
    FakeResponse,
    FakeServer,
    base_arguments,
    generator_arguments,
    json_copy,
    now_text,
    post,
    serve_with_orders,
)
from integrations.woocommerce.signing import woocommerce_signature

API = "/wp-json/wc/v3"
BATCH_LIMIT = 100
ORDER_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "trash",
    "checkout-draft",
)
USER_AGENT = "WooCommerce/9.9.0 Hookshot (WordPress/6.8.1)"
DEFAULT_ADDRESS = {
    "first_name": "Ana",
    "last_name": "Lima",
    "company": "",
    "address_1": "500 Congress Ave",
    "address_2": "",
    "city": "Austin",
    "state": "TX",
    "postcode": "78701",
    "country": "US",
}


def _error(status: int, code: str, message: str, **data: Any) -> FakeResponse:
    return FakeResponse(status, {"code": code, "message": message, "data": {"status": status, **data}})


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


@dataclass
class Hook:
    """A delivery URL subscribed to the order topics (WooCommerce: one webhook per topic)."""

    url: str
    secret: str
    ids: dict[str, int] = field(default_factory=dict)  # topic -> webhook id


@dataclass(frozen=True)
class Sent:
    """A webhook the fake sent, and the receiver's answer (status 0: unreachable)."""

    topic: str
    delivery_id: str
    url: str
    status: int
    body: str


class FakeWooCommerce(FakeServer):
    title = "Fake WooCommerce shop"

    def __init__(
        self,
        *,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        webhooks: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__()
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.initial_hooks = list(webhooks or [])
        self._clear()

    def _clear(self) -> None:
        self.ids = itertools.count(700)
        self.orders: dict[str, dict[str, Any]] = {}
        self.notes: dict[str, list[dict[str, Any]]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.hooks: list[Hook] = []
        self.sent: list[Sent] = []
        self.stock_updates: list[dict[str, Any]] = []  # {"path", "update": [...]} per batch request
        for url, secret in self.initial_hooks:
            self.add_webhook(url, secret=secret)

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._clear()

    # --- the shop ----------------------------------------------------------------------------
    def add_webhook(self, url: str, *, secret: str) -> Hook:
        with self.lock:
            hook = Hook(url, secret, {topic: next(self.ids) for topic in ORDER_TOPICS})
            self.hooks.append(hook)
            return hook

    def add_product(
        self, sku: str, *, stock_quantity: int | None = None, price: str = "19.99", name: str = ""
    ) -> dict[str, Any]:
        """A simple product (stock not managed until someone sets a quantity)."""
        with self.lock:
            key = str(next(self.ids))
            self.products[key] = {
                "id": int(key),
                "name": name or sku,
                "type": "simple",
                "parent_id": 0,
                "sku": sku,
                "price": price,
                "manage_stock": stock_quantity is not None,
                "stock_quantity": stock_quantity,
                "stock_status": "instock" if (stock_quantity or 0) > 0 else "outofstock",
                "variations": [],
            }
            return json_copy(self.products[key])

    def add_variation(
        self,
        parent_id: int | str | None,
        sku: str,
        *,
        stock_quantity: int | None = None,
        price: str = "19.99",
    ) -> dict[str, Any]:
        """A variation of a variable product (made when `parent_id` is None or unknown)."""
        with self.lock:
            parent = self.products.get(str(parent_id))
            if parent is None:
                parent = self.add_product(f"{sku}-parent", name=f"{sku} (variable)")
                self.products[str(parent["id"])]["type"] = "variable"
                parent = self.products[str(parent["id"])]
            variation = self.add_product(sku, stock_quantity=stock_quantity, price=price)
            key = str(variation["id"])
            self.products[key].update(
                type="variation", parent_id=parent["id"], name=f"{parent['name']} - {sku}"
            )
            parent["variations"].append(variation["id"])
            return json_copy(self.products[key])

    def stock_of(self, product_id: int | str) -> int | None:
        with self.lock:
            return self.products[str(product_id)]["stock_quantity"]

    def notes_of(self, order_id: int | str) -> list[dict[str, Any]]:
        """The order's notes, oldest first (the API lists them newest first)."""
        with self.lock:
            return json_copy(self.notes.get(str(order_id), []))

    def _line_item(self, raw: dict[str, Any]) -> dict[str, Any]:
        sku = str(raw.get("sku", ""))
        quantity = raw.get("quantity", 1)
        known = next((p for p in self.products.values() if sku and p["sku"] == sku), None)
        if "product_id" in raw:
            product_id, variation_id = raw["product_id"], raw.get("variation_id", 0)
        elif known is not None and known["type"] == "variation":
            product_id, variation_id = known["parent_id"], known["id"]
        elif known is not None:
            product_id, variation_id = known["id"], 0
        else:
            product_id, variation_id = next(self.ids), 0
        price = Decimal(str(raw.get("price", "10.00")))
        try:
            subtotal = _money(price * int(quantity))
        except (TypeError, ValueError):
            subtotal = _money(price)
        return {
            "id": next(self.ids),
            "name": raw.get("name", sku or "Item"),
            "product_id": product_id,
            "variation_id": variation_id,
            "quantity": quantity,
            "tax_class": "",
            "subtotal": subtotal,
            "subtotal_tax": "0.00",
            "total": subtotal,
            "total_tax": "0.00",
            "taxes": [],
            "meta_data": [],
            "sku": sku,
            "price": float(price),
        }

    def create_order(
        self,
        *,
        line_items: list[dict[str, Any]],
        billing: dict[str, Any] | None = None,
        shipping: dict[str, Any] | None = None,
        status: str = "processing",
        currency: str = "USD",
        shipping_total: str = "5.00",
        notify: bool = True,
    ) -> dict[str, Any]:
        """A new order (REST v3 shape); with `notify` (the default) order.created goes to every hook."""
        with self.lock:
            order_id = next(self.ids)
            items = [self._line_item(raw) for raw in line_items]
            subtotal = sum((Decimal(i["subtotal"]) for i in items), Decimal("0"))
            now = now_text()
            address = {**DEFAULT_ADDRESS, **(shipping or {})}
            order = {
                "id": order_id,
                "parent_id": 0,
                "number": str(order_id),
                "order_key": f"wc_order_{hashlib.md5(str(order_id).encode()).hexdigest()[:13]}",
                "created_via": "checkout",
                "version": "9.9.0",
                "status": status,
                "currency": currency,
                "date_created": now,
                "date_created_gmt": now,
                "date_modified": now,
                "date_modified_gmt": now,
                "discount_total": "0.00",
                "discount_tax": "0.00",
                "shipping_total": shipping_total,
                "shipping_tax": "0.00",
                "cart_tax": "0.00",
                "total": _money(subtotal + Decimal(shipping_total)),
                "total_tax": "0.00",
                "prices_include_tax": False,
                "customer_id": 0,
                "customer_note": "",
                "billing": {
                    **DEFAULT_ADDRESS,
                    "email": "ana@example.com",
                    "phone": "+15125550100",
                    **(billing or {}),
                },
                "shipping": {**address, "phone": address.get("phone", "")},
                "payment_method": "stripe",
                "payment_method_title": "Credit card",
                "transaction_id": "",
                "date_paid_gmt": now if status in ("processing", "completed") else None,
                "date_completed_gmt": None,
                "meta_data": [],
                "line_items": items,
                "tax_lines": [],
                "shipping_lines": [
                    {
                        "id": next(self.ids),
                        "method_title": "Flat rate",
                        "method_id": "flat_rate",
                        "total": shipping_total,
                    }
                ],
                "fee_lines": [],
                "coupon_lines": [],
                "refunds": [],
            }
            key = str(order_id)
            self.orders[key] = order
            self.notes[key] = []
        if notify:
            self.deliver("order.created", order_id)
        return json_copy(order)

    def _touch(self, order: dict[str, Any]) -> None:
        order["date_modified"] = order["date_modified_gmt"] = now_text()
        if order["status"] == "completed" and not order["date_completed_gmt"]:
            order["date_completed_gmt"] = order["date_modified_gmt"]

    def update_order(
        self,
        order_id: int | str,
        *,
        status: str | None = None,
        shipping: dict[str, Any] | None = None,
        billing: dict[str, Any] | None = None,
        notify: bool = True,
    ) -> dict[str, Any]:
        """Change an order as the shop's staff would; with `notify`, order.updated goes out."""
        with self.lock:
            order = self.orders[str(order_id)]
            if status is not None:
                order["status"] = status
            if shipping:
                order["shipping"] = {**order["shipping"], **shipping}
            if billing:
                order["billing"] = {**order["billing"], **billing}
            self._touch(order)
        if notify:
            self.deliver("order.updated", order_id)
        return self.order(order_id)

    def cancel_order(self, order_id: int | str, *, notify: bool = True) -> dict[str, Any]:
        """Staff cancel the order: status cancelled, and order.updated (WooCommerce's topic for it)."""
        return self.update_order(order_id, status="cancelled", notify=notify)

    def delete_order(self, order_id: int | str, *, notify: bool = True) -> None:
        """Staff move the order to the trash: order.deleted, whose body is only its id."""
        with self.lock:
            order = self.orders[str(order_id)]
            order["status"] = "trash"
            self._touch(order)
        if notify:
            self.deliver("order.deleted", order_id)

    def order(self, order_id: int | str) -> dict[str, Any]:
        with self.lock:
            return json_copy(self.orders[str(order_id)])

    # --- webhooks ----------------------------------------------------------------------------
    def webhook_body(self, topic: str, order_id: int | str) -> bytes:
        """The body WooCommerce sends: the order resource (only its id for order.deleted), compact JSON."""
        with self.lock:
            payload = {"id": int(order_id)} if topic == "order.deleted" else self.orders[str(order_id)]
            return json.dumps(payload, separators=(",", ":")).encode()

    def _delivery_id(self, hook: Hook, topic: str) -> str:
        return hashlib.md5(f"{hook.ids.get(topic, 0)}{int(time.time())}".encode()).hexdigest()

    def deliver(
        self,
        topic: str,
        order_id: int | str,
        *,
        times: int = 1,
        concurrently: int = 0,
        delivery_id: str | None = None,
        body: bytes | None = None,
        signature: str | None = None,
    ) -> list[Sent]:
        """POST one delivery to every hook: `times` one after the other, then `concurrently` at once,
        all with the same delivery id and body. `signature` "" sends none; another value replaces it."""
        raw = body if body is not None else self.webhook_body(topic, order_id)
        with self.lock:
            hooks = list(self.hooks)
        results: list[Sent] = []
        for hook in hooks:
            ident = delivery_id or self._delivery_id(hook, topic)
            for _ in range(times):
                results.append(self._post(hook, topic, ident, raw, signature))
            threads = [
                threading.Thread(
                    target=lambda h=hook, i=ident: results.append(self._post(h, topic, i, raw, signature))
                )
                for _ in range(concurrently)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        with self.lock:
            self.sent.extend(results)
        return results

    def _site(self) -> str:
        try:
            return self.url + "/"
        except AssertionError:
            return "http://fake-woocommerce.invalid/"

    def _post(self, hook: Hook, topic: str, delivery_id: str, raw: bytes, signature: str | None) -> Sent:
        resource, _, event = topic.partition(".")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-WC-Webhook-Source": self._site(),
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-ID": str(hook.ids.get(topic, 0)),
            "X-WC-Webhook-Delivery-ID": delivery_id,
        }
        if signature is None:
            headers["X-WC-Webhook-Signature"] = woocommerce_signature(hook.secret, raw)
        elif signature:
            headers["X-WC-Webhook-Signature"] = signature
        answer = post(hook.url, raw, headers, timeout=60)
        return Sent(topic, delivery_id, hook.url, answer.status, answer.body[:500])

    def ping(self, url: str, *, webhook_id: int | None = None) -> Sent:
        """What WooCommerce sends when a webhook is saved: `webhook_id=<n>`, form-encoded, unsigned."""
        ident = webhook_id if webhook_id is not None else next(self.ids)
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
        answer = post(url, f"webhook_id={ident}".encode(), headers)
        sent = Sent("ping", "", url, answer.status, answer.body[:500])
        with self.lock:
            self.sent.append(sent)
        return sent

    # --- the REST API ------------------------------------------------------------------------
    def _authorized(self, request: FakeRequest) -> bool:
        if self.consumer_key is None:
            return True
        header = request.headers.get("Authorization") or request.headers.get("authorization") or ""
        if header.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
        else:
            key, secret = request.arg("consumer_key"), request.arg("consumer_secret")
        return key == self.consumer_key and secret == self.consumer_secret

    def handle(self, request: FakeRequest) -> FakeResponse:
        if not request.path.startswith(API + "/"):
            return _error(404, "rest_no_route", "No route was found matching the URL and request method.")
        if not self._authorized(request):
            return _error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        path, method = request.path[len(API) :].rstrip("/"), request.method
        body = request.json()
        if method in ("POST", "PUT", "PATCH") and not isinstance(body, dict):
            return _error(400, "rest_invalid_json", "Invalid JSON body passed.")
        if m := re.fullmatch(r"/orders/(\d+)", path):
            if method == "GET":
                return self._order_get(m.group(1))
            if method in ("POST", "PUT", "PATCH"):
                return self._order_update(m.group(1), body)
        if m := re.fullmatch(r"/orders/(\d+)/notes", path):
            if method == "GET":
                return self._notes_get(m.group(1))
            if method == "POST":
                return self._note_add(m.group(1), body)
        if path == "/products" and method == "GET":
            return self._products_list(request)
        if (m := re.fullmatch(r"/products/(\d+)", path)) and method == "GET":
            return self._product_get(m.group(1))
        if path == "/products/batch" and method == "POST":
            return self._batch(path, body, parent=None)
        if (m := re.fullmatch(r"/products/(\d+)/variations/batch", path)) and method == "POST":
            return self._batch(path, body, parent=m.group(1))
        return _error(404, "rest_no_route", "No route was found matching the URL and request method.")

    def _order_get(self, key: str) -> FakeResponse:
        with self.lock:
            if key not in self.orders:
                return _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            return FakeResponse(200, json_copy(self.orders[key]))

    def _order_update(self, key: str, body: dict[str, Any]) -> FakeResponse:
        with self.lock:
            order = self.orders.get(key)
            if order is None:
                return _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            status = body.get("status")
            if status is not None and status not in STATUSES:
                return _error(
                    400,
                    "rest_invalid_param",
                    "Invalid parameter(s): status",
                    params={"status": f"status is not one of {', '.join(STATUSES)}."},
                )
            if status is not None:
                order["status"] = status
            for part in ("shipping", "billing"):
                if isinstance(body.get(part), dict):
                    order[part] = {**order[part], **body[part]}
            if "customer_note" in body:
                order["customer_note"] = str(body["customer_note"])
            self._touch(order)
            return FakeResponse(200, json_copy(order))

    def _notes_get(self, key: str) -> FakeResponse:
        with self.lock:
            if key not in self.orders:
                return _error(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
            return FakeResponse(200, list(reversed(json_copy(self.notes[key]))))  # newest first

    def _note_add(self, key: str, body: dict[str, Any]) -> FakeResponse:
        with self.lock:
            if key not in self.orders:
                return _error(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
            if not str(body.get("note") or "").strip():
                return _error(
                    400, "rest_missing_callback_param", "Missing parameter(s): note", params=["note"]
                )
            now = now_text()
            note = {
                "id": next(self.ids),
                "author": "API",
                "date_created": now,
                "date_created_gmt": now,
                "note": str(body["note"]),
                "customer_note": bool(body.get("customer_note", False)),
                "added_by_user": bool(body.get("added_by_user", False)),
            }
            self.notes[key].append(note)
            return FakeResponse(201, json_copy(note))

    def _products_list(self, request: FakeRequest) -> FakeResponse:
        include = {i for i in request.arg("include").split(",") if i.strip()}
        skus = {s for s in request.arg("sku").split(",") if s.strip()}
        try:
            per_page = max(1, min(100, int(request.arg("per_page", "10"))))
            page = max(1, int(request.arg("page", "1")))
        except ValueError:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): per_page, page")
        with self.lock:
            found = [
                json_copy(p)
                for key, p in sorted(self.products.items(), key=lambda kv: int(kv[0]))
                if p["type"] != "variation"
                and (not include or key in include)
                and (not skus or p["sku"] in skus)
            ]
        pages = max(1, -(-len(found) // per_page))
        headers = {"X-WP-Total": str(len(found)), "X-WP-TotalPages": str(pages)}
        return FakeResponse(200, found[(page - 1) * per_page : page * per_page], headers)

    def _product_get(self, key: str) -> FakeResponse:
        with self.lock:
            if key not in self.products:
                return _error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            return FakeResponse(200, json_copy(self.products[key]))

    def _batch(self, path: str, body: dict[str, Any], *, parent: str | None) -> FakeResponse:
        counted = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
        if counted > BATCH_LIMIT:
            return _error(
                413,
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {BATCH_LIMIT} items for this request.",
            )
        with self.lock:
            if parent is not None and self.products.get(parent, {}).get("type") != "variable":
                return _error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            answers = []
            for item in body.get("update") or []:
                answers.append(self._batch_update(item if isinstance(item, dict) else {}, parent))
            self.stock_updates.append({"path": path, "update": json_copy(body.get("update") or [])})
            return FakeResponse(200, {"update": answers})

    def _batch_update(self, item: dict[str, Any], parent: str | None) -> dict[str, Any]:
        key = str(item.get("id", ""))
        product = self.products.get(key)
        if product is None or (parent is not None and str(product["parent_id"]) != parent):
            code = (
                "woocommerce_rest_product_variation_invalid_id"
                if parent
                else "woocommerce_rest_product_invalid_id"
            )
            return {
                "id": item.get("id"),
                "error": {"code": code, "message": "Invalid ID.", "data": {"status": 400}},
            }
        quantity = item.get("stock_quantity", product["stock_quantity"])
        if quantity is not None and (isinstance(quantity, bool) or not str(quantity).lstrip("-").isdigit()):
            error = {"code": "rest_invalid_param", "message": "Invalid parameter(s): stock_quantity"}
            return {"id": item.get("id"), "error": {**error, "data": {"status": 400}}}
        if "manage_stock" in item:
            product["manage_stock"] = bool(item["manage_stock"])
        if quantity is not None:
            product["stock_quantity"] = int(quantity)
            product["stock_status"] = "instock" if int(quantity) > 0 else "outofstock"
        return json_copy(product)

    # --- control and state -------------------------------------------------------------------
    def control(self, method: str, path: str, body: Any) -> FakeResponse | None:
        body = body if isinstance(body, dict) else {}
        if path == "orders" and method == "GET":
            with self.lock:
                return FakeResponse(200, json_copy(list(self.orders.values())))
        if path == "orders" and method == "POST":
            items = body.get("line_items") or [{"sku": "SKU-1", "quantity": 1, "price": "19.99"}]
            order = self.create_order(
                line_items=items, billing=body.get("billing"), shipping=body.get("shipping"), notify=False
            )
            sent = self.deliver("order.created", order["id"])
            return FakeResponse(201, {"order": order, "deliveries": [s.__dict__ for s in sent]})
        if (m := re.fullmatch(r"orders/(\d+)/cancel", path)) and method == "POST":
            if m.group(1) not in self.orders:
                return _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            return FakeResponse(200, {"order": self.cancel_order(m.group(1))})
        if path == "webhooks" and method == "GET":
            with self.lock:
                return FakeResponse(200, [{"url": h.url, "ids": h.ids} for h in self.hooks])
        if path == "webhooks" and method == "POST":
            hook = self.add_webhook(str(body.get("url", "")), secret=str(body.get("secret", "")))
            return FakeResponse(201, {"url": hook.url, "ids": hook.ids})
        if path == "products" and method == "GET":
            with self.lock:
                return FakeResponse(200, json_copy(list(self.products.values())))
        if path == "products" and method == "POST":
            quantity = body.get("stock_quantity")
            quantity = int(quantity) if quantity is not None else None
            if body.get("parent_id") is not None or body.get("variation"):
                made = self.add_variation(
                    body.get("parent_id"), str(body.get("sku", "")), stock_quantity=quantity
                )
            else:
                made = self.add_product(str(body.get("sku", "")), stock_quantity=quantity)
            return FakeResponse(201, made)
        if path == "ping" and method == "POST":
            return FakeResponse(200, self.ping(str(body.get("url", ""))).__dict__)
        return None

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "orders": [
                    {
                        "id": o["id"],
                        "status": o["status"],
                        "total": f"{o['total']} {o['currency']}",
                        "lines": ", ".join(
                            f"{i['quantity']} × {i['sku'] or i['name']}" for i in o["line_items"]
                        ),
                        "ship to": f"{o['shipping']['address_1']}, {o['shipping']['city']}",
                        "modified": o["date_modified_gmt"],
                    }
                    for o in self.orders.values()
                ],
                "notes": [
                    {
                        "order": key,
                        "note": n["note"],
                        "customer": n["customer_note"],
                        "at": n["date_created_gmt"],
                    }
                    for key, notes in self.notes.items()
                    for n in notes
                ],
                "products": [
                    {k: p[k] for k in ("id", "type", "parent_id", "sku", "manage_stock", "stock_quantity")}
                    for p in self.products.values()
                ],
                "stock updates": self.stock_updates[-50:],
                "webhooks": [{"url": h.url, "ids": h.ids} for h in self.hooks],
                "deliveries": [s.__dict__ for s in self.sent[-100:]],
            }


def main(argv: list[str] | None = None) -> None:
    parser = base_arguments("A local fake of a WooCommerce shop (development and tests).", port=8027)
    parser.add_argument("--webhook-url", action="append", default=[], help="where webhooks go (repeatable)")
    parser.add_argument("--webhook-secret", default="")
    parser.add_argument("--consumer-key", default=None, help="accept only this key (default: any)")
    parser.add_argument("--consumer-secret", default=None)
    args = generator_arguments(parser, interval=5.0).parse_args(argv)
    fake = FakeWooCommerce(
        consumer_key=args.consumer_key,
        consumer_secret=args.consumer_secret,
        webhooks=[(url, args.webhook_secret) for url in args.webhook_url],
    )
    serve_with_orders(
        fake,
        args,
        list_sku=fake.add_product,
        new_order=lambda lines: fake.create_order(line_items=lines),
        note=f" (webhooks: {', '.join(args.webhook_url) or 'none'})",
    )


if __name__ == "__main__":
    main()
