"""What follows a shipment leaving the warehouse or reaching the customer, written to the outbox in
the transaction that moved it: the customer's email and the tracking push to the order's channel.

The services that move shipments (ship, tracking) call these; they never call a vendor.
"""

from __future__ import annotations

from typing import Any


def shipment_shipped(shipment: Any, *, actor: Any = None) -> None:
    """A shipment left the warehouse (a label we bought, or a 3PL's tracking)."""


def shipment_delivered(shipment: Any, *, actor: Any = None) -> None:
    """The carrier says the shipment reached the customer."""
