"""Reading domain results from the twin's state tree: the only hand-off between domains.

A domain declares ``NEEDS`` (the domains whose results it reads) and reads them here, from
``state["/<domain>/results"]``, never by calling the other domain's model. Every read names
what it looks for, so a missing result is a clear error rather than a silent default.

Examples
--------
>>> from twin import Twin
>>> t = Twin("cluster-2023"); _ = t.run(["fabric"])
>>> round(value(t.state, "fabric", "base_latency", "us"), 1) > 0
True
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from .errors import TwinError
from .units import Q_, format_unit, ureg


def has_results(state: xr.DataTree, domain: str) -> bool:
    """True when the tree holds ``/<domain>/results``."""
    return domain in state.children and "results" in state[domain].children


def results(state: xr.DataTree, domain: str) -> xr.Dataset:
    """The ``/<domain>/results`` Dataset of a state tree (a TwinError naming it if absent)."""
    if not has_results(state, domain):
        raise TwinError(f"state tree has no /{domain}/results: run '{domain}' before the domains that "
                        f"read it (declare it in NEEDS)")
    return state[f"{domain}/results"].to_dataset()


def variable(state: xr.DataTree, domain: str, name: str) -> xr.DataArray:
    """One variable of ``/<domain>/results`` (a TwinError naming domain and variable if absent)."""
    ds = results(state, domain)
    if name not in ds.variables:
        have = ", ".join(sorted(map(str, ds.data_vars)))
        raise TwinError(f"/{domain}/results has no variable {name!r}; it has: {have}")
    return ds[name]


def quantity(state: xr.DataTree, domain: str, name: str):
    """A result as a pint Quantity, its unit from the variable's ``units`` attr."""
    da = variable(state, domain, name)
    unit = da.attrs.get("units", "")
    vals = da.values
    mag = vals.item() if np.ndim(vals) == 0 else np.asarray(vals)
    return Q_(mag, unit or "dimensionless")


def value(state: xr.DataTree, domain: str, name: str, unit: str = "") -> float:
    """A scalar result as a float in ``unit`` (dimensionless when ``unit`` is empty)."""
    q = quantity(state, domain, name)
    if np.ndim(q.magnitude) != 0:
        raise TwinError(f"/{domain}/results/{name} has dims {variable(state, domain, name).dims}, not a scalar")
    try:
        return float(q.to(unit or "dimensionless").magnitude)
    except Exception as exc:  # pint's DimensionalityError: say which result and which unit
        raise TwinError(f"/{domain}/results/{name} is in {q.units:~}, which cannot be read as {unit!r}") from exc


def array(state: xr.DataTree, domain: str, name: str, unit: str = "") -> xr.DataArray:
    """A result DataArray converted to ``unit`` (attrs['units'] rewritten)."""
    da = variable(state, domain, name)
    q = Q_(np.asarray(da.values, dtype=float), da.attrs.get("units", "") or "dimensionless")
    try:
        mag = q.to(unit or "dimensionless").magnitude
    except Exception as exc:
        raise TwinError(f"/{domain}/results/{name} is in {q.units:~}, which cannot be read as {unit!r}") from exc
    return da.copy(data=mag).assign_attrs(units=format_unit(unit) if unit else "")


def feedback(state: xr.DataTree, name: str, default: float) -> float:
    """A value fed back by :meth:`twin.core.Twin.run`'s explicit iteration (``/feedback``).

    Twin.run seeds ``/feedback`` before the first pass (e.g. ``clock_factor = 1``) and writes
    the value a higher domain computed before the next pass. Outside Twin.run the ``default``
    stands for the first pass.
    """
    try:
        node = state["feedback"]
    except KeyError:
        return float(default)
    ds = node.to_dataset()
    return float(ds[name].values) if name in ds.variables else float(default)


__all__ = ["has_results", "results", "variable", "quantity", "value", "array", "feedback", "ureg"]
