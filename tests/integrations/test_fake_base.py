"""The shared fake scaffolding: vendor calls, injected faults, controls and the state page, over HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from integrations.fakes.base import FakeRequest, FakeResponse, FakeServer


class Echo(FakeServer):
    title = "Echo shop"

    def __init__(self) -> None:
        super().__init__()
        self.orders: list[dict[str, object]] = []

    def handle(self, request: FakeRequest) -> FakeResponse:
        if request.method == "POST" and request.path == "/orders":
            with self.lock:
                self.orders.append({"id": len(self.orders) + 1, **(request.json() or {})})
                return FakeResponse(201, self.orders[-1])
        return super().handle(request)

    def state(self) -> dict[str, object]:
        return {"orders": list(self.orders)}

    def reset(self) -> None:
        super().reset()
        self.orders.clear()


def _call(url: str, method: str = "GET", body: object = None) -> tuple[int, dict[str, str], bytes]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def echo():
    with Echo() as fake:
        yield fake


def test_vendor_calls_are_handled_and_recorded(echo):
    status, _, raw = _call(echo.url + "/orders", "POST", {"sku": "A"})
    assert (status, json.loads(raw)) == (201, {"id": 1, "sku": "A"})
    assert echo.calls == [("POST", "/orders")]
    assert _call(echo.url + "/nowhere")[0] == 404


def test_an_injected_fault_answers_instead_of_the_vendor_then_stops(echo):
    echo.fail_next(2, status=429, headers={"x-amzn-RateLimit-Limit": "0.0056"}, path="/orders")
    first = _call(echo.url + "/orders", "POST", {"sku": "A"})
    assert (first[0], first[1]["x-amzn-RateLimit-Limit"]) == (429, "0.0056")
    assert _call(echo.url + "/other")[0] == 404  # another path is not caught by the fault
    assert _call(echo.url + "/orders", "POST", {})[0] == 429
    assert _call(echo.url + "/orders", "POST", {"sku": "B"})[0] == 201
    assert [o["sku"] for o in echo.orders] == ["B"]


def test_controls_over_http_show_state_set_faults_and_reset(echo):
    _call(echo.url + "/orders", "POST", {"sku": "A"})
    status, _, raw = _call(echo.url + "/_control/state")
    assert (status, json.loads(raw)) == (200, {"orders": [{"id": 1, "sku": "A"}]})
    assert _call(echo.url + "/_control/faults", "POST", {"fail": 1, "status": 500})[0] == 200
    assert _call(echo.url + "/orders", "POST", {})[0] == 500
    assert _call(echo.url + "/_control/reset", "POST", {})[0] == 200
    assert echo.orders == [] and echo.calls == []
    assert _call(echo.url + "/_control/nothing", "POST", {})[0] == 404


def test_the_state_page_shows_the_fakes_rows_escaped(echo):
    _call(echo.url + "/orders", "POST", {"sku": "<b>A</b>"})
    status, headers, raw = _call(echo.url + "/")
    page = raw.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "<h1>Echo shop</h1>" in page and "<h2>orders</h2>" in page
    assert "&lt;b&gt;A&lt;/b&gt;" in page and "<b>A</b>" not in page
