"""Amazon orders in: `searchOrders` (Orders API v2026-01-01) by last-updated time, one page per call.

`amazon_poll(account, cursor)` is the poller `integrations/polling.py` runs (one poll per
account at its interval, each page committed to the inbox before the cursor moves). The cursor
is JSON text::

    {"after": "2026-03-01T10:00:00Z", "token": "<paginationToken>" | null, "window_end": "..." | null}

- **A window** is every order updated at or after `after`. Its first page asks
  `GET /orders/2026-01-01/orders?lastUpdatedAfter=<after>&marketplaceIds=..&fulfilledBy=MERCHANT
  &maxResultsPerPage=100&includedData=BUYER,RECIPIENT,PROCEEDS,FULFILLMENT,CANCELLATION`; Amazon
  answers with the orders and `lastUpdatedBefore`, the end of what it searched (at least two
  minutes before now: Amazon's data lags about that much), kept as `window_end`.
- **Pages**: while Amazon answers `pagination.nextToken`, the next page sends it as
  `paginationToken` with the same filters (as Amazon asks) and the poll goes on at once. A token
  Amazon refuses (400: they expire after 24 hours) restarts the window from `after`.
- **The next window** starts at `window_end` minus OVERLAP (5 minutes; never before the old
  `after`), so an order Amazon published late is still seen. Orders seen twice are the same
  inbox event (one per order id and `lastUpdatedTime`): counted, not stored again.
- **The first poll** starts INITIAL_LOOKBACK (one day) back.

Each order fulfilled by the merchant becomes a record (`fulfilledBy` MERCHANT: Amazon's own
fulfilment is not ours to ship), version = its `lastUpdatedTime`. An order the search answered
without its items or its delivery address (and that should have one: not pending, not
cancelled) is asked again with `getOrder` for the details. Limits: searchOrders 0.0056/s burst
20, getOrder 0.5/s burst 30 (client.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.amazon.client import AmazonClient
from integrations.models import ChannelAccount
from integrations.polling import PolledRecord, PollPage
from orders.channels import ChannelRefused, ChannelUnavailable

logger = logging.getLogger(__name__)

ORDERS_PATH = "/orders/2026-01-01/orders"
PAGE_SIZE = 100
INITIAL_LOOKBACK = timedelta(days=1)
OVERLAP = timedelta(minutes=5)
INCLUDED_DATA = "BUYER,RECIPIENT,PROCEEDS,FULFILLMENT,CANCELLATION"
# No delivery address is expected yet (not paid) or any more (cancelled): no getOrder for these.
WITHOUT_ADDRESS = frozenset({"PENDING", "PENDING_AVAILABILITY", "CANCELLED"})


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(value: Any) -> datetime | None:
    parsed = parse_datetime(str(value)) if value else None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


@dataclass(frozen=True)
class PollCursor:
    after: str
    token: str | None = None
    window_end: str | None = None

    def dumps(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def loads(cls, text: str) -> PollCursor:
        """The stored cursor; an empty or unreadable one starts INITIAL_LOOKBACK back."""
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = None
        if isinstance(data, dict) and _moment(data.get("after")) is not None:
            return cls(
                after=str(data["after"]),
                token=str(data["token"]) if data.get("token") else None,
                window_end=str(data["window_end"]) if data.get("window_end") else None,
            )
        if text:
            logger.warning("Amazon poll cursor %r is not readable; starting a day back", text[:100])
        return cls(after=iso(timezone.now() - INITIAL_LOOKBACK))


def _search(client: AmazonClient, cursor: PollCursor) -> dict[str, Any]:
    params = {
        "lastUpdatedAfter": cursor.after,
        "marketplaceIds": client.credentials.marketplace_id,
        "fulfilledBy": "MERCHANT",
        "maxResultsPerPage": str(PAGE_SIZE),
        "includedData": INCLUDED_DATA,
    }
    if cursor.token:
        params["paginationToken"] = cursor.token
    data = client.call("searchOrders", "GET", ORDERS_PATH, params=params)
    if not isinstance(data, dict) or not isinstance(data.get("orders"), list):
        raise ChannelUnavailable("Amazon answered searchOrders without a list of orders")
    return data


def _merchant_fulfilled(order: Any) -> bool:
    fulfillment = order.get("fulfillment") if isinstance(order, dict) else None
    by = fulfillment.get("fulfilledBy") if isinstance(fulfillment, dict) else None
    return by in (None, "MERCHANT")  # asked with fulfilledBy=MERCHANT: absent means the merchant's


def _status(order: dict[str, Any]) -> str:
    fulfillment = order.get("fulfillment")
    return str(fulfillment.get("fulfillmentStatus") or "") if isinstance(fulfillment, dict) else ""


def _lacks_details(order: dict[str, Any]) -> bool:
    if _status(order) in WITHOUT_ADDRESS:
        return False
    recipient = order.get("recipient")
    address = recipient.get("deliveryAddress") if isinstance(recipient, dict) else None
    return not order.get("orderItems") or not (isinstance(address, dict) and address.get("addressLine1"))


def order_get(client: AmazonClient, order_id: str, included: str) -> dict[str, Any] | None:
    """getOrder: the order with the datasets named; None when Amazon refuses (unknown order...)."""
    try:
        data = client.call(
            "getOrder", "GET", f"{ORDERS_PATH}/{quote(order_id, safe='')}", params={"includedData": included}
        )
    except ChannelRefused as exc:
        logger.warning("Amazon getOrder %s refused: %s", order_id, exc.message)
        return None
    order = data.get("order") if isinstance(data, dict) else None
    return order if isinstance(order, dict) else None


def _record(client: AmazonClient, order: Any) -> PolledRecord:
    if isinstance(order, dict) and order.get("orderId") and _lacks_details(order):
        order = order_get(client, str(order["orderId"]), INCLUDED_DATA) or order
    body = json.dumps(order)
    if isinstance(order, dict) and order.get("orderId") and order.get("lastUpdatedTime"):
        return PolledRecord(record_id=str(order["orderId"]), version=str(order["lastUpdatedTime"]), body=body)
    # Kept all the same (the inbox shows it failed, with the reason), under a name of its content.
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    return PolledRecord(record_id=f"unidentified-{digest}", version=digest, body=body)


def amazon_poll(account: ChannelAccount, cursor: str) -> PollPage:
    """One page of the account's merchant-fulfilled orders changed since the cursor (module doc)."""
    client = AmazonClient(account)
    state = PollCursor.loads(cursor)
    try:
        data = _search(client, state)
    except ChannelRefused as exc:
        if not state.token or exc.code != "amazon_http_400":
            raise
        logger.warning("Amazon refused page token of account %s (%s); window restarted", account.pk, exc)
        state = PollCursor(after=state.after)
        data = _search(client, state)
    orders = data["orders"]
    seen = [m for m in (_moment(o.get("lastUpdatedTime")) for o in orders if isinstance(o, dict)) if m]
    window_end = (
        state.window_end
        or (str(data["lastUpdatedBefore"]) if _moment(data.get("lastUpdatedBefore")) else None)
        or (iso(max(seen)) if seen else state.after)
    )
    records = tuple(_record(client, order) for order in orders if _merchant_fulfilled(order))
    pagination = data.get("pagination")
    next_token = pagination.get("nextToken") if isinstance(pagination, dict) else None
    if next_token:
        return PollPage(records, PollCursor(state.after, str(next_token), window_end).dumps(), more=True)
    after = _moment(state.after) or timezone.now() - INITIAL_LOOKBACK
    end = _moment(window_end) or after
    return PollPage(records, PollCursor(iso(max(after, end - OVERLAP))).dumps(), more=False)
