"""A real browser (Playwright driving Debian's headless Chromium) against a live server: an
officer signs in, opens the documentary-check queue, opens a declaration, releases it, and the
dashboard renders its charts. Screenshots go to test-artifacts/officers/ (git-ignored)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import sync_playwright

from declarations.models import Declaration, DeclarationEvent
from notifications.models import Notification
from risk.models import ReleaseOrder
from tests.factories.officers import PASSWORD, declaration_in_queue, officer_create

CHROMIUM = os.environ.get("FORODHA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "officers"


@pytest.fixture
def browser_page(monkeypatch):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required at {CHROMIUM} (apt-get install -y chromium)")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM reads are
    # synchronous and safe here (the live server answers from its own thread).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            browser.close()
            # Playwright's greenlet gives the test body its own context, hence its own database
            # connection: close it, or the test database cannot be dropped at the end.
            connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_officer_releases_a_declaration_from_the_queue_and_sees_the_dashboard(live_server, browser_page):
    # given
    officer_create("officer", username="wanjiru")
    declaration = declaration_in_queue("yellow")
    other = declaration_in_queue("yellow")
    page = browser_page
    # when: sign in
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "wanjiru")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#dashboard-link")
    page.screenshot(path=str(ARTIFACTS / "01-index.png"), full_page=True)
    # ... open the documentary-check queue
    page.click("text=Documentary check")
    page.wait_for_selector("#result_list")
    queue_text = page.inner_text("#result_list")
    page.screenshot(path=str(ARTIFACTS / "02-queue.png"), full_page=True)
    # ... open the declaration
    page.click(f"#result_list a:has-text('{declaration.entry_number}')")
    page.wait_for_selector("#risk")
    detail_text = page.inner_text("#content")
    page.screenshot(path=str(ARTIFACTS / "03-declaration.png"), full_page=True)
    # ... release it: confirmation page, reason, confirm
    page.click("#decide-release")
    page.wait_for_selector("#decision-form")
    page.fill("#id_reason", "Invoice, packing list and IDF verified")
    page.screenshot(path=str(ARTIFACTS / "04-confirm-release.png"), full_page=True)
    page.click("#confirm-decision")
    page.wait_for_selector(".messagelist .success")
    message = page.inner_text(".messagelist")
    page.screenshot(path=str(ARTIFACTS / "05-released.png"), full_page=True)
    # ... and the dashboard renders its charts
    page.goto(f"{live_server.url}/admin/dashboard/")
    page.wait_for_selector("#chart-lanes svg.chart")
    charts = page.locator("svg.chart").count()
    bars = page.locator("#chart-lanes svg.chart rect.bar-yellow").count()
    chart_box = page.locator("#chart-lanes svg.chart").bounding_box()
    page.screenshot(path=str(ARTIFACTS / "06-dashboard.png"), full_page=True)
    css = page.evaluate("() => getComputedStyle(document.querySelector('.lane, .alert')).borderRadius")
    # then
    assert declaration.entry_number in queue_text
    assert other.entry_number in queue_text
    assert "hs match: item 1 HS 8703.22.90 matches 8703 (yellow)" in detail_text
    assert message.strip() == (f"{declaration.entry_number} released (release order RO{declaration.entry_number}).")
    declaration.refresh_from_db()
    assert declaration.status == "released"
    event = DeclarationEvent.objects.filter(declaration=declaration).latest("created_at", "id")
    assert (event.to_status, event.actor_label, event.reason) == (
        "released", "wanjiru", "Invoice, packing list and IDF verified")
    assert ReleaseOrder.objects.get(declaration=declaration).issued_by.username == "wanjiru"
    assert Notification.objects.filter(declaration_id=declaration.pk, kind="released").count() == 1
    assert Declaration.objects.get(pk=other.pk).status == "under_control"
    assert charts == 3
    assert bars == 1  # today's yellow segment
    assert chart_box is not None
    assert chart_box["width"] > 300
    assert chart_box["height"] > 100
    assert css == "4px"  # officers.css was served (whitenoise), no CDN involved
    assert sorted(p.name for p in ARTIFACTS.glob("0*.png")) == [
        "01-index.png", "02-queue.png", "03-declaration.png", "04-confirm-release.png", "05-released.png",
        "06-dashboard.png"]
