"""Per-architecture operator model: roofline, GEMMs by shape, attention, memory-bound operators.

GEMM model (per accelerator and precision)
------------------------------------------
A GEMM (m x k) @ (k x n) is cut into output tiles Tm x Tn that the U compute units (SMs, CUs)
run in waves; a partly filled last wave and padded edge tiles cost as much as full ones (tile
and wave quantisation), and each tile's K loop pays a prologue/epilogue of about one K block:

    t = max(2 W U Tm Tn k (1 + k_half / k) / (f P eta),  (m k b_in + k n b_w + m n b_out) / (B eta_mem)) + t_min
    W = ceil(ceil(m / Tm) ceil(n / Tn) / U), minimised over the full tile (f = 1) and the tile
    halved along M or N, or split-K of the full tile when it leaves units idle
    (f = 0.9: half the operand reuse or the partial-sum reduction; assumption)

P is the dense peak at the precision (catalog), B the HBM bandwidth. ``eta`` is the one
per-architecture constant: it is solved so that the model reproduces the measured largest-GEMM
ceiling (``gemm_efficiency`` at ``gemm_best_shape``, catalog, from S. Bekman's MAMF table; FP8
GEMMs reach ``fp8_efficiency_ratio`` of that fraction, 1 where nothing is published: the cuBLASLt /
CUTLASS FP8 GEMMs Transformer Engine and current serving engines run, calibrated on one FP8 training
run; the 2023 FP8 kernels of TensorRT-LLM v0.5-0.6 reach ``fp8_efficiency_ratio_2023``, calibrated on
one of its first-token latencies, see :data:`FP8_KERNELS`); so the
MAMF cases of A100 SXM, H100 SXM and MI300X are calibrated and every other shape, card and
precision is a prediction. Chips without a measured ceiling use the A100 SXM values (the old
single curve, labelled ``fallback``).

Attention (FlashAttention-style) costs 4 T c h / t FLOPs at ``attention_efficiency`` of the peak
or its K/V bytes at the memory rate, whichever is slower; element-wise and norm operators are
memory-bound at ``memory_efficiency`` of the HBM bandwidth.

References
----------
S. Williams, A. Waterman, D. Patterson, "Roofline", CACM 52(4), 2009; NVIDIA, "Matrix
Multiplication Background User's Guide" (tile and wave quantisation), 2023; S. Bekman,
*Machine Learning Engineering*, "Maximum Achievable Matmul FLOPS" table (2024); T. Dao,
FlashAttention-2 (2023); J. Shah et al., FlashAttention-3 (2024).
"""
from __future__ import annotations

import math

import numpy as np

from .. import catalog
from ..errors import InputError
from ..units import magnitude
from . import _kernels as K

