"""The hall's thermal network and its steady state.

Per server a chip node (the server's accelerators lumped), a sink node (cold plates, heat sinks,
or immersion heat sinks) and a coolant node (the coolant or air in the server, at its outlet
temperature); racks are grouped into CDU loops (CRAH loops for air) that reject heat through an
effectiveness-NTU counterflow exchanger into one facility loop, held at its set point by a plant
of limited capacity (chiller, tower or dry cooler; see :mod:`twin.energy.facility`). Transients
and faults: :mod:`twin.energy.faults`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..units import check_range
from . import _kernels
from .coolants import coolant
from .power import (CLOCK_EXPONENT, DEFAULT_SERVER, IDLE_FRACTION, LEAKAGE_PER_K, T_REF_C, ServerSpec, accelerator_tdp, fan_fraction)
from .reliability import F_MIN, _chip_limits
from .cooling import COOLING, AIR_RACK_KW, AIR_T_TARGET, cooling_kind
from .coldplate import _plate_r, plate_fit

@dataclass
class Hall:
    """Parameters of a hall network in SI (plain floats/arrays), built by :func:`build_hall`."""

    cooling: str
    coolant: str
    accelerator: str
    n_racks: int
    servers_per_rack: int
    cards: int
    n_groups: int
    rack_group: np.ndarray
    util: np.ndarray  # per server
    p_static: float
    p_dyn: float
    k_leak: float
    t_ref: float
    p_other: np.ndarray  # per server, at full load, DC
    other_idle: float
    f_liq: float
    c_chip: float
    c_sink: float
    c_fluid: float
    g_cs: float
    g_sf: float
    mcp_server: float
    recirc: float
    t_slow: float
    t_shut: float
    t_max_op: float
    f_min: float
    mcp_group: np.ndarray
    ua_group: np.ndarray
    mcp_fac_group: np.ndarray
    t_set_group: np.ndarray
    c_header: float
    c_fac: float
    t_fac_set: float
    plant_capacity: float
    t_supply: float
    fan_w: float = 0.0  # server fan power (DC) per server at the operating point
    psu_eff: float = 0.94
    notes: list = field(default_factory=list)

    @property
    def n_servers(self):
        return self.n_racks * self.servers_per_rack


def build_hall(*, accelerator="H100-SXM5-80GB", cards=8, n_racks=10, servers_per_rack=8, cooling="cold-plate",
               coolant_name=None, supply_temperature=None, utilisation=1.0, racks_per_group=10,
               liquid_fraction=None, flow_per_kw=None, plant_margin=1.25, util=None, seed=None,
               server: ServerSpec | None = None, air_supply_temperature=24.0) -> Hall:
    """Build the parameters of a hall's thermal network.

    Parameters
    ----------
    accelerator : str
        Catalog accelerator (TDP and thermal limits from the catalog; without limits the white
        paper's 85 degC).
    cards : int
        Accelerators per server.
    n_racks, servers_per_rack : int
        Hall size.
    cooling : str
        ``"air"``, ``"cold-plate"`` or ``"immersion"`` (``"air+cold-plate"`` and
        ``"cold-plate+immersion"`` map to the liquid type).
    coolant_name : str, optional
        Catalog coolant (default air / PG25 / Syltherm-XLT). Immersion needs a dielectric.
    supply_temperature : float, optional
        Coolant (or air) supply temperature at the IT [degC]; must lie above the coolant's
        freezing point and below the chip's maximum operating temperature.
    utilisation : float
        Accelerator utilisation 0..1 (``util`` overrides it per server).
    racks_per_group : int
        Racks per CDU (or CRAH) loop.
    liquid_fraction : float, optional
        Share of server heat to liquid for cold plate (default 0.8; accelerators always on plates).
    flow_per_kw : float, optional
        Cold-plate coolant flow [L/min per kW of liquid heat] (OCP guideline 1.5).
    plant_margin : float
        Plant capacity over design IT heat.
    server : ServerSpec, optional
        Non-accelerator parts of the server (CPUs, memory, NVSwitches, NICs, fans, PSU);
        default :data:`~twin.energy.power.DEFAULT_SERVER`. :func:`twin.energy.hall_from_scenario`
        passes :func:`~twin.energy.power.server_spec` of the scenario, so the hall, ``evaluate``
        and :func:`~twin.energy.power.it_power` count the same parts.
    air_supply_temperature : float
        Room (inlet) air temperature of a liquid-cooled hall [degC]: it sets the fan speed for the
        residual air heat. For an air hall ``supply_temperature`` is the air temperature.

    Returns
    -------
    Hall
        Plain SI parameters for :func:`_hall_steady` and :func:`~twin.energy.faults._hall_transient`.

    Notes
    -----
    Per server: chip node C_chip, conductance G_cs = cards / R_jc to the sink node C_sink,
    G_sf to the coolant node C_fluid (cold plate: from :func:`~twin.energy.coldplate.plate_resistance` at the card's
    flow, less the 1/(m cp) the node model adds; air: heat-sink resistance scaled by
    airflow^-0.8; immersion: a fixed sink resistance), coolant node swept by m cp from the
    loop supply. Loops: counterflow exchanger with design effectiveness 0.8 at balanced flows.

    References
    ----------
    OCP cold-plate data and flow guideline (1.5 L/min per kW); Incropera et al., eq. 11.29
    (effectiveness-NTU); other constants are estimates stated in :data:`COOLING`.
    """
    kind = cooling_kind(cooling)
    spec = COOLING[kind]
    if n_racks < 1:
        raise InputError("energy.n_racks", n_racks, "a positive number of racks")
    if servers_per_rack < 1:
        raise InputError("energy.servers_per_rack", servers_per_rack, "a positive integer")
    if not (isinstance(cards, (int, np.integer)) and cards >= 1):
        raise InputError("compute.cards_per_node", cards, "a positive integer number of accelerators per server")
    if not (isinstance(racks_per_group, (int, np.integer)) and racks_per_group >= 1):
        raise InputError("racks_per_group", racks_per_group, "a positive integer number of racks per CDU loop")
    if coolant_name is None:
        coolant_name = {"air": "air", "cold-plate": "PG25", "immersion": "Syltherm-XLT"}[kind]
    cool = coolant(coolant_name)
    if kind == "air" and cool.kind != "gas":
        raise InputError("energy.coolant", coolant_name, "'air' for air cooling", "is not a gas")
    if kind == "immersion" and cool.kind != "dielectric":
        raise InputError("energy.coolant", coolant_name, "a dielectric coolant for immersion, e.g. 'Syltherm-XLT'",
                         "is not a dielectric (it would short the electronics)")
    if supply_temperature is None:
        supply_temperature = {"air": 24.0, "cold-plate": 40.0, "immersion": 35.0}[kind]
    cool.check_temperature(supply_temperature, "energy.supply_temperature")
    tdp = accelerator_tdp(accelerator)
    lim = _chip_limits(accelerator)
    if supply_temperature >= lim["t_max_operating"]:
        raise InputError("energy.supply_temperature", f"{supply_temperature:g} degC",
                         f"a supply temperature below the chip limit {lim['t_max_operating']:g} degC")
    n_srv = n_racks * servers_per_rack
    check_range(utilisation, "utilisation", lo=0.0, hi=1.0)
    u = np.full(n_srv, float(utilisation)) if util is None else np.asarray(util, dtype=float).copy()
    if u.shape != (n_srv,) or np.any(~np.isfinite(u)) or np.any(u < 0) or np.any(u > 1):
        raise InputError("util", "array", f"{n_srv} utilisations between 0 and 1")
    spec_srv = DEFAULT_SERVER if server is None else server
    if not isinstance(spec_srv, ServerSpec):
        raise InputError("server", type(spec_srv).__name__, "a twin.energy.power.ServerSpec")
    t_air = float(air_supply_temperature)
    if not math.isfinite(t_air):
        raise InputError("energy.air_supply_temperature", air_supply_temperature, "a finite temperature in degC")
    p_acc = cards * tdp
    other = spec_srv.other
    p_static = cards * IDLE_FRACTION * tdp
    p_dyn = cards * (1 - IDLE_FRACTION) * tdp
    rho, cp, _, _ = cool.props(supply_temperature, "energy.supply_temperature")
    design_heat = p_acc + other
    notes = []
    if kind == "air":
        lf = 0.0
        f_liq = 1.0  # all "other" heat into the same air stream
        # fan speed: the larger of what keeps the exhaust below its limit and what holds the
        # hottest chip at AIR_T_TARGET (server fan curves track GPU temperature); the heat sink
        # conductance scales with airflow^0.8 from its full-speed value
        n_exh = fan_fraction(design_heat, design_heat, supply_temperature, spec_srv)
        mcp_full = rho * cp * design_heat / (rho * cp * spec_srv.dt_air_min) * 1.0

        def tj(nn):
            m_ = mcp_full * nn
            tin = supply_temperature + spec["recirc"] / (1 - spec["recirc"]) * design_heat / m_
            return tin + design_heat / m_ + tdp * (spec["r_jc"] + spec["r_sink"] / nn ** 0.8)

        n = n_exh
        if tj(n) > AIR_T_TARGET:
            lo, hi = n, 1.0
            for _ in range(50):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if tj(mid) > AIR_T_TARGET else (lo, mid)
            n = hi
        mcp = mcp_full * n
        fan_w = spec_srv.fan_max * n ** 3
        r_sink = spec["r_sink"] / n ** 0.8
        g_sf = cards / r_sink
    elif kind == "cold-plate":
        lf = 0.8 if liquid_fraction is None else float(liquid_fraction)
        check_range(lf, "energy.liquid_fraction", lo=0.0, hi=1.0)
        fpk = spec["flow_per_kw"] if flow_per_kw is None else float(flow_per_kw)
        if not fpk > 0:
            raise InputError("energy.flow_per_kw", fpk, "a positive flow such as 1.5 (L/min per kW)", "is not positive")
        liquid_heat = max(lf * design_heat, p_acc)
        f_liq = min(max((liquid_heat - p_acc) / other, 0.0), 1.0)
        flow_lpm = fpk * liquid_heat / 1000.0
        mcp = rho * cp * flow_lpm / 60000.0
        r_plate = _plate_r(plate_fit(), flow_lpm / cards, coolant_name, supply_temperature)
        r_srv = r_plate / cards - 1.0 / mcp  # plate R is case-to-inlet; the node model adds 1/mcp
        r_srv = max(r_srv, 1e-5)
        g_sf = 1.0 / r_srv
        air_share = 1.0 - (p_acc + f_liq * other) / design_heat
        n = fan_fraction(air_share * design_heat, air_share * design_heat, t_air, spec_srv)
        fan_w = air_share * spec_srv.fan_max * n ** 3
    else:
        lf = 1.0
        f_liq = 1.0
        flow_m3s = design_heat / (rho * cp * spec["dt_design"])
        mcp = rho * cp * flow_m3s
        g_sf = cards / spec["r_sink"]
        fan_w = 0.0
    g_cs = cards / spec["r_jc"]
    # groups (CDUs / CRAH rows)
    rpg = max(1, int(racks_per_group))
    n_grp = (n_racks + rpg - 1) // rpg
    rack_group = (np.arange(n_racks) // rpg).astype(np.int64)
    counts = np.bincount(rack_group, minlength=n_grp).astype(float)
    mcp_group = counts * servers_per_rack * mcp
    mcp_fac_group = mcp_group.copy()  # balanced exchanger
    eps_design = 0.8
    ntu = eps_design / (1 - eps_design)  # counterflow, Cr = 1: eps = NTU / (1 + NTU)
    ua_group = ntu * mcp_group
    # facility loop set point: supply minus the CDU approach at design ((1-eps)/eps * dT_sec)
    dt_sec = design_heat / mcp
    approach = (1 - eps_design) / eps_design * dt_sec + 1.0
    t_fac_set = supply_temperature - approach
    water = coolant("water")
    c_header = 0.2 * water.rho_cp(max(t_fac_set, 5.0)) * counts.max() / 10.0  # 0.2 m^3 per 10-rack loop
    it_design = n_srv * design_heat
    c_fac = 5.0 * water.rho_cp(max(t_fac_set, 5.0)) * max(it_design / 1e6, 0.05)  # 5 m^3 per MW
    p_other = np.full(n_srv, other)
    return Hall(cooling=kind, coolant=coolant_name, accelerator=accelerator, n_racks=n_racks,
                servers_per_rack=servers_per_rack, cards=cards, n_groups=n_grp, rack_group=rack_group, util=u,
                p_static=p_static, p_dyn=p_dyn, k_leak=LEAKAGE_PER_K, t_ref=T_REF_C, p_other=p_other,
                other_idle=spec_srv.other_idle_fraction, f_liq=f_liq, c_chip=spec["c_chip"],
                c_sink=spec["c_sink"], c_fluid=spec["c_fluid"], g_cs=g_cs, g_sf=g_sf, mcp_server=mcp,
                recirc=spec["recirc"], t_slow=lim["t_slowdown"], t_shut=lim["t_shutdown"],
                t_max_op=lim["t_max_operating"], f_min=F_MIN, mcp_group=mcp_group, ua_group=ua_group,
                mcp_fac_group=mcp_fac_group, t_set_group=np.full(n_grp, float(supply_temperature)),
                c_header=c_header, c_fac=c_fac, t_fac_set=t_fac_set,
                plant_capacity=plant_margin * it_design, t_supply=float(supply_temperature), fan_w=fan_w,
                psu_eff=spec_srv.psu_efficiency, notes=notes)


# --- steady state (closed form along the flow path) -----------------------------------

def _servers_steady(h: Hall, idx, t_in, load=1.0):
    """Steady servers ``idx`` (array) at inlet temperatures ``t_in`` (array, degC), vectorised.

    Returns arrays (t_chip, t_sink, t_fluid, p_acc, p_other, clock, q_liq). Along the flow path
    T_c = t_in + q_l / mcp + P r_tot with P = a(f) + b T_c linear in T_c (leakage); a throttled
    server (T_c above slowdown) is solved for the clock f = clock(T_c(f)) by bisection.
    """
    u = h.util[idx] * load
    po = h.p_other[idx] * (h.other_idle + (1 - h.other_idle) * u)
    ql = h.f_liq * po
    r_tot = 1.0 / h.mcp_server + 1.0 / h.g_sf + 1.0 / h.g_cs
    b = h.p_static * h.k_leak
    base = t_in + ql / h.mcp_server

    def solve(f, u_, base_):
        a = h.p_static * (1 - h.k_leak * h.t_ref) + h.p_dyn * u_ * f ** CLOCK_EXPONENT
        p_ = (a + b * base_) / (1 - b * r_tot)
        return p_, base_ + p_ * r_tot

    f = np.ones_like(u)
    p, tc = solve(f, u, base)
    hot = tc > h.t_slow
    if np.any(hot):
        # throttled equilibrium: bisection on f in [f_min, 1] for f = clock(tc(f))
        uh, bh = u[hot], base[hot]
        lo = np.full(uh.shape, h.f_min)
        hi = np.ones_like(uh)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            _, tcm = solve(mid, uh, bh)
            fm = np.where(tcm > h.t_slow,
                          np.maximum(h.f_min, 1 - (tcm - h.t_slow) / (h.t_shut - h.t_slow) * (1 - h.f_min)), 1.0)
            down = fm < mid
            hi = np.where(down, mid, hi)
            lo = np.where(down, lo, mid)
        f[hot] = 0.5 * (lo + hi)
        p, tc = solve(f, u, base)
    p = np.maximum(p, 0.0)
    tf = t_in + (p + ql) / h.mcp_server
    ts = tf + p / h.g_sf
    return tc, ts, tf, p, po, f, ql


def _hall_steady(h: Hall, load=1.0) -> dict:
    """Steady state of the hall network.

    Parameters
    ----------
    h : Hall
        From :func:`build_hall`.
    load : float
        Multiplier on every server's utilisation.

    Returns
    -------
    dict
        Per server ``t_chip``, ``t_sink``, ``t_fluid`` [degC], ``p_acc``, ``p_other``, ``q_liq`` [W],
        ``clock``; per loop ``t_supply``, ``t_return`` [degC], ``q_group`` [W]; ``q_air``,
        ``q_plant``, ``p_it_dc`` [W], ``t_facility`` [degC]; ``overheats`` (bool) and ``reason``
        (plant capacity, rack heat beyond the cooling type's limit, chips at shutdown).

    Notes
    -----
    Along each server's flow path T_c = T_in + q_l / (m c_p) + P (1/(m c_p) + 1/G_sf + 1/G_cs),
    P = P_s (1 + k (T_c - T_ref)) + P_d u f^3 solved in closed form (bisection on f when
    throttled); rack inlets with recirculation r solve T_in = (1 - r) T_sup + r T_out; a loop's
    supply holds its set point unless its counterflow exchanger (effectiveness-NTU) cannot reject
    the loop's heat. Plant heat equals the servers' heat (accelerators + other, DC side).

    References
    ----------
    Incropera et al., Fundamentals of Heat and Mass Transfer, eq. 11.29 (counterflow effectiveness).
    """
    n = h.n_servers
    out = {k: np.zeros(n) for k in ("t_chip", "t_sink", "t_fluid", "p_acc", "p_other", "clock", "q_liq")}
    t_sup = np.empty(h.n_groups)
    t_ret = np.empty(h.n_groups)
    q_grp = np.zeros(h.n_groups)
    overheats = False
    reason = ""
    t_fac = h.t_fac_set
    for g in range(h.n_groups):
        racks = np.nonzero(h.rack_group == g)[0]
        mg = h.mcp_group[g]
        # the CDU holds its set point if its exchanger can; else supply floats up
        ts_g = h.t_set_group[g]
        S = h.servers_per_rack
        srv = (racks[:, None] * S + np.arange(S)[None, :]).ravel()
        for _ in range(200):
            # all racks of the loop at once; with recirculation the rack inlet is a fixed point
            # t_in = (1 - r) t_supply + r t_out(t_in), iterated to 1e-12 K
            tin = np.full(racks.size, ts_g)
            for _it in range(100 if h.recirc > 0 else 1):
                res = _servers_steady(h, srv, np.repeat(tin, S), load)
                tout = res[2].reshape(racks.size, S).mean(axis=1)
                new_tin = (1 - h.recirc) * ts_g + h.recirc * tout
                if np.max(np.abs(new_tin - tin)) < 1e-12:
                    break
                tin = new_tin
            for k, key in enumerate(("t_chip", "t_sink", "t_fluid", "p_acc", "p_other", "clock", "q_liq")):
                out[key][srv] = res[k]
            q_g = float(np.sum(res[3] + res[6]))
            th = ts_g + q_g / mg
            cmin = min(mg, h.mcp_fac_group[g])
            cmax = max(mg, h.mcp_fac_group[g])
            eps = _kernels.counterflow_effectiveness(h.ua_group[g] / cmin, cmin / cmax)
            qmax = eps * cmin * (th - t_fac)
            if qmax >= q_g - 1e-9 * max(q_g, 1.0):
                new_ts = h.t_set_group[g]
            else:
                # exchanger-limited: th = t_fac + q/(eps cmin), ts = th - q/mg
                new_ts = t_fac + q_g / (eps * cmin) - q_g / mg
            if abs(new_ts - ts_g) < 1e-10:
                ts_g = new_ts
                break
            ts_g = new_ts
        t_sup[g] = ts_g
        t_ret[g] = ts_g + q_g / mg
        q_grp[g] = q_g
    q_air = float(np.sum(out["p_other"] - out["q_liq"]))
    q_plant = float(q_grp.sum()) + q_air
    if q_plant > h.plant_capacity:
        overheats = True
        reason = f"plant capacity {h.plant_capacity / 1e3:.0f} kW < heat {q_plant / 1e3:.0f} kW"
    shape = (h.n_racks, h.servers_per_rack)
    rack_kw = (out["p_acc"] + out["p_other"]).reshape(shape).sum(axis=1) / 1e3
    air_kw = rack_kw if h.cooling == "air" else (out["p_other"] - out["q_liq"]).reshape(shape).sum(axis=1) / 1e3
    limit = COOLING[h.cooling]["max_rack_kw"]
    art = "an" if h.cooling[0] in "aeiou" else "a"
    if rack_kw.max() > limit:
        overheats = True
        reason = (reason + "; " if reason else "") + (
            f"rack heat {rack_kw.max():.1f} kW exceeds the {limit:g} kW {art} {h.cooling} rack can remove")
    elif h.cooling != "air" and air_kw.max() > AIR_RACK_KW:
        overheats = True
        reason = (reason + "; " if reason else "") + (
            f"the air-side heat of a rack, {air_kw.max():.1f} kW, exceeds the {AIR_RACK_KW:g} kW the room air can remove")
    if np.any(out["t_chip"] >= h.t_shut):
        overheats = True
        reason = (reason + "; " if reason else "") + f"chips reach shutdown {h.t_shut:g} degC"
    out.update(t_supply=t_sup, t_return=t_ret, q_group=q_grp, q_air=q_air, q_plant=q_plant,
               t_facility=t_fac, overheats=overheats, reason=reason,
               p_it_dc=float(np.sum(out["p_acc"] + out["p_other"])))
    return out


def _liquid_share(h: Hall, steady: dict) -> float:
    """Share of the hall's wall power that leaves in the liquid [0..1].

    Parameters
    ----------
    h : Hall
        The hall.
    steady : dict
        Its :func:`_hall_steady` result.

    Returns
    -------
    float
        0 for air; 1 for immersion (PSUs and fans immersed too); for cold plate the
        accelerators' heat plus the liquid share of the other parts over the wall power (fans,
        PSU losses and the rest of the other parts go to the room air).

    Notes
    -----
    s = sum(P_acc + q_liq) / sum((P_acc + P_other + P_fan) / eta_PSU).
    """
    if h.cooling == "air":
        return 0.0
    if h.cooling == "immersion":
        return 1.0
    wall = float(np.sum((steady["p_acc"] + steady["p_other"] + h.fan_w) / h.psu_eff))
    return float(np.sum(steady["p_acc"] + steady["q_liq"])) / max(wall, 1e-9)
