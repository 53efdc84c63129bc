"""The Cross-domain tab (white paper 6.2, 6.4, 1.2): training across sites over WAN links, the
bandwidth a target utilisation needs, cross-region placement, and compute-native pools.

All numbers come from twin.platform.crossdomain (``crossdomain``, ``bandwidth_sweep``) and
twin.platform.native (``native_pools``); this module only lays them out.
"""
from __future__ import annotations

import html
import math

import ipywidgets as W
import numpy as np

from twin.errors import TwinError
from twin.platform import crossdomain as xd
from twin.platform.native import native_pools
from twin.scenario import load_scenario

from .common import bokeh_widget, error_box

COLORS = {"sync-dp": "#e53e3e", "hierarchical": "#d69e2e", "pipeline": "#2b6cb0", "diloco": "#38a169"}
N_SWEEP = 60


def _fmt(x, unit="", digits=3):
    if x is None or not math.isfinite(x):
        return "unreachable" if unit else "inf"
    return f"{x:.{digits}g} {unit}".strip()


class Dashboard:
    """The cross-domain tab. ``Dashboard(scenario).view`` is the widget; ``set_scenario`` follows the era selector."""

    def __init__(self, scenario):
        from bokeh.models import ColumnDataSource, Range1d, Span
        from bokeh.plotting import figure

        self.scenario = load_scenario(scenario)
        self._busy = False
        techs = xd.wan_technologies()
        self.tech = W.Dropdown(options=techs, value=techs[0], description="WAN link")
        self.bandwidth = W.FloatLogSlider(value=100, base=10, min=0, max=2.6, step=0.05, description="WAN Gbit/s",
                                          continuous_update=False, readout_format=".3g")
        self.strategy = W.Dropdown(options=list(xd.STRATEGIES), description="Strategy")
        self.compression = W.Dropdown(options=list(xd.COMPRESSIONS), description="Compression")
        self.local_steps = W.IntSlider(value=100, min=1, max=1000, description="DiLoCo H", continuous_update=False)
        self.readout = W.HTML(layout=W.Layout(min_width="460px"))
        self.native_readout = W.HTML(layout=W.Layout(min_width="460px"))
        self.error = W.HTML()

        self.sweep_src = {s: ColumnDataSource(dict(bw=[], util=[])) for s in xd.STRATEGIES}
        self.fig_util = figure(title="Compute utilisation against WAN bandwidth", height=300, width=560,
                               x_axis_type="log", x_axis_label="WAN bandwidth per link [Gbit/s]",
                               y_axis_label="utilisation", toolbar_location=None, y_range=Range1d(0, 1.02))
        for s, src in self.sweep_src.items():
            self.fig_util.line("bw", "util", source=src, color=COLORS[s], line_width=2, legend_label=s)
        self.fig_util.legend.location = "top_left"
        self.fig_util.legend.background_fill_alpha = 0.6
        self.span = Span(location=100, dimension="height", line_color="#4a5568", line_dash="dashed")
        self.fig_util.add_layout(self.span)

        self.site_src = ColumnDataSource(dict(site=[], util=[], color=[]))
        self.fig_site = figure(title="Utilisation per site (selected strategy)", height=300, width=380,
                               x_range=[], y_range=Range1d(0, 1.05), toolbar_location=None)
        self.fig_site.vbar(x="site", top="util", width=0.7, color="color", source=self.site_src)

        self.pool_src = ColumnDataSource(dict(x=[], util=[], color=[]))
        self.fig_pool = figure(title="Compute-native pool: load per family, siloed vs unified", height=300, width=560,
                               x_range=[], y_range=Range1d(0, 1.5), toolbar_location=None)
        self.fig_pool.vbar(x="x", top="util", width=0.8, color="color", source=self.pool_src)
        self.fig_pool.xaxis.major_label_orientation = 0.6

        controls = W.VBox([self.tech, self.bandwidth, self.strategy, self.compression, self.local_steps])
        self.view = W.VBox([
            W.HTML("<b>Cross-domain training</b> (white paper 6.4): a job across sites joined by WAN links, "
                   "and <b>compute-native pools</b> (6.2). Convergence cost of H and compression is not modelled; "
                   "the published evidence is quoted."),
            W.HBox([controls, self.readout]), self.error,
            W.HBox([bokeh_widget(self.fig_util), bokeh_widget(self.fig_site)]),
            W.HBox([bokeh_widget(self.fig_pool), self.native_readout]),
        ])
        self.view.add_class("nicc-crossdomain")
        self.readout.add_class("nicc-xd-readout")
        self.native_readout.add_class("nicc-xd-native")
        xd.step_times(1.0, 0.0, 1e9, 1e9, 2, 2, 1e9, 0.0)  # warm the numba kernel
        self.set_scenario(self.scenario)
        for w in (self.bandwidth, self.strategy, self.compression, self.local_steps):
            w.observe(self._on_control, names="value")
        self.tech.observe(self._on_tech, names="value")

    # --- scenario --------------------------------------------------------------------------
    def set_scenario(self, scenario):
        self.scenario = load_scenario(scenario)
        p = self.scenario.platform
        self._busy = True
        try:
            self.error.value = ""
            self.state = xd.training_state(self.scenario)
            self.tech.value = p.wan_technology
            self._set_bandwidth_range(p.wan_technology)
            self.bandwidth.value = min(p.wan_bandwidth.to("Gbit/s").magnitude, self._cap)
            self.strategy.value = p.crossdomain_strategy
            self.compression.value = p.compression
            self.local_steps.value = int(min(p.local_steps, self.local_steps.max))
        except TwinError as exc:
            self.error.value = error_box(exc).value
            return
        finally:
            self._busy = False
        self._draw_native()
        self._draw(sweep=True)

    def _set_bandwidth_range(self, tech):
        e = xd.wan_technology(tech)
        self._cap = (e["wavelength_rate"] * e["max_wavelengths"]).to("Gbit/s").magnitude
        self.bandwidth.max = math.log10(self._cap)

    def _scenario_now(self):
        return self.scenario.with_overrides({"platform": {
            "wan_technology": self.tech.value, "wan_bandwidth": f"{self.bandwidth.value:.6g} Gbit/s",
            "crossdomain_strategy": self.strategy.value, "compression": self.compression.value,
            "local_steps": int(self.local_steps.value)}})

    # --- events ----------------------------------------------------------------------------
    def _on_tech(self, change):
        if self._busy:
            return
        self._busy = True
        try:
            self._set_bandwidth_range(change["new"])
            self.bandwidth.value = min(self.bandwidth.value, self._cap)
        finally:
            self._busy = False
        self._draw(sweep=True)

    def _on_control(self, change):
        if self._busy:
            return
        self._draw(sweep=change["owner"] is not self.bandwidth)

    # --- drawing ---------------------------------------------------------------------------
    def _draw(self, sweep: bool):
        try:
            sc = self._scenario_now()
            ds = xd.crossdomain(sc, self.state)
            if sweep:
                bws = np.geomspace(1.0, self._cap, N_SWEEP)
                sw = xd.bandwidth_sweep(sc, self.state, bws)
                util = sw["utilisation"].sel(compression=self.compression.value)
                for s, src in self.sweep_src.items():
                    src.data = dict(bw=list(bws), util=[float(u) for u in util.sel(strategy=s).values])
        except TwinError as exc:
            self.error.value = error_box(exc).value
            return
        self.error.value = ""
        self.span.location = float(self.bandwidth.value)
        sites = [str(s) for s in ds["site"].values]
        su = [float(u) for u in ds["site_utilisation"].values]
        slow = int(np.argmax(su)) if su else 0
        self.fig_site.x_range.factors = sites
        self.site_src.data = dict(site=sites, util=su,
                                  color=["#c05621" if i == slow and len(sites) > 1 else "#2b6cb0" for i in range(len(sites))])
        sel = dict(strategy=self.strategy.value, compression=self.compression.value)
        req = float(ds["required_bandwidth"].sel(**sel))
        tech = xd.wan_technology(self.tech.value)
        eff = float(sc.platform.wan_sharing) * float(tech["efficiency"])
        pl = ds.attrs.get("placement_site", "")
        saving = float(ds["placement_saving"]) if "placement_saving" in ds else 0.0
        rows = [
            ("Step time", f"{_fmt(float(ds['selected_step_time']), 's')} (one site: {_fmt(float(ds['single_site_step_time']), 's')})"),
            ("Utilisation", f"{float(ds['selected_utilisation']):.1%}"),
            ("WAN share of the step", f"{float(ds['selected_communication_share']):.1%}"),
            ("Straggler loss", f"{float(ds['straggler_loss']):.1%} (slowest: {sites[slow]})"),
            ("WAN latency", ", ".join(f"{l}: {v:.2f} ms" for l, v in zip(ds['link'].values, ds['link_latency'].values)) or "none"),
            (f"Provisioned for {sc.platform.target_efficiency:.0%}",
             _fmt(req / eff, "Gbit/s") if math.isfinite(req) else "unreachable (latency or compute bound)"),
            ("Placement", f"{pl} by {ds.attrs.get('placement_objective_used', '')}, saves {saving:.3g} "
                          f"{ds['placement_saving'].attrs.get('units', '')} against {ds.attrs.get('placement_baseline', '')}"),
            ("Placement by queue", f"{ds.attrs['queue_placement_site']}: time to result {float(ds['time_to_result'].min()):.3g} h, saves "
                                   f"{float(ds['queue_saving_vs_data_site']):.3g} h against the data's site, {float(ds['queue_saving_vs_cheapest']):.3g} h against the cheapest"),
            ("Convergence evidence", ds.attrs.get("convergence_diloco", "") if self.strategy.value == "diloco"
             else ds.attrs.get("convergence_compression", "")),
        ]
        self.readout.value = "<table>" + "".join(
            f"<tr><th style='text-align:left;padding-right:1em;vertical-align:top'>{html.escape(k)}</th>"
            f"<td>{html.escape(v)}</td></tr>" for k, v in rows) + "</table>"

    def _draw_native(self):
        try:
            nat = native_pools(self.scenario, self.state)
        except TwinError as exc:
            self.native_readout.value = error_box(exc).value
            return
        fams = [str(f) for f in nat["family"].values]
        xs, us, cs = [], [], []
        for i, f in enumerate(fams):
            xs += [f"{f} siloed", f"{f} unified"]
            us += [min(float(nat["utilisation_siloed"].values[i]), 1.5), float(nat["utilisation_native"].values[i])]
            cs += ["#c05621", "#2b6cb0"]
        self.fig_pool.x_range.factors = xs
        self.pool_src.data = dict(x=xs, util=us, color=cs)
        ws = float(nat["wait_siloed_mean"])
        rows = [("Mean queueing delay, siloed", _fmt(ws, "h")), ("Mean queueing delay, compute-native", _fmt(float(nat["wait_native"]), "h")),
                ("Jobs per day, siloed / unified", f"{float(nat['jobs_per_day_siloed']):.4g} / {float(nat['jobs_per_day_native']):.4g}"),
                ("Cards a siloed cluster adds (same mix)", f"{float(nat['extra_cards_siloed']):.0f}"),
                ("Jobs run translated", f"{float(nat['foreign_share']):.0%} (porting overhead {nat.attrs['porting_overhead']:.0%})"),
                ("Family rates", nat.attrs["rate_source"])]
        self.native_readout.value = "<table>" + "".join(
            f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows) + "</table>"
