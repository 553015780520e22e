"""The integrations room's row locks (the only place it spells select_for_update on its own rows).

Lock order with the rest of the house: a channel order first, then its order (orders/locks.py,
taken inside the order services), then order lines and stock rows.
"""

from __future__ import annotations

from typing import Any

from integrations.models import ChannelOrder


def channel_order_for_update(*, tenant: Any, **lookup: Any) -> ChannelOrder:
    """One channel order, locked until the transaction ends (by account and external_id, or order_id)."""
    return ChannelOrder.objects.for_tenant(tenant).select_for_update().get(**lookup)
