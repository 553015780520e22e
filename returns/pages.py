"""The receiving page of a warehouse (under /warehouse/<w>/returns/): scan an RMA or a return label,
then record per line what arrived, in which condition, and what becomes of it.

For members whose role holds `returns.receive` (owners, managers, warehouse staff), in the
warehouses they work in (fulfillment/pages/access.py: owners and managers every warehouse,
warehouse staff their assigned ones). A return that is not coming back to the warehouse of the
URL, or is another tenant's, is a 404. Restocked units go into the warehouse of the page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from fulfillment.pages.access import warehouse_or_404
from fulfillment.pages.common import attempt, form_errors
from oms.core.permissions import capability_required
from oms.core.roles import Capability
from returns import selectors, services
from returns.forms import ReceiptForm, ReturnScanForm
from returns.models import ReturnRequest
from returns.states import RECEIVABLE, Condition, Disposition

RECEIVE = Capability.RETURNS_RECEIVE


def _scan_context(warehouse: Any) -> dict[str, Any]:
    return {
        "scan_form": ReturnScanForm(),
        "scan_action": reverse("receiving:scan", kwargs={"warehouse_id": warehouse.pk}),
    }


def return_or_404(request: HttpRequest, warehouse: Any, return_id: int) -> ReturnRequest:
    """The tenant's return coming back to this warehouse (or to none yet), else 404."""
    found = (
        ReturnRequest.objects.for_tenant(request.tenant)  # type: ignore[attr-defined]
        .filter(pk=return_id)
        .filter(Q(warehouse=warehouse) | Q(warehouse__isnull=True))
        .exists()
    )
    if not found:
        raise Http404("No such return in this warehouse.")
    return selectors.return_get(tenant=request.tenant, return_id=return_id)  # type: ignore[attr-defined]


@capability_required(RECEIVE)
@require_GET
def receiving_page(request: HttpRequest, warehouse_id: int) -> HttpResponse:
    warehouse = warehouse_or_404(request, warehouse_id)
    expected = selectors.returns_expected(tenant=request.tenant, warehouse_id=warehouse.pk)  # type: ignore[attr-defined]
    return render(
        request,
        "returns/receiving.html",
        {"warehouse": warehouse, "expected": expected, **_scan_context(warehouse)},
    )


@capability_required(RECEIVE)
@require_POST
def scan_page(request: HttpRequest, warehouse_id: int) -> HttpResponse:
    warehouse = warehouse_or_404(request, warehouse_id)
    form = ReturnScanForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Scan the RMA number or the return label's barcode.")
        return redirect("receiving:index", warehouse_id=warehouse.pk)
    code = form.cleaned_data["code"]
    ret = selectors.return_find_by_scan(tenant=request.tenant, code=code, warehouse_id=warehouse.pk)  # type: ignore[attr-defined]
    if ret is None:
        messages.error(request, f"{code}: no return coming to {warehouse.code} has this RMA or label.")
        return redirect("receiving:index", warehouse_id=warehouse.pk)
    if ret.state not in RECEIVABLE:
        messages.error(request, f"{ret.rma_number} is {ret.get_state_display().lower()}: nothing to receive.")
    else:
        expected = sum(line.quantity_expected for line in ret.lines.all())
        messages.success(
            request, f"{ret.rma_number}: {expected} unit{'s' if expected != 1 else ''} expected."
        )
    return redirect("receiving:return", warehouse_id=warehouse.pk, return_id=ret.pk)


@capability_required(RECEIVE)
@require_GET
def return_page(request: HttpRequest, warehouse_id: int, return_id: int) -> HttpResponse:
    warehouse = warehouse_or_404(request, warehouse_id)
    ret = return_or_404(request, warehouse, return_id)
    receivable = ret.state in RECEIVABLE
    lines = [
        {
            "line": line,
            "form": ReceiptForm(
                initial={"line": line.pk, "quantity": line.quantity_expected}, prefix=f"l{line.pk}"
            )
            if receivable and line.quantity_expected
            else None,
        }
        for line in ret.lines.all()
    ]
    return render(
        request,
        "returns/receive.html",
        {
            "warehouse": warehouse,
            "ret": ret,
            "lines": lines,
            "receivable": receivable,
            "conditions": Condition.choices,
            "dispositions": Disposition.choices,
            **_scan_context(warehouse),
        },
    )


@capability_required(RECEIVE)
@require_POST
def receive_page(request: HttpRequest, warehouse_id: int, return_id: int) -> HttpResponse:
    warehouse = warehouse_or_404(request, warehouse_id)
    ret = return_or_404(request, warehouse, return_id)
    back = redirect("receiving:return", warehouse_id=warehouse.pk, return_id=ret.pk)
    prefix = next((key.split("-")[0] for key in request.POST if key.endswith("-line")), None)
    form = ReceiptForm(request.POST, prefix=prefix)
    if not form.is_valid():
        form_errors(request, form)
        return back
    data = form.cleaned_data
    line = next((x for x in ret.lines.all() if x.pk == data["line"]), None)
    if line is None:
        raise Http404("No such line on this return.")
    done = attempt(
        request,
        lambda: services.return_receive(
            tenant=request.tenant,  # type: ignore[attr-defined]
            return_id=ret.pk,
            receipts=[
                services.ReceiptInput(
                    line=line.pk,
                    quantity=data["quantity"],
                    condition=data["condition"],
                    disposition=data["disposition"],
                    warehouse=warehouse.pk,
                )
            ],
            actor=request.user,
        ),
    )
    if done is not None:
        messages.success(
            request,
            f"{data['quantity']} × {line.sku.code} {Condition(data['condition']).label.lower()}: "
            f"{Disposition(data['disposition']).label.lower()}.",
        )
    return back
