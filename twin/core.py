"""The Twin: a scenario's state as an xarray.DataTree, domain results as new groups.

Groups follow the white paper's domains: /compute, /interconnect, /fabric, /training,
/storage, /platform, /energy. Every variable carries ``units`` in attrs and dims named for
components (node, rack, ...). ``Twin.run()`` asks each domain package's ``evaluate(scenario)``
for its results and stores them under ``/<domain>/results``. ``save``/``load`` round-trip
through NetCDF or Zarr with units preserved; writes are atomic.
"""
from __future__ import annotations

import importlib
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from . import catalog, summary as _summary, tree
from .errors import InputError, TwinError
from .registry import DOMAINS
from .scenario import Scenario, load_scenario, usable_fraction
from .units import format_unit

STATE_GROUPS = ("compute", "interconnect", "fabric", "training", "storage", "platform", "energy")


def _var(values, unit: str, dims=(), **attrs) -> xr.Variable:
    a = {"units": format_unit(unit) if unit else ""}
    a.update({k: v for k, v in attrs.items() if v is not None})
    return xr.Variable(dims, np.asarray(values, dtype=float), attrs=a)


def _scalar(q, unit: str, **attrs) -> xr.Variable:
    return _var(q.to(unit).magnitude, unit, **attrs)


def build_state(sc: Scenario) -> xr.DataTree:
    """The initial state of a scenario: inputs resolved against the catalog, one group per domain."""
    c, f, s, p, e, w = sc.compute, sc.fabric, sc.storage, sc.platform, sc.energy, sc.workload
    acc = catalog.accelerator(c.accelerator)
    nodes = np.arange(c.nodes)
    compute = xr.Dataset(
        {
            "cards": xr.Variable(("node",), np.full(c.nodes, c.cards_per_node, dtype=np.int64), attrs={"units": ""}),
            "peak_bf16_per_card": _scalar(catalog.peak_rate(acc, "bf16"), "TFLOP/s"),
            "peak_fp32_per_card": _scalar(catalog.peak_rate(acc, "fp32"), "TFLOP/s"),
            "hbm_capacity_per_card": _scalar(acc.hbm_capacity, "GB"),
            "hbm_bandwidth_per_card": _scalar(acc.hbm_bandwidth, "GB/s"),
            "tdp_per_card": _scalar(acc.tdp, "W"),
        },
        coords={"node": nodes},
        attrs={"accelerator": acc.name, "form_factor": acc.form_factor, "catalog_source": acc.source},
    )
    interconnect = xr.Dataset(
        {"scale_up_bandwidth_per_card": _scalar(_summary.scale_up_bandwidth(sc), "GB/s", description="per card, both directions"),
         "domain_size": _var(c.domain_size, "")},
        attrs={"topology": c.topology, "link_family": str(acc.link_family)},
    )
    fabric = xr.Dataset(
        {"nic_speed": _scalar(f.nic_speed, "Gbit/s"), "nics_per_node": _var(f.nics_per_node, ""),
         "spine_link_speed": _scalar(f.spine_link_speed, "Gbit/s"),
         "bisection_bandwidth": _scalar(_summary.bisection_bandwidth(sc), "Tbit/s"),
         "oversubscription": _var(f.oversubscription, "")},
        attrs={"protocol": f.protocol, "topology": f.topology, "switch": f.switch, "load_balancing": f.load_balancing,
               "congestion_control": f.congestion_control},
    )
    storage = xr.Dataset(
        {"capacity_raw": _scalar(s.capacity, "PB"), "usable_fraction": _var(usable_fraction(s.redundancy), ""),
         "bandwidth": _scalar(s.bandwidth, "GB/s"), "memory_pool": _scalar(s.memory_pool, "TiB")},
        attrs={"architecture": s.architecture, "redundancy": s.redundancy, "protocols": ",".join(s.protocols)},
    )
    platform = xr.Dataset({"pooling_granularity": _var(p.pooling_granularity, "")},
                          attrs={"allocation": p.allocation, "scheduler": p.scheduler})
    n_racks = math.ceil(c.nodes / e.servers_per_rack)
    servers = np.full(n_racks, e.servers_per_rack, dtype=float)
    servers[-1] = c.nodes - e.servers_per_rack * (n_racks - 1)
    energy = xr.Dataset(
        {"servers": xr.Variable(("rack",), servers, attrs={"units": ""}),
         "liquid_fraction": _var(e.liquid_fraction, ""),
         "supply_temperature": _scalar(e.supply_temperature, "degC"),
         "air_supply_temperature": _scalar(e.air_supply_temperature, "degC"),
         "pue_design": _var(e.pue_design, "")},
        coords={"rack": np.arange(n_racks)},
        attrs={"cooling": e.cooling, "climate": e.climate, "coolant": e.coolant},
    )
    training = xr.Dataset(
        {"cards": _var(sc.cards, ""), "global_batch": _var(w.global_batch, ""), "sequence_length": _var(w.sequence_length, "")},
        attrs={"model": w.model, "tp": w.tp, "pp": w.pp, "dp": w.dp, "ep": w.ep, "micro_batch": w.micro_batch},
    )
    groups = dict(compute=compute, interconnect=interconnect, fabric=fabric, training=training, storage=storage,
                  platform=platform, energy=energy)
    for g in groups.values():  # every variable, coordinates too, carries a units attr
        for v in g.variables.values():
            v.attrs.setdefault("units", "")
    tree = xr.DataTree.from_dict({f"/{k}": v for k, v in groups.items()})
    tree.attrs = {"scenario_name": sc.name, "era": sc.era, "scenario_toml": sc.to_toml(),
                  "created_by": "nicc-twin", "conventions": "units in attrs['units'] (pint syntax)"}
    return tree


