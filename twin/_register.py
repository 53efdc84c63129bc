"""Benchmarks of the whole twin (loaded by twin.registry): one run, one tree."""
from __future__ import annotations

from .bench import Benchmark, register_benchmark
from .registry import DOMAINS

PRESETS = ("heterogeneous-2021", "cluster-2023", "superpool-2025", "megatron-sc21-a100-3072")


def _headline_gap(a: dict, b: dict) -> float:
    """Largest relative difference between two runs' headline figures."""
    gap = 0.0
    for k, va in a.items():
        vb = b[k]
        gap = max(gap, abs(va - vb) / max(abs(va), abs(vb), 1e-300))
    return gap


def _twin_run(preset: str):
    def setup(quick: bool) -> Benchmark:
        from .compare import headlines
        from .core import Twin

        def fast():
            t = Twin(preset)
            t.run()
            return {(h.domain, h.key): h.value for h in headlines(t.state)}

        def reference():
            # the four-calculators way: every domain re-derives its inputs, here by evaluating
            # its NEEDS again in a fresh twin of its own
            out = {}
            for d in DOMAINS:
                t = Twin(preset)
                t.run([d])
                out.update({(h.domain, h.key): h.value for h in headlines(t.state) if h.domain == d})
            return out

        return Benchmark(size=f"{preset}: every domain once, in dependency order", fast=fast, reference=reference,
                         repeats=1 if quick else 3, reference_repeats=1, compare=_headline_gap, tolerance=1e-9,
                         metric="largest relative difference of the headline figures",
                         note="reference: each domain as a standalone calculator that re-evaluates the domains it "
                              "needs in a twin of its own (what the tree saves); same headline figures")
    return setup


for _p in PRESETS:
    register_benchmark(f"twin-run-{_p}", domain="core", min_ratio=None, max_seconds=2.0,
                       goal="whole twin under 2 s, each domain evaluated once; reference re-derives every input")(
        _twin_run(_p))
