"""Datasets of the energy domain's public functions: scalar quantities with ``units`` attrs."""
from __future__ import annotations

import xarray as xr

from ..units import Q_, format_unit


def scalars(values: dict, attrs: dict | None = None) -> xr.Dataset:
    """A Dataset of 0-d variables from pint Quantities (their unit in ``units``) and numbers.

    Strings go to the attrs; plain numbers become dimensionless variables.
    """
    data, extra = {}, {}
    for k, v in values.items():
        if isinstance(v, str):
            extra[k] = v
        elif isinstance(v, Q_):
            data[k] = ((), float(v.magnitude), {"units": format_unit(v.units)})
        else:
            data[k] = ((), float(v), {"units": ""})
    return xr.Dataset(data, attrs={**extra, **(attrs or {})})
