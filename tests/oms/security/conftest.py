"""Staff who sign in as a person does: the admin's sign-in form, then the second-factor pages."""

from __future__ import annotations

from base64 import b32decode
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp

from oms.models import Role
from tests.conftest import _staff

PASSWORD = "pass-word-123"


def code_for(device: Any, *, offset: int = 0) -> str:
    """The code an authenticator app shows for `device` now (offset in 30 s steps)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def code_from_secret(secret_text: str) -> str:
    """What an app shows after the person typed the secret the enrolment page printed."""
    secret = "".join(secret_text.split())
    key = b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def later(*, seconds: float = 0, minutes: float = 0) -> Any:
    """The clock (Django's, the TOTP codes', axes') moved on by this much, and running."""
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds, minutes=minutes), tick=True)


def password_sign_in(user: Any, *, password: str = PASSWORD, ip: str = "198.51.100.10") -> tuple[Client, Any]:
    """A fresh browser that signs in with the password alone; (client, the sign-in's response)."""
    client = Client(REMOTE_ADDR=ip)
    response = client.post(
        reverse("admin:login"), {"username": user.get_username(), "password": password, "next": "/admin/"}
    )
    return client, response


@pytest.fixture
def agent_a(tenant_a: Any) -> Any:
    return _staff(tenant_a, Role.AGENT, "agent@acme.test")


@pytest.fixture
def manager_b(tenant_b: Any) -> Any:
    return _staff(tenant_b, Role.MANAGER, "manager@globex.test")
