"""The Storage tab in a real browser: it renders Bokeh canvases, and switching the architecture from
separate to converged changes the capacity and the copy time in the readout."""
import re

import pytest

pytestmark = pytest.mark.browser

READOUT = ".nicc-storage .nicc-storage-readout"


def _text(page):
    return page.locator(READOUT).first.inner_text()


def _capacity_and_saving(text):
    need = re.search(r"([\d.]+) / ([\d.]+) PB needed", text)
    saved = re.search(r"Copy time saved \(unified\)\s+([\d.]+) h", text)
    return (float(need.group(1)) + float(need.group(2)), float(saved.group(1)))


def _press(panel, page, label, before):
    panel.locator(".nicc-storage-arch button", has_text=label).first.click()
    page.wait_for_function(
        "([sel, b, l]) => { const e = document.querySelector(sel);"
        " return e && e.innerText !== b && e.innerText.includes(l); }",
        arg=[READOUT, before, f"{label} ("], timeout=60_000)
    return _text(page)


def test_storage_tab_separate_to_converged_changes_capacity_and_time(app_page, click_tab, collect_errors):
    page = app_page
    panel = click_tab(page, "Storage")
    panel.locator(".bk-Canvas").first.wait_for(state="attached", timeout=120_000)
    page.locator(READOUT).first.wait_for(timeout=120_000)
    assert panel.locator(".bk-Canvas").count() >= 4
    start = _text(page)
    assert "Raw capacity" in start and "goodput" in start
    # separate file + object pools: two copies, nothing saved
    sep = start if "separate (" in start else _press(panel, page, "separate", start)
    cap_sep, saved_sep = _capacity_and_saving(sep)
    assert "2 copies" in sep and saved_sep == 0.0
    # converged multi-protocol store: one copy, less raw capacity, copy time saved
    conv = _press(panel, page, "converged", sep)
    cap_conv, saved_conv = _capacity_and_saving(conv)
    assert "1 copy" in conv
    assert cap_conv < cap_sep and saved_conv > 0.0
    assert collect_errors == [], collect_errors
