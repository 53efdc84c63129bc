"""numba kernels of the energy domain (SI units: W, K or degC offsets, J/K, W/K, s).

Two kernels:

* :func:`hall_transient` - the structured lumped RC network of a hall: per server a chip
  node, a sink node (cold plate or heat sink) and a coolant node (coolant or air in the
  server), servers grouped in racks, racks in CDU (or CRAH) loops, the loops rejecting heat
  through an effectiveness-NTU heat exchanger into one facility loop, the facility loop cooled
  by a plant of limited capacity. Backward Euler: each server's chip - sink - coolant chain is
  solved implicitly (tridiagonal), then the loops are swept in flow order (CDU -> facility);
  unconditionally stable at the 1 s step.
* :func:`network_steady` / :func:`network_transient` - a general network of nodes with
  conductive links, advective (upwind) links and fixed-temperature boundary nodes, used for
  the invariants on random networks and for small custom networks.

Only numpy, numba and math are imported here (contract).
"""
import math

import numpy as np
from numba import njit


@njit(cache=True)
def counterflow_effectiveness(ntu, cr):
    """Effectiveness of a counterflow heat exchanger (Incropera eq. 11.29a/b)."""
    if ntu <= 0.0:
        return 0.0
    if cr < 1e-9:
        return 1.0 - math.exp(-ntu)
    if abs(cr - 1.0) < 1e-9:
        return ntu / (1.0 + ntu)
    e = math.exp(-ntu * (1.0 - cr))
    return (1.0 - e) / (1.0 - cr * e)


