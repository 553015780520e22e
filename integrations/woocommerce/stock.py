"""WooCommerce's stock publisher: each mapped product or variation gets its stock quantity, with
stock management turned on, through the REST API's batch endpoints (at most 100 items a request,
WooCommerce's limit).

How a mapping names the item (`SkuMapping.channel_variant_id`):
- a product id (`93`), or a variation id (`23`): what an incoming order's line carries, so a
  mapping made from an unmapped line works as it is. Which one it is, and a variation's parent,
  is asked of the shop: `GET /products?include=<ids>` finds the products, and
  `GET /products/<id>` each id left (WooCommerce answers a variation's id there, with its
  `parent_id`);
- or `<parent id>:<variation id>` (`22:23`), which needs no question.

Then `POST /products/batch` {"update": [{"id", "manage_stock": true, "stock_quantity"}]} for
products, and `POST /products/<parent>/variations/batch` for each parent's variations. A SKU
mapped without an id, an id the shop does not know, or an item the batch refuses is skipped with
the reason (kept on its ChannelStock row); the rest go on.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from integrations.models import ChannelAccount
from integrations.publishing import StockQuantity
from integrations.woocommerce.gateway import WooCommerceClient
from orders.channels import ChannelRefused

BATCH_LIMIT = 100


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + BATCH_LIMIT] for i in range(0, len(items), BATCH_LIMIT)]


def _locate(client: WooCommerceClient, ids: list[str]) -> dict[str, tuple[str, str] | None]:
    """Each bare id -> ("", product id) for a product, (parent id, id) for a variation, None: unknown."""
    found: dict[str, tuple[str, str] | None] = {}
    for chunk in _chunks(sorted(set(ids), key=int)):
        products = client.get("/products", include=",".join(chunk), per_page=BATCH_LIMIT)
        for product in products or []:
            if isinstance(product, dict) and str(product.get("id")) in chunk:
                parent = str(product.get("parent_id") or 0)
                found[str(product["id"])] = (
                    (parent, str(product["id"])) if parent != "0" else ("", str(product["id"]))
                )
    for item_id in ids:
        if item_id in found:
            continue
        try:
            product = client.get(f"/products/{item_id}")
        except ChannelRefused as exc:
            if exc.extra.get("http_status") in (400, 404):
                found[item_id] = None
                continue
            raise
        parent = str((product or {}).get("parent_id") or 0)
        found[item_id] = (parent, item_id) if parent != "0" else ("", item_id)
    return found


def _send(
    client: WooCommerceClient,
    path: str,
    rows: list[tuple[StockQuantity, str]],
    skipped: dict[int, str],
) -> None:
    """One batch request per BATCH_LIMIT rows; items the shop refuses are skipped with its words."""
    for chunk in _chunks(rows):
        body = {
            "update": [
                {"id": int(item_id), "manage_stock": True, "stock_quantity": q.quantity}
                for q, item_id in chunk
            ]
        }
        try:
            answer = client.post(path, body)
        except ChannelRefused as exc:
            if exc.extra.get("http_status") not in (400, 404):
                raise  # 401 / 403: the whole account is refused
            for q, _ in chunk:
                skipped[q.sku_id] = exc.message[:300]
            continue
        by_id: dict[str, list[StockQuantity]] = defaultdict(list)
        for q, item_id in chunk:
            by_id[item_id].append(q)
        items = answer.get("update") if isinstance(answer, dict) else None
        for item in items or []:
            error = item.get("error") if isinstance(item, dict) else None
            if not error:
                continue
            message = error.get("message", error) if isinstance(error, dict) else error
            for q in by_id.get(str(item.get("id")), []):
                skipped[q.sku_id] = f"WooCommerce refused item {item.get('id')}: {message}"[:300]


def woocommerce_stock_publish(account: ChannelAccount, quantities: list[StockQuantity]) -> dict[int, str]:
    client = WooCommerceClient(account)
    skipped: dict[int, str] = {}
    products: list[tuple[StockQuantity, str]] = []
    variations: dict[str, list[tuple[StockQuantity, str]]] = defaultdict(list)
    bare: list[tuple[StockQuantity, str]] = []
    for quantity in quantities:
        if not quantity.channel_variant_ids:
            skipped[quantity.sku_id] = "mapped without a WooCommerce product or variation id: not published"
            continue
        for name in quantity.channel_variant_ids:
            parent, sep, child = name.partition(":")
            if sep and parent.isdigit() and child.isdigit():
                variations[parent].append((quantity, child))
            elif not sep and name.isdigit():
                bare.append((quantity, name))
            else:
                skipped[quantity.sku_id] = f"{name!r} is not a WooCommerce product or variation id"
    if bare:
        located = _locate(client, [item_id for _, item_id in bare])
        for quantity, item_id in bare:
            where = located.get(item_id)
            if where is None:
                skipped[quantity.sku_id] = f"WooCommerce has no product or variation {item_id}"
            elif where[0]:
                variations[where[0]].append((quantity, item_id))
            else:
                products.append((quantity, item_id))
    if products:
        _send(client, "/products/batch", products, skipped)
    for parent, rows in sorted(variations.items(), key=lambda kv: int(kv[0])):
        _send(client, f"/products/{parent}/variations/batch", rows, skipped)
    return skipped
