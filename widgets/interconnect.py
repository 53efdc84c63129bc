"""The Interconnect tab (white paper 3.1): topologies, collectives, Table 3-1, the era path.

Controls pick the accelerator, topology, collective, algorithm and card count. The tab shows
busbw against message size (log axis) for every topology the accelerator can form side by side,
the selected topology's graph, the bandwidth each parallel strategy needs against what the
scenario's topology (and the alternatives) offer, and the era path PCIe -> 8-card bus -> S^2.
"""
from __future__ import annotations

import html
import math

import ipywidgets as W
import numpy as np

from twin import catalog
from twin.errors import InputError
from twin.interconnect import ALGORITHMS, COLLECTIVES, TOPOLOGIES, build_topology, sweep, topology_offer

from .common import bokeh_widget

SIZES = np.logspace(10, 33, 47, base=2.0)  # 1 KiB .. 8 GiB
COLORS = {"pcie": "#718096", "nvlink-hcm": "#dd6b20", "nvswitch": "#2b6cb0", "oam-hcm": "#b7791f",
          "oam-fc": "#38a169", "s2-switch": "#805ad5"}
MAX_CARDS = {"pcie": 10, "nvlink-hcm": 8, "oam-hcm": 8, "oam-fc": 8, "nvswitch": 256, "s2-switch": 256}
ERA_PATH = (("heterogeneous-2021", "PCIe era"), ("cluster-2023", "8-card bus"), ("superpool-2025", "S^2 super-server"))


EDGE_COLORS = {"pcie": "#a0aec0", "upi": "#c53030", "scale-up": "#38a169"}


def _numa_note(topo) -> str:
    """Readout line for topologies whose cards hang off two CPU sockets: the inter-socket hop."""
    g = topo.graph
    if not g.has_edge("cpu0", "cpu1"):
        return ""
    e = g.edges["cpu0", "cpu1"]
    # card -> PCIe switch -> CPU -> CPU -> PCIe switch -> card: 5 hops; direct links and
    # same-socket paths are shorter, so only pairs that really cross the socket link qualify
    pairs = [(i, j) for i in range(topo.cards) for j in range(i + 1, topo.cards) if topo.dist[i, j] >= 5]
    if not pairs:
        return ""
    i, j = pairs[0]
    who = "cards on different sockets" if topo.name == "pcie" else f"{len(pairs)} card pairs without a direct link"
    return (f"<br><small class='nicc-ic-numa'>NUMA: {who} (e.g. #{i} and #{j}) meet over "
            f"the inter-socket link ({html.escape(str(e['family']))}, red in the graph): "
            f"{e['bandwidth'] / 1e9:,.0f} GB/s per direction, {e['latency'] * 1e6:,.1f} us</small>")


def feasible_cards(topology: str, accelerator: str, cards: int) -> int | None:
    """The card count to draw ``topology`` with (clamped to what it holds) or None if impossible."""
    fixed = {"nvlink-hcm": 8, "oam-hcm": 8}
    n = fixed.get(topology, min(cards, MAX_CARDS[topology]))
    if topology == "s2-switch":
        n = max(n, 2)
    for trial in (n, 8, 2):
        try:
            build_topology(topology, accelerator, trial)
            return trial
        except InputError:
            continue
    return None


