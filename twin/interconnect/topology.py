"""Card-to-card topologies of white paper 3.1 as networkx graphs built from the catalog.

Every builder returns a :class:`Topology`: a directed graph whose nodes are accelerators
(``g0`` ... ``g{n-1}``, kind ``"accelerator"``), host parts (``cpu0``, ``pcie-sw0``) and
switches; each physical connection is two directed edges carrying ``bandwidth`` [B/s per
direction], ``latency`` [s], ``efficiency`` (protocol payload share), ``links`` (parallel
physical links) and ``family`` (catalog link name).

The parallel switch chips of one baseboard (e.g. the 4 NVSwitches of an HGX H100) are one
logical switch node whose ``chips`` attribute counts them: NVLink stripes every transfer over
all of a GPU's links, so the chips carry equal shares and act as one switch of their summed
bandwidth. The same holds for the second tier of the NVLink Switch System and of S^2.
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .. import catalog
from ..errors import InputError

TOPOLOGIES = ("pcie", "nvlink-hcm", "nvswitch", "oam-hcm", "oam-fc", "s2-switch")

#: Payload share NCCL's collectives reach on one NVLink, by GPU generation: NCCL's effective
#: per-link bandwidth (NVIDIA/nccl src/graph/topo.h: SM70_NVLINK_BW and SM80_NVLINK_BW 20.0,
#: SM90_NVLINK_BW 20.6, SM100_NVLINK_BW 40.1 GB/s) over the link's line rate per direction
#: (NVLink2/3/4 25 GB/s, NVLink5 50 GB/s; datasets/catalog/links.toml). Sourced, not fitted:
#: it predicts nccl-allreduce-8xA100-nvswitch and nccl-allreduce-8xH100-ring.
NVLINK_EFFICIENCY = {"nvlink1": 18.0 / 20.0, "nvlink2": 20.0 / 25.0, "nvlink3": 20.0 / 25.0, "nvlink4": 20.6 / 25.0,
                     "nvlink5": 40.1 / 50.0}

#: Protocol (payload) efficiency of each link class.
#: - scale-up links of other vendors (OAM/xGMI, HCCS, MLU-Link, ...): no NCCL-like figure is
#:   published per link, so the mean of NCCL's NVLink shares above (0.806) is carried over
#:   (assumption; predicted on nccl-p2p-2xMI300X-xgmi, where AMD reports about 48 of 64 GB/s).
#:   NVLink families use :data:`NVLINK_EFFICIENCY`.
#: - PCIe: TLP efficiency with 256 B max payload, 256 / (256 + 24) (16 B header + 8 B framing,
#:   sequence number and LCRC; Xilinx WP350 "Understanding Performance of PCI Express Systems").
#: - inter-socket UPI: same as PCIe (assumption; the flit overhead is already in the catalog rate).
EFFICIENCY = {"scale-up": sum(list(NVLINK_EFFICIENCY.values())[1:]) / 4, "bus": 256.0 / 280.0,
              "socket": 256.0 / 280.0}


def link_efficiency(family: str, klass: str) -> float:
    """Payload share of a link [1]: NCCL's per-generation NVLink figure for NVLink families,
    else the class default (:data:`EFFICIENCY`)."""
    if klass == "scale-up" and family in NVLINK_EFFICIENCY:
        return NVLINK_EFFICIENCY[family]
    return EFFICIENCY[klass]

#: NVSwitch chips per 8-GPU baseboard by switch generation (NVIDIA DGX-2 / DGX A100 / DGX H100
#: / GB200 NVL72 documentation); only shown, the bandwidth comes from the GPU's links.
NVSWITCH_CHIPS = {"nvswitch1": 6, "nvswitch2": 6, "nvswitch3": 4, "nvswitch4": 18}
#: Cards one NVSwitch generation joins in one switch level (DGX-2: 16 V100 on 12 chips;
#: HGX A100 / H100: 8; GB200 NVL72: 72).
NVSWITCH_SINGLE_LEVEL = {"nvswitch1": 16, "nvswitch2": 8, "nvswitch3": 8, "nvswitch4": 72}

#: DGX-1 (Volta) hybrid cube mesh: NVLink units between GPU pairs (nvidia-smi topo -m of a
#: DGX-1V: NV1/NV2). Every GPU has 6 link units. NVIDIA DGX-1 with Tesla V100 system
#: architecture whitepaper (2017), Fig. 3.
HCM_LINKS = {(0, 1): 1, (0, 2): 1, (0, 3): 2, (0, 4): 2, (1, 2): 2, (1, 3): 1, (1, 5): 2,
             (2, 3): 2, (2, 6): 1, (3, 7): 1, (4, 5): 1, (4, 6): 1, (4, 7): 2, (5, 6): 2,
             (5, 7): 1, (6, 7): 2}


@dataclass
class Topology:
    """A card-to-card topology and the arrays the kernels need.

    Attributes
    ----------
    name : str               topology kind (one of :data:`TOPOLOGIES`)
    accelerator : str        catalog name
    cards : int              accelerators in the graph
    graph : networkx.DiGraph
    rings : list[list[int]]  directed rings over all cards that use disjoint direct links
                             (empty where rings go through switches / the host)
    in_network_reduction : bool  every switch between cards can reduce (NVLS-like)
    link_class : str         "nvlink" (scale-up links between cards) or "pci"
    groups : list[list[int]] cards sharing a first-level switch (multi-level topologies)
    """

    name: str
    accelerator: str
    cards: int
    graph: nx.DiGraph
    rings: list = field(default_factory=list)
    in_network_reduction: bool = False
    link_class: str = "nvlink"
    groups: list = field(default_factory=list)
    description: str = ""

    def __post_init__(self):
        g = self.graph
        nodes = [f"g{i}" for i in range(self.cards)] + [v for v in g.nodes if g.nodes[v]["kind"] != "accelerator"]
        self.nodes = nodes
        self.index = {v: i for i, v in enumerate(nodes)}
        edges = list(g.edges(data=True))
        edges.sort(key=lambda e: (self.index[e[0]], self.index[e[1]]))
        self.edges = [(u, v) for u, v, _ in edges]
        self.edge_src = np.array([self.index[u] for u, _, _ in edges], dtype=np.int64)
        self.edge_dst = np.array([self.index[v] for _, v, _ in edges], dtype=np.int64)
        self.bandwidth = np.array([d["bandwidth"] for _, _, d in edges], dtype=float)
        self.latency = np.array([d["latency"] for _, _, d in edges], dtype=float)
        self.efficiency = np.array([d["efficiency"] for _, _, d in edges], dtype=float)
        self.edge_kind = [d["family"] for _, _, d in edges]
        n = len(nodes)
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        np.add.at(self.indptr, self.edge_src + 1, 1)
        self.indptr = np.cumsum(self.indptr).astype(np.int64)
        self.adj_node = self.edge_dst.copy()
        self.adj_edge = np.arange(len(edges), dtype=np.int64)
        self.is_acc = np.array([1 if i < self.cards else 0 for i in range(n)], dtype=np.int64)
        self.dist = _distances(self.indptr, self.adj_node, self.is_acc, self.cards)

    @property
    def effective_bandwidth(self) -> np.ndarray:
        """Payload bandwidth of every directed edge, bandwidth x efficiency [B/s]."""
        return self.bandwidth * self.efficiency

    def card_bandwidth(self, card: int = 0, *, bidirectional: bool = False, peers_only: bool = False) -> float:
        """Sum of the line bandwidth of a card's outgoing links [B/s] (x2 with ``bidirectional``).

        ``peers_only`` counts only direct card-to-card links (not the host bus or switches).
        """
        total = 0.0
        for k in range(self.indptr[card], self.indptr[card + 1]):
            w = self.adj_node[k]
            if peers_only and w >= self.cards:
                continue
            if not peers_only and self.edge_kind[k].startswith("pcie") and self.name != "pcie":
                continue  # host-bus uplink of a module card is not card-to-card bandwidth
            total += self.bandwidth[k]
        return total * (2 if bidirectional else 1)


def _distances(indptr, adj_node, is_acc, n_acc) -> np.ndarray:
    """Hop distance from every node to every accelerator, never through another accelerator."""
    n = len(indptr) - 1
    # reverse adjacency
    rev = [[] for _ in range(n)]
    for v in range(n):
        for k in range(indptr[v], indptr[v + 1]):
            rev[adj_node[k]].append(v)
    dist = -np.ones((n, n_acc), dtype=np.int64)
    for a in range(n_acc):
        dist[a, a] = 0
        frontier = [a]
        dd = 0
        while frontier:
            dd += 1
            nxt = []
            for w in frontier:
                if w != a and is_acc[w]:
                    continue  # an accelerator is an end point, never a transit
                for v in rev[w]:
                    if dist[v, a] < 0:
                        dist[v, a] = dd
                        nxt.append(v)
            frontier = nxt
    return dist


# --- helpers -------------------------------------------------------------------------------

def _link(g: nx.DiGraph, u: str, v: str, family: str, links: float = 1, *, klass: str, extra_latency: float = 0.0,
          bandwidth: float | None = None):
    """Add a bidirectional connection of ``links`` parallel catalog links ``family``."""
    e = catalog.link(family)
    bw = float(catalog.link_bandwidth(family).to("B/s").magnitude) * links if bandwidth is None else bandwidth
    lat = float(e["latency"].to("s").magnitude) + extra_latency
    for a, b in ((u, v), (v, u)):
        g.add_edge(a, b, bandwidth=bw, latency=lat, efficiency=link_efficiency(family, klass), links=links,
                   family=family)


def _acc(name, field: str = "accelerator"):
    """A catalog accelerator by name (a CatalogEntry passes through, e.g. a generic OAM card)."""
    if isinstance(name, catalog.CatalogEntry):
        return name
    return catalog.accelerator(name, field)


def generic_card(link_family: str, link_count: int, form_factor: str = "oam", host_link: str = "pcie5-x16"):
    """A card defined only by its links (e.g. the white paper's generic OAM on a PCIe PHY)."""
    catalog.link(link_family, "link")
    return catalog.CatalogEntry("accelerators", f"generic-{form_factor}({link_count} x {link_family})",
                                {"form_factor": form_factor, "link_family": link_family, "link_count": int(link_count),
                                 "host_link": host_link, "source": "built from links.toml"})


def _switch_for(family: str) -> str | None:
    for n in catalog.names("links"):
        e = catalog.link(n)
        if e.get("kind") == "switch" and e.get("link_family") == family and n.startswith("nvswitch"):
            return n
    return None


def _host_tree(g: nx.DiGraph, n: int, host_link: str, sockets: int = 2, per_switch: int = 2):
    """PCIe host tree: cards in pairs under PCIe switches, switches under the CPU root complexes,
    sockets joined by UPI. Returns nothing; adds nodes and edges to ``g``."""
    sw_lat = float(catalog.link("pcie4-switch")["latency"].to("s").magnitude)
    sockets = 1 if n <= per_switch else sockets
    n_sw = max(1, -(-n // per_switch))
    for s in range(sockets):
        g.add_node(f"cpu{s}", kind="host", label=f"CPU {s}")
    for k in range(n_sw):
        sw = f"pcie-sw{k}"
        g.add_node(sw, kind="pcie-switch", label=f"PCIe switch {k}")
        cpu = f"cpu{min(sockets - 1, k * sockets // n_sw)}"
        _link(g, sw, cpu, host_link, klass="bus")
    for i in range(n):
        _link(g, f"g{i}", f"pcie-sw{i // per_switch}", host_link, klass="bus", extra_latency=sw_lat / 2)
    if sockets == 2:
        _link(g, "cpu0", "cpu1", "upi-x3", klass="socket")


def _new_graph(n: int, acc_name: str) -> nx.DiGraph:
    g = nx.DiGraph()
    for i in range(n):
        g.add_node(f"g{i}", kind="accelerator", label=f"{acc_name} #{i}")
    return g


def _check_cards(n, topo: str, lo: int, hi: int, why: str):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise InputError("cards", n, "a whole number of cards", f"is a {type(n).__name__}")
    if n < lo or n > hi:
        raise InputError("cards", n, f"{lo} to {hi} cards for topology {topo!r} ({why})", "does not fit the topology")


# --- Hamiltonian rings over direct links -----------------------------------------------------

def edge_disjoint_rings(n: int, units: dict[tuple[int, int], int], max_rings: int = 8) -> list[list[int]]:
    """The largest set of undirected Hamiltonian cycles over cards 0..n-1 that uses each link
    unit at most once.

    ``units[(i, j)]`` is the number of parallel links between cards i < j. All Hamiltonian
    cycles are enumerated (n <= 8 here: at most 2520), then packed by depth-first search. The
    DGX-1 hybrid cube mesh gives 3 (as ASTRA-sim models it); K8 gives 3 and leaves a perfect
    matching unused.
    """
    if n < 3 or n > 10:
        return []
    left = {tuple(sorted(k)): v for k, v in units.items()}
    adj = {i: [j for j in range(n) if left.get((min(i, j), max(i, j)), 0) > 0] for i in range(n)}
    cycles = []

    def walk(path, used):
        if len(path) == n:
            if path[0] in adj[path[-1]] and path[1] < path[-1]:  # each undirected cycle once
                cycles.append(list(path))
            return
        for w in adj[path[-1]]:
            if w not in used:
                path.append(w); used.add(w)
                walk(path, used)
                path.pop(); used.discard(w)

    walk([0], {0})
    edge_sets = [[(min(a, b), max(a, b)) for a, b in zip(c, c[1:] + c[:1])] for c in cycles]
    best: list[int] = []
    bound = min(max_rings, min(sum(v for k, v in left.items() if i in k) for i in range(n)) // 2)

    def pack(start, chosen):
        nonlocal best
        if len(chosen) > len(best):
            best = list(chosen)
        if len(best) >= bound:
            return True
        for c in range(start, len(cycles)):
            es = edge_sets[c]
            if all(left[e] > 0 for e in es):
                for e in es:
                    left[e] -= 1
                chosen.append(c)
                done = pack(c + 1, chosen)
                chosen.pop()
                for e in es:
                    left[e] += 1
                if done:
                    return True
        return False

    pack(0, [])
    return [cycles[c] for c in best]


def _directed_rings(rings):
    out = []
    for r in rings:
        out.append(list(r))
        out.append([r[0]] + list(reversed(r[1:])))
    return out


# --- builders --------------------------------------------------------------------------------

def build_pcie(accelerator: str, cards: int = 8) -> Topology:
    """PCIe server: cards in pairs behind PCIe switches under two CPU sockets joined by UPI.

    Card-to-card traffic goes through a PCIe switch, or up to the root complex and across the
    inter-socket link (white paper 3.1.1: "卡间通信必须经过 CPU 绕转甚至跨 CPU NUMA").
    """
    acc = _acc(accelerator)
    _check_cards(cards, "pcie", 1, 10, "a PCIe server holds at most 10 cards")
    g = _new_graph(cards, acc.name)
    _host_tree(g, cards, acc.host_link)
    return Topology("pcie", acc.name, cards, g, link_class="pci",
                    description=f"{cards} x {acc.name} on {acc.host_link}, 2 cards per PCIe switch, 2 sockets over UPI")


def _mesh(name: str, accelerator: str, cards: int, units: dict, need_links: int, why: str) -> Topology:
    acc = _acc(accelerator)
    used = max(sum(v for k, v in units.items() if i in k) for i in range(cards))
    if int(acc.link_count) < need_links:
        raise InputError("topology", name, f"a topology the {acc.name} can form: it has {acc.link_count} "
                         f"{acc.link_family} links, {name} needs {need_links} per card", "needs more links per card")
    per_unit = max(1, int(acc.link_count) // max(used, 1)) if name == "nvlink-hcm" else 1
    g = _new_graph(cards, acc.name)
    for (i, j), u in units.items():
        _link(g, f"g{i}", f"g{j}", acc.link_family, u * per_unit, klass="scale-up")
    _host_tree(g, cards, acc.host_link)
    rings = _directed_rings(edge_disjoint_rings(cards, units))
    return Topology(name, acc.name, cards, g, rings=rings, link_class="nvlink",
                    description=why)


def build_nvlink_hcm(accelerator: str, cards: int = 8) -> Topology:
    """NVLink hybrid cube mesh of the DGX-1: 8 GPUs, 6 NVLink units each (some pairs doubled).

    Pairs without NVLink (e.g. GPU0-GPU5) talk over the PCIe host tree, as on the real machine.
    """
    acc = _acc(accelerator)
    if not str(acc.link_family).startswith("nvlink"):
        raise InputError("topology", "nvlink-hcm", f"a topology the {acc.name} ({acc.form_factor}, {acc.link_family}) can form: "
                         + ("pcie" if acc.form_factor == "pcie" else "oam-hcm, oam-fc or s2-switch"), "needs NVLink cards")
    _check_cards(cards, "nvlink-hcm", 8, 8, "the DGX-1 hybrid cube mesh joins exactly 8 GPUs")
    return _mesh("nvlink-hcm", accelerator, 8, HCM_LINKS, 6,
                 f"8 x {acc.name}, DGX-1 hybrid cube mesh of {acc.link_family} (6 link units per GPU), PCIe for non-neighbours")


def _oam_card(accelerator, topology: str):
    """The catalog entry of an OAM module, or InputError (field ``topology``) for other cards."""
    acc = _acc(accelerator)
    if acc.form_factor != "oam":
        raise InputError("topology", topology, f"a topology the {acc.name} ({acc.form_factor}, {acc.link_family}) can form: "
                         + ("pcie" if acc.form_factor == "pcie" else "nvlink-hcm, nvswitch or s2-switch"), "needs OAM modules")
    return acc


def build_oam_hcm(accelerator: str, cards: int = 8) -> Topology:
    """OAM universal baseboard, hybrid cube mesh: the DGX-1 wiring with 6 x16 links per OAM."""
    acc = _oam_card(accelerator, "oam-hcm")
    _check_cards(cards, "oam-hcm", 8, 8, "the UBB hybrid cube mesh joins 8 OAMs")
    return _mesh("oam-hcm", accelerator, 8, HCM_LINKS, 6,
                 f"8 x {acc.name} on an OAM UBB, hybrid cube mesh of {acc.link_family} links")


def build_oam_fc(accelerator: str, cards: int = 8) -> Topology:
    """OAM universal baseboard, fully connected: one x16 link between every pair of cards."""
    acc = _oam_card(accelerator, "oam-fc")
    _check_cards(cards, "oam-fc", 2, min(8, int(acc.link_count) + 1),
                 f"a UBB holds 8 OAMs and a {acc.name} has {acc.link_count} peer links")
    units = {(i, j): 1 for i, j in itertools.combinations(range(cards), 2)}
    return _mesh("oam-fc", accelerator, cards, units, cards - 1,
                 f"{cards} x {acc.name} on an OAM UBB, fully connected over {acc.link_family}")


def build_nvswitch(accelerator: str, cards: int = 8) -> Topology:
    """NVSwitch: one switch level for a baseboard (8 GPUs; 16 on DGX-2; 72 on NVL72), two levels
    for the NVLink Switch System (up to 256 H100: boards of 8 with a 2:1 tapered second tier)."""
    acc = _acc(accelerator)
    fam = str(acc.link_family)
    sw = _switch_for(fam)
    if sw is None:
        raise InputError("topology", "nvswitch", f"a topology the {acc.name} ({acc.form_factor}, {fam}) can form: "
                         + ("pcie" if acc.form_factor == "pcie" else "oam-hcm, oam-fc or s2-switch"), "needs NVLink cards")
    single = NVSWITCH_SINGLE_LEVEL[sw]
    system = catalog.link("nvlink4-switch-system")
    hi = int(system["max_cards"]) if fam == "nvlink4" else single
    _check_cards(cards, "nvswitch", 1, hi, f"{sw} joins at most {hi} {acc.name} in one NVLink domain")
    swe = catalog.link(sw)
    sw_lat = float(swe["latency"].to("s").magnitude)
    inr = bool(swe.get("in_network_reduction", False))
    g = _new_graph(cards, acc.name)
    n_links = int(acc.link_count)
    if cards <= single:
        g.add_node("nvswitch", kind="switch", chips=NVSWITCH_CHIPS[sw], label=f"{NVSWITCH_CHIPS[sw]} x {sw}", reduction=inr)
        for i in range(cards):
            _link(g, f"g{i}", "nvswitch", fam, n_links, klass="scale-up", extra_latency=sw_lat / 2)
        groups = [list(range(cards))]
        desc = f"{cards} x {acc.name}, {n_links} {fam} links each to {NVSWITCH_CHIPS[sw]} {sw} chips"
    else:
        boards = -(-cards // 8)
        up = int(system["node_uplink_links"])
        l2_lat = float(system["latency"].to("s").magnitude)
        g.add_node("nvl-l2", kind="switch", chips=18, label="NVLink Switch tier (L2)", reduction=inr)
        groups = []
        for b in range(boards):
            l1 = f"nvswitch{b}"
            g.add_node(l1, kind="switch", chips=NVSWITCH_CHIPS[sw], label=f"board {b}: {NVSWITCH_CHIPS[sw]} x {sw}", reduction=inr)
            members = list(range(8 * b, min(cards, 8 * b + 8)))
            groups.append(members)
            for i in members:
                _link(g, f"g{i}", l1, fam, n_links, klass="scale-up", extra_latency=sw_lat / 2)
            _link(g, l1, "nvl-l2", fam, up * len(members) / 8, klass="scale-up", extra_latency=l2_lat)
        desc = (f"{cards} x {acc.name}: {boards} boards of 8 on {sw}, second NVLink Switch tier with "
                f"{up} links per board (2:1 taper)")
    return Topology("nvswitch", acc.name, cards, g, in_network_reduction=inr, link_class="nvlink",
                    groups=groups, description=desc)


def build_s2(accelerator: str, cards: int = 128) -> Topology:
    """The switched super-server S^2 of white paper 3.1.3: 64-256 cards on one compute-bus switch
    fabric. Each card's links fan out to switch planes; a plane is one switch chip while the cards
    fit its ports, else a non-blocking two-level Clos (leaves of ports/2 cards)."""
    acc = _acc(accelerator)
    fam = str(acc.link_family)
    if catalog.link(fam).get("kind") == "bus":
        raise InputError("topology", "s2-switch", f"a topology the {acc.name} can form: it has no scale-up links "
                         f"({fam}); use 'pcie'", "needs scale-up links")
    sw = _switch_for(fam) or "s2-bus-switch"
    swe = catalog.link(sw)
    ports = int(swe["ports"])
    _check_cards(cards, "s2-switch", 2, 1024, "a super-server domain of up to 1024 cards")
    sw_lat = float(swe["latency"].to("s").magnitude)
    inr = bool(swe.get("in_network_reduction", False))
    n_links = int(acc.link_count)
    planes = n_links
    g = _new_graph(cards, acc.name)
    if cards <= ports:
        g.add_node("s2-switch", kind="switch", chips=planes, label=f"S^2 switch ({planes} x {sw})", reduction=inr)
        for i in range(cards):
            _link(g, f"g{i}", "s2-switch", fam, n_links, klass="scale-up", extra_latency=sw_lat / 2)
        groups = [list(range(cards))]
        desc = f"S^2: {cards} x {acc.name}, {n_links} {fam} links each to {planes} single-level {sw} planes"
    else:
        leaf = ports // 2
        n_leaf = -(-cards // leaf)
        g.add_node("s2-spine", kind="switch", chips=planes * max(1, -(-n_leaf // 2)), label="S^2 spine", reduction=inr)
        groups = []
        for b in range(n_leaf):
            lf = f"s2-leaf{b}"
            g.add_node(lf, kind="switch", chips=planes, label=f"S^2 leaf {b}", reduction=inr)
            members = list(range(leaf * b, min(cards, leaf * b + leaf)))
            groups.append(members)
            for i in members:
                _link(g, f"g{i}", lf, fam, n_links, klass="scale-up", extra_latency=sw_lat / 2)
            _link(g, lf, "s2-spine", fam, n_links * len(members), klass="scale-up", extra_latency=sw_lat)
        desc = f"S^2: {cards} x {acc.name} on a non-blocking two-level {sw} Clos ({n_leaf} leaves of {leaf})"
    return Topology("s2-switch", acc.name, cards, g, in_network_reduction=inr, link_class="nvlink",
                    groups=groups, description=desc)


_BUILDERS = {"pcie": build_pcie, "nvlink-hcm": build_nvlink_hcm, "nvswitch": build_nvswitch,
             "oam-hcm": build_oam_hcm, "oam-fc": build_oam_fc, "s2-switch": build_s2}

DEFAULT_CARDS = {"pcie": 8, "nvlink-hcm": 8, "nvswitch": 8, "oam-hcm": 8, "oam-fc": 8, "s2-switch": 128}


def build_topology(topology: str, accelerator: str, cards: int | None = None) -> Topology:
    """Build (and cache) a topology graph.

    Parameters
    ----------
    topology : str
        One of ``pcie``, ``nvlink-hcm``, ``nvswitch``, ``oam-hcm``, ``oam-fc``, ``s2-switch``.
    accelerator : str
        Catalog accelerator name.
    cards : int, optional
        Cards in the domain (default 8, 128 for ``s2-switch``).

    Raises
    ------
    InputError
        Unknown topology, a topology the accelerator cannot form (field ``topology``), a card
        count the topology cannot hold (field ``cards``).
    """
    if not isinstance(topology, str) or topology not in _BUILDERS:
        from ..errors import unknown_name

        raise unknown_name("topology", topology, TOPOLOGIES, "topology")
    if isinstance(accelerator, catalog.CatalogEntry):   # a generic card: not cached
        return _BUILDERS[topology](accelerator, DEFAULT_CARDS[topology] if cards is None else cards)
    if not isinstance(accelerator, str):
        raise InputError("accelerator", accelerator, "a catalog accelerator name", f"is a {type(accelerator).__name__}")
    n = DEFAULT_CARDS[topology] if cards is None else cards
    if isinstance(n, (float, np.floating)) and float(n).is_integer():
        n = int(n)
    if isinstance(n, np.integer):
        n = int(n)
    _check_cards(n, topology, 1, 100_000, "a whole number of cards")
    return _build_cached(topology, accelerator, n)


@functools.lru_cache(maxsize=64)
def _build_cached(topology: str, accelerator: str, cards: int) -> Topology:
    return _BUILDERS[topology](accelerator, cards)


__all__ = ["Topology", "build_topology", "TOPOLOGIES", "EFFICIENCY", "NVLINK_EFFICIENCY", "link_efficiency",
           "edge_disjoint_rings", "HCM_LINKS"]
