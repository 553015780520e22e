"""The admin in the merchant's words, in a real browser: every fix of "the admin speaks the
merchant's language" on real pages, one after the other, as a new user would meet them.

Screenshots of every step go to $OMS_TEST_ARTIFACTS/admin-words (default
var/test-artifacts/admin-words, gitignored).
"""

from __future__ import annotations

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from fulfillment.models import FulfillmentSettings
from inventory.models import SKU, InboundKind, InboundShipment, StockLevel, Warehouse
from inventory.services import inbound_create, stock_ship
from orders.models import Hold, Order
from orders.services import order_create, order_hold
from tests.browser.test_warehouse_flow import artifacts_dir
from tests.inventory.factories import SKUFactory, stock
from tests.orders.conftest import order_input

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WAIT = 20


class Admin:
    """The signed-in staff member's browser, with a numbered screenshot per step."""

    def __init__(self, browser, base: str) -> None:
        self.b, self.base = browser, base
        self.shots = artifacts_dir("admin-words")
        self.step = 0

    def go(self, path: str) -> None:
        self.b.get(f"{self.base}{path}")

    def wait_text(self, text: str) -> None:
        WebDriverWait(self.b, WAIT).until(lambda b: text in b.page_source, f"no {text!r} on the page")

    def shot(self, name: str) -> None:
        self.step += 1
        self.b.save_screenshot(str(self.shots / f"{self.step:02d}-{name}.png"))

    def text(self) -> str:
        """The page's visible text (read again if the page was still being replaced)."""
        for _ in range(3):
            try:
                return self.b.find_element(By.TAG_NAME, "body").text
            except StaleElementReferenceException:
                continue
        return self.b.find_element(By.TAG_NAME, "body").text

    def click_link(self, href_part: str) -> None:
        self.b.find_element(By.CSS_SELECTOR, f"a[href*='{href_part}']").click()

    def submit(self, value: str) -> None:
        self.b.find_element(By.CSS_SELECTOR, f"input[type=submit][value='{value}']").click()

    def fill(self, name: str, value: str) -> None:
        field = self.b.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)

    def tick(self, name: str, value: str) -> None:
        self.b.find_element(By.CSS_SELECTOR, f"input[name='{name}'][value='{value}']").click()

    def bulk(self, changelist: str, pks: list[int], action: str) -> None:
        self.go(changelist)
        for pk in pks:
            self.b.find_element(By.CSS_SELECTOR, f"input.action-select[value='{pk}']").click()
        Select(self.b.find_element(By.NAME, "action")).select_by_value(action)
        self.b.find_element(By.CSS_SELECTOR, "button[name=index]").click()

    def login(self, email: str) -> None:
        self.go("/admin/login/")
        self.b.find_element(By.NAME, "username").send_keys(email)
        self.b.find_element(By.NAME, "password").send_keys("pass-word-123")
        self.b.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()
        WebDriverWait(self.b, WAIT).until(lambda b: "/admin/login/" not in b.current_url)


@pytest.fixture
def shop(tenant_a, stocked):
    """W1 NJ, W2 LA, W3 Dallas, all shipping to the US only; orders that stay in the admin's hands."""
    FulfillmentSettings.objects.create(tenant=tenant_a, auto_release=False)
    Warehouse.objects.for_tenant(tenant_a).update(ships_to=["US"])
    w1, w2, w3 = stocked
    # SKU-456 is only in W1, so W3 (nearest Austin) explains what it is short of.
    split, _ = order_create(
        tenant=tenant_a,
        data=order_input(
            "WEB-SPLIT",
            lines=[
                {"sku": "SKU-123", "quantity": 1, "unit_price": "19.99"},
                {"sku": "SKU-456", "quantity": 1, "unit_price": "9.99"},
            ],
        ),
    )
    moving, _ = order_create(tenant=tenant_a, data=order_input("WEB-MOVING"))
    doomed, _ = order_create(tenant=tenant_a, data=order_input("WEB-DOOMED"))
    held, _ = order_create(tenant=tenant_a, data=order_input("WEB-HELD"))
    order_hold(tenant=tenant_a, order_id=held.pk, kind="fraud", reason="Card country differs")
    order_hold(tenant=tenant_a, order_id=held.pk, kind="manual", reason="Customer called")
    # Replenishment: W3 sells SKU-SELL two a day and is nearly out; W1 has plenty that does not move.
    seller = SKUFactory(tenant=tenant_a, code="SKU-SELL", name="Fast seller")
    short = stock(tenant_a, seller, w3, 60)
    StockLevel.objects.for_tenant(tenant_a).filter(pk=short.pk).update(allocated=56)
    stock_ship(tenant=tenant_a, picks=[(short.pk, 56)], reference="sales")
    stock(tenant_a, seller, w1, 500)
    lonely = SKUFactory(tenant=tenant_a, code="SKU-LONE", name="Sold only at W2")
    alone = stock(tenant_a, lonely, w2, 40)
    StockLevel.objects.for_tenant(tenant_a).filter(pk=alone.pk).update(allocated=36)
    stock_ship(tenant=tenant_a, picks=[(alone.pk, 36)], reference="sales")
    po = inbound_create(tenant=tenant_a, warehouse_id=w2.pk, lines=[(seller.pk, 24)], reference="PO-DEMO-1")
    return {"split": split, "moving": moving, "doomed": doomed, "held": held, "po": po, "w": stocked}


