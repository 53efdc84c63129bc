"""The Fabric tab (white paper 3.2): fabric picture with link utilisation, ECMP vs spraying vs
GSE vs adaptive routing, incast queues under five congestion controls, FEC latency, optics power.

Controls pick the job size, traffic pattern, placement, topology, load balancing, QPs per pair
and incast fan-in. Every figure updates by assigning its ColumnDataSource's ``data``.
"""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

import twin.fabric as F
from twin import catalog
from twin.errors import TwinError
from twin.fabric import topology as T

from .common import bokeh_widget

LB_COLORS = {"ecmp": "#e53e3e", "spraying": "#3182ce", "gse": "#38a169", "adaptive": "#d69e2e"}
CC_COLORS = {"pfc": "#718096", "dcqcn": "#e53e3e", "hpcc": "#dd6b20", "credits": "#805ad5", "dgsq": "#38a169"}
SPEEDS = (100, 200, 400, 800)
TECH_COLORS = {"dsp": "#4a5568", "lpo": "#3182ce", "cpo": "#38a169"}
MAX_SEGMENTS = 4000
S_AR = 8e9  # all-reduce message per GPU in the bar chart: 1 GB [bit]
MAX_JOB_NODES = 512  # the slider reaches the whole cluster of every preset (largest: 512 nodes)


def _palette_color(u: np.ndarray) -> list[str]:
    from bokeh.palettes import Turbo256

    idx = np.clip((np.asarray(u) * 255).round().astype(int), 0, 255)
    return [Turbo256[i] for i in idx]


