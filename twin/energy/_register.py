"""Energy-domain validation quantities and benchmarks (imported by twin.registry only)."""
from __future__ import annotations

import contextlib

import numpy as np

from ..bench import Benchmark, register_benchmark
from ..units import Q_, magnitude
from ..validation import register_calibration, register_quantity


@register_quantity("energy.coldplate-case-rise", domain="energy", unit="K")
def _coldplate_rise(power="1 kW", flow="1.5 L/min", coolant="PG25", t_inlet="40 degC"):
    """Cold-plate case temperature above the coolant inlet."""
    from .coldplate import _coldplate_case

    return _coldplate_case(power, flow, coolant, t_inlet)["case_rise"]


@register_quantity("energy.coldplate-coolant-dt", domain="energy", unit="K")
def _coldplate_dt(power="1 kW", flow="1.5 L/min", coolant="PG25", t_inlet="40 degC"):
    """Coolant temperature rise through a cold plate, P / (rho cp V)."""
    from .coldplate import _coldplate_case

    return _coldplate_case(power, flow, coolant, t_inlet)["coolant_dt"]


@register_quantity("energy.plate-resistance", domain="energy", unit="K/W")
def _plate_r(flow, coolant="PG25", temperature="40 degC"):
    """Case-to-inlet resistance of the OCP 1 kW cold plate (fitted model)."""
    from .coldplate import plate_resistance

    return plate_resistance(flow, coolant, temperature)


@register_quantity("energy.coolant-cp", domain="energy", unit="J/(kg*K)")
def _cp(coolant, temperature):
    """Specific heat of a catalog coolant at a temperature."""
    from .coolants import _coolant_properties

    return _coolant_properties(coolant, temperature)["cp"]


@register_quantity("energy.volumetric-heat-capacity-ratio", domain="energy", unit="")
def _vhc_ratio(liquid="water", gas="air", t_liquid="30 degC", t_gas="25 degC"):
    """(rho cp) of a liquid over (rho cp) of a gas."""
    from .coolants import _coolant_properties

    a = _coolant_properties(liquid, t_liquid)["volumetric_heat_capacity"]
    b = _coolant_properties(gas, t_gas)["volumetric_heat_capacity"]
    return (a / b).to("dimensionless").magnitude


@register_quantity("energy.coolant-property", domain="energy", unit="")
def _coolant_property(coolant, temperature, property):
    """One property of a coolant at a temperature, 1 atm (density, cp, conductivity, viscosity, t_freeze)."""
    from ..errors import InputError
    from .coolants import _coolant_properties

    props = _coolant_properties(coolant, temperature)
    if property not in props:
        raise InputError("property", property, f"one of {', '.join(sorted(props))}", "is not a coolant property")
    return props[property]


@register_quantity("energy.ite-airflow", domain="energy", unit="m^3/s")
def _ite_flow(design_power="5000 W", load=1.0, t_inlet="15 degC", fan_fraction=0.4, flow_per_watt="0.0001 m^3/s/W"):
    """EnergyPlus ITE:AirCooled airflow."""
    from .ite_air import _ite_air_cooled

    return _ite_air_cooled(design_power, load, t_inlet, fan_fraction, flow_per_watt)["airflow"]


@register_quantity("energy.ite-air-dt", domain="energy", unit="K")
def _ite_dt(design_power="5000 W", load=1.0, t_inlet="15 degC", fan_fraction=0.4, flow_per_watt="0.0001 m^3/s/W"):
    """EnergyPlus ITE:AirCooled air temperature rise."""
    from .ite_air import _ite_air_cooled

    return _ite_air_cooled(design_power, load, t_inlet, fan_fraction, flow_per_watt)["air_dt"]


@register_quantity("energy.arrhenius-factor", domain="energy", unit="")
def _af(t_use, t_ref, activation_energy="0.7 eV"):
    """Arrhenius acceleration factor."""
    from .reliability import arrhenius_factor

    return arrhenius_factor(t_use, t_ref, activation_energy)


