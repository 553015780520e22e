"""Labels over real HTTP: the real shippo SDK against the fake Shippo, through the outbox and the task.

"Never two labels for one parcel": the fake's purchase counter is what the carrier would bill.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from fulfillment import labels as labels_module
from fulfillment.carriers import CarrierUnavailable
from fulfillment.labels import (
    LabelBusy,
    label_request,
    label_void_request,
    return_label_request,
    shipment_labels_void_on_cancel,
)
from fulfillment.locks import shipment_for_update
from fulfillment.models import FulfillmentSettings, Label, Shipment
from fulfillment.rates import shipment_rates_quote
from fulfillment.states import LabelState, RatePolicy, ShipmentState
from fulfillment.tasks import label_purchase_task, label_void_task
from integrations.shippo.gateway import ShippoGateway
from oms.core.errors import ConflictError, DomainError, NotFoundError
from oms.models import AuditEvent
from orders.models import Address
from tests.fulfillment.conftest import make_shipment


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def countdowns(monkeypatch):
    """The backoff of every retry the label tasks ask for, in order.

    Celery's eager mode runs a retry in-process (at once, the countdown noted) only when task
    errors do not propagate; the test settings propagate them, so this worker does not.
    """
    monkeypatch.setitem(label_purchase_task.app.conf, "task_eager_propagates", False)
    seen: list[int] = []
    for task in (label_purchase_task, label_void_task):
        original = task.retry

        def spy(*args, _original=original, **kwargs):
            seen.append(kwargs["countdown"])
            return _original(*args, **kwargs)

        monkeypatch.setattr(task, "retry", spy)
    return seen


@pytest.fixture
def buy(tenant_a, django_capture_on_commit_callbacks):
    """Ask for the label the way a page or the API does; the outbox runs the task on commit."""

    def run(shipment, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            label = label_request(tenant=tenant_a, shipment_id=shipment.pk, actor="user:picker", **kwargs)
        label.refresh_from_db()
        shipment.refresh_from_db()
        return label

    return run


def _cancel(shipment, django_capture_on_commit_callbacks):
    """What the cancel service does with the labels: in its transaction, shipment locked."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        locked = shipment_for_update(tenant=shipment.tenant_id, shipment_id=shipment.pk)
        locked.cancel(reason="customer changed their mind")
        locked.save()
        voiding = shipment_labels_void_on_cancel(locked, actor="user:manager")
    shipment.refresh_from_db()
    return voiding


# --- the happy path -------------------------------------------------------------------------------
def test_a_label_is_bought_once_and_the_shipment_carries_it(
    tenant_a, shippo, shippo_account_a, packed_shipment, buy, django_capture_on_commit_callbacks
):
    label = buy(packed_shipment)

    assert label.state == LabelState.PURCHASED
    assert label.reference == f"acme:shp{packed_shipment.pk}:L1"
    assert (label.carrier, label.service) == ("USPS", "usps_ground_advantage")  # the default: cheapest
    assert shippo.purchases == 1
    txn = shippo.transactions[label.transaction_id]
    assert txn["metadata"] == label.reference
    assert packed_shipment.state == ShipmentState.LABEL_PURCHASED
    assert packed_shipment.tracking_number == txn["tracking_number"] == label.tracking_number
    assert packed_shipment.tracking_url == txn["tracking_url_provider"]
    assert packed_shipment.label_url == label.label_url == txn["label_url"]
    assert packed_shipment.carrier == "USPS" and packed_shipment.last_error == ""
    with label.label_file.open("rb") as handle:
        assert handle.read(8) == b"%PDF-1.4"
    # tracking webhooks asked for, under our reference
    assert shippo.tracks[("usps", label.tracking_number)]["metadata"] == label.reference
    events = AuditEvent.objects.for_tenant(tenant_a).filter(
        object_type="fulfillment.label", object_id=str(label.pk)
    )
    assert list(events.order_by("pk").values_list("action", flat=True)) == [
        "label.requested",
        "label.rate_chosen",
        "label.purchased",
    ]

    # asking again: the same label, nothing enqueued, nothing bought
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = label_request(tenant=tenant_a, shipment_id=packed_shipment.pk)
    assert again.pk == label.pk and callbacks == []
    assert shippo.purchases == 1


