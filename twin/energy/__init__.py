"""New energy (white paper ch. 7): power, thermal network, cooling types, facility plant, PUE,
throttling, reliability and cooling faults.

Public functions take and return pint quantities (plain floats inside, SI in the kernels).

* Power: :func:`it_power` (scenario), :func:`server_power_q`, :func:`accelerator_power`, :func:`ups_efficiency`.
* Thermal: :func:`plate_resistance`, :func:`coldplate_case`, :func:`ite_air_cooled`,
  :func:`build_hall`, :func:`hall_steady`, :func:`hall_transient`, :func:`operator_time`.
* Coolants: :func:`coolant_properties` (datasets/catalog/coolants.toml).
* Facility: :func:`chiller_power`, :func:`facility_year` (annual and hourly PUE, WUE),
  :func:`floor_plan`; climate: :func:`hourly_year`.
* Reliability: :func:`arrhenius_factor`, :func:`chip_limits`.
* :func:`evaluate` (scenario) -> xarray.Dataset, the /energy group of the twin state.
"""
from __future__ import annotations

import math

import numpy as np
import xarray as xr

from ..errors import InputError
from ..units import Q_, magnitude
from .climate import cities, hourly_year
from .coolants import coolant, coolant_properties
from .facility import YORK_YT_1403, chiller_power, facility_year, floor_plan, instantaneous_pue, plant_power
from .power import DEFAULT_SERVER, accelerator_power, it_power, server_power, server_power_q, server_spec, ups_efficiency
from .reliability import arrhenius_factor, chip_limits, clock_factor
from .thermal import (COOLING, Fault, Hall, build_hall, coldplate_case, cooling_kind, hall_steady, hall_transient,
                      ite_air_cooled, liquid_share, operator_time, plate_resistance)

__all__ = [
    "arrhenius_factor", "chip_limits", "clock_factor", "server_power", "server_power_q",
    "server_spec", "it_power",
    "accelerator_power", "ups_efficiency", "plate_resistance", "coldplate_case", "ite_air_cooled", "build_hall",
    "hall_steady", "hall_transient", "operator_time", "Fault", "Hall", "coolant_properties", "chiller_power",
    "facility_year", "floor_plan", "instantaneous_pue", "plant_power", "hourly_year", "cities", "evaluate",
    "hall_from_scenario", "COOLING", "liquid_share",
]


def _get(section, name, default=None):
    try:
        v = getattr(section, name)
    except AttributeError:
        return default
    return default if v is None else v


def _degc(v, field):
    return magnitude(v, "degC", field) if not isinstance(v, (int, float)) else float(v)


def hall_from_scenario(scenario, *, utilisation=1.0, max_racks=None):
    """Build the :class:`Hall` of a scenario (its nodes in racks of energy.servers_per_rack).

    ``air+cold-plate`` is a cold-plate hall with the scenario's liquid fraction (the rest by
    air); ``cold-plate+immersion`` is modelled as a cold-plate hall with its (high) liquid
    fraction; ``immersion`` uses the scenario coolant if dielectric, else Syltherm XLT.
    The server parts come from :func:`~twin.energy.power.server_spec` (the scenario's CPUs,
    no NVSwitches in a PCIe server), the same as :func:`~twin.energy.power.it_power`.
    Returns (hall, info dict).
    """
    sc = scenario
    en = sc.energy
    comp = sc.compute
    cooling = str(_get(en, "cooling", "air"))
    kind = cooling_kind(cooling)
    spr = int(_get(en, "servers_per_rack", 4))
    nodes = int(_get(comp, "nodes", 1))
    n_racks = max(1, math.ceil(nodes / spr))
    if max_racks is not None:
        n_racks = min(n_racks, int(max_racks))
    lf = float(_get(en, "liquid_fraction", 0.0))
    cool_name = str(_get(en, "coolant", "air"))
    info = {"cooling": cooling, "model": kind}
    t_air = _degc(_get(en, "air_supply_temperature", "24 degC"), "energy.air_supply_temperature")
    if kind == "air":
        t_sup = _degc(_get(en, "air_supply_temperature", "24 degC"), "energy.air_supply_temperature")
        cool_name = "air"
        lf = 0.0
    else:
        t_sup = _degc(_get(en, "supply_temperature", "35 degC"), "energy.supply_temperature")
        if kind == "immersion" and cooling == "immersion":
            if coolant(cool_name).kind != "dielectric":
                raise InputError("energy.coolant", cool_name, "a dielectric coolant for immersion such as 'Syltherm-XLT'",
                                 "is not a dielectric")
        if cooling == "cold-plate+immersion":
            kind = "cold-plate"
            info["model"] = "cold-plate (immersion share lumped with the liquid fraction)"
        if coolant(cool_name).kind == "gas":
            raise InputError("energy.coolant", cool_name, "a liquid coolant such as 'PG25' for liquid cooling", "is a gas")
    h = build_hall(accelerator=str(comp.accelerator), cards=int(comp.cards_per_node), n_racks=n_racks,
                   servers_per_rack=spr, cooling=kind, coolant_name=cool_name, supply_temperature=t_sup,
                   utilisation=utilisation, liquid_fraction=lf if kind == "cold-plate" else None,
                   server=server_spec(sc), air_supply_temperature=t_air)
    info.update(n_racks=n_racks, nodes=nodes, supply_temperature=t_sup, coolant=h.coolant)
    return h, info


