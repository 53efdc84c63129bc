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

#: The columns of a row of :data:`ERA_ROWS`: the keys of a ``[[row]]`` of datasets/tables/eras.toml.
ERA_COLUMNS = ("group", "domain", "variable", "label", "unit", "tab")


def read_era_rows(path=None) -> tuple:
    """The rows of Fig. 2-2 from ``datasets/tables/eras.toml`` (or ``path``), top to bottom.

    Returns
    -------
    tuple
        One tuple of :data:`ERA_COLUMNS` strings per ``[[row]]``.

    Raises
    ------
    InputError
        No ``[[row]]``, a key missing or not a string, or a domain the twin does not have,
        naming the row and key (``eras.row[3].unit``).
    """
    from ..errors import InputError, unknown_name
    from ..paths import datasets_dir, load_toml
    from ..registry import DOMAINS

    path = datasets_dir() / "tables" / "eras.toml" if path is None else path
    rows = load_toml(path).get("row")
    if not isinstance(rows, list) or not rows:
        raise InputError("eras.row", rows, "one [[row]] table per row of Fig. 2-2", f"is missing in {path}")
    for i, r in enumerate(rows):
        r = rows[i] = r if isinstance(r, dict) else {}
        for k in ERA_COLUMNS:
            if not isinstance(r.get(k), str):
                raise InputError(f"eras.row[{i}].{k}", r.get(k), "a string", f"is missing or not a string in {path}")
        if r["domain"] not in DOMAINS:
            raise unknown_name(f"eras.row[{i}].domain", r["domain"], DOMAINS, "domain")
    return tuple(tuple(r[k] for k in ERA_COLUMNS) for r in rows)


#: Rows of Fig. 2-2: (row group, domain, result variable, label, unit, dashboard tab title), as
#: datasets/tables/eras.toml declares them. ``ring_efficiency`` is the ratio of two tree numbers
#: (see :func:`era_values`).
ERA_ROWS = read_era_rows()


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


__all__ = ["ERA_PRESETS", "ERA_ROWS", "ERA_COLUMNS", "read_era_rows", "era_values", "era_twin", "era_table"]
