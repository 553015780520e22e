"""The merchant's order blotter. Reads are scoped to the tenant; every change goes through a service."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from import_export import fields, resources

from oms.core.addresses import normalize_country, postal_code_error
from oms.core.admin import (
    TenantAdmin,
    TenantExportActionMixin,
    TenantTabularInline,
    capability_action,
    is_superuser,
    read_only,
    requires_capability,
)
from oms.core.errors import DomainError
from oms.core.roles import Capability, refund_check, refund_limit
from orders import services
from orders.admin_actions import OrderActionsMixin, run_each, ship_to_outcome
from orders.forms import HoldForm
from orders.models import Customer, Hold, Order, OrderEvent, OrderLine, Payment
from orders.payments import services as payment_services
from orders.states import EDITABLE, FULFILLING, OrderState

STATE_COLOURS = {
    OrderState.PENDING: "#6b7280",
    OrderState.ON_HOLD: "#b45309",
    OrderState.ALLOCATED: "#2563eb",
    OrderState.PARTIALLY_ALLOCATED: "#7c3aed",
    OrderState.BACKORDERED: "#dc2626",
    OrderState.IN_FULFILLMENT: "#0891b2",
    OrderState.PARTIALLY_SHIPPED: "#0d9488",
    OrderState.SHIPPED: "#16a34a",
    OrderState.DELIVERED: "#15803d",
    OrderState.COMPLETED: "#166534",
    OrderState.CANCELLED: "#374151",
}


C = Capability


class ReadOnlyInline(TenantTabularInline):
    extra = 0
    can_delete = False
    capabilities = read_only(C.ORDERS_VIEW)


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = [
        "sku",
        "quantity",
        "unit_price",
        "quantity_allocated",
        "backordered",
        "quantity_shipped",
        "quantity_returned",
        "allocated_from",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return (
            super()
            .get_queryset(request)
            .select_related("sku", "order")
            .prefetch_related("allocations__warehouse")
        )

    @admin.display(description="Backordered")
    def backordered(self, line: OrderLine) -> int:
        return 0 if line.order.state == OrderState.CANCELLED else line.quantity_backordered

    @admin.display(description="Allocated from")
    def allocated_from(self, line: OrderLine) -> str:
        return ", ".join(f"{a.warehouse.code} × {a.quantity}" for a in line.allocations.all()) or "—"


class HoldInline(ReadOnlyInline):
    model = Hold
    fields = ["kind", "reason", "created_by", "created_at", "released_at", "released_by"]
    readonly_fields = fields


class PaymentInline(ReadOnlyInline):
    model = Payment
    capabilities = read_only(C.PAYMENTS_VIEW)
    fields = [
        "provider",
        "provider_id",
        "state",
        "amount_authorized",
        "amount_captured",
        "amount_refunded",
        "authorization_expires_at",
        "failure_message",
    ]
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    verbose_name_plural = "Timeline"
    fields = ["created_at", "type", "from_state", "to_state", "actor", "message"]
    readonly_fields = fields
    ordering = ["created_at", "id"]


class OrderResource(resources.ModelResource):
    customer_email = fields.Field(attribute="customer__email", column_name="customer_email")
    ship_to_country = fields.Field(attribute="ship_to__country", column_name="ship_to_country")

    class Meta:
        model = Order
        fields = [
            "number",
            "channel",
            "external_id",
            "state",
            "currency",
            "subtotal",
            "shipping_price",
            "tax",
            "discount",
            "total",
            "service_level",
            "placed_at",
            "customer_email",
            "ship_to_country",
        ]
        export_order = fields


@admin.register(Order)
class OrderAdmin(OrderActionsMixin, TenantExportActionMixin, TenantAdmin):
    resource_classes = [OrderResource]
    list_display = [
        "number",
        "state_badge",
        "channel",
        "external_id",
        "customer",
        "total_display",
        "placed_at",
    ]
    list_filter = ["state", "channel", "service_level", "placed_at"]
    search_fields = ["number", "external_id", "customer__email", "lines__sku__code"]
    list_select_related = ["customer"]
    date_hierarchy = "placed_at"
    ordering = ["-placed_at", "-id"]
    inlines = [OrderLineInline, HoldInline, PaymentInline, OrderEventInline]
    actions = ["hold_orders", "release_orders", "cancel_orders", "reallocate_orders", "ship_orders"]
    readonly_fields = [
        "number",
        "state_badge",
        "channel",
        "external_id",
        "customer",
        "currency",
        "subtotal",
        "shipping_price",
        "tax",
        "discount",
        "total",
        "ship_to_address",
        "bill_to",
        "service_level",
        "allocation_explanation",
        "promise_date",
        "cancel_reason",
        "placed_at",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields
    show_full_result_count = False
    change_form_template = "admin/orders/order/change_form_actions.html"
    # Orders come from channels and the API, and are cancelled, never deleted: their history stays.
    capabilities = {
        "view": C.ORDERS_VIEW,
        "add": None,
        "change": C.ORDERS_EDIT,
        "delete": None,
        "export": C.ORDERS_EXPORT,
    }

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        # Every field is read-only here: changes go through the actions and the ship-to form.
        order = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "ship_to_editable": order is not None
            and order.state in EDITABLE
            and self.has_change_permission(request, order),
            **self._order_buttons(request, order),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[Any]:
        site = self.admin_site
        return [
            path(
                "<path:object_id>/ship-to/",
                site.admin_view(self.change_ship_to_view),
                name="orders_order_ship_to",
            ),
            path("<path:object_id>/hold/", site.admin_view(self.order_hold_view), name="orders_order_hold"),
            path(
                "<path:object_id>/release/",
                site.admin_view(self.order_release_view),
                name="orders_order_release",
            ),
            path(
                "<path:object_id>/cancel/",
                site.admin_view(self.order_cancel_view),
                name="orders_order_cancel",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Ship to")
    def ship_to_address(self, order: Order) -> str:
        return format_html("{}", order.ship_to)

    @requires_capability(C.ORDERS_EDIT)
    def change_ship_to_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404("No such order")
        form = ShipToForm(request.POST or None, initial=order.ship_to.as_dict())
        if request.method == "POST" and form.is_valid():
            try:
                edited = services.order_edit(
                    tenant=order.tenant, order_id=order.pk, ship_to=form.cleaned_data, actor=request.user
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                level, text = ship_to_outcome(request, edited)
                self.message_user(request, text, level)
                return redirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change the ship-to of order #{order.number}",
            "order": order,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/orders/order/ship_to.html", context)

    @admin.display(description="State", ordering="state")
    def state_badge(self, order: Order) -> str:
        colour = STATE_COLOURS.get(order.state, "#6b7280")
        return format_html(
            '<span class="state-badge" style="background:{};color:#fff;padding:2px 8px;border-radius:10px;'
            'font-size:11px;white-space:nowrap">{}</span>',
            colour,
            order.get_state_display(),
        )

    @admin.display(description="Total", ordering="total")
    def total_display(self, order: Order) -> str:
        return f"{order.total} {order.currency}"

    @admin.display(description="Allocation plan")
    def allocation_explanation(self, order: Order) -> str:
        plan = order.allocation_plan or {}
        if not plan:
            return "—"
        lines = [line for line in str(plan.get("explanation", "")).splitlines() if line.strip()]
        return format_html(
            "<strong>{}</strong><ul>{}</ul>",
            plan.get("strategy", ""),
            format_html_join("", "<li>{}</li>", ((line,) for line in lines)),
        )

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        verb: str,
        service: Callable[..., Any],
        per_order: Callable[[Order], dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        """Every bulk action: `service(tenant=, order_id=, actor=, **kwargs)` for each selected order."""
        orders = queryset.select_related(None).select_related("tenant")

        def call(order: Order) -> Any:
            extra = per_order(order) if per_order else {}
            return service(tenant=order.tenant, order_id=order.pk, actor=request.user, **kwargs, **extra)

        run_each(self, request, orders, verb, "order(s)", call, label=lambda o: f"#{o.number}")

    @capability_action(C.ORDERS_HOLD, description="Put the selected orders on hold…")
    def hold_orders(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        form = HoldForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._apply(request, queryset, "Held", services.order_hold, **form.cleaned_data)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Put orders on hold",
            "form": form,
            "orders": list(queryset),
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders/order/hold.html", context)

    @capability_action(C.ORDERS_SHIP, description="Mark the allocated units of the selected orders shipped")
    def ship_orders(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """For merchants who ship outside the OMS: every allocated unit leaves, one shipment per order.

        An order already released to a warehouse has shipments of its own, holding its stock: it
        ships through them ("Ship with tracking"), never around them."""
        in_warehouse = list(queryset.filter(state__in=FULFILLING).values_list("number", flat=True))
        if in_warehouse:
            numbers = ", ".join(f"#{n}" for n in in_warehouse)
            self.message_user(
                request,
                f"Not marked shipped: {numbers} {'is' if len(in_warehouse) == 1 else 'are'} in the "
                'warehouse; ship their shipments with "Ship with tracking".',
                messages.WARNING,
            )
        stamp = timezone.now().strftime("%Y%m%d%H%M%S")
        self._apply(
            request,
            queryset.exclude(state__in=FULFILLING),
            "Shipped",
            services.order_record_shipment,
            per_order=lambda o: {"reference": f"admin-{o.pk}-{stamp}"},
        )

    @capability_action(C.ORDERS_REALLOCATE, description="Re-allocate the selected orders")
    def reallocate_orders(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._apply(request, queryset, "Re-allocated", services.order_reallocate)


class ShipToForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    company = forms.CharField(max_length=200, required=False)
    line1 = forms.CharField(max_length=200)
    line2 = forms.CharField(max_length=200, required=False)
    city = forms.CharField(max_length=100)
    region = forms.CharField(max_length=100, required=False)
    postal_code = forms.CharField(max_length=20, required=False)
    country = forms.CharField(max_length=2, min_length=2)
    phone = forms.CharField(max_length=40, required=False)
    email = forms.EmailField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "country" in data:
            data["country"] = normalize_country(data["country"])
            data["postal_code"] = (data.get("postal_code") or "").strip().upper()
            problem = postal_code_error(data["country"], data["postal_code"])
            if problem:
                self.add_error("country" if problem[0] == "invalid_country" else "postal_code", problem[1])
        return data


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, request: HttpRequest, payment: Payment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request, self.payment = request, payment

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        try:  # a support agent refunds up to the tenant's limit
            refund_check(
                tenant=self.payment.tenant,
                role=getattr(self.request, "role", None),
                amount=amount,
                superuser=is_superuser(self.request),
            )
        except DomainError as exc:
            raise forms.ValidationError(exc.message, code=exc.code)
        return amount


@admin.register(Payment)
class PaymentAdmin(TenantAdmin):
    """Payments: read-only rows; capture, void and refund go through the payment services."""

    list_display = [
        "order",
        "provider",
        "provider_id",
        "state",
        "amount_authorized",
        "amount_captured",
        "amount_refunded",
        "created_at",
    ]
    list_filter = ["provider", "state"]
    search_fields = ["provider_id", "order__number", "order__external_id"]
    list_select_related = ["order"]
    actions = ["capture_payments", "void_payments", "refund_payments"]
    capabilities = read_only(C.PAYMENTS_VIEW)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in self.model._meta.fields]

    def _each(self, request: HttpRequest, queryset: QuerySet[Any], verb: str, call: Any) -> None:
        payments = queryset.select_related(None).select_related("tenant").order_by("pk")
        run_each(self, request, payments, verb, "payment(s)", call, label=str)

    @capability_action(C.PAYMENTS_CAPTURE, description="Capture the selected authorizations")
    def capture_payments(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._each(
            request,
            queryset,
            "Captured",
            lambda p: payment_services.payment_capture(tenant=p.tenant, payment_id=p.pk, actor=request.user),
        )

    @capability_action(C.PAYMENTS_VOID, description="Void the selected authorizations")
    def void_payments(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._each(
            request,
            queryset,
            "Voided",
            lambda p: payment_services.payment_void(tenant=p.tenant, payment_id=p.pk, actor=request.user),
        )

    @capability_action(C.PAYMENTS_REFUND, description="Refund an amount of the selected payment…")
    def refund_payments(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        payments = list(queryset)
        if len(payments) != 1:
            self.message_user(request, "Select exactly one payment to refund.", messages.WARNING)
            return None
        payment = payments[0]
        form = RefundForm(
            request.POST if "apply" in request.POST else None,
            initial={"amount": payment.refundable},
            request=request,
            payment=payment,
        )
        if form.is_bound and form.is_valid():
            # One refund per submitted form: a double submit reuses the form's token.
            ref = f"admin:{request.POST.get('refund_token') or uuid.uuid4().hex}"
            self._each(
                request,
                queryset,
                "Refunded",
                lambda p: payment_services.payment_refund(
                    tenant=p.tenant,
                    payment_id=p.pk,
                    amount=form.cleaned_data["amount"],
                    request_ref=ref,
                    reason=form.cleaned_data["reason"] or "Refunded from the admin",
                    actor=request.user,
                ),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund {payment}",
            "payment": payment,
            "form": form,
            "opts": self.model._meta,
            "refund_token": uuid.uuid4().hex,
            "refund_limit": refund_limit(tenant=payment.tenant, role=getattr(request, "role", None))
            if not is_superuser(request)
            else None,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders/payment/refund.html", context)


@admin.register(Customer)
class CustomerAdmin(TenantAdmin):
    list_display = ["email", "name", "phone", "created_at"]
    search_fields = ["email", "name"]
    # Customers come with their orders, which keep them: never deleted here.
    capabilities = {
        "view": C.CUSTOMERS_VIEW,
        "add": C.CUSTOMERS_EDIT,
        "change": C.CUSTOMERS_EDIT,
        "delete": None,
    }
