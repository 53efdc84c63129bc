"""Storage physics of the twin (white paper ch. 5) on plain floats in SI units.

Every function here takes and returns plain numbers (bytes, seconds, bytes per second); the
public functions of :mod:`twin.storage` attach units and read the scenario. Constants cite
their source; the two fitted ones say which validation case fixed them.
"""
from __future__ import annotations

import math

# --------------------------------------------------------------------------------------------
# Constants (sources in the comments; see also datasets/validation/storage.toml)

#: Achieved share of a PCIe link's theoretical rate for GPU <-> host copies [1]. Measured
#: cudaMemcpy on PCIe 5.0 x16 H100 nodes: D2H 46.8 GB/s and H2D 54.8 GB/s of 63 GB/s (AI @ Georgia
#: Tech / Voltage Park H100 benchmark, 2026: 0.74 and 0.87); the mean 0.8 is used both ways.
DMA_EFFICIENCY = 0.8

#: Achieved share of the storage servers' NIC line rate for large reads over RDMA [1].
#: Calibrated on one case (``3fs-aggregate-read``): DeepSeek 3FS reads 6.6 TiB/s from 180 nodes of
#: 2 x 200 Gbit/s InfiniBand (9.0 TB/s line rate), 0.806.
NETWORK_EFFICIENCY = 0.806

#: Fibre propagation delay [s/m]: group index 1.468 -> 4.9 us per km (published.md, platform).
FIBRE_DELAY = 4.9e-9

#: MLPerf Storage v1.0 (DLIO) workloads: sample bytes, samples per file, batch per accelerator,
#: reader threads, emulated compute time per batch [s] by accelerator, and the AU the rules
#: require. Source: mlcommons/storage_results_v1.0, DLIO configs workload/<name>_<acc>.yaml
#: (record_length, num_samples_per_file, batch_size, read_threads, computation_time) and the
#: MLPerf Storage v1.0 rules (AU >= 90%, cosmoflow >= 70%); published.md, storage.
WORKLOADS = {
    "unet3d": dict(sample=146_600_628.0, per_file=1, batch=7, threads=4,
                   compute={"h100": 0.323, "a100": 0.636}, au_min=0.90),
    "resnet50": dict(sample=114_660.07, per_file=1251, batch=400, threads=8,
                     compute={"h100": 0.224, "a100": 0.435}, au_min=0.90),
    "cosmoflow": dict(sample=2_828_486.0, per_file=1, batch=1, threads=4,
                      compute={"h100": 0.00350, "a100": 0.00551}, au_min=0.70),
}

#: Mean file of a tokenised LLM data set [B]: Megatron-LM indexed-dataset shards are written in
#: files of about 1 GB (assumption stated here; only the metadata-op count of the lifecycle uses it).
LLM_FILE_BYTES = 1e9

#: Media per storage server and server height [U]. NVMe: 24 drives in a 2U server (DDN AI400X2T,
#: "24x14TiB_nvme", MLPerf Storage v1.0 system name); HDD: 106 drives in a 4U JBOD (Seagate Exos
#: 4U106 enclosure datasheet); CXL DRAM: 16 modules in a 2U memory box (Samsung CMM-B, 2023).
MEDIA_PER_SERVER = {"nvme-ssd": (24, 2), "hdd": (106, 4), "cxl-dram": (16, 2)}

#: Power of one storage server without its media [W]: two 150 W CPUs (white paper ch. 7: host
#: CPUs 150-300 W) plus 100 W of NICs, fans and board (the twin's server power model's pcie_misc).
SERVER_BASE_POWER = 400.0

#: Rack units usable for storage servers in a 42U rack (2U for top-of-rack switches).
RACK_UNITS = 40

#: Floor area per air-cooled rack incl. aisles and cooling share [m^2] (twin.energy thermal
#: table, air: 2.8 m^2; storage racks are air-cooled).
RACK_AREA = 2.8

#: Stored bytes per parameter of the released model (bf16 weights).
MODEL_BYTES_PER_PARAMETER = 2.0


#: Bytes of training state per parameter by weight precision and optimizer: weights, plus an fp32
#: master copy when the weights are lower precision, plus the optimizer's fp32 moments (Adam: m
#: and v; SGD with momentum: one; none: weights only, a released model). bf16 + Adam = 2 + 4 + 8
#: = 14 B, DLIO / MLPerf Storage's checkpoint size (published.md); fp32 + Adam = 4 + 8 = 12 B
#: (Rajbhandari et al., ZeRO, SC'20: K = 12 optimizer bytes with mixed precision).
WEIGHT_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0}
OPTIMIZER_MOMENTS = {"adam": 2, "sgd-momentum": 1, "none": 0}


