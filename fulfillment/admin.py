"""Fulfillment in the admin: shipments with their labels and tracking, pick lists, the tenant's
fulfillment settings, and which warehouses each member works in.

Every page is scoped to the staff member's tenant (TenantAdmin) and every door declares its
capability (oms.core.roles). Rows change only through the fulfillment services, which the actions
and custom pages here call. Doors open one way: this module adds fulfillment's actions and
inlines to the order and staff admins; orders and oms import nothing of fulfillment.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from fulfillment.models import (
    FulfillmentSettings,
    Label,
    Parcel,
    PickList,
    Shipment,
    ShipmentLine,
    TrackingEvent,
    WarehouseAssignment,
)
from fulfillment.states import ShipmentState
from oms.admin import MembershipAdmin
from oms.core.admin import TenantAdmin, TenantTabularInline, is_superuser, read_only
from oms.core.roles import Capability
from oms.models import Membership

C = Capability
S = ShipmentState

STATE_COLOURS = {
    S.PENDING: "#6b7280",
    S.PICKING: "#b45309",
    S.PACKED: "#7c3aed",
    S.LABEL_PURCHASED: "#2563eb",
    S.SHIPPED: "#0891b2",
    S.IN_TRANSIT: "#0d9488",
    S.DELIVERED: "#15803d",
    S.EXCEPTION: "#dc2626",
    S.RETURNED_TO_SENDER: "#9f1239",
    S.CANCELLED: "#374151",
}


def badge(colour: str, text: str) -> str:
    return format_html(
        '<span class="state-badge" style="background:{};color:#fff;padding:2px 8px;border-radius:10px;'
        'font-size:11px;white-space:nowrap">{}</span>',
        colour,
        text,
    )


def link(url: str, text: str) -> str:
    """An outside link (a carrier's tracking page, a label file) opening in a new tab."""
    if not url:
        return text or "—"
    return format_html('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', url, text or url)


class CarrierFilter(admin.SimpleListFilter):
    """The carriers of the tenant's own shipments (Django's value filter would read every tenant's)."""

    title = "carrier"
    parameter_name = "carrier"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        carriers = (
            model_admin.get_queryset(request)
            .exclude(carrier="")
            .order_by("carrier")
            .values_list("carrier", flat=True)
            .distinct()
        )
        return [(carrier, carrier) for carrier in carriers]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(carrier=self.value()) if self.value() else queryset


# --- shipments ------------------------------------------------------------------------------
class ShipmentReadOnlyInline(TenantTabularInline):
    extra = 0
    can_delete = False
    capabilities = read_only(C.SHIPMENTS_VIEW)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields


class ShipmentLineInline(ShipmentReadOnlyInline):
    model = ShipmentLine
    fields = ["sku", "quantity", "quantity_picked", "quantity_packed", "quantity_short", "short_reason"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("sku")


class ParcelInline(ShipmentReadOnlyInline):
    model = Parcel
    fields = ["weight_grams", "length_mm", "width_mm", "height_mm"]


class LabelInline(ShipmentReadOnlyInline):
    model = Label
    fields = [
        "created_at",
        "state",
        "is_return",
        "carrier",
        "service",
        "amount",
        "currency",
        "tracking",
        "label",
        "error",
        "attempts",
        "requested_by",
        "reference",
    ]
    ordering = ["created_at", "id"]

    @admin.display(description="Tracking")
    def tracking(self, label: Label) -> str:
        return link(label.tracking_url, label.tracking_number)

    @admin.display(description="Label")
    def label(self, label: Label) -> str:
        return link(label.label_url, "Label") if label.label_url else "—"


class TrackingEventInline(ShipmentReadOnlyInline):
    model = TrackingEvent
    verbose_name_plural = "Tracking"
    fields = ["status_date", "status", "status_details", "location", "source"]
    ordering = ["status_date", "id"]


@admin.register(Shipment)
class ShipmentAdmin(TenantAdmin):
    list_display = [
        "number",
        "order_link",
        "warehouse",
        "state_badge",
        "carrier",
        "tracking",
        "label",
        "created_at",
    ]
    list_filter = ["state", "warehouse", CarrierFilter]
    search_fields = ["number", "order__number", "order__external_id", "tracking_number"]
    list_select_related = ["order", "warehouse"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    readonly_fields = [
        "number",
        "order_link",
        "warehouse",
        "state_badge",
        "pick_list",
        "service_level",
        "promised_date",
        "carrier",
        "service",
        "tracking",
        "label",
        "tracking_status",
        "last_error",
        "cancel_reason",
        "packed_at",
        "shipped_at",
        "delivered_at",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields
    inlines = [ShipmentLineInline, ParcelInline, LabelInline, TrackingEventInline]
    # Shipments are made by releasing orders and moved by the services: read-only rows here.
    capabilities = read_only(C.SHIPMENTS_VIEW)

    @admin.display(description="Order", ordering="order__number")
    def order_link(self, shipment: Shipment) -> str:
        url = reverse("admin:orders_order_change", args=[shipment.order_id])
        return format_html('<a href="{}">#{}</a>', url, shipment.order.number)

    @admin.display(description="State", ordering="state")
    def state_badge(self, shipment: Shipment) -> str:
        return badge(STATE_COLOURS.get(shipment.state, "#6b7280"), shipment.get_state_display())

    @admin.display(description="Tracking", ordering="tracking_number")
    def tracking(self, shipment: Shipment) -> str:
        return link(shipment.tracking_url, shipment.tracking_number)

    @admin.display(description="Label")
    def label(self, shipment: Shipment) -> str:
        return link(shipment.label_url, "Label") if shipment.label_url else "—"


# --- pick lists -----------------------------------------------------------------------------
class PickListShipmentInline(ShipmentReadOnlyInline):
    model = Shipment
    fk_name = "pick_list"
    verbose_name_plural = "Shipments"
    fields = ["number", "order", "state", "service_level", "promised_date", "carrier"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("order")


@admin.register(PickList)
class PickListAdmin(TenantAdmin):
    list_display = ["__str__", "warehouse", "kind", "state", "shipment_count", "created_by", "created_at"]
    list_filter = ["state", "kind", "warehouse"]
    list_select_related = ["warehouse"]
    ordering = ["-created_at", "-id"]
    readonly_fields = ["warehouse", "kind", "state", "filters", "created_by", "created_at", "completed_at"]
    fields = readonly_fields
    inlines = [PickListShipmentInline]
    capabilities = read_only(C.SHIPMENTS_VIEW)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(shipment_total=Count("shipments"))

    @admin.display(description="Shipments", ordering="shipment_total")
    def shipment_count(self, pick_list: PickList) -> int:
        return pick_list.shipment_total  # type: ignore[attr-defined,no-any-return]


# --- settings and people --------------------------------------------------------------------
@admin.register(FulfillmentSettings)
class FulfillmentSettingsAdmin(TenantAdmin):
    """One row per tenant, made with the defaults the first time staff open this page."""

    list_display = ["__str__", "rate_policy", "auto_release", "auto_pick_lists", "pick_list_size"]
    fieldsets = [
        ("Shipping", {"fields": ["rate_policy", "label_file_type", "carrier_provider"]}),
        ("Warehouse", {"fields": ["auto_release", "auto_pick_lists", "pick_list_size"]}),
        ("Tracking", {"fields": ["quiet_tracking_hours"]}),
        (
            "Customer emails",
            {
                "description": "Left empty, the house templates are used. Templates see "
                "{{ order }}, {{ shipment }} and {{ tracking_url }}.",
                "fields": [
                    "email_from",
                    "shipped_email_subject",
                    "shipped_email_body",
                    "delivered_email_subject",
                    "delivered_email_body",
                ],
            },
        ),
    ]
    capabilities = {"view": C.TENANT_VIEW, "add": None, "change": C.TENANT_SETTINGS, "delete": None}

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        tenant = getattr(request, "tenant", None)
        if tenant is not None and not is_superuser(request):
            FulfillmentSettings.objects.for_tenant(tenant).get_or_create(tenant=tenant)
        return super().changelist_view(request, extra_context)


def member_label(membership: Membership) -> str:
    """How a membership reads in a choice list: the person and their role."""
    return f"{membership.user.email or membership.user.username} ({membership.get_role_display()})"


@admin.register(WarehouseAssignment)
class WarehouseAssignmentAdmin(TenantAdmin):
    """Members with the warehouse role see the warehouse pages of their warehouses only."""

    list_display = ["member", "role", "warehouse"]
    list_filter = ["warehouse", "membership__role"]
    list_select_related = ["membership__user", "warehouse"]
    search_fields = ["membership__user__email", "warehouse__code", "warehouse__name"]
    fields = ["membership", "warehouse"]
    capabilities = dict.fromkeys(("view", "add", "change", "delete"), C.STAFF_MANAGE)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "membership" and field is not None:
            field.queryset = field.queryset.select_related("user")
            field.label_from_instance = member_label
        return field

    @admin.display(description="Member", ordering="membership__user__email")
    def member(self, assignment: WarehouseAssignment) -> str:
        user = assignment.membership.user
        return str(user.email or user.username)

    @admin.display(description="Role", ordering="membership__role")
    def role(self, assignment: WarehouseAssignment) -> str:
        return str(assignment.membership.get_role_display())


class WarehouseAssignmentInline(TenantTabularInline):
    """On a member's page: the warehouses they work in (once the member exists)."""

    model = WarehouseAssignment
    fk_name = "membership"
    extra = 0
    fields = ["warehouse"]
    verbose_name_plural = "Warehouses they work in (warehouse pages)"
    capabilities = dict.fromkeys(("view", "add", "change", "delete"), C.STAFF_MANAGE)

    # `obj` is the membership: none yet on the add page, where staff are invited by email.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:  # type: ignore[override]
        return obj is not None and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and super().has_delete_permission(request, obj)


MembershipAdmin.inlines = [*MembershipAdmin.inlines, WarehouseAssignmentInline]
