"""Numba kernels of the fabric domain (plain float64/int64 arrays in SI units).

Imports only numpy, numba and math. Every kernel has a plain reference in
``_reference.py`` written independently, used by the tests and benchmarks.

Kernels
-------
ecmp_hash          seeded 64-bit mix of (src, dst, qp) -> path index (per-flow ECMP)
spray_incidence    link incidence and weights of flows split evenly over all equal paths (spraying)
adaptive_route     hop-by-hop least-loaded choice of plane / uplinks (adaptive routing)
maxmin_rates       max-min fair rates by progressive filling with weighted link incidence
complete_transfers event-driven completion of finite transfers under max-min sharing
incast_fluid       N-to-1 incast fluid model at a fixed step: switch queue with ECN and PFC,
                   congestion control PFC-only / DCQCN / HPCC / receiver credits / GSE DGSQ
"""
import math

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------------------------
# ECMP hash


@njit(cache=True)
def _mix64(x):
    # splitmix64 finaliser on uint64
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return x


@njit(cache=True)
def ecmp_hash(src, dst, qp, seed, n_paths, out):
    """out[i] = hash(src[i], dst[i], qp[i], seed) mod n_paths[i] (int64 arrays)."""
    s = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x632BE59BD9B4E019)
    for i in range(src.shape[0]):
        h = _mix64(s ^ np.uint64(src[i]))
        h = _mix64(h ^ (np.uint64(dst[i]) * np.uint64(0xD6E8FEB86659FD93)))
        h = _mix64(h ^ (np.uint64(qp[i]) + np.uint64(0x2545F4914F6CDD1D)))
        out[i] = np.int64(h % np.uint64(n_paths[i]))
    return out


# ---------------------------------------------------------------------------------------------
# Max-min fair rates (progressive filling / water filling)


@njit(cache=True)
def _hswap(hk, hi, hv, a, b):
    # swap heap entries a and b of the parallel arrays (key, id, version)
    hk[a], hk[b] = hk[b], hk[a]
    hi[a], hi[b] = hi[b], hi[a]
    hv[a], hv[b] = hv[b], hv[a]


@njit(cache=True)
def _hpush(hk, hi, hv, n, key, idx, vs):
    # binary min-heap on parallel arrays (key, id, version); returns the new size
    i = n
    hk[i] = key
    hi[i] = idx
    hv[i] = vs
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= hk[i]:
            break
        _hswap(hk, hi, hv, p, i)
        i = p
    return n + 1


@njit(cache=True)
def _siftdown(hk, hi, hv, n, i):
    # move entry i down the binary min-heap of size n until its children are not smaller
    while True:
        a = 2 * i + 1
        if a >= n:
            break
        b = a + 1
        c = a if (b >= n or hk[a] <= hk[b]) else b
        if hk[i] <= hk[c]:
            break
        _hswap(hk, hi, hv, c, i)
        i = c


@njit(cache=True)
def _hpop(hk, hi, hv, n):
    # removes the root (caller read it first); returns the new size
    n -= 1
    hk[0] = hk[n]
    hi[0] = hi[n]
    hv[0] = hv[n]
    _siftdown(hk, hi, hv, n, 0)
    return n


