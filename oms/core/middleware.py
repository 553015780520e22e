"""Under /api/ every answer is JSON, errors included, whichever layer produced them.

- A body larger than DATA_UPLOAD_MAX_MEMORY_SIZE answers 413 `request_too_large` before
  anything reads it.
- An error page Django renders itself (a path that matches no route, e.g. `/api/v1/orders/abc/`,
  a 500, a refused Host) is replaced by the API's error shape `{"code", "message"}` with the
  same status. Responses that already are JSON pass untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"

_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    500: "server_error",
}


def api_error(status: int, message: str | None = None) -> JsonResponse:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = _CODES.get(status, phrase.lower().replace(" ", "_").replace("-", "_"))
    if message is None:
        message = "Not found." if status == 404 else f"{phrase}."
    return JsonResponse({"code": code, "message": message}, status=status)


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class ApiErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and _content_length(request) > limit:
            response: HttpResponse = api_error(
                413, f"The request body is larger than this API accepts ({limit} bytes)."
            )
            response["Connection"] = "close"  # the unread body must not be taken for the next request
            return response
        response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            replacement = api_error(response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response
