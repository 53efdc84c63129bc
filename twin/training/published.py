"""The published training runs of the zoo (SC'21 Table 1) as scenarios and plans."""
from __future__ import annotations

from ..errors import InputError
from ..scenario import load_scenario
from .models import get_model

#: the cluster preset of Narayanan et al., SC'21 (A100 80GB, 8 x 200G HDR IB per node)
SC21_PRESET = "megatron-sc21-a100-3072"


def published_run(model: str, preset: str = SC21_PRESET):
    """(scenario, plan kwargs) reproducing a model's published run on its cluster preset.

    The preset is resized to the run's GPU count (nodes = gpus / 8) and its workload set to the
    published tp, pp, dp, micro-batch, global batch, virtual stages and DDP overlap
    ("torch" DDP overlaps the gradient all-reduce with the backward pass, "local" does not).
    """
    m = get_model(model, "model")
    p = m.published
    if not p:
        raise InputError("model", model, "a zoo model with a [published] run (e.g. 'megatron-1t')", "has no published run")
    gpus = int(p["gpus"])
    tp, pp = int(p["tp"]), int(p["pp"])
    plan = dict(tp=tp, pp=pp, dp=gpus // (tp * pp), ep=1, micro_batch=int(p["micro_batch"]),
                global_batch=int(p["global_batch"]), virtual_stages=int(p.get("virtual_stages", 1)),
                dp_overlap=(p.get("ddp", "local") == "torch"))
    base = load_scenario(preset)
    sc = base.with_overrides({"compute": {"nodes": max(1, gpus // base.compute.cards_per_node)},
                              "workload": {"model": m.name, **plan}})
    return sc, plan


#: plan keywords of :func:`plan_run` passed through to :func:`twin.training.estimate`
_PLAN_ARGS = ("tp", "pp", "dp", "cp", "ep", "micro_batch", "global_batch", "sequence_length", "virtual_stages",
              "recompute", "sequence_parallel", "zero_stage", "attention", "dp_overlap", "uneven_pipeline",
              "offload", "offload_tier")


def plan_scenario(model, accelerator: str, gpus: int, *, preset: str = SC21_PRESET, cards_per_node: int | None = None,
                  fabric: dict | None = None, precision: str | None = None, **plan):
    """(scenario, model spec, plan kwargs) of an explicit training plan on a cluster.

    The cluster is ``preset`` with its accelerator replaced by ``accelerator`` and resized to
    ``gpus`` cards (nodes = gpus / cards_per_node, the preset's cards per node unless given);
    ``fabric`` overrides fields of its fabric section (e.g. ``{"nic_speed": "400 Gbit/s"}``);
    ``precision`` sets ``compute.precision`` (e.g. "fp8": FP8 layer GEMMs with their casts).
    ``model`` is a zoo name or a table of inline dimensions (:func:`twin.training.models.model_from_dims`).
    """
    from .models import get_model
    from .plan import _int

    m = get_model(model, "model")
    gpus = _int(gpus, "gpus")
    for k in plan:
        if k not in _PLAN_ARGS:
            from ..errors import unknown_name

            raise unknown_name(f"plan.{k}", k, _PLAN_ARGS, "plan field")
    base = load_scenario(preset)
    cpn = _int(cards_per_node if cards_per_node is not None else base.compute.cards_per_node, "cards_per_node")
    if gpus % cpn and gpus > cpn:
        raise InputError("gpus", gpus, f"a multiple of cards_per_node = {cpn}", "leaves a partial node")
    nodes = max(1, gpus // cpn)
    over = {"compute": {"accelerator": accelerator, "nodes": nodes, "cards_per_node": min(cpn, gpus),
                        "domain_size": min(int(base.compute.domain_size), min(cpn, gpus))}}
    if precision is not None:
        over["compute"]["precision"] = precision
    if fabric:
        over["fabric"] = dict(fabric)
    # the preset's own workload is replaced by this plan (the scenario checks it against the card count)
    work = {k: plan[k] for k in ("tp", "pp", "dp", "ep", "micro_batch", "global_batch", "sequence_length",
                                 "virtual_stages", "recompute", "sequence_parallel", "zero_stage", "attention",
                                 "dp_overlap", "cp", "offload", "offload_tier") if k in plan}
    work.setdefault("dp", 0)
    work.setdefault("pp", 1)
    work.setdefault("tp", 1)
    work.setdefault("ep", 1)
    if isinstance(model, str):
        work["model"] = m.name
    over["workload"] = work
    sc = base.with_overrides(over)
    plan = dict(plan)
    plan.setdefault("sequence_length", m.sequence_length)
    plan.setdefault("dp", 0)
    plan.setdefault("ep", 1)
    plan.setdefault("cp", 1)
    plan.setdefault("virtual_stages", 1)
    plan.setdefault("offload", "none")
    return sc, m, plan


def plan_run(model, accelerator: str, gpus: int, *, preset: str = SC21_PRESET, cards_per_node: int | None = None,
             fabric: dict | None = None, precision: str | None = None, **plan):
    """Training with an explicit plan: iteration time, TFLOP/s per GPU and MFU of one run.

    Parameters
    ----------
    model : str or dict
        Zoo name, or inline dimensions {layers, hidden, heads, vocab, ...}.
    accelerator : str
        Catalog name of the accelerator.
    gpus : int
        Cards of the run [1] (the cluster preset is resized to them).
    preset : str
        Cluster preset whose fabric and node shape the run uses (default: the SC'21 DGX A100 cluster).
    cards_per_node : int, optional;  fabric : dict, optional
        Overrides of the preset's node size and fabric section.
    precision : str, optional
        ``compute.precision`` of the run (default the preset's, bf16); "fp8" runs the layer GEMMs in
        FP8 with Transformer Engine's casts (see :func:`twin.training.estimate`).
    **plan
        tp, pp, dp (0 = the remaining cards), cp, ep, micro_batch, global_batch, sequence_length,
        recompute, sequence_parallel, virtual_stages, zero_stage, attention, dp_overlap,
        uneven_pipeline, offload, offload_tier (see :func:`twin.training.estimate`); and
        ``free``: plan knobs a source does not publish (any of recompute, virtual_stages,
        micro_batch, sequence_parallel, zero_stage, offload), taken as the fastest combination of
        FREE_CHOICES that fits in memory, the others fixed as given (attrs["tuned"] names them).

    Returns
    -------
    xarray.Dataset
        :func:`twin.training.estimate`'s Dataset (step_time [s], achieved_tflops [TFLOP/s], mfu, ...).

    Notes
    -----
    TFLOP/s per GPU counts recomputation (hardware FLOPs, as SC'21 and Megatron's logs); MFU
    counts model FLOPs only, 3 x (2 s P_matmul + 4 s^2 h l + 2 s h V) per sequence, over the
    accelerator's dense 16-bit peak (Korthikanti et al. 2023; PaLM's MFU definition).
    """
    from . import estimate

    free = plan.pop("free", ())
    sc, m, p = plan_scenario(model, accelerator, gpus, preset=preset, cards_per_node=cards_per_node,
                             fabric=fabric, precision=precision, **plan)
    if not free:
        return estimate(sc, model=m, **p)
    return _tuned(sc, m, p, free)


#: values tried for a plan knob the source does not publish (``free`` of :func:`plan_run`)
FREE_CHOICES = {"recompute": ("none", "selective", "full"), "virtual_stages": (1, 2, 4, 8),
                "micro_batch": (1, 2, 4, 8), "sequence_parallel": (False, True), "zero_stage": (0, 1, 2, 3),
                "offload": ("none", "optimizer", "optimizer+activations")}


def _tuned(sc, m, p, free):
    """The fastest plan that fits HBM over the unpublished knobs ``free`` (the rest fixed as published)."""
    import itertools

    from ..errors import InputError
    from . import estimate

    if isinstance(free, str):
        free = (free,)
    for k in free:
        if k not in FREE_CHOICES:
            raise InputError("free", k, f"one of {', '.join(FREE_CHOICES)}", "is not a plan knob the twin can choose")
    best = None
    last_error = None
    for values in itertools.product(*(FREE_CHOICES[k] for k in free)):
        q = dict(p, **dict(zip(free, values)))
        try:
            ds = estimate(sc, model=m, **q)
        except InputError as exc:  # a combination the model rejects (e.g. interleaving that does not divide)
            last_error = exc
            continue
        if bool(ds.fits) and (best is None or float(ds.step_time) < float(best.step_time)):
            best = ds
    if best is None:
        raise InputError("free", list(free), "knobs with at least one value that fits in memory",
                         "no combination of them fits the accelerator's memory")
    best.attrs["tuned"] = ", ".join(free)
    return best
