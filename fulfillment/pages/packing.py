"""The pack page of a shipment: confirm the contents, weigh and measure, buy and print the label,
print the packing slip, mark it shipped. And the packing slip and the stored label file."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from fulfillment import labels, rates, services
from fulfillment.forms import LabelForm, ParcelForm, ScanForm
from fulfillment.models import Label, Parcel, Shipment, ShipmentLine
from fulfillment.pages.access import warehouse_or_404
from fulfillment.pages.common import attempt, form_errors
from fulfillment.states import LIVE_LABEL, LabelState, ShipmentState
from oms.core.permissions import capability_required
from oms.core.roles import Capability

WORK = Capability.FULFILLMENT_WORK
# The box is open (items are scanned into it) until the shipment is packed.
BOX_OPEN = (ShipmentState.PENDING, ShipmentState.PICKING)
# While a label is being bought the page looks again every few seconds (no JavaScript needed).
PENDING_REFRESH_SECONDS = 3


def shipment_or_404(request: HttpRequest, warehouse: Any, shipment_id: int) -> Shipment:
    shipment = (
        Shipment.objects.for_tenant(request.tenant)  # type: ignore[attr-defined]
        .filter(warehouse=warehouse, pk=shipment_id)
        .select_related("order", "order__ship_to", "order__customer")
        .first()
    )
    if shipment is None:
        raise Http404("No such shipment.")
    return shipment


def shipment_lines(tenant: Any, shipment: Shipment) -> list[ShipmentLine]:
    lines = list(
        ShipmentLine.objects.for_tenant(tenant)
        .filter(shipment=shipment)
        .select_related("sku", "order_line")
        .order_by("sku__code", "pk")
    )
    for line in lines:
        # At the bench a pending shipment is picked and packed in one go: all of it may go in the box.
        ready = line.quantity if shipment.state == ShipmentState.PENDING else line.quantity_picked
        line.ready = ready  # type: ignore[attr-defined]
        line.to_pack = max(ready - line.quantity_packed, 0)  # type: ignore[attr-defined]
    return lines


def parcel_initial(tenant: Any, shipment: Shipment, lines: list[ShipmentLine]) -> dict[str, int]:
    """The parcel already recorded, else an estimate from the SKUs: their weights added, the
    largest length and width, the heights stacked."""
    parcel = Parcel.objects.for_tenant(tenant).filter(shipment=shipment).order_by("pk").first()
    if parcel is not None:
        return {
            "weight_grams": parcel.weight_grams,
            "length_mm": parcel.length_mm,
            "width_mm": parcel.width_mm,
            "height_mm": parcel.height_mm,
        }
    units = [(line.sku, line.ready) for line in lines]  # type: ignore[attr-defined]
    estimate = {
        "weight_grams": sum(sku.weight_grams * n for sku, n in units),
        "length_mm": max((sku.length_mm for sku, _ in units), default=0),
        "width_mm": max((sku.width_mm for sku, _ in units), default=0),
        "height_mm": sum(sku.height_mm * n for sku, n in units),
    }
    return {name: value for name, value in estimate.items() if value}  # unknown: left for the scale


def current_label(tenant: Any, shipment: Shipment) -> Label | None:
    """The live label (requested or bought), else the last one tried."""
    labels = Label.objects.for_tenant(tenant).filter(shipment=shipment, is_return=False)
    return labels.filter(state__in=LIVE_LABEL).first() or labels.order_by("-created_at", "-pk").first()


def policy_choice(tenant: Any, shipment: Shipment) -> str:
    """What the tenant's rate policy would buy from the quoted rates (no carrier call)."""
    quoted = rates.rates_of(shipment)
    if not quoted:
        return ""
    choice = rates.rate_choose(
        quoted,
        policy=rates.fulfillment_settings(tenant).rate_policy,
        service_level=shipment.service_level or shipment.order.service_level,
        promised_date=shipment.promised_date,
    )
    return choice.reason


