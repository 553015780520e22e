"""eBay's stock publisher: each mapped SKU's sellable quantity set as its inventory item's
ship-to-home quantity with the Inventory API's bulkUpdatePriceQuantity.

`POST /sell/inventory/v1/bulk_update_price_quantity` with
`{"requests": [{"sku": "<eBay SKU>", "shipToLocationAvailability": {"quantity": n}}]}`, at most
BATCH (25, eBay's limit) requests per call. eBay answers 200 (all taken) or 207 with a
`responses[]` entry per SKU (`statusCode`, `sku`, `errors`); a SKU it refused is skipped with
its reason (kept on the ChannelStock row), the others count as published.

The Inventory API names items by the seller's SKU only: a mapping without a channel SKU (made
by listing id) is skipped with that reason. Listings made outside the Inventory API (Seller
Hub, the Trading API) are not inventory items and are refused by eBay per SKU.
"""

from __future__ import annotations

from typing import Any

from integrations.ebay.client import EbayClient
from integrations.models import ChannelAccount
from integrations.publishing import StockQuantity

BULK_PATH = "/sell/inventory/v1/bulk_update_price_quantity"
BATCH = 25


def _refusal(entry: dict[str, Any]) -> str:
    errors = entry.get("errors") or []
    texts = [
        str(e.get("longMessage") or e.get("message") or e.get("errorId") or "")
        for e in errors
        if isinstance(e, dict)
    ]
    text = "; ".join(t for t in texts if t) or f"status {entry.get('statusCode')}"
    return f"eBay refused SKU {entry.get('sku')}: {text}"[:300]


def ebay_stock_publish(account: ChannelAccount, quantities: list[StockQuantity]) -> dict[int, str]:
    """Publish the quantities; returns {sku_id: why not} for the ones skipped or refused."""
    skipped: dict[int, str] = {}
    owners: dict[str, int] = {}
    requests_: list[dict[str, Any]] = []
    for quantity in quantities:
        if not quantity.channel_skus:
            skipped[quantity.sku_id] = (
                "mapped without an eBay SKU (the Inventory API needs one): not published"
            )
            continue
        for channel_sku in quantity.channel_skus:
            owners[channel_sku] = quantity.sku_id
            requests_.append(
                {"sku": channel_sku, "shipToLocationAvailability": {"quantity": quantity.quantity}}
            )
    client = EbayClient(account)
    for start in range(0, len(requests_), BATCH):
        chunk = requests_[start : start + BATCH]
        response = client.call(
            "POST", BULK_PATH, operation="bulkUpdatePriceQuantity", json={"requests": chunk}
        )
        body = client.json_of(response, "bulkUpdatePriceQuantity")
        for entry in body.get("responses") or []:
            if not isinstance(entry, dict):
                continue
            sku_id = owners.get(str(entry.get("sku")))
            if sku_id is None:
                continue
            if int(entry.get("statusCode") or 0) != 200 or entry.get("errors"):
                skipped[sku_id] = _refusal(entry)
    return skipped
