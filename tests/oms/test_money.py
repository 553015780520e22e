"""Currencies come from the ISO 4217 table, and amounts go to providers in each currency's minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from integrations.stripe import money as stripe_money
from oms.core import money


@pytest.mark.parametrize(
    ("code", "exponent"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("JOD", 3),
        ("OMR", 3),
        ("TND", 3),
    ],
)
def test_exponents_follow_iso_4217(code, exponent):
    assert money.currency_exponent(code) == exponent
    assert money.currency_exponent(code.lower()) == exponent


@pytest.mark.parametrize("code", ["XYZ", "US", "USDX", "", "XAU", "XTS", 123, None])
def test_codes_outside_iso_4217_or_without_a_minor_unit_are_refused(code):
    assert money.is_currency(code) is False
    with pytest.raises(ValidationError) as raised:
        money.validate_currency(code)
    assert raised.value.code == "invalid_currency"


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("44.98", "USD", 4498), ("1000", "JPY", 1000), ("1.23", "KWD", 1230), ("12.5", "BHD", 12500)],
)
def test_to_minor_and_back(amount, currency, minor):
    assert money.to_minor(Decimal(amount), currency) == minor
    assert money.from_minor(minor, currency) == Decimal(amount)


def test_amounts_finer_than_the_minor_unit_do_not_fit():
    assert money.fits_currency(Decimal("1999.00"), "JPY")
    assert not money.fits_currency(Decimal("19.99"), "JPY")
    assert money.fits_currency(Decimal("1.234"), "KWD")
    assert not money.fits_currency(Decimal("1.005"), "USD")


def test_negative_amounts_are_refused():
    money.validate_non_negative(Decimal("0"))
    with pytest.raises(ValidationError):
        money.validate_non_negative(Decimal("-3.00"))


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("44.98", "usd", 4498),
        ("1000", "jpy", 1000),
        ("1.23", "kwd", 1230),  # three-decimal: thousandths, not a tenth of the amount
        ("2.50", "jod", 2500),
        ("7.10", "omr", 7100),
        ("3.40", "tnd", 3400),
        ("500", "mga", 500),  # zero-decimal at Stripe, two decimals in ISO
        ("120", "isk", 12000),  # two decimals at Stripe, zero in ISO
    ],
)
def test_stripe_amounts_follow_stripes_minor_units(amount, currency, minor):
    assert stripe_money.to_minor(Decimal(amount), currency) == minor
    assert stripe_money.from_minor(minor, currency) == Decimal(amount)
