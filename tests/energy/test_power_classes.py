"""Server power by class: the catalog classes, their sum of parts, the scenario's
compute.server_class flowing into the IT power, the calibrated fan ratio, and bad input."""
import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin import catalog
from twin.energy import power
from twin.errors import InputError, ScenarioError
from twin.paths import datasets_dir, load_toml
from twin.scenario import load_scenario
from twin.scenario.schema import FIELDS

CLASSES = power.server_classes()


def _heat(cls):
    e = power.class_entry(cls)
    return int(e["cards"]) * power.accelerator_tdp(str(e["accelerator"])) + power.class_spec(cls).other


def test_schema_choices_are_the_catalog_classes():
    f = next(f for f in FIELDS if f.path == "compute.server_class")
    assert f.default == "auto"
    assert set(f.choices) == {"auto", *CLASSES}
    for cls in CLASSES:
        assert catalog.get("servers", cls).source


@pytest.mark.parametrize("cls", CLASSES)
def test_class_max_power_is_the_sum_of_its_parts(cls):
    """At full load and a 35 degC inlet the fans run at full speed: the wall power is
    (cards TDP + parts) (1 + FAN_RATIO) / eta_PSU, the parts read from the catalog entry."""
    e = power.class_entry(cls)
    parts = (int(e["cpus"]) * e["cpu_tdp"].to("W").magnitude + int(e["dimms"]) * e["dimm_power"].to("W").magnitude
             + int(e["nvswitches"]) * e["nvswitch_power"].to("W").magnitude
             + int(e["nics"]) * e["nic_power"].to("W").magnitude
             + int(e.get("dpus", 0)) * (e["dpu_power"].to("W").magnitude if "dpu_power" in e else 0.0)
             + int(e["drives"]) * e["drive_power"].to("W").magnitude
             + int(e["pcie_switches"]) * e["pcie_switch_power"].to("W").magnitude + e["misc"].to("W").magnitude)
    acc = int(e["cards"]) * catalog.accelerator(str(e["accelerator"])).tdp.to("W").magnitude
    expected = (acc + parts) * (1 + power.FAN_RATIO) / float(e["psu_efficiency"])
    got = power.server_power_q(server_class=cls).to("W").magnitude
    assert got == pytest.approx(expected, rel=1e-9)
    # parts beyond the accelerators are a real share of a server, not a rounding term
    assert 0.1 < parts / (acc + parts) < 0.6


def test_classes_differ_beyond_the_accelerators():
    """Same accelerator, different chassis: the class sets the non-accelerator power."""
    a = power.server_power_q("A100-SXM4-80GB", 8, server_class="hgx-a100")
    b = power.server_power_q("A100-SXM4-80GB", 8, server_class="pcie-8gpu")
    c = power.server_power_q("A100-SXM4-80GB", 8, server_class="hgx-b200")
    assert b < a < c


def test_default_class_by_accelerator_and_topology():
    assert power.default_server_class("H100-SXM5-80GB") == "hgx-h100"
    assert power.default_server_class("H800-SXM5-80GB") == "hgx-h100"
    assert power.default_server_class("B200-SXM6-180GB") == "hgx-b200"
    assert power.default_server_class("MI300X-OAM-192GB") == "oam-mi300x"
    assert power.default_server_class("Ascend-910B") == "atlas-800t-a2"
    assert power.default_server_class("H100-SXM5-80GB", "pcie") == "pcie-8gpu"
    for name in catalog.names("accelerators"):
        assert power.default_server_class(name) in CLASSES


def test_scenario_server_class_moves_it_power():
    base = load_scenario("cluster-2023")
    assert power.server_spec(base).name == power.default_server_class(base.compute.accelerator)
    other = load_scenario({"extends": "cluster-2023", "compute": {"server_class": "hgx-b200"}})
    p0 = power.it_power(base).to("kW").magnitude
    p1 = power.it_power(other).to("kW").magnitude
    assert p1 > p0 * 1.02
    # the scenario's CPUs replace the class's (compute.cpus_per_node x cpu_tdp)
    spec = power.server_spec(other)
    assert spec.cpu == pytest.approx(base.compute.cpus_per_node * base.compute.cpu_tdp.to("W").magnitude)
    # and the fans follow the heat of the parts actually in the scenario's server
    heat = base.compute.cards_per_node * power.accelerator_tdp(base.compute.accelerator) + spec.other
    assert spec.fan_max == pytest.approx(power.FAN_RATIO * heat)


def test_superpool_b200_preset_uses_the_b200_class():
    sc = load_scenario("superpool-2025")
    if sc.compute.accelerator != "B200-SXM6-180GB":
        pytest.skip("preset no longer on B200")
    assert power.server_spec(sc).name == "hgx-b200"


def test_fan_ratio_is_the_fit_on_its_calibration_cases():
    """FAN_RATIO is the least-squares fit on the two cases named calibrated in energy.toml."""
    cases = load_toml(datasets_dir() / "validation" / "energy.toml")["case"]
    cal = [c for c in cases if c.get("quantity") == "energy.server-power" and c.get("calibrated")]
    assert len(cal) == 2
    pairs = [(c["inputs"]["server_class"], 1e3 * float(re.match(r"[\d.]+", c["expected"]).group())) for c in cal]
    assert power.fit_fan_ratio(pairs) == pytest.approx(power.FAN_RATIO, abs=0.005)


@settings(max_examples=25, deadline=None)
@given(cls=st.sampled_from(CLASSES), k=st.floats(0.0, 0.6))
def test_fit_fan_ratio_recovers_a_ratio(cls, k):
    """Maxima generated with a known ratio give that ratio back (any class, any ratio)."""
    spec = power.class_spec(cls)
    p_max = _heat(cls) * (1 + k) / spec.psu_efficiency
    assert power.fit_fan_ratio([(cls, p_max)]) == pytest.approx(k, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(cls=st.sampled_from(CLASSES), u=st.floats(0.0, 0.95), du=st.floats(0.01, 0.05),
       t_in=st.floats(15.0, 35.0))
def test_power_rises_with_utilisation_in_every_class(cls, u, du, t_in):
    spec = power.class_spec(cls)
    acc = str(power.class_entry(cls)["accelerator"])
    lo = power.server_power(acc, 8, u, t_inlet_c=t_in, spec=spec)
    hi = power.server_power(acc, 8, min(u + du, 1.0), t_inlet_c=t_in, spec=spec)
    assert hi["wall"] > lo["wall"]
    assert lo["wall"] == pytest.approx(lo["dc"] / spec.psu_efficiency)


def test_bad_server_class_is_an_input_error():
    with pytest.raises(InputError, match="compute.server_class"):
        power.server_power_q(server_class="hgx-z900")
    with pytest.raises(InputError, match="compute.server_class"):
        power.class_spec("nope")
    with pytest.raises((InputError, ScenarioError), match="server_class"):
        load_scenario({"extends": "cluster-2023", "compute": {"server_class": "hgx-z900"}})
    with pytest.raises(InputError, match="max_power"):
        power.fit_fan_ratio([("hgx-a100", -1.0)])
    with pytest.raises(InputError, match="spec"):
        power.server_power(spec="hgx-a100")


def test_default_server_is_the_a800_class():
    assert dataclasses.asdict(power.DEFAULT_SERVER) == dataclasses.asdict(power.class_spec("hgx-a800"))
    assert power.server_power_q().to("W").magnitude == pytest.approx(
        power.server_power_q("A800-SXM4-80GB", 8, server_class="hgx-a800").to("W").magnitude)
