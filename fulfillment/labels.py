"""Labels: bought once, found again after an unknown outcome, voided when the shipment is cancelled.

Never two labels for one parcel:
1. Intent. `label_request` writes a pending Label under the shipment's row lock, in the caller's
   transaction, with the outbox row of the task that buys it. At most one live (pending or
   purchased) label per shipment: asking again returns it (a unique constraint backs the lock).
   The label's `reference` is ours (`<tenant>:shp<id>:L<n>`) and travels to the carrier with the
   purchase (Shippo's transaction `metadata`).
2. Purchase. `label_purchase` (from `fulfillment.tasks.label_purchase_task`) runs outside any
   transaction and lock. It takes the label's lease (`locked_until`, one UPDATE: two deliveries
   of the task never talk to the carrier at once), fixes the rate first (the policy's choice is
   stored on the label before anything is bought, so every retry asks about the same rate), asks
   the carrier for a purchase under our reference (`find_label`), and buys only when there is
   none. A worker killed between the carrier's answer and our commit leaves a purchase the
   retry finds, instead of buying a second label.
3. Record. In a short transaction, shipment then label locked: the label is purchased, the
   shipment moves to label_purchased with carrier, service, tracking number and URLs; the file
   is kept (Label.label_file) when it can be fetched, the URL always. Tracking is registered by
   its own task. A shipment cancelled while its label was being bought gets the label voided.

Failures: the carrier unreachable (CarrierUnavailable) -> the message on Label.error and
Shipment.last_error (staff see it), the shipment stays packed, the task retries with backoff;
after its last attempt the label is failed. The carrier refusing (CarrierRefused: a bad address,
an expired rate) -> failed at once, with the carrier's words; staff fix it and ask again.

Voids: `shipment_labels_void_on_cancel` (inside the cancel's transaction) marks purchased labels
void_requested and enqueues `label_void_task`; `label_void` asks the carrier and marks them voided.
Return labels (`return_label_request`) take the same path with `is_return`, one per return key.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from fulfillment import locks
from fulfillment.carriers import (
    CarrierGateway,
    CarrierRefused,
    CarrierUnavailable,
    PurchasedLabel,
    Rate,
    carrier_gateway_for,
)
from fulfillment.models import Label, Shipment
from fulfillment.rates import (
    fulfillment_settings,
    order_address,
    rate_choose,
    rates_of,
    shipment_get,
    shipment_parcels,
    shipment_rate_choose,
    warehouse_address,
)
from fulfillment.signals import return_label_purchased
from fulfillment.states import DEPARTED, LIVE_LABEL, LabelState, RatePolicy, ShipmentState
from oms.core.audit import actor_of, audit_record
from oms.core.errors import ConflictError, DomainError, NotFoundError
from oms.core.tasks import enqueue_on_commit
from oms.models import Tenant

logger = logging.getLogger(__name__)

L = LabelState
PURCHASE_TASK = "fulfillment.tasks.label_purchase_task"
VOID_TASK = "fulfillment.tasks.label_void_task"
TRACKING_TASK = "fulfillment.tasks.label_tracking_register_task"
FILE_SUFFIX = {"PNG": "png", "ZPL": "zpl"}


class LabelBusy(CarrierUnavailable):
    """Another worker holds this label's lease: it is talking to the carrier right now."""


class LabelNotNeeded(Exception):
    """The shipment left the packed state before anything was bought: nothing to buy."""


# --- helpers ------------------------------------------------------------------------------------
def _tenant_row(tenant: Any) -> Tenant:
    return tenant if isinstance(tenant, Tenant) else Tenant.objects.get(pk=tenant)


def _lease() -> dt.timedelta:
    """Longer than a task may run (its hard time limit): a lease outlives only a dead worker."""
    return dt.timedelta(seconds=int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 300)) + 30)


def _assert_no_open_transaction() -> None:
    """The carrier is called between our transactions, never inside a caller's (or a row lock)."""
    if any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks):
        raise RuntimeError("Label purchases call the carrier: run them outside transaction.atomic (a task).")


def label_reference(shipment: Shipment, suffix: str) -> str:
    """Ours, unique (the shipment's id is), readable in the carrier's dashboard: `acme:shp42:L1`."""
    return f"{shipment.tenant.slug[:40]}:shp{shipment.pk}:{suffix}"[:80]


def _live_label(shipment: Shipment) -> Label | None:
    return (
        Label.objects.for_tenant(shipment.tenant_id)
        .filter(shipment=shipment, is_return=False, state__in=LIVE_LABEL)
        .first()
    )


