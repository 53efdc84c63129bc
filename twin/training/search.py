"""Parallel-plan search: every DP x TP x PP (x EP) x micro-batch plan, ranked; the Pareto front."""
from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import InputError
from ..scenario import load_scenario
from . import _kernels as K
from . import formulas as _f
from .hardware import alpha_beta, comm_tables, hardware_vector
from .models import get_model
from .offload import OFFLOAD_MODES, check_tier, fill_offload
from .plan import REASONS, _int, check_attention, check_bool, check_clock_factor

RC_NAMES = ("none", "selective", "full")
OFF_NAMES = tuple(OFFLOAD_MODES)
#: the search tries context parallelism only while each rank keeps at least this many tokens
#: (below it the ring's KV exchange no longer hides behind the attention block; Megatron-LM's
#: context-parallel guidance starts CP at 8K-16K sequences). A candidate rule, not a rejection:
#: estimate() accepts any cp with 2 cp dividing the sequence.
CP_MIN_TOKENS = 4096
_RING_CACHE: dict = {}


def cp_ring(sc, tp: int, cp: int) -> tuple[float, float]:
    """(alpha [s], beta [s/B]) of one ring-attention step: a send/recv between neighbouring cp ranks.

    Ranks are numbered tp fastest, then cp: the cp ranks of a ring sit tp apart. A ring whose
    span tp x cp fits the high-speed domain runs on it; otherwise some hop crosses nodes and that
    slowest hop paces every step (stride = cards per node).
    """
    if cp <= 1:
        return 0.0, 0.0
    from .hardware import _scenario_key

    key = (_scenario_key(sc), int(tp), int(cp))
    hit = _RING_CACHE.get(key)
    if hit is None:
        inside = tp * cp <= min(int(sc.compute.domain_size), int(sc.compute.cards_per_node))
        stride = int(tp) if inside else max(int(sc.compute.cards_per_node), int(tp))
        stride = min(stride, max(sc.cards - 1, 1))
        hit = alpha_beta(sc, "send_recv", 2, stride)
        if len(_RING_CACHE) > 256:
            _RING_CACHE.clear()
        _RING_CACHE[key] = hit
    return hit


def _divisors(n: int, limit: int) -> list[int]:
    return [d for d in range(1, min(n, limit) + 1) if n % d == 0]


def _pow2(limit: int) -> list[int]:
    out, x = [], 1
    while x <= limit:
        out.append(x)
        x *= 2
    return out


