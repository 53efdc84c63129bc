"""Synthetic hourly weather years from monthly climate normals (datasets/climate/normals.toml).

Model (documented, deterministic):

* monthly daily-mean temperature, daily range (t_max - t_min) and relative humidity are
  placed at mid-month and interpolated linearly, periodically over the year, to each day;
* within a day T(h) = T_mean(d) + (T_max - T_min)(d)/2 * cos(2 pi (h - 15) / 24), maximum at
  15:00 local time;
* the dew point of the day follows from the day's mean temperature and RH (Magnus formula,
  Alduchov & Eskridge 1996 constants) and is held through the day (RH capped at 100 %);
* wet bulb by Stull (2011), J. Appl. Meteor. Climatol. 50, 2267.

The synthetic year reproduces the normals' monthly means and mean daily extremes by
construction; it has no weather (fronts, heat waves), so hour-by-hour extremes are milder
than a real year (e.g. the 0.4 % design condition) - fine for annual PUE, not for sizing.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import xarray as xr

from ..errors import unknown_name
from ..paths import datasets_dir, load_toml

ALIASES = {"ulanqab": "Hohhot", "wulanchabu": "Hohhot", "huhehaote": "Hohhot", "hohhot/ulanqab": "Hohhot"}
_MID = (np.cumsum([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]) - np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]) / 2.0)


@lru_cache(maxsize=1)
def _normals() -> dict:
    """The climate normals table (datasets/climate/normals.toml) by city."""
    return load_toml(datasets_dir() / "climate" / "normals.toml")


def cities() -> list[str]:
    return list(_normals())


def city_name(city: str, field: str = "energy.climate") -> str:
    table = _normals()
    if isinstance(city, str):
        low = {k.lower(): k for k in table}
        c = city.strip().lower()
        if c in low:
            return low[c]
        if c in ALIASES:
            return ALIASES[c]
    raise unknown_name(field, city, list(table) + list(ALIASES), "climate city")


def _periodic_interp(day, monthly):
    x = np.concatenate([[_MID[-1] - 365.0], _MID, [_MID[0] + 365.0]])
    y = np.concatenate([[monthly[-1]], monthly, [monthly[0]]])
    return np.interp(day, x, y)


def dew_point(t_c, rh_pct):
    """Magnus dew point [degC] (a = 17.625, b = 243.04 degC)."""
    a, b = 17.625, 243.04
    g = np.log(np.clip(rh_pct, 1e-3, 100.0) / 100.0) + a * t_c / (b + t_c)
    return b * g / (a - g)


def relative_humidity(t_c, td_c):
    a, b = 17.625, 243.04
    return 100.0 * np.exp(a * td_c / (b + td_c) - a * t_c / (b + t_c))


def wet_bulb(t_c, rh_pct):
    """Stull (2011) wet-bulb temperature [degC] at sea-level pressure."""
    t = np.asarray(t_c, dtype=float)
    rh = np.clip(np.asarray(rh_pct, dtype=float), 5.0, 99.0)
    tw = (t * np.arctan(0.151977 * np.sqrt(rh + 8.313659)) + np.arctan(t + rh) - np.arctan(rh - 1.676331)
          + 0.00391838 * rh ** 1.5 * np.arctan(0.023101 * rh) - 4.686035)
    return np.minimum(tw, t)


@lru_cache(maxsize=16)
def _hourly(city: str):
    n = _normals()[city]
    hours = np.arange(8760)
    day = hours // 24 + 0.5
    hod = hours % 24
    tmean = _periodic_interp(day, np.asarray(n["t_mean"], float))
    rng = _periodic_interp(day, np.asarray(n["t_max"], float) - np.asarray(n["t_min"], float))
    rh_m = _periodic_interp(day, np.asarray(n["rh"], float))
    t = tmean + 0.5 * rng * np.cos(2 * np.pi * (hod - 15.0) / 24.0)
    td = np.minimum(dew_point(tmean, rh_m), t)
    rh = np.minimum(relative_humidity(t, td), 100.0)
    tw = wet_bulb(t, rh)
    for a in (t, rh, tw):
        a.setflags(write=False)
    return t, rh, tw


def hourly_year(city: str) -> xr.Dataset:
    """Synthetic hourly year of a city.

    Parameters
    ----------
    city : str
        A city of datasets/climate/normals.toml (case-insensitive) or an alias (Ulanqab -> Hohhot).

    Returns
    -------
    xarray.Dataset
        ``dry_bulb`` [degC], ``relative_humidity`` [%], ``wet_bulb`` [degC] over ``hour`` (8760
        values, [h] from 1 January 00:00); ``city`` and ``source`` in attrs.

    Notes
    -----
    T(h) = T_mean(d) + (T_max - T_min)(d) / 2 cos(2 pi (h - 15) / 24); dew point (Magnus) from
    the day's mean and RH held through the day; wet bulb by Stull (2011).

    References
    ----------
    R. Stull, J. Appl. Meteor. Climatol. 50, 2267 (2011); Alduchov & Eskridge (1996), Magnus
    constants; the normals' provenance is in the TOML.
    """
    y = _hourly_year(city)
    return xr.Dataset({"dry_bulb": ("hour", y["dry_bulb"], {"units": "degC"}),
                       "relative_humidity": ("hour", y["rh"], {"units": "%"}),
                       "wet_bulb": ("hour", y["wet_bulb"], {"units": "degC"})},
                      coords={"hour": ("hour", np.arange(8760), {"units": "h"})},
                      attrs={"city": y["city"], "source": y["source"]})


def _hourly_year(city: str) -> dict:
    """:func:`hourly_year` as a dict of arrays (and ``city``, ``source``)."""
    c = city_name(city)
    t, rh, tw = _hourly(c)
    return {"city": c, "dry_bulb": t, "rh": rh, "wet_bulb": tw, "source": _normals()[c].get("source", "")}
