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
