"""New energy (white paper ch. 7): power, thermal network, cooling types, facility plant, PUE,
throttling, reliability and cooling faults.

Public functions take and return pint quantities (plain floats inside, SI in the kernels).

* Power: :func:`it_power` (scenario), :func:`server_power_q`, :func:`accelerator_power`, :func:`ups_efficiency`.
* Thermal: :func:`plate_resistance`, :func:`coldplate_case`, :func:`ite_air_cooled`,
  :func:`build_hall` and :func:`hall_from_scenario` (a :class:`Hall` for :func:`hall_state` and
  :func:`fault_transient`).
* Coolants: :func:`coolant_properties` (datasets/catalog/coolants.toml).
* Facility: :func:`chiller_power`, :func:`chiller_performance`, :func:`facility_year` (annual and
  hourly PUE, WUE), :func:`floor_plan`; climate: :func:`hourly_year`.
* Reliability: :func:`arrhenius_factor`, :func:`chip_limits`.
* Datasets for a scenario (or a built hall): :func:`hall_state` (steady hall), :func:`fault_transient`,
  :func:`pue_year` (annual, monthly, hourly), :func:`floor_plans`.

Every public function returns pint quantities, floats or xarray Datasets with ``units`` attrs;
the dict-returning solvers behind them are private.
* :func:`evaluate` (scenario, state) -> xarray.Dataset, /energy/results of the twin state.
"""
from __future__ import annotations

import math

import numpy as np
import xarray as xr

from ..errors import InputError
from ..paths import read_headlines
from ..units import Q_, magnitude
from .climate import cities, hourly_year
from .coolants import coolant, coolant_properties
from .facility import (YORK_YT_1403, _floor_plan, chiller_performance, chiller_power, facility_year, floor_plan,
                       instantaneous_pue, iplv)
from .power import (DEFAULT_SERVER, accelerator_power, class_spec, it_power, server_classes, server_power, server_power_q,
                    server_spec, ups_efficiency)
from .reliability import arrhenius_factor, chip_limits, clock_factor
from .coldplate import coldplate_case, plate_resistance
from .cooling import COOLING, COOLING_ALIASES, cooling_kind
from .faults import Fault, _hall_transient
from .hall import Hall, _hall_steady, _liquid_share, build_hall
from .ite_air import ite_air_cooled

__all__ = [
    "arrhenius_factor", "chip_limits", "clock_factor", "server_power", "server_power_q",
    "server_spec", "it_power",
    "accelerator_power", "ups_efficiency", "plate_resistance", "coldplate_case", "ite_air_cooled", "build_hall",
    "Fault", "Hall", "coolant_properties", "chiller_power",
    "facility_year", "floor_plan", "instantaneous_pue", "hourly_year", "cities", "evaluate",
    "hall_from_scenario", "COOLING", "COOLING_TYPES", "hall_state", "fault_transient", "pue_year",
    "floor_plans", "FAULT_KINDS", "cooling_kind", "class_spec", "server_classes", "chiller_performance", "iplv",
]


def _get(section, name, default=None):
    try:
        v = getattr(section, name)
    except AttributeError:
        return default
    return default if v is None else v


def _degc(v, field):
    return magnitude(v, "degC", field) if not isinstance(v, (int, float)) else float(v)


def hall_from_scenario(scenario, *, utilisation=1.0, max_racks=None, cooling=None, supply_temperature=None) -> Hall:
    """Build the :class:`Hall` of a scenario (its nodes in racks of energy.servers_per_rack).

    Parameters
    ----------
    scenario : Scenario, preset name, path or dict
    utilisation, max_racks, cooling, supply_temperature
        As :func:`hall_state`.

    Returns
    -------
    Hall
        The hall network's parameters (SI), for :func:`hall_state` and :func:`fault_transient`.
    """
    from ..scenario import load_scenario

    return _hall_from_scenario(load_scenario(scenario), utilisation=utilisation, max_racks=max_racks, cooling=cooling,
                               supply_temperature=supply_temperature)[0]


