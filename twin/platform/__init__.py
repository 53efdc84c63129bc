"""Platform domain (white paper ch. 6.1): GPU pooling on real cluster traces.

A platform team replays a GPU cluster trace (the Alibaba openb format, or the shipped
synthetic sample) under one of six schedulers and one of six allocation modes and sees how
much capacity whole-card allocation strands against pooling: GPU allocation rate against the
arrived load, fragmentation, unallocated GPUs, failed pods, queueing delay, GPU-hours used
against paid, and the cards a target load needs under each mode.

Public functions
----------------
- :func:`twin.platform.traces.load_openb`, :func:`twin.platform.traces.synthetic_openb`
- :func:`pool` : seeds x policies of the FGD paper's protocol on a trace (numba), a Dataset
- :func:`pool_grid` : the same on Dask (a LocalCluster of 2 workers by default)
- :func:`utilisation_over_time` : event-driven replay with departures and queueing
- :func:`remote_slowdown`, :func:`aggregation_slowdown`, :func:`overcommit_slowdown`
- :func:`evaluate` : the domain's results for the twin (NEEDS fabric)

References
----------
.. [1] China Mobile, NICC New Intelligent Computing Center technology white paper, ch. 6.1
   (compute pooling: 1% granularity, remote GPU calls, aggregation, dynamic over-commit;
   cluster GPU utilisation 20-30%).
.. [2] Weng, Q. et al. "Beware of Fragmentation: Scheduling GPU-Sharing Workloads with
   Fragmentation Gradient Descent." USENIX ATC 2023.
.. [3] PCI-SIG, PCI Express Base Specification 4.0: 16 GT/s per lane, 128b/130b encoding
   (x16: 31.5 GB/s per direction).
.. [4] Duato, J. et al. "rCUDA: Reducing the number of GPU-based accelerators in high
   performance clusters." HPCS 2010 (remote GPU calls over the network, pipelined copies).
"""
from __future__ import annotations

import functools
import importlib
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import InputError, TwinError
from ..paths import datasets_dir, read_headlines
from ..units import format_unit
from . import simulate as _sim
from .simulate import MODES, PAPER_SEEDS, POLICIES, allocation_curve, run_events, run_protocol
from .traces import MILLI, Trace, load_openb, synthetic_openb

#: PCIe 4.0 x16 host link per direction [GB/s] (PCI-SIG 4.0: 16 GT/s x 16 lanes x 128/130 / 8)
PCIE4_X16 = 16e9 * 16 * 128 / 130 / 8 / 1e9
#: Size of one host-device copy a remote-GPU runtime moves at a time [MB] (rCUDA pipelines
#: copies in chunks of this order, Duato et al. 2010)
REMOTE_CHUNK_MB = 1.0
#: 8-GPU server of the openb trace's most common kind (G2: 96 cores, 384 GiB; openb node list)
NODE_CPU_MILLI = 96000
NODE_MEM_MIB = 393216
PCT = format_unit("percent")  # rates are stored in percent (pint: '%'), read as fractions with unit ""
#: White paper ch. 6.1: cluster GPU utilisation without pooling, 20-30 %
WHITE_PAPER_UTILISATION = (0.20, 0.30)
MAX_NODES = 128  # the twin's cluster is capped for interactive use (the trace pods are resampled)

# The cross-domain and compute-native helpers of the platform domain (other modules of this
# package) add their results to the platform Dataset; they declare what they read in NEEDS.
from . import crossdomain as _crossdomain  # noqa: E402  (package modules that add to the results)
from . import native as _native  # noqa: E402

#: The package's cross-domain and compute-native models add their results to the platform
#: Dataset (prefixes resolve name clashes); they declare what they read in their NEEDS.
_HELPERS = ((_crossdomain, _crossdomain.evaluate_crossdomain, "xd_"), (_native, _native.evaluate_native, "native_"))

