"""Fulfillment in the admin: shipments with their labels and tracking, pick lists, the tenant's
fulfillment settings, and which warehouses each member works in.

Every page is scoped to the staff member's tenant (TenantAdmin) and every door declares its
capability (oms.core.roles). Rows change only through the fulfillment services, which the actions
and custom pages here call. Doors open one way: this module adds fulfillment's actions and
inlines to the order and staff admins; orders and oms import nothing of fulfillment.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from fulfillment.labels import label_request
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
from fulfillment.notifications import EMAIL_CONTEXT_KEYS, email_template_problem
from fulfillment.services import (
    order_release_to_warehouse,
    pick_list_create,
    shipment_cancel,
    shipment_ship,
)
from fulfillment.states import OPEN, PickListKind, ShipmentState
from inventory.models import Warehouse
from oms.admin import MembershipAdmin
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
from oms.models import Membership
from orders.admin import OrderAdmin, run_each
from orders.models import Order

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
    actions = ["ship_selected", "buy_labels", "cancel_shipments"]
    # Shipments are made by releasing orders and moved by the services: read-only rows here.
    capabilities = read_only(C.SHIPMENTS_VIEW)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.ship_view)
        return [path("ship/", view, name="fulfillment_shipment_ship"), *super().get_urls()]

    def _each(self, request: HttpRequest, queryset: QuerySet[Any], verb: str, call: Any) -> None:
        shipments = queryset.select_related(None).select_related("tenant").order_by("pk")
        run_each(self, request, shipments, verb, "shipment(s)", call, label=lambda x: x.number)

    @capability_action(
        C.SHIPMENTS_MANAGE, description="Ship the selected shipments (enter carrier and tracking)…"
    )
    def ship_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse:
        return ship_page_redirect(list(queryset.values_list("pk", flat=True)))

    @capability_action(
        C.SHIPMENTS_MANAGE, description="Buy labels for the selected packed shipments (rate policy)"
    )
    def buy_labels(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._each(
            request,
            queryset,
            "Asked the carrier for the labels of",
            lambda x: label_request(tenant=x.tenant, shipment_id=x.pk, actor=request.user),
        )

    @capability_action(C.SHIPMENTS_MANAGE, description="Cancel the selected shipments…")
    def cancel_shipments(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        form = CancelForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._each(
                request,
                queryset,
                "Cancelled",
                lambda x: shipment_cancel(
                    tenant=x.tenant, shipment_id=x.pk, reason=reason, actor=request.user
                ),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel shipments",
            "form": form,
            "shipments": list(queryset),
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/fulfillment/shipment/cancel.html", context)

    @requires_capability(C.SHIPMENTS_MANAGE)
    def ship_view(self, request: HttpRequest) -> HttpResponse:
        """Ship these: carrier and tracking per shipment (or none), review, confirm."""
        ids = [int(x) for x in request.GET.get("ids", "").split(",") if x.isdigit()][:MAX_SHIP_ROWS]
        shipments = list(
            self.get_queryset(request)
            .filter(pk__in=ids, state__in=OPEN)
            .select_related("order", "warehouse", "tenant")
            .order_by("pk")
        )
        data = request.POST if request.method == "POST" else None
        header = ShipHeaderForm(data, prefix="all")
        rows = ShipRowFormSet(
            data,
            prefix="rows",
            initial=[
                {
                    "shipment": x.pk,
                    "carrier": x.carrier,
                    "tracking_number": x.tracking_number,
                    "tracking_url": x.tracking_url,
                }
                for x in shipments
            ],
            form_kwargs={"shipments": {x.pk: x for x in shipments}},
        )
        confirming = False
        if data is not None and header.is_valid() and rows.is_valid():
            rows.fill_carriers(header.cleaned_data["carrier"])
            if rows.is_valid() and "confirm" in request.POST:
                self._ship(request, rows)
                return HttpResponseRedirect(reverse("admin:fulfillment_shipment_changelist"))
            confirming = rows.is_valid() and "edit" not in request.POST
        context = {
            **self.admin_site.each_context(request),
            "title": "Confirm: ship these" if confirming else "Ship these",
            "opts": self.model._meta,
            "header": header,
            "rows": rows,
            "confirming": confirming,
            "shipments": shipments,
            "asked": len(ids),
        }
        return TemplateResponse(request, "admin/fulfillment/shipment/ship.html", context)

    def _ship(self, request: HttpRequest, rows: Any) -> None:
        done, failed = 0, []
        for form in rows.forms:
            shipment = form.target
            try:
                shipment_ship(
                    tenant=shipment.tenant,
                    shipment_id=shipment.pk,
                    carrier=form.cleaned_data["carrier"] or None,
                    tracking_number=form.cleaned_data["tracking_number"],
                    tracking_url=form.cleaned_data["tracking_url"],
                    actor=request.user,
                )
                done += 1
            except DomainError as exc:
                failed.append(f"{shipment.number}: {exc.message}")
        if done:
            self.message_user(request, f"Shipped {done} shipment(s).", messages.SUCCESS)
        if failed:
            self.message_user(request, "Not shipped: " + "; ".join(failed), messages.WARNING)

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


MAX_SHIP_ROWS = 200


def ship_page_redirect(shipment_ids: list[int]) -> HttpResponseRedirect:
    url = reverse("admin:fulfillment_shipment_ship")
    return HttpResponseRedirect(f"{url}?ids={','.join(map(str, sorted(shipment_ids)))}")


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The units go back to the order's allocation; a bought label is voided.",
    )


class ShipHeaderForm(forms.Form):
    carrier = forms.CharField(
        max_length=64,
        required=False,
        label="Carrier for rows left blank",
        help_text="e.g. your local courier; a shipment with a bought label keeps its carrier.",
    )


class ShipRowForm(forms.Form):
    shipment = forms.IntegerField(widget=forms.HiddenInput)
    carrier = forms.CharField(max_length=64, required=False)
    tracking_number = forms.CharField(max_length=128, required=False, help_text="Leave blank: no tracking")
    tracking_url = forms.URLField(max_length=500, required=False, assume_scheme="https")

    def __init__(self, *args: Any, shipments: dict[int, Shipment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shipments = shipments
        raw = self.data.get(self.add_prefix("shipment")) if self.is_bound else self.initial.get("shipment")
        self.target: Any = shipments.get(int(raw)) if str(raw or "").isdigit() else None

    def clean_shipment(self) -> int:
        pk = self.cleaned_data["shipment"]
        if pk not in self.shipments:
            raise forms.ValidationError(
                "This shipment cannot ship (it left, was cancelled, or is not yours)."
            )
        self.target = self.shipments[pk]
        return int(pk)


class BaseShipRowFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def fill_carriers(self, default: str) -> None:
        """Rows without a carrier take the page's; a shipment without a label must have one."""
        for form in self.forms:
            if not form.cleaned_data.get("carrier"):
                form.cleaned_data["carrier"] = default
            shipment = form.target
            if not form.cleaned_data["carrier"] and shipment.state != ShipmentState.LABEL_PURCHASED:
                form.add_error("carrier", "Say which carrier took it (or fill the carrier for blank rows).")


