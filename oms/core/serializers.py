"""Serializer pieces every API room shares: countries and postal addresses (the contract's Address)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from oms.core.addresses import ISO_COUNTRIES, normalize_country, postal_code_error
from oms.core.money import is_currency, normalize_currency


class CountryField(serializers.CharField):
    default_error_messages = {"invalid_country": "Use an ISO 3166-1 alpha-2 country code."}

    def to_internal_value(self, data: Any) -> str:
        value = normalize_country(super().to_internal_value(data))
        if value not in ISO_COUNTRIES:
            self.fail("invalid_country")
        return value


class CurrencyField(serializers.CharField):
    """An ISO 4217 code with a minor unit ("usd" reads as "USD"); "XYZ" is refused."""

    default_error_messages = {"invalid_currency": "Use an ISO 4217 currency code."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("min_length", 3)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = normalize_currency(super().to_internal_value(data))
        if not is_currency(value):
            self.fail("invalid_currency")
        return value


class AddressSerializer(serializers.Serializer):
    """`line1`, `city`, `country` and (where the country has them) `postal_code` are required;
    postal codes are checked against the country's format."""

    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    country = CountryField(max_length=2)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["postal_code"] = attrs.get("postal_code", "").strip().upper()
        problem = postal_code_error(attrs["country"], attrs["postal_code"])
        if problem:
            code, message = problem
            field = "country" if code == "invalid_country" else "postal_code"
            raise serializers.ValidationError({field: [serializers.ErrorDetail(message, code=code)]})
        return attrs
