"""Start a real Celery worker process against the test database, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from celery import Celery
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
QUEUES = "default,ingest,allocation,labels,sync,notifications"


def test_database_url() -> str:
    """The URL of the database the tests run on, for a process started by a test."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def filesystem_transport_options(var_dir: Path) -> dict[str, Any]:
    queue = var_dir / "broker" / "queue"
    processed = var_dir / "broker" / "processed"
    queue.mkdir(parents=True, exist_ok=True)
    processed.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "processed_folder": str(processed),
        "control_folder": str(var_dir / "broker" / "control"),
    }


def producer(broker_url: str, var_dir: Path) -> Celery:
    """A Celery app that publishes to the same broker the worker listens on."""
    # Not the current app: the suite's own tasks must keep running eagerly in this process.
    app = Celery("oms-test-producer", broker=broker_url, set_as_current=False)
    # CELERY_BROKER_URL in the environment beats `broker=`; the write URL setting does not.
    app.conf.broker_write_url = broker_url
    app.conf.broker_read_url = broker_url
    app.conf.task_serializer = "json"
    app.conf.accept_content = ["json"]
    if broker_url.startswith("filesystem://"):
        app.conf.broker_transport_options = filesystem_transport_options(var_dir)
    else:
        # A shared broker may hold messages of an earlier run: start from empty queues.
        with app.connection_for_write() as conn:
            channel = conn.default_channel
            for queue in QUEUES.split(","):
                with contextlib.suppress(Exception):  # a queue that does not exist yet is empty
                    channel.queue_purge(queue)
    return app


@contextlib.contextmanager
def running_worker(
    broker_url: str,
    var_dir: Path,
    *,
    concurrency: int = 1,
    extra_args: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
    log_name: str = "worker.log",
) -> Iterator[subprocess.Popen[str]]:
    """A `celery worker` on every queue (`extra_args=("--include", module)` loads test-only tasks)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.test",
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "OMS_VAR_DIR": str(var_dir),
        "OMS_WORKER": "1",
        **(extra_env or {}),
    }
    log = (var_dir / log_name).open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "oms",
            "worker",
            "-Q",
            QUEUES,
            "-c",
            str(concurrency),
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
            "-n",
            f"e2e-{os.getpid()}@%h",
            *extra_args,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_for(
    predicate: Callable[[], Any], *, timeout: float = 60, process: Any = None, log: Path | None = None
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.2)
    detail = log.read_text()[-4000:] if log is not None and log.exists() else ""
    raise AssertionError(f"condition not met within {timeout}s\n{detail}")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_web(broker_url: str, var_dir: Path, *, log_name: str = "web.log") -> Iterator[str]:
    """The web app under gunicorn, on the test database, publishing its tasks to `broker_url`.

    Yields its base URL once it answers. Requests to it commit for real (use a
    `django_db(transaction=True)` test) and what they enqueue goes to the broker, not eagerly.
    """
    import requests

    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.test",
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "OMS_VAR_DIR": str(var_dir),
    }
    log = (var_dir / log_name).open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "oms.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "--threads",
            "4",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return requests.get(f"{base}/health", timeout=2).status_code in (200, 503)
        except requests.RequestException:
            return False

    try:
        wait_for(answers, timeout=60, process=process, log=var_dir / log_name)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
