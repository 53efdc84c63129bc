"""Training tab: model and cluster pickers, parallelism sliders, step-time breakdown, memory per
card against HBM, MFU, plan search (table + Pareto front) (checkpoints and goodput: the Storage tab),
and the same job on the three era presets (white paper 3.1.1, 6.3)."""
from __future__ import annotations

import html
import time

import ipywidgets as W

from twin.errors import TwinError
from twin.scenario import list_presets, load_scenario
from twin.training import COMPONENTS, MEMORY_PARTS, estimate, get_model, model_names, search

from .common import bokeh_widget, quiet

ERAS = ("heterogeneous-2021", "cluster-2023", "superpool-2025")
COLORS = ("#2b6cb0", "#dd6b20", "#38a169", "#e53e3e", "#805ad5", "#d69e2e", "#718096", "#319795", "#b83280")
LABELS = {"compute": "compute", "tp_comm": "TP all-reduce", "pp_comm": "PP send/recv", "bubble": "pipeline bubble",
          "dp_comm": "DP all-reduce (exposed)", "ep_comm": "EP all-to-all", "optimizer": "optimizer",
          "cp_comm": "CP ring attention (exposed)", "offload": "offload transfers + host optimizer"}


def _pow2(limit):
    out, x = [], 1
    while x <= limit:
        out.append(x)
        x *= 2
    return out


def _divisors(n, limit):
    return [d for d in range(1, min(n, limit) + 1) if n % d == 0] or [1]


