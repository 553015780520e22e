"""Every door against the role table (oms/core/roles.py), generated from the admin registry and the URL conf.

1. Declarations: every registered admin and inline declares a capability (or None, closed) for
   view/add/change/delete (and import/export where it has them), every admin action one, every
   custom admin page one; every API route one per method; every other route one, or is listed
   in PUBLIC_ROUTES. A throwaway admin, action, admin page, API route and page without one
   make the check fail.
2. Behaviour: for each role (and a superuser), every admin's changelist, add, change and delete
   pages, each action (POSTed) and each custom page, and every API route and method, answer
   allowed or refused (403, or the admin's "No action selected") exactly as the table says.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Group, User
from django.http import HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, path, reverse
from django.views.generic import RedirectView
from import_export.admin import ExportMixin, ImportMixin
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from oms.core.admin import ADMIN_DOORS, CapabilityAdminMixin, TenantAdmin
from oms.core.permissions import CapabilityPermission, capability_required, requires
from oms.core.roles import PUBLIC_ROUTES, Capability, role_has, table_markdown
from oms.models import Membership, Role, Tenant
from oms.services import api_key_create
from orders.models import Customer, Order
from tests.conftest import api_client_for
from tests.worlds import build_world, staff

ROLES = [Role.OWNER, Role.MANAGER, Role.AGENT, Role.WAREHOUSE]
SUPERUSER = "superuser"
MISSING = object()

STANDARD_ADMIN_PAGES = {
    "changelist": "view",
    "add": "add",
    "history": "view",
    "delete": "delete",
    "change": "change",
}
IMPORT_EXPORT_PAGES = {"import": "import", "process_import": "import", "export": "export"}
# The admin site's own pages: sign-in, the index, and autocomplete (which asks each admin's view permission).
ADMIN_SITE_PAGES = {
    "index",
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "autocomplete",
    "jsi18n",
    "view_on_site",
    "app_list",
    # the theme's (django-unfold) search box: the names of the admins get_app_list shows this
    # person, nothing else (tests/test_admin_search.py)
    "search",
}
BY_PERMISSION_NAME = {cap.permission_name: cap for cap in Capability}


# --- reading the declarations ---------------------------------------------------------------
def extra_doors(model_admin: Any) -> list[str]:
    doors = []
    if isinstance(model_admin, ImportMixin):
        doors.append("import")
    if isinstance(model_admin, ExportMixin):
        doors.append("export")
    return doors


def capabilities_problems(label: str, holder: Any, doors: list[str]) -> list[str]:
    cls = holder if isinstance(holder, type) else type(holder)
    if not issubclass(cls, CapabilityAdminMixin):
        return [f"{label}: does not read capabilities (not a CapabilityAdminMixin)"]
    declared = getattr(holder, "capabilities", {})
    problems = []
    for door in doors:
        value = declared.get(door, MISSING)
        if value is MISSING:
            problems.append(f"{label}: declares no capability for {door!r}")
        elif value is not None and not isinstance(value, Capability):
            problems.append(f"{label}: {door!r} is {value!r}, not a Capability or None")
    return problems


def admin_actions(model_admin: Any) -> list[tuple[Any, str]]:
    actions = [(func, name) for func, name, _ in model_admin._get_base_actions()]
    if isinstance(model_admin, ExportMixin) and hasattr(type(model_admin), "export_admin_action"):
        actions.append((type(model_admin).export_admin_action, "export_admin_action"))
    return actions


def action_capabilities(model_admin: Any, func: Any) -> list[Capability | None] | str:
    """The capabilities that open an action (any one suffices, as Django checks), or a problem."""
    permissions = getattr(func, "allowed_permissions", ())
    if not permissions:
        return "declares no capability (permissions=[...])"
    found: list[Capability | None] = []
    for permission in permissions:
        if permission in BY_PERMISSION_NAME:
            found.append(BY_PERMISSION_NAME[permission])
        elif permission in model_admin.capabilities:
            found.append(model_admin.capabilities[permission])
        else:
            return f"asks for {permission!r}, which is no declared capability"
    return found


def admin_page_door(model_admin: Any, pattern: URLPattern) -> tuple[str, Any] | str | None:
    """("door", "view") for the standard pages, ("capability", cap) for custom ones, or a problem."""
    if pattern.name is None and getattr(pattern.callback, "view_class", None) is RedirectView:
        return None  # the old <id>/ URL, redirecting to the change page
    info = f"{model_admin.opts.app_label}_{model_admin.opts.model_name}_"
    suffix = pattern.name[len(info) :] if pattern.name and pattern.name.startswith(info) else None
    if suffix in STANDARD_ADMIN_PAGES:
        return "door", STANDARD_ADMIN_PAGES[suffix]
    if suffix in IMPORT_EXPORT_PAGES and IMPORT_EXPORT_PAGES[suffix] in extra_doors(model_admin):
        return "door", IMPORT_EXPORT_PAGES[suffix]
    capability = getattr(pattern.callback, "capability", MISSING)
    if capability is MISSING or not isinstance(capability, Capability):
        return f"page {pattern.name or pattern.pattern} declares no capability (@requires_capability)"
    return "capability", capability


def iter_routes(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, Any]]:
    """(route, "namespace:name", callback) for every URL; unnamed ones as "namespace:"."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(n for n in (namespace, pattern.namespace or "") if n)
            yield from iter_routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            name = f"{namespace}:{pattern.name or ''}" if namespace else (pattern.name or "")
            yield prefix + str(pattern.pattern), name, pattern.callback


