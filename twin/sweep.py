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
    base_sc, keys, shape, pts = _grid_points(base, grid,
                                             names=("grid", "grid.{}", "at least one field path with a list of values"))
    dicts = [d for _, d in pts]

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


# --- sweeps of the whole twin, streamed to Zarr, resumable (nicc-twin sweep) --------------------

#: Scalar results a sweep records when no metrics are given: the cost domain's headlines.
DEFAULT_METRICS = ("cost.cost_per_gpu_hour", "cost.cost_per_million_tokens", "cost.carbon_per_million_tokens",
                   "cost.annual_cost", "energy.pue", "training.mfu")

_MEMO: dict = {}          # per worker process: (domain, key) -> results Dataset, feedback Dataset
_MEMO_MAX = 256


def field_of(path: str, field: str = "--set"):
    """The schema Field of a dotted path (``"fabric.nic_speed"``) or an InputError naming ``field``
    with the closest."""
    from .errors import unknown_name
    from .scenario.schema import FIELDS

    by_path = {f.path: f for f in FIELDS}
    if path not in by_path:
        raise unknown_name(field, path, sorted(by_path), "scenario field")
    return by_path[path]


def parse_values(path: str, text) -> list:
    """Values of one ``--set FIELD=V1,V2,...``, typed by the schema (a bare number for a quantity
    field is read in the field's unit: ``fabric.nic_speed=100,400`` means Gbit/s)."""
    f = field_of(path)
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else list(text))]
    if not items or any(t == "" for t in items):
        raise InputError(f"--set {path}", text, "a comma-separated list of values, e.g. 100,200,400", "has an empty value")
    out = []
    for t in items:
        if not isinstance(t, str):
            out.append(t)
            continue
        if f.kind == "int":
            try:
                out.append(int(t))
            except ValueError:
                raise InputError(path, t, f"a whole number ({f.description.lower()})", "is not a whole number") from None
        elif f.kind == "float":
            try:
                out.append(float(t))
            except ValueError:
                raise InputError(path, t, f"a number ({f.description.lower()})", "is not a number") from None
        elif f.kind == "bool":
            if t.lower() not in ("true", "false"):
                raise InputError(path, t, "true or false")
            out.append(t.lower() == "true")
        elif f.kind == "quantity":
            try:
                float(t)
                out.append(f"{t} {f.unit}")
            except ValueError:
                out.append(t)
        elif f.kind.startswith("list:"):
            out.append([x for x in t.split("+") if x])
        else:
            out.append(t)
    return out


def _grid_points(base, grid: dict, checks=(), names=("--set", "--set {}", "at least one FIELD=V1,V2,... to sweep")):
    """(base scenario, keys, shape, list of (index, point dict)), every point checked first.

    ``names``: how errors name the grid, one of its keys (a format string) and what an empty grid
    should have been (the CLI's ``--set`` by default, ``grid`` for :func:`sweep`).
    """
    grid_field, key_field, expected = names
    if not grid:
        raise InputError(grid_field, grid, expected)
    base_sc = load_scenario(base)
    base_dict = base_sc.to_dict()
    keys = list(grid)
    for k in keys:
        field_of(k, grid_field)
        if not isinstance(grid[k], (list, tuple)) or not grid[k]:
            raise InputError(key_field.format(k), grid[k], "a non-empty list of values")
    shape = tuple(len(grid[k]) for k in keys)
    pts = []
    for idx in itertools.product(*(range(n) for n in shape)):
        over: dict = {}
        for k, i in zip(keys, idx):
            over = merge_overrides(over, _nest(k, grid[k][i]))
        d = merge_overrides(base_dict, over)
        sc = load_scenario(d)  # a bad value fails here, naming the field, before any point runs
        for check in checks:
            check(sc)
        pts.append((idx, d))
    return base_sc, keys, shape, pts


def _domain_checks(domains) -> list:
    """``check(scenario)`` of every domain the sweep runs that defines one (inputs the schema
    cannot check, e.g. the cost domain's price file), run on every point before any point runs."""
    from .core import domain_module, run_order

    return [domain_module(d).check for d in run_order(domains) if callable(getattr(domain_module(d), "check", None))]


