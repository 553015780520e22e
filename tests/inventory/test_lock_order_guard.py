"""The lock-order guard (OMS_LOCK_ORDER_CHECK, on in the test settings): a transaction that locks
a stock row below one it already holds, or creates missing rows after locking some, raises."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import override_settings

from inventory import locks
from inventory.locks import LockOrderViolation
from tests.inventory.factories import stock


@pytest.fixture
def rows(tenant_a, warehouses, sku_a, sku_b):
    """Two existing stock rows, lower pk first."""
    low = stock(tenant_a, sku_a, warehouses[0], 1)
    high = stock(tenant_a, sku_b, warehouses[0], 1)
    assert low.pk < high.pk
    return low, high


def test_locking_a_lower_row_after_a_higher_one_in_one_transaction_raises(tenant_a, rows):
    low, high = rows
    with pytest.raises(LockOrderViolation, match=rf"Stock rows \[{low.pk}\] locked after rows \[{high.pk}\]"):
        with transaction.atomic():
            locks.stock_lock(tenant=tenant_a, pks=[high.pk])
            locks.stock_lock(tenant=tenant_a, pks=[low.pk])


def test_one_statement_higher_rows_later_and_rows_already_held_are_in_order(tenant_a, rows):
    low, high = rows
    with transaction.atomic():
        locks.stock_lock(tenant=tenant_a, pks=[low.pk, high.pk])
        locks.stock_lock(tenant=tenant_a, pks=[low.pk])  # already held
    with transaction.atomic():
        locks.stock_lock(tenant=tenant_a, pks=[low.pk])
        locks.stock_lock(tenant=tenant_a, pks=[high.pk])


def test_each_transaction_starts_afresh(tenant_a, rows):
    low, high = rows
    with transaction.atomic():
        locks.stock_lock(tenant=tenant_a, pks=[high.pk])
    with transaction.atomic():
        locks.stock_lock(tenant=tenant_a, pks=[low.pk])


def test_creating_missing_rows_after_locking_some_raises(tenant_a, rows, warehouses, sku_a):
    low, _ = rows
    with pytest.raises(LockOrderViolation, match="created after rows"):
        with transaction.atomic():
            locks.stock_lock(tenant=tenant_a, pks=[low.pk])
            locks.stock_lock(tenant=tenant_a, pairs=[(sku_a.pk, warehouses[1].pk)], create=True)


def test_the_guard_is_off_without_the_setting(tenant_a, rows):
    low, high = rows
    with override_settings(OMS_LOCK_ORDER_CHECK=False), transaction.atomic():
        locks.stock_lock(tenant=tenant_a, pks=[high.pk])
        locks.stock_lock(tenant=tenant_a, pks=[low.pk])


@pytest.mark.django_db(transaction=True)
def test_outside_a_test_case_transaction_the_guard_follows_real_transactions(tenant_a, rows):
    low, high = rows
    with transaction.atomic():
        locks.stock_lock(tenant=tenant_a, pks=[high.pk])
    with pytest.raises(LockOrderViolation):
        with transaction.atomic():
            locks.stock_lock(tenant=tenant_a, pks=[high.pk])
            with transaction.atomic():  # a nested service: the same transaction
                locks.stock_lock(tenant=tenant_a, pks=[low.pk])
    with transaction.atomic():  # after the rollback: a new transaction
        locks.stock_lock(tenant=tenant_a, pks=[low.pk])
