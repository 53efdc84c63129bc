"""Compute efficiency (white paper ch. 4): per-architecture operator model, inference serving,
low precision and sparsity, compute-in-memory, DPU offload.

The domain publishes, at ``/compute/results``:

- the roofline of the scenario's accelerator at every precision it has (peak, attained ceiling,
  ridge point) and where each operator of the serving model sits on it (prefill and decode);
- the operator-model parameters training reads for its compute time (GEMM ceiling, width scale of
  the efficiency curve, fused-attention and memory-bound rates, peak at the scenario's
  precision, ``operator_fallback`` = 1 when the chip has no published measurements);
- inference serving of ``compute.serving_model`` on ``compute.serving_tp`` cards: TTFT, TPOT,
  tokens/s per card and per kW, KV cache, the largest batch that fits (or why it does not fit),
  and TPOT / throughput against batch;
- GPU against compute-in-memory energy for one inference, and DPU offload.

It reads the interconnect's all-reduce bus bandwidth against message size from the tree
(``NEEDS = ("interconnect",)``) for the tensor-parallel all-reduces of serving.

Public functions: :func:`roofline`, :func:`gemm_time`, :func:`gemm_throughput`,
:func:`precisions`, :func:`peak_rate`, :func:`training_parameters`, :func:`inference`,
:func:`cim_vs_gpu`, :func:`dpu_offload`, :func:`evaluate`.
"""
from __future__ import annotations

import math

import numpy as np
import xarray as xr

from .. import catalog
from ..errors import InputError, TwinError
from ..paths import read_headlines
from ..units import magnitude
from .cim import cim_vs_gpu, workload_ops
from .dpu import dpu_offload
from .operators import (BYTES, FALLBACK_ACCELERATOR, FP8_CAST_BYTES, PRECISIONS, SPARSE_SPEEDUP, arch_params, arch_vector,
                        gemm_throughput, gemm_time, hbm_bandwidth, peak_rate, precisions, roofline)
from .serving import QUANTISATION, busbw_allreduce, geometry, serve, step_time

NEEDS = ("interconnect",)

#: Headline figures (scalar results) for compare and the app: (variable, label, unit), as
#: datasets/tables/headlines.toml declares them.
HEADLINES = read_headlines("compute")

#: Batch sizes of the TPOT / throughput against batch curves.
BATCH_GRID = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
OPERATORS = ("qkv", "attn_out", "mlp_up", "mlp_down", "attention", "elementwise", "logits")


def training_parameters(accelerator, precision: str = "bf16", *, sparse: bool = False) -> dict:
    """The operator-model parameters the training model reads (plain floats).

    Returns
    -------
    dict
        ``peak`` [FLOP/s] at the precision (x2 with 2:4 sparsity); ``gemm_efficiency`` the attained
        largest-GEMM fraction of that peak (x SPARSE_SPEEDUP/2 when sparse); ``width_scale`` =
        sqrt(U Tm Tn / (U Tm Tn)_ref): how much wider a GEMM must be to fill this chip's waves than
        the A100's (the half-efficiency width of training's curve scales with it);
        ``attention_efficiency``, ``memory_efficiency``; ``fallback`` (1 when the chip has no
        published operator data and runs on the A100 values); ``peak_16bit`` [FLOP/s] and
        ``gemm_efficiency_16bit``: the dense BF16 (FP16) values, at which the operators FP8 training
        keeps in 16 bits run (attention core, logits); ``fp8_cast_bytes`` [B] HBM traffic per element
        of an FP8 cast-transpose (0 unless the precision is fp8).

    Notes
    -----
    A square-ish output of width n holds n^2 / (Tm Tn) tiles; one full wave needs U of them, so
    the width at which waves fill scales as sqrt(U Tm Tn).

    FP8: the GEMM ceiling is the BF16 one times the catalog's ``fp8_efficiency_ratio``: the current
    cuBLASLt FP8 GEMMs a Transformer-Engine training step runs (calibrated on one published FP8
    training run, the NeMo 24.07 Llama 2 7B row; the casts around them are modelled by the training
    kernel, not folded in here).
    """
    acc = catalog.accelerator(accelerator) if isinstance(accelerator, str) else accelerator
    a = arch_params(acc)
    ref = arch_params(FALLBACK_ACCELERATOR)
    P = peak_rate(acc, precision, sparse=sparse)
    width = math.sqrt(a["units"] * a["tile_m"] * a["tile_n"] / (ref["units"] * ref["tile_m"] * ref["tile_n"]))
    e = a["gemm_efficiency"] * (SPARSE_SPEEDUP / 2.0 if sparse else 1.0) * (a["fp8_ratio"] if precision == "fp8" else 1.0)
    return {"peak": P, "gemm_efficiency": e,
            "width_scale": width, "attention_efficiency": a["attention_efficiency"],
            "memory_efficiency": a["memory_efficiency"], "fallback": float(a["fallback"]),
            "reference_gemm_efficiency": ref["gemm_efficiency"], "reference_memory_efficiency": ref["memory_efficiency"],
            "peak_16bit": peak_rate(acc, "bf16") if "bf16" in precisions(acc) else P,
            "gemm_efficiency_16bit": a["gemm_efficiency"] if "bf16" in precisions(acc) else e,
            "fp8_cast_bytes": FP8_CAST_BYTES if precision == "fp8" else 0.0,
            "source": a["source"]}