def fabric_picture(fab: T.Fabric, util: np.ndarray) -> tuple[dict, dict]:
    """Segments (switch-to-switch links, coloured by the larger utilisation of the two
    directions) and switch nodes (leaves coloured by their busiest NIC link)."""
    P, L, u = fab.lu.shape
    n_mid = u * (fab.pods if fab.tiers == 3 else 1)
    n_core = u * fab.v if fab.tiers == 3 else 0
    width = 1.0 / P

    def xpos(i, n, p):
        return p * width + width * (np.asarray(i) + 0.5) / max(n, 1)

    x0, y0, x1, y1, us = [], [], [], [], []
    nx_, ny_, nc_, nl_ = [], [], [], []
    e = np.arange(fab.n_endpoints)
    for p in range(P):
        lu_u = np.maximum(util[fab.lu[p]], util[fab.ld[p]])  # (L, u)
        leaf_x = xpos(np.arange(L), L, p)
        if fab.tiers == 2:
            mid_idx = np.tile(np.arange(u), (L, 1))
        else:
            mid_idx = (np.arange(L) // fab.leaves_per_pod)[:, None] * u + np.arange(u)[None, :]
        mid_x = xpos(np.arange(n_mid), n_mid, p)
        x0.append(np.repeat(leaf_x, u))
        x1.append(mid_x[mid_idx].ravel())
        y0.append(np.zeros(L * u))
        y1.append(np.ones(L * u))
        us.append(lu_u.ravel())
        if fab.tiers == 3:
            core_x = xpos(np.arange(n_core), n_core, p)
            au_u = np.maximum(util[fab.au[p]], util[fab.ad[p]])  # (pods, u, v)
            pod, j, m = np.meshgrid(np.arange(fab.pods), np.arange(u), np.arange(fab.v), indexing="ij")
            x0.append(mid_x[(pod * u + j).ravel()])
            x1.append(core_x[(j * fab.v + m).ravel()])
            y0.append(np.ones(pod.size))
            y1.append(np.full(pod.size, 2.0))
            us.append(au_u.ravel())
            nx_ += list(core_x)
            ny_ += [2.0] * n_core
            nc_ += ["#805ad5"] * n_core
            nl_ += [f"GSF core {p}.{k}" for k in range(n_core)]
        acc = np.maximum(util[fab.a_up[p]], util[fab.a_dn[p]])
        leaf_busy = np.zeros(L)
        np.maximum.at(leaf_busy, fab.leaf_of(e), acc)
        nx_ += list(leaf_x)
        ny_ += [0.0] * L
        nc_ += _palette_color(leaf_busy)
        nl_ += [f"GSP leaf {p}.{k}: busiest NIC link {b:.0%}" for k, b in enumerate(leaf_busy)]
        nx_ += list(mid_x)
        ny_ += [1.0] * n_mid
        nc_ += ["#2d3748"] * n_mid
        nl_ += [f"GSF {'spine' if fab.tiers == 2 else 'aggregation'} {p}.{k}" for k in range(n_mid)]
    x0, x1, y0, y1, us = (np.concatenate(a) for a in (x0, x1, y0, y1, us))
    order = np.argsort(us, kind="stable")  # busiest drawn last (on top)
    if len(order) > MAX_SEGMENTS:  # keep the busiest half and an even sample of the rest
        keep = np.unique(np.concatenate([order[-MAX_SEGMENTS // 2:],
                                         order[np.linspace(0, len(order) - 1, MAX_SEGMENTS // 2).astype(int)]]))
        order = keep[np.argsort(us[keep], kind="stable")]
    seg = {"x0": x0[order], "y0": y0[order], "x1": x1[order], "y1": y1[order],
           "color": _palette_color(us[order]), "alpha": 0.25 + 0.75 * us[order], "util": us[order]}
    nodes = {"x": nx_, "y": ny_, "color": nc_, "label": nl_}
    return seg, nodes


def _fabric_key(fab: T.Fabric) -> tuple:
    """What identifies a built fabric (cache key that cannot be confused by object ids)."""
    return (fab.topology, fab.n_nodes, fab.rails, fab.nic_speed, fab.spine_speed, fab.radix, fab.oversubscription)


class Dashboard:
    """Fabric dashboard: ``Dashboard(scenario).view`` is the widget."""

    def __init__(self, scenario):
        from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Legend, LinearColorMapper, ColorBar
        from bokeh.palettes import Turbo256
        from bokeh.layouts import row
        from bokeh.plotting import figure

        self.scenario = scenario
        style = {"description_width": "initial"}
        n_max = int(min(MAX_JOB_NODES, scenario.compute.nodes))
        self.nodes = W.IntSlider(value=min(64, n_max), min=2, max=max(n_max, 2), step=1, description="Job nodes",
                                 continuous_update=False, style=style, layout=W.Layout(width="330px"))
        self.pattern = W.Dropdown(options=["ring", "all-to-all", "permutation", "incast"], value="ring",
                                  description="Traffic", style=style, layout=W.Layout(width="200px"))
        self.placement = W.Dropdown(options=["contiguous", "scattered"], value=str(scenario.fabric.placement), description="Placement",
                                    style=style, layout=W.Layout(width="220px"))
        self.topology = W.Dropdown(options=list(F.TOPOLOGIES), value=str(scenario.fabric.topology),
                                   description="Topology", style=style, layout=W.Layout(width="240px"))
        self.lb = W.Dropdown(options=list(F.LOAD_BALANCING), value=str(scenario.fabric.load_balancing),
                             description="Load balancing", style=style, layout=W.Layout(width="230px"))
        self.qps = W.IntSlider(value=int(scenario.fabric.flows_per_pair), min=1, max=16, description="QPs per pair",
                               continuous_update=False, style=style, layout=W.Layout(width="300px"))
        self.fan_in = W.IntSlider(value=32, min=2, max=128, description="Incast senders", continuous_update=False,
                                  style=style, layout=W.Layout(width="330px"))
        self.storage = W.Checkbox(value=False, description="Storage background", indent=False,
                                  layout=W.Layout(width="180px"))
        self.readout = W.HTML(layout=W.Layout(min_height="2.5em"))
        self.readout.add_class("nicc-fabric-readout")
        self.error = W.HTML()
        self._ar_cache = {}
        self._sol_cache = {}
        self._route_cache = {}

        # fabric picture
        fig = figure(height=330, width=760, title="Fabric: switch links coloured by utilisation (job traffic)",
                     toolbar_location="above", tools="pan,wheel_zoom,box_zoom,reset,save", y_range=(-0.3, 2.3))
        fig.axis.visible = False
        fig.grid.visible = False
        self.seg_src = ColumnDataSource({"x0": [], "y0": [], "x1": [], "y1": [], "color": [], "alpha": [], "util": []})
        self.node_src = ColumnDataSource({"x": [], "y": [], "color": [], "label": []})
        segs = fig.segment("x0", "y0", "x1", "y1", color="color", line_alpha="alpha", line_width=1.2, source=self.seg_src)
        nodes_r = fig.scatter("x", "y", size=7, color="color", source=self.node_src)
        fig.add_tools(HoverTool(renderers=[nodes_r], tooltips=[("", "@label")]))
        fig.add_tools(HoverTool(renderers=[segs], tooltips=[("utilisation", "@util{0%}")]))
        mapper = LinearColorMapper(palette=Turbo256, low=0, high=1)
        fig.add_layout(ColorBar(color_mapper=mapper, width=8, title="util"), "right")
        self.fig_fabric = fig

        # ECMP vs spraying vs GSE vs adaptive
        lbs = list(F.LOAD_BALANCING)
        self.lb_src = ColumnDataSource({"lb": lbs, "gbps": [0.0] * 4, "ms": [0.0] * 4, "color": [LB_COLORS[x] for x in lbs],
                                        "label": [""] * 4})
        f1 = figure(x_range=lbs, height=260, width=370, title="Per-node throughput: mean max-min rate at step start",
                    y_axis_label="GB/s (mean over sending nodes)", toolbar_location=None)
        f1.vbar(x="lb", top="gbps", width=0.7, color="color", source=self.lb_src)
        f1.add_tools(HoverTool(tooltips=[("", "@lb: @gbps{0.0} GB/s")]))
        f2 = figure(x_range=lbs, height=260, width=370, title="Ring all-reduce 1 GB/GPU: completion (no background)",
                    y_axis_label="ms (each step waits for its slowest flow)", toolbar_location=None)
        f2.vbar(x="lb", top="ms", width=0.7, color="color", source=self.lb_src)
        f2.add_tools(HoverTool(tooltips=[("", "@lb: @ms{0.00} ms")]))
        self.fig_lb, self.fig_ar = f1, f2

        # incast queue depth
        f3 = figure(height=280, width=760, title="Incast: egress queue depth (fluid model, 1 us steps)",
                    x_axis_label="time [us]", y_axis_label="queue [KB]", toolbar_location="above",
                    tools="pan,wheel_zoom,box_zoom,reset,save")
        self.cc_src = {}
        items = []
        for cc, col in CC_COLORS.items():
            src = ColumnDataSource({"t": [], "q": []})
            r = f3.line("t", "q", source=src, color=col, line_width=2)
            self.cc_src[cc] = src
            items.append((cc, [r]))
        f3.add_layout(Legend(items=items, location="top_right", label_text_font_size="8pt"))
        self.fig_incast = f3

        # FEC latency per speed (static)
        cats = [f"{s}G" for s in SPEEDS]
        acc = [F.fec_latency(f"{s * 1.0625} Gbit/s", "rs544", part="accumulation").magnitude for s in SPEEDS]
        dec = [F.fec_latency(f"{s * 1.0625} Gbit/s", "rs544", part="decode").magnitude for s in SPEEDS]
        byp = [F.fec_latency(f"{s * 1.0625} Gbit/s", "rs544", bypass=True, ber=1e-6).magnitude for s in SPEEDS]
        f4 = figure(x_range=cats, height=260, width=370, title="RS(544,514) FEC latency per link end",
                    y_axis_label="ns", toolbar_location=None, y_range=(0, 1.6 * (acc[0] + dec[0])))
        fec_src = ColumnDataSource({"speed": cats, "accumulation": acc, "decode": dec, "bypass": byp})
        f4.vbar_stack(["accumulation", "decode"], x="speed", width=0.7, color=["#3182ce", "#90cdf4"], source=fec_src,
                      legend_label=["accumulation", "decode"])
        f4.scatter("speed", "bypass", size=9, color="#e53e3e", marker="diamond", source=fec_src,
                   legend_label="detect-then-correct, BER 1e-6")
        f4.legend.label_text_font_size = "8pt"
        self.fig_fec = f4

        # optics power (static, catalog)
        rows = []
        for name in catalog.names("optics"):
            e = catalog.get("optics", name)
            rows.append((f"{e.speed.to('Gbit/s').magnitude:g}G", e.technology, e.power.to("W").magnitude))
        speeds = sorted({r[0] for r in rows}, key=lambda s: float(s[:-1]))
        x = [(s, t) for s in speeds for t in ("dsp", "lpo", "cpo") if any(r[0] == s and r[1] == t for r in rows)]
        pw = {(r[0], r[1]): r[2] for r in rows}
        f5 = figure(x_range=FactorRange(*x), height=260, width=370, title="Optics power per port (catalog)",
                    y_axis_label="W", toolbar_location=None)
        f5.vbar(x="x", top="w", width=0.8, color="color",
                source=ColumnDataSource({"x": x, "w": [pw[k] for k in x], "color": [TECH_COLORS[k[1]] for k in x]}))
        f5.xaxis.major_label_orientation = 1.0
        self.fig_optics = f5

        for w in (self.nodes, self.pattern, self.placement, self.topology, self.lb, self.qps, self.storage):
            w.observe(self._on_fabric, names="value")
        self.fan_in.observe(self._on_incast, names="value")

        # first data before the figures are wrapped (the wrapper serialises the document);
        # this also warms the numba kernels
        self._redraw_fabric()
        self._redraw_incast()

        controls = W.VBox([W.HBox([self.nodes, self.pattern, self.placement, self.storage]),
                           W.HBox([self.topology, self.lb, self.qps, self.fan_in])])
        self.view = W.VBox([
            W.HTML("<b>Fabric (white paper 3.2)</b>: RoCE/IB fat trees, per-flow ECMP vs per-packet spraying vs GSE "
                   "packet containers, incast under PFC / DCQCN / HPCC / receiver credits / GSE DGSQ, FEC and optics."),
            controls, self.readout, self.error,
            bokeh_widget(self.fig_fabric),
            bokeh_widget(row(self.fig_lb, self.fig_ar)),
            bokeh_widget(self.fig_incast),
            bokeh_widget(row(self.fig_fec, self.fig_optics)),
        ])
        self.view.add_class("nicc-fabric-tab")

    # -- scenario --------------------------------------------------------------------------
    def _scenario(self):
        return self.scenario.with_overrides({"fabric": {"topology": self.topology.value}})

    def set_scenario(self, scenario):
        self.scenario = scenario
        self._ar_cache.clear()  # latencies (switch, NIC) come from the scenario
        n_max = int(min(MAX_JOB_NODES, scenario.compute.nodes))
        with self.nodes.hold_trait_notifications():
            self.nodes.max = max(n_max, 2)
            self.nodes.value = min(self.nodes.value, self.nodes.max)
        for w, v in ((self.topology, scenario.fabric.topology), (self.lb, scenario.fabric.load_balancing),
                     (self.qps, int(scenario.fabric.flows_per_pair)), (self.placement, scenario.fabric.placement)):
            w.unobserve(self._on_fabric, names="value")
            w.value = v
            w.observe(self._on_fabric, names="value")
        self._redraw_fabric()
        self._redraw_incast()

    # -- events ----------------------------------------------------------------------------
    def _on_fabric(self, _change=None):
        self._redraw_fabric()

    def _on_incast(self, _change=None):
        self._redraw_incast()

    # -- compute ---------------------------------------------------------------------------
    def _redraw_fabric(self):
        try:
            self.error.value = ""
            sc = self._scenario()
            n = int(self.nodes.value)
            fab = F.fabric_from_scenario(sc)
            src, dst = F.traffic(fab, self.pattern.value, n, placement=self.placement.value, seed=1,
                                 sample=min(16, F.all_to_all_sample(fab, n, "spraying")))
            gbps, ms = [], []
            sols = {}
            node = src // fab.rails
            senders = np.unique(node)
            n_job = len(src)
            demand = None
            bg = ""
            if self.storage.value:
                # storage reads in the background: the scenario's aggregate storage bandwidth shared
                # by all nodes, served by 1/8 of the fabric's nodes (converged storage)
                k = max(1, fab.n_nodes // 8)
                s2, d2 = F.traffic(fab, "storage", n, placement=self.placement.value, seed=1, storage_nodes=k)
                per_node = sc.storage.bandwidth.to("bit/s").magnitude / fab.n_nodes
                src, dst = np.concatenate([src, s2]), np.concatenate([dst, d2])
                demand = np.concatenate([np.full(n_job, np.inf), np.full(len(s2), per_node)])
                bg = f" + storage reads {per_node / 8e9:.2f} GB/s per node from {k} servers"
            for lb in F.LOAD_BALANCING:
                sol = self._solution(fab, src, dst, demand, lb, n)
                sols[lb] = sol
                gbps.append(float(np.bincount(node, weights=sol.rate[:n_job])[senders].mean() / 8e9))
                ms.append(self._allreduce_ms(fab, n, lb))
            self.lb_src.data = {"lb": list(F.LOAD_BALANCING), "gbps": gbps, "ms": ms,
                                "color": [LB_COLORS[x] for x in F.LOAD_BALANCING], "label": [f"{g:.1f}" for g in gbps]}
            sol = sols[self.lb.value]
            seg, nodes = fabric_picture(fab, sol.utilisation)
            self.seg_src.data = seg
            self.node_src.data = nodes
            i = list(F.LOAD_BALANCING).index(self.lb.value)
            busiest = float(sol.utilisation.max())
            t_step = self._ar_cache[self._ar_key(fab, n, self.lb.value)][1]
            step_gbs = S_AR / fab.rails / n * fab.rails / t_step / 8e9
            self.readout.value = (
                f"<span>{html.escape(sc.name)}: {fab.topology}, {fab.tiers} tiers, {fab.planes} plane(s), "
                f"{fab.n_leaves * fab.planes} leaves (GSP) / {fab.gse_roles()['GSF']} GSF switches. "
                f"Job of {n} nodes, {self.pattern.value} ({self.placement.value}){bg}, {self.lb.value} with "
                f"{self.qps.value} QP(s) per pair: <b>{gbps[i]:.1f} GB/s per node</b> (mean max-min rate at step start), "
                f"slowest flow {sol.rate[:n_job].min() / 1e9:.1f} Gbit/s, busiest link {busiest:.0%}; ring all-reduce "
                f"1 GB: <b>{ms[i]:.2f} ms</b>, a ring step (completion, as collectives and training see it) "
                f"moves {step_gbs:.1f} GB/s per node.{self._nic_note(sc)}</span>")
        except TwinError as exc:
            self.error.value = f"<div class='nicc-error' style='color:#b00020'>{html.escape(str(exc))}</div>"

    def _nic_note(self, sc) -> str:
        """Per-packet spraying needs NICs that place out-of-order packets; GSE reorders at the GSP."""
        if self.lb.value != "spraying":
            return ""
        speed = sc.fabric.nic_speed.to("Gbit/s").magnitude
        for name in catalog.names("nics"):
            e = catalog.get("nics", name)
            if abs(e.speed.to("Gbit/s").magnitude - speed) < 1e-6:
                if not e.get("reorder", False):
                    return (f" <i>Note: spraying assumes out-of-order placement in the NIC; a {name} does not "
                            f"have it (GSE packet containers are reordered at the egress GSP instead).</i>")
                return ""
        return ""

    def _solution(self, fab, src, dst, demand, lb, n):
        """Max-min rates of the job's flows, cached per (fabric, traffic, load balancing, QPs).
        Spraying and GSE containers are the same even split at flow level: solved once. QPs per
        pair only matter to ECMP and adaptive routing."""
        flow_lb = "spraying" if lb == "gse" else lb
        qps = int(self.qps.value) if flow_lb in ("ecmp", "adaptive") else 1
        key = (_fabric_key(fab), self.pattern.value, n, self.placement.value, bool(self.storage.value), flow_lb, qps)
        if key not in self._sol_cache:
            if len(self._sol_cache) > 256:
                self._sol_cache.clear()
            if self.pattern.value == "ring" and not self.storage.value:
                rt = self._ring_route(fab, n, flow_lb, qps)  # the same flows as the all-reduce bars
            else:
                rt = F.route(fab, src, dst, flow_lb, qps, 1)
            self._sol_cache[key] = F.solve(fab, rt, demand=demand)
        return self._sol_cache[key]

    def _ring_route(self, fab, n, lb, qps):
        """Routing of the job's rail-matched ring (seed 1), cached: the all-reduce bars and the ring
        pattern share it (building the spraying incidence of a large 3-tier fabric is the costly part)."""
        key = (_fabric_key(fab), n, self.placement.value, lb, qps)
        if key not in self._route_cache:
            if len(self._route_cache) > 16:
                self._route_cache.clear()
            src, dst = F.traffic(fab, "ring", n, placement=self.placement.value, seed=1)
            self._route_cache[key] = F.route(fab, src, dst, lb, qps, 1)
        return self._route_cache[key]

    def _ar_key(self, fab, n, lb):
        flow_lb = "spraying" if lb == "gse" else lb
        qps = int(self.qps.value) if flow_lb in ("ecmp", "adaptive") else 1
        return (_fabric_key(fab), n, self.placement.value, flow_lb, qps)

    def _allreduce_ms(self, fab, n, lb):
        # ring over the same placement as the picture; latency from the scenario's hop count
        key = self._ar_key(fab, n, lb)
        if key not in self._ar_cache:
            if len(self._ar_cache) > 256:
                self._ar_cache.clear()
            self._ar_cache[key] = self._allreduce_ms_uncached(fab, n, key[3], key[4])
        return self._ar_cache[key][0]

    def _allreduce_ms_uncached(self, fab, n, lb, qps):
        """(time [ms], step time [s]) of a ring all-reduce of 1 GB per GPU (completion-based)."""
        from twin.fabric.routing import ring_allreduce_time

        lat = F.base_latency(self._scenario(), n).to("s").magnitude
        r = ring_allreduce_time(fab, n, S_AR, load_balancing=lb, flows_per_pair=qps, seed=1, hop_latency=lat,
                                placement=self.placement.value)
        return r["time"] * 1e3, r["step_time"]

    def _redraw_incast(self):
        try:
            f = self.scenario.fabric
            gb = f.nic_speed.to("Gbit/s").magnitude
            for cc, src in self.cc_src.items():
                ds = F.incast(cc, int(self.fan_in.value), f"{gb} Gbit/s", duration="0.6 ms", message_size="0.25 MB")
                t = ds["time"].values
                q = ds["queue"].values
                step = max(1, len(t) // 600)
                src.data = {"t": t[::step], "q": q[::step]}
        except TwinError as exc:
            self.error.value = f"<div class='nicc-error' style='color:#b00020'>{html.escape(str(exc))}</div>"
