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
