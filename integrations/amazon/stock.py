"""Amazon's stock publisher: each mapped seller SKU's quantity, set with the Listings Items API.

One `patchListingsItem` per seller SKU (the mapping's `channel_sku`)::

    PATCH /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds={marketplace}
    {"productType": "PRODUCT",
     "patches": [{"op": "merge", "path": "/attributes/fulfillment_availability",
                  "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 45}]}]}

`merge` changes the quantity and leaves the listing's other fulfilment fields (handling time,
restock date) as they are. The product type is the credentials' `product_type` ("PRODUCT" unless
set). Calls go within patchListingsItem's limit (5 per second, burst 10: short waits are slept).
Amazon answers 200 with `status` ACCEPTED, or INVALID and its issues: an INVALID SKU (no such
listing...) is skipped with the issues as the reason, and the rest go on. A SKU mapped without a
seller SKU is skipped. A 400 or 404 for one SKU is that SKU's reason; other refusals (the
credentials) refuse the batch; Amazon down or throttling leaves the batch for the next run.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from integrations.amazon.client import AmazonClient
from integrations.models import ChannelAccount
from integrations.publishing import StockQuantity
from orders.channels import ChannelRefused

LISTINGS_PATH = "/listings/2021-08-01/items"
PER_SKU_REFUSALS = ("amazon_http_400", "amazon_http_404")


def listing_patch(quantity: int, product_type: str) -> dict[str, Any]:
    return {
        "productType": product_type,
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
            }
        ],
    }


def _issues(answer: Any) -> str:
    issues = answer.get("issues") if isinstance(answer, dict) else None
    texts = [
        f"{issue.get('code', '')}: {issue.get('message', '')}"
        for issue in issues or []
        if isinstance(issue, dict) and issue.get("severity", "ERROR") == "ERROR"
    ]
    return "; ".join(texts) or "no reason given"


def amazon_stock_publish(account: ChannelAccount, quantities: list[StockQuantity]) -> dict[int, str]:
    client = AmazonClient(account)
    creds = client.credentials
    skipped: dict[int, str] = {}
    for quantity in quantities:
        if not quantity.channel_skus:
            skipped[quantity.sku_id] = "mapped without an Amazon seller SKU: not published"
            continue
        problems: list[str] = []
        for seller_sku in quantity.channel_skus:
            path = f"{LISTINGS_PATH}/{quote(creds.seller_id, safe='')}/{quote(seller_sku, safe='')}"
            try:
                answer = client.call(
                    "patchListingsItem",
                    "PATCH",
                    path,
                    params={"marketplaceIds": creds.marketplace_id},
                    body=listing_patch(quantity.quantity, creds.product_type),
                )
            except ChannelRefused as exc:
                if exc.code not in PER_SKU_REFUSALS:
                    raise
                problems.append(f"{seller_sku}: {exc.message}")
                continue
            status = answer.get("status") if isinstance(answer, dict) else None
            if status != "ACCEPTED":
                problems.append(
                    f"Amazon found seller SKU {seller_sku} {status or 'unanswered'}: {_issues(answer)}"
                )
        if problems:
            skipped[quantity.sku_id] = "; ".join(problems)[:300]
    return skipped