def _check_metrics(metrics) -> list[tuple[str, str]]:
    from .registry import DOMAINS

    out = []
    for m in metrics:
        d, _, name = str(m).partition(".")
        if d not in DOMAINS or not name:
            from .errors import unknown_name

            if d not in DOMAINS:
                raise unknown_name("--metrics", m, [f"{x}.<variable>" for x in DOMAINS], "domain of a metric")
            raise InputError("--metrics", m, "DOMAIN.VARIABLE, e.g. cost.cost_per_gpu_hour")
        out.append((d, name))
    return out


def domain_keys(scenario_dict: dict, domains) -> dict[str, str]:
    """Cache key of each domain's results: a hash of the scenario fields it (transitively) reads.

    A domain module may declare ``READS`` (the scenario sections its evaluate reads); without it
    every section but ``cost`` is assumed (only the cost domain reads the cost section). A domain
    reads what everything in its NEEDS reads; the domains from training up also read what the
    writer of the fed-back clock factor (energy) reads.
    """
    import hashlib
    import json

    from .core import FEEDBACK, domain_module, run_order
    from .scenario.schema import SECTIONS

    order = run_order(domains)
    own: dict[str, set] = {}
    for d in order:
        mod = domain_module(d)
        reads = getattr(mod, "READS", None)
        own[d] = set(reads) if reads is not None else ({s for s in SECTIONS if s != "cost"} | ({"cost"} if d == "cost" else set()))
    closure: dict[str, set] = {}
    for d in order:  # NEEDS come first in run order
        s = set(own[d])
        for n in domain_module(d).NEEDS:
            s |= closure.get(n, own.get(n, set()))
        closure[d] = s
    writers = {w for _, w, _ in FEEDBACK}
    fb = set().union(*(closure.get(w, set()) for w in writers)) if writers else set()
    readers = {d for d in order if getattr(domain_module(d), "READS_FEEDBACK", False)}
    keys = {}
    for d in order:
        above = d in readers or bool(readers & _needs_closure(d))
        secs = sorted(closure[d] | (fb if above else set()))
        blob = json.dumps({s: scenario_dict.get(s, {}) for s in secs}, sort_keys=True, default=str)
        keys[d] = hashlib.sha256(f"{d}|{blob}".encode()).hexdigest()[:24]
    return keys


def _needs_closure(d: str) -> set:
    from .core import domain_module

    out, todo = set(), list(domain_module(d).NEEDS)
    while todo:
        n = todo.pop()
        if n not in out:
            out.add(n)
            todo.extend(domain_module(n).NEEDS)
    return out


def _cache_get(cache_dir, d, key):
    from pathlib import Path

    if (d, key) in _MEMO:
        return _MEMO[(d, key)]
    if cache_dir is None:
        return None
    p = Path(cache_dir) / f"{d}-{key}.nc"
    fbp = Path(cache_dir) / f"{d}-{key}.feedback.nc"
    if not p.exists():
        return None
    try:
        hit = (xr.load_dataset(p), xr.load_dataset(fbp) if fbp.exists() else None)
    except Exception:  # a torn file from a killed run: recompute
        return None
    _memo_put((d, key), hit)
    return hit


def _memo_put(k, v):
    if len(_MEMO) >= _MEMO_MAX:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[k] = v


def _cache_put(cache_dir, d, key, ds, fb):
    import os
    import tempfile
    from pathlib import Path

    _memo_put((d, key), (ds, fb))
    if cache_dir is None:
        return
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    for suffix, obj in ((".nc", ds), (".feedback.nc", fb)):
        if obj is None:
            continue
        fd, tmp = tempfile.mkstemp(suffix=".part", dir=cache_dir)
        os.close(fd)
        try:
            obj.to_netcdf(tmp)
            os.replace(tmp, Path(cache_dir) / f"{d}-{key}{suffix}")
        except Exception:
            Path(tmp).unlink(missing_ok=True)


