"""The Training tab in a real browser: renders Bokeh canvases, a slider move redraws the readout."""
import pytest

pytestmark = pytest.mark.browser


def _readout(panel):
    return panel.locator(".nicc-training-readout").first.inner_text()


def test_training_tab_renders_and_responds(app_page, click_tab, collect_errors):
    page = app_page
    panel = click_tab(page, "Training")
    panel.locator(".bk-Canvas").first.wait_for(state="attached", timeout=60_000)
    panel.locator(".nicc-training-readout").first.wait_for(timeout=60_000)
    before = _readout(panel)
    assert "MFU" in before and "Step time" in before
    # move the TP slider (first slider of the tab) to its left end: TP 1 changes the plan and the readout
    slider = panel.locator(".widget-slider .noUi-base").first
    box = slider.bounding_box()
    page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "(b) => { const e = document.querySelector('.nicc-training .nicc-training-readout');"
        " return e && e.innerText !== b; }", arg=before, timeout=60_000)
    assert _readout(panel) != before
    # a model change redraws the readout at once (the era comparison follows on the kernel's loop)
    before = _readout(panel)
    panel.locator(".widget-dropdown select").first.select_option(label="llama3-8b")
    page.wait_for_function(
        "(b) => { const e = document.querySelector('.nicc-training .nicc-training-readout');"
        " return e && e.innerText !== b && e.innerText.includes('8.0 B'); }", arg=before, timeout=60_000)
    # the search button fills the plan table
    panel.locator("button", has_text="Search plans").first.click()
    panel.locator(".nicc-training-search").first.wait_for(timeout=60_000)
    assert "valid of" in panel.locator(".nicc-training-search").first.inner_text()
    assert collect_errors == [], collect_errors
