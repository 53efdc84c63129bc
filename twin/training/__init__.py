"""Large-model training on the twin (white paper 3.1.1 and 6.3).

FLOPs, parameters and memory per card of a model under a parallel plan; step time from the
accelerator's peak with a per-operation efficiency model and communication from
:mod:`twin.interconnect` (alpha-beta fallback while absent); the 1F1B / interleaved pipeline
bubble; a search over every DP x TP x PP (x EP) x micro-batch plan. Checkpoints and goodput
belong to :mod:`twin.storage`.

Public functions: :func:`estimate`, :func:`search`, :func:`evaluate`,
:func:`parameter_count`, :func:`flops_per_iteration`, :func:`memory_per_card`,
:func:`get_model`, :func:`model_names`.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import InputError
from ..paths import read_headlines
from ..scenario import load_scenario
from ..units import Q_
from . import _kernels as K
from . import formulas as _f
from .hardware import comm_tables, hardware_vector
from .models import ModelSpec, get_model, model_names
from .plan import REASONS, Plan, check_clock_factor, resolve
from .search import search

COMPONENTS = ("compute", "tp_comm", "pp_comm", "bubble", "dp_comm", "ep_comm", "optimizer", "cp_comm", "offload")
MEMORY_PARTS = ("weights", "gradients", "optimizer", "activations", "other")
_O_COMP = (K.O_COMPUTE, K.O_TP, K.O_PP, K.O_BUBBLE, K.O_DP, K.O_EP, K.O_OPT, K.O_CP, K.O_OFFLOAD)
_O_MEM = (K.O_M_WEIGHTS, K.O_M_GRADS, K.O_M_OPT, K.O_M_ACT, K.O_M_OTHER)


def parameter_count(model) -> "Q_":
    """Parameters of a zoo model [1] (see :func:`twin.training.formulas.parameter_count`)."""
    return Q_(_f.parameter_count(get_model(model, "model")), "")


def flops_per_iteration(model, global_batch: int, recompute: str = "full") -> "Q_":
    """Hardware FLOPs of one iteration [FLOP]; ``full`` reproduces the SC'21 96 B s l h^2 (...) formula.

    Notes
    -----
    F = B (3 F_fwd + F_recompute), F_fwd = 2 s P_matmul + 4 s^2 h l + 2 s h V (Narayanan et al., SC'21).
    """
    if recompute not in _f.RECOMPUTE:
        raise InputError("recompute", recompute, "'none', 'selective' or 'full'")
    from .plan import _int

    return Q_(_f.flops_per_iteration(get_model(model, "model"), _int(global_batch, "global_batch"), recompute), "FLOP")


def _eval(sc, m: ModelSpec, p: Plan, clock_factor: float = 1.0, state=None):
    mc = _f.model_constants(m, p.global_batch, attention=p.attention, dp_overlap=p.dp_overlap,
                            uneven_pipeline=p.uneven_pipeline)
    from .offload import OFFLOAD_MODES, fill_offload
    from .search import cp_ring

    hw = fill_offload(sc, hardware_vector(sc, clock_factor, state), p.offload_tier)
    # the gradient reduction spans the dp x cp ranks (tp fastest, then cp, then dp, then pp)
    tp_ab, dp_ab, pp_ab, ep_ab = comm_tables(sc, [p.tp], [p.dp * p.cp], [p.ep], state=state)
    cpa, cpb = cp_ring(sc, p.tp, p.cp)
    out = np.zeros(K.N_OUT)
    code = K.evaluate_plan(mc, hw, p.tp, p.pp, p.dp, p.ep, p.micro_batch, p.virtual_stages,
                           _f.RECOMPUTE[p.recompute], p.zero_stage, int(p.sequence_parallel),
                           tp_ab[0, 0], tp_ab[0, 1], dp_ab[0, 0, 0], dp_ab[0, 0, 1],
                           pp_ab[0, 0, 0], pp_ab[0, 0, 1], ep_ab[0, 0, 0], ep_ab[0, 0, 1], out,
                           p.cp, OFFLOAD_MODES[p.offload], cpa, cpb)
    return code, out, hw


def estimate(scenario, *, model=None, clock_factor: float = 1.0, state=None, **plan) -> xr.Dataset:
    """Step time, MFU and memory of one training plan on a scenario.

    Parameters
    ----------
    scenario : Scenario, preset name, path or dict
    model : str, optional
        Zoo name (default ``scenario.workload.model``).
    clock_factor : float
        Multiplier of the accelerator's peak rate (power capping / thermal throttling) [1].
    state : xarray.DataTree, optional
        A twin state with ``/fabric/results`` (the collectives' inter-node hop is read from it);
        default: a throw-away Twin of the scenario (:func:`twin.interconnect.fabric_state`).
    **plan
        Overrides of ``scenario.workload``: tp, pp, dp (0 = all remaining cards), ep,
        micro_batch, global_batch, sequence_length, virtual_stages, recompute
        ("none" | "selective" | "full"), sequence_parallel, zero_stage (0-3), attention
        ("flash" | "unfused"), dp_overlap, uneven_pipeline (default False: pp x virtual_stages
        must divide the layers; True: stages of ceil(L / (pp v)) layers per chunk, the end stages
        lighter, as Llama 3 405B's 126 layers on pp = 16); cp (context parallelism: ring
        attention over cp ranks, cards = tp x cp x pp x dp, 2 cp must divide the sequence);
        offload ("none" | "optimizer" | "optimizer+activations", ZeRO-Offload style) and
        offload_tier ("host-ddr" | "cxl-pool"), see :mod:`twin.training.offload`.

    Returns
    -------
    xarray.Dataset
        step_time [s]; breakdown [s] over ``component`` (compute, tp_comm, pp_comm, bubble,
        dp_comm, ep_comm, optimizer, cp_comm (exposed ring-attention sends), offload (exposed
        transfers to the offload tier and the host-side optimizer step); they sum to step_time);
        offloaded_memory [GB] per card on the tier, offload_tier_bandwidth [GB/s] and
        offload_tier_capacity [GB] per card; achieved_tflops [TFLOP/s] per
        GPU counting recomputation as SC'21 does; mfu (model FLOPs, no recomputation, over
        peak); gpu_utilisation (compute share of the step); memory [GB] over ``memory_part``
        and memory_total, hbm_capacity [GB], fits; parameters, flops_per_iteration [FLOP],
        tokens_per_second [1/s]; the plan in attrs.

    Notes
    -----
    Per layer and micro-batch of b sequences on one card (t = tp): matrix multiplies
    t = F / (peak eta(n)), eta(n) = eta_max n / (n + n_half) with n the narrowest per-card
    GEMM dimension (h/t, f/t, head dimension for QK^T and AV); element-wise traffic
    C_MEM x activation bytes (Korthikanti et al.) at ETA_MEM x HBM bandwidth; backward =
    2 x forward; recomputation adds a forward (full) or the attention core (selective).
    TP: 4 all-reduces of 2 b s h bytes per layer (+2 with full recomputation), not overlapped.
    PP: 2 v sends of 2 b s h / t bytes per micro-batch (scatter-gather). EP: as TP with
    all-to-all of 2 b s k h bytes. Pipeline (Narayanan et al. 2021, eq. 1-2):
    T = (m + (p - 1)/v) t_mb with m = B / (dp b) micro-batches and v virtual stages; the
    bubble is (p - 1)/v t_mb. DP: all-reduce of 2 bytes per local parameter, exposed beyond
    the last backward when overlapped; ZeRO-3 adds parameter all-gathers before the forward and
    backward of every micro-batch ((0.5 + m) x the all-reduce volume). Optimizer: 36 B per local parameter through HBM.
    FP8 (``compute.precision = "fp8"``): layer GEMMs at the FP8 rate, attention core and logits at the
    BF16 rate, plus the cast-transpose traffic of every FP8 operand (inputs forward, output gradients
    backward, weights once per step or per micro-batch under ZeRO-3) at the HBM rate; fp8 weight
    copies in memory, GEMM inputs saved in fp8 (:mod:`twin.training.hardware`).
    Constants and calibration: :mod:`twin.training.hardware`.

    Communication times come from ``twin.interconnect.collective_time`` (affine fit over 1 MB and
    256 MB), whose inter-node hop uses ``twin.fabric.node_bandwidth`` with the scenario's load
    balancing and ``fabric.placement``: a scattered job on ECMP (cluster-2023) gets hash collisions
    in its DP all-reduce and EP all-to-all; spraying / GSE (superpool-2025) does not; the
    calibration preset is contiguous. Limitation: the fabric is loaded by one collective group's
    nodes only, not by every group of the layout at once, so collisions of a scattered job are
    underestimated, and a PP send/recv (a 2-node group) sees none.

    Pipeline split: by default pp x virtual_stages must divide the layers (Megatron's even split).
    With ``uneven_pipeline=True`` every model chunk holds c = ceil(L / (pp v)) layers and the
    D = pp v c - L missing layers come off the two end stages (the last gives floor(D/2), the
    first the rest), as Llama 3 405B's 126 layers on pp = 16 (one layer fewer on the first and the
    last stage; Llama Team, "The Llama 3 Herd of Models", 2024, parallelism section). The
    pipeline runs at the pace of its slowest stage, max(c v t_layer, l_last t_layer + t_logits);
    memory is that of the most loaded stage (first stage with pp micro-batches in flight, or a
    fuller middle stage with pp - 1).

    References
    ----------
    D. Narayanan et al., SC'21; V. Korthikanti et al., MLSys 2023; S. Rajbhandari et al., SC'20.
    """
    sc = load_scenario(scenario)
    clock_factor = check_clock_factor(clock_factor)
    m, p = resolve(sc, model, **plan)
    code, out, hw = _eval(sc, m, p, clock_factor, state)
    if code not in (K.OK, K.R_MEMORY, K.R_HOST):
        field, words = REASONS[code]
        if code == K.R_PP_LAYERS and p.virtual_stages > 1 and m.layers % p.pp == 0:
            field = "workload.virtual_stages"  # pp alone divides the layers: the chunking is at fault
        if code == K.R_PP_LAYERS:
            words = (f"{words} (or exceed them)" if p.uneven_pipeline
                     else f"{words}; uneven_pipeline=True allows an uneven split")
        val = getattr(p, field.split(".")[-1], None) if "." in field else None
        raise InputError(field, val, f"a plan the model {m.name} ({m.layers} layers, {m.heads} heads"
                         + (f", {m.experts} experts" if m.experts > 1 else "") + ") allows", words)
    return _dataset(sc, m, p, out, hw, code, clock_factor)


def _dataset(sc, m, p, out, hw, code, clock_factor):
    step = out[K.O_STEP]
    n = p.cards
    peak = hw[K.HW_PEAK]
    f_hw = _f.flops_per_iteration(m, p.global_batch, p.recompute if m.kind == "transformer" else "none")
    f_model = _f.model_flops_per_iteration(m, p.global_batch)
    achieved = f_hw / (step * n)
    comp = [out[i] for i in _O_COMP]
    mem = [out[i] / 1e9 for i in _O_MEM]
    tokens = p.global_batch * (p.sequence_length if m.kind == "transformer" else 1)
    ds = xr.Dataset(
        {
            "step_time": xr.DataArray(step, attrs={"units": "s", "long_name": "time of one training iteration"}),
            "breakdown": xr.DataArray(np.array(comp), dims="component", coords={"component": list(COMPONENTS)},
                                      attrs={"units": "s", "long_name": "step-time breakdown (sums to step_time)"}),
            "achieved_tflops": xr.DataArray(achieved / 1e12, attrs={"units": "TFLOP / s", "long_name": "achieved FLOP rate per GPU (recomputation counted, as SC'21)"}),
            "mfu": xr.DataArray(f_model / (step * n * peak), attrs={"units": "", "long_name": "model FLOPs utilisation"}),
            "hfu": xr.DataArray(f_hw / (step * n * peak), attrs={"units": "", "long_name": "hardware FLOPs utilisation"}),
            "gpu_utilisation": xr.DataArray(out[K.O_COMPUTE] / step, attrs={"units": "", "long_name": "share of the step the GPU computes"}),
            "memory": xr.DataArray(np.array(mem), dims="memory_part", coords={"memory_part": list(MEMORY_PARTS)},
                                   attrs={"units": "GB", "long_name": "memory per card (most loaded pipeline stage)"}),
            "memory_total": xr.DataArray(out[K.O_M_TOTAL] / 1e9, attrs={"units": "GB"}),
            "hbm_capacity": xr.DataArray(hw[K.HW_HBM_CAP] / 1e9, attrs={"units": "GB"}),
            "fits": xr.DataArray(code == K.OK, attrs={"units": "", "long_name": "memory per card within HBM"}),
            "offloaded_memory": xr.DataArray(out[K.O_M_HOST] / 1e9, attrs={"units": "GB", "long_name": "state per card held on the offload tier (host DDR or CXL pool)"}),
            "offload_tier_bandwidth": xr.DataArray(hw[K.HW_OFF_BW] / 1e9, attrs={"units": "GB / s", "long_name": "GPU <-> offload tier bandwidth per card (workload.offload_tier)"}),
            "offload_tier_capacity": xr.DataArray(hw[K.HW_OFF_CAP] / 1e9, attrs={"units": "GB", "long_name": "offload tier capacity per card"}),
            "parameters": xr.DataArray(_f.parameter_count(m), attrs={"units": "", "long_name": "model parameters"}),
            "flops_per_iteration": xr.DataArray(f_hw, attrs={"units": "FLOP"}),
            "model_flops_per_iteration": xr.DataArray(f_model, attrs={"units": "FLOP"}),
            "tokens_per_second": xr.DataArray(tokens / step, attrs={"units": "1 / s"}),
            "micro_batches": xr.DataArray(int(out[K.O_MICRO]), attrs={"units": ""}),
            "dp_comm_total": xr.DataArray(out[K.O_DP_TOTAL], attrs={"units": "s", "long_name": "DP reduction before overlap"}),
        },
        attrs={"model": m.name, "scenario": sc.name, "cards": n, "clock_factor": float(clock_factor),
               "communication": "twin.interconnect.collective_time, inter-node hop from /fabric/results",
               **{f"plan_{k}": (int(v) if isinstance(v, bool) else v) for k, v in p.as_dict().items()}},
    )
    return ds


def memory_per_card(scenario, *, model=None, **plan) -> xr.DataArray:
    """Memory per card [GB] by part (weights, gradients, optimizer, activations, other) of the most
    loaded pipeline stage; the ``memory`` variable of :func:`estimate` (same arguments).

    Notes
    -----
    Weights 2, gradients 2 and Adam state 12 bytes per local parameter, divided by dp for ZeRO
    stages >= 3, 2, 1 respectively; activations per Korthikanti et al. times the micro-batches in
    flight; "other": fp32 logits and a fixed reserve (CUDA context, NCCL buffers).

    References
    ----------
    S. Rajbhandari et al., SC'20 (ZeRO); V. Korthikanti et al., MLSys 2023.
    """
    return estimate(scenario, model=model, **plan)["memory"]


#: Training reads the collectives' inter-node hop (fabric results), the operator model's
#: parameters (compute results) and, through Twin.run's explicit iteration, the clock factor
#: energy computed in the previous pass.
NEEDS = ("fabric", "interconnect", "compute")
READS_FEEDBACK = True

#: Headline figures (scalar results) for compare and the app: (variable, label, unit), as
#: datasets/tables/headlines.toml declares them.
HEADLINES = read_headlines("training")


def evaluate(scenario, state) -> xr.Dataset:
    """The scenario's workload as configured (:func:`estimate`), stored by Twin.run() at
    /training/results.

    The clock factor is the one energy's thermal model fed back (``/feedback/clock_factor``,
    1 on the first pass); when it is below 1 the unthrottled step time is kept as
    ``step_time_nominal`` so energy can report the throughput lost to throttling.
    """
    from .. import tree

    sc = load_scenario(scenario)
    cf = tree.feedback(state, "clock_factor", 1.0)
    ds = estimate(sc, clock_factor=cf, state=state)
    nominal = ds["step_time"] if cf >= 1.0 else estimate(sc, state=state)["step_time"]
    ds["step_time_nominal"] = nominal.assign_attrs(units="s", long_name="step time at clock factor 1")
    ds["clock_factor"] = xr.DataArray(cf, attrs={"units": "", "long_name": "clock factor the step time was computed at"})
    return ds


__all__ = ["estimate", "search", "evaluate", "parameter_count", "flops_per_iteration",
           "memory_per_card", "get_model", "model_names", "ModelSpec", "COMPONENTS", "MEMORY_PARTS"]
