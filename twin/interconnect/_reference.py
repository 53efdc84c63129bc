"""Plain Python / NumPy references of the kernels in :mod:`twin.interconnect._kernels`.

Same inputs and outputs; written for clarity, used by the tests and the benchmark.
"""
from __future__ import annotations

import numpy as np


def link_loads(indptr, adj_node, adj_edge, cap, lat, is_acc, dist, src, dst, nbytes, group, mode_max, n_edges):
    """Reference of :func:`twin.interconnect._kernels.link_loads` (dicts per transfer)."""
    loads = np.zeros(n_edges)
    max_lat = 0.0
    group_buf: dict[int, float] = {}
    prev_group = None
    for s, d, b, g in zip(src.tolist(), dst.tolist(), nbytes.tolist(), group.tolist()):
        if mode_max and prev_group is not None and g != prev_group:
            for e, v in group_buf.items():
                loads[e] += v
            group_buf = {}
        prev_group = g
        if s == d:
            continue
        if dist[s, d] < 0:
            max_lat = -1.0
            continue
        frontier = {s: 1.0}
        path_lat = 0.0
        level = int(dist[s, d])
        while level > 0:
            nxt: dict[int, float] = {}
            for v, m in frontier.items():
                hops = [(int(adj_node[k]), int(adj_edge[k])) for k in range(indptr[v], indptr[v + 1])
                        if dist[adj_node[k], d] == level - 1 and (not is_acc[adj_node[k]] or adj_node[k] == d)]
                wsum = sum(cap[e] for _, e in hops)
                if wsum <= 0:
                    continue
                for w, e in hops:
                    f = m * cap[e] / wsum
                    path_lat += f * lat[e]
                    if mode_max:
                        group_buf[e] = max(group_buf.get(e, 0.0), b * f)
                    else:
                        loads[e] += b * f
                    nxt[w] = nxt.get(w, 0.0) + f
            frontier = nxt
            level -= 1
        if max_lat >= 0.0:
            max_lat = max(max_lat, path_lat)
    if mode_max:
        for e, v in group_buf.items():
            loads[e] += v
    return loads, max_lat


def sweep_times(sizes, lat, invbw, scale):
    """Reference of :func:`twin.interconnect._kernels.sweep_times` (NumPy broadcasting)."""
    s = np.asarray(sizes, dtype=float)
    # [C, P, R, M]
    with np.errstate(invalid="ignore"):  # inf * 0 for unused phases, masked below
        t = lat[..., None] + scale[:, :, None, None] * s[None, None, None, :] * invbw[..., None]
    per_phase = np.min(t, axis=2)                       # [C, P, M]
    per_phase = np.where(scale[:, :, None] == 0.0, 0.0, per_phase)
    times = per_phase.sum(axis=1)                       # [C, M]
    best = np.argmin(times, axis=0).astype(np.int64)
    return times, best


def link_loads_numpy(indptr, adj_node, adj_edge, cap, lat, is_acc, dist, src, dst, nbytes, group, mode_max, n_edges):
    """Vectorised NumPy reference of :func:`twin.interconnect._kernels.link_loads`.

    Per destination, the traffic of all its sources is pushed down the shortest-path DAG one
    distance level at a time (array operations over the adjacency), using that the spread is
    linear in the bytes injected; each source's expected path latency is the latency-to-go
    of its node, built up from the destination. ``mode_max`` (in-network reduction groups)
    falls back to :func:`link_loads`.
    """
    if mode_max:
        return link_loads(indptr, adj_node, adj_edge, cap, lat, is_acc, dist, src, dst, nbytes, group, mode_max,
                          n_edges)
    indptr = np.asarray(indptr)
    V = len(indptr) - 1
    k_from = np.repeat(np.arange(V), np.diff(indptr))
    k_to = np.asarray(adj_node)
    k_e = np.asarray(adj_edge)
    k_cap = np.asarray(cap, dtype=float)[k_e]
    k_lat = np.asarray(lat, dtype=float)[k_e]
    acc = np.asarray(is_acc).astype(bool)
    src = np.asarray(src)
    dst = np.asarray(dst)
    nb = np.asarray(nbytes, dtype=float)
    loads = np.zeros(n_edges)
    keep = src != dst
    src, dst, nb = src[keep], dst[keep], nb[keep]
    if src.size and np.any(dist[src, dst] < 0):
        unreachable = True
    else:
        unreachable = False
    max_lat = 0.0
    for d in np.unique(dst):
        lev = np.asarray(dist[:, d])
        sel = dst == d
        s_d, b_d = src[sel], nb[sel]
        ok = lev[s_d] >= 0
        s_d, b_d = s_d[ok], b_d[ok]
        if not s_d.size:
            continue
        lf = lev[k_from]
        valid = (lf > 0) & (lev[k_to] == lf - 1) & (~acc[k_to] | (k_to == d))
        wsum = np.bincount(k_from[valid], weights=k_cap[valid], minlength=V)
        frac = np.where(valid, k_cap / np.where(wsum[k_from] > 0, wsum[k_from], 1.0), 0.0)
        top = int(lev[s_d].max())
        # latency to go, from the destination up
        togo = np.zeros(V)
        for L in range(1, top + 1):
            m = valid & (lf == L)
            togo += np.bincount(k_from[m], weights=frac[m] * (k_lat[m] + togo[k_to[m]]), minlength=V)
        max_lat = max(max_lat, float(togo[s_d].max()))
        # bytes, from the sources down
        mass = np.bincount(s_d, weights=b_d, minlength=V).astype(float)
        for L in range(top, 0, -1):
            m = valid & (lf == L)
            flow = mass[k_from[m]] * frac[m]
            loads += np.bincount(k_e[m], weights=flow, minlength=n_edges)
            mass += np.bincount(k_to[m], weights=flow, minlength=V)
    return loads, (-1.0 if unreachable else max_lat)
