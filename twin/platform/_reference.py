"""Plain NumPy/Python reference of the pooling kernel (tests and benchmarks only).

Scores every node for every pod from scratch with array operations over the nodes (no score
cache), for arrivals without departures (the FGD paper's protocol) and pods placed on one
node. It takes the same pre-drawn random numbers as the numba kernel, so decisions agree.
"""
from __future__ import annotations

import numpy as np

from . import _kernels as K


def node_frag(cpu_left, gl, tbit, t_cpu, t_ngpu, t_milli, t_mask, t_freq):
    """Fragmented milli-GPU of every node (rows of ``gl``) against the typical pods."""
    total = gl.sum(axis=1).astype(float)
    f = np.zeros(gl.shape[0])
    for t in range(t_cpu.size):
        m = t_milli[t]
        if m == 0:
            f += t_freq[t] * total
            continue
        ok_type = (t_mask[t] & tbit) != 0
        fits = gl >= m
        cnt = fits.sum(axis=1)
        small = np.where(fits, 0, gl).sum(axis=1)
        q3 = ok_type & (cnt >= t_ngpu[t]) & (cpu_left >= t_cpu[t])
        f += t_freq[t] * np.where(q3, small, total)
    return f


def _sig100(x):
    return np.floor(100.0 / (1.0 + np.exp(-x / 1000.0))).astype(np.int64)


