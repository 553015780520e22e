"""Signals integrations sends. Sent inside the transaction that changes the row; receivers only
write rows or enqueue work (`oms.core.tasks.enqueue_on_commit`)."""

from __future__ import annotations

import django.dispatch

# An inbound event failed its last attempt and is now a dead letter (`inbox.inbound_event_process`).
# kwargs: tenant_id=int, event_id=int.
inbound_event_dead = django.dispatch.Signal()
