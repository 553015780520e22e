"""Headless Chromium through Selenium, with Debian's chromium and chromium-driver."""

from __future__ import annotations

import shutil

import pytest
from django.contrib.auth.signals import user_logged_in
from django_otp import DEVICE_ID_SESSION_KEY

from tests.conftest import second_factor_device

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture(autouse=True)
def _second_factor_at_sign_in():
    """Staff who sign in here (the admin's form, in the browser) pass the second factor with it,
    as tests/conftest.py's `force_login` does: these tests are about the pages behind it. The
    second factor's own pages are driven in a browser in tests/oms/security/test_browser.py."""

    def verified(sender, request, user, **kwargs):
        request.session[DEVICE_ID_SESSION_KEY] = second_factor_device(user).persistent_id

    user_logged_in.connect(verified, dispatch_uid="browser-second-factor")
    yield
    user_logged_in.disconnect(dispatch_uid="browser-second-factor")


from tests.inventory.conftest import sku_a, sku_b, warehouses  # noqa: E402,F401
from tests.orders.conftest import stocked  # noqa: E402,F401  (fixtures)
