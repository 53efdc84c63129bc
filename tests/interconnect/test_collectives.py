"""Collective times and bandwidths: conventions, physical bounds, invariants, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from twin import catalog
from twin.errors import InputError
from twin.interconnect import COLLECTIVES, build_topology, busbw_factor, collective_time, large_message_busbw, sweep
from twin.interconnect.topology import link_efficiency
from twin.scenario import load_scenario
from twin.units import Q_

SIZES = np.logspace(3, 10, 15)


@pytest.mark.parametrize("n", [2, 4, 8, 64])
def test_busbw_factors_follow_nccl_tests(n):
    assert busbw_factor("all-reduce", n) == pytest.approx(2 * (n - 1) / n)
    for c in ("all-gather", "reduce-scatter", "all-to-all"):
        assert busbw_factor(c, n) == pytest.approx((n - 1) / n)
    assert busbw_factor("broadcast", n) == busbw_factor("send-recv", n) == 1.0


@pytest.mark.parametrize("topo,acc,n", [("pcie", "A100-PCIe-40GB", 8), ("nvlink-hcm", "V100-SXM2-32GB", 8),
                                        ("nvswitch", "H100-SXM5-80GB", 8), ("oam-fc", "MI300X-OAM-192GB", 8),
                                        ("s2-switch", "B200-SXM6-180GB", 128)])
@pytest.mark.parametrize("coll", COLLECTIVES)
def test_time_grows_with_message_size_and_busbw_is_bounded(topo, acc, n, coll):
    ds = sweep(topo, acc, n, coll, SIZES)
    t = ds.time.values
    assert np.all(np.isfinite(t)) and np.all(t > 0)
    assert np.all(np.diff(t) > 0)
    # no algorithm beats the cut bound: a card cannot receive faster than its links deliver,
    # except by in-network reduction, which at most halves an all-reduce's per-card traffic
    t_ = build_topology(topo, acc, n)
    card_bw = t_.card_bandwidth(0) / 1e9
    bound = 2.0 * card_bw if coll == "all-reduce" else card_bw * (n - 1) if coll in ("broadcast", "send-recv") else card_bw
    assert np.all(ds.busbw.values <= bound * 1.0001)


@settings(max_examples=25, deadline=None)
@given(st.floats(1.0, 1e10), st.sampled_from(COLLECTIVES))
def test_algbw_is_size_over_time(size, coll):
    ds = sweep("nvswitch", "A100-SXM4-80GB", 8, coll, [size])
    assert ds.algbw.values[0] * 1e9 * ds.time.values[0] == pytest.approx(size)
    assert ds.busbw.values[0] == pytest.approx(ds.algbw.values[0] * busbw_factor(coll, 8))


def test_large_message_ring_busbw_is_link_rate_times_efficiency():
    for acc in ("A100-SXM4-80GB", "H100-SXM5-80GB"):
        a = catalog.accelerator(acc)
        line = float(catalog.link_bandwidth(a.link_family).to("GB/s").magnitude) * int(a.link_count)
        bw = large_message_busbw("nvswitch", acc, 8, "all-reduce", "ring", "64 GiB").to("GB/s").magnitude
        assert bw == pytest.approx(line * link_efficiency(a.link_family, "scale-up"), rel=0.005)


def test_in_network_reduction_beats_ring_on_h100_and_is_absent_on_a100():
    ring = large_message_busbw("nvswitch", "H100-SXM5-80GB", 8, "all-reduce", "ring")
    nvls = large_message_busbw("nvswitch", "H100-SXM5-80GB", 8, "all-reduce", "nvls")
    assert nvls > ring
    with pytest.raises(InputError) as e:
        sweep("nvswitch", "A100-SXM4-80GB", 8, "all-reduce", [1e6], algorithm="nvls")
    assert e.value.field == "algorithm"


def test_fully_connected_direct_uses_the_seventh_link():
    ring = large_message_busbw("oam-fc", "MI300X-OAM-192GB", 8, "all-reduce", "ring")
    direct = large_message_busbw("oam-fc", "MI300X-OAM-192GB", 8, "all-reduce", "direct")
    assert direct / ring == pytest.approx(7 / 6, rel=0.01)


def test_cube_mesh_uses_three_rings_in_both_directions():
    bw = large_message_busbw("nvlink-hcm", "V100-SXM2-32GB", 8, "all-reduce", "ring", "64 GiB").to("GB/s").magnitude
    assert bw == pytest.approx(6 * 25 * link_efficiency("nvlink2", "scale-up"), rel=0.01)


def test_pcie_is_bounded_by_the_slot():
    bw = large_message_busbw("pcie", "A100-PCIe-40GB", 8, "all-reduce", "auto").to("GB/s").magnitude
    assert bw <= 64 / 2  # white paper: PCIe 4.0 x16 at most 64 GB/s both directions


def test_tapered_switch_system_slows_all_to_all_but_not_ring():
    a2a_8 = large_message_busbw("nvswitch", "H100-SXM5-80GB", 8, "all-to-all", "direct").magnitude
    a2a_256 = large_message_busbw("nvswitch", "H100-SXM5-80GB", 256, "all-to-all", "direct").magnitude
    ring_256 = large_message_busbw("nvswitch", "H100-SXM5-80GB", 256, "all-reduce", "ring", "256 GiB").magnitude
    ring_8 = large_message_busbw("nvswitch", "H100-SXM5-80GB", 8, "all-reduce", "ring", "256 GiB").magnitude
    assert a2a_256 < 0.6 * a2a_8
    assert ring_256 == pytest.approx(ring_8, rel=0.02)


# --- the cross-domain function ------------------------------------------------------------

def test_collective_time_scalar_and_array():
    t = collective_time("cluster-2023", "all-reduce", "256 MiB", 8)
    assert t.check("[time]") and np.ndim(t.magnitude) == 0
    ta = collective_time("cluster-2023", "all-reduce", Q_([1e3, 1e6, 1e9], "B"), 8)
    assert ta.magnitude.shape == (3,) and np.all(np.diff(ta.magnitude) > 0)


def test_group_of_one_takes_no_time():
    assert collective_time("cluster-2023", "all-reduce", "1 MiB", 1).magnitude == 0.0


def test_crossing_nodes_is_slower_than_staying_inside():
    inside = collective_time("cluster-2023", "all-reduce", "256 MiB", 8, stride=1)
    across = collective_time("cluster-2023", "all-reduce", "256 MiB", 8, stride=8)
    assert across > 3 * inside


def test_inter_node_hop_scales_with_the_nic_rate():
    # contiguous placement: no hash collisions, so the hop follows the NIC rate alone
    sc = load_scenario({"extends": "cluster-2023", "fabric": {"placement": "contiguous"}})
    fast = sc.with_overrides({"fabric": {"nic_speed": "400 Gbit/s"}})
    t1 = collective_time(sc, "all-reduce", "1 GiB", 16, stride=8)
    t2 = collective_time(fast, "all-reduce", "1 GiB", 16, stride=8)
    assert 1.6 < t1 / t2 <= 2.0


def test_super_server_keeps_large_groups_on_the_bus():
    sc = load_scenario("superpool-2025")
    inside = collective_time(sc, "all-to-all", "1 GiB", 128)      # one S^2 domain
    across = collective_time(sc, "all-to-all", "1 GiB", 256)      # two domains
    assert across > 2 * inside


@pytest.mark.parametrize("kwargs,field", [
    (dict(message_size="0 B"), "message_size"),
    (dict(message_size=-5), "message_size"),
    (dict(message_size="3 W"), "message_size"),
    (dict(collective="allsum"), "collective"),
    (dict(algorithm="butterfly"), "algorithm"),
    (dict(group_size=0), "group_size"),
    (dict(group_size=5000), "group_size"),
    (dict(stride=0), "stride"),
])
def test_bad_input_names_the_field(kwargs, field):
    args = dict(collective="all-reduce", message_size="1 MiB", group_size=8)
    args.update(kwargs)
    stride = args.pop("stride", 1)
    algorithm = args.pop("algorithm", "auto")
    with pytest.raises(InputError) as e:
        collective_time("cluster-2023", args["collective"], args["message_size"], args["group_size"],
                        stride=stride, algorithm=algorithm)
    assert e.value.field == field


def test_collective_names_accept_nccl_spellings():
    a = collective_time("cluster-2023", "allreduce", "1 MiB", 8)
    b = collective_time("cluster-2023", "all-reduce", "1 MiB", 8)
    assert a == b


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["heterogeneous-2021", "cluster-2023", "superpool-2025"]), st.sampled_from(COLLECTIVES),
       st.integers(2, 32), st.sampled_from([1, 2, 8]), st.floats(1e3, 1e9))
def test_collective_time_is_positive_finite_and_grows_with_size(preset, coll, group, stride, size):
    sc = load_scenario(preset)
    if (group - 1) * stride >= sc.cards:
        return
    t1 = collective_time(sc, coll, Q_(size, "B"), group, stride=stride).to("s").magnitude
    t2 = collective_time(sc, coll, Q_(2 * size, "B"), group, stride=stride).to("s").magnitude
    assert 0 < t1 < t2 < np.inf
