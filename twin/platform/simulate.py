"""GPU pooling simulator: the FGD paper's protocol, an event-driven mode, six policies, six modes.

The protocol of Weng et al. (USENIX ATC 2023, artifact ``generate_run_scripts.py``): the
trace's pods are shuffled with a seed, then pods drawn with replacement from the trace are
appended until the requested GPUs reach ``ratio`` (1.3) of the cluster's; pods arrive one by
one and are never released; a pod that fits nowhere fails. The GPU allocation rate (allocated
milli-GPU over the cluster's) is read when the arrived requests reach each percent of capacity.

Policies (scores 0..100 of every feasible node, best node wins, ties at random):
Random (a random feasible node), DotProd (Tetris: smallest dot product of the node's free and
the pod's requested CPU and GPU, both normalised by the largest node), GpuClustering (prefer
nodes already running pods of the same GPU-request kind), GpuPacking (shared GPUs first,
then free GPUs of used nodes, then empty nodes), BestFit (least CPU and GPU left after
placement), FGD (least growth of the node's expected GPU fragmentation against the
workload's typical pods). GPU choice inside a node: best fit (Random: random; FGD: its own).

Allocation modes (white paper 6.1): ``whole`` (a fraction asks a whole card), ``fractional``
(HAMi-style sharing at 1% = 10 milli-GPU), ``mig`` (fractions rounded up to MIG profiles of
1, 2, 3, 4 or 7 sevenths), ``remote`` (fractional, and a GPU pod whose node has no CPU left
may use that node's GPUs from another node's CPU over the fabric), ``aggregate``
(fractional, and a multi-card pod may gather whole cards from several nodes) and
``overcommit`` (fractional on cards over-committed by a factor; jobs slow down in proportion
to the over-subscription of their card).

References
----------
.. [1] Weng, Q. et al. "Beware of Fragmentation: Scheduling GPU-Sharing Workloads with
   Fragmentation Gradient Descent." USENIX ATC 2023, Sec. 4-6; artifact
   hkust-adsl/kubernetes-scheduler-simulator (policy and fragmentation definitions).
.. [2] Grandl, R. et al. "Multi-resource packing for cluster schedulers" (Tetris), SIGCOMM 2014.
.. [3] NVIDIA, "Multi-Instance GPU User Guide": A100/H100 up to 7 instances, profiles 1g, 2g,
   3g, 4g, 7g.
.. [4] Project HAMi, "Heterogeneous AI Computing Virtualization Middleware": gpucores and
   gpumem shares at 1% granularity.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError, unknown_name
from . import _kernels as K
from .traces import MILLI, OPENB_MEAN_LIFETIME_S, Trace

POLICIES = ("Random", "DotProd", "GpuClustering", "GpuPacking", "BestFit", "FGD")
MODES = ("whole", "fractional", "mig", "remote", "aggregate", "overcommit")
_POLICY_CODE = {p.lower(): i for i, p in enumerate(POLICIES)}
_GPU_SEL = {0: K.SEL_RANDOM, 5: K.SEL_FGD}
HAMI_GRANULARITY = 10        # milli-GPU: 1% of a card (HAMi gpucores)
MIG_SLICES = 7               # instances per A100/H100
MIG_PROFILES = (1, 2, 3, 4, 7)
TYPICAL_POD_COVERAGE = 0.95  # typical pods cover 95% of the workload (artifact default)
PAPER_SEEDS = tuple(range(42, 52))


def policy_code(policy) -> int:
    """Index of a policy name in :data:`POLICIES` (case-insensitive)."""
    key = str(policy).lower()
    if key not in _POLICY_CODE:
        raise unknown_name("policy", policy, POLICIES, "scheduling policy")
    return _POLICY_CODE[key]


def check_mode(mode) -> str:
    if str(mode) not in MODES:
        raise unknown_name("mode", mode, MODES, "allocation mode")
    return str(mode)


@dataclass
class Prepared:
    """A trace's requests transformed for one allocation mode (kernel-ready arrays)."""

    mode: str
    gcap: int
    cpu_cap: np.ndarray
    mem_cap: np.ndarray
    ngpus: np.ndarray
    tbit: np.ndarray
    cpu: np.ndarray
    mem: np.ndarray
    ngpu: np.ndarray
    milli: np.ndarray
    asked: np.ndarray      # the pod's own milli-GPU per card before the mode's rounding
    mask: np.ndarray
    cls: np.ndarray
    n_cls: int
    typical: tuple
    capacity: int          # milli-GPU of the cluster (physical cards)