def _hall_from_scenario(scenario, *, utilisation=1.0, max_racks=None, cooling=None, supply_temperature=None):
    """The :class:`Hall` of a scenario and a dict naming its cooling model.

    Parameters
    ----------
    scenario : Scenario
    utilisation : float
        Accelerator utilisation of every server, 0..1 [1].
    max_racks : int, optional
        Model at most this many racks (dashboards).
    cooling : str, optional
        Override of ``energy.cooling``.
    supply_temperature : float or Quantity, optional
        Override of the supply temperature at the IT [degC] (the air supply for air halls).

    Notes
    -----
    Mixed types map to their hall model through :data:`COOLING_ALIASES` (both are cold-plate
    halls with the scenario's liquid fraction, the rest by air); ``immersion`` uses the scenario
    coolant, which must be a dielectric. The server parts come from
    :func:`~twin.energy.power.server_spec` (the scenario's CPUs, no NVSwitches in a PCIe
    server), the same as :func:`~twin.energy.power.it_power`. Returns (hall, info dict).
    """
    sc = scenario
    en = sc.energy
    comp = sc.compute
    cooling = str(en.cooling if cooling is None else cooling)
    kind = cooling_kind(cooling)
    spr = int(en.servers_per_rack)
    nodes = int(comp.nodes)
    n_racks = max(1, math.ceil(nodes / spr))
    if max_racks is not None:
        n_racks = min(n_racks, int(max_racks))
    lf = float(en.liquid_fraction)
    cool_name = str(en.coolant)
    info = {"cooling": cooling, "model": kind if cooling == kind else f"{kind} (mixed type {cooling})"}
    t_air = _degc(en.air_supply_temperature, "energy.air_supply_temperature")
    if kind == "air":
        t_sup = t_air if supply_temperature is None else _degc(supply_temperature, "energy.air_supply_temperature")
        t_air = t_sup
        cool_name = "air"
        lf = 0.0
    else:
        t_sup = _degc(en.supply_temperature if supply_temperature is None else supply_temperature,
                      "energy.supply_temperature")
        if kind == "immersion" and coolant(cool_name).kind != "dielectric":
            raise InputError("energy.coolant", cool_name, "a dielectric coolant for immersion such as 'Syltherm-XLT'",
                             "is not a dielectric")
        elif coolant(cool_name).kind == "gas":
            raise InputError("energy.coolant", cool_name, "a liquid coolant such as 'PG25' for liquid cooling", "is a gas")
    h = build_hall(accelerator=str(comp.accelerator), cards=int(comp.cards_per_node), n_racks=n_racks,
                   servers_per_rack=spr, cooling=kind, coolant_name=cool_name, supply_temperature=t_sup,
                   utilisation=utilisation, liquid_fraction=lf if kind == "cold-plate" else None,
                   server=server_spec(sc), air_supply_temperature=t_air)
    info.update(n_racks=n_racks, nodes=nodes, supply_temperature=t_sup, coolant=h.coolant)
    return h, info


def _hall_dataset(h: Hall, st: dict, info: dict) -> xr.Dataset:
    R, S = h.n_racks, h.servers_per_rack
    wall = ((st["p_acc"] + st["p_other"]).reshape(R, S) + h.fan_w) / h.psu_eff
    rho_cp = coolant(h.coolant).rho_cp(h.t_supply)
    return xr.Dataset(
        {"rack_power": ("rack", wall.sum(axis=1) / 1e3, {"units": "kW", "long_name": "rack wall power"}),
         "chip_temperature": ("rack", st["t_chip"].reshape(R, S).max(axis=1),
                              {"units": "degC", "long_name": "hottest chip junction in the rack"}),
         "rack_outlet_temperature": ("rack", st["t_fluid"].reshape(R, S).mean(axis=1), {"units": "degC"}),
         "clock_factor": ("rack", st["clock"].reshape(R, S).mean(axis=1), {"units": "", "long_name": "mean clock factor (throttling)"}),
         "loop_supply_temperature": ("loop", st["t_supply"], {"units": "degC"}),
         "loop_return_temperature": ("loop", st["t_return"], {"units": "degC"}),
         "loop_flow": ("loop", h.mcp_group / rho_cp, {"units": "m^3/s"}),
         "loop_heat": ("loop", st["q_group"] / 1e3, {"units": "kW"}),
         "facility_temperature": ((), float(st["t_facility"]), {"units": "degC"}),
         "server_power": ((), float(wall.sum()) / 1e3, {"units": "kW", "long_name": "servers' wall power"}),
         "liquid_share": ((), _liquid_share(h, st), {"units": "", "long_name": "share of the servers' heat to liquid"}),
         "mean_chip_temperature": ((), float(np.mean(st["t_chip"])), {"units": "degC"})},
        coords={"rack": np.arange(R), "loop": np.arange(h.n_groups), "rack_loop": ("rack", h.rack_group)},
        attrs={"cooling": info["cooling"], "model": info["model"], "coolant": h.coolant, "accelerator": h.accelerator,
               "supply_temperature_degC": float(h.t_supply), "t_slowdown_degC": h.t_slow, "t_shutdown_degC": h.t_shut,
               "overheats": int(bool(st["overheats"])), "overheat_reason": st["reason"],
               "racks": R, "servers_per_rack": S})


