"""A tenant with one row of every kind the admin shows, every text marked with the tenant's tag.

Used by the admin sweep (both tenants' rows present, only one's visible) and the role matrix.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from fulfillment.models import (
    FulfillmentSettings,
    Label,
    Parcel,
    PickList,
    Shipment,
    TrackingEvent,
    WarehouseAssignment,
)
from fulfillment.services import order_release_to_warehouse
from integrations.inbox import inbound_event_reject
from integrations.models import ChannelAccount, ChannelOrder, ChannelStock, SkuMapping
from inventory.allocation import ShipTo
from inventory.services import inbound_create, reservation_create
from notifications.models import (
    EmailNotification,
    EmailTemplate,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from oms.core.audit import audit_record
from oms.models import Membership, Role
from oms.services import api_key_create
from orders.payments.services import payment_authorize
from orders.services import order_create, order_hold
from returns.models import (
    ReturnExchangeLine,
    ReturnLine,
    ReturnPolicy,
    ReturnReceipt,
    ReturnRefund,
    ReturnRequest,
)
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.oms.factories import UserFactory
from tests.oms.security.factories import sign_in_records
from tests.orders.conftest import AUSTIN, order_input
from tests.orders.payments.factories import make_stripe_account


def staff(tenant: Any, role: str, email: str) -> Any:
    user = UserFactory(username=email, email=email, is_staff=True)
    Membership.objects.create(tenant=tenant, user=user, role=role)
    return user


def build_world(tenant: Any, tag: str) -> dict[str, Any]:
    """One row of every admin'd model for `tenant`; `tag` (e.g. "GLOBEX") is in every row's text."""
    low = tag.lower()
    warehouse = WarehouseFactory(tenant=tenant, code=f"{tag}-WH", name=f"{tag} depot", postal_code="75201")
    sku = SKUFactory(tenant=tenant, code="SKU-123", name=f"{tag} shoe")
    stock(tenant, sku, warehouse, 10)
    order, _ = order_create(
        tenant=tenant,
        data=order_input(
            f"{tag}-ORDER",
            customer={"email": f"buyer@{low}.test", "name": f"{tag} buyer"},
            ship_to={**AUSTIN, "name": f"{tag} buyer"},
        ),
    )
    order_hold(tenant=tenant, order_id=order.pk, kind="fraud", reason=f"{tag} review")
    payment = payment_authorize(tenant=tenant, order=order, provider="sandbox", payment_method="pm_card_visa")
    reservation = reservation_create(
        tenant=tenant,
        lines=[(sku.pk, 1)],
        ship_to=ShipTo(country="US", postal_code="78701"),
        ttl_seconds=600,
        reference=f"{tag}-cart",
    )
    inbound = inbound_create(
        tenant=tenant, warehouse_id=warehouse.pk, lines=[(sku.pk, 5)], reference=f"{tag}-PO"
    )
    audit_record(tenant=tenant, actor=None, action=f"{low}.event", object_type="x", object_id="1")
    account = make_stripe_account(tenant, "http://127.0.0.1:9", name=f"{tag} stripe")
    event = inbound_event_reject(
        account=account, headers={}, body=f'{{"id": "{tag}-evt"}}', error="signature"
    )
    shop = ChannelAccount.objects.create(
        tenant=tenant, kind="shopify", name=f"{tag} shop", credentials="shpat_x", webhook_secret="shpss_x"
    )
    SkuMapping.objects.create(tenant=tenant, account=shop, channel_sku=f"{tag}-SHOE", sku=sku)
    ChannelOrder.objects.create(
        tenant=tenant, account=shop, external_id=f"{tag}-SHOP-1", name=f"#{tag}-1", order=order
    )
    ChannelStock.objects.create(tenant=tenant, account=shop, sku=sku, wanted_quantity=9, error=f"{tag} stock")
    owner = staff(tenant, Role.OWNER, f"owner@{low}.test")
    api_key_create(tenant=tenant, name=f"{tag} storefront", role=Role.MANAGER)
    fulfillment = _fulfillment_world(tenant, tag, warehouse)
    returns = _returns_world(tenant, tag, order, warehouse, payment)
    _notifications_world(tenant, tag)
    return {
        "tenant": tenant,
        "warehouse": warehouse,
        "sku": sku,
        "order": order,
        "payment": payment,
        "reservation": reservation,
        "inbound": inbound,
        "account": account,
        "event": event,
        "owner": owner,
        **sign_in_records(owner),  # the owner's device, failed sign-ins and sign-in (by model label)
        **fulfillment,
        **returns,
    }


def _fulfillment_world(tenant: Any, tag: str, warehouse: Any) -> dict[str, Any]:
    """A second order, shipped from `warehouse` on a pick list with a label and a tracking event;
    the tenant's fulfillment settings; a picker who works in the warehouse."""
    low = tag.lower()
    order, _ = order_create(
        tenant=tenant,
        data=order_input(
            f"{tag}-SHIP",
            customer={"email": f"shipto@{low}.test", "name": f"{tag} shipto"},
            ship_to={**AUSTIN, "name": f"{tag} shipto"},
        ),
    )
    pick_list = PickList.objects.create(
        tenant=tenant, warehouse=warehouse, filters={"carrier": f"{tag} post"}, created_by=f"{tag} lead"
    )
    [shipment] = order_release_to_warehouse(tenant=tenant, order_id=order.pk, actor=f"{tag} lead")
    # Picked, packed and labelled on the floor (written here as the pages and the label task would).
    Shipment.objects.for_tenant(tenant).filter(pk=shipment.pk).update(
        state="label_purchased",
        pick_list=pick_list,
        carrier=f"{tag} post",
        service=f"{low}_ground",
        tracking_number=f"{tag}-TRK-1",
        tracking_url=f"https://track.example/{low}/1",
        label_url=f"https://labels.example/{low}/1.pdf",
    )
    shipment.refresh_from_db()
    Parcel.objects.create(tenant=tenant, shipment=shipment, weight_grams=1200, length_mm=300)
    label = Label.objects.create(
        tenant=tenant,
        shipment=shipment,
        reference=f"{low}:shp{shipment.pk}:L1",
        state="purchased",
        carrier=f"{tag} post",
        tracking_number=f"{tag}-TRK-1",
        label_url=f"https://labels.example/{low}/1.pdf",
        requested_by=f"{tag} lead",
    )
    event = TrackingEvent.objects.create(
        tenant=tenant,
        shipment=shipment,
        status="PRE_TRANSIT",
        status_details=f"{tag} label created",
        status_date=timezone.now(),
    )
    settings = FulfillmentSettings.objects.create(tenant=tenant, shipped_email_subject=f"{tag} shipped")
    picker = staff(tenant, Role.WAREHOUSE, f"world.picker@{low}.test")
    assignment = WarehouseAssignment.objects.create(
        tenant=tenant, membership=Membership.objects.for_tenant(tenant).get(user=picker), warehouse=warehouse
    )
    return {
        "ship_order": order,
        "pick_list": pick_list,
        "shipment": shipment,
        "label": label,
        "tracking_event": event,
        "fulfillment_settings": settings,
        "picker": picker,
        "assignment": assignment,
    }


