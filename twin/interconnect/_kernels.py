"""numba kernels of the interconnect model (plain float64/int64 arrays in SI units).

Two hot loops:

* :func:`link_loads` spreads a list of transfers over the links of a topology graph. Each
  transfer follows every shortest path from its source to its destination (accelerators do
  not forward traffic), split at each node in proportion to the capacity of the next hops;
  the result is the number of bytes crossing every directed link. In ``max`` mode the
  transfers of one group are combined by the largest fraction per link (in-network
  reduction and multicast: a switch forwards one reduced / replicated stream per link).
* :func:`sweep_times` evaluates the alpha-beta time of every candidate algorithm, summed over
  its phases and minimised over protocols, for a vector of message sizes.

Imports only numpy, numba and math (contract).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def link_loads(indptr, adj_node, adj_edge, cap, lat, is_acc, dist, src, dst, nbytes, group, mode_max, n_edges):
    """Bytes per directed link for a list of transfers, and the largest expected path latency.

    Parameters
    ----------
    indptr, adj_node, adj_edge : int64 arrays
        CSR adjacency: out-neighbours of node v are ``adj_node[indptr[v]:indptr[v+1]]`` via
        edge ids ``adj_edge[...]``.
    cap : float64 [E]
        Capacity of each directed edge [B/s] (only its ratio matters: split weights).
    lat : float64 [E]
        Latency of each directed edge [s].
    is_acc : int64 [V]
        1 for accelerators (they end paths but do not forward).
    dist : int64 [V, A]
        Hop distance from node v to accelerator a without transit through accelerators
        (-1 unreachable).
    src, dst : int64 [T]
        Accelerator indices of each transfer.
    nbytes : float64 [T]
        Bytes of each transfer.
    group : int64 [T]
        Group id (consecutive transfers share a group); used in max mode.
    mode_max : int64
        0: loads add up; 1: within a group, each link carries ``nbytes * max fraction``.
    n_edges : int64

    Returns
    -------
    loads : float64 [E]
        Bytes per directed link [B].
    max_latency : float64
        Largest capacity-weighted path latency over the transfers [s] (-1 if one is unreachable).
    """
    n_nodes = indptr.shape[0] - 1
    loads = np.zeros(n_edges)
    gbuf = np.zeros(n_edges)
    gtouched = np.empty(n_edges, dtype=np.int64)
    gmark = np.zeros(n_edges, dtype=np.int64)
    n_gt = 0
    mass = np.zeros(n_nodes)
    front = np.empty(n_nodes, dtype=np.int64)
    nxt = np.empty(n_nodes, dtype=np.int64)
    inq = np.zeros(n_nodes, dtype=np.int64)
    max_lat = 0.0
    n_t = src.shape[0]
    for t in range(n_t):
        s = src[t]
        d = dst[t]
        b = nbytes[t]
        if mode_max == 1 and t > 0 and group[t] != group[t - 1]:
            for k in range(n_gt):
                e = gtouched[k]
                loads[e] += gbuf[e]
                gbuf[e] = 0.0
                gmark[e] = 0
            n_gt = 0
        if s == d:
            continue
        if dist[s, d] < 0:
            max_lat = -1.0
            continue
        nf = 1
        front[0] = s
        mass[s] = 1.0
        path_lat = 0.0
        level = dist[s, d]
        while level > 0:
            nn = 0
            for i in range(nf):
                v = front[i]
                m = mass[v]
                mass[v] = 0.0
                inq[v] = 0
                wsum = 0.0
                for k in range(indptr[v], indptr[v + 1]):
                    w = adj_node[k]
                    if dist[w, d] == level - 1 and (is_acc[w] == 0 or w == d):
                        wsum += cap[adj_edge[k]]
                if wsum <= 0.0:
                    continue
                for k in range(indptr[v], indptr[v + 1]):
                    w = adj_node[k]
                    if dist[w, d] == level - 1 and (is_acc[w] == 0 or w == d):
                        e = adj_edge[k]
                        f = m * cap[e] / wsum
                        path_lat += f * lat[e]
                        if mode_max == 1:
                            if gmark[e] == 0:
                                gmark[e] = 1
                                gtouched[n_gt] = e
                                n_gt += 1
                            if b * f > gbuf[e]:
                                gbuf[e] = b * f
                        else:
                            loads[e] += b * f
                        mass[w] += f
                        if inq[w] == 0:
                            inq[w] = 1
                            nxt[nn] = w
                            nn += 1
            for i in range(nn):
                front[i] = nxt[i]
            nf = nn
            level -= 1
        for i in range(nf):
            mass[front[i]] = 0.0
            inq[front[i]] = 0
        if max_lat >= 0.0 and path_lat > max_lat:
            max_lat = path_lat
    if mode_max == 1:
        for k in range(n_gt):
            e = gtouched[k]
            loads[e] += gbuf[e]
    return loads, max_lat


@njit(cache=True)
def sweep_times(sizes, lat, invbw, scale):
    """Collective time for every message size and candidate algorithm.

    Parameters
    ----------
    sizes : float64 [M]
        Message sizes [B] (nccl-tests convention of the collective).
    lat : float64 [C, P, R]
        Latency of candidate c, phase p, protocol r [s]; ``inf`` where a protocol is unavailable.
    invbw : float64 [C, P, R]
        Seconds per byte of message of that phase and protocol [s/B].
    scale : float64 [C, P]
        Phase message size as a multiple of the collective's message size (0 = unused phase).

    Returns
    -------
    times : float64 [C, M]
        ``T_c(S) = sum_p min_r (lat[c,p,r] + scale[c,p] * S * invbw[c,p,r])`` [s].
    best : int64 [M]
        Index of the fastest candidate per size.
    """
    n_c, n_p, n_r = lat.shape
    n_m = sizes.shape[0]
    times = np.empty((n_c, n_m))
    best = np.zeros(n_m, dtype=np.int64)
    for m in range(n_m):
        s = sizes[m]
        tbest = math.inf
        for c in range(n_c):
            total = 0.0
            for p in range(n_p):
                sc = scale[c, p]
                if sc == 0.0:
                    continue
                tmin = math.inf
                for r in range(n_r):
                    t = lat[c, p, r] + sc * s * invbw[c, p, r]
                    if t < tmin:
                        tmin = t
                total += tmin
            times[c, m] = total
            if total < tbest:
                tbest = total
                best[m] = c
    return times, best
