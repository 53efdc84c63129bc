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
expected_range : [lo, hi]  optional; the published value is a range (several devices or runs
                    reported as "2-5x"): a prediction inside it has error 0, one outside it the
                    error to the nearer bound (relative to that bound); ``expected`` is then the
                    range's centre, shown and used by the constant baseline
tolerance : float|str   relative (``0.1``) or absolute quantity (``"2 K"``)
kind : str          required: ``"measurement"`` (a published measurement, or a published
                    model's output) or ``"consistency"`` (arithmetic on datasheet numbers, a
                    formula re-derived). Fidelity is reported on measurements only.
calibrated : bool   optional; true when a model parameter was fitted to this case. The constant
                    names its cases (:func:`register_calibration`); a calibrated case that no
                    registered constant names is reported.
note : str          optional; why the error is what it is
known_gap : str     optional; the reason the twin is known to miss this measurement. The case
                    is still run and reported with its error, but does not fail the run;
                    if it starts to pass, the run fails until ``known_gap`` is removed
                    (strict, like pytest's xfail(strict=True)).
gap_bound : float|str  required with ``known_gap``: the largest error the gap may reach,
                    relative (``0.2``) or absolute (``"18 K"``). A gap whose error grows past
                    its bound fails ("gap widened").

Bookkeeping (:func:`fidelity`)
------------------------------
* per domain: measurement cases, mean and max |relative error| (known gaps apart), and the
  consistency checks counted on their own;
* every quantity with five or more measurement cases: the error of the best constant
  predictor (the median published value) beside the model's; a model that does not beat the
  constant by at least 2x is flagged;
* every calibrated constant (:func:`register_calibration`) names the cases it was fitted on;
  where it registers a refit hook, each of those cases is re-predicted with the constant
  refit without it (leave-one-out).
"""
from __future__ import annotations

import contextlib
import math
import statistics
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


KINDS = ("measurement", "consistency")


@dataclass(frozen=True)
class CalibrationSpec:
    """A model constant fitted on named cases.

    ``refit(train_cases) -> context manager``: inside the ``with`` block the model uses the
    constant refit on ``train_cases`` (the case dicts of the fit minus the one left out) and
    restores it on exit. ``None`` when the constant cannot be refit automatically.
    """

    name: str
    domain: str
    cases: tuple
    refit: Callable | None = None
    description: str = ""


_CALIBRATIONS: dict[str, CalibrationSpec] = {}


def register_calibration(name: str, *, domain: str, cases, refit: Callable | None = None, description: str = ""):
    """Register a calibrated constant ``name`` and the case ids it was fitted on.

    Parameters
    ----------
    name : str
        Dotted name of the constant, e.g. ``"twin.interconnect.topology.EFFICIENCY['scale-up']"``.
    domain : str
    cases : sequence of str
        Ids of the cases the constant was fitted on (each should carry ``calibrated = true``).
    refit : callable, optional
        ``refit(train_cases: list[dict]) -> contextlib.AbstractContextManager``: refits the
        constant on ``train_cases`` and applies it inside the ``with`` block. Used for the
        leave-one-out errors.
    description : str
        What the constant is and how it is fitted.
    """
    cases = tuple(str(c) for c in cases)
    if not cases:
        raise TwinError(f"calibration {name!r} names no cases")
    if name in _CALIBRATIONS and _CALIBRATIONS[name].cases != cases:
        raise TwinError(f"calibration {name!r} registered twice")
    _CALIBRATIONS[name] = CalibrationSpec(name, domain, cases, refit, description)
    return _CALIBRATIONS[name]


def calibrations() -> dict[str, CalibrationSpec]:
    """All registered calibrated constants (domain registrations loaded)."""
    load_registrations()
    return dict(_CALIBRATIONS)


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
    kind: str = ""
    gap_bound: str = ""
    within_gap_bound: bool = True
    expected_range: tuple | None = None

    @property
    def status(self) -> str:
        """pass | fail | error | known gap | gap closed (a known gap that now passes) |
        gap widened (a known gap whose error grew past its bound)."""
        if self.error is not None:
            return "error"
        if self.known_gap:
            if self.passed:
                return "gap closed"
            return "known gap" if self.within_gap_bound else "gap widened"
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
        d["kind"] = self.kind
        d["status"] = self.status
        if self.known_gap:
            d["known_gap"] = self.known_gap
            d["gap_bound"] = self.gap_bound
        if self.note:
            d["note"] = self.note
        if self.expected_range is not None:
            d["expected_range"] = list(self.expected_range)
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


def _expected_range(c: dict, unit: str, expected: float) -> tuple[float, float] | None:
    """``expected_range`` in the case's unit, checked: two values, lo < hi, the centre ``expected``."""
    rng = c.get("expected_range")
    if rng is None:
        return None
    field = f"case {c.get('id')}.expected_range"
    if not isinstance(rng, list) or len(rng) != 2:
        raise InputError(field, rng, "two published bounds [lo, hi], numbers or quantity strings")
    lo, hi = (float(_expected_quantity({"id": c.get("id"), "expected": v}, unit).to(unit or "dimensionless").magnitude)
              for v in rng)
    if not lo < hi or not math.isclose(expected, 0.5 * (lo + hi), rel_tol=1e-9):
        raise InputError(field, rng, f"lo < hi with expected ({expected:g}) at their centre")
    return lo, hi


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


def _within(tol_raw, predicted: float, expected: float, rel: float, unit: str, field: str) -> tuple[bool, str]:
    """Whether a prediction lies within a relative (number) or absolute (quantity string) bound."""
    if isinstance(tol_raw, str):
        tol_q = ureg.Quantity(tol_raw)
        if not isinstance(tol_q, pint.Quantity):
            tol_q = Q_(float(tol_q), "dimensionless")
        # absolute tolerance: an offset temperature tolerance means a difference
        if tol_q.units == ureg.degC:
            tol_q = Q_(tol_q.magnitude, "delta_degC")
        try:
            tol_abs = float(tol_q.to(ureg.Unit(unit) if unit != "degC" else ureg.delta_degC).magnitude)
        except pint.DimensionalityError:
            raise InputError(field, tol_raw, f"a relative bound (0.1) or a quantity in {unit or 'dimensionless'}") from None
        return abs(predicted - expected) <= tol_abs, tol_raw
    if isinstance(tol_raw, bool) or not isinstance(tol_raw, (int, float)) or not tol_raw >= 0:
        raise InputError(field, tol_raw, "a relative bound >= 0 (0.1) or an absolute quantity string ('2 K')")
    return abs(rel) <= float(tol_raw), f"{float(tol_raw):g}"


def run_case(c: dict) -> CaseResult:
    """Evaluate one case; bad inputs become a failed result with the error, never an exception."""
    cid = str(c.get("id", "?"))
    base = dict(id=cid, domain=str(c.get("domain", "?")), quantity=str(c.get("quantity", "?")),
                source=str(c.get("source", "")), calibrated=bool(c.get("calibrated", False)),
                note=str(c.get("note", "")), file=c.get("_file", ""), known_gap=str(c.get("known_gap", "")),
                kind=str(c.get("kind", "")), gap_bound=str(c.get("gap_bound", "")))
    tol_raw = c.get("tolerance", 0.05)
    if "_load_error" in c:
        return CaseResult(**base, expected=None, predicted=None, unit="", rel_error=None, tolerance=str(tol_raw),
                          passed=False, error=c["_load_error"])
    specs = quantities()
    try:
        if base["quantity"] not in specs:
            raise unknown_name(f"case {cid}.quantity", base["quantity"], specs, "validation quantity")
        spec = specs[base["quantity"]]
        if base["kind"] not in KINDS:
            raise InputError(f"case {cid}.kind", c.get("kind"), "'measurement' (a published measurement or a published "
                             "model's output) or 'consistency' (arithmetic on datasheet numbers)",
                             "is missing" if "kind" not in c else None)
        if base["known_gap"] and "gap_bound" not in c:
            raise InputError(f"case {cid}.gap_bound", None, "the largest error the known gap may reach, relative (0.2) "
                             "or absolute ('18 K')", "is missing")
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
        rng = _expected_range(c, unit, expected)
        # against a published range, the error is to its nearer bound (0 inside it)
        target = expected if rng is None else min(max(predicted, rng[0]), rng[1])
        rel = _rel(predicted, target, unit)
        passed, tol_str = _within(tol_raw, predicted, target, rel, unit, f"case {cid}.tolerance")
        within_bound = True
        if base["known_gap"]:
            within_bound, _ = _within(c["gap_bound"], predicted, target, rel, unit, f"case {cid}.gap_bound")
        return CaseResult(**base, expected=expected, predicted=predicted, unit=unit, rel_error=rel,
                          abs_error=predicted - target, within_gap_bound=bool(within_bound),
                          tolerance=tol_str, passed=bool(passed), expected_range=rng)
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


# --- bookkeeping: fidelity by kind, constant baseline, leave-one-out -------------------------

#: A model must beat the constant predictor's mean |error| by this factor on every quantity
#: with at least BASELINE_MIN_CASES measurement cases (issue 14).
BASELINE_FACTOR = 2.0
BASELINE_MIN_CASES = 5


def _fidelity_error(r: CaseResult) -> float | None:
    return None if r.rel_error is None else abs(r.rel_error)


def _rel(pred: float, exp: float, unit: str) -> float:
    ref = Q_(exp, unit).to("K").magnitude if _is_offset(unit) else exp
    return (pred - exp) / ref if ref != 0 else (0.0 if pred == exp else math.inf)


def domain_fidelity(results) -> list[dict]:
    """Per domain: measurement cases (mean and max |relative error|, known gaps apart) and
    consistency checks counted on their own.

    Returns
    -------
    list of dict
        domain, measurements, mean_abs_error, max_abs_error, worst (case id), known_gaps,
        consistency, consistency_passed, errors (cases that did not run).
    """
    rows = []
    for dom in sorted({r.domain for r in results}):
        rs = [r for r in results if r.domain == dom]
        meas = [r for r in rs if r.kind == "measurement" and r.error is None and not r.known_gap]
        errs = [abs(r.rel_error) for r in meas]
        worst = max(meas, key=lambda r: abs(r.rel_error)).id if meas else ""
        cons = [r for r in rs if r.kind == "consistency"]
        rows.append({"domain": dom, "measurements": len(meas),
                     "mean_abs_error": statistics.fmean(errs) if errs else None,
                     "max_abs_error": max(errs) if errs else None, "worst": worst,
                     "known_gaps": sum(1 for r in rs if r.known_gap and r.kind == "measurement"),
                     "consistency": len(cons), "consistency_passed": sum(1 for r in cons if r.ok),
                     "errors": sum(1 for r in rs if r.error is not None)})
    return rows


def constant_baseline(results, min_cases: int = BASELINE_MIN_CASES, factor: float = BASELINE_FACTOR) -> list[dict]:
    """The best constant predictor (the median published value) against the model, for every
    quantity with at least ``min_cases`` measurement cases.

    Returns
    -------
    list of dict
        quantity, domain, cases, median (published, in the quantity's unit), unit,
        baseline_error and model_error (mean |relative error| over the same cases),
        ratio = baseline / model, flagged (the model does not beat the constant by ``factor``).

    Notes
    -----
    A quantity whose published values barely spread is passed by a constant; only a model
    that beats ``median(published)`` by ``factor`` shows it explains the spread. Known gaps are
    left out of both errors, as in :func:`domain_fidelity` (they are reported on their own).
    """
    by_q: dict[str, list[CaseResult]] = {}
    for r in results:
        if r.kind == "measurement" and r.error is None and r.expected is not None and not r.known_gap:
            by_q.setdefault(r.quantity, []).append(r)
    rows = []
    for q, rs in sorted(by_q.items()):
        if len(rs) < min_cases:
            continue
        units = {r.unit for r in rs}
        if len(units) != 1:
            continue
        unit = units.pop()
        med = statistics.median(r.expected for r in rs)
        # scored as the model is: against a published range, the error to its nearer bound
        base = statistics.fmean(abs(_rel(med, r.expected if r.expected_range is None
                                         else min(max(med, r.expected_range[0]), r.expected_range[1]), unit))
                                for r in rs)
        model = statistics.fmean(abs(r.rel_error) for r in rs)
        ratio = base / model if model > 0 else math.inf
        rows.append({"quantity": q, "domain": rs[0].domain, "cases": len(rs), "median": med, "unit": unit,
                     "baseline_error": base, "model_error": model, "ratio": ratio, "flagged": not ratio >= factor})
    return rows


def leave_one_out(results=None, cases=None) -> list[dict]:
    """Leave-one-out errors of the calibrated cases.

    For every registered calibration (:func:`register_calibration`) and every case it names,
    the constant is refit on the other cases (its ``refit`` hook) and the left-out case is
    predicted again. A constant fitted on a single case, or without a refit hook, reports why
    no leave-one-out error exists. Calibrated cases that no constant names are listed too.

    Returns
    -------
    list of dict
        constant, domain, case, fitted_error (with all cases), loo_error (refit without the
        case; None when not available), note.
    """
    cases = load_cases() if cases is None else cases
    by_id = {str(c.get("id")): c for c in cases}
    results = [run_case(c) for c in cases] if results is None else results
    res_by_id = {r.id: r for r in results}
    rows = []
    named = set()
    for cal in calibrations().values():
        if not any(cid in res_by_id for cid in cal.cases):
            continue  # a run restricted to other domains
        for cid in cal.cases:
            named.add(cid)
            r = res_by_id.get(cid)
            row = {"constant": cal.name, "domain": cal.domain, "case": cid,
                   "fitted_error": None if r is None else r.rel_error, "loo_error": None, "note": ""}
            if cid not in by_id:
                row["note"] = "case not found"
            elif len(cal.cases) < 2:
                row["note"] = "fitted on this case alone: nothing left to refit on"
            elif cal.refit is None:
                row["note"] = "no refit hook registered"
            else:
                train = [by_id[k] for k in cal.cases if k != cid and k in by_id]
                try:
                    with cal.refit(train):
                        rr = run_case(by_id[cid])
                    if rr.error is not None:
                        row["note"] = rr.error
                    else:
                        row["loo_error"] = rr.rel_error
                except TwinError as exc:
                    row["note"] = str(exc)
            rows.append(row)
    for r in results:
        if r.calibrated and r.id not in named:
            rows.append({"constant": "(none registered)", "domain": r.domain, "case": r.id, "fitted_error": r.rel_error,
                         "loo_error": None, "note": "calibrated, but no registered constant names this case"})
    return rows


def fidelity(results=None, *, loo: bool = True) -> dict:
    """The fidelity summary of a validation run: ``{"domains", "baseline", "leave_one_out"}``
    (see :func:`domain_fidelity`, :func:`constant_baseline`, :func:`leave_one_out`)."""
    cases = load_cases()
    results = [run_case(c) for c in cases] if results is None else results
    out = {"domains": domain_fidelity(results), "baseline": constant_baseline(results)}
    out["leave_one_out"] = leave_one_out(results, cases) if loo else []
    return out


@contextlib.contextmanager
def patched(obj, key, value, *, clear=()):
    """Temporarily set ``obj[key]`` (a dict item) or ``obj.key`` (an attribute) to ``value``,
    clearing the callables' caches in ``clear`` on entry and exit. For refit hooks."""
    is_item = isinstance(obj, dict)
    old = obj[key] if is_item else getattr(obj, key)

    def _clear():
        for f in clear:
            f.cache_clear()

    if is_item:
        obj[key] = value
    else:
        setattr(obj, key, value)
    _clear()
    try:
        yield value
    finally:
        if is_item:
            obj[key] = old
        else:
            setattr(obj, key, old)
        _clear()


__all__ = ["register_quantity", "quantities", "load_cases", "run_case", "run_cases", "CaseResult",
           "results_table", "default_case_files", "register_calibration", "calibrations", "KINDS",
           "domain_fidelity", "constant_baseline", "leave_one_out", "fidelity", "patched"]
