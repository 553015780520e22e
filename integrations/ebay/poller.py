"""The eBay poller: one page of orders changed in a time window, from the Sell Fulfillment API.

`GET /sell/fulfillment/v1/order?filter=lastmodifieddate:%5B{since}..{until}%5D&limit=50&offset=n`
(eBay asks for the brackets percent-encoded; times are UTC with milliseconds). The cursor is JSON:

    {"since": "2026-07-16T10:00:00.000Z", "until": "2026-07-16T10:05:00.000Z", "offset": 50, "total": 120}

- **A window is frozen while it is paged.** The first page of a poll fixes `until` (now) and
  every page of the window asks for the same [since..until], so offsets address one list. An
  order modified meanwhile leaves the list (its new modification time is after `until`) and is
  read in the next window. Leaving shifts the later orders down; eBay's `total` says how many
  left, and the offset steps back that many, so no order is skipped (some are read twice: the
  inbox counts a version it already has and stores it once).
- **Pages follow `next`.** eBay returns `next` only when another page exists; its offset is used
  (else offset + the page's size), and the poll goes on (`more`). Without `next` the window is
  done: the next one starts at `until` minus OVERLAP (orders that reach eBay's index a moment
  late are still seen), and `until` is fixed again by the next poll.
- **The first poll** (no cursor) reads orders modified in the last INITIAL_LOOKBACK.

Each order is one record: its id is `orderId`, its version `lastModifiedDate`, its body the
order's JSON as eBay sent it (events.py reads it). Errors are the client's (client.py); the
framework (integrations/polling.py) records them and keeps the cursor where it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.utils import timezone

from integrations.ebay.client import EbayClient
from integrations.models import ChannelAccount
from integrations.polling import PolledRecord, PollPage

logger = logging.getLogger(__name__)

ORDERS_PATH = "/sell/fulfillment/v1/order"
PAGE_LIMIT = 50
OVERLAP = timedelta(minutes=3)
INITIAL_LOOKBACK = timedelta(hours=24)


def ebay_time(moment: datetime) -> str:
    """eBay's timestamp form: `YYYY-MM-DDThh:mm:ss.sssZ` (UTC, milliseconds)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_ebay_time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _cursor(text: str, account: ChannelAccount) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or parse_ebay_time(str(data.get("since"))) is None:
        logger.warning("eBay account %s had an unreadable cursor; starting a new window", account.pk)
        return {}
    return data


def orders_path(since: str, until: str, *, offset: int, limit: int | None = None) -> str:
    """The getOrders path and query, the filter's brackets percent-encoded as eBay asks."""
    limit = limit or PAGE_LIMIT
    return f"{ORDERS_PATH}?filter=lastmodifieddate:%5B{since}..{until}%5D&limit={limit}&offset={offset}"


def _record(order: Any) -> PolledRecord:
    body = json.dumps(order, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    order_id = str(order.get("orderId") or "") if isinstance(order, dict) else ""
    version = str(order.get("lastModifiedDate") or "") if isinstance(order, dict) else ""
    # A record without an id or a time is still stored (and fails with the reason): named by its content.
    return PolledRecord(record_id=order_id or f"unnamed-{digest}", version=version or digest, body=body)


def _next_offset(next_uri: str, offset: int, size: int) -> int:
    values = parse_qs(urlsplit(next_uri).query).get("offset")
    try:
        return int(values[0]) if values else offset + size
    except ValueError:
        return offset + size


def ebay_poll(account: ChannelAccount, cursor: str) -> PollPage:
    """One page of the account's orders changed in the cursor's window (see the module doc)."""
    state = _cursor(cursor, account)
    now = timezone.now()
    since = state.get("since") or ebay_time(now - INITIAL_LOOKBACK)
    until = state.get("until") if parse_ebay_time(str(state.get("until"))) else None
    if until is None:  # a new window, frozen from here until its last page
        until, offset, expected = ebay_time(now), 0, None
    else:
        offset, expected = int(state.get("offset") or 0), state.get("total")
    client = EbayClient(account)
    response = client.call("GET", orders_path(since, until, offset=offset), operation="getOrders")
    body = client.json_of(response, "getOrders")
    orders = body.get("orders") or []
    orders = orders if isinstance(orders, list) else []
    total = int(body.get("total") or 0)
    records = tuple(_record(order) for order in orders)
    window = {"since": since, "until": until}
    if isinstance(expected, int) and total < expected:
        # Orders left the window since the last page (modified meanwhile): the rest moved down.
        back = max(0, offset - (expected - total))
        return PollPage(records, json.dumps({**window, "offset": back, "total": total}), more=True)
    if body.get("next") and orders:
        ahead = _next_offset(str(body["next"]), offset, len(orders))
        return PollPage(records, json.dumps({**window, "offset": ahead, "total": total}), more=True)
    start = parse_ebay_time(until) - OVERLAP  # type: ignore[operator]
    next_since = max(start, parse_ebay_time(since) or start)
    return PollPage(records, json.dumps({"since": ebay_time(next_since), "offset": 0}), more=False)