def _hall_of(scenario, **overrides):
    """(hall, info) of a scenario with overrides, or of a built :class:`Hall` as it is."""
    if isinstance(scenario, Hall):
        return scenario, {"cooling": scenario.cooling, "model": scenario.cooling}
    from ..scenario import load_scenario

    return _hall_from_scenario(load_scenario(scenario), **overrides)


def hall_state(scenario, *, utilisation=1.0, cooling=None, supply_temperature=None, max_racks=None) -> xr.Dataset:
    """Steady state of a scenario's hall (or of a built :class:`Hall`) at a utilisation.

    Parameters
    ----------
    scenario : Scenario, preset name, path, dict or Hall
        A :class:`Hall` (from :func:`build_hall`) is solved as built.
    utilisation : float
        Accelerator utilisation 0..1 [1] (scenarios only).
    cooling : str, optional
        Override of ``energy.cooling`` (scenarios only).
    supply_temperature : float or Quantity, optional
        Override of the supply temperature at the IT [degC] (scenarios only).
    max_racks : int, optional
        Model at most this many racks (scenarios only).

    Returns
    -------
    xarray.Dataset
        rack_power [kW], chip_temperature [degC] (hottest chip per rack), rack_outlet_temperature
        [degC], clock_factor over ``rack``; loop supply and return [degC], flow [m^3/s] and heat
        [kW] over ``loop``; server_power [kW], liquid_share, facility_temperature,
        mean_chip_temperature; the chip limits and cooling in attrs.

    Notes
    -----
    The hall network of :mod:`twin.energy.hall` solved to steady state: chip -> sink -> coolant
    per server, CDU (or CRAH) loops, facility loop and plant.
    """
    h, info = _hall_of(scenario, utilisation=utilisation, cooling=cooling, supply_temperature=supply_temperature,
                       max_racks=max_racks)
    return _hall_dataset(h, _hall_steady(h), info)


FAULT_KINDS = ("cdu-pump", "leak", "chiller-trip")


def _fault(kind: str) -> Fault:
    if kind == "cdu-pump":
        return Fault("cdu-pump", time=60.0, group=0)
    if kind == "leak":
        return Fault("leak", time=60.0, group=0, isolation_delay=30.0)
    if kind == "chiller-trip":
        return Fault("chiller-trip", time=60.0, duration=600.0)
    raise InputError("fault", kind, "one of none, " + ", ".join(FAULT_KINDS))


def fault_transient(scenario, fault="cdu-pump", *, horizon=None, utilisation=1.0, cooling=None,
                    supply_temperature=None, max_racks=None, record_every=10) -> xr.Dataset:
    """The hall's transient after a cooling fault at t = 60 s (or without one).

    Parameters
    ----------
    scenario : Scenario, preset name, path, dict or Hall
        A :class:`Hall` (from :func:`build_hall`) is simulated as built.
    fault : str
        ``cdu-pump`` (the pump of loop 0 fails, no standby), ``leak`` (loop 0 leaks and is
        isolated 30 s later), ``chiller-trip`` (the chiller stops for 10 min) or ``none``.
    horizon : Quantity or str, optional
        Length of the transient [min] (default ``energy.fault_horizon``; required for a Hall).
    utilisation, cooling, supply_temperature, max_racks
        As :func:`hall_state`.
    record_every : int
        Keep every n-th 1 s step.

    Returns
    -------
    xarray.Dataset
        chip_temperature [degC] over (``time``, ``rack``) (hottest chip), rack_power [kW],
        clock_factor [1] (rack mean), loop_supply_temperature [degC] over (``time``, ``loop``), facility_temperature [degC]
        over ``time``; time_to_throttle and time_to_shutdown [s] from the fault (inf: none within
        the horizon); attrs ``message`` (when a chip first reaches shutdown).

    Notes
    -----
    Backward-Euler integration of the hall network at 1 s (numba kernel
    :func:`twin.energy._kernels.hall_transient`) from the steady state; the chip clock drops
    linearly between the slowdown and shutdown limits.
    """
    h, _ = _hall_of(scenario, utilisation=utilisation, cooling=cooling, supply_temperature=supply_temperature,
                    max_racks=max_racks)
    if horizon is None:
        if isinstance(scenario, Hall):
            raise InputError("horizon", None, "a transient length such as '30 min' for a built Hall")
        from ..scenario import load_scenario

        horizon = load_scenario(scenario).energy.fault_horizon
    dur = magnitude(horizon, "s", "energy.fault_horizon")
    return _transient_dataset(h, _hall_steady(h), fault, dur, record_every)


