"""The admin's sidebar (django-unfold), grouped the way a merchant works, not by Django app.

Built per request: an entry shows only when the signed-in role may open it (the model admin's own
permission checks, or the capability of a custom page), and a group with no entry left is dropped.
Models that no group names are still reached through "All applications" (SIDEBAR
show_all_applications), so a new admin never disappears from the menu.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse

from oms.core.roles import Capability, request_has

C = Capability

# (group title, [(Material Symbols icon, entry)]); an entry is a model label, or a custom page
# as (title, url name, capability).
Entry = str | tuple[str, str, Capability]
GROUPS: list[tuple[str, list[tuple[str, Entry]]]] = [
    (
        "Orders",
        [
            ("shopping_cart", "orders.order"),
            ("group", "orders.customer"),
            ("payments", "orders.payment"),
        ],
    ),
    (
        "Fulfillment",
        [
            ("local_shipping", "fulfillment.shipment"),
            ("checklist", "fulfillment.picklist"),
            ("badge", "fulfillment.warehouseassignment"),
            ("warehouse", ("Warehouse floor", "warehouse:home", C.FULFILLMENT_WORK)),
        ],
    ),
    (
        "Returns",
        [
            ("assignment_return", "returns.returnrequest"),
            ("monitoring", ("Return rate", "admin:returns_returnrequest_report", C.ORDERS_VIEW)),
            ("policy", "returns.returnpolicy"),
        ],
    ),
    (
        "Catalog & stock",
        [
            ("sell", "inventory.sku"),
            ("warehouse", "inventory.warehouse"),
            ("inventory", "inventory.stocklevel"),
            ("swap_vert", "inventory.stockmovement"),
            ("lock_clock", "inventory.reservation"),
            ("move_to_inbox", "inventory.inboundshipment"),
            ("trending_up", ("Replenishment", "admin:inventory_replenishment", C.REPLENISHMENT_VIEW)),
        ],
    ),
    (
        "Integrations",
        [
            ("hub", "integrations.channelaccount"),
            ("receipt_long", "integrations.channelorder"),
            ("inbox", "integrations.inboundevent"),
            ("link", "integrations.skumapping"),
            ("published_with_changes", "integrations.channelstock"),
            ("webhook", "notifications.webhookendpoint"),
            ("send", "notifications.webhookdelivery"),
        ],
    ),
    (
        "Settings",
        [
            ("tune", "fulfillment.fulfillmentsettings"),
            ("mail", "notifications.emailtemplate"),
            ("outgoing_mail", "notifications.emailnotification"),
            ("groups", "oms.membership"),
            ("key", "oms.apikey"),
            ("history", "oms.auditevent"),
            ("outbox", "oms.outboxmessage"),
            ("storefront", "oms.tenant"),
            ("person", "auth.user"),
            ("shield_person", "auth.group"),
            ("phonelink_lock", "otp_totp.totpdevice"),
            ("lock_person", "axes.accessattempt"),
            ("login", "axes.accesslog"),
        ],
    ),
]


def _model_item(request: HttpRequest, icon: str, label: str) -> dict[str, Any] | None:
    try:
        model = apps.get_model(label)
    except LookupError:
        return None
    model_admin = admin.site._registry.get(model)
    if model_admin is None or not model_admin.has_view_or_change_permission(request):
        return None
    opts = model._meta
    plural = str(opts.verbose_name_plural)
    return {
        "title": plural[:1].upper() + plural[1:],  # "SKUs", "API keys" keep their capitals
        "icon": icon,
        "link": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    }


def _page_item(request: HttpRequest, icon: str, title: str, url_name: str, cap: Capability) -> dict | None:
    if not request_has(request, cap):
        return None
    try:
        link = reverse(url_name)
    except NoReverseMatch:
        return None
    return {"title": title, "icon": icon, "link": link}


def sidebar(request: HttpRequest) -> list[dict[str, Any]]:
    """UNFOLD["SIDEBAR"]["navigation"]: the groups, each with the entries this request may open."""
    groups: list[dict[str, Any]] = [
        {"items": [{"title": "Home", "icon": "dashboard", "link": reverse("admin:index")}]}
    ]
    exceptions = _page_item(request, "report", "Exceptions", "workspace:exceptions", C.WORKSPACE_VIEW)
    if exceptions is not None:
        groups[0]["items"].append(exceptions)
    for title, entries in GROUPS:
        items = []
        for icon, entry in entries:
            if isinstance(entry, str):
                item = _model_item(request, icon, entry)
            else:
                item = _page_item(request, icon, *entry)
            if item is not None:
                items.append(item)
        if items:
            groups.append({"title": title, "separator": True, "collapsible": False, "items": items})
    return groups


def tenant_name(request: HttpRequest) -> str:
    """UNFOLD["SITE_SUBHEADER"]: under "OMS" in the sidebar, the tenant this person acts for."""
    tenant = getattr(request, "tenant", None)
    return tenant.name if tenant is not None else ""


def stylesheet(request: HttpRequest) -> str:
    """UNFOLD["STYLES"]: the house additions to the theme (static/oms/admin.css)."""
    return static("oms/admin.css")
