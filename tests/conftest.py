"""Fixtures every test folder shares: two tenants, their staff, their API keys, API clients."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from oms.models import Role
from oms.services import api_key_create
from tests.oms.factories import MembershipFactory, TenantFactory, UserFactory


@pytest.fixture
def tenant_a(db: Any) -> Any:
    return TenantFactory(slug="acme", name="Acme Outdoor")


@pytest.fixture
def tenant_b(db: Any) -> Any:
    return TenantFactory(slug="globex", name="Globex Goods")


def _staff(tenant: Any, role: str, email: str) -> Any:
    user = UserFactory(username=email, email=email, is_staff=True)
    MembershipFactory(tenant=tenant, user=user, role=role)
    return user


@pytest.fixture
def owner_a(tenant_a: Any) -> Any:
    return _staff(tenant_a, Role.OWNER, "owner@acme.test")


@pytest.fixture
def owner_b(tenant_b: Any) -> Any:
    return _staff(tenant_b, Role.OWNER, "owner@globex.test")


@pytest.fixture
def manager_a(tenant_a: Any) -> Any:
    return _staff(tenant_a, Role.MANAGER, "manager@acme.test")


@pytest.fixture
def warehouse_a(tenant_a: Any) -> Any:
    return _staff(tenant_a, Role.WAREHOUSE, "picker@acme.test")


@pytest.fixture
def key_a(tenant_a: Any) -> tuple[Any, str]:
    return api_key_create(tenant=tenant_a, name="storefront", role=Role.MANAGER)


@pytest.fixture
def key_b(tenant_b: Any) -> tuple[Any, str]:
    return api_key_create(tenant=tenant_b, name="storefront", role=Role.MANAGER)


def api_client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def api_a(key_a: tuple[Any, str]) -> APIClient:
    return api_client_for(key_a[1])


@pytest.fixture
def api_b(key_b: tuple[Any, str]) -> APIClient:
    return api_client_for(key_b[1])


@pytest.fixture(autouse=True)
def _fresh_sandbox_gateway():
    """The in-memory payment sandbox remembers idempotency keys; ids restart between tests."""
    from orders.payments import sandbox_gateway

    sandbox_gateway.reset()
    yield
    sandbox_gateway.reset()
