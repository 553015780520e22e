"""Health (see oms/health.py), metrics (oms/metrics/) and the tenant switcher."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from prometheus_client import CONTENT_TYPE_LATEST

from oms.core.roles import Capability, role_has
from oms.core.tenancy import SESSION_TENANT_KEY
from oms.health import health_report
from oms.metrics.exposition import metrics_exposition
from oms.models import Membership

SWITCH_TENANT_CAPABILITY = Capability.OWN_ACCOUNT


@require_GET
def health_live(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Reads neither the database nor the broker, so an outage of
    either does not get healthy processes restarted (readiness takes them out of rotation)."""
    return JsonResponse({"status": "ok"})


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Readiness (also at /health): 200, or 503 with the reasons: database, broker, live workers,
    queue and outbox ages (oms/health.py)."""
    healthy, body = health_report()
    return JsonResponse(body, status=200 if healthy else 503)


LOOPBACK = frozenset({"127.0.0.1", "::1"})


def _metrics_refusal(request: HttpRequest) -> HttpResponse | None:
    """With METRICS_TOKEN: the bearer token, else 401. Without: a client on this host (not through
    a proxy) where METRICS_LOOPBACK_WITHOUT_TOKEN (not in production), else 403."""
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return None
        refused = JsonResponse(
            {"code": "not_authenticated", "message": "A bearer token is required."}, status=401
        )
        refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    local = request.META.get("REMOTE_ADDR") in LOOPBACK and "HTTP_X_FORWARDED_FOR" not in request.META
    if settings.METRICS_LOOPBACK_WITHOUT_TOKEN and local:
        return None
    return JsonResponse(
        {"code": "permission_denied", "message": "Set METRICS_TOKEN to scrape metrics from here."}, status=403
    )


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """The node's metrics in Prometheus' text format (oms/metrics/): per installation, no tenant data."""
    refusal = _metrics_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_LATEST)


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