def test_the_admin_speaks_the_merchants_language(browser, live_server, tenant_a, owner_a, shop):
    admin = Admin(browser, live_server.url)
    admin.login("owner@acme.test")
    split, moving, doomed, held = shop["split"], shop["moving"], shop["doomed"], shop["held"]

    # 1. The allocation plan names SKUs and warehouses by their codes.
    admin.go(f"/admin/orders/order/{split.pk}/change/")
    admin.wait_text("Allocation plan")
    page = admin.text()
    assert "short of SKU-456 (0 available of 1)" in page
    assert "SKU #" not in page
    admin.shot("allocation-plan-in-codes")

    # 2. A ship-to no warehouse serves: said in words, with the choices as links.
    admin.go(f"/admin/orders/order/{moving.pk}/ship-to/")
    admin.fill("line1", "10 Downing St")
    admin.fill("city", "London")
    admin.fill("postal_code", "SW1A 2AA")
    admin.fill("country", "GB")
    admin.submit("Save the new address")
    admin.wait_text("no warehouse ships to GB")
    page = admin.text()
    assert "2 unit(s) are backordered and the order is backordered" in page
    assert "re-allocated" not in page
    assert "change the address again" in page and "cancel it" in page
    admin.shot("ship-to-nobody-serves")

    # ... the choice "put it on hold" from the message, then release that hold from the order page.
    admin.b.find_element(By.LINK_TEXT, "put it on hold").click()
    admin.wait_text(f"Put order #{moving.number} on hold")
    Select(admin.b.find_element(By.NAME, "kind")).select_by_value("address")
    admin.fill("reason", "Asking the customer for a US address")
    admin.shot("hold-from-the-order-page")
    admin.submit("Put on hold")
    admin.wait_text(f"Held order #{moving.number}: it is now on hold.")
    admin.click_link(f"/{moving.pk}/release/")
    admin.wait_text(f"Release holds on order #{moving.number}")
    admin.tick("kinds", "address")
    admin.fill("reason", "The customer moved back to Austin")
    admin.shot("release-from-the-order-page")
    admin.submit("Release holds")
    admin.wait_text(f"Released holds on order #{moving.number}")

    # 3. Cancel from the order page: a confirmation page that will not go on without a reason.
    admin.go(f"/admin/orders/order/{moving.pk}/change/")
    admin.click_link(f"/{moving.pk}/cancel/")
    admin.wait_text("It cannot be undone.")
    admin.submit("Yes, cancel this order")  # the browser stops it: a reason is required
    assert admin.b.execute_script("return document.querySelector('[name=reason]').validity.valueMissing")
    assert Order.objects.for_tenant(tenant_a).get(pk=moving.pk).state != "cancelled"
    admin.fill("reason", "Customer no longer wants it")
    admin.submit("Yes, cancel this order")
    admin.wait_text(f"Cancelled order #{moving.number}: it is now cancelled.")
    admin.shot("cancelled-from-the-order-page")

    # 4. Bulk cancel asks first, with a reason.
    admin.bulk("/admin/orders/order/", [doomed.pk], "cancel_orders")
    admin.wait_text("Cancelling gives back their stock")
    assert f"#{doomed.number}" in admin.text()
    assert Order.objects.for_tenant(tenant_a).get(pk=doomed.pk).state == "allocated"
    admin.fill("reason", "Duplicate of an earlier order")
    admin.shot("bulk-cancel-confirmation")
    admin.submit("Yes, cancel these orders")
    admin.wait_text("Cancelled 1 order(s).")
    assert (
        Order.objects.for_tenant(tenant_a).get(pk=doomed.pk).cancel_reason == "Duplicate of an earlier order"
    )

    # 5. Bulk release asks which holds and why: the fraud review stays.
    admin.bulk("/admin/orders/order/", [held.pk], "release_orders")
    admin.wait_text("Release the ticked kinds of hold")
    assert "Fraud review" in admin.text() and "Manual" in admin.text()
    admin.tick("kinds", "manual")
    admin.fill("reason", "Customer confirmed by phone")
    admin.shot("bulk-release-asks-which-holds")
    admin.submit("Release holds")
    admin.wait_text("Released holds on 1 order(s).")
    active = Hold.objects.for_tenant(tenant_a).filter(order=held, released_at__isnull=True)
    assert [h.kind for h in active] == ["fraud"]

    # 6. Titles read with codes: a stock level, a purchase order's lines.
    level = StockLevel.objects.for_tenant(tenant_a).get(sku__code="SKU-123", warehouse__code="W3")
    admin.go(f"/admin/inventory/stocklevel/{level.pk}/change/")
    admin.wait_text("SKU-123 at W3")
    assert f"{level.sku_id}@{level.warehouse_id}" not in admin.b.page_source
    admin.shot("stock-level-title")

    # 7. A duplicate code says so in words.
    admin.go("/admin/inventory/sku/add/")
    admin.fill("code", "SKU-123")
    admin.fill("name", "Again")
    admin.b.find_element(By.NAME, "_save").click()
    admin.wait_text("A SKU with code SKU-123 already exists.")
    assert "Tenant and Code" not in admin.b.page_source
    admin.shot("duplicate-sku-code")

    # 8. Receiving says the state after.
    admin.bulk("/admin/inventory/inboundshipment/", [shop["po"].pk], "receive_outstanding")
    admin.wait_text("it is now received")
    assert "Received everything outstanding on Purchase order PO-DEMO-1: it is now received." in admin.text()
    admin.shot("received-purchase-order")

    # 9. A SKU with history is not deleted: the page says why and offers to deactivate it.
    sku = SKU.objects.for_tenant(tenant_a).get(code="SKU-456")
    admin.go(f"/admin/inventory/sku/{sku.pk}/delete/")
    admin.wait_text("has stock history, so it is not deleted")
    assert "permission" not in admin.text().lower()
    admin.shot("sku-with-history")
    admin.submit("Deactivate SKU-456")
    admin.wait_text("SKU SKU-456 is now inactive")
    assert SKU.objects.for_tenant(tenant_a).get(pk=sku.pk).active is False

    # 10. Import errors as a readable list, on a page that does not scroll sideways.
    csv_path = admin.shots / "bad-skus.csv"
    csv_path.write_text("code,name,price\nNEW-1,Camp stove,49.00\nNEW-2,Headlamp,not-a-price\n")
    admin.go("/admin/inventory/sku/import/")
    admin.b.find_element(By.NAME, "import_file").send_keys(str(csv_path))
    Select(admin.b.find_element(By.NAME, "format")).select_by_index(1 if _has_blank(admin) else 0)
    admin.b.find_element(By.XPATH, "//input[@name='import_file']/ancestor::form//*[@type='submit']").click()
    admin.wait_text("Row 2")
    errors = admin.b.find_element(By.CSS_SELECTOR, ".import-errors-readable")
    assert errors.is_displayed() and "is not an amount" in errors.text  # read, not hovered
    assert admin.b.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    admin.shot("import-errors")

    # 11. Replenishment: only where stock sells, each with its reason, one click to act.
    admin.go("/admin/inventory/stocklevel/replenishment/")
    admin.wait_text("Transfer suggestions")
    page = admin.text()
    assert "W3 sold 56 in 28 days" in page and "∞" not in page
    assert "SKU-123" not in page.split("Reorder suggestions")[0]  # does not sell: no suggestion
    admin.shot("replenishment")
    admin.submit("Make this transfer")
    admin.wait_text("are in transit to W3")
    admin.shot("transfer-made")
    assert InboundShipment.objects.for_tenant(tenant_a).filter(kind=InboundKind.TRANSFER).count() == 1
    admin.go("/admin/inventory/stocklevel/replenishment/")
    admin.wait_text("Reorder suggestions")
    assert "SKU-LONE" in admin.text()
    admin.submit("Make a purchase order")
    admin.wait_text("× SKU-LONE expected at W2")
    admin.shot("purchase-order-made")


def _has_blank(admin: Admin) -> bool:
    """Whether the import form's format list starts with an empty choice."""
    options = Select(admin.b.find_element(By.NAME, "format")).options
    return bool(options) and not options[0].get_attribute("value")
