"""The hardware catalog: accelerators, links, NICs, switches, storage media, coolants.

Data lives in ``datasets/catalog/<kind>.toml``, one table per part::

    [H100-SXM5-80GB]
    vendor = "NVIDIA"
    peak_bf16 = "989 TFLOP/s"      # dense
    source = "NVIDIA H100 Tensor Core GPU datasheet (2023)"

Strings that start with a number are read as pint quantities; every entry must carry a
``source``. This module is the only reader of datasets/catalog.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping

import pint

from ..errors import CatalogError, unknown_name
from ..paths import datasets_dir, load_toml
from ..units import ureg

_NUMERIC = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*[A-Za-z%/°µ(\[]")


class CatalogEntry(Mapping):
    """One catalog part: read-only mapping with attribute access; numbers are pint Quantities."""

    def __init__(self, kind: str, name: str, data: dict):
        self._kind = kind
        self._name = name
        self._data = data

    @property
    def name(self) -> str:
        return self._name

    @property
    def kind(self) -> str:
        return self._kind

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(f"catalog {self._kind} {self._name!r} has no field {key!r}") from None

    def __repr__(self):
        return f"CatalogEntry({self._kind}:{self._name})"


def _convert(kind: str, name: str, key: str, value):
    if isinstance(value, str) and _NUMERIC.match(value) and key not in ("source", "note", "name"):
        try:
            q = ureg.Quantity(value)
        except Exception as exc:
            raise CatalogError(f"catalog.{kind}.{name}.{key}", value, "a quantity pint can read", f"is not readable ({exc})") from None
        return q
    if isinstance(value, dict):
        return {k: _convert(kind, name, f"{key}.{k}", v) for k, v in value.items()}
    if isinstance(value, list):
        return [_convert(kind, name, key, v) for v in value]
    return value


@functools.lru_cache(maxsize=None)
def _load_kind(kind: str) -> dict[str, CatalogEntry]:
    path = datasets_dir() / "catalog" / f"{kind}.toml"
    if not path.is_file():
        raise unknown_name("catalog kind", kind, kinds(), "catalog kind", CatalogError)
    raw = load_toml(path)
    out = {}
    for name, data in raw.items():
        if not isinstance(data, dict):
            continue  # top-level metadata such as `description = ...`
        if "source" not in data or not str(data["source"]).strip():
            raise CatalogError(f"catalog.{kind}.{name}.source", None, "a citation (datasheet, paper or white-paper section)", "is missing")
        out[name] = CatalogEntry(kind, name, {k: _convert(kind, name, k, v) for k, v in data.items()})
    return out


def kinds() -> list[str]:
    """Catalog kinds available (file stems of datasets/catalog/*.toml)."""
    return sorted(p.stem for p in (datasets_dir() / "catalog").glob("*.toml"))


def names(kind: str) -> list[str]:
    """Names of the parts of one kind, in file order."""
    return list(_load_kind(kind))


def get(kind: str, name: str, field: str | None = None) -> CatalogEntry:
    """One part by kind and name; an unknown name raises CatalogError listing the closest names."""
    table = _load_kind(kind)
    if name not in table:
        # forgiving on case only: 'h100-sxm5-80gb' finds 'H100-SXM5-80GB'
        lowered = {k.lower(): k for k in table}
        if isinstance(name, str) and name.lower() in lowered:
            return table[lowered[name.lower()]]
        raise unknown_name(field or f"catalog.{kind}", name, table, kind.rstrip("s").replace("_", " "), CatalogError)
    return table[name]


def accelerator(name: str, field: str = "compute.accelerator") -> CatalogEntry:
    """An accelerator by name (see datasets/catalog/accelerators.toml)."""
    return get("accelerators", name, field)


def link(name: str, field: str = "link") -> CatalogEntry:
    """A link or bus by name (see datasets/catalog/links.toml)."""
    return get("links", name, field)


def table(kind: str, fields: list[str] | None = None):
    """All parts of a kind as a pandas DataFrame of magnitudes with units in the column names."""
    import pandas as pd

    rows = []
    for n, e in _load_kind(kind).items():
        row = {"name": n}
        for k, v in e.items():
            if fields and k not in fields:
                continue
            if isinstance(v, pint.Quantity):
                row[f"{k} [{v.units:~}]"] = v.magnitude
            elif not isinstance(v, (dict, list)):
                row[k] = v
        rows.append(row)
    return pd.DataFrame(rows).set_index("name")


def link_bandwidth(name: str, lanes: int | None = None, *, bidirectional: bool = False, encoded: bool = True) -> pint.Quantity:
    """Data bandwidth of a link [GB/s] from its lane signalling rate, lane count and line code.

    Parameters
    ----------
    name : str
        A links.toml entry with ``lane_rate`` [Gbit/s or GT/s per lane], ``lanes`` and
        ``encoding`` (payload fraction, e.g. 128/130).
    lanes : int, optional
        Lane count (defaults to the entry's ``lanes``).
    bidirectional : bool
        Count both directions (the convention of NVLink's 900 GB/s and PCIe's 64 GB/s).
    encoded : bool
        Apply the line code's payload fraction.

    Notes
    -----
    ``B = lane_rate * lanes * encoding / 8 * (2 if bidirectional else 1)``
    """
    e = link(name)
    n = int(lanes if lanes is not None else e["lanes"])
    rate = e["lane_rate"].to("Gbit/s")  # per lane and direction; PCIe's GT/s is 1 bit per transfer
    enc = float(e.get("encoding", 1.0)) if encoded else 1.0
    per_dir = rate * n * enc
    return (per_dir * (2 if bidirectional else 1)).to("GB/s")


__all__ = ["get", "names", "kinds", "accelerator", "link", "table", "link_bandwidth", "CatalogEntry"]


def peak_rate(acc, precision: str) -> pint.Quantity:
    """Dense peak rate of a catalog accelerator at ``precision`` [TFLOP/s]; BF16 falls back to FP16 (Volta)."""
    key = f"peak_{precision}"
    if key in acc and acc[key].magnitude > 0:
        return acc[key]
    if precision == "bf16" and "peak_fp16" in acc:  # Volta: FP16 tensor cores only
        return acc["peak_fp16"]
    return ureg.Quantity(0.0, "TFLOP/s")