def candidate_lists(sc, m, global_batch: int, max_cards: int, *, max_micro_batch: int | None = None,
                    uneven_pipeline: bool = False, offload_modes=None) -> dict:
    """The value lists the search enumerates (their product, cut at max_cards, is the candidate set).

    tp: powers of two up to 2 x domain_size (beyond the domain they are listed and rejected);
    pp: divisors of the layer count (with ``uneven_pipeline`` also the powers of two up to the
    layer count); dp: divisors of the global batch; ep: divisors of the
    experts; micro-batch: powers of two up to 16 (512 for a CNN); virtual stages 1, 2, 4;
    recomputation none/selective/full; ZeRO 0-3; sequence parallelism off/on; context parallelism:
    powers of two cp with 2 cp dividing the sequence and at least CP_MIN_TOKENS tokens per rank;
    offload: every mode of ``offload_modes`` (default none, optimizer, optimizer+activations).
    """
    cnn = m.kind == "cnn"
    dom = sc.compute.domain_size
    tps = [1] if cnn else _pow2(min(max_cards, 2 * dom, 64))
    pps = [1] if cnn else _divisors(m.layers, max_cards)
    if uneven_pipeline and not cnn:
        pps = sorted(set(pps) | set(_pow2(min(m.layers, max_cards))))
    dps = _divisors(global_batch, max_cards)
    eps = _divisors(m.experts, max_cards) if m.experts > 1 else [1]
    mbmax = max_micro_batch or (512 if cnn else 16)
    mbs = _pow2(min(mbmax, global_batch))
    s = m.sequence_length
    cps = [1] if cnn else [c for c in _pow2(max_cards) if s % (2 * c) == 0 and s // c >= CP_MIN_TOKENS] or [1]
    if 1 not in cps:
        cps = [1] + cps
    modes = tuple(OFFLOAD_MODES) if offload_modes is None else tuple(offload_modes)
    offs = [OFFLOAD_MODES[o] for o in modes] or [0]
    return dict(
        tps=np.array(tps, dtype=np.int64), pps=np.array(pps, dtype=np.int64), dps=np.array(dps, dtype=np.int64),
        eps=np.array(eps, dtype=np.int64), mbs=np.array(mbs, dtype=np.int64),
        vs=np.array([1] if cnn else [1, 2, 4], dtype=np.int64),
        rcs=np.array([0] if cnn else [0, 1, 2], dtype=np.int64),
        zeros=np.array([0, 1, 2, 3], dtype=np.int64),
        sps=np.array([0] if cnn else [0, 1], dtype=np.int64),
        cps=np.array(cps, dtype=np.int64), offs=np.array(offs, dtype=np.int64),
    )


def prepare(sc, model=None, *, global_batch=None, sequence_length=None, max_cards=None, attention=None,
            dp_overlap=None, clock_factor: float = 1.0, max_micro_batch=None, uneven_pipeline=None,
            offload_modes=None, offload_tier=None):
    """Inputs of the search kernel (also used by the benchmark and the reference)."""
    w = sc.workload
    m = get_model(model if model is not None else w.model, "model" if model is not None else "workload.model")
    gb = _int(global_batch if global_batch is not None else w.global_batch, "global_batch")
    if sequence_length is None and model is not None and m.name != str(w.model):
        seq = m.sequence_length  # another model than the scenario's: its own context length
    else:
        seq = _int(sequence_length if sequence_length is not None else w.sequence_length, "sequence_length")
    if m.kind == "transformer" and seq != m.sequence_length:
        m = m.with_sequence_length(seq)
    n = _int(max_cards if max_cards is not None else sc.cards, "max_cards")
    if n > sc.cards:
        raise InputError("max_cards", n, f"at most the cluster's {sc.cards} cards", "is too many")
    att = check_attention(attention if attention is not None else w.attention, "attention")
    ov = check_bool(dp_overlap if dp_overlap is not None else w.dp_overlap, "dp_overlap")
    un = check_bool(uneven_pipeline if uneven_pipeline is not None else getattr(w, "uneven_pipeline", False),
                    "uneven_pipeline")
    mc = _f.model_constants(m, gb, attention=att, dp_overlap=ov, uneven_pipeline=un)
    tier = check_tier(offload_tier if offload_tier is not None else getattr(w, "offload_tier", "host-ddr"), "offload_tier")
    hw = fill_offload(sc, hardware_vector(sc, check_clock_factor(clock_factor)), tier)
    hw[K.HW_N] = n
    if offload_modes is not None:
        if isinstance(offload_modes, str):
            offload_modes = (offload_modes,)
        for o in offload_modes:
            if o not in OFFLOAD_MODES:
                raise InputError("offload_modes", o, "'none', 'optimizer' or 'optimizer+activations'", "is not an offload mode")
    lists = candidate_lists(sc, m, gb, n, max_micro_batch=max_micro_batch, uneven_pipeline=un, offload_modes=offload_modes)
    usable = [t for t in lists["tps"] if t <= sc.compute.domain_size and (m.kind == "cnn" or (
        m.heads % t == 0 and (m.kv_heads < t or m.kv_heads % t == 0)))]
    tabs = cp_tables(sc, lists, usable)
    size = int(np.prod([len(v) for v in lists.values()]))
    return m, gb, n, mc, hw, lists, tabs, size


def cp_tables(sc, lists, usable):
    """Communication tables of the search: tp (all-reduce), dp x cp gradient group and pp send/recv
    per (tp, cp, dp), ep all-to-all, and the ring-attention step per (tp, cp)."""
    tps, dps, eps, cps = lists["tps"], lists["dps"], lists["eps"], lists["cps"]
    dp_ab = np.zeros((len(tps), len(cps), len(dps), 2))
    pp_ab = np.zeros((len(tps), len(cps), len(dps), 2))
    cp_ab = np.zeros((len(tps), len(cps), 2))
    tp_ab = ep_ab = None
    for ic, c in enumerate(cps):
        t_ab, d_ab, p_ab, e_ab = comm_tables(sc, tps, [int(d) * int(c) for d in dps], eps, usable_tp=usable)
        if tp_ab is None:
            tp_ab, ep_ab = t_ab, e_ab
        dp_ab[:, ic] = d_ab
        pp_ab[:, ic] = p_ab
        for i, t in enumerate(tps):
            if int(t) in set(int(u) for u in usable) and int(t) * int(c) <= sc.cards:
                cp_ab[i, ic] = cp_ring(sc, int(t), int(c))
    return tp_ab, dp_ab, pp_ab, ep_ab, cp_ab


def run_kernel(mc, hw, lists, tabs, size):
    plans = np.zeros((size, K.N_PLAN), dtype=np.int64)
    step = np.zeros(size)
    mem = np.zeros(size)
    code = np.zeros(size, dtype=np.int64)
    l = lists
    n = K.search_plans(mc, hw, l["tps"], l["pps"], l["dps"], l["eps"], l["mbs"], l["vs"], l["rcs"], l["zeros"], l["sps"],
                       l["cps"], l["offs"], tabs[0], tabs[1], tabs[2], tabs[3], tabs[4], plans, step, mem, code)
    return plans[:n], step[:n], mem[:n], code[:n]


def pareto_front(cards: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Indices of the plans on the Pareto front of (cards, step time): no plan is both smaller and faster."""
    return K.pareto_keep(np.lexsort((step, cards)), np.asarray(step, dtype=float))


def search(scenario, *, model=None, global_batch=None, sequence_length=None, max_cards=None, top: int = 20,
           attention=None, dp_overlap=None, clock_factor: float = 1.0, all_candidates: bool = False,
           uneven_pipeline=None, offload_modes=None, offload_tier=None) -> xr.Dataset:
    """Every DP x TP x PP (x EP) x micro-batch plan (with interleaving, recomputation, ZeRO and
    sequence parallelism) on up to ``max_cards`` cards, ranked by step time.

    Parameters
    ----------
    scenario : Scenario, preset name, path or dict
    model : str or ModelSpec, optional
        Zoo name (default ``scenario.workload.model``; another model keeps its own sequence length).
    global_batch, sequence_length : int, optional
        Sequences per iteration [1] and tokens per sequence [1] (default: the workload's).
    max_cards : int, optional
        Largest card count a plan may use [1] (default: all the scenario's cards).
    top : int
        Ranked plans to return (>= 1).
    attention : {"flash", "unfused"}, optional;  dp_overlap : bool, optional
    clock_factor : float
        Multiplier of the accelerator's peak rate, in (0, 2] [1].
    all_candidates : bool
        Also return every candidate with its rejection reason.
    uneven_pipeline : bool, optional
        Also try pipeline depths that do not divide the layers (uneven stages, see :func:`estimate`).
    offload_modes : sequence of {"none", "optimizer", "optimizer+activations"}, optional
        Offload modes to try (default all three: a plan that does not fit in HBM may fit with its
        optimizer state on the offload tier, at the price of the transfers per step).
    offload_tier : {"host-ddr", "cxl-pool"}, optional
        Where offloaded state lives (default ``workload.offload_tier``).

    Returns
    -------
    xarray.Dataset
        ``rank`` dim: the ``top`` fastest valid plans using all ``max_cards`` cards (tp, pp, dp,
        ep, micro_batch, virtual_stages, recompute, zero_stage, sequence_parallel, cards,
        step_time [s], memory [GB], mfu); ``pareto`` dim: the front of step time against card
        count; ``reason`` dim: how many candidates each rejection reason removed ("ok" = valid).
        With ``all_candidates=True`` also every candidate over dim ``candidate`` (``cand_*``
        plan columns, ``cand_step_time`` [s], ``cand_memory`` [GB], ``cand_reason``: the
        rejection reason of each candidate, "ok" when valid). attrs: candidates, valid.

    Notes
    -----
    Candidates: tp in powers of two up to 2 x domain_size, pp | layers (``uneven_pipeline=True``:
    also powers of two, with the uneven split of :func:`twin.training.estimate`), dp | global batch,
    ep | experts (and ep | dp), micro-batch in powers of two up to 16, virtual stages 1/2/4,
    recomputation none/selective/full, ZeRO 0-3, sequence parallelism off/on, with
    tp x pp x dp <= max_cards. Each is evaluated by the same kernel as :func:`estimate`
    (numba, ``_kernels.search_plans``) and rejected with the first failing reason: heads not
    divisible by tp, tp beyond the high-speed domain, layers not divisible by pp x v,
    interleaving without m % pp == 0, experts, batch not a multiple of dp x micro-batch,
    SP without TP, 2 cp not dividing the sequence, an offload tier that is absent (a CXL pool
    of 0 TiB), offloaded state beyond the tier's capacity, memory above HBM. Context parallelism
    (cp, ring attention) and the offload modes are enumerated too: a plan rejected for memory
    may reappear as valid with its optimizer state (and activations) on the offload tier, its
    transfers and host-side optimizer step priced per step (:mod:`twin.training.offload`).
    Cards = tp x cp x pp x dp. The Pareto front keeps the plans no other plan beats on both
    card count and step time.

    References
    ----------
    D. Narayanan et al., SC'21 (PTD-P plan space and its rules); V. Korthikanti et al., MLSys 2023.

    Raises
    ------
    InputError
        When no candidate is valid (e.g. the model cannot fit in memory anywhere): the field is
        ``workload.model`` and the message gives the commonest reasons.
    """
    sc = load_scenario(scenario)
    top = _int(top, "top")
    m, gb, n, mc, hw, lists, tabs, size = prepare(sc, model, global_batch=global_batch, sequence_length=sequence_length,
                                                   max_cards=max_cards, attention=attention, dp_overlap=dp_overlap,
                                                   clock_factor=clock_factor, uneven_pipeline=uneven_pipeline,
                                                   offload_modes=offload_modes, offload_tier=offload_tier)
    plans, step, mem, code = run_kernel(mc, hw, lists, tabs, size)
    ds = summarise(sc, m, gb, n, hw, plans, step, mem, code, top)
    if all_candidates:
        names = np.array(ds.reason.values, dtype=object)
        cols = {"tp": K.P_TP, "pp": K.P_PP, "dp": K.P_DP, "ep": K.P_EP, "micro_batch": K.P_MB,
                "virtual_stages": K.P_V, "zero_stage": K.P_ZERO, "cp": K.P_CP}
        for k, c in cols.items():
            ds[f"cand_{k}"] = ("candidate", plans[:, c])
        ds["cand_recompute"] = ("candidate", np.array(RC_NAMES, dtype=object)[plans[:, K.P_RC]])
        ds["cand_sequence_parallel"] = ("candidate", plans[:, K.P_SP].astype(bool))
        ds["cand_offload"] = ("candidate", np.array(OFF_NAMES, dtype=object)[plans[:, K.P_OFF]])
        valid_or_mem = (code == K.OK) | (code == K.R_MEMORY)
        ds["cand_step_time"] = ("candidate", np.where(valid_or_mem, step, np.nan), {"units": "s"})
        ds["cand_memory"] = ("candidate", np.where(valid_or_mem, mem / 1e9, np.nan), {"units": "GB"})
        ds["cand_reason"] = ("candidate", names[code])
    return ds


def summarise(sc, m, gb, n, hw, plans, step, mem, code, top=20) -> xr.Dataset:
    counts = np.bincount(code, minlength=K.N_CODES)
    valid = np.nonzero(code == K.OK)[0]
    if valid.size == 0:
        worst = sorted(((c, r) for r, c in enumerate(counts) if r != K.OK and c), reverse=True)[:3]
        words = "; ".join(f"{REASONS[r][1]} ({c})" for c, r in worst)
        raise InputError("workload.model", m.name, f"a model that fits some plan on {n} x {sc.compute.accelerator}",
                         f"cannot be trained with any of {len(code)} plans: {words}")
    pv = plans[valid]
    cards = pv[:, K.P_TP] * pv[:, K.P_PP] * pv[:, K.P_DP] * pv[:, K.P_CP]  # of the valid plans
    full = valid[cards == n]
    pool = full if full.size else valid
    ranked = pool[np.argsort(step[pool], kind="stable")][:top]
    front = valid[pareto_front(cards, step[valid])]
    f_model = _f.model_flops_per_iteration(m, gb)
    peak = hw[K.HW_PEAK]

    def table(idx, dim):
        p = plans[idx]
        cards = p[:, K.P_TP] * p[:, K.P_PP] * p[:, K.P_DP] * p[:, K.P_CP]
        return {
            "tp": (dim, p[:, K.P_TP]), "pp": (dim, p[:, K.P_PP]), "dp": (dim, p[:, K.P_DP]), "ep": (dim, p[:, K.P_EP]),
            "micro_batch": (dim, p[:, K.P_MB]), "virtual_stages": (dim, p[:, K.P_V]),
            "recompute": (dim, np.array([RC_NAMES[r] for r in p[:, K.P_RC]], dtype=object)),
            "zero_stage": (dim, p[:, K.P_ZERO]), "sequence_parallel": (dim, p[:, K.P_SP].astype(bool)),
            "cp": (dim, p[:, K.P_CP]),
            "offload": (dim, np.array([OFF_NAMES[o] for o in p[:, K.P_OFF]], dtype=object)),
            "cards": (dim, cards), "step_time": (dim, step[idx], {"units": "s"}),
            "memory": (dim, mem[idx] / 1e9, {"units": "GB"}),
            "mfu": (dim, f_model / (step[idx] * cards * peak), {"units": ""}),
        }

    data = {}
    for k, v in table(ranked, "rank").items():
        data[k] = v
    for k, v in table(front, "pareto").items():
        data[f"pareto_{k}"] = v
    names = ["ok"] + [REASONS[r][1] for r in range(1, K.N_CODES)]
    data["rejected"] = ("reason", counts, {"units": "", "long_name": "candidates per outcome"})
    ds = xr.Dataset({k: xr.Variable(v[0], v[1], attrs=(v[2] if len(v) > 2 else {})) for k, v in data.items()},
                    coords={"rank": np.arange(len(ranked)), "pareto": np.arange(len(front)), "reason": names})
    ds.attrs.update({"model": m.name, "scenario": sc.name, "max_cards": n, "global_batch": gb,
                     "candidates": int(len(code)), "valid": int(valid.size)})
    return ds
