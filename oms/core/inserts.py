"""Multi-row INSERT statements written once per shape, for the hot paths that insert many rows.

Django compiles an INSERT every time one is run (the query, its compiler, a placeholder and a
prepared value per field and row): on the order placement that was a tenth of the request's
Python. `insert_sql` gives the same statement, VALUES (%s, ...) row after row, from a text made
once per (model, rows, returned columns), and the values as Django's compiler prepares them
(`pre_save(obj, add=True)`, so auto_now and defaults are filled, then `get_db_prep_save`).
Every concrete field but the auto primary key is written; a model that needs more than that
(a field with a database default, a generated column, a placeholder of its own) is refused.
`tests/oms/test_inserts.py` holds the rows to Django's own bulk_create, model by model.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import NOT_PROVIDED
from django.db.models.fields import AutoFieldMixin


@cache
def _fields(model: Any) -> tuple[Any, ...]:
    fields = tuple(
        f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, AutoFieldMixin))
    )
    for field in fields:
        if getattr(field, "generated", False) or field.db_default is not NOT_PROVIDED:
            raise TypeError(f"{model.__name__}.{field.name}: insert_sql writes every field from Python")
        if hasattr(field, "get_placeholder"):
            raise TypeError(f"{model.__name__}.{field.name} has a placeholder of its own")
    return fields


@cache
def _statement(model: Any, rows: int, returning: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    fields = _fields(model)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([row] * rows)}"
    )
    if returning:
        sql += " RETURNING " + ", ".join(quote(model._meta.get_field(name).column) for name in returning)
    return sql


def insert_sql(
    model: Any, objs: Sequence[Any], *, returning: tuple[str, ...] = ("id",)
) -> tuple[str, list[Any]]:
    """One INSERT of `objs` (unsaved instances of `model`), RETURNING `returning` in the order of
    the rows (on PostgreSQL a multi-row INSERT returns its rows in the order given)."""
    if not objs:
        raise ValueError("insert_sql needs at least one row")
    fields = _fields(model)
    wrapper = connections[DEFAULT_DB_ALIAS]  # the connection itself: each field asks it for its ops
    params = [f.get_db_prep_save(f.pre_save(obj, True), wrapper) for obj in objs for f in fields]
    return _statement(model, len(objs), returning), params


def loaded(obj: Any) -> Any:
    """An instance just inserted by hand: what Model.save() leaves on it (saved, in this database)."""
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS  # `connection`'s alias
    return obj