#: Tensor precisions the twin knows, with bytes per element.
PRECISIONS = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "int4")
BYTES = {"fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
#: Accelerator whose measurements stand in for chips without published operator data (the old
#: single efficiency curve of the training model was fitted on A100 rows).
FALLBACK_ACCELERATOR = "A100-SXM4-80GB"
#: K-loop prologue/epilogue of one tile, in K elements (about one 64-deep K block of a CUTLASS
#: main loop; assumption).
K_HALF = 64.0
#: Smallest time of one kernel [s]: launch from a CUDA graph plus ramp-up, about 2 us
#: (NVIDIA, "Getting Started with CUDA Graphs", 2019: launch overhead of a few microseconds).
T_MIN = 2e-6
#: 2:4 structured sparsity doubles the tensor rate nominally; measured GEMM speed-ups stay well
#: below 2x (Mishra et al., "Accelerating Sparse Deep Neural Networks", arXiv:2104.08378, 2021,
#: report 1.3-1.8x on A100 GEMMs); 1.5x is taken as the achieved factor.
SPARSE_SPEEDUP = 1.5
#: FP8 training: HBM bytes per element of a cast. Transformer Engine's delayed scaling casts each FP8
#: GEMM operand (forward inputs, backward output gradients, the weights) with a fused cast-transpose:
#: it reads the bf16 tensor once (2 B) and writes it in fp8 and its transpose in fp8 (1 B each; the
#: wgrad and dgrad GEMMs need the transposed operand), updating the amax history on the way
#: (NVIDIA Transformer Engine documentation, "FP8 primer" and the cast_transpose kernels;
#: Micikevicius et al., "FP8 Formats for Deep Learning", 2022).
FP8_CAST_BYTES = 4.0
#: FP8 GEMM kernel generations: "current" (cuBLASLt / CUTLASS FP8 GEMMs as Transformer Engine runs
#: them in training, 2023-, and serving engines since 2024: catalog ``fp8_efficiency_ratio``) and
#: "2023" (the FP8 path of TensorRT-LLM v0.5-0.6, whose H100 FP8 GEMMs reached 0.58 of the current
#: ratio: catalog ``fp8_efficiency_ratio_2023``).
FP8_KERNELS = ("current", "2023")


def check_precision(precision, field: str = "compute.precision") -> str:
    if not isinstance(precision, str) or precision.lower() not in PRECISIONS:
        raise InputError(field, precision, "one of " + ", ".join(PRECISIONS))
    return precision.lower()


def _acc(accelerator, field="compute.accelerator"):
    if hasattr(accelerator, "peak_fp32"):
        return accelerator
    return catalog.accelerator(accelerator, field)


def peak_rate(accelerator, precision: str = "bf16", *, sparse: bool = False) -> float:
    """Dense (or nominal 2:4-sparse) tensor peak [FLOP/s or OP/s] of a catalog accelerator.

    Raises
    ------
    InputError
        If the chip has no such precision (the message lists what it has), or no 2:4 sparsity.
    """
    acc = _acc(accelerator)
    p = check_precision(precision)
    v = 0.0
    key = f"peak_{p}"
    if key in acc:
        v = magnitude(acc[key], "FLOP/s", f"accelerators.{acc.name}.{key}")
    if v <= 0 and p == "bf16" and "peak_fp16" in acc:  # Volta: FP16 tensor cores only
        v = magnitude(acc["peak_fp16"], "FLOP/s", f"accelerators.{acc.name}.peak_fp16")
    if v <= 0:
        raise InputError("compute.precision", p, f"a precision {acc.name} has: " + ", ".join(precisions(acc)),
                         f"is not supported by {acc.name}")
    if sparse:
        if not bool(acc.get("sparsity_2to4", False)):
            raise InputError("compute.sparsity", True, f"dense only: {acc.name} has no 2:4 structured sparsity "
                             "in its catalog entry")
        v *= 2.0
    return float(v)


def precisions(accelerator) -> list[str]:
    """The precisions a catalog accelerator has a tensor (or FP32) peak for."""
    acc = _acc(accelerator)
    out = []
    for p in PRECISIONS:
        key = f"peak_{p}"
        if key in acc and float(acc[key].magnitude) > 0:
            out.append(p)
        elif p == "bf16" and "peak_fp16" in acc and float(acc["peak_fp16"].magnitude) > 0:
            out.append(p)
    return out


def arch_params(accelerator) -> dict:
    """Operator-model parameters of a chip: measured where the catalog has them, else the
    :data:`FALLBACK_ACCELERATOR` values with ``fallback = True``.

    Returns a dict with units, tile_m, tile_n, gemm_efficiency, best_shape, attention_efficiency,
    memory_efficiency, eta (the solved core efficiency), fallback, source.
    """
    acc = _acc(accelerator)
    own = "gemm_efficiency" in acc
    src = acc if own else catalog.accelerator(FALLBACK_ACCELERATOR)
    units = float(src.compute_units)
    tm, tn = float(src.gemm_tile_m), float(src.gemm_tile_n)
    e = float(src.gemm_efficiency)
    att = float(src.get("attention_efficiency", e * 0.72 / 0.859))
    mem = float(src.get("memory_efficiency", 0.9))
    m, n, k = (float(x) for x in src.gemm_best_shape)
    # eta such that the model's compute time at the best shape equals 2 m n k / (P e)
    probe = np.zeros(K.AP_SIZE)
    probe[K.AP_UNITS], probe[K.AP_TM], probe[K.AP_TN] = units, tm, tn
    probe[K.AP_KHALF] = K_HALF
    eta = e * K.padded_work(m, n, k, probe) / (2.0 * m * n * k)
    fp8 = float(src.get("fp8_efficiency_ratio", 1.0))
    return {"units": units, "tile_m": tm, "tile_n": tn, "gemm_efficiency": e, "best_shape": (m, n, k), "fp8_ratio": fp8,
            "fp8_ratio_2023": float(src.get("fp8_efficiency_ratio_2023", fp8)),
            "attention_efficiency": att, "memory_efficiency": mem, "eta": eta, "fallback": not own,
            "source": str(src.get("operator_source", src.source)) if own else
            f"fallback: no published operator measurements for {acc.name}; {FALLBACK_ACCELERATOR} values "
            f"({src.get('operator_source', '')}) applied to its own peak and bandwidth"}


def hbm_bandwidth(accelerator) -> float:
    acc = _acc(accelerator)
    return magnitude(acc.hbm_bandwidth, "B/s", f"accelerators.{acc.name}.hbm_bandwidth")


def check_fp8_kernels(fp8_kernels, field: str = "fp8_kernels") -> str:
    if fp8_kernels not in FP8_KERNELS:
        raise InputError(field, fp8_kernels, "one of " + ", ".join(FP8_KERNELS), "is not an FP8 kernel generation")
    return fp8_kernels


def arch_vector(accelerator, precision: str = "bf16", *, sparse: bool = False, weight_bytes: float | None = None,
                act_bytes: float | None = None, fp8_kernels: str = "current") -> np.ndarray:
    """The float64 vector the GEMM kernel reads (indices ``AP_*`` of :mod:`twin.compute._kernels`).

    ``weight_bytes`` overrides the bytes per weight element (weight-only quantisation, e.g. INT4
    weights with BF16 compute); ``act_bytes`` those of the activations; ``fp8_kernels`` the FP8
    GEMM generation (:data:`FP8_KERNELS`).
    """
    acc = _acc(accelerator)
    p = check_precision(precision)
    a = arch_params(acc)
    fp8 = a["fp8_ratio_2023"] if check_fp8_kernels(fp8_kernels) == "2023" else a["fp8_ratio"]
    ap = np.zeros(K.AP_SIZE)
    ap[K.AP_PEAK] = peak_rate(acc, p, sparse=sparse)
    ap[K.AP_BW] = hbm_bandwidth(acc) * a["memory_efficiency"]
    ap[K.AP_ETA] = a["eta"] * (SPARSE_SPEEDUP / 2.0 if sparse else 1.0) * (fp8 if p == "fp8" else 1.0)
    ap[K.AP_UNITS] = a["units"]
    ap[K.AP_TM] = a["tile_m"]
    ap[K.AP_TN] = a["tile_n"]
    ap[K.AP_KHALF] = K_HALF
    ap[K.AP_TMIN] = T_MIN
    b = BYTES[p]
    ap[K.AP_BYTES_IN] = b if act_bytes is None else act_bytes
    ap[K.AP_BYTES_W] = (b if weight_bytes is None else weight_bytes) * (0.5625 if sparse else 1.0)  # 2:4 values + 2-bit indices
    ap[K.AP_BYTES_OUT] = max(b, 2.0) if p not in ("fp32", "tf32") else 4.0
    return ap


def _dims(m, n, k):
    out = []
    for name, v in (("m", m), ("n", n), ("k", k)):
        a = np.asarray(v, dtype=float)
        if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a < 1):
            raise InputError(f"gemm.{name}", v, "a GEMM dimension >= 1")
        out.append(a)
    return np.broadcast_arrays(*out)