NEEDS = tuple(dict.fromkeys(("fabric",) + _crossdomain.NEEDS + _native.NEEDS))

#: Schedulers that pool the accelerator families (white paper 6.2 compute-native, 6.4
#: cross-domain); the others (bare metal, VMs, Kubernetes) keep each family in its own silo.
POOLING_SCHEDULERS = ("compute-native", "cross-domain")


#: Headline figures (scalar results) for compare and the app: (variable, label, unit), as
#: datasets/tables/headlines.toml declares them.
HEADLINES = read_headlines("platform")


@functools.lru_cache(maxsize=4)
def sample_trace() -> Trace:
    """The shipped synthetic openb-format sample (datasets/samples/openb_sample_*.csv)."""
    d = datasets_dir() / "samples"
    return load_openb(d / "openb_sample_pod_list.csv", nodes=d / "openb_sample_node_list.csv", name="openb-sample")


def shared_openb_dir() -> Path | None:
    """The openb trace beside the repository (../shared/data/openb), if present."""
    here = Path(__file__).resolve().parents[2]
    p = here.parent / "shared" / "data" / "openb"
    return p if (p / "openb_pod_list_default.csv").is_file() else None


def resolve_trace(trace) -> Trace:
    """A Trace from a Trace, "sample", "synthetic", or a path to an openb folder / pod CSV."""
    if isinstance(trace, Trace):
        return trace
    s = str(trace)
    if s == "sample":
        return sample_trace()
    if s == "synthetic":
        return synthetic_openb()
    if s == "openb":
        p = shared_openb_dir()
        if p is None:
            raise InputError("trace", s, "a path to an openb folder or pod list CSV (../shared/data/openb is absent)")
        return load_openb(p)
    return load_openb(s)


def pool(trace="sample", policies=POLICIES, modes=("fractional",), seeds=PAPER_SEEDS, ratio: float = 1.3,
         overcommit: float = 1.5, granularity: float = 0.01) -> xr.Dataset:
    """Seeds x policies x modes of the FGD paper's protocol on a trace.

    Parameters
    ----------
    trace : Trace or str
        A Trace, ``"sample"`` (shipped), ``"synthetic"``, ``"openb"`` or a path.
    policies : sequence of str
        Names in :data:`POLICIES`.
    modes : sequence of str
        Names in :data:`MODES`.
    seeds : sequence of int
        Protocol seeds (the paper: 42..51).
    ratio : float
        Arrived load at the end of each run, as a fraction of GPU capacity.
    overcommit : float
        Over-commit factor of the ``overcommit`` mode.
    granularity : float
        Smallest share of a card handed out by fractional sharing (0.01 = 1%).

    Returns
    -------
    xarray.Dataset
        ``allocation_rate`` [%] (cards handed out) and ``served_rate`` [%] (what the placed
        pods asked; lower than the allocation with whole cards) over (policy, mode, seed,
        arrived) with ``arrived`` the load [% of capacity]; ``failed_pods``,
        ``fragmentation`` [GPU] at the end.

    Notes
    -----
    The allocation rate is :math:`A(x) = \\sum_{placed} g_i / C` read when the arrived requests
    :math:`\\sum_{arrived} r_i` first reach :math:`x\\,C` (C: the cluster's milli-GPU).
    """
    return _pool(trace, policies, modes, seeds, ratio, overcommit, granularity)[0]


