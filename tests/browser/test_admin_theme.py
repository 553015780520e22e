"""The admin's theme on the screens merchants use: the order list fits a 1366 px laptop without
sideways scrolling (and a 1024 px one, where a column may go), and a timeline date is one line.

Screenshots are kept in var/test-artifacts/admin-theme/ (docs/admin.md).
"""

from __future__ import annotations

import pytest
from django.conf import settings
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from oms.models import Role
from orders.services import order_create, order_hold
from tests.oms.factories import MembershipFactory, UserFactory
from tests.orders.conftest import order_input

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = settings.VAR_DIR / "test-artifacts" / "admin-theme"
CHANNELS = ["web", "shopify", "amazon", "woocommerce", "ebay"]
# Long values as marketplaces send them: the widest a row gets in practice.
NAMES = ["Maximiliana Rodríguez-Vandenberghe", "Ana Lima", "Jean-Baptiste Okonkwo-Featherstonehaugh"]

# How far anything scrolls sideways: the page itself, and every box the order table sits in
# (a theme may wrap a wide table in a scroller of its own: that is sideways scrolling too).
OVERFLOW_JS = """
const doc = document.documentElement;
const boxes = [];
for (let el = document.getElementById('result_list'); el; el = el.parentElement) {
  if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') {
    const name = (el.id || el.className || el.tagName).toString().slice(0, 60);
    boxes.push(name + ': ' + el.scrollWidth + '>' + el.clientWidth);
  }
}
return {page: [doc.scrollWidth, doc.clientWidth], boxes: boxes,
        table: document.getElementById('result_list').getBoundingClientRect().width};
"""
PAGE_WIDTH_JS = "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
# The number of lines a cell's text takes: the distinct tops of its text's line boxes.
LINES_JS = """
const walker = document.createTreeWalker(arguments[0], NodeFilter.SHOW_TEXT);
const tops = new Set();
while (walker.nextNode()) {
  if (!walker.currentNode.textContent.trim()) continue;
  const range = document.createRange();
  range.selectNodeContents(walker.currentNode);
  for (const box of range.getClientRects()) if (box.width > 0) tops.add(Math.round(box.top));
}
return tops.size;
"""


def _login(browser, base, email):
    browser.get(f"{base}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys("pass-word-123")
    browser.find_element(By.CSS_SELECTOR, "[type=submit]").click()
    WebDriverWait(browser, 20).until(lambda b: "Log out" in b.page_source)


@pytest.fixture
def many_orders(tenant_a, stocked):
    """40 orders from every channel: allocated, backordered (stock runs out) and held ones."""
    orders = []
    for i in range(40):
        name = NAMES[i % len(NAMES)]
        email = f"{name.split()[0].lower()}.{i}@outfitters-customer-mail.example.com"
        data = order_input(
            f"{114 + i:03d}-{3941689 + i:07d}-{8772232 + i:07d}",
            channel=CHANNELS[i % len(CHANNELS)],
            customer={"email": email, "name": name},
            lines=[{"sku": "SKU-123", "quantity": 1, "unit_price": "1249.99"}],
        )
        order, _ = order_create(tenant=tenant_a, data=data)
        orders.append(order)
    order_hold(tenant=tenant_a, order_id=orders[0].pk, kind="fraud", reason="Billing and shipping differ")
    return orders


@pytest.mark.parametrize("width", [1366, 1024])
def test_order_list_fits_the_screen_and_timeline_dates_are_one_line(
    browser, live_server, owner_a, many_orders, width
):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(width, 900)
    _login(browser, live_server.url, "owner@acme.test")

    browser.get(f"{live_server.url}/admin/orders/order/")
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 40
    inner = browser.execute_script("return window.innerWidth")
    assert inner == width  # the window really is that wide (headless keeps what it is told)
    measured = browser.execute_script(OVERFLOW_JS)
    browser.save_screenshot(str(ARTIFACTS / f"order-list-{width}.png"))
    scroll_width, client_width = measured["page"]
    assert scroll_width <= client_width, measured
    assert measured["boxes"] == [], measured
    # What a merchant scans the list for is still there, each on one line.
    headers = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#result_list thead th")]
    for column in ("Number", "State", "Channel", "Customer", "Total", "Placed at"):
        assert any(column.lower() in h.lower() for h in headers), headers
    first_placed = browser.find_element(By.CSS_SELECTOR, "#result_list td.field-placed_at")
    assert browser.execute_script(LINES_JS, first_placed) == 1, first_placed.text
    assert browser.find_elements(By.CSS_SELECTOR, ".state-badge")[0].is_displayed()

    held = many_orders[0]
    browser.get(f"{live_server.url}/admin/orders/order/{held.pk}/change/")
    timeline = browser.find_element(By.XPATH, "//fieldset[.//h2[normalize-space()='Timeline']]")
    dates = timeline.find_elements(By.CSS_SELECTOR, "td.field-created_at")
    assert len(dates) >= 3  # created, allocated, held…
    browser.execute_script("arguments[0].scrollIntoView()", timeline)
    browser.save_screenshot(str(ARTIFACTS / f"order-timeline-{width}.png"))
    for cell in dates:
        assert cell.text.strip()
        assert browser.execute_script(LINES_JS, cell) == 1, cell.text
    page = browser.execute_script(PAGE_WIDTH_JS)
    assert page[0] <= page[1], page


def test_the_sidebar_groups_pages_as_a_merchant_works_and_shows_only_what_the_role_may_open(
    browser, live_server, owner_a, tenant_a
):
    MembershipFactory(
        tenant=tenant_a,
        user=UserFactory(username="agent@acme.test", email="agent@acme.test", is_staff=True),
        role=Role.AGENT,
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(1366, 900)

    def sidebar(email):
        _login(browser, live_server.url, email)
        browser.get(f"{live_server.url}/admin/orders/order/")
        groups = [
            h.get_attribute("textContent").strip()
            for h in browser.find_elements(By.CSS_SELECTOR, "#nav-sidebar-apps h2")
        ]
        entries = [
            a.get_attribute("textContent").strip()
            for a in browser.find_elements(By.CSS_SELECTOR, "#nav-sidebar-apps ol li a")
        ]
        browser.save_screenshot(str(ARTIFACTS / f"sidebar-{email.split('@')[0]}.png"))
        browser.delete_all_cookies()
        return groups, entries

    groups, entries = sidebar("owner@acme.test")
    assert groups == ["Orders", "Fulfillment", "Returns", "Catalog & stock", "Integrations", "Settings"]
    wanted = ["Orders", "Shipments", "Return requests", "SKUs", "Stock levels"]
    wanted += ["Channel accounts", "API keys"]
    for entry in wanted:
        assert any(e.endswith(entry) for e in entries), (entry, entries)

    groups, entries = sidebar("agent@acme.test")
    assert "Orders" in groups
    assert not any(e.endswith("API keys") for e in entries)  # an agent manages no API keys
    assert not any(e.endswith("Tenants") for e in entries)