ShipRowFormSet = forms.formset_factory(
    ShipRowForm, formset=BaseShipRowFormSet, extra=0, max_num=MAX_SHIP_ROWS
)


# --- pick lists -----------------------------------------------------------------------------
class PickListShipmentInline(ShipmentReadOnlyInline):
    model = Shipment
    fk_name = "pick_list"
    verbose_name_plural = "Shipments"
    fields = ["number", "order", "state", "service_level", "promised_date", "carrier"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("order")


class PickListCreateForm(forms.Form):
    """Which pending shipments of one warehouse (on no list yet) go on a new pick list."""

    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.none())
    kind = forms.ChoiceField(choices=PickListKind.choices, initial=PickListKind.BATCH, label="Picking")
    carrier = forms.CharField(max_length=64, required=False, help_text="Only shipments for this carrier")
    service_level = forms.CharField(max_length=32, required=False, help_text="e.g. standard, express")
    promised_by = forms.DateField(
        required=False,
        label="Promised on or before",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    limit = forms.IntegerField(min_value=1, max_value=500, initial=50, label="Most shipments")

    def __init__(self, *args: Any, warehouses: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = warehouses  # type: ignore[attr-defined]


@admin.register(PickList)
class PickListAdmin(TenantAdmin):
    list_display = [
        "__str__",
        "warehouse",
        "kind",
        "state",
        "shipment_count",
        "sheet",
        "created_by",
        "created_at",
    ]
    list_filter = ["state", "kind", "warehouse"]
    list_select_related = ["warehouse"]
    ordering = ["-created_at", "-id"]
    readonly_fields = [
        "warehouse",
        "kind",
        "state",
        "filters",
        "sheet",
        "created_by",
        "created_at",
        "completed_at",
    ]
    fields = readonly_fields
    inlines = [PickListShipmentInline]
    # Made here (or on the warehouse pages, or on a schedule) through the picking service; worked on
    # the warehouse pages; read-only rows here.
    capabilities = {"view": C.SHIPMENTS_VIEW, "add": C.SHIPMENTS_MANAGE, "change": None, "delete": None}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(shipment_total=Count("shipments"))

    @admin.display(description="Shipments", ordering="shipment_total")
    def shipment_count(self, pick_list: PickList) -> int:
        return pick_list.shipment_total  # type: ignore[attr-defined,no-any-return]

    @admin.display(description="Sheet")
    def sheet(self, pick_list: PickList) -> str:
        url = reverse("warehouse:pick_list", args=[pick_list.warehouse_id, pick_list.pk])
        return format_html('<a href="{}">Open on the warehouse pages</a>', url)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        """A pick list is made by the picking service from filters, not typed in as a row."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        warehouses = scoped_queryset(Warehouse, request).filter(active=True).order_by("code")
        form = PickListCreateForm(request.POST or None, warehouses=warehouses)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            warehouse = data["warehouse"]
            try:
                pick_list = pick_list_create(
                    tenant=warehouse.tenant,
                    warehouse_id=warehouse.pk,
                    kind=data["kind"],
                    carrier=data["carrier"] or None,
                    service_level=data["service_level"] or None,
                    promised_by=data["promised_by"],
                    limit=data["limit"],
                    actor=request.user,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                count = Shipment.objects.for_tenant(warehouse.tenant).filter(pick_list=pick_list).count()
                self.message_user(
                    request,
                    f"{pick_list} made with {count} shipment(s) in {warehouse.code}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:fulfillment_picklist_change", args=[pick_list.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Make a pick list",
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/fulfillment/picklist/create.html", context)


# --- settings and people --------------------------------------------------------------------
EMAIL_TEMPLATE_FIELDS = (
    "shipped_email_subject",
    "shipped_email_body",
    "delivered_email_subject",
    "delivered_email_body",
)


class FulfillmentSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    """A customer email template that would not render is refused here, not found at shipping time."""

    class Meta:
        model = FulfillmentSettings
        fields = [
            "rate_policy",
            "label_file_type",
            "carrier_provider",
            "auto_release",
            "auto_pick_lists",
            "pick_list_size",
            "quiet_tracking_hours",
            "email_from",
            *EMAIL_TEMPLATE_FIELDS,
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in EMAIL_TEMPLATE_FIELDS:
            problem = email_template_problem(data.get(name) or "")
            if problem:
                self.add_error(name, f"This template does not render: {problem}")
        return data


@admin.register(FulfillmentSettings)
class FulfillmentSettingsAdmin(TenantAdmin):
    """One row per tenant, made with the defaults the first time staff open this page."""

    form = FulfillmentSettingsForm
    list_display = ["__str__", "rate_policy", "auto_release", "auto_pick_lists", "pick_list_size"]
    fieldsets = [
        ("Shipping", {"fields": ["rate_policy", "label_file_type", "carrier_provider"]}),
        ("Warehouse", {"fields": ["auto_release", "auto_pick_lists", "pick_list_size"]}),
        ("Tracking", {"fields": ["quiet_tracking_hours"]}),
        (
            "Customer emails",
            {
                "description": "Left empty, the house templates are used. A template may use "
                + ", ".join("{{ " + key + " }}" for key in EMAIL_CONTEXT_KEYS)
                + " (each line has sku, name and quantity).",
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


# --- on the order blotter -------------------------------------------------------------------
class OrderShipmentInline(ShipmentReadOnlyInline):
    model = Shipment
    fk_name = "order"
    verbose_name_plural = "Shipments"
    fields = ["shipment_link", "warehouse", "state", "carrier", "tracking", "shipped_at", "delivered_at"]
    ordering = ["created_at", "id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("warehouse")

    @admin.display(description="Shipment")
    def shipment_link(self, shipment: Shipment) -> str:
        url = reverse("admin:fulfillment_shipment_change", args=[shipment.pk])
        return format_html('<a href="{}">{}</a>', url, shipment.number)

    @admin.display(description="Tracking")
    def tracking(self, shipment: Shipment) -> str:
        return link(shipment.tracking_url, shipment.tracking_number)


@capability_action(C.SHIPMENTS_MANAGE, description="Release the selected orders to the warehouse")
def release_to_warehouse(model_admin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    """An order's allocated units become one shipment per warehouse (when auto-release is off)."""
    made: list[Any] = []

    def release(order: Order) -> None:
        made.extend(order_release_to_warehouse(tenant=order.tenant, order_id=order.pk, actor=request.user))

    orders = queryset.select_related(None).select_related("tenant").order_by("pk")
    run_each(model_admin, request, orders, "Released", "order(s)", release, label=lambda o: f"#{o.number}")
    if made:
        model_admin.message_user(request, f"{len(made)} shipment(s) made.", messages.INFO)


@capability_action(C.SHIPMENTS_MANAGE, description="Ship the selected orders (enter carrier and tracking)…")
def ship_with_tracking(model_admin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse:
    """For merchants without a warehouse team: the orders' open shipments on the "ship these" page;
    an order not yet released to the warehouse is released first."""
    orders = list(queryset.select_related(None).select_related("tenant").order_by("pk"))
    for order in orders:
        try:
            order_release_to_warehouse(tenant=order.tenant, order_id=order.pk, actor=request.user)
        except DomainError:
            pass  # on hold, backordered, already shipped: only its open shipments are offered
    rows = scoped_queryset(Shipment, request).filter(order__in=[o.pk for o in orders], state__in=OPEN)
    ids = list(rows.values_list("pk", flat=True))
    if not ids:
        model_admin.message_user(
            request, "None of the selected orders has anything to ship.", messages.WARNING
        )
        return HttpResponseRedirect(request.get_full_path())
    return ship_page_redirect(ids)


OrderAdmin.inlines = [*OrderAdmin.inlines, OrderShipmentInline]
for _action in (release_to_warehouse, ship_with_tracking):
    setattr(OrderAdmin, _action.__name__, _action)
OrderAdmin.actions = [*OrderAdmin.actions, release_to_warehouse.__name__, ship_with_tracking.__name__]