def _locked_shipment(tenant: Any, shipment_id: Any) -> Shipment:
    try:
        return locks.shipment_for_update(tenant=tenant, shipment_id=shipment_id)
    except Shipment.DoesNotExist:
        raise NotFoundError("shipment_not_found", "No such shipment.", shipment_id=shipment_id) from None


def _audit(label: Label, *, actor: Any, action: str, before: str, **after: Any) -> None:
    audit_record(
        tenant=label.tenant,
        actor=actor,
        action=f"label.{action}",
        obj=label,
        before={"state": before},
        after={"state": label.state, **{k: str(v) for k, v in after.items()}},
    )


def _rate_fields(rate: Rate) -> dict[str, Any]:
    return {
        "rate_id": rate.rate_id[:64],
        "carrier": rate.carrier[:64],
        "service": rate.service[:64],
        "amount": rate.amount,
        "currency": rate.currency[:3],
    }


# --- 1. intent ------------------------------------------------------------------------------------
def label_request(*, tenant: Any, shipment_id: Any, rate_id: str | None = None, actor: Any = None) -> Label:
    """Ask for the shipment's label: `rate_id` (one of its quoted rates) or the tenant's policy.

    Idempotent: while the shipment has a live label (pending or purchased) that label is returned
    and nothing else happens. The purchase itself runs in `label_purchase_task` after the commit.
    """
    tenant = _tenant_row(tenant)
    try:
        with transaction.atomic():
            shipment = _locked_shipment(tenant, shipment_id)
            live = _live_label(shipment)
            if live is not None:
                return live
            if shipment.state != ShipmentState.PACKED:
                raise ConflictError(
                    "shipment_not_packed",
                    f"Shipment {shipment.number} is {shipment.get_state_display().lower()}: "
                    "a label is bought for a packed shipment.",
                    shipment_id=shipment.pk,
                    state=shipment.state,
                )
            chosen: dict[str, Any] = {}
            if rate_id:
                rate = next((r for r in rates_of(shipment) if r.rate_id == rate_id), None)
                if rate is None:
                    raise DomainError(
                        "unknown_rate",
                        "That rate is not one of this shipment's quoted rates: quote the shipment again.",
                        rate_id=rate_id,
                    )
                chosen = _rate_fields(rate)
            count = Label.objects.for_tenant(tenant).filter(shipment=shipment, is_return=False).count()
            label = Label.objects.create(
                tenant=tenant,
                shipment=shipment,
                reference=label_reference(shipment, f"L{count + 1}"),
                provider=fulfillment_settings(tenant).carrier_provider,
                requested_by=actor_of(actor)[1][:200],
                **chosen,
            )
            shipment.last_error = ""
            shipment.save(update_fields=["last_error", "updated_at"])
            _audit(label, actor=actor, action="requested", before="", rate_id=label.rate_id or "policy")
            enqueue_on_commit(PURCHASE_TASK, tenant_id=tenant.pk, label_id=label.pk)
            return label
    except IntegrityError:
        # The last line of defence (label_one_live_per_shipment): someone else's label won.
        shipment = shipment_get(tenant=tenant, shipment_id=shipment_id)
        live = _live_label(shipment)
        if live is None:
            raise
        return live


def return_label_request(*, tenant: Any, shipment_id: Any, key: str, actor: Any = None) -> Label:
    """Ask for a return label (customer -> the shipment's warehouse), one per `key` (the return's
    own reference, e.g. its RMA number): asking again with the same key returns the same label."""
    tenant = _tenant_row(tenant)
    safe_key = re.sub(r"[^A-Za-z0-9_.-]", "-", key)[:24]
    if not safe_key:
        raise DomainError("return_key_required", "A return label needs the return's reference.")
    with transaction.atomic():
        shipment = _locked_shipment(tenant, shipment_id)
        reference = label_reference(shipment, f"R-{safe_key}")
        existing = Label.objects.for_tenant(tenant).filter(reference=reference).first()
        if existing is not None:
            return existing
        if shipment.state not in DEPARTED:
            raise ConflictError(
                "shipment_not_shipped",
                f"Shipment {shipment.number} has not left the warehouse: nothing to return yet.",
                shipment_id=shipment.pk,
            )
        label = Label.objects.create(
            tenant=tenant,
            shipment=shipment,
            reference=reference,
            is_return=True,
            provider=fulfillment_settings(tenant).carrier_provider,
            requested_by=actor_of(actor)[1][:200],
        )
        _audit(label, actor=actor, action="return_requested", before="", key=key)
        enqueue_on_commit(PURCHASE_TASK, tenant_id=tenant.pk, label_id=label.pk)
        return label


