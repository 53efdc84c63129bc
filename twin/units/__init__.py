"""The one pint registry of NICC Twin and the helpers that attach, strip and check units.

Quantities enter and leave the twin through :data:`ureg`; state lives in xarray with a
``units`` attribute on every variable; numba kernels see plain float64 in SI units.

Units this field uses are all defined here: ``FLOP`` and ``FLOP/s`` with SI prefixes
(``TFLOP/s``, ``PFLOP/s``), bits and bytes kept apart (``Gbit/s`` vs ``GB/s``, ``GiB`` vs
``GB``), ``W``/``kW``/``MW``, ``degC`` and ``delta_degC``/``K``, ``L/min``, ``m^3/s`` and
dimensionless ratios such as PUE.
"""
from __future__ import annotations

import functools
import math
from numbers import Number

import numpy as np
import pint

from ..errors import InputError



def _build_registry() -> pint.UnitRegistry:
    # pint's default file makes `bit` dimensionless, so GB would equal a plain ratio and
    # Gbit/s would equal Hz. Here information is a base dimension of its own.
    from pathlib import Path

    here = Path(pint.__file__).parent
    text = (here / "default_en.txt").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("@import"))
    if "\nbit = []\n" not in text:  # pragma: no cover - guards a future pint layout change
        raise RuntimeError("pint's default_en.txt no longer defines 'bit = []'")
    text = text.replace("\nbit = []\n", "\nbit = [information]\n")
    reg = pint.UnitRegistry(None, autoconvert_offset_to_baseunit=True, cache_folder=None)
    reg.load_definitions(here / "constants_en.txt")
    reg.load_definitions(text.splitlines())
    reg.default_system = "mks"  # SI base units (kg, not g) for to_base_units
    reg.define("FLOP = [computation] = FLOP = flop")
    reg.define("FLOPS = FLOP / second")
    # integer operations (TOPS) are counted on the same axis as FLOP for peak-rate tables
    reg.define("OP = FLOP = OP")
    # Money (cost domain): US dollar as the base of a currency dimension; the yuan at a fixed
    # annual-average rate. People's Bank of China central parity, 2024 annual average
    # 7.1217 CNY per USD (PBoC statistical release, January 2025). Users who need another year's
    # rate convert at the edge; prices in datasets/prices carry their own currency.
    reg.define("USD = [currency] = USD = usd")
    reg.define("CNY = USD / 7.1217 = CNY = yuan = RMB")
    return reg


def _memo_unit_parsing(reg: pint.UnitRegistry, limit: int = 4096) -> None:
    """Remember parsed unit expressions: pint caches single names only, so every ``.to("GB/s")``
    re-parsed its string (a third of a twin run went there). All units are defined above,
    before the first parse, so a parsed expression never changes meaning."""
    parse = reg.parse_units_as_container
    memo: dict = {}

    def parse_units_as_container(input_string, as_delta=None, case_sensitive=None):
        key = (input_string, as_delta, case_sensitive)
        hit = memo.get(key)
        if hit is None:
            hit = parse(input_string, as_delta, case_sensitive)
            if len(memo) < limit:
                memo[key] = hit
        return hit

    reg.parse_units_as_container = parse_units_as_container


ureg = _build_registry()
_memo_unit_parsing(ureg)
ureg.formatter.default_format = "~P"
pint.set_application_registry(ureg)

Q_ = ureg.Quantity
Quantity = ureg.Quantity