def mode_requests(milli: np.ndarray, ngpu: np.ndarray, mode: str, overcommit: float = 1.5,
                  granularity: float = HAMI_GRANULARITY / MILLI):
    """Milli-GPU per card a pod is given under ``mode`` and the card's capacity.

    ``granularity`` is the smallest share of a card fractional sharing hands out (0.01 = 1%,
    HAMi). Returns (milli per card, card capacity in milli). Whole-card pods ask the full
    capacity.
    """
    mode = check_mode(mode)
    g = float(granularity)
    if not (0.0 < g <= 1.0):
        raise InputError("platform.pooling_granularity", granularity, "a share of a card in (0, 1]")
    step = max(1, int(round(g * MILLI)))
    milli = np.asarray(milli, np.int64)
    share = (ngpu == 1) & (milli < MILLI) & (milli > 0)
    out = milli.copy()
    gcap = MILLI
    if mode == "whole":
        out[share] = MILLI
    elif mode == "mig":
        sl = np.ceil(milli[share] * MIG_SLICES / MILLI).astype(np.int64)
        sl = np.array([min(p for p in MIG_PROFILES if p >= s) for s in sl], np.int64) if sl.size else sl
        out[share] = np.where(sl >= MIG_SLICES, MILLI, (sl * MILLI) // MIG_SLICES)
    else:
        out[share] = np.minimum(-(-milli[share] // step) * step, MILLI)
    if mode == "overcommit":
        if not (1.0 <= float(overcommit) <= 4.0):
            raise InputError("overcommit", overcommit, "a factor between 1 and 4")
        gcap = int(round(MILLI * float(overcommit)))
        out[(ngpu >= 1) & ~share] = gcap
    return out, gcap


def typical_pods(cpu, ngpu, milli, mask, coverage: float = TYPICAL_POD_COVERAGE):
    """The workload's most frequent request kinds covering ``coverage`` of pods, with frequencies.

    Kinds are (CPU, cards, milli-GPU per card, allowed models); frequencies are over all pods.
    """
    keys = np.stack([cpu, ngpu, milli, mask], axis=1)
    uniq, first, counts = np.unique(keys, axis=0, return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))
    total = counts.sum()
    cum = np.cumsum(counts[order])
    k = int(np.searchsorted(cum, coverage * total) + 1)
    sel = order[:k]
    u = uniq[sel]
    return (u[:, 0].astype(np.int64).copy(), u[:, 1].astype(np.int64).copy(), u[:, 2].astype(np.int64).copy(),
            u[:, 3].astype(np.int64).copy(), (counts[sel] / total).astype(float))


def prepare(trace: Trace, mode: str = "fractional", overcommit: float = 1.5,
            granularity: float = HAMI_GRANULARITY / MILLI) -> Prepared:
    """Kernel arrays of a trace under an allocation mode (requests rounded, typical pods)."""
    mode = check_mode(mode)
    milli, gcap = mode_requests(trace.pod_milli, trace.pod_ngpu, mode, overcommit, granularity)
    tbit, mask = trace.model_bits()
    for j in np.flatnonzero((trace.pod_ngpu > 0) & (mask == 0)):
        raise InputError(f"pod {trace.pod_name[j]} gpu_spec", trace.pod_spec[j], f"one of {', '.join(trace.models)}",
                         "names no GPU model of the cluster")
    cpu = trace.pod_cpu.astype(np.int64)
    mem = trace.pod_mem.astype(np.int64)
    ngpu = trace.pod_ngpu.astype(np.int64)
    cls_keys = np.stack([cpu, mem, ngpu, milli, mask], axis=1)
    _, cls = np.unique(cls_keys, axis=0, return_inverse=True)
    cls = cls.reshape(-1).astype(np.int64)
    typ = typical_pods(cpu, ngpu, milli, mask)
    return Prepared(mode, gcap, trace.node_cpu.astype(np.int64), trace.node_mem.astype(np.int64),
                    trace.node_gpus.astype(np.int64), tbit, cpu, mem, ngpu, milli,
                    trace.pod_milli.astype(np.int64), mask, cls, int(cls.max() + 1) if cls.size else 1, typ,
                    int(trace.node_gpus.sum()) * MILLI)


def asked_gpu_milli(prep: Prepared) -> np.ndarray:
    """Milli-GPU each pod asks in the trace (before the mode's rounding)."""
    return prep.ngpu * np.where(prep.ngpu == 1, prep.asked, MILLI)


def given_gpu_milli(prep: Prepared) -> np.ndarray:
    """Milli-GPU each pod holds once placed under the mode, whole cards counted as 1000."""
    return prep.ngpu * np.where((prep.ngpu == 1) & (prep.milli < prep.gcap), prep.milli, MILLI)


def protocol_order(prep: Prepared, seed: int, ratio: float = 1.3) -> np.ndarray:
    """Pod indices in arrival order: the shuffled trace, then draws with replacement until
    the requested GPUs reach ``ratio`` x capacity (or the first ones reaching it, if fewer)."""
    if not (0.0 < float(ratio) <= 5.0):
        raise InputError("ratio", ratio, "an arrived-load fraction of capacity in (0, 5]")
    rng = np.random.default_rng(int(seed))
    req = asked_gpu_milli(prep)
    order = rng.permutation(prep.cpu.size)
    target = float(ratio) * prep.capacity
    cum = np.cumsum(req[order])
    if cum.size and cum[-1] >= target:
        return order[: int(np.searchsorted(cum, target)) + 1]
    extra = []
    total = cum[-1] if cum.size else 0
    gpu_pods = np.flatnonzero(req > 0)
    if gpu_pods.size == 0:
        raise InputError("trace", "no GPU pods", "a trace with at least one pod requesting GPUs")
    while total < target:
        draw = rng.integers(0, prep.cpu.size, 4096)
        c = total + np.cumsum(req[draw])
        if c[-1] >= target:
            k = int(np.searchsorted(c, target)) + 1
            extra.append(draw[:k])
            break
        extra.append(draw)
        total = c[-1]
    return np.concatenate([order] + extra)


def _run(prep: Prepared, policy: int, order, kinds, times, rnd, queue_limit, kernel=None, mode_code=None):
    if mode_code is None:
        mode_code = {"remote": K.MODE_REMOTE, "aggregate": K.MODE_AGGREGATE}.get(prep.mode, K.MODE_LOCAL)
    sel = _GPU_SEL.get(policy, K.SEL_BEST)
    # pods are materialised in arrival order (a pod drawn twice is two pods)
    pods = np.asarray(order, np.int64)
    n = pods.size
    args = (policy, sel, mode_code, prep.gcap, prep.cpu_cap, prep.mem_cap, prep.ngpus, prep.tbit,
            prep.cpu[pods], prep.mem[pods], prep.ngpu[pods], prep.milli[pods], prep.mask[pods], prep.cls[pods],
            prep.n_cls, *prep.typical)
    G = int(max(prep.ngpus.max(), 1))
    out = dict(used=np.zeros(kinds.size, np.int64), arrived=np.zeros(kinds.size, np.int64),
               status=np.zeros(n, np.int64), start=np.zeros(n), place_node=np.zeros((n, K.K), np.int64),
               place_gpu=np.zeros((n, K.K), np.int64), cpu_node=np.zeros(n, np.int64),
               final_gpu_left=np.zeros((prep.cpu_cap.size, G), np.int64),
               final_cpu_left=np.zeros(prep.cpu_cap.size, np.int64))
    ev_pod = np.asarray(times[1], np.int64)
    waiting = (kernel or K.simulate)(*args, kinds, ev_pod, times[0], rnd, queue_limit, *out.values())
    out["waiting"] = int(waiting)
    out["pods"] = pods
    return out


def _draws(rng, n, ties, code):
    if ties not in ("first", "random"):
        raise InputError("ties", ties, "'first' or 'random'")
    rnd = rng.random((n, 2))
    if ties == "first" and code != 0:  # Random picks a random feasible node by definition
        rnd[:, 0] = -1.0
    return rnd


def run_protocol(trace_or_prep, policy="FGD", mode: str = "fractional", seed: int = 42, ratio: float = 1.3,
                 kernel=None, max_pods: int | None = None, overcommit: float = 1.5,
                 ties: str = "first") -> dict:
    """One run of the FGD paper's protocol.

    Parameters
    ----------
    trace_or_prep : Trace or Prepared
    policy : str
        One of :data:`POLICIES`.
    mode : str
        One of :data:`MODES`.
    seed : int
        Shuffle and sampling seed (the paper uses 42..51).
    ratio : float
        Arrived GPU requests at the end, as a fraction of capacity (1.3).
    kernel : callable, optional
        A replacement with the signature of ``_kernels.simulate`` (tests and benchmarks pass
        the plain NumPy reference of ``_reference.py``); default the numba kernel.
    max_pods : int, optional
        Stop after this many arrivals (for the reference in benchmarks).
    ties : {"first", "random"}
        Among nodes with the best score take the first by name (the artifact's kube-scheduler
        patch, for reproducibility) or one at random (stock kube-scheduler).

    Returns
    -------
    dict
        ``used``/``arrived`` [milli-GPU] after each arrival, ``status`` per pod, placements,
        the final per-node state, ``capacity`` [milli-GPU], plus the inputs.
    """
    prep = trace_or_prep if isinstance(trace_or_prep, Prepared) else prepare(trace_or_prep, mode, overcommit)
    code = policy_code(policy)
    order = protocol_order(prep, seed, ratio)
    if max_pods is not None:
        order = order[: int(max_pods)]
    rng = np.random.default_rng([int(seed), 7])
    rnd = _draws(rng, order.size, ties, code)
    n = order.size
    kinds = np.zeros(n, np.int64)
    out = _run(prep, code, order, kinds, (np.arange(n, dtype=float), np.arange(n)), rnd, 0, kernel)
    st = out["status"] % 10
    placed = (st >= 1) & (st <= 3)
    out["arrived"] = np.cumsum(asked_gpu_milli(prep)[order])
    out["used"] = np.cumsum(np.where(placed, given_gpu_milli(prep)[order], 0))
    out["served"] = np.cumsum(np.where(placed, asked_gpu_milli(prep)[order], 0))
    out.update(capacity=prep.capacity, policy=POLICIES[code], mode=prep.mode, seed=int(seed), prep=prep)
    return out


def prefix(run: dict, ratio: float) -> dict:
    """The protocol run stopped once the arrived requests reach ``ratio`` x capacity.

    Pods arrive one by one and never leave, so a run to a lower load is the first arrivals of
    a run to a higher one with the same seed (same shuffle, same draws): equal to
    ``run_protocol(prep, policy, mode, seed, ratio)`` without replaying it. The final node
    state is rebuilt from the placements of the pods that arrived by then.
    """
    prep = run["prep"]
    target = float(ratio) * prep.capacity
    arr = run["arrived"]
    if not (0.0 < float(ratio)) or arr.size == 0 or arr[-1] < target:
        raise InputError("ratio", ratio, "a positive arrived load the run reached")
    k = int(np.searchsorted(arr, target)) + 1
    out = {key: (v[:k] if key in _PER_POD else v) for key, v in run.items()}
    pods = out["pods"]
    st = out["status"] % 10
    pn, pg = out["place_node"], out["place_gpu"]
    share = np.where(prep.ngpu[pods] == 1, prep.milli[pods], prep.gcap)
    slot = pn >= 0
    G = run["final_gpu_left"].shape[1]
    gl = np.where(np.arange(G)[None, :] < prep.ngpus[:, None], prep.gcap, 0).astype(np.int64)
    np.subtract.at(gl, (pn[slot], pg[slot]), np.broadcast_to(share[:, None], pn.shape)[slot])
    cpu_left = prep.cpu_cap.astype(np.int64).copy()
    one = (st == 1) | (st == 2)  # the CPU part on one node (remote: not the GPUs' node)
    np.subtract.at(cpu_left, out["cpu_node"][one], prep.cpu[pods][one])
    agg = (st == 3)[:, None] & slot  # aggregated: the CPU split per card, on each card's node
    c1 = -(-prep.cpu[pods] // np.maximum(prep.ngpu[pods], 1))
    np.subtract.at(cpu_left, pn[agg], np.broadcast_to(c1[:, None], pn.shape)[agg])
    out.update(final_gpu_left=gl, final_cpu_left=cpu_left, waiting=0)
    return out


_PER_POD = ("status", "start", "place_node", "place_gpu", "cpu_node", "pods", "used", "arrived", "served")


def allocation_curve(run: dict, percents=None, what: str = "used") -> tuple[np.ndarray, np.ndarray]:
    """GPU allocation rate [%] against arrived load [% of capacity] (last event at or below each).

    ``what="used"``: cards' milli-GPU handed out (the paper's allocation rate); ``"served"``:
    milli-GPU the placed pods asked for (equal under exact sharing; lower with whole cards).
    """
    pct = np.arange(0, 131) if percents is None else np.asarray(percents, float)
    arr = run["arrived"] / run["capacity"] * 100.0
    used = run[what] / run["capacity"] * 100.0
    idx = np.searchsorted(arr, pct, side="right") - 1
    rate = np.where(idx >= 0, used[np.clip(idx, 0, None)], 0.0)
    return pct, rate


def fragmentation(run: dict) -> np.ndarray:
    """Expected fragmented milli-GPU of each node at the end of a run (the FGD measure)."""
    prep = run["prep"]
    gl, cl = run["final_gpu_left"], run["final_cpu_left"]
    return K.nodes_frag(cl, gl, prep.ngpus, prep.tbit, *prep.typical)


def summary(run: dict, at: float = 100.0) -> dict:
    """Headline numbers of a protocol run at ``at`` % arrived."""
    _, rate = allocation_curve(run, [at])
    arr = run["arrived"] / run["capacity"] * 100.0
    k = max(int(np.searchsorted(arr, at, side="right")), 1)
    st = run["status"][:k]
    prep = run["prep"]
    pods = run["pods"][:k]
    placed = (st % 10 >= 1) & (st % 10 <= 3)
    gpu = prep.ngpu[pods] > 0
    asked = (prep.ngpu[pods] * np.where(prep.ngpu[pods] == 1, prep.asked[pods], MILLI))[placed].sum()
    given = (prep.ngpu[pods] * prep.milli[pods])[placed].sum()
    frag = fragmentation(run)
    idle = run["final_gpu_left"].sum()
    return {"allocation_rate": float(rate[0]), "unallocated_gpus": float(prep.capacity / MILLI * (1 - rate[0] / 100)),
            "failed_pods": int((~placed & gpu).sum()), "pods": int(k),
            "useful_fraction": float(asked / given) if given else 1.0,
            "remote_pods": int((st % 10 == 2).sum()), "aggregated_pods": int((st % 10 == 3).sum()),
            "fragmentation_end_gpus": float(frag.sum() / MILLI),
            "fragmentation_ratio_end": float(frag.sum() / idle) if idle else 0.0}


def event_times(trace: Trace, seed: int = 0, mean_lifetime: float = OPENB_MEAN_LIFETIME_S):
    """Arrival and departure times [s] of the trace's pods; a pod without a usable deletion time
    gets an exponential lifetime of mean ``mean_lifetime`` (documented default)."""
    rng = np.random.default_rng(seed)
    c = np.asarray(trace.pod_create, float)
    d = np.asarray(trace.pod_delete, float)
    bad = ~(d > c)
    d = d.copy()
    d[bad] = c[bad] + rng.exponential(mean_lifetime, int(bad.sum()))
    return c, d


def run_events(trace_or_prep, policy="FGD", mode: str = "fractional", seed: int = 0, trace: Trace | None = None,
               queue_limit: int = 64, overcommit: float = 1.5, kernel=None) -> dict:
    """Event-driven replay: pods arrive at their creation time and leave at their deletion time;
    a pod that does not fit waits in a queue (the first ``queue_limit`` waiting pods are retried
    in order at every event). Returns the run dict plus ``time`` [s] per event and per-pod
    ``wait`` [s] (queueing delay)."""
    if isinstance(trace_or_prep, Prepared):
        prep, tr = trace_or_prep, trace
        if tr is None:
            raise InputError("trace", None, "the Trace behind the Prepared arrays (for its times)")
    else:
        tr = trace_or_prep
        prep = prepare(tr, mode, overcommit)
    code = policy_code(policy)
    c, d = event_times(tr, seed)
    n = c.size
    t = np.concatenate([c, d])
    kind = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])
    pod = np.concatenate([np.arange(n), np.arange(n)])
    o = np.lexsort((1 - kind, t))  # at equal times, departures first
    rnd = _draws(np.random.default_rng([int(seed), 11]), n, "first", code)
    out = _run(prep, code, np.arange(n), kind[o], (t[o], pod[o]), rnd, int(queue_limit), kernel)
    out.update(capacity=prep.capacity, policy=POLICIES[code], mode=prep.mode, seed=int(seed), prep=prep,
               time=t[o], arrive=c, leave=d)
    wait = np.where(out["start"] >= 0, out["start"] - c, np.nan)
    out["wait"] = wait
    return out
