"""Stock out to the marketplaces: each channel account is told, per mapped SKU, how many it may sell.

The quantity a channel gets is what we can still promise of the SKU (on hand minus allocated
minus reserved, summed over the active warehouses, each warehouse at least 0) minus the
account's `stock_buffer`, never below 0. Only SKUs with a `SkuMapping` on the account are
published: the mapping names the channel's item.

`channel_stock_publish(tenant=, account_id=)` compares that with what was last published
(`ChannelStock.published_quantity`) and sends only the changes, in batches of PUBLISH_BATCH,
through the publisher its kind registered (`register_stock_publisher`); a changed quantity is
recorded as published only once the channel took it. The beat sweep
(`channel_stock_publish_all`, every `OMS_STOCK_PUBLISH_SECONDS`) runs it for every active
account: that period is the debounce window (changes in between go out together, once).
Calls to the channel happen outside any transaction and row lock; one account is published by
one worker at a time (a cache lease), and a second one simply leaves it to the next sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from integrations.models import ChannelAccount, ChannelStock, SkuMapping
from inventory.models import StockLevel
from orders.channels import ChannelRefused, ChannelUnavailable

logger = logging.getLogger(__name__)

PUBLISH_BATCH = 100
LEASE_SECONDS = 300


@dataclass(frozen=True)
class StockQuantity:
    """One of our SKUs as the channel knows it, and how many the channel may sell."""

    sku_id: int
    sku: str
    channel_variant_ids: tuple[str, ...]
    channel_skus: tuple[str, ...]
    quantity: int


# publisher(account, quantities) -> {sku_id: why it was not published} for the ones it skipped.
# Raises ChannelUnavailable (retry later) or ChannelRefused (the whole batch was refused).
StockPublisher = Callable[[ChannelAccount, list[StockQuantity]], dict[int, str]]
_publishers: dict[str, StockPublisher] = {}


def register_stock_publisher(kind: str, publisher: StockPublisher) -> None:
    _publishers[kind] = publisher


def unregister_stock_publisher(kind: str) -> None:
    _publishers.pop(kind, None)


@dataclass
class PublishResult:
    sent: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "failed": self.failed,
            "errors": self.errors[:10],
        }


def sellable_quantities(*, tenant: Any, sku_ids: list[int]) -> dict[int, int]:
    """What can still be promised of each SKU, over the tenant's active warehouses."""
    totals: dict[int, int] = dict.fromkeys(sku_ids, 0)
    levels = StockLevel.objects.for_tenant(tenant).filter(sku_id__in=sku_ids, warehouse__active=True)
    for sku_id, on_hand, allocated, reserved in levels.values_list(
        "sku_id", "on_hand", "allocated", "reserved"
    ):
        totals[sku_id] += max(0, on_hand - allocated - reserved)
    return totals


def channel_quantities(account: ChannelAccount) -> list[StockQuantity]:
    """What the account should show for each mapped SKU now (buffer applied)."""
    names: dict[int, tuple[str, list[str], list[str]]] = {}
    for mapping in (
        SkuMapping.objects.for_tenant(account.tenant_id).filter(account=account).select_related("sku")
    ):
        _, variants, skus = names.setdefault(mapping.sku_id, (mapping.sku.code, [], []))
        if mapping.channel_variant_id:
            variants.append(mapping.channel_variant_id)
        if mapping.channel_sku:
            skus.append(mapping.channel_sku)
    sellable = sellable_quantities(tenant=account.tenant_id, sku_ids=sorted(names))
    return [
        StockQuantity(
            sku_id=sku_id,
            sku=code,
            channel_variant_ids=tuple(sorted(variants)),
            channel_skus=tuple(sorted(skus)),
            quantity=max(0, sellable[sku_id] - account.stock_buffer),
        )
        for sku_id, (code, variants, skus) in sorted(names.items())
    ]


def _lease_key(account_id: int) -> str:
    return f"integrations:stock-publish:{account_id}"


def channel_stock_publish(*, tenant: Any, account_id: int) -> PublishResult:
    """Send the account the quantities that changed since it last took them. Re-runnable."""
    result = PublishResult()
    account = ChannelAccount.objects.for_tenant(tenant).get(pk=account_id)
    publisher = _publishers.get(account.kind)
    if publisher is None or not account.active:
        return result
    if not cache.add(_lease_key(account.pk), 1, timeout=LEASE_SECONDS):
        result.errors.append("another publish of this account is running")
        return result
    try:
        wanted = channel_quantities(account)
        rows = {
            row.sku_id: row
            for row in ChannelStock.objects.for_tenant(account.tenant_id).filter(account=account)
        }
        changed = [
            q for q in wanted if rows.get(q.sku_id) is None or rows[q.sku_id].published_quantity != q.quantity
        ]
        result.unchanged = len(wanted) - len(changed)
        for start in range(0, len(changed), PUBLISH_BATCH):
            batch = changed[start : start + PUBLISH_BATCH]
            try:
                skipped = publisher(account, batch)
            except ChannelUnavailable as exc:
                _record(account, batch, {}, error=f"unavailable: {exc}")
                result.failed += len(batch)
                result.errors.append(str(exc))
                _account_status(account, error=f"Stock publishing: {exc}")
                raise
            except ChannelRefused as exc:
                _record(account, batch, {}, error=f"refused: {exc.message}")
                result.failed += len(batch)
                result.errors.append(exc.message)
                continue
            _record(account, batch, skipped)
            result.skipped += len(skipped)
            result.sent += len(batch) - len(skipped)
        _account_status(account, error="; ".join(result.errors))
        return result
    finally:
        cache.delete(_lease_key(account.pk))


def _record(
    account: ChannelAccount, batch: list[StockQuantity], skipped: dict[int, str], *, error: str = ""
) -> None:
    now = timezone.now()
    with transaction.atomic():
        for quantity in batch:
            reason = error or skipped.get(quantity.sku_id, "")
            defaults: dict[str, Any] = {"wanted_quantity": quantity.quantity, "error": reason[:300]}
            if not reason:
                defaults.update(published_quantity=quantity.quantity, published_at=now)
            ChannelStock.objects.for_tenant(account.tenant_id).update_or_create(
                account=account, sku_id=quantity.sku_id, defaults={"tenant_id": account.tenant_id, **defaults}
            )


def _account_status(account: ChannelAccount, *, error: str) -> None:
    ChannelAccount.objects.for_tenant(account.tenant_id).filter(pk=account.pk).update(
        last_sync_at=timezone.now(),
        last_sync_status="error" if error else "ok",
        last_sync_error=error[:4000],
    )


def channel_stock_publish_all() -> dict[str, int]:
    """The beat sweep: every active account whose kind publishes stock. An account that fails is
    logged and left for the next sweep; the others go on."""
    done = failed = 0
    accounts = (
        ChannelAccount.objects.unscoped().filter(active=True, kind__in=list(_publishers)).order_by("pk")
    )
    for tenant_id, account_id in accounts.values_list("tenant_id", "pk"):
        try:
            channel_stock_publish(tenant=tenant_id, account_id=account_id)
            done += 1
        except Exception:
            logger.warning("Publishing stock to account %s failed", account_id, exc_info=True)
            failed += 1
    return {"accounts": done, "failed": failed}
