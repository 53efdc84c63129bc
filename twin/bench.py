"""Benchmark harness: each benchmark times a fast path and a fair reference in one run,
checks that the two agree and checks the benchmark's goal.

A domain registers a *setup* function with :func:`register_benchmark`; it returns a
:class:`Benchmark` with two zero-argument callables computing the same thing and a
``compare(fast_result, reference_result) -> float`` giving their discrepancy in the
benchmark's own ``metric`` (e.g. the largest temperature difference [K]), which must not
exceed ``tolerance``. The runner warms both up (numba compilation is excluded), takes the
median of repeats and reports ``ratio = reference_s * reference_scale / fast_s``.

References are fair: vectorised NumPy or scipy with its default error control, at the
accuracy of the fast path. Where a reference is too slow to run at full size it runs on a
shorter horizon, is scaled by ``reference_scale`` (the note says how and why), and is
compared with ``fast_check``, the fast path on the reference's own shorter horizon.

Goals are recorded with the registration: ``min_ratio`` (reference/fast) and
``max_seconds`` (fast path time). Full runs check them; quick runs (reduced sizes, for CI
smoke tests) check agreement only and say that goals were not checked.
"""
from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import TwinError, unknown_name
from .registry import load_registrations


@dataclass
class Benchmark:
    size: str
    fast: Callable[[], object]
    reference: Callable[[], object]
    repeats: int = 5
    reference_repeats: int = 3
    reference_scale: float = 1.0
    note: str = ""
    compare: Callable[[object, object], float] | None = None
    tolerance: float = 0.0
    metric: str = ""
    fast_check: Callable[[], object] | None = None


@dataclass(frozen=True)
class _Entry:
    name: str
    domain: str
    setup: Callable[[bool], Benchmark]
    goal: str
    min_ratio: float | None = None
    max_seconds: float | None = None


_BENCHMARKS: dict[str, _Entry] = {}


def register_benchmark(name: str, *, domain: str, goal: str = "", min_ratio: float | None = None,
                       max_seconds: float | None = None):
    """Decorator: register ``setup(quick: bool) -> Benchmark`` under ``name``.

    ``goal`` describes the goal in words; ``min_ratio`` (reference time / fast time, at full
    size) and ``max_seconds`` (fast time at full size) are what ``nicc-twin bench --check``
    enforces.
    """

    def deco(setup):
        _BENCHMARKS[name] = _Entry(name, domain, setup, goal, min_ratio, max_seconds)
        return setup

    return deco


def benchmarks() -> dict[str, _Entry]:
    load_registrations()
    return dict(_BENCHMARKS)


# --- comparison helpers (for the ``compare`` of a Benchmark) ------------------------------------

def _finite_pair(a, b):
    """The finite entries of two arrays as floats, or None when their shapes differ or a value is
    not finite in one and finite (or another non-finite value) in the other."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return None
    fa, fb = np.isfinite(a), np.isfinite(b)
    if np.any(fa != fb) or np.any(a[~fa] != b[~fb]):
        return None
    return a[fa], b[fb]


def max_abs_diff(a, b) -> float:
    """Largest absolute difference of two arrays of the same shape (inf if shapes differ or
    any value is not finite in one and finite in the other)."""
    pair = _finite_pair(a, b)
    if pair is None:
        return math.inf
    a, b = pair
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def max_rel_diff(a, b, floor: float = 0.0) -> float:
    """Largest ``|a - b| / max(|b|, floor)`` over two arrays of the same shape."""
    pair = _finite_pair(a, b)
    if pair is None:
        return math.inf
    a, b = pair
    if not a.size:
        return 0.0
    den = np.maximum(np.abs(b), floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, np.abs(a - b) / np.where(den > 0, den, 1.0), np.abs(a - b) > 0)
    return float(np.max(r))


def _time(fn, repeats: int) -> float:
    samples = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def run_benchmark(name: str, quick: bool = False) -> dict:
    """Run one benchmark.

    Returns a dict: name, domain, size, fast_s, reference_s, ratio, goal, min_ratio,
    max_seconds, note, metric, discrepancy, tolerance, agree (bool), goal_met (bool, or None
    when not checked: quick runs), problems (list of str; empty when all is well).
    """
    table = benchmarks()
    if name not in table:
        raise unknown_name("benchmark", name, table, "benchmark")
    e = table[name]
    b = e.setup(quick)
    out_fast = b.fast()  # warm-up: numba compile and caches excluded from the timing
    fast_s = _time(b.fast, 2 if quick else b.repeats)
    out_ref = b.reference()
    reference_s = _time(b.reference, 1 if quick else b.reference_repeats) * b.reference_scale
    if fast_s <= 0:
        raise TwinError(f"benchmark {name}: fast path took no measurable time")
    problems = []
    if b.compare is None:
        disc = math.nan
        problems.append("registers no comparison of the fast and reference results")
    else:
        got = b.fast_check() if b.fast_check is not None else out_fast
        disc = float(b.compare(got, out_ref))
        if not disc <= b.tolerance:  # also catches NaN
            problems.append(f"fast and reference disagree: {b.metric or 'discrepancy'} {disc:.3g} > tolerance "
                            f"{b.tolerance:.3g}")
    ratio = reference_s / fast_s
    goal_met = None
    if not quick:
        goal_met = True
        if e.min_ratio is not None and ratio < e.min_ratio:
            goal_met = False
            problems.append(f"ratio {ratio:.1f}x below the goal {e.min_ratio:g}x")
        if e.max_seconds is not None and fast_s > e.max_seconds:
            goal_met = False
            problems.append(f"fast path {fast_s:.3g} s over the goal {e.max_seconds:g} s")
    return {"name": name, "domain": e.domain, "size": b.size, "fast_s": fast_s, "reference_s": reference_s,
            "ratio": ratio, "goal": e.goal, "min_ratio": e.min_ratio, "max_seconds": e.max_seconds, "note": b.note,
            "metric": b.metric, "discrepancy": disc, "tolerance": b.tolerance,
            "agree": b.compare is not None and disc <= b.tolerance, "goal_met": goal_met, "problems": problems}


def run_benchmarks(names=None, quick: bool = False, progress=None) -> list[dict]:
    table = benchmarks()
    names = list(names) if names else list(table)
    for n in names:
        if n not in table:
            raise unknown_name("benchmark", n, table, "benchmark")
    out = []
    for i, n in enumerate(names):
        if progress:
            progress(i, len(names), n)
        out.append(run_benchmark(n, quick=quick))
    if progress:
        progress(len(names), len(names), "")
    return out