def run_point(scenario_dict: dict, metrics, domains, cache_dir=None, reuse: bool = True) -> dict:
    """Run the twin on one scenario and return ``{metric: (value, unit)}`` for scalar metrics.

    With ``reuse``, every domain whose inputs (:func:`domain_keys`) were seen before takes its
    results from the cache (this worker's memory, then ``cache_dir``) instead of evaluating;
    ``"_evaluated"`` lists the domains that were evaluated.
    """
    from .core import Twin, run_order
    from .tree import has_results, results

    t = Twin(scenario_dict)
    order = run_order(domains)
    keys = domain_keys(scenario_dict, domains) if reuse else {}
    if reuse:
        for d in order:
            hit = _cache_get(cache_dir, d, keys[d])
            if hit is None:
                break  # everything above a miss is recomputed (it reads the miss)
            t.state[f"{d}/results"] = xr.DataTree(hit[0])
            if hit[1] is not None:
                t.state["feedback"] = xr.DataTree(hit[1])
    before = set(d for d in order if has_results(t.state, d))
    t.run(domains)
    evaluated = [d for d in order if d not in before]
    fb = t.state["feedback"].to_dataset() if "feedback" in t.state.children else None
    if reuse:
        # cache what another domain of this run reads; the requested top domains' results are
        # this point's own (their metrics go to the store), so they are kept in memory only
        needed = set().union(*(_needs_closure(d) for d in domains)) if domains else set()
        for d in evaluated:
            _cache_put(cache_dir if d in needed else None, d, keys[d], results(t.state, d), fb)
    out = {"_evaluated": evaluated}
    for d, name in metrics:
        ds = results(t.state, d)
        if name not in ds.variables:
            have = ", ".join(sorted(map(str, ds.data_vars)))
            raise InputError("--metrics", f"{d}.{name}", f"a variable of /{d}/results ({have})", "is not one")
        da = ds[name]
        if da.ndim != 0:
            raise InputError("--metrics", f"{d}.{name}", "a scalar result", f"has dims {da.dims}")
        out[f"{d}.{name}"] = (float(da.values), da.attrs.get("units", ""))
    return out


def _open_or_create(out, base_sc, keys, grid, shape, metric_names, resume):
    import json
    from pathlib import Path

    import zarr

    out = Path(out)
    spec = {"base": base_sc.to_dict(), "grid": {k: [str(v) for v in grid[k]] for k in keys}, "metrics": metric_names}
    spec_json = json.dumps(spec, sort_keys=True, default=str)
    if out.exists():
        if not resume:
            raise InputError("-o", str(out), "a new path, or --resume to continue the sweep stored there", "exists")
        g = zarr.open_group(str(out), mode="r+")
        if g.attrs.get("sweep_spec") != spec_json:
            raise InputError("--resume", str(out), "the same BASE, --set values and --metrics as the stored sweep",
                             "was written for another sweep")
        return g
    coords = {}
    for k in keys:
        arr, u = _coord(list(grid[k]))
        coords[k] = xr.Variable((k,), arr, attrs={"units": u})
    one = {k: 1 for k in keys}
    data = {m: xr.Variable(tuple(keys), np.full(shape, np.nan), attrs={"units": ""}) for m in metric_names}
    data["_done"] = xr.Variable(tuple(keys), np.zeros(shape, dtype=bool))
    data["_attempt"] = xr.Variable(tuple(keys), np.zeros(shape, dtype=np.int32),
                                   attrs={"long_name": "run (1 = first, 2 = first resume, ...) that computed the point"})
    ds = xr.Dataset(data, coords=coords, attrs={"base_scenario": base_sc.name, "sweep_spec": spec_json, "runs": 0})
    enc = {v: {"chunks": tuple(one[k] for k in keys)} for v in data}
    tmp = out.with_name(out.name + ".part")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    import warnings

    with warnings.catch_warnings():  # fixed-length string coords: zarr notes they lack a v3 spec
        warnings.simplefilter("ignore")
        ds.to_zarr(str(tmp), mode="w", encoding=enc, consolidated=False)
    tmp.rename(out)  # the store appears whole or not at all
    return zarr.open_group(str(out), mode="r+")


def _done_mask(g, shape):
    try:
        return np.asarray(g["_done"][...], dtype=bool)
    except Exception:  # a chunk torn by kill -9: read point by point, unreadable = not done
        done = np.zeros(shape, dtype=bool)
        for idx in itertools.product(*(range(n) for n in shape)):
            try:
                done[idx] = bool(g["_done"][idx])
            except Exception:
                done[idx] = False
        return done


