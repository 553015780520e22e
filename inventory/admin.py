"""Inventory in the admin: every page scoped to the staff member's tenant (TenantAdmin).

SKUs, warehouses and stock import and export as CSV or XLSX. The ledger and reservations
are read-only; stock quantities change only through the services (adjustments, counts,
receipts), which the actions here call.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX
from unfold.contrib.import_export.forms import ExportForm, ImportForm

from inventory import services
from inventory.errors import InventoryError
from inventory.models import (
    SKU,
    InboundLine,
    InboundShipment,
    Reservation,
    ReservationLine,
    StockLevel,
    StockMovement,
    Warehouse,
)
from inventory.replenishment import replenishment_report
from inventory.resources import SKUResource, StockLevelResource, WarehouseResource
from oms.core.admin import (
    TenantAdmin,
    TenantTabularInline,
    capability_action,
    read_only,
    requires_capability,
)
from oms.core.roles import Capability, request_has

C = Capability


def catalog_capabilities(manage: Capability, view: Capability = C.CATALOG_VIEW) -> dict[str, Any]:
    return {"view": view, "add": manage, "change": manage, "delete": manage, "import": manage, "export": view}


class TenantImportExportMixin(ImportExportMixin):
    """Import/export for the request's tenant; the resource gets the tenant and the actor.

    The admin declares `capabilities["import"]` and `capabilities["export"]`.
    """

    import_form_class, export_form_class = ImportForm, ExportForm  # the admin theme's forms
    import_formats = [CSV, XLSX]
    export_formats = [CSV, XLSX]

    def get_resource_kwargs(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"tenant": getattr(request, "tenant", None), "actor": request.user}

    def has_import_permission(self, request: HttpRequest) -> bool:
        return getattr(request, "tenant", None) is not None and self.may(request, "import")  # type: ignore[attr-defined]

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.may(request, "export")  # type: ignore[attr-defined]


class LowStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("low", "Low (available ≤ reorder point)"), ("out", "Out (nothing available)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        annotated = queryset.annotate(free=F("on_hand") - F("allocated") - F("reserved"))
        if self.value() == "low":
            return annotated.filter(free__lte=F("reorder_point"))
        if self.value() == "out":
            return annotated.filter(free__lte=0)
        return queryset


class StockLevelInline(TenantTabularInline):
    model = StockLevel
    extra = 0
    fields = [
        "warehouse",
        "on_hand",
        "allocated",
        "reserved",
        "reorder_point",
        "safety_stock",
        "bin_location",
    ]
    readonly_fields = ["warehouse", "on_hand", "allocated", "reserved"]
    can_delete = False
    show_change_link = True
    capabilities = {"view": C.STOCK_VIEW, "add": None, "change": C.STOCK_MANAGE, "delete": None}


@admin.register(SKU)
class SKUAdmin(TenantImportExportMixin, TenantAdmin):
    resource_classes = [SKUResource]
    list_display = ["code", "name", "barcode", "price", "lead_time_days", "active"]
    list_filter = ["active", "returnable"]
    search_fields = ["code", "name", "barcode"]
    inlines = [StockLevelInline]
    capabilities = catalog_capabilities(C.SKUS_MANAGE)


@admin.register(Warehouse)
class WarehouseAdmin(TenantImportExportMixin, TenantAdmin):
    resource_classes = [WarehouseResource]
    list_display = ["code", "name", "city", "region", "postal_code", "country", "priority", "active"]
    list_filter = ["active", "country"]
    search_fields = ["code", "name", "city", "postal_code"]
    capabilities = catalog_capabilities(C.WAREHOUSES_MANAGE)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        address_changed = change and any(
            name in form.changed_data for name in ("postal_code", "country", "city")
        )
        coordinates_changed = {"latitude", "longitude"} & set(form.changed_data)
        obj.ships_to = services._normalise_ships_to(obj.ships_to)
        if obj.latitude is None or obj.longitude is None or (address_changed and not coordinates_changed):
            services._fill_coordinates(obj)
        super().save_model(request, obj, form, change)


@admin.register(StockLevel)
class StockLevelAdmin(TenantImportExportMixin, TenantAdmin):
    resource_classes = [StockLevelResource]
    list_display = [
        "sku",
        "warehouse",
        "on_hand",
        "allocated",
        "reserved",
        "available_units",
        "reorder_point",
        "safety_stock",
        "bin_location",
    ]
    list_filter = [LowStockFilter, "warehouse"]
    search_fields = ["sku__code", "sku__name", "bin_location"]
    list_select_related = ["sku", "warehouse"]
    readonly_fields = ["on_hand", "allocated", "reserved"]
    autocomplete_fields = ["sku", "warehouse"]
    change_list_template = "admin/inventory/stocklevel/change_list.html"
    # Stock rows are never deleted here: quantities change only through the ledger's services.
    capabilities = {**catalog_capabilities(C.STOCK_MANAGE, view=C.STOCK_VIEW), "delete": None}

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        extra_context = {
            **(extra_context or {}),
            "has_replenishment_permission": request_has(request, C.REPLENISHMENT_VIEW),
        }
        return super().changelist_view(request, extra_context)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return [*self.readonly_fields, "sku", "warehouse"]
        return self.readonly_fields

    @admin.display(description="available")
    def available_units(self, obj: StockLevel) -> int:
        return obj.available

    def get_urls(self) -> list[Any]:
        urls = super().get_urls()
        view = self.admin_site.admin_view(self.replenishment_view)
        return [path("replenishment/", view, name="inventory_replenishment"), *urls]

    @requires_capability(C.REPLENISHMENT_VIEW)
    def replenishment_view(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if tenant is None:  # a superuser acting for no tenant
            return TemplateResponse(
                request,
                "admin/inventory/replenishment.html",
                {**self.admin_site.each_context(request)},
                status=403,
            )
        report = replenishment_report(tenant=tenant)
        context = {
            **self.admin_site.each_context(request),
            "title": "Replenishment",
            "opts": self.model._meta,
            "report": report,
        }
        return TemplateResponse(request, "admin/inventory/replenishment.html", context)


@admin.register(StockMovement)
class StockMovementAdmin(TenantAdmin):
    """The ledger: read-only, for everyone."""

    capabilities = read_only(C.STOCK_VIEW)
    list_display = [
        "created_at",
        "sku",
        "warehouse",
        "reason",
        "delta",
        "on_hand_after",
        "reference",
        "actor",
    ]
    list_filter = ["reason", "warehouse"]
    search_fields = ["sku__code", "reference", "actor"]
    list_select_related = ["sku", "warehouse"]
    date_hierarchy = "created_at"


class ReservationLineInline(TenantTabularInline):
    model = ReservationLine
    extra = 0
    fields = ["sku", "warehouse", "quantity"]
    readonly_fields = fields
    can_delete = False
    capabilities = read_only(C.STOCK_VIEW)


@admin.register(Reservation)
class ReservationAdmin(TenantAdmin):
    list_display = ["id", "state", "expires_at", "reference", "created_at"]
    list_filter = ["state"]
    search_fields = ["reference"]
    readonly_fields = ["state", "expires_at", "reference", "created_at"]
    inlines = [ReservationLineInline]
    actions = ["release_reservations"]
    capabilities = read_only(C.STOCK_VIEW)

    @capability_action(C.RESERVATIONS_MANAGE, description="Release the selected reservations")
    def release_reservations(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        released = 0
        for reservation in queryset.order_by("pk"):
            try:
                services.reservation_release(
                    tenant=reservation.tenant, reservation_id=reservation.pk, actor=request.user
                )
                released += 1
            except InventoryError as exc:
                self.message_user(request, f"Reservation {reservation.pk}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{released} reservation(s) released.")


class InboundLineInline(TenantTabularInline):
    model = InboundLine
    extra = 1
    fields = ["sku", "quantity_expected", "quantity_received"]
    readonly_fields = ["quantity_received"]
    autocomplete_fields = ["sku"]
    capabilities = {
        "view": C.INBOUND_VIEW,
        "add": C.INBOUND_MANAGE,
        "change": C.INBOUND_MANAGE,
        "delete": C.INBOUND_MANAGE,
    }


@admin.register(InboundShipment)
class InboundShipmentAdmin(TenantAdmin):
    list_display = ["__str__", "kind", "warehouse", "expected_at", "state", "received_at"]
    list_filter = ["state", "kind", "warehouse"]
    search_fields = ["reference", "supplier"]
    readonly_fields = ["state", "received_at", "source_warehouse"]
    inlines = [InboundLineInline]
    actions = ["receive_outstanding"]
    capabilities = {
        "view": C.INBOUND_VIEW,
        "add": C.INBOUND_MANAGE,
        "change": C.INBOUND_MANAGE,
        "delete": C.INBOUND_MANAGE,
    }

    @capability_action(C.INBOUND_RECEIVE, description="Receive everything outstanding")
    def receive_outstanding(self, request: HttpRequest, queryset: QuerySet[InboundShipment]) -> None:
        for shipment in queryset.select_related("tenant").order_by("pk"):
            try:
                services.inbound_receive(tenant=shipment.tenant, shipment_id=shipment.pk, actor=request.user)
            except InventoryError as exc:
                self.message_user(request, f"{shipment}: {exc.message}", messages.WARNING)
            else:
                url = reverse("admin:inventory_inboundshipment_change", args=[shipment.pk])
                self.message_user(request, format_html('Received <a href="{}">{}</a>.', url, shipment))
