"""Role-based permissions for the REST API. The tenant itself is enforced by the queries."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from oms.models import Role


class IsTenantMember(BasePermission):
    allowed_roles: frozenset[str] = frozenset(Role.values)
    message = "This key or user acts for no tenant, or its role may not do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        tenant = getattr(request, "tenant", None)
        role = getattr(request, "role", None)
        return tenant is not None and role in self.allowed_roles


class IsOwner(IsTenantMember):
    allowed_roles = frozenset({Role.OWNER})


class CanManage(IsTenantMember):
    """Owners and managers: settings, stock adjustments, warehouses, SKUs."""

    allowed_roles = frozenset({Role.OWNER, Role.MANAGER})


class CanManageOrders(IsTenantMember):
    """Owners, managers and support agents: orders, holds, cancellations, returns."""

    allowed_roles = frozenset({Role.OWNER, Role.MANAGER, Role.AGENT})


class CanWorkWarehouse(IsTenantMember):
    """Owners, managers and warehouse staff: picking, packing, receiving."""

    allowed_roles = frozenset({Role.OWNER, Role.MANAGER, Role.WAREHOUSE})
