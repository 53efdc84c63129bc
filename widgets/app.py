"""The NICC Twin app shell: era/scenario selector, summary panel, one tab per domain.

Served by ``nicc-twin serve`` through notebooks/app.ipynb (Voila). Domain tabs come from
``widgets.<domain>.Dashboard`` where that module exists; a tab appears only once its
domain has landed.
"""
from __future__ import annotations

import importlib
import importlib.util

import ipywidgets as W

from twin import catalog
from twin.compare import headlines
from twin.core import Twin
from twin.scenario import list_presets, load_scenario
from twin.summary import format_value, scale_up_bandwidth, summary

from .common import bokeh_widget, error_box, table_html

#: (tab title, module) in white-paper order.
#: The domain whose headline figures a tab shows above it (with deltas against the baseline).
TAB_DOMAINS = {"Interconnect": "interconnect", "Fabric": "fabric", "Compute": "compute", "Training": "training",
               "Storage": "storage", "Platform": "platform", "Cross-domain": "platform", "Energy": "energy",
               "Cost": "cost"}

DOMAIN_TABS = (
    ("Interconnect", "widgets.interconnect"),
    ("Compute", "widgets.compute"),
    ("Fabric", "widgets.fabric"),
    ("Training", "widgets.training"),
    ("Storage", "widgets.storage"),
    ("Platform", "widgets.platform"),
    ("Cross-domain", "widgets.crossdomain"),
    ("Energy", "widgets.energy"),
    ("Cost", "widgets.cost"),
    ("Eras", "widgets.eras"),
)


def bandwidth_hierarchy(sc) -> dict:
    """Per-card bandwidths of a scenario, memory to storage [GB/s] (the figure of the summary tab)."""
    acc = catalog.accelerator(sc.compute.accelerator)
    f = sc.fabric
    per_card_out = (f.nics_per_node * f.nic_speed / sc.compute.cards_per_node).to("GB/s")
    storage = (sc.storage.bandwidth / sc.cards).to("GB/s")
    labels = ["HBM", "Scale-up (card-to-card)", "Scale-out (per card)", "Storage (per card)"]
    values = [acc.hbm_bandwidth.to("GB/s").magnitude, scale_up_bandwidth(sc).magnitude,
              per_card_out.magnitude, storage.magnitude]
    return {"level": labels, "gbps": [float(v) for v in values],
            "label": [f"{v:,.3g} GB/s" for v in values]}


class SummaryPanel:
    """Headline figures plus the per-card bandwidth hierarchy (log scale)."""

    def __init__(self, sc):
        from bokeh.models import ColumnDataSource, LabelSet, Range1d
        from bokeh.plotting import figure

        self.html = W.HTML()
        self.source = ColumnDataSource(bandwidth_hierarchy(sc))
        fig = figure(y_range=list(reversed(self.source.data["level"])), x_axis_type="log", height=230, width=560,
                     x_range=Range1d(1e-2, 1e5),
                     title="Bandwidth per card, memory to storage", x_axis_label="GB/s (log)",
                     toolbar_location=None)
        fig.hbar(y="level", right="gbps", left=1e-3, height=0.6, source=self.source, color="#2b6cb0")
        fig.add_layout(LabelSet(x="gbps", y="level", text="label", source=self.source, x_offset=4, y_offset=-6,
                                text_font_size="9pt"))
        self.figure = fig
        self.view = W.HBox([self.html, bokeh_widget(fig)])
        self.set_scenario(sc)

    def set_scenario(self, sc):
        rows = [(f.label, format_value(f.value)) for f in summary(sc)]
        self.html.value = f"<h3 class='nicc-scenario-name'>{sc.name}</h3><p>{sc.description}</p>" + table_html(rows, "nicc-summary")
        self.source.data = bandwidth_hierarchy(sc)


def headline_rows(current: list, baseline: dict | None, domains=None) -> list[dict]:
    """Rows of headline figures (label, value, unit, delta and relative delta against a pinned
    baseline's figures, keyed by (domain, key)), for the domains given (default all)."""
    rows = []
    for h in current:
        if domains is not None and h.domain not in domains:
            continue
        row = {"domain": h.domain, "label": h.label, "value": h.value, "unit": h.unit, "delta": None, "relative": None}
        b = None if baseline is None else baseline.get((h.domain, h.key))
        if b is not None:
            row["delta"] = h.value - b.value
            row["relative"] = (h.value - b.value) / abs(b.value) if b.value else None
        rows.append(row)
    return rows


def headline_html(rows: list[dict], baseline_name: str | None, css_class: str) -> str:
    """An HTML table of :func:`headline_rows` (the delta column only with a baseline)."""
    import html as _html

    head = "<tr><th></th><th>value</th>" + (f"<th>vs {_html.escape(baseline_name)}</th>" if baseline_name else "") + "</tr>"
    body = []
    for r in rows:
        val = f"{r['value']:,.4g} {r['unit']}".strip()
        cell = ""
        if baseline_name:
            if r["delta"] is None:
                cell = "<td></td>"
            else:
                rel = "" if r["relative"] is None else f" ({100 * r['relative']:+.1f}%)"
                cell = f"<td class='nicc-delta'>{r['delta']:+,.4g}{rel}</td>"
        body.append(f"<tr><th style='text-align:left;padding-right:1em'>{_html.escape(r['label'])}</th>"
                    f"<td>{_html.escape(val)}</td>{cell}</tr>")
    return f"<table class='{css_class}'>{head}{''.join(body)}</table>"


