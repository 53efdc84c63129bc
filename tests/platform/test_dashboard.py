"""The platform dashboard: builds, follows the era selector, switches modes (no browser)."""
from widgets.platform import Dashboard


def _served(text):
    import re

    plain = re.sub(r"<[^>]+>", "", text)
    return float(plain.split("% of requests served")[0].split()[-1])


def test_dashboard_modes_and_eras():
    d = Dashboard("cluster-2023")
    assert d.mode.value == "fractional" and d.policy.value == "BestFit"
    frac = d.readout.value
    d.mode.value = "whole"
    assert "/ whole on" in d.readout.value and _served(d.readout.value) < _served(frac)
    assert len(d.frag_src.data["frag"]) == d.trace.n_nodes
    d.set_scenario("superpool-2025")
    assert d.policy.value == "FGD"
    assert len(d.cmp_src.data["value"]) == 36