#: Energy reads the training's utilisation and step times, the fabric's network power and the
#: storage system's power from the state tree.
NEEDS = ("fabric", "training")

#: Headline figures (scalar results) for compare and the app: (variable, label, unit).
HEADLINES = (("it_power", "IT power", "kW"), ("facility_power", "Facility power (annual mean)", "kW"),
             ("pue", "PUE (annual)", ""), ("wue", "WUE", "L/kWh"), ("throughput_factor", "Throughput kept under throttling", ""))


def evaluate(scenario, state) -> xr.Dataset:
    """The energy state of a scenario's hall.

    Parameters
    ----------
    scenario : twin.scenario.Scenario
        Uses compute.accelerator/nodes/cards_per_node and the energy section.
    state : xarray.DataTree
        The twin state: ``/training/results`` (gpu_utilisation drives the accelerators' power;
        step_time and step_time_nominal give the throughput kept under throttling),
        ``/fabric/results`` (network_power) and, when the storage domain is in NEEDS,
        ``/storage/results`` (storage_power) join the servers in the IT power.

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
    Steady state of the hall network (:func:`hall_steady`), transient by the numba kernel, PUE
    over a synthetic year of the scenario's climate (:func:`facility_year`).
    """
    from .. import tree

    util = tree.value(state, "training", "gpu_utilisation")
    h, info = hall_from_scenario(scenario, utilisation=util)
    st = hall_steady(h)
    S = h.servers_per_rack
    R = h.n_racks
    dc = (st["p_acc"] + st["p_other"]).reshape(R, S)
    wall = (dc + h.fan_w) / h.psu_eff
    rack_kw = wall.sum(axis=1) / 1e3
    tchip = st["t_chip"].reshape(R, S).max(axis=1)
    tout = st["t_fluid"].reshape(R, S).mean(axis=1)
    clock = st["clock"].reshape(R, S).mean(axis=1)
    rho_cp = coolant(h.coolant).rho_cp(h.t_supply)
    loop_flow = h.mcp_group / rho_cp
    servers_w = float(wall.sum())
    parts = {"servers": servers_w, "network": 1e3 * tree.value(state, "fabric", "network_power", "kW")}
    if "storage" in NEEDS:
        parts["storage"] = 1e3 * tree.value(state, "storage", "storage_power", "kW")
    it_w = float(sum(parts.values()))
    kind = h.cooling
    climate = str(_get(scenario.energy, "climate", "beijing"))
    fy = facility_year(cooling=kind, climate=climate, it_load_w=it_w,
                       liquid_fraction=liquid_share(h, st) * servers_w / it_w,  # network and storage: air
                       supply_temperature=h.t_supply if kind != "air" else None,
                       air_supply_temperature=_degc(_get(scenario.energy, "air_supply_temperature", "24 degC"),
                                                    "energy.air_supply_temperature"))
    month_idx = np.repeat(np.arange(12), [31 * 24, 28 * 24, 31 * 24, 30 * 24, 31 * 24, 30 * 24, 31 * 24, 31 * 24,
                                          30 * 24, 31 * 24, 30 * 24, 31 * 24])
    tot = fy["pue_hourly"] * fy["it"]
    pue_m = np.array([tot[month_idx == m].sum() / fy["it"][month_idx == m].sum() for m in range(12)])
    # floor area and density per cooling type for the same servers
    server_kw = float(wall.sum(axis=1).max() / S / 1e3)
    types = ["air", "cold-plate", "immersion"]
    plans = [floor_plan(n_servers=info["nodes"], server_kw=server_kw, cooling=t,
                        servers_per_rack=int(_get(scenario.energy, "servers_per_rack", 4)) if t == kind else 8)
             for t in types]
    # reliability and throughput
    af = arrhenius_factor(Q_(float(np.mean(st["t_chip"])), "degC"), Q_(65.0, "degC"))
    # throughput kept under throttling: training ran at the clock factor fed back by Twin.run
    thr = tree.value(state, "training", "step_time_nominal", "s") / tree.value(state, "training", "step_time", "s")
    # fault transient: CDU (or CRAH) of loop 0 fails after 60 s
    dt = 1.0
    dur = magnitude(scenario.energy.fault_horizon, "s", "energy.fault_horizon")
    fault = Fault("cdu-pump", time=60.0, group=0)
    tr = hall_transient(h, duration=dur, dt=dt, record_every=10, faults=[fault], initial=st)
    fs = float(np.min(tr["first_slowdown"]))
    sd = float(np.min(tr["shutdown"]))
    # the operator's time for each fault kind: seconds from the fault to the first throttle and
    # to the first shutdown (inf: not within the horizon)
    fault_list = [fault, Fault("leak", time=60.0, group=0, isolation_delay=30.0),
                  Fault("chiller-trip", time=60.0, duration=600.0)]
    t_thr, t_sd = [fs - fault.time], [sd - fault.time]
    for f in fault_list[1:]:
        r = hall_transient(h, duration=dur, dt=dt, record_every=max(1, int(dur / dt)), faults=[f], initial=st)
        t_thr.append(float(np.min(r["first_slowdown"])) - f.time)
        t_sd.append(float(np.min(r["shutdown"])) - f.time)
    ds = xr.Dataset(
        {
            "rack_power": ("rack", rack_kw, {"units": "kW", "long_name": "rack wall power"}),
            "chip_temperature": ("rack", tchip, {"units": "degC", "long_name": "hottest chip junction in the rack"}),
            "rack_outlet_temperature": ("rack", tout, {"units": "degC"}),
            "clock_factor": ("rack", clock, {"units": "", "long_name": "mean clock factor (throttling)"}),
            "loop_supply_temperature": ("loop", st["t_supply"], {"units": "degC"}),
            "loop_return_temperature": ("loop", st["t_return"], {"units": "degC"}),
            "loop_flow": ("loop", loop_flow, {"units": "m^3/s"}),
            "loop_heat": ("loop", st["q_group"] / 1e3, {"units": "kW"}),
            "facility_temperature": ((), float(st["t_facility"]), {"units": "degC"}),
            "it_power": ((), it_w / 1e3, {"units": "kW", "long_name": "servers, network and storage at the training's utilisation"}),
            "it_power_by_part": ("it_part", [v / 1e3 for v in parts.values()], {"units": "kW"}),
            "gpu_utilisation": ((), util, {"units": "", "long_name": "accelerator utilisation read from /training/results"}),
            "facility_power": ((), float(fy["energy_kwh"] / 8760.0), {"units": "kW", "long_name": "annual mean facility power"}),
            "pue": ((), fy["pue"], {"units": "", "long_name": "annual PUE"}),
            "pue_monthly": ("month", pue_m, {"units": ""}),
            "pue_hourly": ("hour", fy["pue_hourly"], {"units": "", "long_name": "instantaneous PUE, synthetic year"}),
            "free_cooling_fraction": ("hour", fy["free_fraction"], {"units": "",
                                                                    "long_name": "share of the heat removed without the chiller"}),
            "dry_bulb": ("hour", fy["dry_bulb"], {"units": "degC"}),
            "wue": ((), fy["wue"], {"units": "L/kWh"}),
            "failure_rate_factor": ((), af, {"units": "", "long_name": "Arrhenius factor vs 65 degC, Ea 0.7 eV"}),
            "throughput_factor": ((), thr, {"units": "", "long_name": "training throughput kept at the fed-back clock factor (step_time_nominal / step_time)"}),
            "floor_area": ("cooling_type", [p["area_m2"] for p in plans], {"units": "m^2"}),
            "rack_density": ("cooling_type", [p["rack_kw"] for p in plans], {"units": "kW"}),
            "racks": ("cooling_type", [p["racks"] for p in plans], {"units": ""}),
            "fault_chip_temperature": (("time", "rack"), tr["rack_tmax"], {"units": "degC"}),
            "fault_rack_power": (("time", "rack"), tr["rack_power"] / h.psu_eff / 1e3, {"units": "kW"}),
            "fault_loop_supply": (("time", "loop"), tr["group_tsup"], {"units": "degC"}),
            "time_to_throttle": ("fault", np.asarray(t_thr), {
                "units": "s", "long_name": "time from the fault to the first chip slowdown (inf: none in the horizon)"}),
            "time_to_shutdown": ("fault", np.asarray(t_sd), {
                "units": "s", "long_name": "operator time: from the fault to the first chip shutdown (inf: none in the horizon)"}),
        },
        coords={"rack": np.arange(R), "loop": np.arange(h.n_groups), "time": ("time", tr["time"], {"units": "s"}),
                "month": np.arange(1, 13), "cooling_type": types, "it_part": list(parts),
                "fault": ["cdu-pump", "leak", "chiller-trip"], "hour": ("hour", np.arange(8760), {"units": "h"}),
                "rack_loop": ("rack", h.rack_group)},
        attrs={"cooling": info["cooling"], "model": info["model"], "coolant": h.coolant, "climate": fy["city"],
               "accelerator": h.accelerator, "t_slowdown_degC": h.t_slow, "t_shutdown_degC": h.t_shut,
               "overheats": int(bool(st["overheats"])), "overheat_reason": st["reason"],
               "fault": "CDU pump (loop 0) fails at t = 60 s, no standby pump",
               "time_to_throttle_s": fs - fault.time if math.isfinite(fs) else float("inf"),
               "time_to_shutdown_s": sd - fault.time if math.isfinite(sd) else float("inf"),
               "heat_rejection": fy["rejection"]},
    )
    return ds
