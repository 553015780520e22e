"""The tenant wall in the database: composite foreign keys on (tenant_id, <fk>_id).

On PostgreSQL every tenant-owned table carries `UNIQUE (tenant_id, id)` (`TenantKey`), and
every foreign key from one tenant-owned table to another is doubled by
`FOREIGN KEY (tenant_id, <fk>_id) REFERENCES <target> (tenant_id, id)` (`TenantForeignKey`),
so a row can only point at rows of its own tenant, whoever writes it (the ORM, `update()`, raw
SQL, a data migration). The key is `DEFERRABLE INITIALLY DEFERRED` like Django's own; MATCH
SIMPLE (the default) lets a NULL foreign key pass; it has no ON DELETE action, so CASCADE,
PROTECT and SET_NULL stay Django's. SQLite skips the database part; saves still check
(`oms.core.models.tenant_references_check`).

Nobody writes these by hand. `declare_tenant_constraints()`, run from `OmsConfig.ready()`,
adds them to each tenant-owned model's `Meta.constraints` from the app registry, so
`makemigrations` writes them into the migration of whichever room adds a tenant-owned model or
foreign key (as `AddTenantConstraint`, which spares SQLite a table rebuild per constraint), and
`makemigrations --check` (make test, CI) fails while one is missing.
`manage.py check --database default` (and tests/oms/test_tenant_wall_db.py) compares the live
database with the registry.

It is also the shape a database distributed by tenant (Citus, docs/scaling.md) needs: on
PostgreSQL a tenant-owned table's primary key is `(tenant_id, id)` (`TenantPrimaryKey`; Django
still knows `id` as the pk, and the identity column keeps it unique), and the foreign keys
between tenant-owned tables carry no single-column constraint (`db_constraint=False`, set here
too), only the composite one. oms/core/citus.py holds the rule and checks the live database.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.core import checks
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.ddl_references import Columns, Statement, Table
from django.db.backends.utils import names_digest
from django.db.migrations import AddConstraint, AlterField
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.executor import MigrationExecutor
from django.db.models import BaseConstraint

from oms.core.models import CrossTenantReference, is_tenant_table, tenant_references_check, tenant_relations

MAX_NAME = 63  # PostgreSQL's identifier limit


def _name(table: str, suffix: str) -> str:
    name = f"{table}_{suffix}"
    if len(name) <= MAX_NAME:
        return name
    digest = names_digest(table, suffix, length=8)
    return f"{table[: MAX_NAME - len(digest) - len(suffix) - 2]}_{digest}_{suffix}"


def _enabled(schema_editor: Any) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class _TenantConstraint(BaseConstraint):
    def validate(self, model: Any, instance: Any, exclude: Any = None, using: str = DEFAULT_DB_ALIAS) -> None:
        return None

    def remove_sql(self, model: Any, schema_editor: Any) -> Any:
        if not _enabled(schema_editor):
            return None
        quote = schema_editor.quote_name
        return Statement(
            "ALTER TABLE %(table)s DROP CONSTRAINT IF EXISTS %(name)s",
            table=Table(model._meta.db_table, quote),
            name=quote(self.name),
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, self.__class__):
            return self.deconstruct() == other.deconstruct()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(repr(self.deconstruct()))


class TenantKey(_TenantConstraint):
    """UNIQUE (tenant_id, id): what a composite foreign key to this table points at."""

    def _sql(self, model: Any, schema_editor: Any) -> tuple[Any, Any]:
        quote = schema_editor.quote_name
        table = model._meta.db_table
        columns = [model._meta.get_field("tenant").column, model._meta.pk.column]
        return Table(table, quote), Columns(table, columns, quote)

    def constraint_sql(self, model: Any, schema_editor: Any) -> str | None:
        if not _enabled(schema_editor):
            return None
        _table, columns = self._sql(model, schema_editor)
        return f"CONSTRAINT {schema_editor.quote_name(self.name)} UNIQUE ({columns})"

    def create_sql(self, model: Any, schema_editor: Any) -> Any:
        if not _enabled(schema_editor):
            return None
        table, columns = self._sql(model, schema_editor)
        return Statement(
            "ALTER TABLE %(table)s ADD CONSTRAINT %(name)s UNIQUE (%(columns)s)",
            table=table,
            name=schema_editor.quote_name(self.name),
            columns=columns,
        )

    def __repr__(self) -> str:
        return f"<TenantKey name={self.name!r}>"


class TenantPrimaryKey(_TenantConstraint):
    """PRIMARY KEY (tenant_id, id) in place of Django's PRIMARY KEY (id).

    Added to a table that exists, it first drops the single-column foreign keys that other
    tenant-owned tables (tables with a tenant_id column) still hold on this table's id: the
    primary key's index is what they lean on. Their own migrations drop them too (the field
    turns `db_constraint=False`), finding nothing left to drop when this one ran first. A
    single-column key from any other table stops the migration: such a table could not sit
    beside a table distributed by tenant.

    It also gives `id` an index of its own (`<table>_id_idx`): Django joins a foreign key on the
    id alone (`order__state`, select_related), and without that index, with the key led by
    tenant_id, each such join reads the whole table.
    """

    _SWAP = """DO $swap$
