"""Validation quantities and benchmarks of the storage domain (loaded by twin.registry)."""
from __future__ import annotations

import numpy as np

from ..bench import Benchmark, register_benchmark
from ..units import Q_
from ..validation import register_quantity


@register_quantity("storage-mlperf-throughput", domain="storage", unit="MiB/s")
def _mlperf(workload: str, accelerator: str, accelerators: int, au: float):
    """Data N emulated accelerators pull at the utilisation AU the run sustained (MLPerf Storage)."""
    from . import mlperf_throughput

    return mlperf_throughput(workload, accelerator, int(accelerators), float(au))[1]


@register_quantity("storage-read-bandwidth", domain="storage", unit="GB/s")
def _read_bw(servers: int, nics_per_server: int, nic_speed: str, media_per_server: int = 0, media_read: str = "0 GB/s"):
    """Aggregate read bandwidth of a storage cluster: min(NIC line rate x RDMA efficiency, media)."""
    from . import read_bandwidth

    return read_bandwidth(servers, nics_per_server, nic_speed, media_per_server, media_read if media_per_server else None)


@register_quantity("storage-client-read-bandwidth", domain="storage", unit="GB/s")
def _client_read_bw(clients: int, nics_per_client: int, nic_speed: str, servers: int = 1):
    """Read rate the storage network delivers to ``clients`` nodes: max-min flows on the fabric x RDMA efficiency."""
    from . import client_read_bandwidth

    return client_read_bandwidth(clients, nics_per_client, nic_speed, servers)


@register_quantity("storage-checkpoint-write-bandwidth", domain="storage", unit="GB/s")
def _ck_write(scenario: str):
    """Aggregate checkpoint write rate of a scenario's job (size / write time)."""
    from . import checkpoint

    ds = checkpoint(scenario, checkpoint_mode="sync")
    return Q_(float(ds["checkpoint_burst_rate"]), "GB/s")


@register_quantity("storage-checkpoint-size", domain="storage", unit="GB")
def _ck_size(model: str, bytes_per_parameter: float = 14.0):
    """Checkpoint size at 14 bytes per parameter (bf16 weights + fp32 master, momentum, variance)."""
    from ..training import parameter_count

    return Q_(float(bytes_per_parameter) * parameter_count(model).magnitude / 1e9, "GB")


@register_quantity("storage-cxl-latency-ratio", domain="storage", unit="")
def _cxl_ratio(expander: str = "cxl-memory-expander-256gb"):
    """Load latency of a CXL-attached expander over CPU-attached DDR5 (the twin's memory tiers)."""
    from .. import catalog
    from .pool import LOCAL_DDR_LATENCY

    e = catalog.get("storage_media", expander, "inputs.expander")
    return e.read_latency.to("s").magnitude / LOCAL_DDR_LATENCY


@register_quantity("storage-pool-dram-saving", domain="storage", unit="")
def _pool_saving(hosts: int):
    """DRAM a pool of N hosts saves against provisioning each host for its own peak."""
    from .pool import stranded_recovered

    return stranded_recovered(int(hosts))


# ---------------------------------------------------------------------------------------------
# Benchmark


def _bench_plan(nodes: int, days: float):
    """A 10,000-card job's storage plan (cluster-2023 scaled to ``nodes``), tree inputs from a Twin
    of the 16-node preset scaled: the step time and parameters do not change the kernel's work."""
    from ..scenario import load_scenario
    from . import inputs, plan

    sc = load_scenario("cluster-2023").with_overrides({"compute": {"nodes": nodes}, "workload": {"pp": 1, "ep": 1}})
    inp = inputs("cluster-2023")
    inp["dp"] = max(1, sc.cards // (inp["tp"] * inp["pp"]))
    return plan(sc, inp, days=days, checkpoint_mode="sync")


@register_benchmark("storage-lifecycle-30d", domain="storage",
                    goal="< 1 s and >= 10x over the NumPy reference: a 10,000-card job (1,250 nodes) over 30 days "
                         "at 1-minute resolution: per-node training reads and checkpoint shard writes sharing the "
                         "links and the storage system, hot -> cold tiering",
                    min_ratio=10.0, max_seconds=1.0)
def _bench_lifecycle(quick: bool) -> Benchmark:
    from ..bench import max_rel_diff
    from . import _kernels as K
    from . import _reference as R
    from . import _simulate_args

    nodes = 1250
    days = 2.0 if quick else 30.0
    ref_days = 0.5 if quick else 3.0
    r = _bench_plan(nodes, days)
    args = _simulate_args(r, days, "1 min")
    ref_args = _simulate_args(r, ref_days, "1 min")

    def run_kernel(a):
        n_min = a[0]
        out = [np.empty(n_min) for _ in range(5)]
        summ = np.zeros(K.N_SUMMARY)
        K.lifecycle(*a, np.zeros(nodes), *out, summ)
        return (*out, summ)

    def fast():
        return run_kernel(args)

    def fast_check():
        return run_kernel(ref_args)

    def reference():
        return R.lifecycle(*ref_args)

    def compare(a, b):
        return max(max_rel_diff(x, y, floor=1.0) for x, y in zip(a, b))

    return Benchmark(size=f"{nodes} nodes x {args[0]:,} minutes ({days:g} days), checkpoint every {args[7]} min",
                     fast=fast, reference=reference, repeats=5, reference_repeats=1,
                     reference_scale=args[0] / ref_args[0], compare=compare, tolerance=1e-9,
                     metric="largest relative difference of every output series and summary",
                     fast_check=fast_check,
                     note=f"numba minute loop vs NumPy vectorised over the nodes with one Python step per minute, "
                          f"run on {ref_days:g} days and scaled by {args[0] / ref_args[0]:g} (the work per minute "
                          f"does not depend on the day); compared with the kernel on the same {ref_days:g} days")


# ---------------------------------------------------------------------------------------------
# Calibrated constants and the cases they were fitted on

from ..validation import register_calibration  # noqa: E402

register_calibration("twin.storage.model.NETWORK_EFFICIENCY", domain="storage", cases=["3fs-aggregate-read"],
                     description="achieved share of the storage servers' NIC line rate (6.6 TiB/s over 180 x 2 x 200 Gbit/s)")
register_calibration("twin.storage.pool.DEMAND_CV", domain="storage", cases=["pond-pool16-dram-saving"],
                     description="spread of one host's memory demand in the pooling model (Pond: 7% at 16 sockets)")
