"""Traffic patterns, load balancing (ECMP, spraying, GSE containers, adaptive) and the flow-level
max-min solver over a built :class:`~twin.fabric.topology.Fabric` (SI units: bit/s, bit, s)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from . import _kernels as K
from .topology import Fabric, _classes, as_count, check_flows, n_paths, path_links, spray_weights

LOAD_BALANCING = ("ecmp", "spraying", "gse", "adaptive")
PATTERNS = ("ring", "hierarchical", "all-to-all", "permutation", "incast", "storage")


@dataclass
class Routing:
    """Rate variables (sub-flows / QPs, or whole sprayed flows) with weighted link incidence."""

    var_ptr: np.ndarray
    var_link: np.ndarray
    var_w: np.ndarray
    var_flow: np.ndarray   # flow of each variable
    n_flows: int
    load_balancing: str
    flows_per_pair: int


@dataclass
class FlowSolution:
    """Max-min fair solution: ``rate`` per flow and ``var_rate`` per variable [bit/s];
    ``link_load`` [bit/s] and ``utilisation`` per link."""

    rate: np.ndarray
    var_rate: np.ndarray
    link_load: np.ndarray
    utilisation: np.ndarray
    rounds: int


def route(fab: Fabric, src, dst, load_balancing: str = "ecmp", flows_per_pair: int = 1, seed: int = 0) -> Routing:
    """Map flows to rate variables and links.

    - ``ecmp``: each flow opens ``flows_per_pair`` QPs; each QP is hashed (seeded splitmix64 of
      src, dst, QP) onto one equal-cost path and is its own rate variable.
    - ``spraying``: per-packet spraying; in the fluid limit each flow splits evenly over all
      equal-cost paths (one variable with fractional link weights).
    - ``gse``: GSE packet containers: fixed-size containers spread over all equal paths with
      the order kept inside a container and reordering at the egress GSP; at flow level the same
      even split as spraying (the difference shows in incast, see DGSQ).
    - ``adaptive``: adaptive routing; each QP takes the least-loaded plane / uplinks hop by hop.
    """
    if load_balancing not in LOAD_BALANCING:
        raise InputError("fabric.load_balancing", load_balancing, "one of " + ", ".join(LOAD_BALANCING))
    q = as_count(flows_per_pair, "fabric.flows_per_pair", 1, what="a number of flows (QPs) per pair")
    seed = as_count(seed, "traffic.seed", 0, what="a hash seed")
    src, dst = check_flows(fab, src, dst)
    n = len(src)
    if load_balancing in ("spraying", "gse"):
        ptr, links, w = spray_weights(fab, src, dst)
        return Routing(ptr, links, w, np.arange(n, dtype=np.int64), n, load_balancing, q)
    s = np.repeat(src, q)
    t = np.repeat(dst, q)
    qp = np.tile(np.arange(q, dtype=np.int64), n)
    npth = n_paths(fab, s, t)
    if load_balancing == "ecmp":
        pid = np.empty(len(s), np.int64)
        K.ecmp_hash(s, t, qp, int(seed), npth, pid)
    else:
        ls, lt, sl, sp, cr = _classes(fab, s, t)
        cls = np.where(sl, 0, np.where(sp, 1, 2)).astype(np.int64)
        ps = fab.pod_of_leaf(ls).astype(np.int64)
        pt = fab.pod_of_leaf(lt).astype(np.int64)
        plane = np.empty(len(s), np.int64)
        j = np.empty(len(s), np.int64)
        m = np.empty(len(s), np.int64)
        # a seeded order of the QPs (arrival order matters for a greedy choice)
        order = np.random.default_rng(seed).permutation(len(s))
        K.adaptive_route(cls[order], s[order], t[order], ls[order].astype(np.int64), lt[order].astype(np.int64),
                         ps[order], pt[order], fab.a_up, fab.a_dn, fab.lu, fab.ld, fab.au, fab.ad, fab.n_links,
                         plane, j, m)
        inv = np.empty_like(order)
        inv[order] = np.arange(len(s))
        plane, j, m = plane[inv], j[inv], m[inv]
        per = npth // fab.planes
        pid = plane * per + np.where(cls == 2, m * fab.u + j, np.where(cls == 1, j, 0))
    ptr, links = path_links(fab, s, t, pid)
    return Routing(ptr, links, np.ones(len(links)), np.repeat(np.arange(n, dtype=np.int64), q), n, load_balancing, q)


def _var_demand(routing: Routing, demand) -> np.ndarray:
    """Per-rate-variable demand [bit/s]: each flow's cap split evenly over its QPs (inf: none)."""
    nv = len(routing.var_ptr) - 1
    if demand is None:
        return np.full(nv, np.inf)
    demand = np.broadcast_to(np.asarray(demand, float), (routing.n_flows,))
    if np.any(~(demand > 0)):
        raise InputError("traffic.demand", float(demand[~(demand > 0)][0]), "a positive rate per flow")
    per_var = np.bincount(routing.var_flow, minlength=routing.n_flows)
    return (demand / per_var)[routing.var_flow]


