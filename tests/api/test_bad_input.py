"""Input that no serializer sees: bodies too large or too deep, paths that match no route."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from oms.core.api import MAX_JSON_DEPTH


def test_json_nested_100000_deep_is_400_not_a_recursion_error(api_a):
    deep = "[" * 100_000 + "]" * 100_000
    response = api_a.post("/api/v1/skus/", deep, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_json_nested_past_the_limit_is_400(api_a):
    nested: object = "x"
    for _ in range(MAX_JSON_DEPTH):
        nested = {"a": nested}
    response = api_a.post("/api/v1/skus/", json.dumps({"name": nested}), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
@pytest.mark.parametrize("idempotency_key", [None, "k-1"])
def test_a_body_over_the_limit_is_413_in_the_error_shape(api_a, idempotency_key):
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    body = json.dumps({"code": "BIG", "name": "n" * 2000})
    response = api_a.post("/api/v1/skus/", body, content_type="application/json", **headers)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "request_too_large"


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/v1/orders/x/", "/api/v2/"])
def test_no_route_under_api_is_a_json_404(api_a, settings, debug, path):
    settings.DEBUG = debug
    response = api_a.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "message": "Not found."}


def test_outside_api_django_pages_stay_html(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_nul_byte_in_the_query_is_400_on_every_route(api_a):
    for url in ("/api/v1/me/?x=a%00b", "/api/v1/orders/?external_id=a%00b", "/api/v1/warehouses/?a%00=1"):
        response = api_a.get(url)
        assert response.status_code == 400, url
        assert response.json()["code"] == "validation_error"