def _transient_dataset(h: Hall, st: dict, fault: str, dur: float, record_every) -> xr.Dataset:
    """:func:`fault_transient` of a built hall from its steady state ``st`` over ``dur`` [s]."""
    faults = [] if fault == "none" else [_fault(fault)]
    tr = _hall_transient(h, duration=dur, dt=1.0, record_every=int(record_every), faults=faults, initial=st)
    t0 = faults[0].time if faults else 0.0
    fs, sd = float(np.min(tr["first_slowdown"])), float(np.min(tr["shutdown"]))
    return xr.Dataset(
        {"chip_temperature": (("time", "rack"), tr["rack_tmax"], {"units": "degC"}),
         "rack_power": (("time", "rack"), tr["rack_power"] / h.psu_eff / 1e3, {"units": "kW"}),
         "clock_factor": (("time", "rack"), tr["rack_clock"], {"units": "", "long_name": "mean clock factor of the rack"}),
         "loop_supply_temperature": (("time", "loop"), tr["group_tsup"], {"units": "degC"}),
         "facility_temperature": ("time", tr["fac_t"], {"units": "degC"}),
         "time_to_throttle": ((), fs - t0, {"units": "s", "long_name": "from the fault to the first chip slowdown"}),
         "time_to_shutdown": ((), sd - t0, {"units": "s", "long_name": "from the fault to the first chip shutdown"})},
        coords={"time": ("time", tr["time"], {"units": "s"}), "rack": np.arange(h.n_racks),
                "loop": np.arange(h.n_groups), "rack_loop": ("rack", h.rack_group)},
        attrs={"fault": fault, "t_slowdown_degC": h.t_slow, "t_shutdown_degC": h.t_shut, "message": tr["message"]})


_MONTH_HOURS = np.repeat(np.arange(12), [31 * 24, 28 * 24, 31 * 24, 30 * 24, 31 * 24, 30 * 24, 31 * 24, 31 * 24,
                                        30 * 24, 31 * 24, 30 * 24, 31 * 24])


def pue_year(scenario, *, it_power=None, liquid_fraction=None, cooling=None, climate=None,
             supply_temperature=None) -> xr.Dataset:
    """Annual, monthly and hourly PUE of a scenario's hall over a synthetic year of its climate.

    Parameters
    ----------
    scenario : Scenario, preset name, path or dict
    it_power : Quantity or str, optional
        IT load [kW] (default: the scenario's servers at full load, :func:`it_power`).
    liquid_fraction : float, optional
        Share of the IT heat to liquid (default: the scenario's for its own cooling type, 0 for
        air, and :func:`facility_year`'s typical share for another type).
    cooling, climate, supply_temperature : optional
        Overrides of the scenario's energy fields.

    Returns
    -------
    xarray.Dataset
        pue (annual), pue_monthly over ``month``, pue_hourly, free_cooling_fraction, dry_bulb
        [degC] over ``hour``; wue [L/kWh]; facility_power [kW] (annual mean); heat rejection in attrs.

    Notes
    -----
    :func:`facility_year`: EnergyPlus electric EIR chiller, free cooling by wet-bulb or dry-bulb
    approach, UPS and PDU losses and lighting; the monthly PUE is the month's facility energy
    over its IT energy.
    """
    from ..scenario import load_scenario

    sc = load_scenario(scenario)
    en = sc.energy
    own = cooling_kind(str(en.cooling))
    cooling = str(en.cooling if cooling is None else cooling)
    kind = cooling_kind(cooling)
    it_w = 1e3 * magnitude(it_power if it_power is not None else globals()["it_power"](sc), "kW", "it_power")
    if liquid_fraction is not None:
        lf = float(liquid_fraction)
    elif kind == own:
        lf = 0.0 if kind == "air" else float(en.liquid_fraction)
    else:  # another cooling type than the scenario's: that type's typical share (facility_year)
        lf = None
    t_sup = None if kind == "air" else _degc(en.supply_temperature if supply_temperature is None else supply_temperature,
                                             "energy.supply_temperature")
    t_air = _degc(en.air_supply_temperature if (supply_temperature is None or kind != "air") else supply_temperature,
                  "energy.air_supply_temperature")
    fy = facility_year(cooling=kind, climate=str(en.climate if climate is None else climate), it_load_w=it_w,
                       liquid_fraction=lf, supply_temperature=t_sup, air_supply_temperature=t_air)
    it, tot = fy["it_power"].values, (fy["pue_hourly"] * fy["it_power"]).values
    monthly = np.array([tot[_MONTH_HOURS == m].sum() / it[_MONTH_HOURS == m].sum() for m in range(12)])
    ds = fy[["pue", "pue_hourly", "free_cooling_fraction", "dry_bulb", "wue", "facility_power"]]
    ds["pue_monthly"] = ("month", monthly, {"units": ""})
    ds.attrs["cooling"] = cooling
    return ds.assign_coords(month=np.arange(1, 13))