def _allreduce_from_state(state):
    """An all-reduce time function from the interconnect results in the tree (or None)."""
    from ..tree import array

    bus = array(state, "interconnect", "busbw", "B/s")
    if "collective" not in bus.dims or "all-reduce" not in list(bus["collective"].values):
        raise TwinError("/interconnect/results/busbw has no 'all-reduce' row; compute needs it for TP all-reduces")
    row = bus.sel(collective="all-reduce")
    sizes = np.asarray(row["message_size"].values, dtype=float)
    return busbw_allreduce(sizes, row.values, 2)


def _check_tp(sc, tp: int):
    dom = int(min(sc.compute.domain_size, max(sc.compute.cards_per_node, 1))) if sc.compute.topology != "s2-switch" \
        else int(sc.compute.domain_size)
    if tp > dom:
        raise InputError("compute.serving_tp", tp, f"a tensor-parallel degree within one high-speed domain (<= {dom})")


def _watts_per_card(sc, acc) -> float:
    host = sc.compute.cpus_per_node * magnitude(sc.compute.cpu_tdp, "W", "compute.cpu_tdp") / max(sc.compute.cards_per_node, 1)
    return magnitude(acc.tdp, "W", "tdp") + host


def inference(scenario, *, state=None, **overrides) -> xr.Dataset:
    """Inference serving of a scenario (its ``compute.serving_*`` fields, or ``overrides`` of them).

    Parameters
    ----------
    scenario : Scenario, preset name, path or dict
    state : xarray.DataTree, optional
        A twin state holding ``/interconnect/results``; default: a throw-away Twin runs the
        interconnect domain.
    **overrides
        serving_model, serving_tp, serving_batch, prompt_tokens, output_tokens, weight_precision.

    Returns
    -------
    xarray.Dataset
        ttft, tpot [ms], throughput_per_card [token/s], throughput_per_kw [token/s/kW],
        kv_cache_per_sequence, weights_per_card [GB], max_batch, serving_fits (1/0; attr
        ``reason`` says why not), tpot_vs_batch [ms] and throughput_vs_batch [token/s] over ``batch``.

    Notes
    -----
    See :mod:`twin.compute.serving`. Power per card = TDP + the host CPUs' TDP shared per card.
    """
    from ..core import Twin
    from ..scenario import load_scenario

    sc = load_scenario(scenario)
    if overrides:
        bad = [k for k in overrides if k not in ("serving_model", "serving_tp", "serving_batch", "prompt_tokens",
                                                  "output_tokens", "weight_precision")]
        if bad:
            raise InputError(bad[0], overrides[bad[0]], "one of serving_model, serving_tp, serving_batch, prompt_tokens, "
                             "output_tokens, weight_precision")
        sc = load_scenario(sc.merged({"compute": overrides})) if hasattr(sc, "merged") else \
            load_scenario(_merge(sc, overrides))
    if state is None:
        t = Twin(sc)
        t.run(["interconnect"])
        state = t.state
    return _serving_dataset(sc, state)


