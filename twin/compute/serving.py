"""Inference serving on the operator model (white paper 4.1: low latency, quantisation).

A replica of ``tp`` cards runs a dense transformer: prefill of ``batch`` prompts of ``prompt``
tokens, then one decode step per output token for the whole batch (static batching, as the
TensorRT-LLM ``gptSessionBenchmark`` and vLLM ``benchmark_latency`` measure it).

Per layer and card (t = tp, T tokens in the step, d = h / a, g = kv heads per card = max(kv/t, 1)):

- GEMMs (T x h) @ (h x (h/t + 2 g d)), (T x h/t) @ (h/t x h), (T x h) @ (h x m f/t) (m = 2 for
  SwiGLU), (T x f/t) @ (f/t x h): :func:`twin.compute.operators.gemm_time` (tile and wave
  quantisation, memory roofline on the weight bytes).
- Attention: 4 T c h / t FLOPs at the fused-attention rate or 2 B c g d b_kv bytes of K/V at the
  memory rate, whichever is slower (c = S/2 causal in prefill, the context in decode).
- Element-wise and norms (2 RMSNorm, 2 residuals, RoPE, SwiGLU): T (10 h + 2 (h/t + 2 g d) + 3 f/t)
  x 2 B through HBM at the memory rate, five kernels.
- Two all-reduces of T h x 2 B over the TP group when t > 1, at the bus bandwidth the
  interconnect domain published for that message size (t_AR = 2 (t-1)/t S / busbw(S)).
- The logits GEMM (B x h) @ (h x V/t) once per step.

KV cache per token and card: 2 L g d b_kv. Usable memory: ``MEMORY_UTILISATION`` of the HBM
minus ``RESERVE_BYTES`` and the weights; the largest batch is what the rest holds for
``prompt + output`` tokens per sequence.

References
----------
R. Pope et al., "Efficiently Scaling Transformer Inference", MLSys 2023 (prefill / decode
roofline, KV cache); W. Kwon et al., "Efficient Memory Management for LLM Serving with
PagedAttention" (vLLM), SOSP 2023 (gpu_memory_utilization 0.9); NVIDIA TensorRT-LLM performance
documentation v0.6.1 (static-batching throughput and first-token latency).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import InputError
from ..paths import datasets_dir, load_toml
from . import _kernels as K
from .operators import T_MIN, arch_params, arch_vector, check_precision, hbm_bandwidth, peak_rate

#: Weight precision -> (compute precision, bytes per weight, bytes per activation, bytes per KV
#: element). FP8: FP8 GEMMs and FP8 KV cache (TensorRT-LLM --enable_fp8 --fp8_kv_cache); INT8:
#: W8A8 (SmoothQuant, Xiao et al. 2023) with a 16-bit KV cache; INT4: weight-only (AWQ, Lin et al.
#: 2024) with BF16 compute and KV cache.
QUANTISATION = {"fp32": ("fp32", 4.0, 4.0, 4.0), "bf16": ("bf16", 2.0, 2.0, 2.0), "fp16": ("fp16", 2.0, 2.0, 2.0),
                "fp8": ("fp8", 1.0, 1.0, 1.0), "int8": ("int8", 1.0, 1.0, 2.0), "int4": ("bf16", 0.5, 2.0, 2.0)}
#: Fraction of HBM the serving engine may use (vLLM's default gpu_memory_utilization, Kwon et al. 2023).
MEMORY_UTILISATION = 0.9
#: CUDA context, activation workspace and allocator slack [B] (as the training model's reserve).
RESERVE_BYTES = 3e9
ELEMENTWISE_KERNELS = 5


@functools.lru_cache(maxsize=1)
def _zoo() -> dict:
    out = {}
    for path in sorted((datasets_dir() / "models").glob("*.toml")):
        for name, d in load_toml(path).items():
            if isinstance(d, dict):
                out[name] = d
    return out


def geometry(model: str, field: str = "compute.serving_model") -> dict:
    """Shape of a dense transformer of the model zoo (datasets/models) as plain numbers."""
    from ..errors import unknown_name

    zoo = _zoo()
    if not isinstance(model, str) or model not in zoo:
        raise unknown_name(field, model, sorted(zoo), "model")
    d = zoo[model]
    if d.get("kind", "transformer") != "transformer":
        raise InputError(field, model, "a transformer of the model zoo", f"is a {d.get('kind')} model")
    if int(d.get("experts", 1)) > 1:
        raise InputError(field, model, "a dense transformer (the serving model has no expert routing yet)",
                         "is a mixture-of-experts model")
    h = int(d["hidden"])
    a = int(d["heads"])
    g = {"name": model, "layers": int(d["layers"]), "hidden": h, "heads": a, "kv_heads": int(d.get("kv_heads", a)),
         "ffn": int(d.get("ffn_hidden", 4 * h)), "gate": 2 if d.get("mlp", "gelu") == "swiglu" else 1,
         "vocab": int(d["vocab"]), "tied": bool(d.get("tied_embeddings", True))}
    g["head_dim"] = h // a
    g["params"] = weights_count(g)
    return g


def weights_count(g: dict) -> float:
    """Matmul and embedding parameters of a dense transformer [1] (norms and biases neglected)."""
    h, kvd = g["hidden"], g["kv_heads"] * g["head_dim"]
    layer = h * (h + 2 * kvd) + h * h + (g["gate"] + 1) * h * g["ffn"]
    return float(g["layers"] * layer + g["vocab"] * h * (1 if g["tied"] else 2))


def _kv_per_card(g: dict, tp: int) -> float:
    return max(g["kv_heads"] / tp, 1.0)


def kv_bytes_per_token(g: dict, tp: int, kv_bytes: float) -> float:
    """KV cache per token on one card [B]: 2 L g d b_kv."""
    return 2.0 * g["layers"] * _kv_per_card(g, tp) * g["head_dim"] * kv_bytes


def weight_bytes_per_card(g: dict, tp: int, w_bytes: float) -> float:
    return weights_count(g) * w_bytes / tp


def _allreduce_time(allreduce, size: float, tp: int) -> float:
    if tp <= 1:
        return 0.0
    return float(allreduce(size, tp))


def step_time(acc, g: dict, tokens: float, batch: float, context: float, tp: int, quant: str, allreduce,
              *, phase: str = "decode", parts: bool = False, fp8_kernels: str = "current"):
    """Time of one forward step on one card of the replica [s] (or its parts [s] when ``parts``).

    ``tokens`` in the step (B S in prefill, B in decode), ``context`` the attention span per query
    (S/2 causal in prefill, the cache length in decode); ``fp8_kernels`` the FP8 GEMM generation of
    the engine (:data:`twin.compute.operators.FP8_KERNELS`).
    """
    cp, wb, ab, kb = QUANTISATION[quant]
    ap = arch_vector(acc, cp, weight_bytes=wb, act_bytes=ab, fp8_kernels=fp8_kernels)
    arch = arch_params(acc)
    h, d, f, L = g["hidden"], g["head_dim"], g["ffn"], g["layers"]
    gkv = _kv_per_card(g, tp)
    qkv_n = h / tp + 2.0 * gkv * d
    T = float(tokens)
    t_gemm = (K.gemm_time(T, qkv_n, h, ap) + K.gemm_time(T, h, h / tp, ap)
              + K.gemm_time(T, g["gate"] * f / tp, h, ap) + K.gemm_time(T, h, f / tp, ap))
    P = peak_rate(acc, "fp32" if cp == "fp32" else "bf16")  # fused attention runs in 16 bit
    bw = hbm_bandwidth(acc) * arch["memory_efficiency"]
    att_flops = 4.0 * T * context * h / tp
    att_bytes = 2.0 * batch * (context if phase == "decode" else 2.0 * context) * gkv * d * kb + 2.0 * T * qkv_n * ab
    t_att = max(att_flops / (P * arch["attention_efficiency"]), att_bytes / bw) + T_MIN
    t_elem = T * (10.0 * h + 2.0 * qkv_n + 3.0 * f / tp) * 2.0 / bw + ELEMENTWISE_KERNELS * T_MIN
    t_ar = 2.0 * _allreduce_time(allreduce, T * h * 2.0, tp)
    t_logits = K.gemm_time(float(batch), g["vocab"] / tp, h, ap)
    if parts:
        return {"gemm": L * t_gemm + t_logits, "attention": L * t_att, "elementwise": L * t_elem, "tp_comm": L * t_ar}
    return L * (t_gemm + t_att + t_elem + t_ar) + t_logits


def check_count(value, field: str, lo: int = 1, what: str = "an integer") -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise InputError(field, value, f"{what} >= {lo}") from None
    if isinstance(value, float) and value != v or v < lo:
        raise InputError(field, value, f"{what} >= {lo}")
    return v


def serve(acc, g: dict, *, batch: int, prompt: int, output: int, tp: int, quant: str, allreduce,
          watts_per_card: float, fp8_kernels: str = "current") -> dict:
    """Serving numbers of one replica (see the module docstring). Plain floats in SI.

    Returns ttft [s], tpot [s], latency [s] (prefill + all decode steps), throughput_per_card
    [token/s], throughput_per_kw [token/s/kW], kv_per_sequence [B], weights_per_card [B],
    max_batch [1], fits (bool) and reason (str, empty when it fits).
    """
    batch = check_count(batch, "compute.serving_batch", 1, "a batch size")
    prompt = check_count(prompt, "compute.prompt_tokens", 1, "a number of prompt tokens")
    output = check_count(output, "compute.output_tokens", 1, "a number of output tokens")
    tp = check_count(tp, "compute.serving_tp", 1, "a tensor-parallel degree")
    quant = check_precision(quant, "compute.weight_precision")
    if quant not in QUANTISATION:
        raise InputError("compute.weight_precision", quant, "one of " + ", ".join(QUANTISATION))
    cp, wb, ab, kb = QUANTISATION[quant]
    peak_rate(acc, cp)  # raises naming the precisions the chip has
    if g["heads"] % tp != 0:
        raise InputError("compute.serving_tp", tp, f"a divisor of the model's {g['heads']} heads")
    cap = float(acc.hbm_capacity.to("B").magnitude)
    w_card = weight_bytes_per_card(g, tp, wb)
    kv_seq = kv_bytes_per_token(g, tp, kb) * (prompt + output)
    free = MEMORY_UTILISATION * cap - RESERVE_BYTES - w_card
    max_batch = int(max(free, 0.0) // kv_seq) if kv_seq > 0 else 0
    res = {"weights_per_card": w_card, "kv_per_sequence": kv_seq, "max_batch": max_batch, "fits": True, "reason": ""}
    if free <= 0:
        need_tp = math.ceil(weights_count(g) * wb / max(MEMORY_UTILISATION * cap - RESERVE_BYTES, 1.0))
        res["fits"] = False
        res["reason"] = (f"{g['name']} weights need {w_card / 1e9:.1f} GB per card at TP {tp} ({quant}), more than the "
                         f"{(MEMORY_UTILISATION * cap - RESERVE_BYTES) / 1e9:.1f} GB usable of {cap / 1e9:.0f} GB HBM"
                         + (f"; it needs TP >= {need_tp}" if need_tp <= 64 else "")
                         + ("" if tp < 8 else " (does not fit even at TP = 8: quantise the weights or add cards)"))
    elif max_batch < batch:
        res["fits"] = False
        res["reason"] = (f"batch {batch} needs {batch * kv_seq / 1e9:.1f} GB of KV cache per card; "
                         f"{free / 1e9:.1f} GB are free after the weights: the largest batch is {max_batch}")
    gen = {"fp8_kernels": fp8_kernels}
    t_pre1 = step_time(acc, g, prompt, 1, prompt / 2.0, tp, quant, allreduce, phase="prefill", **gen)
    t_pre = step_time(acc, g, batch * prompt, batch, prompt / 2.0, tp, quant, allreduce, phase="prefill", **gen)
    mid = prompt + (output - 1) / 2.0
    t_dec = step_time(acc, g, batch, batch, mid, tp, quant, allreduce, phase="decode", **gen)
    latency = t_pre + (output - 1) * t_dec if output > 1 else t_pre
    thr = batch * output / latency / tp
    res.update({"ttft": t_pre1, "ttft_batch": t_pre, "tpot": t_dec, "latency": latency, "throughput_per_card": thr,
                "throughput_per_kw": thr / (watts_per_card / 1e3)})
    return res


def busbw_allreduce(sizes, busbw, group: int):
    """An all-reduce time function t(S, n) from a bus-bandwidth table (interconnect results):
    t = 2 (n - 1)/n S / busbw(S), busbw interpolated in log-log; below the smallest size the
    smallest size's time (latency floor)."""
    x = np.log(np.asarray(sizes, dtype=float))
    bw = np.asarray(busbw, dtype=float)
    ok = bw > 0
    if not np.any(ok):
        return None
    x, y = x[ok], np.log(bw[ok])
    s_min = float(np.exp(x[0]))

    def t(size, n):
        s = max(float(size), s_min)
        b = float(np.exp(np.interp(math.log(s), x, y)))
        return 2.0 * (n - 1) / n * s / b

    return t