def domain_module(name: str):
    """The package ``twin.<name>`` of a domain (a TwinError if it is not a domain)."""
    if name not in DOMAINS:
        raise TwinError(f"unknown domain {name!r}; the domains are {', '.join(DOMAINS)}")
    mod = importlib.import_module(f"twin.{name}")
    missing = [a for a in ("NEEDS", "HEADLINES", "evaluate") if not hasattr(mod, a)]
    if missing:
        raise TwinError(f"twin.{name} does not follow the domain contract: it lacks {', '.join(missing)} "
                        "(NEEDS, HEADLINES and evaluate(scenario, state))")
    return mod


def run_order(domains=None) -> list[str]:
    """Domains to evaluate, each after everything in its ``NEEDS`` (transitively), cycles refused.

    Parameters
    ----------
    domains : iterable of str, optional
        The domains wanted; their NEEDS are added. Default: every domain.

    Raises
    ------
    TwinError
        Naming the cycle (``a -> b -> a``) when NEEDS are circular.
    """
    wanted = list(DOMAINS) if domains is None else list(domains)
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(d: str, path: list[str]) -> None:
        if state.get(d) == 2:
            return
        if state.get(d) == 1:
            cyc = path[path.index(d):] + [d]
            raise TwinError("cycle detected in domain NEEDS: " + " -> ".join(cyc))
        state[d] = 1
        for n in domain_module(d).NEEDS:
            visit(n, path + [d])
        state[d] = 2
        order.append(d)

    for d in wanted:
        visit(d, [])
    return order


#: Explicit feedback of Twin.run: (value name, domain that writes it, its seed). Training reads
#: the clock factor of the previous pass (twin.tree.feedback); energy computes it from the
#: utilisation training wrote. Iterated until the value moves less than FEEDBACK_TOLERANCE.
FEEDBACK = (("clock_factor", "energy", 1.0),)
FEEDBACK_TOLERANCE = 1e-3
FEEDBACK_MAX_PASSES = 4