def _merge(sc, overrides):
    import tomllib

    d = tomllib.loads(sc.to_toml())
    d.setdefault("compute", {}).update(overrides)
    return d


def _serving_dataset(sc, state) -> xr.Dataset:
    c = sc.compute
    acc = catalog.accelerator(c.accelerator)
    g = geometry(c.serving_model)
    tp = int(c.serving_tp)
    _check_tp(sc, tp)
    ar = _allreduce_from_state(state) if tp > 1 else None
    if tp > 1 and ar is None:
        raise TwinError("the interconnect published no all-reduce bus bandwidth; serving at TP > 1 needs it")
    w = _watts_per_card(sc, acc)
    r = serve(acc, g, batch=c.serving_batch, prompt=c.prompt_tokens, output=c.output_tokens, tp=tp,
              quant=c.weight_precision, allreduce=ar, watts_per_card=w)
    mid = c.prompt_tokens + (c.output_tokens - 1) / 2.0
    tpot_b = np.array([step_time(acc, g, b, b, mid, tp, c.weight_precision, ar) for b in BATCH_GRID])
    thr_b = np.array(BATCH_GRID) / tpot_b / tp
    fits_b = np.array([b <= r["max_batch"] for b in BATCH_GRID], dtype=float)
    ds = xr.Dataset(
        {"ttft": ((), r["ttft"] * 1e3, {"units": "ms", "long_name": "time to first token (batch 1)"}),
         "tpot": ((), r["tpot"] * 1e3, {"units": "ms", "long_name": "time per output token"}),
         "serving_latency": ((), r["latency"], {"units": "s", "long_name": "prefill + all decode steps of the batch"}),
         "throughput_per_card": ((), r["throughput_per_card"], {"units": "1 / s", "long_name": "output tokens/s per card"}),
         "throughput_per_kw": ((), r["throughput_per_kw"], {"units": "1 / s / kW", "long_name": "output tokens/s per kW"}),
         "kv_cache_per_sequence": ((), r["kv_per_sequence"] / 1e9, {"units": "GB"}),
         "weights_per_card": ((), r["weights_per_card"] / 1e9, {"units": "GB"}),
         "max_batch": ((), float(r["max_batch"]), {"units": ""}),
         "serving_fits": ((), float(r["fits"]), {"units": "", "reason": r["reason"]}),
         "tpot_vs_batch": ("batch", tpot_b * 1e3, {"units": "ms"}),
         "throughput_vs_batch": ("batch", thr_b, {"units": "1 / s"}),
         "batch_fits": ("batch", fits_b, {"units": ""})},
        coords={"batch": ("batch", np.array(BATCH_GRID, dtype=float), {"units": ""})},
        attrs={"serving_model": g["name"], "serving_tp": tp, "weight_precision": c.weight_precision,
               "serving_reason": r["reason"]})
    return ds


