"""The OpenAPI schema: API-key authentication, and every error an operation can answer.

`ApiAutoSchema` (DEFAULT_SCHEMA_CLASS) adds to each operation, from what the operation is
rather than by hand in each view, the errors in the shape every view renders
(`{"code", "message", "fields"?, "extra"?}`, component `Error`):

| status | when it applies |
|---|---|
| 400 | always: bad JSON, bad fields, bad query parameters (`limit`, `cursor`, filters) |
| 401, 403, 429 | operations that take credentials (429 carries `Retry-After`) |
| 404 | operations with a path parameter |
| 409, 422 | writes: a conflict (idempotency, a transition, a concurrent update), a rule refused it |
| 413, 415 | operations with a request body: too large, not JSON |
| any | those a view lists in `extra_error_statuses` (e.g. 404 for a filter naming an object) |
| 503 | listed by views that call an outside service (a carrier): it could not be reached (`Retry-After`) |

Request bodies of `BodySerializer`s say `additionalProperties: false`, as the serializer
refuses unknown keys. A decimal's pattern is exactly what the server takes (`decimal_pattern`):
in a request, the digits the field takes, leading zeros, and a sign only where the field may be
negative (a non-negative field takes "-0" and nothing else below zero); in a response, the string
the server writes, and money (12 digits, 2 places: every amount in the house) is never negative.

Each operation's summary and description come from `oms.api_docs.OPERATIONS` by operationId
(`api_docs_postprocess`, a POSTPROCESSING_HOOK), written for storefront developers: the views'
docstrings are for the people who maintain them and never reach the docs.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.drainage import warn
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

from oms.api_docs import OPERATIONS
from oms.core.serializers import BodySerializer

FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
    "required": ["code", "message"],
}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error: a stable `code`, a message for people, and per-field errors on 400.",
    "properties": {
        "code": {"type": "string", "description": "e.g. validation_error, not_found, insufficient_stock"},
        "message": {"type": "string"},
        "fields": {
            "type": "object",
            "description": 'Per field, dotted for nested ones ("lines.0.sku")',
            "additionalProperties": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
        },
        "extra": {"type": "object", "additionalProperties": {}, "description": "Details of a refused rule"},
    },
    "required": ["code", "message"],
}
ERROR_DESCRIPTIONS = {
    "400": "Invalid input: malformed JSON, unknown or invalid fields, bad query parameters.",
    "401": "No API key, or an unknown or revoked one.",
    "403": "The key's role may not do this.",
    "404": "No such object for this tenant.",
    "409": "Conflict: an illegal state transition, an Idempotency-Key reused with another body, "
    "or a concurrent update.",
    "413": "The request body is too large.",
    "415": "The request body is not JSON.",
    "422": "A rule refused the operation (e.g. insufficient_stock).",
    "429": "Too many requests, for this API key or for the tenant's keys together (`code` "
    "`throttled`): retry after the given number of seconds.",
    "503": "An outside service (a carrier) could not be reached: retry after the given number of seconds.",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class ApiAutoSchema(AutoSchema):
    def error_statuses(self) -> list[str]:
        """The error statuses this operation can answer, from its method, path and authentication."""
        statuses = {"400"}
        if self.get_auth():
            statuses |= {"401", "403", "429"}
        if "{" in self.path:
            statuses.add("404")
        statuses |= set(getattr(self.view, "extra_error_statuses", ()))
        if self.method in UNSAFE_METHODS:
            statuses |= {"409", "422"}
        if self.method in BODY_METHODS:
            statuses |= {"413", "415"}
        return sorted(statuses)

    def _error_ref(self) -> dict[str, str]:
        for name, schema in (("FieldError", FIELD_ERROR_SCHEMA), ("Error", ERROR_SCHEMA)):
            component = ResolvedComponent(
                name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name
            )
            self.registry.register_on_missing(component)
        return {"$ref": "#/components/schemas/Error"}

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status in self.error_statuses():
            if status in responses:
                continue
            response = self._get_response_for_code(self._error_ref(), status, direction=direction)
            response["description"] = ERROR_DESCRIPTIONS[status]
            if status in ("429", "503"):
                response["headers"] = dict(RETRY_AFTER)
            responses[status] = response
        return dict(sorted(responses.items()))

    def _get_request_body(self, direction: Any = "request") -> Any:
        body = super()._get_request_body(direction)
        if body and getattr(self.get_request_serializer(), "min_properties", None):
            body["required"] = True  # an empty body says nothing: validate() refuses it
        return body

    def _map_serializer(self, serializer: Any, direction: Any, bypass_extensions: bool = False) -> Any:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, BodySerializer) and "properties" in schema:
            schema["additionalProperties"] = False
            min_properties = getattr(serializer, "min_properties", None)
            if min_properties:
                schema["minProperties"] = min_properties
        return schema

    def _map_serializer_field(self, field: Any, direction: Any, bypass_extensions: bool = False) -> Any:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if not isinstance(schema, dict):
            return schema
        if isinstance(field, serializers.DecimalField) and "pattern" in schema:
            schema["pattern"] = decimal_pattern(field, direction)
        if isinstance(field, serializers.ListSerializer | serializers.ListField):
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
            minimum = max(field.min_length or 0, 0 if field.allow_empty else 1)
            if minimum:
                schema["minItems"] = minimum
        return schema


# Every amount of money in the house is a DecimalField of this shape, and never negative
# (oms.core.money.validate_non_negative on each column, CHECK constraints, order totals refused below 0).
MONEY_SHAPE = (12, 2)


def is_money(field: serializers.DecimalField) -> bool:
    return (field.max_digits, field.decimal_places) == MONEY_SHAPE


def decimal_pattern(field: serializers.DecimalField, direction: str = "request") -> str:
    """The decimal strings the server takes (request) or writes (response) for `field`.

    Request: what `BodySerializer` lets through (`-?digits[.digits]`, oms.core.serializers)
    and DRF then accepts. DRF counts digits without leading zeros ("007.5" has one whole
    digit), counts trailing decimal zeros ("1.500" has three places), and compares with
    `min_value` numerically, so a non-negative field takes "-0.00" but no other negative.
    Response: DRF writes the value quantized to the field's places, without leading zeros.
    """
    places = field.decimal_places
    if direction == "response":
        sign = "" if is_money(field) or _non_negative(field) else "-?"
        whole = "0" if field.max_whole_digits == 0 else rf"\d{{1,{field.max_whole_digits}}}"
        fraction = rf"\.\d{{{places}}}" if places else ""
        return rf"^{sign}{whole}{fraction}$"
    sign = r"(?:-(?=[0.]*$))?" if _non_negative(field) else "-?"
    if field.max_whole_digits == 0:  # "0" itself counts one whole digit: a fraction must follow
        return rf"^{sign}0+\.\d{{1,{places}}}$"
    fraction = rf"(?:\.\d{{1,{places}}})?" if places else ""
    return rf"^{sign}0*\d{{1,{field.max_whole_digits}}}{fraction}$"


def _non_negative(field: serializers.DecimalField) -> bool:
    return field.min_value is not None and field.min_value >= 0


def api_docs_postprocess(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Each operation's summary and description from `oms.api_docs.OPERATIONS`, never a view docstring."""
    for path, methods in result.get("paths", {}).items():
        for method, operation in methods.items():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            texts = OPERATIONS.get(operation["operationId"])
            if texts is None:
                operation.pop("description", None)  # the view's docstring: for maintainers only
                warn(
                    f"{method.upper()} {path}: no summary or description for {operation['operationId']!r} "
                    "in oms/api_docs.py"
                )
                continue
            operation["summary"], operation["description"] = texts
    return result


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "oms.core.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A tenant API key: `oms_<prefix>_<secret>`",
        }


class TenantSessionScheme(OpenApiAuthenticationExtension):
    target_class = "oms.core.auth.TenantSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