#: Human words for the dimensions that appear in scenarios, with an example of each.
DIMENSION_WORDS = {
    "[mass] * [length] ** 2 / [time] ** 3": ("a power", "'700 W'"),
    "[mass] * [length] ** 2 / [time] ** 2": ("an energy", "'1 kWh'"),
    "[information] / [time]": ("a data rate", "'400 Gbit/s'"),
    "[information]": ("a data size", "'80 GB'"),
    "[computation] / [time]": ("a compute rate", "'312 TFLOP/s'"),
    "[computation]": ("an amount of computation", "'3.1e23 FLOP'"),
    "[temperature]": ("a temperature", "'35 degC'"),
    "[length]": ("a length", "'2 km'"),
    "[time]": ("a time", "'5 us'"),
    "[length] ** 3 / [time]": ("a volumetric flow", "'1.5 L/min'"),
    "[mass] / [time]": ("a mass flow", "'0.2 kg/s'"),
    "[mass] / [length] / [time] ** 2": ("a pressure", "'50 kPa'"),
    "[length] ** 2": ("an area", "'2.4 m^2'"),
    "[length] ** 3": ("a volume", "'1 m^3'"),
    "[mass] / [length] ** 3": ("a density", "'1000 kg/m^3'"),
    "[length] ** 2 / [time] ** 2 / [temperature]": ("a specific heat", "'4180 J/(kg K)'"),
    "[temperature] * [time] ** 3 / [length] ** 2 / [mass]": ("a thermal resistance", "'0.02 K/W'"),
    "[frequency]": ("a frequency", "'1.98 GHz'"),
    "1 / [time]": ("a rate per time", "'1e-6 /h'"),
    "": ("a plain number", "'1.3'"),
    "[currency]": ("an amount of money", "'1000 USD'"),
    "[currency] * [time] ** 2 / [mass] / [length] ** 2": ("a price per energy", "'0.45 CNY/kWh'"),
    "[currency] / [length] ** 3": ("a price per volume", "'4 CNY/m^3'"),
    "[currency] / [time]": ("a price per time", "'2 USD/h'"),
    "[time] ** 2 / [length] ** 2": ("an emission factor (mass per energy)", "'0.5568 kg/kWh'"),
}


def describe_dimension(q_or_unit) -> tuple[str, str]:
    """Return (words, example) for the dimensionality of a quantity or unit string."""
    dim = ureg.get_dimensionality(q_or_unit if not isinstance(q_or_unit, pint.Quantity) else q_or_unit.units)
    key = str(dim) if str(dim) != "dimensionless" else ""
    if key in DIMENSION_WORDS:
        return DIMENSION_WORDS[key]
    return (f"a quantity of dimension {dim}", "")


def _parse(value):
    if isinstance(value, pint.Quantity):
        return value
    if isinstance(value, str):
        return _parse_str(value.strip())
    raise TypeError


@functools.lru_cache(maxsize=2048)
def _parse_str(text: str):
    # scenarios and catalogs repeat a few hundred strings; pint's parser dominated unit checks.
    # The cached Quantity is never handed out: as_quantity returns a conversion (a new object).
    return ureg.Quantity(text)


@functools.lru_cache(maxsize=1024)
def _target(unit):
    """The unit a caller works in and the words for its dimension (cached: parsing dominated)."""
    target = ureg.Unit(unit)
    words, example = describe_dimension(target)
    return target, f"{words} such as {example}" if example else words, words


def as_quantity(value, unit: str, field: str, *, allow_bare: bool = False) -> pint.Quantity:
    """Convert a user value to a quantity of ``unit``'s dimension or raise :class:`InputError`.

    Parameters
    ----------
    value : pint.Quantity, str or number
        ``"400 Gbit/s"``, ``Q_(400, "Gbit/s")``; a bare number only when ``allow_bare``
        (then it is read in ``unit``) or when ``unit`` is dimensionless.
    unit : str
        The unit the caller works in; the result is converted to it.
    field : str
        Dotted path of the field, for the error message.

    Returns
    -------
    pint.Quantity
        The value in ``unit``.
    """
    target, expected, words = _target(unit)
    if isinstance(value, bool):
        raise InputError(field, value, expected, "is a boolean")
    if isinstance(value, (Number, np.number)) and not isinstance(value, pint.Quantity):
        if target.dimensionless or allow_bare:
            q = ureg.Quantity(float(value), target)
        else:
            raise InputError(field, value, expected, "has no unit")
    else:
        try:
            q = _parse(value)
        except TypeError:
            raise InputError(field, value, expected, f"is a {type(value).__name__}") from None
        except Exception:
            raise InputError(field, value, expected, "is not a quantity pint can read") from None
        if not isinstance(q, pint.Quantity):  # "3" parses to a plain number
            if target.dimensionless:
                q = ureg.Quantity(float(q), target)
            else:
                raise InputError(field, value, expected, "has no unit")
    if q.dimensionality != target.dimensionality:
        got, _ = describe_dimension(q)
        raise InputError(field, value, expected, f"is {got}")
    q = q.to(target)
    m = np.asarray(q.magnitude, dtype=float)
    if not np.all(np.isfinite(m)):
        raise InputError(field, value, f"{words} that is finite", "is not finite")
    return q


