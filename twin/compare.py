"""Comparing twins: headline figures of every domain side by side, and which results each
scenario field moves.

Each domain package declares ``HEADLINES``: ``(variable, label, unit)`` rows naming scalar
variables of its ``/<domain>/results``. :func:`headlines` reads them from a run tree,
:func:`compare` puts two scenarios side by side with absolute and relative deltas, and
:func:`field_sensitivity` perturbs every scenario field and lists the results that move.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from . import tree
from .core import Twin, domain_module
from .errors import TwinError
from .registry import DOMAINS
from .scenario import Scenario, load_scenario
from .scenario.schema import FIELDS, Field


@dataclass(frozen=True)
class Headline:
    domain: str
    key: str
    label: str
    unit: str
    value: float


def headlines(state: xr.DataTree) -> list[Headline]:
    """The headline figures of every domain present in a run tree, in layer order."""
    out = []
    for d in DOMAINS:
        if not tree.has_results(state, d):
            continue
        for key, label, unit in domain_module(d).HEADLINES:
            out.append(Headline(d, key, label, unit, tree.value(state, d, key, unit)))
    return out


def run(scenario) -> Twin:
    """A Twin of ``scenario`` with every domain evaluated."""
    t = Twin(scenario)
    t.run()
    return t


def compare(a, b) -> xr.Dataset:
    """Headline figures of two scenarios side by side.

    Parameters
    ----------
    a, b : Scenario, preset name, path or dict, or a run :class:`~twin.core.Twin`

    Returns
    -------
    xarray.Dataset
        Over dim ``figure`` (``domain/variable``): ``a`` and ``b`` (each in its unit, attr
        ``units`` per figure in coord ``unit``), ``delta = b - a`` and ``relative = (b - a) / |a|``
        (NaN-free: 0 where both are 0, +-inf where only ``a`` is 0); attrs name the scenarios.
    """
    ta = a if isinstance(a, Twin) else run(a)
    tb = b if isinstance(b, Twin) else run(b)
    ha = {(h.domain, h.key): h for h in headlines(ta.state)}
    hb = {(h.domain, h.key): h for h in headlines(tb.state)}
    keys = [k for k in ha if k in hb]
    va = np.array([ha[k].value for k in keys], dtype=float)
    vb = np.array([hb[k].value for k in keys], dtype=float)
    delta = vb - va
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(va != 0, delta / np.abs(va), np.where(delta == 0, 0.0, np.sign(delta) * np.inf))
    fig = [f"{d}/{k}" for d, k in keys]
    return xr.Dataset(
        {"a": ("figure", va), "b": ("figure", vb), "delta": ("figure", delta), "relative": ("figure", rel)},
        coords={"figure": fig, "domain": ("figure", [d for d, _ in keys]),
                "label": ("figure", [ha[k].label for k in keys]), "unit": ("figure", [ha[k].unit for k in keys])},
        attrs={"a": ta.scenario.name, "b": tb.scenario.name})


# --- field sensitivity ---------------------------------------------------------------------

def _alternatives(f: Field, value, sc: Scenario) -> list:
    """Candidate values for a perturbation of ``f`` away from ``value`` (most telling first)."""
    from . import catalog

    if f.kind == "bool":
        return [not value]
    if f.kind == "choice":
        return [c for c in f.choices if c != value]
    if f.kind.startswith("catalog:"):
        kind = f.kind.split(":", 1)[1]
        names = [n for n in catalog.names(kind) if n != value]
        if kind == "accelerators":  # same form factor and link family, so the topology still holds
            acc = catalog.accelerator(value)
            names.sort(key=lambda n: (catalog.accelerator(n).form_factor != acc.form_factor,
                                      str(catalog.accelerator(n).get("link_family")) != str(acc.get("link_family"))))
        return names[:6]
    if f.kind == "list:str":
        value = list(value)
        fewer = [value[:i] + value[i + 1:] for i in range(len(value))] if len(value) > 1 else []
        extra = [p for p in _LIST_ITEMS.get(f.path, ()) if p not in value]
        swapped = [value[:-1] + [e] for e in extra] if value else []
        return swapped + fewer + [value + [e] for e in extra[:3]]
    if f.kind == "int":
        v = int(value)
        cands = [v * 2, v // 2, v + 1, v - 1, 1, 2, 8] if v else [1, 2, 8]
        return [c for c in dict.fromkeys(cands) if c != v and (f.lo is None or c >= f.lo) and (f.hi is None or c <= f.hi)]
    if f.kind == "float" or f.kind == "quantity":
        m = float(value.magnitude) if f.kind == "quantity" else float(value)
        unit = f" {f.unit}" if f.kind == "quantity" else ""
        cands = [m * 1.25, m * 0.8, m + 5, m - 5, m + 0.1, m - 0.1, (f.lo or 0) + 1, m * 2] if m else [1.0, 0.5, 10.0]
        if f.unit == "Gbit/s":  # line rates come in standard steps (optics and switch ports exist for them)
            cands = [c for c in _LINE_RATES if c != m] + cands
        ok = [c for c in cands if c != m and (f.lo is None or c >= f.lo) and (f.hi is None or c <= f.hi)]
        return [f"{c:.6g}{unit}" if unit else c for c in dict.fromkeys(ok)]
    if f.kind == "str":
        if f.path == "cost.prices":  # the price files shipped in datasets/prices
            from .paths import datasets_dir

            return sorted(p.stem for p in (datasets_dir() / "prices").glob("*.toml") if p.stem != value)
        return [v for v in _STR_ALTERNATIVES.get(f.path, ()) if v != value] or [str(value) + "-x"]
    return []


#: Items a list field may gain in a perturbation.
_LIST_ITEMS = {"storage.protocols": ("s3", "nfs", "hdfs", "block", "posix"),
               "platform.site_accelerators": ("A800-SXM4-80GB", "H100-SXM5-80GB", "Ascend-910B"),
               "platform.sites": ("beijing", "hohhot", "shanghai"),
               "platform.wan_links": ("hohhot-beijing@1200 km", "beijing-hohhot@300 km")}

#: Standard Ethernet / InfiniBand line rates [Gbit/s] tried first for a rate field.
_LINE_RATES = (100.0, 400.0, 200.0, 800.0, 25.0)

#: A field that moves results only in a context (a MoE model for expert parallelism) is
#: perturbed there: these overrides join the base scenario for that field alone.
CONTEXTS = {"workload.ep": {"workload": {"model": "mixtral-8x7b"}},
            "storage.sites": {"storage": {"architecture": "global"}},
            "storage.site_distance": {"storage": {"architecture": "global", "sites": 2}},
            "storage.pool_hosts": {"storage": {"memory_pool": "64 TiB"}},
            "storage.cold_after": {"storage": {"checkpoints_kept": 10000}}}


#: Plausible other values of free-text fields (checked by the scenario like any input).
_STR_ALTERNATIVES = {
    "workload.model": ("llama3-8b", "gpt3-175b", "llama3-70b", "megatron-sc21-18.4b"),
    "compute.serving_model": ("llama3-8b", "llama2-7b", "llama3-70b", "llama2-70b"),
    "platform.pool_trace": ("synthetic", "sample"),
    "energy.climate": ("guiyang", "beijing", "shanghai", "ulanqab", "shenzhen"),
    "storage.redundancy": ("replica-3", "ec-4+2", "ec-12+4", "ec-8+2"),
}


#: Alternatives tried per field before it is reported as moving nothing.
MAX_ALTERNATIVES = 4


def _result_vars(state: xr.DataTree) -> dict[str, xr.DataArray]:
    out = {}
    for d in DOMAINS:
        if tree.has_results(state, d):
            ds = state[f"{d}/results"].to_dataset()
            for k, v in ds.data_vars.items():
                out[f"{d}/{k}"] = v
    return out


def _moved(a: xr.DataArray, b: xr.DataArray) -> bool:
    if a.shape != b.shape:
        return True
    va, vb = np.asarray(a.values), np.asarray(b.values)
    if va.dtype.kind in "fiub" and vb.dtype.kind in "fiub":
        return not np.allclose(va.astype(float), vb.astype(float), rtol=1e-9, atol=0.0, equal_nan=True)
    return not np.array_equal(va, vb)


def field_sensitivity(scenario, fields=None) -> list[dict]:
    """For every scenario field, the results that change when it changes.

    Parameters
    ----------
    scenario : Scenario, preset name, path or dict
    fields : iterable of str, optional
        Dotted field paths (default: every field of the schema).

    Returns
    -------
    list of dict
        One row per field: ``field``, ``from`` and ``to`` (the perturbation that ran), ``moved``
        (the ``domain/variable`` names that changed), ``label_only`` (the schema's reason, if any)
        and ``note`` (why no perturbation could run, if none could).

    Notes
    -----
    Each field is set to alternatives the scenario accepts (at most :data:`MAX_ALTERNATIVES`),
    the whole twin running again each time, until one moves a result; a result moved when any
    of its values differs by more than 1e-9 relative. A field in
    :data:`CONTEXTS` is perturbed from the base scenario with that context's overrides.
    """
    root_sc = load_scenario(scenario)
    root = None
    wanted = None if fields is None else set(fields)
    rows = []
    for f in FIELDS:
        if wanted is not None and f.path not in wanted:
            continue
        if not f.section:
            rows.append({"field": f.path, "from": getattr(root_sc, f.name), "to": "", "moved": [],
                         "label_only": f.label_only, "note": "scenario metadata", "context": ""})
            continue
        if f.path in CONTEXTS:
            base_sc = root_sc.with_overrides(CONTEXTS[f.path])
            base = _result_vars(run(base_sc).state)
        else:
            if root is None:
                root = _result_vars(run(root_sc).state)
            base_sc, base = root_sc, root
        cur = getattr(getattr(base_sc, f.section), f.name)
        row = {"field": f.path, "from": _show(cur), "to": "", "moved": [], "label_only": f.label_only, "note": "",
               "context": str(CONTEXTS.get(f.path, ""))}
        errors, tried = [], 0
        for alt in _alternatives(f, cur, base_sc)[:MAX_ALTERNATIVES]:
            try:
                t = Twin(base_sc.with_overrides({f.section: {f.name: alt}}))
                t.run()
            except TwinError as exc:  # this alternative is not a valid scenario: try the next
                errors.append(f"{alt!r}: {exc}")
                continue
            tried += 1
            new = _result_vars(t.state)
            row["to"] = _show(alt)
            row["moved"] = sorted(k for k in set(base) | set(new)
                                  if k not in base or k not in new or _moved(base[k], new[k]))
            if row["moved"]:  # a change of the field that moves results: that is the answer
                break
        if not tried:
            row["note"] = "no valid perturbation: " + ("; ".join(errors[:2]) if errors else "no alternative")
        rows.append(row)
    return rows


def _show(v) -> str:
    import pint

    if isinstance(v, pint.Quantity):
        return f"{v:~}".replace("°C", "degC")
    return str(v)


def sensitivity_table(rows: list[dict]) -> list[dict]:
    """Rows of :func:`field_sensitivity` shortened for printing (domains moved, count)."""
    out = []
    for r in rows:
        doms = sorted({m.split("/")[0] for m in r["moved"]})
        status = ("moves " + ", ".join(doms)) if r["moved"] else (
            f"label only: {r['label_only']}" if r["label_only"] else (r["note"] or "MOVES NOTHING"))
        out.append({"field": r["field"], "perturbation": f"{r['from']} -> {r['to']}" if r["to"] else "",
                    "results moved": len(r["moved"]), "status": status})
    return out


__all__ = ["Headline", "headlines", "compare", "field_sensitivity", "sensitivity_table", "run"]
