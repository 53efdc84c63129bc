"""numba kernels of the training model: one plan's step time and memory, and the plan search.

Plain float64/int64 arrays in SI units (s, B, FLOP/s, B/s). Imports only numpy, numba, math.
The equations are documented in :mod:`twin.training` (``estimate``) and mirrored without numba
in :mod:`twin.training._reference`.
"""
import math

import numpy as np
from numba import njit

# --- model constants vector (built by twin.training.formulas.model_constants) ---------------
MC_L, MC_H, MC_A, MC_KV, MC_F, MC_V, MC_S, MC_E, MC_K, MC_MATS = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
MC_P_ATTN, MC_P_MLP, MC_P_NORM, MC_P_ROUTER, MC_P_EMB, MC_P_OUT, MC_P_FINAL = 10, 11, 12, 13, 14, 15, 16
MC_CU, MC_CT, MC_CS2, MC_B, MC_FLASH, MC_OVERLAP, MC_KIND, MC_CNN_FLOPS, MC_CNN_ACT = 17, 18, 19, 20, 21, 22, 23, 24, 25
MC_UNEVEN = 26  # 1: uneven pipeline split allowed (stages of ceil(L/(pp v)) layers per chunk, ends lighter)
MC_LSE = 27     # bytes per head and token flash attention saves (fp32 log-sum-exp); 0 for unfused attention
MC_SIZE = 28

# --- hardware / efficiency vector ----------------------------------------------------------
HW_PEAK, HW_HBM_BW, HW_HBM_CAP, HW_DOMAIN, HW_CPN, HW_N = 0, 1, 2, 3, 4, 5
HW_ETA_MAX, HW_N_HALF, HW_ETA_MEM, HW_C_MEM, HW_T_LAUNCH, HW_RESERVE, HW_CLOCK = 6, 7, 8, 9, 10, 11, 12
HW_KERNELS = 13
# offload tier (ZeRO-Offload style), filled by twin.training.plan.offload_vector: GPU <-> tier bandwidth
# per GPU [B/s], tier memory bandwidth per GPU for the host-side optimizer step [B/s], tier capacity
# per GPU [B]; zero bandwidth = no tier available
HW_OFF_BW, HW_OFF_MEM_BW, HW_OFF_CAP = 14, 15, 16
# FP8 training (Transformer Engine style, filled by twin.training.hardware.hardware_vector from the compute
# domain's operator parameters): 1 when the layer GEMMs run in FP8; the 16-bit peak [FLOP/s] and GEMM
# ceiling (eta_max) of the operators that stay in BF16 (attention core, logits); HBM bytes per element of
# a cast (read bf16, write fp8 and its transpose) [B]
HW_FP8, HW_PEAK16, HW_ETA16, HW_CAST_B = 17, 18, 19, 20
HW_SIZE = 21

# --- outputs of one plan --------------------------------------------------------------------
O_STEP, O_COMPUTE, O_TP, O_PP, O_BUBBLE, O_DP, O_EP, O_OPT = 0, 1, 2, 3, 4, 5, 6, 7
O_M_WEIGHTS, O_M_GRADS, O_M_OPT, O_M_ACT, O_M_OTHER, O_M_TOTAL = 8, 9, 10, 11, 12, 13
O_DP_TOTAL, O_MICRO, O_PARAMS_GPU, O_T_MB = 14, 15, 16, 17
O_CP, O_OFFLOAD, O_M_HOST = 18, 19, 20   # exposed ring-attention time [s], exposed offload time [s], host bytes [B]
N_OUT = 21

# --- plan columns ---------------------------------------------------------------------------
P_TP, P_PP, P_DP, P_EP, P_MB, P_V, P_RC, P_ZERO, P_SP, P_CP, P_OFF = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
N_PLAN = 11

# --- offload modes --------------------------------------------------------------------------
OFF_NONE, OFF_OPT, OFF_OPT_ACT = 0, 1, 2

# --- rejection codes ------------------------------------------------------------------------
OK, R_TP_HEADS, R_TP_DOMAIN, R_PP_LAYERS, R_INTERLEAVE, R_EP, R_BATCH, R_SP, R_MEMORY, R_CARDS, R_CNN = range(11)
R_CP, R_TIER, R_HOST = 11, 12, 13
N_CODES = 14


@njit(cache=True)
def _eta(n, eta_max, n_half):
    return eta_max * n / (n + n_half)


@njit(cache=True)
def _zero_state(p, zero, group):
    """bf16 weights, bf16 gradients and fp32 Adam state (2, 2, 12 B per parameter) [B] of ``p``
    parameters, sharded over ``group`` ranks from ZeRO stage 3, 2 and 1 respectively."""
    w = 2.0 * p
    g = 2.0 * p
    o = 12.0 * p
    if zero >= 1:
        o = o / group
    if zero >= 2:
        g = g / group
    if zero >= 3:
        w = w / group
    return w, g, o


