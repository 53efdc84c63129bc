"""Energy domain: invariants of the thermal network kernels (hypothesis) and bad input."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin import energy
from twin.errors import InputError
from twin.energy import _kernels, _reference
from twin.energy.faults import _hall_transient
from twin.energy.hall import _hall_steady


@st.composite
def networks(draw):
    n_free = draw(st.integers(2, 12))
    n_fix = draw(st.integers(1, 3))
    n = n_free + n_fix
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # a spanning chain of conductances so every free node reaches a boundary, plus random links
    ci = list(range(n - 1))
    cj = list(range(1, n))
    extra = draw(st.integers(0, 2 * n))
    for _ in range(extra):
        a, b = rng.integers(0, n, 2)
        if a != b:
            ci.append(int(a)); cj.append(int(b))
    g = rng.uniform(0.1, 1000.0, len(ci))
    # advective loops: a ring of free nodes carried around by a pump (mass-conserving)
    ring = rng.permutation(n_free)[: max(2, n_free // 2)]
    m = rng.uniform(1.0, 500.0)
    af = list(ring)
    at = list(np.roll(ring, -1))
    fixed = np.zeros(n, dtype=np.bool_)
    fixed[n_free:] = True
    t_fixed = np.zeros(n)
    t_fixed[n_free:] = rng.uniform(5.0, 45.0, n_fix)
    q = np.zeros(n)
    q[:n_free] = rng.uniform(0.0, 5000.0, n_free)
    return (n, np.array(ci, np.int64), np.array(cj, np.int64), g, np.array(af, np.int64), np.array(at, np.int64),
            np.full(len(af), m), q, fixed, t_fixed)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_random_network_energy_balance_and_bounds(net):
    n, ci, cj, g, af, at, m, q, fixed, tf = net
    t, qb = _kernels.network_steady(n, ci, cj, g, af, at, m, q, fixed, tf)
    assert np.all(np.isfinite(t))
    # heat into the boundaries equals the heat put in, to 1e-6 relative
    assert qb.sum() == pytest.approx(q.sum(), rel=1e-6, abs=1e-6)
    # maximum principle: with non-negative sources no node is colder than the coldest boundary
    assert t.min() >= tf[fixed].min() - 1e-6
    ref = _reference.network_steady_reference(n, ci, cj, g, af, at, m, q, fixed, tf)
    assert np.allclose(t, ref, rtol=1e-8, atol=1e-6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_random_network_transient_reaches_steady(net):
    n, ci, cj, g, af, at, m, q, fixed, tf = net
    cap = np.where(fixed, 0.0, 2000.0)
    out = np.zeros((400, n))
    t_ss, _ = _kernels.network_steady(n, ci, cj, g, af, at, m, q, fixed, tf)
    t0 = np.where(fixed, tf, tf[fixed].min())
    t_end = _kernels.network_transient(n, ci, cj, g, af, at, m, q, fixed, tf, cap, t0, 1e4, 400, out)
    assert np.all(np.isfinite(out))
    assert np.allclose(t_end, t_ss, atol=1e-3 * max(1.0, np.abs(t_ss).max()))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cooling=st.sampled_from(["air", "cold-plate", "immersion"]), racks=st.integers(1, 6),
       spr=st.integers(1, 4), util=st.floats(0.0, 1.0), seed=st.integers(0, 1000))
def test_hall_steady_energy_balance_and_above_supply(cooling, racks, spr, util, seed):
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.0, 1.0, racks * spr) * util
    h = energy.build_hall(accelerator="A100-SXM4-80GB", cooling=cooling, n_racks=racks, servers_per_rack=spr,
                           racks_per_group=2, util=u)
    s = _hall_steady(h)
    heat_in = float(np.sum(s["p_acc"] + s["p_other"]))
    assert s["q_plant"] == pytest.approx(heat_in, rel=1e-6)
    for k in ("t_chip", "t_sink", "t_fluid"):
        assert np.all(np.isfinite(s[k]))
        assert np.all(s[k] >= h.t_supply - 1e-9)
    assert np.all(s["t_chip"] >= s["t_sink"] - 1e-9)


def test_hall_transient_converges_to_steady_and_balances():
    h = energy.build_hall(accelerator="H100-SXM5-80GB", cooling="cold-plate", n_racks=4, servers_per_rack=4,
                           racks_per_group=2, utilisation=0.7)
    s = _hall_steady(h)
    # start cold (everything at supply) and run long: must reach the steady state
    init = dict(s)
    for k in ("t_chip", "t_sink", "t_fluid"):
        init[k] = np.full_like(s[k], h.t_supply)
    init["t_return"] = np.full_like(s["t_return"], h.t_supply)
    r = _hall_transient(h, duration=6 * 3600.0, dt=1.0, record_every=60, initial=init)
    assert np.allclose(r["final"]["t_chip"], s["t_chip"], atol=1e-3)
    heat_in = float(np.sum(s["p_acc"] + s["p_other"]))
    assert r["plant_q"][-1] == pytest.approx(heat_in, rel=1e-6)


def test_kernel_matches_scipy_reference():
    h = energy.build_hall(accelerator="H100-SXM5-80GB", cooling="cold-plate", n_racks=3, servers_per_rack=4,
                           racks_per_group=2)
    s = _hall_steady(h)
    prof = np.array([1.0, 0.4, 0.9])
    r = _hall_transient(h, duration=300.0, dt=0.25, record_every=4, profile=prof, profile_dt=100.0, initial=s)
    y, _ = _reference.hall_transient_reference(h, s, 300.0, prof, 100.0)
    n = h.n_servers
    assert np.max(np.abs(y[:n] - r["final"]["t_chip"])) < 0.1
    assert np.max(np.abs(y[2 * n:3 * n] - r["final"]["t_fluid"])) < 0.1


def test_pump_failure_throttles_then_shuts_down_never_nan():
    h = energy.build_hall(accelerator="H100-SXM5-80GB", cooling="cold-plate", n_racks=4, servers_per_rack=4,
                           racks_per_group=2)
    r = energy.fault_transient(h, "cdu-pump", horizon="30 min")
    assert 0 < float(r["time_to_throttle"]) < float(r["time_to_shutdown"]) < 1800
    for k in ("chip_temperature", "rack_power", "loop_supply_temperature", "facility_temperature"):
        assert np.all(np.isfinite(r[k]))
    # racks on the healthy loop never throttle
    assert np.all(r["clock_factor"].where(r["rack_loop"] == 1, drop=True) == 1.0)
    # after shutdown the failed racks draw nothing
    assert np.all(r["rack_power"].isel(time=-1).where(r["rack_loop"] == 0, drop=True) == 0.0)


def test_chiller_trip_warms_facility_loop_then_recovers():
    h = energy.build_hall(accelerator="A100-SXM4-80GB", cooling="air", n_racks=6, servers_per_rack=2,
                           racks_per_group=3)
    r = _hall_transient(h, duration=3600.0, dt=1.0, record_every=10,
                               faults=[energy.Fault("chiller-trip", time=300.0, duration=600.0)])
    assert r["fac_t"].max() > h.t_fac_set + 1.0
    assert r["fac_t"][-1] == pytest.approx(h.t_fac_set, abs=0.05)


def test_leak_isolation_and_bad_fault():
    h = energy.build_hall(cooling="cold-plate", n_racks=2, servers_per_rack=2, racks_per_group=1)
    r = _hall_transient(h, duration=1200.0, faults=[energy.Fault("leak", time=60.0, group=1)])
    assert math.isfinite(float(np.min(r["shutdown"])))
    with pytest.raises(InputError, match="fault.group"):
        _hall_transient(h, duration=60.0, faults=[energy.Fault("leak", group=5)])
    with pytest.raises(InputError, match="fault.kind"):
        _hall_transient(h, duration=60.0, faults=[{"kind": "meteor"}])


def test_overpowered_rack_reports_overheat_not_nan():
    # air at 40 degC supply cannot hold H100s: explicit overheat, finite numbers
    h = energy.build_hall(accelerator="H100-SXM5-80GB", cooling="air", n_racks=1, servers_per_rack=2,
                           supply_temperature=40.0)
    s = _hall_steady(h)
    assert np.all(np.isfinite(s["t_chip"]))
    r = _hall_transient(h, duration=600.0, faults=[energy.Fault("cdu-pump", time=10.0)])
    assert np.all(np.isfinite(r["rack_tmax"]))
    assert math.isfinite(float(np.min(r["shutdown"])))


def test_bad_inputs_name_the_field():
    with pytest.raises(InputError, match="energy.cooling"):
        energy.build_hall(cooling="spray-paint")
    with pytest.raises(InputError, match="energy.coolant"):
        energy.build_hall(cooling="immersion", coolant_name="water")
    with pytest.raises(InputError, match="energy.supply_temperature"):
        energy.build_hall(cooling="cold-plate", supply_temperature=95.0)
    with pytest.raises(InputError, match="dt"):
        h = energy.build_hall(n_racks=1)
        _hall_transient(h, duration=10.0, dt=0.0)


def test_rack_beyond_cooling_limit_is_reported():
    h = energy.build_hall(accelerator="H100-SXM5-80GB", cooling="air", n_racks=2, servers_per_rack=4)
    s = _hall_steady(h)
    assert s["overheats"] and "exceeds" in s["reason"] and "air rack" in s["reason"]
    r = _hall_transient(h, duration=900.0, faults=[energy.Fault("cdu-pump", time=10.0)])
    assert r["message"].startswith("overheats at t = ")
