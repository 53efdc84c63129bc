"""The app shell in a real browser: renders without JS errors; the era selector changes the summary."""
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def _figure(page, label):
    return page.locator(".nicc-summary tr", has_text=label).first.locator("td").inner_text()


def test_app_shell_renders_and_era_selector_updates_summary(app_page, collect_errors, tmp_path):
    page = app_page
    assert page.locator(".nicc-scenario-name").inner_text() == "cluster-2023"
    assert _figure(page, "Accelerators") == "1,024"
    tabs = [t.strip() for t in page.locator(".lm-TabBar-tab").all_inner_texts()]
    assert tabs[0] == "Summary"

    page.locator(".widget-dropdown select").first.select_option("superpool-2025")
    page.wait_for_function("document.querySelector('.nicc-scenario-name').innerText === 'superpool-2025'", timeout=60_000)
    assert _figure(page, "Accelerators") == "4,096"
    assert "s2-switch" in _figure(page, "High-speed domain")
    page.wait_for_timeout(500)
    shot = tmp_path / "app.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("NICC_TWIN_SCREENSHOT"):
        Path(os.environ["NICC_TWIN_SCREENSHOT"]).write_bytes(shot.read_bytes())
    assert shot.stat().st_size > 10_000
    assert collect_errors == [], collect_errors


def test_baseline_pin_shows_deltas_after_a_scenario_change(app_page, collect_errors, click_tab):
    """Pin cluster-2023, switch to superpool-2025: the summary's whole-twin results and the
    headline strip above a domain tab show deltas against the pinned baseline."""
    page = app_page
    page.wait_for_selector(".nicc-results", timeout=60_000)
    assert page.locator(".nicc-results .nicc-delta").count() == 0  # nothing pinned yet
    page.locator("button", has_text="Pin as baseline").click()
    page.wait_for_selector("button:has-text('Pinned: cluster-2023')", timeout=30_000)
    page.locator(".widget-dropdown select").first.select_option("superpool-2025")
    page.wait_for_function("document.querySelector('.nicc-scenario-name').innerText === 'superpool-2025'",
                           timeout=120_000)
    # the whole twin ran on superpool-2025: its results replace cluster-2023's, with deltas
    page.wait_for_function("document.querySelector('.nicc-results-name') && "
                           "document.querySelector('.nicc-results-name').innerText === 'superpool-2025'", timeout=120_000)
    assert page.locator(".nicc-results .nicc-delta").count() > 0
    row = page.locator(".nicc-results tr", has_text="Training step time").first
    cells = row.locator("td").all_inner_texts()
    # superpool-2025 trains the same model faster: a negative delta, with its percentage
    assert cells[1].startswith("-") and "%" in cells[1], cells
    assert "vs cluster-2023" in page.locator(".nicc-results").inner_text()
    click_tab(page, "Energy")
    page.wait_for_function("document.querySelectorAll('.nicc-tab-headline .nicc-delta').length > 0", timeout=60_000)
    assert "PUE" in page.locator(".nicc-tab-headline").inner_text()
    page.locator("button", has_text="Clear baseline").click()
    page.wait_for_function("document.querySelectorAll('.nicc-results .nicc-delta').length === 0", timeout=30_000)
    assert collect_errors == [], collect_errors