class Dashboard:
    """The training tab. ``Dashboard(scenario).view`` is the widget; ``set_scenario`` follows the era selector."""

    def __init__(self, scenario):
        from bokeh.models import ColumnDataSource, HoverTool, Span
        from bokeh.plotting import figure

        self.scenario = load_scenario(scenario)
        sc = self.scenario
        self._busy = False
        presets = list_presets()
        self.model = W.Dropdown(options=model_names(), value=self._default_model(sc), description="Model")
        self.cluster = W.Dropdown(options=presets if sc.name in presets else presets + [sc.name], value=sc.name,
                                  description="Cluster")
        self._custom = {} if sc.name in presets else {sc.name: sc}
        self.tp = W.SelectionSlider(options=[1], value=1, description="TP", continuous_update=False)
        self.pp = W.SelectionSlider(options=[1], value=1, description="PP", continuous_update=False)
        self.mb = W.SelectionSlider(options=_pow2(64), value=1, description="micro-batch", continuous_update=False)
        self.vs = W.SelectionSlider(options=[1, 2, 4], value=1, description="virtual stages", continuous_update=False)
        self.ep = W.SelectionSlider(options=[1], value=1, description="EP", continuous_update=False)
        self.recompute = W.ToggleButtons(options=["none", "selective", "full"], value="selective", description="recompute",
                                         style={"button_width": "80px"})
        self.zero = W.Dropdown(options=[0, 1, 2, 3], value=1, description="ZeRO", layout=W.Layout(width="160px"))
        self.uneven = W.Checkbox(value=False, description="uneven PP stages", indent=False,
                                 layout=W.Layout(width="160px"))
        self.readout = W.HTML(layout=W.Layout(min_width="420px"))
        self.search_button = W.Button(description="Search plans", button_style="primary")
        self.search_out = W.HTML()

        # step-time breakdown: one stacked horizontal bar
        self.src_break = ColumnDataSource({"row": ["step"], **{c: [0.0] for c in COMPONENTS}})
        f1 = figure(y_range=["step"], height=170, width=620, title="Step-time breakdown [s]", toolbar_location=None,
                    x_axis_label="s")
        f1.hbar_stack(list(COMPONENTS), y="row", height=0.6, color=list(COLORS), source=self.src_break,
                      legend_label=[LABELS[c] for c in COMPONENTS])
        f1.legend.orientation = "horizontal"
        f1.legend.ncols = 4
        f1.legend.label_text_font_size = "7pt"
        f1.legend.location = "top_left"
        f1.add_layout(f1.legend[0], "below")
        self.fig_break = f1

        # memory per card against HBM
        self.src_mem = ColumnDataSource({"row": ["card"], **{p: [0.0] for p in MEMORY_PARTS}})
        from bokeh.models import Range1d

        f2 = figure(y_range=["card"], height=170, width=620, title="Memory per card [GB] (dashed line: HBM)",
                    toolbar_location=None, x_axis_label="GB", x_range=Range1d(0, 100))
        f2.hbar_stack(list(MEMORY_PARTS), y="row", height=0.6, color=list(COLORS[:5]), source=self.src_mem,
                      legend_label=list(MEMORY_PARTS))
        self.hbm_line = Span(location=80, dimension="height", line_color="black", line_dash="dashed", line_width=2)
        f2.add_layout(self.hbm_line)
        f2.legend.orientation = "horizontal"
        f2.legend.label_text_font_size = "7pt"
        f2.add_layout(f2.legend[0], "below")
        self.fig_mem = f2

        # Pareto front of the search
        self.src_all = ColumnDataSource({"cards": [], "step": []})
        self.src_front = ColumnDataSource({"cards": [], "step": [], "label": []})
        f3 = figure(height=260, width=420, title="Plan search: step time vs cards", x_axis_type="log",
                    y_axis_type="log", x_axis_label="cards", y_axis_label="step time [s]", toolbar_location=None)
        f3.scatter("cards", "step", source=self.src_all, size=3, alpha=0.25, color="#a0aec0")
        f3.line("cards", "step", source=self.src_front, color="#e53e3e", line_width=2)
        r = f3.scatter("cards", "step", source=self.src_front, size=7, color="#e53e3e")
        f3.add_tools(HoverTool(renderers=[r], tooltips=[("plan", "@label"), ("step", "@step{0.00} s")]))
        self.fig_pareto = f3

        # era comparison
        self.src_era = ColumnDataSource({"era": list(ERAS), "mfu": [0.0] * 3, "label": [""] * 3})
        f5 = figure(x_range=list(ERAS), height=260, width=420, title="Same job, best plan per era: MFU",
                    y_axis_label="MFU", toolbar_location=None, y_range=Range1d(0, 1))
        f5.vbar(x="era", top="mfu", width=0.6, source=self.src_era, color="#38a169")
        from bokeh.models import LabelSet

        f5.add_layout(LabelSet(x="era", y="mfu", text="label", source=self.src_era, text_font_size="8pt",
                               text_align="center", y_offset=3))
        self.fig_era = f5
        self.era_note = W.HTML()

        self._sync_controls(sc.workload if self.model.value == sc.workload.model else None)
        for wdg in (self.tp, self.pp, self.mb, self.vs, self.recompute, self.zero, self.ep):
            wdg.observe(self._on_plan, names="value")
        self.uneven.observe(self._on_uneven, names="value")
        self.model.observe(self._on_model_or_cluster, names="value")
        self.cluster.observe(self._on_model_or_cluster, names="value")
        self.search_button.on_click(lambda _b: self._run_search())
        self._redraw(full=True)
        self._started = True
        # wrap the figures only now: BokehModel serialises the document when it is built, so the
        # first data must be in the sources already (later changes are sent as patches)
        controls = W.VBox([W.HBox([self.model, self.cluster]), W.HBox([self.tp, self.pp]), W.HBox([self.mb, self.vs]),
                           W.HBox([self.recompute, self.zero]), W.HBox([self.ep, self.uneven])])
        self.view = W.VBox([
            W.HTML("<b>Large-model training</b> (white paper 3.1.1, 6.3): parallel plan, step time, memory, "
                   "MFU, plan search and the three eras (checkpoints and goodput: Storage tab)."),
            W.HBox([controls, self.readout]),
            W.HBox([bokeh_widget(self.fig_break), bokeh_widget(self.fig_mem)]),
            W.HBox([self.search_button]),
            W.HBox([bokeh_widget(self.fig_pareto), bokeh_widget(self.fig_era)]),
            self.era_note,
            self.search_out,
        ], layout=W.Layout(padding="4px"))
        self.view.add_class("nicc-training")


    # ---- helpers --------------------------------------------------------------------------
    @staticmethod
    def _default_model(sc):
        try:
            return get_model(sc.workload.model).name
        except TwinError:
            return "gpt3-175b"

    def _sc(self):
        name = self.cluster.value
        return self._custom.get(name) or load_scenario(name)

    def _batch(self, sc):
        m = get_model(self.model.value)
        if m.name == sc.workload.model:
            return sc.workload.global_batch
        return 8192 if m.kind == "cnn" else 1536

    def _sync_controls(self, w=None):
        """Slider ranges for the model and cluster; values from the workload ``w`` when given."""
        sc = self._sc()
        m = get_model(self.model.value)
        with quiet(self):
            cnn = m.kind == "cnn"
            tps = [1] if cnn else [t for t in _pow2(sc.compute.domain_size) if m.heads % t == 0] or [1]
            pps = [1] if cnn else [p for p in _divisors(m.layers, sc.cards) if sc.cards % p == 0]
            if self.uneven.value and not cnn:  # uneven stages: any power of two up to the layer count too
                pps = sorted(set(pps) | {p for p in _pow2(min(m.layers, sc.cards)) if sc.cards % p == 0})
            tp = w.tp if (w is not None and w.tp in tps) else (8 if 8 in tps else tps[-1])
            pps = [p for p in pps if sc.cards % (tp * p) == 0] or [1]
            pp = w.pp if (w is not None and w.pp in pps) else (1 if cnn else min(pps, key=lambda p: abs(p - 8)))
            self.tp.options, self.tp.value = tps, tp
            self.pp.options, self.pp.value = pps, pp
            mbs = _pow2(512 if cnn else 64)
            self.mb.options = mbs
            self.mb.value = w.micro_batch if (w is not None and w.micro_batch in mbs) else (256 if cnn else 1)
            self.vs.value = w.virtual_stages if (w is not None and w.virtual_stages in (1, 2, 4)) else 1
            dp = max(1, sc.cards // (tp * pp))
            eps = [e for e in _divisors(m.experts, m.experts) if dp % e == 0] if m.experts > 1 else [1]
            self.ep.options = eps
            self.ep.value = w.ep if (w is not None and w.ep in eps) else eps[-1]
            self.ep.disabled = len(eps) == 1
            if w is not None:
                self.recompute.value = w.recompute
                self.zero.value = w.zero_stage
            for wdg in (self.tp, self.pp, self.vs, self.recompute):
                wdg.disabled = cnn

    def _plan(self):
        return dict(tp=self.tp.value, pp=self.pp.value, dp=0, ep=self.ep.value, micro_batch=self.mb.value,
                    virtual_stages=self.vs.value,
                    recompute=self.recompute.value, zero_stage=self.zero.value, uneven_pipeline=self.uneven.value)

    # ---- events ---------------------------------------------------------------------------
    def _on_plan(self, _change):
        if not self._busy:
            self._redraw()

    def _on_uneven(self, _change):
        """Widen (or narrow) the PP choices to the uneven split's, keeping the other controls."""
        if self._busy:
            return
        sc, m = self._sc(), get_model(self.model.value)
        if m.kind != "cnn":
            tp = self.tp.value
            pps = [p for p in _divisors(m.layers, sc.cards) if sc.cards % (tp * p) == 0]
            if self.uneven.value:
                pps = sorted(set(pps) | {p for p in _pow2(min(m.layers, sc.cards)) if sc.cards % (tp * p) == 0})
            pps = pps or [1]
            with quiet(self):
                pp = self.pp.value if self.pp.value in pps else min(pps, key=lambda p: abs(p - self.pp.value))
                self.pp.options, self.pp.value = pps, pp
        self._redraw(full=True)

    def _on_model_or_cluster(self, _change):
        if self._busy:
            return
        sc = self._sc()
        self._sync_controls(sc.workload if self.model.value == sc.workload.model else None)
        self._redraw(full=True)

    def set_scenario(self, scenario):
        """Follow the app's era selector: cluster and model of the scenario, then recompute."""
        sc = load_scenario(scenario)
        if sc.name not in self.cluster.options:
            self._custom[sc.name] = sc
            self.cluster.options = list(self.cluster.options) + [sc.name]
        with quiet(self):
            self.cluster.value = sc.name
            self.model.value = self._default_model(sc)
        self._sync_controls(sc.workload)
        self._redraw(full=True)

    # ---- drawing --------------------------------------------------------------------------
    _last_step = None

    def _redraw(self, full=False):
        t0 = time.perf_counter()
        sc = self._sc()
        try:
            ds = estimate(sc, model=self.model.value, global_batch=self._batch(sc), **self._plan())
        except TwinError as exc:
            self.readout.value = (f"<div class='nicc-training-readout nicc-error' style='color:#b00020'>"
                                  f"{html.escape(str(exc))}</div>")
            return
        self._last_step = float(ds.step_time)
        self.src_break.data = {"row": ["step"], **{c: [float(ds.breakdown.sel(component=c))] for c in COMPONENTS}}
        self.src_mem.data = {"row": ["card"], **{p: [float(ds.memory.sel(memory_part=p))] for p in MEMORY_PARTS}}
        self.hbm_line.location = float(ds.hbm_capacity)
        self.fig_mem.x_range.end = 1.08 * max(float(ds.hbm_capacity), float(ds.memory_total))
        fits = bool(ds.fits)
        rows = [("Parameters", f"{float(ds.parameters) / 1e9:,.1f} B"),
                ("Cards (TP x PP x DP)", f"{ds.attrs['cards']:,} = {ds.attrs['plan_tp']} x {ds.attrs['plan_pp']} x {ds.attrs['plan_dp']}"),
                ("Step time", f"{float(ds.step_time):.2f} s ({int(ds.micro_batches)} micro-batches)"),
                ("Achieved", f"{float(ds.achieved_tflops):.0f} TFLOP/s per card"),
                ("MFU", f"{float(ds.mfu) * 100:.1f} %"),
                ("Memory per card", f"{float(ds.memory_total):.1f} / {float(ds.hbm_capacity):.0f} GB "
                                    + ("(fits)" if fits else "<b style='color:#b00020'>(does not fit)</b>")),
                ("Communication", ds.attrs["communication"])]
        if full:
            self._era_soon()
        body = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{k}</th><td>{v}</td></tr>" for k, v in rows)
        ms = (time.perf_counter() - t0) * 1e3
        self.readout.value = (f"<div class='nicc-training-readout'><table>{body}</table>"
                              f"<small>redrawn in {ms:.0f} ms</small></div>")

    _era_cache: dict = {}
    _started = False

    def _era_soon(self):
        """Redraw the era comparison: at once during start-up (the first document carries it) or when
        it is cached; otherwise just after this event returns, on the kernel's event loop, so the
        control's own redraw is not held up by three plan searches (they appear a moment later)."""
        import asyncio

        key = (self.model.value, self._batch(self._sc()), bool(self.uneven.value))
        try:
            loop = asyncio.get_running_loop() if self._started and key not in self._era_cache else None
        except RuntimeError:
            loop = None
        if loop is None:
            self._draw_era()
            return
        self.fig_era.title.text = f"Same job ({self.model.value}), best plan per era: searching ..."
        loop.call_soon(self._draw_era)

    def _draw_era(self):
        """The same job (model and global batch of the selected cluster) on the three era presets."""
        batch = self._batch(self._sc())
        key = (self.model.value, batch, bool(self.uneven.value))
        if key not in self._era_cache:
            mfu, labels, notes = [], [], []
            for era in ERAS:
                sc = load_scenario(era)
                try:
                    ds = search(sc, model=self.model.value, global_batch=batch, top=1,
                                uneven_pipeline=bool(self.uneven.value))
                    mfu.append(float(ds.mfu[0]))
                    labels.append(f"{float(ds.mfu[0]) * 100:.0f}% tp{int(ds.tp[0])} pp{int(ds.pp[0])} dp{int(ds.dp[0])}")
                except TwinError as exc:
                    mfu.append(0.0)
                    labels.append("does not fit")
                    notes.append(f"{era}: {html.escape(str(exc))[:160]}")
            self._era_cache[key] = (mfu, labels, notes)
        mfu, labels, notes = self._era_cache[key]
        self.fig_era.title.text = f"Same job ({self.model.value}, batch {batch}), best plan per era: MFU"
        self.fig_era.y_range.end = max(0.1, 1.25 * max(mfu))
        self.src_era.data = {"era": list(ERAS), "mfu": mfu, "label": labels}
        self.era_note.value = "<small>" + "<br>".join(notes) + "</small>" if notes else ""

    def _run_search(self):
        sc = self._sc()
        t0 = time.perf_counter()
        try:
            ds = search(sc, model=self.model.value, global_batch=self._batch(sc), top=10,
                        uneven_pipeline=bool(self.uneven.value))
        except TwinError as exc:
            self.search_out.value = f"<div class='nicc-error' style='color:#b00020'>{html.escape(str(exc))}</div>"
            return
        ms = (time.perf_counter() - t0) * 1e3
        cards = ds.pareto_cards.values.astype(float)
        self.src_front.data = {"cards": list(cards), "step": [float(x) for x in ds.pareto_step_time.values],
                               "label": [f"tp{t} pp{p} dp{d} mb{b}" for t, p, d, b in
                                         zip(ds.pareto_tp.values, ds.pareto_pp.values, ds.pareto_dp.values,
                                             ds.pareto_micro_batch.values)]}
        self.src_all.data = {"cards": list(ds.cards.values.astype(float)), "step": [float(x) for x in ds.step_time.values]}
        head = ("<tr><th>#</th><th>TP</th><th>PP</th><th>DP</th><th>EP</th><th>mb</th><th>v</th><th>recompute</th>"
                "<th>ZeRO</th><th>SP</th><th>step [s]</th><th>mem [GB]</th><th>MFU</th></tr>")
        rows = "".join(
            f"<tr><td>{i + 1}</td><td>{int(ds.tp[i])}</td><td>{int(ds.pp[i])}</td><td>{int(ds.dp[i])}</td>"
            f"<td>{int(ds.ep[i])}</td><td>{int(ds.micro_batch[i])}</td><td>{int(ds.virtual_stages[i])}</td>"
            f"<td>{ds.recompute.values[i]}</td><td>{int(ds.zero_stage[i])}</td><td>{'on' if ds.sequence_parallel.values[i] else 'off'}</td>"
            f"<td>{float(ds.step_time[i]):.2f}</td><td>{float(ds.memory[i]):.1f}</td><td>{float(ds.mfu[i]) * 100:.1f}%</td></tr>"
            for i in range(ds.sizes["rank"]))
        rej = ", ".join(f"{r}: {int(c):,}" for r, c in zip(ds.reason.values, ds.rejected.values) if c and r != "ok")
        self.search_out.value = (f"<div class='nicc-training-search'><b>{ds.attrs['valid']:,} valid of "
                                 f"{ds.attrs['candidates']:,} plans</b> in {ms:.0f} ms; rejected: {rej}"
                                 f"<table class='nicc-table'>{head}{rows}</table></div>")
