"""The Platform tab in a real browser: it renders Bokeh canvases and switching whole cards to
fractional sharing changes the allocation readout."""
import pytest

pytestmark = pytest.mark.browser


def test_platform_tab_whole_to_fractional_changes_allocation(app_page, click_tab, collect_errors):
    page = app_page
    panel = click_tab(page, "Platform")
    panel.locator(".bk-Canvas").first.wait_for(state="attached", timeout=120_000)
    readout = panel.locator(".nicc-platform-readout").first
    readout.wait_for(timeout=120_000)
    select = panel.locator(".nicc-platform-mode select").first
    select.select_option("whole")
    page.wait_for_function(
        "() => { const e = document.querySelector('.nicc-platform-readout');"
        " return e && e.innerText.includes('/ whole on'); }", timeout=120_000)
    whole = readout.inner_text()
    select.select_option("fractional")
    page.wait_for_function(
        "() => { const e = document.querySelector('.nicc-platform-readout');"
        " return e && e.innerText.includes('/ fractional on'); }", timeout=120_000)
    frac = readout.inner_text()
    served = [float(t.split("% of requests served")[0].split()[-1]) for t in (whole, frac)]
    assert served[1] > served[0], (whole, frac)  # pooling serves more of the arrived load
    assert panel.locator(".bk-Canvas").count() >= 3
    assert collect_errors == [], collect_errors