def api_methods(view_class: Any) -> list[str]:
    return [
        m.upper()
        for m in view_class.http_method_names
        if m not in ("options", "head", "trace") and hasattr(view_class, m)
    ]


def api_capability(view_class: Any, method: str) -> Capability | None:
    for permission in view_class.permission_classes:
        if isinstance(permission, type) and issubclass(permission, CapabilityPermission):
            capability = permission.capability_for(method)
            if capability is not None:
                return capability
    return None


def undeclared_doors(site: AdminSite, patterns: list[Any]) -> list[str]:
    problems: list[str] = []
    admin_page_names = set()
    for model, model_admin in site._registry.items():
        label = f"{model._meta.label} admin"
        problems += capabilities_problems(label, model_admin, [*ADMIN_DOORS, *extra_doors(model_admin)])
        for inline in model_admin.inlines:
            problems += capabilities_problems(f"{label} inline {inline.__name__}", inline, list(ADMIN_DOORS))
        for func, name in admin_actions(model_admin):
            found = action_capabilities(model_admin, func)
            if isinstance(found, str):
                problems.append(f"{label} action {name}: {found}")
        for pattern in model_admin.get_urls():
            door = admin_page_door(model_admin, pattern)
            if isinstance(door, str):
                problems.append(f"{label}: {door}")
            if pattern.name:
                admin_page_names.add(pattern.name)
    for route, name, callback in iter_routes(patterns):
        short = name.split(":")[-1]
        if name.startswith(f"{site.name}:"):
            if getattr(callback, "view_class", None) is RedirectView:
                continue  # an admin's old <id>/ URL, redirecting to its change page
            if getattr(callback, "__name__", "") == "catch_all_view":
                continue  # the admin site's catch-all: the login page or a 404
            if short not in ADMIN_SITE_PAGES and short not in admin_page_names:
                problems.append(f"admin page {route} ({name}) belongs to no admin and declares nothing")
            continue
        if name in PUBLIC_ROUTES:
            continue
        view_class = getattr(callback, "cls", None)
        if route.startswith("api/"):
            if view_class is None or not issubclass(view_class, APIView):
                problems.append(f"API route {route} ({name}) is not a DRF view with a declared capability")
                continue
            if view_class.get_permissions is not APIView.get_permissions:
                problems.append(f"API route {route}: overrides get_permissions; declare permission_classes")
            for method in api_methods(view_class):
                if api_capability(view_class, method) is None:
                    problems.append(f"API route {method} {route} ({name}) declares no capability")
            continue
        page_class = getattr(callback, "view_class", None)
        capability = getattr(callback, "capability", getattr(page_class, "capability", None))
        if not isinstance(capability, Capability):
            problems.append(f"route {route} ({name or 'unnamed'}) declares no capability and is not public")
    return problems


def test_every_door_declares_its_capability():
    assert undeclared_doors(admin.site, get_resolver().url_patterns) == []


class UndeclaredAdmin(TenantAdmin):
    pass


class HalfDeclaredAdmin(TenantAdmin):
    capabilities = {"view": Capability.ORDERS_VIEW, "add": None, "change": None}  # no "delete"
    actions = ["nuke"]

    @admin.action(description="An action that asks for nothing")
    def nuke(self, request, queryset):
        pass

    def get_urls(self):
        page = path("secret/", self.admin_site.admin_view(self.secret_view), name="orders_order_secret")
        return [page, *super().get_urls()]

    def secret_view(self, request):
        return HttpResponse("secret")


