"""Which tenant a request acts for, and as what role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

SESSION_TENANT_KEY = "oms_tenant_id"


def membership_for_user(user: Any, tenant_id: int | None = None) -> Any:
    """The membership a signed-in user acts through: the one chosen in the session, else the oldest."""
    from oms.models import Membership

    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "pk", None):
        return None
    qs = (
        Membership.objects.unscoped().select_related("tenant").filter(user_id=user.pk, tenant__is_active=True)
    )
    if tenant_id is not None:
        chosen = qs.filter(tenant_id=tenant_id).first()
        if chosen is not None:
            return chosen
    return qs.order_by("created_at", "pk").first()


def attach_membership(request: Any, user: Any) -> None:
    session = getattr(request, "session", None)
    tenant_id = session.get(SESSION_TENANT_KEY) if session is not None else None
    membership = membership_for_user(user, tenant_id)
    request.membership = membership
    request.tenant = membership.tenant if membership else None
    request.role = membership.role if membership else None


class TenantMiddleware:
    """Sets request.tenant / request.role for signed-in staff (admin, warehouse pages).

    API requests authenticated by key get theirs from the DRF authentication class.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]
        request.role = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            attach_membership(request, user)
        return self.get_response(request)


def memberships_context(request: Any) -> dict[str, Any]:
    """Template context: the signed-in user's memberships, for the admin's tenant switcher."""
    from oms.models import Membership

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not getattr(request, "membership", None):
        return {"oms_memberships": []}
    memberships = (
        Membership.objects.unscoped()
        .select_related("tenant")
        .filter(user_id=user.pk, tenant__is_active=True)
        .order_by("tenant__name")
    )
    return {"oms_memberships": list(memberships)}
