"""Return vocabularies: states, reasons, conditions, dispositions. Pure: no database, no I/O."""

from __future__ import annotations

from django.db import models


class ReturnState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    AUTHORIZED = "authorized", "Authorized"
    LABEL_SENT = "label_sent", "Label sent"
    IN_TRANSIT = "in_transit", "In transit"
    RECEIVED = "received", "Received"
    INSPECTED = "inspected", "Inspected"
    REFUNDED = "refunded", "Refunded"
    EXCHANGED = "exchanged", "Exchanged"
    CLOSED = "closed", "Closed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


R = ReturnState

# Authorized and on its way back (or about to be): the warehouse may receive it.
RECEIVABLE = [R.AUTHORIZED, R.LABEL_SENT, R.IN_TRANSIT, R.RECEIVED]
# Before anything came back: the customer (or staff) may still call it off.
CANCELLABLE = [R.REQUESTED, R.AUTHORIZED, R.LABEL_SENT, R.IN_TRANSIT]
# Nothing more happens to these.
FINAL = [R.REFUNDED, R.EXCHANGED, R.CLOSED, R.REJECTED, R.CANCELLED]
# Units of these returns count against what an order line may still return: the requested
# quantity until inspection, the received quantity after it, nothing once rejected or cancelled.
CLAIMS_REQUESTED = [R.REQUESTED, R.AUTHORIZED, R.LABEL_SENT, R.IN_TRANSIT, R.RECEIVED]
CLAIMS_RECEIVED = [R.INSPECTED, R.REFUNDED, R.EXCHANGED, R.CLOSED]


class ReturnReason(models.TextChoices):
    DEFECTIVE = "defective", "Defective or broken"
    DAMAGED = "damaged", "Arrived damaged"
    WRONG_ITEM = "wrong_item", "Wrong item sent"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    WRONG_SIZE = "wrong_size", "Wrong size or fit"
    NO_LONGER_NEEDED = "no_longer_needed", "No longer needed"
    OTHER = "other", "Other"


# The merchant's fault: no restocking fee, and the customer never pays the return label.
MERCHANT_FAULT = frozenset(
    {ReturnReason.DEFECTIVE, ReturnReason.DAMAGED, ReturnReason.WRONG_ITEM, ReturnReason.NOT_AS_DESCRIBED}
)


class Condition(models.TextChoices):
    NEW = "new", "As new (sealed)"
    OPENED = "opened", "Opened, unused"
    USED = "used", "Used"
    DAMAGED = "damaged", "Damaged"


class Disposition(models.TextChoices):
    RESTOCK = "restock", "Restock (sellable)"
    REFURBISH = "refurbish", "Refurbish"
    SCRAP = "scrap", "Scrap"


class Resolution(models.TextChoices):
    REFUND = "refund", "Refund"
    EXCHANGE = "exchange", "Exchange"


class LabelPayer(models.TextChoices):
    MERCHANT = "merchant", "Merchant (free returns)"
    CUSTOMER = "customer", "Customer (deducted from the refund)"


class RefundState(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ReturnSource(models.TextChoices):
    API = "api", "Storefront API"
    ADMIN = "admin", "Admin"
    SHOPIFY = "shopify", "Shopify"
    WOOCOMMERCE = "woocommerce", "WooCommerce"
    AMAZON = "amazon", "Amazon"
    EBAY = "ebay", "eBay"
