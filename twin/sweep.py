"""Parameter sweeps over scenarios on a Dask scheduler, stacked as xarray dims.

A sweep takes a base scenario, a grid of overrides by dotted field path and a function of a
scenario that returns named quantities. Every grid point is checked before anything runs
(a bad value is a ScenarioError naming the field and the point); points run as tasks on a
``dask.distributed`` scheduler (a local one unless a client is given); the result is an
``xarray.Dataset`` with one dim per grid key and ``units`` on every variable.
"""
from __future__ import annotations

import itertools
from typing import Callable

import numpy as np
import pint
import xarray as xr

from .errors import InputError
from .scenario import Scenario, load_scenario, merge_overrides
from .units import format_unit


def _nest(path: str, value) -> dict:
    out: dict = {}
    cur = out
    parts = path.split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return out


def _evaluate(func, scenario_dict):
    # scenarios travel to workers as plain dicts and are rebuilt (and re-checked) there
    return func(load_scenario(scenario_dict))


def _coord(values):
    from .units import ureg

    if all(isinstance(v, str) for v in values):
        try:
            qs = [ureg.Quantity(v) for v in values]
            if all(isinstance(q, pint.Quantity) for q in qs):
                values = [q.to(qs[0].units) for q in qs]
        except Exception:
            pass  # plain strings (names): keep them as labels
    plain = [v.magnitude if isinstance(v, pint.Quantity) else v for v in values]
    try:
        arr = np.asarray(plain, dtype=float)
    except (TypeError, ValueError):
        arr = np.asarray([str(v) for v in plain])
    units = format_unit(values[0].units) if isinstance(values[0], pint.Quantity) else ""
    return arr, units


def sweep(base, grid: dict[str, list], func: Callable[[Scenario], dict], *, client=None) -> xr.Dataset:
    """Evaluate ``func`` at every point of ``grid`` around ``base`` on a Dask scheduler.

    Parameters
    ----------
    base : str, dict or Scenario
        Preset name, TOML path, dict or scenario the overrides apply to.
    grid : dict[str, list]
        Dotted field path -> values, e.g. ``{"fabric.nic_speed": ["200 Gbit/s", "400 Gbit/s"]}``.
    func : callable
        ``func(scenario) -> {name: pint.Quantity | float}`` or ``-> xarray.Dataset`` (a domain
        model such as :func:`twin.training.estimate`; its variables keep their own dims);
        must be picklable (a module-level function).
    client : dask.distributed.Client, optional
        Scheduler to use; by default a local in-process cluster is started and closed.

    Returns
    -------
    xarray.Dataset
        One variable per name returned by ``func``, dims = grid keys, ``units`` in attrs.
    """
    if not grid:
        raise InputError("grid", grid, "at least one field path with a list of values")
    base_sc = load_scenario(base)
    base_dict = base_sc.to_dict()
    keys = list(grid)
    for k in keys:
        if not isinstance(grid[k], (list, tuple)) or not grid[k]:
            raise InputError(f"grid.{k}", grid[k], "a non-empty list of values")
    points = list(itertools.product(*(grid[k] for k in keys)))
    dicts = []
    for pt in points:
        over: dict = {}
        for k, v in zip(keys, pt):
            over = merge_overrides(over, _nest(k, v))
        d = merge_overrides(base_dict, over)
        load_scenario(d)  # fail early, naming the field, before any task is sent
        dicts.append(d)

    own = client is None
    if own:
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
        client = Client(cluster)
    try:
        futures = client.map(_evaluate, [func] * len(dicts), dicts, pure=False)
        results = client.gather(futures)
    finally:
        if own:
            client.close()
            cluster.close()

    shape = tuple(len(grid[k]) for k in keys)
    coords = {}
    for k in keys:
        arr, u = _coord(list(grid[k]))
        coords[k] = xr.Variable((k,), arr, attrs={"units": u})
    if isinstance(results[0], xr.Dataset):
        return _stack_datasets(results, keys, coords, shape, base_sc.name)
    data = {}
    for name in results[0]:
        vals = [r[name] for r in results]
        if isinstance(vals[0], pint.Quantity):
            unit = vals[0].units
            mags = np.array([v.to(unit).magnitude for v in vals], dtype=float)
            attrs = {"units": format_unit(unit)}
        else:
            mags = np.array(vals, dtype=float)
            attrs = {"units": ""}
        data[name] = xr.Variable(tuple(keys), mags.reshape(shape), attrs=attrs)
    return xr.Dataset(data, coords=coords, attrs={"base_scenario": base_sc.name})


def _stack_datasets(results, keys, coords, shape, base_name) -> xr.Dataset:
    """Stack per-point Datasets along the grid dims (each variable keeps its own dims and attrs)."""
    stacked = xr.concat(results, dim="_point", combine_attrs="drop_conflicts")
    out = {}
    for name, var in stacked.data_vars.items():
        inner = [d for d in var.dims if d != "_point"]
        values = var.transpose("_point", *inner).values.reshape(shape + tuple(var.sizes[d] for d in inner))
        out[name] = xr.Variable(tuple(keys) + tuple(inner), values, attrs=results[0][name].attrs)
    extra = {d: stacked.coords[d] for d in stacked.coords if d != "_point" and "_point" not in stacked.coords[d].dims}
    ds = xr.Dataset(out, coords={**coords, **extra})
    ds.attrs = {"base_scenario": base_name}
    return ds
