"""The OpenAPI schema generates without warnings and validates against the OpenAPI spec."""

from __future__ import annotations

import inspect
import re
from decimal import Decimal

import pytest
import yaml
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


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


# --- texts for storefront developers ------------------------------------------------------
def _view_docstrings(view_class, method):
    """Every docstring the view could lend the schema: its classes' and its handler's."""
    docs = [klass.__doc__ for klass in view_class.__mro__ if klass.__doc__]
    handler = getattr(view_class, method.lower(), None)
    if handler is not None and handler.__doc__:
        docs.append(handler.__doc__)
    return [inspect.cleandoc(doc) for doc in docs]


def test_every_operation_has_a_summary_and_a_description_for_storefront_developers(db):
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator()
    schema = generator.get_schema(request=None, public=True)
    views = {(path, method): callback.cls for path, _, method, callback in generator.endpoints}
    seen = 0
    for path, method, operation in _operations(schema):
        where = (method, path, operation["operationId"])
        summary, description = operation.get("summary", ""), operation.get("description", "")
        assert summary.strip() and description.strip(), where
        assert summary != operation["operationId"] and "_" not in summary, where
        assert len(description) > len(summary), where
        for doc in _view_docstrings(views[(path, method)], method):
            for paragraph in doc.split("\n\n"):
                assert " ".join(paragraph.split()) not in " ".join(description.split()), (where, paragraph)
        seen += 1
    assert seen >= 35


def test_the_docs_table_names_only_operations_that_exist(db):
    from oms.api_docs import OPERATIONS

    operation_ids = {operation["operationId"] for _, _, operation in _operations(_schema())}
    assert set(OPERATIONS) == operation_ids


def test_an_operation_missing_from_the_table_warns_and_shows_no_docstring(db, monkeypatch):
    from drf_spectacular.drainage import GENERATOR_STATS

    from oms import api_docs

    monkeypatch.delitem(api_docs.OPERATIONS, "orders_list")
    GENERATOR_STATS.reset()
    schema = _schema()
    operation = schema["paths"]["/api/v1/orders/"]["get"]
    assert "description" not in operation and "summary" not in operation
    assert GENERATOR_STATS._warn_cache, "the missing text is a warning (spectacular --fail-on-warn fails)"
    GENERATOR_STATS.reset()


# --- money: the schema's pattern is what the server takes ---------------------------------
def _money_patterns(schema):
    for name, component in schema["components"]["schemas"].items():
        for field, node in component.get("properties", {}).items():
            if node.get("format") == "decimal" and r"\d{1,10}" in node.get("pattern", ""):
                yield f"{name}.{field}", name.endswith("Request"), node["pattern"]


def test_no_money_pattern_allows_a_negative_amount(db):
    patterns = list(_money_patterns(_schema()))
    assert len(patterns) >= 20
    requests = [p for p in patterns if p[1]]
    assert len(requests) >= 8
    for where, is_request, pattern in patterns:
        for negative in ("-1", "-0.01", "-19.99", "-1000000000.00"):
            assert not re.fullmatch(pattern.strip("^$"), negative), (where, negative)
        assert re.fullmatch(pattern.strip("^$"), "19.99"), where
        if is_request:
            assert re.fullmatch(pattern.strip("^$"), "5"), where


def _money_input_serializer():
    from rest_framework import serializers

    from oms.core.serializers import BodySerializer

    class Money(BodySerializer):
        amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))
        signed = serializers.DecimalField(max_digits=9, decimal_places=6, required=False)

    return Money


DECIMAL_SAMPLES = [
    "0", "-0", "-0.00", "0.0", "5", "19.99", "19.999", "1.500", "1.50", "-1", "-0.01", ".5", "5.", "+5",
    "1e2", " 5", "007.50", "1234567890.12", "12345678901", "012345678901", "00000000000001.00",
    "9999999999.99", "99999999999.9", "-0.001", "0.00", "1,5", "", "\u0661\u0662.50", "\u07c0000",
]  # fmt: skip


@pytest.mark.parametrize("field", ["amount", "signed"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.from_regex(r"\A[-+]?\d{0,14}(\.\d{0,8})?\Z") | st.sampled_from(DECIMAL_SAMPLES))
def test_a_decimal_pattern_matches_exactly_the_strings_the_server_takes(field, text):
    from oms.core.schema import decimal_pattern

    serializer_class = _money_input_serializer()
    body = {"amount": "1.00", field: text}
    accepted = serializer_class(data=body).is_valid()
    pattern = decimal_pattern(serializer_class().fields[field], "request")
    # The schema's patterns are ECMA-262 regular expressions: \d is an ASCII digit there.
    assert bool(re.fullmatch(pattern.strip("^$"), text, re.ASCII)) is accepted, (field, text, pattern)


def test_a_money_response_pattern_matches_what_the_server_writes():
    from rest_framework import serializers

    from oms.core.schema import decimal_pattern

    field = serializers.DecimalField(max_digits=12, decimal_places=2)
    pattern = decimal_pattern(field, "response").strip("^$")
    for value in ("0", "5", "19.9", "1234567890.12"):
        assert re.fullmatch(pattern, field.to_representation(Decimal(value))), value