# --- 2. purchase ----------------------------------------------------------------------------------
def _claim(label: Label) -> bool:
    """Take the label's lease: one winner, by UPDATE (pending, and no live lease)."""
    now = timezone.now()
    return (
        Label.objects.for_tenant(label.tenant_id)
        .filter(pk=label.pk, state=L.PENDING)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + _lease(), attempts=F("attempts") + 1, updated_at=now)
        == 1
    )


def _release(label: Label) -> None:
    Label.objects.for_tenant(label.tenant_id).filter(pk=label.pk).update(locked_until=None)


def _rate_fix(tenant: Tenant, label: Label, gateway: CarrierGateway) -> Label:
    """Choose the label's rate (the policy's, or the cheapest return rate) and store it on the label
    before anything is bought, so that every attempt asks the carrier about the same purchase."""
    shipment = shipment_get(tenant=tenant, shipment_id=label.shipment_id)
    if label.is_return:
        rates = gateway.rates(
            ship_from=order_address(shipment.order.ship_to, email=shipment.order.customer.email),
            ship_to=warehouse_address(shipment.warehouse, company=tenant.name),
            parcels=shipment_parcels(shipment),
            reference=label.reference,
            is_return=True,
        )
        choice = rate_choose(rates, policy=RatePolicy.CHEAPEST)
    else:
        if shipment.state != ShipmentState.PACKED:
            raise LabelNotNeeded(shipment.state)
        choice = shipment_rate_choose(tenant=tenant, shipment_id=shipment.pk)
    with transaction.atomic():
        locks.shipment_for_update(tenant=tenant, shipment_id=shipment.pk)
        locked = locks.label_for_update(tenant=tenant, label_id=label.pk)
        if locked.rate_id:
            return locked
        for name, value in _rate_fields(choice.rate).items():
            setattr(locked, name, value)
        locked.save(update_fields=["rate_id", "carrier", "service", "amount", "currency", "updated_at"])
        _audit(locked, actor="task", action="rate_chosen", before=locked.state, reason=choice.reason)
        return locked


def _find_or_buy(tenant: Tenant, label: Label, gateway: CarrierGateway) -> PurchasedLabel:
    if not label.rate_id:
        label = _rate_fix(tenant, label, gateway)
    found = gateway.find_label(rate_id=label.rate_id, reference=label.reference)
    if found is not None:
        return found
    if not label.is_return:
        state = Shipment.objects.for_tenant(tenant).values_list("state", flat=True).get(pk=label.shipment_id)
        if state != ShipmentState.PACKED:
            raise LabelNotNeeded(state)
    return gateway.buy_label(
        rate_id=label.rate_id,
        reference=label.reference,
        label_file_type=fulfillment_settings(tenant).label_file_type,
    )


def _label_file(gateway: CarrierGateway, purchased: PurchasedLabel) -> bytes | None:
    if not purchased.label_url:
        return None
    try:
        return gateway.download_label(label_url=purchased.label_url)
    except CarrierUnavailable as exc:
        logger.warning("Label file of %s not fetched (%s); its URL is kept", purchased.reference, exc)
        return None


def label_purchase(*, tenant: Any, label_id: Any, final_attempt: bool = False) -> Label:
    """Buy the label (or find the one bought before) and record it. Outside any transaction.

    Returns the label: purchased, failed (the carrier refused, or `final_attempt` and it was
    unreachable), or as it was when there was nothing to do. Raises CarrierUnavailable (the
    error recorded, the label still pending) when the task should try again.
    """
    _assert_no_open_transaction()
    tenant = _tenant_row(tenant)
    label = Label.objects.for_tenant(tenant).get(pk=label_id)
    if label.state != L.PENDING:
        return label
    if not _claim(label):
        raise LabelBusy(f"Label {label.reference} is being bought by another worker.")
    try:
        gateway = carrier_gateway_for(tenant, label.provider)
        purchased = _find_or_buy(tenant, label, gateway)
        content = _label_file(gateway, purchased)
        return _label_record(tenant, label.pk, purchased, content)
    except LabelNotNeeded as exc:
        return _label_trouble(
            tenant, label.pk, f"The shipment is {exc}: no label was bought.", failed=True, set_shipment=False
        )
    except CarrierUnavailable as exc:
        _label_trouble(tenant, label.pk, str(exc), failed=final_attempt)
        raise
    except DomainError as exc:  # CarrierRefused, no rates, no parcels, no carrier account
        return _label_trouble(tenant, label.pk, exc.message, failed=True)
    except BaseException:
        _release(label)  # an unexpected error: the next attempt looks the purchase up first
        raise


