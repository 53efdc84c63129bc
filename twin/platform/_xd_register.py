"""Validation quantities and benchmarks of cross-domain training and compute-native pools (issue 12).

Imported by twin/platform/_register.py (the platform package's registration module).
"""
from __future__ import annotations

import numpy as np

from ..bench import Benchmark, max_rel_diff, register_benchmark
from ..validation import register_calibration, register_quantity


@register_quantity("crossdomain-communication-reduction", domain="platform", unit="")
def _comm_reduction(strategy: str = "diloco", local_steps: int = 500, compression: str = "none", ratio: float = 1.0,
                    baseline_bytes: float = 2.0):
    """Bytes a synchronous data-parallel run sends over the bytes the strategy sends, per step."""
    from .crossdomain import communication_reduction

    return communication_reduction(strategy, int(local_steps), compression, float(ratio), float(baseline_bytes))


@register_quantity("topk-compression-factor", domain="platform", unit="")
def _topk_factor(density: float = 0.001, value_bytes: float = 4.0, index_bytes: float = 4.0):
    """Dense gradient bytes over top-k bytes (values with their indices)."""
    from .crossdomain import topk_bytes_ratio

    return 1.0 / topk_bytes_ratio(density, value_bytes, index_bytes)


@register_quantity("wan-ring-allreduce-time", domain="platform", unit="s")
def _wan_allreduce(parameters: float = 1e9, bytes_per_value: float = 1.0, ranks: int = 4, bandwidth: str = "0.5 Gbit/s",
                   flows_per_link: int = 1, latency: str = "0 s"):
    """Ring all-reduce time of a model's values over a shared WAN link."""
    from ..units import Q_
    from .crossdomain import ring_allreduce_time

    return ring_allreduce_time(Q_(float(parameters) * float(bytes_per_value), "byte"), int(ranks), bandwidth,
                               latency=latency, flows_per_link=int(flows_per_link))


@register_quantity("pipeline-wan-step-time", domain="platform", unit="s")
def _pipeline_wan(layer_compute: str = "0.02 s", layers: int = 24, stages: int = 8, micro_batches: int = 128,
                  hidden: int = 2048, sequence: int = 2048, micro_batch: int = 1, bytes_per_value: float = 2.0,
                  parameters: float = 1.315e9, dp: int = 8, dp_bandwidth: str = "2 Gbit/s", dp_latency: str = "10 ms",
                  link_bandwidths=(1.0,) * 7, link_latencies=(10.0,) * 7):
    """Iteration time of a pipeline-parallel run whose stages sit behind WAN links (bandwidths in
    Gbit/s, latencies in ms, one per stage boundary), Megatron-LM's blocking 1F1B schedule, with
    each stage's data-parallel all-reduce after the flush."""
    from ..units import Q_, as_quantity
    from .crossdomain import pipeline_blocking_step_time, ring_allreduce_time

    c = as_quantity(layer_compute, "s", "layer_compute") * (int(layers) / int(stages))
    message = Q_(float(micro_batch) * int(sequence) * int(hidden) * float(bytes_per_value), "byte")
    t_dp = ring_allreduce_time(Q_(float(parameters) / int(stages) * float(bytes_per_value), "byte"), int(dp),
                               dp_bandwidth, latency=dp_latency)
    return pipeline_blocking_step_time(c, int(micro_batches), message, [Q_(float(b), "Gbit/s") for b in link_bandwidths],
                                       [Q_(float(v), "ms") for v in link_latencies], data_parallel=t_dp)


register_calibration("layer_compute of the pipeline-wan-step-time cases (DT-FM, V100, GPT-XL layer)", domain="platform",
                     cases=["dtfm-megatron-p8-case3-l24-b1024"],
                     description="forward + backward of one GPT-XL layer and micro-batch on a V100 (0.02267 s), solved from "
                                 "DT-FM case 3 (L24, B1024, 21.27 s); a case input, not a twin constant")


@register_quantity("fibre-latency-per-km", domain="platform", unit="us")
def _fibre(distance: str = "1000 km"):
    """One-way fibre propagation delay per km."""
    from ..units import as_quantity
    from .crossdomain import fibre_latency

    d = as_quantity(distance, "km", "distance")
    return (fibre_latency(d) / d.magnitude).to("us")


@register_quantity("erlang-c-wait-probability", domain="platform", unit="")
def _erlang(servers: int = 2, offered: float = 1.0):
    """Probability of waiting in an M/M/c queue (the compute-native pool's queue)."""
    from .native import erlang_c

    return erlang_c(int(servers), float(offered))


# ---------------------------------------------------------------------------------------------
# Benchmark


def _sweep_inputs(n_bw=50):
    # three site sets: 2, 3 and 4 sites
    rng = np.random.default_rng(0)
    t_c = np.array([20.0, 8.0, 2.0])
    arrays = dict(t_compute=t_c, t_intra=0.05 * t_c, overlap=2 / 3 * t_c, grad_bytes=np.array([3.5e11, 2e12, 2e10]),
                  act_bytes=np.array([4e10, 1e11, 1e9]), n_sites=np.array([2.0, 3.0, 4.0]), dp=np.array([16.0, 32.0, 64.0]),
                  latency=np.array([4e-3, 8e-3, 12e-3]), local_steps=np.array([100.0, 100.0, 500.0]),
                  stages=np.array([8.0, 16.0, 4.0]), micro_batches=np.array([96.0, 64.0, 32.0]))  # 4 stages on 4 sites
    bws = np.geomspace(1e8, 1e12, n_bw) * (1 + 0.01 * rng.random(n_bw))
    ratios = np.array([1.0, 0.5, 0.01, 0.01])
    costs = np.array([0.0, 0.02, 0.05, 0.04])
    return arrays, bws, ratios, costs


@register_benchmark("crossdomain-sweep", domain="platform", max_seconds=1.0,
                    goal="< 1 s: 3 site sets x 50 WAN bandwidths x 4 strategies x 4 compressions, numba kernel against the "
                         "vectorised NumPy reference in the same run")
def _bench_sweep(quick: bool) -> Benchmark:
    from . import _xd_kernels as K
    from . import _xd_reference as R

    a, bws, ratios, costs = _sweep_inputs(50)
    shape = (3, bws.size, 4, ratios.size)

    def run(mod):
        step = np.zeros(shape)
        wan = np.zeros(shape)
        mod.sweep(a["t_compute"], a["t_intra"], a["overlap"], a["grad_bytes"], a["act_bytes"], a["n_sites"], a["dp"], bws,
                  a["latency"], a["local_steps"], ratios, costs, a["stages"], a["micro_batches"], step, wan)
        return step

    def reference():
        return R.sweep_numpy(a["t_compute"], a["t_intra"], a["overlap"], a["grad_bytes"], a["act_bytes"], a["n_sites"],
                             a["dp"], bws, a["latency"], a["local_steps"], ratios, costs, a["stages"],
                             a["micro_batches"])

    run(K)  # compile outside the timing
    return Benchmark(size="3 site sets x 50 bandwidths x 4 strategies x 4 compressions = 2,400 step times",
                     fast=lambda: run(K), reference=reference, repeats=50 if not quick else 5,
                     reference_repeats=20 if not quick else 3, compare=lambda f, r: max_rel_diff(f, r), tolerance=1e-12,
                     metric="largest relative difference of the step times",
                     note="reference: the same equations vectorised in NumPy (twin/platform/_xd_reference.sweep_numpy; the "
                          "blocking pipeline vectorised over bandwidths and stages)")