def _pool(trace, policies, modes, seeds, ratio, overcommit, granularity, keep=None):
    """:func:`pool`, and the runs of policy ``keep`` at the first seed by mode (for the twin)."""
    tr = resolve_trace(trace)
    policies = [POLICIES[_sim.policy_code(p)] for p in policies]
    modes = [_sim.check_mode(m) for m in modes]
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise InputError("seeds", seeds, "at least one seed")
    kept = {}
    pct = np.arange(0, int(round(ratio * 100)) + 1)
    rate = np.zeros((len(policies), len(modes), len(seeds), pct.size))
    served = np.zeros_like(rate)
    failed = np.zeros((len(policies), len(modes), len(seeds)))
    frag = np.zeros_like(failed)
    for j, m in enumerate(modes):
        prep = _sim.prepare(tr, m, overcommit, granularity)
        for i, p in enumerate(policies):
            for k, s in enumerate(seeds):
                r = run_protocol(prep, p, seed=s, ratio=ratio)
                if p == keep and k == 0:
                    kept[m] = r
                rate[i, j, k] = allocation_curve(r, pct)[1]
                served[i, j, k] = allocation_curve(r, pct, "served")[1]
                sm = _sim.summary(r, at=100.0 * ratio)
                failed[i, j, k] = sm["failed_pods"]
                frag[i, j, k] = sm["fragmentation_end_gpus"]
    return xr.Dataset(
        {"allocation_rate": (("policy", "mode", "seed", "arrived"), rate, {"units": "", "long_name": "GPU allocation rate [%]"}),
         "served_rate": (("policy", "mode", "seed", "arrived"), served,
                         {"units": "", "long_name": "GPU the placed pods asked for, over capacity [%]"}),
         "failed_pods": (("policy", "mode", "seed"), failed, {"units": ""}),
         "fragmentation": (("policy", "mode", "seed"), frag, {"units": "", "long_name": "fragmented GPUs at the end"})},
        coords={"policy": policies, "mode": modes, "seed": seeds,
                "arrived": ("arrived", pct.astype(float), {"units": "", "long_name": "arrived load [% of capacity]"})},
        attrs={"trace": tr.name, "nodes": tr.n_nodes, "gpus": tr.n_gpus, "ratio": ratio}), kept


def node_fragmentation(trace="sample", policy="FGD", mode="fractional", seed: int = PAPER_SEEDS[0],
                       load: float = 1.0, overcommit: float = 1.5, granularity: float = 0.01) -> xr.Dataset:
    r"""Per-node state after one protocol run to ``load`` x capacity arrived.

    Returns a Dataset over ``node`` with ``fragmentation`` (fragmented GPUs: the FGD measure,
    the expected milli-GPU no typical pod can use, over 1000), ``idle`` and ``gpus`` [cards],
    and scalars ``allocation_rate`` and ``served_rate`` [%].

    Notes
    -----
    The fragmentation of node :math:`n` is :math:`F_n = \sum_t p_t\,f_n(t)` over the
    workload's typical pods :math:`t` (frequency :math:`p_t`), with :math:`f_n(t)` the node's
    idle milli-GPU that pod :math:`t` cannot use (all of it when the pod cannot fit; the
    cards with less left than the pod's share otherwise) (Weng et al. 2023, Sec. 4).
    """
    tr = resolve_trace(trace)
    prep = _sim.prepare(tr, mode, overcommit, granularity)
    r = run_protocol(prep, policy, seed=seed, ratio=load)
    frag = _sim.fragmentation(r) / MILLI
    gl = r["final_gpu_left"]
    valid = prep.ngpus[:, None] > np.arange(gl.shape[1])
    idle = np.where(valid, gl, 0).sum(axis=1) / prep.gcap
    pct = 100.0 * float(load)
    return xr.Dataset(
        {"fragmentation": ("node", frag, {"units": "", "long_name": "fragmented GPUs"}),
         "idle": ("node", idle, {"units": "", "long_name": "idle GPUs"}),
         "gpus": ("node", prep.ngpus.astype(float), {"units": ""}),
         "allocation_rate": ((), float(allocation_curve(r, [pct])[1][0]), {"units": ""}),
         "served_rate": ((), float(allocation_curve(r, [pct], "served")[1][0]), {"units": ""})},
        coords={"node": np.arange(tr.n_nodes)}, attrs={"policy": r["policy"], "mode": r["mode"], "trace": tr.name})


