"""What the inventory services refuse, by code. The API renders them as {code, message, extra}."""

from __future__ import annotations

from enum import StrEnum

from oms.core.errors import DomainError


class InventoryErrorCode(StrEnum):
    INSUFFICIENT_STOCK = "insufficient_stock"
    BELOW_COMMITTED = "below_committed"
    NOT_ALLOCATED = "not_allocated"
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_ADJUSTMENT = "invalid_adjustment"
    SAME_WAREHOUSE = "same_warehouse"
    INACTIVE = "inactive"
    RESERVATION_CONSUMED = "reservation_consumed"
    INBOUND_CLOSED = "inbound_closed"
    OVER_RECEIPT = "over_receipt"
    DUPLICATE_CODE = "duplicate_code"
    QUANTITY_TOO_LARGE = "quantity_too_large"


class InventoryError(DomainError):
    """A rule of stock refused the operation (422 unless the code says otherwise)."""