DECLARE target regclass := '%(table)s'; key record;
BEGIN
  FOR key IN
    SELECT con.conrelid::regclass AS owner, con.conname FROM pg_constraint con
    WHERE con.contype = 'f' AND con.confrelid = target AND cardinality(con.conkey) = 1
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = con.conrelid
                  AND a.attname = '%(tenant)s' AND NOT a.attisdropped)
  LOOP
    EXECUTE format('ALTER TABLE %%s DROP CONSTRAINT %%I', key.owner, key.conname);
  END LOOP;
  FOR key IN SELECT conname FROM pg_constraint WHERE conrelid = target AND contype = 'p' LOOP
    EXECUTE format('ALTER TABLE %%s DROP CONSTRAINT %%I', target, key.conname);
  END LOOP;
END $swap$;
ALTER TABLE %(table)s ADD CONSTRAINT %(name)s PRIMARY KEY (%(columns)s);
CREATE INDEX IF NOT EXISTS %(id_index)s ON %(table)s (%(pk)s)"""

    def _columns(self, model: Any) -> list[str]:
        return [model._meta.get_field("tenant").column, model._meta.pk.column]

    def create_sql(self, model: Any, schema_editor: Any) -> None:
        # Deferred like the composite foreign keys: in CREATE TABLE, Django's own PRIMARY KEY
        # (id) comes first and is swapped when the migration's schema editor closes.
        if not _enabled(schema_editor):
            return
        quote = schema_editor.quote_name
        table = model._meta.db_table
        schema_editor.deferred_sql.append(
            Statement(
                self._SWAP,
                table=Table(table, quote),
                tenant=model._meta.get_field("tenant").column,
                name=quote(self.name),
                columns=Columns(table, self._columns(model), quote),
                id_index=quote(id_index_name(table)),
                pk=quote(model._meta.pk.column),
            )
        )

    def constraint_sql(self, model: Any, schema_editor: Any) -> None:
        self.create_sql(model, schema_editor)

    def remove_sql(self, model: Any, schema_editor: Any) -> Any:
        if not _enabled(schema_editor):
            return None
        quote = schema_editor.quote_name
        return Statement(
            "ALTER TABLE %(table)s DROP CONSTRAINT IF EXISTS %(name)s, ADD PRIMARY KEY (%(pk)s);"
            " DROP INDEX IF EXISTS %(id_index)s",
            table=Table(model._meta.db_table, quote),
            name=quote(self.name),
            pk=quote(model._meta.pk.column),
            id_index=quote(id_index_name(model._meta.db_table)),
        )

    def __repr__(self) -> str:
        return f"<TenantPrimaryKey name={self.name!r}>"


def id_index_name(table: str) -> str:
    """The index on `id` alone beside a primary key (tenant_id, id)."""
    return _name(table, "id_idx")


_TENANT_KEYED_TABLES = """
SELECT t.relname FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
WHERE i.indisprimary AND i.indnatts = 2
  AND ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord)
      = ARRAY['tenant_id', 'id']::name[]
