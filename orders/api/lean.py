"""The placement's hot path without DRF's serializer tree: its input checked, its 201 rendered.

A DRF serializer deep-copies its whole tree of fields for every request (an order's body:
five nested serializers, some forty fields) before it looks at the data; rendering an order
does the same for its output. On `POST /api/v1/orders/` that was a quarter of the request's
Python. This module does both jobs over the same declarations, without the copies:

- `lean_validated(OrderCreateInputSerializer, data, context)`: fast accept, slow reject. It
  walks the serializer's declared fields (unbound: nothing is copied) the way
  `BodySerializer.to_internal_value` and DRF's `Serializer.run_validation` do, runs each
  field's own `run_validation` and the serializer's own `validate_<field>` and `validate`, and
  returns what `validated_data` would hold. At the first doubt (an error, an unknown key, a
  value of the wrong JSON type, anything it does not model) it returns None, and the caller
  runs the serializer itself: every error is still worded, coded and shaped by the serializer
  (tests/orders/api/test_lean.py holds the two side by side).
- `placed_json(order)`: `OrderOutputSerializer`'s rendering of an order placed in this request,
  from the objects in memory (no holds, payments or shipments yet), with DRF's own fields
  formatting the decimals and timestamps. tests/orders/api/test_placement_cost.py compares it
  with `GET /api/v1/orders/<id>/`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from oms.core.serializers import BodySerializer, _length_problem, _type_problem
from orders.api.serializers import AddressOutputSerializer, OrderOutputSerializer
from orders.models import Order, OrderLine
from orders.states import OrderState


class _Decline(Exception):
    """Not for the lean path: the serializer decides (and words the errors)."""


# --- input ----------------------------------------------------------------------------------
def lean_validated(
    serializer_class: type[BodySerializer], data: Any, context: dict[str, Any]
) -> dict[str, Any] | None:
    """What `serializer_class(data=data, context=context).validated_data` would be, or None."""
    if not _modelled(serializer_class):
        return None
    try:
        return _object(serializer_class(context=context), serializer_class, data)
    except (_Decline, serializers.ValidationError, DjangoValidationError, SkipField):
        return None


@cache
def _modelled(cls: type[serializers.Serializer]) -> bool:
    """A BodySerializer whose fields are its declared ones, without serializer-wide validators,
    its nested serializers alike: what `_object` walks as DRF would."""
    if not issubclass(cls, BodySerializer) or cls.get_fields is not serializers.Serializer.get_fields:
        return False
    if cls.to_internal_value is not BodySerializer.to_internal_value or cls.run_validation is not (
        serializers.Serializer.run_validation
    ):
        return False
    if getattr(getattr(cls, "Meta", None), "validators", None):
        return False
    for field in cls._declared_fields.values():
        nested = field.child if isinstance(field, serializers.ListSerializer) else field
        if isinstance(nested, serializers.BaseSerializer) and not _modelled(type(nested)):
            return False
    return True


def _writable(cls: type[serializers.Serializer]) -> dict[str, serializers.Field]:
    return {name: field for name, field in cls._declared_fields.items() if not field.read_only}


def _object(instance: serializers.Serializer, cls: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """BodySerializer.to_internal_value, then Serializer.run_validation's validate()."""
    if type(data) is not dict:  # a parsed JSON object; a QueryDict (a form) is the serializer's
        raise _Decline
    fields = _writable(cls)
    if any(key not in fields for key in data):
        raise _Decline  # unknown_field
    validated: dict[str, Any] = {}
    for name, field in fields.items():
        if name in data:
            value = data[name]
            if _type_problem(field, value) or _length_problem(field, value):
                raise _Decline
            value = _field(field, value)
        elif field.required or field.default is empty:
            raise _Decline  # required, or left out of validated_data (SkipField)
        elif callable(field.default):
            raise _Decline  # a context-dependent default: not modelled
        else:
            value = field.default
        method = getattr(instance, f"validate_{name}", None)
        if method is not None:
            value = method(value)
        validated[name] = value
    validated = instance.validate(validated)
    if validated is None:
        raise _Decline
    return validated


def _field(field: serializers.Field, value: Any) -> Any:
    if isinstance(field, serializers.ListSerializer):
        if not isinstance(value, list) or (not field.allow_empty and not value):
            raise _Decline
        if (field.max_length is not None and len(value) > field.max_length) or (
            field.min_length is not None and len(value) < field.min_length
        ):
            raise _Decline
        return [_nested(field.child, item) for item in value]
    if isinstance(field, serializers.BaseSerializer):
        if value is None:
            if field.allow_null:
                return None
            raise _Decline
        return _nested(field, value)
    return field.run_validation(value)


def _nested(serializer: Any, value: Any) -> dict[str, Any]:
    """A nested serializer's template (declared, unbound) validates without being bound: its
    `validate` methods read no context."""
    return _object(serializer, type(serializer), value)


# --- output ---------------------------------------------------------------------------------
_MONEY = serializers.DecimalField(max_digits=12, decimal_places=2)
_TIME = serializers.DateTimeField()
_DATE = serializers.DateField()
ADDRESS_OUTPUT = tuple(AddressOutputSerializer._declared_fields)


def _money(value: Any) -> str | None:
    return None if value is None else _MONEY.to_representation(value)


def _time(value: Any) -> str | None:
    return None if value is None else _TIME.to_representation(value)


def _address(address: Any) -> dict[str, str] | None:
    if address is None:
        return None
    return {name: str(getattr(address, name)) for name in ADDRESS_OUTPUT}


def _line(order: Order, line: OrderLine) -> dict[str, Any]:
    return {
        "id": str(line.pk),
        "sku": str(line.sku.code),
        "quantity": int(line.quantity),
        "unit_price": _money(line.unit_price),
        "tax": _money(line.tax),
        "allocated": int(line.quantity_allocated),
        "backordered": 0 if order.state == OrderState.CANCELLED else int(line.quantity_backordered),
        "shipped": int(line.quantity_shipped),
        "returned": int(line.quantity_returned),
        "allocations": [
            {"warehouse": str(a.warehouse.code), "quantity": int(a.quantity)}
            for a in getattr(line, "placed_allocations", [])  # none on a backordered line
        ],
    }


def placed_json(order: Order) -> dict[str, Any]:
    """OrderOutputSerializer(order).data for an order placed in this request (`placed_lines`)."""
    plan = order.allocation_plan or {}
    customer = order.customer
    return {
        "id": str(order.pk),
        "number": str(order.number),
        "channel": str(order.channel),
        "external_id": str(order.external_id),
        "state": str(order.state),
        "holds": [],
        "currency": str(order.currency),
        "subtotal": _money(order.subtotal),
        "shipping_price": _money(order.shipping_price),
        "tax": _money(order.tax),
        "discount": _money(order.discount),
        "total": _money(order.total),
        "customer": {"email": str(customer.email), "name": str(customer.name)},
        "ship_to": _address(order.ship_to),
        "bill_to": _address(order.bill_to),
        "service_level": str(order.service_level),
        "lines": [_line(order, line) for line in order.placed_lines],
        "allocation_plan": {"strategy": plan.get("strategy", ""), "explanation": plan.get("explanation", "")},
        "promise_date": None if order.promise_date is None else _DATE.to_representation(order.promise_date),
        "payments": [],
        "shipments": [],
        "cancel_reason": str(order.cancel_reason),
        "placed_at": _time(order.placed_at),
        "created_at": _time(order.created_at),
        "updated_at": _time(order.updated_at),
    }


OUTPUT_FIELDS = tuple(OrderOutputSerializer._declared_fields)
