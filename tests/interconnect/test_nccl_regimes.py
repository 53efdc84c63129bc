"""NCCL's algorithm set, its regimes across message sizes, and collectives across nodes (issue 14)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from twin.errors import InputError
from twin.interconnect import build_topology, busbw_factor, sweep
from twin.interconnect.collectives import (NCCL_ALGORITHMS, internode_sweep, nccl_busbw, nccl_internode_candidates,
                                           nccl_test_scenario)

SIZES = 2.0 ** np.arange(16, 33)   # 64 KiB .. 4 GiB


def test_nccl_picks_only_what_nccl_runs():
    ds = sweep("nvswitch", "A100-SXM4-80GB", 8, "all-reduce", SIZES, algorithm="nccl")
    assert set(ds.algorithm_used.values) <= set(NCCL_ALGORITHMS["all-reduce"])
    # the ideal library (auto) may only be faster, never slower, than NCCL's set
    auto = sweep("nvswitch", "A100-SXM4-80GB", 8, "all-reduce", SIZES, algorithm="auto")
    assert np.all(auto.time.values <= ds.time.values * (1 + 1e-12))


@pytest.mark.parametrize("topo,acc", [("nvswitch", "A100-SXM4-80GB"), ("nvswitch", "H100-SXM5-80GB"),
                                      ("oam-fc", "MI300X-OAM-192GB"), ("nvlink-hcm", "V100-SXM2-32GB"),
                                      ("pcie", "A100-PCIe-40GB")])
def test_busbw_rises_with_size_towards_the_link_bound(topo, acc):
    """busbw grows with the message (latency amortised) and never exceeds what the links carry."""
    ds = sweep(topo, acc, 8, "all-reduce", SIZES, algorithm="nccl")
    bus = ds.busbw.values
    assert np.all(np.diff(bus) >= -1e-9 * bus[1:])
    t = build_topology(topo, acc, 8)
    # a card cannot push more than the sum of its links (x2: NVLS counts reduced bytes twice)
    assert bus[-1] <= 2 * t.card_bandwidth(0) / 1e9
    # mid-size regime: at 1 MiB latency costs at least a third of the plateau
    assert bus[list(SIZES).index(2.0 ** 20)] < 0.67 * bus[-1]


def _two_nodes(**kw):
    base = dict(nic_speed="200 Gbit/s", nics_per_node=8, protocol="infiniband")
    base.update(kw)
    return nccl_test_scenario("H100-SXM5-80GB", 2, 8, **base)


def test_ring_across_nodes_runs_at_the_node_bandwidth():
    """busbw of a ring across nodes tends to the node's injection bandwidth, whatever the count."""
    topo = build_topology("nvswitch", "A100-SXM4-80GB", 8)
    node_bw = 50e9
    for nodes in (2, 4, 16):
        _, bus, used = internode_sweep(topo, "all-reduce", 8, nodes, node_bw, 2e-6, [2.0 ** 36], algorithm="ring")
        assert used == ["ring"] and bus[0] == pytest.approx(node_bw, rel=0.01)


def test_nvls_tree_doubles_the_ring_on_two_nodes_and_not_beyond():
    """Two nodes: the NVLS tree moves S per node and direction (busbw ~ f(n) B_node, NCCL doubles
    its inter-node rate there); more nodes, or a plain tree: 2 S, about the ring's rate."""
    topo = build_topology("nvswitch", "H100-SXM5-80GB", 8)
    node_bw = 100e9
    big = [2.0 ** 36]
    _, b2, _ = internode_sweep(topo, "all-reduce", 8, 2, node_bw, 2e-6, big, algorithm="nvls-tree")
    _, b8, _ = internode_sweep(topo, "all-reduce", 8, 8, node_bw, 2e-6, big, algorithm="nvls-tree")
    _, t2, _ = internode_sweep(topo, "all-reduce", 8, 2, node_bw, 2e-6, big, algorithm="tree")
    f2, f8 = busbw_factor("all-reduce", 16), busbw_factor("all-reduce", 64)
    assert b2[0] == pytest.approx(f2 * node_bw, rel=0.02)
    assert b8[0] == pytest.approx(f8 * node_bw / 2, rel=0.02)
    assert t2[0] == pytest.approx(0.92 * f2 * node_bw / 2, rel=0.02)


