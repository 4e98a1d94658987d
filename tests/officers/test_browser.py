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

from clearance.models import ReleaseOrder
from declarations.models import Declaration, DeclarationEvent
from notifications.models import Notification
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


# --- every role's main path at 1366 x 768, with the screenshots of the docs ----------------------

LAPTOP = {"width": 1366, "height": 768}
# `scripts/screenshots` sets FORODHA_SCREENSHOTS=docs/screenshots (the pictures in docs/officers.md
# and docs/sandbox.md); a normal test run writes them under test-artifacts/ (git-ignored).
SCREENSHOTS = Path(settings.BASE_DIR) / os.environ.get("FORODHA_SCREENSHOTS", "test-artifacts/screenshots")

# The Age/SLA cell of the first row, measured in the page: on one line, inside the results box
# (no horizontal scroll), inside the window.
SLA_GEOMETRY = """() => {
  const results = document.querySelector('.results');
  const cell = document.querySelector('#result_list td.field-sla');
  const label = cell.querySelector('.sla');
  const box = cell.getBoundingClientRect();
  return {lines: label.getClientRects().length, text: label.innerText,
          overflow: results.scrollWidth - results.clientWidth, right: Math.ceil(box.right),
          window: window.innerWidth};
}"""


# "My work": every header on one line, the Age/SLA of my task on one line.
MY_WORK_GEOMETRY = """() => {
  const heads = [...document.querySelectorAll('#my-work th')];
  const label = document.querySelector('#my-tasks .my-task .sla');
  return {wrapped_heads: heads.filter(th => th.innerText && th.getClientRects()[0].height > 40).map(th => th.innerText),
          sla_lines: label.getClientRects().length, sla: label.innerText,
          overflow: document.documentElement.scrollWidth - window.innerWidth};
}"""


