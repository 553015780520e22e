"""Shopify's stock publisher: the sellable quantity of each mapped variant, set as "available" at
the shop's first location with one `inventorySetQuantities` per batch (GraphQL Admin API).

1. `locations(first: 1)`: the location the quantities are set at (the shop's first; one
   location per account for now).
2. `nodes(ids: [variant gids])`: each variant's inventory item.
3. `inventorySetQuantities(input: {name: "available", reason: "correction",
   ignoreCompareQuantity: true, quantities: [{inventoryItemId, locationId, quantity}]})`;
   `userErrors` refuse the batch.

A SKU mapped without a variant id, or whose variant Shopify does not know, is skipped with the
reason (kept on its ChannelStock row); the rest of the batch goes on.
"""

from __future__ import annotations

from typing import Any

from integrations.models import ChannelAccount
from integrations.publishing import StockQuantity
from integrations.shopify.gateway import ShopifyClient
from orders.channels import ChannelRefused

LOCATIONS_QUERY = """
query StockLocation {
  locations(first: 1) { nodes { id } }
}
"""

VARIANT_ITEMS_QUERY = """
query VariantInventoryItems($ids: [ID!]!) {
  nodes(ids: $ids) { ... on ProductVariant { id inventoryItem { id } } }
}
"""

SET_QUANTITIES = """
mutation SetAvailable($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { id }
    userErrors { field message }
  }
}
"""


def variant_gid(variant_id: str) -> str:
    return variant_id if variant_id.startswith("gid://") else f"gid://shopify/ProductVariant/{variant_id}"


def shopify_stock_publish(account: ChannelAccount, quantities: list[StockQuantity]) -> dict[int, str]:
    client = ShopifyClient(account)
    nodes = (client.graphql(LOCATIONS_QUERY, {}).get("locations") or {}).get("nodes") or []
    if not nodes:
        raise ChannelRefused("The Shopify shop has no location to set stock at.")
    location = nodes[0]["id"]
    skipped: dict[int, str] = {}
    wanted: list[tuple[StockQuantity, str]] = []
    for quantity in quantities:
        if not quantity.channel_variant_ids:
            skipped[quantity.sku_id] = "mapped without a Shopify variant id: not published"
            continue
        wanted.extend((quantity, variant_gid(v)) for v in quantity.channel_variant_ids)
    if not wanted:
        return skipped
    found = client.graphql(VARIANT_ITEMS_QUERY, {"ids": [gid for _, gid in wanted]}).get("nodes") or []
    items: dict[str, str] = {}
    for node in found:
        if isinstance(node, dict) and node.get("id") and (node.get("inventoryItem") or {}).get("id"):
            items[node["id"]] = node["inventoryItem"]["id"]
    rows: list[dict[str, Any]] = []
    for quantity, gid in wanted:
        if gid not in items:
            skipped[quantity.sku_id] = f"Shopify has no variant {gid.rsplit('/', 1)[-1]}"
            continue
        rows.append({"inventoryItemId": items[gid], "locationId": location, "quantity": quantity.quantity})
    if rows:
        payload = {
            "input": {
                "name": "available",
                "reason": "correction",
                "ignoreCompareQuantity": True,
                "quantities": rows,
            }
        }
        result = client.graphql(SET_QUANTITIES, payload).get("inventorySetQuantities") or {}
        errors = result.get("userErrors") or []
        if errors:
            text = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
            raise ChannelRefused(f"Shopify refused the stock levels: {text}"[:500])
    return skipped
