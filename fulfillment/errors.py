"""What the fulfillment services refuse, by code. The API renders them as {code, message, extra};
the warehouse pages show the message loudly."""

from __future__ import annotations

from enum import StrEnum

from oms.core.errors import DomainError


class FulfillmentErrorCode(StrEnum):
    NOT_RELEASABLE = "not_releasable"
    NOTHING_TO_RELEASE = "nothing_to_release"
    ILLEGAL_TRANSITION = "illegal_transition"
    NOT_CANCELLABLE = "not_cancellable"
    NOT_SHIPPABLE = "not_shippable"
    CARRIER_REQUIRED = "carrier_required"
    NO_SHIPMENTS = "no_shipments"
    WRONG_WAREHOUSE = "wrong_warehouse"
    PICK_LIST_CLOSED = "pick_list_closed"
    WRONG_ITEM = "wrong_item"
    ALREADY_PICKED = "already_picked"
    TOO_MANY = "too_many"
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_REASON = "invalid_reason"
    NOT_PICKED = "not_picked"
    NOT_PACKED = "not_packed"
    ALREADY_PACKED = "already_packed"
    INVALID_PARCEL = "invalid_parcel"


class FulfillmentError(DomainError):
    """Bad input for the rule (422)."""

    status = 422


class FulfillmentConflict(DomainError):
    """The shipment, pick list or order is in a state that does not allow this (409)."""

    status = 409
