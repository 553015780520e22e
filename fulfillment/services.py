"""Fulfillment writes, one function per use case. The modules beside this one hold them; import
from here (pages, API, admin, tasks).

- release.py: `order_release_to_warehouse` (an order's allocations become shipments)
- picking.py: `pick_list_create`, `pick_scan`, `pick_short`, `pick_lists_auto_create`
- packing.py: `pack_scan`, `shipment_pack`
- shipping.py: `shipment_ship`, `shipment_cancel`
- labels.py: label purchase and void (carrier calls); tracking.py: carrier statuses
"""

from __future__ import annotations

from fulfillment.packing import pack_scan, shipment_pack
from fulfillment.picking import (
    PickConfirmation,
    Reroute,
    ScanResult,
    ShortResult,
    pick_list_create,
    pick_lists_auto_create,
    pick_scan,
    pick_short,
)
from fulfillment.release import order_release_auto, order_release_to_warehouse
from fulfillment.shipping import shipment_cancel, shipment_ship

__all__ = [
    "PickConfirmation",
    "Reroute",
    "ScanResult",
    "ShortResult",
    "order_release_auto",
    "order_release_to_warehouse",
    "pack_scan",
    "pick_list_create",
    "pick_lists_auto_create",
    "pick_scan",
    "pick_short",
    "shipment_cancel",
    "shipment_pack",
    "shipment_ship",
]
