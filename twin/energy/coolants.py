"""Coolant properties against temperature: CoolProp where it has the fluid, sourced tables elsewhere.

Water (``HEOS::Water``, IAPWS-95 at 1 atm), dry air (``HEOS::Air``, Lemmon et al. 2000 at 1 atm)
and ethylene / propylene glycol in water at any mass fraction CoolProp covers (``INCOMP::MEG``
/ ``INCOMP::MPG``, 0-60 %; names such as ``"PG25"``, ``"PG30"``, ``"EG25"`` give the mass
fraction in percent) come from CoolProp. Each is tabulated once, at first use, on a fine
temperature grid spanning its whole valid range (0.1 K for the incompressible mixtures, 0.25 K
for the Helmholtz-energy fluids) and interpolated linearly (viscosity in log mu): that is the
library's own numbers at a cost the hall model can pay per server, and agrees with a direct
CoolProp call to better than 1e-5 relative. Freezing points are CoolProp's: the mixture
``T_freeze`` and water's melting line at 1 atm; the upper limit is water's boiling point at
1 atm or the mixture fit's ``T_max``.

The dielectric immersion oils CoolProp carries (silicone PMS1, Dow SYLTHERM XLT: ``INCOMP::PMS1``,
``INCOMP::XLT``) come from CoolProp too, limited below by the catalog's sourced pour point (CoolProp
has no freezing curve for them). Fluids CoolProp lacks keep
hand tables in datasets/catalog/coolants.toml, each with its source: parallel arrays of
temperature [degC], density [kg/m^3], cp [J/(kg K)], conductivity [W/(m K)] and viscosity
[mPa s], interpolated the same way, extrapolated linearly from the two nearest rows, constant
when the entry has one row.

Temperatures at or below the freezing point or above the upper limit, unknown names and
glycol fractions outside CoolProp's range raise :class:`~twin.errors.InputError` naming the field.

References
----------
Bell, I. H., Wronski, J., Quoilin, S., Lemort, V. (2014). Pure and pseudo-pure fluid
thermophysical property evaluation and the open-source thermophysical property library
CoolProp. Ind. Eng. Chem. Res. 53(6), 2498-2508.
Wagner, W., Pruss, A. (2002). The IAPWS formulation 1995 for the thermodynamic properties of
ordinary water substance. J. Phys. Chem. Ref. Data 31, 387-535.
Lemmon, E. W., Jacobsen, R. T., Penoncello, S. G., Friend, D. G. (2000). Thermodynamic
properties of air and mixtures of nitrogen, argon, and oxygen. J. Phys. Chem. Ref. Data 29, 331.
Melinder, A. (2010). Properties of secondary working fluids for indirect systems, 2nd ed.,
IIR (CoolProp's INCOMP::MEG / INCOMP::MPG fits).
"""
from __future__ import annotations

import bisect
import hashlib
import math
import os
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import CatalogError, InputError
from ..units import Q_, magnitude
from ._datasets import scalars

_FIELDS = ("density", "cp", "conductivity", "viscosity")

#: Pressure at which every CoolProp fluid is evaluated [Pa] (1 standard atmosphere).
P_ATM = 101325.0

#: Glycol names: "PG25", "pg 30", "EG-25%", "PG12.5" -> (CoolProp incompressible mixture, mass %).
_GLYCOL = re.compile(r"^\s*(PG|EG)\s*-?\s*(\d+(?:\.\d+)?)\s*%?\s*$", re.IGNORECASE)
_GLYCOL_FLUID = {"PG": ("MPG", "propylene glycol"), "EG": ("MEG", "ethylene glycol")}

#: Grid step of the CoolProp tables [K]: incompressible fits are cheap, HEOS calls ~0.1 ms each.
_GRID_STEP = {"INCOMP": 0.1, "HEOS": 0.25}

_CACHE_FORMAT = 1

_COOLPROP_SOURCE = ("CoolProp {version} ({fluid}, 1 atm; Bell et al. 2014, Ind. Eng. Chem. Res. 53, 2498), "
                    "tabulated at first use every {step:g} K over {lo:.2f} to {hi:.2f} degC")


