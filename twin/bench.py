"""Benchmark harness: each benchmark times a fast path and a plain reference in one run.

A domain registers a *setup* function with :func:`register_benchmark`; it returns a
:class:`Benchmark` with two zero-argument callables computing the same thing. The
runner warms both up (numba compilation is excluded), takes the median of repeats and
reports ``ratio = reference_s * reference_scale / fast_s``. ``reference_scale`` lets a
slow reference run on a shorter horizon and be scaled up, which the note must say.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

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


@dataclass(frozen=True)
class _Entry:
    name: str
    domain: str
    setup: Callable[[bool], Benchmark]
    goal: str


_BENCHMARKS: dict[str, _Entry] = {}


def register_benchmark(name: str, *, domain: str, goal: str = ""):
    """Decorator: register ``setup(quick: bool) -> Benchmark`` under ``name``."""

    def deco(setup):
        _BENCHMARKS[name] = _Entry(name, domain, setup, goal)
        return setup

    return deco


def benchmarks() -> dict[str, _Entry]:
    load_registrations()
    return dict(_BENCHMARKS)


def _time(fn, repeats: int) -> float:
    samples = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def run_benchmark(name: str, quick: bool = False) -> dict:
    """Run one benchmark; returns name, domain, size, fast_s, reference_s, ratio, goal, note."""
    table = benchmarks()
    if name not in table:
        raise unknown_name("benchmark", name, table, "benchmark")
    e = table[name]
    b = e.setup(quick)
    b.fast()  # warm-up: numba compile and caches excluded from the timing
    fast_s = _time(b.fast, 2 if quick else b.repeats)
    b.reference()
    reference_s = _time(b.reference, 1 if quick else b.reference_repeats) * b.reference_scale
    if fast_s <= 0:
        raise TwinError(f"benchmark {name}: fast path took no measurable time")
    return {"name": name, "domain": e.domain, "size": b.size, "fast_s": fast_s, "reference_s": reference_s,
            "ratio": reference_s / fast_s, "goal": e.goal, "note": b.note}


def run_benchmarks(names=None, quick: bool = False, progress=None) -> list[dict]:
    table = benchmarks()
    names = list(names) if names else list(table)
    out = []
    for i, n in enumerate(names):
        if progress:
            progress(i, len(names), n)
        out.append(run_benchmark(n, quick=quick))
    if progress:
        progress(len(names), len(names), "")
    return out
