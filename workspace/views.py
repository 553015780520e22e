"""The admin's home page (the dashboard) and the exceptions queue."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from oms.core.permissions import capability_required
from oms.core.roles import Capability, request_has
from workspace import charts, exceptions, kpis


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """The figures of the signed-in member's tenant; nothing without a tenant or the capability."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or not request_has(request, Capability.WORKSPACE_VIEW):
        return {}
    figures = kpis.dashboard(tenant)
    orders = figures["orders"]
    return {
        "title": f"Dashboard: {tenant.name}",
        "dashboard": figures,
        "day_chart": charts.day_bars(orders["daily"], link=kpis.day_link),
        "channel_bars": charts.widths(orders["by_channel"], "month"),
        "state_bars": charts.widths(orders["by_state"], "month"),
        "reason_bars": charts.widths(figures["returns"]["by_reason"], 1),
        "exceptions_url": reverse("workspace:exceptions"),
    }


def install_dashboard(site: admin.AdminSite = admin.site) -> None:
    """Make the dashboard the admin's index: the site's own index, with the figures added."""
    original = site.index

    def index(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return original(request, {**dashboard_context(request), **(extra_context or {})})

    site.index = index  # type: ignore[method-assign]


@require_GET
@capability_required(Capability.WORKSPACE_VIEW)
def exceptions_page(request: HttpRequest) -> HttpResponse:
    tenant = getattr(request, "tenant", None)
    kinds = exceptions.queue(tenant) if tenant is not None else []
    for kind in kinds:
        for row in kind.rows:
            row.fixes = [f for f in row.fixes if request_has(request, f.capability)]
        if kind.fix_all is not None and not request_has(request, kind.fix_all.capability):
            kind.fix_all = None
    context = {
        **admin.site.each_context(request),
        "title": "Exceptions",
        "subtitle": tenant.name if tenant is not None else "",
        "kinds": kinds,
        "total": sum(k.count for k in kinds),
        "limit": exceptions.LIMIT,
        "no_tenant": tenant is None,
    }
    return TemplateResponse(request, "workspace/exceptions.html", context)


exceptions_page.capability = Capability.WORKSPACE_VIEW  # type: ignore[attr-defined]