def _pool_task(args):
    trace, policy, mode, seed, ratio, overcommit, granularity = args
    return pool(trace, [policy], [mode], [seed], ratio, overcommit, granularity)


def pool_grid(trace="sample", policies=POLICIES, modes=("fractional",), seeds=PAPER_SEEDS, ratio: float = 1.3,
              overcommit: float = 1.5, granularity: float = 0.01, scheduler: str | None = None,
              n_workers: int = 2) -> xr.Dataset:
    """:func:`pool` with one task per (policy, mode, seed) on Dask.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``) to scale out; default: a
        ``dask.distributed.LocalCluster`` of ``n_workers`` single-threaded workers, closed after.
        The local workers are threads of this process (the numba kernel releases the GIL, so
        they run in parallel without each process importing and loading the kernels).
    """
    from dask.distributed import Client, LocalCluster

    tr = resolve_trace(trace)
    tasks = [(tr, p, m, s, ratio, overcommit, granularity) for p in policies for m in modes for s in seeds]
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=int(n_workers), threads_per_worker=1, processes=False, dashboard_address=None)
        client = Client(cluster)
    try:
        parts = client.gather(client.map(_pool_task, tasks, pure=False))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return xr.combine_by_coords(parts).transpose("policy", "mode", "seed", "arrived")


def utilisation_over_time(trace="sample", policy="FGD", mode="fractional", seed: int = 0, queue_limit: int = 64,
                          overcommit: float = 1.5, granularity: float = 0.01) -> xr.Dataset:
    """Event-driven replay (arrivals, departures, a queue): allocated GPUs over time, queueing delay.

    Returns a Dataset with ``allocated`` [GPU] over ``time`` [h], per-pod ``wait`` [s] and
    scalars ``mean_wait`` [s], ``never_ran``, ``gpu_hours_used`` (what the pods asked for, over
    the time they ran), ``gpu_hours_held`` (cards handed out) and ``gpu_hours_paid`` (the whole
    cluster) [GPU h], all over the arrival window (first to last arrival). A pod that waited
    runs until its deletion time.
    """
    tr = resolve_trace(trace)
    prep = _sim.prepare(tr, mode, overcommit, granularity)
    r = run_events(prep, policy, mode, seed, trace=tr, queue_limit=queue_limit)
    t = r["time"]
    alloc = r["used"] / MILLI
    wait = r["wait"]
    ran = np.isfinite(wait)
    # a pod that waited runs from its start to its deletion time (trace lifetimes are wall clock);
    # GPU-hours are counted over the arrival window (first to last arrival), not the drain after it
    w0, w1 = float(np.min(r["arrive"])), float(np.max(r["arrive"]))
    if w1 <= w0:
        w1 = float(t[-1])
    s0 = np.where(ran, r["start"], 0.0)
    run_h = np.where(ran, np.maximum(np.minimum(r["leave"], w1) - np.maximum(s0, w0), 0.0), 0.0) / 3600.0
    used_h = float((_sim.asked_gpu_milli(prep) / MILLI * run_h).sum())
    held_h = float((_sim.given_gpu_milli(prep) / MILLI * run_h).sum())
    paid_h = float(tr.n_gpus * max(w1 - w0, 1e-9) / 3600.0)
    return xr.Dataset(
        {"allocated": ("time", alloc, {"units": "", "long_name": "cards handed out"}),
         "wait": ("pod", np.where(ran, wait, -1.0), {"units": format_unit("s"), "long_name": "queueing delay (-1: never ran)"}),
         "mean_wait": ((), float(np.mean(wait[ran])) if ran.any() else 0.0, {"units": format_unit("s")}),
         "never_ran": ((), float((~ran).sum()), {"units": ""}),
         "gpu_hours_used": ((), used_h, {"units": format_unit("h"), "long_name": "GPU-hours the pods asked for"}),
         "gpu_hours_held": ((), held_h, {"units": format_unit("h"), "long_name": "GPU-hours of cards handed out"}),
         "gpu_hours_paid": ((), paid_h, {"units": format_unit("h"), "long_name": "the cluster's GPU-hours"})},
        coords={"time": ("time", (t - t[0]) / 3600.0, {"units": format_unit("h")})},
        attrs={"policy": r["policy"], "mode": mode, "trace": tr.name})


