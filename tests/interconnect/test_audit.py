"""Audit additions: group layouts across domains, the fabric hop, NVLS latency, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from twin.errors import InputError
from twin.interconnect import (busbw_factor, build_topology, collective_time, parallelism_traffic, sweep,
                               topology_offer)
from twin.scenario import load_scenario
from twin.units import Q_

GPT3 = dict(layers=96, hidden=12288, vocab=50257, params_published=175e9)
BIG = Q_(64, "GiB")


def _node_bw(sc, n_nodes, pattern):
    """The per-node bandwidth the fabric put in the state tree (what the interconnect reads)."""
    from twin.core import Twin
    from twin.interconnect.collectives import fabric_hop

    t = Twin(sc)
    t.run(["fabric"])
    return fabric_hop(t.state, n_nodes, pattern)[0]


@pytest.mark.parametrize("preset", ["cluster-2023", "megatron-sc21-a100-3072"])
def test_flat_ring_across_nodes_runs_at_the_fabric_ring_rate(preset):
    """One card per node, 16 nodes: the ring's bandwidth term is f S / (node_bandwidth(ring) / cards_per_node)."""
    sc = load_scenario(preset)
    cpn = sc.compute.cards_per_node
    n = 16
    t = collective_time(sc, "all-reduce", BIG, n, stride=cpn, algorithm="ring").to("s").magnitude
    card = _node_bw(sc, n, "ring") / cpn
    assert t == pytest.approx(2 * (n - 1) / n * BIG.to("B").magnitude / card, rel=0.02)


def test_all_to_all_across_nodes_uses_the_fabric_all_to_all_rate():
    sc = load_scenario("cluster-2023")
    n = 16
    t = collective_time(sc, "all-to-all", BIG, n, stride=8, algorithm="direct").to("s").magnitude
    card = _node_bw(sc, n, "all-to-all") / 8
    assert t == pytest.approx((n - 1) / n * BIG.to("B").magnitude / card, rel=0.02)


def test_hierarchical_all_reduce_inter_phase_uses_the_ring_rate_and_the_shard():
    """8 cards per node on 4 nodes: the inter-node phase moves 2(N-1)/N of S/8 per card."""
    sc = load_scenario({"extends": "cluster-2023", "fabric": {"placement": "contiguous"}})
    t = collective_time(sc, "all-reduce", BIG, 32, algorithm="hierarchical").to("s").magnitude
    intra = collective_time(sc, "all-reduce", BIG, 8).to("s").magnitude   # RS + AG inside = one all-reduce
    card = _node_bw(sc, 4, "ring") / 8
    inter = 2 * 3 / 4 * BIG.to("B").magnitude / 8 / card
    assert t == pytest.approx(intra + inter, rel=0.03)


def test_uneven_groups_count_every_member():
    """Group 3, stride 5 on 8-card nodes lands 2 + 1: it is not the 4-member group 2 + 2."""
    sc = load_scenario("cluster-2023")
    three = collective_time(sc, "all-reduce", "1 GiB", 3, stride=5)
    four = collective_time(sc, "all-reduce", "1 GiB", 4, stride=5)
    assert three != four
    # the lone card in the second node carries the whole boundary traffic on its own NIC share
    assert three > four
    with pytest.raises(InputError) as e:
        collective_time(sc, "all-reduce", "1 GiB", 3, stride=5, algorithm="hierarchical")
    assert e.value.field == "algorithm" and "same number of members" in str(e.value)


def test_one_more_card_than_the_super_server_leaves_the_bus():
    sp = load_scenario("superpool-2025")
    inside = collective_time(sp, "all-reduce", "1 GiB", 128)
    one_out = collective_time(sp, "all-reduce", "1 GiB", 129)
    assert one_out > 3 * inside


def test_bus_domains_inside_one_node_meet_over_the_host_link():
    sc = load_scenario("cluster-2023").with_overrides({"compute": {"domain_size": 4}})
    split = collective_time(sc, "all-reduce", BIG, 8, algorithm="ring").to("s").magnitude
    from twin import catalog

    host = catalog.accelerator(sc.compute.accelerator).host_link
    pcie = catalog.link_bandwidth(host).to("B/s").magnitude
    # ring of 8 over 2 domains of 4: the boundary carries 2(7/8) S / 4 per ring on a PCIe link
    assert split >= 2 * 7 / 8 * BIG.to("B").magnitude / (4 * pcie)


