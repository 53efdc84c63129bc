"""Hardware and communication inputs of the training model, taken from a Scenario.

Efficiency model (per operation, see :func:`twin.training.estimate`)
---------------------------------------------------------------------
A matrix multiply of F FLOPs whose narrowest per-card dimension is n runs at

    t = F / (peak * eta(n)),   eta(n) = ETA_MAX * n / (n + N_HALF)

(a saturating fit of cuBLAS efficiency against GEMM width: narrow GEMMs, e.g. attention's
head dimension or h/t at large tensor parallelism, under-fill the tensor cores). Memory-bound
element-wise work (LayerNorm, GeLU, dropout, softmax, residuals) moves C_MEM times the
layer's activation bytes (Korthikanti et al.) through HBM at ETA_MEM of its bandwidth, and each
layer pays KERNELS_PER_LAYER launches of T_LAUNCH.

Calibration: ETA_MAX and N_HALF are the only fitted constants; they were fitted by
:func:`twin.training.calibration.fit` to exactly two published configurations, the SC'21
Table 1 rows ``megatron-sc21-1.7b`` and ``megatron-sc21-1t`` (validation cases marked
``calibrated = true``); every other row and paper is a prediction. ETA_MEM, C_MEM, T_LAUNCH
and the link efficiencies are fixed from the literature below, not fitted.

Per-architecture operator model (white paper ch. 4, :mod:`twin.compute`)
-------------------------------------------------------------------------
The compute domain publishes, per accelerator and precision, the measured largest-GEMM ceiling
(``gemm_efficiency``), how much wider GEMMs must be to fill the chip's waves (``gemm_width_scale``
= sqrt(U Tm Tn) over the A100's) and the memory-bound rate (``memory_efficiency``). ETA_MAX,
N_HALF and ETA_MEM above hold for the chip they were fitted on (A100 SXM, BF16); another chip or
precision runs at

    eta_max = ETA_MAX e / e_A100,   n_half = N_HALF w,   eta_mem = ETA_MEM m / m_A100

with the peak at ``compute.precision`` (x2 for 2:4 sparsity, whose achieved gain is folded into
e). So the A100 rows are unchanged and H100, MI300X, ... get their own measured curves. Chips
without published operator data get the A100 values: the old single curve, labelled
``operator_fallback`` by the compute domain. The parameters are read from ``/compute/results``
when a state holding them is passed, else from :func:`twin.compute.training_parameters` (the same
function the compute domain publishes).

FP8 training (``compute.precision = "fp8"``, Transformer Engine with delayed scaling)
------------------------------------------------------------------------------------
Only the layer GEMMs (QKV, attention output, MLP) run at the FP8 peak and the compute domain's
FP8 training GEMM ceiling; the attention core and the logits keep the BF16 peak and ceiling
(``peak_rate_16bit``, ``gemm_efficiency_16bit``). Every FP8 GEMM operand is cast with a fused
cast-transpose that moves ``fp8_cast_bytes`` per element through HBM (read bf16, write fp8 and its
transpose): the GEMM inputs in the forward pass, the output gradients in the backward pass, and the
weights once per step (every micro-batch under ZeRO-3, whose gathered weights are freed), each at
ETA_MEM of the HBM bandwidth, plus FP8_CAST_KERNELS launches per layer. The fp8 weight copies and
transposes (2 B per layer parameter) add to the weights' memory; the GEMM inputs saved for the
backward pass are kept in fp8 (1 B instead of 2 B per element). Master weights, gradients, optimizer
state and communication stay as in BF16 training.
"""
from __future__ import annotations

import numpy as np

from .. import catalog
from ..units import Q_, magnitude
from . import _kernels as K

#: fitted on megatron-sc21-1.7b and megatron-sc21-1t (twin.training.calibration.fit) with
#: twin.interconnect.collective_time providing the communication times (the alpha-beta fallback
#: alone gives 0.7205 / 16.56; re-run fit() when the interconnect model changes)
ETA_MAX = 0.7161
N_HALF = 12.74
#: fraction of HBM bandwidth element-wise kernels reach (STREAM-like copies on A100/H100 reach
#: 80-90 % of the datasheet bandwidth; Jia et al., "Dissecting the Ampere GPU architecture", 2021)
ETA_MEM = 0.8
#: HBM traffic of element-wise work per stored activation byte (written once, read once)
C_MEM = 2.0
#: kernel launch / framework overhead per kernel and kernels per layer forward (order of
#: magnitude of PyTorch eager launch cost, ~4 us, times ~20 kernels in a Megatron layer)
T_LAUNCH = 4e-6
KERNELS_PER_LAYER = 20
#: FP8 training adds a cast-transpose kernel per FP8 GEMM input (4 per layer forward: QKV, attention
#: output, MLP up and down inputs; as many output-gradient casts in the backward pass)
FP8_CAST_KERNELS = 4
#: memory not available to the model: CUDA context, NCCL buffers, allocator fragmentation
RESERVE_BYTES = 3e9