@dataclass(frozen=True)
class Coolant:
    """Property table of one coolant (SI inside: kg/m^3, J/(kg K), W/(m K), Pa s, degC).

    For CoolProp fluids the arrays are the library's values on a fine grid over the valid range;
    ``fluid`` is the CoolProp fluid string (``None`` for hand tables).
    """

    name: str
    kind: str
    t_freeze: float
    t_max: float
    temperature: np.ndarray
    density: np.ndarray
    cp: np.ndarray
    conductivity: np.ndarray
    viscosity: np.ndarray  # Pa s
    source: str
    fluid: str | None = None
    t_max_reason: str = "is above the coolant's range"

    def __post_init__(self):
        # plain-float copies for the scalar path (the hall model asks one temperature at a time)
        tt = [float(x) for x in self.temperature]
        cols = [[float(x) for x in self.density], [float(x) for x in self.cp],
                [float(x) for x in self.conductivity], [math.log(float(x)) for x in self.viscosity]]
        object.__setattr__(self, "_t", tt)
        object.__setattr__(self, "_cols", cols)

    def _scalar(self, t: float):
        tt, cols = self._t, self._cols
        if len(tt) == 1:
            out = [c[0] for c in cols]
        else:
            i = min(max(bisect.bisect_right(tt, t) - 1, 0), len(tt) - 2)
            w = (t - tt[i]) / (tt[i + 1] - tt[i])
            out = [c[i] + w * (c[i + 1] - c[i]) for c in cols]
        return out[0], out[1], out[2], math.exp(out[3])

    def _interp(self, arr, t, log=False):
        tt = self.temperature
        y = np.log(arr) if log else arr
        if tt.size == 1:
            v = np.full_like(np.asarray(t, dtype=float), y[0])
        else:
            t = np.asarray(t, dtype=float)
            v = np.interp(t, tt, y)
            lo = t < tt[0]
            hi = t > tt[-1]
            s0 = (y[1] - y[0]) / (tt[1] - tt[0])
            s1 = (y[-1] - y[-2]) / (tt[-1] - tt[-2])
            v = np.where(lo, y[0] + s0 * (t - tt[0]), v)
            v = np.where(hi, y[-1] + s1 * (t - tt[-1]), v)
        v = np.exp(v) if log else v
        return float(v) if np.ndim(v) == 0 else v

    def check_temperature(self, t_c, field="temperature"):
        """Raise InputError naming ``field`` unless every ``t_c`` [degC] lies in (t_freeze, t_max]."""
        try:
            t = np.asarray(t_c, dtype=float)
        except (TypeError, ValueError):
            raise InputError(field, t_c, "a temperature in degC", "is not a number") from None
        if not np.all(np.isfinite(t)):
            raise InputError(field, t_c, "a finite temperature", "is not finite")
        if np.any(t <= self.t_freeze):
            what = "freezing point" if self.kind != "gas" else "lower limit"
            raise InputError(field, f"{float(np.min(t)):g} degC",
                             f"a temperature above the {what} of {self.name} ({self.t_freeze:g} degC)",
                             f"is at or below the coolant's {what}")
        if np.any(t > self.t_max):
            raise InputError(field, f"{float(np.max(t)):g} degC",
                             f"a temperature up to {self.t_max:g} degC for {self.name}", self.t_max_reason)

    def props(self, t_c, field="temperature"):
        """(rho [kg/m^3], cp [J/(kg K)], k [W/(m K)], mu [Pa s]) at ``t_c`` [degC]."""
        if isinstance(t_c, (float, int, np.floating, np.integer)) and not isinstance(t_c, bool):
            t = float(t_c)
            if not self.t_freeze < t <= self.t_max:
                self.check_temperature(t, field)
            return self._scalar(t)
        self.check_temperature(t_c, field)
        return (self._interp(self.density, t_c), self._interp(self.cp, t_c),
                self._interp(self.conductivity, t_c), self._interp(self.viscosity, t_c, log=True))

    def rho_cp(self, t_c, field="temperature") -> float:
        """Volumetric heat capacity [J/(m^3 K)]."""
        rho, cp, _, _ = self.props(t_c, field)
        return rho * cp