def checkpoint_bytes_per_parameter(precision: str = "bf16", optimizer: str = "adam") -> float:
    """Checkpoint bytes per parameter [B] for a weight precision and optimizer.

    Notes
    -----
    b = w + (4 if w < 4 and an optimizer is kept else 0) + 4 k, with w the weight bytes and k the
    optimizer's fp32 moments (Adam 2, SGD with momentum 1, none 0).
    """
    w = WEIGHT_BYTES[precision]
    k = OPTIMIZER_MOMENTS[optimizer]
    master = 4.0 if (w < 4.0 and k > 0) else 0.0
    return w + master + 4.0 * k


# --------------------------------------------------------------------------------------------
# Redundancy and SSD over-provisioning


def overprovisioning(write_amplification: float) -> float:
    """Spare fraction OP an SSD needs for a target write amplification [1].

    Notes
    -----
    Greedy garbage collection under uniform random writes gives WA = (1 + OP) / (2 OP)
    (Hu et al., SYSTOR 2009; Desnoyers, SYSTOR 2012), so OP = 1 / (2 WA - 1). WA = 1 (pure
    sequential, whole-block overwrites) is reported as OP = 1 by the same formula's limit of the
    greedy model; raw flash per usable byte is 1 + OP.
    """
    wa = float(write_amplification)
    return 1.0 / (2.0 * wa - 1.0)


def write_overhead(usable: float) -> float:
    """Back-end bytes written per user byte by replication or erasure coding: 1 / usable."""
    return 1.0 / usable


# --------------------------------------------------------------------------------------------
# GPU -> host -> NIC -> network -> storage: the checkpoint path


def checkpoint_times(size: float, nodes: int, cards_per_node: int, host_bw_card: float, node_net_bw: float,
                     net_aggregate: float, sys_write: float, sys_read: float, files: float,
                     metadata_rate: float, sharded: bool = True) -> dict:
    """Write and restore times of one checkpoint and the stage that limits them.

    Parameters
    ----------
    size : checkpoint bytes [B]; nodes, cards_per_node : the job's servers and cards
    host_bw_card : GPU <-> host copy rate of one card [B/s]
    node_net_bw : storage-network rate of one node [B/s]
    net_aggregate : rate of the storage traffic's path through the network [B/s]
    sys_write, sys_read : storage system write / read rate [B/s]
    files : files written per checkpoint; metadata_rate : metadata ops per second
    sharded : every node writes its own shard (True) or one node writes everything (False)

    Notes
    -----
    The stages are pipelined, so each transfer takes the time of its slowest stage:
    t = max(S_n / (c B_dma), S_n / B_nic, S / B_net, S / B_sys) + F / R_md with S_n = S / n the
    bytes one node moves (S when not sharded), c cards per node, F files and R_md the
    metadata rate. Restore reads the same path backwards at the system's read rate.
    """
    writers = nodes if sharded else 1
    per_node = size / writers
    t = {
        "gpu_to_host": per_node / (cards_per_node * host_bw_card),
        "nic": per_node / node_net_bw,
        "network": size / net_aggregate,
        "storage_system": size / sys_write,
    }
    r = {
        "gpu_to_host": t["gpu_to_host"],
        "nic": t["nic"],
        "network": t["network"],
        "storage_system": size / sys_read,
    }
    md = files / metadata_rate
    w_lim = max(t, key=t.get)
    r_lim = max(r, key=r.get)
    flush = max(t["nic"], t["network"], t["storage_system"]) + md
    return {"write": t[w_lim] + md, "restore": r[r_lim] + md, "snapshot": t["gpu_to_host"], "flush": flush,
            "write_limit": w_lim, "restore_limit": r_lim, "stages": t}


def young_daly_interval(overhead: float, mtbf: float) -> float:
    """Optimal compute time between checkpoints [s] (Daly 2006, higher-order Young).

    Notes
    -----
    tau = sqrt(2 delta M) [1 + sqrt(delta / (2M)) / 3 + delta / (18 M)] - delta for delta < 2M,
    else tau = M; Young's first-order form is tau = sqrt(2 delta M). delta is the time the
    training is blocked per checkpoint (the whole write when synchronous, the copy to host
    memory when asynchronous).

    References
    ----------
    J. W. Young, "A first order approximation to the optimum checkpoint interval", CACM 1974;
    J. T. Daly, "A higher order estimate of the optimum checkpoint interval for restart dumps", FGCS 2006.
    """
    d, M = float(overhead), float(mtbf)
    if M <= 0:
        return 0.0
    if d <= 0:
        return math.inf
    if d >= 2 * M:
        return M
    return math.sqrt(2 * d * M) * (1 + math.sqrt(d / (2 * M)) / 3 + d / (18 * M)) - d


