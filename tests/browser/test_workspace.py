"""The dashboard and the exceptions queue in a real browser, on the demo tenant; screenshots are
kept under var/test-artifacts/ (gitignored) for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from oms.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD, DEMO_SLUG
from oms.models import Tenant
from tests.workspace.world import build_exceptions_world, build_kpi_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


def test_the_dashboard_and_the_exceptions_queue_render_with_the_demo_data(browser, live_server):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    demo = Tenant.objects.get(slug=DEMO_SLUG)
    now = timezone.now()
    build_kpi_world(demo, "DASH", now=now)  # shipped, late, returned orders the demo may not have yet
    build_exceptions_world(demo, "QUEUE", now=now)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    browser.set_window_size(1366, 1000)
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(DEMO_EMAIL)
    browser.find_element(By.NAME, "password").send_keys(DEMO_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit], button[type=submit]").click()
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "kpis"))

    cards = browser.find_elements(By.CSS_SELECTOR, "#kpis .ws-card")
    assert len(cards) == 8
    assert all(card.is_displayed() and card.size["width"] > 100 for card in cards)
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart-days svg rect")
    assert len(bars) == 30 and any(float(bar.get_attribute("height")) > 0 for bar in bars)
    assert browser.find_element(By.ID, "kpi-returns").find_element(By.CSS_SELECTOR, ".ws-figure").text != "—"
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 1366
    browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))

    browser.find_element(By.CSS_SELECTOR, "#kpi-stock .ws-figure a").click()
    WebDriverWait(browser, 20).until(lambda b: "/admin/inventory/stocklevel/" in b.current_url)
    assert "stock=out" in browser.current_url and "DASH-B" in browser.page_source

    browser.get(f"{live_server.url}/workspace/exceptions/")
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "unmapped"))
    for key in ("holds", "events", "labels", "tracking", "late", "drift", "unmapped"):
        section = browser.find_element(By.ID, key)
        assert section.find_elements(By.CSS_SELECTOR, "tbody tr"), key
    browser.save_screenshot(str(ARTIFACTS / "exceptions.png"))
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    browser.save_screenshot(str(ARTIFACTS / "exceptions-bottom.png"))

    assert browser.find_elements(By.CSS_SELECTOR, "#events form button")  # Replay (tests/workspace)
    # the prefilled mapping form, from the row of this test's own unmapped SKU (the demo has others)
    row = browser.find_element(By.XPATH, "//*[@id='unmapped']//tr[contains(., 'QUEUE-MYSTERY')]")
    row.find_element(By.LINK_TEXT, "Map to one of our SKUs").click()
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.NAME, "channel_sku"))
    assert browser.find_element(By.NAME, "channel_sku").get_attribute("value") == "QUEUE-MYSTERY"