def peak_rate(acc) -> float:
    """Dense 16-bit tensor peak [FLOP/s]: BF16, or FP16 where the card has no BF16, else FP32."""
    for precision in ("bf16", "fp32"):
        v = magnitude(catalog.peak_rate(acc, precision), "FLOP/s", f"accelerators.{acc.name}.peak_{precision}")
        if v > 0:
            return v
    return 0.0


#: precisions a training run can use (the integer formats are inference-only)
TRAINING_PRECISIONS = ("fp32", "tf32", "bf16", "fp16", "fp8")


def operator_parameters(sc, state=None) -> dict:
    """The compute domain's operator-model parameters for the scenario's accelerator and precision.

    Read from ``/compute/results`` of ``state`` when it holds them (a Twin run), else from
    :func:`twin.compute.training_parameters`. Returns peak [FLOP/s], gemm_efficiency, width_scale,
    memory_efficiency, the A100 reference efficiencies and fallback (1 = no published data).
    """
    from ..errors import InputError

    prec = str(getattr(sc.compute, "precision", "bf16"))
    if prec not in TRAINING_PRECISIONS:
        raise InputError("compute.precision", prec, "a training precision: " + ", ".join(TRAINING_PRECISIONS),
                         "is an inference-only integer format")
    if state is not None and "compute" in state.children and "results" in state["compute"].children:
        from .. import tree

        return {"peak": tree.value(state, "compute", "peak_rate", "FLOP/s"),
                "gemm_efficiency": tree.value(state, "compute", "gemm_efficiency"),
                "width_scale": tree.value(state, "compute", "gemm_width_scale"),
                "memory_efficiency": tree.value(state, "compute", "memory_efficiency"),
                "reference_gemm_efficiency": tree.value(state, "compute", "reference_gemm_efficiency"),
                "reference_memory_efficiency": tree.value(state, "compute", "reference_memory_efficiency"),
                "peak_16bit": tree.value(state, "compute", "peak_rate_16bit", "FLOP/s"),
                "gemm_efficiency_16bit": tree.value(state, "compute", "gemm_efficiency_16bit"),
                "fp8_cast_bytes": tree.value(state, "compute", "fp8_cast_bytes", "B"),
                "fallback": tree.value(state, "compute", "operator_fallback")}
    from ..compute import training_parameters

    return training_parameters(sc.compute.accelerator, prec, sparse=bool(getattr(sc.compute, "sparsity", False)))


def hardware_vector(sc, clock_factor: float = 1.0, state=None) -> np.ndarray:
    """The float64 vector the kernels read (indices HW_* in :mod:`._kernels`); the peak and the
    efficiency curve come from the compute domain's operator model (:func:`operator_parameters`)."""
    acc = catalog.accelerator(sc.compute.accelerator)
    op = operator_parameters(sc, state)
    hw = np.zeros(K.HW_SIZE)
    hw[K.HW_PEAK] = op["peak"]
    hw[K.HW_HBM_BW] = magnitude(acc.hbm_bandwidth, "B/s", "hbm_bandwidth")
    hw[K.HW_HBM_CAP] = magnitude(acc.hbm_capacity, "B", "hbm_capacity")
    hw[K.HW_DOMAIN] = sc.compute.domain_size
    hw[K.HW_CPN] = sc.compute.cards_per_node
    hw[K.HW_N] = sc.cards
    hw[K.HW_ETA_MAX] = ETA_MAX * op["gemm_efficiency"] / op["reference_gemm_efficiency"]
    hw[K.HW_N_HALF] = N_HALF * op["width_scale"]
    hw[K.HW_ETA_MEM] = ETA_MEM * op["memory_efficiency"] / op["reference_memory_efficiency"]
    hw[K.HW_C_MEM] = C_MEM
    hw[K.HW_T_LAUNCH] = T_LAUNCH
    hw[K.HW_KERNELS] = KERNELS_PER_LAYER
    hw[K.HW_RESERVE] = RESERVE_BYTES
    hw[K.HW_CLOCK] = clock_factor
    if op["fp8_cast_bytes"] > 0:  # FP8 training: layer GEMMs in FP8, the rest 16-bit, casts through HBM
        hw[K.HW_FP8] = 1.0
        hw[K.HW_PEAK16] = op["peak_16bit"]
        hw[K.HW_ETA16] = ETA_MAX * op["gemm_efficiency_16bit"] / op["reference_gemm_efficiency"]
        hw[K.HW_CAST_B] = op["fp8_cast_bytes"]
        hw[K.HW_KERNELS] = KERNELS_PER_LAYER + FP8_CAST_KERNELS
    return hw