def goodput_fraction(interval, overhead: float, mtbf: float, restart: float, lag: float = 0.0):
    """Share of wall-clock time spent on useful training [1].

    Notes
    -----
    G(tau) = tau / (tau + delta) x max(0, 1 - (R + lag + (tau + delta)/2) / M): blocking overhead
    delta per interval tau; per failure (mean time M) a restart R (incl. the checkpoint restore)
    plus on average half an interval of lost work, plus ``lag`` when the newest checkpoint is
    not yet durable (an asynchronous flush still running). First-order, valid for tau + delta << M.
    """
    import numpy as np

    tau = np.asarray(interval, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ck = tau / (tau + overhead)
        if mtbf > 0 and math.isfinite(mtbf):
            loss = np.clip(1.0 - (restart + lag + (tau + overhead) / 2.0) / mtbf, 0.0, 1.0)
        else:
            loss = 1.0
    g = ck * loss
    return float(g) if np.ndim(g) == 0 else g


# --------------------------------------------------------------------------------------------
# The storage wall: data loader against the storage system


def data_loader(sample: float, per_file: float, batch: float, compute: float, threads: int, readers: int,
                readers_per_node: float, node_net_bw: float, sys_read: float, metadata_rate: float,
                latency: float) -> dict:
    """IO time, GPU waiting time and accelerator utilisation of one training step.

    Parameters
    ----------
    sample : bytes per sample; per_file : samples per file; batch : samples per reader per step
    compute : compute time of a step [s]; threads : reader threads per reader
    readers : data-loading ranks (accelerators); readers_per_node : of them on one node
    node_net_bw : storage-network rate of one node [B/s]; sys_read : storage system read rate [B/s]
    metadata_rate : file opens per second of the file system; latency : per-read latency [s]

    Notes
    -----
    Per step a reader moves b s bytes and opens b / f files. Its share of bandwidth is
    B = min(B_sys / N, B_node / n) and of metadata R / N, so
    t_io = b s / B + (b / f) / (R / N) + b L / T (each of T threads waits L per read).
    Reads are prefetched during the step, so the GPU waits t_wait = max(0, t_io - t_c) and
    AU = t_c / (t_c + t_wait), as MLPerf Storage defines accelerator utilisation. The storage
    bandwidth that keeps AU >= 0.9 solves t_io = t_c / 0.9 for B_sys.

    References
    ----------
    MLPerf Storage v1.0 rules (AU); DLIO (Devarajan et al., CCGrid 2021) prefetching data loader.
    """
    bw = min(sys_read / readers, node_net_bw / readers_per_node)
    t_bytes = batch * sample / bw
    t_meta = (batch / per_file) / (metadata_rate / readers)
    t_lat = batch * latency / threads
    t_io = t_bytes + t_meta + t_lat
    wait = max(0.0, t_io - compute)
    au = compute / (compute + wait)
    budget = compute / 0.9 - t_meta - t_lat
    if budget > 0:
        need_bw = batch * sample / budget
        min_sys = need_bw * readers
        node_ok = node_net_bw / readers_per_node >= need_bw
    else:
        min_sys = math.inf
        node_ok = False
    limit = "none" if wait == 0 else max((("bandwidth", t_bytes), ("metadata", t_meta), ("latency", t_lat)),
                                         key=lambda kv: kv[1])[0]
    if limit == "bandwidth":
        limit = "storage system" if sys_read / readers <= node_net_bw / readers_per_node else "node network"
    return {"io_time": t_io, "io_wait": wait, "au": au, "throughput": readers * batch / (compute + wait),
            "bytes_per_step": readers * batch * sample, "min_system_bandwidth": min_sys,
            "node_network_sufficient": node_ok, "limit": limit, "reader_bandwidth": bw}


def mlperf_throughput(workload: str, accelerator: str, accelerators: int, au: float) -> tuple[float, float]:
    """Samples/s and bytes/s that N emulated accelerators pull at utilisation AU.

    Notes
    -----
    A step of an accelerator lasts t_c / AU (AU = t_c / (t_c + t_wait)), so N accelerators take
    N b AU / t_c samples per second of s bytes each.
    """
    w = WORKLOADS[workload]
    sps = accelerators * w["batch"] * au / w["compute"][accelerator]
    return sps, sps * w["sample"]


# --------------------------------------------------------------------------------------------
# Capacity and media


def media_plan(raw: float, capacity: float, medium: str, power: float) -> dict:
    """Drives, servers, racks, power [W] and floor area [m^2] holding ``raw`` bytes."""
    n = math.ceil(raw / capacity) if raw > 0 else 0
    per, height = MEDIA_PER_SERVER.get(medium, (24, 2))
    servers = math.ceil(n / per) if n else 0
    racks = math.ceil(servers * height / RACK_UNITS) if servers else 0
    return {"media": n, "servers": servers, "racks": racks, "power": n * power + servers * SERVER_BASE_POWER,
            "area": racks * RACK_AREA}


def fibre_latency(distance_m: float) -> float:
    """One-way fibre delay [s] over ``distance_m`` metres (4.9 us per km)."""
    return distance_m * FIBRE_DELAY
