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

Regimes across message sizes come from the protocols (LL for small messages: low per-step
latency, a quarter to a third of the bandwidth; LL128 in between; Simple for large ones) and from
the algorithm: ``algorithm="nccl"`` chooses only among what NCCL runs for the collective
(:data:`NCCL_ALGORITHMS`; an all-reduce of 2(n-1) ring steps costs 2(n-1) step latencies, where
an ideal direct exchange would cost two), ``"auto"`` among every algorithm the twin knows.

Across nodes (:func:`internode_sweep`, :func:`nccl_busbw`): NCCL's ring, double binary tree and
NVLS tree, with the node's injection bandwidth and hop latency read from the fabric's results
in the twin's state tree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, unknown_name
from . import _kernels
from .topology import EFFICIENCY, Topology

COLLECTIVES = ("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "broadcast", "send-recv")
ALGORITHMS = ("auto", "nccl", "ring", "tree", "direct", "nvls", "hierarchical")
#: Algorithms of a collective across nodes in NCCL's model (:func:`internode_sweep`).
INTERNODE_ALGORITHMS = ("nccl", "ring", "tree", "nvls-tree")

#: The algorithms NCCL's tuner chooses among for each collective (NVIDIA/nccl src/graph/tuning.cc,
#: ncclTopoTuneModel: all-reduce ring, tree, NVLS (and CollNet, absent here); all-gather and
#: reduce-scatter ring and NVLS (PAT only with one rank per node); broadcast ring; all-to-all and
#: send/recv run as point-to-point transfers). ``algorithm="nccl"`` picks the fastest of these by
#: the model, as NCCL does by its own; ``"auto"`` the fastest of every algorithm the twin knows
#: (an ideal library, e.g. direct all-reduce on a switch, which NCCL does not run).
NCCL_ALGORITHMS = {"all-reduce": ("ring", "tree", "nvls"), "all-gather": ("ring", "nvls"),
                   "reduce-scatter": ("ring", "nvls"), "broadcast": ("ring",), "all-to-all": ("direct",),
                   "send-recv": ("direct",)}

#: NCCL's tree all-reduce bandwidth factor (tuning.cc: ``busBw = min(busBw * .92, ...)`` for
#: Tree all-reduce), applied to the tree across nodes.
NCCL_TREE_EFFICIENCY = 0.92
PROTOCOLS = ("LL", "LL128", "Simple")

_ALIASES = {"allreduce": "all-reduce", "all_reduce": "all-reduce", "allgather": "all-gather",
            "all_gather": "all-gather", "reducescatter": "reduce-scatter", "reduce_scatter": "reduce-scatter",
            "alltoall": "all-to-all", "all_to_all": "all-to-all", "sendrecv": "send-recv", "send_recv": "send-recv",
            "p2p": "send-recv", "bcast": "broadcast"}

# NCCL tuning constants [us] (NVIDIA/nccl src/graph/tuning.cc, 2.7-2.9 series).
# baseLat[algorithm][protocol], protocols LL, LL128, Simple.
BASE_LAT = {"tree": (4.4, 4.4, 0.0), "ring": (3.6, 10.0, 8.4), "direct": (3.6, 10.0, 8.4), "nvls": (math.inf, math.inf, 0.0),
            "nvls-tree": (math.inf, math.inf, 0.0)}
# hwLat[hardware][algorithm][protocol] per step. NCCL has no "direct" row: direct (full-mesh)
# transfers reuse the ring row (assumption). NVLS exists only over NVLink (inf = unavailable).
HW_LAT = {
    "nvlink": {"tree": (0.52, 1.2, 28.0), "ring": (0.47, 1.9, 3.4), "direct": (0.47, 1.9, 3.4), "nvls": (math.inf, math.inf, 25.0),
               "nvls-tree": (math.inf, math.inf, 25.0)},
    "pci": {"tree": (1.0, 1.9, 28.0), "ring": (1.0, 2.5, 5.7), "direct": (1.0, 2.5, 5.7), "nvls": (math.inf, math.inf, math.inf),
            "nvls-tree": (math.inf, math.inf, math.inf)},
    "net": {"tree": (5.0, 8.5, 50.0), "ring": (2.7, 4.0, 9.6), "direct": (2.7, 4.0, 9.6), "nvls": (math.inf, math.inf, math.inf),
            "nvls-tree": (math.inf, math.inf, 20.9)},
}
# NVLS tree (NVLink SHARP inside each node, a tree of nodes across the fabric; NCCL 2.18+ on
# NVSwitch systems with NICs): Simple only, baseLat 0, hwLat[NVLINK][NVLSTree] = 25 us once,
# hwLat[NET][NVLSTree] = 20.9 us per inter-node step (NVIDIA/nccl src/graph/tuning.cc, 2.23+).
# NVLS: baseLat 0 and hwLat[NVLINK][NVLS][Simple] = 25 us, charged ONCE per collective
# (``latencies = intraLat`` for NVLS in ncclTopoTuneModel), Simple protocol only. Source:
# NVIDIA/nccl src/graph/tuning.cc: 23 us in the 2.19/2.20 series (commit b647562), 25 us in the
# releases that added the PAT algorithm and Blackwell rows (2.23+). The NET row (18 us) is not
# used: NVLS here never crosses the fabric. Phases of algorithm "nvls" therefore carry steps = 1.

#: In-network reduction (NVLink SHARP) efficiency relative to the link's payload share: the
#: switch's multimem reduce/multicast does not reach the link rate. Calibrated on two cases,
#: nccl-allreduce-8xH100-nvls (480 GB/s) and nccl-allreduce-5xH100-nvls (420 GB/s, NVIDIA/nccl
#: #1455), with the NVLink4 share 0.824 of topology.NVLINK_EFFICIENCY: the mean ratio published /
#: predicted gives 0.842 (refit hook and leave-one-out in _register.py); the 6- and 7-GPU points
#: of #1455, the 256 MiB point of #212, the H800 and the B200 cases are predictions.
NVLS_EFFICIENCY = 0.842

#: NVLS rate of a GPU generation relative to Hopper: NCCL's nvlsEfficiency (NVIDIA/nccl
#: src/graph/tuning.cc: Hopper 0.85, Blackwell 0.74), so Blackwell NVLS gets 0.74 / 0.85 of the
#: Hopper-fitted efficiency. Keyed by the NVLink family of the GPU.
NVLS_GENERATION = {"nvlink4": 1.0, "nvlink5": 0.74 / 0.85}


def nvls_efficiency(topo: Topology) -> float:
    """In-network reduction efficiency of a topology's GPUs [1]: :data:`NVLS_EFFICIENCY` times
    the generation factor :data:`NVLS_GENERATION` (1 for families without an entry)."""
    from .. import catalog

    fam = str(catalog.accelerator(topo.accelerator).get("link_family", "")) if isinstance(topo.accelerator, str) else ""
    return NVLS_EFFICIENCY * NVLS_GENERATION.get(fam, 1.0)


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
    if algorithm in ("nvls", "nvls-tree"):
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
    extra_steps: int = 0  # further latency-bound steps charged on another hardware row ...
    extra_hw: str = ""    # ... (NCCL: a ring across nodes has intra-node and inter-node steps)


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
        return [Phase(beta / nvls_efficiency(topo), 1, "nvls", hw, lat)]
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
            extra = 0.0
            if ph.extra_steps:
                xl = HW_LAT[ph.extra_hw][ph.algorithm][r]
                if not math.isfinite(xl):
                    continue
                extra = ph.extra_steps * xl
            lat[p, r] = (base[r] + ph.steps * hwl[r] + extra) * 1e-6 + ph.steps * ph.path_latency
            inv[p, r] = ph.beta / eff[r]
    return lat, inv, scale


def _ring_beta(topo: Topology, members, per_hop: float) -> float:
    """Busiest-link seconds per byte of a ring over ``members`` carrying ``per_hop`` per hop."""
    if len(members) < 2:
        return 0.0
    tr = []
    rings = _rings_for(topo, members)
    for r in rings:
        tr += _ring_transfers(r, per_hop / len(rings))
    return phase_cost(topo, tr)[0]


def _chain_beta(topo: Topology, members, per_link: float) -> float:
    """Busiest-link seconds per byte of a chain over ``members``, ``per_link`` both ways."""
    if len(members) < 2:
        return 0.0
    tr = []
    for a, b in zip(members[:-1], members[1:]):
        tr += [(a, b, per_link), (b, a, per_link)]
    return phase_cost(topo, tr)[0]


def nccl_internode_candidates(topo: Topology, collective: str, algorithm: str, ranks_per_node: int, nodes: int,
                              node_bandwidth: float, net_latency: float) -> list:
    """NCCL's ring and tree across nodes, as ``(name, phases)`` candidates.

    Parameters
    ----------
    topo : Topology
        The node's card graph (the intra-node part of each ring or tree runs over it).
    collective : str
        Canonical collective name.
    algorithm : str
        ``nccl`` or ``auto`` (ring and tree), ``ring`` or ``tree``.
    ranks_per_node, nodes : int
        m ranks on each of N nodes (n = m N ranks).
    node_bandwidth : float  [B/s]
        Payload bandwidth one node injects into the fabric for a ring (all its NICs).
    net_latency : float  [s]
        Fabric latency added to every inter-node step.

    Returns
    -------
    list of (str, tuple of Phase)

    Notes
    -----
    Ring (rail-aligned channels, one per NIC): every node boundary of every channel carries
    ``f(n) S / k``, so a node sends ``f(n) S`` through its NICs and

        T_ring = lat + f(n) S / min(B_node, B_bus),   busbw = S f(n) / T -> B_node

    with ``f(n)`` the per-rank traffic (all-reduce 2(n-1)/n, all-gather and reduce-scatter
    (n-1)/n, broadcast 1) and ``B_bus`` the intra-node ring's rate at the same load. Latency as
    NCCL's tuning model: ``baseLat + (nsteps - nInterSteps) hwLat[NVLink] + nInterSteps
    (hwLat[NET] + lat_net)``, nInterSteps = 2(N-1) for all-reduce, N-1 otherwise.

    Tree (all-reduce; NCCL's double binary tree across nodes, a chain inside each node): an inner
    node of one tree carries ``2 S`` per direction (NCCL's model halves the inter-node bandwidth);
    on two nodes the ideal is ``S``, but measured plain-tree runs do not reach it (NVIDIA/nccl
    #1048), so ``2 S`` throughout. The NVLS tree (NVLink SHARP inside the node, no chain) gets ``S``
    on two nodes, as NCCL's tuning model doubles its inter-node rate there (``c_nvls = 1``):

        T_tree = lat + 2 S / (0.92 min(B_node, B_chain)),   T_nvls_tree = lat + c_nvls(N) S / B_node

    latency ``baseLat + 2 ((m-1) hwLat[NVLink] + ceil(log2 N) (hwLat[NET] + lat_net))``.

    References
    ----------
    NVIDIA/nccl src/graph/tuning.cc (ncclTopoTuneModel: bandwidths, latencies, the N <= 2 tree
    rule, the 0.92 tree factor); P. Sanders, J. Speck, J. L. Traff, "Two-tree algorithms for full
    bandwidth broadcast, reduction and scan", Parallel Computing 35 (2009).
    """
    m, N = int(ranks_per_node), int(nodes)
    n = m * N
    c = collective
    members = list(range(m))
    hw_in = topo.link_class
    out = []
    names = ("ring", "tree", "nvls-tree") if algorithm in ("nccl", "auto") else (algorithm,)
    for a in names:
        if a == "ring" and c in ("all-reduce", "all-gather", "reduce-scatter", "broadcast"):
            f = {"all-reduce": 2.0 * (n - 1) / n, "broadcast": 1.0}.get(c, (n - 1) / n)
            nsteps = {"all-reduce": 2 * (n - 1)}.get(c, n - 1)
            inter = 2 * (N - 1) if c == "all-reduce" else N - 1
            beta = max(f / node_bandwidth, _ring_beta(topo, members, f) if m > 1 else 0.0)
            out.append((a, (Phase(beta, inter, "ring", "net", net_latency, 1.0, nsteps - inter, hw_in),)))
        elif a == "tree" and c == "all-reduce":
            # 2 S per direction at every node count: NCCL doubles the inter-node rate on two nodes
            # only for the NVLS tree (tuning.cc), and measured two-node A100 runs do not double the
            # ring with a plain tree (NVIDIA/nccl #1048: 86 GB/s on 4 x 200G, ring bound 99)
            load = 2.0
            beta = max(load / node_bandwidth, _chain_beta(topo, members, 1.0) if m > 1 else 0.0) / NCCL_TREE_EFFICIENCY
            depth = max(1, math.ceil(math.log2(N)))
            out.append((a, (Phase(beta, 2 * depth, "tree", "net", net_latency, 1.0, 2 * (m - 1), hw_in),)))
        elif a == "nvls-tree" and c == "all-reduce" and topo.in_network_reduction and m > 1:
            # NVLink SHARP reduces inside the node, so no chain through the GPUs: the NICs carry
            # the tree's S (N = 2: NCCL doubles interBw) or 2 S per direction; the node's NVLS
            # all-reduce must keep up
            load = 1.0 if N == 2 else 2.0
            nv, _ = nvls_cost(topo, "all-reduce", members)
            beta = max(load / node_bandwidth, nv / nvls_efficiency(topo))
            depth = max(1, math.ceil(math.log2(N)))
            out.append((a, (Phase(beta, 2 * depth, "nvls-tree", "net", net_latency, 1.0, 1, "nvlink"),)))
    if not out:
        raise InputError("algorithm", algorithm, f"an algorithm NCCL runs for {c} across nodes: "
                         + ("ring, tree or nvls-tree (NVLS nodes)" if c == "all-reduce" else "ring" if c in
                            ("all-gather", "reduce-scatter", "broadcast") else "none here (point-to-point)"),
                         "is not available across nodes")
    return out


def internode_sweep(topo: Topology, collective: str, ranks_per_node: int, nodes: int, node_bandwidth: float,
                    net_latency: float, sizes, *, algorithm: str = "nccl"):
    """Time and busbw of an NCCL collective over ``nodes`` x ``ranks_per_node`` ranks.

    Parameters
    ----------
    topo : Topology
        The node's card graph.
    collective : str
    ranks_per_node, nodes : int
    node_bandwidth : float  [B/s]
        Per-node ring injection bandwidth (from the fabric's results).
    net_latency : float  [s]
        Fabric latency per inter-node step.
    sizes : array of float  [B]
        Message sizes (nccl-tests convention).
    algorithm : str
        ``nccl`` (fastest of NCCL's ring and tree), ``ring`` or ``tree``.

    Returns
    -------
    time : ndarray [s]
    busbw : ndarray [B/s]
    used : list of str
        Algorithm chosen per size.

    Notes
    -----
    ``busbw = S f(n) / T`` with the nccl-tests factor ``f``; ``T`` from
    :func:`nccl_internode_candidates` and the protocol sweep of :func:`phase_arrays`.

    References
    ----------
    NVIDIA nccl-tests doc/PERFORMANCE.md; NVIDIA/nccl src/graph/tuning.cc.
    """
    c = canonical_collective(collective)
    if not isinstance(algorithm, str) or algorithm.strip().lower() not in INTERNODE_ALGORITHMS:
        raise unknown_name("algorithm", algorithm, INTERNODE_ALGORITHMS, "algorithm across nodes")
    a = algorithm.strip().lower()
    sizes = np.ascontiguousarray(np.atleast_1d(np.asarray(sizes, dtype=float)))
    cands = nccl_internode_candidates(topo, c, a, ranks_per_node, nodes, node_bandwidth, net_latency)
    n_p = max(len(ph) for _, ph in cands)
    lat = np.full((len(cands), n_p, 3), np.inf)
    inv = np.full((len(cands), n_p, 3), np.inf)
    scale = np.zeros((len(cands), n_p))
    for i, (_, ph) in enumerate(cands):
        l, v, sc_ = phase_arrays(list(ph), c)
        lat[i, :len(ph)], inv[i, :len(ph)], scale[i, :len(ph)] = l, v, sc_
    times, best = _kernels.sweep_times(sizes, lat, inv, scale)
    t = times[best, np.arange(len(sizes))]
    n = int(ranks_per_node) * int(nodes)
    return t, sizes / t * busbw_factor(c, n), [cands[b][0] for b in best]


__all__ = ["COLLECTIVES", "ALGORITHMS", "NCCL_ALGORITHMS", "PROTOCOLS", "busbw_factor", "canonical_collective",
           "intra_phases", "phase_cost", "phase_arrays", "Phase", "NVLS_EFFICIENCY", "NVLS_GENERATION", "nvls_efficiency",
           "nvls_cost",
           "nccl_internode_candidates", "internode_sweep", "NCCL_TREE_EFFICIENCY", "INTERNODE_ALGORITHMS", "nccl_test_scenario", "fabric_hop",
           "nccl_busbw"]


# --- nccl-tests on a cluster: the interconnect and the fabric composed through the twin --------

#: Switch chip a test scenario uses for each scale-out protocol and NIC speed class (catalog
#: names; only the port speed and latency matter for a few nodes on one leaf).
_TEST_SWITCH = {"infiniband": (("quantum-hdr-40p", 200.0), ("quantum2-ndr-64p", 400.0)),
                "roce": (("tomahawk4-25.6t", 200.0), ("tomahawk5-51.2t", 800.0)),
                "ethernet": (("tomahawk4-25.6t", 200.0), ("tomahawk5-51.2t", 800.0)),
                "gse": (("gse-51.2t", 800.0),)}
_TEST_CC = {"infiniband": ("adaptive", "credits"), "roce": ("ecmp", "dcqcn"), "ethernet": ("ecmp", "tcp"),
            "gse": ("gse", "dgsq")}


def nccl_test_scenario(accelerator: str, nodes: int, cards_per_node: int = 8, *, topology: str = "nvswitch",
                       nic_speed="400 Gbit/s", nics_per_node: int = 8, protocol: str = "infiniband",
                       fabric_topology: str = "rail-optimized", base: str = "cluster-2023"):
    """A scenario for an nccl-tests run: ``nodes`` servers of ``cards_per_node`` accelerators on
    one scale-out fabric, placed contiguously (a test reservation), every other field from ``base``.

    The switch, load balancing and congestion control follow the protocol (InfiniBand: a Quantum
    switch of the NIC's generation, adaptive routing, credits; RoCE: Tomahawk, ECMP, DCQCN;
    Ethernet/TCP: Tomahawk, ECMP, TCP); spine links run at the NIC speed.

    Returns
    -------
    Scenario
    """
    from ..scenario import load_scenario
    from ..units import magnitude

    if protocol not in _TEST_SWITCH:
        raise unknown_name("protocol", protocol, tuple(_TEST_SWITCH), "scale-out protocol")
    speed = magnitude(nic_speed, "Gbit/s", "nic_speed")
    switch = next((n for n, top in _TEST_SWITCH[protocol] if speed <= top), _TEST_SWITCH[protocol][-1][0])
    lb, cc = _TEST_CC[protocol]
    from .. import catalog

    sw = catalog.get("switches", switch)
    radix = int(min(128, (sw.ports * sw.port_speed).to("Gbit/s").magnitude // speed))
    return load_scenario({
        "extends": base, "name": f"nccl-tests {nodes} x {cards_per_node} {accelerator}",
        "compute": {"accelerator": accelerator, "nodes": nodes, "cards_per_node": cards_per_node,
                    "topology": topology, "domain_size": cards_per_node},
        "fabric": {"protocol": protocol, "topology": fabric_topology, "nics_per_node": nics_per_node,
                   "nic_speed": f"{speed} Gbit/s", "spine_link_speed": f"{speed} Gbit/s", "switch": switch, "radix": radix,
                   "load_balancing": lb, "congestion_control": cc, "flows_per_pair": 1, "placement": "contiguous"},
        # a benchmark, not a training job: one data-parallel rank per card
        "workload": {"tp": 1, "pp": 1, "ep": 1, "dp": 0, "micro_batch": 1, "global_batch": int(nodes) * int(cards_per_node)},
    })


def fabric_hop(state, n_nodes: int, pattern: str = "ring") -> tuple[float, float]:
    """Per-node injection bandwidth [B/s] and latency [s] of a group over ``n_nodes`` nodes, read
    from ``/fabric/results`` of a twin state (``node_bandwidth`` over pattern and hop_nodes,
    ``hop_latency`` over hop_nodes), log-linear in n between the tabulated group sizes."""
    from .. import tree

    bw = tree.array(state, "fabric", "node_bandwidth", "B/s").sel(pattern=pattern)
    lat = tree.array(state, "fabric", "hop_latency", "s")
    x = np.log(np.asarray(bw["hop_nodes"].values, dtype=float))
    xi = math.log(max(float(n_nodes), 1.0))
    return float(np.interp(xi, x, bw.values)), float(np.interp(xi, x, lat.values))


def nccl_busbw(scenario, collective: str = "all-reduce", message_size="1 GiB", *, algorithm: str = "nccl",
               state=None):
    """The busbw nccl-tests reports for a collective over every card of a scenario [GB/s].

    Parameters
    ----------
    scenario : Scenario, preset name, path or dict
        ``compute.nodes`` x ``compute.cards_per_node`` ranks (one bus domain per node).
    collective : str
    message_size : Quantity, str or numbers [B]
        nccl-tests convention; arrays allowed.
    algorithm : str
        ``nccl`` (fastest of NCCL's algorithms), or one of them (ring, tree; nvls inside a node).
    state : xarray.DataTree, optional
        A twin state with ``/fabric/results``; default: a throw-away ``Twin(scenario)`` run for
        ``["interconnect"]`` (which runs the fabric beneath it).

    Returns
    -------
    pint.Quantity [GB/s]

    Notes
    -----
    One node: the intra-node sweep over the node's graph (:func:`twin.interconnect.sweep`).
    Several nodes: :func:`internode_sweep` with the node bandwidth and hop latency the fabric
    put in the state tree (ECMP collisions, congestion control and protocol overheads included).

    References
    ----------
    NVIDIA nccl-tests doc/PERFORMANCE.md; NVIDIA/nccl src/graph/tuning.cc.
    """
    from ..scenario import load_scenario
    from ..units import Q_
    from .topology import build_topology

    sc = load_scenario(scenario)
    from . import _sizes, sweep

    sizes, scalar = _sizes(message_size)
    m, N = int(sc.compute.cards_per_node), int(sc.compute.nodes)
    if int(sc.compute.domain_size) != m:
        raise InputError("compute.domain_size", sc.compute.domain_size, f"the cards of one node ({m}) for an "
                         "nccl-tests run across nodes", "differs from compute.cards_per_node")
    if N == 1:
        ds = sweep(sc.compute.topology, sc.compute.accelerator, m, collective, sizes, algorithm=algorithm)
        bus = ds.busbw.values
    else:
        if state is None:
            from ..core import Twin

            t = Twin(sc)
            t.run(["interconnect"])
            state = t.state
        node_bw, lat = fabric_hop(state, N, "ring")
        topo = build_topology(sc.compute.topology, sc.compute.accelerator, m)
        _, bus, _ = internode_sweep(topo, collective, m, N, node_bw, lat, sizes, algorithm=algorithm)
        bus = bus / 1e9
    return Q_(float(bus[0]) if scalar else np.asarray(bus), "GB/s")
