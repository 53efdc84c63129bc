"""The Fabric tab in Python (no browser): metrics are labelled, caches do not mix configurations,
the whole of the largest preset is reachable and redraws without error."""
import pytest

from twin.scenario import load_scenario


@pytest.fixture(scope="module")
def dash():
    from widgets.fabric import Dashboard

    return Dashboard(load_scenario("megatron-sc21-a100-3072"))


def test_labels_name_each_metric(dash):
    assert "max-min rate at step start" in dash.fig_lb.title.text
    assert "completion" in dash.fig_ar.title.text
    assert "step start" in dash.readout.value and "completion" in dash.readout.value


def test_whole_cluster_reachable_and_spraying_equals_gse(dash):
    sc = dash.scenario
    assert dash.nodes.max == sc.compute.nodes
    dash.nodes.value = dash.nodes.max
    dash.placement.value = "scattered"
    assert dash.error.value == ""
    d = dash.lb_src.data
    lbs = list(d["lb"])
    s, g, e = lbs.index("spraying"), lbs.index("gse"), lbs.index("ecmp")
    assert d["gbps"][s] == pytest.approx(d["gbps"][g]) and d["ms"][s] == pytest.approx(d["ms"][g])
    assert d["ms"][e] >= d["ms"][s] * (1 - 1e-9)  # per-flow ECMP collisions only slow the ring down
    ecmp_ms = d["ms"][e]
    dash.qps.value = 16  # more QPs: a different ECMP result, spraying unchanged (not a stale cache entry)
    d2 = dash.lb_src.data
    assert d2["ms"][e] != ecmp_ms and d2["ms"][s] == pytest.approx(d["ms"][s])
    dash.topology.value = "fat-tree-2tier"  # radix 40 cannot build 3,072 NIC ports in two tiers
    assert "fabric.radix" in dash.error.value
    dash.topology.value = "rail-optimized"
    assert dash.error.value == ""
