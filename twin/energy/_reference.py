"""Plain NumPy / SciPy references of the energy kernels.

* :func:`hall_transient_reference` integrates the hall network's ODEs (the continuous-time form
  of :func:`twin.energy._kernels.hall_transient`) with ``scipy.integrate.solve_ivp``: BDF with
  the Jacobian's sparsity pattern and scipy's default error control (the fair choice for this
  stiff network: RK45 at the same tolerances is stability-limited and several times slower).
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


def hall_rhs_factory(h, profile, profile_dt, load=1.0, tau_plant=1.0, faults=None, alive=None):
    """Right-hand side f(t, y) of the hall ODEs (state: chips, sinks, fluids, headers, facility).

    ``faults`` = (cap_t, cap_v, fl_t, fl_g, fl_f) step events as built by
    ``twin.energy.faults._fault_arrays``; ``alive`` a boolean mask per server (latched
    shutdowns, updated by the caller between integration pieces).
    """
    n = h.n_servers
    S = h.servers_per_rack
    R = h.n_racks
    G = h.n_groups
    rg = h.rack_group
    srv_rack = np.repeat(np.arange(R), S)
    k_thr = (1 - h.f_min) / (h.t_shut - h.t_slow)
    cnt = np.bincount(rg, minlength=G) * S
    mf = h.mcp_fac_group
    prof = np.asarray(profile, dtype=float)
    if faults is None:
        faults = (np.array([0.0]), np.array([h.plant_capacity]), np.zeros(0), np.zeros(0, np.int64), np.zeros(0))
    cap_t, cap_v, fl_t, fl_g, fl_f = faults
    alive = np.ones(n, bool) if alive is None else alive

    def rhs(t, y):
        tc = y[:n]
        ts = y[n:2 * n]
        tf = y[2 * n:3 * n]
        th = y[3 * n:3 * n + G]
        tfac = y[3 * n + G]
        scale = np.ones(G)
        for tt, g, fac in zip(fl_t, fl_g, fl_f):
            if tt <= t:
                scale[g] = fac
        cap = cap_v[np.searchsorted(cap_t, t, side="right") - 1] if len(cap_t) else h.plant_capacity
        m = h.mcp_server * scale[rg][srv_rack]
        mg = cnt * h.mcp_server * scale
        cmin = np.minimum(mg, mf)
        cmax = np.maximum(mg, mf)
        ok = cmin > 0
        eps = np.where(ok, _eff(h.ua_group / np.where(ok, cmin, 1.0), np.where(ok, cmin / np.where(ok, cmax, 1.0), 0.0)), 0.0)
        ip = min(int(t / profile_dt), prof.size - 1)
        u = h.util * load * prof[ip]
        f = np.clip(1 - (tc - h.t_slow) * k_thr, h.f_min, 1.0)
        al = alive.astype(float)
        p = al * np.maximum(h.p_static * (1 + h.k_leak * (tc - h.t_ref)) + h.p_dyn * u * f ** 3, 0.0)
        po = al * h.p_other * (h.other_idle + (1 - h.other_idle) * u)
        ql = h.f_liq * po
        q_air = float(np.sum(po - ql))
        # CDU heat and supply temperature from the header state
        q = np.where(ok, np.minimum(eps * cmin * np.maximum(th - tfac, 0.0), np.maximum(mg * (th - h.t_set_group), 0.0)), 0.0)
        tsup = np.where(mg > 0, th - q / np.where(mg > 0, mg, 1.0), th)
        tout_r = tf.reshape(R, S).mean(axis=1)
        tin_r = (1 - h.recirc) * tsup[rg] + h.recirc * tout_r
        tin = tin_r[srv_rack]
        dtc = (p - h.g_cs * (tc - ts)) / h.c_chip
        dts = (h.g_cs * (tc - ts) - h.g_sf * (ts - tf)) / h.c_sink
        dtf = (h.g_sf * (ts - tf) + m * (tin - tf) + ql) / h.c_fluid
        ret_r = (1 - h.recirc) * tout_r + h.recirc * tsup[rg]
        num = np.bincount(rg, weights=ret_r * S * h.mcp_server * scale[rg], minlength=G)
        tret = np.where(mg > 0, num / np.where(mg > 0, mg, 1.0), th)
        dth = mg * (tret - th) / h.c_header
        q_in = q.sum() + q_air
        qp = min(max(q_in + h.c_fac / tau_plant * (tfac - h.t_fac_set), 0.0), cap)
        dfac = (q_in - qp) / h.c_fac
        return np.concatenate([dtc, dts, dtf, dth, [dfac]])

    return rhs


def hall_jacobian_sparsity(h):
    """Sparsity pattern of the hall ODEs' Jacobian (lets scipy's implicit solvers work at the
    scale of a hall, as the fast path exploits the same structure)."""
    n, S, R, G = h.n_servers, h.servers_per_rack, h.n_racks, h.n_groups
    N = 3 * n + G + 1
    ic, is_, if_ = np.arange(n), n + np.arange(n), 2 * n + np.arange(n)
    srv_rack = np.repeat(np.arange(R), S)
    gs = h.rack_group[srv_rack]
    rows, cols = [], []

    def add(r, c):
        r, c = np.broadcast_arrays(np.asarray(r), np.asarray(c))
        rows.append(r.ravel())
        cols.append(c.ravel())

    add(ic, ic); add(ic, is_)
    add(is_, ic); add(is_, is_); add(is_, if_)
    add(if_, is_); add(if_, if_)
    # a fluid node sees every fluid of its rack (rack outlet, recirculation), its loop's header and the facility
    same_rack = (srv_rack[:, None] * S + np.arange(S)[None, :])
    add(np.repeat(if_, S), 2 * n + same_rack.ravel())
    add(if_, 3 * n + gs); add(if_, N - 1)
    # headers see their racks' fluids, themselves and the facility loop
    add(3 * n + gs, if_)
    add(3 * n + np.arange(G), 3 * n + np.arange(G)); add(3 * n + np.arange(G), N - 1)
    add(np.full(G, N - 1), 3 * n + np.arange(G)); add(N - 1, N - 1)
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    return scipy.sparse.csr_matrix((np.ones(r.size), (r, c)), shape=(N, N)).astype(bool)


def hall_transient_reference(h, initial, duration, profile=None, profile_dt=None, load=1.0, faults=None,
                             method="BDF", rtol=1e-3, atol=1e-6, max_step=np.inf):
    """Integrate the hall ODEs with ``scipy.integrate.solve_ivp``; returns (y_final, pieces).

    Default: BDF with the Jacobian's sparsity pattern and scipy's default error control
    (rtol 1e-3, atol 1e-6). Integration restarts at each fault time (a step change) and when
    a chip reaches its shutdown temperature (a terminal event; the server stays off, as in
    the kernel). ``faults`` as in :func:`hall_rhs_factory`.
    """
    if profile is None:
        profile = np.array([1.0])
        profile_dt = duration + 1.0
    y = np.concatenate([initial["t_chip"], initial["t_sink"], initial["t_fluid"], initial["t_return"],
                        [initial["t_facility"]]]).astype(float)
    n = h.n_servers
    alive = np.ones(n, bool)
    rhs = hall_rhs_factory(h, profile, profile_dt, load, faults=faults, alive=alive)
    kw = {"jac_sparsity": hall_jacobian_sparsity(h)} if method in ("BDF", "Radau") else {}
    breaks = [0.0, float(duration)]
    if faults is not None:
        breaks += [float(t) for t in list(faults[0]) + list(faults[2]) if 0.0 < t < duration]
    breaks = sorted(set(breaks))

    def hot(t, yy):
        return np.max(np.where(alive, yy[:n], -np.inf)) - h.t_shut if alive.any() else -1.0
    hot.terminal = True
    hot.direction = 1.0

    pieces = []
    for a, b in zip(breaks[:-1], breaks[1:]):
        t0 = a
        while t0 < b:
            sol = scipy.integrate.solve_ivp(rhs, (t0, b), y, method=method, rtol=rtol, atol=atol, max_step=max_step,
                                            events=hot, **kw)
            pieces.append(sol)
            y = sol.y[:, -1].copy()
            if sol.status == 1:  # a chip reached shutdown: latch it off and go on
                alive &= ~(y[:n] >= h.t_shut - 1e-6)
                t0 = float(sol.t[-1])
            else:
                t0 = b
    return y, pieces


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
