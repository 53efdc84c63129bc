"""Storage tab (white paper ch. 5): the six-stage data lifecycle, capacity per tier, the storage
wall, checkpoints and goodput, the memory pool, and a week of checkpoints and tiering.

The tab calls the public functions of :mod:`twin.storage` (``storage``, ``simulate``) and plots
the Datasets they return; it holds no model logic.
"""
from __future__ import annotations

import html
import time

import ipywidgets as W

from twin.errors import TwinError
from twin.scenario import load_scenario
from twin.storage import MEMORY_TIERS, STAGES, TIERS, simulate, storage

from .common import bokeh_widget, error_box, table_html

ARCHS = ("separate", "converged", "global")
WORKLOADS = ("llm", "unet3d", "resnet50", "cosmoflow")


class Dashboard:
    """Storage tab: controls for the architecture, checkpoint mode, data-loader workload, data set
    size and storage bandwidth; a readout table and four Bokeh figures."""

    def __init__(self, scenario):
        from bokeh.models import ColumnDataSource, FactorRange, HoverTool
        from bokeh.plotting import figure

        self.sc = load_scenario(scenario)
        s = self.sc.storage
        self.arch = W.ToggleButtons(options=list(ARCHS), value=str(s.architecture), description="architecture",
                                    style={"button_width": "90px"})
        self.arch.add_class("nicc-storage-arch")
        self.mode = W.ToggleButtons(options=["sync", "async"], value=str(s.checkpoint_mode), description="checkpoint",
                                    style={"button_width": "70px"})
        self.workload = W.Dropdown(options=list(WORKLOADS), value=str(s.data_workload), description="data loader",
                                   layout=W.Layout(width="240px"))
        self.dataset = W.FloatLogSlider(value=max(1.0, s.dataset_size.to("TB").magnitude), base=10, min=0, max=5,
                                        step=0.05, description="data set [TB]", continuous_update=False,
                                        style={"description_width": "initial"})
        self.bandwidth = W.FloatLogSlider(value=max(1.0, s.bandwidth.to("GB/s").magnitude), base=10, min=0, max=4.5,
                                          step=0.05, description="storage [GB/s]", continuous_update=False,
                                          style={"description_width": "initial"})
        self.readout = W.HTML(layout=W.Layout(min_width="460px"))
        self.status = W.HTML()

        # six stages: time per stage (log)
        self.src_stage = ColumnDataSource({"stage": list(STAGES), "time": [1.0] * len(STAGES),
                                           "bytes": [0.0] * len(STAGES), "pattern": [""] * len(STAGES)})
        f1 = figure(x_range=list(STAGES), height=260, width=520, y_axis_type="log", toolbar_location=None,
                    title="Six stages of a training job's data: time [s]", y_axis_label="time [s]")
        r = f1.vbar(x="stage", top="time", bottom=1e-3, width=0.6, source=self.src_stage, color="#2b6cb0")
        f1.add_tools(HoverTool(renderers=[r], tooltips=[("stage", "@stage"), ("time", "@time{0.0} s"),
                                                         ("bytes", "@bytes{0.0} TB"), ("IO", "@pattern")]))
        f1.xaxis.major_label_orientation = 0.5
        self.fig_stage = f1

        # capacity per tier: required vs installed raw
        factors = [(t, k) for t in TIERS for k in ("required", "installed")]
        self.src_cap = ColumnDataSource({"x": factors, "pb": [0.0] * len(factors),
                                         "color": ["#e53e3e", "#a0aec0"] * len(TIERS)})
        f2 = figure(x_range=FactorRange(*factors), height=260, width=380, toolbar_location=None,
                    title="Raw capacity per tier [PB]", y_axis_label="PB")
        f2.vbar(x="x", top="pb", width=0.8, source=self.src_cap, color="color")
        self.fig_cap = f2

        # goodput against the checkpoint interval
        self.src_good = ColumnDataSource({"interval": [1.0], "goodput": [0.0]})
        self.src_opt = ColumnDataSource({"interval": [1.0], "goodput": [0.0]})
        f3 = figure(height=260, width=420, x_axis_type="log", toolbar_location=None,
                    title="Goodput vs checkpoint interval", x_axis_label="interval [s]", y_axis_label="goodput")
        f3.line("interval", "goodput", source=self.src_good, line_width=2, color="#2b6cb0")
        f3.scatter("interval", "goodput", source=self.src_opt, size=9, color="#e53e3e", legend_label="Young/Daly")
        f3.legend.location = "bottom_center"
        self.fig_good = f3

        # a week of checkpoints and tiering
        self.src_sim = ColumnDataSource({"t": [0.0], "hot": [0.0], "cold": [0.0]})
        f4 = figure(height=260, width=520, toolbar_location=None, title="7 days: hot and cold tier use [PB]",
                    x_axis_label="time [h]", y_axis_label="PB")
        f4.line("t", "hot", source=self.src_sim, color="#e53e3e", line_width=2, legend_label="hot")
        f4.line("t", "cold", source=self.src_sim, color="#2b6cb0", line_width=2, legend_label="cold")
        f4.legend.location = "top_left"
        self.fig_sim = f4

        # memory tiers
        self.src_mem = ColumnDataSource({"tier": list(MEMORY_TIERS), "latency": [0.0] * 3})
        f5 = figure(x_range=list(MEMORY_TIERS), height=260, width=380, toolbar_location=None,
                    title="Memory tiers: load latency [ns]", y_axis_label="ns")
        f5.vbar(x="tier", top="latency", width=0.6, source=self.src_mem, color="#38a169")
        self.fig_mem = f5

        self._redraw()
        for w in (self.arch, self.mode, self.workload, self.dataset, self.bandwidth):
            w.observe(self._on_change, names="value")
        controls = W.VBox([self.arch, self.mode, self.workload, self.dataset, self.bandwidth])
        self.view = W.VBox([
            W.HTML("<b>New storage</b> (white paper ch. 5): data lifecycle, capacity, the storage wall, "
                   "checkpoints and goodput, converged and global storage, the memory pool."),
            W.HBox([controls, self.readout]),
            W.HBox([bokeh_widget(self.fig_stage), bokeh_widget(self.fig_cap)]),
            W.HBox([bokeh_widget(self.fig_good), bokeh_widget(self.fig_sim), bokeh_widget(self.fig_mem)]),
            self.status,
        ], layout=W.Layout(padding="4px"))
        self.view.add_class("nicc-storage")

    # ---- events -------------------------------------------------------------------------------
    def _current(self):
        return self.sc.with_overrides({"storage": {
            "architecture": self.arch.value, "checkpoint_mode": self.mode.value, "data_workload": self.workload.value,
            "dataset_size": f"{self.dataset.value:.6g} TB", "bandwidth": f"{self.bandwidth.value:.6g} GB/s"}})

    def _on_change(self, _change):
        self._redraw()

    def set_scenario(self, scenario):
        """Follow the app's era selector: the scenario's storage settings, then recompute."""
        self.sc = load_scenario(scenario)
        s = self.sc.storage
        widgets = (self.arch, self.mode, self.workload, self.dataset, self.bandwidth)
        for w in widgets:
            w.unobserve(self._on_change, names="value")
        try:
            self.arch.value = str(s.architecture)
            self.mode.value = str(s.checkpoint_mode)
            self.workload.value = str(s.data_workload)
            self.dataset.value = max(1.0, s.dataset_size.to("TB").magnitude)
            self.bandwidth.value = max(1.0, s.bandwidth.to("GB/s").magnitude)
        finally:
            for w in widgets:
                w.observe(self._on_change, names="value")
        self._redraw()

    # ---- drawing ------------------------------------------------------------------------------
    def _redraw(self):
        t0 = time.perf_counter()
        try:
            sc = self._current()
            ds = storage(sc)
            sim = simulate(sc, days=7)
        except TwinError as exc:
            self.readout.value = error_box(exc).value
            return
        st = ds.stage_time.values
        self.src_stage.data = {"stage": list(STAGES), "time": [max(float(x), 1e-3) for x in st],
                               "bytes": [float(x) for x in ds.stage_bytes.values],
                               "pattern": [str(x) for x in ds.stage_pattern.values]}
        req, inst = ds.capacity_required_raw.values, ds.capacity_raw.values
        self.src_cap.data = {"x": [(t, k) for t in TIERS for k in ("required", "installed")],
                             "pb": [float(v) for pair in zip(req, inst) for v in pair],
                             "color": ["#e53e3e", "#a0aec0"] * len(TIERS)}
        self.src_good.data = {"interval": [float(x) for x in ds.interval_axis.values],
                              "goodput": [float(x) for x in ds.goodput_curve.values]}
        self.src_opt.data = {"interval": [float(ds.checkpoint_interval)], "goodput": [float(ds.goodput)]}
        step = max(1, sim.sizes["time"] // 2000)
        self.src_sim.data = {"t": [float(x) for x in sim.time.values[::step]],
                             "hot": [float(x) for x in sim.hot_used.values[::step]],
                             "cold": [float(x) for x in sim.cold_used.values[::step]]}
        self.src_mem.data = {"tier": list(MEMORY_TIERS), "latency": [float(x) for x in ds.memory_latency.values]}
        full = float(ds.store_full) > 0
        rows = [
            ("Architecture", f"{ds.attrs['architecture']} ({int(ds.copies)} cop{'y' if int(ds.copies) == 1 else 'ies'} "
                             f"of data set and model)"),
            ("Raw capacity hot / cold", f"{float(req[0]):.2f} / {float(req[1]):.2f} PB needed of "
                                        f"{float(inst[0]):.1f} / {float(inst[1]):.1f} PB"),
            ("Store", f"FULL: {float(ds.capacity_missing):.2f} PB missing" if full else "fits"),
            ("Copy time saved (unified)", f"{float(ds.time_saved) / 3600:.2f} h, {float(ds.capacity_saved):.3f} PB"),
            ("Checkpoint", f"{float(ds.checkpoint_size) / 1e3:.2f} TB: write {float(ds.checkpoint_write_time):.1f} s "
                           f"({ds.attrs['write_limit']}), blocks {float(ds.checkpoint_blocking_time):.1f} s, "
                           f"restore {float(ds.checkpoint_restore_time):.1f} s"),
            ("Storage network", f"{ds.attrs['storage_network']}, {int(ds.storage_servers)} servers: checkpoint "
                                f"{float(ds.checkpoint_network_time):.1f} s on the network vs "
                                f"{float(ds.checkpoint_storage_time):.1f} s in storage; a burst takes "
                                f"{float(ds.burst_collective_share) * 100:.0f} % of the collective "
                                f"(step +{float(ds.burst_step_slowdown) * 100:.1f} %)"),
            ("Young/Daly interval, goodput", f"{float(ds.checkpoint_interval) / 60:.1f} min, "
                                             f"{float(ds.goodput) * 100:.2f} %"),
            ("Storage wall", f"AU {float(ds.au) * 100:.1f} %, wait {float(ds.io_wait) * 1e3:.1f} ms per step "
                             f"({ds.attrs['wall_limit']}); AU >= 90% needs {float(ds.min_storage_bandwidth):.3g} GB/s"),
            ("Storage power, floor", f"{float(ds.storage_power):.1f} kW, {float(ds.floor_area):.1f} m^2"),
            ("Global namespace", f"replication lag {float(ds.replication_lag):.1f} s, remote read "
                                 f"{float(ds.remote_read_latency):.2f} ms"),
            ("Memory pool", f"stranded DRAM recovered {float(ds.stranded_recovered) * 100:.1f} %"),
        ]
        ms = (time.perf_counter() - t0) * 1e3
        self.readout.value = (f"<div class='nicc-storage-readout'>{table_html(rows)}"
                              f"<small>{html.escape(sc.name)}: redrawn in {ms:.0f} ms</small></div>")
