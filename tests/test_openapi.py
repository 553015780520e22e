"""The OpenAPI schema generates without warnings and validates against the OpenAPI spec."""

from __future__ import annotations

import yaml
from django.core.management import call_command


def test_schema_validates_without_warnings(tmp_path, db):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    assert "/api/v1/orders/" in paths
    assert "/api/v1/orders/{order_id}/cancel/" in paths
    assert set(paths["/api/v1/orders/"]) >= {"get", "post"}
    assert "apiKey" in schema["components"]["securitySchemes"]


def test_schema_and_docs_are_served_without_a_cdn(client, db):
    assert client.get("/api/v1/schema/").status_code == 200
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "cdn.jsdelivr.net" not in page and "/static/drf_spectacular_sidecar/" in page


def _schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method.upper(), operation


def test_every_operation_documents_the_errors_it_can_answer(db):
    schema = _schema()
    assert schema["components"]["schemas"]["Error"]["required"] == ["code", "message"]
    for path, method, operation in _operations(schema):
        expected = {"400", "401", "403", "429"}
        if "{" in path:
            expected.add("404")
        if method in {"POST", "PATCH", "DELETE"}:
            expected |= {"409", "422"}
        if method in {"POST", "PATCH"}:
            expected |= {"413", "415"}
        responses = operation["responses"]
        assert expected <= set(responses), (method, path, sorted(expected - set(responses)))
        for status in expected:
            content = responses[status]["content"]["application/json"]["schema"]
            assert content == {"$ref": "#/components/schemas/Error"}, (method, path, status)
            assert responses[status]["description"]
        assert "Retry-After" in responses["429"]["headers"]
    assert "404" in schema["paths"]["/api/v1/replenishment/"]["get"]["responses"]


def _walk(node, where):
    if isinstance(node, dict):
        yield node, where
        for key, value in node.items():
            yield from _walk(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}.{index}")


def test_every_integer_a_client_sends_is_bounded(db):
    """A 32-bit column, or an id (at most 18 digits): PostgreSQL refused wider values with a 500."""
    from oms.core.api import ID_MAX

    schema = _schema()
    inputs = {name: s for name, s in schema["components"]["schemas"].items() if name.endswith("Request")}
    parameters = {
        f"{method} {path}": operation.get("parameters", []) for path, method, operation in _operations(schema)
    }
    checked = 0
    for node, where in _walk({"components": inputs, "parameters": parameters}, "schema"):
        if node.get("type") != "integer":
            continue
        checked += 1
        assert "minimum" in node and "maximum" in node, where
        assert node["minimum"] >= -(2**31), where
        assert node["maximum"] <= 2**31 - 1 or node["maximum"] == ID_MAX, where
    assert checked >= 20


def test_request_bodies_refuse_unknown_keys(db):
    schema = _schema()
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request") and "properties" in component:
            assert component.get("additionalProperties") is False, name