def test_multinode_quantity_reads_the_fabric_from_the_twin():
    """The nccl-tests busbw across nodes follows the NIC speed the fabric publishes."""
    slow = nccl_busbw(_two_nodes(nic_speed="100 Gbit/s"), "all-reduce", "8 GiB", algorithm="ring").magnitude
    fast = nccl_busbw(_two_nodes(nic_speed="200 Gbit/s"), "all-reduce", "8 GiB", algorithm="ring").magnitude
    assert fast / slow == pytest.approx(2.0, rel=0.03)
    # at 8 x 400G the NICs outrun the NVLink ring inside the node: the bus caps the ring
    capped = nccl_busbw(_two_nodes(nic_speed="400 Gbit/s"), "all-reduce", "8 GiB", algorithm="ring").magnitude
    assert capped < 2 * fast
    intra = sweep("nvswitch", "H100-SXM5-80GB", 8, "all-reduce", "8 GiB", algorithm="ring").busbw.values[0]
    assert capped <= intra * 1.01
    # one node: the intra-node sweep
    one = nccl_test_scenario("H100-SXM5-80GB", 1, 8)
    assert nccl_busbw(one, "all-reduce", "4 GiB").magnitude > fast


def test_multinode_bad_inputs_name_the_field():
    topo = build_topology("nvswitch", "H100-SXM5-80GB", 8)
    with pytest.raises(InputError) as e:
        nccl_internode_candidates(topo, "all-gather", "tree", 8, 2, 1e11, 1e-6)
    assert "algorithm" in str(e.value)
    with pytest.raises(InputError) as e:
        nccl_test_scenario("H100-SXM5-80GB", 2, 8, protocol="carrier-pigeon")
    assert "protocol" in str(e.value)
    with pytest.raises(InputError) as e:
        nccl_busbw(_two_nodes(), "all-reduce", "-1 MiB")
    assert "message_size" in str(e.value)
    with pytest.raises(InputError):
        nccl_busbw(_two_nodes(), "all-reduce", "1 GiB", algorithm="fastest")


_reached = {"n": 0, "asserted": 0}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nodes=st.integers(2, 64), m=st.sampled_from([1, 2, 4, 8]), bw=st.floats(1e9, 4e11),
       lat=st.floats(1e-7, 2e-5), log_size=st.floats(10, 36))
def test_internode_busbw_below_the_ideal_bound(nodes, m, bw, lat, log_size):
    """Across nodes no NCCL algorithm beats f(n) x node bandwidth (the two-node tree), and a
    bigger message never lowers the busbw."""
    _reached["n"] += 1
    topo = build_topology("nvswitch", "H100-SXM5-80GB", 8)
    s = 2.0 ** log_size
    _, bus, _ = internode_sweep(topo, "all-reduce", m, nodes, bw, lat, [s, 2 * s])
    f = busbw_factor("all-reduce", m * nodes)
    assert bus[0] <= f * bw * (1 + 1e-9)
    assert bus[1] >= bus[0] * (1 - 1e-9)
    _reached["asserted"] += 1


def test_property_test_reached_its_assertions():
    assert _reached["n"] > 0 and _reached["asserted"] >= 0.8 * _reached["n"]


def test_extra_steps_charge_their_own_hardware_row():
    """A ring across nodes pays hwLat[NET] per inter-node step and hwLat[NVLink] per intra step."""
    from twin.interconnect.collectives import BASE_LAT, HW_LAT, Phase, phase_arrays

    ph = Phase(1e-11, 2, "ring", "net", 3e-6, 1.0, 14, "nvlink")
    lat, inv, _ = phase_arrays([ph], "all-reduce")
    for r in range(3):
        want = (BASE_LAT["ring"][r] + 2 * HW_LAT["net"]["ring"][r] + 14 * HW_LAT["nvlink"]["ring"][r]) * 1e-6 + 2 * 3e-6
        assert lat[0, r] == pytest.approx(want)
    with pytest.raises(InputError):
        internode_sweep(build_topology("nvswitch", "H100-SXM5-80GB", 8), "all-reduce", 8, 2, 1e11, 1e-6, [1e6],
                        algorithm="hierarchical")


def test_multinode_quantity_takes_a_catalog_nic_and_refuses_contradictions():
    from twin.errors import TwinError
    from twin.validation import quantities

    q = quantities()["nccl-busbw-multinode"].func
    by_name = q(accelerator="A100-SXM4-40GB", nodes=3, nic="connectx6-200g", nics_per_node=4, fabric="infiniband",
                message_size="1 GiB").magnitude
    by_speed = q(accelerator="A100-SXM4-40GB", nodes=3, nic_speed="200 Gbit/s", nics_per_node=4,
                 protocol="infiniband", message_size="1 GiB").magnitude
    assert by_name == pytest.approx(by_speed)
    with pytest.raises(InputError) as e:
        q(accelerator="A100-SXM4-40GB", nodes=3, nic="connectx6-200g", nic_speed="400 Gbit/s")
    assert e.value.field == "nic_speed"
    with pytest.raises(TwinError):
        q(accelerator="A100-SXM4-40GB", nodes=3, nic="connectx9-1600g")
