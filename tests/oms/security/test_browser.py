"""An owner's first sign-in in a real browser: the password, then the authenticator app set up from
the QR code page (the secret typed into an app, as a person without a camera would), then the admin."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import browser  # noqa: F401  (the fixture)
from tests.browser.test_warehouse_flow import artifacts_dir
from tests.oms.security.conftest import PASSWORD, code_from_secret

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_sets_up_the_second_factor_at_the_first_sign_in(browser, live_server, owner_a):  # noqa: F811
    shots = artifacts_dir("security")
    browser.get(f"{live_server.url}/admin/login/?next=/admin/orders/order/")
    browser.find_element(By.NAME, "username").send_keys(owner_a.username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()

    WebDriverWait(browser, 20).until(lambda b: "/account/security/enrol/" in b.current_url)
    qr = browser.find_element(By.CSS_SELECTOR, ".security-qr svg")
    assert qr.size["width"] > 100 and qr.size["height"] > 100, "a QR code big enough to scan"
    browser.save_screenshot(str(shots / "enrol.png"))
    secret = browser.find_element(By.CSS_SELECTOR, ".security-secret").text

    browser.find_element(By.NAME, "code").send_keys(code_from_secret(secret))
    browser.find_element(By.CSS_SELECTOR, ".security-code-form [type=submit]").click()
    WebDriverWait(browser, 20).until(lambda b: b.current_url.endswith("/admin/orders/order/"))
    assert "Log out" in browser.page_source
    browser.save_screenshot(str(shots / "enrolled.png"))
