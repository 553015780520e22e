"""Health (see oms/health.py) and the tenant switcher."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from oms.core.roles import Capability, role_has
from oms.core.tenancy import SESSION_TENANT_KEY
from oms.health import health_report
from oms.models import Membership

SWITCH_TENANT_CAPABILITY = Capability.OWN_ACCOUNT


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """200 or 503 with the reasons: database, broker, live workers, queue and outbox ages (oms/health.py)."""
    healthy, body = health_report()
    return JsonResponse(body, status=200 if healthy else 503)


@require_POST
@login_required
def switch_tenant(request: HttpRequest) -> HttpResponse:
    """A user who belongs to several tenants chooses which one they act for."""
    try:
        tenant_id = int(request.POST.get("tenant", ""))
    except ValueError:
        return JsonResponse({"code": "invalid_tenant", "message": "Choose a tenant."}, status=400)
    membership = (
        Membership.objects.unscoped()
        .filter(user_id=request.user.pk, tenant_id=tenant_id, tenant__is_active=True)
        .first()
    )
    if membership is None:
        return JsonResponse({"code": "not_found", "message": "Not found."}, status=404)
    if not role_has(membership.role, SWITCH_TENANT_CAPABILITY):  # the role in the tenant chosen
        return JsonResponse(
            {"code": "permission_denied", "message": "Your role may not do this."}, status=403
        )
    request.session[SESSION_TENANT_KEY] = tenant_id
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("admin:index")
    return redirect(target or reverse("admin:index"))


switch_tenant.capability = SWITCH_TENANT_CAPABILITY  # type: ignore[attr-defined]