def remote_slowdown(io_fraction: float, network_bandwidth, latency, host_bandwidth=PCIE4_X16,
                    chunk_mb: float = REMOTE_CHUNK_MB) -> float:
    """Slowdown of a job whose GPU sits on another node (remote GPU calls over the fabric).

    Parameters
    ----------
    io_fraction : float
        Share of the job's local step time spent in host-device copies (0..1).
    network_bandwidth : float
        Bandwidth between the pod's node and the GPU's node [GB/s].
    latency : float
        One-way base latency of the fabric between them [us].
    host_bandwidth : float
        Local host-device bandwidth [GB/s] (PCIe 4.0 x16).
    chunk_mb : float
        Size of one copy [MB].

    Notes
    -----
    A copy of :math:`S` bytes takes :math:`S/B_h` locally and :math:`S/B_n + 2L` remotely
    (request and completion cross the fabric), so
    :math:`s = 1 + f\\,\\left(\\frac{S/B_n + 2L}{S/B_h} - 1\\right)`, never below 1.
    """
    f = float(io_fraction)
    if not (0.0 <= f <= 1.0):
        raise InputError("platform.pool_io_fraction", io_fraction, "a share between 0 and 1")
    bn, bh = float(network_bandwidth), float(host_bandwidth)
    if bn <= 0 or bh <= 0:
        raise InputError("network_bandwidth", network_bandwidth, "a positive bandwidth in GB/s")
    s_mb = float(chunk_mb)
    t_local = s_mb / 1e3 / bh
    t_remote = s_mb / 1e3 / bn + 2 * float(latency) * 1e-6
    return 1.0 + f * max(t_remote / t_local - 1.0, 0.0)


def aggregation_slowdown(comm_fraction: float, nodes: int, scale_up_bandwidth, network_bandwidth) -> float:
    """Slowdown of a multi-card job whose cards are gathered from ``nodes`` nodes.

    Notes
    -----
    The job's collectives run over the scale-up bus inside one node; spread over :math:`m`
    nodes a ring all-reduce crosses the fabric on :math:`(m-1)/m` of its steps at the node's
    bandwidth :math:`B_n` instead of :math:`B_u`:
    :math:`s = 1 + f\\,\\frac{m-1}{m}\\,\\max(B_u/B_n - 1, 0)`.
    """
    f = float(comm_fraction)
    if not (0.0 <= f <= 1.0):
        raise InputError("platform.pool_io_fraction", comm_fraction, "a share between 0 and 1")
    m = max(int(nodes), 1)
    return 1.0 + f * (m - 1) / m * max(float(scale_up_bandwidth) / float(network_bandwidth) - 1.0, 0.0)


def overcommit_slowdown(card_load) -> np.ndarray:
    """Interference slowdown of jobs on an over-committed card: time-slicing gives each job
    its share, so a card whose jobs ask :math:`R > 1` cards' worth runs them :math:`R` times
    slower (``max(1, R)``)."""
    r = np.asarray(card_load, float)
    if np.any(r < 0) or not np.all(np.isfinite(r)):
        raise InputError("card_load", card_load, "non-negative finite card loads")
    return np.maximum(r, 1.0)


def scenario_mode(sc) -> tuple[str, float]:
    """Allocation mode and sharing granularity of a scenario's platform section."""
    p = sc.platform
    if p.allocation in ("bare-metal", "whole") or float(p.pooling_granularity) >= 1.0:
        return "whole", 1.0
    return str(p.pool_mode), float(p.pooling_granularity)


