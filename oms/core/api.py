"""What every REST view shares: the error format, JSON parsing, pagination, throttling, the tenant mixin."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.http import Http404
from django.urls import register_converter
from django_fsm import ConcurrentTransition, TransitionNotAllowed
from rest_framework import exceptions, pagination, parsers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import set_rollback

from oms.core.errors import CommonErrorCode, DomainError

# JSON nested deeper than this is refused (400 parse_error): no real body needs more.
MAX_JSON_DEPTH = 32
# Object ids in paths and cursors: what a 64-bit primary key holds, with room to spare.
ID_PATTERN = "[0-9]{1,18}"
ID_MAX = 10**18 - 1


def _flatten_details(detail: Any, prefix: str = "") -> dict[str, list[dict[str, str]]]:
    """Turn DRF's nested error details into {"lines.0.sku": [{"code", "message"}]}."""
    out: dict[str, list[dict[str, str]]] = {}
    if isinstance(detail, dict):
        if set(detail) == {"message", "code"}:
            out.setdefault(prefix or "non_field_errors", []).append(
                {"code": str(detail["code"]), "message": str(detail["message"])}
            )
            return out
        for key, value in detail.items():
            out.update(_flatten_details(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict) and set(value) == {"message", "code"}:
                out.setdefault(prefix or "non_field_errors", []).append(
                    {"code": str(value["code"]), "message": str(value["message"])}
                )
            elif value:
                out.update(_flatten_details(value, f"{prefix}.{index}" if prefix else str(index)))
    return out


def error_response(code: str, message: str, http_status: int, **body: Any) -> Response:
    return Response({"code": code, "message": message, **body}, status=http_status)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        set_rollback()
        body: dict[str, Any] = {"extra": exc.extra} if exc.extra else {}
        return error_response(exc.code, exc.message, exc.status, **body)
    if isinstance(exc, ConcurrentTransition):
        set_rollback()
        return error_response(
            CommonErrorCode.CONCURRENT_UPDATE,
            "The object changed under you; retry.",
            status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, TransitionNotAllowed):
        set_rollback()
        return error_response(CommonErrorCode.ILLEGAL_TRANSITION, str(exc), status.HTTP_409_CONFLICT)
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        set_rollback()
        return error_response(CommonErrorCode.NOT_FOUND, "Not found.", status.HTTP_404_NOT_FOUND)
    if isinstance(exc, RequestDataTooBig):
        set_rollback()
        return error_response(
            CommonErrorCode.REQUEST_TOO_LARGE,
            "The request body is larger than this API accepts.",
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        fields = _flatten_details(exc.get_full_details())
        return error_response(
            CommonErrorCode.VALIDATION_ERROR,
            "The request has invalid fields.",
            status.HTTP_400_BAD_REQUEST,
            fields=fields,
        )
    if isinstance(exc, exceptions.APIException):
        set_rollback()
        headers: dict[str, str] = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.default_detail)
        response = error_response(str(code), str(detail), exc.status_code)
        for name, value in headers.items():
            response[name] = value
        return response
    return None


class IdConverter:
    """`<id:order_id>`: an object id that fits a 64-bit key; a longer number matches no route (404)."""

    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(value)


register_converter(IdConverter, "id")


def _json_depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (iterative: no recursion limit)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    """DRF's parser, refusing bodies nested deeper than MAX_JSON_DEPTH instead of overflowing the stack."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        too_deep = exceptions.ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if _json_depth(data) > MAX_JSON_DEPTH:
            raise too_deep
        return data


def bad_parameter(name: str, message: str, code: str = "invalid") -> exceptions.ValidationError:
    return exceptions.ValidationError({name: [exceptions.ErrorDetail(message, code=code)]})


class CursorPagination(pagination.CursorPagination):
    """`?limit=` is 1 to 200 or absent; a cursor is one we handed out. Anything else answers 400."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = ("-id",)

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not re.fullmatch(r"[0-9]{1,3}", raw) or not 1 <= int(raw) <= self.max_page_size:
            raise bad_parameter("limit", f"Give a whole number from 1 to {self.max_page_size}.")
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The `next` or `previous` cursor of a page",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Page size, 1 to {self.max_page_size} (default {self.page_size})",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            cursor = None
            valid = False
        else:
            valid = (
                cursor is None or cursor.position is None or bool(re.fullmatch(ID_PATTERN, cursor.position))
            )
        if not valid:
            raise bad_parameter(
                self.cursor_query_param, "Use a cursor from a previous page.", "invalid_cursor"
            )
        return cursor


def _has_nul(value: Any) -> bool:
    return isinstance(value, str) and "\x00" in value


class TenantApiMixin:
    """Views that act for request.tenant. Never reads a tenant from anywhere else.

    A NUL character in the path or the query answers 400 (PostgreSQL cannot even compare one).
    """

    request: Any
    kwargs: dict[str, Any]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        problems = {name: value for name, value in self.kwargs.items() if _has_nul(value)}
        for name, values in request.query_params.lists():
            if _has_nul(name) or any(_has_nul(value) for value in values):
                problems[name.replace("\x00", "")] = True
        if problems:
            raise exceptions.ValidationError(
                {
                    name: [
                        exceptions.ErrorDetail(
                            "Null characters are not allowed.", code="null_characters_not_allowed"
                        )
                    ]
                    for name in problems
                }
            )

    @property
    def tenant(self) -> Any:
        return self.request.tenant