def test_nvls_latency_is_charged_once_per_collective():
    """NCCL's tuning model: NVLS latency = hwLat[NVLink][NVLS][Simple] (23-25 us), not per step."""
    ds = sweep("nvswitch", "H100-SXM5-80GB", 8, "all-reduce", [1024.0], algorithm="nvls")
    t = float(ds.time.values[0])
    assert 23e-6 <= t < 30e-6


def test_pcie_crosses_the_inter_socket_link():
    """White paper 3.1.1: PCIe cards talk through the CPU and across NUMA; the graph has the UPI hop."""
    from twin.interconnect.collectives import phase_cost

    t = build_topology("pcie", "A100-PCIe-40GB", 8)
    fam = {(u, v): t.graph.edges[u, v]["family"] for u, v in t.edges}
    assert fam[("cpu0", "cpu1")].startswith("upi")
    _, lat_near = phase_cost(t, [(0, 1, 1.0)])      # same PCIe switch
    _, lat_far = phase_cost(t, [(0, 7, 1.0)])       # other socket: up, across UPI, down
    assert t.dist[0, 7] > t.dist[0, 1] and lat_far > lat_near
    # all cards of socket 0 sending to socket 1 at once: all four streams share the one UPI link,
    # two share each PCIe switch uplink; the busier of the two sets the time
    beta_x, _ = phase_cost(t, [(i, i + 4, 1.0) for i in range(4)])
    eff = dict(zip(t.edges, t.effective_bandwidth))
    assert beta_x == pytest.approx(max(4.0 / eff[("cpu0", "cpu1")], 2.0 / eff[("pcie-sw0", "cpu0")]))


@pytest.mark.parametrize("call,field", [
    (lambda: collective_time("cluster-2023", "all-reduce", [[1e6, 2e6]], 8), "message_size"),
    (lambda: collective_time("cluster-2023", "all-reduce", Q_(float("inf"), "B"), 8), "message_size"),
    (lambda: collective_time("cluster-2023", "all-reduce", [1e6, float("nan")], 8), "message_size"),
    (lambda: collective_time("cluster-2023", None, "1 MiB", 8), "collective"),
    (lambda: collective_time("cluster-2023", "all-reduce", "1 MiB", 2.5), "group_size"),
    (lambda: collective_time("cluster-2023", "all-reduce", "1 MiB", "8"), "group_size"),
    (lambda: collective_time("cluster-2023", "all-to-all", "1 MiB", 8, algorithm="tree"), "algorithm"),
    (lambda: build_topology(["pcie"], "A100-PCIe-40GB", 8), "topology"),
    (lambda: build_topology("pcie", ["A100-PCIe-40GB"], 8), "accelerator"),
    (lambda: build_topology("pcie", "A100-PCIe-40GB", float("nan")), "cards"),
    (lambda: build_topology("nvswitch", "H100-SXM5-80GB", 0), "cards"),
    (lambda: build_topology("oam-hcm", "H100-SXM5-80GB", 8), "topology"),
    (lambda: busbw_factor("all-reduce", 2.5), "group_size"),
    (lambda: busbw_factor("all-reduce", "8"), "group_size"),
    (lambda: parallelism_traffic(GPT3, tp=8, mfu="high"), "mfu"),
    (lambda: parallelism_traffic(GPT3, tp=8, budget=float("nan")), "budget"),
    (lambda: parallelism_traffic(GPT3, tp=8, dp=4, global_batch=0), "global_batch"),
    (lambda: parallelism_traffic(GPT3, tp=8, bytes_per_value=0), "bytes_per_value"),
    (lambda: parallelism_traffic(GPT3, tp=8, ep=4), "ep"),
    (lambda: topology_offer("cluster-2023", topologies=["torus"]), "topologies"),
])
def test_more_bad_input_names_the_field(call, field):
    with pytest.raises(InputError) as e:
        call()
    assert e.value.field == field


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not (np.isfinite(x) and x > 0)),
                 st.integers(max_value=0)))
def test_non_positive_or_non_finite_sizes_never_reach_the_kernels(size):
    with pytest.raises(InputError) as e:
        collective_time("cluster-2023", "all-reduce", size, 8)
    assert e.value.field == "message_size"


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 64), st.integers(1, 20), st.sampled_from(["all-reduce", "all-gather", "all-to-all", "broadcast"]))
def test_any_layout_is_finite_and_not_faster_than_its_busiest_domain(group, stride, coll):
    sc = load_scenario("cluster-2023")
    if (group - 1) * stride >= sc.cards:
        return
    t = collective_time(sc, coll, "256 MiB", group, stride=stride).to("s").magnitude
    assert np.isfinite(t) and t > 0
