"""Validation quantities, calibrations and benchmarks of the compute domain (loaded by twin.registry)."""
from __future__ import annotations

import functools

import numpy as np

from ..bench import Benchmark, register_benchmark
from ..units import Q_
from ..validation import register_calibration, register_quantity


@register_quantity("gemm-throughput", domain="compute", unit="TFLOP/s")
def _gemm(accelerator: str, m: int, n: int, k: int, precision: str = "bf16"):
    """Achieved GEMM rate 2 m n k / t of the operator model on one card."""
    from .operators import gemm_throughput

    return gemm_throughput(accelerator, m, n, k, precision)


@functools.lru_cache(maxsize=16)
def _node_state(accelerator: str, topology: str):
    """A one-node twin state with the interconnect results (the TP all-reduces of serving)."""
    from ..core import Twin

    t = Twin({"name": f"{accelerator}-node", "compute": {"accelerator": accelerator, "topology": topology, "nodes": 1,
                                                         "cards_per_node": 8, "domain_size": 8}})
    t.run(["interconnect"])
    return t.state


def _serve(accelerator, model, batch, prompt, output, tp, weight_precision, topology, fp8_kernels="current"):
    from .. import catalog
    from . import _allreduce_from_state
    from .serving import geometry, serve

    acc = catalog.accelerator(accelerator)
    ar = _allreduce_from_state(_node_state(accelerator, topology)) if int(tp) > 1 else None
    return serve(acc, geometry(model, "inputs.model"), batch=batch, prompt=prompt, output=output, tp=tp,
                 quant=weight_precision, allreduce=ar, watts_per_card=float(acc.tdp.to("W").magnitude),
                 fp8_kernels=fp8_kernels)


@register_quantity("serving-throughput-per-card", domain="compute", unit="1/s")
def _thr(accelerator: str, model: str, batch: int, prompt: int, output: int, tp: int = 1,
         weight_precision: str = "bf16", topology: str = "nvswitch", fp8_kernels: str = "current"):
    """Output tokens/s per card of static-batch serving (prefill + every decode step)."""
    return Q_(_serve(accelerator, model, batch, prompt, output, tp, weight_precision, topology, fp8_kernels)["throughput_per_card"], "1/s")


@register_quantity("serving-replica-throughput", domain="compute", unit="1/s")
def _thr_replica(accelerator: str, model: str, batch: int, prompt: int, output: int, tp: int = 1,
                 weight_precision: str = "bf16", topology: str = "nvswitch", fp8_kernels: str = "current"):
    """Output tokens/s of one replica: batch x output / (prefill + all decode steps)."""
    r = _serve(accelerator, model, batch, prompt, output, tp, weight_precision, topology, fp8_kernels)
    return Q_(int(batch) * int(output) / r["latency"], "1/s")


@register_quantity("serving-node-throughput", domain="compute", unit="1/s")
def _thr_node(accelerator: str, model: str, prompt: int, output: int, tp: int = 1, weight_precision: str = "bf16",
              cards: int = 8, topology: str = "nvswitch", fp8_kernels: str = "current"):
    """Output tokens/s of ``cards`` cards (cards / tp replicas), each at the largest batch that fits."""
    mb = _serve(accelerator, model, 1, prompt, output, tp, weight_precision, topology, fp8_kernels)["max_batch"]
    r = _serve(accelerator, model, max(int(mb), 1), prompt, output, tp, weight_precision, topology, fp8_kernels)
    return Q_(r["throughput_per_card"] * int(cards), "1/s")


@register_quantity("serving-ttft", domain="compute", unit="ms")
def _ttft(accelerator: str, model: str, prompt: int, tp: int = 1, weight_precision: str = "bf16",
          topology: str = "nvswitch", fp8_kernels: str = "current"):
    """Time to first token of one request (batch 1): the prefill of the prompt."""
    return Q_(_serve(accelerator, model, 1, prompt, 1, tp, weight_precision, topology, fp8_kernels)["ttft"] * 1e3, "ms")


