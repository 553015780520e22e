"""Who may do what: one table of capabilities per role, read by every door.

A *capability* names one thing a person may do in a tenant ("orders.cancel"). Each role
holds a fixed set of them (`ROLE_CAPABILITIES`). Every door declares the capability it
needs and asks this module, never a list of roles:

- the REST API: `oms.core.permissions.requires(...)` in each view's `permission_classes`;
- the admin: each `ModelAdmin`/inline declares `capabilities` for view/add/change/delete,
  each action `@capability_action(...)`, each custom admin page `@requires_capability(...)`
  (all in `oms.core.admin`);
- server-rendered pages: `oms.core.permissions.capability_required` / `CapabilityRequiredMixin`;
- a task or service that acts for a person: `actor_require(tenant=, actor=, capability=)`.

`Capability.PLATFORM` is held by no role: a door that declares it is for superusers (the
platform's own staff) only. Superusers hold every capability. A door that declares `None`
is closed to everyone, superusers included (orders are never added in the admin).

Support agents refund up to the tenant's `agent_refund_limit` per refund
(`refund_check`); owners and managers have no limit below the refundable amount.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from oms.core.errors import DomainError
from oms.models import Membership, Role


class Capability(StrEnum):
    # the tenant, its people and its secrets
    TENANT_VIEW = "tenant.view"
    TENANT_SETTINGS = "tenant.settings"
    STAFF_MANAGE = "staff.manage"
    SECURITY_VIEW = "security.view"
    API_KEYS_MANAGE = "api_keys.manage"
    CREDENTIALS_MANAGE = "credentials.manage"
    AUDIT_VIEW = "audit.view"
    OUTBOX_VIEW = "outbox.view"
    OWN_ACCOUNT = "account.own"
    # orders and customers
    ORDERS_VIEW = "orders.view"
    ORDERS_CREATE = "orders.create"
    ORDERS_EDIT = "orders.edit"
    ORDERS_HOLD = "orders.hold"
    ORDERS_CANCEL = "orders.cancel"
    ORDERS_REALLOCATE = "orders.reallocate"
    ORDERS_SHIP = "orders.ship"
    ORDERS_EXPORT = "orders.export"
    CUSTOMERS_VIEW = "customers.view"
    CUSTOMERS_EDIT = "customers.edit"
    # money
    PAYMENTS_VIEW = "payments.view"
    PAYMENTS_CAPTURE = "payments.capture"
    PAYMENTS_VOID = "payments.void"
    PAYMENTS_REFUND = "payments.refund"
    # returns
    RETURNS_MANAGE = "returns.manage"
    RETURNS_RECEIVE = "returns.receive"
    # catalog and stock
    CATALOG_VIEW = "catalog.view"
    SKUS_MANAGE = "skus.manage"
    WAREHOUSES_MANAGE = "warehouses.manage"
    STOCK_VIEW = "stock.view"
    STOCK_MANAGE = "stock.manage"
    STOCK_COUNT = "stock.count"
    RESERVATIONS_MANAGE = "reservations.manage"
    INBOUND_VIEW = "inbound.view"
    INBOUND_MANAGE = "inbound.manage"
    INBOUND_RECEIVE = "inbound.receive"
    REPLENISHMENT_VIEW = "replenishment.view"
    # warehouse floor and shipments
    FULFILLMENT_WORK = "fulfillment.work"
    SHIPMENTS_VIEW = "shipments.view"
    SHIPMENTS_MANAGE = "shipments.manage"
    # integrations
    INTEGRATIONS_VIEW = "integrations.view"
    INTEGRATIONS_REPLAY = "integrations.replay"
    INTEGRATIONS_SYNC = "integrations.sync"
    CHANNEL_SKUS_MAP = "integrations.map_skus"
    # the merchant's workspace: the dashboard (admin home) and the exceptions queue
    WORKSPACE_VIEW = "workspace.view"
    # no role: the platform's superusers only
    PLATFORM = "platform.admin"

    @property
    def permission_name(self) -> str:
        """The name Django admin actions use: `permissions=[name]` calls `has_<name>_permission`."""
        return "cap_" + self.value.replace(".", "_")

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self]


C = Capability

DESCRIPTIONS: dict[Capability, str] = {
    C.TENANT_VIEW: "see the tenant's settings",
    C.TENANT_SETTINGS: "change the tenant's settings and policies (incl. the agent refund limit)",
    C.STAFF_MANAGE: "add staff by email, change their roles, remove them",
    C.SECURITY_VIEW: "see staff's failed sign-ins, lockouts, sign-ins and second-factor devices "
    "(owners unlock accounts and reset devices: staff.manage)",
    C.API_KEYS_MANAGE: "create, see and revoke API keys",
    C.CREDENTIALS_MANAGE: "create and edit channel accounts: credentials, webhook secrets, base URLs",
    C.AUDIT_VIEW: "read the audit trail",
    C.OUTBOX_VIEW: "see the outbox: side effects waiting to be sent, sent, or failed",
    C.OWN_ACCOUNT: "see who they act as; switch between their tenants",
    C.ORDERS_VIEW: "see orders, their lines, holds and timeline",
    C.ORDERS_CREATE: "place orders through the API",
    C.ORDERS_EDIT: "edit orders (lines, ship-to) before fulfillment",
    C.ORDERS_HOLD: "put orders on hold and release holds",
    C.ORDERS_CANCEL: "cancel orders",
    C.ORDERS_REALLOCATE: "re-allocate orders",
    C.ORDERS_SHIP: "mark orders shipped from the admin",
    C.ORDERS_EXPORT: "export orders (with customers' emails) as CSV/XLSX",
    C.CUSTOMERS_VIEW: "see customers",
    C.CUSTOMERS_EDIT: "add and edit customers",
    C.PAYMENTS_VIEW: "see payments",
    C.PAYMENTS_CAPTURE: "capture authorized payments",
    C.PAYMENTS_VOID: "void authorized payments",
    C.PAYMENTS_REFUND: "refund captured payments (agents: up to the tenant's agent refund limit)",
    C.RETURNS_MANAGE: "open, authorize and close returns",
    C.RETURNS_RECEIVE: "receive returned parcels",
    C.CATALOG_VIEW: "see SKUs and warehouses",
    C.SKUS_MANAGE: "create, edit, import and delete SKUs",
    C.WAREHOUSES_MANAGE: "create, edit, import and delete warehouses",
    C.STOCK_VIEW: "see stock levels, the stock ledger, availability and reservations",
    C.STOCK_MANAGE: "create stock rows, set reorder points and safety stock, import stock",
    C.STOCK_COUNT: "record stock counts and adjustments",
    C.RESERVATIONS_MANAGE: "create and release checkout reservations",
    C.INBOUND_VIEW: "see inbound shipments (purchase orders, transfers)",
    C.INBOUND_MANAGE: "create and edit inbound shipments",
    C.INBOUND_RECEIVE: "receive inbound shipments",
    C.REPLENISHMENT_VIEW: "see the replenishment report",
    C.FULFILLMENT_WORK: "work the warehouse pages: pick, pack, labels",
    C.SHIPMENTS_VIEW: "see shipments, their labels and tracking, and pick lists",
    C.SHIPMENTS_MANAGE: "release orders to the warehouse, make pick lists, buy labels, ship and cancel "
    "shipments from the admin or the API",
    C.INTEGRATIONS_VIEW: "see channel accounts (secrets masked) and the inbound event inbox",
    C.INTEGRATIONS_REPLAY: "replay failed inbound events",
    C.INTEGRATIONS_SYNC: "poll a channel's orders and publish stock to it now",
    C.CHANNEL_SKUS_MAP: "map marketplace SKUs to ours (releases the orders held for them)",
    C.WORKSPACE_VIEW: "see the dashboard (KPIs of their tenant) and the exceptions queue",
    C.PLATFORM: "platform administration (superusers only, no tenant role)",
}

_VIEW_CATALOG_AND_STOCK = {C.OWN_ACCOUNT, C.CATALOG_VIEW, C.STOCK_VIEW, C.INBOUND_VIEW}
_WORKSPACE = {C.WORKSPACE_VIEW}  # every role: the admin's home page and the exceptions queue

MANAGER = frozenset(
    {
        *_VIEW_CATALOG_AND_STOCK,
        *_WORKSPACE,
        C.TENANT_VIEW,
        C.AUDIT_VIEW,
        C.SECURITY_VIEW,
        C.ORDERS_VIEW,
        C.ORDERS_CREATE,
        C.ORDERS_EDIT,
        C.ORDERS_HOLD,
        C.ORDERS_CANCEL,
        C.ORDERS_REALLOCATE,
        C.ORDERS_SHIP,
        C.ORDERS_EXPORT,
        C.CUSTOMERS_VIEW,
        C.CUSTOMERS_EDIT,
        C.PAYMENTS_VIEW,
        C.PAYMENTS_CAPTURE,
        C.PAYMENTS_VOID,
        C.PAYMENTS_REFUND,
        C.RETURNS_MANAGE,
        C.RETURNS_RECEIVE,
        C.SKUS_MANAGE,
        C.WAREHOUSES_MANAGE,
        C.STOCK_MANAGE,
        C.STOCK_COUNT,
        C.RESERVATIONS_MANAGE,
        C.INBOUND_MANAGE,
        C.INBOUND_RECEIVE,
        C.REPLENISHMENT_VIEW,
        C.FULFILLMENT_WORK,
        C.SHIPMENTS_VIEW,
        C.SHIPMENTS_MANAGE,
        C.INTEGRATIONS_VIEW,
        C.INTEGRATIONS_REPLAY,
        C.INTEGRATIONS_SYNC,
        C.CHANNEL_SKUS_MAP,
    }
)

AGENT = frozenset(
    {
        *_VIEW_CATALOG_AND_STOCK,
        *_WORKSPACE,
        C.ORDERS_VIEW,
        C.ORDERS_CREATE,
        C.ORDERS_EDIT,
        C.ORDERS_HOLD,
        C.ORDERS_CANCEL,
        C.ORDERS_EXPORT,
        C.CUSTOMERS_VIEW,
        C.CUSTOMERS_EDIT,
        C.PAYMENTS_VIEW,
        C.PAYMENTS_REFUND,
        C.RETURNS_MANAGE,
        C.SHIPMENTS_VIEW,
    }
)

WAREHOUSE = frozenset(
    {
        *_VIEW_CATALOG_AND_STOCK,
        *_WORKSPACE,
        C.ORDERS_VIEW,
        C.STOCK_COUNT,
        C.INBOUND_RECEIVE,
        C.REPLENISHMENT_VIEW,
        C.RETURNS_RECEIVE,
        C.FULFILLMENT_WORK,
        C.SHIPMENTS_VIEW,
    }
)

OWNER = frozenset(c for c in Capability if c is not C.PLATFORM)

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.OWNER: OWNER,
    Role.MANAGER: MANAGER,
    Role.AGENT: AGENT,
    Role.WAREHOUSE: WAREHOUSE,
}

# Routes outside the API's and the admin's doors that answer without a tenant role, by URL
# name, with the reason. Every other route declares a capability (see tests/test_role_matrix.py).
PUBLIC_ROUTES: dict[str, str] = {
    "health": "load balancers and monitors; reports no tenant data",
    "health-live": "the orchestrator's liveness probe; reports nothing but that the process answers",
    "health-ready": "the orchestrator's readiness probe and load balancers; reports no tenant data",
    "metrics": "the Prometheus scraper, with METRICS_TOKEN; per installation, no tenant data",
    "schema": "the published storefront API contract",
    "api-docs": "the published storefront API contract",
    "integrations:webhook": "vendors call it at an unguessable per-account token; every delivery is verified",
    "admin_password_reset": "staff who forgot their password, and invited staff, set one by email",
    "password_reset_done": "staff who forgot their password, and invited staff, set one by email",
    "password_reset_confirm": "staff who forgot their password, and invited staff, set one by email",
    "password_reset_complete": "staff who forgot their password, and invited staff, set one by email",
}


class RoleErrorCode(StrEnum):
    FORBIDDEN = "permission_denied"
    REFUND_OVER_LIMIT = "refund_over_agent_limit"


def role_has(role: str | None, capability: Capability | None) -> bool:
    """Whether `role` holds `capability`. `None` (a closed door) is held by no role."""
    if role is None or capability is None:
        return False
    return capability in ROLE_CAPABILITIES.get(role, frozenset())


def is_superuser(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) and bool(getattr(user, "is_active", True))


def request_has(request: Any, capability: Capability | None) -> bool:
    """Whether the person behind a request may use `capability` in the tenant it acts for."""
    if capability is None:
        return False
    if is_superuser(getattr(request, "user", None)):
        return True
    if getattr(request, "tenant", None) is None:
        return False
    return role_has(getattr(request, "role", None), capability)


def actor_role(actor: Any, tenant: Any) -> str | None:
    """The role a user or API key acts with in `tenant`; None when they have none there."""
    tenant_id = tenant if isinstance(tenant, int) else getattr(tenant, "pk", None)
    key = getattr(actor, "api_key", None)
    if key is not None:  # an API key principal
        return key.role if key.tenant_id == tenant_id else None
    user_id = actor if isinstance(actor, int) else getattr(actor, "pk", None)
    if user_id is None or tenant_id is None:
        return None
    membership = Membership.objects.for_tenant(tenant_id).filter(user_id=user_id).only("role").first()
    return membership.role if membership else None


def acts_for_nobody(actor: Any) -> bool:
    """A task, a sweep or the system itself: no person to check (`actor="task"`, `None`)."""
    return actor is None or isinstance(actor, str)


def actor_can(*, tenant: Any, actor: Any, capability: Capability | None) -> bool:
    """For tasks and services that act for a person: may this user (object or id) or key do it?"""
    if capability is None:
        return False
    if acts_for_nobody(actor):
        return True
    if not isinstance(actor, int) and is_superuser(actor):
        return True
    return role_has(actor_role(actor, tenant), capability)


def actor_require(*, tenant: Any, actor: Any, capability: Capability | None) -> None:
    """Raise DomainError(permission_denied, 403) unless `actor_can`."""
    if not actor_can(tenant=tenant, actor=actor, capability=capability):
        raise DomainError(
            RoleErrorCode.FORBIDDEN,
            "Your role may not do this.",
            status=403,
            capability=str(capability),
        )


def refund_limit(*, tenant: Any, role: str | None) -> Decimal | None:
    """The most one refund may be for this role: None for no limit, 0 when it may not refund."""
    if not role_has(role, C.PAYMENTS_REFUND):
        return Decimal("0")
    if role == Role.AGENT:
        return Decimal(tenant.agent_refund_limit)
    return None


def refund_check(*, tenant: Any, role: str | None, amount: Decimal, superuser: bool = False) -> None:
    """Raise DomainError unless this role may refund `amount` (one refund) in `tenant`."""
    if superuser:
        return
    limit = refund_limit(tenant=tenant, role=role)
    if limit is None or Decimal(amount) <= limit:
        return
    if limit == 0 and not role_has(role, C.PAYMENTS_REFUND):
        raise DomainError(RoleErrorCode.FORBIDDEN, "Your role may not refund payments.", status=403)
    raise DomainError(
        RoleErrorCode.REFUND_OVER_LIMIT,
        f"Support agents refund at most {limit} at a time; ask a manager for {amount}.",
        status=403,
        amount=str(amount),
        limit=str(limit),
    )


def actor_refund_check(*, tenant: Any, actor: Any, amount: Decimal) -> None:
    """For the refund service: the agent limit applies when a person (not a task) asks."""
    if acts_for_nobody(actor):
        return
    superuser = not isinstance(actor, int) and is_superuser(actor)
    refund_check(tenant=tenant, role=actor_role(actor, tenant), amount=amount, superuser=superuser)


def table_markdown() -> str:
    """The role table as docs/roles.md shows it (a test checks the two agree)."""
    roles = [Role.OWNER, Role.MANAGER, Role.AGENT, Role.WAREHOUSE]
    header = "| capability | what | " + " | ".join(r.value for r in roles) + " |"
    rule = "|---|---|" + "---|" * len(roles)
    rows = [
        f"| `{cap.value}` | {cap.description} | "
        + " | ".join("✓" if role_has(r, cap) else "" for r in roles)
        + " |"
        for cap in Capability
    ]
    return "\n".join([header, rule, *rows])
