"""Stripe amounts are integers in the currency's smallest unit, as Stripe counts it.

Stripe follows ISO 4217's minor units (`oms.core.money`) with documented exceptions: MGA is
zero-decimal at Stripe (two decimals in ISO), and ISK is sent with two decimals for backwards
compatibility (zero in ISO). Three-decimal currencies (BHD, JOD, KWD, OMR, TND) are counted in
thousandths. See https://docs.stripe.com/currencies#minor-units.
"""

from __future__ import annotations

from decimal import Decimal

from oms.core import money

STRIPE_EXPONENT_EXCEPTIONS = {"MGA": 0, "ISK": 2}


def stripe_exponent(currency: str) -> int:
    code = currency.upper()
    return STRIPE_EXPONENT_EXCEPTIONS.get(code, money.currency_exponent(code))


def to_minor(amount: Decimal, currency: str) -> int:
    return money.to_minor(amount, currency, exponent=stripe_exponent(currency))


def from_minor(value: int | str | Decimal, currency: str) -> Decimal:
    return money.from_minor(value, currency, exponent=stripe_exponent(currency))
