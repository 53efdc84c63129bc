"""The era walk-through (white paper 2.2, Fig. 2-2): the three era presets side by side, row by row.

Each cell is a number from the twin's own run of that era's preset, read from its state tree
(``/<domain>/results``): interconnect (all-reduce busbw, ring bandwidth per node and its
efficiency against the node's NIC line rate), compute (MFU, days to train the preset's workload), storage (copies,
checkpoint write time, goodput), platform (GPU allocation rate), energy (PUE, floor area) and
cost (cost and carbon per million trained tokens). Nothing here models anything: the rows name
results, :func:`era_table` runs the twins and reads them.
"""
from __future__ import annotations

import functools

import numpy as np
import xarray as xr

#: The era presets of Fig. 2-2, in the paper's order.
ERA_PRESETS = ("heterogeneous-2021", "cluster-2023", "superpool-2025")

#: Rows of Fig. 2-2: (row group, domain, result variable, label, unit, dashboard tab title).
#: ``ring_efficiency`` is the ratio of two tree numbers (see :func:`era_values`).
ERA_ROWS = (
    ("Interconnect", "interconnect", "cluster_allreduce_busbw", "All-reduce busbw, 1 GiB over every card", "GB/s", "Interconnect"),
    ("Interconnect", "fabric", "ring_node_bandwidth", "Ring bandwidth per node, whole cluster", "GB/s", "Fabric"),
    ("Interconnect", "fabric", "ring_efficiency", "Ring bandwidth per node / its NIC line rate", "", "Fabric"),
    ("Compute", "training", "mfu", "MFU of the preset's workload", "", "Training"),
    ("Compute", "cost", "time_to_train", "Days to train the preset's workload (cost.training_tokens)", "d", "Training"),
    ("Storage", "storage", "copies", "Storage copies of the data", "", "Storage"),
    ("Storage", "storage", "checkpoint_write_time", "Checkpoint write time", "s", "Storage"),
    ("Storage", "storage", "goodput", "Goodput (failures and checkpoints)", "", "Storage"),
    ("Platform", "platform", "allocation_rate", "GPU allocation rate [%]", "", "Platform"),
    ("Energy", "energy", "pue", "PUE (annual)", "", "Energy"),
    ("Energy", "cost", "floor_area", "Floor area (IT white space and storage)", "m^2", "Energy"),
    ("Cost", "cost", "cost_per_million_tokens", "Cost per million trained tokens", "USD", "Cost"),
    ("Cost", "cost", "carbon_per_million_tokens", "CO2e per million trained tokens", "kg", "Cost"),
)


def era_values(state) -> dict:
    """The Fig. 2-2 numbers of one run twin's state: ``{(domain, name): float}`` (NaN where the
    domain has not written that result), each read with :mod:`twin.tree` in its row's unit."""
    from ..errors import TwinError
    from ..tree import value

    out = {}
    for _, d, name, _, unit, _ in ERA_ROWS:
        try:
            if name == "ring_efficiency":
                # the node's scale-out line rate from the fabric input group (nics x nic_speed)
                fab = state["fabric"].to_dataset()
                line = float(fab["nics_per_node"].values) * float(fab["nic_speed"].values) / 8.0  # Gbit/s -> GB/s
                out[(d, name)] = value(state, "fabric", "ring_node_bandwidth", "GB/s") / line
            else:
                out[(d, name)] = value(state, d, name, unit)
        except (TwinError, KeyError):
            out[(d, name)] = float("nan")
    return out


@functools.lru_cache(maxsize=8)
def _run_preset(toml_text: str):
    from ..core import Twin
    from ..scenario import parse_scenario

    import tomllib

    t = Twin(parse_scenario(tomllib.loads(toml_text)))
    t.run()
    return t


def era_twin(scenario):
    """A twin of ``scenario`` with every domain run (memoised per scenario content)."""
    from ..scenario import load_scenario

    return _run_preset(load_scenario(scenario).to_toml())


def era_table(presets=ERA_PRESETS) -> xr.Dataset:
    """Fig. 2-2 as numbers: every row of :data:`ERA_ROWS` for every era preset.

    Returns
    -------
    xarray.Dataset
        ``value`` (dims ``row``, ``era``) with coords ``group``, ``domain``, ``variable``,
        ``unit``, ``tab`` per row; attrs ``workload`` (the model each preset trains).
    """
    from ..scenario import load_scenario

    cols, models = [], []
    for p in presets:
        t = era_twin(p)
        v = era_values(t.state)
        cols.append([v[(d, n)] for _, d, n, _, _, _ in ERA_ROWS])
        models.append(str(load_scenario(p).workload.model))
    names = [str(load_scenario(p).name) for p in presets]
    return xr.Dataset(
        {"value": (("row", "era"), np.array(cols, dtype=float).T)},
        coords={"row": [r[3] for r in ERA_ROWS], "era": names,
                "group": ("row", [r[0] for r in ERA_ROWS]), "domain": ("row", [r[1] for r in ERA_ROWS]),
                "variable": ("row", [r[2] for r in ERA_ROWS]), "unit": ("row", [r[4] for r in ERA_ROWS]),
                "tab": ("row", [r[5] for r in ERA_ROWS]), "workload": ("era", models)},
        attrs={"figure": "white paper Fig. 2-2, numbers from the twin's run of each era preset"})


__all__ = ["ERA_PRESETS", "ERA_ROWS", "era_values", "era_twin", "era_table"]
