"""Serializer pieces every API room shares.

- `BodySerializer`: the base of every JSON body. A key the serializer does not declare is
  refused (`unknown_field`: a typo is never silently dropped) and every value must have the
  JSON type the schema promises (`"1.0"` is not a quantity, `"true"` is not a boolean).
- `BoundedIntegerField` / `model_integer`: integers never wider than the column they land
  in. The bounds are PostgreSQL's (32-bit `integer`, 16-bit `smallint`) on every database,
  so SQLite and PostgreSQL answer the same and the schema states them.
- Countries and postal addresses (the contract's Address).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from rest_framework import serializers

from oms.core.addresses import ISO_COUNTRIES, normalize_country, postal_code_error
from oms.core.money import is_currency, normalize_currency

# The ranges of Django's integer columns as PostgreSQL stores them (SQLite would take 64 bits).
INTEGER_RANGES: dict[str, tuple[int, int]] = dict(BaseDatabaseOperations.integer_field_ranges)
INT32 = INTEGER_RANGES["IntegerField"]
_INTEGER_TEXT = re.compile(r"\s*[-+]?\d+\s*")
DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")  # ASCII digits, as the schema's pattern says


class BoundedIntegerField(serializers.IntegerField):
    """An integer and nothing else: not `1.5`, not `"1.0"`, not `true`. 32-bit unless told otherwise."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", INT32[0])
        kwargs.setdefault("max_value", INT32[1])
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool | float) or (isinstance(data, str) and not _INTEGER_TEXT.fullmatch(data)):
            self.fail("invalid")
        return super().to_internal_value(data)


def integer_bounds(field: models.Field[Any, Any]) -> tuple[int, int]:
    """The values a model's integer column holds: its type's range narrowed by its own validators."""
    low, high = INTEGER_RANGES.get(field.get_internal_type(), INT32)
    for validator in field._validators:  # the field's own, not the connection's (SQLite's are 64-bit)
        if isinstance(validator, MinValueValidator):
            low = max(low, validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            high = min(high, validator.limit_value)
    return low, high


def model_integer(model: type[models.Model], name: str, **kwargs: Any) -> BoundedIntegerField:
    """An input integer for `model.name`, bounded by the column; `min_value`/`max_value` may narrow it."""
    low, high = integer_bounds(model._meta.get_field(name))  # type: ignore[arg-type]
    kwargs["min_value"] = max(kwargs.get("min_value", low), low)
    kwargs["max_value"] = min(kwargs.get("max_value", high), high)
    return BoundedIntegerField(**kwargs)


# --- strict JSON bodies -------------------------------------------------------------------
_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list"}


def _json_types(field: serializers.Field) -> tuple[type, ...] | None:
    """The JSON types a body may send for `field`; None when any is fine (JSON, custom fields)."""
    if isinstance(field, serializers.BooleanField):
        return (bool,)
    if isinstance(field, serializers.IntegerField):
        return (int,)
    if isinstance(field, serializers.FloatField):
        return (int, float)
    if isinstance(
        field, serializers.ListField | serializers.ListSerializer | serializers.MultipleChoiceField
    ):
        return (list,)
    if isinstance(field, serializers.Serializer | serializers.DictField):
        return (dict,)
    if isinstance(field, serializers.ChoiceField):
        return (str,) if all(isinstance(choice, str) for choice in field.choices) else None
    if isinstance(
        field,
        serializers.CharField
        | serializers.DecimalField
        | serializers.DateTimeField
        | serializers.DateField
        | serializers.TimeField
        | serializers.DurationField
        | serializers.UUIDField,
    ):
        return (str,)
    return None


def _type_problem(field: serializers.Field, value: Any) -> str | None:
    """A message when `value` is not of the field's JSON type (None is left to allow_null)."""
    if value is None:
        return None
    types = _json_types(field)
    if types is None:
        return None
    if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
        wanted = " or ".join(_TYPE_NAMES.get(t, "an object") for t in types)
        return f"Expected {wanted}."
    if isinstance(field, serializers.DecimalField) and not DECIMAL_TEXT.fullmatch(value):
        return 'Expected a decimal string such as "19.99".'
    if isinstance(field, serializers.ListField) and field.child is not None:
        for item in value:
            problem = _type_problem(field.child, item)
            if problem:
                return f"Every item: {problem[0].lower()}{problem[1:]}"
    return None


def _length_problem(field: serializers.Field, value: Any) -> str | None:
    """A message when a string is longer than the field allows *as sent*.

    DRF trims whitespace before it checks `max_length`, so "x" followed by 600 spaces would pass
    a 500-character field that the schema says refuses it: the length is checked on the raw text.
    """
    if isinstance(field, serializers.ListField) and isinstance(value, list) and field.child is not None:
        return next((p for p in (_length_problem(field.child, item) for item in value) if p), None)
    limit = getattr(field, "max_length", None)
    if isinstance(field, serializers.CharField) and limit is not None and isinstance(value, str):
        if len(value) > limit:
            return f"Ensure this field has no more than {limit} characters."
    return None


class BodySerializer(serializers.Serializer):
    # A JSON object with only the declared keys, each holding a value of its declared JSON type.
    # (A comment, not a docstring: the schema would show it as every subclass's description.)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors: dict[str, list[serializers.ErrorDetail]] = {}
            writable = {name: field for name, field in self.fields.items() if not field.read_only}
            for key in data:
                if key not in writable:
                    errors[str(key)] = [serializers.ErrorDetail("Unknown field.", code="unknown_field")]
            for name, field in writable.items():
                problem = _type_problem(field, data[name]) if name in data else None
                if problem:
                    errors[name] = [serializers.ErrorDetail(problem, code="invalid")]
            if errors:
                raise serializers.ValidationError(errors)
            too_long = {
                name: [serializers.ErrorDetail(problem, code="max_length")]
                for name, field in writable.items()
                if name in data and (problem := _length_problem(field, data[name]))
            }
            try:
                value = super().to_internal_value(data)
            except serializers.ValidationError as exc:
                if too_long and isinstance(exc.detail, dict):
                    raise serializers.ValidationError({**too_long, **exc.detail}) from exc
                raise
            if too_long:
                raise serializers.ValidationError(too_long)
            return value
        return super().to_internal_value(data)


# --- countries and addresses --------------------------------------------------------------
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


ADDRESS_REQUIRED = ("line1", "city", "country")


class AddressSerializer(BodySerializer):
    """`line1`, `city`, `country` and (where the country has them) `postal_code` are required;
    postal codes are checked against the country's format. An address is a whole: a partial
    update (PATCH) replaces it and still needs its required parts."""

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
        missing = [name for name in ADDRESS_REQUIRED if name not in attrs]
        if missing:
            required = self.fields["line1"].error_messages["required"]
            raise serializers.ValidationError(
                {name: [serializers.ErrorDetail(required, code="required")] for name in missing}
            )
        attrs["postal_code"] = attrs.get("postal_code", "").strip().upper()
        problem = postal_code_error(attrs["country"], attrs["postal_code"])
        if problem:
            code, message = problem
            field = "country" if code == "invalid_country" else "postal_code"
            raise serializers.ValidationError({field: [serializers.ErrorDetail(message, code=code)]})
        return attrs