ORDER BY 1"""


def tenant_keyed_tables(connection: Any) -> list[str]:
    """The tables of this database whose primary key is (tenant_id, id) (TenantPrimaryKey)."""
    with connection.cursor() as cursor:
        cursor.execute(_TENANT_KEYED_TABLES)
        return [table for (table,) in cursor.fetchall()]


def id_indexes_create(apps: Any, schema_editor: Any) -> None:
    """RunPython: the id index of every table keyed (tenant_id, id) before TenantPrimaryKey made one."""
    if not _enabled(schema_editor):
        return
    quote = schema_editor.quote_name
    for table in tenant_keyed_tables(schema_editor.connection):
        index = quote(id_index_name(table))
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {quote(table)} (id)")


class TenantForeignKey(_TenantConstraint):
    """FOREIGN KEY (tenant_id, <field>_id) REFERENCES <to> (tenant_id, <target>): same tenant only."""

    def __init__(self, *, field: str, to: str, name: str, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.field = field
        self.to = to

    def _statement(self, model: Any, schema_editor: Any) -> Statement:
        quote = schema_editor.quote_name
        fk = model._meta.get_field(self.field)
        target = fk.related_model
        table, to_table = model._meta.db_table, target._meta.db_table
        tenant_column = model._meta.get_field("tenant").column
        to_tenant_column = target._meta.get_field("tenant").column
        return Statement(
            "ALTER TABLE %(table)s ADD CONSTRAINT %(name)s FOREIGN KEY (%(columns)s) "
            "REFERENCES %(to_table)s (%(to_columns)s)%(deferrable)s",
            table=Table(table, quote),
            name=quote(self.name),
            columns=Columns(table, [tenant_column, fk.column], quote),
            to_table=Table(to_table, quote),
            to_columns=Columns(to_table, [to_tenant_column, fk.target_field.column], quote),
            deferrable=schema_editor.connection.ops.deferrable_sql(),
        )

    def create_sql(self, model: Any, schema_editor: Any) -> None:
        # Run when the migration's schema editor closes, as Django does with its own foreign
        # keys: the target table and its TenantKey may come later in the same migration.
        if _enabled(schema_editor):
            schema_editor.deferred_sql.append(self._statement(model, schema_editor))

    def constraint_sql(self, model: Any, schema_editor: Any) -> None:
        self.create_sql(model, schema_editor)  # in CREATE TABLE: deferred the same way

    def validate(self, model: Any, instance: Any, exclude: Any = None, using: str = DEFAULT_DB_ALIAS) -> None:
        """full_clean() (admin and model forms): a clear field error instead of a database error."""
        if exclude and (self.field in exclude or "tenant" in exclude):
            return
        try:
            tenant_references_check([instance], fields=[self.field], using=using, lookup=True)
        except CrossTenantReference as error:
            raise ValidationError({self.field: error.message}, code="cross_tenant_reference") from None

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        path, args, kwargs = super().deconstruct()
        kwargs.update(field=self.field, to=self.to)
        return path, args, kwargs

    def __repr__(self) -> str:
        return f"<TenantForeignKey name={self.name!r} field={self.field!r} to={self.to!r}>"


# --- declared from the app registry ----------------------------------------------------------
def tenant_constraints_for(model: Any) -> list[_TenantConstraint]:
    """The wall one tenant-owned model needs: its keys, and one composite key per tenant relation."""
    if not is_tenant_table(model):
        return []
    table = model._meta.db_table
    wanted: list[_TenantConstraint] = [
        TenantKey(name=_name(table, "tenant_key")),
        TenantPrimaryKey(name=_name(table, "tenant_pk")),
    ]
    for field in tenant_relations(model):
        wanted.append(
            TenantForeignKey(
                field=field.name,
                to=field.related_model._meta.label_lower,
                name=_name(table, f"{field.column}_tenant_fk"),
            )
        )
    return wanted


def declare_tenant_constraints(app_registry: Any = global_apps) -> None:
    """Add the wall to every tenant-owned model's Meta.constraints (idempotent), and leave the
    foreign keys between tenant-owned models without their single-column constraint: the
    composite one holds them, and a single-column key needs a unique index on id alone."""
    for model in app_registry.get_models():
        wanted = tenant_constraints_for(model)
        if not wanted:
            continue
        for field in tenant_relations(model):
            field.db_constraint = False
        opts = model._meta
        names = {c.name for c in opts.constraints}
        opts.constraints = [*opts.constraints, *(c for c in wanted if c.name not in names)]
        # ModelState.from_model (makemigrations) reads the option only when Meta declared it.
        opts.original_attrs["constraints"] = opts.constraints


# --- in migrations -------------------------------------------------------------------------------
class AddTenantConstraint(AddConstraint):
    """AddConstraint that leaves SQLite alone.

    SQLite rebuilds a whole table for each constraint it is asked to add, to add nothing here;
    on every other database this is AddConstraint.
    """

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if _enabled(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if _enabled(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class TenantAlterField(AlterField):
    """AlterField that, when only `db_constraint` changes, drops the single-column key on
    PostgreSQL and does nothing else.

    Going back puts no single-column key in again: the target's primary key may be
    (tenant_id, id) by then, with no unique index on id alone for it to lean on, and the
    composite key still holds the reference. SQLite keeps its key and is spared a table
    rebuild. Any other change is AlterField's.
    """

    def _only_db_constraint(self, app_label: str, from_state: Any, to_state: Any) -> bool:
        old = from_state.apps.get_model(app_label, self.model_name)._meta.get_field(self.name)
        new = to_state.apps.get_model(app_label, self.model_name)._meta.get_field(self.name)
        old_kwargs, new_kwargs = old.deconstruct()[3], new.deconstruct()[3]
        old_kwargs.pop("db_constraint", None)
        new_kwargs.pop("db_constraint", None)
        return old_kwargs == new_kwargs and old.db_constraint != new.db_constraint

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if not self._only_db_constraint(app_label, from_state, to_state) or _enabled(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if not self._only_db_constraint(app_label, to_state, from_state):
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class TenantAutodetector(MigrationAutodetector):
    """`makemigrations` (oms/management/commands/makemigrations.py) writes AddTenantConstraint,
    and TenantAlterField for a foreign key between tenant-owned models losing its
    single-column constraint."""

    def add_operation(self, app_label: str, operation: Any, *args: Any, **kwargs: Any) -> None:
        if type(operation) is AddConstraint and isinstance(operation.constraint, _TenantConstraint):
            operation = AddTenantConstraint(model_name=operation.model_name, constraint=operation.constraint)
        elif (
            type(operation) is AlterField
            and operation.field.is_relation
            and not operation.field.db_constraint
        ):
            operation = TenantAlterField(
                model_name=operation.model_name,
                name=operation.name,
                field=operation.field,
                preserve_default=operation.preserve_default,
            )
        super().add_operation(app_label, operation, *args, **kwargs)


# --- what the live database holds --------------------------------------------------------------
FOREIGN_KEYS_SQL = """
SELECT con.conrelid::regclass::text,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.n),
       con.confrelid::regclass::text,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.n)