def graph_layout(topo) -> dict:
    """Node and edge coordinates of a topology for drawing: cards on a circle, host parts and
    first-level switches on an inner circle, a second switch tier in the centre."""
    nodes = topo.nodes
    n = topo.cards
    pos = {}
    for i in range(n):
        a = 2 * math.pi * i / n
        pos[nodes[i]] = (math.cos(a), math.sin(a))
    others = nodes[n:]
    inner = [v for v in others if v not in ("nvl-l2", "s2-spine", "nvswitch", "s2-switch")]
    centre = [v for v in others if v not in inner]
    for k, v in enumerate(inner):
        a = 2 * math.pi * (k + 0.5) / max(1, len(inner))
        pos[v] = (0.55 * math.cos(a), 0.55 * math.sin(a))
    for v in centre:
        pos[v] = (0.0, 0.0)
    kinds = {v: topo.graph.nodes[v]["kind"] for v in nodes}
    color = {"accelerator": "#2b6cb0", "switch": "#805ad5", "host": "#4a5568", "pcie-switch": "#a0aec0"}
    seen = set()
    xs, ys, ws, cs = [], [], [], []
    bmax = float(np.max(topo.bandwidth)) if len(topo.bandwidth) else 1.0
    for (u, v), bw in zip(topo.edges, topo.bandwidth):
        key = tuple(sorted((u, v)))
        if key in seen:
            continue
        seen.add(key)
        xs.append([pos[u][0], pos[v][0]])
        ys.append([pos[u][1], pos[v][1]])
        ws.append(0.6 + 3.5 * bw / bmax)
        fam = topo.graph.edges[u, v]["family"]
        cs.append(EDGE_COLORS["upi"] if fam.startswith("upi") else EDGE_COLORS["pcie"] if fam.startswith("pcie")
                  else EDGE_COLORS["scale-up"])
    size = 12 if n <= 16 else (7 if n <= 64 else 4)
    return {
        "nodes": {"x": [pos[v][0] for v in nodes], "y": [pos[v][1] for v in nodes],
                  "color": [color.get(kinds[v], "#718096") for v in nodes],
                  "size": [size if kinds[v] == "accelerator" else 16 for v in nodes],
                  "label": [topo.graph.nodes[v].get("label", v) for v in nodes]},
        "edges": {"xs": xs, "ys": ys, "width": ws, "color": cs},
    }


