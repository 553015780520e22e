"""What every REST view shares: the error format, pagination, throttling, the tenant mixin."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django_fsm import ConcurrentTransition, TransitionNotAllowed
from rest_framework import exceptions, pagination, status, throttling
from rest_framework.response import Response
from rest_framework.views import set_rollback

from oms.core.errors import CommonErrorCode, DomainError


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


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = ("-id",)


class ApiKeyThrottle(throttling.SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        api_key = getattr(request._request, "api_key", None)
        if api_key is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": api_key.prefix}


class TenantApiMixin:
    """Views that act for request.tenant. Never reads a tenant from anywhere else."""

    request: Any

    @property
    def tenant(self) -> Any:
        return self.request.tenant
