"""The Twin: a scenario's state as an xarray.DataTree, domain results as new groups.

Groups follow the white paper's domains: /compute, /interconnect, /fabric, /training,
/storage, /platform, /energy. Every variable carries ``units`` in attrs and dims named for
components (node, rack, ...). ``Twin.run()`` asks each domain package's ``evaluate(scenario)``
for its results and stores them under ``/<domain>/results``. ``save``/``load`` round-trip
through NetCDF or Zarr with units preserved; writes are atomic.
"""
from __future__ import annotations

import importlib
import importlib.util
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from . import catalog, summary as _summary
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
            "peak_bf16_per_card": _scalar(_summary.peak_rate(acc, "bf16"), "TFLOP/s"),
            "peak_fp32_per_card": _scalar(_summary.peak_rate(acc, "fp32"), "TFLOP/s"),
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
    node_power = (_summary.it_power(sc) / c.nodes).to("kW").magnitude
    energy = xr.Dataset(
        {"servers": xr.Variable(("rack",), servers, attrs={"units": ""}),
         "rack_it_power": _var(servers * node_power, "kW", ("rack",), description="full-load server power per rack"),
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
    tree = xr.DataTree.from_dict({f"/{k}": v for k, v in groups.items()})
    tree.attrs = {"scenario_name": sc.name, "era": sc.era, "scenario_toml": sc.to_toml(),
                  "created_by": "nicc-twin", "conventions": "units in attrs['units'] (pint syntax)"}
    return tree


def available_domains() -> list[str]:
    """Domain packages present that have an ``evaluate(scenario)``."""
    out = []
    for d in DOMAINS:
        if d == "catalog":
            continue
        if importlib.util.find_spec(f"twin.{d}") is None:
            continue
        mod = importlib.import_module(f"twin.{d}")
        if callable(getattr(mod, "evaluate", None)):
            out.append(d)
    return out


class Twin:
    """A computing centre's digital twin: scenario + state tree + domain results.

    Examples
    --------
    >>> t = Twin("cluster-2023")
    >>> t.state["compute"]["peak_bf16_per_card"].attrs["units"]
    'TFLOP / s'
    """

    def __init__(self, scenario):
        self.scenario: Scenario = load_scenario(scenario)
        self.state: xr.DataTree = build_state(self.scenario)

    def summary(self):
        return _summary.summary(self.scenario)

    def run(self, domains=None, progress=None) -> xr.DataTree:
        """Evaluate the domain models that exist and store their results as /<domain>/results."""
        todo = list(domains) if domains else available_domains()
        for i, d in enumerate(todo):
            if progress:
                progress(i, len(todo), d)
            mod = importlib.import_module(f"twin.{d}")
            ds = mod.evaluate(self.scenario)
            if not isinstance(ds, xr.Dataset):
                raise TwinError(f"twin.{d}.evaluate returned {type(ds).__name__}, not an xarray.Dataset")
            self.state[f"{d}/results"] = xr.DataTree(_netcdf_safe(ds))
        if progress:
            progress(len(todo), len(todo), "")
        return self.state

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


def save_state(tree: xr.DataTree, path) -> Path:
    """Write a state tree to ``.nc`` (NetCDF4) or ``.zarr`` atomically: temp file, then rename."""
    path = Path(path)
    if path.suffix not in (".nc", ".zarr"):
        raise InputError("output", str(path), "a path ending in .nc (NetCDF) or .zarr", "has an unknown format")
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


def load_state(path) -> xr.DataTree:
    """Read a state tree written by :func:`save_state` (fully loaded, file closed)."""
    path = Path(path)
    if not path.exists():
        raise InputError("path", str(path), "an existing .nc or .zarr state file", "does not exist")
    if path.suffix == ".zarr":
        tree = xr.open_datatree(path, engine="zarr")
    else:
        tree = xr.open_datatree(path, engine="netcdf4")
    loaded = tree.load()
    tree.close()
    return loaded
