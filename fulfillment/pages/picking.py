"""The pick-list index of a warehouse and the pick-list page: scan to pick, short-pick a line."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from fulfillment import selectors, services
from fulfillment.forms import PickListCreateForm, ScanForm, ShortPickForm
from fulfillment.models import PickList, Shipment, ShipmentLine
from fulfillment.pages.access import warehouse_or_404, warehouses_for
from fulfillment.pages.common import attempt, form_errors
from fulfillment.states import PickListState, ShipmentState, ShortReason
from oms.core.permissions import capability_required
from oms.core.roles import Capability

WORK = Capability.FULFILLMENT_WORK
# Shipments a packer may open from the index: picked (or being picked), packed, labelled.
AT_THE_BENCH = [ShipmentState.PICKING, ShipmentState.PACKED, ShipmentState.LABEL_PURCHASED]


@capability_required(WORK)
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The warehouses this member works in; straight to the index when there is one."""
    warehouses = list(warehouses_for(request))
    if len(warehouses) == 1:
        return redirect("warehouse:index", warehouse_id=warehouses[0].pk)
    return render(request, "warehouse/home.html", {"warehouses": warehouses})


def _pending(tenant: Any, warehouse: Any) -> Any:
    return selectors.shipments_waiting_for_pick_list(tenant=tenant, warehouse_id=warehouse.pk)


def _open_pick_lists(tenant: Any, warehouse: Any) -> list[PickList]:
    lines = ShipmentLine.objects.for_tenant(tenant).filter(shipment__pick_list=OuterRef("pk"))

    def units(expression: Any) -> Subquery:
        total = lines.values("shipment__pick_list").annotate(n=Sum(expression)).values("n")
        return Coalesce(Subquery(total, output_field=IntegerField()), 0)

    return list(
        PickList.objects.for_tenant(tenant)
        .filter(warehouse=warehouse, state=PickListState.OPEN)
        .annotate(
            shipment_count=Count("shipments", distinct=True),
            units_total=units(F("quantity")),
            units_done=units(F("quantity_picked")),
        )
        .order_by("created_at", "pk")
    )


def _at_the_bench(tenant: Any, warehouse: Any) -> list[Shipment]:
    return list(
        Shipment.objects.for_tenant(tenant)
        .filter(warehouse=warehouse, state__in=AT_THE_BENCH)
        .select_related("order")
        .annotate(units_left=Coalesce(Sum(F("lines__quantity") - F("lines__quantity_picked")), 0))
        .order_by("updated_at", "pk")[:100]
    )


def index_context(request: HttpRequest, warehouse: Any) -> dict[str, Any]:
    tenant = request.tenant  # type: ignore[attr-defined]
    pending = _pending(tenant, warehouse)
    return {
        "warehouse": warehouse,
        "pick_lists": _open_pick_lists(tenant, warehouse),
        "pending_count": pending.count(),
        "bench": _at_the_bench(tenant, warehouse),
        "form": create_form(request, warehouse),
    }


def create_form(request: HttpRequest, warehouse: Any, data: Any = None) -> PickListCreateForm:
    """The filters offer the carriers and service levels of the shipments waiting."""
    pending = _pending(request.tenant, warehouse).order_by()  # type: ignore[attr-defined]
    return PickListCreateForm(
        data,
        carriers=sorted(set(pending.exclude(carrier="").values_list("carrier", flat=True).distinct())),
        service_levels=sorted(set(pending.values_list("service_level", flat=True).distinct())),
    )


@capability_required(WORK)
@require_GET
def index(request: HttpRequest, warehouse_id: int) -> HttpResponse:
    warehouse = warehouse_or_404(request, warehouse_id)
    return render(request, "warehouse/index.html", index_context(request, warehouse))


# --- the pick-list page --------------------------------------------------------------------
def pick_list_or_404(request: HttpRequest, warehouse: Any, pick_list_id: int) -> PickList:
    pick_list = (
        PickList.objects.for_tenant(request.tenant)  # type: ignore[attr-defined]
        .filter(warehouse=warehouse, pk=pick_list_id)
        .first()
    )
    if pick_list is None:
        raise Http404("No such pick list.")
    return pick_list


