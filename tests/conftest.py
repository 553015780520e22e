"""Fixtures every test folder shares: two tenants, their staff, their API keys, API clients."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.http import HttpRequest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
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


# --- signing staff in (docs/security.md) ------------------------------------------------------
# Every staff page asks for a second factor after the password, in the tests too. `force_login`
# stands for a person who signed in completely: password and second factor. `login` is the
# password alone (the second factor is then still asked where the rules ask for it).
def second_factor_device(user: Any) -> Any:
    """The user's confirmed TOTP device; one is made if they have none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)


def verify_second_factor(client: Client, user: Any) -> Any:
    """Mark `client`'s session (already signed in as `user`) verified, as the verification page does."""
    device = second_factor_device(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def sign_in_request() -> HttpRequest:
    """What `Client.login` passes to the lockout check, which needs a request (an address)."""
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = "127.0.0.1"
    return request


class StaffClient(Client):
    """Django's test client; `force_login` signs in with the second factor verified."""

    def force_login(self, user: Any, backend: str | None = None) -> None:
        super().force_login(user, backend)
        verify_second_factor(self, user)

    def login(self, **credentials: Any) -> bool:
        credentials.setdefault("request", sign_in_request())
        return super().login(**credentials)


@pytest.fixture
def client() -> StaffClient:
    return StaffClient()


@pytest.fixture
def admin_client(db: Any, admin_user: Any) -> StaffClient:
    client = StaffClient()
    client.force_login(admin_user)
    return client


@pytest.fixture(autouse=True)
def _fresh_sandbox_gateway():
    """The in-memory payment sandbox remembers idempotency keys; ids restart between tests."""
    from orders.payments import sandbox_gateway

    sandbox_gateway.reset()
    yield
    sandbox_gateway.reset()


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache: a rolled-back test's tenant can have the same id as
    the next test's (SQLite), and the hot paths cache per-tenant answers (settings, API keys)."""
    cache.clear()
