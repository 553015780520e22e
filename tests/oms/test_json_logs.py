"""LOG_FORMAT=json: one JSON object per line, carrying the request id into the tasks a request enqueued."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery import shared_task
from django.http import HttpRequest, HttpResponse
from django.urls import path

from oms.core.jsonlog import JsonLogFormatter
from oms.core.request_id import RequestIdLogFilter
from oms.core.tasks import enqueue_on_commit

ROOT = Path(__file__).resolve().parents[2]
logger = logging.getLogger("tests.json_logs")
TASK = "tests.oms.test_json_logs.log_line_task"


@shared_task(name=TASK)
def log_line_task(*, tenant_id: int, text: str) -> None:
    logger.info("the task says %s", text)


def log_and_enqueue(request: HttpRequest) -> HttpResponse:
    logger.info("the view says hello")
    enqueue_on_commit(TASK, tenant_id=int(request.GET["tenant"]), text="hi")
    return HttpResponse("ok")


urlpatterns = [path("log-and-enqueue", log_and_enqueue)]


@pytest.fixture
def json_lines():
    """What the console handler of LOG_FORMAT=json writes, parsed line by line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.urls("tests.oms.test_json_logs")
def test_a_request_and_the_task_it_enqueued_log_the_same_request_id(
    client, tenant_a, json_lines, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/log-and-enqueue?tenant={tenant_a.pk}", HTTP_X_REQUEST_ID="req-42.abc")
    assert response.status_code == 200 and response["X-Request-ID"] == "req-42.abc"
    lines = json_lines()
    view = next(line for line in lines if line["message"] == "the view says hello")
    task = next(line for line in lines if line["message"] == "the task says hi")
    assert view["request_id"] == task["request_id"] == "req-42.abc"
    assert {"timestamp", "level", "logger", "message", "request_id"} <= set(view)
    assert (view["level"], view["logger"]) == ("INFO", "tests.json_logs")
    assert "task_name" not in view
    assert task["task_name"] == TASK and task["task_id"]


def test_an_exception_stays_on_one_line(json_lines):
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        logger.exception("it failed")
    [line] = [line for line in json_lines() if line["message"] == "it failed"]
    assert line["level"] == "ERROR" and "ValueError: bad" in line["exc_info"]
    assert line["request_id"] == "-"


SUBPROCESS = """
import logging, django
django.setup()
logging.getLogger("django.request").warning("Bad Request: /webhooks/stripe/AbCdEfGhIjKlMnOpQrSt/")
logging.getLogger("stripe").info("message='API response body' body=secret-client-secret")
logging.getLogger("orders").info("plain words")
"""


@pytest.mark.parametrize("log_format", ["json", "plain"])
def test_log_format_selects_json_lines_on_stdout_and_the_secret_filters_still_apply(log_format):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "oms.settings.test", "LOG_FORMAT": log_format}
    run = subprocess.run(
        [sys.executable, "-c", SUBPROCESS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    if log_format == "plain":
        assert run.stdout == ""
        assert "INFO orders [req=-] plain words" in run.stderr
        return
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("django.request", "Bad Request: /webhooks/stripe/AbCd…/"),  # the token is a credential
        ("orders", "plain words"),  # the vendor's response body was dropped
    ]
    assert all(line["request_id"] == "-" for line in lines)
    assert "secret-client-secret" not in run.stdout + run.stderr
