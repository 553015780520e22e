"""A return received on a phone: the warehouse user scans the RMA with a handheld scanner, restocks
one unit and scraps the other; the merchant then refunds it from the returns queue and sees the
refund and the stock level in the admin.

Screenshots of every step go to $OMS_TEST_ARTIFACTS/returns_receiving/ (default
var/test-artifacts/), as the other browser tests do.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from inventory.models import StockLevel
from oms.models import Role
from orders.models import Payment
from returns.models import ReturnPolicy, ReturnRequest
from tests.browser.test_warehouse_flow import Phone
from tests.fulfillment.pages_world import assign
from tests.returns.factories import authorized_return, dallas, shipped_order
from tests.worlds import staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def dock(tenant_a):
    """Two rain jackets shipped from Dallas and paid (sandbox), asked back; the return authorized
    (the customer ships it back themselves: no return label here)."""
    ReturnPolicy.objects.create(tenant=tenant_a, return_labels=False)
    order = shipped_order(tenant_a, (("RET-1", 2),), delivered_days_ago=3)
    ret = authorized_return(order, ("RET-1", 2, "wrong_size"))
    picker = staff(tenant_a, Role.WAREHOUSE, "picker@acme.test")
    assign(picker, tenant_a, dallas(tenant_a))
    staff(tenant_a, Role.OWNER, "owner@acme.test")
    return {"order": order, "ret": ret, "warehouse": dallas(tenant_a)}


def _record(browser, phone, line_id, *, quantity, condition, disposition):
    card = browser.find_element(By.CSS_SELECTOR, f"li.card[data-line='{line_id}']")
    units = card.find_element(By.NAME, f"l{line_id}-quantity")
    units.clear()
    units.send_keys(str(quantity))
    Select(card.find_element(By.NAME, f"l{line_id}-condition")).select_by_value(condition)
    card.find_element(By.CSS_SELECTOR, f"input[name='l{line_id}-disposition'][value='{disposition}']").click()
    phone.shot(f"record-{disposition}", css=f"li.card[data-line='{line_id}']")
    card.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def test_a_warehouse_user_receives_an_rma_by_scanning_and_the_merchant_refunds_it(
    browser, live_server, tenant_a, dock
):
    ret, warehouse = dock["ret"], dock["warehouse"]
    line = ret.lines.get()
    level = StockLevel.objects.for_tenant(tenant_a).get(sku__code="RET-1", warehouse=warehouse)
    on_hand_before = level.on_hand
    phone = Phone(browser, live_server.url, "returns_receiving")

    # the picker opens the receiving page of their warehouse: the return is expected
    phone.sign_in("picker@acme.test", f"/warehouse/{warehouse.pk}/returns/")
    phone.wait(
        lambda b: b.find_elements(By.CSS_SELECTOR, f"li.card[data-rma='{ret.rma_number}']"), "expected"
    )
    phone.no_horizontal_scroll()
    phone.shot("receiving")

    # scans a code that is no return: refused loudly
    phone.scan("RMA-0000-9")
    assert "no return coming to DAL" in phone.text(".messages .error")
    assert browser.execute_script("return document.documentElement.dataset.lastBeep") == "error"
    phone.shot("unknown-scan-refused")

    # scans the RMA on the customer's note: the return opens
    phone.scan(ret.rma_number)
    phone.wait(lambda b: b.find_elements(By.CSS_SELECTOR, f"h1[data-rma='{ret.rma_number}']"), "the return")
    assert f"{ret.rma_number}: 2 units expected." in phone.text(".messages")
    assert browser.current_url.endswith(f"/warehouse/{warehouse.pk}/returns/{ret.pk}/")
    phone.no_horizontal_scroll()
    phone.shot("return-scanned")

    # one jacket is as new: back on the shelf
    _record(browser, phone, line.pk, quantity=1, condition="new", disposition="restock")
    phone.wait(lambda b: "restock (sellable)" in b.find_element(By.CSS_SELECTOR, ".messages").text, "restock")
    assert phone.text("[data-received]") == "1 / 2"
    phone.shot("restocked")

    # the other is torn: scrapped
    _record(browser, phone, line.pk, quantity=1, condition="damaged", disposition="scrap")
    phone.wait(lambda b: "scrap" in b.find_element(By.CSS_SELECTOR, ".messages").text, "scrap")
    assert phone.text("[data-received]") == "2 / 2"
    assert phone.text("[data-state]") == "Received"
    assert "1 × Damaged → Scrap (DAL)" in phone.text(f"li.card[data-line='{line.pk}']")
    phone.no_horizontal_scroll()
    phone.shot("received")
    level.refresh_from_db()
    assert level.on_hand == on_hand_before + 1  # the scrapped jacket never became sellable

    # the merchant refunds it from the returns queue
    browser.find_element(By.CSS_SELECTOR, ".wh-header button").click()  # sign out
    phone.wait(lambda b: "/admin/" in b.current_url)
    browser.set_window_size(1280, 900)
    phone.sign_in("owner@acme.test", "/admin/returns/returnrequest/?state=open")
    phone.wait(lambda b: ret.rma_number in b.page_source, "the returns queue")
    phone.shot("queue")
    browser.find_element(By.CSS_SELECTOR, f"input[name=_selected_action][value='{ret.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("resolve_selected")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    phone.wait(lambda b: "Resolved" in b.page_source, "the action's message")
    ret.refresh_from_db()
    assert ret.state == "refunded" and ret.refund_amount == Decimal("60.00")
    payment = Payment.objects.for_tenant(tenant_a).get(order=dock["order"])
    assert payment.amount_refunded == Decimal("60.00")

    # ...and sees the refund on the return
    phone.open(f"/admin/returns/returnrequest/{ret.pk}/change/")
    phone.wait(lambda b: "Refunds" in b.page_source, "the return page")
    page = browser.find_element(By.ID, "content").text
    assert "Refunded" in page and "60.00" in page and "Succeeded" in page
    assert "1 × As new (sealed) → Restock (sellable) (DAL)" in page
    phone.shot("refund", xpath="//*[contains(text(), 'Refunds')]")

    # ...and the stock level of the jacket in Dallas
    phone.open("/admin/inventory/stocklevel/?q=RET-1")
    phone.wait(lambda b: b.find_elements(By.CSS_SELECTOR, "td.field-on_hand"), "stock levels")
    assert phone.text("td.field-on_hand") == str(on_hand_before + 1)
    phone.shot("stock-level", css="td.field-on_hand")
    assert ReturnRequest.objects.for_tenant(tenant_a).get(pk=ret.pk).lines.get().quantity_received == 2
