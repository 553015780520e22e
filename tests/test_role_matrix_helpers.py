"""The helpers every door uses: the table, pages, tasks acting for a person, the agent refund limit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory
from django.views import View

from oms.core.auth import ApiKeyPrincipal
from oms.core.errors import DomainError
from oms.core.permissions import CapabilityRequiredMixin, capability_required, requires
from oms.core.roles import (
    ROLE_CAPABILITIES,
    Capability,
    actor_can,
    actor_refund_check,
    actor_require,
    role_has,
)
from oms.models import Role
from oms.services import api_key_create
from tests.worlds import staff

C = Capability


def test_owners_hold_everything_but_the_platform_and_nobody_holds_the_platform():
    assert ROLE_CAPABILITIES[Role.OWNER] == frozenset(Capability) - {C.PLATFORM}
    assert not any(role_has(role, C.PLATFORM) for role in Role.values)
    assert not role_has(Role.OWNER, None) and not role_has(None, C.ORDERS_VIEW)


@pytest.mark.parametrize(
    "capability",
    [
        C.PAYMENTS_CAPTURE,
        C.PAYMENTS_VOID,
        C.PAYMENTS_REFUND,
        C.ORDERS_HOLD,
        C.ORDERS_CANCEL,
        C.ORDERS_SHIP,
        C.ORDERS_REALLOCATE,
        C.RESERVATIONS_MANAGE,
    ],
)
def test_warehouse_staff_do_not_touch_money_or_order_decisions(capability):
    assert not role_has(Role.WAREHOUSE, capability)


def test_warehouse_staff_work_the_floor():
    for capability in (C.FULFILLMENT_WORK, C.INBOUND_RECEIVE, C.STOCK_COUNT, C.ORDERS_VIEW, C.CATALOG_VIEW):
        assert role_has(Role.WAREHOUSE, capability)


def test_only_owners_touch_people_keys_credentials_and_settings():
    for capability in (C.STAFF_MANAGE, C.API_KEYS_MANAGE, C.CREDENTIALS_MANAGE, C.TENANT_SETTINGS):
        assert [role for role in Role.values if role_has(role, capability)] == [Role.OWNER]


# --- a task or service acting for a person -----------------------------------------------------
def test_actor_require_reads_the_persons_role_in_that_tenant(tenant_a, tenant_b):
    agent = staff(tenant_a, Role.AGENT, "agent@acme.test")
    picker = staff(tenant_a, Role.WAREHOUSE, "picker@acme.test")
    actor_require(tenant=tenant_a, actor=agent, capability=C.ORDERS_CANCEL)
    actor_require(tenant=tenant_a, actor=agent.pk, capability=C.ORDERS_CANCEL)  # tasks carry ids
    with pytest.raises(DomainError) as refused:
        actor_require(tenant=tenant_a, actor=picker, capability=C.ORDERS_CANCEL)
    assert (refused.value.code, refused.value.status) == ("permission_denied", 403)
    assert not actor_can(tenant=tenant_b, actor=agent, capability=C.ORDERS_VIEW)  # no role there
    assert actor_can(tenant=tenant_a, actor="task", capability=C.ORDERS_CANCEL)  # acts for nobody
    root = User.objects.create_superuser("root@platform.test", "root@platform.test", "pw-root-123")
    assert actor_can(tenant=tenant_b, actor=root, capability=C.PLATFORM)
    assert not actor_can(tenant=tenant_a, actor=root, capability=None)


def test_an_api_key_acts_with_its_role_in_its_tenant_only(tenant_a, tenant_b):
    key, _ = api_key_create(tenant=tenant_a, name="pos", role=Role.AGENT)
    principal = ApiKeyPrincipal(key)
    assert actor_can(tenant=tenant_a, actor=principal, capability=C.ORDERS_CANCEL)
    assert not actor_can(tenant=tenant_a, actor=principal, capability=C.ORDERS_SHIP)
    assert not actor_can(tenant=tenant_b, actor=principal, capability=C.ORDERS_VIEW)


def test_the_agent_refund_limit_applies_to_people_not_to_tasks(tenant_a):
    tenant_a.agent_refund_limit = Decimal("25.00")
    tenant_a.save()
    agent = staff(tenant_a, Role.AGENT, "agent@acme.test")
    manager = staff(tenant_a, Role.MANAGER, "manager@acme.test")
    picker = staff(tenant_a, Role.WAREHOUSE, "picker@acme.test")
    actor_refund_check(tenant=tenant_a, actor=agent, amount=Decimal("25.00"))
    with pytest.raises(DomainError) as over:
        actor_refund_check(tenant=tenant_a, actor=agent, amount=Decimal("25.01"))
    assert over.value.code == "refund_over_agent_limit" and over.value.extra["limit"] == "25.00"
    with pytest.raises(DomainError) as none:
        actor_refund_check(tenant=tenant_a, actor=picker, amount=Decimal("1.00"))
    assert none.value.code == "permission_denied"
    actor_refund_check(tenant=tenant_a, actor=manager, amount=Decimal("5000"))
    actor_refund_check(tenant=tenant_a, actor="task", amount=Decimal("5000"))


# --- server-rendered pages ---------------------------------------------------------------------
@capability_required(C.FULFILLMENT_WORK)
def pick_list(request):
    return HttpResponse("pick list")


class PackPage(CapabilityRequiredMixin, View):
    capability = C.FULFILLMENT_WORK

    def get(self, request):
        return HttpResponse("pack")


def _request(user, tenant=None, role=None):
    request = RequestFactory().get("/warehouse/picks/")
    request.user, request.tenant, request.role = user, tenant, role
    return request


@pytest.mark.parametrize("page", [pick_list, PackPage.as_view()], ids=["function", "class"])
def test_pages_let_in_the_roles_that_hold_their_capability(tenant_a, page):
    picker = staff(tenant_a, Role.WAREHOUSE, "picker@acme.test")
    agent = staff(tenant_a, Role.AGENT, "agent@acme.test")
    assert page(_request(picker, tenant_a, Role.WAREHOUSE)).status_code == 200
    with pytest.raises(PermissionDenied):
        page(_request(agent, tenant_a, Role.AGENT))
    with pytest.raises(PermissionDenied):
        page(_request(picker))  # a member acting for no tenant
    anonymous = page(_request(AnonymousUser()))
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    assert pick_list.capability is C.FULFILLMENT_WORK


def test_requires_maps_methods_to_capabilities():
    both = requires(read=C.CATALOG_VIEW, write=C.SKUS_MANAGE)
    assert [both.capability_for(m) for m in ("GET", "HEAD", "OPTIONS", "POST", "PATCH", "DELETE")] == [
        *[C.CATALOG_VIEW] * 3,
        *[C.SKUS_MANAGE] * 3,
    ]
    write_only = requires(write=C.ORDERS_CANCEL)
    assert (
        write_only.capability_for("GET") is None and write_only.capability_for("OPTIONS") is C.ORDERS_CANCEL
    )
    assert requires(C.ORDERS_HOLD).capability_for("POST") is C.ORDERS_HOLD