def magnitude(value, unit: str, field: str = "value", *, allow_bare: bool = False):
    """The magnitude of ``value`` in ``unit`` (float or ndarray), checked as :func:`as_quantity`."""
    m = as_quantity(value, unit, field, allow_bare=allow_bare).magnitude
    return float(m) if np.ndim(m) == 0 else np.asarray(m, dtype=float)


def si(value, unit: str, field: str = "value", *, allow_bare: bool = False):
    """Magnitude in SI base units after checking it has the dimension of ``unit``."""
    q = as_quantity(value, unit, field, allow_bare=allow_bare).to_base_units()
    m = q.magnitude
    return float(m) if np.ndim(m) == 0 else np.asarray(m, dtype=float)


def check_range(value: float, field: str, *, lo=None, hi=None, lo_open=False, hi_open=False, unit: str = "", what: str = "") -> float:
    """Raise :class:`InputError` unless lo <= value <= hi (open bounds where asked)."""
    bad = (value is None or (isinstance(value, float) and math.isnan(value))
           or (lo is not None and (value < lo or (lo_open and value == lo)))
           or (hi is not None and (value > hi or (hi_open and value == hi))))
    if bad:
        u = f" {unit}" if unit else ""
        if lo is not None and hi is not None:
            rng = f"{'>' if lo_open else '>='} {lo:g}{u} and {'<' if hi_open else '<='} {hi:g}{u}"
        elif lo is not None:
            rng = f"{'>' if lo_open else '>='} {lo:g}{u}"
        else:
            rng = f"{'<' if hi_open else '<='} {hi:g}{u}"
        raise InputError(field, value if not u else f"{value:g}{u}", f"{what + ' ' if what else ''}{rng}".strip(), "is out of range")
    return value


# --- xarray ---------------------------------------------------------------------------

def with_units(obj, unit: str, **attrs):
    """Return a DataArray with ``attrs['units'] = unit`` (canonical pint spelling) and extra attrs."""
    out = obj.copy()
    out.attrs.update(attrs)
    out.attrs["units"] = format_unit(unit)
    return out


@functools.lru_cache(maxsize=1024)
def format_unit(unit) -> str:
    """Canonical short spelling of a unit string, e.g. ``'gigabit / second'`` -> ``'Gbit / s'``."""
    u = ureg.Unit(unit) if not isinstance(unit, pint.Unit) else unit
    if u.dimensionless and str(u) in ("", "dimensionless"):
        return ""
    # ASCII spellings so NetCDF attrs and terminals stay plain
    return f"{u:~}".replace("Δ°C", "delta_degC").replace("°C", "degC").replace("°F", "degF")


def quantity_of(da):
    """A pint Quantity from a DataArray's values and its ``units`` attribute."""
    return ureg.Quantity(np.asarray(da.values), da.attrs.get("units", "") or "dimensionless")


def quantify(ds):
    """Wrap a Dataset's/DataArray's variables in pint arrays from their ``units`` attrs (pint-xarray)."""
    import pint_xarray  # noqa: F401  (registers the .pint accessor)

    return ds.pint.quantify(unit_registry=ureg)


def dequantify(ds):
    """Inverse of :func:`quantify`: plain arrays with ``units`` attrs."""
    import pint_xarray  # noqa: F401

    return ds.pint.dequantify()


__all__ = [
    "ureg", "Q_", "Quantity", "as_quantity", "magnitude", "si", "check_range", "with_units",
    "format_unit", "quantity_of", "quantify", "dequantify", "describe_dimension",
]