def _shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    """The visible window as a PNG, reduced to a 256-colour palette (a page shot of ~40 KB)."""
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    with Image.open(path) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def _sign_in(browser, base_url: str, username: str, next_url: str = "/admin/"):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=LAPTOP)
    page.set_default_timeout(15_000)
    page.goto(f"{base_url}/admin/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    return page


@pytest.fixture
def chromium(monkeypatch):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required at {CHROMIUM} (apt-get install -y chromium)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_each_role_at_1366_pixels_with_the_age_sla_column_readable(live_server, chromium, settings):
    import datetime as dt
    from decimal import Decimal

    from clearance.models import OfficerTask
    from core import clock
    from maintenance.services import outage_start, window_schedule
    from sandbox import clock as sandbox_clock
    from sandbox.drills import STEP_TITLES
    from sandbox.models import Drill
    from tests.factories.risk import ReferencePriceFactory

    # given: a sandbox with an officer, an inspector, a supervisor, a risk analyst, a maintenance
    # admin and a trainer at Mombasa; tasks in the queues, some past their SLA
    settings.FORODHA_SANDBOX = True
    for group, username in (("officer", "wanjiru"), ("inspector", "otieno"), ("supervisor", "akinyi"),
                            ("risk analyst", "kamau"), ("maintenance admin", "duty"), ("trainer", "amina")):
        officer_create(group, username=username)
    ReferencePriceFactory(hs_prefix="8703", kes_per_unit=Decimal("800.00"), note="Used cars, Mombasa average")
    yellow = [declaration_in_queue("yellow", age=dt.timedelta(hours=h, minutes=12)) for h in (5, 3, 1)]
    red = [declaration_in_queue("red", age=dt.timedelta(hours=h, minutes=40)) for h in (30, 2)]
    OfficerTask.objects.filter(declaration=red[0]).update(escalated_at=clock.now() - dt.timedelta(hours=6))
    OfficerTask.objects.filter(declaration=yellow[0]).update(escalated_at=clock.now() - dt.timedelta(hours=1))
    window_schedule(starts_at=clock.now() + dt.timedelta(days=3), ends_at=clock.now() + dt.timedelta(days=3, hours=8),
                    reason="iCMS database upgrade", mode="buffer", actor=None)
    Drill.objects.create(name="outage", step=0, state={"agent_username": "", "bodies": [], "log": []},
                         updated_at=clock.now(), updated_by="sandbox-seed")
    base = live_server.url
    measured: dict[str, dict] = {}
    shots: list[Path] = []
    try:
        # officer: My work, the documentary-check queue, a declaration and its valuation check
        page = _sign_in(chromium, base, "wanjiru")
        page.click("#take-next-documentary_check")
        page.wait_for_selector("#risk")
        page.goto(f"{base}/admin/")
        page.wait_for_selector("#my-tasks .my-task")
        my_work = page.evaluate(MY_WORK_GEOMETRY)
        shots.append(_shot(page, "officer-1-my-work"))
        page.goto(f"{base}/admin/officers/documentarycheckqueue/")
        page.wait_for_selector("#result_list")
        measured["officer documentary check"] = page.evaluate(SLA_GEOMETRY)
        shots.append(_shot(page, "officer-2-documentary-check-queue"))
        page.click(f"#result_list a:has-text('{yellow[0].entry_number}')")
        page.wait_for_selector("#valuation")
        valuation = page.inner_text("#valuation-table")
        page.locator("#risk").scroll_into_view_if_needed()
        shots.append(_shot(page, "officer-3-declaration"))
        page.close()
        # inspector: the inspection queue
        page = _sign_in(chromium, base, "otieno", "/admin/officers/inspectionqueue/")
        page.wait_for_selector("#result_list")
        measured["inspector inspection"] = page.evaluate(SLA_GEOMETRY)
        shots.append(_shot(page, "inspector-1-inspection-queue"))
        page.close()
        # supervisor: escalated tasks (every office: the office filter shows) and the dashboard
        page = _sign_in(chromium, base, "akinyi", "/admin/officers/escalatedqueue/")
        page.wait_for_selector("#result_list")
        measured["supervisor escalated"] = page.evaluate(SLA_GEOMETRY)
        shots.append(_shot(page, "supervisor-1-escalated-queue"))
        page.goto(f"{base}/admin/dashboard/")
        page.wait_for_selector("#chart-lanes svg.chart")
        shots.append(_shot(page, "supervisor-2-dashboard"))
        page.close()
        # risk analyst (valuation): the declaration's valuation check against the reference prices
        page = _sign_in(chromium, base, "kamau", f"/admin/declarations/declaration/{red[0].pk}/change/")
        page.wait_for_selector("#valuation")
        page.locator("#valuation").scroll_into_view_if_needed()
        shots.append(_shot(page, "risk-analyst-1-valuation-check"))
        page.close()
        # maintenance admin: the windows, and the confirmation before an outage ends
        page = _sign_in(chromium, base, "duty", "/admin/maintenance/maintenancewindow/")
        page.wait_for_selector("#result_list")
        windows = page.inner_text("#result_list")
        shots.append(_shot(page, "maintenance-1-windows"))
        outage = outage_start(reason="Fibre cut between Mombasa and Nairobi", actor=None)
        page.goto(f"{base}/admin/maintenance/outage/")
        page.check(f"input[name=_selected_action][value='{outage.pk}']")
        page.select_option("select[name=action]", "end_outages")
        page.click("button[name=index]")
        page.wait_for_selector("#end-outage-form")
        confirm_text = page.inner_text("#content-main")
        shots.append(_shot(page, "maintenance-2-end-outage-confirmation"))
        page.fill("#id_reason", "Link restored")
        page.click("#confirm-end-outage")
        page.wait_for_selector(".messagelist .success")
        page.close()
        # trainer: the clock, the drill run step by step, a trainee report
        page = _sign_in(chromium, base, "amina", "/admin/sandbox/clock/")
        page.wait_for_selector("#clock-form")
        picker_date = page.input_value("#id_at_0")
        shots.append(_shot(page, "trainer-1-clock"))
        page.goto(f"{base}/admin/sandbox/drill/")
        page.click("#run-step-1")
        page.wait_for_selector("#run-step-2")
        page.click("#run-step-2")
        page.wait_for_selector("#run-step-3")
        drill_text = page.inner_text("#drill-steps")
        shots.append(_shot(page, "trainer-2-drill"))
        page.goto(f"{base}/admin/sandbox/reports/")
        page.click("#firm-reports a >> nth=0")
        page.wait_for_selector("#report-summary")
        shots.append(_shot(page, "trainer-3-trainee-report"))
        page.close()
    finally:
        sandbox_clock.set_offset(0.0)
    # then: the Age/SLA column is on one line, inside the table's box and the window, on every queue
    assert set(measured) == {"officer documentary check", "inspector inspection", "supervisor escalated"}
    for name, geometry in measured.items():
        assert geometry["lines"] == 1, (name, geometry)
        assert geometry["overflow"] <= 0, (name, geometry)
        assert geometry["right"] <= geometry["window"] == 1366, (name, geometry)
    assert measured["officer documentary check"]["text"] == "5h 12m / 4h 00m"
    assert my_work == {"wrapped_heads": [], "sla_lines": 1, "sla": "5h 12m / 4h 00m", "overflow": 0}
    assert measured["inspector inspection"]["text"] == "1d 6h / 1d 0h"
    # ... each role's page shows its own content
    assert "1\t8703.22.90\treference price per kg\t660,000.00\t880,000.00\t220,000.00 below\t25.0%" in valuation
    assert "iCMS database upgrade" in windows
    assert "Outage declared 25 Nov 2026 10:00 EAT, 0s so far: Fibre cut between Mombasa and Nairobi" in confirm_text
    assert picker_date == "2026-11-25"
    assert drill_text.count("admin:amina") == 2
    assert STEP_TITLES[3] in drill_text
    # ... and each screenshot is a small PNG
    assert len(shots) == 12
    for path in shots:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size < 150_000, (path.name, path.stat().st_size)
