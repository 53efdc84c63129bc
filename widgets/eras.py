"""Eras tab (white paper 2.2, Fig. 2-2): the three era presets side by side, row by row
(interconnect, compute, storage, platform, energy, cost), each cell a number from the twin's own
run of that era's preset (twin.cost.eras.era_table). Clicking a cell opens that row's domain tab
on that era, through the callback the app shell passes in (``open_tab(tab_title, scenario)``)."""
from __future__ import annotations

import html
import threading

import ipywidgets as W

from twin.cost.eras import ERA_PRESETS, ERA_ROWS, era_table
from twin.scenario import load_scenario

from .common import bokeh_widget, error_box


def _fmt(v: float, unit: str) -> str:
    if v != v:  # NaN: the domain did not write this result
        return "n/a"
    a = abs(v)
    s = f"{v:,.0f}" if a >= 1000 else f"{v:.3g}"
    return f"{s} {unit}".strip()


class Dashboard:
    """The eras tab. ``Dashboard(scenario, open_tab=None).view`` is the widget."""

    def __init__(self, scenario, open_tab=None):
        from bokeh.models import ColumnDataSource, FactorRange
        from bokeh.plotting import figure

        self.scenario = load_scenario(scenario)
        self.open_tab = open_tab
        self.status = W.HTML("<i>Running the twin on each era preset...</i>")
        self.status.add_class("nicc-eras-status")
        self.error = W.HTML()
        n_col = 1 + len(ERA_PRESETS)
        head = [W.HTML("<b>Fig. 2-2 row</b>")] + [W.HTML(f"<b>{html.escape(p)}</b>") for p in ERA_PRESETS]
        self.cells: dict = {}
        items = list(head)
        group = None
        for i, (g, d, name, label, unit, tab) in enumerate(ERA_ROWS):
            if g != group:
                group = g
                items += [W.HTML(f"<b style='color:#2b6cb0'>{html.escape(g)}</b>")] + [W.HTML("") for _ in ERA_PRESETS]
            lab = W.Button(description=label[:48], tooltip=f"{label}: open the {tab} tab",
                           layout=W.Layout(width="auto"))
            lab.add_class("nicc-era-row")
            lab.on_click(lambda _b, tab=tab: self._open(tab, self.scenario.name))
            items.append(lab)
            for p in ERA_PRESETS:
                b = W.Button(description="...", tooltip=f"open the {tab} tab on {p}", layout=W.Layout(width="auto"))
                b.add_class("nicc-era-cell")
                b.on_click(lambda _b, tab=tab, p=p: self._open(tab, p))
                self.cells[(i, p)] = b
                items.append(b)
        self.grid = W.GridBox(items, layout=W.Layout(grid_template_columns=f"minmax(320px, 2fr) repeat({n_col - 1}, 1fr)",
                                                     grid_gap="2px 6px", width="100%"))
        self.opened = W.HTML()
        self.opened.add_class("nicc-eras-opened")
        factors = [(p, k) for p in ERA_PRESETS for k in ("USD", "kg CO2e")]
        self.src = ColumnDataSource(dict(x=factors, y=[0.0] * len(factors), color=["#2b6cb0", "#38a169"] * len(ERA_PRESETS)))
        self.fig = figure(x_range=FactorRange(*factors), height=260, width=640, toolbar_location=None,
                          title="Per million trained tokens of each era's workload: cost [USD] and CO2e [kg]")
        self.fig.vbar(x="x", top="y", width=0.8, source=self.src, color="color")
        self.fig.xaxis.major_label_orientation = 0.9
        self.view = W.VBox([self.status, self.error, self.grid, self.opened, bokeh_widget(self.fig)])
        self.table = None
        self._thread = threading.Thread(target=self._fill, daemon=True)
        self._thread.start()

    def _fill(self):
        # the three whole-twin runs go to a separate process: numba kernels hold the GIL, and the
        # kernel must keep answering the other tabs' controls meanwhile
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        try:
            with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as ex:
                ds = ex.submit(era_table, ERA_PRESETS).result()
        except Exception as exc:  # show why, never a traceback
            self.error.value = error_box(exc).value
            self.status.value = ""
            return
        self.table = ds
        for i, (_, _, _, _, unit, _) in enumerate(ERA_ROWS):
            for p in ERA_PRESETS:
                self.cells[(i, p)].description = _fmt(float(ds["value"].isel(row=i).sel(era=p)), unit)
        rows = list(ds["variable"].values)
        ci, ki = rows.index("cost_per_million_tokens"), rows.index("carbon_per_million_tokens")
        y = []
        for p in ERA_PRESETS:
            y += [float(ds["value"].isel(row=ci).sel(era=p)), float(ds["value"].isel(row=ki).sel(era=p))]
        self.src.data = dict(x=list(self.src.data["x"]), y=y, color=list(self.src.data["color"]))
        models = ", ".join(f"{e}: {m}" for e, m in zip(ds["era"].values, ds["workload"].values))
        self.status.value = f"<span class='nicc-eras-ready'>Each cell: the twin's run of that era's preset. Workloads: {html.escape(models)}</span>"

    def _open(self, tab: str, scenario_name: str):
        self.opened.value = f"<span class='nicc-eras-opened-text'>{html.escape(tab)} on {html.escape(scenario_name)}</span>"
        if self.open_tab is not None:
            try:
                self.open_tab(tab, scenario_name)
            except Exception as exc:
                self.error.value = error_box(exc).value

    def set_scenario(self, scenario):
        """The era selector changed: the table shows all three presets already; remember the
        current scenario for row-label clicks."""
        self.scenario = load_scenario(scenario)
