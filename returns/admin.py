"""Returns in the admin: the queue by state, opening a return for a customer, the actions that move
returns (authorize in bulk, reject, inspect and refund or exchange, close, cancel), the
return-rate report, and the tenant's return policy.

Every page is scoped to the staff member's tenant (TenantAdmin) and every door declares its
capability (oms.core.roles). Rows change only through the returns services, which the actions
and pages here call.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from fulfillment.admin import badge, link
from oms.core.admin import (
    TenantAdmin,
    TenantTabularInline,
    capability_action,
    is_superuser,
    read_only,
    requires_capability,
    scoped_queryset,
)
from oms.core.errors import DomainError
from oms.core.roles import Capability
from orders.admin import OrderAdmin, run_each
from orders.models import Order, OrderLine
from returns import selectors, services
from returns.exchanges import return_exchange
from returns.models import ReturnExchangeLine, ReturnLine, ReturnPolicy, ReturnRefund, ReturnRequest
from returns.refunds import refund_quote, return_refund
from returns.states import Resolution, ReturnReason, ReturnState

C = Capability
R = ReturnState

STATE_COLOURS = {
    R.REQUESTED: "#b45309",
    R.AUTHORIZED: "#7c3aed",
    R.LABEL_SENT: "#2563eb",
    R.IN_TRANSIT: "#0891b2",
    R.RECEIVED: "#0d9488",
    R.INSPECTED: "#4d7c0f",
    R.REFUNDED: "#15803d",
    R.EXCHANGED: "#15803d",
    R.CLOSED: "#374151",
    R.REJECTED: "#dc2626",
    R.CANCELLED: "#6b7280",
}


class ReadOnlyInline(TenantTabularInline):
    extra = 0
    can_delete = False
    capabilities = read_only(C.ORDERS_VIEW)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ["sku", "quantity", "reason", "note", "quantity_received", "received"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("sku").prefetch_related("receipts__warehouse")

    @admin.display(description="Condition → disposition")
    def received(self, line: ReturnLine) -> str:
        rows = [
            (r.quantity, r.get_condition_display(), r.get_disposition_display(), r.warehouse.code)
            for r in line.receipts.all()
        ]
        if not rows:
            return "—"
        return format_html_join("", "{} × {} → {} ({})<br>", rows)


class ReturnExchangeLineInline(ReadOnlyInline):
    model = ReturnExchangeLine
    verbose_name_plural = "Exchange for"
    fields = ["sku", "quantity"]


class ReturnRefundInline(ReadOnlyInline):
    model = ReturnRefund
    verbose_name_plural = "Refunds"
    fields = ["created_at", "payment", "amount", "state", "provider_id", "error", "requested_by"]
    capabilities = read_only(C.PAYMENTS_VIEW)


class StateFilter(admin.SimpleListFilter):
    """The queue: open returns (the default for staff) or one state."""

    title = "state"
    parameter_name = "state"
    OPEN = "open"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(self.OPEN, "Open (to work)"), *R.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == self.OPEN:
            return queryset.exclude(state__in=[R.REFUNDED, R.EXCHANGED, R.CLOSED, R.REJECTED, R.CANCELLED])
        return queryset.filter(state=self.value()) if self.value() else queryset


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(ReturnRequest)
class ReturnRequestAdmin(TenantAdmin):
    list_display = [
        "rma_number",
        "order_link",
        "state_badge",
        "resolution",
        "units",
        "warehouse",
        "tracking",
        "source",
        "created_at",
    ]
    list_filter = [StateFilter, "resolution", "source", "warehouse"]
    search_fields = ["rma_number", "order__number", "order__external_id", "tracking_number", "external_id"]
    list_select_related = ["order", "warehouse"]
    ordering = ["-created_at", "-id"]
    readonly_fields = [
        "rma_number",
        "order_link",
        "state_badge",
        "resolution",
        "source",
        "external_id",
        "warehouse",
        "label_link",
        "tracking",
        "tracking_status",
        "label_emailed_at",
        "customer_note",
        "staff_note",
        "quote",
        "refund_amount",
        "exchange_link",
        "created_by",
        "created_at",
        "received_at",
        "inspected_at",
        "resolved_at",
    ]
    fields = readonly_fields
    inlines = [ReturnLineInline, ReturnExchangeLineInline, ReturnRefundInline]
    actions = [
        "authorize_selected",
        "resolve_selected",
        "reject_selected",
        "close_selected",
        "cancel_selected",
    ]
    # Opened on the add page (or by the API and marketplaces), moved by the actions: read-only rows.
    capabilities = {"view": C.ORDERS_VIEW, "add": C.RETURNS_MANAGE, "change": None, "delete": None}

    def get_urls(self) -> list[Any]:
        report = self.admin_site.admin_view(self.report_view)
        return [path("report/", report, name="returns_returnrequest_report"), *super().get_urls()]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("lines")

    # --- the actions ----------------------------------------------------------------------
    def _each(self, request: HttpRequest, queryset: QuerySet[Any], verb: str, call: Any) -> None:
        rows = queryset.select_related(None).select_related("tenant").order_by("pk")
        run_each(self, request, rows, verb, "return(s)", call, label=lambda x: x.rma_number)

    @capability_action(
        C.RETURNS_MANAGE, description="Authorize the selected returns (and send return labels)"
    )
    def authorize_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._each(
            request,
            queryset,
            "Authorized",
            lambda x: services.return_authorize(tenant=x.tenant, return_id=x.pk, actor=request.user),
        )

    @capability_action(
        C.RETURNS_MANAGE, description="Inspected: refund or exchange the selected returns as requested"
    )
    def resolve_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        def resolve(ret: ReturnRequest) -> None:
            if ret.state == R.RECEIVED:
                services.return_inspect(tenant=ret.tenant, return_id=ret.pk, actor=request.user)
            if ret.resolution == Resolution.EXCHANGE:
                return_exchange(tenant=ret.tenant, return_id=ret.pk, actor=request.user)
            else:
                return_refund(tenant=ret.tenant, return_id=ret.pk, actor=request.user)

        self._each(request, queryset, "Resolved (refund or exchange under way for)", resolve)

    def _with_reason(
        self, request: HttpRequest, queryset: QuerySet[Any], *, action: str, title: str, call: Any, verb: str
    ) -> Any:
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._each(request, queryset, verb, lambda x: call(x, reason))
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "returns": list(queryset),
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/returns/returnrequest/reason.html", context)

    @capability_action(C.RETURNS_MANAGE, description="Reject the selected returns…")
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        return self._with_reason(
            request,
            queryset,
            action="reject_selected",
            title="Reject returns",
            verb="Rejected",
            call=lambda x, reason: services.return_reject(
                tenant=x.tenant, return_id=x.pk, reason=reason, actor=request.user
            ),
        )

    @capability_action(C.RETURNS_MANAGE, description="Close the selected returns without refund…")
    def close_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        return self._with_reason(
            request,
            queryset,
            action="close_selected",
            title="Close returns without refund or exchange",
            verb="Closed",
            call=lambda x, reason: services.return_close(
                tenant=x.tenant, return_id=x.pk, reason=reason, actor=request.user
            ),
        )

    @capability_action(C.RETURNS_MANAGE, description="Cancel the selected returns (before receipt)…")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        return self._with_reason(
            request,
            queryset,
            action="cancel_selected",
            title="Cancel returns",
            verb="Cancelled",
            call=lambda x, reason: services.return_cancel(
                tenant=x.tenant, return_id=x.pk, reason=reason, actor=request.user
            ),
        )

    # --- opening a return for a customer -------------------------------------------------------
    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        """Find the order by number, then say how many of each line come back and why."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        number = (request.GET.get("order") or request.POST.get("order") or "").strip().lstrip("#")
        order = scoped_queryset(Order, request).filter(number=number).first() if number else None
        lines = (
            list(OrderLine.objects.for_tenant(order.tenant_id).filter(order=order).select_related("sku"))
            if order
            else []
        )
        form = OpenReturnForm(request.POST if request.method == "POST" and order else None, lines=lines)
        if order is not None and form.is_bound and form.is_valid():
            try:
                ret, _ = services.return_open(
                    tenant=order.tenant,
                    order_id=order.pk,
                    lines=form.inputs(),
                    source="admin",
                    customer_note=form.cleaned_data["note"],
                    actor=request.user,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Return {ret.rma_number} opened.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:returns_returnrequest_change", args=[ret.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Open a return",
            "opts": self.model._meta,
            "number": number,
            "order": order,
            "not_found": bool(number) and order is None,
            "form": form,
        }
        return TemplateResponse(request, "admin/returns/returnrequest/open.html", context)

    # --- the report ---------------------------------------------------------------------------
    @requires_capability(C.ORDERS_VIEW)
    def report_view(self, request: HttpRequest) -> HttpResponse:
        """Return rate by SKU and reason, over orders placed in the last `days` days."""
        raw = request.GET.get("days", "90")
        days = int(raw) if raw.isdigit() and 1 <= int(raw) <= 3650 else 90
        tenant = getattr(request, "tenant", None)
        rows = selectors.return_rate_report(tenant=tenant, days=days) if tenant is not None else []
        context = {
            **self.admin_site.each_context(request),
            "title": f"Return rate by SKU and reason (orders of the last {days} days)",
            "opts": self.model._meta,
            "rows": rows,
            "days": days,
            "reasons": [label for _, label in ReturnReason.choices],
        }
        return TemplateResponse(request, "admin/returns/returnrequest/report.html", context)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        extra = {**(extra_context or {}), "report_url": reverse("admin:returns_returnrequest_report")}
        return super().changelist_view(request, extra)

    # --- columns ------------------------------------------------------------------------------
    @admin.display(description="Order", ordering="order__number")
    def order_link(self, ret: ReturnRequest) -> str:
        url = reverse("admin:orders_order_change", args=[ret.order_id])
        return format_html('<a href="{}">#{}</a>', url, ret.order.number)

    @admin.display(description="State", ordering="state")
    def state_badge(self, ret: ReturnRequest) -> str:
        return badge(STATE_COLOURS.get(ret.state, "#6b7280"), ret.get_state_display())

    @admin.display(description="Units")
    def units(self, ret: ReturnRequest) -> int:
        return sum(line.quantity for line in ret.lines.all())

    @admin.display(description="Tracking", ordering="tracking_number")
    def tracking(self, ret: ReturnRequest) -> str:
        url = ret.label.tracking_url if ret.label_id and ret.label else ""
        return link(url, ret.tracking_number)

    @admin.display(description="Return label")
    def label_link(self, ret: ReturnRequest) -> str:
        label = ret.label
        if label is None:
            return "—"
        if label.label_url:
            return link(label.label_url, f"{label.carrier} label ({label.get_state_display().lower()})")
        return f"{label.get_state_display()}{f': {label.error}' if label.error else ''}"

    @admin.display(description="Replacement order")
    def exchange_link(self, ret: ReturnRequest) -> str:
        if not ret.exchange_order_id:
            return "—"
        url = reverse("admin:orders_order_change", args=[ret.exchange_order_id])
        return format_html('<a href="{}">order {}</a>', url, ret.exchange_order_id)

    @admin.display(description="Refund (as received)")
    def quote(self, ret: ReturnRequest) -> str:
        if ret.state in (R.REQUESTED, R.AUTHORIZED, R.LABEL_SENT, R.IN_TRANSIT, R.REJECTED, R.CANCELLED):
            return "— (nothing received yet)"
        return refund_quote(ret).describe()


