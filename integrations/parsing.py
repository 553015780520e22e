"""Reading a vendor's JSON into plain values: text, objects, amounts, times. Pure functions.

Every connector's events.py reads its vendor's order through these, so a missing key, a null
and a number sent as a string read the same for every channel:

- `as_text`: stripped text, "" for null;
- `as_dict`: the value when it is an object, else {} (a vendor's null or a wrong type);
- `as_amount`: a Decimal, 0 for null or ""; anything that is not a finite number raises
  `MarketplaceOrderInvalid` naming the field, so the inbox keeps the event as failed with it;
- `as_moment`: an aware datetime (a time without an offset is UTC), None for null;
- `postal_address`: our address keys (ingest.ADDRESS_KEYS) from the vendor's fields, as text,
  the country as its two-letter code;
- `joined`: the non-blank parts as one text (a first and last name, two address lines);
- `amounts_sum`: the sum of one amount over a list of objects (tax lines, promotions);
- `unit_price`: a line's total over its quantity, rounded to the currency's minor unit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime

from integrations.ingest import MarketplaceOrderInvalid


def as_text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_amount(value: Any, what: str) -> Decimal:
    """`value` as a Decimal (absent is 0); `what` names the field in the refusal."""
    if value in (None, ""):
        return Decimal("0")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise MarketplaceOrderInvalid(f"{what} {value!r} is not an amount") from None
    if not amount.is_finite():
        raise MarketplaceOrderInvalid(f"{what} {value!r} is not an amount")
    return amount


def as_moment(value: Any) -> datetime | None:
    parsed = parse_datetime(as_text(value)) if value else None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # e.g. WooCommerce's *_gmt fields: UTC without an offset
    return parsed


def postal_address(
    *,
    name: Any,
    company: Any,
    line1: Any,
    line2: Any,
    city: Any,
    region: Any,
    postal_code: Any,
    country: Any,
    phone: Any,
) -> dict[str, str]:
    return {
        "name": as_text(name),
        "company": as_text(company),
        "line1": as_text(line1),
        "line2": as_text(line2),
        "city": as_text(city),
        "region": as_text(region),
        "postal_code": as_text(postal_code),
        "country": as_text(country).upper()[:2],
        "phone": as_text(phone),
    }


def joined(*parts: Any, sep: str = " ") -> str:
    return sep.join(p for p in (as_text(part) for part in parts) if p)


def amounts_sum(items: Any, amount_of: Callable[[dict[str, Any]], Decimal]) -> Decimal:
    """The sum of `amount_of(item)` over the objects in `items` (null: 0)."""
    return sum((amount_of(item) for item in items or [] if isinstance(item, dict)), Decimal("0"))


def unit_price(total: Decimal, quantity: int, cent: Decimal) -> Decimal:
    """A line's total over its quantity, rounded half up to `cent`; the total when there are no units."""
    return (total / quantity).quantize(cent, rounding=ROUND_HALF_UP) if quantity > 0 else total