def operator_points(accelerator, model: str, *, batch: int = 1, prompt: int = 1024, tp: int = 1,
                    quant: str = "bf16", context: int | None = None) -> xr.Dataset:
    """Where each operator of one transformer layer sits on the roofline, prefill and decode.

    Returns arithmetic intensity [FLOP/B], attained rate [TFLOP/s] and time [s] over
    (``phase``, ``operator``) for one card of a TP group (communication excluded).
    """
    from . import _kernels as K

    acc = catalog.accelerator(accelerator) if isinstance(accelerator, str) else accelerator
    g = geometry(model, "model")
    cp, wb, ab, kb = QUANTISATION[quant]
    ap = arch_vector(acc, cp, weight_bytes=wb, act_bytes=ab)
    a = arch_params(acc)
    h, d, f = g["hidden"], g["head_dim"], g["ffn"]
    gkv = max(g["kv_heads"] / tp, 1.0)
    qkv_n = h / tp + 2 * gkv * d
    P16 = peak_rate(acc, "bf16")
    bw = hbm_bandwidth(acc) * a["memory_efficiency"]
    ctx = prompt if context is None else context
    out = {k: np.zeros((2, len(OPERATORS))) for k in ("intensity", "rate", "time")}
    for i, (phase, T, c) in enumerate((("prefill", batch * prompt, prompt / 2.0), ("decode", batch, ctx))):
        shapes = {"qkv": (T, qkv_n, h), "attn_out": (T, h, h / tp), "mlp_up": (T, g["gate"] * f / tp, h),
                  "mlp_down": (T, h, f / tp), "logits": (batch, g["vocab"] / tp, h)}
        for j, op in enumerate(OPERATORS):
            if op in shapes:
                m, n, k = shapes[op]
                fl = 2 * m * n * k
                by = m * k * ap[K.AP_BYTES_IN] + k * n * ap[K.AP_BYTES_W] + m * n * ap[K.AP_BYTES_OUT]
                t = K.gemm_time(m, n, k, ap)
            elif op == "attention":
                fl = 4.0 * T * c * h / tp
                by = 2.0 * batch * (c if phase == "decode" else 2 * c) * gkv * d * kb + 2.0 * T * qkv_n * ab
                t = max(fl / (P16 * a["attention_efficiency"]), by / bw) + 2e-6
            else:
                fl = T * (10.0 * h + 3.0 * f / tp)
                by = T * (10.0 * h + 2.0 * qkv_n + 3.0 * f / tp) * 2.0
                t = by / bw + 5 * 2e-6
            out["intensity"][i, j] = fl / by
            out["rate"][i, j] = fl / t / 1e12
            out["time"][i, j] = t
    return xr.Dataset(
        {"arithmetic_intensity": (("phase", "operator"), out["intensity"], {"units": "FLOP / B"}),
         "attained_rate": (("phase", "operator"), out["rate"], {"units": "TFLOP / s"}),
         "operator_time": (("phase", "operator"), out["time"], {"units": "s"})},
        coords={"phase": ["prefill", "decode"], "operator": list(OPERATORS)})


