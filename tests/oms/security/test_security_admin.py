"""Lockouts, sign-ins and devices in the admin: a tenant's own staff only; owners clear, managers look."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from oms.models import AuditEvent, Membership, Role
from tests.conftest import StaffClient, _staff
from tests.oms.security.conftest import password_sign_in

ATTEMPTS = reverse("admin:axes_accessattempt_changelist")
DEVICES = reverse("admin:otp_totp_totpdevice_changelist")
SIGN_INS = reverse("admin:axes_accesslog_changelist")


@pytest.fixture
def locked(settings, tenant_a, tenant_b):
    """An agent of each tenant locked out by real failed sign-ins, each with a device."""
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=30)
    people = {
        "acme": _staff(tenant_a, Role.AGENT, "agent@acme.test"),
        "globex": _staff(tenant_b, Role.AGENT, "agent@globex.test"),
    }
    for person in people.values():
        TOTPDevice.objects.create(user=person, name=f"{person.username} phone", confirmed=True)
        for _ in range(2):
            password_sign_in(person, password="wrong")
        assert password_sign_in(person)[1].status_code == 429
    return people


def signed_in(user) -> StaffClient:
    client = StaffClient()
    client.force_login(user)
    return client


def test_a_manager_sees_their_tenants_lockouts_and_devices_not_anothers(locked, manager_a):
    client = signed_in(manager_a)
    for url in (ATTEMPTS, DEVICES):
        page = client.get(url)
        body = page.content.decode()
        assert page.status_code == 200, url
        assert "agent@acme.test" in body, url
        assert "globex" not in body, url
    assert "locked until" in client.get(ATTEMPTS).content.decode()
    assert "manager@acme.test" in client.get(SIGN_INS).content.decode()

    theirs = AccessAttempt.objects.get(username="agent@globex.test")
    response = client.get(reverse("admin:axes_accessattempt_change", args=[theirs.pk]), follow=True)
    assert "doesn’t exist" in response.content.decode()
    their_device = TOTPDevice.objects.get(user=locked["globex"])
    response = client.get(reverse("admin:otp_totp_totpdevice_change", args=[their_device.pk]), follow=True)
    assert "doesn’t exist" in response.content.decode()


def test_a_manager_may_not_unlock_or_reset(locked, manager_a):
    client = signed_in(manager_a)
    mine = AccessAttempt.objects.get(username="agent@acme.test")
    assert 'value="unlock"' not in client.get(ATTEMPTS).content.decode()
    client.post(ATTEMPTS, {"action": "unlock", "_selected_action": [mine.pk]})
    assert AccessAttempt.objects.filter(pk=mine.pk).exists()
    device = TOTPDevice.objects.get(user=locked["acme"])
    assert client.get(reverse("admin:otp_totp_totpdevice_delete", args=[device.pk])).status_code == 403
    assert (
        client.post(
            reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_an_owner_unlocks_their_agent_who_then_signs_in(locked, owner_a, tenant_a):
    client = signed_in(owner_a)
    mine = AccessAttempt.objects.get(username="agent@acme.test")
    response = client.post(ATTEMPTS, {"action": "unlock", "_selected_action": [mine.pk]}, follow=True)
    assert "Unlocked agent@acme.test." in response.content.decode()
    assert password_sign_in(locked["acme"])[1].status_code == 302
    assert AuditEvent.objects.for_tenant(tenant_a).filter(action="security.lockout_cleared").count() == 1
    assert password_sign_in(locked["globex"])[1].status_code == 429, "the other tenant's stays locked"


def test_an_owner_cannot_unlock_or_reset_another_tenants_staff(locked, owner_a, owner_b):
    client = signed_in(owner_a)
    theirs = AccessAttempt.objects.get(username="agent@globex.test")
    client.post(ATTEMPTS, {"action": "unlock", "_selected_action": [theirs.pk]})
    client.post(reverse("admin:axes_accessattempt_delete", args=[theirs.pk]), {"post": "yes"})
    assert AccessAttempt.objects.filter(pk=theirs.pk).exists()
    their_device = TOTPDevice.objects.get(user=locked["globex"])
    response = client.post(
        reverse("admin:otp_totp_totpdevice_delete", args=[their_device.pk]), {"post": "yes"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    assert TOTPDevice.objects.filter(pk=their_device.pk).exists()
    assert "agent@acme.test" not in signed_in(owner_b).get(ATTEMPTS).content.decode()


def test_someone_who_also_works_for_another_tenant_is_reset_by_the_platform(
    locked, owner_a, tenant_a, tenant_b
):
    both = locked["globex"]
    Membership.objects.create(tenant=tenant_a, user=both, role=Role.AGENT)
    client = signed_in(owner_a)
    device = TOTPDevice.objects.get(user=both)
    assert client.get(DEVICES).content.decode().count("agent@globex.test") >= 1  # seen: works here too
    assert client.get(reverse("admin:otp_totp_totpdevice_delete", args=[device.pk])).status_code == 403
    attempt = AccessAttempt.objects.get(username=both.username)
    response = client.post(ATTEMPTS, {"action": "unlock", "_selected_action": [attempt.pk]}, follow=True)
    assert "a platform superuser unlocks them" in response.content.decode()
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()

    root = User.objects.create_superuser("root@platform.test", "root@platform.test", "pass-word-123")
    platform = signed_in(root)
    assert (
        platform.post(
            reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"}
        ).status_code
        == 302
    )
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()


def test_a_reset_device_sends_its_owner_to_enrol_again(owner_a, manager_a, tenant_a):
    manager = signed_in(manager_a)
    assert manager.get("/admin/").status_code == 200
    device = TOTPDevice.objects.get(user=manager_a)
    page = signed_in(owner_a).post(
        reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"}
    )
    assert page.status_code == 302
    assert AuditEvent.objects.for_tenant(tenant_a).filter(action="security.device_reset").count() == 1
    response = manager.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("security:enrol"))


def test_no_page_shows_a_devices_secret(owner_a):
    client = signed_in(owner_a)
    device = TOTPDevice.objects.get(user=owner_a)
    page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200
    assert device.key not in page.content.decode()
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code in (302, 404)


def test_the_shell_resets_a_superusers_lost_device(db, settings):
    settings.AXES_FAILURE_LIMIT = 2
    root = User.objects.create_superuser("root@platform.test", "root@platform.test", "pass-word-123")
    TOTPDevice.objects.create(user=root, name="lost phone", confirmed=True)
    for _ in range(2):
        password_sign_in(root, password="wrong")
    out = StringIO()
    call_command("second_factor_reset", "root@platform.test", stdout=out)
    assert "1 second-factor device(s) removed" in out.getvalue()
    client, response = password_sign_in(root)
    assert response.status_code == 302
    assert client.get("/admin/")["Location"].startswith(reverse("security:enrol"))
