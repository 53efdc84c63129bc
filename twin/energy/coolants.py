"""Coolant properties against temperature, from datasets/catalog/coolants.toml.

Each catalog entry holds parallel arrays (temperature [degC], density [kg/m^3], cp
[J/(kg K)], conductivity [W/(m K)], viscosity [mPa s]) and ``t_freeze``/``t_max``.
Interpolation is linear in temperature (viscosity log-linear), extrapolated linearly from the
two nearest rows beyond the table; a single-row entry is constant. Temperatures below the
freezing point or above ``t_max`` raise :class:`~twin.errors.InputError`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import InputError
from ..units import Q_, magnitude

_FIELDS = ("density", "cp", "conductivity", "viscosity")


@dataclass(frozen=True)
class Coolant:
    """Property table of one coolant (SI inside: kg/m^3, J/(kg K), W/(m K), Pa s, degC)."""

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
        t = np.asarray(t_c, dtype=float)
        if not np.all(np.isfinite(t)):
            raise InputError(field, t_c, "a finite temperature", "is not finite")
        if np.any(t <= self.t_freeze):
            raise InputError(field, f"{float(np.min(t)):g} degC",
                             f"a temperature above the freezing point of {self.name} ({self.t_freeze:g} degC)",
                             "is at or below the coolant's freezing point")
        if np.any(t > self.t_max):
            raise InputError(field, f"{float(np.max(t)):g} degC",
                             f"a temperature up to {self.t_max:g} degC for {self.name}", "is above the coolant's range")

    def props(self, t_c, field="temperature"):
        """(rho [kg/m^3], cp [J/(kg K)], k [W/(m K)], mu [Pa s]) at ``t_c`` [degC]."""
        self.check_temperature(t_c, field)
        return (self._interp(self.density, t_c), self._interp(self.cp, t_c),
                self._interp(self.conductivity, t_c), self._interp(self.viscosity, t_c, log=True))

    def rho_cp(self, t_c, field="temperature") -> float:
        """Volumetric heat capacity [J/(m^3 K)]."""
        rho, cp, _, _ = self.props(t_c, field)
        return rho * cp


def _catalog_entry(name: str):
    """The catalog entry of coolant ``name`` (twin.catalog, forgiving on case)."""
    from .. import catalog

    return catalog.get("coolants", name, "energy.coolant")


def coolant_names():
    from .. import catalog

    return list(catalog.names("coolants"))


def _temp_c(v) -> float:
    if hasattr(v, "to"):
        return float(v.to("degC").magnitude)
    return magnitude(v, "degC", "coolant.t_freeze")


@lru_cache(maxsize=None)
def coolant(name: str) -> Coolant:
    """Load coolant ``name`` from the catalog (cached)."""
    if not isinstance(name, str):
        raise InputError("energy.coolant", name, "a coolant name such as 'PG25'", "is not a name")
    e = _catalog_entry(name)
    arr = {k: np.asarray([float(getattr(x, "magnitude", x)) for x in e[k]], dtype=float)
           for k in ("temperature",) + _FIELDS}
    name = str(e.name)
    return Coolant(name=name, kind=str(e["kind"]), t_freeze=_temp_c(e["t_freeze"]),
                   t_max=_temp_c(e["t_max"]), temperature=arr["temperature"],
                   density=arr["density"], cp=arr["cp"], conductivity=arr["conductivity"],
                   viscosity=arr["viscosity"] * 1e-3, source=str(e["source"]))


def coolant_properties(name: str, temperature) -> dict:
    """Properties of coolant ``name`` at ``temperature``.

    Parameters
    ----------
    name : str
        Catalog name (datasets/catalog/coolants.toml), e.g. ``"PG25"``, ``"water"``, ``"air"``.
    temperature : Quantity or str
        Temperature [degC].

    Returns
    -------
    dict
        ``density`` [kg/m^3], ``cp`` [J/(kg K)], ``conductivity`` [W/(m K)], ``viscosity``
        [mPa s], ``volumetric_heat_capacity`` [J/(m^3 K)] as pint Quantities.

    Notes
    -----
    Linear interpolation in temperature; viscosity interpolated in log(mu).

    References
    ----------
    Each coolant's ``source`` in datasets/catalog/coolants.toml.
    """
    c = coolant(name)
    t = magnitude(temperature, "degC", "temperature")
    rho, cp, k, mu = c.props(t)
    return {"density": Q_(rho, "kg/m^3"), "cp": Q_(cp, "J/(kg*K)"), "conductivity": Q_(k, "W/(m*K)"),
            "viscosity": Q_(mu * 1e3, "mPa*s"), "volumetric_heat_capacity": Q_(rho * cp, "J/(m^3*K)")}