def evaluate(scenario, state=None) -> xr.Dataset:
    """The compute domain's results for a scenario (see the module docstring).

    Parameters
    ----------
    scenario : Scenario
    state : xarray.DataTree
        The twin state with ``/interconnect/results`` (NEEDS); a throw-away Twin runs the
        interconnect when it is None.
    """
    from ..scenario import load_scenario

    sc = load_scenario(scenario)
    if state is None:
        from ..core import Twin

        t = Twin(sc)
        t.run(["interconnect"])
        state = t.state
    c = sc.compute
    acc = catalog.accelerator(c.accelerator)
    prec = c.precision
    sparse = bool(c.sparsity)
    tp_ = training_parameters(acc, prec, sparse=sparse)
    have = precisions(acc)
    rl = [roofline(acc, p) for p in have]
    ds = xr.Dataset(
        {"peak": ("precision", [r["peak"] / 1e12 for r in rl], {"units": "TFLOP / s", "long_name": "dense peak"}),
         "peak_attained": ("precision", [r["peak_attained"] / 1e12 for r in rl], {"units": "TFLOP / s"}),
         "ridge_point": ("precision", [r["ridge"] for r in rl], {"units": "FLOP / B"}),
         "hbm_bandwidth": ((), rl[0]["bandwidth"] / 1e9, {"units": "GB / s"}),
         "hbm_bandwidth_attained": ((), rl[0]["bandwidth_attained"] / 1e9, {"units": "GB / s"}),
         # --- what training reads ---
         "peak_rate": ((), tp_["peak"] / 1e12, {"units": "TFLOP / s", "long_name": f"peak at {prec}" + (" 2:4 sparse" if sparse else "")}),
         "gemm_efficiency": ((), tp_["gemm_efficiency"], {"units": ""}),
         "gemm_width_scale": ((), tp_["width_scale"], {"units": ""}),
         "attention_efficiency": ((), tp_["attention_efficiency"], {"units": ""}),
         "memory_efficiency": ((), tp_["memory_efficiency"], {"units": ""}),
         "reference_gemm_efficiency": ((), tp_["reference_gemm_efficiency"], {"units": ""}),
         "reference_memory_efficiency": ((), tp_["reference_memory_efficiency"], {"units": ""}),
         "peak_rate_16bit": ((), tp_["peak_16bit"] / 1e12, {"units": "TFLOP / s", "long_name": "dense BF16 peak "
                             "(operators FP8 training keeps in 16 bits: attention core, logits)"}),
         "gemm_efficiency_16bit": ((), tp_["gemm_efficiency_16bit"], {"units": ""}),
         "fp8_cast_bytes": ((), tp_["fp8_cast_bytes"], {"units": "B", "long_name": "HBM bytes per element of an FP8 "
                            "cast-transpose (0 unless compute.precision is fp8)"}),
         "operator_fallback": ((), tp_["fallback"], {"units": "", "source": tp_["source"]})},
        coords={"precision": have},
        attrs={"accelerator": acc.name, "precision": prec, "sparsity": int(sparse), "operator_source": tp_["source"]})
    # --- roofline dots of the serving model ---
    try:
        pts = operator_points(acc, c.serving_model, batch=int(c.serving_batch), prompt=int(c.prompt_tokens),
                              tp=int(c.serving_tp), quant=c.weight_precision)
        ds = ds.merge(pts)
    except InputError:
        pass
    ds = ds.merge(_serving_dataset(sc, state), combine_attrs="override")
    ds.attrs.update({"accelerator": acc.name, "precision": prec, "sparsity": int(sparse),
                     "serving_reason": ds["serving_fits"].attrs.get("reason", "")})
    # --- compute-in-memory ---
    cim = cim_vs_gpu(acc, c.cim_chip, c.serving_model, int(c.prompt_tokens))
    for k, u in (("gpu_energy", "J"), ("cim_energy", "J"), ("gpu_time", "s"), ("cim_time", "s")):
        ds[k] = ((), cim[k], {"units": u})
    ds["cim_chips"] = ((), float(cim["chips"]), {"units": ""})
    ds["matmul_share"] = ((), cim["matmul_share"], {"units": "", "long_name": "weight matmuls' share of the operations"})
    ds["matmul_time_share"] = ((), cim["matmul_time_share"], {"units": "", "long_name": "weight GEMMs' share of GPU prefill time"})
    # --- DPU ---
    dpu = dpu_offload(c.dpu, c.dpu_placement, nic_speed_gbps=magnitude(sc.fabric.nic_speed, "Gbit/s", "fabric.nic_speed"),
                      nics_per_node=int(sc.fabric.nics_per_node), cpus=int(c.cpus_per_node),
                      cpu_tdp_w=magnitude(c.cpu_tdp, "W", "compute.cpu_tdp"))
    ds["dpu_cores_freed"] = ((), dpu["cores_freed"], {"units": ""})
    ds["dpu_power_delta"] = ((), dpu["power_delta"], {"units": "W"})
    ds["bare_metal_delivery_time"] = ((), dpu["delivery_time"], {"units": "min"})
    return ds


__all__ = ["NEEDS", "HEADLINES", "evaluate", "roofline", "gemm_time", "gemm_throughput", "precisions", "peak_rate",
           "training_parameters", "inference", "operator_points", "cim_vs_gpu", "dpu_offload", "workload_ops",
           "geometry", "PRECISIONS", "BYTES", "BATCH_GRID"]
