from __future__ import annotations

from enum import StrEnum

from oms.core.errors import DomainError


class OrderErrorCode(StrEnum):
    ILLEGAL_TRANSITION = "illegal_transition"
    NOT_EDITABLE = "not_editable"
    UNKNOWN_SKU = "unknown_sku"
    INACTIVE_SKU = "inactive_sku"
    INVALID_MONEY = "invalid_money"
    INVALID_CURRENCY = "invalid_currency"
    NO_ACTIVE_HOLD = "no_active_hold"


class OrderError(DomainError):
    status = 422


class OrderConflict(DomainError):
    """The order is in a state that does not allow this (409)."""

    status = 409