def scenario_trace(sc) -> Trace:
    """The scenario's cluster (compute.nodes x cards_per_node, capped at MAX_NODES) with the
    pods of its trace (platform.pool_trace), GPU-model constraints dropped, arrivals spaced to
    offer ``platform.pool_load`` of the cards (lifetimes kept)."""
    base = resolve_trace(sc.platform.pool_trace)
    n = int(min(sc.compute.nodes, MAX_NODES))
    g = int(min(sc.compute.cards_per_node, 8))
    model = str(sc.compute.accelerator)
    # arrivals spaced so that the offered load (Little's law: arrival rate x GPU-seconds per pod)
    # is platform.pool_load of the cards; each pod keeps its lifetime
    c, d = _sim.event_times(base, 0)
    life = d - c
    work = float(np.mean(base.pod_ngpu * base.pod_milli / MILLI * life))
    span = base.n_pods * work / (float(sc.platform.pool_load) * n * g)
    c0 = c - c.min()
    create = c0 * (span / max(float(c0.max()), 1e-9))
    return Trace(np.array([f"node-{i:04d}" for i in range(n)]), np.full(n, NODE_CPU_MILLI, np.int64),
                 np.full(n, NODE_MEM_MIB, np.int64), np.full(n, g, np.int64), np.array([model] * n, dtype=object),
                 base.pod_name, base.pod_cpu, base.pod_mem, base.pod_ngpu, base.pod_milli,
                 np.array([""] * base.n_pods, dtype=object), create, create + life, name=base.name)


def _fabric_numbers(state):
    from .. import tree

    bw = tree.array(state, "fabric", "node_bandwidth", "GB/s")
    if "pattern" in bw.dims:
        bw = bw.sel(pattern="ring") if "ring" in list(bw["pattern"].values) else bw.isel(pattern=0)
    if "hop_nodes" in bw.dims:
        bw = bw.isel(hop_nodes=0)
    lat = tree.array(state, "fabric", "hop_latency", "us") if "hop_latency" in tree.results(state, "fabric") else None
    lat = float(lat.isel(hop_nodes=0)) if lat is not None and "hop_nodes" in lat.dims else tree.value(state, "fabric", "base_latency", "us")
    return float(np.asarray(bw.values).ravel()[0]), lat