@register_quantity("energy.server-power", domain="energy", unit="kW")
def _server(accelerator=None, cards=None, utilisation=1.0, t_inlet="35 degC", server_class=None):
    """Wall power of an air-cooled accelerator server of a catalog server class."""
    from .power import server_power_q

    return server_power_q(accelerator, cards, utilisation, t_inlet, server_class=server_class)


def _refit_fan_ratio(train):
    """Leave-one-out hook: FAN_RATIO refit (least squares) on the training cases' maximum powers."""
    from . import power

    pairs = [(str(c.get("inputs", {}).get("server_class")), 1e3 * magnitude(c["expected"], "kW", "expected"))
             for c in train]
    old = power.FAN_RATIO
    power.FAN_RATIO = power.fit_fan_ratio(pairs)
    try:
        yield power.FAN_RATIO
    finally:
        power.FAN_RATIO = old


register_calibration("twin.energy.power.FAN_RATIO", domain="energy",
                     cases=("dgx-a100-max-power", "dgx-h100-max-power"),
                     refit=contextlib.contextmanager(_refit_fan_ratio),
                     description="fans at full speed (and the datasheet maximum's headroom) as a share of the heat of "
                                 "a server's parts at full load: least squares on the DGX A100 and DGX H100 maximum "
                                 "system power; the other server classes are predictions")


def _refit_plate(train):
    """Leave-one-out hook: the plate curve refit on the other calibration points (4 parameters on
    3 points: the bounded least squares then picks one of many curves through them)."""
    from . import coldplate

    pts = [(c["inputs"].get("coolant", "PG25"), magnitude(c["inputs"]["flow"], "L/min", "flow"),
            magnitude(c["expected"], "K/W", "expected")) for c in train]
    params = coldplate.fit_plate(pts)
    old = coldplate.plate_fit
    coldplate.plate_fit = lambda: params
    try:
        yield params
    finally:
        coldplate.plate_fit = old


register_calibration("twin.energy.coldplate.plate_fit (r_base, r_lam, a, m)", domain="energy",
                     cases=("ocp-plate-r-pg25-0.4lpm", "ocp-plate-r-pg25-1.0lpm", "ocp-plate-r-pg25-2.4lpm",
                            "ocp-plate-r-water-2lpm"),
                     refit=contextlib.contextmanager(_refit_plate),
                     description="the OCP cold plate's resistance curve (base, laminar, developing-flow terms) fitted "
                                 "on four of the six published points; PG25 at 2.0 L/min and water at 5 L/min are "
                                 "predictions")


@register_quantity("energy.chiller-cop", domain="energy", unit="")
def _chiller_cop(chiller, t_chw_leaving=None, t_cond_entering=None, load_fraction=1.0):
    """COP of a catalog chiller (EnergyPlus Chiller:Electric:EIR), default at its reference temperatures."""
    from .facility import _chiller_performance, chiller_curves

    c = chiller_curves(chiller)
    x = t_chw_leaving if t_chw_leaving is not None else Q_(c.t_chw_ref, "degC")
    y = t_cond_entering if t_cond_entering is not None else Q_(c.t_cond_ref, "degC")
    return _chiller_performance(c, x, y, load_fraction)["cop"]


@register_quantity("energy.chiller-capacity", domain="energy", unit="kW")
def _chiller_cap(chiller, t_chw_leaving=None, t_cond_entering=None):
    """Available capacity of a catalog chiller, Q_ref CAPFT(x, y)."""
    from .facility import chiller_curves

    c = chiller_curves(chiller)
    x = c.t_chw_ref if t_chw_leaving is None else magnitude(t_chw_leaving, "degC", "t_chw_leaving")
    y = c.t_cond_ref if t_cond_entering is None else magnitude(t_cond_entering, "degC", "t_cond_entering")
    return Q_(c.capacity * float(c.capft(x, y)) / 1e3, "kW")