@njit(cache=True)
def _heapify(hk, hi, hv, n):
    for start in range((n - 2) // 2, -1, -1):
        _siftdown(hk, hi, hv, n, start)


@njit(cache=True)
def maxmin_rates(var_ptr, var_link, var_w, cap, demand, rate, link_load):
    """Max-min fair rates of rate variables sharing links, by progressive filling.

    Variable v loads link ``var_link[k]`` with weight ``var_w[k]`` per unit of its rate for
    k in ``var_ptr[v]:var_ptr[v+1]`` (weight 1 for a sub-flow on one path; a fraction for a
    flow sprayed over several paths). All unfrozen variables grow together (common level
    lambda) until a link saturates (residual capacity zero) or a variable reaches its demand;
    the variables crossing a saturated link freeze at lambda.

    Event-driven form: each link's saturation level lambda_l = lambda_ref + r_l / W_l (W_l the
    weight sum of its unfrozen variables) sits in a binary heap; popping the smallest gives the
    next bottleneck; freezing a variable updates W and r of its links and re-pushes them
    (lazily: a popped link whose level has risen is pushed back with its true level).
    O((nnz + L) log L) in total.
    Outputs ``rate`` and ``link_load`` (same unit as ``cap``). Returns the number of bottleneck
    events (filling rounds).
    """
    nv = var_ptr.shape[0] - 1
    nl = cap.shape[0]
    cnt = np.zeros(nl + 1, np.int64)
    for k in range(var_link.shape[0]):
        cnt[var_link[k] + 1] += 1
    for l in range(nl):
        cnt[l + 1] += cnt[l]
    lk_ptr = cnt
    lk_var = np.empty(var_link.shape[0], np.int64)
    fill = cnt[:-1].copy()
    for v in range(nv):
        for k in range(var_ptr[v], var_ptr[v + 1]):
            l = var_link[k]
            lk_var[fill[l]] = v
            fill[l] += 1
    res = cap.copy()
    wsum = np.zeros(nl)
    ref = np.zeros(nl)          # level at which res was last brought up to date
    frozen = np.zeros(nv, np.bool_)
    for v in range(nv):
        rate[v] = 0.0
        for k in range(var_ptr[v], var_ptr[v + 1]):
            wsum[var_link[k]] += var_w[k]
    hsize = nl + nv + var_link.shape[0] + 1
    hk = np.empty(hsize)
    hi = np.empty(hsize, np.int64)
    hv = np.empty(hsize, np.int64)
    nh = 0
    for l in range(nl):
        if wsum[l] > 0.0:
            hk[nh] = res[l] / wsum[l]
            hi[nh] = l
            hv[nh] = 0
            nh += 1
    for v in range(nv):
        if demand[v] < np.inf:
            hk[nh] = demand[v]
            hi[nh] = -1 - v
            hv[nh] = 0
            nh += 1
    _heapify(hk, hi, hv, nh)
    n_left = nv
    rounds = 0
    last = -1.0
    while n_left > 0 and nh > 0:
        lev = hk[0]
        l = hi[0]
        vs = hv[0]
        nh = _hpop(hk, hi, hv, nh)
        if l >= 0:
            if wsum[l] <= 0.0:
                continue
            # heap keys are lower bounds (a link's saturation level only rises as variables
            # freeze elsewhere): re-push with the true level if it moved up
            r = res[l] if res[l] > 0.0 else 0.0
            true = ref[l] + r / wsum[l]
            if true > lev * (1.0 + 1e-12) + 1e-300:
                nh = _hpush(hk, hi, hv, nh, true, l, 0)
                continue
            lev = true if true > lev else lev
            if lev > last:
                rounds += 1
                last = lev
            res[l] = 0.0
            ref[l] = lev
            for kk in range(lk_ptr[l], lk_ptr[l + 1]):
                v = lk_var[kk]
                if frozen[v]:
                    continue
                frozen[v] = True
                rate[v] = lev
                n_left -= 1
                for k in range(var_ptr[v], var_ptr[v + 1]):
                    m = var_link[k]
                    if m == l:
                        continue
                    res[m] -= (lev - ref[m]) * wsum[m]
                    ref[m] = lev
                    wsum[m] -= var_w[k]
                    if wsum[m] <= 1e-12:
                        wsum[m] = 0.0
            wsum[l] = 0.0
        else:
            v = -1 - l
            if frozen[v]:
                continue
            if lev > last:
                rounds += 1
                last = lev
            frozen[v] = True
            rate[v] = lev
            n_left -= 1
            for k in range(var_ptr[v], var_ptr[v + 1]):
                m = var_link[k]
                res[m] -= (lev - ref[m]) * wsum[m]
                ref[m] = lev
                wsum[m] -= var_w[k]
                if wsum[m] <= 1e-12:
                    wsum[m] = 0.0
    if n_left > 0:
        # variables crossing no link and without demand cap: nothing bounds them
        for v in range(nv):
            if not frozen[v]:
                rate[v] = np.inf
    for l in range(nl):
        link_load[l] = 0.0
    for v in range(nv):
        for k in range(var_ptr[v], var_ptr[v + 1]):
            link_load[var_link[k]] += var_w[k] * rate[v]
    return rounds


@njit(cache=True)
def complete_transfers(var_ptr, var_link, var_w, cap, size, demand, batch, finish):
    """Finish times [s] of finite transfers ``size`` [bit] sharing links max-min fairly.

    Event driven: rates are recomputed (progressive filling over the unfinished transfers)
    each time one finishes, so early finishers release bandwidth to the others. With
    ``batch`` > 0 a recomputation waits until a fraction ``batch`` of the unfinished
    transfers has finished at the current rates (bounded number of recomputations; the
    others see released bandwidth a little late, so times are slightly pessimistic).
    Returns the number of rate recomputations.
    """
    nv = var_ptr.shape[0] - 1
    nl = cap.shape[0]
    left = size.copy()
    done = np.zeros(nv, np.bool_)
    t = 0.0
    n_events = 0
    for v in range(nv):
        finish[v] = 0.0
        if left[v] <= 0.0:
            done[v] = True
    while True:
        idx = np.empty(nv, np.int64)
        m = 0
        nnz = 0
        for v in range(nv):
            if not done[v]:
                idx[m] = v
                m += 1
                nnz += var_ptr[v + 1] - var_ptr[v]
        if m == 0:
            break
        p = np.zeros(m + 1, np.int64)
        lk = np.empty(nnz, np.int64)
        w = np.empty(nnz)
        dem = np.empty(m)
        c = 0
        for i in range(m):
            v = idx[i]
            dem[i] = demand[v]
            for k in range(var_ptr[v], var_ptr[v + 1]):
                lk[c] = var_link[k]
                w[c] = var_w[k]
                c += 1
            p[i + 1] = c
        r = np.empty(m)
        ll = np.empty(nl)
        maxmin_rates(p, lk, w, cap, dem, r, ll)
        n_events += 1
        tf = np.empty(m)
        for i in range(m):
            tf[i] = left[idx[i]] / r[i] if r[i] > 0.0 else np.inf
        kth = int(batch * m)
        if kth < 1:
            kth = 1
        if kth > m:
            kth = m
        if kth == 1:
            dt = tf.min()
        else:
            dt = np.partition(tf, kth - 1)[kth - 1]
        if dt == np.inf:
            for i in range(m):
                finish[idx[i]] = np.inf
            break
        for i in range(m):
            v = idx[i]
            if tf[i] <= dt:
                left[v] = 0.0
                done[v] = True
                finish[v] = t + tf[i]
            else:
                left[v] -= r[i] * dt
                if left[v] <= 1e-9 * size[v]:
                    left[v] = 0.0
                    done[v] = True
                    finish[v] = t + dt
        t += dt
    return n_events


@njit(cache=True)
def spray_incidence(cls, s, t, ls, lt, ps, pt, a_up, a_dn, lu, ld, au, ad, ptr, links, w):
    """Fill CSR rows ``ptr`` of flows sprayed evenly over every equal-cost path: per plane the
    access up/down links (weight 1/P), the u leaf up/down links (1/(P u)) and, across pods, the
    u v aggregation-core up/down links (1/(P u v)). ``cls``: 0 same leaf, 1 same pod, 2 across pods.
    Same layout as the NumPy ``topology.spray_weights``."""
    P = a_up.shape[0]
    u = lu.shape[2]
    v = au.shape[3]
    for i in range(cls.shape[0]):
        k = ptr[i]
        for p in range(P):
            links[k] = a_up[p, s[i]]
            links[k + 1] = a_dn[p, t[i]]
            w[k] = 1.0 / P
            w[k + 1] = 1.0 / P
            k += 2
            if cls[i] >= 1:
                for j in range(u):
                    links[k + j] = lu[p, ls[i], j]
                    links[k + u + j] = ld[p, lt[i], j]
                    w[k + j] = 1.0 / (P * u)
                    w[k + u + j] = 1.0 / (P * u)
                k += 2 * u
            if cls[i] == 2:
                for j in range(u):
                    for m in range(v):
                        links[k + j * v + m] = au[p, ps[i], j, m]
                        links[k + u * v + j * v + m] = ad[p, pt[i], j, m]
                        w[k + j * v + m] = 1.0 / (P * u * v)
                        w[k + u * v + j * v + m] = 1.0 / (P * u * v)
                k += 2 * u * v
    return ptr


@njit(cache=True)
def adaptive_route(cls, s, t, ls, lt, ps, pt, a_up, a_dn, lu, ld, au, ad, n_links, plane, j_out, m_out):
    """Adaptive routing, hop by hop: each sub-flow in turn takes the plane, the leaf uplink and
    the aggregation uplink whose link pair (up and matching down) currently carries the fewest
    sub-flows (ties: lowest index). ``cls``: 0 same leaf, 1 same pod / 2-tier, 2 across pods.
    """
    n = cls.shape[0]
    P = a_up.shape[0]
    u = lu.shape[2]
    v = au.shape[3]
    load = np.zeros(n_links, np.int64)
    for i in range(n):
        bp = 0
        bx = 1 << 62
        for p in range(P):
            x = load[a_up[p, s[i]]] + load[a_dn[p, t[i]]]
            if x < bx:
                bx = x
                bp = p
        plane[i] = bp
        load[a_up[bp, s[i]]] += 1
        load[a_dn[bp, t[i]]] += 1
        j_out[i] = 0
        m_out[i] = 0
        if cls[i] >= 1:
            bj = 0
            bx = 1 << 62
            for j in range(u):
                x = load[lu[bp, ls[i], j]] + load[ld[bp, lt[i], j]]
                if x < bx:
                    bx = x
                    bj = j
            j_out[i] = bj
            load[lu[bp, ls[i], bj]] += 1
            load[ld[bp, lt[i], bj]] += 1
            if cls[i] == 2:
                bm = 0
                bx = 1 << 62
                for m in range(v):
                    x = load[au[bp, ps[i], bj, m]] + load[ad[bp, pt[i], bj, m]]
                    if x < bx:
                        bx = x
                        bm = m
                m_out[i] = bm
                load[au[bp, ps[i], bj, bm]] += 1
                load[ad[bp, pt[i], bj, bm]] += 1
    return plane


# ---------------------------------------------------------------------------------------------
# Incast fluid model

SCHEME_PFC = 0
SCHEME_DCQCN = 1
SCHEME_HPCC = 2
SCHEME_CREDITS = 3
SCHEME_DGSQ = 4

# indices into the parameter vector ``prm`` (all SI: s, bit/s as bytes/s, bytes)
P_DT = 0            # step [s]
P_C = 1             # bottleneck capacity [byte/s]
P_LINE = 2          # sender line rate [byte/s]
P_RTT = 3           # base round-trip / feedback delay [s]
P_KMIN = 4          # ECN Kmin [byte]
P_KMAX = 5          # ECN Kmax [byte]
P_PMAX = 6          # ECN Pmax
P_XOFF = 7          # PFC pause threshold [byte]
P_XON = 8           # PFC resume threshold [byte]
P_BUF = 9           # buffer incl. headroom [byte]
P_PFC = 10          # 1: PFC enabled (lossless), 0: lossy
P_PFCDELAY = 11     # PFC response delay (pause frame + in-flight) [s]
P_G = 12            # DCQCN g
P_TAU = 13          # DCQCN CNP interval tau [s]
P_TAUP = 14         # DCQCN alpha timer tau' [s]
P_T = 15            # DCQCN rate-increase timer T [s]
P_B = 16            # DCQCN byte counter B [byte]
P_RAI = 17          # DCQCN additive increase R_AI [byte/s]
P_PKT = 18          # packet size [byte]
P_ETA = 19          # HPCC target utilisation eta
P_MAXSTAGE = 20     # HPCC maxStage
P_WAI = 21          # HPCC additive increase W_AI [byte]
P_OVERCOMMIT = 22   # credits: number of senders granted at once (Homa overcommitment)
P_UNSCHED = 23      # credits: unscheduled bytes per message [byte]
P_MINRATE = 24      # minimum sending rate [byte/s]
P_GRANTMARGIN = 25  # DGSQ: fraction of egress capacity granted (<= 1)
N_PRM = 26

# indices into ``stats``
S_PAUSE = 0         # total PFC pause time seen by senders [s] (summed over senders)
S_DROPS = 1         # bytes dropped
S_QMAX = 2          # peak queue [byte]
S_DONE = 3          # time all transfers finished [s] (inf if not within horizon)
S_DELIVERED = 4     # bytes delivered through the bottleneck
S_PAUSEFRAC = 5     # fraction of the horizon the bottleneck's upstream was paused
S_VOQMAX = 6        # peak bytes waiting at the senders / edge for grants [byte]
N_STATS = 7


@njit(cache=True)
def _mark(q, kmin, kmax, pmax):
    if q <= kmin:
        return 0.0
    if q >= kmax:
        return 1.0
    return pmax * (q - kmin) / (kmax - kmin)


@njit(cache=True)
def _event_rate(p, n_per_event):
    # rate of "one event every n packets without a mark" events per packet: p / ((1-p)^-n - 1)
    if p < 1e-12:
        return 1.0 / n_per_event
    x = -n_per_event * math.log1p(-p)
    if x > 700.0:
        return 0.0
    return p / math.expm1(x)


@njit(cache=True)
def incast_fluid(scheme, prm, size, n_steps, q_out, rsum_out, rates_out, stats):
    """N-to-1 incast through one bottleneck egress queue, fluid model at step ``prm[P_DT]``.

    Parameters
    ----------
    scheme : int  SCHEME_PFC | SCHEME_DCQCN | SCHEME_HPCC | SCHEME_CREDITS | SCHEME_DGSQ
    prm : float64[N_PRM] parameters (see P_* indices), SI units with bytes for data
    size : float64[n] bytes each sender has to send (<= 0: unlimited backlog)
    n_steps : int
    q_out : float64[n_steps] queue [byte] after each step
    rsum_out : float64[n_steps] total arrival rate at the queue [byte/s]
    rates_out : float64[n_steps, n] sending rate of each sender [byte/s]
    stats : float64[N_STATS]

    Queue: dq/dt = sum_i r_i(t) - C (q >= 0); ECN marks with p(q) (Kmin, Kmax, Pmax); with
    PFC, the upstream pauses ``P_PFCDELAY`` after q exceeds Xoff and resumes after it falls
    below Xon; bytes above the buffer are dropped. Congestion control laws: DCQCN fluid
    model of Zhu et al. (CoNEXT 2016, eqs. 1-5); HPCC window law (Li et al., SIGCOMM 2019)
    fed by INT (queue and tx rate) one RTT late; Homa-like receiver credits (unscheduled
    first RTT, then grants to ``P_OVERCOMMIT`` senders in SRPT order at total rate C);
    GSE DGSQ (request/grant: only granted bytes enter the fabric; grants share C).
    """
    n = size.shape[0]
    dt = prm[P_DT]
    C = prm[P_C]
    line = prm[P_LINE]
    rtt = prm[P_RTT]
    kmin = prm[P_KMIN]
    kmax = prm[P_KMAX]
    pmax = prm[P_PMAX]
    xoff = prm[P_XOFF]
    xon = prm[P_XON]
    buf = prm[P_BUF]
    pfc = prm[P_PFC] > 0.5
    pkt = prm[P_PKT]
    minrate = prm[P_MINRATE]
    d_fb = max(1, int(round(rtt / dt)))            # feedback delay in steps
    d_pfc = max(1, int(round(prm[P_PFCDELAY] / dt)))
    H = max(d_fb, d_pfc) + 2
    # histories (ring buffers)
    hist_p = np.zeros(H)
    hist_q = np.zeros(H)
    hist_tx = np.zeros(H)
    hist_pause = np.zeros(H, np.bool_)
    hist_rc = np.zeros((H, n))
    hist_grant = np.zeros((H, n))
    left = np.empty(n)
    unlimited = np.zeros(n, np.bool_)
    for i in range(n):
        if size[i] <= 0.0:
            unlimited[i] = True
            left[i] = np.inf
        else:
            left[i] = size[i]
    # per-scheme state
    rc = np.full(n, line)   # current rate
    rt = np.full(n, line)   # target rate (DCQCN)
    alpha = np.ones(n)      # DCQCN alpha
    w = np.full(n, line * rtt)  # HPCC window
    wc = np.full(n, line * rtt)
    stage = np.zeros(n, np.int64)
    next_upd = np.zeros(n)
    uns = np.empty(n)       # credits: unscheduled bytes still allowed
    for i in range(n):
        uns[i] = prm[P_UNSCHED]
        next_upd[i] = rtt * (1.0 + 0.1 * (i % 10) / 10.0)  # slight de-synchronisation
    granted_left = np.zeros(n)  # credits/DGSQ: granted but not yet sent [byte]
    tau = prm[P_TAU]
    taup = prm[P_TAUP]
    g = prm[P_G]
    Tt = prm[P_T]
    Bp = prm[P_B] / pkt
    rai = prm[P_RAI]
    eta = prm[P_ETA]
    maxstage = int(prm[P_MAXSTAGE])
    wai = prm[P_WAI]
    k_over = max(1, int(prm[P_OVERCOMMIT]))
    margin = prm[P_GRANTMARGIN]
    q = 0.0
    paused = False
    pause_steps = 0
    drops = 0.0
    qmax = 0.0
    delivered = 0.0
    t_done = np.inf
    voqmax = 0.0
    for s in range(n_steps):
        t = s * dt
        h = s % H
        hd = (s - d_fb) % H if s >= d_fb else -1
        pd_ = (s - d_pfc) % H if s >= d_pfc else -1
        upstream_paused = pfc and pd_ >= 0 and hist_pause[pd_]
        # ---- congestion control: decide intended rates
        if scheme == 1:  # DCQCN fluid model
            p_del = hist_p[hd] if hd >= 0 else 0.0
            if p_del > 0.999999:
                p_del = 0.999999
            marked = p_del >= 1e-12
            lp = math.log1p(-p_del) if marked else 0.0
            evb = _event_rate(p_del, Bp)
            for i in range(n):
                rcd = hist_rc[hd, i] if hd >= 0 else rc[i]
                x = rcd / pkt                      # packets per second
                if marked:
                    cut = -math.expm1(tau * x * lp)    # P(at least one mark in tau)
                    cutp = -math.expm1(taup * x * lp)
                    y = -Tt * x * lp
                    ev_t = x * p_del / math.expm1(y) if y < 700.0 else 0.0
                    if x <= 0.0:
                        ev_t = 1.0 / Tt
                else:
                    cut = 0.0
                    cutp = 0.0
                    ev_t = 1.0 / Tt
                ev = x * evb + ev_t
                da = g / taup * (cutp - alpha[i])
                drt = -(rt[i] - rc[i]) / tau * cut + rai * ev
                drc = -rc[i] * alpha[i] / (2.0 * tau) * cut + (rt[i] - rc[i]) / 2.0 * ev
                alpha[i] += da * dt
                rt[i] += drt * dt
                rc[i] += drc * dt
                if rt[i] > line:
                    rt[i] = line
                if rc[i] > line:
                    rc[i] = line
                if rc[i] < minrate:
                    rc[i] = minrate
                if rt[i] < minrate:
                    rt[i] = minrate
                if alpha[i] < 0.0:
                    alpha[i] = 0.0
                if alpha[i] > 1.0:
                    alpha[i] = 1.0
        elif scheme == 2:  # HPCC
            if hd >= 0:
                qd = hist_q[hd]
                txd = hist_tx[hd]
            else:
                qd = 0.0
                txd = 0.0
            U = qd / (C * rtt) + txd / C
            for i in range(n):
                if t >= next_upd[i]:
                    next_upd[i] += rtt
                    if U / eta >= 1.0 or stage[i] >= maxstage:
                        w[i] = wc[i] / max(U / eta, 1e-9) + wai
                        wc[i] = w[i]
                        stage[i] = 0
                    else:
                        w[i] = wc[i] + wai
                        wc[i] = w[i]
                        stage[i] += 1
                    if w[i] > line * rtt:
                        w[i] = line * rtt
                        wc[i] = w[i]
                    if w[i] < minrate * rtt:
                        w[i] = minrate * rtt
                        wc[i] = w[i]
                rc[i] = w[i] / rtt
        elif scheme == 3 or scheme == 4:  # receiver credits / DGSQ grants
            # active requesters and SRPT order (credits) or fair share (DGSQ)
            nact = 0
            for i in range(n):
                if left[i] > 0.0:
                    nact += 1
            gr = np.zeros(n)
            if nact > 0:
                if scheme == 3:
                    # grant to the k_over active senders with least remaining scheduled bytes
                    kk = min(k_over, nact)
                    chosen = np.zeros(n, np.bool_)
                    for r_ in range(kk):
                        best = -1
                        bl = np.inf
                        for i in range(n):
                            if left[i] > 0.0 and not chosen[i]:
                                rem = left[i] - uns[i]
                                if best < 0 or rem < bl:
                                    bl = rem
                                    best = i
                        if best >= 0:
                            chosen[best] = True
                    for i in range(n):
                        if chosen[i]:
                            gr[i] = C / kk
                else:
                    for i in range(n):
                        if left[i] > 0.0:
                            gr[i] = margin * C / nact
            for i in range(n):
                hist_grant[h, i] = gr[i]
                gdel = hist_grant[hd, i] if hd >= 0 else 0.0
                if scheme == 3 and uns[i] > 0.0:
                    rc[i] = line  # unscheduled bytes go at line rate in the first RTT
                else:
                    rc[i] = gdel
        else:  # PFC only: line rate
            for i in range(n):
                rc[i] = line
        # ---- actual sending (limited by data left, and by PFC pause)
        rs = 0.0
        for i in range(n):
            r = rc[i]
            if r > line:
                r = line
            if upstream_paused:
                r = 0.0
            if not unlimited[i]:
                if left[i] <= 0.0:
                    r = 0.0
                elif r * dt > left[i]:
                    r = left[i] / dt
            if scheme == 3 and uns[i] > 0.0 and r > 0.0:
                uns[i] -= r * dt
                if uns[i] < 0.0:
                    uns[i] = 0.0
            if not unlimited[i]:
                left[i] -= r * dt
                if left[i] < 1e-9:
                    left[i] = 0.0
            rates_out[s, i] = r
            rs += r
        if upstream_paused:
            pause_steps += 1
        # ---- bottleneck queue
        q += (rs - C) * dt
        tx = C
        if q < 0.0:
            tx = C + q / dt
            q = 0.0
        if q > buf:
            ex = q - buf
            drops += ex
            q = buf
            # dropped bytes are sent again (retransmission), shared by the senders' rates
            if rs > 0.0:
                for i in range(n):
                    if not unlimited[i]:
                        left[i] += ex * rates_out[s, i] / rs
        delivered += tx * dt
        if q > qmax:
            qmax = q
        # ---- PFC state machine
        if pfc:
            if not paused and q > xoff:
                paused = True
            elif paused and q < xon:
                paused = False
        hist_pause[h] = paused
        hist_p[h] = _mark(q, kmin, kmax, pmax)
        hist_q[h] = q
        hist_tx[h] = tx
        for i in range(n):
            hist_rc[h, i] = rc[i]
        q_out[s] = q
        rsum_out[s] = rs
        # bytes waiting at the edge (not yet sent) for grant-based schemes
        if scheme == 4:
            wait = 0.0
            for i in range(n):
                if not unlimited[i]:
                    wait += left[i]
            if wait > voqmax:
                voqmax = wait
        if t_done == np.inf:
            alldone = True
            for i in range(n):
                if unlimited[i] or left[i] > 0.0:
                    alldone = False
                    break
            if alldone and q <= 0.0:
                t_done = (s + 1) * dt
    stats[S_PAUSE] = pause_steps * dt * n
    stats[S_DROPS] = drops
    stats[S_QMAX] = qmax
    stats[S_DONE] = t_done
    stats[S_DELIVERED] = delivered
    stats[S_PAUSEFRAC] = pause_steps / max(n_steps, 1)
    stats[S_VOQMAX] = voqmax
    return q