def pick_list_context(request: HttpRequest, warehouse: Any, pick_list: PickList) -> dict[str, Any]:
    """The list as the selector lays it out (a fixed number of queries), and what is ready to pack."""
    sheet = selectors.pick_list_sheet(tenant=request.tenant, pick_list_id=pick_list.pk)  # type: ignore[attr-defined]
    picked = sum(stop.picked for stop in sheet.stops)
    states = {row.shipment_id: row.shipment_state for stop in sheet.stops for row in stop.lines}
    ready = [
        order
        for order in sheet.orders
        if states[order.shipment_id] == ShipmentState.PICKING
        and order.to_pick == 0
        and any(stop.quantity for stop in order.stops)
    ]
    is_open = pick_list.state == PickListState.OPEN and sheet.to_pick > 0
    return {
        "warehouse": warehouse,
        "pick_list": pick_list,
        "sheet": sheet,
        "units_total": sheet.quantity,
        "units_done": picked,
        "units_short": sum(stop.short for stop in sheet.stops),
        "shipment_count": len(sheet.orders),
        "ready_to_pack": ready,
        "is_open": is_open,
        "short_reasons": ShortReason.choices,
        "scan_form": ScanForm(),
        "scan_action": reverse(
            "warehouse:pick_scan", kwargs={"warehouse_id": warehouse.pk, "pick_list_id": pick_list.pk}
        ),
    }


@capability_required(WORK)
@require_GET
def pick_list_page(request: HttpRequest, warehouse_id: int, pick_list_id: int) -> HttpResponse:
    warehouse = warehouse_or_404(request, warehouse_id)
    pick_list = pick_list_or_404(request, warehouse, pick_list_id)
    return render(request, "warehouse/pick_list.html", pick_list_context(request, warehouse, pick_list))


# --- the forms ---------------------------------------------------------------------------------
@capability_required(WORK)
@require_POST
def pick_list_create_page(request: HttpRequest, warehouse_id: int) -> HttpResponse:
    warehouse = warehouse_or_404(request, warehouse_id)
    form = create_form(request, warehouse, request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return redirect("warehouse:index", warehouse_id=warehouse.pk)
    data = form.cleaned_data
    pick_list = attempt(
        request,
        lambda: services.pick_list_create(
            tenant=request.tenant,  # type: ignore[attr-defined]
            warehouse_id=warehouse.pk,
            kind=data["kind"],
            limit=data["limit"],
            actor=request.user,
            **form.filters(),
        ),
    )
    if pick_list is None:
        return redirect("warehouse:index", warehouse_id=warehouse.pk)
    messages.success(request, f"Pick list {pick_list.pk} made.")
    return redirect("warehouse:pick_list", warehouse_id=warehouse.pk, pick_list_id=pick_list.pk)


@capability_required(WORK)
@require_POST
def pick_scan_page(request: HttpRequest, warehouse_id: int, pick_list_id: int) -> HttpResponse:
    warehouse = warehouse_or_404(request, warehouse_id)
    pick_list = pick_list_or_404(request, warehouse, pick_list_id)
    back = redirect("warehouse:pick_list", warehouse_id=warehouse.pk, pick_list_id=pick_list.pk)
    form = ScanForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Scan a barcode or type a SKU code.")
        return back
    code = form.cleaned_data["code"]
    result = attempt(
        request,
        lambda: services.pick_scan(
            tenant=request.tenant,  # type: ignore[attr-defined]
            pick_list_id=pick_list.pk,
            code=code,
            actor=request.user,
        ),
    )
    if result is not None:
        messages.success(request, scan_outcome(result))
    return back


def scan_outcome(result: Any) -> str:
    """`Picked SKU-1 for S-1001-1 · 4 left on the list`, or the list is done."""
    words = f"Picked {result.sku.code} for {result.shipment.number}"
    if result.list_done or not result.list_remaining:
        return f"{words}. The pick list is done: pack the shipments."
    return f"{words} · {result.list_remaining} left on the list."


@capability_required(WORK)
@require_POST
def pick_short_page(request: HttpRequest, warehouse_id: int, pick_list_id: int, line_id: int) -> HttpResponse:
    warehouse = warehouse_or_404(request, warehouse_id)
    pick_list = pick_list_or_404(request, warehouse, pick_list_id)
    line = (
        ShipmentLine.objects.for_tenant(request.tenant)  # type: ignore[attr-defined]
        .filter(pk=line_id, shipment__pick_list=pick_list)
        .first()
    )
    if line is None:
        raise Http404("No such line on this pick list.")
    back = redirect("warehouse:pick_list", warehouse_id=warehouse.pk, pick_list_id=pick_list.pk)
    form = ShortPickForm(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return back
    result = attempt(
        request,
        lambda: services.pick_short(
            tenant=request.tenant,  # type: ignore[attr-defined]
            shipment_line_id=line.pk,
            quantity=form.cleaned_data["quantity"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
        ),
    )
    if result is not None:
        messages.warning(request, str(result))  # the service words it: how many, where they went
    return back
