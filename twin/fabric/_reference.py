"""Plain NumPy / pure-Python references of the fabric kernels (tests and benchmarks).

Written apart from ``_kernels.py``: the max-min reference recomputes every link's share
with vectorised NumPy each round (no incremental bookkeeping); the incast reference steps
the same fluid equations with Python lists and ``math``.
"""
from __future__ import annotations

import math

import numpy as np

_M64 = (1 << 64) - 1


def _mix64(x: int) -> int:
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def ecmp_hash(src, dst, qp, seed, n_paths):
    """Same hash as the kernel, in Python integers."""
    s = (int(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & _M64
    out = np.empty(len(src), dtype=np.int64)
    for i, (a, b, c, n) in enumerate(zip(src, dst, qp, n_paths)):
        h = _mix64(s ^ int(a))
        h = _mix64(h ^ ((int(b) * 0xD6E8FEB86659FD93) & _M64))
        h = _mix64(h ^ ((int(c) + 0x2545F4914F6CDD1D) & _M64))
        out[i] = h % int(n)
    return out


def maxmin_rates(var_ptr, var_link, var_w, cap, demand):
    """Max-min fair rates by progressive filling, vectorised NumPy per round.

    Returns (rate, link_load).
    """
    var_ptr = np.asarray(var_ptr)
    nv = len(var_ptr) - 1
    nl = len(cap)
    owner = np.repeat(np.arange(nv), np.diff(var_ptr))
    rate = np.zeros(nv)
    frozen = np.zeros(nv, bool)
    level = 0.0
    while not frozen.all():
        act = ~frozen[owner]
        wsum = np.bincount(var_link[act], weights=var_w[act], minlength=nl)
        used = np.bincount(var_link, weights=var_w * rate[owner], minlength=nl)
        # frozen variables contribute their fixed rate; active ones the common level
        used = used - np.bincount(var_link[act], weights=var_w[act] * rate[owner[act]], minlength=nl) + wsum * level
        res = cap - used
        with np.errstate(divide="ignore", invalid="ignore"):
            inc = np.where(wsum > 1e-12, res / wsum, np.inf)
        delta = min(inc.min() if nl else np.inf, (demand[~frozen] - level).min())
        if not np.isfinite(delta):
            rate[~frozen] = np.inf
            break
        level += max(delta, 0.0)
        res = res - max(delta, 0.0) * wsum
        sat = (res <= 1e-9 * cap) & (wsum > 1e-12)
        hit = np.zeros(nv, bool)
        hit[owner[act & sat[var_link]]] = True
        fin = np.isfinite(demand)
        hit[fin] |= (~frozen[fin]) & (demand[fin] - level <= 1e-12 * (1.0 + demand[fin]))
        hit &= ~frozen
        rate[hit] = np.minimum(level, demand[hit])
        frozen |= hit
    load = np.bincount(var_link, weights=var_w * rate[owner], minlength=nl)
    return rate, load


def complete_transfers(var_ptr, var_link, var_w, cap, size, demand, batch=0.0):
    """Finish times of finite transfers under max-min sharing (NumPy reference; ``batch`` as
    in the kernel)."""
    var_ptr = np.asarray(var_ptr)
    nv = len(var_ptr) - 1
    left = np.asarray(size, float).copy()
    finish = np.zeros(nv)
    done = left <= 0
    t = 0.0
    while not done.all():
        idx = np.flatnonzero(~done)
        lens = np.diff(var_ptr)[idx]
        p = np.concatenate([[0], np.cumsum(lens)])
        sel = np.concatenate([np.arange(var_ptr[v], var_ptr[v + 1]) for v in idx])
        r, _ = maxmin_rates(p, var_link[sel], var_w[sel], cap, demand[idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            tf = np.where(r > 0, left[idx] / np.where(r > 0, r, 1.0), np.inf)
        k = min(max(int(batch * len(idx)), 1), len(idx))
        dt = np.sort(tf)[k - 1]
        if not np.isfinite(dt):
            finish[idx] = np.inf
            break
        early = tf <= dt
        finish[idx[early]] = t + tf[early]
        done[idx[early]] = True
        left[idx[early]] = 0.0
        rest = idx[~early]
        left[rest] -= r[~early] * dt
        fin = rest[left[rest] <= 1e-9 * np.asarray(size)[rest]]
        left[fin] = 0.0
        finish[fin] = t + dt
        done[fin] = True
        t += dt
    return finish


# ---------------------------------------------------------------------------------------------
# Incast fluid model, pure Python

def incast_fluid(scheme: int, prm, size, n_steps: int):
    """Pure-Python incast fluid model (same equations as the kernel).

    Returns (queue list [byte], total rate list [byte/s], stats dict).
    """
    from . import _kernels as K  # parameter indices only

    P = [float(x) for x in prm]
    n = len(size)
    dt, C, line, rtt = P[K.P_DT], P[K.P_C], P[K.P_LINE], P[K.P_RTT]
    kmin, kmax, pmax = P[K.P_KMIN], P[K.P_KMAX], P[K.P_PMAX]
    xoff, xon, buf, pfc = P[K.P_XOFF], P[K.P_XON], P[K.P_BUF], P[K.P_PFC] > 0.5
    pkt, minrate = P[K.P_PKT], P[K.P_MINRATE]
    d_fb = max(1, int(round(rtt / dt)))
    d_pfc = max(1, int(round(P[K.P_PFCDELAY] / dt)))
    tau, taup, g, Tt, Bp, rai = P[K.P_TAU], P[K.P_TAUP], P[K.P_G], P[K.P_T], P[K.P_B] / pkt, P[K.P_RAI]
    eta, maxstage, wai = P[K.P_ETA], int(P[K.P_MAXSTAGE]), P[K.P_WAI]
    k_over, margin = max(1, int(P[K.P_OVERCOMMIT])), P[K.P_GRANTMARGIN]

    def mark(q):
        if q <= kmin:
            return 0.0
        if q >= kmax:
            return 1.0
        return pmax * (q - kmin) / (kmax - kmin)

    def ev(p, m):
        if p < 1e-12:
            return 1.0 / m
        if p >= 1.0:
            return 0.0
        x = -m * math.log1p(-p)
        return 0.0 if x > 700 else p / math.expm1(x)

    unlimited = [s <= 0 for s in size]
    left = [math.inf if s <= 0 else float(s) for s in size]
    flows = [dict(rc=line, rt=line, alpha=1.0, w=line * rtt, wc=line * rtt, stage=0,
                  nxt=rtt * (1.0 + 0.1 * (i % 10) / 10.0), uns=P[K.P_UNSCHED]) for i in range(n)]
    hist = {}  # step -> (p, q, tx, paused, rc list, grant list)
    q = 0.0
    paused = False
    pause_steps = 0
    drops = qmax = delivered = 0.0
    t_done = math.inf
    qs, rss = [], []
    for s in range(n_steps):
        t = s * dt
        old = hist.get(s - d_fb)
        oldp = hist.get(s - d_pfc)
        up_paused = pfc and oldp is not None and oldp[3]
        grants = [0.0] * n
        if scheme == K.SCHEME_DCQCN:
            p_del = old[0] if old else 0.0
            for i, f in enumerate(flows):
                rcd = old[4][i] if old else f["rc"]
                lp = math.log1p(-min(p_del, 0.999999))
                cut = 1.0 - math.exp(tau * rcd / pkt * lp)
                cutp = 1.0 - math.exp(taup * rcd / pkt * lp)
                evs = rcd / pkt * ev(p_del, Bp) + (rcd / pkt * ev(p_del, Tt * rcd / pkt) if rcd > 0 else 1 / Tt)
                da = g / taup * (cutp - f["alpha"])
                drt = -(f["rt"] - f["rc"]) / tau * cut + rai * evs
                drc = -f["rc"] * f["alpha"] / (2 * tau) * cut + (f["rt"] - f["rc"]) / 2 * evs
                f["alpha"] = min(1.0, max(0.0, f["alpha"] + da * dt))
                f["rt"] = max(minrate, min(line, f["rt"] + drt * dt))
                f["rc"] = max(minrate, min(line, f["rc"] + drc * dt))
        elif scheme == K.SCHEME_HPCC:
            U = (old[1] / (C * rtt) + old[2] / C) if old else 0.0
            for f in flows:
                if t >= f["nxt"]:
                    f["nxt"] += rtt
                    if U / eta >= 1 or f["stage"] >= maxstage:
                        f["w"] = f["wc"] / max(U / eta, 1e-9) + wai
                        f["stage"] = 0
                    else:
                        f["w"] = f["wc"] + wai
                        f["stage"] += 1
                    f["w"] = min(max(f["w"], minrate * rtt), line * rtt)
                    f["wc"] = f["w"]
                f["rc"] = f["w"] / rtt
        elif scheme in (K.SCHEME_CREDITS, K.SCHEME_DGSQ):
            act = [i for i in range(n) if left[i] > 0]
            if act:
                if scheme == K.SCHEME_CREDITS:
                    order = sorted(act, key=lambda i: (left[i] - flows[i]["uns"], i))[:k_over]
                    for i in order:
                        grants[i] = C / len(order)
                else:
                    for i in act:
                        grants[i] = margin * C / len(act)
            for i, f in enumerate(flows):
                if scheme == K.SCHEME_CREDITS and f["uns"] > 0:
                    f["rc"] = line
                else:
                    f["rc"] = old[5][i] if old else 0.0
        else:
            for f in flows:
                f["rc"] = line
        rs = 0.0
        sent_now = [0.0] * n
        for i, f in enumerate(flows):
            r = min(f["rc"], line)
            if up_paused:
                r = 0.0
            if not unlimited[i]:
                if left[i] <= 0:
                    r = 0.0
                elif r * dt > left[i]:
                    r = left[i] / dt
            if scheme == K.SCHEME_CREDITS and f["uns"] > 0 and r > 0:
                f["uns"] = max(0.0, f["uns"] - r * dt)
            if not unlimited[i]:
                left[i] -= r * dt
                if left[i] < 1e-9:
                    left[i] = 0.0
            sent_now[i] = r
            rs += r
        if up_paused:
            pause_steps += 1
        q += (rs - C) * dt
        tx = C
        if q < 0:
            tx = C + q / dt
            q = 0.0
        if q > buf:
            ex = q - buf
            drops += ex
            q = buf
            if rs > 0:
                for i in range(n):
                    if not unlimited[i]:
                        left[i] += ex * sent_now[i] / rs
        delivered += tx * dt
        qmax = max(qmax, q)
        if pfc:
            if not paused and q > xoff:
                paused = True
            elif paused and q < xon:
                paused = False
        hist[s] = (mark(q), q, tx, paused, [f["rc"] for f in flows], grants)
        hist.pop(s - max(d_fb, d_pfc) - 1, None)
        qs.append(q)
        rss.append(rs)
        if t_done == math.inf and all((not unlimited[i]) and left[i] <= 0 for i in range(n)) and q <= 0:
            t_done = (s + 1) * dt
    stats = dict(pause=pause_steps * dt * n, drops=drops, qmax=qmax, done=t_done, delivered=delivered,
                 pause_fraction=pause_steps / max(n_steps, 1))
    return qs, rss, stats


def adaptive_route(cls, s, t, ls, lt, ps, pt, a_up, a_dn, lu, ld, au, ad, n_links):
    """Hop-by-hop least-loaded choice (same rule as the kernel), plain Python.

    Returns (plane, j, m) arrays.
    """
    load = [0] * int(n_links)
    n = len(cls)
    plane = np.zeros(n, np.int64)
    jj = np.zeros(n, np.int64)
    mm = np.zeros(n, np.int64)
    P, u, v = a_up.shape[0], lu.shape[2], au.shape[3]
    for i in range(n):
        cands = [(load[a_up[p, s[i]]] + load[a_dn[p, t[i]]], p) for p in range(P)]
        bp = min(cands)[1]
        plane[i] = bp
        load[a_up[bp, s[i]]] += 1
        load[a_dn[bp, t[i]]] += 1
        if cls[i] >= 1:
            bj = min((load[lu[bp, ls[i], j]] + load[ld[bp, lt[i], j]], j) for j in range(u))[1]
            jj[i] = bj
            load[lu[bp, ls[i], bj]] += 1
            load[ld[bp, lt[i], bj]] += 1
            if cls[i] == 2:
                bm = min((load[au[bp, ps[i], bj, m]] + load[ad[bp, pt[i], bj, m]], m) for m in range(v))[1]
                mm[i] = bm
                load[au[bp, ps[i], bj, bm]] += 1
                load[ad[bp, pt[i], bj, bm]] += 1
    return plane, jj, mm


def incast_fluid_numpy(scheme: int, prm, size, n_steps: int):
    """Vectorised NumPy incast fluid model: the equations of :func:`incast_fluid`, with every
    sender's state in arrays and one Python iteration per time step (the natural NumPy
    baseline: time is sequential, flows are not). Supports PFC-only (line rate), DCQCN and
    HPCC; the credit schemes (sorting per step) are left to :func:`incast_fluid`.

    Returns (queue array [byte], total rate array [byte/s], stats dict).
    """
    from . import _kernels as K  # parameter indices only

    if scheme not in (K.SCHEME_PFC, K.SCHEME_DCQCN, K.SCHEME_HPCC):
        raise NotImplementedError("the vectorised reference covers PFC, DCQCN and HPCC")
    P = np.asarray(prm, dtype=float)
    size = np.asarray(size, dtype=float)
    n = size.size
    dt, C, line, rtt = P[K.P_DT], P[K.P_C], P[K.P_LINE], P[K.P_RTT]
    kmin, kmax, pmax = P[K.P_KMIN], P[K.P_KMAX], P[K.P_PMAX]
    xoff, xon, buf, pfc = P[K.P_XOFF], P[K.P_XON], P[K.P_BUF], P[K.P_PFC] > 0.5
    pkt, minrate = P[K.P_PKT], P[K.P_MINRATE]
    d_fb = max(1, int(round(rtt / dt)))
    d_pfc = max(1, int(round(P[K.P_PFCDELAY] / dt)))
    tau, taup, g, Tt, Bp, rai = P[K.P_TAU], P[K.P_TAUP], P[K.P_G], P[K.P_T], P[K.P_B] / pkt, P[K.P_RAI]
    eta, maxstage, wai = P[K.P_ETA], int(P[K.P_MAXSTAGE]), P[K.P_WAI]

    def ev(p, m):  # expected events before the next mark, vectorised over m
        if p < 1e-12:
            return 1.0 / m
        if p >= 1.0:
            return np.zeros_like(m)
        x = -m * np.log1p(-p)
        with np.errstate(over="ignore"):
            return np.where(x > 700, 0.0, p / np.expm1(np.minimum(x, 700.0)))

    unlimited = size <= 0
    left = np.where(unlimited, np.inf, size)
    rc = np.full(n, line)
    rt = np.full(n, line)
    alpha = np.ones(n)
    w = np.full(n, line * rtt)
    wc = w.copy()
    stage = np.zeros(n, np.int64)
    nxt = rtt * (1.0 + 0.1 * (np.arange(n) % 10) / 10.0)
    H = max(d_fb, d_pfc) + 1  # ring buffer of the delayed feedback
    h_p = np.zeros(H)
    h_q = np.zeros(H)
    h_tx = np.zeros(H)
    h_paused = np.zeros(H, bool)
    h_rc = np.zeros((H, n))
    q = 0.0
    paused = False
    pause_steps = 0
    drops = qmax = delivered = 0.0
    t_done = math.inf
    qs = np.empty(n_steps)
    rss = np.empty(n_steps)
    for s in range(n_steps):
        t = s * dt
        has_fb = s - d_fb >= 0
        kf = (s - d_fb) % H
        up_paused = pfc and s - d_pfc >= 0 and h_paused[(s - d_pfc) % H]
        if scheme == K.SCHEME_DCQCN:
            p_del = h_p[kf] if has_fb else 0.0
            rcd = h_rc[kf] if has_fb else rc
            lp = math.log1p(-min(p_del, 0.999999))
            cut = 1.0 - np.exp(tau * rcd / pkt * lp)
            cutp = 1.0 - np.exp(taup * rcd / pkt * lp)
            with np.errstate(divide="ignore", invalid="ignore"):
                evs = rcd / pkt * ev(p_del, Bp) + np.where(rcd > 0, rcd / pkt * ev(p_del, Tt * rcd / pkt), 1 / Tt)
            da = g / taup * (cutp - alpha)
            drt = -(rt - rc) / tau * cut + rai * evs
            drc = -rc * alpha / (2 * tau) * cut + (rt - rc) / 2 * evs
            alpha = np.clip(alpha + da * dt, 0.0, 1.0)
            rt = np.clip(rt + drt * dt, minrate, line)
            rc = np.clip(rc + drc * dt, minrate, line)
        elif scheme == K.SCHEME_HPCC:
            U = (h_q[kf] / (C * rtt) + h_tx[kf] / C) if has_fb else 0.0
            upd = t >= nxt
            nxt = np.where(upd, nxt + rtt, nxt)
            md = upd & ((U / eta >= 1) | (stage >= maxstage))
            ai = upd & ~md
            w = np.where(md, wc / max(U / eta, 1e-9) + wai, np.where(ai, wc + wai, w))
            stage = np.where(md, 0, np.where(ai, stage + 1, stage))
            w = np.where(upd, np.clip(w, minrate * rtt, line * rtt), w)
            wc = np.where(upd, w, wc)
            rc = w / rtt
        else:
            rc = np.full(n, line)
        r = np.minimum(rc, line)
        if up_paused:
            r = np.zeros(n)
        lim = ~unlimited
        r = np.where(lim & (left <= 0), 0.0, np.where(lim & (r * dt > left), left / dt, r))
        left = np.where(lim, left - r * dt, left)
        left = np.where(lim & (left < 1e-9), 0.0, left)
        rs = float(r.sum())
        if up_paused:
            pause_steps += 1
        q += (rs - C) * dt
        tx = C
        if q < 0:
            tx = C + q / dt
            q = 0.0
        if q > buf:
            ex = q - buf
            drops += ex
            q = buf
            if rs > 0:
                left = np.where(lim, left + ex * r / rs, left)
        delivered += tx * dt
        qmax = max(qmax, q)
        if pfc:
            if not paused and q > xoff:
                paused = True
            elif paused and q < xon:
                paused = False
        k = s % H
        h_p[k] = 0.0 if q <= kmin else (1.0 if q >= kmax else pmax * (q - kmin) / (kmax - kmin))
        h_q[k] = q
        h_tx[k] = tx
        h_paused[k] = paused
        h_rc[k] = rc
        qs[s] = q
        rss[s] = rs
        if t_done == math.inf and not unlimited.any() and np.all(left <= 0) and q <= 0:
            t_done = (s + 1) * dt
    stats = dict(pause=pause_steps * dt * n, drops=drops, qmax=qmax, done=t_done, delivered=delivered,
                 pause_fraction=pause_steps / max(n_steps, 1))
    return qs, rss, stats


# --- references of the public fabric solvers (same checks and glue, NumPy inside) -----------

def solve(fab, routing, demand=None):
    """NumPy version of :func:`twin.fabric.routing.solve`."""
    from .routing import _solution, _var_demand

    vr, load = maxmin_rates(routing.var_ptr, routing.var_link, routing.var_w, fab.cap, _var_demand(routing, demand))
    return _solution(fab, routing, vr, load, -1)


def transfer_times(fab, routing, size_bits, batch=None):
    """NumPy version of :func:`twin.fabric.routing.transfer_times`."""
    from .routing import _flow_finish, _transfer_inputs

    vs, dem, batch = _transfer_inputs(routing, size_bits, batch)
    return _flow_finish(routing, complete_transfers(routing.var_ptr, routing.var_link, routing.var_w, fab.cap, vs, dem, batch))


def run_incast(scheme, n_senders, capacity, line_rate, duration, message_size=0.0, *, pfc=None, **kw):
    """NumPy version of :func:`twin.fabric.congestion.run_incast` (queue, total rate and stats)."""
    from .congestion import _incast_setup

    code, prm, size, n_steps = _incast_setup(scheme, n_senders, capacity, line_rate, duration, message_size, pfc, **kw)
    q, rs, st = incast_fluid(code, prm, size, n_steps)
    return {"queue": np.asarray(q), "rate_total": np.asarray(rs), "stats": st, "params": prm}


def spray_weights(fab, s, t):
    """Vectorised NumPy version of :func:`twin.fabric.topology.spray_weights` (same CSR layout)."""
    from .topology import _classes

    s = np.asarray(s, np.int64)
    t = np.asarray(t, np.int64)
    ls, lt, sl, sp, cr = _classes(fab, s, t)
    P, u, v = fab.planes, fab.u, max(fab.v, 1)
    ptrs, links, ws = [], [], []
    n = len(s)
    lens = np.where(sl, 2 * P, np.where(sp, (2 + 2 * u) * P, (2 + 2 * u + 2 * u * v) * P))
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(lens, out=ptr[1:])
    L = np.empty(ptr[-1], np.int64)
    W = np.empty(ptr[-1])
    for p in range(P):
        for cls, idx in ((0, np.flatnonzero(sl)), (1, np.flatnonzero(sp)), (2, np.flatnonzero(cr))):
            if idx.size == 0:
                continue
            per_plane = (2, 2 + 2 * u, 2 + 2 * u + 2 * u * v)[cls]
            start = ptr[idx] + p * per_plane
            blocks = [fab.a_up[p, s[idx]][:, None], fab.a_dn[p, t[idx]][:, None]]
            wts = [np.full((idx.size, 2), 1.0 / P)]
            if cls >= 1:
                blocks += [fab.lu[p, ls[idx]], fab.ld[p, lt[idx]]]
                wts.append(np.full((idx.size, 2 * u), 1.0 / (P * u)))
            if cls == 2:
                ps, pt = fab.pod_of_leaf(ls[idx]), fab.pod_of_leaf(lt[idx])
                blocks += [fab.au[p, ps].reshape(idx.size, -1), fab.ad[p, pt].reshape(idx.size, -1)]
                wts.append(np.full((idx.size, 2 * u * v), 1.0 / (P * u * v)))
            blk = np.concatenate(blocks, axis=1)
            wt = np.concatenate(wts, axis=1)
            pos = start[:, None] + np.arange(per_plane)[None, :]
            L[pos] = blk
            W[pos] = wt
    return ptr, L, W
