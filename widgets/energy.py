"""Energy tab (white paper ch. 7): hall heat maps of rack power and chip temperature, the
transient after a cooling fault, PUE against cooling type and climate over a year, floor area
and rack density, and the era path air -> cold plate -> immersion."""
from __future__ import annotations

import html
import math
import time

import ipywidgets as W
import numpy as np

from twin.errors import TwinError
from twin.scenario import load_scenario
from twin.energy import COOLING_TYPES, cooling_kind, fault_transient, floor_plans, hall_state, pue_year
from twin.energy.climate import cities, city_name

from .common import bokeh_widget, palette_colors

ERAS = ("heterogeneous-2021", "cluster-2023", "superpool-2025")
TYPES = COOLING_TYPES
TYPE_COLORS = {"air": "#2b6cb0", "cold-plate": "#dd6b20", "immersion": "#38a169"}
FAULTS = {"none": None, "CDU pump fails (loop 0)": "cdu-pump", "coolant leak, loop 0 isolated": "leak",
          "chiller trip (10 min restart)": "chiller-trip"}
MAX_RACKS_SHOWN = 400


class Dashboard:
    """The energy tab. ``Dashboard(scenario).view`` is the widget; ``set_scenario`` follows the era selector."""

    def __init__(self, scenario):
        from bokeh.layouts import row
        from bokeh.models import ColumnDataSource, Range1d, Span
        from bokeh.plotting import figure

        self.scenario = load_scenario(scenario)
        sc = self.scenario
        self._busy = False
        kind = self._kind(sc)
        self.cooling = W.Dropdown(options=list(TYPES), value=kind, description="Cooling")
        self.supply = W.FloatSlider(value=self._supply(sc, kind), min=15, max=50, step=1, description="Supply degC",
                                    continuous_update=False)
        self.util = W.FloatSlider(value=1.0, min=0.1, max=1.0, step=0.05, description="Utilisation",
                                  continuous_update=False)
        clim = [c for c in cities()]
        self.climate = W.Dropdown(options=clim, value=self._city(sc), description="Climate")
        self.fault = W.Dropdown(options=list(FAULTS), value="CDU pump fails (loop 0)", description="Fault",
                                layout=W.Layout(width="340px"))
        self.readout = W.HTML(layout=W.Layout(min_width="420px"))
        self.error = W.HTML()

        # hall heat maps
        self.hall_src = ColumnDataSource(dict(x=[], y=[], power=[], tchip=[], c_power=[], c_temp=[], rack=[], loop=[]))
        # a Bokeh model lives in one document: the second map gets its own source
        self.hall_src2 = ColumnDataSource(dict(x=[], y=[], power=[], tchip=[], c_power=[], c_temp=[], rack=[], loop=[]))
        tips = [("rack", "@rack"), ("loop", "@loop"), ("power kW", "@power{0.0}"), ("peak chip degC", "@tchip{0.0}")]
        self.fig_power = figure(title="Rack power [kW]", height=260, width=380, toolbar_location=None,
                                tooltips=tips, match_aspect=True)
        self.fig_power.rect("x", "y", 0.9, 0.9, source=self.hall_src, fill_color="c_power", line_color=None)
        self.fig_temp = figure(title="Hottest chip during the fault [degC]", height=260, width=380, toolbar_location=None,
                               tooltips=tips, match_aspect=True)
        self.fig_temp.rect("x", "y", 0.9, 0.9, source=self.hall_src2, fill_color="c_temp", line_color=None)
        for f in (self.fig_power, self.fig_temp):
            f.axis.visible = False
            f.grid.visible = False

        # fault transient
        self.tr_src = ColumnDataSource(dict(t=[], failed=[], healthy=[], facility=[], power=[]))
        self.fig_tr = figure(title="Fault transient: hottest chip", height=260, width=520, toolbar_location=None,
                             x_axis_label="minutes", y_axis_label="degC")
        self.fig_tr.line("t", "failed", source=self.tr_src, color="#e53e3e", line_width=2, legend_label="failed loop")
        self.fig_tr.line("t", "healthy", source=self.tr_src, color="#2b6cb0", line_width=2, legend_label="healthy loop")
        self.fig_tr.line("t", "facility", source=self.tr_src, color="#718096", line_dash="dashed",
                         legend_label="facility loop")
        self.fig_tr.legend.location = "bottom_right"
        self.fig_tr.legend.background_fill_alpha = 0.6
        self.span_slow = Span(location=89, dimension="width", line_color="#d69e2e", line_dash="dotted")
        self.span_shut = Span(location=92, dimension="width", line_color="#e53e3e", line_dash="dotted")
        self.fig_tr.add_layout(self.span_slow)
        self.fig_tr.add_layout(self.span_shut)

        # PUE by cooling type and climate (annual), monthly PUE of the chosen case
        self.pue_src = ColumnDataSource(dict(x=[], pue=[], color=[], label=[]))
        self.fig_pue = figure(title="Annual PUE by climate and cooling type", height=260, width=560,
                              toolbar_location=None, x_range=[], y_range=Range1d(1.0, 1.35))
        self.fig_pue.vbar(x="x", top="pue", width=0.8, source=self.pue_src, color="color")
        self.fig_pue.xaxis.major_label_orientation = 0.9
        self.month_src = ColumnDataSource(dict(month=[], pue=[]))
        self.fig_month = figure(title="Monthly PUE (chosen case)", height=260, width=360, toolbar_location=None,
                                x_axis_label="month", y_range=Range1d(1.0, 1.35))
        self.fig_month.line("month", "pue", source=self.month_src, line_width=2, color="#dd6b20")
        self.fig_month.scatter("month", "pue", source=self.month_src, size=5, color="#dd6b20")

        # floor area and density
        self.floor_src = ColumnDataSource(dict(kind=list(TYPES), area=[0, 0, 0], density=[0, 0, 0],
                                               color=[TYPE_COLORS[t] for t in TYPES]))
        self.fig_floor = figure(title="Floor area [m^2] (same servers)", x_range=list(TYPES), height=240, width=360,
                                toolbar_location=None)
        self.fig_floor.vbar(x="kind", top="area", width=0.6, source=self.floor_src, color="color")
        self.fig_dens = figure(title="Rack density [kW per rack]", x_range=list(TYPES), height=240, width=360,
                               toolbar_location=None)
        self.fig_dens.vbar(x="kind", top="density", width=0.6, source=self.floor_src, color="color")

        # era path
        self.era_src = ColumnDataSource(dict(era=[], pue=[], density=[], tchip=[]))
        self.fig_era = figure(title="Era path: air -> cold plate -> immersion (PUE)", x_range=list(ERAS), height=240,
                              width=420, toolbar_location=None, y_range=Range1d(1.0, 1.35))
        self.fig_era.line("era", "pue", source=self.era_src, line_width=2, color="#805ad5")
        self.fig_era.scatter("era", "pue", source=self.era_src, size=8, color="#805ad5")

        self._pue_cache = {}
        self._era_done = False
        for w in (self.cooling, self.supply, self.util, self.fault):
            w.observe(self._on_hall, names="value")
        self.climate.observe(self._on_climate, names="value")

        # fill every source before wrapping the figures: a BokehModel serialises its document
        # when built, and patches sent before the browser view exists would be lost
        self.update_hall()
        self.update_climate()
        self.update_era()
        controls = W.VBox([W.HBox([self.cooling, self.supply]), W.HBox([self.util, self.climate]), self.fault])
        self.view = W.VBox([
            W.HTML("<h3>New energy (white paper ch. 7)</h3>"),
            W.HBox([controls, self.readout]), self.error,
            W.HBox([bokeh_widget(self.fig_power), bokeh_widget(self.fig_temp), bokeh_widget(self.fig_tr)]),
            W.HBox([bokeh_widget(self.fig_pue), bokeh_widget(self.fig_month)]),
            # floor and density share one source, so they share one Bokeh document (a row)
            W.HBox([bokeh_widget(row(self.fig_floor, self.fig_dens)), bokeh_widget(self.fig_era)]),
        ])

    # --- scenario helpers -------------------------------------------------------------
    @staticmethod
    def _kind(sc):
        return cooling_kind(str(sc.energy.cooling))

    @staticmethod
    def _supply(sc, kind):
        q = sc.energy.air_supply_temperature if kind == "air" else sc.energy.supply_temperature
        return float(q.to("degC").magnitude)

    @staticmethod
    def _city(sc):
        return city_name(str(sc.energy.climate))

    def _overrides(self):
        return dict(utilisation=float(self.util.value), cooling=self.cooling.value,
                    supply_temperature=f"{float(self.supply.value)} degC", max_racks=MAX_RACKS_SHOWN)

    # --- updates ------------------------------------------------------------------------
    def update_hall(self):
        t0 = time.perf_counter()
        try:
            ov = self._overrides()
            hall = hall_state(self.scenario, **ov)
            fk = FAULTS[self.fault.value]
            tr = fault_transient(self.scenario, fk or "none", horizon="30 min", **ov)
        except TwinError as exc:
            self.error.value = f"<div class='nicc-error' style='color:#b00020'>{html.escape(str(exc))}</div>"
            return
        self.error.value = ""
        R, S = int(hall.attrs["racks"]), int(hall.attrs["servers_per_rack"])
        pk = hall["rack_power"].values
        tc = hall["chip_temperature"].values
        t_slow, t_shut = hall.attrs["t_slowdown_degC"], hall.attrs["t_shutdown_degC"]
        cols = max(1, int(math.ceil(math.sqrt(R * 2))))
        x = np.arange(R) % cols
        y = -(np.arange(R) // cols)
        peak = np.maximum(tr["chip_temperature"].max("time").values, tc)
        data = dict(x=x.tolist(), y=y.tolist(), power=pk.tolist(), tchip=peak.tolist(),
                    c_power=palette_colors(pk, 0, max(pk.max(), 1.0), "Inferno256"),
                    c_temp=palette_colors(peak, hall.attrs["supply_temperature_degC"], t_shut, "Inferno256"),
                    rack=list(range(R)), loop=hall["rack_loop"].values.tolist())
        self.hall_src.data = data
        self.hall_src2.data = dict(data)
        g0 = hall["rack_loop"].values == 0
        temps = tr["chip_temperature"].values
        failed = temps[:, g0].max(axis=1)
        healthy = temps[:, ~g0].max(axis=1) if np.any(~g0) else np.full_like(failed, np.nan)
        self.tr_src.data = dict(t=(tr["time"].values / 60).tolist(), failed=failed.tolist(),
                                healthy=[None if not np.isfinite(v) else float(v) for v in healthy],
                                facility=tr["facility_temperature"].values.tolist(),
                                power=tr["rack_power"].sum("rack").values.tolist())
        self.span_slow.location = t_slow
        self.span_shut.location = t_shut
        fs, sd = float(tr["time_to_throttle"]), float(tr["time_to_shutdown"])
        ts = f"in {fs:.0f} s" if math.isfinite(fs) else "none in 30 min"
        tsd = f"in {sd:.0f} s" if math.isfinite(sd) else "none in 30 min"
        op = (f"{sd:.0f} s" if math.isfinite(sd) else "more than 30 min") if fk else "no fault chosen"
        plans = floor_plans(self.scenario, f"{float(pk.max()) / S} kW", servers_per_rack=8)
        area = plans["floor_area"].values
        self.floor_src.data = dict(kind=list(TYPES), area=[v if math.isfinite(v) else 0 for v in area],
                                   density=plans["rack_density"].values.tolist(), color=[TYPE_COLORS[t] for t in TYPES])
        year = pue_year(self.scenario, it_power=f"{float(hall['server_power'])} kW",
                        liquid_fraction=float(hall["liquid_share"]), cooling=self.cooling.value,
                        climate=self.climate.value, supply_temperature=f"{float(self.supply.value)} degC")
        self.month_src.data = dict(month=year["month"].values.tolist(), pue=year["pue_monthly"].values.tolist())
        pue = float(year["pue"])
        self._last = dict(pue=pue, tmax=float(tc.max()), throttle=ts, shutdown=tsd, rack_kw=float(pk.max()))
        dt_ms = (time.perf_counter() - t0) * 1e3
        over = (f"<br><b style='color:#b00020'>{html.escape(hall.attrs['overheat_reason'])}</b>"
                if hall.attrs["overheats"] else "")
        self.readout.value = (
            f"<div class='nicc-energy-readout'><b>{html.escape(hall.attrs['model'])}</b>, {hall.attrs['coolant']} at "
            f"{hall.attrs['supply_temperature_degC']:.0f} degC, {R} racks x {S} servers<br>rack power up to "
            f"{pk.max():.1f} kW; hottest chip {tc.max():.1f} degC (slowdown {t_slow:g}, shutdown {t_shut:g})<br>"
            f"annual PUE ({html.escape(self.climate.value)}): <span class='nicc-energy-pue'>{pue:.3f}</span><br>"
            f"after the fault: throttle {ts}, shutdown {tsd}<br>operator time (fault to first shutdown): "
            f"<span class='nicc-energy-operator'>{op}</span>{over}<br><small>updated in {dt_ms:.0f} ms</small></div>")

    def update_climate(self):
        xs, pues, colors = [], [], []
        for city in cities():
            for k in TYPES:
                key = (city, k)
                if key not in self._pue_cache:  # the same for every scenario: computed once per tab
                    self._pue_cache[key] = float(pue_year(self.scenario, it_power="1000 kW", cooling=k,
                                                          climate=city)["pue"])
                xs.append(f"{city} {k}")
                pues.append(self._pue_cache[key])
                colors.append(TYPE_COLORS[k])
        self.fig_pue.x_range.factors = xs
        self.pue_src.data = dict(x=xs, pue=pues, color=colors, label=[f"{p:.3f}" for p in pues])

    def update_era(self):
        eras, pues, dens, tch = [], [], [], []
        for e in ERAS:
            hall = hall_state(e, max_racks=8)
            year = pue_year(e, it_power=f"{float(hall['server_power'])} kW", liquid_fraction=float(hall["liquid_share"]))
            eras.append(e)
            pues.append(float(year["pue"]))
            dens.append(float(hall["rack_power"].max()))
            tch.append(float(hall["chip_temperature"].max()))
        self.era_src.data = dict(era=eras, pue=pues, density=dens, tchip=tch)

    def _on_hall(self, change):
        if self._busy:
            return
        self.update_hall()

    def _on_climate(self, change):
        if self._busy:
            return
        self.update_hall()

    def set_scenario(self, scenario):
        """Follow the app's era selector: reset the controls to the scenario and recompute the hall."""
        self.scenario = load_scenario(scenario)
        sc = self.scenario
        self._busy = True
        try:
            kind = self._kind(sc)
            self.cooling.value = kind
            self.supply.value = self._supply(sc, kind)
            self.climate.value = self._city(sc)
        finally:
            self._busy = False
        self.update_hall()
