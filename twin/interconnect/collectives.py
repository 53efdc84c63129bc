"""Collectives over a topology graph: traffic of each algorithm, alpha-beta time, algbw and busbw.

Model
-----
An algorithm is a set of *phases*. For each phase the traffic it puts on the graph is a list of
transfers (source card, destination card, bytes per byte of message); :func:`phase_cost`
spreads them over the links (``_kernels.link_loads``) and takes the busiest link:

    beta = max_e  L_e / (B_e * eta_e)          [s per byte of message]

with ``L_e`` the bytes on directed link ``e`` per byte of message, ``B_e`` its line bandwidth
per direction and ``eta_e`` its protocol efficiency. The phase time for message size S with
NCCL protocol r (LL, LL128, Simple) is

    T = lat0_r + n_steps * (hw_r + l_path) + S * beta / eta_r

where ``lat0_r`` and ``hw_r`` are NCCL's base and per-step latencies (NVIDIA/nccl
src/graph/tuning.cc, NVLink / PCI / network rows), ``l_path`` the largest path latency of the
graph and ``eta_r`` the protocol's payload share (LL 1/4 for all-reduce, 1/3 otherwise; LL128
0.92; Simple 1, the factors NCCL's tuning model uses). Pipelining is what NCCL does for large
messages, so the whole message's load on the busiest link sets the bandwidth term.

algbw = S / T and busbw = algbw * f(n) with the nccl-tests factors (doc/PERFORMANCE.md):
all-reduce 2(n-1)/n; all-gather, reduce-scatter, all-to-all (n-1)/n; broadcast, send/recv 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, unknown_name
from . import _kernels
from .topology import EFFICIENCY, Topology

COLLECTIVES = ("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "broadcast", "send-recv")
ALGORITHMS = ("auto", "ring", "tree", "direct", "nvls", "hierarchical")
PROTOCOLS = ("LL", "LL128", "Simple")

_ALIASES = {"allreduce": "all-reduce", "all_reduce": "all-reduce", "allgather": "all-gather",
            "all_gather": "all-gather", "reducescatter": "reduce-scatter", "reduce_scatter": "reduce-scatter",
            "alltoall": "all-to-all", "all_to_all": "all-to-all", "sendrecv": "send-recv", "send_recv": "send-recv",
            "p2p": "send-recv", "bcast": "broadcast"}

# NCCL tuning constants [us] (NVIDIA/nccl src/graph/tuning.cc, 2.7-2.9 series).
# baseLat[algorithm][protocol], protocols LL, LL128, Simple.
BASE_LAT = {"tree": (4.4, 4.4, 0.0), "ring": (3.6, 10.0, 8.4), "direct": (3.6, 10.0, 8.4), "nvls": (math.inf, math.inf, 0.0)}
# hwLat[hardware][algorithm][protocol] per step. NCCL has no "direct" row: direct (full-mesh)
# transfers reuse the ring row (assumption). NVLS exists only over NVLink (inf = unavailable).
HW_LAT = {
    "nvlink": {"tree": (0.52, 1.2, 28.0), "ring": (0.47, 1.9, 3.4), "direct": (0.47, 1.9, 3.4), "nvls": (math.inf, math.inf, 25.0)},
    "pci": {"tree": (1.0, 1.9, 28.0), "ring": (1.0, 2.5, 5.7), "direct": (1.0, 2.5, 5.7), "nvls": (math.inf, math.inf, math.inf)},
    "net": {"tree": (5.0, 8.5, 50.0), "ring": (2.7, 4.0, 9.6), "direct": (2.7, 4.0, 9.6), "nvls": (math.inf, math.inf, math.inf)},
}
# NVLS: baseLat 0 and hwLat[NVLINK][NVLS][Simple] = 25 us, charged ONCE per collective
# (``latencies = intraLat`` for NVLS in ncclTopoTuneModel), Simple protocol only. Source:
# NVIDIA/nccl src/graph/tuning.cc: 23 us in the 2.19/2.20 series (commit b647562), 25 us in the
# releases that added the PAT algorithm and Blackwell rows (2.23+). The NET row (18 us) is not
# used: NVLS here never crosses the fabric. Phases of algorithm "nvls" therefore carry steps = 1.

#: In-network reduction (NVLink SHARP) efficiency relative to the link's protocol efficiency,
#: calibrated on nccl-allreduce-8xH100-nvls (480 GB/s): the switch's multimem reduce/multicast
#: does not reach the link rate. 480 / (2 (n-1)/(n+1) * 450 * 0.775) with n = 8.
NVLS_EFFICIENCY = 480.0 / (2 * 7 / 9 * 450.0 * EFFICIENCY["scale-up"])


def canonical_collective(name) -> str:
    """Canonical collective name or InputError naming the field ``collective``."""
    if not isinstance(name, str):
        raise InputError("collective", name, "one of " + ", ".join(COLLECTIVES), f"is a {type(name).__name__}")
    key = name.strip().lower().replace(" ", "-")
    key = _ALIASES.get(key, key)
    if key not in COLLECTIVES:
        raise unknown_name("collective", name, COLLECTIVES, "collective")
    return key


def check_algorithm(name) -> str:
    if not isinstance(name, str) or name.strip().lower() not in ALGORITHMS:
        raise unknown_name("algorithm", name, ALGORITHMS, "algorithm")
    return name.strip().lower()


def busbw_factor(collective: str, n: int) -> float:
    """nccl-tests bus-bandwidth factor: busbw = algbw * factor.

    Parameters
    ----------
    collective : str
        One of :data:`COLLECTIVES`.
    n : int
        Ranks in the group (>= 1).

    Returns
    -------
    float
        Dimensionless factor.

    Notes
    -----
    all-reduce 2(n-1)/n; all-gather, reduce-scatter, all-to-all (n-1)/n; broadcast, send/recv 1.

    References
    ----------
    NVIDIA nccl-tests doc/PERFORMANCE.md.
    """
    c = canonical_collective(collective)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError("group_size", n, "a whole number of cards >= 1",
                         "is too small" if isinstance(n, (int, np.integer)) and not isinstance(n, bool) else f"is a {type(n).__name__}")
    if c == "all-reduce":
        return 2.0 * (n - 1) / n
    if c in ("all-gather", "reduce-scatter", "all-to-all"):
        return (n - 1) / n
    return 1.0


def protocol_efficiency(collective: str, algorithm: str) -> tuple[float, float, float]:
    """Payload share of LL, LL128 and Simple (NCCL tuning model factors)."""
    if algorithm == "nvls":
        return (1e-30, 1e-30, 1.0)
    ll = 0.25 if collective == "all-reduce" else 1.0 / 3.0
    return (ll, 0.92, 1.0)


@dataclass
class Phase:
    """One phase of an algorithm: per-byte cost over the graph and its latency structure."""

    beta: float          # s per byte of message at protocol efficiency 1
    steps: int           # latency-bound steps
    algorithm: str       # NCCL latency row: ring | tree | direct | nvls
    hw: str              # nvlink | pci | net
    path_latency: float  # s, largest path latency
    scale: float = 1.0   # phase message size / collective message size


def _ring_transfers(order, per_hop):
    return [(order[i], order[(i + 1) % len(order)], per_hop) for i in range(len(order))]


def _binary_tree_edges(order):
    """(child, parent) pairs of a heap-ordered binary tree over ``order``."""
    return [(order[i], order[(i - 1) // 2]) for i in range(1, len(order))]


def phase_cost(topo: Topology, transfers, *, mode_max: bool = False, groups=None) -> tuple[float, float]:
    """Busiest-link seconds per byte and largest path latency of a set of concurrent transfers.

    Parameters
    ----------
    transfers : list of (src, dst, bytes_per_message_byte)
    mode_max : bool
        Combine transfers of the same group by the largest fraction (in-network reduction or
        multicast: one stream per link).
    groups : list[int], optional
        Group id per transfer (``mode_max``).

    Returns
    -------
    beta : float  [s/B]
        ``max_e L_e / (B_e eta_e)``
    path_latency : float  [s]
    """
    if not transfers:
        return 0.0, 0.0
    src = np.array([t[0] for t in transfers], dtype=np.int64)
    dst = np.array([t[1] for t in transfers], dtype=np.int64)
    b = np.array([t[2] for t in transfers], dtype=float)
    grp = np.array(groups if groups is not None else np.zeros(len(transfers)), dtype=np.int64)
    loads, lat = _kernels.link_loads(topo.indptr, topo.adj_node, topo.adj_edge, topo.bandwidth, topo.latency,
                                     topo.is_acc, topo.dist, src, dst, b, grp, 1 if mode_max else 0,
                                     len(topo.edges))
    if lat < 0:
        raise InputError("topology", topo.name, "a graph that connects every pair of cards", "leaves cards unreachable")
    return float(np.max(loads / topo.effective_bandwidth)), float(lat)


def _rings_for(topo: Topology, members):
    """Directed rings over ``members``: the topology's disjoint direct-link rings when the group
    is the whole board, else one ring in member order (routed over the graph)."""
    if topo.rings and sorted(members) == list(range(topo.cards)):
        return topo.rings
    return [list(members)]


def intra_phases(topo: Topology, collective: str, algorithm: str, members) -> list[Phase] | None:
    """Phases of ``algorithm`` for ``collective`` among ``members`` of one domain (None if n/a)."""
    n = len(members)
    hw = topo.link_class
    c = collective
    if n == 1:
        return []
    if algorithm == "ring":
        rings = _rings_for(topo, members)
        k = len(rings)
        if c == "all-reduce":
            per_hop, steps = 2.0 * (n - 1) / n, 2 * (n - 1)
        elif c in ("all-gather", "reduce-scatter"):
            per_hop, steps = (n - 1) / n, n - 1
        elif c == "broadcast":
            per_hop, steps = 1.0, n - 1
        elif c == "all-to-all":
            per_hop, steps = (n - 1) / 2.0, n - 1   # a block of S/n travels d hops, d = 1..n-1
        else:
            return None
        tr = []
        for r in rings:
            hops = _ring_transfers(r, per_hop / k)
            if c == "broadcast":
                hops = hops[:-1]  # a chain from the root: the last hop does not close the ring
            tr += hops
        beta, lat = phase_cost(topo, tr)
        return [Phase(beta, steps, "ring", hw, lat)]
    if algorithm == "tree":
        if c not in ("all-reduce", "broadcast"):
            return None
        order2 = list(members[1:]) + [members[0]]
        tr = []
        for order in (list(members), order2):       # double binary tree, half the data each
            for child, parent in _binary_tree_edges(order):
                if c == "all-reduce":
                    tr.append((child, parent, 0.5))
                tr.append((parent, child, 0.5))
        beta, lat = phase_cost(topo, tr)
        depth = max(1, math.ceil(math.log2(n + 1)) - 1)
        return [Phase(beta, 2 * depth if c == "all-reduce" else depth, "tree", hw, lat)]
    if algorithm == "direct":
        pairs = [(i, j) for i in members for j in members if i != j]
        if c == "all-reduce":
            tr, steps = [(i, j, 2.0 / n) for i, j in pairs], 2
        elif c in ("all-gather", "reduce-scatter", "all-to-all"):
            tr, steps = [(i, j, 1.0 / n) for i, j in pairs], 1
        elif c == "broadcast":
            root = members[0]
            tr = [(root, j, 1.0 / n) for j in members if j != root] + [(i, j, 1.0 / n) for i, j in pairs]
            steps = 2
        else:  # send-recv: every rank sends to the next, as nccl-tests sendrecv_perf
            tr, steps = _ring_transfers(list(members), 1.0), 1
        beta, lat = phase_cost(topo, tr)
        return [Phase(beta, steps, "direct", hw, lat)]
    if algorithm == "nvls":
        if not topo.in_network_reduction or c not in ("all-reduce", "all-gather", "reduce-scatter", "broadcast"):
            return None
        beta, lat = nvls_cost(topo, c, members)
        # one latency charge per collective, as NCCL's tuning model (see HW_LAT above)
        return [Phase(beta / NVLS_EFFICIENCY, 1, "nvls", hw, lat)]
    if algorithm == "hierarchical":
        groups = [[m for m in members if m in set(g)] for g in topo.groups]
        groups = [g for g in groups if g]
        if len(groups) < 2 or len({len(g) for g in groups}) != 1 or c not in ("all-reduce", "all-gather", "reduce-scatter"):
            return None
        m = len(groups[0])
        out = []
        if c in ("all-reduce", "reduce-scatter"):
            out.append(_concurrent_rings(topo, groups, "reduce-scatter", 1.0))
        cross = [[g[i] for g in groups] for i in range(m)]
        inner = "all-reduce" if c == "all-reduce" else c
        out.append(_concurrent_rings(topo, cross, inner, 1.0 / m))
        if c in ("all-reduce", "all-gather"):
            out.append(_concurrent_rings(topo, groups, "all-gather", 1.0))
        return out
    return None


def nvls_cost(topo: Topology, collective: str, members) -> tuple[float, float]:
    """Busiest-link seconds per byte of an in-network (NVLS-like) collective.

    Reduce-scatter (multimem.ld_reduce): shard j of S/n is reduced in the switches on its way
    to its owner j, so each link carries one stream of S/n per shard (``mode_max``); the owner's
    own copy also crosses its link to the switch. All-gather (multimem.st): the owner stores its
    shard once, the switches replicate it to every card including the owner. All-reduce runs the
    two pipelined, on opposite directions of each link: each direction carries S (1 + 1/n).
    Broadcast: the root's S multicast down the switch tree.
    """
    n = len(members)
    args = (topo.indptr, topo.adj_node, topo.adj_edge, topo.bandwidth, topo.latency, topo.is_acc, topo.dist)
    n_e = len(topo.edges)
    loads = np.zeros(n_e)
    lat = 0.0
    pairs = [(i, j, gi) for gi, j in enumerate(members) for i in members if i != j]
    src = np.array([p[0] for p in pairs], dtype=np.int64)
    dst = np.array([p[1] for p in pairs], dtype=np.int64)
    grp = np.array([p[2] for p in pairs], dtype=np.int64)
    share = np.full(len(pairs), 1.0 / n)
    own_up = np.zeros(n_e)
    own_down = np.zeros(n_e)
    to_switch = topo.edge_dst >= topo.cards
    from_switch = topo.edge_src >= topo.cards
    for j in members:  # the owner's own shard crosses its links to the switch and back
        up = (topo.edge_src == j) & to_switch
        down = (topo.edge_dst == j) & from_switch
        if up.any():
            own_up[up] += topo.bandwidth[up] / topo.bandwidth[up].sum() / n
        if down.any():
            own_down[down] += topo.bandwidth[down] / topo.bandwidth[down].sum() / n
    if collective in ("all-reduce", "reduce-scatter"):
        l1, lat1 = _kernels.link_loads(*args, src, dst, share, grp, 1, n_e)
        loads += l1 + own_up
        lat = max(lat, lat1)
    if collective in ("all-reduce", "all-gather"):
        l2, lat2 = _kernels.link_loads(*args, dst, src, share, grp, 1, n_e)
        loads += l2 + own_down
        lat = max(lat, lat2)
    if collective == "broadcast":
        root = members[0]
        others = [i for i in members if i != root]
        l3, lat3 = _kernels.link_loads(*args, np.full(len(others), root, dtype=np.int64), np.array(others, dtype=np.int64),
                                       np.ones(len(others)), np.zeros(len(others), dtype=np.int64), 1, n_e)
        loads += l3
        lat = max(lat, lat3)
    if lat < 0:
        raise InputError("topology", topo.name, "a graph that connects every pair of cards", "leaves cards unreachable")
    return float(np.max(loads / topo.effective_bandwidth)), float(lat)


def _concurrent_rings(topo: Topology, rings, collective: str, scale: float) -> Phase:
    n = len(rings[0])
    if n == 1:
        return Phase(0.0, 0, "ring", topo.link_class, 0.0, scale)
    per_hop = 2.0 * (n - 1) / n if collective == "all-reduce" else (n - 1) / n
    steps = 2 * (n - 1) if collective == "all-reduce" else n - 1
    tr = []
    for r in rings:
        tr += _ring_transfers(r, per_hop)
    beta, lat = phase_cost(topo, tr)
    return Phase(beta, steps, "ring", topo.link_class, lat, scale)


def phase_arrays(phases: list[Phase], collective: str):
    """(lat[R], invbw[R], scale) per phase for the sweep kernel."""
    lat = np.full((len(phases), 3), np.inf)
    inv = np.full((len(phases), 3), np.inf)
    scale = np.zeros(len(phases))
    for p, ph in enumerate(phases):
        eff = protocol_efficiency(collective, ph.algorithm)
        base = BASE_LAT[ph.algorithm]
        hwl = HW_LAT[ph.hw][ph.algorithm]
        scale[p] = ph.scale
        for r in range(3):
            if not math.isfinite(base[r]) or not math.isfinite(hwl[r]):
                continue
            if ph.steps == 0 and ph.beta == 0.0:
                lat[p, r] = 0.0
                inv[p, r] = 0.0
                continue
            lat[p, r] = (base[r] + ph.steps * hwl[r]) * 1e-6 + ph.steps * ph.path_latency
            inv[p, r] = ph.beta / eff[r]
    return lat, inv, scale


__all__ = ["COLLECTIVES", "ALGORITHMS", "PROTOCOLS", "busbw_factor", "canonical_collective", "intra_phases",
           "phase_cost", "phase_arrays", "Phase", "NVLS_EFFICIENCY", "nvls_cost"]
