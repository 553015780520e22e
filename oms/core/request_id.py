"""A request id that follows a request through logs, audit events and the tasks it enqueues."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from celery import current_task
from django.http import HttpRequest, HttpResponse

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
HEADER = "X-Request-ID"


def get_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str) -> None:
    _request_id.set(value)


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(HEADER, "")
        rid = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        token = _request_id.set(rid)
        request.request_id = rid  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[HEADER] = rid
        return response


def task_request_id(request: object) -> str | None:
    """The request id a task's message carries: a worker puts the custom header on the request;
    a task run in-process (eager) keeps it among the request's headers."""
    rid = getattr(request, "request_id", None) or (getattr(request, "headers", None) or {}).get("request_id")
    return str(rid) if rid else None


class RequestIdLogFilter(logging.Filter):
    """Puts `request_id` on every record, and `task_name` / `task_id` on those logged in a task."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        task = current_task
        request = getattr(task, "request", None) if task else None
        if request is not None and getattr(request, "id", None):
            record.task_name = task.name
            record.task_id = request.id
        return True
