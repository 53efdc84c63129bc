"""Compute tab (white paper ch. 4): roofline with operator dots, serving latency and throughput
against batch, GPU against compute-in-memory energy. Views only: numbers come from twin.compute."""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

from twin import catalog
from twin.compute import (BATCH_GRID, cim_vs_gpu, inference, operator_points, precisions, roofline,
                          training_parameters)
from twin.core import Twin
from twin.errors import TwinError

from .common import bokeh_widget

SERVING_MODELS = ("llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b", "llama3-405b")
WEIGHT_FORMATS = ("bf16", "fp16", "fp8", "int8", "int4")
PHASE_COLORS = {"prefill": "#c05621", "decode": "#2b6cb0"}


class Dashboard:
    """Compute dashboard: ``Dashboard(scenario).view`` is the widget."""

    def __init__(self, scenario):
        from bokeh.models import ColumnDataSource, HoverTool, LinearAxis, Range1d
        from bokeh.plotting import figure

        self.scenario = scenario
        self._states = {}
        style = {"description_width": "initial"}
        c = scenario.compute
        self.accelerator = W.Dropdown(options=catalog.names("accelerators"), value=c.accelerator, description="Accelerator",
                                      style=style, layout=W.Layout(width="290px"))
        self.precision = W.Dropdown(options=precisions(c.accelerator), value=self._prec(c.accelerator, c.precision),
                                    description="Roofline precision", style=style, layout=W.Layout(width="230px"))
        self.model = W.Dropdown(options=list(SERVING_MODELS), value=c.serving_model if c.serving_model in SERVING_MODELS
                                else "llama2-70b", description="Served model", style=style, layout=W.Layout(width="250px"))
        self.weights = W.Dropdown(options=list(WEIGHT_FORMATS), value=c.weight_precision if c.weight_precision in WEIGHT_FORMATS
                                  else "bf16", description="Weights", style=style, layout=W.Layout(width="170px"))
        self.tp = W.Dropdown(options=[1, 2, 4, 8], value=int(c.serving_tp) if int(c.serving_tp) in (1, 2, 4, 8) else 8,
                             description="TP", style=style, layout=W.Layout(width="120px"))
        self.batch = W.IntSlider(value=int(min(max(c.serving_batch, 1), 512)), min=1, max=512, description="Batch",
                                 continuous_update=False, style=style, layout=W.Layout(width="330px"))
        self.prompt = W.IntSlider(value=int(min(max(c.prompt_tokens, 16), 8192)), min=16, max=8192, step=16,
                                  description="Prompt tokens", continuous_update=False, style=style,
                                  layout=W.Layout(width="330px"))
        self.readout = W.HTML(layout=W.Layout(min_height="4em"))
        self.readout.add_class("nicc-compute-readout")
        self.cim_html = W.HTML()

        # roofline with operator dots
        rf = figure(x_axis_type="log", y_axis_type="log", height=340, width=560, title="Roofline and operators (one card)",
                    x_axis_label="arithmetic intensity [FLOP/B]", y_axis_label="attained [TFLOP/s]",
                    toolbar_location="above", tools="pan,wheel_zoom,box_zoom,reset,save")
        self.roof_src = ColumnDataSource({"x": [], "y": []})
        self.peak_src = ColumnDataSource({"x": [], "y": []})
        rf.line("x", "y", source=self.peak_src, color="#999999", line_dash="dashed", legend_label="datasheet roof")
        rf.line("x", "y", source=self.roof_src, color="#222222", line_width=2, legend_label="attained roof")
        self.dot_src = {}
        for ph, col in PHASE_COLORS.items():
            self.dot_src[ph] = ColumnDataSource({"x": [], "y": [], "op": []})
            rf.scatter("x", "y", source=self.dot_src[ph], size=9, color=col, legend_label=ph)
        rf.add_tools(HoverTool(tooltips=[("op", "@op"), ("I", "@x{0.0} FLOP/B"), ("rate", "@y{0.0} TFLOP/s")]))
        rf.legend.location = "top_left"
        rf.legend.label_text_font_size = "8pt"
        self.fig_roof = rf

        # serving vs batch
        sv = figure(x_axis_type="log", height=340, width=560, title="Serving: time per output token and throughput vs batch",
                    x_axis_label="batch (concurrent sequences)", y_axis_label="TPOT [ms]", toolbar_location="above",
                    tools="pan,wheel_zoom,box_zoom,reset,save")
        self.tpot_src = ColumnDataSource({"batch": [], "tpot": [], "thr": [], "fits": []})
        sv.line("batch", "tpot", source=self.tpot_src, color="#2b6cb0", line_width=2, legend_label="TPOT [ms]")
        sv.extra_y_ranges = {"thr": Range1d(0, 1)}
        sv.add_layout(LinearAxis(y_range_name="thr", axis_label="tokens/s per card"), "right")
        sv.line("batch", "thr", source=self.tpot_src, color="#c05621", line_width=2, y_range_name="thr",
                legend_label="tokens/s per card")
        sv.add_tools(HoverTool(tooltips=[("batch", "@batch"), ("TPOT", "@tpot{0.00} ms"), ("tok/s/card", "@thr{0}"),
                                         ("fits", "@fits")]))
        sv.legend.location = "top_left"
        sv.legend.label_text_font_size = "8pt"
        self.fig_serve = sv

        # GPU vs CIM energy per inference
        self.cim_chips = catalog.names("cim")
        ce = figure(x_range=["GPU"] + self.cim_chips, y_axis_type="log", height=300, width=560,
                    title="Energy of one prefill pass: GPU vs compute-in-memory", y_axis_label="J (log)",
                    toolbar_location=None)
        self.cim_src = ColumnDataSource({"x": [], "energy": [], "color": []})
        ce.vbar(x="x", top="energy", bottom=1e-3, width=0.7, color="color", source=self.cim_src)
        ce.xaxis.major_label_orientation = 0.5
        self.fig_cim = ce

        for w in (self.accelerator, self.precision, self.model, self.weights, self.tp, self.batch, self.prompt):
            w.observe(self._on_change, names="value")
        self._update()
        self.view = W.VBox([
            W.HTML("<b>New compute efficiency</b> (white paper ch. 4): per-architecture operator model, serving with "
                   "quantisation and tensor parallelism over the node's interconnect, compute-in-memory."),
            W.HBox([self.accelerator, self.precision, self.model, self.weights, self.tp]),
            W.HBox([self.batch, self.prompt]),
            self.readout,
            W.HBox([bokeh_widget(self.fig_roof), bokeh_widget(self.fig_serve)]),
            W.HBox([bokeh_widget(self.fig_cim), self.cim_html]),
        ])
        self.view.add_class("nicc-compute")

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _prec(acc, want):
        have = precisions(acc)
        return want if want in have else ("bf16" if "bf16" in have else have[0])

    def _scenario(self):
        return self.scenario.with_overrides({"compute": {"accelerator": self.accelerator.value}})

    def _state(self, sc):
        """The interconnect results the serving model reads (one throw-away Twin per accelerator)."""
        key = (sc.compute.accelerator, sc.compute.topology, sc.compute.domain_size, sc.compute.cards_per_node)
        if key not in self._states:
            t = Twin(sc)
            t.run(["interconnect"])
            self._states[key] = t.state
        return self._states[key]

    # -- updates ---------------------------------------------------------------------------
    def _update(self):
        acc = self.accelerator.value
        prec = self.precision.value
        try:
            rl = roofline(acc, prec)
            xs = np.logspace(-1, 4, 60)
            self.peak_src.data = {"x": list(xs), "y": list(np.minimum(rl["peak"], xs * rl["bandwidth"]) / 1e12)}
            self.roof_src.data = {"x": list(xs), "y": list(np.minimum(rl["peak_attained"], xs * rl["bandwidth_attained"]) / 1e12)}
            pts = operator_points(acc, self.model.value, batch=self.batch.value, prompt=self.prompt.value,
                                  tp=self.tp.value, quant=self.weights.value)
            for ph in PHASE_COLORS:
                p = pts.sel(phase=ph)
                self.dot_src[ph].data = {"x": list(p["arithmetic_intensity"].values), "y": list(p["attained_rate"].values),
                                         "op": list(p["operator"].values)}
        except (TwinError, ValueError) as exc:
            self.readout.value = f"<div class='nicc-error' style='color:#b00020'>{html.escape(str(exc))}</div>"
            return
        try:
            sc = self._scenario()
            ds = inference(sc, state=self._state(sc), serving_model=self.model.value, serving_tp=self.tp.value,
                           serving_batch=self.batch.value, prompt_tokens=self.prompt.value,
                           weight_precision=self.weights.value)
        except (TwinError, ValueError) as exc:
            self.tpot_src.data = {"batch": [], "tpot": [], "thr": [], "fits": []}
            self.readout.value = f"<div class='nicc-error' style='color:#b00020'>{html.escape(str(exc))}</div>"
            return
        thr = ds["throughput_vs_batch"].values
        self.fig_serve.extra_y_ranges["thr"].end = float(np.max(thr)) * 1.1
        self.tpot_src.data = {"batch": list(ds["batch"].values), "tpot": list(ds["tpot_vs_batch"].values),
                              "thr": list(thr), "fits": ["yes" if f else "no" for f in ds["batch_fits"].values]}
        tpar = training_parameters(acc, prec)
        label = " <i>(fallback: A100 measurements, no published data for this chip)</i>" if tpar["fallback"] else ""
        fits = float(ds["serving_fits"]) > 0
        why = "" if fits else f"<br><span style='color:#b00020'>{html.escape(ds.attrs.get('serving_reason', ''))}</span>"
        self.readout.value = (
            f"<b>{html.escape(acc)}</b> {prec}: peak {rl['peak'] / 1e12:,.0f} TFLOP/s, ridge {rl['ridge']:,.0f} FLOP/B, "
            f"GEMM ceiling {tpar['gemm_efficiency']:.0%}{label}<br>"
            f"{html.escape(self.model.value)} on TP {self.tp.value}, batch {self.batch.value}: "
            f"TTFT <b>{float(ds['ttft']):,.1f} ms</b>, TPOT <b>{float(ds['tpot']):,.2f} ms</b>, "
            f"<b>{float(ds['throughput_per_card']):,.0f}</b> tokens/s per card "
            f"({float(ds['throughput_per_kw']):,.0f} per kW), KV cache {float(ds['kv_cache_per_sequence']):.2f} GB per "
            f"sequence, largest batch {int(ds['max_batch'])}" + why)
        self._update_cim()

    def _update_cim(self):
        acc = self.accelerator.value
        xs, es, cols, rows = [], [], [], []
        for chip in self.cim_chips:
            try:
                r = cim_vs_gpu(acc, chip, self.model.value, self.prompt.value)
            except (TwinError, ValueError):
                continue
            if not xs:
                xs.append("GPU")
                es.append(r["gpu_energy"])
                cols.append("#2b6cb0")
            xs.append(chip)
            es.append(r["cim_energy"])
            cols.append("#2f855a")
            rows.append(f"{html.escape(chip)}: {r['energy_ratio']:.1f}x less energy, {r['chips']:,} chips to hold the "
                        f"weights, {r['cim_time'] / r['gpu_time']:.1f}x the GPU's time")
        self.cim_src.data = {"x": xs, "energy": es, "color": cols}
        self.cim_html.value = ("<b>Where CIM pays off</b><br>" + "<br>".join(rows) +
                               "<br><small>GPU at its TDP; CIM matmuls at the chip's published TOPS/W, the rest on "
                               "digital logic, weights beyond the arrays streamed from DRAM.</small>")

    # -- events ----------------------------------------------------------------------------
    def _on_change(self, change):
        if change["owner"] is self.accelerator:
            self.precision.unobserve(self._on_change, names="value")
            old = self.precision.value
            try:
                self.precision.options = precisions(self.accelerator.value)
                self.precision.value = self._prec(self.accelerator.value, old)
            finally:
                self.precision.observe(self._on_change, names="value")
        self._update()

    def set_scenario(self, scenario):
        """Follow the app's era selector: the scenario's accelerator and serving fields."""
        self.scenario = scenario
        c = scenario.compute
        ws = (self.accelerator, self.precision, self.model, self.weights, self.tp, self.batch, self.prompt)
        for w in ws:
            w.unobserve(self._on_change, names="value")
        try:
            self.accelerator.value = c.accelerator
            self.precision.options = precisions(c.accelerator)
            self.precision.value = self._prec(c.accelerator, c.precision)
            if c.serving_model in SERVING_MODELS:
                self.model.value = c.serving_model
            if c.weight_precision in WEIGHT_FORMATS:
                self.weights.value = c.weight_precision
            if int(c.serving_tp) in (1, 2, 4, 8):
                self.tp.value = int(c.serving_tp)
            self.batch.value = int(min(max(c.serving_batch, 1), 512))
            self.prompt.value = int(min(max(c.prompt_tokens, 16), 8192))
        finally:
            for w in ws:
                w.observe(self._on_change, names="value")
        self._update()
