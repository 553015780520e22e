"""The pack page: the parcel prefilled, rates quoted from the fake Shippo (real SDK, real HTTP),
the label bought through the outbox (pending, then bought with its tracking number, or the
carrier's error shown), the label printed, the packing slip, and shipping."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fulfillment.labels import label_purchase
from fulfillment.models import Label
from fulfillment.states import LabelState, ShipmentState
from oms.models import Role
from tests.fulfillment.pages_world import assign
from tests.worlds import staff


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def packer(client, tenant_a, packed_shipment):
    user = staff(tenant_a, Role.WAREHOUSE, "packer@acme.test")
    assign(user, tenant_a, packed_shipment.warehouse)
    client.force_login(user)
    return client


def page_of(shipment, name="pack"):
    return reverse(f"warehouse:{name}", args=[shipment.warehouse_id, shipment.pk])


def text(response) -> str:
    return response.content.decode()


def test_the_pack_page_shows_the_contents_and_the_parcel(packer, packed_shipment):
    page = packer.get(page_of(packed_shipment))
    assert page.status_code == 200
    html = text(page)
    assert packed_shipment.number in html and "SKU-123" in html
    assert page.context["parcel_form"].initial == {
        "weight_grams": 1200,
        "length_mm": 300,
        "width_mm": 200,
        "height_mm": 120,
    }
    assert "Buy label" in html  # packed: a label may be bought


def test_rates_are_quoted_and_the_policys_choice_is_named(packer, shippo_account_a, packed_shipment):
    response = packer.post(page_of(packed_shipment, "rates_quote"), follow=True)
    packed_shipment.refresh_from_db()
    assert len(packed_shipment.rates) >= 3
    html = text(response)
    for rate in packed_shipment.rates:
        assert rate["rate_id"] in html
    assert "Cheapest:" in html  # the tenant's policy, in words, before anything is bought


def test_buying_a_label_shows_it_pending_then_the_tracking_number(
    packer, tenant_a, shippo, shippo_account_a, packed_shipment, django_capture_on_commit_callbacks
):
    # the request writes the intent; the purchase runs after the commit (here: not yet)
    with django_capture_on_commit_callbacks(execute=False):
        response = packer.post(page_of(packed_shipment, "label_buy"), {"rate_id": ""}, follow=True)
    html = text(response)
    assert "Buying the label" in html
    assert '<meta http-equiv="refresh" content="3">' in html
    assert shippo.purchases == 0

    label = Label.objects.for_tenant(tenant_a).get(shipment=packed_shipment)
    label_purchase(tenant=tenant_a, label_id=label.pk)

    page = packer.get(page_of(packed_shipment))
    html = text(page)
    packed_shipment.refresh_from_db()
    assert packed_shipment.state == ShipmentState.LABEL_PURCHASED
    assert packed_shipment.tracking_number and packed_shipment.tracking_number in html
    assert "http-equiv" not in html
    assert "Mark shipped" in html
    printed = packer.get(page_of(packed_shipment, "label_file"))
    assert printed.status_code == 200
    assert b"".join(printed.streaming_content).startswith(b"%PDF")
    assert shippo.purchases == 1


def test_a_carrier_outage_is_shown_on_the_page_and_the_shipment_stays_packed(
    packer, tenant_a, shippo, shippo_account_a, packed_shipment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        packer.post(page_of(packed_shipment, "label_buy"), {"rate_id": ""})
    label = Label.objects.for_tenant(tenant_a).get(shipment=packed_shipment)
    shippo.fail_next(1, status=503)
    with pytest.raises(Exception, match="503"):
        label_purchase(tenant=tenant_a, label_id=label.pk)

    html = text(packer.get(page_of(packed_shipment)))
    packed_shipment.refresh_from_db()
    assert packed_shipment.state == ShipmentState.PACKED
    assert "data-last-error>\n  Shippo answered 503; try again" in html
    assert "Buying the label" in html  # the task tries again


def test_quoting_while_the_carrier_is_down_says_so(packer, shippo, shippo_account_a, packed_shipment):
    shippo.fail_next(5, status=502)
    html = text(packer.post(page_of(packed_shipment, "rates_quote"), follow=True))
    assert "The carrier could not be reached" in html
    assert "data-last-error" in html
    packed_shipment.refresh_from_db()
    assert packed_shipment.rates == []


def test_a_rate_that_is_not_quoted_is_refused_with_the_services_words(
    packer, tenant_a, shippo_account_a, packed_shipment
):
    html = text(packer.post(page_of(packed_shipment, "label_buy"), {"rate_id": "rate_made_up"}, follow=True))
    assert "That rate is not one of this shipment&#x27;s quoted rates" in html
    assert not Label.objects.for_tenant(tenant_a).filter(shipment=packed_shipment).exists()


def test_the_packing_slip_lists_the_order_and_its_address(packer, packed_shipment):
    slip = packer.get(page_of(packed_shipment, "packing_slip"))
    html = text(slip)
    assert slip.status_code == 200
    assert "Packing slip" in html and packed_shipment.order.number in html
    assert "Ana Lima" in html and "78701" in html
    assert "packing_slip.css" in html  # its own print stylesheet
    assert "scan.js" not in html  # no scanner on paper


def test_no_label_bought_means_nothing_to_print(packer, packed_shipment):
    assert packer.get(page_of(packed_shipment, "label_file")).status_code == 404


def test_a_label_bought_elsewhere_prints_from_the_carriers_url(packer, tenant_a, packed_shipment):
    Label.objects.create(
        tenant=tenant_a,
        shipment=packed_shipment,
        reference="ext-1",
        state=LabelState.PURCHASED,
        label_url="https://labels.example.test/1.pdf",
    )
    printed = packer.get(page_of(packed_shipment, "label_file"))
    assert (printed.status_code, printed["Location"]) == (302, "https://labels.example.test/1.pdf")


def test_mark_shipped_once_the_label_is_bought(
    packer, tenant_a, shippo, shippo_account_a, packed_shipment, django_capture_on_commit_callbacks
):
    html = text(packer.get(page_of(packed_shipment)))
    assert "Mark shipped" not in html  # no label yet
    with django_capture_on_commit_callbacks(execute=True):
        packer.post(page_of(packed_shipment, "label_buy"), {"rate_id": ""})
    with django_capture_on_commit_callbacks(execute=True):
        response = packer.post(page_of(packed_shipment, "ship"), follow=True)
    packed_shipment.refresh_from_db()
    assert packed_shipment.state == ShipmentState.SHIPPED
    html = text(response)
    assert f"{packed_shipment.number} shipped." in html
    assert packed_shipment.tracking_number in html
    order = packed_shipment.order
    order.refresh_from_db()
    assert order.state == "shipped"
