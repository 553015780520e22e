"""The doors of the REST API and of server-rendered pages, built from capabilities (oms.core.roles).

API views declare what each method needs:

    permission_classes = [requires(read=Capability.CATALOG_VIEW, write=Capability.SKUS_MANAGE)]
    permission_classes = [requires(Capability.ORDERS_CANCEL)]          # every method

A view that declares nothing falls to `NoCapabilityDeclared` (the DRF default), which
refuses everyone: a forgotten declaration closes the door instead of opening it.
The tenant itself is enforced by the queries (another tenant's object is a 404).

Pages (the warehouse pages to come) use `capability_required(cap)` on a function view or
`CapabilityRequiredMixin` with `capability = ...` on a class-based view.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

from oms.core.roles import Capability, request_has

READ_METHODS = ("GET", "HEAD", "OPTIONS")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class CapabilityPermission(BasePermission):
    """Allows a method when the request's role in its tenant holds the capability declared for it."""

    capabilities: dict[str, Capability] = {}
    message = "Your role may not do this."

    @classmethod
    def capability_for(cls, method: str) -> Capability | None:
        return cls.capabilities.get(method.upper())

    def has_permission(self, request: Any, view: Any) -> bool:
        capability = self.capability_for(request.method)
        if capability is None or getattr(request, "tenant", None) is None:
            return False
        if not request_has(request, capability):
            self.message = f"Your role may not do this (it needs {capability.value})."
            return False
        return True


def requires(
    capability: Capability | None = None,
    *,
    read: Capability | None = None,
    write: Capability | None = None,
) -> type[CapabilityPermission]:
    """A permission class: `capability` for every method, or `read` (GET) and `write` (POST…)."""
    per_method: dict[str, Capability] = {}
    for methods, cap in ((READ_METHODS, read or capability), (WRITE_METHODS, write or capability)):
        if cap is not None:
            per_method.update(dict.fromkeys(methods, cap))
    if read is None and write is not None:  # OPTIONS on a write-only view needs the write capability
        per_method["OPTIONS"] = write
    name = "Requires_" + "_".join(sorted({c.name for c in per_method.values()}))
    return type(name, (CapabilityPermission,), {"capabilities": per_method})


class NoCapabilityDeclared(BasePermission):
    """The default: a view that declares no capability is closed."""

    message = "This route declares no capability."

    def has_permission(self, request: Any, view: Any) -> bool:
        return False


def capability_required(capability: Capability) -> Callable[[Callable[..., HttpResponse]], Any]:
    """For function views: a signed-in member whose role holds `capability`, else login / 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request_has(request, capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.capability = capability  # type: ignore[attr-defined]
        return wrapped

    return decorator


class CapabilityRequiredMixin:
    """For class-based pages: set `capability`; anonymous users go to the login, others get 403."""

    capability: Capability | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request_has(request, self.capability):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
