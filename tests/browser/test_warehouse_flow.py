"""A picker's shift on a phone: pick with a scanner (one wrong scan refused), short-pick a line so
its order is re-routed, pack, buy the label from the fake Shippo over real HTTP with the real SDK,
print the packing slip, see the tracking number; then the owner sees the order shipped.

Screenshots of every step go to $OMS_TEST_ARTIFACTS (default var/test-artifacts/) for a person
to look at; CI keeps that folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from fulfillment.models import PickList, Shipment
from fulfillment.states import ShipmentState
from oms.models import Role
from orders.models import Order
from orders.services import order_create
from tests.fulfillment.conftest import make_shippo_account, shippo_server  # noqa: F401  (fixture)
from tests.fulfillment.pages_world import assign
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.orders.conftest import order_input
from tests.worlds import staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = (375, 812)
WAIT = 20


def artifacts_dir() -> Path:
    path = Path(os.environ.get("OMS_TEST_ARTIFACTS") or settings.BASE_DIR / "var" / "test-artifacts")
    path = path / "warehouse_flow"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Phone:
    def __init__(self, browser, base: str) -> None:
        self.browser, self.base = browser, base
        self.shots = artifacts_dir()
        self.step = 0
        browser.set_window_size(*PHONE)

    def shot(self, name: str, css: str | None = None, xpath: str | None = None) -> None:
        """A screenshot of the viewport, scrolled to `css` / `xpath` when given."""
        if css or xpath:
            found = (
                self.browser.find_element(By.CSS_SELECTOR, css)
                if css
                else self.browser.find_element(By.XPATH, xpath)
            )
            self.browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", found)
        self.step += 1
        self.browser.save_screenshot(str(self.shots / f"{self.step:02d}-{name}.png"))

    def open(self, path: str) -> None:
        self.browser.get(self.base + path)

    def sign_in(self, email: str, next_path: str) -> None:
        self.open(f"/admin/login/?next={next_path}")
        self.browser.find_element(By.NAME, "username").send_keys(email)
        self.browser.find_element(By.NAME, "password").send_keys("pass-word-123")
        self.browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    def wait(self, condition, message: str = ""):
        return WebDriverWait(self.browser, WAIT).until(condition, message)

    def text(self, css: str) -> str:
        return self.browser.find_element(By.CSS_SELECTOR, css).text

    def scan(self, code: str) -> None:
        """A handheld scanner: it types into whatever has the focus, then Enter."""
        before = self.browser.execute_script("return document.documentElement.dataset.beeps || '0'")
        focused = self.browser.switch_to.active_element
        assert focused.get_attribute("name") == "code", "the scan box has the focus"
        focused.send_keys(code + Keys.ENTER)
        self.wait(
            lambda b: b.execute_script("return document.documentElement.dataset.beeps || '0'") != before,
            f"no answer to the scan of {code}",
        )

    def no_horizontal_scroll(self) -> None:
        wide = self.browser.execute_script(
            "return document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        assert not wide, "the page scrolls sideways at phone width"


@pytest.fixture
def floor(tenant_a, shippo_server):  # noqa: F811
    """Dallas (the picker's) and Los Angeles. Two orders to Austin, both from Dallas at first."""
    shippo_server.reset()
    make_shippo_account(tenant_a, shippo_server.url)
    dallas = WarehouseFactory(
        tenant=tenant_a, code="DAL", name="Dallas TX", postal_code="75201", line1="1 Elm St", city="Dallas"
    )
    los_angeles = WarehouseFactory(tenant=tenant_a, code="LAX", name="Los Angeles CA", postal_code="90001")
    boots = SKUFactory(
        tenant=tenant_a,
        code="BOOT-1",
        name="Trail boot",
        barcode="0012345678905",
        weight_grams=900,
        length_mm=320,
        width_mm=200,
        height_mm=120,
    )
    socks = SKUFactory(
        tenant=tenant_a,
        code="SOCK-1",
        name="Wool sock",
        barcode="0098765432109",
        weight_grams=80,
        length_mm=200,
        width_mm=100,
        height_mm=30,
    )
    tent = SKUFactory(
        tenant=tenant_a,
        code="TENT-2",
        name="Two-person tent",
        barcode="0055555555555",
        weight_grams=2400,
        length_mm=500,
        width_mm=200,
        height_mm=200,
    )
    for sku, bin_location in ((boots, "A-01-1"), (socks, "A-02-3"), (tent, "C-10-1")):
        level = stock(tenant_a, sku, dallas, 10)
        level.bin_location = bin_location
        level.save(update_fields=["bin_location"])
    stock(tenant_a, tent, los_angeles, 5)
    picker = staff(tenant_a, Role.WAREHOUSE, "picker@acme.test")
    assign(picker, tenant_a, dallas)
    owner = staff(tenant_a, Role.OWNER, "owner@acme.test")
    boots_and_socks, _ = order_create(
        tenant=tenant_a,
        data=order_input(
            "WEB-1",
            lines=[
                {"sku": "BOOT-1", "quantity": 1, "unit_price": "120.00"},
                {"sku": "SOCK-1", "quantity": 1, "unit_price": "12.00"},
            ],
        ),
    )
    tent_order, _ = order_create(
        tenant=tenant_a,
        data=order_input("WEB-2", lines=[{"sku": "TENT-2", "quantity": 1, "unit_price": "300.00"}]),
    )
    return {
        "dallas": dallas,
        "los_angeles": los_angeles,
        "picker": picker,
        "owner": owner,
        "first": boots_and_socks,
        "second": tent_order,
    }


def test_a_picker_picks_short_picks_packs_and_ships_on_a_phone(
    browser,
    live_server,
    tenant_a,
    floor,
    shippo_server,  # noqa: F811
):
    dallas = floor["dallas"]
    first, second = floor["first"], floor["second"]
    phone = Phone(browser, live_server.url)

    # signs in and lands on the only warehouse they work in
    phone.sign_in("picker@acme.test", "/warehouse/")
    phone.wait(lambda b: "Make a pick list" in b.page_source, "the pick-list index")
    assert phone.text("[data-pending-count]") == "2"
    phone.no_horizontal_scroll()
    phone.shot("index")

    # makes a batch pick list of the two waiting shipments
    browser.find_element(By.CSS_SELECTOR, "input[name=kind][value=batch]").click()
    browser.find_element(By.CSS_SELECTOR, "form[action$='/pick-lists/'] button[type=submit]").click()
    phone.wait(lambda b: b.find_elements(By.CSS_SELECTOR, "[data-scan-form]"), "the pick-list page")
    pick_list = PickList.objects.for_tenant(tenant_a).get(warehouse=dallas)
    assert browser.current_url.endswith(f"/pick-lists/{pick_list.pk}/")
    assert phone.text("[data-progress]") == "0 / 3 units"
    phone.no_horizontal_scroll()
    phone.shot("pick-list")

    # scans the boots: confirmed
    phone.scan("0012345678905")
    assert "Picked BOOT-1" in phone.text(".messages")
    assert phone.text("[data-progress]") == "1 / 3 units"
    # scans something that is not on the list: refused loudly, the box cleared and focused
    phone.scan("4006381333931")
    refusal = browser.find_element(By.CSS_SELECTOR, ".messages .error")
    assert refusal.get_attribute("role") == "alert"
    assert browser.execute_script("return document.documentElement.dataset.lastBeep") == "error"
    assert browser.find_element(By.CSS_SELECTOR, ".scan").get_attribute("class") == "scan no-print refused"
    box = browser.switch_to.active_element
    assert box.get_attribute("name") == "code" and box.get_attribute("value") == ""
    assert phone.text("[data-progress]") == "1 / 3 units"
    phone.shot("wrong-scan-refused")
    # types the socks' SKU code by hand
    phone.scan("SOCK-1")
    assert "Picked SOCK-1" in phone.text(".messages")
    assert browser.execute_script("return document.documentElement.dataset.lastBeep") == "ok"

    # the tent is not on its shelf: short-picks it; its order goes to Los Angeles
    tent_card = browser.find_element(By.CSS_SELECTOR, "li.card[data-sku='TENT-2']")
    tent_card.find_element(By.TAG_NAME, "summary").click()
    Select(tent_card.find_element(By.NAME, "reason")).select_by_value("not_found")
    phone.shot("short-pick", css="li.card[data-sku='TENT-2'] details")
    tent_card.find_element(By.CSS_SELECTOR, "button.danger").click()
    phone.wait(
        lambda b: "re-routed to LAX" in b.find_element(By.CSS_SELECTOR, ".messages").text, "the re-route"
    )
    moved = Shipment.objects.for_tenant(tenant_a).filter(order=second).exclude(warehouse=dallas).get()
    assert moved.warehouse == floor["los_angeles"] and moved.state == ShipmentState.PENDING
    phone.shot("short-picked-rerouted")

    # packs the first order: the contents confirmed by scan, the parcel prefilled from the SKUs
    first_shipment = Shipment.objects.for_tenant(tenant_a).get(order=first)
    browser.find_element(By.LINK_TEXT, f"Pack {first_shipment.number}").click()
    phone.wait(lambda b: "Parcel" in b.page_source, "the pack page")
    phone.no_horizontal_scroll()
    phone.scan("0012345678905")
    phone.scan("0098765432109")
    assert browser.find_element(By.NAME, "weight_grams").get_attribute("value") == "980"
    phone.shot("pack")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/pack/'] button[type=submit]").click()
    phone.wait(lambda b: "Buy label" in b.page_source, "rates")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".rates input[name=rate_id]")) >= 4
    phone.shot("rates", css=".rates")

    # buys the label the tenant's policy picks, from the fake Shippo through the real SDK
    browser.find_element(By.XPATH, "//button[text()='Buy label']").click()
    phone.wait(lambda b: b.find_elements(By.CSS_SELECTOR, "[data-tracking]"), "the tracking number")
    shipment = Shipment.objects.for_tenant(tenant_a).get(order=first)
    assert shipment.state == ShipmentState.LABEL_PURCHASED
    assert phone.text("[data-tracking]") == shipment.tracking_number != ""
    assert shippo_server.purchases == 1
    phone.shot("label-bought", css="[data-label]")

    # prints the packing slip
    browser.get(browser.find_element(By.CSS_SELECTOR, "[data-print-slip]").get_attribute("href"))
    phone.wait(lambda b: "Packing slip" in b.page_source, "the packing slip")
    assert phone.text("[data-order-number]") == first.number
    phone.shot("packing-slip")
    browser.back()

    # hands it to the carrier
    phone.wait(lambda b: b.find_elements(By.XPATH, "//button[text()='Mark shipped']"), "mark shipped")
    browser.find_element(By.XPATH, "//button[text()='Mark shipped']").click()
    phone.wait(lambda b: "shipped." in b.find_element(By.CSS_SELECTOR, ".messages").text, "shipped")
    phone.shot("shipped")

    # the merchant sees the order shipped, with its tracking number
    browser.find_element(By.CSS_SELECTOR, ".wh-header button").click()  # sign out
    phone.wait(lambda b: "/admin/" in b.current_url)
    browser.set_window_size(1280, 900)
    phone.sign_in("owner@acme.test", f"/admin/orders/order/{first.pk}/change/")
    phone.wait(lambda b: "Timeline" in b.page_source, "the order page")
    order = Order.objects.for_tenant(tenant_a).get(pk=first.pk)
    assert order.state == "shipped"
    assert shipment.tracking_number in browser.page_source
    phone.shot("owner-order-shipped", xpath=f"//*[contains(text(), '{shipment.tracking_number}')]")
