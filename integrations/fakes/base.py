"""What every local vendor fake shares: a threaded HTTP server, faults, controls and a state page.

A fake (WooCommerce, Amazon, eBay...) subclasses `FakeServer` and writes `handle(request)`
for the vendor's own endpoints; the base answers the rest:

- `GET /` (or `/_state`): a small HTML page of the fake's `state()` (orders, fulfillments,
  stock levels...), refreshed every 5 s, for people watching the demo;
- `GET /_control/state` (JSON), `POST /_control/reset`, `POST /_control/faults`
  `{"fail": n, "status": 503, "headers": {...}, "path": "/prefix"}`; a subclass adds its own
  controls in `control(method, path, body)`;
- faults: `fail_next(n, status=, headers=, path=)` answers the next n vendor calls (whose path
  starts with `path`) with that status instead of handling them, as the vendor would when down
  or throttling (a 429 with its rate-limit headers).

Stdlib only (no Django): a fake runs anywhere the project's Python does, in a test's thread
(`fake.start()` on a free port) or as a process: a fake's `main()` parses `base_arguments` (plus
`generator_arguments` for a stream of demo orders) and its own flags, and hands the fake to
`serve_forever(fake, args, generate=...)` or `serve_with_orders`. Helpers the fakes share:
`json_copy` (what a vendor answers is never the fake's own dict), `now_text`, `later_than` (each
change its own timestamp), `sku_list` / `demo_line` (the generated orders' lines).
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class FakeRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; None when it is empty or not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default

    def form(self) -> dict[str, str]:
        """An `application/x-www-form-urlencoded` body (a token request): the first value of each field."""
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}


@dataclass
class FakeResponse:
    status: int
    payload: Any = None  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class Fault:
    remaining: int
    status: int
    headers: dict[str, str]
    path: str

    def matches(self, path: str) -> bool:
        return path.startswith(self.path)


@dataclass(frozen=True)
class Delivery:
    """A webhook the fake sent, and how the receiver answered (status 0: it could not be reached)."""

    url: str
    status: int
    body: str


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float = 10.0) -> Delivery:
    """POST a body (a webhook) and return the receiver's answer; never raises for HTTP errors."""
    request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Delivery(url, answer.status, answer.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        return Delivery(url, exc.code, exc.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError) as exc:
        return Delivery(url, 0, str(exc))


class FakeServer:
    """Subclass: set `title`, write `handle`, `state`, `reset` (calling super) and, if any, `control`."""

    title = "Fake vendor"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.faults: list[Fault] = []
        self.calls: list[tuple[str, str]] = []  # (method, path) of every vendor call, in order

    # --- to override ----------------------------------------------------------------------------
    def handle(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(404, {"error": "not found"})

    def state(self) -> dict[str, Any]:
        return {}

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.calls.clear()

    def control(self, method: str, path: str, body: Any) -> FakeResponse | None:
        """A subclass's own controls under /_control/ (path without that prefix); None: not one."""
        return None

    # --- life -----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeServer:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.title, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- faults ---------------------------------------------------------------------------------
    def fail_next(
        self, n: int = 1, *, status: int = 503, headers: Mapping[str, str] | None = None, path: str = ""
    ) -> None:
        with self.lock:
            self.faults.append(Fault(n, status, dict(headers or {}), path))

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.matches(path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # --- dispatch -------------------------------------------------------------------------------
    def dispatch(self, request: FakeRequest) -> FakeResponse:
        if request.path.startswith("/_control/"):
            return self._control(request)
        if request.method == "GET" and request.path in ("/", "/_state"):
            return FakeResponse(200, self.state_page().encode(), content_type="text/html; charset=utf-8")
        fault = self._take_fault(request.path)
        with self.lock:
            self.calls.append((request.method, request.path))
        if fault is not None:
            error = {"errors": [{"message": "injected fault"}]}
            return FakeResponse(fault.status, error, dict(fault.headers))
        return self.handle(request)

    def _control(self, request: FakeRequest) -> FakeResponse:
        path = request.path[len("/_control/") :].strip("/")
        body = request.json() or {}
        if request.method == "GET" and path == "state":
            with self.lock:
                return FakeResponse(200, self.state())
        if request.method == "POST" and path == "reset":
            self.reset()
            return FakeResponse(200, {"reset": True})
        if request.method == "POST" and path == "faults":
            self.fail_next(
                int(body.get("fail", 1)),
                status=int(body.get("status", 503)),
                headers=body.get("headers") or {},
                path=str(body.get("path", "")),
            )
            return FakeResponse(200, {"faults": len(self.faults)})
        answer = self.control(request.method, path, body)
        return answer if answer is not None else FakeResponse(404, {"error": f"no control {path}"})

    def state_page(self) -> str:
        with self.lock:
            state = self.state()
        parts = [
            "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=5>",
            f"<title>{html.escape(self.title)}</title>",
            "<style>body{font:14px system-ui;margin:1rem}"
            "table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
            "td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}"
            "code{white-space:pre-wrap}</style>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        for name, value in state.items():
            parts.append(f"<h2>{html.escape(str(name))}</h2>")
            parts.append(_html_table(value))
        return "".join(parts)


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        text = json.dumps(value, default=str)
        return f"<code>{html.escape(text[:300])}{'…' if len(text) > 300 else ''}</code>"
    return html.escape(str(value))


def _html_table(value: Any) -> str:
    if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
        columns: list[str] = []
        for row in value:
            columns.extend(key for key in row if key not in columns)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{_cell(row.get(c, ''))}</td>" for c in columns) + "</tr>"
            for row in value[-200:]
        )
        return f"<table><tr>{head}</tr>{body}</table>"
    if isinstance(value, dict) and value:
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{_cell(v)}</td></tr>" for k, v in value.items()
        )
        return f"<table>{rows}</table>"
    return f"<p>{_cell(value) if value not in (None, [], {}) else 'none'}</p>"


class _Handler(BaseHTTPRequestHandler):
    fake: FakeServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = FakeRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=dict(self.headers.items()),
            body=self.rfile.read(length) if length else b"",
        )
        try:
            answer = self.fake.dispatch(request)
        except Exception as exc:  # a fake's own bug: answer like a vendor's 500
            answer = FakeResponse(500, {"errors": [{"message": f"{type(exc).__name__}: {exc}"}]})
        if isinstance(answer.payload, bytes):
            raw = answer.payload
        elif answer.payload is None:
            raw = b""
        else:
            raw = json.dumps(answer.payload, default=str).encode()
        self.send_response(answer.status)
        if raw or answer.status not in (204, 304):
            self.send_header("Content-Type", answer.content_type)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if raw:
            self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


def json_copy(value: Any) -> Any:
    """A deep copy through JSON: what the vendor would send, detached from the fake's state."""
    return json.loads(json.dumps(value))


def now_text(suffix: str = "") -> str:
    """Now (UTC) to the second, `2026-05-01T12:00:00` and the vendor's `suffix` ("+00:00", "Z")."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S") + suffix


def later_than(last: datetime) -> datetime:
    """Now to the millisecond, strictly after `last`: two changes never share a time (a poller that
    asks "changed after T" sees each once), and none is stamped ahead of the clock (a poller that
    asks "changed until now" sees every change made so far). A change in the same millisecond as
    the last waits for the next one; a `last` set more than a second ahead is followed by a step."""
    while True:
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now > last:
            return now
        if last - now > timedelta(seconds=1):
            return last + timedelta(milliseconds=1)
        time.sleep(0.0002)


def sku_list(text: str) -> list[str]:
    """`--skus A,B` as a list (SKU-1 when none is given)."""
    return [s.strip() for s in text.split(",") if s.strip()] or ["SKU-1"]


def demo_line(skus: list[str], n: int) -> dict[str, Any]:
    """The n-th generated order's one line: the SKUs in turn, one or two units at 19.99."""
    return {"sku": skus[n % len(skus)], "quantity": 1 + n % 2, "price": "19.99"}


class Servable(Protocol):
    """What `serve_forever` runs: a FakeServer, or the Shippo fake (which predates it)."""

    title: str

    @property
    def url(self) -> str: ...

    def start(self, host: str = ..., port: int = ...) -> Any: ...

    def stop(self) -> None: ...


def serve_forever(
    fake: Servable,
    args: argparse.Namespace,
    *,
    note: str = "",
    generate: Callable[[int], object] | None = None,
    every: float = 0.0,
    count: int = 0,
) -> None:
    """Run a fake as a process on --host/--port until interrupted (the caller parsed its own flags).

    With `generate`, `generate(n)` is called for n = 0, 1, 2... every `every` seconds, `count`
    times (-1: without end): the demo's stream of new orders. `note` follows the address in the
    line printed at start.
    """
    fake.start(args.host, args.port)
    sys.stdout.write(f"{fake.title} listening on {fake.url}{note}\n")
    sys.stdout.flush()
    try:
        if generate is not None:
            for n in itertools.count() if count < 0 else range(count):
                time.sleep(every)
                generate(n)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


def serve_with_orders(
    fake: Servable,
    args: argparse.Namespace,
    *,
    list_sku: Callable[[str], object],
    new_order: Callable[[list[dict[str, Any]]], object],
    note: str = "",
) -> None:
    """`serve_forever` for a fake parsed with `generator_arguments`: each of --skus is listed
    (`list_sku(sku)`), then --generate orders of `demo_line`s are made (`new_order(lines)`)."""
    skus = sku_list(args.skus)
    for sku in skus:
        list_sku(sku)
    serve_forever(
        fake,
        args,
        note=note,
        generate=lambda n: new_order([demo_line(skus, n)]),
        every=args.interval,
        count=args.generate,
    )


def base_arguments(description: str, *, port: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    return parser


def client_arguments(
    parser: argparse.ArgumentParser, *, client_id: str, client_secret: str, refresh_token: str
) -> argparse.ArgumentParser:
    """--client-id, --client-secret, --refresh-token: what the fake's token endpoint accepts."""
    parser.add_argument("--client-id", default=client_id)
    parser.add_argument("--client-secret", default=client_secret)
    parser.add_argument("--refresh-token", default=refresh_token)
    return parser


def generator_arguments(parser: argparse.ArgumentParser, *, interval: float) -> argparse.ArgumentParser:
    """--generate N orders (-1: without end), one every --interval seconds, from --skus."""
    parser.add_argument(
        "--generate", type=int, default=0, help="how many orders to generate (0: none; -1: without end)"
    )
    parser.add_argument("--interval", type=float, default=interval, help="seconds between generated orders")
    parser.add_argument(
        "--skus", default="SKU-1", help="comma-separated SKUs: listed at the fake, and ordered"
    )
    return parser
