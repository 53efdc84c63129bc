"""Cost tab (beyond the white paper): capital cost by component, yearly cost, cost and carbon per
GPU-hour and per trained token, and the sites of "east data, west computing" side by side.

Calls twin.cost's public functions only (``rerun`` reuses the other domains' results when only
the cost section changes) and plots the Datasets they return."""
from __future__ import annotations

import html

import ipywidgets as W

from twin import catalog
from twin.cost import COMPONENTS, OPEX_ITEMS, rerun
from twin.cost.eras import era_twin
from twin.scenario import load_scenario

from .common import bokeh_widget, error_box

#: Sites shown in the regions chart (the hubs and demand centres first).
REGIONS = tuple(catalog.names("regions"))


class Dashboard:
    """The cost tab. ``Dashboard(scenario).view`` is the widget; ``set_scenario`` follows the era selector."""

    def __init__(self, scenario):
        from bokeh.models import ColumnDataSource
        from bokeh.plotting import figure

        self.scenario = load_scenario(scenario)
        sc = self.scenario
        self.region = W.Dropdown(options=list(REGIONS), value=str(sc.cost.region), description="Region",
                                 layout=W.Layout(width="320px"))
        self.depreciation = W.FloatSlider(value=float(sc.cost.it_depreciation.to("year").magnitude), min=2, max=10, step=0.5,
                                          description="IT years", continuous_update=False)
        self.readout = W.HTML(layout=W.Layout(min_width="460px"))
        self.readout.add_class("nicc-cost-readout")
        self.error = W.HTML()

        self.capex_src = ColumnDataSource(dict(component=list(COMPONENTS), musd=[0.0] * len(COMPONENTS),
                                               annual=[0.0] * len(COMPONENTS)))
        self.fig_capex = figure(y_range=list(reversed(COMPONENTS)), height=300, width=460, toolbar_location=None,
                                title="Capital cost by component [M USD] (bars) and per year (dots)",
                                tooltips=[("component", "@component"), ("capex M USD", "@musd{0.00}"),
                                          ("per year M USD", "@annual{0.00}")])
        self.fig_capex.hbar(y="component", right="musd", height=0.6, source=self.capex_src, color="#2b6cb0")
        self.fig_capex.scatter(x="annual", y="component", source=self.capex_src, size=8, color="#dd6b20")

        self.opex_src = ColumnDataSource(dict(item=list(OPEX_ITEMS), musd=[0.0] * len(OPEX_ITEMS)))
        self.fig_opex = figure(x_range=list(OPEX_ITEMS), height=300, width=300, toolbar_location=None,
                               title="Operating cost per year [M USD]")
        self.fig_opex.vbar(x="item", top="musd", width=0.6, source=self.opex_src, color="#38a169")

        self.reg_src = ColumnDataSource(dict(region=[], usd_per_gpu_h=[], kg_per_gpu_h=[]))
        self.fig_regions = figure(height=300, width=520, toolbar_location=None,
                                  title="Sites: cost and carbon per GPU-hour (this hall)",
                                  x_axis_label="USD per GPU-hour", y_axis_label="kg CO2e per GPU-hour",
                                  tooltips=[("site", "@region"), ("USD/GPU-h", "@usd_per_gpu_h{0.000}"),
                                            ("kg/GPU-h", "@kg_per_gpu_h{0.000}")])
        self.fig_regions.scatter("usd_per_gpu_h", "kg_per_gpu_h", source=self.reg_src, size=9, color="#805ad5")

        self._base = None  # a run twin of the current scenario: other domains' results for cost-only reruns
        self._quiet = False
        self.region.observe(self._on_control, names="value")
        self.depreciation.observe(self._on_control, names="value")
        self.view = W.VBox([
            W.HBox([self.region, self.depreciation]),
            W.HBox([self.readout, self.error]),
            W.HBox([bokeh_widget(self.fig_capex), bokeh_widget(self.fig_opex)]),
            bokeh_widget(self.fig_regions),
        ])
        self.set_scenario(sc)

    def _on_control(self, _change):
        if not self._quiet:
            self._update()

    def _scenario(self):
        return self.scenario.with_overrides({"cost": {"region": self.region.value,
                                                      "it_depreciation": f"{self.depreciation.value} year"}})

    def set_scenario(self, scenario):
        """Follow the app's era selector: run the twin once, then cost-only reruns."""
        self.scenario = load_scenario(scenario)
        self._base = None
        self._quiet = True  # setting the controls to the scenario's values is not a user change
        try:
            self.region.value = str(self.scenario.cost.region)
            self.depreciation.value = float(self.scenario.cost.it_depreciation.to("year").magnitude)
        finally:
            self._quiet = False
        self._update(regions=True)

    def _update(self, regions=False):
        try:
            if self._base is None:
                # the whole twin of this scenario, shared with the Eras tab (memoised per scenario)
                self._base = era_twin(self.scenario)
            t = rerun(self._scenario(), self._base)
            ds = t.state["cost/results"].to_dataset()
            self.error.value = ""
        except Exception as exc:  # show the error, keep the last good plot
            self.error.value = error_box(exc).value
            return
        self.capex_src.data = dict(component=list(COMPONENTS), musd=[float(v) / 1e6 for v in ds["capex"].values],
                                   annual=[float(v) / 1e6 for v in ds["annual_capex"].values])
        self.opex_src.data = dict(item=list(OPEX_ITEMS), musd=[float(v) / 1e6 for v in ds["opex"].values])
        rows = [("Cost per GPU-hour", f"{float(ds['cost_per_gpu_hour']):.3f} USD"),
                ("Cost per million trained tokens", f"{float(ds['cost_per_million_tokens']):.3f} USD"),
                ("Cost per PFLOP-day delivered", f"{float(ds['cost_per_pflop_day']):.1f} USD"),
                ("CO2e per million trained tokens", f"{float(ds['carbon_per_million_tokens']):.3f} kg"),
                ("Annual cost", f"{float(ds['annual_cost']) / 1e6:.2f} M USD"),
                ("Electricity price", f"{float(ds['electricity_price']):.3f} CNY/kWh"),
                ("Grid factor", f"{float(ds['grid_emission_factor']):.4f} kg/kWh")]
        body = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in rows)
        self.readout.value = (f"<div class='nicc-cost-readout-inner'><b>{html.escape(str(ds.attrs.get('region_name', '')))}</b>"
                              f", IT depreciated over {self.depreciation.value:g} years<table>{body}</table></div>")
        if regions:
            self._regions()

    def _regions(self):
        names, usd, kg = [], [], []
        for r in REGIONS:
            sc = self._scenario().with_overrides({"cost": {"region": r}})
            ds = rerun(sc, self._base).state["cost/results"].to_dataset()
            names.append(r)
            usd.append(float(ds["cost_per_gpu_hour"]))
            kg.append(float(ds["carbon_per_gpu_hour"]))
        self.reg_src.data = dict(region=names, usd_per_gpu_h=usd, kg_per_gpu_h=kg)
