"""Plain-Python reference of the training kernels (no numba): one plan, and the plain enumeration.

Written from the equations in :func:`twin.training.estimate` independently of ``_kernels`` (dicts
and named quantities instead of index vectors); tests compare the two, and the
``parallel-search-1t-3072`` benchmark times :func:`search_plans` against the kernel.
"""
from __future__ import annotations

import itertools

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
