"""The Interconnect dashboard in Python (the browser test drives it in chromium)."""
from twin.scenario import load_scenario
from widgets.interconnect import Dashboard, feasible_cards, graph_layout
from twin.interconnect import build_topology


def test_controls_redraw_and_bad_combinations_show_an_error():
    d = Dashboard(load_scenario("cluster-2023"))
    before = d.readout.value
    assert "nvswitch" in before and len(d.lines["nvswitch"].data_source.data["busbw"]) > 0
    d.collective.value = "all-to-all"
    assert d.readout.value != before and "all-to-all" in d.readout.value
    d.accelerator.value = "MI300X-OAM-192GB"          # cannot form an NVSwitch domain
    assert "needs NVLink" in d.readout.value
    assert d.lines["nvswitch"].data_source.data["busbw"] == []
    d.topology.value = "oam-fc"
    assert "oam-fc" in d.readout.value and len(d.node_src.data["x"]) > 8
    d.set_scenario(load_scenario("superpool-2025"))
    assert d.topology.value == "s2-switch" and d.cards.value == 128
    assert "s2-switch" in d.readout.value


def test_layout_and_card_clamping():
    assert feasible_cards("nvlink-hcm", "V100-SXM2-32GB", 64) == 8
    assert feasible_cards("nvswitch", "MI300X-OAM-192GB", 8) is None
    lay = graph_layout(build_topology("nvswitch", "H100-SXM5-80GB", 64))
    assert len(lay["nodes"]["x"]) == 64 + 8 + 1


def test_more_cards_than_the_topology_holds_is_a_message_not_a_clamp():
    d = Dashboard(load_scenario("cluster-2023"))
    d.accelerator.value = "MI300X-OAM-192GB"
    d.topology.value = "oam-fc"
    d.cards.value = 64
    assert "nicc-ic-error" in d.readout.value and "cards" in d.readout.value and "64" in d.readout.value
    assert "drawn with 8 cards" in d.readout.value
    assert len(d.node_src.data["x"]) > 8                 # the 8-card board is still drawn
    d.cards.value = 8
    assert "nicc-ic-error" not in d.readout.value


def test_pcie_shows_the_inter_socket_hop():
    d = Dashboard(load_scenario("heterogeneous-2021"))
    assert "NUMA" in d.readout.value and "upi" in d.readout.value
    from widgets.interconnect import EDGE_COLORS

    assert EDGE_COLORS["upi"] in d.edge_src.data["color"]
    d.topology.value = "nvswitch"
    d.accelerator.value = "H100-SXM5-80GB"
    assert "NUMA" not in d.readout.value