class OrderReturnInline(ReadOnlyInline):
    """On the order blotter: the order's returns."""

    model = ReturnRequest
    fk_name = "order"
    verbose_name_plural = "Returns"
    fields = ["return_link", "state", "resolution", "created_at", "resolved_at"]
    ordering = ["created_at", "id"]

    @admin.display(description="Return")
    def return_link(self, ret: ReturnRequest) -> str:
        url = reverse("admin:returns_returnrequest_change", args=[ret.pk])
        return format_html('<a href="{}">{}</a>', url, ret.rma_number)


OrderAdmin.inlines = [*OrderAdmin.inlines, OrderReturnInline]


class OpenReturnForm(forms.Form):
    """One row per order line: how many come back and why."""

    note = forms.CharField(max_length=1000, required=False, label="Customer's note")

    def __init__(self, *args: Any, lines: list[OrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"qty_{line.pk}"] = forms.IntegerField(
                min_value=0,
                max_value=line.quantity_shipped,
                initial=0,
                label=f"{line.sku.code} · {line.sku.name} ({line.quantity_shipped} shipped)",
            )
            self.fields[f"reason_{line.pk}"] = forms.ChoiceField(choices=ReturnReason.choices, label="Reason")

    def line_fields(self) -> list[tuple[Any, Any]]:
        return [(self[f"qty_{line.pk}"], self[f"reason_{line.pk}"]) for line in self.lines]

    def inputs(self) -> list[services.ReturnLineInput]:
        return [
            services.ReturnLineInput(
                line=line.pk,
                quantity=self.cleaned_data[f"qty_{line.pk}"],
                reason=self.cleaned_data[f"reason_{line.pk}"],
            )
            for line in self.lines
            if self.cleaned_data.get(f"qty_{line.pk}")
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.lines and not any(data.get(f"qty_{line.pk}") for line in self.lines):
            raise forms.ValidationError("Say how many units of at least one line come back.")
        return data


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(TenantAdmin):
    """One row per tenant, made with the defaults the first time staff open this page."""

    list_display = ["__str__", "window_days", "restocking_fee_percent", "label_payer", "return_labels"]
    fields = ["window_days", "restocking_fee_percent", "label_payer", "return_labels"]
    capabilities = {"view": C.TENANT_VIEW, "add": None, "change": C.TENANT_SETTINGS, "delete": None}

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        tenant = getattr(request, "tenant", None)
        if tenant is not None and not is_superuser(request):
            ReturnPolicy.objects.for_tenant(tenant).get_or_create(tenant=tenant)
        return super().changelist_view(request, extra_context)
