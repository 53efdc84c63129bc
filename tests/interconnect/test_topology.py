"""Topology graphs: structure from the catalog, rings, and bad input."""
import numpy as np
import pytest

from twin import catalog
from twin.errors import InputError
from twin.interconnect import build_topology, topology_aggregate_bandwidth
from twin.interconnect.topology import HCM_LINKS, TOPOLOGIES, edge_disjoint_rings


def test_hcm_has_six_link_units_per_gpu_and_three_rings():
    for i in range(8):
        assert sum(v for k, v in HCM_LINKS.items() if i in k) == 6
    t = build_topology("nvlink-hcm", "V100-SXM2-32GB", 8)
    assert len(t.rings) == 6  # 3 undirected rings, each used in both directions
    used = {}
    for r in t.rings[::2]:
        for a, b in zip(r, r[1:] + r[:1]):
            k = (min(a, b), max(a, b))
            used[k] = used.get(k, 0) + 1
    assert all(used[k] <= HCM_LINKS[k] for k in used)


def test_fully_connected_k8_decomposes_into_three_rings():
    import itertools

    rings = edge_disjoint_rings(8, {(i, j): 1 for i, j in itertools.combinations(range(8), 2)})
    assert len(rings) == 3
    assert all(sorted(r) == list(range(8)) for r in rings)


def test_non_neighbours_of_the_cube_mesh_go_through_the_host():
    t = build_topology("nvlink-hcm", "V100-SXM2-32GB", 8)
    # GPU0 and GPU5 share no NVLink on a DGX-1: their path crosses both sockets
    assert t.dist[0, 5] > 2
    assert t.dist[0, 3] == 1


def test_nvswitch_bandwidth_comes_from_the_card_links():
    for acc in ("A100-SXM4-80GB", "H100-SXM5-80GB", "A800-SXM4-80GB"):
        a = catalog.accelerator(acc)
        t = build_topology("nvswitch", acc, 8)
        expected = float(catalog.link_bandwidth(a.link_family).to("B/s").magnitude) * int(a.link_count)
        assert t.card_bandwidth(0) == pytest.approx(expected)


def test_nvlink4_switch_system_is_tapered_two_to_one():
    t = build_topology("nvswitch", "H100-SXM5-80GB", 256)
    up = [bw for (u, v), bw in zip(t.edges, t.bandwidth) if u == "nvswitch0" and v == "nvl-l2"]
    gpu = [bw for (u, v), bw in zip(t.edges, t.bandwidth) if v == "nvswitch0" and u.startswith("g")]
    assert len(up) == 1 and len(gpu) == 8
    assert sum(gpu) / up[0] == pytest.approx(2.0)


def test_oam_fc_aggregate_is_seven_links_both_ways():
    agg = topology_aggregate_bandwidth("oam-fc", "MI300X-OAM-192GB", 8).to("GB/s").magnitude
    one = catalog.link_bandwidth("infinity-fabric-x16").to("GB/s").magnitude
    assert agg == pytest.approx(7 * 2 * one)


def test_s2_clos_is_non_blocking():
    t = build_topology("s2-switch", "MI300X-OAM-192GB", 256)
    for g, members in enumerate(t.groups):
        up = [bw for (u, v), bw in zip(t.edges, t.bandwidth) if u == f"s2-leaf{g}" and v == "s2-spine"][0]
        down = sum(bw for (u, v), bw in zip(t.edges, t.bandwidth) if v == f"s2-leaf{g}" and u.startswith("g"))
        assert up == pytest.approx(down)


@pytest.mark.parametrize("topo,acc,n,field", [
    ("nvswitch", "MI300X-OAM-192GB", 8, "topology"),       # NVSwitch with an OAM card
    ("oam-fc", "H100-SXM5-80GB", 8, "topology"),           # OAM board with an SXM card
    ("nvlink-hcm", "MI300X-OAM-192GB", 8, "topology"),
    ("nvswitch", "A100-SXM4-80GB", 16, "cards"),           # more than one NVSwitch2 board holds
    ("nvswitch", "H100-SXM5-80GB", 300, "cards"),          # more than the NVLink4 switch system
    ("oam-fc", "Enflame-T20", 8, "cards"),                 # 6 links cannot fully connect 8 cards
    ("pcie", "V100-PCIe-32GB", 12, "cards"),
    ("s2-switch", "V100-PCIe-32GB", 64, "topology"),       # a PCIe card has no scale-up links
    ("torus", "H100-SXM5-80GB", 8, "topology"),
])
def test_impossible_topologies_name_the_field(topo, acc, n, field):
    with pytest.raises(InputError) as e:
        build_topology(topo, acc, n)
    assert e.value.field == field


def test_every_topology_connects_every_pair():
    for topo, acc, n in [("pcie", "A100-PCIe-40GB", 8), ("nvlink-hcm", "V100-SXM2-32GB", 8),
                         ("nvswitch", "H100-SXM5-80GB", 64), ("oam-hcm", "MI300X-OAM-192GB", 8),
                         ("oam-fc", "BR100", 8), ("s2-switch", "B200-SXM6-180GB", 128)]:
        t = build_topology(topo, acc, n)
        assert np.all(t.dist[: t.cards, :] >= 0)
    assert set(TOPOLOGIES) == {"pcie", "nvlink-hcm", "nvswitch", "oam-hcm", "oam-fc", "s2-switch"}