FROM pg_constraint con
WHERE con.contype = 'f'
"""


def installed_foreign_keys(connection: Any) -> set[tuple[str, tuple[str, ...], str, tuple[str, ...]]]:
    """Every foreign key in a PostgreSQL database: (table, columns, target table, target columns)."""
    with connection.cursor() as cursor:
        cursor.execute(FOREIGN_KEYS_SQL)
        rows = cursor.fetchall()
    return {(table, tuple(cols), target, tuple(to_cols)) for table, cols, target, to_cols in rows}


def expected_tenant_foreign_keys(app_registry: Any = global_apps) -> dict[str, tuple[Any, ...]]:
    """Each tenant relation in the registry, as "app.Model.field" -> the composite key it needs."""
    expected = {}
    for model in app_registry.get_models():
        for field in tenant_relations(model):
            target = field.related_model
            expected[f"{model._meta.label}.{field.name}"] = (
                model._meta.db_table,
                (model._meta.get_field("tenant").column, field.column),
                target._meta.db_table,
                (target._meta.get_field("tenant").column, field.target_field.column),
            )
    return expected


def missing_tenant_foreign_keys(connection: Any) -> list[str]:
    installed = installed_foreign_keys(connection)
    return sorted(label for label, key in expected_tenant_foreign_keys().items() if key not in installed)


def database_is_migrated(connection: Any) -> bool:
    """No migration left to apply: until then, what the database lacks is migrate's to add
    (and `migrate`, which runs the checks first, must not be stopped by them)."""
    executor = MigrationExecutor(connection)
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


@checks.register(checks.Tags.database)
def check_tenant_wall(databases: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql" or not database_is_migrated(connection):
            continue
        for label in missing_tenant_foreign_keys(connection):
            errors.append(
                checks.Error(
                    f"{label} has no composite foreign key on (tenant_id, …) in database {alias!r}.",
                    hint="Run makemigrations and migrate (oms/core/tenant_fk.py declares it).",
                    id="oms.E101",
                )
            )
    return errors


@checks.register(checks.Tags.models)
def check_tenant_many_to_many(**kwargs: Any) -> list[checks.CheckMessage]:
    """A many-to-many between tenant-owned models needs a tenant-owned `through` model.

    Django's automatic join table has no tenant_id, so the wall cannot hold there.
    """
    errors: list[checks.CheckMessage] = []
    for model in global_apps.get_models():
        if not is_tenant_table(model):
            continue
        for field in model._meta.local_many_to_many:
            if is_tenant_table(field.related_model) and not is_tenant_table(field.remote_field.through):
                errors.append(
                    checks.Error(
                        f"{model._meta.label}.{field.name} joins two tenant-owned models through a "
                        "table without tenant_id.",
                        hint="Give it a `through` model that inherits TenantOwned.",
                        obj=field,
                        id="oms.E102",
                    )
                )
    return errors