def _solution(fab: Fabric, routing: Routing, vr, load, rounds: int) -> FlowSolution:
    rate = np.bincount(routing.var_flow, weights=vr, minlength=routing.n_flows)
    return FlowSolution(rate, vr, load, load / fab.cap, int(rounds))


def solve(fab: Fabric, routing: Routing, demand=None) -> FlowSolution:
    """Max-min fair rates of routed flows (progressive filling, numba kernel).

    ``demand`` [bit/s] caps each flow (split evenly over its QPs); default unlimited. The plain
    NumPy reference is :func:`twin.fabric._reference.solve` (tests and benchmarks).
    """
    dem = _var_demand(routing, demand)
    vr = np.empty(len(dem))
    load = np.empty(fab.n_links)
    rounds = K.maxmin_rates(routing.var_ptr, routing.var_link, routing.var_w, fab.cap, dem, vr, load)
    return _solution(fab, routing, vr, load, rounds)


def _transfer_inputs(routing: Routing, size_bits, batch):
    """Per-variable sizes [bit], demands and the re-sharing batch of :func:`transfer_times`."""
    nv = len(routing.var_ptr) - 1
    size = np.broadcast_to(np.asarray(size_bits, float), (routing.n_flows,))
    bad = ~((size >= 0) & (size < np.inf))
    if np.any(bad):
        raise InputError("traffic.size", float(size[bad][0]), "a finite, non-negative size [bit] per flow")
    per_var = np.bincount(routing.var_flow, minlength=routing.n_flows)
    vs = (size / per_var)[routing.var_flow]
    if batch is None:
        batch = 0.0 if nv <= 2048 else 1.0 / 16
    if not (0.0 <= batch < 1.0):
        raise InputError("traffic.batch", batch, "a fraction in [0, 1)")
    return vs, np.full(nv, np.inf), float(batch)


def _flow_finish(routing: Routing, fin) -> np.ndarray:
    """A flow ends with its last QP."""
    out = np.zeros(routing.n_flows)
    np.maximum.at(out, routing.var_flow, fin)
    return out


def transfer_times(fab: Fabric, routing: Routing, size_bits, batch: float | None = None) -> np.ndarray:
    """Finish time [s] of each flow moving ``size_bits`` (split evenly over its QPs; a flow ends
    with its last QP), rates re-shared max-min fairly as transfers finish.

    ``batch``: 0 recomputes rates at every finish (exact); a fraction f recomputes once f of the
    unfinished transfers are done (bounded cost, slightly pessimistic). Default: exact up to
    2,048 rate variables, else 1/16. Reference: :func:`twin.fabric._reference.transfer_times`.
    """
    vs, dem, batch = _transfer_inputs(routing, size_bits, batch)
    fin = np.empty(len(vs))
    K.complete_transfers(routing.var_ptr, routing.var_link, routing.var_w, fab.cap, vs, dem, batch, fin)
    return _flow_finish(routing, fin)


# ---------------------------------------------------------------------------------------------
# Traffic patterns


def job_nodes(fab: Fabric, n_nodes: int) -> np.ndarray:
    n = as_count(n_nodes, "job.nodes", 1, fab.n_nodes, what=f"a number of nodes (the fabric has {fab.n_nodes})")
    return np.arange(n, dtype=np.int64)