class UndeclaredApi(APIView):
    def get(self, request):
        return Response({})


class DeclaredApi(UndeclaredApi):
    permission_classes = [requires(Capability.ORDERS_VIEW)]


def undeclared_page(request):
    return HttpResponse("page")


@capability_required(Capability.FULFILLMENT_WORK)
def declared_page(request):
    return HttpResponse("pick list")


def test_a_door_without_a_capability_fails_the_check():
    site = AdminSite(name="throwaway")
    site.register(Customer, UndeclaredAdmin)
    site.register(Order, HalfDeclaredAdmin)
    patterns = [
        path("admin/", site.urls),
        path("api/v1/throwaway/", UndeclaredApi.as_view(), name="throwaway-api"),
        path("api/v1/declared/", DeclaredApi.as_view(), name="declared-api"),
        path("warehouse/page/", undeclared_page, name="throwaway-page"),
        path("warehouse/picks/", declared_page, name="picks"),
    ]
    problems = "\n".join(undeclared_doors(site, patterns))
    assert "orders.Customer admin: declares no capability for 'view'" in problems
    assert "orders.Order admin: declares no capability for 'delete'" in problems
    assert "orders.Order admin action nuke: declares no capability" in problems
    assert "page orders_order_secret declares no capability" in problems
    assert "API route GET api/v1/throwaway/ (throwaway-api) declares no capability" in problems
    assert "route warehouse/page/ (throwaway-page) declares no capability" in problems
    assert "declared-api" not in problems and "picks" not in problems


def test_an_api_view_that_declares_nothing_is_closed(tenant_a):
    _, raw = api_key_create(tenant=tenant_a, name="owner key", role=Role.OWNER)
    request = APIRequestFactory().get("/api/v1/throwaway/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = UndeclaredApi.as_view()(request)
    assert response.status_code == 403
    assert response.data["code"] == "permission_denied"


def test_docs_show_the_table_in_the_code():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "roles.md").read_text(encoding="utf-8")
    assert table_markdown() in docs, "docs/roles.md: paste oms.core.roles.table_markdown() into it"


# --- behaviour: the admin -------------------------------------------------------------------
REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)


def allows(who: str, capability: Capability | None) -> bool:
    if who == SUPERUSER:
        return capability is not None
    return role_has(who, capability)


def row_for(model: Any, world: dict[str, Any]) -> Any:
    if model is Tenant:
        return world["tenant"]
    if model is User:
        return world["owner"]
    if model is Group:
        return Group.objects.get_or_create(name="matrix")[0]
    if model._meta.label_lower in world:  # a staff member's sign-in records (tests/worlds.py)
        return world[model._meta.label_lower]
    return model._base_manager.filter(tenant=world["tenant"]).order_by("pk").first()


def fill(route: str, pk: Any) -> str:
    return "/" + re.sub(r"<(?:\w+:)?\w+>", str(pk), route)


