"""Health: is the database reachable, is the broker reachable."""

from __future__ import annotations

import time

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from oms.core.roles import Capability, role_has
from oms.core.tenancy import SESSION_TENANT_KEY
from oms.models import Membership

SWITCH_TENANT_CAPABILITY = Capability.OWN_ACCOUNT


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _check_broker() -> str:
    from oms.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(value == "ok" for value in checks.values())
    body = {
        "status": "ok" if healthy else "degraded",
        **checks,
        "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
    }
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
