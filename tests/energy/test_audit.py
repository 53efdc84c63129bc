"""Energy audit: the hall and it_power count the same server, the power chain and lighting in
PUE, the operator's time per fault, and bad input at the public functions."""
import math

import numpy as np
import pytest

from twin.core import Twin
from hypothesis import given, settings
from hypothesis import strategies as st

from twin import energy
from twin.energy import facility, power
from twin.energy.faults import _hall_transient
from twin.energy.hall import _hall_steady, _liquid_share
from twin.errors import InputError
from twin.scenario import list_presets, load_scenario


@pytest.mark.parametrize("preset", list_presets())
def test_hall_it_power_agrees_with_it_power(preset):
    """evaluate's full-load IT power equals it_power within 5 %; the difference is the leakage
    at the hall's solved junction temperature (it_power takes the 65 degC TDP reference) and the
    fan speed the hall's GPU-temperature fan curve sets. Evaluated at the hall's mean junction
    temperature, server_power reproduces the hall within 1 %."""
    sc = load_scenario({"extends": preset, "energy": {"fault_horizon": "2 min"}})
    t = Twin(sc)
    t.run(["energy"])
    res = t.state["energy/results"].to_dataset()
    util = float(t.state["training/results"]["gpu_utilisation"])
    # the servers' share of evaluate's IT power is the hall at the training's utilisation
    h_u = energy.hall_from_scenario(sc, utilisation=util)
    st_u = _hall_steady(h_u)
    hall_u_kw = float(((st_u["p_acc"] + st_u["p_other"] + h_u.fan_w) / h_u.psu_eff).sum()) / 1e3
    assert float(res["it_power_by_part"].sel(it_part="servers")) == pytest.approx(hall_u_kw, rel=1e-9)
    assert float(energy.hall_state(sc, utilisation=util)["server_power"]) == pytest.approx(hall_u_kw, rel=1e-9)
    assert float(res["it_power"]) == pytest.approx(float(res["it_power_by_part"].sum()), rel=1e-12)
    # at full load the hall agrees with it_power within 5 %
    h = energy.hall_from_scenario(sc)
    assert h.p_other[0] == pytest.approx(power.server_spec(sc).other)  # the scenario's CPUs, NVSwitches
    st_ = _hall_steady(h)
    hall_kw = float(((st_["p_acc"] + st_["p_other"] + h.fan_w) / h.psu_eff).sum()) / 1e3
    it_kw = energy.it_power(sc).to("kW").magnitude
    assert hall_kw == pytest.approx(it_kw, rel=0.05)
    # remove the leakage difference: same formula at the solved junction temperature
    c, e = sc.compute, sc.energy
    kind = energy.cooling_kind(e.cooling)
    p = power.server_power(c.accelerator, int(c.cards_per_node), 1.0, t_chip_c=float(np.mean(st_["t_chip"])),
                           t_inlet_c=e.air_supply_temperature.to("degC").magnitude,
                           liquid_fraction=0.0 if kind == "air" else float(e.liquid_fraction),
                           spec=power.server_spec(sc), cooling="immersion" if kind == "immersion" else "air")
    # left: fan power (hall: fan curve / residual air fans of cold-plate+immersion; it_power: the
    # exhaust-limit fan speed, no fans for cold-plate+immersion), below 1 %
    assert hall_kw == pytest.approx(c.nodes * p["wall"] / 1e3, rel=0.01)
    # the liquid share passed to the facility model: liquid heat over wall power, the rest
    # (fans, PSU losses, air-cooled parts) goes to the room
    lf = _liquid_share(h, st_)
    assert 0.0 <= lf <= 1.0
    assert float(energy.hall_state(h)["liquid_share"]) == lf
    if h.cooling == "cold-plate":
        assert lf * hall_kw * 1e3 == pytest.approx(float((st_["p_acc"] + st_["q_liq"]).sum()))
        assert lf < float(e.liquid_fraction) + 0.2


def test_pcie_server_has_no_nvswitch_and_scenario_cpus():
    sc = load_scenario("heterogeneous-2021")
    spec = power.server_spec(sc)
    assert spec.nvswitch == 0.0
    assert spec.cpu == pytest.approx(sc.compute.cpus_per_node * sc.compute.cpu_tdp.to("W").magnitude)
    h = energy.hall_from_scenario(sc)
    assert h.p_other[0] == pytest.approx(spec.other)


def test_pue_adds_chain_lighting_and_their_heat():
    y = facility.facility_year(cooling="cold-plate", climate="beijing")
    it, cool, chain, light = (y[k].values for k in ("it_power", "cooling_power", "chain_loss", "lighting"))
    assert y["it_power"].attrs["units"] == y["lighting"].attrs["units"] == "kW"
    eta = power.ups_efficiency(facility.UPS_LOAD_2N) * facility.PDU_EFFICIENCY
    assert chain == pytest.approx(it * (1 / eta - 1))
    assert light == pytest.approx(facility.LIGHTING_SHARE * (it + cool + chain + light))
    assert y["pue_hourly"].values == pytest.approx((it + cool + chain + light) / it)
    # a lightly loaded 2N UPS loses more than one at its rated load
    assert power.ups_efficiency(0.3) < power.ups_efficiency(1.0)
    n = facility.facility_year(cooling="cold-plate", climate="beijing", ups_load=1.0)
    assert n["pue"] < y["pue"]
    # the chain's heat is removed by the air-side plant: it costs cooling power too
    assert float(y["air_cooling_power"].sum()) > 0
    assert cool == pytest.approx((y["air_cooling_power"] + y["liquid_cooling_power"]).values)
    assert 0.0 <= float(y["free_cooling_fraction"].min()) and float(y["free_cooling_fraction"].max()) <= 1.0


