"""Fuzz the storefront API from its own OpenAPI schema with schemathesis.

Every operation of `/api/v1/schema/` is called over HTTP on a live server (pytest-django's
`live_server`: a real WSGI server, real Content-Length and headers), authenticated with a
tenant API key, on a tenant seeded so that paths resolve (SKU and warehouse codes,
order and reservation ids are drawn from the seeded ones half of the time). Both valid and
invalid data are generated, with every check on. The run must end with no failure at all:
no server error, no response that breaks the schema, no undocumented status code or
content type, no invalid input accepted and no valid input refused for its form.

`positive_data_acceptance` accepts 400 and 422 for schema-valid data, because a schema
cannot say which SKU codes exist, which postal codes a country uses or how much stock
there is; `valid_input_refused_only_by_rules` then holds those 400s to the error codes of
such rules, so a refusal of the form (type, length, unknown field) still fails the run.

FUZZ_EXAMPLES (per operation and phase, default 50) and FUZZ_SEED tune a run; the figures
(operations, cases, failures by kind) are printed and written to var/fuzz-report.txt.
"""

from __future__ import annotations

import collections
import os
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import connections
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.engine import events
from schemathesis.engine.statistic import Statistic
from schemathesis.transport.wsgi import WSGITransport

from fulfillment.models import Shipment
from inventory.allocation import ShipTo
from inventory.services import reservation_create
from orders.services import LineInput, OrderInput, order_cancel, order_create
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
SEED = int(os.environ.get("FUZZ_SEED", "20261126"))

# Error codes of rules a schema cannot state: a schema-valid body may still be refused for these.
RULE_CODES = frozenset(
    {
        "unknown_sku",
        "unknown_reservation",
        "unknown_warehouse",
        "inactive_sku",
        "duplicate_sku",
        "invalid_country",
        "invalid_postal_code",
        "required",  # a postal code, required only in some countries
        "min_value",  # bounds of decimal strings (latitude, longitude)
        "max_value",
        "delta_or_on_hand",
        "zero_delta",
        "invalid_currency",
        "too_many_decimals",  # finer than the currency's minor unit (JPY has none)
        "invalid_cursor",  # a cursor is one this API handed out
        "null_characters_not_allowed",  # refused in every string; the schema does not repeat it
        "blank",  # only whitespace (minLength counts characters, the API trims them first)
    }
)


class RefusedForItsForm(Failure):
    """A schema-valid request refused with a 400 whose reasons are about form, not rules."""

    kind_title = "Schema-valid input refused for its form"
    __slots__ = ("codes",)

    def __init__(self, *, operation: str, codes: list[str]) -> None:
        super().__init__(
            operation=operation,
            message=f"400 with field codes {codes}: the schema should have excluded this input",
        )
        self.codes = codes

    @property
    def _unique_key(self) -> str:
        return ",".join(self.codes)


@schemathesis.check
def valid_input_refused_only_by_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if body.get("code") != "validation_error":
        return None
    codes = sorted({error["code"] for errors in body.get("fields", {}).values() for error in errors})
    if not set(codes) <= RULE_CODES:
        raise RefusedForItsForm(operation=case.operation.label, codes=codes)
    return None


def _seed(tenant: Any) -> dict[str, list[Any]]:
    """Two warehouses, three SKUs with stock, orders in several states and their shipments, a reservation."""
    w1 = WarehouseFactory(tenant=tenant, code="W1", postal_code="07001")
    w2 = WarehouseFactory(tenant=tenant, code="W2", postal_code="75201")
    skus = [SKUFactory(tenant=tenant, code=code) for code in ("SKU-1", "SKU-2", "SKU-3")]
    for sku in skus[:2]:
        stock(tenant, sku, w1, 500)
        stock(tenant, sku, w2, 500)
    ship_to = {"line1": "1 Main St", "city": "Austin", "postal_code": "78701", "country": "US"}
    orders = []
    for index, quantity in enumerate((1, 2, 5)):  # SKU-3 has no stock: that order is backordered
        data = OrderInput(
            channel="web",
            external_id=f"SEED-{index}",
            currency="USD",
            customer={"email": "ana@example.com", "name": "Ana"},
            ship_to=dict(ship_to),
            lines=[LineInput(sku=skus[index].code, quantity=quantity, unit_price=Decimal("9.99"))],
        )
        orders.append(order_create(tenant=tenant, data=data)[0])
    order_cancel(tenant=tenant, order_id=orders[0].pk, reason="seed")
    reservation = reservation_create(
        tenant=tenant,
        lines=[(skus[0].pk, 1)],
        ship_to=ShipTo(country="US", postal_code="78701", city="Austin"),
    )
    # Orders are released to the warehouse on commit (auto-release): one shipment each that can ship.
    shipments = Shipment.objects.for_tenant(tenant).order_by("pk")
    assert shipments.exists()
    return {
        "warehouse_codes": [w1.code, w2.code],
        "sku_codes": [sku.code for sku in skus],
        "order_ids": [order.pk for order in orders],
        "reservation_ids": [reservation.pk],
        "shipment_ids": list(shipments.values_list("pk", flat=True)),
    }


