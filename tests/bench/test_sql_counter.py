"""bench/support/sql.py counts statements by kind and the commits a database really sees."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from bench.support.sql import SqlCounter, statement_kind, writes
from oms.models import Tenant


def _read() -> None:
    Tenant.objects.filter(pk=-1).exists()


def _write() -> None:
    Tenant.objects.filter(pk=-1).update(name="x")


def test_statement_kinds():
    assert statement_kind('SELECT "a" FROM "t"') == "SELECT"
    assert statement_kind("  insert into t values (1)") == "INSERT"
    assert statement_kind('RELEASE SAVEPOINT "s1"') == "RELEASE"
    assert statement_kind('ROLLBACK TO SAVEPOINT "s1"') == "other"
    assert writes("UPDATE t SET a = 1") and writes('SELECT * FROM "t" FOR NO KEY UPDATE')
    assert not writes('SELECT "update_count" FROM "t"')


@pytest.mark.django_db(transaction=True)
def test_each_statement_outside_atomic_is_its_own_commit():
    with SqlCounter(connection) as counted:
        _read()
        _read()
        _write()
    assert (counted.statements, counted.commits, counted.writing_commits) == (3, 3, 1)
    assert counted.kinds["SELECT"] == 2 and counted.kinds["UPDATE"] == 1


@pytest.mark.django_db(transaction=True)
def test_an_outermost_atomic_block_commits_once_with_its_savepoints_as_statements():
    with SqlCounter(connection) as counted:
        with transaction.atomic():
            _read()
            with transaction.atomic():
                _write()
            _read()
        with transaction.atomic():
            pass  # sends nothing: commits nothing
    assert (counted.commits, counted.writing_commits, counted.rollbacks) == (1, 1, 0)
    assert counted.kinds["SAVEPOINT"] == 1 and counted.kinds["RELEASE"] == 1
    assert counted.statements == 5


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_block_is_no_commit_and_the_connection_is_left_as_it_was():
    with SqlCounter(connection, keep_sql=True) as counted:
        with pytest.raises(RuntimeError), transaction.atomic():
            _write()
            raise RuntimeError
    assert (counted.commits, counted.rollbacks) == (0, 1)
    assert counted.sql and counted.sql[0].startswith("UPDATE")
    assert not {"commit", "rollback", "is_usable"} & set(connection.__dict__)
    _read()  # counted no more
    assert counted.statements == 1