class Twin:
    """A computing centre's digital twin: scenario + state tree + domain results.

    ``run`` evaluates every domain once, in the order of their NEEDS, each reading the
    results of the domains below it from :attr:`state` and writing ``/<domain>/results``.

    Examples
    --------
    >>> t = Twin("cluster-2023")
    >>> t.state["compute"]["peak_bf16_per_card"].attrs["units"]
    'TFLOP / s'
    """

    #: How many times each domain's evaluate ran in this Twin (checked by the tests).
    calls: dict

    def __init__(self, scenario):
        self.scenario: Scenario = load_scenario(scenario)
        self.state: xr.DataTree = build_state(self.scenario)
        self.calls = {}

    def summary(self):
        return _summary.summary(self.scenario)

    def run(self, domains=None, progress=None) -> xr.DataTree:
        """Evaluate ``domains`` (default all) and their NEEDS in dependency order.

        Domains whose results are already in the tree are not evaluated again. When a domain
        writing a :data:`FEEDBACK` value (energy's ``clock_factor``) lands and the value moved
        by more than :data:`FEEDBACK_TOLERANCE` from the seed the pass used, the domains from the
        first reader upward are evaluated again with the new value (at most
        :data:`FEEDBACK_MAX_PASSES` passes); ``/feedback`` records the values used.
        """
        order = [d for d in run_order(domains) if not tree.has_results(self.state, d)]
        if "feedback" not in self.state.children:
            self.state["feedback"] = xr.DataTree(xr.Dataset(
                {name: ((), float(seed), {"units": ""}) for name, _, seed in FEEDBACK},
                attrs={"passes": 1, "tolerance": FEEDBACK_TOLERANCE}))
        passes = 0
        todo = list(order)
        while todo:
            passes += 1
            for i, d in enumerate(todo):
                if progress:
                    progress(i, len(todo), d)
                self._evaluate(d)
            if progress:
                progress(len(todo), len(todo), "")
            moved = self._update_feedback()
            if not moved or passes >= FEEDBACK_MAX_PASSES:
                break
            # Re-run every domain of this run that (transitively) sits above the training domain.
            first = min(order.index(d) for d in order if d in _readers_of_feedback(order))
            todo = order[first:]
            for d in todo:
                del self.state[d]["results"]
        fb = self.state["feedback"].to_dataset()
        fb.attrs["passes"] = passes
        self.state["feedback"] = xr.DataTree(fb)
        return self.state

    def _evaluate(self, d: str) -> None:
        mod = domain_module(d)
        ds = mod.evaluate(self.scenario, self.state)
        self.calls[d] = self.calls.get(d, 0) + 1
        if not isinstance(ds, xr.Dataset):
            raise TwinError(f"twin.{d}.evaluate returned {type(ds).__name__}, not an xarray.Dataset")
        for name, v in ds.variables.items():  # one spelling of every unit, through twin.units
            try:
                v.attrs["units"] = format_unit(v.attrs.get("units", ""))
            except Exception as exc:
                raise TwinError(f"/{d}/results/{name}: units {v.attrs.get('units')!r} are not a unit twin.units "
                                f"knows ({exc})") from None
        self.state[f"{d}/results"] = xr.DataTree(_netcdf_safe(ds))

    def _update_feedback(self) -> bool:
        """Copy the FEEDBACK values the writers produced into /feedback; True if one moved."""
        fb = self.state["feedback"].to_dataset()
        moved = False
        for name, writer, _ in FEEDBACK:
            if not tree.has_results(self.state, writer):
                continue
            ds = self.state[f"{writer}/results"].to_dataset()
            if name not in ds.variables:
                raise TwinError(f"/{writer}/results has no {name!r}, which Twin.run feeds back")
            new = float(np.min(ds[name].values))
            if abs(new - float(fb[name].values)) > FEEDBACK_TOLERANCE:
                moved = True
            fb[name] = ((), new, {"units": ""})
        self.state["feedback"] = xr.DataTree(fb)
        return moved

    def save(self, path) -> Path:
        return save_state(self.state, path)


def _netcdf_safe(ds: xr.Dataset) -> xr.Dataset:
    """NetCDF attrs cannot hold bools or None: store them as ints/strings."""
    ds = ds.copy()

    def fix(attrs):
        for k, v in list(attrs.items()):
            if isinstance(v, bool):
                attrs[k] = int(v)
            elif v is None:
                attrs[k] = ""
            elif isinstance(v, (list, tuple)) and v and isinstance(v[0], str):
                attrs[k] = ",".join(v)

    fix(ds.attrs)
    for v in ds.variables.values():
        fix(v.attrs)
    return ds


#: Root attribute holding the digest of a saved state's data (see :func:`state_digest`).
DIGEST_ATTR = "nicc_twin_digest"