# --- 3. record ------------------------------------------------------------------------------------
def _label_record(tenant: Tenant, label_id: int, purchased: PurchasedLabel, content: bytes | None) -> Label:
    with transaction.atomic():
        label = Label.objects.for_tenant(tenant).get(pk=label_id)
        shipment = locks.shipment_for_update(tenant=tenant, shipment_id=label.shipment_id)
        label = locks.label_for_update(tenant=tenant, label_id=label_id)
        if label.state != L.PENDING:
            return label  # recorded by an earlier attempt
        before = label.state
        label.state = L.PURCHASED
        label.transaction_id = purchased.transaction_id[:64]
        label.rate_id = (purchased.rate_id or label.rate_id)[:64]
        label.carrier = (purchased.carrier or label.carrier)[:64]
        label.service = (purchased.service or label.service)[:64]
        if purchased.amount is not None:
            label.amount, label.currency = purchased.amount, purchased.currency[:3]
        label.tracking_number = purchased.tracking_number[:128]
        label.tracking_url = purchased.tracking_url[:500]
        label.label_url = purchased.label_url[:500]
        label.error = ""
        label.locked_until = None
        if content:
            file_type = fulfillment_settings(tenant).label_file_type.upper()
            suffix = next((v for k, v in FILE_SUFFIX.items() if file_type.startswith(k)), "pdf")
            name = re.sub(r"[^A-Za-z0-9_-]", "-", label.reference)
            label.label_file.save(f"{name}.{suffix}", ContentFile(content), save=False)
        label.save()
        _audit(label, actor="task", action="purchased", before=before, tracking_number=label.tracking_number)
        if label.is_return:
            return_label_purchased.send(sender=Label, tenant_id=tenant.pk, label_id=label.pk)
            return label
        if shipment.state == ShipmentState.PACKED:
            shipment.label_bought()
            shipment.carrier = label.carrier
            shipment.service = label.service
            shipment.tracking_number = label.tracking_number
            shipment.tracking_url = label.tracking_url
            shipment.label_url = label.label_url
            shipment.last_error = ""
            shipment.save()
            enqueue_on_commit(TRACKING_TASK, tenant_id=tenant.pk, label_id=label.pk)
        else:
            # Cancelled (or shipped by other means) while the label was being bought: give it back.
            label.state = L.VOID_REQUESTED
            label.error = f"Bought after the shipment became {shipment.state}: voiding it."
            label.save(update_fields=["state", "error", "updated_at"])
            _audit(label, actor="task", action="void_requested", before=L.PURCHASED)
            enqueue_on_commit(VOID_TASK, tenant_id=tenant.pk, label_id=label.pk)
        return label


def _label_trouble(
    tenant: Tenant, label_id: int, message: str, *, failed: bool, set_shipment: bool = True
) -> Label:
    """Write the carrier's word where staff see it; with `failed`, the label is given up."""
    message = message[:500]
    with transaction.atomic():
        label = Label.objects.for_tenant(tenant).get(pk=label_id)
        shipment = locks.shipment_for_update(tenant=tenant, shipment_id=label.shipment_id)
        label = locks.label_for_update(tenant=tenant, label_id=label_id)
        if label.state != L.PENDING:
            return label
        before = label.state
        label.error = message
        label.locked_until = None
        if failed:
            label.state = L.FAILED
        label.save(update_fields=["state", "error", "locked_until", "updated_at"])
        if set_shipment and not label.is_return:
            shipment.last_error = message
            shipment.save(update_fields=["last_error", "updated_at"])
        if failed:
            _audit(label, actor="task", action="failed", before=before, error=message)
        return label


def label_tracking_register(*, tenant: Any, label_id: Any) -> None:
    """Ask the carrier to send tracking webhooks for a purchased label (idempotent at Shippo)."""
    label = Label.objects.for_tenant(tenant).get(pk=label_id)
    if label.state != L.PURCHASED or not label.tracking_number:
        return
    gateway = carrier_gateway_for(tenant, label.provider)
    try:
        gateway.register_tracking(
            carrier=label.carrier, tracking_number=label.tracking_number, reference=label.reference
        )
    except CarrierRefused as exc:
        logger.warning("Tracking of label %s not registered: %s", label.pk, exc)