def sweep_to_zarr(base, grid: dict, out, *, metrics=None, domains=None, scheduler=None, n_workers: int = 2,
                  resume: bool = False, progress=None, reuse: bool = True, processes: bool = True) -> xr.Dataset:
    """Sweep the whole twin over a grid on Dask, each point streamed to a Zarr store as it ends.

    Parameters
    ----------
    base : str, dict or Scenario
        The scenario the grid's overrides apply to.
    grid : dict[str, list]
        Dotted field -> values (typed as in a scenario; see :func:`parse_values` for text).
    out : str or Path
        Zarr store (``.zarr``). One array per metric with one dim per grid key, ``_done`` and
        ``_attempt`` per point; each finished point is written there before the next is counted.
    metrics : sequence of str, optional
        ``DOMAIN.VARIABLE`` scalars to record (default :data:`DEFAULT_METRICS`).
    domains : sequence of str, optional
        Domains to run (default: those of the metrics, with their NEEDS).
    scheduler : str, optional
        Address of a running Dask scheduler; by default a LocalCluster of ``n_workers``
        processes is started and closed.
    resume : bool
        Continue the sweep stored at ``out``: finished points are kept, not recomputed.
    progress : callable or bool, optional
        ``progress(done, total, label)``; False for none.
    reuse : bool
        Reuse each domain's results across points whose inputs for that domain are equal
        (:func:`domain_keys`); False recomputes every domain at every point.
    processes : bool
        Local cluster workers as processes (default) or as threads of this process.

    Returns
    -------
    xarray.Dataset
        The finished store, read back (metrics with units, ``_done``, ``_attempt``).

    Raises
    ------
    InputError, ScenarioError
        An unknown field, a bad value, an unknown metric domain, or a store of another sweep,
        before any point runs.
    """
    from pathlib import Path

    metrics = list(metrics or DEFAULT_METRICS)
    mlist = _check_metrics(metrics)
    if Path(str(out)).suffix != ".zarr":
        raise InputError("-o", str(out), "a path ending in .zarr", "has another suffix")
    if domains is None:
        domains = sorted({d for d, _ in mlist})
    base_sc, keys, shape, pts = _grid_points(base, grid, _domain_checks(domains))
    metric_names = [f"{d}.{n}" for d, n in mlist]
    g = _open_or_create(out, base_sc, keys, grid, shape, metric_names, resume)
    done = _done_mask(g, shape)
    run_no = int(g.attrs.get("runs", 0)) + 1
    g.attrs["runs"] = run_no
    todo = [(idx, d) for idx, d in pts if not done[idx]]
    total = len(pts)
    n_done = total - len(todo)
    cache_dir = str(Path(str(out)).with_name(Path(str(out)).name + ".cache")) if reuse else None
    report = progress if callable(progress) else None
    if report:
        report(n_done, total, f"{len(todo)} to run, {n_done} already done")
    if todo:
        from dask.distributed import Client, LocalCluster, as_completed

        cluster = None
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=int(n_workers), threads_per_worker=1, processes=bool(processes),
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        try:
            futs = {}
            for idx, d in todo:
                f = client.submit(run_point, d, mlist, list(domains), cache_dir, reuse, pure=False)
                futs[f] = idx
            units_set = set()
            for f in as_completed(list(futs)):
                idx = futs[f]
                try:
                    res = f.result()
                except BaseException:
                    for other in futs:
                        other.cancel()
                    raise
                for m in metric_names:
                    v, u = res[m]
                    if m not in units_set:
                        if g[m].attrs.get("units", "") != u:
                            g[m].attrs["units"] = u
                        units_set.add(m)
                    g[m][idx] = v
                g["_attempt"][idx] = run_no   # before _done: a kill between leaves the point to redo
                g["_done"][idx] = True
                n_done += 1
                if report:
                    report(n_done, total, ",".join(res.get("_evaluated", [])) or "reused")
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = xr.open_zarr(str(out), consolidated=False).load()
    return ds


def seed_cache(out, twin, domains=None) -> list[str]:
    """Put the results of an already-run twin into the reuse cache of the sweep stored at ``out``,
    so the sweep's points take every domain whose inputs equal that twin's from it instead of
    evaluating (e.g. a notebook's base run before a sweep over cost fields). Returns the domains
    seeded."""
    from pathlib import Path

    from .core import run_order
    from .tree import has_results, results

    domains = list(domains or ["cost"])
    keys = domain_keys(twin.scenario.to_dict(), domains)
    cache_dir = str(Path(str(out)).with_name(Path(str(out)).name + ".cache"))
    fb = twin.state["feedback"].to_dataset() if "feedback" in twin.state.children else None
    done = []
    for d in run_order(domains):
        if has_results(twin.state, d):
            _cache_put(cache_dir, d, keys[d], results(twin.state, d), fb)
            done.append(d)
    return done
