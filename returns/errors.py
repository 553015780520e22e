"""What the returns services refuse, by code (the API renders them as {code, message, extra})."""

from __future__ import annotations

from enum import StrEnum

from oms.core.errors import DomainError


class ReturnErrorCode(StrEnum):
    OUTSIDE_RETURN_WINDOW = "outside_return_window"
    QUANTITY_EXCEEDS_RETURNABLE = "quantity_exceeds_returnable"
    NOT_RETURNABLE = "not_returnable"
    UNKNOWN_LINE = "unknown_order_line"
    DUPLICATE_LINE = "duplicate_line"
    UNKNOWN_SKU = "unknown_sku"
    UNKNOWN_WAREHOUSE = "unknown_warehouse"
    ORDER_CANCELLED = "order_cancelled"
    EXCHANGE_LINES_REQUIRED = "exchange_lines_required"
    EXCHANGE_PRICE_UNKNOWN = "exchange_price_unknown"
    QUANTITY_EXCEEDS_EXPECTED = "quantity_exceeds_expected"
    NOTHING_RECEIVED = "nothing_received"
    NO_CAPTURED_PAYMENT = "no_captured_payment"
    REFUND_EXCEEDS_REFUNDABLE = "refund_exceeds_refundable"
    REFUND_IN_PROGRESS = "refund_in_progress"
    ILLEGAL_TRANSITION = "illegal_transition"
    NOT_FOUND = "return_not_found"


class ReturnError(DomainError):
    """A rule refused it (422)."""

    status = 422


class ReturnConflict(DomainError):
    """The return (or its order) is in a state that does not allow this (409)."""

    status = 409
