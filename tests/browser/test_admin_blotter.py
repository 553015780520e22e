"""A merchant's staff member works the order blotter in a real browser."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from orders.models import Order
from orders.services import order_create
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.orders.conftest import order_input

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(browser, base, email):
    browser.get(f"{base}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys("pass-word-123")
    browser.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()  # the theme's is a <button>
    WebDriverWait(browser, 20).until(lambda b: "Log out" in b.page_source)


def test_staff_holds_an_order_from_the_blotter_and_never_sees_another_tenant(
    browser, live_server, tenant_a, tenant_b, owner_a, stocked, tmp_path
):
    mine, _ = order_create(tenant=tenant_a, data=order_input("ACME-WEB-1"))
    warehouse = WarehouseFactory(tenant=tenant_b, code="GX1", postal_code="10118")
    stock(tenant_b, SKUFactory(tenant=tenant_b, code="SKU-123"), warehouse, 5)
    order_create(tenant=tenant_b, data=order_input("GLOBEX-WEB-1"))

    _login(browser, live_server.url, "owner@acme.test")
    browser.get(f"{live_server.url}/admin/orders/order/")
    page = browser.page_source
    assert "ACME-WEB-1" in page
    assert "GLOBEX-WEB-1" not in page
    # allocated and released to the warehouse at once (fulfillment's auto_release, on by default)
    assert browser.find_element(By.CSS_SELECTOR, ".state-badge").text == "In fulfillment"

    browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{mine.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("hold_orders")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.NAME, "reason"))
    Select(browser.find_element(By.NAME, "kind")).select_by_value("fraud")
    browser.find_element(By.NAME, "reason").send_keys("Billing and shipping countries differ")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit][value='Put on hold']").click()
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, "ul.messagelist"))
    assert "Held 1 order(s)." in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    assert browser.find_element(By.CSS_SELECTOR, ".state-badge").text == "On hold"
    browser.save_screenshot(str(tmp_path / "blotter.png"))

    browser.get(f"{live_server.url}/admin/orders/order/{mine.pk}/change/")
    assert "Timeline" in browser.page_source
    assert "Billing and shipping countries differ" in browser.page_source
    mine.refresh_from_db()
    assert mine.state == "on_hold"
    assert Order.objects.for_tenant(tenant_b).get().state == "in_fulfillment"