def scores(policy, cpu, mem, ngpu, milli, mask, gcap, cpu_left, mem_left, gl, ngpus, tbit, aff, typical):
    """Integer score of every node (K.INFEASIBLE where the pod does not fit)."""
    n = cpu_left.size
    valid = np.arange(gl.shape[1])[None, :] < ngpus[:, None]
    glv = np.where(valid, gl, -1)
    feas = (cpu_left >= cpu) & (mem_left >= mem)
    if ngpu > 0:
        feas &= (ngpus > 0) & ((mask & tbit) != 0) & ((glv >= milli).sum(axis=1) >= ngpu)
    gtot = np.where(valid, gl, 0).sum(axis=1)
    if policy == K.RANDOM:
        sc = np.zeros(n, np.int64)
    elif policy == K.DOTPROD:
        dot = (cpu_left / K.MAX_CPU) * (cpu / K.MAX_CPU) + (gtot / K.MAX_GPU) * (ngpu * milli / K.MAX_GPU)
        sc = np.floor(100.0 * (1.0 - dot / 2.0)).astype(np.int64)
    elif policy == K.BESTFIT:
        s = (cpu_left - cpu) / K.MAX_CPU * 0.5 + (gtot - ngpu * milli) / K.MAX_GPU * 0.5
        sc = np.trunc((1.0 - s) * 100.0).astype(np.int64)
    elif policy == K.CLUSTERING:
        if ngpu == 0:
            sc = np.zeros(n, np.int64)
        else:
            tag = 0 if milli < gcap else ngpu
            ntags = (aff > 0).sum(axis=1)
            base = np.trunc(25 * (8000 - gtot) / 8000).astype(np.int64)
            sc = base + np.where(aff[:, tag] > 0, np.where(ntags == 1, 75, 50), np.where(ntags == 0, 25, 0))
    elif policy == K.PACKING:
        sc = np.zeros(n, np.int64)
        if ngpu > 0 and milli > 0:
            for i in np.flatnonzero(feas):
                left = [int(x) for x in gl[i, : ngpus[i]]]
                full = sum(1 for x in left if x == gcap)
                if full == len(left):
                    sc[i] = max(33 - full, full)
                    continue
                need, use_full, pct = ngpu, 0, 0
                for x in sorted(left):
                    if need == 0:
                        break
                    if milli <= x:
                        need -= 1
                        use_full += x == gcap
                        pct += (x * 100) // 1000
                sc[i] = max(50 - use_full, 33) if use_full else max(100 - pct // 10, 50)
    else:  # FGD
        before = node_frag(cpu_left, np.where(valid, gl, 0), tbit, *typical)
        if ngpu == 1 and milli < gcap:
            sc = np.full(n, -1, np.int64)
            for g in range(gl.shape[1]):
                ok = valid[:, g] & (gl[:, g] >= milli)
                if not ok.any():
                    continue
                g2 = np.where(valid, gl, 0).copy()
                g2[:, g] -= milli
                after = node_frag(cpu_left - cpu, g2, tbit, *typical)
                s = _sig100(before - after)
                sc = np.where(ok & (s > sc), s, sc)
        else:
            g2 = np.where(valid, gl, 0).copy()
            if ngpu > 0:
                for i in np.flatnonzero(feas):
                    order = sorted(range(ngpus[i]), key=lambda g: (g2[i, g], g))
                    k = 0
                    for g in order:
                        if k < ngpu and g2[i, g] >= milli:
                            g2[i, g] -= milli
                            k += 1
            after = node_frag(cpu_left - cpu, g2, tbit, *typical)
            sc = _sig100(before - after)
    return np.where(feas, sc, K.INFEASIBLE)


def simulate(policy, sel, mode, gcap, cpu_cap, mem_cap, ngpus, tbit, p_cpu, p_mem, p_ngpu, p_milli, p_mask,
             p_cls, n_cls, t_cpu, t_ngpu, t_milli, t_mask, t_freq, ev_kind, ev_pod, ev_time, rnd, queue_limit,
             used, arrived, status, start, place_node, place_gpu, cpu_node, final_gpu_left, final_cpu_left):
    """Same contract as :func:`twin.platform._kernels.simulate` for arrivals only, local mode
    (pass it as ``kernel=`` to :func:`twin.platform.simulate.run_protocol`)."""
    if (np.asarray(ev_kind) != 0).any() or queue_limit > 0 or mode != K.MODE_LOCAL:
        raise NotImplementedError("the reference replays the paper's protocol only (arrivals, local placement)")
    typical = (t_cpu, t_ngpu, t_milli, t_mask, t_freq)
    n_nodes, G = final_gpu_left.shape
    cpu_left = cpu_cap.astype(np.int64).copy()
    mem_left = mem_cap.astype(np.int64).copy()
    gl = np.zeros((n_nodes, G), np.int64)
    for i in range(n_nodes):
        gl[i, : ngpus[i]] = gcap
    aff = np.zeros((n_nodes, 9), np.int64)
    status[:] = 0
    start[:] = -1
    place_node[:] = -1
    place_gpu[:] = -1
    cpu_node[:] = -1
    cur_used = cur_arr = 0
    for e in range(len(ev_kind)):
        p = ev_pod[e]
        cpu, mem, ngpu, milli, mask = int(p_cpu[p]), int(p_mem[p]), int(p_ngpu[p]), int(p_milli[p]), int(p_mask[p])
        cur_arr += ngpu * milli
        sc = scores(policy, cpu, mem, ngpu, milli, mask, gcap, cpu_left, mem_left, gl, ngpus, tbit, aff, typical)
        best = sc.max() if sc.size else K.INFEASIBLE
        if best != K.INFEASIBLE:
            ties = np.flatnonzero(sc == best)
            u = rnd[p, 0]
            n = int(ties[0] if u < 0 else ties[min(int(u * ties.size), ties.size - 1)])
            gs = []
            if ngpu > 0:
                left = gl[n, : ngpus[n]]
                if milli >= gcap or ngpu > 1:
                    gs = [g for g in range(ngpus[n]) if left[g] >= gcap][:ngpu]
                else:
                    cand = [g for g in range(ngpus[n]) if left[g] >= milli]
                    if sel == K.SEL_RANDOM:
                        gs = [cand[min(int(rnd[p, 1] * len(cand)), len(cand) - 1)]]
                    elif sel == K.SEL_FGD:
                        before = node_frag(cpu_left[n:n + 1], gl[n:n + 1], tbit[n:n + 1], *typical)[0]
                        best_g, best_s = -1, -1
                        for g in cand:
                            g2 = gl[n:n + 1].copy()
                            g2[0, g] -= milli
                            s = int(_sig100(np.array([before - node_frag(cpu_left[n:n + 1] - cpu, g2, tbit[n:n + 1],
                                                                         *typical)[0]]))[0])
                            if best_g < 0 or s > best_s:
                                best_g, best_s = g, s
                        gs = [best_g]
                    else:
                        gs = [min(cand, key=lambda g: (left[g], g))]
            share = milli if ngpu == 1 else gcap
            for j, g in enumerate(gs):
                gl[n, g] -= share
                place_node[p, j] = n
                place_gpu[p, j] = g
            cpu_left[n] -= cpu
            mem_left[n] -= mem
            cpu_node[p] = n
            if ngpu > 0:
                aff[n, 0 if milli < gcap else ngpu] += 1
            status[p] = 1
            start[p] = ev_time[e]
            cur_used += share * ngpu
        used[e] = cur_used
        arrived[e] = cur_arr
    final_gpu_left[:] = gl
    final_cpu_left[:] = cpu_left
    return 0
