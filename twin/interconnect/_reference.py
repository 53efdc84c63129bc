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
    t = lat[..., None] + scale[:, :, None, None] * s[None, None, None, :] * invbw[..., None]
    per_phase = np.min(t, axis=2)                       # [C, P, M]
    per_phase = np.where(scale[:, :, None] == 0.0, 0.0, per_phase)
    times = per_phase.sum(axis=1)                       # [C, M]
    best = np.argmin(times, axis=0).astype(np.int64)
    return times, best
