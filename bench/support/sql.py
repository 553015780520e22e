"""Counting what one Django connection sends PostgreSQL: statements by kind, and commits.

Statements: every statement Django executes on the connection goes through
`connection.execute_wrapper`, so the counter sees each one once (an `executemany` is one).
The BEGIN and COMMIT that psycopg sends by itself when Django opens and closes a transaction do
not pass through it (the BEGIN Django sends itself on SQLite does, and is left out too), and
neither does the `SELECT 1` of a connection health check (CONN_HEALTH_CHECKS: once per request,
before its first statement); those are counted apart, as commits and health checks.

Commits: a statement run outside any atomic block, in autocommit mode, is a transaction of its
own: one commit. Statements inside atomic blocks commit together when the outermost block
exits: Django then calls `connection.commit()`, which the counter wraps; it counts a commit only
when a statement ran since the last one (an atomic block that sent nothing commits nothing on the
server). Of those, "writing commits" are the transactions that wrote or locked a row (an INSERT,
UPDATE or DELETE, or a SELECT ... FOR UPDATE/SHARE): the ones PostgreSQL must flush to its WAL
before it answers; a read-only transaction commits without a flush. A rollback of the outermost
block is counted as a rollback, not a commit; savepoints (nested blocks) are statements
(SAVEPOINT, RELEASE, ROLLBACK TO), not commits.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

KINDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "SAVEPOINT", "RELEASE", "other")
_WRITES = {"INSERT", "UPDATE", "DELETE"}
_ROW_LOCK = re.compile(r"\bFOR\s+(NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b", re.IGNORECASE)


def statement_kind(sql: str) -> str:
    """SELECT / INSERT / UPDATE / DELETE / SAVEPOINT / RELEASE, else "other"."""
    words = sql.lstrip(" \n\t(").split(None, 1)
    first = words[0].upper() if words else ""
    return first if first in KINDS else "other"


def writes(sql: str) -> bool:
    """Whether the statement writes or locks rows (its transaction's commit is flushed to the WAL)."""
    kind = statement_kind(sql)
    return kind in _WRITES or (kind == "SELECT" and _ROW_LOCK.search(sql) is not None)


class SqlCounter:
    """Counts on one connection while in the `with` block. `keep_sql` keeps each statement's text."""

    def __init__(self, connection: Any, *, keep_sql: bool = False) -> None:
        self.connection = connection
        self.keep_sql = keep_sql
        self.kinds: Counter[str] = Counter()
        self.sql: list[str] = []
        self.commits = 0
        self.writing_commits = 0
        self.rollbacks = 0
        self.health_checks = 0
        self._open = False  # a statement ran in the transaction now open
        self._wrote = False  # and one of them wrote or locked rows
        self._wrapper: Any = None

    @property
    def statements(self) -> int:
        return sum(self.kinds.values())

    def __enter__(self) -> SqlCounter:
        conn = self.connection
        commit, rollback, is_usable = conn.commit, conn.rollback, conn.is_usable

        def counted_commit() -> None:
            if self._open:
                self.commits += 1
                self.writing_commits += self._wrote
                self._open = self._wrote = False
            commit()

        def counted_rollback() -> None:
            if self._open:
                self.rollbacks += 1
                self._open = self._wrote = False
            rollback()

        def counted_is_usable() -> bool:
            self.health_checks += 1
            return bool(is_usable())

        # Instance attributes shadow the methods: Atomic and the health check call them on this object.
        conn.commit, conn.rollback, conn.is_usable = counted_commit, counted_rollback, counted_is_usable
        self._wrapper = conn.execute_wrapper(self._execute)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._wrapper.__exit__(*exc)
        for name in ("commit", "rollback", "is_usable"):
            self.connection.__dict__.pop(name, None)

    def _execute(self, execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if sql.lstrip().upper().startswith("BEGIN"):  # SQLite's, sent as a statement: transaction control
            return execute(sql, params, many, context)
        self.kinds[statement_kind(sql)] += 1
        if self.keep_sql:
            self.sql.append(sql)
        wrote = writes(sql)
        if self.connection.in_atomic_block or not self.connection.get_autocommit():
            self._open = True
            self._wrote = self._wrote or wrote
        else:  # autocommit: the statement is its own transaction
            self.commits += 1
            self.writing_commits += wrote
        return execute(sql, params, many, context)