class App:
    """The app: selector, summary, domain tabs. ``App(...).view`` is the widget to display."""

    def __init__(self, scenario: str = "cluster-2023"):
        sc = load_scenario(scenario)
        presets = list_presets()
        options = presets if sc.name in presets else presets + [sc.name]
        self._custom = {} if sc.name in presets else {sc.name: sc}
        self.selector = W.Dropdown(options=options, value=sc.name, description="Era / scenario",
                                   style={"description_width": "initial"}, layout=W.Layout(width="420px"))
        self.status = W.HTML()
        self.pin = W.Button(description="Pin as baseline", tooltip="compare every later scenario with this one",
                            layout=W.Layout(width="160px"))
        self.unpin = W.Button(description="Clear baseline", layout=W.Layout(width="140px"), disabled=True)
        self.pin.on_click(self._on_pin)
        self.unpin.on_click(self._on_unpin)
        self.baseline = None  # (scenario name, {(domain, key): Headline})
        self.results = W.HTML()
        self.tab_headline = W.HTML()
        self.summary = SummaryPanel(sc)
        self.dashboards = {}
        self._pending = {}  # title -> (module, placeholder box): a tab is built when first opened
        children, titles = [self.summary.view], ["Summary"]
        for title, module in DOMAIN_TABS:
            if importlib.util.find_spec(module) is None:
                continue  # that domain has not landed: no tab rather than a placeholder
            box = W.VBox([W.HTML(f"<i>Opening the {title} tab ...</i>")])
            self._pending[title] = (module, box)
            children.append(box)
            titles.append(title)
        self.tabs = W.Tab(children=children, titles=tuple(titles))
        self.tabs.observe(self._build_selected, names="selected_index")
        self.tabs.observe(lambda change: self._show_headlines(), names="selected_index")
        self.selector.observe(self._on_select, names="value")
        header = W.HTML("<h2 style='margin:0'>NICC Twin</h2><div>Digital twin of an AI computing centre, after "
                        "China Mobile's NICC white paper: interconnect, compute, storage, platform, energy.</div>")
        self.view = W.VBox([header, W.HBox([self.selector, self.pin, self.unpin, self.status]), self.tab_headline,
                            self.tabs])
        self.scenario = sc
        self.summary.view.children = tuple(self.summary.view.children) + (self.results,)
        self._run(sc)

    # --- the whole twin's headline figures, and the baseline pin -------------------------
    def _run(self, sc):
        """Run the whole twin on ``sc`` and show its headline figures (with deltas if pinned)."""
        t = Twin(sc)
        t.run()
        self.current = headlines(t.state)
        self._show_headlines()

    def _show_headlines(self):
        base = None if self.baseline is None else self.baseline[1]
        name = None if self.baseline is None else self.baseline[0]
        self.results.value = (f"<h4>Results of the whole twin: <span class='nicc-results-name'>{self.scenario.name}</span></h4>"
                              + headline_html(headline_rows(self.current, base), name, "nicc-results"))
        idx = self.tabs.selected_index or 0
        title = self.tabs.titles[idx] if idx < len(self.tabs.titles) else "Summary"
        dom = TAB_DOMAINS.get(title)
        self.tab_headline.value = "" if dom is None else headline_html(
            headline_rows(self.current, base, {dom}), name, "nicc-tab-headline")

    def _build_selected(self, change=None):
        """Build the selected tab's dashboard the first time it is opened (lazy: a session that
        never opens a tab never pays for it), on the scenario selected at that time."""
        idx = self.tabs.selected_index
        if idx is None or idx >= len(self.tabs.titles):
            return
        self.build_tab(self.tabs.titles[idx])

    def build_tab(self, title: str):
        """The dashboard of tab ``title``, built now if it was not yet (None if it failed)."""
        if title not in self._pending:
            return self.dashboards.get(title)
        module, box = self._pending.pop(title)
        try:
            mod = importlib.import_module(module)
            # the Eras tab opens another tab on another era: it gets the shell's callback
            sc = self.scenario
            dash = mod.Dashboard(sc, open_tab=self.open_tab) if title == "Eras" else mod.Dashboard(sc)
            self.dashboards[title] = dash
            box.children = (dash.view,)
            return dash
        except Exception as exc:  # a broken tab must not take the app down; show why
            box.children = (error_box(exc),)
            return None

    def open_tab(self, title: str, scenario_name: str) -> None:
        """Select the tab ``title`` on the scenario ``scenario_name`` (the Eras tab's row clicks)."""
        if scenario_name != self.selector.value and scenario_name in self.selector.options:
            self.selector.value = scenario_name  # runs the twin and updates every tab
        if title in self.tabs.titles:
            self.tabs.selected_index = list(self.tabs.titles).index(title)

    def _on_pin(self, _=None):
        self.baseline = (self.scenario.name, {(h.domain, h.key): h for h in self.current})
        self.pin.description = f"Pinned: {self.scenario.name}"[:24]
        self.unpin.disabled = False
        self._show_headlines()

    def _on_unpin(self, _=None):
        self.baseline = None
        self.pin.description = "Pin as baseline"
        self.unpin.disabled = True
        self._show_headlines()

    def _on_select(self, change):
        name = change["new"]
        try:
            sc = self._custom.get(name) or load_scenario(name)
        except Exception as exc:
            self.status.value = error_box(exc).value
            return
        self.scenario = sc
        self.summary.set_scenario(sc)
        try:
            self._run(sc)
        except Exception as exc:
            self.status.value = error_box(exc).value
            return
        for title, dash in self.dashboards.items():
            try:
                dash.set_scenario(sc)
            except Exception as exc:
                self.status.value = f"{title}: " + error_box(exc).value
                return
        self.status.value = ""
