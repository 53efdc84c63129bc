"""References of the training kernels (no numba): one plan, the plain enumeration, the NumPy search.

Written from the equations in :func:`twin.training.estimate` independently of ``_kernels`` (dicts
and named quantities instead of index vectors); tests compare the two. :func:`search_plans_numpy` is
the same search as NumPy arrays over the whole plan grid: the ``parallel-search-1t-3072`` benchmark
times the kernel against it (tests hold it to the kernel and to :func:`search_plans`).
"""
from __future__ import annotations

import itertools

import numpy as np

from . import _kernels as K  # index constants only

REJECT_ORDER = ("cards", "cnn", "heads", "domain", "layers", "experts", "batch", "sp", "cp", "tier", "interleave")
CODES = {"cards": K.R_CARDS, "cnn": K.R_CNN, "heads": K.R_TP_HEADS, "domain": K.R_TP_DOMAIN, "layers": K.R_PP_LAYERS,
         "experts": K.R_EP, "batch": K.R_BATCH, "sp": K.R_SP, "cp": K.R_CP, "tier": K.R_TIER,
         "interleave": K.R_INTERLEAVE}


def _model(mc):
    names = {"L": K.MC_L, "h": K.MC_H, "a": K.MC_A, "kv": K.MC_KV, "f": K.MC_F, "V": K.MC_V, "s": K.MC_S,
             "E": K.MC_E, "k": K.MC_K, "mats": K.MC_MATS, "p_attn": K.MC_P_ATTN, "p_mlp": K.MC_P_MLP,
             "p_norm": K.MC_P_NORM, "p_router": K.MC_P_ROUTER, "p_emb": K.MC_P_EMB, "p_out": K.MC_P_OUT,
             "p_final": K.MC_P_FINAL, "cu": K.MC_CU, "ct": K.MC_CT, "cs2": K.MC_CS2, "B": K.MC_B,
             "lse": K.MC_LSE}
    d = {k: float(mc[i]) for k, i in names.items()}
    d["flash"] = mc[K.MC_FLASH] > 0.5
    d["overlap"] = mc[K.MC_OVERLAP] > 0.5
    d["uneven"] = mc[K.MC_UNEVEN] > 0.5
    d["cnn"] = mc[K.MC_KIND] > 0.5
    d["cnn_flops"] = float(mc[K.MC_CNN_FLOPS])
    d["cnn_act"] = float(mc[K.MC_CNN_ACT])
    return d


def _hw(hw):
    return {"peak": hw[K.HW_PEAK] * hw[K.HW_CLOCK], "hbm": hw[K.HW_HBM_BW] * hw[K.HW_ETA_MEM], "cap": hw[K.HW_HBM_CAP],
            "domain": hw[K.HW_DOMAIN], "N": hw[K.HW_N], "eta_max": hw[K.HW_ETA_MAX], "n_half": hw[K.HW_N_HALF],
            "c_mem": hw[K.HW_C_MEM], "launch": hw[K.HW_T_LAUNCH] * hw[K.HW_KERNELS], "reserve": hw[K.HW_RESERVE],
            "tier_link": hw[K.HW_OFF_BW], "tier_mem": hw[K.HW_OFF_MEM_BW], "tier_cap": hw[K.HW_OFF_CAP],
            "fp8": hw[K.HW_FP8] > 0.5, "peak16": hw[K.HW_PEAK16] * hw[K.HW_CLOCK], "eta16": hw[K.HW_ETA16],
            "cast": hw[K.HW_CAST_B]}


def _why_invalid(M, H, tp, pp, dp, ep, mb, v, sp, cp=1, off=0):
    checks = {
        "cards": tp * pp * dp * cp > H["N"],
        "cnn": M["cnn"] and (tp > 1 or pp > 1 or ep > 1 or v > 1 or sp > 0 or cp > 1),
        "heads": (not M["cnn"]) and (int(M["a"]) % tp != 0 or (int(M["kv"]) >= tp and int(M["kv"]) % tp != 0)),
        "domain": tp > H["domain"],
        "layers": (not M["cnn"]) and (pp * v > int(M["L"]) if M["uneven"] else int(M["L"]) % (pp * v) != 0),
        "experts": int(M["E"]) % ep != 0 or dp % ep != 0,
        "batch": int(M["B"]) % (dp * mb) != 0,
        "sp": sp > 0 and tp == 1,
        "cp": cp > 1 and int(M["s"]) % (2 * cp) != 0,
        "tier": off > 0 and H["tier_link"] <= 0,
    }
    for name in REJECT_ORDER[:-1]:
        if checks[name]:
            return CODES[name]
    micro = int(M["B"]) // (dp * mb)
    if v > 1 and (pp == 1 or micro % pp != 0):
        return K.R_INTERLEAVE
    return K.OK


