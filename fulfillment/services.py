"""Fulfillment writes, one function per use case. The modules beside this one hold them; import
from here (pages, API, admin, tasks).

- release.py: `order_release_to_warehouse` (an order's allocations become shipments)
- shipping.py: `shipment_ship`, `shipment_cancel`
"""

from __future__ import annotations

from fulfillment.release import order_release_auto, order_release_to_warehouse
from fulfillment.shipping import shipment_cancel, shipment_ship

__all__ = [
    "order_release_auto",
    "order_release_to_warehouse",
    "shipment_cancel",
    "shipment_ship",
]