@njit(cache=True)
def stage_layers(L, pp, v, uneven):
    """Layers of the (first, middle, last) pipeline stage [1].

    Even split: L / pp each. Uneven split (Llama 3 405B: 126 layers on 16 stages): every chunk holds
    c = ceil(L / (pp v)) layers, and the D = pp v c - L missing layers are taken from the two end
    stages (last floor(D/2), first the rest; each keeps at least one layer per chunk), which carry
    the embedding and the logits; the middle stage keeps v c.
    """
    if uneven < 0.5 or pp == 1:
        x = L / pp
        return x, x, x
    c = math.ceil(L / (pp * v))
    full = v * c
    d = pp * v * c - L
    last = max(float(v), full - (d // 2))
    first = max(float(v), full - (d - d // 2))
    return first, float(full), last


@njit(cache=True)
def _model_dims(mc):
    """(L, h, a, kv, f, V, s, E, k, B) of the model-constant vector."""
    return (mc[MC_L], mc[MC_H], mc[MC_A], mc[MC_KV], mc[MC_F], mc[MC_V], mc[MC_S], mc[MC_E], mc[MC_K], mc[MC_B])


@njit(cache=True)
def _hw_rates(mc, hw):
    """(peak, hbm, emax, nh, cmem, tl, flash, fp8, peak16, emax16, cast_b): the rates one layer runs at.

    FP8 training: only the layer GEMMs run at the FP8 rate (peak, emax); the attention core and
    the logits stay 16-bit (peak16, emax16); cast_b is the bytes of one FP8 cast (0 without FP8)."""
    peak = hw[HW_PEAK] * hw[HW_CLOCK]
    fp8 = hw[HW_FP8] > 0.5
    return (peak, hw[HW_HBM_BW] * hw[HW_ETA_MEM], hw[HW_ETA_MAX], hw[HW_N_HALF], hw[HW_C_MEM],
            hw[HW_T_LAUNCH] * hw[HW_KERNELS], mc[MC_FLASH] > 0.5, fp8,
            hw[HW_PEAK16] * hw[HW_CLOCK] if fp8 else peak, hw[HW_ETA16] if fp8 else hw[HW_ETA_MAX],
            hw[HW_CAST_B] if fp8 else 0.0)


@njit(cache=True)
def _layer_params(mc, E):
    """(dense, expert) parameters of one transformer layer: with E > 1 experts the MLP's weights
    are expert weights (E copies), else they are dense."""
    dense = mc[MC_P_ATTN] + mc[MC_P_NORM] + mc[MC_P_ROUTER]
    if E > 1.5:
        return dense, E * mc[MC_P_MLP]
    return dense + mc[MC_P_MLP], 0.0


@njit(cache=True)
def _layer_gemm_time(T, h, qkv_out, f, tp, mats, k, E, peak, emax, nh):
    """Forward time [s] of one layer's GEMMs on T tokens: QKV, attention output, the MLP's up
    (mats - 1 matrices) and down projections, k of them per token (experts), and the router."""
    t_g = 2.0 * T * h * qkv_out / (peak * _eta(min(h, qkv_out), emax, nh))
    t_g += 2.0 * T * h * (h / tp) / (peak * _eta(min(h / tp, h), emax, nh))
    t_g += 2.0 * T * h * (f / tp) * (mats - 1.0) * k / (peak * _eta(min(h, f / tp), emax, nh))
    t_g += 2.0 * T * (f / tp) * h * k / (peak * _eta(min(f / tp, h), emax, nh))
    if E > 1.5:
        t_g += 2.0 * T * h * E / (peak * _eta(min(h, E), emax, nh))
    return t_g


@njit(cache=True)
def _recompute_time(rc, t_fwd, t_core):
    """Recomputation per layer [s]: the whole forward (full), the attention core (selective), none."""
    if rc == 2:
        return t_fwd
    if rc == 1:
        return t_core
    return 0.0


@njit(cache=True)
def _stage_pace(l_mid, l_last, t_layer, t_logit):
    """(layers, compute time [s]) of the slowest stage: the last (layers + logits) or a fuller middle one."""
    if l_mid * t_layer > l_last * t_layer + t_logit:
        return l_mid, l_mid * t_layer
    return l_last, l_last * t_layer + t_logit


@njit(cache=True)
def evaluate_plan(mc, hw, tp, pp, dp, ep, mb, v, rc, zero, sp,
                  tpa, tpb, dpa, dpb, ppa, ppb, epa, epb, out, cp=1, off=0, cpa=0.0, cpb=0.0):
    """Step-time breakdown [s] and memory [B] of one plan into ``out``; returns a rejection code.

    ``cp``: context-parallel degree (ring attention over cp ranks, each holding s / cp tokens);
    (dpa, dpb) are then the all-reduce of the dp x cp group and (cpa, cpb) the ring's point-to-point
    send. ``off``: OFF_NONE, OFF_OPT (optimizer state and step on the host tier) or OFF_OPT_ACT
    (also the activations of micro-batches in flight), over the tier in hw[HW_OFF_*].
    """
    for i in range(N_OUT):
        out[i] = 0.0
    L, h, a, kv, f, V, s, E, k, B = _model_dims(mc)
    cnn = mc[MC_KIND] > 0.5
    N = hw[HW_N]
    code = OK
    # ---- structural validity (first failing reason wins) ----
    if tp * pp * dp * cp > N:
        code = R_CARDS
    elif cnn and (tp > 1 or pp > 1 or ep > 1 or v > 1 or sp > 0 or cp > 1):
        code = R_CNN
    elif (not cnn) and (int(a) % tp != 0 or (int(kv) >= tp and int(kv) % tp != 0)):
        code = R_TP_HEADS
    elif tp > hw[HW_DOMAIN]:
        code = R_TP_DOMAIN
    elif (not cnn) and (int(L) % (pp * v) != 0 if mc[MC_UNEVEN] < 0.5 else pp * v > int(L)):
        code = R_PP_LAYERS
    elif int(E) % ep != 0 or dp % ep != 0:
        code = R_EP
    elif int(B) % (dp * mb) != 0:
        code = R_BATCH
    elif sp > 0 and tp == 1:
        code = R_SP
    elif cp > 1 and int(s) % (2 * cp) != 0:
        code = R_CP
    elif off > 0 and hw[HW_OFF_BW] <= 0.0:
        code = R_TIER
    m_micro = int(B) // (dp * mb) if dp * mb > 0 else 0
    if code == OK and v > 1 and (pp == 1 or m_micro % pp != 0):
        code = R_INTERLEAVE
    if code != OK:
        return code

    peak, hbm, emax, nh, cmem, tl, flash, fp8, peak16, emax16, cast_b = _hw_rates(mc, hw)
    sp_div = tp if sp > 0 else 1
    T = mb * s / cp  # tokens per micro-batch on one rank (context parallelism splits the sequence)
    dpz = dp * cp  # ZeRO / distributed-optimizer sharding group: data- and context-parallel ranks

    # ---- parameters per card (bottleneck stage) ----
    l_first = l_mid = l_last = 1.0
    w8 = 0.0  # weights of the FP8 layer GEMMs per layer on one card (attention + MLP / experts) [1]
    if cnn:
        p_dense = mc[MC_P_MLP]
        p_exp = 0.0
    else:
        p_layer_dense, p_layer_exp = _layer_params(mc, E)
        l_first, l_mid, l_last = stage_layers(L, pp, v, mc[MC_UNEVEN])
        first = mc[MC_P_EMB] / tp
        last = (mc[MC_P_OUT] if mc[MC_P_OUT] > 0 else mc[MC_P_EMB]) / tp + mc[MC_P_FINAL]
        if pp == 1:
            p_dense = l_mid * p_layer_dense / tp + mc[MC_P_EMB] / tp + mc[MC_P_OUT] / tp + mc[MC_P_FINAL]
        else:
            # the most loaded stage: an end stage with its embedding / logits, or a (fuller) middle one
            p_dense = max(max(l_first * p_layer_dense / tp + first, l_last * p_layer_dense / tp + last),
                          l_mid * p_layer_dense / tp)
        p_exp = l_mid * p_layer_exp / (tp * ep)
        if fp8:
            w8 = (mc[MC_P_ATTN] + (E * mc[MC_P_MLP] / ep if E > 1.5 else mc[MC_P_MLP])) / tp
    P = p_dense + p_exp
    out[O_PARAMS_GPU] = P
    dp_exp = dp / ep
    w, g, o = _zero_state(p_dense, zero, dpz)
    we, ge, oe = _zero_state(p_exp, zero, dp_exp)
    # FP8 copies of the layer weights and their transposes (1 B each): every layer of the stage, or
    # under ZeRO-3 only the layer whose weights are gathered
    w_fp8 = 2.0 * w8 * (1.0 if zero >= 3 else max(max(l_first, l_mid), l_last))
    out[O_M_WEIGHTS] = w + we + w_fp8
    out[O_M_GRADS] = g + ge
    out[O_M_OPT] = o + oe

    # ---- time of one micro-batch on the bottleneck stage ----
    if cnn:
        t_fwd = mb * mc[MC_CNN_FLOPS] / (peak * emax) + tl
        t_core = 0.0
        act = mb * mc[MC_CNN_ACT]
        out[O_M_ACT] = act
        t_c = 3.0 * t_fwd
        t_bwd_stage = 2.0 * t_fwd
        t_tp = 0.0
        t_ep = 0.0
        t_pp = 0.0
        t_cp = 0.0
        act_mb = act
        act_host = 0.0
        logit_mem = 0.0
        t_w8_step = 0.0
    else:
        act_host = 0.0
        d = h / a
        qkv_out = (h + 2.0 * kv * d) / tp
        mats = mc[MC_MATS]
        t_g = _layer_gemm_time(T, h, qkv_out, f, tp, mats, k, E, peak, emax, nh)
        cu = mc[MC_CU]
        ct = mc[MC_CT]
        act_hs = T * h * (cu / sp_div + ct / tp)          # bytes of the s b h activations
        act_s2 = 0.0 if flash else mc[MC_CS2] * a * s * T / tp
        act_lse = mc[MC_LSE] * a * T / tp                 # flash attention's saved softmax statistics
        t_core = 4.0 * T * s * h / tp / (peak16 * _eta(d, emax16, nh)) + cmem * act_s2 / hbm
        # FP8 casts (HBM-bound): each FP8 GEMM input in the forward pass and each output gradient in
        # the backward pass is read in bf16 and written in fp8 with its transpose
        x_in = T * (h / sp_div + h / tp + k * h / sp_div + k * f / tp)  # FP8 GEMM input elements
        t_cast_f = cast_b * x_in / hbm
        t_cast_b = cast_b * T * (qkv_out + h + k * (mats - 1.0) * f / tp + k * h) / hbm
        t_fwd = t_g + t_core + cmem * act_hs / hbm + tl + t_cast_f
        t_bwd = 2.0 * (t_fwd - t_cast_f) + t_cast_b
        t_rc = _recompute_time(rc, t_fwd, t_core)
        t_layer = t_fwd + t_bwd + t_rc
        # the weights' FP8 cast: per micro-batch (and recomputed forward) under ZeRO-3, whose gathered
        # bf16 weights are freed after use; otherwise once per step (t_w8_step below)
        t_w8 = cast_b * w8 / hbm
        if zero >= 3:
            t_layer += t_w8 * (2.0 if rc == 2 else 1.0)
        # logits on the last stage: forward + backward matmuls and the fp32 cross-entropy traffic
        t_logit = 3.0 * 2.0 * T * h * (V / tp) / (peak16 * _eta(min(h, V / tp), emax16, nh)) + 3.0 * cmem * 4.0 * T * V / tp / hbm
        # the slowest stage sets the pipeline's pace: the last (layers + logits) or a fuller middle one
        lps, t_c = _stage_pace(l_mid, l_last, t_layer, t_logit)
        t_bwd_stage = lps * (t_bwd + t_rc)
        t_w8_step = 0.0 if zero >= 3 else lps * t_w8
        # tensor-parallel all-reduces (or all-gather + reduce-scatter under SP, same volume)
        n_ar = 4.0 + (2.0 if rc == 2 else 0.0)
        t_tp = 0.0
        if tp > 1:
            t_tp = lps * n_ar * (tpa + tpb * 2.0 * T * h)
        # expert all-to-all: dispatch and combine, forward and backward (+ recompute)
        t_ep = 0.0
        if ep > 1:
            t_ep = lps * n_ar * (epa + epb * 2.0 * T * k * h / sp_div)
        # pipeline point-to-point: activations forward, gradients backward, per model chunk
        t_pp = 0.0
        if pp > 1:
            t_pp = 2.0 * v * (ppa + ppb * 2.0 * T * h / tp)
        # ring attention (context parallelism): cp - 1 steps per layer pass, each sending the K and V
        # of s / cp tokens (2 x T kv d / tp values of 2 B) while the attention block of the local
        # queries against one KV chunk (t_core / cp) computes; only the excess is exposed. Backward
        # moves K, V and their gradients against twice the block compute; full recomputation
        # repeats the forward.
        t_cp = 0.0
        if cp > 1:
            t_send = cpa + cpb * 4.0 * T * kv * d / tp
            per_pass = (cp - 1.0) * max(0.0, t_send - t_core / cp)
            t_cp = lps * per_pass * (3.0 + (1.0 if rc == 2 else 0.0))
        # activation memory of the first stage: p micro-batches in flight (Korthikanti et al.)
        if rc == 2:
            act_layer = 2.0 * T * h / sp_div
        else:
            act_layer = act_hs + (act_s2 if rc == 0 else 0.0) + act_lse
            if fp8:  # the GEMM inputs are kept for the backward pass in fp8 (1 B instead of 2 B)
                act_layer -= x_in
        inflight = min(pp, m_micro)
        ilv = (1.0 + (pp - 1.0) / (pp * v)) if v > 1 else 1.0
        act = act_layer * l_first * inflight * ilv
        if pp > 1 and l_mid > l_first:  # a fuller second stage holds one micro-batch fewer
            act = max(act, act_layer * l_mid * min(pp - 1, m_micro) * ilv)
        act_mb = act_layer * max(l_first, l_mid)  # one micro-batch's stored activations on a stage
        if off == OFF_OPT_ACT:
            # activation offload: only the micro-batch computing and the one in transfer stay in HBM,
            # the rest of the micro-batches in flight wait on the tier
            kept = min(act, 2.0 * act_mb)
            act_host = act - kept
            act = kept
        if rc == 2:
            act += act_hs + act_s2 + act_lse  # working set of the layer being recomputed
        logit_mem = 2.0 * 4.0 * T * V / tp
        out[O_M_ACT] = act
    # optimizer offload (ZeRO-Offload): fp32 master weights, momentum and variance live on the tier
    host = 0.0
    if off >= OFF_OPT:
        host = out[O_M_OPT]
        out[O_M_OPT] = 0.0
    if off == OFF_OPT_ACT:
        host += act_host
    out[O_M_HOST] = host
    out[O_M_OTHER] = logit_mem + hw[HW_RESERVE]
    total = out[O_M_WEIGHTS] + out[O_M_GRADS] + out[O_M_OPT] + out[O_M_ACT] + out[O_M_OTHER]
    out[O_M_TOTAL] = total

    # activation offload traffic: each micro-batch's activations go down after its forward and come
    # back before its backward, overlapped with that micro-batch's compute; the excess is exposed
    t_act_off = 0.0
    if off == OFF_OPT_ACT and not cnn:
        t_act_off = max(0.0, 2.0 * act_mb / hw[HW_OFF_BW] - t_c)
    t_mb = t_c + t_tp + t_ep + t_pp + t_cp + t_act_off
    out[O_T_MB] = t_mb
    mm = float(m_micro)
    out[O_MICRO] = mm
    out[O_COMPUTE] = mm * t_c + t_w8_step
    out[O_TP] = mm * t_tp
    out[O_EP] = mm * t_ep
    out[O_PP] = mm * t_pp
    out[O_CP] = mm * t_cp
    out[O_BUBBLE] = (pp - 1.0) / v * t_mb
    # data-parallel gradient reduction (ZeRO-3 adds the parameter all-gathers: 1.5x volume)
    t_dp = 0.0
    if dpz > 1:
        vol = 2.0 * p_dense + (2.0 * p_exp if dp_exp > 1 else 0.0)
        if zero >= 3:
            # reduce-scatter of gradients (half an all-reduce) + parameter all-gathers before the
            # forward and the backward of every micro-batch (half an all-reduce each)
            vol *= 0.5 + m_micro
        t_dp = dpa + dpb * vol
    out[O_DP_TOTAL] = t_dp
    if mc[MC_OVERLAP] > 0.5:
        out[O_DP] = max(0.0, t_dp - t_bwd_stage)
    else:
        out[O_DP] = t_dp
    # optimizer step: memory-bound, ~36 B per local parameter (read/write master, m, v; grads; weights)
    p_local = p_dense / (dpz if zero >= 1 else 1) + p_exp / (dp_exp if zero >= 1 else 1)
    out[O_OFFLOAD] = mm * t_act_off
    if off >= OFF_OPT:
        # host-side step (memory-bound CPU Adam, 36 B per local parameter through the tier's memory)
        # plus the fp16 gradients down (overlapped with the backward pass like the DP reduction)
        # and the updated fp16 weights back up (not overlapped)
        t_down = 2.0 * p_local / hw[HW_OFF_BW]
        t_opt_off = 36.0 * p_local / hw[HW_OFF_MEM_BW] + 2.0 * p_local / hw[HW_OFF_BW]
        out[O_OFFLOAD] += t_opt_off + max(0.0, t_down - t_bwd_stage)
        out[O_OPT] = 0.0
    else:
        out[O_OPT] = 36.0 * p_local / hbm
    out[O_STEP] = (out[O_COMPUTE] + out[O_TP] + out[O_EP] + out[O_PP] + out[O_CP] + out[O_BUBBLE] + out[O_DP]
                   + out[O_OPT] + out[O_OFFLOAD])
    if off > 0 and host > hw[HW_OFF_CAP]:
        return R_HOST
    if total > hw[HW_HBM_CAP]:
        return R_MEMORY
    return OK


@njit(cache=True)
def search_plans(mc, hw, tps, pps, dps, eps, mbs, vs, rcs, zeros, sps, cps, offs,
                 tp_ab, dp_ab, pp_ab, ep_ab, cp_ab, plans, step, mem, code):
    """Enumerate every plan of the lists (cards <= N) into ``plans``; fill step [s], mem [B], code.

    Returns the number of plans written. ``tp_ab[i]``, ``dp_ab[i, c, j]``, ``pp_ab[i, c, j]``,
    ``ep_ab[i, e]`` and ``cp_ab[i, c]`` hold (alpha [s], beta [s/B]) of the collectives for tps[i],
    the dps[j] x cps[c] gradient group, eps[e] and the cps[c] attention ring.

    The equations of :func:`evaluate_plan`, operation for operation (the results are the same to
    the last bit), each evaluated in the outermost loop where its inputs are known: the layer
    times per (tp, cp, micro-batch) for every sp, recomputation and ZeRO stage, the stage layers
    per (pp, v), the ZeRO state per (dp, ep, v, zero); per plan only what couples them.
    """
    if mc[MC_KIND] > 0.5:
        return _search_each(mc, hw, tps, pps, dps, eps, mbs, vs, rcs, zeros, sps, cps, offs,
                            tp_ab, dp_ab, pp_ab, ep_ab, cp_ab, plans, step, mem, code)
    L, h, a, kv, f, V, s, E, k, B = _model_dims(mc)
    mats = mc[MC_MATS]
    N = hw[HW_N]
    uneven = mc[MC_UNEVEN]
    overlap = mc[MC_OVERLAP] > 0.5
    peak, hbm, emax, nh, cmem, tl, flash, fp8, peak16, emax16, cast_b = _hw_rates(mc, hw)
    off_bw = hw[HW_OFF_BW]
    reserve = hw[HW_RESERVE]
    p_ld, p_le = _layer_params(mc, E)
    d = h / a
    nv, nr, nz, ns, no = vs.shape[0], rcs.shape[0], zeros.shape[0], sps.shape[0], offs.shape[0]
    # per v (set per pp): stage layers, dense parameters, interleave factor; per v (per ep): experts
    lf, lm, ll, lmax, ilv = np.empty(nv), np.empty(nv), np.empty(nv), np.empty(nv), np.empty(nv)
    pden, pexp = np.empty(nv), np.empty(nv)
    bad_l = np.zeros(nv, dtype=np.bool_)
    # per (v, zero) (set per ep): ZeRO state [B] and local parameters
    m_wg, m_o = np.empty((nv, nz)), np.empty((nv, nz))
    t_opt, t_opt_off, t_down = np.empty((nv, nz)), np.zeros((nv, nz)), np.zeros((nv, nz))  # optimizer step, offload
    # per sp (set per micro-batch): activations, forward / backward time of one layer
    a_hs, t_fw, t_bw, ep_u = np.empty(ns), np.empty(ns), np.empty(ns), np.empty(ns)
    # per (sp, rc) and (sp, rc, zero): recomputation, stored activations, layer time
    t_rcs, a_lay = np.empty((ns, nr)), np.empty((ns, nr))
    t_lay = np.empty((ns, nr, nz))
    n = 0
    for i in range(tps.shape[0]):
        tp = tps[i]
        bad_tp = 0
        if int(a) % tp != 0 or (int(kv) >= tp and int(kv) % tp != 0):
            bad_tp = R_TP_HEADS
        elif tp > hw[HW_DOMAIN]:
            bad_tp = R_TP_DOMAIN
        first = mc[MC_P_EMB] / tp
        last = (mc[MC_P_OUT] if mc[MC_P_OUT] > 0 else mc[MC_P_EMB]) / tp + mc[MC_P_FINAL]
        qkv_out = (h + 2.0 * kv * d) / tp
        tpa = tp_ab[i, 0]
        tpb = tp_ab[i, 1]
        for ic in range(cps.shape[0]):
            cp = cps[ic]
            bad_cp = cp > 1 and int(s) % (2 * cp) != 0
            cpa = cp_ab[i, ic, 0]
            cpb = cp_ab[i, ic, 1]
            for ip in range(pps.shape[0]):
                pp = pps[ip]
                for iv in range(nv):
                    v = vs[iv]
                    bad_l[iv] = int(L) % (pp * v) != 0 if uneven < 0.5 else pp * v > int(L)
                    l_first, l_mid, l_last = stage_layers(L, pp, v, uneven)
                    lf[iv] = l_first
                    lm[iv] = l_mid
                    ll[iv] = l_last
                    lmax[iv] = max(max(l_first, l_mid), l_last)
                    if pp == 1:
                        pden[iv] = l_mid * p_ld / tp + mc[MC_P_EMB] / tp + mc[MC_P_OUT] / tp + mc[MC_P_FINAL]
                    else:
                        pden[iv] = max(max(l_first * p_ld / tp + first, l_last * p_ld / tp + last), l_mid * p_ld / tp)
                    ilv[iv] = (1.0 + (pp - 1.0) / (pp * v)) if v > 1 else 1.0
                for j in range(dps.shape[0]):
                    dp = dps[j]
                    if tp * pp * dp * cp > N:
                        continue
                    dpz = dp * cp
                    dpa = dp_ab[i, ic, j, 0]
                    dpb = dp_ab[i, ic, j, 1]
                    ppa = pp_ab[i, ic, j, 0]
                    ppb = pp_ab[i, ic, j, 1]
                    for e in range(eps.shape[0]):
                        ep = eps[e]
                        bad_ep = int(E) % ep != 0 or dp % ep != 0
                        dp_exp = dp / ep
                        epa = ep_ab[i, e, 0]
                        epb = ep_ab[i, e, 1]
                        w8 = 0.0
                        if fp8:
                            w8 = (mc[MC_P_ATTN] + (E * mc[MC_P_MLP] / ep if E > 1.5 else mc[MC_P_MLP])) / tp
                        t_w8 = cast_b * w8 / hbm
                        for iv in range(nv):
                            pexp[iv] = lm[iv] * p_le / (tp * ep)
                            for iz in range(nz):
                                zero = zeros[iz]
                                w, g, o = _zero_state(pden[iv], zero, dpz)
                                we, ge, oe = _zero_state(pexp[iv], zero, dp_exp)
                                w_fp8 = 2.0 * w8 * (1.0 if zero >= 3 else lmax[iv])
                                m_wg[iv, iz] = (w + we + w_fp8) + (g + ge)
                                m_o[iv, iz] = o + oe
                                p_local = (pden[iv] / (dpz if zero >= 1 else 1)
                                           + pexp[iv] / (dp_exp if zero >= 1 else 1))
                                t_opt[iv, iz] = 36.0 * p_local / hbm
                                if off_bw > 0.0:
                                    t_down[iv, iz] = 2.0 * p_local / off_bw
                                    t_opt_off[iv, iz] = 36.0 * p_local / hw[HW_OFF_MEM_BW] + 2.0 * p_local / off_bw
                        for ib in range(mbs.shape[0]):
                            mb = mbs[ib]
                            bad_b = int(B) % (dp * mb) != 0
                            m_micro = int(B) // (dp * mb)
                            mm = float(m_micro)
                            T = mb * s / cp
                            # one layer's times on this (tp, cp, micro-batch), as evaluate_plan
                            t_g = _layer_gemm_time(T, h, qkv_out, f, tp, mats, k, E, peak, emax, nh)
                            act_s2 = 0.0 if flash else mc[MC_CS2] * a * s * T / tp
                            act_lse = mc[MC_LSE] * a * T / tp
                            t_core = 4.0 * T * s * h / tp / (peak16 * _eta(d, emax16, nh)) + cmem * act_s2 / hbm
                            t_cast_b = cast_b * T * (qkv_out + h + k * (mats - 1.0) * f / tp + k * h) / hbm
                            t_logit = (3.0 * 2.0 * T * h * (V / tp) / (peak16 * _eta(min(h, V / tp), emax16, nh))
                                       + 3.0 * cmem * 4.0 * T * V / tp / hbm)
                            logit_mem = 2.0 * 4.0 * T * V / tp
                            tp_u = tpa + tpb * 2.0 * T * h
                            per_pass = 0.0
                            if cp > 1:
                                t_send = cpa + cpb * 4.0 * T * kv * d / tp
                                per_pass = (cp - 1.0) * max(0.0, t_send - t_core / cp)
                            for isp in range(ns):
                                sp_div = tp if sps[isp] > 0 else 1
                                act_hs = T * h * (mc[MC_CU] / sp_div + mc[MC_CT] / tp)
                                x_in = T * (h / sp_div + h / tp + k * h / sp_div + k * f / tp)
                                t_cast_f = cast_b * x_in / hbm
                                t_fwd = t_g + t_core + cmem * act_hs / hbm + tl + t_cast_f
                                t_bwd = 2.0 * (t_fwd - t_cast_f) + t_cast_b
                                a_hs[isp] = act_hs + act_s2 + act_lse
                                t_fw[isp] = t_fwd
                                t_bw[isp] = t_bwd
                                ep_u[isp] = epa + epb * 2.0 * T * k * h / sp_div
                                for ir in range(nr):
                                    rc = rcs[ir]
                                    t_rc = _recompute_time(rc, t_fwd, t_core)
                                    t_rcs[isp, ir] = t_rc
                                    if rc == 2:
                                        a_lay[isp, ir] = 2.0 * T * h / sp_div
                                    else:
                                        act_layer = act_hs + (act_s2 if rc == 0 else 0.0) + act_lse
                                        if fp8:
                                            act_layer -= x_in
                                        a_lay[isp, ir] = act_layer
                                    t_layer = t_fwd + t_bwd + t_rc
                                    for iz in range(nz):
                                        if zeros[iz] >= 3:
                                            t_lay[isp, ir, iz] = t_layer + t_w8 * (2.0 if rc == 2 else 1.0)
                                        else:
                                            t_lay[isp, ir, iz] = t_layer
                            for iv in range(nv):
                                v = vs[iv]
                                c_v = bad_tp
                                if c_v == OK and bad_l[iv]:
                                    c_v = R_PP_LAYERS
                                if c_v == OK and bad_ep:
                                    c_v = R_EP
                                if c_v == OK and bad_b:
                                    c_v = R_BATCH
                                bad_ilv = v > 1 and (pp == 1 or m_micro % pp != 0)
                                bubble = (pp - 1.0) / v
                                l_first = lf[iv]
                                l_mid = lm[iv]
                                l_last = ll[iv]
                                t_pp = 0.0
                                if pp > 1:
                                    t_pp = 2.0 * v * (ppa + ppb * 2.0 * T * h / tp)
                                inflight = min(pp, m_micro)
                                for ir in range(nr):
                                    rc = rcs[ir]
                                    n_ar = 4.0 + (2.0 if rc == 2 else 0.0)
                                    for iz in range(nz):
                                        zero = zeros[iz]
                                        for isp in range(ns):
                                            sp = sps[isp]
                                            c_s = c_v
                                            if c_s == OK and sp > 0 and tp == 1:
                                                c_s = R_SP
                                            if c_s == OK and bad_cp:
                                                c_s = R_CP
                                            t_c = t_bwd_stage = act = act_mb = t_mb0 = step0 = t_dpx = 0.0
                                            if c_s == OK:
                                                t_layer = t_lay[isp, ir, iz]
                                                lps, t_c = _stage_pace(l_mid, l_last, t_layer, t_logit)
                                                t_bwd_stage = lps * (t_bw[isp] + t_rcs[isp, ir])
                                                t_w8_step = 0.0 if zero >= 3 else lps * t_w8
                                                t_tp = lps * n_ar * tp_u if tp > 1 else 0.0
                                                t_ep = lps * n_ar * ep_u[isp] if ep > 1 else 0.0
                                                t_cp = lps * per_pass * (3.0 + (1.0 if rc == 2 else 0.0)) if cp > 1 else 0.0
                                                act_layer = a_lay[isp, ir]
                                                act = act_layer * l_first * inflight * ilv[iv]
                                                if pp > 1 and l_mid > l_first:
                                                    act = max(act, act_layer * l_mid * min(pp - 1, m_micro) * ilv[iv])
                                                act_mb = act_layer * max(l_first, l_mid)
                                                t_mb0 = t_c + t_tp + t_ep + t_pp + t_cp
                                                step0 = mm * t_c + t_w8_step + mm * t_tp + mm * t_ep + mm * t_pp + mm * t_cp
                                                t_dp = 0.0
                                                if dpz > 1:
                                                    vol = 2.0 * pden[iv] + (2.0 * pexp[iv] if dp_exp > 1 else 0.0)
                                                    if zero >= 3:
                                                        vol *= 0.5 + m_micro
                                                    t_dp = dpa + dpb * vol
                                                t_dpx = max(0.0, t_dp - t_bwd_stage) if overlap else t_dp
                                            for io in range(no):
                                                off = offs[io]
                                                c = c_s
                                                if c == OK and off > 0 and off_bw <= 0.0:
                                                    c = R_TIER
                                                if c == OK and bad_ilv:
                                                    c = R_INTERLEAVE
                                                st = 0.0
                                                total = 0.0
                                                if c == OK:
                                                    act_o = act
                                                    m_opt = m_o[iv, iz]
                                                    host = 0.0
                                                    if off >= OFF_OPT:
                                                        host = m_opt
                                                        m_opt = 0.0
                                                    t_act_off = 0.0
                                                    if off == OFF_OPT_ACT:
                                                        kept = min(act, 2.0 * act_mb)
                                                        host += act - kept
                                                        act_o = kept
                                                        t_act_off = max(0.0, 2.0 * act_mb / off_bw - t_c)
                                                    if rc == 2:
                                                        act_o += a_hs[isp]
                                                    total = m_wg[iv, iz] + m_opt + act_o + (logit_mem + reserve)
                                                    offload = mm * t_act_off
                                                    if off >= OFF_OPT:
                                                        offload += t_opt_off[iv, iz] + max(0.0, t_down[iv, iz] - t_bwd_stage)
                                                        opt = 0.0
                                                    else:
                                                        opt = t_opt[iv, iz]
                                                    st = step0 + bubble * (t_mb0 + t_act_off) + t_dpx + opt + offload
                                                    if off > 0 and host > hw[HW_OFF_CAP]:
                                                        c = R_HOST
                                                    elif total > hw[HW_HBM_CAP]:
                                                        c = R_MEMORY
                                                plans[n, P_TP] = tp
                                                plans[n, P_PP] = pp
                                                plans[n, P_DP] = dp
                                                plans[n, P_EP] = ep
                                                plans[n, P_MB] = mb
                                                plans[n, P_V] = v
                                                plans[n, P_RC] = rc
                                                plans[n, P_ZERO] = zero
                                                plans[n, P_SP] = sp
                                                plans[n, P_CP] = cp
                                                plans[n, P_OFF] = off
                                                step[n] = st
                                                mem[n] = total
                                                code[n] = c
                                                n += 1
    return n


@njit(cache=True)
def _search_each(mc, hw, tps, pps, dps, eps, mbs, vs, rcs, zeros, sps, cps, offs,
                 tp_ab, dp_ab, pp_ab, ep_ab, cp_ab, plans, step, mem, code):
    """:func:`search_plans` one plan at a time through :func:`evaluate_plan` (the CNN grids, a few
    hundred plans)."""
    out = np.zeros(N_OUT)
    n = 0
    N = hw[HW_N]
    for i in range(tps.shape[0]):
        tp = tps[i]
        for ic in range(cps.shape[0]):
            cp = cps[ic]
            for ip in range(pps.shape[0]):
                pp = pps[ip]
                for j in range(dps.shape[0]):
                    dp = dps[j]
                    if tp * pp * dp * cp > N:
                        continue
                    for e in range(eps.shape[0]):
                        ep = eps[e]
                        for ib in range(mbs.shape[0]):
                            for iv in range(vs.shape[0]):
                                for ir in range(rcs.shape[0]):
                                    for iz in range(zeros.shape[0]):
                                        for isp in range(sps.shape[0]):
                                            for io in range(offs.shape[0]):
                                                c = evaluate_plan(mc, hw, tp, pp, dp, ep, mbs[ib], vs[iv], rcs[ir], zeros[iz],
                                                                  sps[isp], tp_ab[i, 0], tp_ab[i, 1],
                                                                  dp_ab[i, ic, j, 0], dp_ab[i, ic, j, 1],
                                                                  pp_ab[i, ic, j, 0], pp_ab[i, ic, j, 1],
                                                                  ep_ab[i, e, 0], ep_ab[i, e, 1], out,
                                                                  cp, offs[io], cp_ab[i, ic, 0], cp_ab[i, ic, 1])
                                                plans[n, P_TP] = tp
                                                plans[n, P_PP] = pp
                                                plans[n, P_DP] = dp
                                                plans[n, P_EP] = ep
                                                plans[n, P_MB] = mbs[ib]
                                                plans[n, P_V] = vs[iv]
                                                plans[n, P_RC] = rcs[ir]
                                                plans[n, P_ZERO] = zeros[iz]
                                                plans[n, P_SP] = sps[isp]
                                                plans[n, P_CP] = cp
                                                plans[n, P_OFF] = offs[io]
                                                step[n] = out[O_STEP]
                                                mem[n] = out[O_M_TOTAL]
                                                code[n] = c
                                                n += 1
    return n


@njit(cache=True)
def pareto_keep(order, step):
    """The indices of ``order`` (plans by card count, then step time) that beat every earlier one's
    step time by more than 1e-12 relative: the Pareto front of :func:`twin.training.search.pareto_front`."""
    keep = np.empty(order.shape[0], dtype=np.int64)
    best = np.inf
    m = 0
    for i in order:
        if step[i] < best * (1 - 1e-12):
            keep[m] = i
            m += 1
            best = step[i]
    return keep[:m]
