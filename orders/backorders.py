"""Backorder sweeps, coalesced: however many stock changes a SKU gets, its backorders get one sweep.

Asking, inside the stock change's transaction (orders/receivers.py, on `stock_became_available`).
The change upserts one `BackorderSweepRequest` row per SKU. A SKU that had no row gets one, and
the tenant gets a sweep task through the outbox (`enqueue_on_commit`): both commit or roll back
with the stock change. A SKU that has a row is owed a sweep that has not started yet: the change
only counts itself on the row. One transaction enqueues at most one task per tenant (the demo
seed or an import that receives 100 SKUs in one transaction queues one sweep, not 100).

Sweeping, after commit (`orders_allocate_backorders_task`). The task takes every row of its
tenant (deletes them) and then allocates the waiting orders of those SKUs, oldest first
(`orders_allocate_backorders`). Taking the rows before sweeping is what serves a request that
arrives while a sweep runs: it finds no row, so it writes a new one and a new task, which runs
after. A task whose rows an earlier task of the tenant took ends at once.

Why no request is lost. A request that finds its row updates it (`requests + 1`), which locks
the row until the stock change commits: a sweep taking the row meanwhile waits for that commit
and then sees the new stock (on SQLite the one write lock serialises them anyway). On
PostgreSQL the sweep takes one row per transaction, so while it waits it holds nothing a stock
change could wait for. A row whose task never ran (the embedded broker loses the messages a
worker held when it is killed) gets a new task from the next request once it is STALE_SECONDS
old, and the periodic sweep (`orders_backorders_sweep` on beat) still allocates wherever free
stock and waiting orders meet.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from oms.core.outbox import outbox_kick
from oms.core.tasks import enqueue_on_commit
from oms.models import OutboxMessage, OutboxState, Tenant
from orders.models import BackorderSweepRequest
from orders.services import orders_allocate_backorders

SWEEP_TASK = "orders.tasks.orders_allocate_backorders_task"
# A row owed a sweep for this long without one starting gets another task from its next request.
STALE_SECONDS = 30.0


class _SweepEnqueued:
    """A no-op on-commit callback that marks "this transaction enqueued the tenant's sweep".

    Django drops it with the savepoint that registered it, exactly as it drops the outbox row.
    """

    def __init__(self, tenant_id: int) -> None:
        self.tenant_id = tenant_id

    def __call__(self) -> None:
        return None


def _enqueued_in_this_transaction(tenant_id: int) -> bool:
    """This transaction enqueued the tenant's sweep, and it is still waiting for the commit.

    (A test that runs on-commit callbacks inside one transaction may have run it already.)
    """
    callbacks = getattr(connection, "run_on_commit", None) or ()
    if not any(isinstance(e[1], _SweepEnqueued) and e[1].tenant_id == tenant_id for e in callbacks):
        return False
    waiting = OutboxMessage.objects.filter(task=SWEEP_TASK, tenant_id=tenant_id, state=OutboxState.PENDING)
    return waiting.exists()


def backorder_sweep_request(*, tenant_id: int, sku_ids: Iterable[int]) -> bool:
    """Owe these SKUs' backorders a sweep, in the caller's transaction. True if a sweep task was enqueued."""
    ids = sorted(set(sku_ids))
    if not ids:
        return False
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    table = connection.ops.quote_name(BackorderSweepRequest._meta.db_table)
    values = ", ".join(["(%s, %s, 1, %s, %s)"] * len(ids))
    with connection.cursor() as cursor:
        # Rows in SKU order, one statement. DO UPDATE (not DO NOTHING) locks a row that is
        # already there until this transaction ends: see "Why no request is lost".
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, sku_id, requests, requested_at, ticketed_at) VALUES {values} "
            f"ON CONFLICT (tenant_id, sku_id) DO UPDATE SET requests = {table}.requests + 1 "
            "RETURNING requests",
            [param for sku_id in ids for param in (tenant_id, sku_id, at, at)],
        )
        owed_anew = any(requests == 1 for (requests,) in cursor.fetchall())
    if not owed_anew:
        overdue = now - timedelta(seconds=STALE_SECONDS)
        owed_anew = bool(
            BackorderSweepRequest.objects.for_tenant(tenant_id)
            .filter(sku_id__in=ids, ticketed_at__lt=overdue)
            .update(ticketed_at=now)
        )
    if not owed_anew or _enqueued_in_this_transaction(tenant_id):
        _send_waiting_sweeps_on_commit(tenant_id)
        return False
    enqueue_on_commit(SWEEP_TASK, tenant_id=tenant_id)
    transaction.on_commit(_SweepEnqueued(tenant_id))
    return True


def _send_waiting_sweeps_on_commit(tenant_id: int) -> None:
    """Send the tenant's sweep task this change counts on, if it still waits in the outbox, on commit.

    Its own on-commit kick may have found the broker down, or its process died right after the
    commit: this sends it now rather than at the beat relay's next run. Usually it was sent long
    ago and nothing is found.
    """
    waiting = OutboxMessage.objects.filter(tenant_id=tenant_id, state=OutboxState.PENDING, task=SWEEP_TASK)
    ids = list(waiting.values_list("pk", flat=True)[:20])
    if ids:
        transaction.on_commit(lambda: outbox_kick(ids))


def backorder_sweep_take(*, tenant_id: int) -> list[int]:
    """Take (delete) every row the tenant is owed a sweep for; returns their SKU ids.

    On PostgreSQL one row per transaction: a row a stock change holds is taken once that change
    commits, and meanwhile the sweep holds no other row. On SQLite, whose one write lock already
    serialises every writer, one statement: a transaction per row would queue for that lock each
    time, behind whatever the other worker processes write.
    """
    owed = BackorderSweepRequest.objects.for_tenant(tenant_id)
    if connection.vendor == "sqlite":
        table = connection.ops.quote_name(BackorderSweepRequest._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s RETURNING sku_id", [tenant_id])
            return sorted(sku_id for (sku_id,) in cursor.fetchall())
    taken = []
    for sku_id in list(owed.order_by("sku_id").values_list("sku_id", flat=True)):
        if owed.filter(sku_id=sku_id).delete()[0]:
            taken.append(sku_id)
    return taken


def backorders_allocate_owed(*, tenant_id: int, sku_ids: Iterable[int] = ()) -> int:
    """The sweep task: take what the tenant is owed, then allocate its backorders. Returns orders visited.

    `sku_ids` are swept besides (a task enqueued before sweeps were coalesced names its SKUs).
    """
    skus = sorted(set(backorder_sweep_take(tenant_id=tenant_id)) | set(sku_ids))
    if not skus:
        return 0
    return orders_allocate_backorders(tenant=Tenant.objects.get(pk=tenant_id), sku_ids=skus)
