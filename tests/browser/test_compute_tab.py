"""The Compute tab in a real browser: roofline, serving and CIM figures render; a control change redraws."""
import pytest

pytestmark = pytest.mark.browser


def test_compute_tab_renders_and_redraws(app_page, click_tab, collect_errors):
    page = app_page
    panel = click_tab(page, "Compute")
    panel.locator(".bk-Canvas").first.wait_for(state="attached", timeout=90_000)
    assert panel.locator(".bk-Canvas").count() >= 3  # roofline, serving vs batch, GPU vs CIM energy
    readout = panel.locator(".nicc-compute-readout").first
    before = readout.inner_text()
    assert "TTFT" in before and "A800-SXM4-80GB" in before

    # quantise the weights to INT4: smaller weights per card, a different TPOT in the readout
    selects = panel.locator(".widget-dropdown select")
    selects.nth(3).select_option("int4")
    page.wait_for_function(
        "(b) => { const e = document.querySelector('.nicc-compute-readout'); return e && e.innerText !== b; }",
        arg=before, timeout=60_000)
    mid = readout.inner_text()
    assert "TPOT" in mid and mid != before

    # a chip without FP8 asked for FP8 weights: the readout says which precisions it has
    selects.nth(0).select_option("V100-SXM2-32GB")
    selects.nth(3).select_option("fp8")
    page.wait_for_function(
        "(() => { const e = document.querySelector('.nicc-compute-readout'); return e && e.innerText.includes('fp16'); })()",
        timeout=60_000)
    assert collect_errors == [], collect_errors
