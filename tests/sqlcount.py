"""Count what one piece of work costs the database: statements by kind, and commits.

Statements are counted with `connection.execute_wrapper`. Django runs BEGIN implicitly (the
driver opens a transaction on the first statement after autocommit is turned off) and COMMIT
through `connection.commit()`, neither of which passes through the wrapper, so commits are
counted apart: each statement run in autocommit mode is its own transaction, and so is each
outermost `atomic` block that commits. A transaction that wrote counts as a commit (PostgreSQL
flushes its WAL); one that only read counts as a read-only transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

WRITES = ("INSERT", "UPDATE", "DELETE", "WITH")


class SqlCount:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.commits = 0
        self.read_only = 0
        self.writing = False

    @property
    def kinds(self) -> Counter[str]:
        return Counter(sql.split(None, 1)[0].upper() for sql in self.statements)

    def __str__(self) -> str:
        head = f"{len(self.statements)} statements {dict(self.kinds)}, {self.commits} commit(s), "
        head += f"{self.read_only} read-only transaction(s)"
        return head + "\n" + "\n".join(sql[:160] for sql in self.statements)

    def ended(self, *, wrote: bool) -> None:
        if wrote:
            self.commits += 1
        else:
            self.read_only += 1


@contextmanager
def sql_counted() -> Iterator[SqlCount]:
    count = SqlCount()
    real_commit = connection.commit

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        count.statements.append(sql)
        writes = sql.lstrip().upper().startswith(WRITES)
        if connection.get_autocommit():
            count.ended(wrote=writes)
        else:
            count.writing = count.writing or writes
        return execute(sql, params, many, context)

    def commit() -> None:
        count.ended(wrote=count.writing)
        count.writing = False
        real_commit()

    connection.commit = commit  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(wrapper):
            yield count
    finally:
        del connection.commit
