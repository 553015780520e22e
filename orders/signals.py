"""Signals orders sends. Orders knows no shipment model; the fulfillment app listens.

Both are sent inside the transaction that holds the order's row lock (and its lines' locks).
Receivers keep the house lock order (orders/locks.py, then shipments, then stock) and only
write rows or enqueue work (`oms.core.tasks.enqueue_on_commit`): a receiver that raises rolls
the order's change back with it.
"""

from __future__ import annotations

import django.dispatch

# The order got new allocations and is in a state whose allocations a warehouse may ship
# (allocated, partially allocated, in fulfillment, partially shipped).
# kwargs: tenant_id=int, order_id=int.
order_allocated = django.dispatch.Signal()

# The order is being taken back from the warehouse: cancelled, or put on hold while in
# fulfillment. Its lines are locked; its allocations stay or are about to be given back.
# Receivers cancel whatever was made of them (open shipments, voiding bought labels).
# kwargs: tenant=Tenant, order=Order (locked), reason=str, actor=Any.
order_recalled = django.dispatch.Signal()

# The order was placed (written with its lines), or taken back for good (cancelled), or units of
# it left a warehouse. Sent inside that transaction; receivers only write rows or enqueue work.
# kwargs: tenant_id=int, order_id=int; order_shipped also reference=str.
order_placed = django.dispatch.Signal()
order_cancelled = django.dispatch.Signal()
order_shipped = django.dispatch.Signal()
