"""The Fabric tab in a real browser: it renders Bokeh canvases and a control change redraws."""
import pytest

pytestmark = pytest.mark.browser


def test_fabric_tab_renders_and_load_balancing_change_redraws(app_page, click_tab, collect_errors):
    page = app_page
    panel = click_tab(page, "Fabric")
    panel.locator(".bk-Canvas").first.wait_for(state="attached", timeout=120_000)
    readout = panel.locator(".nicc-fabric-readout").first
    readout.wait_for(timeout=60_000)
    before = readout.inner_text()
    assert "per node" in before and "ecmp with" in before
    # dropdowns in order: traffic, placement, topology, load balancing
    select = panel.locator(".widget-dropdown select").nth(3)
    select.select_option("spraying")
    page.wait_for_function(
        "(b) => { const e = document.querySelector('.nicc-fabric-readout');"
        " return e && e.innerText !== b && e.innerText.includes('spraying with'); }",
        arg=before, timeout=60_000)
    after = readout.inner_text()
    assert after != before
    assert panel.locator(".bk-Canvas").count() >= 4  # fabric, LB bars, incast, FEC/optics
    assert collect_errors == [], collect_errors
