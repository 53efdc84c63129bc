"""Transients of the hall network (numba kernel) and the cooling faults that drive them."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..units import check_range
from . import _kernels
from .hall import Hall, _hall_steady

# --- transient -------------------------------------------------------------------------

@dataclass
class Fault:
    """A step event at ``time`` [s]: ``kind`` in {"cdu-pump", "leak", "chiller-trip"}.

    cdu-pump: loop ``group`` flow falls to ``residual`` (0 = pump dead, no standby).
    leak: loop ``group`` is isolated ``isolation_delay`` s after the leak (flow -> 0).
    chiller-trip: plant capacity falls to ``residual`` of design for ``duration`` s (restart).
    """

    kind: str
    time: float = 600.0
    group: int = 0
    residual: float = 0.0
    duration: float = 900.0
    isolation_delay: float = 30.0


def _fault_arrays(h: Hall, faults, horizon):
    cap_t = [0.0]
    cap_v = [h.plant_capacity]
    fl_t, fl_g, fl_f = [], [], []
    for f in faults or []:
        if isinstance(f, dict):
            f = Fault(**f)
        if f.kind not in ("cdu-pump", "leak", "chiller-trip"):
            from ..errors import unknown_name

            raise unknown_name("fault.kind", f.kind, ["cdu-pump", "leak", "chiller-trip"], "fault")
        if not (0 <= f.time):
            raise InputError("fault.time", f.time, "a time >= 0 s")
        if f.kind in ("cdu-pump", "leak"):
            if not 0 <= f.group < h.n_groups:
                raise InputError("fault.group", f.group, f"a loop index 0..{h.n_groups - 1}")
            check_range(f.residual, "fault.residual", lo=0.0, hi=1.0)
            t = f.time + (f.isolation_delay if f.kind == "leak" else 0.0)
            fl_t.append(t)
            fl_g.append(f.group)
            fl_f.append(f.residual if f.kind == "cdu-pump" else 0.0)
        else:
            check_range(f.residual, "fault.residual", lo=0.0, hi=1.0)
            cap_t += [f.time, f.time + f.duration]
            cap_v += [h.plant_capacity * f.residual, h.plant_capacity]
    order = np.argsort(cap_t, kind="stable")
    cap_t = np.asarray(cap_t)[order]
    cap_v = np.asarray(cap_v)[order]
    o2 = np.argsort(fl_t, kind="stable")
    return (cap_t.astype(np.float64), cap_v.astype(np.float64), np.asarray(fl_t, dtype=np.float64)[o2],
            np.asarray(fl_g, dtype=np.int64)[o2], np.asarray(fl_f, dtype=np.float64)[o2])


def _hall_transient(h: Hall, duration=3600.0, dt=1.0, record_every=10, faults=None, profile=None,
                   profile_dt=None, initial=None, load=1.0):
    """Integrate the hall network from its steady state (or ``initial``).

    Parameters
    ----------
    h : Hall
        From :func:`~twin.energy.hall.build_hall`.
    duration, dt : float
        Horizon and step [s], > 0.
    record_every : int
        Steps between records.
    faults : list of Fault or dict, optional
        Pump failures, leaks with isolation, chiller trips.
    profile, profile_dt : array, float, optional
        Load factors 0..1 every ``profile_dt`` s.
    initial : dict, optional
        State to start from (default :func:`~twin.energy.hall._hall_steady`).
    load : float
        Multiplier on utilisation.

    Returns
    -------
    dict
        ``time`` [s]; per rack ``rack_power`` [W], ``rack_tmax`` [degC], ``rack_clock``,
        ``rack_tout`` [degC]; per loop ``group_tsup``, ``group_tret`` [degC], ``group_q`` [W];
        ``fac_t`` [degC], ``plant_q`` [W]; per server ``first_slowdown`` and ``shutdown`` [s]
        (inf if never); ``overheats_at`` [s] and ``message``; ``final`` state.

    Notes
    -----
    Backward Euler, C (T^{n+1} - T^n) / dt = sum G (T_j^{n+1} - T^{n+1}) + m c_p (T_up - T^{n+1}) + P:
    each server's chip - sink - coolant chain solved implicitly (tridiagonal) with the previous
    step's inlet and leakage, then the loops' return headers, exchangers and the facility loop
    in flow order (numba kernel :func:`twin.energy._kernels.hall_transient`).

    References
    ----------
    scipy.integrate reference of the same ODEs: :mod:`twin.energy._reference`.
    """
    if not (dt > 0 and math.isfinite(dt)):
        raise InputError("dt", dt, "a positive time step in s")
    if not (duration > 0 and math.isfinite(duration)):
        raise InputError("duration", duration, "a positive duration in s")
    n_steps = int(round(duration / dt))
    rec_every = max(1, int(record_every))
    n_rec = n_steps // rec_every
    if profile is None:
        profile = np.array([1.0])
        profile_dt = duration + dt
    profile = np.asarray(profile, dtype=np.float64)
    if np.any(~np.isfinite(profile)) or np.any(profile < 0) or np.any(profile > 1):
        raise InputError("profile", "array", "load factors between 0 and 1")
    if initial is None:
        initial = _hall_steady(h, load=float(profile[0]) * load)
    t_chip = np.asarray(initial["t_chip"], dtype=np.float64).copy()
    t_sink = np.asarray(initial["t_sink"], dtype=np.float64).copy()
    t_fluid = np.asarray(initial["t_fluid"], dtype=np.float64).copy()
    t_sup = np.asarray(initial["t_supply"], dtype=np.float64).copy()
    t_header = np.asarray(initial["t_return"], dtype=np.float64).copy()
    t_fac = float(initial["t_facility"])
    cap_t, cap_v, fl_t, fl_g, fl_f = _fault_arrays(h, faults, duration)
    R, G = h.n_racks, h.n_groups
    rec = {k: np.zeros((n_rec, R)) for k in ("rack_power", "rack_tmax", "rack_clock", "rack_tout")}
    rec.update({k: np.zeros((n_rec, G)) for k in ("group_tsup", "group_tret", "group_q")})
    rec["fac_t"] = np.zeros(n_rec)
    rec["plant_q"] = np.zeros(n_rec)
    first_slow = np.full(h.n_servers, np.inf)
    shut = np.full(h.n_servers, np.inf)
    t_fac = _kernels.hall_transient(
        n_steps, float(dt), rec_every, h.servers_per_rack, h.rack_group, h.util * load, profile,
        float(profile_dt), h.p_static, h.p_dyn, h.k_leak, h.t_ref, h.p_other, h.other_idle, h.f_liq,
        h.c_chip, h.c_sink, h.c_fluid, h.g_cs, h.g_sf, h.mcp_server, h.recirc, h.t_slow, h.t_shut, h.f_min,
        h.mcp_group, h.ua_group, h.mcp_fac_group, h.t_set_group, h.c_header, h.c_fac, h.t_fac_set,
        cap_t, cap_v, fl_t, fl_g, fl_f, t_chip, t_sink, t_fluid, t_header, t_sup, t_fac,
        rec["rack_power"], rec["rack_tmax"], rec["rack_clock"], rec["rack_tout"], rec["group_tsup"],
        rec["group_tret"], rec["group_q"], rec["fac_t"], rec["plant_q"], first_slow, shut)
    rec["time"] = (np.arange(n_rec) + 1) * rec_every * dt
    rec["first_slowdown"] = first_slow
    rec["shutdown"] = shut
    t_over = float(np.min(shut)) if shut.size else math.inf
    rec["overheats_at"] = t_over
    rec["message"] = (f"overheats at t = {t_over:.0f} s (first chip reaches shutdown {h.t_shut:g} degC)"
                      if math.isfinite(t_over) else "no chip reaches shutdown")
    rec["final"] = {"t_chip": t_chip, "t_sink": t_sink, "t_fluid": t_fluid, "t_supply": t_sup,
                    "t_return": t_header, "t_facility": t_fac}
    return rec
