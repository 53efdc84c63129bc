"""Validation harness: the twin's predictions against published measurements.

A *quantity* is a registered function that computes one number from a table of inputs
(``register_quantity``). A *case* (``datasets/validation/*.toml``, one ``[[case]]`` each)
names a quantity, its inputs, the published value with its source, and a tolerance.
Running the cases never feeds an expected value back into a prediction: the quantity
function only sees ``inputs``.

Case fields
-----------
id : str            unique id, e.g. ``"pcie4-x16-bandwidth"``
domain : str        white-paper domain (catalog, interconnect, fabric, training, energy, ...)
quantity : str      a registered quantity name
source : str        citation of the published number
inputs : table      keyword arguments of the quantity function
expected : str|num  published value, a quantity string such as ``"232.5 GB/s"``
tolerance : float|str   relative (``0.1``) or absolute quantity (``"2 K"``)
calibrated : bool   optional; true when a model parameter was fitted to this case
note : str          optional; why the error is what it is
known_gap : str     optional; the reason the twin is known to miss this measurement. The case
                    is still run and reported with its error, but does not fail the run;
                    if it starts to pass, the run fails until ``known_gap`` is removed
                    (strict, like pytest's xfail(strict=True)).
"""
from __future__ import annotations

import math
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pint

from ..errors import InputError, TwinError, unknown_name
from ..paths import datasets_dir, load_toml
from ..registry import load_registrations
from ..units import Q_, format_unit, ureg


@dataclass(frozen=True)
class QuantitySpec:
    name: str
    domain: str
    unit: str
    func: Callable
    description: str = ""


_QUANTITIES: dict[str, QuantitySpec] = {}


def register_quantity(name: str, *, domain: str, unit: str, description: str = ""):
    """Decorator: register ``func(**inputs) -> pint.Quantity | float`` as quantity ``name``.

    ``unit`` is the unit the result is reported in (``""`` for a plain ratio).
    """

    def deco(func):
        if name in _QUANTITIES and _QUANTITIES[name].func is not func:
            raise TwinError(f"validation quantity {name!r} registered twice")
        _QUANTITIES[name] = QuantitySpec(name, domain, unit, func, description or (func.__doc__ or "").strip().split("\n")[0])
        return func

    return deco


def quantities() -> dict[str, QuantitySpec]:
    """All registered quantities (domain registrations loaded)."""
    load_registrations()
    return dict(_QUANTITIES)


@dataclass
class CaseResult:
    id: str
    domain: str
    quantity: str
    source: str
    expected: float | None
    predicted: float | None
    unit: str
    rel_error: float | None
    tolerance: str
    passed: bool
    error: str | None = None
    calibrated: bool = False
    note: str = ""
    file: str = ""
    known_gap: str = ""
    abs_error: float | None = None

    @property
    def status(self) -> str:
        """pass | fail | error | known gap | gap closed (a known gap that now passes)."""
        if self.error is not None:
            return "error"
        if self.known_gap:
            return "gap closed" if self.passed else "known gap"
        return "pass" if self.passed else "fail"

    @property
    def ok(self) -> bool:
        """Whether this result lets the validation run succeed."""
        return self.status in ("pass", "known gap")

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("id", "domain", "quantity", "source", "expected", "predicted",
                                           "unit", "rel_error", "abs_error", "tolerance", "passed")}
        if self.error is not None:
            d["error"] = self.error
        d["calibrated"] = self.calibrated
        d["status"] = self.status
        if self.known_gap:
            d["known_gap"] = self.known_gap
        if self.note:
            d["note"] = self.note
        return d


def default_case_files() -> list[Path]:
    """The built-in case files, datasets/validation/*.toml."""
    return sorted((datasets_dir() / "validation").glob("*.toml"))


def load_cases(paths=None) -> list[dict]:
    """Read cases from the built-in files plus ``paths`` (files or folders)."""
    files = default_case_files()
    for p in paths or []:
        p = Path(p)
        if p.is_dir():
            files += sorted(p.glob("*.toml"))
        elif p.is_file():
            files.append(p)
        else:
            raise InputError("--cases", str(p), "an existing .toml file or folder", "does not exist")
    cases = []
    for f in files:
        try:
            data = load_toml(f)
        except Exception as exc:  # a broken file is reported, not fatal
            cases.append({"id": f"{f.name}:unreadable", "domain": "?", "quantity": "?", "source": str(f),
                          "_load_error": f"cannot read {f}: {exc}", "_file": str(f)})
            continue
        for c in data.get("case", []):
            c = dict(c)
            c["_file"] = str(f)
            cases.append(c)
    return cases


