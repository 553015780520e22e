"""Signals returns sends. Returns knows no listener; rooms below it (notifications) listen.

Both are sent inside the transaction that holds the return's row lock. Receivers only write
rows or enqueue work (`oms.core.tasks.enqueue_on_commit`): a receiver that raises rolls the
return's change back with it.
"""

from __future__ import annotations

import django.dispatch

# Returned units were received at a warehouse (`services.return_receive`).
# kwargs: tenant_id=int, return_id=int.
return_received = django.dispatch.Signal()

# A refund-resolution return got its whole refund back (`refunds.refund_settle`).
# kwargs: tenant_id=int, return_id=int, amount=str (decimal), currency=str.
return_refunded = django.dispatch.Signal()
