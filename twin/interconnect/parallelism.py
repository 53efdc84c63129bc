"""Parallelism traffic of white paper Table 3-1: what DP, PP, TP and EP ask of the interconnect.

For a transformer (layers l, hidden h, sequence s, vocabulary V) split DP x PP x TP x EP with
micro-batch b and global batch B, per card and training step (Megatron-LM layout, no sequence
parallelism, bf16 values of ``bytes_per_value`` bytes):

* TP: 4 all-reduces of the activations (b s h values) per layer and micro-batch (2 forward,
  2 backward; Shoeybi et al. 2019, Fig. 4), among ``tp`` cards (stride 1).
* PP: one activation forward and one gradient backward (b s h values) per micro-batch at each
  stage boundary, point to point between stages (stride tp).
* DP: one all-reduce of the card's gradients, P / (tp pp) values, per step among ``dp`` cards
  (stride tp pp).
* EP: 4 all-to-alls (dispatch and combine, forward and backward) of b s h top_k values per
  MoE layer and micro-batch among ``ep`` cards.

Compute time between communication events uses 72 b s h^2 (1 + s/(6h)) FLOP per layer and
micro-batch (forward and backward; Narayanan et al. SC'21, without recomputation) divided by
tp and by ``peak * mfu``. The bandwidth a strategy *needs* is the bus traffic of one event
(message x nccl-tests factor) over ``budget`` times the compute it accompanies: communication
may add at most ``budget`` (default 10%, an assumption: a planning margin, not a published figure) to that compute. A topology *offers* the busbw that
:func:`twin.interconnect.collective_time` gives for that message and group.
"""
from __future__ import annotations

import importlib

import numpy as np
import xarray as xr

from ..errors import InputError
from ..units import Q_

STRATEGIES = ("dp", "pp", "tp", "ep")
PATTERN = {"dp": "all-reduce", "pp": "send-recv", "tp": "all-reduce", "ep": "all-to-all"}
TABLE_3_1 = {  # white paper Table 3-1 (GB/s): DP "几 ~ 几十", PP "几 ~ 十几", TP "几百"
    "dp": (1.0, 99.0), "pp": (1.0, 19.0), "tp": (100.0, 999.0), "ep": (np.nan, np.nan)}


def _model(model):
    """(layers, hidden, vocab, params, experts, top_k) of a zoo name, ModelSpec or dict."""
    if isinstance(model, dict):
        d = dict(model)
    else:
        spec = None
        for mod in ("twin.training", "twin.training.models"):
            try:
                m = importlib.import_module(mod)
            except ImportError:
                continue
            if hasattr(m, "get_model"):
                spec = m.get_model(model, "model")
                break
        if spec is None:
            raise InputError("model", model, "a dict with layers, hidden, vocab (the model zoo is not available)")
        d = {k: getattr(spec, k) for k in ("layers", "hidden", "vocab", "experts", "top_k", "params_published", "kind",
                                           "forward_flops")}
    if d.get("kind", "transformer") == "cnn":
        P = float(d.get("params_published") or 0.0)
        if P <= 0 or float(d.get("forward_flops") or 0.0) <= 0:
            raise InputError("model", model, "a CNN with params_published and forward_flops")
        return "cnn", float(d["forward_flops"]), 0, P, 1, 1
    if d.get("kind", "transformer") != "transformer":
        raise InputError("model", model, "a transformer or a CNN", f"is a {d.get('kind')!r} model")
    for k in ("layers", "hidden"):
        if int(d.get(k, 0)) <= 0:
            raise InputError(f"model.{k}", d.get(k), "a positive integer")
    l, h, V = int(d["layers"]), int(d["hidden"]), int(d.get("vocab", 0))
    P = float(d.get("params_published") or 0.0) or (12.0 * l * h * h + V * h)
    return l, h, V, P, int(d.get("experts", 1) or 1), int(d.get("top_k", 1) or 1)