COOLING_TYPES = ("air", "cold-plate", "immersion")


def floor_plans(scenario, server_power, *, servers_per_rack=None) -> xr.Dataset:
    """Racks, rack density and floor area of the scenario's servers under each cooling type.

    Parameters
    ----------
    scenario : Scenario, preset name, path or dict
    server_power : Quantity or str
        Wall power of one server [kW].
    servers_per_rack : int, optional
        Servers per rack for the scenario's own cooling type (default ``energy.servers_per_rack``);
        the other types take 8.

    Returns
    -------
    xarray.Dataset
        floor_area [m^2], rack_density [kW] and racks over ``cooling_type`` (air, cold-plate,
        immersion), from :func:`floor_plan`.
    """
    from ..scenario import load_scenario

    sc = load_scenario(scenario)
    kind = cooling_kind(str(sc.energy.cooling))
    kw = magnitude(server_power, "kW", "server_power")
    spr = int(sc.energy.servers_per_rack if servers_per_rack is None else servers_per_rack)
    plans = [_floor_plan(n_servers=int(sc.compute.nodes), server_kw=kw, cooling=t,
                        servers_per_rack=spr if t == kind else 8) for t in COOLING_TYPES]
    return xr.Dataset({"floor_area": ("cooling_type", [p["area_m2"] for p in plans], {"units": "m^2"}),
                       "rack_density": ("cooling_type", [p["rack_kw"] for p in plans], {"units": "kW"}),
                       "racks": ("cooling_type", [p["racks"] for p in plans], {"units": ""})},
                      coords={"cooling_type": list(COOLING_TYPES)})


#: Energy reads the training's utilisation and step times, the fabric's network power and the
#: storage system's power from the state tree.
NEEDS = ("fabric", "training", "storage")

#: Headline figures (scalar results) for compare and the app: (variable, label, unit), as
#: datasets/tables/headlines.toml declares them.
HEADLINES = read_headlines("energy")


