"""The second factor after the password: who must enrol, who must verify, and what they see."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from oms.models import AuditEvent, Membership, Role
from tests.conftest import second_factor_device
from tests.oms.security.conftest import code_for, code_from_secret, later, password_sign_in

ENROL = reverse("security:enrol")
VERIFY = reverse("security:verify")


def sent_to(response, page: str, next_path: str = "/admin/") -> bool:
    return response.status_code == 302 and response["Location"] == f"{page}?next={quote(next_path, safe='')}"


def test_an_owner_without_a_device_is_sent_to_enrol_and_enrols_with_a_real_code(owner_a, tenant_a):
    client, signed_in = password_sign_in(owner_a)
    assert signed_in.status_code == 302  # the password was right

    assert sent_to(client.get("/admin/"), ENROL)
    assert sent_to(client.get("/admin/orders/order/"), ENROL, "/admin/orders/order/")
    assert sent_to(client.get(reverse("warehouse:home")), ENROL, reverse("warehouse:home"))

    page = client.get(f"{ENROL}?next=/admin/orders/order/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in body  # the QR code, drawn in the page
    assert not re.search(r"""(src|href)=["']https?://""", body), "nothing is loaded from elsewhere"
    secret = re.search(r'<code class="security-secret"[^>]*>([A-Z2-7 ]+)</code>', body).group(1)
    assert len(secret.replace(" ", "")) >= 32
    assert client.get(ENROL).content.decode().count(secret) == 1, "a reload shows the same secret"

    wrong = client.post(ENROL, {"code": "000000", "next": "/admin/orders/order/"})
    assert wrong.status_code == 200 and "That code is not right" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=owner_a, confirmed=True).exists()
    too_soon = client.post(ENROL, {"code": code_from_secret(secret)})
    assert "Too many wrong codes in a row: wait 1 second" in too_soon.content.decode()

    with later(seconds=2):  # a person types the next code after the wait
        done = client.post(ENROL, {"code": code_from_secret(secret), "next": "/admin/orders/order/"})
    assert done.status_code == 302 and done["Location"] == "/admin/orders/order/"
    [device] = TOTPDevice.objects.filter(user=owner_a)
    assert device.confirmed
    assert client.get("/admin/").status_code == 200
    assert client.get(reverse("warehouse:home")).status_code in (200, 302)  # its own redirect, not ours
    assert not client.get(reverse("warehouse:home")).get("Location", "").startswith("/account/security/")
    assert AuditEvent.objects.for_tenant(tenant_a).filter(action="security.device_enrolled").count() == 1


def test_a_manager_and_a_superuser_must_enrol_too(manager_a, tenant_a):
    root = User.objects.create_superuser("root@platform.test", "root@platform.test", "pass-word-123")
    for user in (manager_a, root):
        client, _ = password_sign_in(user)
        assert sent_to(client.get("/admin/"), ENROL), user


def test_with_a_device_the_password_alone_is_sent_to_verify_and_a_wrong_code_is_refused(owner_a):
    device = second_factor_device(owner_a)
    client, _ = password_sign_in(owner_a)

    assert sent_to(client.get("/admin/"), VERIFY)
    assert sent_to(client.get(reverse("warehouse:home")), VERIFY, reverse("warehouse:home"))
    assert sent_to(client.get(ENROL), VERIFY), "no second device with the password alone"

    wrong_code = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    refused = client.post(VERIFY, {"code": wrong_code, "next": "/admin/"})
    assert refused.status_code == 200
    assert "That code is not right" in refused.content.decode()
    assert sent_to(client.get("/admin/"), VERIFY)

    assert client.post(VERIFY, {"code": "12ab56", "next": "/admin/"}).status_code == 200
    assert sent_to(client.get("/admin/"), VERIFY)

    with later(seconds=2):  # past django-otp's wait after a wrong code
        code = code_for(device)
        accepted = client.post(VERIFY, {"code": code[:3] + " " + code[3:], "next": "/admin/orders/order/"})
    assert accepted.status_code == 302 and accepted["Location"] == "/admin/orders/order/"
    assert client.get("/admin/").status_code == 200


def test_a_code_is_good_once(owner_a):
    device = second_factor_device(owner_a)
    first, _ = password_sign_in(owner_a)
    code = code_for(device)
    assert first.post(VERIFY, {"code": code}).status_code == 302
    second, _ = password_sign_in(owner_a)
    assert second.post(VERIFY, {"code": code}).status_code == 200  # replayed: refused
    assert sent_to(second.get("/admin/"), VERIFY)


def test_an_agent_and_a_picker_without_a_device_work_after_the_password(tenant_a, agent_a, warehouse_a):
    client, _ = password_sign_in(agent_a)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/orders/order/").status_code == 200
    picker, _ = password_sign_in(warehouse_a)
    home = picker.get(reverse("warehouse:home"))
    assert not home.get("Location", "").startswith("/account/security/")
    assert home.status_code in (200, 302)


def test_an_agent_who_enrolled_verifies_like_everyone(agent_a):
    second_factor_device(agent_a)
    client, _ = password_sign_in(agent_a)
    assert sent_to(client.get("/admin/"), VERIFY)


def test_a_staff_member_promoted_to_manager_must_enrol_at_the_next_page(tenant_a, agent_a):
    client, _ = password_sign_in(agent_a)
    assert client.get("/admin/").status_code == 200
    Membership.objects.for_tenant(tenant_a).filter(user=agent_a).update(role=Role.MANAGER)
    assert sent_to(client.get("/admin/"), ENROL)


def test_the_api_refuses_an_unverified_session_but_not_an_api_key(owner_a, api_a):
    second_factor_device(owner_a)
    client, _ = password_sign_in(owner_a)
    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json()["code"] == "second_factor_required"
    assert api_a.get("/api/v1/me/").status_code == 200
    other_scheme = client.get("/api/v1/me/", HTTP_AUTHORIZATION="Basic b3duZXI6cHc=")
    assert other_scheme.status_code == 403, "another scheme does not make the session count"


def test_signed_out_pages_and_sign_in_pages_are_untouched(owner_a, client):
    assert client.get("/admin/login/").status_code == 200
    assert client.get("/health").status_code in (200, 503)
    assert client.get(VERIFY)["Location"].startswith("/admin/login/")
    assert client.get(ENROL)["Location"].startswith("/admin/login/")


def test_next_never_leaves_the_site(owner_a):
    device = second_factor_device(owner_a)
    client, _ = password_sign_in(owner_a)
    response = client.post(VERIFY, {"code": code_for(device), "next": "https://evil.example/"})
    assert response["Location"] == "/admin/"


@pytest.mark.parametrize("step", [VERIFY, ENROL])
def test_a_verified_person_passes_the_second_factor_pages(client, owner_a, step):
    client.force_login(owner_a)  # password and second factor (tests/conftest.py)
    assert client.get(f"{step}?next=/admin/orders/order/")["Location"] == "/admin/orders/order/"
    assert client.get("/admin/").status_code == 200