def pack_context(
    request: HttpRequest, warehouse: Any, shipment: Shipment, parcel_form: ParcelForm | None = None
) -> dict[str, Any]:
    tenant = request.tenant  # type: ignore[attr-defined]
    lines = shipment_lines(tenant, shipment)
    label = current_label(tenant, shipment)
    label_pending = label is not None and label.state == LabelState.PENDING
    units_to_pack = sum(line.to_pack for line in lines)  # type: ignore[attr-defined]
    kwargs = {"warehouse_id": warehouse.pk, "shipment_id": shipment.pk}
    return {
        "warehouse": warehouse,
        "shipment": shipment,
        "order": shipment.order,
        "lines": lines,
        "units_to_pack": units_to_pack,
        "units_ready": sum(line.ready for line in lines),  # type: ignore[attr-defined]
        "units_packed": sum(line.quantity_packed for line in lines),
        "parcel_form": parcel_form or ParcelForm(initial=parcel_initial(tenant, shipment, lines)),
        "rates": shipment.rates or [],
        "policy_choice": policy_choice(tenant, shipment),
        "label_form": LabelForm(),
        "label": label,
        "label_pending": label_pending,
        "refresh_seconds": PENDING_REFRESH_SECONDS if label_pending else None,
        "can_pack": shipment.state in (ShipmentState.PENDING, ShipmentState.PICKING, ShipmentState.PACKED),
        "can_buy_label": shipment.state == ShipmentState.PACKED and not label_pending,
        "can_ship": shipment.state == ShipmentState.LABEL_PURCHASED,
        "scan_form": ScanForm(),
        "scan_action": reverse("warehouse:pack_scan", kwargs=kwargs),
        "scan_enabled": units_to_pack > 0
        and shipment.state in (ShipmentState.PENDING, ShipmentState.PICKING),
    }


@capability_required(WORK)
@require_GET
def pack_page(request: HttpRequest, warehouse_id: int, shipment_id: int) -> HttpResponse:
    warehouse = warehouse_or_404(request, warehouse_id)
    shipment = shipment_or_404(request, warehouse, shipment_id)
    return render(request, "warehouse/pack.html", pack_context(request, warehouse, shipment))


@capability_required(WORK)
@require_GET
def packing_slip(request: HttpRequest, warehouse_id: int, shipment_id: int) -> HttpResponse:
    warehouse = warehouse_or_404(request, warehouse_id)
    shipment = shipment_or_404(request, warehouse, shipment_id)
    lines = shipment_lines(request.tenant, shipment)  # type: ignore[attr-defined]
    return render(
        request,
        "warehouse/packing_slip.html",
        {"warehouse": warehouse, "shipment": shipment, "order": shipment.order, "lines": lines},
    )


@capability_required(WORK)
@require_GET
def label_file(request: HttpRequest, warehouse_id: int, shipment_id: int) -> HttpResponse:
    """The bought label to print: the stored file when there is one, else the carrier's URL."""
    warehouse = warehouse_or_404(request, warehouse_id)
    shipment = shipment_or_404(request, warehouse, shipment_id)
    label = (
        Label.objects.for_tenant(request.tenant)  # type: ignore[attr-defined]
        .filter(shipment=shipment, is_return=False, state=LabelState.PURCHASED)
        .first()
    )
    if label is None:
        raise Http404("No label bought for this shipment.")
    if label.label_file:
        return FileResponse(label.label_file.open("rb"), filename=label.label_file.name.rsplit("/", 1)[-1])
    if label.label_url:
        return HttpResponseRedirect(label.label_url)
    raise Http404("The carrier sent no label file.")


# --- the forms ---------------------------------------------------------------------------------
def _back(warehouse: Any, shipment: Shipment) -> HttpResponse:
    return redirect("warehouse:pack", warehouse_id=warehouse.pk, shipment_id=shipment.pk)


