"""Plain NumPy / SciPy references of the energy kernels.

* :func:`hall_transient_reference` integrates the hall network's ODEs (the continuous-time form
  of :func:`twin.energy._kernels.hall_transient`) with ``scipy.integrate.solve_ivp`` (RK45).
  The plant's set-point control, which the kernel applies once per step, is the proportional
  law q = q_in + (C_fac / tau) (T_fac - T_set) with tau = 1 s, clipped to [0, capacity].
  Shutdown latching is not modelled (chips past t_shutdown simply draw no power).
* :func:`network_steady_reference` solves the general network with scipy.sparse.
"""
from __future__ import annotations

import numpy as np
import scipy.integrate
import scipy.sparse
import scipy.sparse.linalg


def _eff(ntu, cr):
    ntu = np.asarray(ntu, dtype=float)
    cr = np.asarray(cr, dtype=float)
    out = np.where(np.abs(cr - 1) < 1e-9, ntu / (1 + ntu),
                   (1 - np.exp(-ntu * (1 - cr))) / (1 - cr * np.exp(-ntu * (1 - cr)) + 1e-300))
    return np.where(cr < 1e-9, 1 - np.exp(-ntu), out)


def hall_rhs_factory(h, profile, profile_dt, load=1.0, tau_plant=1.0):
    n = h.n_servers
    S = h.servers_per_rack
    R = h.n_racks
    G = h.n_groups
    rg = h.rack_group
    srv_rack = np.repeat(np.arange(R), S)
    k_thr = (1 - h.f_min) / (h.t_shut - h.t_slow)
    m = h.mcp_server
    cnt = np.bincount(rg, minlength=G) * S
    mg = cnt * m
    mf = h.mcp_fac_group
    cmin = np.minimum(mg, mf)
    cmax = np.maximum(mg, mf)
    eps = _eff(h.ua_group / cmin, cmin / cmax)
    prof = np.asarray(profile, dtype=float)

    def rhs(t, y):
        tc = y[:n]
        ts = y[n:2 * n]
        tf = y[2 * n:3 * n]
        th = y[3 * n:3 * n + G]
        tfac = y[3 * n + G]
        ip = min(int(t / profile_dt), prof.size - 1)
        u = h.util * load * prof[ip]
        f = np.clip(1 - (tc - h.t_slow) * k_thr, h.f_min, 1.0)
        alive = (tc < h.t_shut).astype(float)
        p = alive * np.maximum(h.p_static * (1 + h.k_leak * (tc - h.t_ref)) + h.p_dyn * u * f ** 3, 0.0)
        po = alive * h.p_other * (h.other_idle + (1 - h.other_idle) * u)
        ql = h.f_liq * po
        q_air = float(np.sum(po - ql))
        # CDU heat and supply temperature from the header state
        q = np.minimum(eps * cmin * np.maximum(th - tfac, 0.0), np.maximum(mg * (th - h.t_set_group), 0.0))
        tsup = th - q / mg
        tout_r = tf.reshape(R, S).mean(axis=1)
        tin_r = (1 - h.recirc) * tsup[rg] + h.recirc * tout_r
        tin = tin_r[srv_rack]
        dtc = (p - h.g_cs * (tc - ts)) / h.c_chip
        dts = (h.g_cs * (tc - ts) - h.g_sf * (ts - tf)) / h.c_sink
        dtf = (h.g_sf * (ts - tf) + m * (tin - tf) + ql) / h.c_fluid
        ret_r = (1 - h.recirc) * tout_r + h.recirc * tsup[rg]
        tret = np.bincount(rg, weights=ret_r * S * m, minlength=G) / mg
        dth = mg * (tret - th) / h.c_header
        q_in = q.sum() + q_air
        cap = h.plant_capacity
        qp = min(max(q_in + h.c_fac / tau_plant * (tfac - h.t_fac_set), 0.0), cap)
        dfac = (q_in - qp) / h.c_fac
        return np.concatenate([dtc, dts, dtf, dth, [dfac]])

    return rhs


def hall_transient_reference(h, initial, duration, profile=None, profile_dt=None, load=1.0, rtol=1e-6, atol=1e-6,
                             max_step=np.inf):
    """Integrate the hall ODEs with solve_ivp (RK45); returns (y_final, solution)."""
    if profile is None:
        profile = np.array([1.0])
        profile_dt = duration + 1.0
    y0 = np.concatenate([initial["t_chip"], initial["t_sink"], initial["t_fluid"], initial["t_return"],
                         [initial["t_facility"]]])
    rhs = hall_rhs_factory(h, profile, profile_dt, load)
    sol = scipy.integrate.solve_ivp(rhs, (0.0, float(duration)), y0, method="RK45", rtol=rtol, atol=atol,
                                    max_step=max_step)
    return sol.y[:, -1], sol


def network_steady_reference(n, cond_i, cond_j, cond_g, adv_from, adv_to, adv_mcp, q, fixed, t_fixed):
    """Sparse steady-state solve of the general network (same conventions as the kernel)."""
    rows, cols, vals = [], [], []
    b = np.where(fixed, t_fixed, q).astype(float)
    for i in range(n):
        if fixed[i]:
            rows.append(i); cols.append(i); vals.append(1.0)
    for i, j, g in zip(cond_i, cond_j, cond_g):
        if not fixed[i]:
            rows += [i, i]; cols += [i, j]; vals += [g, -g]
        if not fixed[j]:
            rows += [j, j]; cols += [j, i]; vals += [g, -g]
    for i, j, m in zip(adv_from, adv_to, adv_mcp):
        if not fixed[j]:
            rows += [j, j]; cols += [j, i]; vals += [m, -m]
    a = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(n, n))
    return scipy.sparse.linalg.spsolve(a.tocsc(), b)
