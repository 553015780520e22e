"""Stripe amounts are integers in the currency's smallest unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".upper().split())


def _exponent(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL else 2


def to_minor(amount: Decimal, currency: str) -> int:
    scaled = Decimal(amount) * (10 ** _exponent(currency))
    return int(scaled.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def from_minor(value: int | str | Decimal, currency: str) -> Decimal:
    exponent = _exponent(currency)
    return (Decimal(value) / (10**exponent)).quantize(Decimal("0.01"))