def coolant_names():
    """Names in datasets/catalog/coolants.toml (any other glycol mass fraction 'PGxx'/'EGxx' works too)."""
    from .. import catalog

    return list(catalog.names("coolants"))


def _temp_c(v, field) -> float:
    if hasattr(v, "to"):
        return float(v.to("degC").magnitude)
    return magnitude(v, "degC", field)


def _glycol(name: str):
    """(canonical name, CoolProp fluid, mass fraction, description) for 'PG25'-like names, else None.

    The fraction is checked against CoolProp's range when the fluid is tabulated.
    """
    m = _GLYCOL.match(name)
    if not m:
        return None
    prefix, pct = m.group(1).upper(), float(m.group(2))
    base, what = _GLYCOL_FLUID[prefix]
    return f"{prefix}{pct:g}", f"INCOMP::{base}[{pct / 100.0:g}]", pct / 100.0, f"{pct:g} % (mass) {what} in water"


def _coolprop_limits(fluid: str, kind: str, t_lo_app=None, t_hi_app=None):
    """(t_freeze, t_max [degC], reason for t_max) of a CoolProp fluid at 1 atm."""
    import CoolProp.CoolProp as CP

    backend, _, pure = fluid.partition("::")
    if backend == "INCOMP":
        t_max = CP.PropsSI("T_max", "T", 300.0, "P", P_ATM, fluid) - 273.15
        try:
            t_freeze = CP.PropsSI("T_freeze", "T", 300.0, "P", P_ATM, fluid) - 273.15
        except ValueError:
            # pure heat-transfer oils carry no freezing curve in CoolProp: the catalog's sourced
            # pour point, but never below the fit's own T_min
            t_min = CP.PropsSI("T_min", "T", 300.0, "P", P_ATM, fluid) - 273.15
            t_freeze = t_min if t_lo_app is None else max(t_min, float(t_lo_app))
        reason = "is above the upper limit of CoolProp's property fit (below the fluid's boiling point at 1 atm)"
    elif kind == "gas":
        t_freeze = float(t_lo_app)
        t_max = float(t_hi_app)
        reason = "is above the coolant's range"
    else:
        state = CP.AbstractState(backend, pure)
        t_freeze = state.melting_line(CP.iT, CP.iP, P_ATM) - 273.15
        t_max = CP.PropsSI("T", "P", P_ATM, "Q", 0, fluid) - 273.15
        reason = "is above the coolant's boiling point at 1 atm"
    if t_hi_app is not None and kind != "gas":
        t_max = min(t_max, float(t_hi_app))
    return float(t_freeze), float(t_max), reason


def _check_fraction(fluid: str, name: str):
    """InputError on ``energy.coolant`` when a mixture's mass fraction lies outside CoolProp's range."""
    import CoolProp.CoolProp as CP

    m = re.match(r"^INCOMP::(\w+)\[([0-9.eE+-]+)\]$", fluid)
    if not m:
        return
    base, x = m.group(1), float(m.group(2))
    probe = f"INCOMP::{base}[0.3]"
    lo = CP.PropsSI("fraction_min", "T", 300.0, "P", P_ATM, probe)
    hi = CP.PropsSI("fraction_max", "T", 300.0, "P", P_ATM, probe)
    if not lo <= x <= hi:
        raise InputError("energy.coolant", name,
                         f"a glycol mass fraction of {lo * 100:g} to {hi * 100:g} % (CoolProp INCOMP::{base})",
                         "is outside CoolProp's concentration range")