@register_quantity("cim-chip-power", domain="compute", unit="W")
def _cim_power(chip: str):
    """Power of a CIM chip at its peak from its published throughput and energy efficiency."""
    from .. import catalog

    c = catalog.get("cim", chip, "inputs.chip")
    return (c.peak / c.energy_efficiency).to("W")


@register_quantity("dpu-delivery-speedup", domain="compute", unit="")
def _dpu_delivery(dpu: str = "bluefield-3"):
    """Bare-metal delivery time without a DPU over the time with one (twin.compute.dpu)."""
    from .dpu import dpu_offload

    return dpu_offload("none")["delivery_time"] / dpu_offload(dpu)["delivery_time"]


register_calibration("twin.compute catalog gemm_efficiency (A100 SXM, H100 SXM, MI300X)", domain="compute",
                     cases=("mamf-a100-sxm-bf16", "mamf-h100-sxm-bf16", "mamf-mi300x-bf16"),
                     description="each chip's core GEMM efficiency eta is solved so the operator model reproduces its "
                                 "measured largest-GEMM ceiling at the measured shape (one constant per chip)")
register_calibration("twin.compute catalog fp8_efficiency_ratio_2023 (GH100)", domain="compute",
                     cases=("trtllm-h100-llama2-7b-ttft-2048",),
                     description="FP8 GEMM efficiency over the BF16 one of TensorRT-LLM v0.5-0.6's 2023 FP8 kernels "
                                 "on H100 (cases with inputs.fp8_kernels = '2023'), solved so the v0.5 first-token "
                                 "latency of Llama 2 7B at 2048 prompt tokens is reproduced")


# ---------------------------------------------------------------------------------------------
# Benchmarks


def _sweep_inputs(quick: bool):
    from .. import catalog
    from .operators import PRECISIONS, arch_vector, precisions

    rng = np.random.default_rng(0)
    n_shapes = 40 if quick else 200
    n = rng.choice([1024, 2048, 2560, 4096, 5120, 6144, 8192, 11008, 12288, 14336, 16384, 28672, 53248], n_shapes)
    k = rng.choice([1024, 2048, 4096, 5120, 8192, 12288, 16384], n_shapes)
    batches = np.arange(1, 513, dtype=float)
    wanted = ("fp32", "bf16", "fp8", "int8", "int4")
    aps = []
    for name in catalog.names("accelerators"):
        have = precisions(name)
        for p in wanted:  # a precision the chip lacks runs at its next wider one (as a library would)
            q = p if p in have else next(x for x in PRECISIONS[PRECISIONS.index(p):] + ("bf16", "fp32") if x in have)
            aps.append(arch_vector(name, q))
    return np.array(aps), n.astype(float), k.astype(float), batches


@register_benchmark("operator-model-sweep", domain="compute",
                    goal="< 1 s and >= 5x over the NumPy reference: every catalog accelerator x 5 precisions x 200 GEMM "
                         "shapes x decode batch sizes 1-512", min_ratio=5.0, max_seconds=1.0)
def _bench_sweep(quick: bool) -> Benchmark:
    from . import _kernels as K
    from . import _reference as R

    aps, n, k, batches = _sweep_inputs(quick)
    out = np.empty((aps.shape[0], batches.shape[0]))
    K.decode_sweep(aps[:1], n[:2], k[:2], batches[:2], out[:1, :2])  # compile outside the timing

    def fast():
        K.decode_sweep(aps, n, k, batches, out)
        return out

    def reference():
        return R.decode_sweep(aps, n, k, batches)

    from ..bench import max_rel_diff

    return Benchmark(compare=max_rel_diff, tolerance=1e-9, metric="max relative difference of the step times",
                     size=f"{aps.shape[0]} accelerator-precision pairs x {n.shape[0]} GEMM shapes x {batches.shape[0]} "
                          f"batch sizes = {aps.shape[0] * n.shape[0] * batches.shape[0]:,} GEMM times",
                     fast=fast, reference=reference, repeats=5, reference_repeats=1,
                     note="numba loop that recomputes the tile/wave-quantised compute term only when the M-tile counts "
                          "change vs NumPy broadcasting of the full formula over batch x shape per accelerator "
                          "(_reference.py)")