def traffic(fab: Fabric, pattern: str, n_nodes: int | None = None, *, seed: int = 0, sample: int = 64,
            storage_nodes: int = 0, placement: str = "contiguous"):
    """(src, dst) endpoint arrays of a traffic pattern over the first ``n_nodes`` nodes.

    ring / hierarchical: rail-matched ring across nodes (node i, rail r) -> (node i+1, rail r),
    the inter-node phase of NCCL's ring and of a hierarchical all-reduce (intra-node
    reduce-scatter first, then one ring per rail). all-to-all (MoE): every node to every other
    node, rail-matched (PXN); above ``sample`` + 1 nodes, each node sends to ``sample`` evenly
    spaced peers. permutation: seeded random derangement of the nodes. incast: nodes 1..n-1 to
    node 0 (rail-matched). storage: the last ``storage_nodes`` nodes of the fabric serve reads
    to the job's nodes (rail 0); a job node that is itself a server reads locally (no flow). ``placement="scattered"`` gives the job a seeded random set and
    order of nodes across the fabric (fragmented placement) instead of nodes 0..n-1.
    """
    if pattern not in PATTERNS:
        raise InputError("traffic.pattern", pattern, "one of " + ", ".join(PATTERNS))
    nodes = job_nodes(fab, n_nodes if n_nodes is not None else fab.n_nodes)
    seed = as_count(seed, "traffic.seed", 0, what="a seed")
    sample = as_count(sample, "traffic.sample", 1, what="a number of all-to-all peers")
    if placement == "scattered":
        nodes = np.sort(np.random.default_rng(seed + 7919).choice(fab.n_nodes, len(nodes), replace=False))
        nodes = np.random.default_rng(seed + 104729).permutation(nodes)
    elif placement != "contiguous":
        raise InputError("traffic.placement", placement, "'contiguous' or 'scattered'")
    n = len(nodes)
    R = fab.rails
    rails = np.arange(R)
    if pattern != "storage" and n < 2:
        raise InputError("job.nodes", n, "at least 2 nodes for inter-node traffic")
    if pattern in ("ring", "hierarchical"):
        a = np.repeat(nodes, R)
        b = np.repeat(np.roll(nodes, -1), R)
        r = np.tile(rails, n)
        return a * R + r, b * R + r
    if pattern == "all-to-all":
        if n - 1 <= sample:
            offs = np.arange(1, n)
        else:
            offs = np.unique(np.linspace(1, n - 1, sample).round().astype(np.int64))
        a = np.repeat(nodes, len(offs))
        b = nodes[(np.repeat(np.arange(n), len(offs)) + np.tile(offs, n)) % n]
        return (np.repeat(a, R) * R + np.tile(rails, len(a)), np.repeat(b, R) * R + np.tile(rails, len(a)))
    if pattern == "permutation":
        rng = np.random.default_rng(seed)
        while True:
            perm = rng.permutation(n)
            if n < 2 or np.all(perm != np.arange(n)):
                break
        a = np.repeat(nodes, R)
        b = np.repeat(nodes[perm], R)
        r = np.tile(rails, n)
        return a * R + r, b * R + r
    if pattern == "incast":
        a = np.repeat(nodes[1:], R)
        r = np.tile(rails, n - 1)
        return a * R + r, np.full(len(a), nodes[0]) * R + r
    # storage
    k = as_count(storage_nodes, "traffic.storage_nodes", 1, fab.n_nodes, what="a number of storage server nodes")
    servers = np.arange(fab.n_nodes - k, fab.n_nodes)
    a, b = servers[nodes % k] * R, nodes * R
    keep = a != b  # a job node that is also a storage server (converged storage) reads locally
    return a[keep], b[keep]


def ring_allreduce_time(fab: Fabric, n_nodes: int, message_bits: float, *, load_balancing: str = "ecmp",
                        flows_per_pair: int = 1, seed: int = 0, hop_latency: float = 0.0,
                        placement: str = "contiguous") -> dict:
    """Inter-node ring all-reduce of ``message_bits`` per GPU over ``n_nodes`` nodes.

    Hierarchical with rails: each of the R rails runs a ring over the n nodes on S/R of the
    data; a ring all-reduce takes 2(n-1) steps of S/(R n) each. A step ends when its slowest
    transfer ends (event-driven max-min completion), plus the path latency:
    T = 2(n-1) (t_step + hop_latency). Returns time [s], step time [s], busbw [bit/s].
    """
    n = int(n_nodes)
    src, dst = traffic(fab, "ring", n, placement=placement, seed=seed)
    rt = route(fab, src, dst, load_balancing, flows_per_pair, seed)
    chunk = message_bits / fab.rails / n
    fin = transfer_times(fab, rt, chunk)
    t_step = float(fin.max())
    T = 2 * (n - 1) * (t_step + hop_latency)
    algbw = message_bits / T if T > 0 else np.inf
    return {"time": T, "step_time": t_step, "algbw": algbw, "busbw": algbw * 2 * (n - 1) / n}
