"""Closed-form parameter, FLOP and memory counts of transformer training.

All functions take a :class:`~twin.training.models.ModelSpec` and plain integers and return
plain floats in SI units (parameters [1], FLOP [FLOP], bytes [B]); the public functions in
:mod:`twin.training` attach units.

References
----------
.. [1] D. Narayanan et al., "Efficient Large-Scale Language Model Training on GPU Clusters
   Using Megatron-LM", SC'21 (parameter and FLOP formulas, Appendix).
.. [2] V. Korthikanti et al., "Reducing Activation Recomputation in Large Transformer
   Models", MLSys 2023 (activation memory per layer, selective recomputation, sequence parallelism).
.. [3] S. Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion Parameter
   Models", SC'20 (16 bytes per parameter for mixed-precision Adam, ZeRO stages 1-3).
.. [4] T. Dao, "FlashAttention-2: Faster Attention with Better Parallelism and Work Partitioning",
   2023 (the backward pass recomputes the attention scores from Q, K, V, the output and the
   row-wise log-sum-exp, which is all the forward pass saves).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .models import ModelSpec

#: Bytes per parameter of mixed-precision Adam [3]: 2 (fp16/bf16 weights) + 2 (gradients)
#: + 12 (fp32 master weights, momentum, variance).
BYTES_WEIGHTS = 2.0
BYTES_GRADS = 2.0
BYTES_OPTIMIZER = 12.0
#: Checkpoint bytes per parameter: bf16 weights + fp32 master, momentum, variance (DLIO / MLPerf Storage).
BYTES_CHECKPOINT = 14.0

RECOMPUTE = {"none": 0, "selective": 1, "full": 2}
ATTENTION = {"unfused": 0, "flash": 1}


@dataclass(frozen=True)
class LayerParams:
    """Parameters of one transformer layer split by role."""

    attention: float   # QKV + output projection (+ biases)
    mlp: float         # one dense MLP, or ONE expert of a MoE layer
    norm: float        # the two norms of the layer
    router: float      # MoE gate (0 for dense)
    embedding: float   # token (+ learned position) embedding
    output: float      # untied output projection (0 when tied)
    final_norm: float


def layer_params(m: ModelSpec) -> LayerParams:
    """Per-layer parameter counts.

    Notes
    -----
    Attention: h (h + 2 kv d) + h^2 weights (+ 3h + h biases when ``bias``), d = h / a.
    MLP: 2 h f (GeLU) or 3 h f (SwiGLU) weights (+ f + h biases). Norms: 2 x 2h (LayerNorm)
    or 2 x h (RMSNorm). For GPT (f = 4h, biases, LayerNorm) the layer has 12 h^2 + 13 h
    parameters, the SC'21 count [1].
    """
    h, a, kv, f = m.hidden, m.heads, m.kv_heads, m.ffn_hidden
    d = h / a
    attn = h * (h + 2 * kv * d) + h * h
    if m.bias:
        attn += (h + 2 * kv * d) + h
    mats = 3 if m.mlp == "swiglu" else 2
    mlp = mats * h * f + ((mats - 1) * f + h if m.bias else 0)
    norm = (4 * h) if m.norm == "layernorm" else (2 * h)
    router = h * m.experts if m.experts > 1 else 0.0
    emb = m.vocab * h + (m.sequence_length * h if m.position == "learned" else 0)
    out = 0.0 if m.tied_embeddings else m.vocab * h
    final = (2 * h) if m.norm == "layernorm" else h
    return LayerParams(float(attn), float(mlp), float(norm), float(router), float(emb), float(out), float(final))


def parameter_count(m: ModelSpec, *, active: bool = False) -> float:
    """Total (or, for a MoE, active per token) parameters [1].

    Notes
    -----
    P = l (attn + norm + router + E_eff mlp) + embedding + output + final norm, with
    E_eff = experts (total) or top_k (active). For GPT this is Narayanan et al.'s
    P = 12 l h^2 (1 + 13/(12 h) + (V + s)/(12 l h)) (the final LayerNorm's 2h aside).
    """
    if m.kind == "cnn":
        return float(m.params_published)
    p = layer_params(m)
    e = m.top_k if active else m.experts
    return m.layers * (p.attention + p.norm + p.router + e * p.mlp) + p.embedding + p.output + p.final_norm


def sc21_parameter_count(layers: int, hidden: int, vocab: int, seq: int) -> float:
    """The SC'21 closed form P = 12 l h^2 (1 + 13/(12h) + (V + s)/(12 l h)) [1]."""
    l, h = float(layers), float(hidden)
    return 12 * l * h * h * (1 + 13 / (12 * h) + (vocab + seq) / (12 * l * h))


def sc21_flops(batch: int, layers: int, hidden: int, vocab: int, seq: int, *, recompute: bool = True) -> float:
    """FLOPs per iteration, the SC'21 formula [1] [FLOP].

    Notes
    -----
    With full activation recomputation (4 passes over the layers, 3 over the logits):
    F = 96 B s l h^2 (1 + s/(6h) + V/(16 l h)); without (3 passes):
    F = 72 B s l h^2 (1 + s/(6h) + V/(12 l h)).
    """
    B, s, l, h, V = map(float, (batch, seq, layers, hidden, vocab))
    if recompute:
        return 96 * B * s * l * h * h * (1 + s / (6 * h) + V / (16 * l * h))
    return 72 * B * s * l * h * h * (1 + s / (6 * h) + V / (12 * l * h))


def forward_flops_per_sequence(m: ModelSpec) -> tuple[float, float, float]:
    """Forward FLOPs of one sequence: (layer matmuls, attention core, logits) [FLOP].

    Notes
    -----
    Layer matmuls 2 s (attention weights + top_k x expert MLP weights) per layer; attention
    core 4 s^2 h per layer (QK^T and attention x V, the full square as Megatron counts it);
    logits 2 s h V.
    """
    if m.kind == "cnn":
        return float(m.forward_flops), 0.0, 0.0
    h, a, kv, f = m.hidden, m.heads, m.kv_heads, m.ffn_hidden
    s = m.sequence_length
    d = h / a
    w_attn = h * (h + 2 * kv * d) + h * h
    w_mlp = (3 if m.mlp == "swiglu" else 2) * h * f * m.top_k
    w_router = h * m.experts if m.experts > 1 else 0.0
    mm = 2.0 * s * (w_attn + w_mlp + w_router) * m.layers
    core = 4.0 * s * s * h * m.layers
    logits = 2.0 * s * h * m.vocab
    return mm, core, logits


def flops_per_iteration(m: ModelSpec, global_batch: int, recompute: str = "none") -> float:
    """Hardware FLOPs of one training iteration [FLOP].

    Notes
    -----
    Backward = 2 x forward. ``none``: 3 F_fwd; ``full``: + one more forward of the layers
    (not of the logits); ``selective``: + the attention core only [2]. For GPT and
    ``full`` this equals :func:`sc21_flops`.
    """
    mm, core, logits = forward_flops_per_sequence(m)
    extra = {"none": 0.0, "selective": core, "full": mm + core}[recompute]
    return float(global_batch) * (3.0 * (mm + core + logits) + extra)


def model_flops_per_iteration(m: ModelSpec, global_batch: int) -> float:
    """Model FLOPs (no recomputation), the numerator of MFU [FLOP]."""
    return flops_per_iteration(m, global_batch, "none")


#: bytes per token of the fp32 statistics a norm keeps for its backward pass: LayerNorm mean and
#: reciprocal standard deviation, RMSNorm the reciprocal RMS only (Megatron / Apex / TE fused norms)
NORM_STAT_BYTES = {"layernorm": 8.0, "rmsnorm": 4.0}
#: bytes per token and head of flash attention's saved softmax statistics (fp32 log-sum-exp) [4]
FLASH_LSE_BYTES = 4.0


def activation_coefficients(m: ModelSpec) -> tuple[float, float, float]:
    """Korthikanti et al.'s per-layer activation bytes as (unsplit, split, s2) coefficients, per architecture.

    Returns ``(c_u, c_t, c_s2)`` with activation bytes per layer and micro-batch
    ``s b h (c_u / (t if SP else 1) + c_t / t) + c_s2 a s^2 b / t`` (unfused attention) [2].
    For GPT (GeLU, f = 4h, dropout, no GQA) c_u = 10, c_t = 24, c_s2 = 5: 34 s b h + 5 a s^2 b,
    Korthikanti et al.'s eq. (1), plus the norms' fp32 statistics (16 / h, negligible).

    Notes
    -----
    Term by term (16-bit activations, 2 B per element; dropout masks 1 B) [2]:

    * unsplit (replicated across tensor-parallel ranks unless sequence-parallel): the two norm
      inputs (2 + 2), the two norm outputs that feed the QKV and MLP-up GEMMs (2 + 2), and, with
      dropout, the masks of the two residual dropouts (1 + 1): c_u = 8 + 2 dropout, plus the norms'
      fp32 statistics per token (2 x 8 B LayerNorm, 2 x 4 B RMSNorm) over h;
    * split: Q (2) and the attention output that feeds the output projection (2); K and V of the
      kv_heads only, 4 kv / a (grouped-query attention); the MLP keeps its up-projection output
      (the activation's input: f wide for GeLU, gate and up 2f wide for SwiGLU) and the activation's
      output (f wide, the down-projection's input), i.e. 2 f / h x (matrices) -- GeLU 4 f / h (16
      for f = 4h), SwiGLU 6 f / h (the fused SwiGLU of Megatron-Core / Transformer Engine
      recomputes silu(gate) in the backward pass) -- times top_k for a MoE layer;
    * s^2 (unfused attention only): the softmax output 2 a s^2 b, and with attention dropout its
      mask (1) and output (2): c_s2 = 2 + 3 dropout. Flash attention keeps none of it, only the
      fp32 log-sum-exp per head and token (:data:`FLASH_LSE_BYTES`, added in the kernel) [4].
    """
    h, a, kv, f = m.hidden, m.heads, m.kv_heads, m.ffn_hidden
    drop = 1.0 if m.dropout else 0.0
    mats = 3.0 if m.mlp == "swiglu" else 2.0
    cu = 8.0 + 2.0 * drop + 2.0 * NORM_STAT_BYTES.get(m.norm, 8.0) / h
    ct = 4.0 + 4.0 * kv / a + 2.0 * mats * f / h * m.top_k
    return cu, ct, 2.0 + 3.0 * drop


def activation_bytes_per_layer(m: ModelSpec, micro_batch: int, tp: int = 1, *, sp: bool = False,
                               recompute: str = "none", attention: str = "unfused") -> float:
    """Activation memory of one layer for one micro-batch on one card [B] [2].

    Notes
    -----
    none: s b h (c_u/t' + c_t/t) + c_s2 a s^2 b / t with t' = t under sequence parallelism, else 1
    (flash attention replaces the s^2 term by its log-sum-exp, 4 a s b / t); selective: the s^2
    term recomputed; full: only the layer input 2 s b h / t' is kept. Coefficients:
    :func:`activation_coefficients`.
    """
    s, h, a = m.sequence_length, m.hidden, m.heads
    cu, ct, cs2 = activation_coefficients(m)
    tprime = tp if sp else 1
    if recompute == "full":
        return 2.0 * s * micro_batch * h / tprime
    base = s * micro_batch * h * (cu / tprime + ct / tp)
    if attention == "flash":
        base += FLASH_LSE_BYTES * a * s * micro_batch / tp
    elif recompute == "none":
        base += cs2 * a * s * s * micro_batch / tp
    return base


def model_constants(m: ModelSpec, global_batch: int, *, attention: str = "flash", dp_overlap: bool = True,
                    uneven_pipeline: bool = False) -> np.ndarray:
    """The float64 vector of model constants the kernels read (see :mod:`._kernels`)."""
    from . import _kernels as K

    mc = np.zeros(K.MC_SIZE)
    if m.kind == "cnn":
        mc[K.MC_KIND] = 1.0
        mc[K.MC_P_MLP] = float(m.params_published)
        mc[K.MC_CNN_FLOPS] = float(m.forward_flops)
        mc[K.MC_CNN_ACT] = float(m.activation_bytes)
        mc[K.MC_L] = 1
        mc[K.MC_H] = mc[K.MC_A] = mc[K.MC_KV] = 1
        mc[K.MC_S] = 1
        mc[K.MC_E] = mc[K.MC_K] = 1
    else:
        p = layer_params(m)
        cu, ct, cs2 = activation_coefficients(m)
        shape = {"layers": K.MC_L, "hidden": K.MC_H, "heads": K.MC_A, "kv_heads": K.MC_KV, "ffn_hidden": K.MC_F,
                 "vocab": K.MC_V, "sequence_length": K.MC_S, "experts": K.MC_E, "top_k": K.MC_K}
        params = {"attention": K.MC_P_ATTN, "mlp": K.MC_P_MLP, "norm": K.MC_P_NORM, "router": K.MC_P_ROUTER,
                  "embedding": K.MC_P_EMB, "output": K.MC_P_OUT, "final_norm": K.MC_P_FINAL}
        for source, index in ((m, shape), (p, params)):
            for name, i in index.items():
                mc[i] = getattr(source, name)
        mc[K.MC_MATS] = 3 if m.mlp == "swiglu" else 2
        mc[[K.MC_CU, K.MC_CT, K.MC_CS2]] = cu, ct, cs2
    mc[K.MC_B] = global_batch
    mc[K.MC_FLASH] = ATTENTION[attention]
    mc[K.MC_LSE] = FLASH_LSE_BYTES if (attention == "flash" and m.kind != "cnn") else 0.0
    mc[K.MC_OVERLAP] = 1.0 if dp_overlap else 0.0
    mc[K.MC_UNEVEN] = 1.0 if uneven_pipeline else 0.0
    return mc


__all__ = ["layer_params", "parameter_count", "sc21_parameter_count", "sc21_flops", "flops_per_iteration",
           "model_flops_per_iteration", "forward_flops_per_sequence", "activation_bytes_per_layer",
           "activation_coefficients", "NORM_STAT_BYTES", "FLASH_LSE_BYTES", "model_constants", "BYTES_WEIGHTS", "BYTES_GRADS", "BYTES_OPTIMIZER",
           "BYTES_CHECKPOINT", "RECOMPUTE", "ATTENTION"]