def _expected_quantity(c: dict, unit: str):
    exp = c.get("expected")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        return Q_(float(exp), unit or "dimensionless")
    if isinstance(exp, str):
        q = ureg.Quantity(exp)
        return q if isinstance(q, pint.Quantity) else Q_(float(q), "dimensionless")
    raise InputError(f"case {c.get('id')}.expected", exp, "a number or a quantity string such as '232.5 GB/s'")


def _is_offset(unit: str) -> bool:
    """True for temperature units with an offset zero (degC, degF)."""
    if not unit:
        return False
    u = ureg.Unit(unit)
    return u.is_compatible_with(ureg.kelvin) and ureg.Quantity(0, u).to("K").magnitude != 0


def _as_reporting(value, unit: str, case_id: str):
    if isinstance(value, pint.Quantity):
        return value.to(unit or "dimensionless").magnitude
    if unit and ureg.Unit(unit) != ureg.dimensionless:
        raise TwinError(f"case {case_id}: quantity returned a bare number where {unit} was expected")
    return float(value)


def run_case(c: dict) -> CaseResult:
    """Evaluate one case; bad inputs become a failed result with the error, never an exception."""
    cid = str(c.get("id", "?"))
    base = dict(id=cid, domain=str(c.get("domain", "?")), quantity=str(c.get("quantity", "?")),
                source=str(c.get("source", "")), calibrated=bool(c.get("calibrated", False)),
                note=str(c.get("note", "")), file=c.get("_file", ""), known_gap=str(c.get("known_gap", "")))
    tol_raw = c.get("tolerance", 0.05)
    if "_load_error" in c:
        return CaseResult(**base, expected=None, predicted=None, unit="", rel_error=None, tolerance=str(tol_raw),
                          passed=False, error=c["_load_error"])
    specs = quantities()
    try:
        if base["quantity"] not in specs:
            raise unknown_name(f"case {cid}.quantity", base["quantity"], specs, "validation quantity")
        spec = specs[base["quantity"]]
        unit = spec.unit
        expected_q = _expected_quantity(c, unit)
        unit = unit or format_unit(expected_q.units)
        expected = float(expected_q.to(unit or "dimensionless").magnitude)
        inputs = c.get("inputs", {})
        if not isinstance(inputs, dict):
            raise InputError(f"case {cid}.inputs", inputs, "a table of the quantity's keyword arguments")
        predicted = float(_as_reporting(spec.func(**inputs), unit, cid))
        if not math.isfinite(predicted):
            raise TwinError(f"case {cid}: prediction is not finite ({predicted})")
        # offset units (degC): a ratio of Celsius readings means nothing, so the relative error
        # is taken on the absolute (kelvin) scale; the absolute error is reported beside it
        ref = Q_(expected, unit).to("K").magnitude if _is_offset(unit) else expected
        rel = (predicted - expected) / ref if ref != 0 else (0.0 if predicted == 0 else math.inf)
        if isinstance(tol_raw, str):
            tol_q = ureg.Quantity(tol_raw)
            # absolute tolerance: an offset temperature tolerance means a difference
            if tol_q.units == ureg.degC:
                tol_q = Q_(tol_q.magnitude, "delta_degC")
            tol_abs = float(tol_q.to(ureg.Unit(unit) if unit != "degC" else ureg.delta_degC).magnitude)
            passed = abs(predicted - expected) <= tol_abs
            tol_str = tol_raw
        else:
            passed = abs(rel) <= float(tol_raw)
            tol_str = f"{float(tol_raw):g}"
        return CaseResult(**base, expected=expected, predicted=predicted, unit=unit, rel_error=rel,
                          abs_error=predicted - expected,
                          tolerance=tol_str, passed=bool(passed))
    except TwinError as exc:
        msg = str(exc)
    except TypeError as exc:
        msg = f"case {cid}: inputs do not fit quantity {base['quantity']!r}: {exc}"
    except Exception as exc:  # report, never crash the run
        msg = f"case {cid}: {type(exc).__name__}: {exc} ({traceback.extract_tb(exc.__traceback__)[-1].name})"
    return CaseResult(**base, expected=None, predicted=None, unit="", rel_error=None, tolerance=str(tol_raw),
                      passed=False, error=msg)


def run_cases(paths=None, domain: str | None = None) -> list[CaseResult]:
    """Run the built-in cases plus those in ``paths``, optionally of one ``domain``."""
    cases = load_cases(paths)
    if domain is not None:
        cases = [c for c in cases if c.get("domain") == domain]
    return [run_case(c) for c in cases]


def results_table(results) -> "pandas.DataFrame":  # noqa: F821
    """The results as a pandas DataFrame (for notebooks)."""
    import pandas as pd

    return pd.DataFrame([r.to_dict() for r in results])


__all__ = ["register_quantity", "quantities", "load_cases", "run_case", "run_cases", "CaseResult",
           "results_table", "default_case_files"]
