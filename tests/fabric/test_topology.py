"""Fabric builders, paths and bad input."""
import numpy as np
import pytest

from twin.fabric import _reference as R
from twin.errors import InputError
from twin.fabric import build_fabric, check_connectivity
from twin.fabric.topology import build_fabric as build_raw, n_paths, path_links, spray_weights


@pytest.mark.parametrize("topology,nodes,radix,tiers", [
    ("fat-tree-2tier", 32, 16, 2), ("fat-tree-3tier", 64, 16, 3), ("rail-optimized", 16, 16, 2),
    ("rail-optimized", 24, 8, 3), ("dual-plane", 16, 16, 2)])
def test_build_sizes_and_connected(topology, nodes, radix, tiers):
    fab = build_fabric(nodes, 4, "100 Gbit/s", "100 Gbit/s", radix, 1.0, topology)
    assert fab.tiers == tiers
    assert fab.n_endpoints == nodes * 4
    # every endpoint has exactly one access link per plane, each leaf at most d endpoints
    assert np.bincount(fab.leaf_of(np.arange(fab.n_endpoints))).max() <= fab.d
    check_connectivity(fab)
    roles = fab.gse_roles()
    assert roles["GSP"] == fab.n_leaves * fab.planes and roles["GSF"] > 0


def test_oversubscription_splits_ports():
    fab = build_fabric(64, 8, "100 Gbit/s", "100 Gbit/s", 32, 3.0, "fat-tree-2tier")
    assert fab.d == 24 and fab.u == 8


def test_radix_too_small_names_field():
    with pytest.raises(InputError) as e:
        build_fabric(4096, 8, "400 Gbit/s", "400 Gbit/s", 16, 1.0, "fat-tree-2tier")
    assert e.value.field == "fabric.radix"
    with pytest.raises(InputError) as e:
        build_fabric(100000, 8, "400 Gbit/s", "400 Gbit/s", 16, 1.0, "fat-tree-3tier")
    assert e.value.field == "fabric.radix"


def test_radix_beyond_switch_capacity():
    with pytest.raises(InputError) as e:
        build_fabric(16, 8, "400 Gbit/s", "800 Gbit/s", 128, 1.0, "fat-tree-2tier", switch="tomahawk5-51.2t")
    assert e.value.field == "fabric.radix"


def test_oversubscription_without_uplinks_is_disconnected():
    with pytest.raises(InputError) as e:
        build_fabric(16, 8, "100 Gbit/s", "100 Gbit/s", 8, 16.0, "fat-tree-2tier")
    assert e.value.field == "fabric.oversubscription"


def test_failed_links_disconnect():
    fab = build_fabric(8, 1, "100 Gbit/s", "100 Gbit/s", 4, 1.0, "fat-tree-2tier")
    failed = np.flatnonzero(fab.tier >= 2)  # every leaf-spine link down
    with pytest.raises(InputError) as e:
        check_connectivity(fab, failed)
    assert e.value.field == "fabric.topology"


def test_bad_topology_and_speed():
    with pytest.raises(InputError) as e:
        build_fabric(8, 1, "100 Gbit/s", radix=8, topology="torus")
    assert e.value.field == "fabric.topology"
    with pytest.raises(InputError) as e:
        build_fabric(8, 1, "100 W", radix=8)
    assert e.value.field == "fabric.nic_speed"


@pytest.mark.parametrize("topology", ["fat-tree-3tier", "dual-plane", "rail-optimized"])
def test_every_path_is_a_chain_from_src_to_dst(topology):
    fab = build_raw(32, 4, 100e9, 100e9, 8, 1.0, topology)
    rng = np.random.default_rng(1)
    s = rng.integers(0, fab.n_endpoints, 300)
    t = (s + rng.integers(1, fab.n_endpoints, 300)) % fab.n_endpoints
    npth = n_paths(fab, s, t)
    pid = rng.integers(0, 1 << 30, 300) % npth
    ptr, links = path_links(fab, s, t, pid)
    for i in range(300):
        lk = links[ptr[i]:ptr[i + 1]]
        assert fab.src[lk[0]] == s[i] and fab.dst[lk[-1]] == t[i]
        assert np.all(fab.dst[lk[:-1]] == fab.src[lk[1:]])
    # spraying weights: a unit of flow leaves the source and reaches the destination once
    p, L, W = spray_weights(fab, s, t)
    for i in range(0, 300, 37):
        lk, w = L[p[i]:p[i + 1]], W[p[i]:p[i + 1]]
        out = np.bincount(fab.src[lk], weights=w, minlength=fab.vertex_role.size)
        inn = np.bincount(fab.dst[lk], weights=w, minlength=fab.vertex_role.size)
        net = out - inn
        assert net[s[i]] == pytest.approx(1.0) and net[t[i]] == pytest.approx(-1.0)
        net[[s[i], t[i]]] = 0
        assert np.allclose(net, 0.0)


@pytest.mark.parametrize("topology", ["fat-tree-2tier", "fat-tree-3tier", "dual-plane", "rail-optimized"])
def test_spray_kernel_matches_numpy_reference(topology):
    fab = build_raw(16, 4, 100e9, 200e9, 8, 1.0, topology)
    rng = np.random.default_rng(3)
    s = rng.integers(0, fab.n_endpoints, 400)
    t = (s + rng.integers(1, fab.n_endpoints, 400)) % fab.n_endpoints
    for a, b in zip(spray_weights(fab, s, t), R.spray_weights(fab, s, t)):
        assert np.array_equal(a, b)
