"""The Energy tab in a real browser: it renders Bokeh canvases and a control change redraws."""
import pytest

pytestmark = pytest.mark.browser


def test_energy_tab_renders_and_cooling_change_redraws(app_page, click_tab, collect_errors):
    page = app_page
    panel = click_tab(page, "Energy")
    panel.locator(".bk-Canvas").first.wait_for(state="attached", timeout=120_000)
    readout = panel.locator(".nicc-energy-readout").first
    readout.wait_for(timeout=60_000)
    before = readout.inner_text()
    assert "PUE" in before
    # switch the cooling type: the readout (and the maps) are recomputed
    select = panel.locator(".widget-dropdown select").first
    current = select.input_value()
    target = "air" if current != "air" else "immersion"
    select.select_option(target)
    page.wait_for_function(
        "([b, t]) => { const e = document.querySelector('.nicc-energy-readout');"
        " return e && e.innerText !== b && e.innerText.includes(t); }",
        arg=[before, target], timeout=60_000)
    after = readout.inner_text()
    assert after != before and target in after
    assert panel.locator(".bk-Canvas").count() >= 4
    assert collect_errors == [], collect_errors