def _cache_dir() -> Path:
    """Where CoolProp tables are kept between processes ($NICC_TWIN_CACHE or ~/.cache/nicc-twin)."""
    root = os.environ.get("NICC_TWIN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "nicc-twin")
    return Path(root) / "coolprop"


def _coolprop_table(name: str, kind: str, fluid: str, t_lo_app, t_hi_app) -> dict:
    """CoolProp's properties of ``fluid`` on the grid, from the on-disk cache or computed.

    The cache (one .npz per fluid, keyed by the CoolProp version, fluid, grid and limits) only
    saves importing CoolProp (about 2.5 s of CPU) in later processes; a missing, unreadable or
    mismatching file is recomputed from CoolProp.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        cp_version = version("CoolProp")
    except PackageNotFoundError:  # pragma: no cover - CoolProp is a dependency
        cp_version = "unknown"
    step = _GRID_STEP["INCOMP" if fluid.startswith("INCOMP") else "HEOS"]
    key = hashlib.sha1(repr((_CACHE_FORMAT, cp_version, fluid, kind, step, t_lo_app, t_hi_app, P_ATM)).encode()).hexdigest()
    path = _cache_dir() / f"{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            tab = {k: z[k] for k in z.files}
        if str(tab["fluid"]) == fluid and tab["temperature"].size >= 2 and all(
                np.all(np.isfinite(tab[k])) and tab[k].shape == tab["temperature"].shape for k in _FIELDS):
            tab.update(fluid=fluid, reason=str(tab["reason"]), version=str(tab["version"]),
                       t_freeze=float(tab["t_freeze"]), t_max=float(tab["t_max"]))
            return tab
    except (OSError, ValueError, KeyError):
        pass
    import CoolProp.CoolProp as CP

    _check_fraction(fluid, name)
    try:
        t_freeze, t_max, reason = _coolprop_limits(fluid, kind, t_lo_app, t_hi_app)
        lo, hi = t_freeze + 1e-3, (t_max - 1e-3 if kind != "gas" else t_max)
        n = max(2, int(math.ceil((hi - lo) / step)) + 1)
        t = np.linspace(lo, hi, n)
        tk = t + 273.15
        tab = {out: np.asarray(CP.PropsSI(k, "T", tk, "P", P_ATM, fluid), dtype=float)
               for out, k in (("density", "D"), ("cp", "C"), ("conductivity", "L"), ("viscosity", "V"))}
    except ValueError as exc:
        raise InputError("energy.coolant", name, "a fluid CoolProp can evaluate at 1 atm", f"is rejected by CoolProp ({exc})") from None
    if not all(np.all(np.isfinite(tab[k])) and np.all(tab[k] > 0) for k in _FIELDS):
        raise InputError("energy.coolant", name, "a fluid CoolProp can evaluate at 1 atm", "gives non-finite properties")
    tab.update(temperature=t, fluid=fluid, reason=reason, version=cp_version, t_freeze=t_freeze, t_max=t_max)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in tab.items()})
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home only costs the CoolProp import next time
    return tab


def _coolprop_coolant(name: str, kind: str, fluid: str, source_note: str, t_lo_app=None, t_hi_app=None) -> Coolant:
    """Tabulate CoolProp fluid ``fluid`` over its valid range at 1 atm."""
    tab = _coolprop_table(name, kind, fluid, t_lo_app, t_hi_app)
    t = tab["temperature"]
    step = float(t[1] - t[0])
    src = _COOLPROP_SOURCE.format(version=tab["version"], fluid=fluid, step=step, lo=t[0], hi=t[-1])
    if source_note:
        src = f"{source_note}; {src}"
    return Coolant(name=name, kind=kind, t_freeze=tab["t_freeze"], t_max=tab["t_max"], temperature=t, source=src,
                   fluid=fluid, t_max_reason=tab["reason"], **{k: tab[k] for k in _FIELDS})


@lru_cache(maxsize=None)
def coolant(name: str) -> Coolant:
    """Coolant ``name``: a catalog entry or any 'PGxx' / 'EGxx' glycol mixture (cached per name).

    Raises
    ------
    InputError
        ``energy.coolant`` for an unknown name or a glycol fraction outside CoolProp's range.
    """
    from .. import catalog

    if not isinstance(name, str):
        raise InputError("energy.coolant", name, "a coolant name such as 'PG25'", "is not a name")
    try:
        e = catalog.get("coolants", name, "energy.coolant")
    except CatalogError:
        g = _glycol(name)
        if g is None:
            raise
        label, fluid, _, what = g
        if label != name:
            return coolant(label)
        return _coolprop_coolant(label, "liquid", fluid, f"{what} (CoolProp incompressible mixture, Melinder 2010)")
    cname = str(e.name)
    if cname != name:  # 'pg25' -> 'PG25': one cached object per coolant
        return coolant(cname)
    if _has(e, "coolprop"):
        fluid = str(e["coolprop"])
        kind = str(e["kind"])
        g = _glycol(cname)
        if g is not None and g[1] != fluid:
            raise CatalogError(f"catalog.coolants.{cname}.coolprop", fluid, g[1], "does not match the name's glycol fraction")
        lo_key = "t_min" if kind == "gas" else "t_freeze"
        t_lo = _temp_c(e[lo_key], f"catalog.coolants.{cname}.{lo_key}") if _has(e, lo_key) else None
        t_hi = _temp_c(e["t_max"], f"catalog.coolants.{cname}.t_max") if _has(e, "t_max") else None
        if kind == "gas" and (t_lo is None or t_hi is None):
            raise CatalogError(f"catalog.coolants.{cname}", None, "t_min and t_max for a gas", "are missing")
        return _coolprop_coolant(cname, kind, fluid, str(e["source"]), t_lo, t_hi)
    arr = {k: np.asarray([float(getattr(x, "magnitude", x)) for x in e[k]], dtype=float)
           for k in ("temperature",) + _FIELDS}
    return Coolant(name=cname, kind=str(e["kind"]), t_freeze=_temp_c(e["t_freeze"], "coolant.t_freeze"),
                   t_max=_temp_c(e["t_max"], "coolant.t_max"), temperature=arr["temperature"],
                   density=arr["density"], cp=arr["cp"], conductivity=arr["conductivity"],
                   viscosity=arr["viscosity"] * 1e-3, source=str(e["source"]))


def _has(entry, key) -> bool:
    try:
        entry[key]
    except (KeyError, AttributeError, TypeError):
        return False
    return True


def coolant_properties(name: str, temperature) -> xr.Dataset:
    """Properties of coolant ``name`` at ``temperature`` (1 atm).

    Parameters
    ----------
    name : str
        Catalog name (datasets/catalog/coolants.toml), e.g. ``"water"``, ``"air"``,
        ``"Syltherm-XLT"``, or any glycol mixture ``"PGxx"`` / ``"EGxx"`` (xx = mass percent
        of propylene / ethylene glycol, 0-60).
    temperature : Quantity or str
        Temperature [degC], above the coolant's freezing point and up to its upper limit.

    Returns
    -------
    xarray.Dataset
        Scalars ``density`` [kg/m^3], ``cp`` [J/(kg K)], ``conductivity`` [W/(m K)],
        ``viscosity`` [mPa s], ``volumetric_heat_capacity`` [J/(m^3 K)], ``t_freeze`` [degC],
        ``t_max`` [degC]; the coolant's name and temperature [degC] in attrs.

    Notes
    -----
    Water, air and glycol mixtures: CoolProp (HEOS::Water, HEOS::Air, INCOMP::MPG[x],
    INCOMP::MEG[x]) tabulated on a 0.1-0.25 K grid and interpolated linearly (viscosity in
    log mu). Dielectric oils: the catalog's sourced rows, same interpolation.
    Volumetric heat capacity = rho cp.

    References
    ----------
    Bell et al. (2014), CoolProp, Ind. Eng. Chem. Res. 53, 2498; Melinder (2010) for the glycol
    mixtures; each hand-table coolant's ``source`` in datasets/catalog/coolants.toml.
    """
    props = _coolant_properties(name, temperature)
    return scalars(props, {"coolant": coolant(name).name,
                           "temperature_degC": magnitude(temperature, "degC", "temperature")})


def _coolant_properties(name: str, temperature) -> dict:
    """:func:`coolant_properties` as a dict of pint Quantities."""
    c = coolant(name)
    t = magnitude(temperature, "degC", "temperature")
    rho, cp, k, mu = c.props(t)
    return {"density": Q_(rho, "kg/m^3"), "cp": Q_(cp, "J/(kg*K)"), "conductivity": Q_(k, "W/(m*K)"),
            "viscosity": Q_(mu * 1e3, "mPa*s"), "volumetric_heat_capacity": Q_(rho * cp, "J/(m^3*K)"),
            "t_freeze": Q_(c.t_freeze, "degC"), "t_max": Q_(c.t_max, "degC")}
