"""A vendor base_url override is honoured only where settings allow its host: any host in
development and tests, only an explicit allow-list in production, none by default."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from integrations.endpoints import base_url_problem
from integrations.models import ChannelAccount
from integrations.stripe.gateway import stripe_client
from tests.orders.payments.factories import make_stripe_account

ROOT = Path(__file__).resolve().parents[2]
STRIPE_API = "https://api.stripe.com"


def _api_host(account: ChannelAccount) -> str:
    return stripe_client(account)._requestor._options.base_addresses["api"]


def _add_account(client, base_url: str):
    return client.post(
        reverse("admin:integrations_channelaccount_add"),
        {"kind": "stripe", "name": "main", "base_url": base_url, "credentials": "sk_test_x", "active": "on"},
    )


@pytest.fixture
def production_without_allow_list(settings):
    settings.VENDOR_BASE_URL_HOSTS = []


@pytest.fixture
def production_with_allow_list(settings):
    settings.VENDOR_BASE_URL_HOSTS = ["stripe-mock.internal", "10.0.0.5:12111"]


def test_test_settings_accept_a_local_fake(client, owner_a, tenant_a):
    client.force_login(owner_a)

    assert _add_account(client, "http://127.0.0.1:12111").status_code == 302
    account = ChannelAccount.objects.for_tenant(tenant_a).get()
    assert _api_host(account) == "http://127.0.0.1:12111"


def test_without_an_allow_list_the_admin_refuses_any_override(
    client, owner_a, tenant_a, production_without_allow_list
):
    client.force_login(owner_a)

    response = _add_account(client, "http://127.0.0.1:12111")

    assert response.status_code == 200
    assert "does not allow overriding" in str(response.context["adminform"].form.errors["base_url"])
    assert not ChannelAccount.objects.for_tenant(tenant_a).exists()
    assert _add_account(client, "").status_code == 302  # blank: the vendor's real host


def test_without_an_allow_list_a_stored_override_is_ignored_at_use(
    tenant_a, production_without_allow_list, caplog
):
    account = make_stripe_account(tenant_a, "http://127.0.0.1:12111")  # written around the form

    with pytest.raises(ValidationError):
        account.full_clean()
    assert _api_host(account) == STRIPE_API
    assert "using the vendor's host" in caplog.text


def test_with_an_allow_list_only_listed_hosts_are_accepted(tenant_a, production_with_allow_list):
    allowed = (
        "https://stripe-mock.internal",
        "https://STRIPE-MOCK.internal:8443/v1",
        "http://10.0.0.5:12111",
    )
    refused = (
        "https://evil.example",
        "https://stripe-mock.internal@evil.example",  # the host is evil.example
        "https://user:pw@stripe-mock.internal",
        "http://10.0.0.5:9999",
        "ftp://stripe-mock.internal",
        "stripe-mock.internal",
    )
    for url in allowed:
        account = ChannelAccount(tenant=tenant_a, kind="stripe", name="a", base_url=url)
        account.clean()
        assert _api_host(account) == url.rstrip("/")
    for url in refused:
        account = ChannelAccount(tenant=tenant_a, kind="stripe", name="a", base_url=url)
        with pytest.raises(ValidationError):
            account.clean()
        assert _api_host(account) == STRIPE_API


def test_the_override_warning_names_no_credentials(tenant_a, production_with_allow_list, caplog):
    account = make_stripe_account(tenant_a, "https://user:hunter2@evil.example/")

    with caplog.at_level(logging.WARNING):
        assert _api_host(account) == STRIPE_API

    assert "evil.example" in caplog.text and "hunter2" not in caplog.text


def _production_settings(allow_list: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.prod",
        "SECRET_KEY": "k" * 50,
        "FIELD_ENCRYPTION_KEY": "prod-field-key",
        "ALLOWED_HOSTS": "oms.example.com",
        "VENDOR_BASE_URL_HOSTS": allow_list,
    }
    code = (
        "import django\ndjango.setup()\n"
        "from django.conf import settings\nprint(settings.VENDOR_BASE_URL_HOSTS)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_read_the_allow_list_and_refuse_a_wildcard():
    assert _production_settings("sandbox.example, 10.0.0.5:12111").stdout.strip() == (
        "['sandbox.example', '10.0.0.5:12111']"
    )
    wildcard = _production_settings("*")
    assert wildcard.returncode != 0 and "VENDOR_BASE_URL_HOSTS" in wildcard.stderr


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("https://acme-outdoor.myshopify.com", True),
        ("https://a.b.myshopify.com", True),
        ("https://myshopify.com", False),  # the domain itself is not a shop
        ("https://evilmyshopify.com", False),
        ("https://acme.myshopify.com.evil.test", False),
        ("https://api.example.com", False),
    ],
)
def test_a_subdomain_entry_admits_each_shops_own_host_only(settings, url, allowed):
    settings.VENDOR_BASE_URL_HOSTS = ["*.myshopify.com"]
    assert (base_url_problem(url) is None) is allowed


def test_a_subdomain_entry_must_name_a_domain_not_a_top_level(settings):
    settings.VENDOR_BASE_URL_HOSTS = ["*.com", "*.", "*.*.test"]
    assert base_url_problem("https://shop.com") is not None
    assert base_url_problem("https://a.b.test") is not None
