"""The Cross-domain tab in a real browser: renders its Bokeh canvases; moving the WAN bandwidth
slider changes the compute utilisation readout."""
import re

import pytest

pytestmark = pytest.mark.browser

READOUT = ".nicc-crossdomain .nicc-xd-readout"


def _utilisation(page) -> float:
    text = page.locator(READOUT).first.inner_text()
    m = re.search(r"Utilisation\s+([\d.]+)%", text)
    assert m, text
    return float(m.group(1))


def test_crossdomain_tab_renders_and_bandwidth_moves_utilisation(app_page, click_tab, collect_errors):
    page = app_page
    panel = click_tab(page, "Cross-domain")
    panel.locator(".bk-Canvas").first.wait_for(state="attached", timeout=90_000)
    panel.locator(".nicc-xd-readout").first.wait_for(timeout=90_000)
    before_text = page.locator(READOUT).first.inner_text()
    before = _utilisation(page)
    assert "Step time" in before_text and "Straggler" in before_text
    # the WAN bandwidth slider is the first slider of the tab: click near its left end (about 1 Gbit/s)
    slider = panel.locator(".widget-slider .noUi-base").first
    box = slider.bounding_box()
    page.mouse.click(box["x"] + 3, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "(b) => { const e = document.querySelector('.nicc-crossdomain .nicc-xd-readout');"
        " return e && e.innerText !== b; }", arg=before_text, timeout=60_000)
    after = _utilisation(page)
    assert after < before  # less WAN bandwidth: the sites wait longer for each other
    assert collect_errors == [], collect_errors
