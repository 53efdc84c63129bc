"""The Eras tab in a real browser: the Fig. 2-2 table fills from the twin's runs of the three era
presets, and clicking a cell opens that row's domain tab on that era. The Cost tab renders and a
region change redraws its readout."""
import pytest

pytestmark = pytest.mark.browser


def test_eras_tab_fills_and_a_cell_opens_the_domain_tab_on_that_era(app_page, click_tab, collect_errors):
    page = app_page
    panel = click_tab(page, "Eras")
    panel.locator(".bk-Canvas").first.wait_for(state="attached", timeout=120_000)
    panel.locator(".nicc-eras-ready").first.wait_for(timeout=300_000)  # three whole-twin runs
    cells = panel.locator(".nicc-era-cell")
    n = cells.count()
    assert n >= 30
    texts = [cells.nth(i).inner_text() for i in range(n)]
    assert all(t not in ("", "...") for t in texts), texts
    # row 0 is the interconnect all-reduce busbw; its superpool cell is the third in the row
    target = cells.nth(2)
    assert "GB/s" in target.inner_text()
    target.click()
    page.wait_for_function(
        "() => { const t = document.querySelector('.lm-TabBar-tab.lm-mod-current');"
        " const n = document.querySelector('.nicc-scenario-name');"
        " return t && n && t.innerText.includes('Interconnect') && n.innerText.includes('superpool-2025'); }",
        timeout=300_000)
    assert collect_errors == [], collect_errors


def test_cost_tab_renders_and_region_change_redraws(app_page, click_tab, collect_errors):
    page = app_page
    panel = click_tab(page, "Cost")
    panel.locator(".bk-Canvas").first.wait_for(state="attached", timeout=120_000)
    readout = panel.locator(".nicc-cost-readout").first
    readout.wait_for(timeout=60_000)
    before = readout.inner_text()
    assert "GPU-hour" in before
    select = panel.locator(".widget-dropdown select").first
    target = "ningxia" if select.input_value() != "ningxia" else "guangdong"
    select.select_option(target)
    page.wait_for_function(
        "(b) => { const e = document.querySelector('.nicc-cost-readout'); return e && e.innerText !== b; }",
        arg=before, timeout=120_000)
    assert readout.inner_text() != before
    assert panel.locator(".bk-Canvas").count() >= 3
    assert collect_errors == [], collect_errors
