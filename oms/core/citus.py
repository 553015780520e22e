"""The schema a database distributed by tenant (Citus) can hold, and the plan to distribute it.

The rule, for every tenant-owned table (a table with a tenant_id column) that is not listed
below as a reference or a local table:
- its primary key, every unique constraint and every unique index include tenant_id;
- every foreign key includes tenant_id, or points at a reference table.
A reference table (copied whole to every node) points only at reference tables, and no table
outside the distributed ones points into them.

The reference tables are those tenant-owned tables point at without a tenant (the tenants,
the users: `shared_reference_models()`, from the app registry) and the short list in
`REFERENCE_TABLES`; the tables that stay on the coordinator are `LOCAL_TABLES`. Everything
else tenant-owned is distributed by tenant_id, all co-located, so a join between them
stays on one node (`citus_plan()`, `manage.py citus_plan`).

`model_violations()` reads the rule off the models, `database_violations()` off the live
PostgreSQL catalog (pg_constraint, pg_index); `manage.py check --database default` reports
the latter (oms.E103), and tests/oms/test_citus_ready.py runs both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps as global_apps
from django.core import checks
from django.db import connections
from django.db.models import F, UniqueConstraint

from oms.core.models import is_tenant_table
from oms.core.tenant_fk import database_is_migrated

TENANT_COLUMN = "tenant_id"

# Tenant-owned tables copied to every node instead of distributed, and why.
REFERENCE_TABLES = {
    "oms.ApiKey": "looked up by its prefix on every API request, before the tenant is known; "
    "a few rows a tenant, written when made or revoked and at most once a minute when used",
    "oms.Membership": "looked up by user on every staff request and sign-in, before the tenant "
    "is known (a user may belong to several); a few rows a tenant, written when staff change",
}

# Tables with a tenant_id column that stay on the coordinator, and why.
LOCAL_TABLES = {
    "oms.OutboxMessage": "tenant_id is empty for system-wide messages, and the relay claims "
    "the oldest rows of every tenant at once (docs/outbox.md)",
}


def _model(label: str, app_registry: Any) -> Any:
    return app_registry.get_model(label)


def _fk_targets(model: Any) -> list[Any]:
    return [f.related_model for f in model._meta.local_concrete_fields if f.is_relation]


def shared_reference_models(app_registry: Any = global_apps) -> list[Any]:
    """The tables without a tenant that tenant-owned tables point at, and what those point at."""
    listed = [_model(label, app_registry) for label in REFERENCE_TABLES]
    seen: dict[str, Any] = {}
    todo = [t for m in app_registry.get_models() if is_tenant_table(m) for t in _fk_targets(m)]
    todo += [t for m in listed for t in _fk_targets(m)]
    while todo:
        target = todo.pop()
        if is_tenant_table(target) or target._meta.label in seen:
            continue
        seen[target._meta.label] = target
        todo.extend(_fk_targets(target))
    return sorted(seen.values(), key=lambda m: m._meta.db_table)


def reference_models(app_registry: Any = global_apps) -> list[Any]:
    listed = [_model(label, app_registry) for label in REFERENCE_TABLES]
    return [*shared_reference_models(app_registry), *listed]


def distributed_models(app_registry: Any = global_apps) -> list[Any]:
    """Tenant-owned models distributed by tenant_id, each after the tables it points at."""
    skip = set(REFERENCE_TABLES) | set(LOCAL_TABLES)
    models = [m for m in app_registry.get_models() if is_tenant_table(m) and m._meta.label not in skip]
    ordered: list[Any] = []
    placed: set[Any] = set()

    def place(model: Any, path: tuple[Any, ...] = ()) -> None:
        if model in placed or model in path:
            return
        for target in _fk_targets(model):
            if target in models and target is not model:
                place(target, (*path, model))
        placed.add(model)
        ordered.append(model)

    for model in sorted(models, key=lambda m: m._meta.db_table):
        place(model)
    return ordered


# --- the rule, read off the models --------------------------------------------------------------
def _field_refs(expressions: Iterable[Any]) -> list[F]:
    found = []
    for expression in expressions:
        if isinstance(expression, F):
            found.append(expression)
        elif hasattr(expression, "get_source_expressions"):
            found.extend(_field_refs(expression.get_source_expressions()))
    return found


def _unique_sets(model: Any) -> Iterable[tuple[str, list[str]]]:
    opts = model._meta
    for field in opts.local_concrete_fields:
        if field.unique and not field.primary_key:
            yield f"unique field {field.name}", [field.column]
    for fields in opts.unique_together:
        yield f"unique_together {fields}", [opts.get_field(f).column for f in fields]
    for constraint in opts.constraints:
        if isinstance(constraint, UniqueConstraint):
            if constraint.fields:
                columns = [opts.get_field(f).column for f in constraint.fields]
            else:  # expressions: the columns they name
                columns = [opts.get_field(f.name).column for f in _field_refs(constraint.expressions)]
            yield f"unique constraint {constraint.name}", columns


def model_violations(models: Iterable[Any] | None = None) -> list[str]:
    """What in the models breaks the rule (an empty list when nothing does)."""
    models = list(global_apps.get_models() if models is None else models)
    exempt = set(REFERENCE_TABLES) | set(LOCAL_TABLES)
    references = {m._meta.label for m in shared_reference_models()} | set(REFERENCE_TABLES)
    found = []
    for model in models:
        label = model._meta.label
        if not is_tenant_table(model) or label in exempt:
            continue
        for what, columns in _unique_sets(model):
            if TENANT_COLUMN not in columns:
                found.append(f"{label}: {what} ({', '.join(columns)}) lacks tenant_id")
        for field in model._meta.local_concrete_fields:
            if not field.is_relation or field.name == "tenant":
                continue
            target = field.related_model
            if is_tenant_table(target) and target._meta.label not in exempt:
                if field.db_constraint:
                    found.append(f"{label}.{field.name}: a foreign key on {field.column} alone")
            elif target._meta.label not in references:
                found.append(f"{label}.{field.name}: points at {target._meta.label}, not a reference table")
    return found


# --- the rule, read off the live database ------------------------------------------------------
TENANT_TABLES_SQL = """
SELECT c.oid::regclass::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relkind IN ('r', 'p') AND a.attname = %s AND NOT a.attisdropped
  AND c.relnamespace = 'public'::regnamespace