# --- voids ----------------------------------------------------------------------------------------
def shipment_labels_void_on_cancel(shipment: Shipment, *, actor: Any = None) -> list[Label]:
    """Inside the cancel's transaction, with `shipment` locked: void its purchased labels.

    Each becomes void_requested and `label_void_task` goes to the outbox with the cancel. A label
    still being bought is voided by its purchase, which sees the shipment cancelled.
    """
    voiding = []
    for label in locks.shipment_labels_for_update(shipment=shipment):
        if label.is_return or label.state != L.PURCHASED:
            continue
        label.state = L.VOID_REQUESTED
        label.error = ""
        label.save(update_fields=["state", "error", "updated_at"])
        _audit(label, actor=actor, action="void_requested", before=L.PURCHASED)
        enqueue_on_commit(VOID_TASK, tenant_id=shipment.tenant_id, label_id=label.pk)
        voiding.append(label)
    return voiding


def label_void_request(*, tenant: Any, shipment_id: Any, actor: Any = None) -> Label:
    """Staff void the shipment's label to buy another: the shipment goes back to packed once voided."""
    with transaction.atomic():
        shipment = _locked_shipment(tenant, shipment_id)
        labels = locks.shipment_labels_for_update(shipment=shipment)
        label = next((x for x in labels if not x.is_return and x.state == L.PURCHASED), None)
        if label is None or shipment.state != ShipmentState.LABEL_PURCHASED:
            raise ConflictError(
                "no_label_to_void",
                f"Shipment {shipment.number} has no purchased label that can be voided.",
                shipment_id=shipment.pk,
            )
        label.state = L.VOID_REQUESTED
        label.error = ""
        label.save(update_fields=["state", "error", "updated_at"])
        _audit(label, actor=actor, action="void_requested", before=L.PURCHASED)
        enqueue_on_commit(VOID_TASK, tenant_id=shipment.tenant_id, label_id=label.pk)
        return label


def label_void(*, tenant: Any, label_id: Any) -> Label:
    """Ask the carrier to void (refund) a void_requested label, then record it. Outside a transaction.

    Raises CarrierUnavailable (recorded on the label) for the task to retry. A refusal (the
    carrier already scanned the parcel) puts the label back to purchased, with the reason.
    """
    _assert_no_open_transaction()
    tenant = _tenant_row(tenant)
    label = Label.objects.for_tenant(tenant).get(pk=label_id)
    if label.state != L.VOID_REQUESTED:
        return label
    try:
        accepted = carrier_gateway_for(tenant, label.provider).void_label(transaction_id=label.transaction_id)
    except CarrierUnavailable as exc:
        _void_record(tenant, label.pk, error=str(exc))
        raise
    except DomainError as exc:
        return _void_record(
            tenant, label.pk, error=f"The carrier refused to void the label: {exc.message}", refused=True
        )
    if not accepted:
        _void_record(tenant, label.pk, error="The carrier did not confirm the void yet.")
        raise CarrierUnavailable("The carrier did not confirm the void yet.")
    return _void_record(tenant, label.pk)


def _void_record(tenant: Tenant, label_id: int, *, error: str = "", refused: bool = False) -> Label:
    with transaction.atomic():
        label = Label.objects.for_tenant(tenant).get(pk=label_id)
        shipment = locks.shipment_for_update(tenant=tenant, shipment_id=label.shipment_id)
        label = locks.label_for_update(tenant=tenant, label_id=label_id)
        if label.state != L.VOID_REQUESTED:
            return label
        if error and not refused:  # still void_requested: the task tries again
            label.error = error[:500]
            label.save(update_fields=["error", "updated_at"])
            shipment.last_error = label.error
            shipment.save(update_fields=["last_error", "updated_at"])
            return label
        before = label.state
        label.state = L.PURCHASED if refused else L.VOIDED
        label.error = error[:500]
        label.save(update_fields=["state", "error", "updated_at"])
        _audit(label, actor="task", action="void_refused" if refused else "voided", before=before)
        if refused:
            shipment.last_error = label.error
            shipment.save(update_fields=["last_error", "updated_at"])
        elif not label.is_return and shipment.state == ShipmentState.LABEL_PURCHASED:
            shipment.label_voided()  # staff voided it to buy another: packed again
            for name in ("carrier", "service", "tracking_number", "tracking_url", "label_url", "last_error"):
                setattr(shipment, name, "")
            shipment.save()
        return label