def evaluate(scenario, state) -> xr.Dataset:
    """The energy state of a scenario's hall.

    Parameters
    ----------
    scenario : twin.scenario.Scenario
        Uses compute.accelerator/nodes/cards_per_node and the energy section.
    state : xarray.DataTree
        The twin state: ``/training/results`` (gpu_utilisation drives the accelerators' power;
        step_time and step_time_nominal give the throughput kept under throttling),
        ``/fabric/results`` (network_power) and ``/storage/results`` (storage_power) join the
        servers in the IT power.

    Returns
    -------
    xarray.Dataset
        Dims ``rack``, ``loop``, ``time`` (fault transient), ``hour`` (synthetic year), ``month``,
        ``cooling_type``.
        Variables (units in attrs): rack_power [kW], chip_temperature [degC] (hottest chip of
        the rack), rack_outlet_temperature [degC], clock_factor, loop_supply_temperature,
        loop_return_temperature [degC], loop_flow [m^3/s], pue (annual), pue_monthly, pue_hourly
        (instantaneous, dim ``hour``), free_cooling_fraction, dry_bulb [degC], wue
        [L/kWh], it_power [kW], facility_power [kW], failure_rate_factor, throughput_factor,
        floor_area [m^2] and rack_density [kW] per cooling type, and the fault transient
        fault_chip_temperature [degC] (time, rack), fault_rack_power [kW], fault_loop_supply
        [degC]; attrs time_to_throttle_s, time_to_shutdown_s [s] of that fault; and per fault kind
        (dim ``fault``: CDU pump failure on loop 0, leak on loop 0 isolated after 30 s, chiller trip
        for 10 min, each at t = 60 s) time_to_throttle and time_to_shutdown [s] (the operator's time;
        inf when it does not happen within ``energy.fault_horizon``).

    Notes
    -----
    Steady state of the hall network (:func:`hall_state`), transient by the numba kernel, PUE
    over a synthetic year of the scenario's climate (:func:`facility_year`).
    """
    from .. import tree

    util = tree.value(state, "training", "gpu_utilisation")
    h, info = _hall_from_scenario(scenario, utilisation=util)
    st = _hall_steady(h)  # one steady solve serves the state and every fault transient
    hall = _hall_dataset(h, st, info)
    servers_w = 1e3 * float(hall["server_power"])
    parts = {"servers": servers_w, "network": 1e3 * tree.value(state, "fabric", "network_power", "kW"),
             "storage": 1e3 * tree.value(state, "storage", "storage_power", "kW")}
    it_w = float(sum(parts.values()))
    # network and storage are air-cooled: the liquid share is the servers' share of it
    year = pue_year(scenario, it_power=Q_(it_w / 1e3, "kW"), liquid_fraction=float(hall["liquid_share"]) * servers_w / it_w)
    server_kw = float(hall["rack_power"].max()) / int(hall.attrs["servers_per_rack"])
    plans = floor_plans(scenario, Q_(server_kw, "kW"))
    af = arrhenius_factor(Q_(float(hall["mean_chip_temperature"]), "degC"), Q_(65.0, "degC"))
    # throughput kept under throttling: training ran at the clock factor fed back by Twin.run
    thr = tree.value(state, "training", "step_time_nominal", "s") / tree.value(state, "training", "step_time", "s")
    horizon = magnitude(scenario.energy.fault_horizon, "s", "energy.fault_horizon")
    transients = {k: _transient_dataset(h, st, k, horizon, 10 if k == "cdu-pump" else 10 ** 9) for k in FAULT_KINDS}
    cdu = transients["cdu-pump"]
    ds = xr.merge([hall, year.drop_attrs(deep=False), plans], combine_attrs="drop_conflicts")
    ds["it_power"] = ((), it_w / 1e3, {"units": "kW", "long_name": "servers, network and storage at the training's utilisation"})
    ds["it_power_by_part"] = ("it_part", [v / 1e3 for v in parts.values()], {"units": "kW"})
    ds["gpu_utilisation"] = ((), util, {"units": "", "long_name": "accelerator utilisation read from /training/results"})
    ds["failure_rate_factor"] = ((), af, {"units": "", "long_name": "Arrhenius factor vs 65 degC, Ea 0.7 eV"})
    ds["throughput_factor"] = ((), thr, {"units": "", "long_name": "training throughput kept at the fed-back clock factor (step_time_nominal / step_time)"})
    ds["fault_chip_temperature"] = cdu["chip_temperature"]
    ds["fault_rack_power"] = cdu["rack_power"]
    ds["fault_loop_supply"] = cdu["loop_supply_temperature"]
    ds["time_to_throttle"] = ("fault", [float(transients[k]["time_to_throttle"]) for k in FAULT_KINDS], {
        "units": "s", "long_name": "time from the fault to the first chip slowdown (inf: none in the horizon)"})
    ds["time_to_shutdown"] = ("fault", [float(transients[k]["time_to_shutdown"]) for k in FAULT_KINDS], {
        "units": "s", "long_name": "operator time: from the fault to the first chip shutdown (inf: none in the horizon)"})
    ds = ds.assign_coords(it_part=list(parts), fault=list(FAULT_KINDS))
    ds.attrs.update(climate=year.attrs["climate"], heat_rejection=year.attrs["heat_rejection"],
                    fault="CDU pump (loop 0) fails at t = 60 s, no standby pump",
                    time_to_throttle_s=float(cdu["time_to_throttle"]), time_to_shutdown_s=float(cdu["time_to_shutdown"]))
    return ds
