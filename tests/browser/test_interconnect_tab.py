"""The Interconnect tab in a real browser: it renders Bokeh figures and a control change redraws."""
import pytest

pytestmark = pytest.mark.browser


def test_interconnect_tab_renders_and_redraws(app_page, click_tab, collect_errors):
    page = app_page
    panel = click_tab(page, "Interconnect")
    panel.locator(".bk-Canvas").first.wait_for(state="attached", timeout=60_000)
    assert panel.locator(".bk-Canvas").count() >= 3  # busbw plot, graph, Table 3-1, era path
    readout = panel.locator(".nicc-ic-readout").first
    before = readout.inner_text()
    assert "busbw" in before and "nvswitch" in before

    # change the collective: the readout (and the plots) must follow
    selects = panel.locator(".widget-dropdown select")
    selects.nth(2).select_option("all-to-all")
    page.wait_for_function(
        "(() => { const e = document.querySelector('.nicc-ic-readout'); return e && e.innerText.includes('all-to-all'); })()",
        timeout=30_000)
    # PCIe: the readout names the inter-socket (NUMA) hop the graph draws in red
    selects.nth(1).select_option("pcie")
    page.wait_for_function(
        "(() => { const e = document.querySelector('.nicc-ic-readout'); return e && e.innerText.includes('NUMA'); })()",
        timeout=30_000)
    # change the topology to the super-server: a different graph and bandwidth
    selects.nth(1).select_option("s2-switch")
    page.wait_for_function(
        "(() => { const e = document.querySelector('.nicc-ic-readout'); return e && e.innerText.includes('s2-switch'); })()",
        timeout=30_000)
    after = readout.inner_text()
    assert after != before
    assert collect_errors == [], collect_errors
