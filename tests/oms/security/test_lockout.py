"""Lockout after repeated failed sign-ins (django-axes): how long, for whom, and what the page says."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory

from oms.security.lockout import client_ip
from tests.conftest import second_factor_device
from tests.oms.security.conftest import code_for, later, password_sign_in


@pytest.fixture
def three_tries(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=10)


def fail(user, times: int, **kwargs):
    response = None
    for _ in range(times):
        _, response = password_sign_in(user, password="not-the-password", **kwargs)
    return response


def test_a_locked_account_stays_locked_for_the_cool_off_and_unlocks_after(three_tries, owner_a):
    second = fail(owner_a, 2)
    assert second.status_code == 200
    assert "Please enter the correct" in second.content.decode()  # still Django's sign-in form

    locked = fail(owner_a, 1)
    body = locked.content.decode()
    assert locked.status_code == 429
    assert "Account locked: too many failed sign-ins" in body
    assert "Try again after 10 minutes" in body

    _, right_password = password_sign_in(owner_a)
    assert right_password.status_code == 429, "the right password is refused while locked"

    with later(minutes=9):  # from another address too (locked by username)
        _, still = password_sign_in(owner_a, ip="192.0.2.55")
        assert still.status_code == 429
        assert "Try again after 1 minute" in still.content.decode()

    with later(minutes=10, seconds=5):  # the tries while locked did not extend it
        client, unlocked = password_sign_in(owner_a)
        assert unlocked.status_code == 302
        assert unlocked["Location"] == "/admin/"
        assert client.get("/admin/")["Location"].startswith("/account/security/enrol/")  # then the 2nd factor
        assert fail(owner_a, 1).status_code == 200, "the failures before the lockout are forgotten"


def test_the_limit_and_cool_off_come_from_the_settings(settings, owner_a):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=45)
    locked = fail(owner_a, 2)
    assert locked.status_code == 429
    assert "Try again after 45 minutes" in locked.content.decode()
    assert "After 2 wrong passwords" in locked.content.decode()


def test_one_locked_account_leaves_the_others_alone(three_tries, owner_a, manager_a):
    assert fail(owner_a, 3).status_code == 429
    _, other = password_sign_in(manager_a)  # same address
    assert other.status_code == 302


def test_wrong_second_factor_codes_count_and_lock_the_account_out(three_tries, owner_a):
    device = second_factor_device(owner_a)
    client, _ = password_sign_in(owner_a)
    response = None
    for attempt in range(3):
        with later(seconds=40 * (attempt + 1)):  # past django-otp's wait between wrong codes
            wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
            response = client.post("/account/security/verify/", {"code": wrong})
    assert response.status_code == 429
    assert "Account locked" in response.content.decode()
    assert client.get("/admin/")["Location"].startswith("/admin/login/"), "this session is signed out"
    with later(minutes=3):
        _, again = password_sign_in(owner_a)
        assert again.status_code == 429


def test_signing_in_again_does_not_forget_wrong_codes(three_tries, owner_a):
    device = second_factor_device(owner_a)
    response = None
    for attempt, codes in enumerate((2, 1)):
        client, signed_in = password_sign_in(owner_a)  # the right password, each time
        assert signed_in.status_code == 302
        for n in range(codes):
            with later(seconds=40 * (3 * attempt + n + 1)):
                wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
                response = client.post("/account/security/verify/", {"code": wrong})
    assert response.status_code == 429, "three wrong codes, whatever passwords came between"


def test_a_verified_second_factor_forgets_earlier_failures(three_tries, owner_a):
    device = second_factor_device(owner_a)
    assert fail(owner_a, 2).status_code == 200
    client, _ = password_sign_in(owner_a)
    assert client.post("/account/security/verify/", {"code": code_for(device)}).status_code == 302
    assert not AccessAttempt.objects.filter(username=owner_a.username).exists()
    assert fail(owner_a, 2).status_code == 200, "two more wrong passwords do not lock"


def test_the_address_is_the_one_our_proxies_saw(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    settings.OMS_TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"  # no proxy of ours: the header is the client's word
    settings.OMS_TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.5"  # what our proxy appended, not what the client wrote
    settings.OMS_TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "6.6.6.6"
    settings.OMS_TRUSTED_PROXY_COUNT = 3  # fewer entries than proxies: the socket's address
    assert client_ip(request) == "10.0.0.2"
    settings.OMS_TRUSTED_PROXY_COUNT = 1
    garbled = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, not-an-ip")
    assert client_ip(garbled) == "10.0.0.2"


def test_a_failure_behind_the_proxy_is_recorded_under_the_clients_address(settings, owner_a):
    settings.OMS_TRUSTED_PROXY_COUNT = 1
    Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5").post(
        "/admin/login/", {"username": owner_a.username, "password": "nope"}
    )
    assert AccessAttempt.objects.get(username=owner_a.username).ip_address == "203.0.113.5"
