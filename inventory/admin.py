"""Inventory in the admin: every page scoped to the staff member's tenant (TenantAdmin).

SKUs, warehouses and stock import and export as CSV or XLSX. The ledger and reservations
are read-only; stock quantities change only through the services (adjustments, counts,
receipts), which the actions here call.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import NestedObjects
from django.db import router
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
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
    actions = ["deactivate_skus"]
    capabilities = catalog_capabilities(C.SKUS_MANAGE)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.deactivate_view)
        return [
            path("<path:object_id>/deactivate/", view, name="inventory_sku_deactivate"),
            *super().get_urls(),
        ]

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        """A SKU with history (stock rows, ledger, orders) is not deleted: say so, offer to deactivate it."""
        sku = self.get_object(request, object_id)
        if sku is not None and self.has_delete_permission(request, sku):
            history = sku_history(sku)
            if history:
                return self._deactivate_page(request, sku, history, refused_delete=True)
        return super().delete_view(request, object_id, extra_context)

    def _deactivate_page(
        self, request: HttpRequest, sku: SKU, history: list[tuple[str, int]], *, refused_delete: bool
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": f"Cannot delete SKU {sku.code}" if refused_delete else f"Deactivate SKU {sku.code}",
            "opts": self.model._meta,
            "sku": sku,
            "history": history,
            "refused_delete": refused_delete,
            "may_deactivate": self.may(request, "change"),
        }
        return TemplateResponse(request, "admin/inventory/sku/deactivate.html", context)

    @requires_capability(C.SKUS_MANAGE)
    def deactivate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        sku = self.get_object(request, object_id)
        if sku is None:
            raise Http404("No such SKU")
        if request.method == "POST":
            self._deactivate(request, sku)
            return redirect(reverse("admin:inventory_sku_change", args=[sku.pk]))
        return self._deactivate_page(request, sku, sku_history(sku), refused_delete=False)

    def _deactivate(self, request: HttpRequest, sku: SKU) -> None:
        if not sku.active:
            self.message_user(request, f"SKU {sku.code} is already inactive.", messages.INFO)
            return
        services.sku_update(tenant=sku.tenant, sku_id=sku.pk, actor=request.user, active=False)
        self.message_user(
            request,
            f"SKU {sku.code} is now inactive: new orders and checkouts refuse it and replenishment "
            "leaves it out; orders already placed still ship, and its history stays.",
            messages.SUCCESS,
        )

    @capability_action(C.SKUS_MANAGE, description="Deactivate the selected SKUs (keeps their history)")
    def deactivate_skus(self, request: HttpRequest, queryset: QuerySet[SKU]) -> None:
        for sku in queryset.select_related("tenant").order_by("code"):
            self._deactivate(request, sku)


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
        site = self.admin_site
        return [
            path("replenishment/", site.admin_view(self.replenishment_view), name="inventory_replenishment"),
            path(
                "replenishment/reorder/",
                site.admin_view(self.replenishment_reorder_view),
                name="inventory_replenishment_reorder",
            ),
            path(
                "replenishment/transfer/",
                site.admin_view(self.replenishment_transfer_view),
                name="inventory_replenishment_transfer",
            ),
            *urls,
        ]

    def _suggestion_input(self, request: HttpRequest, *names: str) -> dict[str, int]:
        """The posted ids and quantity of a suggestion, each id one of the tenant's rows (else 404)."""
        tenant = getattr(request, "tenant", None)
        try:
            values = {name: int(request.POST.get(name, "")) for name in (*names, "quantity")}
        except ValueError:
            raise Http404("No such suggestion")
        if tenant is None or not SKU.objects.for_tenant(tenant).filter(pk=values["sku_id"]).exists():
            raise Http404("No such SKU")
        for name in names:
            if name.endswith("warehouse_id") and not (
                Warehouse.objects.for_tenant(tenant).filter(pk=values[name]).exists()
            ):
                raise Http404("No such warehouse")
        return values

    @requires_capability(C.INBOUND_MANAGE)
    def replenishment_reorder_view(self, request: HttpRequest) -> HttpResponse:
        """One click: a reorder suggestion becomes a purchase order expected at its warehouse."""
        if request.method != "POST":
            return redirect(reverse("admin:inventory_replenishment"))
        data = self._suggestion_input(request, "sku_id", "warehouse_id")
        reference = f"REPL-{timezone.localdate():%Y%m%d}-{data['sku_id']}-{data['warehouse_id']}"
        try:
            shipment = services.inbound_create(
                tenant=request.tenant,  # type: ignore[attr-defined]
                warehouse_id=data["warehouse_id"],
                lines=[(data["sku_id"], data["quantity"])],
                reference=reference,
                actor=request.user,
            )
        except InventoryError as exc:
            self.message_user(request, f"No purchase order made: {exc.message}", messages.WARNING)
            return redirect(reverse("admin:inventory_replenishment"))
        line = shipment.lines.select_related("sku").get()
        self.message_user(
            request,
            f"Purchase order {shipment.reference} made: {line.quantity_expected} × {line.sku.code} "
            f"expected at {shipment.warehouse.code}. Add the supplier and the date you expect it.",
            messages.SUCCESS,
        )
        return redirect(reverse("admin:inventory_inboundshipment_change", args=[shipment.pk]))

    @requires_capability(C.INBOUND_MANAGE)
    def replenishment_transfer_view(self, request: HttpRequest) -> HttpResponse:
        """One click: a transfer suggestion leaves the source now and is expected at the destination."""
        if request.method != "POST":
            return redirect(reverse("admin:inventory_replenishment"))
        data = self._suggestion_input(request, "sku_id", "from_warehouse_id", "to_warehouse_id")
        try:
            _source, shipment = services.stock_transfer(
                tenant=request.tenant,  # type: ignore[attr-defined]
                sku_id=data["sku_id"],
                from_warehouse_id=data["from_warehouse_id"],
                to_warehouse_id=data["to_warehouse_id"],
                quantity=data["quantity"],
                actor=request.user,
                in_transit=True,
            )
        except InventoryError as exc:
            self.message_user(request, f"No transfer made: {exc.message}", messages.WARNING)
            return redirect(reverse("admin:inventory_replenishment"))
        self.message_user(
            request,
            f"Transfer {shipment.reference} made: {data['quantity']} unit(s) left "
            f"{shipment.source_warehouse.code} and are in transit to {shipment.warehouse.code}; "
            "receive them there when they arrive.",
            messages.SUCCESS,
        )
        return redirect(reverse("admin:inventory_inboundshipment_change", args=[shipment.pk]))

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
            "can_act": request_has(request, C.INBOUND_MANAGE),
        }
        return TemplateResponse(request, "admin/inventory/replenishment.html", context)


def sku_history(sku: SKU) -> list[tuple[str, int]]:
    """What keeps a SKU from being deleted: the rows that refer to it, counted by kind."""
    collector = NestedObjects(using=router.db_for_write(SKU, instance=sku))
    collector.collect([sku])
    counts: dict[str, int] = {}
    for obj in collector.protected:
        label = str(obj._meta.verbose_name_plural)
        counts[label] = counts.get(label, 0) + 1
    return sorted(counts.items())


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
                after = services.inbound_receive(
                    tenant=shipment.tenant, shipment_id=shipment.pk, actor=request.user
                )
            except InventoryError as exc:
                self.message_user(request, f"{shipment}: {exc.message}", messages.WARNING)
            else:
                # The shipment as the receipt left it: its state now, not the one it was selected in.
                url = reverse("admin:inventory_inboundshipment_change", args=[after.pk])
                self.message_user(
                    request,
                    format_html(
                        'Received everything outstanding on <a href="{}">{} {}</a>: it is now {}.',
                        url,
                        after.get_kind_display(),
                        after.reference or after.pk,
                        after.get_state_display().lower(),
                    ),
                )