@capability_required(WORK)
@require_POST
def pack_scan_page(request: HttpRequest, warehouse_id: int, shipment_id: int) -> HttpResponse:
    """Confirm one item into the box by its barcode or SKU code."""
    warehouse = warehouse_or_404(request, warehouse_id)
    shipment = shipment_or_404(request, warehouse, shipment_id)
    form = ScanForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Scan a barcode or type a SKU code.")
        return _back(warehouse, shipment)
    line = attempt(
        request,
        lambda: services.pack_scan(
            tenant=request.tenant,  # type: ignore[attr-defined]
            shipment_id=shipment.pk,
            code=form.cleaned_data["code"],
            actor=request.user,
        ),
    )
    if line is not None:
        messages.success(request, f"{line.sku.code} is in the box.")
    return _back(warehouse, shipment)


@capability_required(WORK)
@require_POST
def pack_confirm_page(request: HttpRequest, warehouse_id: int, shipment_id: int) -> HttpResponse:
    """The box is closed: record the parcel, mark the shipment packed, quote its rates."""
    warehouse = warehouse_or_404(request, warehouse_id)
    shipment = shipment_or_404(request, warehouse, shipment_id)
    form = ParcelForm(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return _back(warehouse, shipment)
    parcel = dict(form.cleaned_data)
    tenant = request.tenant  # type: ignore[attr-defined]
    packed = attempt(
        request,
        lambda: services.shipment_pack(
            tenant=tenant, shipment_id=shipment.pk, parcels=[parcel], actor=request.user
        ),
    )
    if packed is None:
        return _back(warehouse, shipment)
    messages.success(request, f"{shipment.number} is packed.")
    attempt(request, lambda: rates.shipment_rates_quote(tenant=tenant, shipment_id=shipment.pk))
    return _back(warehouse, shipment)


@capability_required(WORK)
@require_POST
def rates_quote_page(request: HttpRequest, warehouse_id: int, shipment_id: int) -> HttpResponse:
    """Ask the carrier for rates again (they expire; the carrier may have been down)."""
    warehouse = warehouse_or_404(request, warehouse_id)
    shipment = shipment_or_404(request, warehouse, shipment_id)
    quoted = attempt(
        request,
        lambda: rates.shipment_rates_quote(tenant=request.tenant, shipment_id=shipment.pk),  # type: ignore[attr-defined]
    )
    if quoted is not None:
        messages.success(request, f"{len(quoted)} rate{'s' if len(quoted) != 1 else ''} quoted.")
    return _back(warehouse, shipment)


@capability_required(WORK)
@require_POST
def label_buy_page(request: HttpRequest, warehouse_id: int, shipment_id: int) -> HttpResponse:
    """Ask for the label (through the outbox); the page shows it pending, then bought or failed."""
    warehouse = warehouse_or_404(request, warehouse_id)
    shipment = shipment_or_404(request, warehouse, shipment_id)
    form = LabelForm(request.POST)
    rate_id = form.cleaned_data["rate_id"] if form.is_valid() else ""
    label = attempt(
        request,
        lambda: labels.label_request(
            tenant=request.tenant,  # type: ignore[attr-defined]
            shipment_id=shipment.pk,
            rate_id=rate_id or None,
            actor=request.user,
        ),
    )
    if label is not None:
        label.refresh_from_db()  # the purchase may have run on commit already
        if label.state == LabelState.PURCHASED:
            messages.success(request, f"Label bought: {label.carrier} {label.tracking_number}.")
        elif label.state == LabelState.PENDING:
            messages.info(request, "Buying the label…")
    return _back(warehouse, shipment)


@capability_required(WORK)
@require_POST
def ship_page(request: HttpRequest, warehouse_id: int, shipment_id: int) -> HttpResponse:
    warehouse = warehouse_or_404(request, warehouse_id)
    shipment = shipment_or_404(request, warehouse, shipment_id)
    shipped = attempt(
        request,
        lambda: services.shipment_ship(
            tenant=request.tenant,  # type: ignore[attr-defined]
            shipment_id=shipment.pk,
            actor=request.user,
        ),
    )
    if shipped is not None:
        messages.success(request, f"{shipment.number} shipped.")
    return _back(warehouse, shipment)