@njit(cache=True)
def hall_transient(n_steps, dt, rec_every,
                   servers_per_rack, rack_group,
                   util, profile, profile_dt,
                   p_static, p_dyn, k_leak, t_ref, p_other, other_idle, f_liq,
                   c_chip, c_sink, c_fluid, g_cs, g_sf, mcp_server, recirc,
                   t_slow, t_shut, f_min,
                   mcp_group, ua_group, mcp_fac_group, t_set_group, c_header,
                   c_fac, t_fac_set, cap_times, cap_values,
                   flow_times, flow_group, flow_factor,
                   t_chip, t_sink, t_fluid, t_header, t_sup, t_fac0,
                   rec_rack_power, rec_rack_tmax, rec_rack_clock, rec_rack_tout,
                   rec_group_tsup, rec_group_tret, rec_group_q, rec_fac_t, rec_plant_q,
                   first_slow, shut_time):
    """Integrate a hall's thermal network for ``n_steps`` steps of ``dt`` seconds.

    State arrays (``t_chip``, ``t_sink``, ``t_fluid`` per server; ``t_header``, ``t_sup`` per
    group) are updated in place; records every ``rec_every`` steps go to the ``rec_*`` arrays
    (row k holds the state after step (k+1)*rec_every). ``first_slow``/``shut_time`` per server
    hold the first time [s] the chip passed ``t_slow`` / reached ``t_shut`` (inf if never).
    Returns the final facility-loop temperature.
    """
    n_srv = t_chip.shape[0]
    n_rack = n_srv // servers_per_rack
    n_grp = mcp_group.shape[0]
    n_prof = profile.shape[0]
    ac = c_chip / dt
    a_s = c_sink / dt
    af = c_fluid / dt
    ah = c_header / dt
    afac = c_fac / dt
    inv_c = 1.0 / (ac + g_cs)
    flow_scale = np.ones(n_grp)
    alive = np.ones(n_srv)
    rack_out = np.empty(n_rack)
    rack_pow = np.empty(n_rack)
    rack_tmax = np.empty(n_rack)
    rack_clock = np.empty(n_rack)
    for r in range(n_rack):
        rack_out[r] = t_sup[rack_group[r]]
    g_q = np.zeros(n_grp)
    g_sum_mT = np.zeros(n_grp)
    g_sum_m = np.zeros(n_grp)
    t_fac = t_fac0
    i_cap = 0
    i_flow = 0
    n_cap = cap_times.shape[0]
    n_ev = flow_times.shape[0]
    cap = cap_values[0]
    k_thr = (1.0 - f_min) / (t_shut - t_slow)
    rec = 0
    for k in range(n_steps):
        t = (k + 1) * dt
        # step changes of plant capacity and of loop flows (faults, isolation)
        while i_cap + 1 < n_cap and cap_times[i_cap + 1] <= t:
            i_cap += 1
        cap = cap_values[i_cap]
        while i_flow < n_ev and flow_times[i_flow] <= t:
            g = flow_group[i_flow]
            flow_scale[g] = flow_factor[i_flow]
            i_flow += 1
        ip = int(t / profile_dt)
        if ip >= n_prof:
            ip = n_prof - 1
        load = profile[ip]
        for g in range(n_grp):
            g_sum_mT[g] = 0.0
            g_sum_m[g] = 0.0
        q_air = 0.0
        for r in range(n_rack):
            g = rack_group[r]
            m = mcp_server * flow_scale[g]
            tin = (1.0 - recirc) * t_sup[g] + recirc * rack_out[r]
            s0 = r * servers_per_rack
            p_r = 0.0
            tmax = -1e30
            clk = 0.0
            tout = 0.0
            for i in range(s0, s0 + servers_per_rack):
                tc = t_chip[i]
                u = util[i] * load
                f = 1.0
                if tc > t_slow:
                    f = 1.0 - (tc - t_slow) * k_thr
                    if f < f_min:
                        f = f_min
                    if first_slow[i] == np.inf:
                        first_slow[i] = t
                if tc >= t_shut and alive[i] > 0.0:
                    alive[i] = 0.0
                    shut_time[i] = t
                al = alive[i]
                p = al * (p_static * (1.0 + k_leak * (tc - t_ref)) + p_dyn * u * f * f * f)
                if p < 0.0:
                    p = 0.0
                po = al * p_other[i] * (other_idle + (1.0 - other_idle) * u)
                ql = f_liq * po
                q_air += po - ql
                # backward Euler on the server's chip - sink - coolant chain, solved exactly
                # (3x3 tridiagonal, Thomas algorithm); the inlet tin and the leakage power are
                # taken from the previous step. (A one-pass Gauss-Seidel sweep here lagged the
                # chain by about 20 s per second of step after a pump failure.)
                r1 = ac * tc + p
                b2 = a_s + g_cs + g_sf - g_cs * g_cs * inv_c
                r2 = a_s * t_sink[i] + g_cs * r1 * inv_c
                b3 = af + g_sf + m - g_sf * g_sf / b2
                r3 = af * t_fluid[i] + m * tin + ql + g_sf * r2 / b2
                tf = r3 / b3
                ts = (r2 + g_sf * tf) / b2
                tc = (r1 + g_cs * ts) * inv_c
                t_chip[i] = tc
                t_sink[i] = ts
                t_fluid[i] = tf
                p_r += p + po
                if tc > tmax:
                    tmax = tc
                clk += f * al
                tout += tf
            tout = tout / servers_per_rack
            rack_out[r] = tout
            rack_pow[r] = p_r
            rack_tmax[r] = tmax
            rack_clock[r] = clk / servers_per_rack
            # bypass air: a fraction recirc of the supply returns to the CRAH unheated, which
            # is the mass balance of the exhaust recirculated into the server inlets
            g_sum_mT[g] += m * servers_per_rack * ((1.0 - recirc) * tout + recirc * t_sup[g])
            g_sum_m[g] += m * servers_per_rack
        # CDU / CRAH loops: return header node, then the heat exchanger to the facility loop
        q_fac_in = q_air
        for g in range(n_grp):
            mg = g_sum_m[g]
            if mg > 0.0:
                tret = g_sum_mT[g] / mg
            else:
                tret = t_header[g]
            th = (ah * t_header[g] + mg * tret) / (ah + mg)
            t_header[g] = th
            mf = mcp_fac_group[g]
            cmin = mg if mg < mf else mf
            cmax = mf if mg < mf else mg
            q = 0.0
            if cmin > 0.0 and th > t_fac:
                eps = counterflow_effectiveness(ua_group[g] / cmin, cmin / cmax)
                qmax = eps * cmin * (th - t_fac)
                qneed = mg * (th - t_set_group[g])
                if qneed < 0.0:
                    qneed = 0.0
                q = qmax if qmax < qneed else qneed
            if mg > 0.0:
                t_sup[g] = th - q / mg
            # with no secondary flow the header heat stays in the header
            g_q[g] = q
            q_fac_in += q
        # facility loop: plant removes what brings it to its set point, up to its capacity
        q_need = q_fac_in + afac * (t_fac - t_fac_set)
        if q_need < 0.0:
            q_need = 0.0
        q_plant = q_need if q_need < cap else cap
        t_fac = t_fac + (q_fac_in - q_plant) / afac
        if (k + 1) % rec_every == 0 and rec < rec_rack_power.shape[0]:
            for r in range(n_rack):
                rec_rack_power[rec, r] = rack_pow[r]
                rec_rack_tmax[rec, r] = rack_tmax[r]
                rec_rack_clock[rec, r] = rack_clock[r]
                rec_rack_tout[rec, r] = rack_out[r]
            for g in range(n_grp):
                rec_group_tsup[rec, g] = t_sup[g]
                rec_group_tret[rec, g] = t_header[g]
                rec_group_q[rec, g] = g_q[g]
            rec_fac_t[rec] = t_fac
            rec_plant_q[rec] = q_plant
            rec += 1
    return t_fac