def gemm_time(accelerator, m, n, k, precision: str = "bf16", *, sparse: bool = False):
    """Time of GEMMs (m x k) @ (k x n) [s] on one card (arrays broadcast).

    Notes
    -----
    See the module docstring: tile/wave quantisation, K-loop overhead, memory roofline, t_min.
    """
    from ..units import Q_

    mm, nn, kk = _dims(m, n, k)
    ap = arch_vector(accelerator, precision, sparse=sparse)
    shape = mm.shape
    out = np.empty(mm.size)
    K.gemm_times(np.ascontiguousarray(mm.ravel()), np.ascontiguousarray(nn.ravel()), np.ascontiguousarray(kk.ravel()),
                 ap, out)
    res = out.reshape(shape)
    return Q_(float(res) if res.ndim == 0 else res, "s")


def gemm_throughput(accelerator, m, n, k, precision: str = "bf16", *, sparse: bool = False):
    """Achieved rate 2 m n k / t [TFLOP/s] of GEMMs on one card (dense-equivalent FLOPs)."""
    from ..units import Q_

    t = gemm_time(accelerator, m, n, k, precision, sparse=sparse).to("s").magnitude
    mm, nn, kk = _dims(m, n, k)
    r = 2.0 * mm * nn * kk / t / 1e12
    return Q_(float(r) if np.ndim(r) == 0 else r, "TFLOP/s")


def roofline(accelerator, precision: str = "bf16", *, sparse: bool = False) -> dict:
    """Roofline of a chip at a precision: peak [FLOP/s], HBM bandwidth [B/s], ridge point
    I* = P / B [FLOP/B], and the attainable ceilings (peak x gemm_efficiency, B x memory_efficiency).

    Notes
    -----
    Attainable rate at arithmetic intensity I: min(P, I B) (Williams et al. 2009).
    """
    acc = _acc(accelerator)
    a = arch_params(acc)
    P = peak_rate(acc, precision, sparse=sparse)
    B = hbm_bandwidth(acc)
    return {"accelerator": acc.name, "precision": check_precision(precision), "peak": P, "bandwidth": B,
            "ridge": P / B, "peak_attained": P * a["gemm_efficiency"] * (SPARSE_SPEEDUP / 2 if sparse else 1.0)
            * (a["fp8_ratio"] if check_precision(precision) == "fp8" else 1.0),
            "bandwidth_attained": B * a["memory_efficiency"], "fallback": a["fallback"]}
