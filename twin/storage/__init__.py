"""New storage (white paper ch. 5): the data lifecycle, capacity, the storage wall, checkpoints,
converged and global storage, and the memory pool.

A storage architect picks a scenario and gets, from :func:`evaluate` (stored by ``Twin.run`` at
``/storage/results``) or the public functions below:

- the six stages of a training job's data (ch. 5.1: upload, copy to file storage, shuffled
  reads, checkpoints, model copy, download) with bytes, IO pattern, metadata operations, time and
  bandwidth, for separate file + object pools against a converged store and a global namespace
  (:func:`lifecycle`);
- capacity per tier (hot NVMe, cold object) after copies, checkpoints kept, replication or
  erasure coding and SSD over-provisioning, with media, power and floor space (:func:`capacity`);
- the storage wall (ch. 5.2): a data loader per accelerator against the storage system and the
  storage network -> GPU waiting time, accelerator utilisation AU and the smallest storage system
  that keeps AU >= 90% (:func:`storage_wall`);
- checkpoints limited by the slowest of GPU -> host, NIC, network and storage system, synchronous
  or asynchronous, the Young/Daly interval and goodput (:func:`checkpoint`, :func:`goodput`);
- storage traffic on the fabric: checkpoint bursts and data-loader reads as max-min flows on the
  parameter network or a separate storage network, the network-limited checkpoint and, on a
  shared network, the share of the training collective a burst takes (:func:`storage_traffic`,
  :mod:`twin.storage.network`);
- the memory pool (ch. 5.5): local DDR, CXL-attached and switched-pool tiers, stranded memory
  recovered, what fits and the offload transfer per step (:func:`memory_pool`);
- a 30-day, minute-resolution run of checkpoints and tiering (:func:`simulate`).

The domain reads the training step time, parameters and step-time breakdown from the state tree
(``NEEDS``) and places its own flows on the fabric through :mod:`twin.fabric`'s public functions
(the fabric has no storage flows of its own to put in the tree); public functions build a
throw-away :class:`twin.core.Twin`.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import xarray as xr

from .. import catalog
from ..errors import InputError
from ..paths import read_headlines
from ..scenario import load_scenario, usable_fraction
from ..units import Q_, as_quantity, magnitude
from . import model as M
from . import pool as P

NEEDS = ("fabric", "training")

#: Headline figures (scalar results) for compare and the app: (variable, label, unit), as
#: datasets/tables/headlines.toml declares them.
HEADLINES = read_headlines("storage")

TIERS = ("hot", "cold")
STAGES = ("upload", "copy-to-file", "training-reads", "checkpoints", "model-copy", "download")
MEMORY_TIERS = ("local-ddr", "cxl-attached", "cxl-pool")
CHECKPOINT_STAGES = ("gpu_to_host", "nic", "network", "storage_system")

#: IO size of large sequential transfers [B]: AWS CLI S3 multipart chunk default, 8 MB.
LARGE_IO = 8e6


# --------------------------------------------------------------------------------------------
# Inputs: the scenario and the tree


def _redundancy(sc) -> float:
    r = str(sc.storage.redundancy)
    u = usable_fraction(r)
    if r.startswith("ec-"):
        k, m = (int(x) for x in r[3:].split("+"))
        if k < 1 or m >= k:
            raise InputError("storage.redundancy", r, "ec-K+M with 1 <= M < K (e.g. ec-8+2); use replica-N "
                             "for more parity than data", "has at least as much parity as data, which the twin's "
                             "erasure-coded store does not support")
    if r.startswith("replica-") and int(r.split("-")[1]) < 1:
        raise InputError("storage.redundancy", r, "replica-N with N >= 1", "stores no copy")
    return u


def _host_bw_card(sc) -> float:
    """GPU <-> host copy rate of one card [B/s]: its host link (catalog) x DMA efficiency."""
    acc = catalog.accelerator(sc.compute.accelerator)
    link = catalog.get("links", str(acc.host_link), "accelerator.host_link")
    raw = link.lane_rate.to("bit/s").magnitude * int(link.lanes) * float(link.encoding) / 8.0
    return raw * M.DMA_EFFICIENCY


def _tree_inputs(sc, state) -> dict:
    """Numbers this domain reads from the other domains' results (twin.tree)."""
    from .. import tree

    tr = tree.results(state, "training")
    inp = {"step_time": tree.value(state, "training", "step_time", "s"),
           "parameters": tree.value(state, "training", "parameters", "")}
    w = sc.workload
    for k, default in (("tp", w.tp), ("pp", w.pp), ("dp", w.dp), ("global_batch", w.global_batch),
                       ("sequence_length", w.sequence_length)):
        inp[k] = int(tr.attrs.get(f"plan_{k}", default))
    if inp["dp"] <= 0:
        inp["dp"] = max(1, sc.cards // (inp["tp"] * inp["pp"]))
    # training time per step on the scale-out fabric: DP (overlapped part included: a slower
    # all-reduce outgrows its overlap), PP, EP, CP, and TP when it leaves the high-speed domain
    bd = tr["breakdown"]
    comp = {str(c): float(v) for c, v in zip(bd["component"].values, Q_(bd.values, bd.attrs["units"]).to("s").magnitude)}
    fab = [comp.get(k, 0.0) for k in ("pp_comm", "ep_comm", "cp_comm")]
    fab.append(tree.value(state, "training", "dp_comm_total", "s") if "dp_comm_total" in tr else comp.get("dp_comm", 0.0))
    if inp["tp"] > int(sc.compute.domain_size):
        fab.append(comp.get("tp_comm", 0.0))
    inp["fabric_comm_time"] = float(sum(fab))
    return inp


@functools.lru_cache(maxsize=32)
def _inputs_for(key: str) -> tuple:
    import json

    from ..core import Twin

    sc = load_scenario(json.loads(key))
    t = Twin(sc)
    t.run(["fabric", "training"])
    return tuple(sorted(_tree_inputs(sc, t.state).items()))


def inputs(scenario) -> dict:
    """The numbers storage reads from the fabric and training results of a throw-away Twin.

    Cached per scenario without its storage section: of the storage fields only
    ``storage.memory_pool`` reaches a lower domain (training's offload tier), so changing any
    other storage field reuses the lower domains' results.
    """
    import json

    sc = load_scenario(scenario)
    d = sc.to_dict()
    d["storage"] = {"memory_pool": d.get("storage", {}).get("memory_pool", "0 TiB")}
    return dict(_inputs_for(json.dumps(d, sort_keys=True, default=str)))


# --------------------------------------------------------------------------------------------
# The model: one pass from scenario + tree numbers to every storage result


def _positive(v, field, what):
    if not v > 0:
        raise InputError(field, v, what, "is not positive")
    return v


def plan(scenario, inp: dict, *, checkpoint_mode=None, interval=None, failure_rate=None, restart_time=None,
         failure_factor: float = 1.0, sharded: bool = True, days: float = 30.0, workload=None,
         accelerator_kind=None, storage_servers=None) -> dict:
    """Every storage number of a scenario from the tree inputs ``inp`` (see :func:`inputs`); SI floats.

    Used by :func:`evaluate` and by the public functions; keyword overrides replace the scenario's
    checkpoint mode, the checkpoint interval [s], failure rate [1/h], restart time, the
    data-loader workload and the number of storage servers on the network (default: the hot
    tier's servers, its drives / 24).
    """
    sc = load_scenario(scenario)
    s, c, w = sc.storage, sc.compute, sc.workload
    usable = _redundancy(sc)
    overhead = M.write_overhead(usable)
    wa = float(s.write_amplification)
    op = M.overprovisioning(wa)
    nodes, cpn, cards = int(c.nodes), int(c.cards_per_node), sc.cards
    hot_m = catalog.get("storage_media", str(s.hot_media), "storage.hot_media")
    cold_m = catalog.get("storage_media", str(s.cold_media), "storage.cold_media")
    raw_total = magnitude(s.capacity, "B", "storage.capacity")
    front = magnitude(s.bandwidth, "B/s", "storage.bandwidth")
    if not front > 0:
        raise InputError("storage.bandwidth", s.bandwidth, "a positive aggregate bandwidth such as '200 GB/s'",
                         "leaves the storage system unable to read or write")
    if not raw_total > 0:
        raise InputError("storage.capacity", s.capacity, "a positive raw capacity such as '10 PB'", "stores nothing")
    hot_frac = float(s.hot_fraction)
    arch = str(s.architecture)
    protocols = set(s.protocols)
    file_proto = bool(protocols & {"posix", "nfs", "hdfs"})
    object_proto = "s3" in protocols
    # a converged store avoids copies only if it serves both a file and the object protocol
    unified = arch in ("converged", "global") and file_proto and object_proto
    if hot_frac <= 0:
        raise InputError("storage.hot_fraction", hot_frac, "> 0: the hot tier holds the training reads and checkpoints",
                         "leaves the hot tier with no media")
    if hot_frac >= 1 and not unified:
        raise InputError("storage.hot_fraction", hot_frac, "< 1 for separate file and object pools",
                         "leaves the object (cold) tier with no media")
    hot_avail, cold_avail = raw_total * hot_frac, raw_total * (1 - hot_frac)
    hot_inst = M.media_plan(hot_avail, hot_m.capacity.to("B").magnitude, str(hot_m.medium), hot_m.power.to("W").magnitude)
    cold_inst = M.media_plan(cold_avail, cold_m.capacity.to("B").magnitude, str(cold_m.medium), cold_m.power.to("W").magnitude)
    cold_op = op if str(cold_m.medium) == "nvme-ssd" else 0.0
    # storage system rates: the rated front end, the media behind it
    h_rd, h_wr = hot_m.read_bandwidth.to("B/s").magnitude, hot_m.write_bandwidth.to("B/s").magnitude
    c_rd, c_wr = cold_m.read_bandwidth.to("B/s").magnitude, cold_m.write_bandwidth.to("B/s").magnitude
    sys_read = min(front, hot_inst["media"] * h_rd)
    sys_write = min(front * h_wr / h_rd, hot_inst["media"] * h_wr / (overhead * wa))
    obj_read = cold_inst["media"] * c_rd if cold_inst["media"] else sys_read
    obj_write = cold_inst["media"] * c_wr / overhead if cold_inst["media"] else sys_write
    wan = magnitude(s.wan_bandwidth, "B/s", "storage.wan_bandwidth")
    md_rate = magnitude(s.metadata_rate, "1/s", "storage.metadata_rate")
    host_bw = _host_bw_card(sc)

    # ---- the data loader's demand (independent of the network) -----------------------------
    params = inp["parameters"]
    size = float(s.checkpoint_bytes_per_parameter) * params
    wl = str(workload if workload is not None else s.data_workload)
    step = inp["step_time"]
    if wl == "llm":
        sample = inp["sequence_length"] * int(s.bytes_per_token)
        per_file = max(1.0, M.LLM_FILE_BYTES / sample)
        readers = inp["dp"]
        batch = inp["global_batch"] / readers
        compute = step
    else:
        if wl not in M.WORKLOADS:
            raise InputError("storage.data_workload", wl, "llm, " + ", ".join(M.WORKLOADS))
        spec = M.WORKLOADS[wl]
        kind = accelerator_kind or ("h100" if catalog.accelerator(c.accelerator).hbm_bandwidth.to("GB/s").magnitude > 2500 else "a100")
        sample, per_file, batch, compute = spec["sample"], spec["per_file"], spec["batch"], spec["compute"][kind]
        readers = cards
    read_demand = readers * batch * sample / compute  # [B/s] the loader keeps AU = 1 at this rate

    # ---- storage traffic on the fabric (parameter or separate storage network) ---------------
    from .network import traffic_on_fabric

    if storage_servers is None:
        servers = max(1, hot_inst["servers"])
    else:
        servers = storage_servers
        if isinstance(servers, bool) or not isinstance(servers, (int, np.integer)) or servers < 1:
            raise InputError("storage_servers", storage_servers, "an integer >= 1 (storage server nodes on the "
                             "storage network)", "leaves the storage system without a server")
    net = traffic_on_fabric(sc, nodes=nodes, servers=int(servers), checkpoint_bytes=size,
                            host_rate_node=cpn * host_bw, read_demand_node=read_demand / nodes,
                            sys_write=sys_write, sys_read=sys_read, fabric_comm_time=inp.get("fabric_comm_time", 0.0),
                            step_time=step)
    node_bw = net["node_read_bw"]  # a node's share when every node reads at once
    net_agg = size / net["t_network"]

    # ---- checkpoints -----------------------------------------------------------------------
    ck = M.checkpoint_times(size, nodes, cpn, host_bw, net["node_nic_bw"], net_agg, sys_write, sys_read, cards, md_rate,
                            sharded)
    mode = str(checkpoint_mode if checkpoint_mode is not None else s.checkpoint_mode)
    if mode not in ("sync", "async"):
        raise InputError("checkpoint_mode", mode, "'sync' or 'async'")
    pool_total = magnitude(s.memory_pool, "B", "storage.memory_pool")
    host_mem_node = P.HOST_MEMORY + pool_total / nodes
    async_fallback = mode == "async" and size / nodes > host_mem_node
    blocking = ck["write"] if (mode == "sync" or async_fallback) else ck["snapshot"]
    lag = 0.0 if (mode == "sync" or async_fallback) else ck["flush"]
    lam = magnitude(failure_rate if failure_rate is not None else w.failure_rate, "1/h", "failure_rate")
    if lam < 0:
        raise InputError("failure_rate", failure_rate, "a rate >= 0 per card-hour such as '2e-5 /h'", "is negative")
    restart = magnitude(restart_time if restart_time is not None else w.restart_time, "s", "restart_time")
    if restart < 0:
        raise InputError("restart_time", restart_time, "a time >= 0 such as '10 min'", "is negative")
    ff = float(failure_factor)
    if not ff > 0:
        raise InputError("failure_factor", failure_factor, "a positive multiplier of the failure rate (1 = as given)")
    mtbf = math.inf if lam == 0 else 3600.0 / (lam * cards * ff)
    # on a shared network an asynchronous flush runs beside the training and slows its steps
    burst_cost = lag * net["burst_slowdown"]
    delta = blocking + burst_cost
    if interval is None:
        tau = M.young_daly_interval(delta, mtbf)
        if not math.isfinite(tau):
            tau = 24 * 3600.0
        if lag > 0:
            tau = max(tau, lag - delta)  # the next checkpoint waits for the previous flush
    else:
        tau = magnitude(interval, "s", "interval")
        if not tau > 0:
            raise InputError("interval", interval, "a positive time such as '30 min'", "is not positive")
    restart_total = restart + ck["restore"]
    good = M.goodput_fraction(tau, delta, mtbf, restart_total, lag)

    # ---- the storage wall --------------------------------------------------------------------
    threads = int(s.reader_threads)
    lat = hot_m.read_latency.to("s").magnitude
    rpn = max(1.0, readers / nodes)
    dl = M.data_loader(sample, per_file, batch, compute, threads, readers, rpn, node_bw, sys_read, md_rate, lat)
    io_wait = dl["io_wait"] if wl == "llm" else dl["io_wait"] * step / compute  # vision: scale to the job's step
    # reads on a shared network slow the collectives all the time; checkpoints cost delta per interval
    eff_step = (step * (1.0 + net["read_slowdown"]) + io_wait) * (1.0 + delta / tau)

    # ---- capacity --------------------------------------------------------------------------
    D = magnitude(s.dataset_size, "B", "storage.dataset_size")
    W = M.MODEL_BYTES_PER_PARAMETER * params
    period = tau + blocking
    job = days * 86400.0
    n_ck_job = max(1, int(job // period))
    cold_after = magnitude(s.cold_after, "s", "storage.cold_after")
    hot_ck = max(1, min(int(s.checkpoints_kept), n_ck_job, max(1, math.ceil(cold_after / period))))
    arch_copies = 1 if unified else 2
    hot_user = D + hot_ck * size + W
    archived = min(n_ck_job - hot_ck, math.ceil(days))  # one checkpoint a day is archived on the cold tier
    cold_user = archived * size + (D + W if not unified else 0.0)
    hot_raw = hot_user * overhead * (1 + op)
    cold_raw = cold_user * overhead * (1 + cold_op)
    missing = max(0.0, hot_raw - hot_avail) + max(0.0, cold_raw - cold_avail)

    # ---- global namespace -------------------------------------------------------------------
    sites = int(s.sites)
    dist = magnitude(s.site_distance, "m", "storage.site_distance")
    one_way = M.fibre_latency(dist)
    if arch == "global" and sites > 1:
        replication_lag = size / wan + one_way
        remote_latency = 0.0  # nearest-site reads: every site holds its replica
        replicated = (sites - 1) * (D + hot_ck * size)
    else:
        replication_lag = 0.0
        remote_latency = 2 * one_way if sites > 1 else 0.0
        replicated = 0.0

    # ---- six stages ------------------------------------------------------------------------
    steps_job = job / max(eff_step, 1e-12)
    up_target = obj_write if not unified else sys_write
    t_upload = D / min(wan, up_target)
    t_copy_sep = D / min(obj_read, sys_write)
    t_model_sep = W / min(sys_read, obj_write)
    files_d = D / max(sample * per_file, 1.0)
    stage = {
        "upload": (D, LARGE_IO, "large sequential write", files_d, t_upload, min(wan, up_target)),
        "copy-to-file": ((0.0, LARGE_IO, "none: one copy serves file and object", files_d, 0.0, 0.0) if unified else
                         (D, LARGE_IO, "large sequential read + write", 2 * files_d, t_copy_sep, D / t_copy_sep)),
        "training-reads": (dl["bytes_per_step"] * steps_job, sample, "shuffled small-IO random read",
                           readers * batch / per_file * steps_job, dl["io_time"] * steps_job,
                           dl["bytes_per_step"] / max(dl["io_time"], 1e-12)),
        "checkpoints": (n_ck_job * size, size / cards, "large sequential write (burst)", n_ck_job * cards,
                        n_ck_job * ck["write"], size / ck["write"]),
        "model-copy": ((0.0, LARGE_IO, "none: one copy serves file and object", 1.0, 0.0, 0.0) if unified else
                       (W, LARGE_IO, "large sequential read + write", 2.0, t_model_sep, W / t_model_sep)),
        "download": (W, LARGE_IO, "large sequential read", 1.0, W / min(wan, obj_read), min(wan, obj_read)),
    }
    saved_time = (t_copy_sep + t_model_sep) if unified else 0.0
    saved_raw = (D + W) * overhead if unified else 0.0

    # ---- memory pool ---------------------------------------------------------------------
    cxl = catalog.get("storage_media", "cxl-memory-expander-256gb", "cxl expander")
    tiers = P.tiers(cxl.read_latency.to("s").magnitude, cxl.read_bandwidth.to("B/s").magnitude, int(s.pool_hosts))
    pool_node = pool_total / nodes
    local_cards = params / (inp["tp"] * inp["pp"])
    opt_node = 12.0 * local_cards * cpn / max(1, inp["dp"] if w.zero_stage >= 1 else 1)
    caps = {"local-ddr": P.HOST_MEMORY, "cxl-attached": P.HOST_MEMORY + (pool_node if pool_node > 0 else 0.0),
            "cxl-pool": P.HOST_MEMORY + pool_node}
    offload = {k: P.offload_transfer(local_cards, cpn, host_bw, bw) for k, (lat_, bw) in tiers.items()}
    fits = {k: opt_node + size / nodes <= caps[k] for k in tiers}
    recovered = P.stranded_recovered(int(s.pool_hosts)) if pool_total > 0 else 0.0

    return dict(
        sc=sc, usable=usable, overhead=overhead, op=op, sys_read=sys_read, sys_write=sys_write, obj_read=obj_read,
        obj_write=obj_write, node_bw=node_bw, net_agg=net_agg, net=net, delta=delta, burst_cost=burst_cost,
        host_bw=host_bw, size=size, ck=ck, mode=mode,
        async_fallback=async_fallback, blocking=blocking, lag=lag, mtbf=mtbf, tau=tau, restart=restart_total,
        goodput=good, step=step, io_wait=io_wait, dl=dl, workload=wl, eff_step=eff_step, hot_raw=hot_raw,
        cold_raw=cold_raw, hot_avail=hot_avail, cold_avail=cold_avail, hot_user=hot_user, cold_user=cold_user,
        missing=missing, hot_inst=hot_inst, cold_inst=cold_inst, copies=arch_copies, hot_ck=hot_ck, n_ck_job=n_ck_job,
        stage=stage, saved_time=saved_time, saved_raw=saved_raw, replication_lag=replication_lag,
        remote_latency=remote_latency, replicated=replicated, tiers=tiers, offload=offload, fits=fits,
        caps=caps, recovered=recovered, opt_node=opt_node, unified=unified, params=params, W=W, D=D, days=days,
        ff=ff, lam=lam,
    )


# --------------------------------------------------------------------------------------------
# Datasets


def _v(x, unit, long_name=None, dims=(), **attrs):
    a = {"units": unit}
    if long_name:
        a["long_name"] = long_name
    a.update(attrs)
    return xr.Variable(dims, np.asarray(x, dtype=float), attrs=a)


def _curve(r) -> tuple:
    hi = max(10 * r["tau"], 4 * 3600.0)
    axis = np.geomspace(max(r["step"], 1.0, r["delta"] / 50), hi, 60)
    return axis, M.goodput_fraction(axis, r["delta"], r["mtbf"], r["restart"], r["lag"])


def _dataset(r) -> xr.Dataset:
    sc = r["sc"]
    ck = r["ck"]
    net = r["net"]
    axis, curve = _curve(r)
    st = r["stage"]
    tiers = list(r["tiers"])
    ds = xr.Dataset(
        {
            # storage wall
            "step_time": _v(r["step"], "s", "training step time read from /training/results"),
            "io_wait": _v(r["io_wait"], "s", "GPU waiting for data per step (storage wall)"),
            "effective_step_time": _v(r["eff_step"], "s", "step time with IO wait and checkpoint blocking"),
            "au": _v(r["dl"]["au"], "", "accelerator utilisation (MLPerf Storage definition)"),
            "min_storage_bandwidth": _v(min(r["dl"]["min_system_bandwidth"], 1e18) / 1e9, "GB / s",
                                        "smallest storage read rate keeping AU >= 90%"),
            "read_rate": _v(r["dl"]["bytes_per_step"] / max(r["eff_step"], 1e-12) / 1e9, "GB / s",
                            "mean training read rate"),
            # checkpoints and goodput
            "checkpoint_size": _v(r["size"] / 1e9, "GB"),
            "checkpoint_write_time": _v(ck["write"], "s", "time to make a checkpoint durable"),
            "checkpoint_restore_time": _v(ck["restore"], "s"),
            "checkpoint_blocking_time": _v(r["blocking"], "s", "training blocked per checkpoint"),
            "checkpoint_interval": _v(r["tau"], "s", "compute time between checkpoints"),
            "checkpoint_burst_rate": _v(r["size"] / ck["write"] / 1e9, "GB / s", "aggregate write rate of a checkpoint"),
            "checkpoint_stage_time": _v([ck["stages"][k] for k in CHECKPOINT_STAGES], "s",
                                        "one checkpoint's write time if each stage alone limited it", ("checkpoint_stage",)),
            # storage traffic on the fabric
            "checkpoint_network_time": _v(net["t_network"], "s", "checkpoint write limited by the storage network alone"),
            "checkpoint_storage_time": _v(r["size"] / r["sys_write"], "s", "checkpoint write limited by the storage system alone"),
            "checkpoint_network_bandwidth": _v(min(net["write_bw"], 1e18) / 1e9, "GB / s",
                                               "checkpoint write rate the storage network carries (max-min on the fabric)"),
            "network_read_bandwidth": _v(min(net["read_capacity"], 1e18) / 1e9, "GB / s",
                                         "read rate the storage network delivers to the job's nodes"),
            "read_delivered": _v(net["read_delivered"] / 1e9, "GB / s",
                                 "data-loader read rate delivered (demand, network and storage system)"),
            "burst_collective_share": _v(net["burst_share"], "", "share of the training collective's bandwidth a "
                                         "checkpoint burst takes (shared network; 0 on a separate one)"),
            "burst_step_slowdown": _v(net["burst_slowdown"], "", "relative rise of the training step during a burst"),
            "read_collective_share": _v(net["read_share"], "", "share of the collective's bandwidth the reads take"),
            "read_step_slowdown": _v(net["read_slowdown"], "", "relative rise of the training step from the reads"),
            "checkpoint_cost": _v(r["delta"], "s", "training time lost per checkpoint: blocking plus, on a shared "
                                  "network, the steps an asynchronous flush slows"),
            "storage_servers": _v(net["servers"], "", "hot-tier storage servers on the storage network"),
            "goodput": _v(r["goodput"], "", "useful share of wall-clock time"),
            "mtbf": _v(r["mtbf"] / 3600.0 if math.isfinite(r["mtbf"]) else 1e12, "h", "job mean time between failures"),
            "restart_time": _v(r["restart"], "s", "restart incl. the checkpoint restore"),
            "goodput_curve": _v(curve, "", "goodput against the checkpoint interval", ("interval_axis",)),
            # capacity
            "capacity_required_raw": _v([r["hot_raw"] / 1e15, r["cold_raw"] / 1e15], "PB", dims=("tier",)),
            "capacity_raw": _v([r["hot_avail"] / 1e15, r["cold_avail"] / 1e15], "PB", "installed raw capacity", ("tier",)),
            "capacity_usable": _v([r["hot_avail"] * r["usable"] / (1 + r["op"]) / 1e15, r["cold_avail"] * r["usable"] / 1e15],
                                  "PB", "usable after redundancy and over-provisioning", ("tier",)),
            "capacity_used": _v([r["hot_user"] / 1e15, r["cold_user"] / 1e15], "PB", "user data per tier", ("tier",)),
            "media": _v([r["hot_inst"]["media"], r["cold_inst"]["media"]], "", "drives installed", ("tier",)),
            "capacity_missing": _v(r["missing"] / 1e15, "PB", "raw capacity short of the plan (0 = fits)"),
            "store_full": _v(float(r["missing"] > 0), "", "1 when the plan does not fit"),
            "copies": _v(r["copies"], "", "stored copies of the data set and model"),
            "storage_power": _v((r["hot_inst"]["power"] + r["cold_inst"]["power"]) / 1e3, "kW", "storage servers and media"),
            "floor_area": _v(r["hot_inst"]["area"] + r["cold_inst"]["area"], "m ** 2", "storage racks incl. aisles"),
            "storage_racks": _v(r["hot_inst"]["racks"] + r["cold_inst"]["racks"], ""),
            # lifecycle
            "stage_bytes": _v([st[k][0] / 1e12 for k in STAGES], "TB", dims=("stage",)),
            "stage_io_size": _v([st[k][1] / 1e6 for k in STAGES], "MB", dims=("stage",)),
            "stage_metadata_ops": _v([st[k][3] for k in STAGES], "", dims=("stage",)),
            "stage_time": _v([st[k][4] for k in STAGES], "s", dims=("stage",)),
            "stage_bandwidth": _v([st[k][5] / 1e9 for k in STAGES], "GB / s", dims=("stage",)),
            "time_saved": _v(r["saved_time"], "s", "copy time a unified (converged) store avoids"),
            "capacity_saved": _v(r["saved_raw"] / 1e15, "PB", "raw capacity a unified store avoids"),
            "replication_lag": _v(r["replication_lag"], "s", "a checkpoint's replication to another site"),
            "remote_read_latency": _v(r["remote_latency"] * 1e3, "ms", "round trip to data at another site"),
            "replicated_bytes": _v(r["replicated"] / 1e12, "TB"),
            # system
            "system_read_bandwidth": _v(r["sys_read"] / 1e9, "GB / s"),
            "system_write_bandwidth": _v(r["sys_write"] / 1e9, "GB / s"),
            "node_storage_bandwidth": _v(r["node_bw"] / 1e9, "GB / s", "storage-network rate of one node"),
            # memory pool
            "memory_latency": _v([r["tiers"][k][0] * 1e9 for k in tiers], "ns", dims=("memory_tier",)),
            "memory_bandwidth": _v([r["tiers"][k][1] / 1e9 for k in tiers], "GB / s", dims=("memory_tier",)),
            "memory_per_node": _v([r["caps"][k] / 1e9 for k in tiers], "GB", "host-side memory per node", ("memory_tier",)),
            "offload_transfer_time": _v([r["offload"][k] for k in tiers], "s", "ZeRO-Offload traffic per step", ("memory_tier",)),
            "offload_fits": _v([float(r["fits"][k]) for k in tiers], "", "optimizer state + checkpoint snapshot fit", ("memory_tier",)),
            "stranded_recovered": _v(r["recovered"], "", "DRAM a pool saves against per-host provisioning"),
        },
        coords={"tier": list(TIERS), "stage": list(STAGES), "memory_tier": tiers, "checkpoint_stage": list(CHECKPOINT_STAGES),
                "interval_axis": ("interval_axis", axis, {"units": "s"}),
                "stage_pattern": ("stage", [st[k][2] for k in STAGES])},
        attrs={"scenario": sc.name, "architecture": str(sc.storage.architecture), "checkpoint_mode": r["mode"],
               "async_fallback": int(r["async_fallback"]), "write_limit": ck["write_limit"],
               "restore_limit": ck["restore_limit"], "wall_limit": r["dl"]["limit"], "data_workload": r["workload"],
               "unified_store": int(r["unified"]), "storage_network": net["network"]},
    )
    return ds


def evaluate(scenario, state) -> xr.Dataset:
    """The storage results of a scenario, reading training and fabric from the state tree."""
    sc = load_scenario(scenario)
    return _dataset(plan(sc, _tree_inputs(sc, state)))


# --------------------------------------------------------------------------------------------
# Public functions (a throw-away Twin supplies the other domains' numbers)


def storage(scenario, **overrides) -> xr.Dataset:
    """Every storage result of a scenario (the Dataset :func:`evaluate` stores), with overrides.

    Parameters
    ----------
    scenario : Scenario, preset name, path or dict
    **overrides
        checkpoint_mode ("sync" | "async"), interval [s], failure_rate [1/h], restart_time [s],
        failure_factor [1] (e.g. twin.energy.arrhenius_factor of the operating temperature),
        sharded (bool), days (job length of the lifecycle), workload ("llm" | "unet3d" | ...),
        storage_servers (int >= 1, storage server nodes on the storage network; default the hot
        tier's servers).
    """
    sc = load_scenario(scenario)
    return _dataset(plan(sc, inputs(sc), **overrides))


def goodput(scenario, *, interval=None, failure_rate=None, restart_time=None, failure_factor=1.0,
            checkpoint_mode=None) -> xr.Dataset:
    """Goodput of the scenario's training job once failures and checkpoints are counted.

    Parameters
    ----------
    scenario : Scenario or preset name
    interval : Quantity, optional   checkpoint interval [s] (default: Young/Daly optimum)
    failure_rate : Quantity, optional  failures per card-hour [1/h] (default workload.failure_rate)
    restart_time : Quantity, optional  [min] (default workload.restart_time); the checkpoint
        restore time of :func:`checkpoint` is added
    failure_factor : float   multiplier of the failure rate (e.g. the Arrhenius factor
        ``twin.energy.arrhenius_factor`` of the operating temperature; 1 = as given)
    checkpoint_mode : "sync" | "async", optional (default storage.checkpoint_mode)

    Returns
    -------
    xarray.Dataset
        goodput [1], checkpoint_interval [s], checkpoint_size [GB], checkpoint_write_time [s],
        checkpoint_blocking_time [s], mtbf [h], restart_time [s], goodput_curve over
        interval_axis [s], step_time [s].

    Notes
    -----
    Job MTBF M = 1 / (lambda N f) (lambda per card-hour, N cards, f the failure factor). The
    checkpoint's blocking time delta is its whole write (synchronous) or the copy to host memory
    (asynchronous, the flush to storage then runs in the background and the newest checkpoint is
    durable a flush time later); the write is limited by the slowest of GPU -> host, NIC,
    network (max-min flows on the fabric, :func:`twin.storage.network.traffic_on_fabric`) and
    storage system (:func:`twin.storage.model.checkpoint_times`). On a shared (parameter) network an
    asynchronous flush slows the training beside it: delta = blocking + flush x step slowdown. tau* = Young/Daly;
    G(tau) = tau / (tau + delta) (1 - (R + lag + (tau + delta)/2) / M).

    References
    ----------
    J. W. Young, CACM 1974; J. T. Daly, FGCS 2006; checkpoint bytes per parameter: DLIO / MLPerf
    Storage (14 B: bf16 weights + fp32 master, momentum, variance).
    """
    ds = storage(scenario, interval=interval, failure_rate=failure_rate, restart_time=restart_time,
                 failure_factor=failure_factor, checkpoint_mode=checkpoint_mode)
    keep = ["goodput", "checkpoint_interval", "checkpoint_size", "checkpoint_write_time", "checkpoint_blocking_time",
            "checkpoint_restore_time", "mtbf", "restart_time", "goodput_curve", "step_time"]
    return ds[keep]


def checkpoint(scenario, **overrides) -> xr.Dataset:
    """Checkpoint size, write / restore / blocking time, interval and the stage that limits them.

    See :func:`twin.storage.model.checkpoint_times` for the model; ``overrides`` as :func:`storage`.
    """
    ds = storage(scenario, **overrides)
    return ds[["checkpoint_size", "checkpoint_write_time", "checkpoint_restore_time", "checkpoint_blocking_time",
               "checkpoint_interval", "checkpoint_burst_rate", "goodput"]]


def capacity(scenario) -> xr.Dataset:
    """Raw, usable, required and used capacity per tier, media, power and floor space."""
    ds = storage(scenario)
    return ds[["capacity_required_raw", "capacity_raw", "capacity_usable", "capacity_used", "media",
               "capacity_missing", "store_full", "copies", "storage_power", "floor_area", "storage_racks"]]


def lifecycle(scenario, days: float = 30.0) -> xr.Dataset:
    """The six stages of a training job's data (white paper 5.1) over a job of ``days``."""
    d = float(days)
    if not d > 0:
        raise InputError("days", days, "a positive job length in days", "is not positive")
    ds = storage(scenario, days=d)
    return ds[["stage_bytes", "stage_io_size", "stage_metadata_ops", "stage_time", "stage_bandwidth",
               "time_saved", "capacity_saved", "replication_lag", "remote_read_latency", "replicated_bytes", "copies"]]


def storage_wall(scenario, workload=None) -> xr.Dataset:
    """IO wait per step, AU, the mean read rate and the storage system that keeps AU >= 90%."""
    ds = storage(scenario, workload=workload)
    return ds[["step_time", "io_wait", "effective_step_time", "au", "min_storage_bandwidth", "read_rate",
               "system_read_bandwidth", "node_storage_bandwidth"]]


def storage_traffic(scenario, **overrides) -> xr.Dataset:
    """Checkpoint bursts and data-loader reads as flows on the parameter or a separate storage network.

    The storage flows are placed on the scenario's fabric (``storage.network = "parameter"``) or
    on a separate storage fabric and solved max-min (:func:`twin.storage.network.traffic_on_fabric`).
    ``overrides`` as :func:`storage` (e.g. ``storage_servers=1``).

    Returns
    -------
    xarray.Dataset
        checkpoint_write_time [s] = the slowest of checkpoint_stage_time [s] (GPU -> host, NIC,
        network, storage system) plus metadata; checkpoint_network_time and
        checkpoint_storage_time [s]; checkpoint_network_bandwidth, network_read_bandwidth,
        read_delivered [GB/s]; burst_collective_share, burst_step_slowdown,
        read_collective_share, read_step_slowdown [1]; checkpoint_cost [s]; goodput;
        effective_step_time [s]; storage_servers. Attrs: storage_network, write_limit.
    """
    ds = storage(scenario, **overrides)
    keep = ["checkpoint_write_time", "checkpoint_stage_time", "checkpoint_network_time", "checkpoint_storage_time",
            "checkpoint_network_bandwidth", "checkpoint_burst_rate", "network_read_bandwidth", "read_delivered",
            "burst_collective_share", "burst_step_slowdown", "read_collective_share", "read_step_slowdown",
            "checkpoint_cost", "goodput", "effective_step_time", "step_time", "storage_servers",
            "system_write_bandwidth", "system_read_bandwidth"]
    return ds[keep].assign_attrs(storage_network=ds.attrs["storage_network"], write_limit=ds.attrs["write_limit"])


def client_read_bandwidth(clients: int, nics_per_client: int, nic_speed, servers: int = 1, radix: int = 64):
    """Read rate [GB/s] the storage network delivers to ``clients`` nodes reading from ``servers``.

    Every client and server has ``nics_per_client`` ports at ``nic_speed`` on a non-blocking
    two-tier fat tree of ``radix`` (the separate storage network of :mod:`twin.storage.network`);
    the flows are solved max-min on the fabric and carry
    :data:`twin.storage.model.NETWORK_EFFICIENCY` of their line rate as payload.
    """
    from .network import read_capacity, storage_fabric_of

    n = int(clients)
    if n < 1:
        raise InputError("clients", clients, "an integer >= 1")
    k = int(servers)
    if k < 1:
        raise InputError("servers", servers, "an integer >= 1")
    fab = storage_fabric_of(n + k, nics_per_client, nic_speed, radix)
    per_node, *_ = read_capacity(fab, n, k)
    return Q_(float(per_node.sum()), "B/s").to("GB/s")


def memory_pool(scenario) -> xr.Dataset:
    """Memory tiers (local DDR, CXL-attached, switched CXL pool) and what the pool changes."""
    ds = storage(scenario)
    return ds[["memory_latency", "memory_bandwidth", "memory_per_node", "offload_transfer_time", "offload_fits",
               "stranded_recovered"]]


def simulate(scenario, days: float = 30.0, resolution="1 min", **overrides) -> xr.Dataset:
    """Minute-by-minute checkpoints, shard writes per node and hot -> cold tiering over a job.

    Returns hot_used and cold_used [PB] and write_rate [GB/s] over ``time`` [h], with the
    checkpoints started and done, mean and longest write [min], the first minute a tier is full
    (-1 if never) and the bytes tiered in attrs.
    """
    from . import _kernels as K

    sc = load_scenario(scenario)
    r = plan(sc, inputs(sc), days=days, **overrides)
    return _simulate(r, days, resolution)


def _simulate_args(r, days, resolution):
    d = float(days)
    if not d > 0:
        raise InputError("days", days, "a positive job length in days", "is not positive")
    dt = magnitude(as_quantity(resolution, "s", "resolution"), "s", "resolution")
    if not dt > 0:
        raise InputError("resolution", resolution, "a positive time step such as '1 min'", "is not positive")
    sc = r["sc"]
    n_min = int(round(d * 86400 / dt))
    nodes = int(sc.compute.nodes)
    every = max(1, int(round((r["tau"] + r["blocking"]) / dt)))
    keep = int(sc.storage.checkpoints_kept)
    cold_after = int(round(magnitude(sc.storage.cold_after, "s", "storage.cold_after") / dt))
    archive_every = max(1, int(round(86400.0 / dt)))
    hot_factor = r["overhead"] * (1 + r["op"])
    cold_factor = r["overhead"]
    hot_base = (r["D"] + r["W"]) * hot_factor
    cold_base = (0.0 if r["unified"] else (r["D"] + r["W"])) * cold_factor
    tier_bw = min(r["sys_read"], r["obj_write"])
    node_bw = np.full(nodes, r["node_bw"])
    demand = np.full(nodes, r["dl"]["bytes_per_step"] / max(r["step"] + r["io_wait"], 1e-12) / nodes)
    return (n_min, dt, r["size"] / nodes, node_bw, demand, r["sys_read"], r["sys_write"], every, keep, cold_after,
            archive_every, hot_factor, cold_factor, hot_base, cold_base, r["hot_avail"], r["cold_avail"], tier_bw)


def _simulate(r, days, resolution):
    from . import _kernels as K

    args = _simulate_args(r, days, resolution)
    n_min, nodes = args[0], args[3].shape[0]
    out = [np.empty(n_min) for _ in range(5)]
    summ = np.zeros(K.N_SUMMARY)
    K.lifecycle(*args, np.zeros(nodes), *out, summ)
    hot, cold, wrate, rrate, wait = out
    t = np.arange(n_min) * args[1] / 3600.0
    return xr.Dataset(
        {"hot_used": ("time", hot / 1e15, {"units": "PB"}), "cold_used": ("time", cold / 1e15, {"units": "PB"}),
         "write_rate": ("time", wrate / 1e9, {"units": "GB / s", "long_name": "checkpoint writes"}),
         "read_rate": ("time", rrate / 1e9, {"units": "GB / s", "long_name": "training reads"}),
         "wait_fraction": ("time", wait, {"units": "", "long_name": "share of time the nodes wait for data"})},
        coords={"time": ("time", t, {"units": "h"})},
        attrs={"checkpoints_started": int(summ[K.S_CKPT_STARTED]), "checkpoints_done": int(summ[K.S_CKPT_DONE]),
               "mean_write_minutes": float(summ[K.S_MEAN_WRITE_MIN]) * args[1] / 60.0,
               "max_write_minutes": float(summ[K.S_MAX_WRITE_MIN]) * args[1] / 60.0,
               "full_minute": int(summ[K.S_FULL_MINUTE]), "tiered_TB": float(summ[K.S_BYTES_TIERED]) / 1e12,
               "written_TB": float(summ[K.S_BYTES_WRITTEN]) / 1e12, "overlapped": int(summ[K.S_OVERLAPPED]),
               "wait_seconds_per_node": float(summ[K.S_WAIT_SECONDS])})


# --------------------------------------------------------------------------------------------
# Standalone models used by the validation (no scenario)


def mlperf_throughput(workload: str, accelerator: str, accelerators: int, au: float):
    """Throughput [samples/s, MB/s] of N emulated accelerators at utilisation AU (MLPerf Storage).

    See :func:`twin.storage.model.mlperf_throughput`; ``accelerator`` is "h100" or "a100".
    """
    if workload not in M.WORKLOADS:
        raise InputError("workload", workload, ", ".join(M.WORKLOADS))
    if accelerator not in ("h100", "a100"):
        raise InputError("accelerator", accelerator, "'h100' or 'a100' (the MLPerf Storage v1.0 emulated accelerators)")
    n = int(accelerators)
    if n < 1:
        raise InputError("accelerators", accelerators, "an integer >= 1")
    if not 0 < float(au) <= 1:
        raise InputError("au", au, "a utilisation in (0, 1]")
    sps, bps = M.mlperf_throughput(workload, accelerator, n, float(au))
    return Q_(sps, "1/s"), Q_(bps, "B/s").to("MB/s")


def checkpoint_bytes(precision: str = "bf16", optimizer: str = "adam") -> "Q_":
    """Checkpoint bytes per parameter [B] by weight precision and optimizer (bf16 + Adam: 14 B).

    See :func:`twin.storage.model.checkpoint_bytes_per_parameter`; the scenario field
    ``storage.checkpoint_bytes_per_parameter`` takes the number.
    """
    if precision not in M.WEIGHT_BYTES:
        raise InputError("precision", precision, ", ".join(M.WEIGHT_BYTES))
    if optimizer not in M.OPTIMIZER_MOMENTS:
        raise InputError("optimizer", optimizer, ", ".join(M.OPTIMIZER_MOMENTS))
    return Q_(M.checkpoint_bytes_per_parameter(precision, optimizer), "B")


def read_bandwidth(servers: int, nics_per_server: int, nic_speed, media_per_server: int = 0,
                   media_read=None):
    """Aggregate read bandwidth [GB/s] of a storage cluster: min(NICs x rate x efficiency, media).

    Notes
    -----
    B = min(n k r eta, n d b_d) with n servers of k NICs at line rate r, eta the RDMA
    efficiency (:data:`twin.storage.model.NETWORK_EFFICIENCY`), d drives of read rate b_d each.
    """
    n, k = int(servers), int(nics_per_server)
    if n < 1:
        raise InputError("servers", servers, "an integer >= 1")
    if k < 1:
        raise InputError("nics_per_server", nics_per_server, "an integer >= 1")
    r = magnitude(nic_speed, "B/s", "nic_speed")
    net = n * k * r * M.NETWORK_EFFICIENCY
    if media_per_server and media_read is not None:
        net = min(net, n * int(media_per_server) * magnitude(media_read, "B/s", "media_read"))
    return Q_(net, "B/s").to("GB/s")


__all__ = ["NEEDS", "HEADLINES", "evaluate", "storage", "goodput", "checkpoint", "capacity", "lifecycle", "storage_wall",
           "memory_pool", "storage_traffic", "client_read_bandwidth", "simulate", "inputs", "plan", "mlperf_throughput", "read_bandwidth", "checkpoint_bytes", "TIERS", "STAGES",
           "MEMORY_TIERS"]