@register_quantity("energy.chiller-iplv", domain="energy", unit="")
def _chiller_iplv(chiller, t_chw_leaving="6.67 degC"):
    """AHRI 550/590 integrated part-load value (as COP) of a catalog chiller."""
    from .facility import iplv

    return iplv(chiller, t_chw_leaving)


@register_quantity("energy.annual-pue", domain="energy", unit="")
def _annual_pue(cooling="cold-plate", climate="beijing", supply_temperature=None, utilisation=1.0):
    """Annual PUE of a 1 MW hall of the cooling type in a climate (twin.energy.facility_year)."""
    from .facility import _facility_year

    t = None if supply_temperature is None else magnitude(supply_temperature, "degC", "supply_temperature")
    return _facility_year(cooling=cooling, climate=climate, supply_temperature=t, utilisation=float(utilisation))["pue"]


@register_quantity("energy.gpu-temperature", domain="energy", unit="degC")
def _gpu_temp(accelerator="H100-SXM5-80GB", cooling="cold-plate", supply_temperature="25 degC", coolant=None,
              utilisation=1.0):
    """Hottest accelerator junction of one 8-card server at steady state."""
    from .hall import _hall_steady, build_hall

    t = magnitude(supply_temperature, "degC", "supply_temperature")
    h = build_hall(accelerator=accelerator, cooling=cooling, n_racks=1, servers_per_rack=1, supply_temperature=t,
                   coolant_name=coolant, utilisation=float(utilisation))
    return Q_(float(np.max(_hall_steady(h)["t_chip"])), "degC")


@register_benchmark("coolant-props-water-1000", domain="energy", min_ratio=10.0,
                    goal=">= 10x direct CoolProp calls for the per-server property look-ups of the hall setup, "
                         "agreeing to 1e-4")
def _bench_coolant_props(quick: bool) -> Benchmark:
    import CoolProp.CoolProp as CP

    from ..bench import max_rel_diff
    from .coolants import coolant

    n = 200 if quick else 1000
    temps = [float(t) for t in np.random.default_rng(7).uniform(5.0, 95.0, n)]  # supply/return temperatures
    c = coolant("water")

    def fast():
        return np.array([c.props(t) for t in temps])

    def reference():  # the library itself, one call per property and temperature (as the hall would without the table)
        return np.array([[CP.PropsSI(k, "T", t + 273.15, "P", 101325.0, "HEOS::Water") for k in "DCLV"] for t in temps])

    return Benchmark(size=f"{n} scalar look-ups (rho, cp, k, mu) of water", fast=fast, reference=reference,
                     repeats=5, reference_repeats=1, compare=max_rel_diff, tolerance=1e-4, metric="max relative difference",
                     note="fast: twin.energy.coolants table (CoolProp tabulated every 0.25 K, linear, log mu); "
                          "reference: CoolProp.PropsSI per property and temperature")


@register_benchmark("thermal-hall-1000-racks", domain="energy", min_ratio=20.0, max_seconds=10.0,
                    goal="< 10 s and >= 20x a fair scipy.integrate (BDF, sparse Jacobian, default error control) "
                         "at the same accuracy")