class Dashboard:
    """Interconnect dashboard: ``Dashboard(scenario).view`` is the widget."""

    def __init__(self, scenario):
        from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Legend
        from bokeh.plotting import figure

        self.scenario = scenario
        acc_names = catalog.names("accelerators")
        style = {"description_width": "initial"}
        self.accelerator = W.Dropdown(options=acc_names, value=scenario.compute.accelerator, description="Accelerator",
                                      style=style, layout=W.Layout(width="300px"))
        self.topology = W.Dropdown(options=list(TOPOLOGIES), value=scenario.compute.topology, description="Topology",
                                   style=style, layout=W.Layout(width="220px"))
        self.collective = W.Dropdown(options=list(COLLECTIVES), value="all-reduce", description="Collective",
                                     style=style, layout=W.Layout(width="220px"))
        self.algorithm = W.Dropdown(options=list(ALGORITHMS), value="auto", description="Algorithm",
                                    style=style, layout=W.Layout(width="200px"))
        self.cards = W.IntSlider(value=int(scenario.compute.domain_size), min=2, max=256, step=1, description="Cards",
                                 continuous_update=False, style=style, layout=W.Layout(width="360px"))
        self.readout = W.HTML(layout=W.Layout(min_height="2.5em"))
        self.readout.add_class("nicc-ic-readout")

        # busbw vs message size, one line per topology
        self.lines = {}
        fig = figure(x_axis_type="log", height=330, width=640, title="Bus bandwidth vs message size",
                     x_axis_label="message size [B]", y_axis_label="busbw [GB/s]", toolbar_location="above",
                     tools="pan,wheel_zoom,box_zoom,reset,save")
        items = []
        for t in TOPOLOGIES:
            src = ColumnDataSource({"size": [], "busbw": [], "algorithm": []})
            r = fig.line("size", "busbw", source=src, color=COLORS[t], line_width=2)
            self.lines[t] = r
            items.append((t, [r]))
        fig.add_tools(HoverTool(tooltips=[("size", "@size{0.0a}B"), ("busbw", "@busbw{0.0} GB/s"), ("alg", "@algorithm")]))
        fig.add_layout(Legend(items=items, location="top_left", label_text_font_size="8pt"))
        self.fig_busbw = fig

        # topology graph
        g = figure(height=330, width=360, title="Topology graph", toolbar_location=None, x_range=(-1.2, 1.2),
                   y_range=(-1.2, 1.2), match_aspect=True)
        g.axis.visible = False
        g.grid.visible = False
        self.edge_src = ColumnDataSource({"xs": [], "ys": [], "width": [], "color": []})
        self.node_src = ColumnDataSource({"x": [], "y": [], "color": [], "size": [], "label": []})
        g.multi_line("xs", "ys", line_width="width", color="color", alpha=0.6, source=self.edge_src)
        nodes_r = g.scatter("x", "y", size="size", color="color", source=self.node_src)
        g.add_tools(HoverTool(renderers=[nodes_r], tooltips=[("", "@label")]))
        self.fig_graph = g

        # Table 3-1: needed vs offered
        self.table_src = ColumnDataSource({"x": [], "value": [], "color": []})
        t31 = figure(x_range=FactorRange(factors=[("dp", "needed")]), height=300, width=640, y_axis_type="log",
                     title="Table 3-1: bandwidth each strategy needs vs what topologies offer (scenario workload)",
                     y_axis_label="GB/s (log)", toolbar_location=None)
        t31.vbar(x="x", top="value", bottom=0.01, width=0.8, color="color", source=self.table_src)
        t31.xaxis.major_label_orientation = 1.0
        self.fig_table = t31
        self.table_html = W.HTML()

        # era path
        self.era_src = ColumnDataSource({"era": [], "busbw": [], "label": []})
        era = figure(x_range=[lbl for _, lbl in ERA_PATH], height=300, width=360, y_axis_type="log",
                     title="Era path: all-reduce busbw, 8 cards, 1 GiB", y_axis_label="GB/s (log)", toolbar_location=None)
        era.vbar(x="era", top="busbw", bottom=1, width=0.6, color="#2b6cb0", source=self.era_src)
        self.fig_era = era
        self.era_html = W.HTML()

        # fill every source before wrapping the figures: BokehModel serialises the document when
        # it is created, later changes travel as patches once the view is on the page
        for w in (self.accelerator, self.topology, self.collective, self.algorithm, self.cards):
            w.observe(self._on_change, names="value")
        self._warm()
        self._update_plots()
        self._update_era()
        self._update_table(scenario)
        self.view = W.VBox([
            W.HTML("<b>New interconnect inside the node and the super-server</b> (white paper 3.1): "
                   "pick a card and a topology; every collective runs over the graph's links (alpha-beta model)."),
            W.HBox([self.accelerator, self.topology, self.collective, self.algorithm]),
            W.HBox([self.cards, self.readout]),
            W.HBox([bokeh_widget(self.fig_busbw), bokeh_widget(self.fig_graph)]),
            W.HBox([W.VBox([bokeh_widget(self.fig_table), self.table_html]), W.VBox([bokeh_widget(self.fig_era), self.era_html])]),
        ])
        self.view.add_class("nicc-interconnect")

    # -- computation ---------------------------------------------------------------------
    def _warm(self):
        """Compile / load the numba kernels before the first slider move."""
        sweep("nvswitch", "H100-SXM5-80GB", 8, "all-reduce", SIZES[:2])

    def _curve(self, topo: str, acc: str, cards: int):
        alg = self.algorithm.value
        coll = self.collective.value
        try:
            ds = sweep(topo, acc, cards, coll, SIZES, algorithm=alg)
        except InputError:
            if alg == "auto":
                raise
            ds = sweep(topo, acc, cards, coll, SIZES, algorithm="auto")
        return ds

    def _update_plots(self):
        acc = self.accelerator.value
        chosen = self.topology.value
        notes = []
        curves = {}
        for t in TOPOLOGIES:
            n = feasible_cards(t, acc, self.cards.value)
            if n is None:
                self.lines[t].data_source.data = {"size": [], "busbw": [], "algorithm": []}
                continue
            try:
                ds = self._curve(t, acc, n)
            except InputError as exc:
                self.lines[t].data_source.data = {"size": [], "busbw": [], "algorithm": []}
                notes.append(f"{t}: {exc}")
                continue
            curves[(t, n)] = ds
            self.lines[t].data_source.data = {"size": SIZES.tolist(), "busbw": ds.busbw.values.tolist(),
                                              "algorithm": [str(a) for a in ds.algorithm_used.values]}
            self.lines[t].glyph.line_width = 4 if t == chosen else 1.5
            self.lines[t].glyph.line_alpha = 1.0 if t == chosen else 0.55
        fit_note = ""
        try:
            n = int(self.cards.value)
            try:
                topo = build_topology(chosen, acc, n)
            except InputError as exc:
                # more (or fewer) cards than the topology holds: say so, draw the nearest that fits
                n_fit = feasible_cards(chosen, acc, n) if exc.field == "cards" else None
                if n_fit is None:
                    raise
                topo = build_topology(chosen, acc, n_fit)
                fit_note = (f"<br><span class='nicc-ic-error' style='color:#b00020'>{html.escape(str(exc))}</span>"
                            f" &mdash; drawn with {n_fit} cards")
            key = (chosen, topo.cards)
            ds = curves[key] if key in curves else self._curve(chosen, acc, topo.cards)
            lay = graph_layout(topo)
            self.node_src.data = lay["nodes"]
            self.edge_src.data = lay["edges"]
            big = ds.busbw.values[-8]  # 1 GiB
            small = ds.time.values[0] * 1e6
            self.fig_graph.title.text = f"{chosen}: {topo.cards} x {topo.accelerator}"
            self.readout.value = (
                f"<span class='nicc-ic-value'>{html.escape(chosen)}, {topo.cards} cards, {html.escape(self.collective.value)}: "
                f"busbw <b>{big:,.1f} GB/s</b> at 1 GiB ({html.escape(str(ds.algorithm_used.values[-8]))}); "
                f"{small:,.1f} us at 1 KiB; per-card links {topo.card_bandwidth(0) / 1e9:,.0f} GB/s per direction</span>"
                + _numa_note(topo) + fit_note)
        except InputError as exc:
            self.node_src.data = {"x": [], "y": [], "color": [], "size": [], "label": []}
            self.edge_src.data = {"xs": [], "ys": [], "width": [], "color": []}
            self.readout.value = f"<span class='nicc-ic-value' style='color:#b00020'>{html.escape(str(exc))}</span>"
        if notes:
            self.readout.value += "<br><small>" + html.escape("; ".join(notes)) + "</small>"

    def _update_table(self, sc):
        topos = []
        for t in ("pcie", sc.compute.topology, "s2-switch"):
            if t not in topos:
                topos.append(t)
        try:
            ds = topology_offer(sc, topologies=topos)
        except InputError as exc:
            self.table_src.data = {"x": [], "value": [], "color": []}
            self.table_html.value = f"<small>{html.escape(str(exc))}</small>"
            return
        xs, vals, cols = [], [], []
        rows = []
        for s in ds.strategy.values:
            need = float(ds.needed.sel(strategy=s))
            if need <= 0:
                continue
            xs.append((str(s), "needed"))
            vals.append(need)
            cols.append("#c53030")
            cells = []
            for t in topos:
                off = float(ds.offered.sel(strategy=s, topology=t))
                if math.isfinite(off):
                    xs.append((str(s), t))
                    vals.append(max(off, 0.011))
                    cols.append(COLORS[t])
                    cells.append(f"{t}: {off:,.0f} {'✓' if off >= need else '✗'}")
            rows.append(f"<tr><th>{s.upper()}</th><td>{need:,.1f}</td><td>{' | '.join(cells)}</td></tr>")

        self.fig_table.x_range.factors = xs or [("dp", "needed")]
        self.table_src.data = {"x": xs, "value": vals, "color": cols}
        self.table_html.value = ("<table class='nicc-table31'><tr><th>strategy</th><th>needs GB/s</th><th>offered busbw GB/s</th></tr>"
                                 + "".join(rows) + "</table><small>Needs: communication adds at most 10% to the compute it "
                                 "accompanies (MFU 50%); white paper: DP a few-tens, PP a few-teens, TP hundreds of GB/s.</small>")

    def _update_era(self):
        from twin.scenario import load_scenario

        eras, vals, labels = [], [], []
        for preset, label in ERA_PATH:
            try:
                sc = load_scenario(preset)
                n = min(8, int(sc.compute.domain_size))
                ds = sweep(sc.compute.topology, sc.compute.accelerator, int(sc.compute.domain_size), "all-reduce",
                           [2.0**30], group_size=n)
                eras.append(label)
                vals.append(float(ds.busbw.values[0]))
                labels.append(f"{sc.compute.accelerator} {sc.compute.topology}")
            except (InputError, FileNotFoundError):
                continue
        self.era_src.data = {"era": eras, "busbw": vals, "label": labels}
        self.era_html.value = "<br>".join(f"{e}: {l}, <b>{v:,.0f} GB/s</b>" for e, l, v in zip(eras, labels, vals))

    # -- events ----------------------------------------------------------------------------
    def _on_change(self, change):
        self._update_plots()

    def set_scenario(self, scenario):
        """Follow the app's era selector: the scenario's card, topology and domain size."""
        self.scenario = scenario
        for w in (self.accelerator, self.topology, self.cards):
            w.unobserve(self._on_change, names="value")
        try:
            self.accelerator.value = scenario.compute.accelerator
            self.topology.value = scenario.compute.topology
            self.cards.value = max(2, min(256, int(scenario.compute.domain_size)))
        finally:
            for w in (self.accelerator, self.topology, self.cards):
                w.observe(self._on_change, names="value")
        self._update_plots()
        self._update_table(scenario)