@pytest.fixture
def principals(tenant_a) -> dict[str, Any]:
    users = {role: staff(tenant_a, role, f"{role}.matrix@acme.test") for role in ROLES}
    users[SUPERUSER] = User.objects.create_superuser(
        "root@platform.test", "root@platform.test", "pw-root-123"
    )
    # With the least role in the tenant: a superuser's bypass is what opens the doors, and
    # the pages that need a tenant (replenishment, import) have one.
    Membership.objects.create(tenant=tenant_a, user=users[SUPERUSER], role=Role.WAREHOUSE)
    return users


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_admin_doors_follow_the_role_table(client, tenant_a, principals, model, monkeypatch):
    world = build_world(tenant_a, "ACME")
    model_admin = admin.site._registry[model]
    caps = model_admin.capabilities
    row = row_for(model, world)
    assert row is not None, f"the world has no {model._meta.label} row"
    info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    changelist = reverse(f"{info}_changelist")

    ran: list[str] = []
    for func, name in admin_actions(model_admin):

        def recorder(*args: Any, _name: str = name, **kwargs: Any) -> None:
            ran.append(_name)

        recorder.__dict__.update(func.__dict__)
        if name in admin.site._actions:
            monkeypatch.setitem(admin.site._actions, name, recorder)
        else:
            monkeypatch.setattr(type(model_admin), name, recorder)

    custom_pages = []
    for pattern in model_admin.get_urls():
        door = admin_page_door(model_admin, pattern)
        if isinstance(door, tuple) and (door[0] == "capability" or door[1] in ("import", "export")):
            if not (pattern.name or "").endswith("process_import"):  # POST-only; its form page is "import"
                custom_pages.append(
                    (
                        fill(
                            f"admin/{model._meta.app_label}/{model._meta.model_name}/{pattern.pattern}",
                            row.pk,
                        ),
                        door,
                    )
                )

    mismatches: list[str] = []

    def expect(what: str, allowed: bool, response: Any) -> None:
        ok = response.status_code == 200 if allowed else response.status_code == 403
        if not ok:
            mismatches.append(
                f"{who}: {what} answered {response.status_code}, expected {'200' if allowed else '403'}"
            )

    for who, user in principals.items():
        client.force_login(user)
        can_view = allows(who, caps["view"]) or allows(who, caps["change"])
        expect("changelist", can_view, client.get(changelist))
        expect("add", allows(who, caps["add"]), client.get(reverse(f"{info}_add")))
        change = client.get(reverse(f"{info}_change", args=[row.pk]))
        expect("change page", can_view, change)
        if change.status_code == 200 and change.context["has_change_permission"] != allows(
            who, caps["change"]
        ):
            mismatches.append(f"{who}: the change page is editable={change.context['has_change_permission']}")
        delete_url = reverse(f"{info}_delete", args=[row.pk])
        expect("delete page", allows(who, caps["delete"]), client.get(delete_url))
        if not allows(who, caps["delete"]):
            expect("delete POST", False, client.post(delete_url, {"post": "yes"}))
            assert model._base_manager.filter(pk=row.pk).exists()
        for func, name in admin_actions(model_admin):
            before = len(ran)
            response = client.post(changelist, {"action": name, "_selected_action": [row.pk]})
            allowed = can_view and any(allows(who, cap) for cap in action_capabilities(model_admin, func))
            if allowed != (len(ran) > before):
                mismatches.append(
                    f"{who}: action {name} {'did not run' if allowed else 'ran'} ({response.status_code})"
                )
            if not can_view and response.status_code != 403:
                mismatches.append(
                    f"{who}: action {name} on a hidden changelist answered {response.status_code}"
                )
        for url, (kind, door) in custom_pages:
            capability = door if kind == "capability" else caps[door]
            allowed = allows(who, capability)
            response = client.get(url)
            if allowed and (response.status_code == 403 or response.status_code >= 500):
                mismatches.append(f"{who}: {url} answered {response.status_code}, expected it open")
            if not allowed and response.status_code != 403:
                mismatches.append(f"{who}: {url} answered {response.status_code}, expected 403")
        client.logout()
    assert not mismatches, "\n".join(mismatches)


# --- behaviour: the API and the other pages ---------------------------------------------------
def api_routes() -> list[tuple[str, str, Any]]:
    return [
        (route, name, callback)
        for route, name, callback in iter_routes(get_resolver().url_patterns)
        if route.startswith("api/") and name not in PUBLIC_ROUTES
    ]


@pytest.mark.parametrize("role", ROLES)
def test_api_routes_follow_the_role_table(tenant_a, role):
    _, raw = api_key_create(tenant=tenant_a, name=f"{role} key", role=role)
    client = api_client_for(raw)
    mismatches = []
    for route, _name, callback in api_routes():
        url = fill(route, 999999)
        for method in api_methods(callback.cls):
            capability = api_capability(callback.cls, method)
            response = getattr(client, method.lower())(url, {}, format="json")
            if role_has(role, capability):
                if response.status_code in (401, 403) or response.status_code >= 500:
                    mismatches.append(
                        f"{method} {url} ({capability}): {response.status_code}, expected allowed"
                    )
            elif response.status_code != 403 or response.json().get("code") != "permission_denied":
                mismatches.append(f"{method} {url} ({capability}): {response.status_code}, expected 403")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("role", ROLES)
def test_pages_follow_the_role_table(client, tenant_a, principals, role):
    client.force_login(principals[role])
    pages = [
        (route, callback)
        for route, name, callback in iter_routes(get_resolver().url_patterns)
        if not route.startswith(("api/", "admin/")) and name not in PUBLIC_ROUTES
    ]
    assert pages, "the tenant switcher at least"
    for route, callback in pages:
        page_class = getattr(callback, "view_class", None)
        capability = getattr(callback, "capability", None) or getattr(page_class, "capability", None)
        response = client.post(fill(route, 999999))
        if role_has(role, capability):
            assert response.status_code != 403, route
        else:
            assert response.status_code == 403, route