"""

KEYS_SQL = """
SELECT con.conrelid::regclass::text, con.conname, con.contype,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) AS k(attnum)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum),
       CASE WHEN con.contype = 'f' THEN con.confrelid::regclass::text END
FROM pg_constraint con WHERE con.contype IN ('p', 'u', 'f')
UNION ALL
SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, 'i',
       ARRAY(SELECT a.attname FROM unnest(i.indkey) AS k(attnum)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum),
       NULL
FROM pg_index i WHERE i.indisunique
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'))
"""

_KINDS = {"p": "primary key", "u": "unique constraint", "i": "unique index", "f": "foreign key"}


def database_violations(connection: Any, app_registry: Any = global_apps) -> list[str]:
    """What in a PostgreSQL database breaks the rule.

    Every table with a tenant_id column counts as tenant-owned, whether a model knows it or not.
    """
    reference = {m._meta.db_table for m in reference_models(app_registry)}
    local = {_model(label, app_registry)._meta.db_table for label in LOCAL_TABLES}
    with connection.cursor() as cursor:
        cursor.execute(TENANT_TABLES_SQL, [TENANT_COLUMN])
        owned = {row[0] for row in cursor.fetchall()}
        cursor.execute(KEYS_SQL)
        keys = cursor.fetchall()
    distributed = owned - reference - local
    found = []
    for table, name, kind, columns, target in keys:
        what = f"{table}: {_KINDS[kind]} {name} ({', '.join(columns)})"
        if table in distributed:
            if TENANT_COLUMN not in columns and not (kind == "f" and target in reference):
                found.append(f"{what} lacks tenant_id")
        elif kind == "f" and target in distributed:
            found.append(f"{what} points from a table not distributed by tenant into {target}")
        elif table in reference and kind == "f" and target not in reference:
            found.append(f"{what}: a reference table points at {target}, which is not one")
    return sorted(found)


@checks.register(checks.Tags.database)
def check_citus_ready(databases: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql" or not database_is_migrated(connection):
            continue
        for problem in database_violations(connection):
            errors.append(
                checks.Error(
                    f"{problem} (database {alias!r}); a table distributed by tenant cannot hold it.",
                    hint="See docs/scaling.md and oms/core/citus.py.",
                    id="oms.E103",
                )
            )
    return errors


# --- the plan -----------------------------------------------------------------------------------
def citus_plan(app_registry: Any = global_apps) -> list[str]:
    """The SQL that distributes this schema, run on the coordinator once Citus is installed."""
    lines = ["-- reference tables: copied whole to every node"]
    for model in reference_models(app_registry):
        lines.append(f"SELECT create_reference_table('{model._meta.db_table}');")
    lines.append("-- distributed by tenant_id, all co-located: a tenant's rows of every table on one node")
    first = None
    for model in distributed_models(app_registry):
        table = model._meta.db_table
        colocate = "'none'" if first is None else f"'{first}'"
        lines.append(
            f"SELECT create_distributed_table('{table}', '{TENANT_COLUMN}', colocate_with => {colocate});"
        )
        first = first or table
    lines.append(
        "-- left on the coordinator: "
        + ", ".join(_model(label, app_registry)._meta.db_table for label in LOCAL_TABLES)
    )
    return lines