def _returns_world(tenant: Any, tag: str, order: Any, warehouse: Any, payment: Any) -> dict[str, Any]:
    """A return of the first order's line, received (one unit restocked), with a refused refund and
    an exchange line; the tenant's return policy. (Rows written as the services would.)"""
    line = order.lines.order_by("pk").first()
    ret = ReturnRequest.objects.create(
        tenant=tenant,
        order=order,
        rma_number=f"{tag}-RMA-1",
        state="received",
        warehouse=warehouse,
        customer_note=f"{tag} too small",
        created_by=f"{tag} desk",
    )
    return_line = ReturnLine.objects.create(
        tenant=tenant,
        return_request=ret,
        order_line=line,
        sku=line.sku,
        quantity=1,
        reason="wrong_size",
        note=f"{tag} note",
        quantity_received=1,
    )
    ReturnReceipt.objects.create(
        tenant=tenant,
        line=return_line,
        quantity=1,
        condition="new",
        disposition="restock",
        warehouse=warehouse,
        received_by=f"{tag} dock",
    )
    ReturnExchangeLine.objects.create(tenant=tenant, return_request=ret, sku=line.sku, quantity=1)
    ReturnRefund.objects.create(
        tenant=tenant,
        return_request=ret,
        payment=payment,
        amount="1.00",
        state="failed",
        error=f"{tag} declined",
    )
    policy = ReturnPolicy.objects.create(tenant=tenant)
    return {"return": ret, "return_policy": policy}


def _notifications_world(tenant: Any, tag: str) -> None:
    """A webhook endpoint with one delivery of an event, and an email template of the tenant's own."""
    low = tag.lower()
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant,
        url=f"https://erp.{low}.test/oms",
        description=f"{tag} ERP",
        events=["order.created"],
        secret=f"{low}-signing-secret-0123456789",
    )
    event = WebhookEvent.objects.create(tenant=tenant, type="order.created", refs={}, data={"tag": tag})
    WebhookDelivery.objects.create(tenant=tenant, event=event, endpoint=endpoint, last_error=f"{tag} 500")
    EmailNotification.objects.create(
        tenant=tenant, kind="refund_issued", key=f"return:{tag}", state="sent", recipients=f"buyer@{low}.test"
    )
    EmailTemplate.objects.create(
        tenant=tenant, kind="order_confirmed", subject=f"{tag}: order {{{{ order_number }}}}", body="Thanks"
    )


def _put(data: dict[str, Any], key: str, field: forms.Field, value: Any) -> None:
    if isinstance(field, forms.SplitDateTimeField):
        if value:
            data[f"{key}_0"], data[f"{key}_1"] = value.date().isoformat(), value.time().isoformat()
        return
    if isinstance(field, forms.BooleanField):
        if value:
            data[key] = "on"
        return
    value = field.prepare_value(value)
    if value is None:
        return
    data[key] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)


def admin_form_data(response: Any) -> dict[str, Any]:
    """The change form as a browser would submit it, unchanged (main form and inlines)."""
    data: dict[str, Any] = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        _put(data, form.add_prefix(name), field, form[name].value())
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for inline_form in formset.forms:
            for name, field in inline_form.fields.items():
                _put(data, inline_form.add_prefix(name), field, inline_form[name].value())
    return data
