"""Currencies and amounts: ISO 4217 codes and each currency's minor unit.

Every door that takes a currency (the API, the admin, imports, marketplace payloads) checks
it here, and every conversion to a provider's integer amounts goes through `to_minor`, so a
yen is never sent as a hundredth of a yen nor a Kuwaiti dinar as a tenth. The table is the
ISO 4217 list shipped by the `iso4217` package (offline); codes without a minor unit (funds,
precious metals, the test code XTS) are not currencies an order can be priced in.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from iso4217 import Currency


@cache
def _exponents() -> dict[str, int]:
    return {c.code: c.exponent for c in Currency if c.exponent is not None}


def is_currency(code: object) -> bool:
    return isinstance(code, str) and code.upper() in _exponents()


def normalize_currency(code: str) -> str:
    return code.strip().upper()


def currency_exponent(code: str) -> int:
    """Digits after the decimal point in `code`'s minor unit: JPY 0, USD 2, KWD 3."""
    try:
        return _exponents()[code.upper()]
    except KeyError:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code") from None


def validate_currency(value: str) -> None:
    """Django validator: an ISO 4217 code with a minor unit."""
    if not is_currency(value):
        raise ValidationError(
            "%(value)s is not an ISO 4217 currency code.", code="invalid_currency", params={"value": value}
        )


def validate_non_negative(value: Decimal | int | None) -> None:
    """Django validator: prices and amounts are never negative."""
    if value is not None and value < 0:
        raise ValidationError("Amounts cannot be negative.", code="negative_amount")


def fits_currency(amount: Decimal, currency: str) -> bool:
    """True when `amount` has no more decimals than the currency's minor unit (no 19.99 JPY)."""
    exponent = currency_exponent(currency)
    return Decimal(amount) == Decimal(amount).quantize(Decimal(1).scaleb(-exponent))


def to_minor(amount: Decimal, currency: str, *, exponent: int | None = None) -> int:
    """`amount` as an integer count of the minor unit (cents, yen, fils)."""
    places = currency_exponent(currency) if exponent is None else exponent
    return int((Decimal(amount) * (10**places)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_minor(value: int | str | Decimal, currency: str, *, exponent: int | None = None) -> Decimal:
    """An integer count of the minor unit back to an amount, with at least two decimals as stored."""
    places = currency_exponent(currency) if exponent is None else exponent
    amount = Decimal(value).scaleb(-places)
    return amount.quantize(Decimal("0.01")) if places <= 2 else amount


def non_negative_checks(prefix: str, *fields: str) -> list[models.CheckConstraint]:
    """One CHECK (field >= 0) per money field, named `<prefix>_<field>_gte_0`."""
    return [
        models.CheckConstraint(condition=Q(**{f"{f}__gte": 0}), name=f"{prefix}_{f}_gte_0") for f in fields
    ]