def _bench_hall(quick: bool) -> Benchmark:
    from ..bench import max_abs_diff
    from ._reference import hall_transient_reference
    from .faults import _hall_transient
    from .hall import _hall_steady, build_hall

    n_racks = 50 if quick else 1000
    horizon = 3600.0 if quick else 86400.0
    ref_horizon = 1800.0 if quick else 3600.0
    h = build_hall(accelerator="H100-SXM5-80GB", cooling="cold-plate", n_racks=n_racks, servers_per_rack=8)
    st = _hall_steady(h)
    # diurnal load: 60-100 % with a minute resolution profile
    prof = 0.6 + 0.4 * np.sin(np.linspace(0.0, 2.0 * np.pi, 1441)) ** 2
    n = h.n_servers
    # Same accuracy: against a tight solution (RK45, rtol = atol = 1e-9; 50 racks, 2 h of this
    # profile) the largest chip-temperature error was 0.021 K for scipy's BDF at its default
    # error control and 0.021 K for the backward-Euler fast path at 20 s steps (0.017 K at
    # 10 s, 0.005 K at 1 s). So the fast path runs at the step of equal accuracy.
    dt = 20.0

    def fast():
        return _hall_transient(h, duration=horizon, dt=dt, record_every=3, profile=prof, profile_dt=60.0, initial=st)

    def fast_check():
        return _hall_transient(h, duration=ref_horizon, dt=dt, record_every=3, profile=prof, profile_dt=60.0,
                              initial=st)

    def reference():
        return hall_transient_reference(h, st, ref_horizon, prof, 60.0)

    def compare(f, r):  # chip and coolant temperatures at the end of the reference horizon [K]
        y = r[0]
        return max(max_abs_diff(f["final"]["t_chip"], y[:n]), max_abs_diff(f["final"]["t_fluid"], y[2 * n:3 * n]))

    return Benchmark(size=f"{n_racks} racks x 8 servers (3 nodes each), {horizon / 3600:g} h of a diurnal load profile",
                     fast=fast, reference=reference, repeats=1 if not quick else 2, reference_repeats=1,
                     reference_scale=horizon / ref_horizon, compare=compare, fast_check=fast_check, tolerance=0.1,
                     metric="max |dT| chip/coolant [K]",
                     note=(f"reference: scipy.integrate.solve_ivp, BDF with the Jacobian's sparsity pattern and default "
                           f"error control (rtol 1e-3; faster than RK45 or LSODA on this stiff network); fast: numba "
                           f"backward Euler at {dt:g} s steps, the step of the same accuracy (0.021 K against a tight "
                           f"solution; at 1 s steps it is 4x more accurate and about 20x slower), on the same ODEs over the first "
                           f"{ref_horizon / 3600:g} h of the diurnal profile, scaled x{horizon / ref_horizon:g} to "
                           f"{horizon / 3600:g} h (its cost grows with the number of profile steps it crosses, "
                           f"linear in time); compared at {ref_horizon / 3600:g} h with the fast path run to the "
                           f"same time"))


@register_benchmark("energy-dashboard-rack-update", domain="energy", max_seconds=0.2,
                    goal="well under 200 ms for what one dashboard control change recomputes")
def _bench_rack(quick: bool) -> Benchmark:
    from ..bench import max_abs_diff
    from ._reference import hall_transient_reference
    from .faults import Fault, _fault_arrays, _hall_transient
    from .hall import _hall_steady, build_hall

    h = build_hall(accelerator="H100-SXM5-80GB", cooling="cold-plate", n_racks=1, servers_per_rack=8)
    faults = [Fault("cdu-pump", time=60.0)]
    n = h.n_servers

    def fast():
        st = _hall_steady(h)
        return _hall_transient(h, duration=1800.0, dt=1.0, record_every=5, faults=faults, initial=st)

    def reference():
        st = _hall_steady(h)
        return hall_transient_reference(h, st, 1800.0, faults=_fault_arrays(h, faults, 1800.0))

    def compare(f, r):  # coolant temperature at the end [K] (chips are off by then in both)
        y = r[0]
        return max_abs_diff(f["final"]["t_fluid"], y[2 * n:3 * n])

    return Benchmark(size="1 rack x 8 servers, 30 min CDU-pump fault transient", fast=fast, reference=reference,
                     repeats=5, reference_repeats=1, compare=compare, tolerance=0.5,
                     metric="max |dT| coolant [K]",
                     note="what one dashboard control change recomputes for a single rack; reference: the same fault "
                          "transient (pump stops at 60 s, chips latch off at shutdown) with scipy BDF")