def evaluate(scenario, state) -> xr.Dataset:
    """The platform's results: the scenario's pool replayed under its policy and mode.

    Reads the fabric's node bandwidth [GB/s] and hop latency [us] from the tree for the
    remote-GPU and aggregation slowdowns. ``gpu_utilisation`` (GPU-hours the pods asked for
    over the cluster's, white paper 6.1: 20-30 % without pooling) comes from an event-driven
    replay of the trace's arrivals and departures. Runs ``platform.pool_seeds`` seeds of the FGD
    protocol on the scenario's cluster for its mode and for whole cards (the stranded
    capacity), the policy x mode comparison at the scenario's load, and merges the results of
    the package's cross-domain and compute-native helpers.
    """
    sc = scenario
    p = sc.platform
    tr = scenario_trace(sc)
    mode, gran = scenario_mode(sc)
    oc = float(p.overcommit)
    load = float(p.pool_load)
    seeds = list(range(PAPER_SEEDS[0], PAPER_SEEDS[0] + int(p.pool_seeds)))
    ratio = max(1.3, load)
    policy = str(p.pool_policy)
    bw, lat = _fabric_numbers(state)
    try:
        scale_up = float(state["interconnect"].to_dataset()["scale_up_bandwidth_per_card"].values)
    except KeyError as exc:
        raise TwinError("state tree has no /interconnect/scale_up_bandwidth_per_card (build_state writes it)") from exc
    cmp_modes = list(dict.fromkeys([mode, "whole", "fractional", "mig", "remote", "aggregate", "overcommit"]))
    g_eff = gran if gran < 1.0 else 0.01
    grid, kept = _pool(tr, POLICIES, cmp_modes, seeds, ratio, oc, g_eff, keep=POLICIES[_sim.policy_code(policy)])
    pick = dict(arrived=round(load * 100), method="nearest")
    at = grid["allocation_rate"].sel(**pick).mean("seed")
    served = grid["served_rate"].sel(**pick).mean("seed")
    full = grid["served_rate"].isel(arrived=-1).mean("seed")  # served at saturation (ratio x capacity)
    curve = grid["allocation_rate"].sel(policy=policy, mode=mode).mean("seed")
    # one run kept for per-node fragmentation, statuses and slowdowns: the grid's run of the
    # policy and mode at the first seed, stopped at the scenario's load (ratio >= load)
    r = _sim.prefix(kept[mode], load)
    prep = r["prep"]
    sm = _sim.summary(r, at=100.0 * load)
    frag = _sim.fragmentation(r) / MILLI
    cards = max(int(sc.compute.cards_per_node), 1)
    per_card_net = bw / cards
    s_remote = remote_slowdown(float(p.pool_io_fraction), min(per_card_net, PCIE4_X16), lat)
    s_aggr = aggregation_slowdown(float(p.pool_io_fraction), 2, scale_up, per_card_net)
    # over-commit interference: each card's load (the requests it holds) in cards
    ro = _sim.prefix(kept["overcommit"], load)
    oprep = ro["prep"]
    held = (oprep.gcap - ro["final_gpu_left"][oprep.ngpus[:, None] > np.arange(ro["final_gpu_left"].shape[1])]) / MILLI
    used_cards = held[held > 0]
    s_oc = float(np.mean(overcommit_slowdown(used_cards))) if used_cards.size else 1.0
    # over time (arrivals and departures of the trace's pods, a queue): GPU-hours used over paid
    ev = utilisation_over_time(tr, policy, mode, seeds[0], 64, oc, g_eff)
    ev_whole = ev if mode == "whole" else utilisation_over_time(tr, policy, "whole", seeds[0], 64, oc, g_eff)
    util = float(ev["gpu_hours_used"] / ev["gpu_hours_paid"])
    util_whole = float(ev_whole["gpu_hours_used"] / ev_whole["gpu_hours_paid"])
    cap = tr.n_gpus
    rate = float(at.sel(policy=policy, mode=mode))
    srv = float(served.sel(policy=policy, mode=mode))
    srv_whole = float(served.sel(policy=policy, mode="whole"))
    useful = sm["useful_fraction"]
    # a pool packs `full` of its cards with requests at saturation: a load of T cards needs T / full
    target = load * cap
    cards_needed = target / (full.sel(policy=policy) / 100.0)
    ds = xr.Dataset(
        {"allocation_rate": ((), rate, {"units": PCT, "long_name": f"GPU allocation rate at {load:.0%} arrived"}),
         "served_rate": ((), srv, {"units": PCT, "long_name": "GPU the placed pods asked for, over capacity"}),
         "served_rate_whole": ((), srv_whole, {"units": PCT, "long_name": "same policy, whole cards only"}),
         "stranded_gpus": ((), float((srv - srv_whole) / 100.0 * cap), {"units": "",
                           "long_name": "GPUs of requests whole-card allocation leaves unserved against this mode"}),
         "allocation_curve": ("arrived", curve.values, {"units": PCT, "long_name": "GPU allocation rate"}),
         "policy_mode_rate": (("policy", "mode"), served.values, {"units": PCT,
                              "long_name": "GPU the placed pods asked for, over capacity"}),
         "node_fragmentation": ("node", frag, {"units": "", "long_name": "fragmented GPUs per node (FGD measure)"}),
         "fragmentation": ((), float(frag.sum()), {"units": "", "long_name": "fragmented GPUs"}),
         "unallocated_gpus": ((), float(cap * (1 - rate / 100.0)), {"units": ""}),
         "failed_pods": ((), float(sm["failed_pods"]), {"units": ""}),
         "useful_fraction": ((), useful, {"units": "", "long_name": "share of allocated GPU the pods asked for"}),
         "gpu_utilisation": ((), util, {"units": "", "long_name": "GPU-hours used over paid, replay over time"}),
         "gpu_utilisation_whole": ((), util_whole, {"units": "", "long_name": "same, whole cards only"}),
         "queueing_delay": ((), float(ev["mean_wait"]), {"units": format_unit("s"), "long_name": "mean wait of the pods that ran"}),
         "pods_never_ran": ((), float(ev["never_ran"]), {"units": ""}),
         "remote_pods": ((), float(sm["remote_pods"]), {"units": ""}),
         "aggregated_pods": ((), float(sm["aggregated_pods"]), {"units": ""}),
         "remote_slowdown": ((), s_remote, {"units": ""}),
         "aggregation_slowdown": ((), s_aggr, {"units": ""}),
         "overcommit_slowdown": ((), s_oc, {"units": ""}),
         "cards_needed": ("mode", np.ceil(np.asarray(cards_needed.values, float)), {"units": "",
                          "long_name": f"cards the arrived load ({load:.0%} of {cap}) needs"})},
        coords={"arrived": curve["arrived"].values, "policy": list(POLICIES), "mode": cmp_modes,
                "node": np.arange(tr.n_nodes)},
        attrs={"policy": policy, "mode": mode, "trace": tr.name, "nodes": tr.n_nodes, "gpus": cap, "seeds": len(seeds),
               "fabric_bandwidth_GBps": bw, "fabric_latency_us": lat,
               "white_paper_utilisation": "20-30% without pooling (AWS 20%, Facebook < 30%, Google Cloud 25%)"})
    for mod, fn, prefix in _HELPERS:
        extra = fn(sc, state)
        if not isinstance(extra, xr.Dataset):
            raise TwinError(f"{mod.__name__}.{fn.__name__} returned {type(extra).__name__}, not a Dataset")
        clash = (set(extra.data_vars) | set(extra.coords)) & (set(ds.data_vars) | set(ds.coords))
        if clash:
            extra = extra.rename({k: prefix + str(k) for k in clash})
        attrs = {**ds.attrs, **{f"{prefix}{k}" if k in ds.attrs else k: v for k, v in extra.attrs.items()}}
        ds = ds.assign({k: extra[k] for k in extra.data_vars}).assign_attrs(attrs)
    # the scheduler decides whether the accelerator families share one pool or stay siloed
    pooled = str(sc.platform.scheduler) in POOLING_SCHEDULERS
    pick = "native" if pooled else "siloed"
    ds["heterogeneous_jobs_per_day"] = ds[f"jobs_per_day_{pick}"].assign_attrs(
        long_name=f"jobs completed per day by the heterogeneous cluster, families {'pooled' if pooled else 'siloed'} "
                  f"under the {sc.platform.scheduler} scheduler")
    ds["heterogeneous_wait"] = ds["wait_native" if pooled else "wait_siloed_mean"].assign_attrs(
        long_name="mean queueing delay of the heterogeneous cluster's jobs under the scheduler")
    return ds


def __getattr__(name):
    # the helpers' public functions, re-exported lazily (crossdomain, native_pools)
    if name == "crossdomain":
        return importlib.import_module(f"{__name__}.crossdomain").crossdomain
    if name == "native_pools":
        return importlib.import_module(f"{__name__}.native").native_pools
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["NEEDS", "evaluate", "pool", "pool_grid", "node_fragmentation", "scenario_trace", "scenario_mode", "utilisation_over_time", "remote_slowdown",
           "aggregation_slowdown", "overcommit_slowdown", "load_openb", "synthetic_openb", "sample_trace",
           "POLICIES", "MODES", "PAPER_SEEDS"]
