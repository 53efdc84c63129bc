"""Energy domain: physics checks against independent hand calculations and published numbers."""
import math

import numpy as np
import pytest

from twin.errors import InputError
from twin.units import Q_, quantity_of
from twin import energy
from twin.energy import facility
from twin.energy.coolants import coolant


def test_arrhenius_nist_and_halving():
    af = energy.arrhenius_factor(Q_(125, "degC"), Q_(25, "degC"), Q_(0.5, "eV"))
    assert af == pytest.approx(133, rel=0.02)
    # white paper: reliability halves per +10 degC near operating temperatures at ~0.7 eV
    assert energy.arrhenius_factor("85 degC", "75 degC") == pytest.approx(2.0, rel=0.15)
    assert energy.arrhenius_factor("60 degC", "60 degC") == pytest.approx(1.0)
    with pytest.raises(InputError, match="activation_energy"):
        energy.arrhenius_factor("60 degC", "50 degC", "-0.1 eV")
    with pytest.raises(InputError, match="t_use"):
        energy.arrhenius_factor("60 W", "50 degC")


def test_coolant_properties_and_freezing():
    p = energy.coolant_properties("PG25", "35 degC")
    assert 3945 < quantity_of(p["cp"]).to("J/(kg*K)").magnitude < 3969
    ratio = (quantity_of(energy.coolant_properties("water", "30 degC")["volumetric_heat_capacity"])
             / quantity_of(energy.coolant_properties("air", "25 degC")["volumetric_heat_capacity"])).to("").magnitude
    assert ratio == pytest.approx(995.6 * 4180 / (1.184 * 1006), rel=0.01)
    with pytest.raises(InputError, match="freezing"):
        energy.coolant_properties("PG25", "-15 degC")
    with pytest.raises(InputError, match="freezing"):
        energy.build_hall(cooling="cold-plate", coolant_name="water", supply_temperature=-2.0, n_racks=1)


def test_coldplate_ocp_case_and_energy_balance():
    r = energy.coldplate_case("1 kW", "1.5 L/min", "PG25", "40 degC")
    assert quantity_of(r["t_case"]).to("degC").magnitude == pytest.approx(61.7, abs=2.2)
    # coolant rise by hand: P / (rho cp V) with PG25 at 40 degC
    assert quantity_of(r["coolant_dt"]).to("K").magnitude == pytest.approx(1000 / (1009.9 * 3969 * 1.5 / 60000), rel=1e-3)
    # more flow -> lower resistance, monotone
    rs = [energy.plate_resistance(f"{v} L/min").magnitude for v in (0.3, 0.5, 1, 2, 4, 8)]
    assert all(a > b for a, b in zip(rs, rs[1:]))


def test_zero_and_negative_flow_rejected():
    with pytest.raises(InputError, match="flow"):
        energy.plate_resistance("0 L/min")
    with pytest.raises(InputError, match="flow"):
        energy.coldplate_case("1 kW", "-1 L/min")
    with pytest.raises(InputError, match="flow_per_kw"):
        energy.build_hall(cooling="cold-plate", flow_per_kw=0.0, n_racks=1)


def test_server_power_a800_and_affinity():
    full = energy.server_power(t_inlet_c=35.0)
    assert 5.85e3 < full["wall"] < 7.15e3
    cool = energy.server_power(t_inlet_c=20.0)
    # affinity law: fan power ~ speed^3
    assert cool["fans"] == pytest.approx(energy.DEFAULT_SERVER.fan_max * cool["fan_speed"] ** 3)
    assert cool["fans"] < full["fans"]
    idle = energy.server_power(utilisation=0.0, t_inlet_c=25.0)
    assert idle["wall"] < 0.4 * full["wall"]


def test_chiller_sign_capacity_falls_and_eir_rises_with_condenser():
    c = facility.YORK_YT_1403
    # the published York fit peaks near 15 degC condenser water; from the rating region up
    # (where a chiller runs when the economiser cannot carry the load) it must fall
    y = np.linspace(18, 29.4, 9)
    cap = c.capft(6.0, y)
    eir = c.eirft(6.0, y)
    assert np.all(np.diff(cap) < 0), "capacity must fall as the condenser gets hotter (sign warning)"
    assert np.all(np.diff(eir) > 0)
    assert c.capft(5.56, 23.89) == pytest.approx(1.0, abs=0.03)
    p_cool = facility.chiller_power(1e6, 6.0, 15.0)
    p_hot = facility.chiller_power(1e6, 6.0, 29.0)
    assert p_hot > p_cool > 0
    assert 1e6 / p_cool > 5


def test_pue_orders_cooling_types_and_climates():
    res = {c: float(facility.facility_year(cooling=c, climate="Guangzhou", supply_temperature=None if c == "air" else 40.0)["pue"])
           for c in ("air", "cold-plate", "immersion")}
    assert res["air"] > res["cold-plate"] > res["immersion"] > 1.0
    cold = float(facility.facility_year(cooling="air", climate="Hohhot")["pue"])
    assert cold < res["air"]
    y = facility.facility_year(cooling="air", climate="beijing")
    assert float(y["wue"]) > 0 and np.all(np.isfinite(y["pue_hourly"]))
    with pytest.raises(InputError, match="climate"):
        facility.facility_year(climate="atlantis")


def test_floor_area_liquid_saves_space():
    air = facility.floor_plan(n_servers=1000, server_kw=6.5, cooling="air", servers_per_rack=8)
    cp = facility.floor_plan(n_servers=1000, server_kw=6.5, cooling="cold-plate", servers_per_rack=8)
    assert 3.0 <= float(cp["rack_density"] / air["rack_density"]) <= 4.5
    assert 1 - float(cp["floor_area"] / air["floor_area"]) == pytest.approx(0.75, abs=0.1)
    too_big = facility.floor_plan(n_servers=10, server_kw=20.0, cooling="air")
    assert too_big.attrs["overheats"] and "exceeds" in too_big.attrs["overheat_reason"]
    assert math.isinf(float(too_big["floor_area"]))


def test_climate_year_reproduces_normals():
    from twin.paths import datasets_dir, load_toml

    y = energy.hourly_year("beijing")
    n = load_toml(datasets_dir() / "climate" / "normals.toml")["Beijing"]
    assert y.attrs["city"] == "Beijing" and y["dry_bulb"].attrs["units"] == "degC"
    assert float(y["dry_bulb"].mean()) == pytest.approx(np.mean(n["t_mean"]), abs=0.3)
    jul = y["dry_bulb"].values[181 * 24:212 * 24].reshape(-1, 24)
    assert jul.max(axis=1).mean() == pytest.approx(n["t_max"][6], abs=1.0)
    assert np.all(y["wet_bulb"] <= y["dry_bulb"] + 1e-9)


def test_throttle_and_throughput():
    lim = energy.chip_limits("H100-SXM5-80GB")
    assert tuple(float(lim[k]) for k in ("t_max_operating", "t_slowdown", "t_shutdown")) == (87, 89, 92)
    assert lim["t_shutdown"].attrs["units"] == "degC"
    assert energy.clock_factor(80, 89, 92) == 1.0
    assert 0.5 < energy.clock_factor(90.5, 89, 92) < 1.0
    assert energy.clock_factor(92.5, 89, 92) == 0.0