def test_evaluate_reports_operator_time_per_fault():
    t = Twin({"extends": "superpool-2025", "energy": {"fault_horizon": "15 min"}})
    t.run(["energy"])
    ds = t.state["energy/results"].to_dataset()
    thr, sd = ds["time_to_throttle"].values, ds["time_to_shutdown"].values
    assert list(ds["fault"].values) == ["cdu-pump", "leak", "chiller-trip"]
    assert not np.any(np.isnan(thr)) and not np.any(np.isnan(sd))
    assert np.all(thr <= sd)
    assert np.all(thr > 0)
    # the leak keeps flowing until its loop is isolated 30 s later
    assert thr[1] >= thr[0] + 20 and sd[1] >= sd[0] + 20
    assert ds.attrs["time_to_throttle_s"] == thr[0]


BAD = [
    (lambda: energy.ite_air_cooled(design_power="-5 kW"), "design_power"),
    (lambda: energy.ite_air_cooled(t_inlet="0 degC"), "t_inlet"),
    (lambda: energy.server_power_q(cards="x"), "cards_per_node"),
    (lambda: energy.server_power_q(cards=2.5), "cards_per_node"),
    (lambda: energy.build_hall(cards=0), "cards_per_node"),
    (lambda: energy.build_hall(racks_per_group=0), "racks_per_group"),
    (lambda: energy.build_hall(air_supply_temperature=float("nan")), "air_supply_temperature"),
    (lambda: energy.build_hall(server={"cpu": 1}), "server"),
    (lambda: energy.facility_year(supply_temperature=float("nan")), "supply_temperature"),
    (lambda: energy.facility_year(ups_load=0.0), "ups_load"),
    (lambda: energy.facility_year(utilisation=1.5), "utilisation"),
    (lambda: energy.floor_plan(servers_per_rack=0), "servers_per_rack"),
    (lambda: energy.chiller_power(float("nan"), 7.0, 25.0), "load_w"),
    (lambda: energy.chiller_power(-1.0, 7.0, 25.0), "load_w"),
    (lambda: energy.chiller_power(1e5, float("inf"), 25.0), "t_chw_leaving"),
    (lambda: energy.ups_efficiency(float("nan")), "load_fraction"),
    (lambda: energy.plate_resistance("0 L/min"), "flow"),
    (lambda: energy.coolant_properties("PG25", "-30 degC"), "temperature"),
]


@pytest.mark.parametrize("call,field", BAD)
def test_bad_input_names_the_field(call, field):
    with pytest.raises(InputError, match=field):
        call()


@settings(max_examples=25, deadline=None)
@given(x=st.floats(min_value=0.0, max_value=5.0), eco=st.booleans())
def test_ups_efficiency_is_a_fraction(x, eco):
    e = power.ups_efficiency(x, eco=eco)
    assert math.isfinite(e) and 0.0 < e < 1.0


@settings(max_examples=10, deadline=None)
@given(u=st.floats(min_value=0.0, max_value=1.0), load=st.floats(min_value=0.05, max_value=1.0),
       kind=st.sampled_from(["air", "cold-plate", "immersion"]))
def test_facility_year_pue_finite_and_above_one(u, load, kind):
    y = facility.facility_year(cooling=kind, climate="shanghai", utilisation=u, ups_load=load)
    assert np.all(np.isfinite(y["pue_hourly"])) and 1.0 < float(y["pue"]) < 2.0


def test_pump_failure_time_to_throttle_matches_ode_and_step():
    """With its loop's flow stopped, a server is an isolated chip - sink - coolant chain: the
    time to slowdown from scipy's solution of those ODEs must match the kernel at 0.5 s and 2 s
    steps (the kernel solves the chain implicitly, so the step size barely matters)."""
    from scipy.integrate import solve_ivp

    h = energy.build_hall(accelerator="A800-SXM4-80GB", cooling="cold-plate", n_racks=2, servers_per_rack=4,
                          supply_temperature=35.0, liquid_fraction=0.7, racks_per_group=1)
    s = _hall_steady(h)
    po = h.p_other[0]
    ql = h.f_liq * po

    def rhs(t, y):
        tc, ts, tf = y
        p = h.p_static * (1 + h.k_leak * (tc - h.t_ref)) + h.p_dyn * h.util[0]
        return [(p - h.g_cs * (tc - ts)) / h.c_chip, (h.g_cs * (tc - ts) - h.g_sf * (ts - tf)) / h.c_sink,
                (h.g_sf * (ts - tf) + ql) / h.c_fluid]

    def hit(t, y):
        return y[0] - h.t_slow

    hit.terminal = True
    sol = solve_ivp(rhs, (0.0, 3000.0), [s["t_chip"][0], s["t_sink"][0], s["t_fluid"][0]], events=hit,
                    method="Radau", rtol=1e-9, atol=1e-9)
    exact = float(sol.t_events[0][0])
    for dt in (0.5, 2.0):
        r = _hall_transient(h, duration=1200.0, dt=dt, faults=[energy.Fault("cdu-pump", time=60.0, group=0)])
        assert float(np.min(r["first_slowdown"])) - 60.0 == pytest.approx(exact, abs=dt + 1.0), dt