def stage_layers(L: float, pp: int, v: int, uneven: bool) -> tuple[float, float, float]:
    """(first, middle, last) stage layers: even L/pp, or chunks of ceil(L/(pp v)) with the shortfall
    taken from the end stages (the last gives floor(D/2), the first the rest, >= 1 layer per chunk)."""
    if not uneven or pp == 1:
        return (L / pp,) * 3
    chunk = -(-int(L) // (pp * v))
    shortfall = pp * v * chunk - int(L)
    full = float(v * chunk)
    return max(v, full - (shortfall - shortfall // 2)), full, max(v, full - shortfall // 2)


def plan_reference(mc, hw, tp, pp, dp, ep, mb, v, rc, zero, sp, comm, cp=1, off=0):
    """One plan: (code, dict of step-time parts [s] and memory parts [B]).

    ``comm`` = {"tp": (alpha, beta), "dp": ... (the dp x cp group), "pp": ..., "ep": ..., "cp": ring step}.
    ``off``: 0 none, 1 optimizer, 2 optimizer + activations offloaded to the tier in hw.
    """
    M, H = _model(mc), _hw(hw)
    code = _why_invalid(M, H, tp, pp, dp, ep, mb, v, sp, cp, off)
    if code != K.OK:
        return code, None
    eta = lambda n: H["eta_max"] * n / (n + H["n_half"])  # noqa: E731
    peak, hbm, cmem = H["peak"], H["hbm"], H["c_mem"]
    # FP8 training runs only the layer GEMMs in FP8: attention core and logits at the 16-bit rate
    fp8 = H["fp8"]
    peak_att = H["peak16"] if fp8 else peak
    eta_att = (lambda n: H["eta16"] * n / (n + H["n_half"])) if fp8 else eta  # noqa: E731
    cast = H["cast"] if fp8 else 0.0
    micro = int(M["B"]) // (dp * mb)
    tokens = mb * M["s"] / cp  # a context-parallel rank holds s / cp tokens of each sequence
    group = dp * cp            # ZeRO sharding and gradient reduction span data- and context-parallel ranks
    spd = tp if sp else 1
    res = {}
    fp8_weights = 0.0  # weights of the FP8 GEMMs of one layer on one card
    # parameters on the most loaded stage
    if M["cnn"]:
        dense, expert = M["p_mlp"], 0.0
    else:
        per_layer = M["p_attn"] + M["p_norm"] + M["p_router"]
        moe = M["E"] > 1.5
        if not moe:
            per_layer += M["p_mlp"]
        first_l, mid_l, last_l = stage_layers(M["L"], pp, v, M["uneven"])
        expert = mid_l * (M["E"] * M["p_mlp"] if moe else 0.0) / (tp * ep)
        if fp8:
            fp8_weights = (M["p_attn"] + (M["E"] * M["p_mlp"] / ep if moe else M["p_mlp"])) / tp
        if pp == 1:
            dense = mid_l * per_layer / tp + (M["p_emb"] + M["p_out"]) / tp + M["p_final"]
        else:
            out_w = M["p_out"] if M["p_out"] > 0 else M["p_emb"]
            dense = max(first_l * per_layer / tp + M["p_emb"] / tp, mid_l * per_layer / tp,
                        last_l * per_layer / tp + out_w / tp + M["p_final"])
    dp_e = dp / ep
    shard = lambda stage, div: (div if zero >= stage else 1)  # noqa: E731
    res["m_weights"] = 2 * dense / shard(3, group) + 2 * expert / shard(3, dp_e)
    if fp8:  # an fp8 copy and its transpose of every layer held, or of the one gathered layer under ZeRO-3
        res["m_weights"] += 2 * fp8_weights * (1 if zero >= 3 else max(first_l, mid_l, last_l))
    res["m_grads"] = 2 * dense / shard(2, group) + 2 * expert / shard(2, dp_e)
    res["m_opt"] = 12 * dense / shard(1, group) + 12 * expert / shard(1, dp_e)
    parked = 0.0
    if M["cnn"]:
        fwd = mb * M["cnn_flops"] / (peak * H["eta_max"]) + H["launch"]
        res.update(compute_mb=3 * fwd, bwd_stage=2 * fwd, tp_mb=0.0, ep_mb=0.0, pp_mb=0.0, cp_mb=0.0, act_off_mb=0.0)
        weight_cast_step = 0.0
        res["m_act"] = mb * M["cnn_act"]
        logits_mem = 0.0
    else:
        h, a, kv, f, s, V, k, E = M["h"], M["a"], M["kv"], M["f"], M["s"], M["V"], M["k"], M["E"]
        hd = h / a
        qkv = (h + 2 * kv * hd) / tp
        gemms = [(2 * tokens * h * qkv, min(h, qkv)),
                 (2 * tokens * h * h / tp, min(h / tp, h)),
                 (2 * tokens * h * f / tp * (M["mats"] - 1) * k, min(h, f / tp)),
                 (2 * tokens * f / tp * h * k, min(f / tp, h))]
        if E > 1.5:
            gemms.append((2 * tokens * h * E, min(h, E)))
        t_gemm = sum(F / (peak * eta(n)) for F, n in gemms)
        act_hs = tokens * h * (M["cu"] / spd + M["ct"] / tp)
        act_s2 = 0.0 if M["flash"] else M["cs2"] * a * s * tokens / tp
        softmax_stats = M["lse"] * a * tokens / tp  # flash attention keeps only the log-sum-exp per head and token
        t_core = 4 * tokens * s * h / tp / (peak_att * eta_att(hd)) + cmem * act_s2 / hbm
        # casts to fp8 (+ transpose) of the GEMM inputs (forward) and output gradients (backward)
        gemm_inputs = tokens * (h / spd + h / tp + k * h / spd + k * f / tp)
        fwd_cast = cast * gemm_inputs / hbm
        bwd_cast = cast * tokens * (qkv + h + k * (M["mats"] - 1) * f / tp + k * h) / hbm
        fwd = t_gemm + t_core + cmem * act_hs / hbm + H["launch"] + fwd_cast
        bwd = 2 * (fwd - fwd_cast) + bwd_cast
        recompute = {0: 0.0, 1: t_core, 2: fwd}[rc]
        logits = (3 * 2 * tokens * h * (V / tp) / (peak_att * eta_att(min(h, V / tp)))
                  + 3 * cmem * 4 * tokens * V / tp / hbm)
        per_layer_t = fwd + bwd + recompute
        weight_cast = cast * fp8_weights / hbm
        if zero >= 3:  # gathered weights are cast every micro-batch (and again for a recomputed forward)
            per_layer_t += weight_cast * (2 if rc == 2 else 1)
        # the slowest stage paces the pipeline: a fuller middle stage, or the last one with the logits
        if mid_l * per_layer_t > last_l * per_layer_t + logits:
            layers, res["compute_mb"] = mid_l, mid_l * per_layer_t
        else:
            layers, res["compute_mb"] = last_l, last_l * per_layer_t + logits
        res["bwd_stage"] = layers * (bwd + recompute)
        weight_cast_step = 0.0 if zero >= 3 else layers * weight_cast  # once per step, after the optimizer
        n_coll = 6 if rc == 2 else 4
        a_tp, b_tp = comm["tp"]
        res["tp_mb"] = layers * n_coll * (a_tp + b_tp * 2 * tokens * h) if tp > 1 else 0.0
        a_ep, b_ep = comm["ep"]
        res["ep_mb"] = layers * n_coll * (a_ep + b_ep * 2 * tokens * k * h / spd) if ep > 1 else 0.0
        a_pp, b_pp = comm["pp"]
        res["pp_mb"] = 2 * v * (a_pp + b_pp * 2 * tokens * h / tp) if pp > 1 else 0.0
        # ring attention: cp - 1 KV exchanges per pass, hidden behind one attention block each
        res["cp_mb"] = 0.0
        if cp > 1:
            a_cp, b_cp = comm["cp"]
            exposed = max(0.0, a_cp + b_cp * 4 * tokens * kv * hd / tp - t_core / cp)
            passes = 3 + (1 if rc == 2 else 0)  # forward, backward (twice the traffic), recomputation
            res["cp_mb"] = layers * (cp - 1) * exposed * passes
        stored = 2 * tokens * h / spd if rc == 2 else act_hs + (act_s2 if rc == 0 else 0.0) + softmax_stats
        if fp8 and rc != 2:
            stored -= gemm_inputs  # saved for the backward pass in fp8, 1 B per element instead of 2
        interleave = (1 + (pp - 1) / (pp * v)) if v > 1 else 1
        held = first_l * min(pp, micro)
        if pp > 1 and mid_l > first_l:  # a fuller second stage holds one micro-batch fewer
            held = max(held, mid_l * min(pp - 1, micro))
        act = stored * held * interleave
        one_mb = stored * max(first_l, mid_l)
        res["act_off_mb"] = 0.0
        if off == 2:  # two micro-batches stay in HBM, the rest wait on the tier
            parked = act - min(act, 2 * one_mb)
            act = min(act, 2 * one_mb)
            res["act_off_mb"] = max(0.0, 2 * one_mb / H["tier_link"] - res["compute_mb"])
        res["m_act"] = act + ((act_hs + act_s2 + softmax_stats) if rc == 2 else 0.0)
        logits_mem = 2 * 4 * tokens * V / tp
    res["m_host"] = 0.0
    if off >= 1:
        res["m_host"] = res["m_opt"] + parked
        res["m_opt"] = 0.0
    res["m_other"] = logits_mem + H["reserve"]
    res["m_total"] = res["m_weights"] + res["m_grads"] + res["m_opt"] + res["m_act"] + res["m_other"]
    t_mb = res["compute_mb"] + res["tp_mb"] + res["ep_mb"] + res["pp_mb"] + res["cp_mb"] + res["act_off_mb"]
    res["compute"] = micro * res["compute_mb"] + weight_cast_step
    res["tp"] = micro * res["tp_mb"]
    res["ep"] = micro * res["ep_mb"]
    res["pp"] = micro * res["pp_mb"]
    res["cp"] = micro * res["cp_mb"]
    res["bubble"] = (pp - 1) / v * t_mb
    if group > 1:
        volume = 2 * dense + (2 * expert if dp_e > 1 else 0.0)
        volume *= (0.5 + micro) if zero >= 3 else 1.0  # ZeRO-3: grad RS + param AG per micro-batch (fwd, bwd)
        a_dp, b_dp = comm["dp"]
        t_dp = a_dp + b_dp * volume
    else:
        t_dp = 0.0
    res["dp_total"] = t_dp
    res["dp"] = max(0.0, t_dp - res["bwd_stage"]) if M["overlap"] else t_dp
    local = dense / (group if zero >= 1 else 1) + expert / (dp_e if zero >= 1 else 1)
    res["offload"] = micro * res["act_off_mb"]
    if off >= 1:  # ZeRO-Offload: CPU Adam over the tier, fp16 weights up; gradients down behind the backward
        res["opt"] = 0.0
        res["offload"] += (36 * local / H["tier_mem"] + 2 * local / H["tier_link"]
                           + max(0.0, 2 * local / H["tier_link"] - res["bwd_stage"]))
    else:
        res["opt"] = 36 * local / hbm
    res["step"] = (res["compute"] + res["tp"] + res["ep"] + res["pp"] + res["cp"] + res["bubble"] + res["dp"]
                   + res["opt"] + res["offload"])
    if off > 0 and res["m_host"] > H["tier_cap"]:
        return K.R_HOST, res
    return (K.R_MEMORY if res["m_total"] > H["cap"] else K.OK), res


def search_plans(mc, hw, lists, tabs):
    """The plain enumeration: list of (plan tuple, code, step [s], memory [B]) in the kernel's order."""
    tp_ab, dp_ab, pp_ab, ep_ab, cp_ab = tabs
    out = []
    N = hw[K.HW_N]
    for (i, tp), (c, cp), (_, pp), (j, dp) in itertools.product(enumerate(lists["tps"]), enumerate(lists["cps"]),
                                                               enumerate(lists["pps"]), enumerate(lists["dps"])):
        tp, cp, pp, dp = int(tp), int(cp), int(pp), int(dp)
        if tp * pp * dp * cp > N:
            continue
        for (e, ep), mb, v, rc, zero, sp, off in itertools.product(enumerate(lists["eps"]), lists["mbs"], lists["vs"],
                                                                     lists["rcs"], lists["zeros"], lists["sps"],
                                                                     lists["offs"]):
            comm = {"tp": tuple(tp_ab[i]), "dp": tuple(dp_ab[i, c, j]), "pp": tuple(pp_ab[i, c, j]),
                    "ep": tuple(ep_ab[i, e]), "cp": tuple(cp_ab[i, c])}
            plan = (tp, pp, dp, int(ep), int(mb), int(v), int(rc), int(zero), int(sp), cp, int(off))
            code, res = plan_reference(mc, hw, *plan[:9], comm, cp, int(off))
            out.append((plan, code, res["step"] if res else 0.0, res["m_total"] if res else 0.0))
    return out


# --- vectorised NumPy search (the benchmark's reference) --------------------------------------

#: the axes of the plan grid in the kernel's loop order (the outermost four are cut at N cards)
GRID = ("tps", "cps", "pps", "dps", "eps", "mbs", "vs", "rcs", "zeros", "sps", "offs")
#: plan column of each grid axis (``_kernels.P_*``)
GRID_COLUMNS = (K.P_TP, K.P_CP, K.P_PP, K.P_DP, K.P_EP, K.P_MB, K.P_V, K.P_RC, K.P_ZERO, K.P_SP, K.P_OFF)


def _on(x, axes):
    """``x`` (one axis per entry of ``axes``) reshaped to broadcast along those axes of the plan grid."""
    x = np.asarray(x)
    shape = [1] * len(GRID)
    for n, a in zip(x.shape, axes):
        shape[a] = n
    return x.reshape(shape)


def _stage_layers_np(L, pp, v, uneven):
    """:func:`stage_layers` over broadcast arrays of pp and v."""
    even = L / pp
    if not uneven:
        return even, even, even
    chunk = np.ceil(L / (pp * v))
    full = v * chunk
    d = pp * v * chunk - L
    ends = pp == 1
    last = np.where(ends, even, np.maximum(v * 1.0, full - d // 2))
    first = np.where(ends, even, np.maximum(v * 1.0, full - (d - d // 2)))
    return first, np.where(ends, even, full), last


def _zero_state_np(p, zero, group):
    """bf16 weights, bf16 gradients, fp32 Adam state [B] of ``p`` parameters, sharded from ZeRO 3, 2, 1."""
    w, g, o = 2.0 * p, 2.0 * p, 12.0 * p
    return (np.where(zero >= 3, w / group, w), np.where(zero >= 2, g / group, g),
            np.where(zero >= 1, o / group, o))


def _grid_block(mc, hw, v_, tabs):
    """Step [s], memory [B] and rejection code of every plan of the grid ``v_`` (one array per axis of
    GRID, each shaped by :func:`_on`), broadcast to the full grid; the kernel's equations term by term."""
    tp, cp, pp, dp, ep, mb, v, rc, zero, sp, off = v_
    tp_ab, dp_ab, pp_ab, ep_ab, cp_ab = tabs
    tpa, tpb = _on(tp_ab[:, 0], (0,)), _on(tp_ab[:, 1], (0,))
    dpa, dpb = _on(dp_ab[..., 0], (0, 1, 3)), _on(dp_ab[..., 1], (0, 1, 3))
    ppa, ppb = _on(pp_ab[..., 0], (0, 1, 3)), _on(pp_ab[..., 1], (0, 1, 3))
    epa, epb = _on(ep_ab[..., 0], (0, 4)), _on(ep_ab[..., 1], (0, 4))
    cpa, cpb = _on(cp_ab[..., 0], (0, 1)), _on(cp_ab[..., 1], (0, 1))
    shape = np.broadcast_shapes(*(x.shape for x in v_))
    L, h, a, kv, f, V, s, E, k, B = (float(mc[i]) for i in (K.MC_L, K.MC_H, K.MC_A, K.MC_KV, K.MC_F, K.MC_V, K.MC_S,
                                                             K.MC_E, K.MC_K, K.MC_B))
    cnn = mc[K.MC_KIND] > 0.5
    uneven = mc[K.MC_UNEVEN] > 0.5
    # ---- structural validity: the first failing reason wins (assigned last-to-first) ----
    false = np.zeros((1,) * len(GRID), dtype=bool)
    checks = [
        (tp * pp * dp * cp > hw[K.HW_N], K.R_CARDS),
        ((tp > 1) | (pp > 1) | (ep > 1) | (v > 1) | (sp > 0) | (cp > 1) if cnn else false, K.R_CNN),
        (false if cnn else (int(a) % tp != 0) | ((int(kv) >= tp) & (int(kv) % tp != 0)), K.R_TP_HEADS),
        (tp > hw[K.HW_DOMAIN], K.R_TP_DOMAIN),
        (false if cnn else (pp * v > int(L) if uneven else int(L) % (pp * v) != 0), K.R_PP_LAYERS),
        ((int(E) % ep != 0) | (dp % ep != 0), K.R_EP),
        (int(B) % (dp * mb) != 0, K.R_BATCH),
        ((sp > 0) & (tp == 1), K.R_SP),
        ((cp > 1) & (int(s) % (2 * cp) != 0), K.R_CP),
        ((off > 0) & (hw[K.HW_OFF_BW] <= 0.0), K.R_TIER),
    ]
    code = np.zeros(shape, dtype=np.int64)
    for bad, c in reversed(checks):
        code = np.where(bad, c, code)
    micro = int(B) // (dp * mb)
    code = np.where((code == K.OK) & (v > 1) & ((pp == 1) | (micro % pp != 0)), K.R_INTERLEAVE, code)

    peak = hw[K.HW_PEAK] * hw[K.HW_CLOCK]
    hbm = hw[K.HW_HBM_BW] * hw[K.HW_ETA_MEM]
    emax, nh, cmem = hw[K.HW_ETA_MAX], hw[K.HW_N_HALF], hw[K.HW_C_MEM]
    tl = hw[K.HW_T_LAUNCH] * hw[K.HW_KERNELS]
    sp_div = np.where(sp > 0, tp, 1)
    fp8 = hw[K.HW_FP8] > 0.5
    peak16 = hw[K.HW_PEAK16] * hw[K.HW_CLOCK] if fp8 else peak
    emax16 = hw[K.HW_ETA16] if fp8 else emax
    cast_b = hw[K.HW_CAST_B] if fp8 else 0.0
    T = mb * s / cp
    dpz = dp * cp
    eta = lambda n, e=emax: e * n / (n + nh)  # noqa: E731

    # ---- parameters per card (bottleneck stage) ----
    l_first = l_mid = l_last = 1.0
    w8 = 0.0
    if cnn:
        p_dense, p_exp = mc[K.MC_P_MLP], 0.0
    else:
        p_ld = mc[K.MC_P_ATTN] + mc[K.MC_P_NORM] + mc[K.MC_P_ROUTER]
        if E > 1.5:
            p_le = E * mc[K.MC_P_MLP]
        else:
            p_ld += mc[K.MC_P_MLP]
            p_le = 0.0
        l_first, l_mid, l_last = _stage_layers_np(L, pp, v, uneven)
        emb, out_w = mc[K.MC_P_EMB], (mc[K.MC_P_OUT] if mc[K.MC_P_OUT] > 0 else mc[K.MC_P_EMB])
        p_dense = np.where(pp == 1, l_mid * p_ld / tp + emb / tp + mc[K.MC_P_OUT] / tp + mc[K.MC_P_FINAL],
                           np.maximum(np.maximum(l_first * p_ld / tp + emb / tp,
                                                 l_last * p_ld / tp + (out_w / tp + mc[K.MC_P_FINAL])),
                                      l_mid * p_ld / tp))
        p_exp = l_mid * p_le / (tp * ep)
        if fp8:
            w8 = (mc[K.MC_P_ATTN] + (E * mc[K.MC_P_MLP] / ep if E > 1.5 else mc[K.MC_P_MLP])) / tp
    dp_exp = dp / ep
    w, g, o = _zero_state_np(p_dense, zero, dpz)
    we, ge, oe = _zero_state_np(p_exp, zero, dp_exp)
    m_weights = w + we + 2.0 * w8 * np.where(zero >= 3, 1.0, np.maximum(np.maximum(l_first, l_mid), l_last))
    m_grads = g + ge
    m_opt = o + oe

    # ---- time of one micro-batch on the bottleneck stage ----
    if cnn:
        t_fwd = mb * mc[K.MC_CNN_FLOPS] / (peak * emax) + tl
        act = mb * mc[K.MC_CNN_ACT]
        t_c, t_bwd_stage = 3.0 * t_fwd, 2.0 * t_fwd
        t_tp = t_ep = t_pp = t_cp = t_w8_step = logit_mem = act_host = t_act_off = 0.0
    else:
        d = h / a
        qkv = (h + 2.0 * kv * d) / tp
        mats = mc[K.MC_MATS]
        t_g = 2.0 * T * h * qkv / (peak * eta(np.minimum(h, qkv)))
        t_g = t_g + 2.0 * T * h * (h / tp) / (peak * eta(np.minimum(h / tp, h)))
        t_g = t_g + 2.0 * T * h * (f / tp) * (mats - 1.0) * k / (peak * eta(np.minimum(h, f / tp)))
        t_g = t_g + 2.0 * T * (f / tp) * h * k / (peak * eta(np.minimum(f / tp, h)))
        if E > 1.5:
            t_g = t_g + 2.0 * T * h * E / (peak * eta(min(h, E)))
        act_hs = T * h * (mc[K.MC_CU] / sp_div + mc[K.MC_CT] / tp)
        act_s2 = 0.0 if mc[K.MC_FLASH] > 0.5 else mc[K.MC_CS2] * a * s * T / tp
        act_lse = mc[K.MC_LSE] * a * T / tp
        t_core = 4.0 * T * s * h / tp / (peak16 * eta(d, emax16)) + cmem * act_s2 / hbm
        x_in = T * (h / sp_div + h / tp + k * h / sp_div + k * f / tp)
        t_cast_f = cast_b * x_in / hbm
        t_cast_b = cast_b * T * (qkv + h + k * (mats - 1.0) * f / tp + k * h) / hbm
        t_fwd = t_g + t_core + cmem * act_hs / hbm + tl + t_cast_f
        t_bwd = 2.0 * (t_fwd - t_cast_f) + t_cast_b
        t_rc = np.where(rc == 2, t_fwd, np.where(rc == 1, t_core, 0.0))
        t_layer = t_fwd + t_bwd + t_rc
        t_w8 = cast_b * w8 / hbm
        t_layer = np.where(zero >= 3, t_layer + t_w8 * np.where(rc == 2, 2.0, 1.0), t_layer)
        t_logit = (3.0 * 2.0 * T * h * (V / tp) / (peak16 * eta(np.minimum(h, V / tp), emax16))
                   + 3.0 * cmem * 4.0 * T * V / tp / hbm)
        mid = l_mid * t_layer > l_last * t_layer + t_logit
        lps = np.where(mid, l_mid, l_last)
        t_c = np.where(mid, l_mid * t_layer, l_last * t_layer + t_logit)
        t_bwd_stage = lps * (t_bwd + t_rc)
        t_w8_step = np.where(zero >= 3, 0.0, lps * t_w8)
        n_ar = np.where(rc == 2, 6.0, 4.0)
        t_tp = np.where(tp > 1, lps * n_ar * (tpa + tpb * 2.0 * T * h), 0.0)
        t_ep = np.where(ep > 1, lps * n_ar * (epa + epb * 2.0 * T * k * h / sp_div), 0.0)
        t_pp = np.where(pp > 1, 2.0 * v * (ppa + ppb * 2.0 * T * h / tp), 0.0)
        per_pass = (cp - 1.0) * np.maximum(0.0, cpa + cpb * 4.0 * T * kv * d / tp - t_core / cp)
        t_cp = np.where(cp > 1, lps * per_pass * np.where(rc == 2, 4.0, 3.0), 0.0)
        act_layer = act_hs + np.where(rc == 0, act_s2, 0.0) + act_lse
        if fp8:
            act_layer = act_layer - x_in
        act_layer = np.where(rc == 2, 2.0 * T * h / sp_div, act_layer)
        ilv = np.where(v > 1, 1.0 + (pp - 1.0) / (pp * v), 1.0)
        act = act_layer * l_first * np.minimum(pp, micro) * ilv
        act = np.where((pp > 1) & (l_mid > l_first),
                       np.maximum(act, act_layer * l_mid * np.minimum(pp - 1, micro) * ilv), act)
        act_mb = act_layer * np.maximum(l_first, l_mid)
        kept = np.minimum(act, 2.0 * act_mb)
        act_host = np.where(off == K.OFF_OPT_ACT, act - kept, 0.0)
        act = np.where(off == K.OFF_OPT_ACT, kept, act)
        act = np.where(rc == 2, act + (act_hs + act_s2 + act_lse), act)
        logit_mem = 2.0 * 4.0 * T * V / tp
        t_act_off = np.where(off == K.OFF_OPT_ACT, np.maximum(0.0, 2.0 * act_mb / hw[K.HW_OFF_BW] - t_c), 0.0)
    host = np.where(off >= K.OFF_OPT, m_opt, 0.0) + act_host
    m_opt = np.where(off >= K.OFF_OPT, 0.0, m_opt)
    total = m_weights + m_grads + m_opt + act + (logit_mem + hw[K.HW_RESERVE])

    mm = micro * 1.0
    t_mb = t_c + t_tp + t_ep + t_pp + t_cp + t_act_off
    vol = 2.0 * p_dense + np.where(dp_exp > 1, 2.0 * p_exp, 0.0)
    vol = np.where(zero >= 3, vol * (0.5 + micro), vol)
    t_dp = np.where(dpz > 1, dpa + dpb * vol, 0.0)
    if mc[K.MC_OVERLAP] > 0.5:
        t_dp = np.maximum(0.0, t_dp - t_bwd_stage)
    p_local = p_dense / np.where(zero >= 1, dpz, 1) + p_exp / np.where(zero >= 1, dp_exp, 1)
    t_off = (36.0 * p_local / hw[K.HW_OFF_MEM_BW] + 2.0 * p_local / hw[K.HW_OFF_BW]
             + np.maximum(0.0, 2.0 * p_local / hw[K.HW_OFF_BW] - t_bwd_stage))
    offload = np.where(off >= K.OFF_OPT, mm * t_act_off + t_off, mm * t_act_off)
    opt = np.where(off >= K.OFF_OPT, 0.0, 36.0 * p_local / hbm)
    step = (mm * t_c + t_w8_step + mm * t_tp + mm * t_ep + mm * t_pp + mm * t_cp + (pp - 1.0) / v * t_mb + t_dp
            + opt + offload)
    ok = code == K.OK
    code = np.where(ok & (off > 0) & (host > hw[K.HW_OFF_CAP]), K.R_HOST,
                    np.where(ok & (total > hw[K.HW_HBM_CAP]), K.R_MEMORY, code))
    return np.where(ok, step, 0.0), np.where(ok, total, 0.0), code


def search_plans_numpy(mc, hw, lists, tabs, block: int = 1 << 17):
    """The plan search with NumPy arrays: every plan of the grid at once (each quantity computed over
    the plan axes it depends on and broadcast), in blocks of about ``block`` plans along the tp axis.

    Returns (plans, step [s], mem [B], code) like :func:`twin.training.search.run_kernel`: the grid in
    the kernel's loop order, the (tp, cp, pp, dp) combinations beyond hw[HW_N] cards left out.
    """
    vals = [np.asarray(lists[n], dtype=np.int64) for n in GRID]
    outer = np.meshgrid(*vals[:4], indexing="ij")
    fits = (outer[0] * outer[1] * outer[2] * outer[3] <= hw[K.HW_N])  # (tp, cp, pp, dp) kept
    inner = [x.ravel() for x in np.meshgrid(*vals[4:], indexing="ij")]
    n_in, n_ok = inner[0].size, int(fits.sum())
    plans = np.empty((n_ok, n_in, K.N_PLAN), dtype=np.int64)
    row = np.empty((n_in, K.N_PLAN), dtype=np.int64)
    for x, col in zip(inner, GRID_COLUMNS[4:]):
        row[:, col] = x
    plans[:] = row
    for x, col in zip(outer, GRID_COLUMNS[:4]):
        plans[:, :, col] = x[fits][:, None]
    step, mem, code = np.empty((n_ok, n_in)), np.empty((n_ok, n_in)), np.empty((n_ok, n_in), dtype=np.int64)
    rows = max(1, block // max(1, fits[0].size * n_in))
    k0 = 0
    for i0 in range(0, len(vals[0]), rows):
        sl = slice(i0, i0 + rows)
        keep = fits[sl].ravel()
        k1 = k0 + int(keep.sum())
        if k1 > k0:
            v_ = [_on(x[sl] if j == 0 else x, (j,)) for j, x in enumerate(vals)]
            with np.errstate(divide="ignore", invalid="ignore"):  # no offload tier: inf, nan in rejected plans
                got = _grid_block(mc, hw, v_, tuple(t[sl] for t in tabs))
            for out, x in zip((step, mem, code), got):
                out[k0:k1] = x.reshape(keep.size, n_in)[keep]
        k0 = k1
    return plans.reshape(-1, K.N_PLAN), step.ravel(), mem.ravel(), code.ravel()
