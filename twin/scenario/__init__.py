"""Scenarios: one computing centre described in TOML, checked field by field.

``load_scenario("cluster-2023")`` loads a built-in preset, ``load_scenario("my.toml")`` a
file, ``load_scenario({...})`` a dictionary. ``extends = "<preset>"`` derives from a
preset and overrides only what it names. Every field is checked for type, range and units
against :mod:`twin.scenario.schema`; unknown keys and names get a did-you-mean. Errors are
:class:`twin.errors.ScenarioError` carrying the dotted path of the field.
"""
from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pint

from ..errors import CatalogError, InputError, ScenarioError, closest, unknown_name
from ..paths import datasets_dir, load_toml
from ..units import as_quantity, format_unit
from .schema import FIELDS, SECTIONS, Field, fields_of

_REDUNDANCY = re.compile(r"^(replica-(\d+)|ec-(\d+)\+(\d+)|none)$")


class Section:
    """A checked scenario section: read-only attribute access to its fields."""

    def __init__(self, name: str, values: dict):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_values", MappingProxyType(dict(values)))

    def __getattr__(self, key):
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"scenario section {self._name!r} has no field {key!r}") from None

    def __setattr__(self, key, value):
        raise AttributeError("scenarios are immutable; use Scenario.with_overrides")

    def __iter__(self):
        return iter(self._values.items())

    def __repr__(self):
        inner = ", ".join(f"{k}={_plain(v)!r}" for k, v in self._values.items())
        return f"{self._name}({inner})"


def _plain(v):
    """A TOML-friendly value: quantities become strings such as '200 Gbit/s'."""
    if isinstance(v, pint.Quantity):
        m = v.magnitude
        m = int(m) if float(m).is_integer() and abs(m) < 1e15 else float(m)
        return f"{m} {format_unit(v.units)}".strip()
    if isinstance(v, tuple):
        return list(v)
    return v


class Scenario:
    """A checked computing-centre description (see :mod:`twin.scenario.schema`)."""

    def __init__(self, meta: dict, sections: dict[str, dict]):
        self.name: str = meta["name"]
        self.era: str = meta["era"]
        self.description: str = meta["description"]
        self.source: str = meta["source"]
        self._sections = {s: Section(s, v) for s, v in sections.items()}

    def __getattr__(self, key):
        secs = self.__dict__.get("_sections", {})
        if key in secs:
            return secs[key]
        raise AttributeError(f"Scenario has no section {key!r}")

    @property
    def cards(self) -> int:
        """Total accelerator count."""
        return int(self.compute.nodes * self.compute.cards_per_node)

    def to_dict(self) -> dict:
        """The full scenario (defaults filled) as a TOML-ready dict."""
        d = {"name": self.name, "era": self.era, "description": self.description, "source": self.source}
        for s, sec in self._sections.items():
            d[s] = {k: _plain(v) for k, v in sec}
        return d

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(self.to_dict())

    def with_overrides(self, overrides: dict) -> "Scenario":
        """A new scenario: this one with ``overrides`` ({"fabric": {"nic_speed": "400 Gbit/s"}})."""
        base = self.to_dict()
        return parse_scenario(merge_overrides(base, overrides))

    def __repr__(self):
        return f"Scenario({self.name!r}, era={self.era!r}, cards={self.cards})"