# --- communication ---------------------------------------------------------------------------

def _ic_time(sc, coll: str, size, group: int, stride: int, state=None):
    """twin.interconnect.collective_time [s] for a size or an array of sizes [B] (plain floats);
    the inter-node hop is read from ``state`` (a throw-away fabric state when None)."""
    import twin.interconnect as ic

    q = ic.collective_time(sc, _COLLECTIVE[coll], Q_(size, "B"), group, stride=stride, state=state)
    mag = q.to("s").magnitude
    return float(mag) if np.ndim(mag) == 0 else np.asarray(mag, dtype=float)


#: the kernels' collective keys and the interconnect's names for them
_COLLECTIVE = {"all_reduce": "all-reduce", "all_to_all": "all-to-all", "send_recv": "send-recv"}


def canonical_stride(sc, group: int, stride: int) -> int:
    """A stride giving the same collective time: members ``stride >= max(domain_size, cards_per_node)``
    apart each sit in a domain and a node of their own, so every such stride is equivalent."""
    far = max(int(sc.compute.domain_size), int(sc.compute.cards_per_node))
    return far if stride >= far and group * far <= sc.cards else stride


def alpha_beta(sc, coll: str, group: int, stride: int, state=None) -> tuple[float, float]:
    """Affine fit t = alpha + beta S of a collective [s, s/B] from two message sizes (1 MB, 256 MB)
    of twin.interconnect.collective_time (one call for both sizes)."""
    if coll != "send_recv" and group <= 1:
        return 0.0, 0.0
    s1, s2 = 1e6, 256e6
    t1, t2 = (float(x) for x in _ic_time(sc, coll, np.array([s1, s2]), group, stride, state))
    beta = max((t2 - t1) / (s2 - s1), 0.0)
    return max(t1 - beta * s1, 0.0), beta


def comm_tables(sc, tps, dps, eps, usable_tp=None, state=None):
    """alpha/beta tables for every tp (TP all-reduce), (tp, dp) (DP all-reduce, PP send/recv)
    and (tp, ep) (EP all-to-all), with Megatron's rank order (tp fastest, then dp, then pp).

    ``usable_tp`` (optional set): rows of other tp values are left at zero because the kernel
    rejects those plans before it reads the tables (tp beyond the domain or not dividing the heads)."""
    skey = _scenario_key(sc)
    usable = None if usable_tp is None else frozenset(int(t) for t in usable_tp)
    key = (skey, tuple(int(x) for x in tps), tuple(int(x) for x in dps), tuple(int(x) for x in eps), usable)
    hit = _TABLE_CACHE.get(key)
    if hit is not None:
        return hit
    cache = _AB_CACHE.setdefault(skey, {})
    if len(_AB_CACHE) > 32:
        _AB_CACHE.clear()
        cache = _AB_CACHE.setdefault(skey, {})

    def ab(coll, g, st):
        k = (coll, int(g), canonical_stride(sc, int(g), int(st)))
        if k not in cache:
            cache[k] = alpha_beta(sc, coll, k[1], k[2], state)
        return cache[k]

    tp_ab = np.zeros((len(tps), 2))
    dp_ab = np.zeros((len(tps), len(dps), 2))
    pp_ab = np.zeros((len(tps), len(dps), 2))
    ep_ab = np.zeros((len(tps), len(eps), 2))
    n_cards = sc.cards
    for i, tp in enumerate(tps):
        if usable is not None and int(tp) not in usable:
            continue
        tp_ab[i] = ab("all_reduce", tp, 1)
        for j, dp in enumerate(dps):
            if tp * dp > n_cards:
                continue
            dp_ab[i, j] = ab("all_reduce", dp, tp)
            pp_ab[i, j] = ab("send_recv", 2, min(tp * dp, n_cards - 1) if n_cards > 1 else 1)
        for e, ep in enumerate(eps):
            ep_ab[i, e] = ab("all_to_all", ep, tp)
    res = (tp_ab, dp_ab, pp_ab, ep_ab)
    if len(_TABLE_CACHE) > 64:
        _TABLE_CACHE.clear()
    _TABLE_CACHE[key] = res
    return res


def _scenario_key(sc) -> str:
    """Content key of a scenario's compute and fabric (what the collectives depend on)."""
    return repr((sc.compute, sc.fabric, sc.cards))


_TABLE_CACHE: dict = {}
_AB_CACHE: dict = {}
