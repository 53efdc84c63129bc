"""Link layer (FEC, encryption, optics) and the cross-domain public functions."""
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import twin.fabric as F
from twin import catalog
from twin.errors import InputError
from twin.fabric import linklayer as LL
from twin.scenario import list_presets, load_scenario


def test_fec_accumulation_is_codeword_over_rate():
    # 5440 bits / 106.25 Gbit/s, 5280 bits / 103.125 Gbit/s, independent of the code table order
    assert F.fec_latency("106.25 Gbit/s", "rs544", part="accumulation").to("ns").magnitude == pytest.approx(5440 / 106.25)
    assert F.fec_latency("103.125 Gbit/s", "rs528", part="accumulation").to("ns").magnitude == pytest.approx(5280 / 103.125)
    assert F.fec_latency("100 Gbit/s", "none").magnitude == 0.0


@settings(max_examples=30, deadline=None, database=None)
@given(ber=st.floats(0.0, 1e-3), rate=st.floats(25.0, 1700.0))
def test_bypass_never_slower_than_full_decode(ber, rate):
    full = F.fec_latency(f"{rate} Gbit/s", "rs544").magnitude
    byp = F.fec_latency(f"{rate} Gbit/s", "rs544", bypass=True, ber=ber).magnitude
    assert 0 < byp <= full * (1 + 1e-12)


def test_flexible_fec_gets_stronger_with_ber():
    order = ["none", "rs272", "rs528", "rs544"]
    picks = [order.index(F.flexible_fec(b)) for b in (1e-15, 1e-8, 1e-6, 1e-5, 1e-4, 2e-4)]
    assert picks == sorted(picks) and picks[0] == 0 and picks[-1] == 3
    with pytest.raises(InputError) as e:
        F.flexible_fec(1e-2)
    assert e.value.field == "fec.ber"


def test_codeword_error_ratio_monotone():
    vals = [LL.codeword_error_ratio("rs544", b) for b in (1e-6, 1e-5, 1e-4, 1e-3)]
    assert all(a < b for a, b in zip(vals, vals[1:]))


def test_encryption_overhead():
    m = F.encryption_efficiency("macsec", "1500 B")
    p = F.encryption_efficiency("physec", "1500 B")
    assert m < p < 1 and m == pytest.approx(1500 / (1500 + 38 + 32))
    with pytest.raises(InputError):
        F.encryption_efficiency("ipsec")


def test_optics_power_ordering():
    for s in ("400 Gbit/s", "800 Gbit/s"):
        dsp, lpo, cpo = (F.optics_power(s, t).magnitude for t in ("dsp", "lpo", "cpo"))
        assert dsp > lpo > cpo > 0
    with pytest.raises(InputError) as e:
        F.optics_power("1600 Gbit/s", "dsp")
    assert e.value.field == "optics.speed"


def test_catalog_entries_have_sources_and_scenario_switches_exist():
    for kind in ("switches", "nics", "optics"):
        for n in catalog.names(kind):
            assert catalog.get(kind, n).source
    here = Path(__file__).resolve().parents[2] / "datasets" / "scenarios"
    for f in here.glob("*.toml"):
        sw = tomllib.loads(f.read_text()).get("fabric", {}).get("switch")
        if sw:
            assert sw in catalog.names("switches"), f"{f.name}: {sw}"


@pytest.mark.parametrize("preset", list_presets())
def test_node_bandwidth_and_latency_per_preset(preset):
    sc = load_scenario(preset)
    nic = sc.fabric.nic_speed.to("GB/s").magnitude * sc.fabric.nics_per_node
    n = min(16, sc.compute.nodes)
    for pat in ("ring", "all-to-all", "incast"):
        bw = F.node_bandwidth(sc, n, pat).to("GB/s").magnitude
        assert 0 < bw <= nic * (1 + 1e-9)
    inc = F.node_bandwidth(sc, n, "incast").to("GB/s").magnitude
    eta = F.protocol_efficiency(sc.fabric.protocol)
    assert 0.9 < eta < 1
    assert inc == pytest.approx(eta * nic / (n - 1), rel=1e-6)  # the receiver's NICs are shared by n-1 senders
    lat1 = F.base_latency(sc, 1).to("us").magnitude
    latn = F.base_latency(sc, sc.compute.nodes).to("us").magnitude
    assert 0 < lat1 < latn < 20


def test_node_bandwidth_bad_input():
    sc = load_scenario("cluster-2023")
    with pytest.raises(InputError):
        F.node_bandwidth(sc, 0)
    with pytest.raises(InputError):
        F.node_bandwidth(sc, 4, "broadcast-storm")


def test_spraying_recovers_ecmp_loss_in_scenario():
    sc = load_scenario("cluster-2023").with_overrides({"fabric": {"topology": "fat-tree-2tier"}})
    e = F.allreduce_time(sc, 64, "1 GB", load_balancing="ecmp")["busbw"].magnitude
    s = F.allreduce_time(sc, 64, "1 GB", load_balancing="spraying")["busbw"].magnitude
    g = F.allreduce_time(sc, 64, "1 GB", load_balancing="gse")["busbw"].magnitude
    assert s >= e and g >= e
    assert s <= sc.fabric.nic_speed.to("GB/s").magnitude * 8 * (1 + 1e-9)


def test_evaluate_dataset():
    ds = F.evaluate(load_scenario("superpool-2025"), None)
    assert {"flow_rate", "link_utilisation", "incast_queue", "base_latency"} <= set(ds.data_vars)
    assert float(ds["link_utilisation"].max()) <= 1 + 1e-9
    assert float(ds["flow_rate"].min()) > 0
    assert ds["flow_rate"].attrs["units"] == "Gbit / s"
    assert not any(np.isnan(ds[v]).any() for v in ds.data_vars if ds[v].dtype.kind == "f")


def test_scattered_placement_makes_ecmp_collisions_cost_and_spraying_recovers():
    """Meta (SIGCOMM 2024): with few large flows, fragmented placement plus 5-tuple ECMP loses bandwidth."""
    from twin import fabric
    from twin.scenario import load_scenario

    def ring_bw(lb, placement):
        sc = load_scenario({"extends": "cluster-2023", "fabric": {"load_balancing": lb, "placement": placement}})
        return fabric.node_bandwidth(sc, 64, "ring").to("GB/s").magnitude

    line = ring_bw("ecmp", "contiguous")
    assert ring_bw("ecmp", "scattered") < 0.8 * line
    assert ring_bw("spraying", "scattered") == pytest.approx(line, rel=1e-6)
    assert ring_bw("gse", "scattered") == pytest.approx(line, rel=1e-6)