def parallelism_traffic(model, *, tp: int = 1, pp: int = 1, dp: int = 1, ep: int = 1, micro_batch: int = 1,
                        global_batch: int | None = None, sequence_length: int = 2048, accelerator: str = "A100-SXM4-80GB",
                        mfu: float = 0.5, budget: float = 0.1, bytes_per_value: int = 2) -> xr.Dataset:
    """Bytes per step per card and the bandwidth each parallel strategy needs (Table 3-1).

    Parameters
    ----------
    model : str | ModelSpec | dict
        Zoo name (``twin.training``'s model zoo) or a dict with layers, hidden, vocab
        [, params_published, experts, top_k].
    tp, pp, dp, ep, micro_batch, global_batch, sequence_length : int
    accelerator : str
        Catalog accelerator; its dense bf16 (fp16 where bf16 is 0) peak sets the compute time.
    mfu : float
        Model FLOPs utilisation (0.5: Megatron-LM reaches 44-52% on A100, SC'21).
    budget : float
        Share of the accompanying compute time communication may add.

    Returns
    -------
    xarray.Dataset over ``strategy`` (dp, pp, tp, ep): ``pattern``, ``group_size``, ``stride``,
    ``message_size`` [B], ``events`` per step, ``bytes_per_step`` [B] (bus traffic per card),
    ``compute_time`` [s] per event, ``needed`` [GB/s].

    Notes
    -----
    Per card and step (activation a = b s h bytes_per_value [B], n_micro = B / (dp b)):
    TP 4 (l/pp) n_micro all-reduces of a; PP 2 n_micro messages of a; DP one all-reduce of
    P/(tp pp) bytes_per_value; EP 4 (l/pp) n_micro all-to-alls of a top_k. Compute per layer
    and micro-batch ``t = 72 b s h^2 (1 + s/(6h)) / (tp peak mfu)``; needed bus bandwidth =
    bus bytes of one window / (budget x the compute of that window).

    References
    ----------
    Shoeybi et al., "Megatron-LM" (2019), Fig. 4; Narayanan et al., "Efficient large-scale
    language model training on GPU clusters using Megatron-LM" (SC'21); white paper Table 3-1.
    """
    from .. import catalog

    for name, v in (("tp", tp), ("pp", pp), ("dp", dp), ("ep", ep), ("micro_batch", micro_batch), ("sequence_length", sequence_length)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(name, v, "a whole number >= 1")
    for name, v, lo, hi, what in (("mfu", mfu, 0.0, 1.0, "a fraction in (0, 1]"),
                                  ("budget", budget, 0.0, 10.0, "a positive share such as 0.1")):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise InputError(name, v, what, f"is a {type(v).__name__}")
        if not (lo < v <= hi):
            raise InputError(name, v, what, "is out of range" if np.isfinite(v) else "is not finite")
    if isinstance(bytes_per_value, bool) or not isinstance(bytes_per_value, (int, np.integer)) or bytes_per_value < 1:
        raise InputError("bytes_per_value", bytes_per_value, "a whole number of bytes >= 1 (2 for bf16)")
    if global_batch is not None:
        if isinstance(global_batch, bool) or not isinstance(global_batch, (int, np.integer)) or global_batch < dp * micro_batch:
            raise InputError("global_batch", global_batch, f"a whole number >= dp x micro_batch = {dp * micro_batch}",
                             "leaves a data-parallel rank without a micro-batch")
    l, h, V, P, experts, top_k = _model(model)
    if ep > 1 and l != "cnn" and experts <= 1:
        raise InputError("ep", ep, "1 for a dense model (expert parallelism needs a model with experts > 1)",
                         "splits experts the model does not have")
    if l == "cnn":
        return _cnn_traffic(h, P, dp=dp, micro_batch=micro_batch, accelerator=accelerator, mfu=mfu, budget=budget,
                            bytes_per_value=bytes_per_value)
    if pp > l:
        raise InputError("pp", pp, f"at most the model's {l} layers")
    acc = catalog.accelerator(accelerator, "accelerator")
    peak = float(acc["peak_bf16"].to("FLOP/s").magnitude) or float(acc["peak_fp16"].to("FLOP/s").magnitude)
    gb = global_batch if global_batch is not None else dp * micro_batch
    n_micro = max(1.0, gb / (dp * micro_batch))
    s, b = sequence_length, micro_batch
    layer_flop = 72.0 * b * s * h * h * (1.0 + s / (6.0 * h)) / tp
    t_layer = layer_flop / (peak * mfu)
    layers_per_stage = l / pp
    act = float(b * s * h * bytes_per_value)
    rows = {}
    # TP
    f_tp = 2.0 * (tp - 1) / tp
    rows["tp"] = (tp, 1, act, 4 * layers_per_stage * n_micro if tp > 1 else 0.0, f_tp * act * 4, t_layer)
    # PP
    rows["pp"] = (min(pp, 2), tp, act, 2 * n_micro if pp > 1 else 0.0, 2 * act, t_layer * layers_per_stage)
    # DP
    grad = P / (tp * pp) * bytes_per_value
    f_dp = 2.0 * (dp - 1) / dp
    rows["dp"] = (dp, tp * pp, grad, 1.0 if dp > 1 else 0.0, f_dp * grad, t_layer * layers_per_stage * n_micro)
    # EP
    moe = experts > 1 and ep > 1
    msg_ep = act * top_k
    f_ep = (ep - 1) / ep
    rows["ep"] = (ep, tp, msg_ep, 4 * layers_per_stage * n_micro if moe else 0.0, f_ep * msg_ep * 4, t_layer)
    strat = list(STRATEGIES)
    group = np.array([rows[k][0] for k in strat])
    stride = np.array([rows[k][1] for k in strat])
    msg = np.array([rows[k][2] for k in strat])
    events = np.array([rows[k][3] for k in strat])
    bus_per_window = np.array([rows[k][4] for k in strat])   # bus bytes in one compute window
    window = np.array([rows[k][5] for k in strat])
    per_event_bus = {"tp": f_tp * act, "pp": act, "dp": f_dp * grad, "ep": f_ep * msg_ep}
    bytes_step = np.array([per_event_bus[k] * rows[k][3] for k in strat])
    needed = np.where(events > 0, bus_per_window / (budget * window) / 1e9, 0.0)
    return xr.Dataset(
        {"pattern": ("strategy", [PATTERN[k] for k in strat]),
         "group_size": ("strategy", group), "stride": ("strategy", stride),
         "message_size": ("strategy", msg, {"units": "B"}),
         "events": ("strategy", events, {"long_name": "communication events per step per card"}),
         "bytes_per_step": ("strategy", bytes_step, {"units": "B", "long_name": "bus bytes per step per card"}),
         "compute_time": ("strategy", window, {"units": "s", "long_name": "compute accompanying one window"}),
         "needed": ("strategy", needed, {"units": "GB / s", "long_name": "bus bandwidth needed"})},
        coords={"strategy": strat},
        attrs={"model_layers": l, "model_hidden": h, "params": P, "accelerator": acc.name, "mfu": mfu, "budget": budget,
               "micro_batches_per_step": n_micro})


def _cnn_traffic(forward_flops, P, *, dp, micro_batch, accelerator, mfu, budget, bytes_per_value):
    """A CNN trained data-parallel: one gradient all-reduce per step (white paper 3.1.1)."""
    from .. import catalog

    acc = catalog.accelerator(accelerator, "accelerator")
    peak = float(acc["peak_bf16"].to("FLOP/s").magnitude) or float(acc["peak_fp16"].to("FLOP/s").magnitude)
    t_step = 3.0 * forward_flops * micro_batch / (peak * mfu)
    grad = P * bytes_per_value
    f = 2.0 * (dp - 1) / dp
    z = np.zeros(4)
    needed = np.array([f * grad / (budget * t_step) / 1e9 if dp > 1 else 0.0, 0.0, 0.0, 0.0])
    return xr.Dataset(
        {"pattern": ("strategy", [PATTERN[k] for k in STRATEGIES]),
         "group_size": ("strategy", np.array([dp, 1, 1, 1])), "stride": ("strategy", np.array([1, 1, 1, 1])),
         "message_size": ("strategy", np.array([grad, 0, 0, 0], dtype=float), {"units": "B"}),
         "events": ("strategy", np.array([1.0 if dp > 1 else 0.0, 0, 0, 0])),
         "bytes_per_step": ("strategy", np.array([f * grad, 0, 0, 0]), {"units": "B"}),
         "compute_time": ("strategy", np.array([t_step, 0, 0, 0]), {"units": "s"}),
         "needed": ("strategy", needed + z, {"units": "GB / s"})},
        coords={"strategy": list(STRATEGIES)},
        attrs={"params": P, "accelerator": acc.name, "mfu": mfu, "budget": budget, "micro_batches_per_step": 1.0})


def topology_offer(scenario, *, topologies=None, budget: float = 0.1, mfu: float = 0.5, state=None) -> xr.Dataset:
    """Table 3-1 for a scenario: bandwidth each strategy needs against what topologies offer.

    ``offered`` [GB/s] is the busbw :func:`collective_time` gives for the strategy's message and
    group on the scenario with ``compute.topology`` replaced by each topology (NaN where the
    scenario's accelerator cannot form it); ``meets`` is offered >= needed. ``state``: the
    twin's state tree, whose fabric results the scenario's own topology reads its inter-node hop
    from (default: a throw-away twin's, as :func:`collective_time`).
    """
    from . import busbw_factor, collective_time
    from ..scenario import load_scenario

    sc = load_scenario(scenario)
    w = sc.workload
    total = sc.cards
    dp = w.dp or max(1, total // (w.tp * w.pp * w.ep))
    need = parallelism_traffic(w.model, tp=w.tp, pp=w.pp, dp=dp, ep=w.ep, micro_batch=w.micro_batch,
                               global_batch=w.global_batch, sequence_length=w.sequence_length,
                               accelerator=sc.compute.accelerator, mfu=mfu, budget=budget)
    from .topology import TOPOLOGIES

    topologies = list(topologies) if topologies else [sc.compute.topology]
    for t in topologies:
        if not isinstance(t, str) or t not in TOPOLOGIES:
            from ..errors import unknown_name

            raise unknown_name("topologies", t, TOPOLOGIES, "topology")
    offered = np.full((len(topologies), len(need.strategy)), np.nan)
    for ti, t in enumerate(topologies):
        try:
            if t == sc.compute.topology:
                s2 = sc
            else:
                dom = 128 if t == "s2-switch" else min(8, sc.compute.cards_per_node)
                s2 = sc.with_overrides({"compute": {"topology": t, "domain_size": dom,
                                                    "cards_per_node": sc.compute.cards_per_node}})
        except InputError:
            continue
        for si, k in enumerate(need.strategy.values):
            g = int(need.group_size.sel(strategy=k))
            if g < 2 or float(need.events.sel(strategy=k)) == 0:
                continue
            msg = float(need.message_size.sel(strategy=k))
            pattern = str(need.pattern.sel(strategy=k).item())
            try:
                tt = collective_time(s2, pattern, Q_(msg, "B"), g, stride=int(need.stride.sel(strategy=k)),
                                     state=state if s2 is sc else None)
            except InputError:
                continue
            offered[ti, si] = msg / float(tt.to("s").magnitude) * busbw_factor(pattern, g) / 1e9
    out = need.copy()
    out["offered"] = (("topology", "strategy"), offered, {"units": "GB / s", "long_name": "busbw the topology gives"})
    out["meets"] = (("topology", "strategy"), (offered >= need.needed.values[None, :]) | (need.needed.values[None, :] == 0))
    out = out.assign_coords(topology=topologies)
    return out


__all__ = ["parallelism_traffic", "topology_offer", "STRATEGIES", "TABLE_3_1"]
