"""inventory.locks.stock_take_guarded: all of a plan's units or none, whoever took some meanwhile."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from inventory.locks import stock_take_guarded
from inventory.models import StockLevel
from tests.inventory.factories import stock


@pytest.fixture
def two_rows(tenant_a, warehouses, sku_a):
    w1, w2, _ = warehouses
    return stock(tenant_a, sku_a, w1, 3), stock(tenant_a, sku_a, w2, 5)


def _allocated(tenant, *rows):
    return [StockLevel.objects.for_tenant(tenant).get(pk=row.pk).allocated for row in rows]


@pytest.mark.django_db
def test_a_row_short_of_units_takes_nothing_from_the_others(tenant_a, two_rows):
    first, second = two_rows
    with transaction.atomic():
        assert not stock_take_guarded(tenant=tenant_a, wanted={first.pk: 2, second.pk: 6}, now=timezone.now())
        # the caller may go on in its transaction: nothing was taken
        assert _allocated(tenant_a, first, second) == [0, 0]
        assert stock_take_guarded(tenant=tenant_a, wanted={first.pk: 2, second.pk: 5}, now=timezone.now())
    assert _allocated(tenant_a, first, second) == [2, 5]


@pytest.mark.django_db
def test_rows_only_locked_are_not_written(tenant_a, two_rows):
    first, second = two_rows
    before = StockLevel.objects.for_tenant(tenant_a).get(pk=second.pk).updated_at
    assert stock_take_guarded(
        tenant=tenant_a, wanted={first.pk: 1}, now=timezone.now(), also_lock=[second.pk]
    )
    assert _allocated(tenant_a, first, second) == [1, 0]
    assert StockLevel.objects.for_tenant(tenant_a).get(pk=second.pk).updated_at == before


def _commit_once_a_take_waits(rival_may_commit):
    """From its own connection: once a statement waits for a row lock, let the rival commit."""
    try:
        for _ in range(500):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0]:
                    break
            time.sleep(0.02)
    finally:
        rival_may_commit.set()
        connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_a_take_that_waited_for_a_rival_sees_what_the_rival_left(tenant_a, two_rows):
    """A rival holds the first row, having taken 2 of its 3 units. A take of 2 from it and 1 from
    the second row waits for the rival; once the rival commits, the first row has 1 unit left:
    the take is refused whole, and the second row keeps its 5 units free."""
    first, second = two_rows
    rival_took, rival_may_commit = threading.Event(), threading.Event()

    def rival():
        try:
            with transaction.atomic():
                assert stock_take_guarded(tenant=tenant_a, wanted={first.pk: 2}, now=timezone.now())
                rival_took.set()
                rival_may_commit.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=rival)
    thread.start()
    assert rival_took.wait(10)
    threading.Thread(target=_commit_once_a_take_waits, args=(rival_may_commit,)).start()
    with transaction.atomic():
        taken = stock_take_guarded(tenant=tenant_a, wanted={first.pk: 2, second.pk: 1}, now=timezone.now())
    thread.join(10)
    assert not taken
    assert _allocated(tenant_a, first, second) == [2, 0]