def test_the_tenants_policy_picks_the_rate(tenant_a, shippo_account_a, packed_shipment, buy):
    FulfillmentSettings.objects.create(tenant=tenant_a, rate_policy=RatePolicy.FASTEST, label_file_type="PNG")

    label = buy(packed_shipment)

    assert label.service == "usps_priority_express"
    with label.label_file.open("rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert label.label_file.name.endswith(".png")


def test_staff_may_pick_one_of_the_quoted_rates(tenant_a, shippo, shippo_account_a, packed_shipment, buy):
    rates = shipment_rates_quote(tenant=tenant_a, shipment_id=packed_shipment.pk)
    ups = next(r for r in rates if r.service == "ups_ground")

    with pytest.raises(DomainError) as unknown:
        label_request(tenant=tenant_a, shipment_id=packed_shipment.pk, rate_id="rate_from_elsewhere")
    assert unknown.value.code == "unknown_rate"

    label = buy(packed_shipment, rate_id=ups.rate_id)
    assert (label.rate_id, label.service, label.amount) == (ups.rate_id, "ups_ground", ups.amount)
    assert packed_shipment.carrier == "UPS" and packed_shipment.tracking_number.startswith("1Z")
    assert len(shippo.shipments) == 1  # the stored quote was used


def test_only_a_packed_shipment_gets_a_label(tenant_a, shippo, shippo_account_a, order_a, warehouses):
    picking = make_shipment(order_a, warehouses[2], state=ShipmentState.PICKING)
    with pytest.raises(ConflictError) as refused:
        label_request(tenant=tenant_a, shipment_id=picking.pk)
    assert refused.value.code == "shipment_not_packed"
    assert not Label.objects.for_tenant(tenant_a).exists()
    assert shippo.requests == []


def test_a_label_file_that_cannot_be_fetched_leaves_the_url(
    tenant_a, shippo, shippo_account_a, packed_shipment, buy, monkeypatch
):
    def unreachable(self, *, label_url):
        raise CarrierUnavailable("The label file could not be fetched: ConnectTimeout")

    monkeypatch.setattr(ShippoGateway, "download_label", unreachable)
    label = buy(packed_shipment)
    assert label.state == LabelState.PURCHASED
    assert not label.label_file
    assert label.label_url.startswith(shippo.url)


# --- unknown outcomes: never two labels -----------------------------------------------------------
def test_a_task_that_dies_after_the_purchase_is_retried_into_the_same_label(
    tenant_a, shippo, shippo_account_a, packed_shipment, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=False):
        label = label_request(tenant=tenant_a, shipment_id=packed_shipment.pk)
    record = labels_module._label_record

    def dies(*args, **kwargs):
        raise RuntimeError("worker killed between the carrier's answer and our commit")

    monkeypatch.setattr(labels_module, "_label_record", dies)
    with pytest.raises(RuntimeError):
        label_purchase_task(tenant_id=tenant_a.pk, label_id=label.pk)
    assert shippo.purchases == 1
    label.refresh_from_db()
    assert label.state == LabelState.PENDING and label.transaction_id == ""

    monkeypatch.setattr(labels_module, "_label_record", record)
    label_purchase_task(tenant_id=tenant_a.pk, label_id=label.pk)

    label.refresh_from_db()
    assert label.state == LabelState.PURCHASED
    assert shippo.purchases == 1
    assert list(shippo.transactions) == [label.transaction_id]
    assert label.attempts == 2


def test_a_killed_worker_holds_the_label_until_its_lease_lapses(
    tenant_a, shippo, shippo_account_a, packed_shipment, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=False):
        label = label_request(tenant=tenant_a, shipment_id=packed_shipment.pk)

    def killed(*args, **kwargs):
        raise SystemExit("SIGKILL")

    monkeypatch.setattr(labels_module, "_label_record", killed)
    monkeypatch.setattr(labels_module, "_release", lambda label: None)  # a killed process cleans nothing
    with pytest.raises(SystemExit):
        label_purchase_task(tenant_id=tenant_a.pk, label_id=label.pk)
    monkeypatch.undo()

    # the broker hands the message to another worker while the lease is live: it does not buy
    with pytest.raises(LabelBusy):
        label_purchase_task(tenant_id=tenant_a.pk, label_id=label.pk)
    assert shippo.purchases == 1

    Label.objects.for_tenant(tenant_a).filter(pk=label.pk).update(locked_until=timezone.now())
    label_purchase_task(tenant_id=tenant_a.pk, label_id=label.pk)
    label.refresh_from_db()
    assert label.state == LabelState.PURCHASED and shippo.purchases == 1


def test_an_answer_lost_on_the_way_back_is_found_by_our_reference(
    tenant_a, shippo, shippo_account_a, packed_shipment, buy, countdowns
):
    shippo.drop_next(1, method="POST", path="/transactions", after=True)

    label = buy(packed_shipment)

    assert label.state == LabelState.PURCHASED
    assert countdowns == [2]
    assert shippo.purchases == 1
    assert label.transaction_id in shippo.transactions
    assert packed_shipment.state == ShipmentState.LABEL_PURCHASED


# --- the carrier unavailable: backoff, the shipment stays packed, staff see why -------------------
def test_a_5xx_is_retried_with_backoff_until_the_label_is_bought(
    tenant_a, shippo, shippo_account_a, packed_shipment, buy, countdowns
):
    shippo.fail_next(3, status=503)

    label = buy(packed_shipment)

    assert countdowns == [2, 4, 8]
    assert label.state == LabelState.PURCHASED and label.attempts == 4
    assert label.error == ""
    assert packed_shipment.state == ShipmentState.LABEL_PURCHASED and packed_shipment.last_error == ""
    assert shippo.purchases == 1


def test_between_attempts_the_shipment_stays_packed_and_shows_the_error(
    tenant_a, shippo, shippo_account_a, packed_shipment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        label = label_request(tenant=tenant_a, shipment_id=packed_shipment.pk)
    shippo.fail_next(1, status=500)

    with pytest.raises(CarrierUnavailable):
        label_purchase_task(tenant_id=tenant_a.pk, label_id=label.pk)

    label.refresh_from_db()
    packed_shipment.refresh_from_db()
    assert label.state == LabelState.PENDING and label.locked_until is None
    assert label.error == "Shippo answered 500; try again"
    assert packed_shipment.state == ShipmentState.PACKED
    assert packed_shipment.last_error == "Shippo answered 500; try again"


def test_shippo_answering_5xx_for_good_fails_the_label_after_the_last_attempt(
    tenant_a, shippo, shippo_account_a, packed_shipment, buy, countdowns
):
    shippo.fail_next(100, status=502)

    label = buy(packed_shipment)

    assert countdowns == [2, 4, 8, 16, 32]
    assert label.state == LabelState.FAILED and label.attempts == 6
    assert label.error == "Shippo answered 502; try again"
    assert packed_shipment.state == ShipmentState.PACKED
    assert packed_shipment.last_error == "Shippo answered 502; try again"
    assert shippo.purchases == 0


def test_shippo_refusing_connections_keeps_the_shipment_packed_with_the_error(
    tenant_a, shippo, shippo_account_a, packed_shipment, buy, countdowns
):
    shippo.stop()
    try:
        label = buy(packed_shipment)
    finally:
        shippo.start()

    assert countdowns == [2, 4, 8, 16, 32]
    assert label.state == LabelState.FAILED
    assert packed_shipment.state == ShipmentState.PACKED
    assert packed_shipment.last_error == "Shippo could not be reached: ConnectionError"

    # the carrier is back: staff ask again and get a label
    label = buy(packed_shipment)
    assert label.state == LabelState.PURCHASED and label.reference.endswith(":L2")
    assert shippo.purchases == 1


def test_a_refused_address_fails_the_label_at_once_with_the_carriers_words(
    tenant_a, shippo, shippo_account_a, packed_shipment, buy, countdowns
):
    Address.objects.for_tenant(tenant_a).filter(pk=packed_shipment.order.ship_to_id).update(line1="")

    label = buy(packed_shipment)

    assert countdowns == []
    assert label.state == LabelState.FAILED
    assert label.error == "No rates: Recipient: The street address is missing."
    assert packed_shipment.state == ShipmentState.PACKED
    assert packed_shipment.last_error == "No rates: Recipient: The street address is missing."


def test_a_rate_the_carrier_no_longer_knows_fails_the_label(
    tenant_a, shippo, shippo_account_a, packed_shipment, buy, countdowns
):
    rate = shipment_rates_quote(tenant=tenant_a, shipment_id=packed_shipment.pk)[0]
    shippo.rates.clear()  # expired at the carrier

    label = buy(packed_shipment, rate_id=rate.rate_id)

    assert countdowns == []
    assert label.state == LabelState.FAILED
    assert label.error == f"Shippo refused the request (400): rate: Rate {rate.rate_id} not found."
    assert packed_shipment.last_error == label.error


# --- voids ----------------------------------------------------------------------------------------
def test_cancelling_a_shipment_voids_its_label(
    tenant_a, shippo, shippo_account_a, packed_shipment, buy, django_capture_on_commit_callbacks
):
    label = buy(packed_shipment)

    voiding = _cancel(packed_shipment, django_capture_on_commit_callbacks)

    assert [v.pk for v in voiding] == [label.pk]
    label.refresh_from_db()
    assert label.state == LabelState.VOIDED
    assert shippo.transactions[label.transaction_id]["status"] == "REFUNDED"
    assert len(shippo.refunds) == 1
    assert packed_shipment.state == ShipmentState.CANCELLED


def test_a_void_the_carrier_cannot_reach_is_retried(
    tenant_a, shippo, shippo_account_a, packed_shipment, buy, countdowns, django_capture_on_commit_callbacks
):
    label = buy(packed_shipment)
    shippo.fail_next(2, status=503, path="/refunds")

    _cancel(packed_shipment, django_capture_on_commit_callbacks)

    label.refresh_from_db()
    assert countdowns == [2, 4]
    assert label.state == LabelState.VOIDED and len(shippo.refunds) == 1


def test_a_label_already_scanned_cannot_be_voided_and_staff_see_why(
    tenant_a, shippo, shippo_account_a, packed_shipment, buy, django_capture_on_commit_callbacks
):
    label = buy(packed_shipment)
    shippo.advance(label.tracking_number, "TRANSIT", emit=False)

    _cancel(packed_shipment, django_capture_on_commit_callbacks)

    label.refresh_from_db()
    assert label.state == LabelState.PURCHASED
    assert "scanned by the carrier" in label.error
    assert packed_shipment.last_error == label.error


def test_a_label_still_to_be_bought_for_a_cancelled_shipment_is_not_bought(
    tenant_a, shippo, shippo_account_a, packed_shipment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as purchase:
        label = label_request(tenant=tenant_a, shipment_id=packed_shipment.pk)
    _cancel(packed_shipment, django_capture_on_commit_callbacks)

    for callback in purchase:
        callback()

    label.refresh_from_db()
    assert label.state == LabelState.FAILED
    assert label.error == "The shipment is cancelled: no label was bought."
    assert shippo.purchases == 0


def test_a_label_bought_while_the_shipment_was_cancelled_is_voided(
    tenant_a, shippo, shippo_account_a, packed_shipment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        label = label_request(tenant=tenant_a, shipment_id=packed_shipment.pk)
    shippo.drop_next(1, method="POST", path="/transactions", after=True)
    with pytest.raises(CarrierUnavailable):  # bought, but we never heard
        label_purchase_task(tenant_id=tenant_a.pk, label_id=label.pk)

    _cancel(packed_shipment, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        label_purchase_task(tenant_id=tenant_a.pk, label_id=label.pk)

    label.refresh_from_db()
    assert label.state == LabelState.VOIDED
    assert shippo.purchases == 1 and len(shippo.refunds) == 1
    assert packed_shipment.state == ShipmentState.CANCELLED


def test_staff_void_a_label_to_buy_another(
    tenant_a, shippo, shippo_account_a, packed_shipment, buy, django_capture_on_commit_callbacks
):
    first = buy(packed_shipment)

    with django_capture_on_commit_callbacks(execute=True):
        label_void_request(tenant=tenant_a, shipment_id=packed_shipment.pk, actor="user:picker")
    packed_shipment.refresh_from_db()
    first.refresh_from_db()
    assert first.state == LabelState.VOIDED
    assert packed_shipment.state == ShipmentState.PACKED
    assert packed_shipment.tracking_number == "" and packed_shipment.carrier == ""

    second = buy(packed_shipment)
    assert second.pk != first.pk and second.reference.endswith(":L2")
    assert packed_shipment.tracking_number == second.tracking_number
    assert shippo.purchases == 2 and len(shippo.refunds) == 1


# --- return labels --------------------------------------------------------------------------------
def test_a_return_label_runs_from_the_customer_to_the_warehouse_once_per_return(
    tenant_a, shippo, shippo_account_a, packed_shipment, buy, django_capture_on_commit_callbacks
):
    outbound = buy(packed_shipment)
    Shipment.objects.for_tenant(tenant_a).filter(pk=packed_shipment.pk).update(state=ShipmentState.DELIVERED)

    with django_capture_on_commit_callbacks(execute=True):
        label = return_label_request(tenant=tenant_a, shipment_id=packed_shipment.pk, key="RMA-1001")
    with django_capture_on_commit_callbacks(execute=True) as again:
        same = return_label_request(tenant=tenant_a, shipment_id=packed_shipment.pk, key="RMA-1001")

    label.refresh_from_db()
    assert same.pk == label.pk and again == []
    assert label.is_return and label.state == LabelState.PURCHASED
    assert label.reference == f"acme:shp{packed_shipment.pk}:R-RMA-1001"
    sent = shippo.shipments[shippo.rates[label.rate_id]["shipment"]]
    assert sent["extra"] == {"is_return": True}
    assert shippo.purchases == 2
    packed_shipment.refresh_from_db()
    assert packed_shipment.state == ShipmentState.DELIVERED
    assert packed_shipment.tracking_number == outbound.tracking_number


def test_a_return_label_needs_a_shipment_that_left(tenant_a, shippo_account_a, packed_shipment):
    with pytest.raises(ConflictError) as refused:
        return_label_request(tenant=tenant_a, shipment_id=packed_shipment.pk, key="RMA-1")
    assert refused.value.code == "shipment_not_shipped"


# --- the tenant wall ------------------------------------------------------------------------------
def test_another_tenants_task_cannot_buy_or_void_this_tenants_label(
    tenant_a,
    tenant_b,
    shippo,
    shippo_account_a,
    shippo_account_b,
    packed_shipment,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False):
        label = label_request(tenant=tenant_a, shipment_id=packed_shipment.pk)

    with pytest.raises(Label.DoesNotExist):
        label_purchase_task(tenant_id=tenant_b.pk, label_id=label.pk)
    with pytest.raises(Label.DoesNotExist):
        label_void_task(tenant_id=tenant_b.pk, label_id=label.pk)
    with pytest.raises(NotFoundError):
        label_request(tenant=tenant_b, shipment_id=packed_shipment.pk)
    with pytest.raises(NotFoundError):
        label_void_request(tenant=tenant_b, shipment_id=packed_shipment.pk)
    with pytest.raises(NotFoundError):
        return_label_request(tenant=tenant_b, shipment_id=packed_shipment.pk, key="RMA-1")

    label.refresh_from_db()
    assert label.state == LabelState.PENDING and label.attempts == 0
    assert shippo.requests == []
    assert not Label.objects.for_tenant(tenant_b).exists()
