"""The numba kernels agree with their plain Python / NumPy references."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from twin.interconnect import _kernels, _reference
from twin.interconnect.topology import build_topology

CASES = [("pcie", "V100-PCIe-32GB", 8), ("nvlink-hcm", "V100-SXM2-32GB", 8), ("oam-fc", "MI300X-OAM-192GB", 8),
         ("nvswitch", "H100-SXM5-80GB", 24), ("s2-switch", "MI300X-OAM-192GB", 80)]


def _args(t):
    return (t.indptr, t.adj_node, t.adj_edge, t.bandwidth, t.latency, t.is_acc, t.dist)


@pytest.mark.parametrize("topo,acc,n", CASES)
@pytest.mark.parametrize("mode", [0, 1])
def test_link_loads_match_reference(topo, acc, n, mode):
    t = build_topology(topo, acc, n)
    rng = np.random.default_rng(n + mode)
    k = 60
    src = rng.integers(0, t.cards, k).astype(np.int64)
    dst = rng.integers(0, t.cards, k).astype(np.int64)
    b = rng.uniform(0.1, 2.0, k)
    grp = np.sort(rng.integers(0, 5, k)).astype(np.int64)
    a = _kernels.link_loads(*_args(t), src, dst, b, grp, mode, len(t.edges))
    r = _reference.link_loads(*_args(t), src, dst, b, grp, mode, len(t.edges))
    np.testing.assert_allclose(a[0], r[0], rtol=1e-12, atol=1e-12)
    assert a[1] == pytest.approx(r[1])


@pytest.mark.parametrize("topo,acc,n", CASES)
def test_every_transfer_leaves_its_source_and_reaches_its_destination(topo, acc, n):
    """Flow conservation: the bytes of one transfer leave the source and enter the destination."""
    t = build_topology(topo, acc, n)
    for s, d in [(0, t.cards - 1), (1, 2 % t.cards)]:
        if s == d:
            continue
        loads, _ = _kernels.link_loads(*_args(t), np.array([s]), np.array([d]), np.array([3.0]),
                                       np.zeros(1, dtype=np.int64), 0, len(t.edges))
        assert loads[t.edge_src == s].sum() == pytest.approx(3.0)
        assert loads[t.edge_dst == d].sum() == pytest.approx(3.0)
        # accelerators never forward: nothing leaves a card other than the source
        others = [i for i in range(t.cards) if i != s]
        assert loads[np.isin(t.edge_src, others)].sum() == pytest.approx(0.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 30), st.integers(0, 2**31 - 1))
def test_sweep_times_matches_reference(C, P, M, seed):
    rng = np.random.default_rng(seed)
    lat = rng.uniform(1e-6, 1e-4, (C, P, 3))
    inv = rng.uniform(1e-12, 1e-9, (C, P, 3))
    lat[rng.random((C, P, 3)) < 0.2] = np.inf
    lat[:, :, 2] = rng.uniform(1e-6, 1e-4, (C, P))  # one protocol always available
    scale = rng.choice([0.0, 0.5, 1.0], (C, P))
    sizes = np.logspace(0, 10, M)
    t1, b1 = _kernels.sweep_times(sizes, lat, inv, scale)
    t2, b2 = _reference.sweep_times(sizes, lat, inv, scale)
    np.testing.assert_allclose(t1, t2, rtol=1e-12)
    np.testing.assert_array_equal(t1[b1, np.arange(M)], t2[b2, np.arange(M)])