def state_digest(tree: xr.DataTree) -> str:
    """SHA-256 over every node's variables (names, shapes, values in a canonical form), so that
    :func:`load_state` can tell a damaged file (a zeroed block, a lost zarr chunk read back as
    fill values) from a good one."""
    import hashlib

    h = hashlib.sha256()
    for node in sorted(tree.subtree, key=lambda n: n.path):
        ds = node.to_dataset(inherit=False)
        for name in sorted(map(str, ds.variables)):
            v = ds.variables[name]
            h.update(f"{node.path}/{name}{tuple(v.shape)}".encode())
            a = np.asarray(v.values)
            if a.dtype.kind in "biuf":
                h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
            elif a.dtype.kind in "mM":
                h.update(np.ascontiguousarray(a.astype("int64")).tobytes())
            else:
                h.update("\x00".join(map(str, a.ravel())).encode("utf-8", "replace"))
    return h.hexdigest()


def save_state(tree: xr.DataTree, path) -> Path:
    """Write a state tree to ``.nc`` (NetCDF4) or ``.zarr`` atomically: temp file, then rename.

    A file that cannot be written (read-only folder, disk full, ...) raises InputError on
    the field ``output`` and leaves any earlier file at ``path`` as it was.
    """
    path = Path(path)
    if path.suffix not in (".nc", ".zarr"):
        raise InputError("output", str(path), "a path ending in .nc (NetCDF) or .zarr", "has an unknown format")
    if path.exists() and path.is_dir() != (path.suffix == ".zarr"):
        raise InputError("output", str(path), f"a {path.suffix} {'folder' if path.suffix == '.zarr' else 'file'}",
                         f"is an existing {'folder' if path.is_dir() else 'file'}")
    tree = tree.copy()
    tree.attrs = {k: v for k, v in tree.attrs.items() if k != DIGEST_ATTR}
    tree.attrs[DIGEST_ATTR] = state_digest(tree)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".nc":
            fd, tmp = tempfile.mkstemp(suffix=".nc.part", dir=path.parent)
            os.close(fd)
            try:
                tree.to_netcdf(tmp, engine="netcdf4")
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return path
        tmp = Path(tempfile.mkdtemp(suffix=".zarr.part", dir=path.parent))
        try:
            shutil.rmtree(tmp)
            tree.to_zarr(tmp)
            if path.exists():
                old = path.with_name(path.name + ".old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path
    except (OSError, RuntimeError) as exc:  # netCDF4 reports a full disk as a RuntimeError (HDF error)
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0][:120]
        raise InputError("output", str(path), "a writable folder with room for the state",
                         f"cannot be written ({why}); any earlier file there is unchanged") from None


def load_state(path) -> xr.DataTree:
    """Read a state tree written by :func:`save_state` (fully loaded, file closed).

    A missing, truncated, corrupted or foreign file raises InputError on the field ``path``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("path", str(path), "an existing .nc or .zarr state file", "does not exist")
    if path.suffix not in (".nc", ".zarr"):
        raise InputError("path", str(path), "a .nc (NetCDF) or .zarr state written by nicc-twin run",
                         "has an unknown format")
    try:
        tree = xr.open_datatree(path, engine="zarr" if path.suffix == ".zarr" else "netcdf4")
        try:
            loaded = tree.load()
        finally:
            tree.close()
    except Exception as exc:  # truncated or corrupted: HDF, zarr, JSON, key and value errors alike
        why = (str(exc).splitlines() or [""])[0][:120]
        raise InputError("path", str(path), "a complete .nc or .zarr state written by nicc-twin run",
                         f"cannot be read ({type(exc).__name__}: {why})") from None
    if not loaded.children and not loaded.data_vars:
        raise InputError("path", str(path), "a state written by nicc-twin run", "holds no data")
    digest = loaded.attrs.pop(DIGEST_ATTR, None)
    if digest is not None and digest != state_digest(loaded):
        raise InputError("path", str(path), "an undamaged state written by nicc-twin run",
                         "is damaged: its data do not match the digest written with them")
    return loaded


def _readers_of_feedback(order: list[str]) -> set[str]:
    """Domains that read a fed-back value (declare ``READS_FEEDBACK = True``) and all above them."""
    readers = {d for d in order if getattr(domain_module(d), "READS_FEEDBACK", False)}
    changed = True
    while changed:
        changed = False
        for d in order:
            if d not in readers and readers & set(domain_module(d).NEEDS):
                readers.add(d)
                changed = True
    return readers
