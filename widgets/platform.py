"""Platform tab (white paper 6.1): GPU pooling on a cluster trace.

A policy x mode comparison (what share of the arrived load each scheduler and allocation
mode serves), the allocation-rate curve against the arrived load, and a heat map of the
fragmented GPUs of every node. The numbers come from twin.platform's public functions.
"""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

from twin.errors import TwinError
from twin.platform import MODES, POLICIES, node_fragmentation, pool, scenario_mode, scenario_trace
from twin.scenario import load_scenario

from .common import bokeh_widget, palette_colors

GRID_SEEDS = 2      # seeds of the comparison grid (the notebook and CLI run the paper's 10)
CURVE_COLORS = {"whole": "#a0aec0", "selected": "#2b6cb0"}


class Dashboard:
    """The platform tab. ``Dashboard(scenario).view`` is the widget; ``set_scenario`` follows the era selector."""

    def __init__(self, scenario):
        from bokeh.models import ColumnDataSource, FactorRange
        from bokeh.plotting import figure

        self.scenario = load_scenario(scenario)
        self._busy = False
        self.grid = None
        self.policy = W.Dropdown(options=list(POLICIES), description="Policy")
        self.mode = W.Dropdown(options=list(MODES), description="Mode")
        self.mode.add_class("nicc-platform-mode")
        self.policy.add_class("nicc-platform-policy")
        self.readout = W.HTML(layout=W.Layout(min_width="480px"))
        self.error = W.HTML()

        # allocation rate against arrived load: the selected policy x mode and whole cards
        self.curve_src = ColumnDataSource(dict(x=[], alloc=[], served=[], whole=[]))
        self.fig_curve = figure(title="GPU allocation against arrived load", height=300, width=460,
                                toolbar_location=None, x_axis_label="arrived GPU requests [% of cards]",
                                y_axis_label="% of cards", y_range=(0, 105))
        self.fig_curve.line("x", "alloc", source=self.curve_src, color=CURVE_COLORS["selected"], line_width=2,
                            legend_label="cards handed out")
        self.fig_curve.line("x", "served", source=self.curve_src, color="#38a169", line_width=2, line_dash="dashed",
                            legend_label="requests served")
        self.fig_curve.line("x", "whole", source=self.curve_src, color=CURVE_COLORS["whole"], line_width=2,
                            legend_label="requests served, whole cards")
        self.fig_curve.legend.location = "top_left"

        # policy x mode: share of the load served at 100 % arrived
        self.cmp_src = ColumnDataSource(dict(policy=[], mode=[], value=[], color=[], label=[]))
        self.fig_cmp = figure(title="Requests served at 100% arrived [% of cards]", height=300, width=520,
                              toolbar_location=None, x_range=FactorRange(*MODES), y_range=FactorRange(*POLICIES[::-1]),
                              tooltips=[("policy", "@policy"), ("mode", "@mode"), ("served %", "@value{0.0}")])
        self.fig_cmp.rect("mode", "policy", 0.95, 0.95, source=self.cmp_src, fill_color="color", line_color=None)
        self.fig_cmp.text("mode", "policy", text="label", source=self.cmp_src, text_align="center",
                          text_baseline="middle", text_font_size="9pt", text_color="white")

        # fragmentation per node
        self.frag_src = ColumnDataSource(dict(x=[], y=[], frag=[], idle=[], node=[], color=[]))
        self.fig_frag = figure(title="Fragmented GPUs per node at 100% arrived", height=300, width=460,
                               toolbar_location=None, match_aspect=True,
                               tooltips=[("node", "@node"), ("fragmented GPUs", "@frag{0.00}"), ("idle GPUs", "@idle{0.00}")])
        self.fig_frag.rect("x", "y", 0.92, 0.92, source=self.frag_src, fill_color="color", line_color=None)
        self.fig_frag.axis.visible = False
        self.fig_frag.grid.visible = False

        self.policy.observe(self._on_select, names="value")
        self.mode.observe(self._on_select, names="value")
        figs = W.HBox([bokeh_widget(self.fig_curve), bokeh_widget(self.fig_cmp), bokeh_widget(self.fig_frag)],
                      layout=W.Layout(flex_flow="row wrap"))
        intro = W.HTML("<b>GPU pooling (white paper 6.1)</b>: the scenario's cluster replays the shipped openb-format "
                       "sample under the FGD paper's protocol (pods arrive until requests reach 130% of the cards). "
                       "Whole cards strand what fractional pods leave unused; pooling modes and fragmentation-aware "
                       "schedulers recover it.")
        self.view = W.VBox([intro, W.HBox([self.policy, self.mode]), self.readout, self.error, figs])
        self.set_scenario(self.scenario)

    # ------------------------------------------------------------------------------------------
    def set_scenario(self, scenario):
        """Follow the app's era selector: the scenario's cluster, policy and mode."""
        self.scenario = load_scenario(scenario)
        sc = self.scenario
        try:
            self.trace = scenario_trace(sc)
            mode, gran = scenario_mode(sc)
            self.granularity = gran if gran < 1.0 else 0.01
            self.overcommit = float(sc.platform.overcommit)
            self.grid = pool(self.trace, POLICIES, MODES, range(42, 42 + GRID_SEEDS), 1.3, self.overcommit,
                             self.granularity)
            self.error.value = ""
        except TwinError as exc:
            self.error.value = f"<span style='color:#b00020'>{html.escape(str(exc))}</span>"
            return
        self._busy = True
        try:
            self.policy.value = str(sc.platform.pool_policy)
            self.mode.value = mode
        finally:
            self._busy = False
        self.update()

    def _on_select(self, _change):
        if not self._busy:
            self.update()

    def update(self):
        """Redraw for the selected policy and mode (the grid is computed per scenario)."""
        if self.grid is None:
            return
        p, m = self.policy.value, self.mode.value
        g = self.grid
        alloc = g["allocation_rate"].sel(policy=p, mode=m).mean("seed")
        served = g["served_rate"].sel(policy=p, mode=m).mean("seed")
        whole = g["served_rate"].sel(policy=p, mode="whole").mean("seed")
        self.curve_src.data = dict(x=g["arrived"].values, alloc=alloc.values, served=served.values, whole=whole.values)
        at = g["served_rate"].sel(arrived=100).mean("seed")
        pol, mod, val = [], [], []
        for pp in POLICIES:
            for mm in MODES:
                pol.append(pp)
                mod.append(mm)
                val.append(float(at.sel(policy=pp, mode=mm)))
        lo, hi = min(val), max(val)
        self.cmp_src.data = dict(policy=pol, mode=mod, value=val, color=palette_colors(val, lo, hi),
                                 label=[f"{v:.1f}" for v in val])
        try:
            nf = node_fragmentation(self.trace, p, m, 42, 1.0, self.overcommit, self.granularity)
        except TwinError as exc:
            self.error.value = f"<span style='color:#b00020'>{html.escape(str(exc))}</span>"
            return
        n = nf.sizes["node"]
        cols = int(np.ceil(np.sqrt(n)))
        idx = np.arange(n)
        frag = nf["fragmentation"].values
        self.frag_src.data = dict(x=(idx % cols).astype(float), y=(-(idx // cols)).astype(float), frag=frag,
                                  idle=nf["idle"].values, node=idx, color=palette_colors(frag, 0.0, max(float(frag.max()), 1.0)))
        a100 = float(alloc.sel(arrived=100))
        s100 = float(served.sel(arrived=100))
        w100 = float(whole.sel(arrived=100))
        gpus = int(self.trace.n_gpus)
        self.readout.value = (
            f"<div class='nicc-platform-readout'>{html.escape(p)} / {html.escape(m)} on {gpus} GPUs: "
            f"<b>{a100:.1f}%</b> of cards handed out and <b>{s100:.1f}%</b> of requests served at 100% arrived "
            f"(whole cards serve {w100:.1f}%: {max(s100 - w100, 0) / 100 * gpus:.0f} GPUs of requests stranded); "
            f"{float(frag.sum()):.1f} GPUs fragmented.</div>")