def _config(raw_key: str, seeded: dict[str, list[Any]]) -> SchemathesisConfig:
    def seeded_half(name: str) -> dict[str, Any]:
        return {"dictionary": name, "probability": 0.5}

    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {raw_key}"},
            "generation": {"mode": "all", "max-examples": EXAMPLES},
            "dictionaries": {name: {"values": values} for name, values in seeded.items()},
            "parameters": {
                "path.order_id": seeded_half("order_ids"),
                "path.reservation_id": seeded_half("reservation_ids"),
                "path.shipment_id": seeded_half("shipment_ids"),
                "query.order": seeded_half("order_ids"),
                "body.lines[*].sku": seeded_half("sku_codes"),
                "body.sku": seeded_half("sku_codes"),
                "body.warehouse": seeded_half("warehouse_codes"),
                "query.sku": seeded_half("sku_codes"),
                "query.warehouse": seeded_half("warehouse_codes"),
            },
            "operations": [
                {
                    "include-path-regex": "^/api/v1/skus/",
                    "parameters": {"path.code": seeded_half("sku_codes")},
                },
                {
                    "include-path-regex": "^/api/v1/warehouses/",
                    "parameters": {"path.code": seeded_half("warehouse_codes")},
                },
            ],
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "404", "409", "422"]},
            },
        }
    )


def _report(
    stat: Statistic, by_phase: collections.Counter[str], elapsed: float
) -> tuple[str, collections.Counter[str]]:
    kinds: collections.Counter[str] = collections.Counter()
    details = []
    for label, groups in sorted(stat.failures.items()):
        for group in groups.values():
            for failure in group.failures:
                kinds[failure.title] += 1
                status = group.response.status_code if group.response is not None else "-"
                details.append(f"  {label} [{status}] {failure.title}: {failure.message[:400]}")
                if group.code_sample:
                    details.append("    " + group.code_sample.replace("\n", "\n    ")[:1200])
    lines = [
        f"schemathesis over /api/v1/schema/ ({connections['default'].vendor}, seed {SEED}, "
        f"{EXAMPLES} examples per operation and phase)",
        f"operations tested: {len(stat.tested_operations)}, errored: {len(stat.errored_operations)}",
        f"cases: {stat.total_cases} ({stat.errored_cases} errored), in {elapsed:.0f} s; by phase: "
        + ", ".join(f"{phase} {n}" for phase, n in by_phase.most_common()),
        f"failures: {sum(kinds.values())}" + "".join(f"\n  {n} x {kind}" for kind, n in kinds.most_common()),
        *details,
    ]
    return "\n".join(lines), kinds


@pytest.fixture
def wsgi_transport(monkeypatch: Any) -> None:
    """schemathesis 4.32.5 hands socket options (max_redirects, verify...) to werkzeug when a check
    re-sends a case without a session (TypeError). They mean nothing in-process: drop them."""
    send = WSGITransport.send

    def send_without_socket_options(self: Any, case: Any, *, session: Any = None, **kwargs: Any) -> Any:
        for name in ("max_redirects", "verify", "cert", "proxies"):
            kwargs.pop(name, None)
        return send(self, case, session=session, **kwargs)

    monkeypatch.setattr(WSGITransport, "send", send_without_socket_options)


@pytest.fixture
def persistent_connections() -> Any:
    """Each request would otherwise open its own database connection: a third of the run's time."""
    settings_dict = connections.settings["default"]
    before = settings_dict["CONN_MAX_AGE"]
    settings_dict["CONN_MAX_AGE"] = 600
    yield
    settings_dict["CONN_MAX_AGE"] = before


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_nothing(
    wsgi_transport: None, persistent_connections: None, tenant_a: Any, key_a: tuple[Any, str], capsys: Any
) -> None:
    seeded = _seed(tenant_a)
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/schema/", get_wsgi_application(), config=_config(key_a[1], seeded)
    )
    threads_connections: set[Any] = set()

    @schema.hook
    def after_call(context: Any, case: Any, response: Any) -> None:
        connection = connections["default"]  # the engine thread's own
        if connection not in threads_connections:
            connection.inc_thread_sharing()  # so that this test can close it when the run is over
            threads_connections.add(connection)

    stat = Statistic()
    by_phase: collections.Counter[str] = collections.Counter()
    problems: list[str] = []
    started = time.monotonic()
    try:
        for event in schemathesis.engine.from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                stat.on_scenario_finished(event.recorder)
                by_phase[event.phase.value] += len(event.recorder.cases)
            elif isinstance(event, events.NonFatalError | events.FatalError):
                problems.append(str(getattr(event, "info", event)))
    finally:
        for connection in threads_connections:
            connection.close()
    report, kinds = _report(stat, by_phase, time.monotonic() - started)
    Path(settings.VAR_DIR, "fuzz-report.txt").write_text(report + "\n")
    with capsys.disabled():
        print("\n" + report)  # noqa: T201  (the figures belong in the CI log)

    assert problems == []
    assert len(stat.tested_operations) >= 24
    assert stat.total_cases >= 24 * EXAMPLES
    assert not kinds, report
