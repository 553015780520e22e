"""The return label: bought from the fake Shippo over HTTP with the real SDK when a return is
authorized, emailed to the customer once, and its parcel's tracking moving the RMA."""

from __future__ import annotations

from django.core import mail

from fulfillment.carriers import TrackingUpdate
from fulfillment.models import Label
from fulfillment.tracking import return_label_find_by_tracking, return_label_tracking_apply
from integrations.models import InboundEvent
from returns.models import ReturnPolicy
from returns.notifications import return_label_email_send
from returns.services import return_tracking_update
from tests.returns.factories import authorized_return, open_return, shipped_order


def test_authorizing_buys_a_return_label_and_emails_it(
    tenant_a, shippo, shippo_account_a, django_capture_on_commit_callbacks
):
    order = shipped_order(tenant_a, delivered_days_ago=2)
    purchases = shippo.purchases

    with django_capture_on_commit_callbacks(execute=True):
        ret = authorized_return(order, ("RET-1", 1, "wrong_size"))

    ret.refresh_from_db()
    assert ret.state == "label_sent"
    label = Label.objects.for_tenant(tenant_a).get(pk=ret.label_id)
    assert label.is_return and label.state == "purchased" and label.shipment_id == ret.shipment_id
    assert shippo.purchases == purchases + 1
    assert ret.tracking_number == label.tracking_number != ""
    [email] = mail.outbox
    assert email.to == ["ana@example.com"]
    assert ret.rma_number in email.subject
    assert "Your prepaid return label is attached" in email.body
    assert "1 x Rain jacket (RET-1)" in email.body
    assert email.attachments and email.attachments[0][0].endswith(".pdf")
    assert ret.label_emailed_at is not None

    assert return_label_email_send(tenant=tenant_a, return_id=ret.pk) is False  # once
    assert len(mail.outbox) == 1


def test_the_return_parcels_tracking_moves_the_rma_to_in_transit(
    tenant_a, shippo, shippo_account_a, django_capture_on_commit_callbacks
):
    order = shipped_order(tenant_a, delivered_days_ago=2)
    with django_capture_on_commit_callbacks(execute=True):
        ret = authorized_return(order, ("RET-1", 1, "wrong_size"))
    ret.refresh_from_db()
    label = return_label_find_by_tracking(
        tenant=tenant_a, carrier=ret.carrier, tracking_number=ret.tracking_number
    )
    assert label is not None and label.pk == ret.label_id
    outbound = order.shipments.get()

    with django_capture_on_commit_callbacks(execute=True):
        return_label_tracking_apply(
            tenant=tenant_a,
            label_id=label.pk,
            update=TrackingUpdate(
                carrier=label.carrier,
                tracking_number=label.tracking_number,
                status="TRANSIT",
                status_details="Picked up",
                status_date=None,
            ),
            source="webhook",
        )

    ret.refresh_from_db()
    assert (ret.state, ret.tracking_status) == ("in_transit", "TRANSIT")
    assert order.shipments.get().state == outbound.state  # the outbound parcel is not touched
    return_tracking_update(tenant=tenant_a, label_id=label.pk, status="PRE_TRANSIT")  # late, older news
    ret.refresh_from_db()
    assert ret.state == "in_transit"


def test_without_return_labels_authorizing_buys_nothing(tenant_a, shippo, shippo_account_a):
    ReturnPolicy.objects.create(tenant=tenant_a, return_labels=False)
    order = shipped_order(tenant_a, delivered_days_ago=2)

    ret = authorized_return(order, ("RET-1", 1, "wrong_size"))

    assert ret.state == "authorized" and ret.label_id is None
    assert not Label.objects.for_tenant(tenant_a).filter(is_return=True).exists()


def test_another_tenants_tracking_number_matches_nothing(
    tenant_a, tenant_b, shippo, shippo_account_a, django_capture_on_commit_callbacks
):
    order = shipped_order(tenant_a, delivered_days_ago=2)
    with django_capture_on_commit_callbacks(execute=True):
        ret = authorized_return(order, ("RET-1", 1, "wrong_size"))
    ret.refresh_from_db()

    assert (
        return_label_find_by_tracking(tenant=tenant_b, carrier="", tracking_number=ret.tracking_number)
        is None
    )
    assert return_tracking_update(tenant=tenant_b, label_id=ret.label_id, status="TRANSIT") is None
    assert open_return(shipped_order(tenant_b, delivered_days_ago=1)).label_id is None


def test_shippos_webhook_for_the_return_parcel_moves_the_rma_to_in_transit(
    client, tenant_a, shippo, shippo_account_a, django_capture_on_commit_callbacks
):
    order = shipped_order(tenant_a, delivered_days_ago=2)
    with django_capture_on_commit_callbacks(execute=True):
        ret = authorized_return(order, ("RET-1", 1, "wrong_size"))
    ret.refresh_from_db()
    payload = shippo.advance(ret.tracking_number, "TRANSIT", emit=False)  # the carrier's first scan

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(shippo_account_a.webhook_path, data=payload, content_type="application/json")

    assert answer.status_code == 200, answer.content
    ret.refresh_from_db()
    assert (ret.state, ret.tracking_status) == ("in_transit", "TRANSIT")
    event = InboundEvent.objects.for_tenant(tenant_a).get(source="shippo")
    assert event.state == "processed" and "return parcel" in event.outcome
