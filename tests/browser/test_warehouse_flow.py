"""A picker's shift on a phone: pick with a scanner (one wrong scan refused), short-pick a line so
its order is re-routed, pack, buy the label from the fake Shippo over real HTTP with the real SDK,
print the packing slip, see the tracking number; then the owner sees the order shipped.

And the phone's camera as a scanner: Chromium's fake camera films an EAN-13 (a Y4M video made
here), the vendored ZXing reads it, and the code goes through the same scan form.

Screenshots of every step go to $OMS_TEST_ARTIFACTS/<test> (default var/test-artifacts/, which
git ignores) for a person to look at; point the variable wherever a CI run keeps its artefacts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from fulfillment.models import PickList, Shipment, ShipmentLine
from fulfillment.states import ShipmentState
from inventory.models import SKU
from oms.models import Role
from orders.models import Order
from orders.services import order_create
from tests.browser.conftest import CHROMEDRIVER, CHROMIUM
from tests.fulfillment.conftest import make_shippo_account, shippo_server  # noqa: F401  (fixture)
from tests.fulfillment.pages_world import assign
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.orders.conftest import order_input
from tests.worlds import staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = (375, 812)
WAIT = 20
DOCUMENT_REPLACED = "does not belong to the document"


def artifacts_dir(name: str) -> Path:
    path = Path(os.environ.get("OMS_TEST_ARTIFACTS") or settings.BASE_DIR / "var" / "test-artifacts")
    path = path / name
    path.mkdir(parents=True, exist_ok=True)
    return path


class Phone:
    def __init__(self, browser, base: str, shots: str) -> None:
        self.browser, self.base = browser, base
        self.shots = artifacts_dir(shots)
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
        # the sign-in form's button (the admin theme's is a <button>, Django's an <input>)
        self.browser.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()

    def wait(self, condition, message: str = ""):
        """Until `condition` holds; a page that is still being replaced counts as not yet.

        Chromium reports an element of the page being replaced either as stale or, when the
        old document goes between finding the node and reading it, as a bare inspector error
        ("Node with given id does not belong to the document"); both mean "look again".
        """

        def holds(browser):
            try:
                return condition(browser)
            except WebDriverException as error:
                if DOCUMENT_REPLACED in (error.msg or ""):
                    return False
                raise

        waiting = WebDriverWait(self.browser, WAIT, ignored_exceptions=[StaleElementReferenceException])
        return waiting.until(holds, message)

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

    @contextmanager
    def printing(self) -> Iterator[None]:
        """The page as the print stylesheet lays it out (Chromium's print media emulation)."""
        self.browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        try:
            yield
        finally:
            self.browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
            self.browser.execute_script("window.dispatchEvent(new Event('afterprint'))")

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
    phone = Phone(browser, live_server.url, "warehouse_flow")

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
    # on paper: the list without the scan box, the forms or the header, with a box to tick per stop
    with phone.printing():
        assert not browser.find_element(By.CSS_SELECTOR, ".scan").is_displayed()
        assert not browser.find_element(By.CSS_SELECTOR, ".wh-header").is_displayed()
        assert not browser.find_element(By.CSS_SELECTOR, "details.short-pick").is_displayed()
        assert browser.find_element(By.CSS_SELECTOR, ".checkbox-print").is_displayed()
        assert "TENT-2" in browser.find_element(By.ID, "wh-main").text
        phone.shot("pick-list-printed")

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
    with phone.printing():
        assert not browser.find_element(By.CSS_SELECTOR, ".no-print").is_displayed()
        assert "Ana Lima" in browser.find_element(By.CSS_SELECTOR, ".slip").text
    phone.open(f"/warehouse/{dallas.pk}/shipments/{shipment.pk}/")

    # hands it to the carrier
    phone.wait(lambda b: b.find_elements(By.XPATH, "//button[text()='Mark shipped']"), "mark shipped")
    browser.find_element(By.XPATH, "//button[text()='Mark shipped']").click()
    phone.wait(
        lambda b: "Shipped" in b.find_element(By.CSS_SELECTOR, "[data-shipment-state]").text, "shipped"
    )
    assert f"{shipment.number} shipped." in phone.text(".messages")
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


# --- the phone's camera as a scanner ---------------------------------------------------------------
EAN_L = [
    "0001101",
    "0011001",
    "0010011",
    "0111101",
    "0100011",
    "0110001",
    "0101111",
    "0111011",
    "0110111",
    "0001011",
]
EAN_G = [
    "0100111",
    "0110011",
    "0011011",
    "0100001",
    "0011101",
    "0111001",
    "0000101",
    "0010001",
    "0001001",
    "0010111",
]
EAN_R = [
    "1110010",
    "1100110",
    "1101100",
    "1000010",
    "1011100",
    "1001110",
    "1010000",
    "1000100",
    "1001000",
    "1110100",
]
# An EAN-13 whose first digit is not 0 (ZXing reads those as 12-digit UPC-A codes).
CAMERA_EAN = "5901234123457"
EAN_PARITY = [
    "LLLLLL",
    "LLGLGG",
    "LLGGLG",
    "LLGGGL",
    "LGLLGG",
    "LGGLLG",
    "LGGGLL",
    "LGLGLG",
    "LGLGGL",
    "LGGLGL",
]


def ean13_modules(code: str) -> str:
    """The 95 bars and spaces (1 = bar) of an EAN-13 code."""
    digits = [int(c) for c in code]
    left = "".join(
        (EAN_L if parity == "L" else EAN_G)[d]
        for parity, d in zip(EAN_PARITY[digits[0]], digits[1:7], strict=True)
    )
    right = "".join(EAN_R[d] for d in digits[7:])
    return "101" + left + "01010" + right + "101"


def barcode_video(path: Path, code: str, width: int = 640, height: int = 480, module: int = 4) -> Path:
    """A one-frame Y4M video of an EAN-13 barcode, black on white: what Chromium's fake camera shows."""
    modules = ean13_modules(code)
    left = (width - len(modules) * module) // 2
    row = bytearray([235] * width)
    for i, bit in enumerate(modules):
        if bit == "1":
            row[left + i * module : left + (i + 1) * module] = bytes([16] * module)
    white = bytes([235] * width)
    luma = b"".join(bytes(row) if height // 5 <= y < height * 4 // 5 else white for y in range(height))
    chroma = bytes([128] * (width // 2 * height // 2))
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"FRAME\n" + luma + chroma + chroma)
    return path


@pytest.fixture
def camera_browser(tmp_path):
    """Chromium whose camera films a barcode (CAMERA_EAN), with the permission granted."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    video = barcode_video(tmp_path / "boots.y4m", CAMERA_EAN)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
        f"--window-size={PHONE[0]},{PHONE[1]}",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def test_the_phones_camera_reads_a_barcode_into_the_scan_form(camera_browser, live_server, tenant_a, floor):
    SKU.objects.for_tenant(tenant_a).filter(code="BOOT-1").update(barcode=CAMERA_EAN)
    browser = camera_browser
    phone = Phone(browser, live_server.url, "warehouse_camera")
    phone.sign_in("picker@acme.test", "/warehouse/")
    phone.wait(lambda b: "Make a pick list" in b.page_source, "the pick-list index")
    assert "zxing" not in browser.page_source  # the index does not scan: no barcode library
    browser.find_element(By.CSS_SELECTOR, "form[action$='/pick-lists/'] button[type=submit]").click()
    phone.wait(lambda b: b.find_elements(By.CSS_SELECTOR, "[data-scan-form]"), "the pick-list page")
    assert not browser.execute_script("return !!window.ZXingBrowser")  # not loaded until the camera is on

    start = browser.find_element(By.CSS_SELECTOR, "[data-camera-start]")
    assert start.is_displayed()
    start.click()
    phone.wait(lambda b: "Picked BOOT-1" in b.find_element(By.ID, "wh-main").text, "a code from the camera")
    assert browser.execute_script("return document.documentElement.dataset.lastBeep") in ("ok", "error")
    phone.shot("camera-scan")
    line = ShipmentLine.objects.for_tenant(tenant_a).get(shipment__order=floor["first"], sku__code="BOOT-1")
    assert line.quantity_picked == 1
    loaded = browser.execute_script("return !!window.ZXingBrowser || 'BarcodeDetector' in window")
    assert loaded