def merge_overrides(base: dict, over: dict) -> dict:
    """A deep copy of ``base`` with the nested tables of ``over`` merged in (``over`` wins)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_overrides(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


# --- field checks --------------------------------------------------------------------------

def _check_field(f: Field, value: Any):
    path = f.path
    try:
        if f.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise ScenarioError(path, value, f"a whole number ({f.description.lower()})", f"is a {type(value).__name__}")
            _range(f, value)
            return value
        if f.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ScenarioError(path, value, f"a number ({f.description.lower()})", f"is a {type(value).__name__}")
            value = float(value)
            if not math.isfinite(value):
                raise ScenarioError(path, value, "a finite number", "is not finite")
            _range(f, value)
            return value
        if f.kind == "bool":
            if not isinstance(value, bool):
                raise ScenarioError(path, value, "true or false", f"is a {type(value).__name__}")
            return value
        if f.kind == "str":
            if not isinstance(value, str):
                raise ScenarioError(path, value, "a string", f"is a {type(value).__name__}")
            return value
        if f.kind == "list:str":
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise ScenarioError(path, value, "a list of strings such as [\"posix\", \"s3\"]", f"is a {type(value).__name__}")
            return tuple(value)
        if f.kind == "choice":
            if not isinstance(value, str) or value not in f.choices:
                near = closest(str(value), f.choices)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise ScenarioError(path, value, f"one of {', '.join(f.choices)}{hint}", "is not a valid choice")
            return value
        if f.kind.startswith("catalog:"):
            if not isinstance(value, str):
                raise ScenarioError(path, value, "a catalog name (string)", f"is a {type(value).__name__}")
            from .. import catalog

            kind = f.kind.split(":", 1)[1]
            if kind in catalog.kinds():
                try:
                    return catalog.get(kind, value, path).name
                except CatalogError as exc:
                    raise ScenarioError(exc.field, exc.value, exc.expected, exc.problem) from None
            return value
        if f.kind == "quantity":
            q = as_quantity(value, f.unit, path)
            _range(f, q.magnitude)
            return q
    except ScenarioError:
        raise
    except InputError as exc:
        raise ScenarioError(exc.field, exc.value, exc.expected, exc.problem) from None
    raise AssertionError(f"schema kind {f.kind!r} unknown")  # a schema bug, not user input


def _range(f: Field, v):
    bad = (f.lo is not None and (v < f.lo or (f.lo_open and v == f.lo))) or (f.hi is not None and v > f.hi)
    if bad:
        u = f" {format_unit(f.unit)}" if f.unit else ""
        lo = "" if f.lo is None else f"{'>' if f.lo_open else '>='} {f.lo:g}{u}"
        hi = "" if f.hi is None else f"<= {f.hi:g}{u}"
        rng = " and ".join(x for x in (lo, hi) if x)
        raise ScenarioError(f.path, _plain(v) if not u else f"{v:g}{u}", f"{rng} ({f.description.lower()})", "is out of range")


def _cross_checks(s: dict):
    c, fab, st, w = s["compute"], s["fabric"], s["storage"], s["workload"]
    from .. import catalog

    acc = catalog.accelerator(c["accelerator"])
    topo = c["topology"]
    ff = acc.form_factor
    if topo in ("nvswitch", "nvlink-hcm") and not str(acc.link_family).startswith("nvlink"):
        raise ScenarioError("compute.topology", topo, f"a topology the {acc.name} ({ff}, {acc.link_family}) can form: "
                            + ("pcie" if ff == "pcie" else "oam-hcm, oam-fc or s2-switch"), "needs NVLink cards")
    if topo in ("oam-hcm", "oam-fc") and ff != "oam":
        raise ScenarioError("compute.topology", topo, f"a topology the {acc.name} ({ff}) can form", "needs OAM modules")
    if topo != "pcie" and ff == "pcie" and topo != "s2-switch":
        raise ScenarioError("compute.topology", topo, f"'pcie' for the PCIe card {acc.name}", "needs module (SXM/OAM) cards")
    if topo == "nvlink-hcm" and c["cards_per_node"] != 8:
        raise ScenarioError("compute.cards_per_node", c["cards_per_node"], "8 for the NVLink hybrid cube mesh (DGX-1)", "does not fit")
    if topo in ("oam-hcm", "oam-fc") and c["cards_per_node"] > 8:
        raise ScenarioError("compute.cards_per_node", c["cards_per_node"], "at most 8 on an OAM universal baseboard", "does not fit")
    if topo == "pcie" and c["cards_per_node"] > 10:
        raise ScenarioError("compute.cards_per_node", c["cards_per_node"], "at most 10 PCIe cards per node", "does not fit")
    if topo != "s2-switch" and c["domain_size"] > c["cards_per_node"] and not (topo == "nvswitch" and str(acc.link_family) in ("nvlink4", "nvlink5")):
        raise ScenarioError("compute.domain_size", c["domain_size"], f"<= cards_per_node ({c['cards_per_node']}) for topology {topo}", "exceeds the node")
    if topo == "nvswitch" and c["domain_size"] > 256 and str(acc.link_family) == "nvlink4":
        raise ScenarioError("compute.domain_size", c["domain_size"], "<= 256 for an NVLink4 switch system", "is too large")
    total = c["nodes"] * c["cards_per_node"]
    if c["domain_size"] > total:
        raise ScenarioError("compute.domain_size", c["domain_size"], f"<= the card count ({total})", "exceeds the cluster")
    if not _REDUNDANCY.match(st["redundancy"]):
        raise ScenarioError("storage.redundancy", st["redundancy"], "'replica-N' (e.g. 'replica-3'), 'ec-K+M' (e.g. 'ec-8+2') or 'none'", "is not a redundancy scheme")
    bad = [p for p in st["protocols"] if p not in ("posix", "nfs", "s3", "hdfs", "block", "smb")]
    if bad:
        raise ScenarioError("storage.protocols", bad[0], "one of posix, nfs, s3, hdfs, block, smb", "is not a known protocol")
    group = w["tp"] * w["pp"] * w["ep"]
    if w["dp"] and group * w["dp"] > total:
        raise ScenarioError("workload.dp", w["dp"], f"tp*pp*ep*dp <= card count {total} (tp*pp*ep = {group})", "needs more cards than the cluster has")
    if total % group:
        raise ScenarioError("workload.tp", w["tp"], f"tp*pp*ep ({group}) dividing the card count {total}", "does not divide the cluster")


def usable_fraction(redundancy: str) -> float:
    """Usable share of raw capacity: replica-N -> 1/N, ec-K+M -> K/(K+M), none -> 1."""
    m = _REDUNDANCY.match(redundancy)
    if not m:
        raise ScenarioError("storage.redundancy", redundancy, "'replica-N', 'ec-K+M' or 'none'")
    if m.group(2):
        return 1.0 / int(m.group(2))
    if m.group(3):
        k, mm = int(m.group(3)), int(m.group(4))
        return k / (k + mm)
    return 1.0


# --- loading -------------------------------------------------------------------------------

def presets_dir() -> Path:
    return datasets_dir() / "scenarios"


def list_presets() -> list[str]:
    """Names of the built-in presets (the three eras first, then published clusters)."""
    names = [p.stem for p in presets_dir().glob("*.toml")]
    order = {"heterogeneous-2021": 0, "cluster-2023": 1, "superpool-2025": 2}
    return sorted(names, key=lambda n: (order.get(n, 3), n))


def _read(source, chain=()) -> dict:
    if isinstance(source, dict):
        raw = copy.deepcopy(source)
    elif isinstance(source, (str, Path)):
        s = str(source)
        p = Path(s)
        if s in list_presets():
            raw = load_toml(presets_dir() / f"{s}.toml")
        elif p.suffix == ".toml" and p.is_file():
            try:
                raw = load_toml(p)
            except Exception as exc:
                raise ScenarioError("scenario", s, "a valid TOML file", f"cannot be read ({exc})") from None
        elif p.suffix == ".toml":
            raise ScenarioError("scenario", s, "an existing .toml file or a preset name", "does not exist")
        else:
            raise unknown_name("scenario", s, list_presets(), "preset", ScenarioError)
    else:
        raise ScenarioError("scenario", source, "a preset name, a .toml path or a dict", f"is a {type(source).__name__}")
    ext = raw.pop("extends", None)
    if ext is not None:
        if not isinstance(ext, str):
            raise ScenarioError("extends", ext, "a preset name such as 'cluster-2023'", f"is a {type(ext).__name__}")
        if ext in chain:
            raise ScenarioError("extends", ext, "a chain of presets without a cycle", "extends itself")
        if ext not in list_presets():
            raise unknown_name("extends", ext, list_presets(), "preset", ScenarioError)
        base = _read(ext, chain + (ext,))
        raw = merge_overrides(base, raw)
    return raw


def parse_scenario(raw: dict) -> Scenario:
    """Check a scenario dictionary (no ``extends``) against the schema and build a Scenario."""
    if not isinstance(raw, dict):
        raise ScenarioError("scenario", raw, "a table of sections", f"is a {type(raw).__name__}")
    top = {f.name: f for f in FIELDS if not f.section}
    meta: dict = {}
    sections: dict[str, dict] = {s: {} for s in SECTIONS}
    for key, value in raw.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ScenarioError(key, value, f"a table [{key}] of fields", f"is a {type(value).__name__}")
            known = fields_of(key)
            for k, v in value.items():
                if k not in known:
                    raise unknown_name(f"{key}.{k}", k, known, f"field of [{key}]", ScenarioError)
                sections[key][k] = _check_field(known[k], v)
        elif key in top:
            meta[key] = _check_field(top[key], value)
        else:
            raise unknown_name(key, key, list(top) + list(SECTIONS) + ["extends"], "top-level key or section", ScenarioError)
    for f in FIELDS:
        target = meta if not f.section else sections[f.section]
        if f.name not in target:
            target[f.name] = _check_field(f, f.default)
    _cross_checks(sections)
    return Scenario(meta, sections)


def load_scenario(source) -> Scenario:
    """Load a preset name, a TOML path or a dict (``extends`` resolved) into a checked Scenario."""
    if isinstance(source, Scenario):
        return source
    return parse_scenario(_read(source))


__all__ = ["Scenario", "load_scenario", "parse_scenario", "list_presets", "usable_fraction", "merge_overrides",
           "ScenarioError"]