@njit(cache=True)
def _couple(a, fixed, i, j, g):
    """Row i (if free) gains the link g [W/K] from node i to node j."""
    if not fixed[i]:
        a[i, i] += g
        a[i, j] -= g


@njit(cache=True)
def _boundary_gain(qb, fixed, t, i, j, g):
    """Boundary node i (if fixed) gains g (T_j - T_i) [W] over the link g [W/K] from node j."""
    if fixed[i]:
        qb[i] += g * (t[j] - t[i])


@njit(cache=True)
def _add_links(a, cond_i, cond_j, cond_g, adv_from, adv_to, adv_mcp, fixed):
    """Add the conductive (symmetric) and advective (upwind) links to the rows of free nodes."""
    for e in range(cond_i.shape[0]):
        _couple(a, fixed, cond_i[e], cond_j[e], cond_g[e])
        _couple(a, fixed, cond_j[e], cond_i[e], cond_g[e])
    for e in range(adv_from.shape[0]):
        # upwind: the receiving node gains mcp (T_from - T_to)
        _couple(a, fixed, adv_to[e], adv_from[e], adv_mcp[e])


@njit(cache=True)
def network_steady(n, cond_i, cond_j, cond_g, adv_from, adv_to, adv_mcp, q, fixed, t_fixed):
    """Steady state of a general thermal network.

    Conductive links (i, j, G [W/K]); advective links carry mcp [W/K] from node ``adv_from``
    to ``adv_to`` (upwind: the receiving node gains mcp (T_from - T_to)); ``q`` [W] sources;
    ``fixed`` (0/1) marks boundary nodes held at ``t_fixed``. Returns (T, heat into each
    boundary node [W]). Each advective link must be balanced by a return path so that the
    mass flow into every free node equals the flow out (the caller checks).
    """
    a = np.zeros((n, n))
    b = np.zeros(n)
    for i in range(n):
        if fixed[i]:
            a[i, i] = 1.0
            b[i] = t_fixed[i]
        else:
            b[i] = q[i]
    _add_links(a, cond_i, cond_j, cond_g, adv_from, adv_to, adv_mcp, fixed)
    t = np.linalg.solve(a, b)
    qb = np.zeros(n)
    for e in range(cond_i.shape[0]):
        _boundary_gain(qb, fixed, t, cond_i[e], cond_j[e], cond_g[e])
        _boundary_gain(qb, fixed, t, cond_j[e], cond_i[e], cond_g[e])
    for e in range(adv_from.shape[0]):
        _boundary_gain(qb, fixed, t, adv_to[e], adv_from[e], adv_mcp[e])
    return t, qb


@njit(cache=True)
def network_transient(n, cond_i, cond_j, cond_g, adv_from, adv_to, adv_mcp, q, fixed, t_fixed,
                      cap, t0, dt, n_steps, out):
    """Backward-Euler transient of the general network; ``out[k]`` = T after step k+1."""
    a = np.zeros((n, n))
    for i in range(n):
        if fixed[i]:
            a[i, i] = 1.0
        else:
            a[i, i] = cap[i] / dt
    _add_links(a, cond_i, cond_j, cond_g, adv_from, adv_to, adv_mcp, fixed)
    inv = np.linalg.inv(a)
    t = t0.copy()
    b = np.zeros(n)
    for k in range(n_steps):
        for i in range(n):
            if fixed[i]:
                b[i] = t_fixed[i]
            else:
                b[i] = cap[i] / dt * t[i] + q[i]
        t = inv @ b
        for i in range(n):
            out[k, i] = t[i]
    return t
