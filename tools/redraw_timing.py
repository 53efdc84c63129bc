"""Control -> redraw time of every dashboard, warm, measured in the kernel (no browser).

For each tab of the app: build the dashboard on the default scenario, find its first few
controls (dropdowns, sliders, toggles), flip each between two values a number of times and
report the median and 95th percentile of the time the change handlers take (the Python side
of a redraw: model call plus Bokeh source update). Run: ``python tools/redraw_timing.py``.
"""
from __future__ import annotations

import importlib
import statistics
import sys
import time

import ipywidgets as W

from widgets.app import DOMAIN_TABS


def controls(widget, out=None):
    out = [] if out is None else out
    if isinstance(widget, (W.Dropdown, W.ToggleButtons, W.RadioButtons)) and len(widget.options) > 1:
        out.append(widget)
    elif isinstance(widget, (W.IntSlider, W.FloatSlider, W.FloatLogSlider)):
        out.append(widget)
    elif isinstance(widget, (W.Checkbox, W.ToggleButton)):
        out.append(widget)
    for child in getattr(widget, "children", ()):
        controls(child, out)
    return out


def flip_values(c):
    if isinstance(c, (W.Checkbox, W.ToggleButton)):
        return [not c.value, c.value]
    if isinstance(c, (W.Dropdown, W.ToggleButtons, W.RadioButtons)):
        vals = [o[1] if isinstance(o, tuple) else o for o in c.options]
        other = next(v for v in vals if v != c.value)
        return [other, c.value]
    lo, hi, v = c.min, c.max, c.value
    other = v + (hi - lo) * 0.1 if v + (hi - lo) * 0.1 <= hi else v - (hi - lo) * 0.1
    return [type(v)(other), v]


def main(scenario="cluster-2023", repeats=5, per_tab=3):
    from twin.scenario import load_scenario

    scenario = load_scenario(scenario)
    rows = []
    for title, module in DOMAIN_TABS:
        mod = importlib.import_module(module)
        dash = mod.Dashboard(scenario) if title != "Eras" else mod.Dashboard(scenario, open_tab=lambda *a: None)
        times = []
        for c in controls(dash.view)[:per_tab]:
            vals = flip_values(c)
            c.value = vals[0]  # warm-up (first call compiles or caches)
            c.value = vals[1]
            for _ in range(repeats):
                for v in vals:
                    t0 = time.perf_counter()
                    c.value = v
                    times.append(time.perf_counter() - t0)
        if times:
            times.sort()
            p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
            rows.append((title, len(times), statistics.median(times) * 1e3, p95 * 1e3))
        else:
            rows.append((title, 0, float("nan"), float("nan")))
    print(f"{'tab':14s} {'changes':>7s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for r in rows:
        print(f"{r[0]:14s} {r[1]:7d} {r[2]:8.1f} {r[3]:8.1f}")
    return rows


if __name__ == "__main__":
    main(*sys.argv[1:2])
