"""New interconnect inside the node and the super-server (white paper 3.1).

Topologies (PCIe tree, NVLink hybrid cube mesh, NVSwitch single- and two-level, OAM hybrid
cube mesh and fully connected UBB, switched super-server S^2) are networkx graphs built from
the catalog (:mod:`twin.interconnect.topology`); collectives run over their links with an
alpha-beta model (:mod:`twin.interconnect.collectives`); Table 3-1's parallelism traffic is in
:mod:`twin.interconnect.parallelism`.

Public functions
----------------
build_topology(topology, accelerator, cards)        -> Topology (graph + arrays)
collective_time(scenario, collective, message_size, group_size, *, stride=1, algorithm="auto")
                                                    -> Quantity [s]   (cross-domain contract)
sweep(topology, accelerator, cards, collective, sizes, *, algorithm="auto") -> xarray.Dataset
busbw_factor(collective, n)                         -> float
parallelism_traffic(...), topology_offer(...)       -> xarray.Dataset (Table 3-1)
evaluate(scenario, state)                           -> xarray.Dataset
"""
from __future__ import annotations

import functools
import math

try:  # tomllib on 3.11+, tomli before (as twin.paths)
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

import numpy as np
import xarray as xr

from ..errors import InputError
from ..paths import read_headlines
from ..units import Q_, as_quantity, format_unit
from . import _kernels
from .collectives import (ALGORITHMS, COLLECTIVES, NCCL_ALGORITHMS, NVLS_EFFICIENCY, Phase, busbw_factor,
                          canonical_collective, check_algorithm, intra_phases, phase_arrays)
from .topology import EFFICIENCY, TOPOLOGIES, Topology, build_topology

INTRA_ALGORITHMS = ("ring", "tree", "direct", "nvls", "hierarchical")


# --- message sizes and checks ----------------------------------------------------------------

def _sizes(message_size, field: str = "message_size") -> tuple[np.ndarray, bool]:
    """Message sizes in bytes: a Quantity, a string such as '1 MiB', or bare numbers (bytes)."""
    if isinstance(message_size, (list, tuple, np.ndarray)) and not isinstance(message_size, str):
        try:
            arr = np.asarray(message_size, dtype=float)
        except (TypeError, ValueError):
            raise InputError(field, message_size, "message sizes in bytes or a data-size quantity") from None
        if not np.all(np.isfinite(arr)):
            raise InputError(field, message_size, "finite message sizes", "is not finite")
        message_size = Q_(arr, "B")
    q = as_quantity(message_size, "B", field, allow_bare=True)
    if np.ndim(q.magnitude) > 1:
        raise InputError(field, message_size, "one message size or a 1-D list of them",
                         f"is a {np.ndim(q.magnitude)}-D array")
    m = np.atleast_1d(np.asarray(q.to("B").magnitude, dtype=float))
    if not np.all(np.isfinite(m)):
        raise InputError(field, message_size, "finite message sizes", "is not finite")
    if m.size == 0:
        raise InputError(field, message_size, "at least one message size")
    if np.any(m <= 0):
        bad = m[m <= 0][0]
        raise InputError(field, f"{bad:g} B", "a message size > 0 B", "is not positive")
    return m, np.ndim(q.magnitude) == 0


def _int(value, field: str, lo: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InputError(field, value, f"a whole number >= {lo}", f"is a {type(value).__name__}")
    if value < lo:
        raise InputError(field, value, f"a whole number >= {lo}", "is too small")
    return int(value)


# --- candidates (algorithm -> phases) ----------------------------------------------------------

@functools.lru_cache(maxsize=512)
def _intra_candidates(topo_key: tuple, collective: str, algorithm: str, members: tuple) -> tuple:
    topo = build_topology(*topo_key)
    names = INTRA_ALGORITHMS if algorithm == "auto" else NCCL_ALGORITHMS[collective] if algorithm == "nccl" else (algorithm,)
    if collective == "send-recv":
        names = ("direct",) if algorithm in ("auto", "nccl", "direct") else names
    out = []
    for a in names:
        ph = intra_phases(topo, collective, a, list(members))
        if ph is not None:
            out.append((a, tuple(ph)))
    if not out:
        raise InputError("algorithm", algorithm, f"an algorithm available for {collective} on {topo.name}: "
                         + ", ".join(a for a in INTRA_ALGORITHMS if intra_phases(topo, collective, a, list(members)) is not None),
                         "is not available here")
    return tuple(out)


def _inter_candidates(topo: Topology, collective: str, algorithm: str, members: list[int], counts: tuple[int, ...],
                      card_bw: float, net_latency: float, hw: str = "net") -> list:
    """Candidates for a group spread over several domains.

    ``counts`` holds the group's members in each domain it touches (``sum(counts)`` = group
    size n, ``len(counts)`` = domains N); ``members`` are the domain-local indices of the
    busiest domain (``max(counts)`` cards), which sets the intra-domain phases. ``card_bw`` is
    each card's share of its node's scale-out bandwidth [B/s]; ``net_latency`` the fabric's base
    latency [s] added per inter-domain step; ``hw`` the NCCL latency row of that hop.

    The domain with the fewest members sets the inter-domain bandwidth: its cards carry the
    boundary traffic on ``min(counts)`` cards' shares of the NICs. Hierarchical algorithms need
    the same number of members in every domain (equal shards); otherwise only the flat ring,
    tree and direct algorithms apply.
    """
    N = len(counts)
    n = int(sum(counts))
    m = len(members)              # busiest domain
    m_lo = int(min(counts))       # thinnest domain: fewest NIC shares for the boundary traffic
    even = len(set(counts)) == 1
    c = collective
    key = (topo.name, topo.accelerator, topo.cards)
    out = []
    names = ("hierarchical", "ring", "tree", "direct") if algorithm == "auto" else (algorithm,)

    def best_intra(coll, scale):
        if m == 1:
            return []
        cands = _intra_candidates(key, coll, "auto", tuple(members))
        # bandwidth-optimal intra algorithm (what matters at scale); ring as the tie-break
        a, ph = min(cands, key=lambda ap: sum(p.beta for p in ap[1]))
        return [Phase(p.beta, p.steps, p.algorithm, p.hw, p.path_latency, scale * p.scale) for p in ph]

    for a in names:
        if a == "hierarchical":
            if not even:
                continue
            if c == "all-reduce":
                ph = best_intra("reduce-scatter", 1.0)
                ph.append(Phase(2.0 * (N - 1) / N / card_bw, 2 * (N - 1), "ring", hw, net_latency, 1.0 / m))
                ph += best_intra("all-gather", 1.0)
            elif c in ("all-gather", "reduce-scatter"):
                ph = [Phase((N - 1) / N / card_bw, N - 1, "ring", hw, net_latency, 1.0 / m)]
                ph = (best_intra(c, 1.0) + ph) if c == "reduce-scatter" else (ph + best_intra(c, 1.0))
            elif c == "broadcast":
                ph = [Phase(1.0 / card_bw, N - 1, "ring", hw, net_latency, 1.0)] + best_intra("broadcast", 1.0)
            elif c == "all-to-all":
                # cross-domain share leaves over the NICs while the local share crosses the bus
                ph = best_intra("all-to-all", m / n) + [Phase((n - m) / n / card_bw, N - 1, "direct", hw, net_latency, 1.0)]
            else:
                continue
            out.append((a, tuple(ph)))
        elif a == "ring" and c in ("all-reduce", "all-gather", "reduce-scatter", "broadcast"):
            f = {"all-reduce": 2.0 * (n - 1) / n, "broadcast": 1.0}.get(c, (n - 1) / n)
            steps = {"all-reduce": 2 * (n - 1), "broadcast": n - 1}.get(c, n - 1)
            # one ring per card of the thinnest domain: every domain boundary carries f*S/m_lo per ring
            beta_net = f / (m_lo * card_bw)
            intra = _intra_candidates(key, c, "ring", tuple(members)) if m > 1 else ()
            f_m = {"all-reduce": 2.0 * (m - 1) / m, "broadcast": 1.0}.get(c, (m - 1) / m) if m > 1 else 1.0
            beta_bus = intra[0][1][0].beta * f / f_m if intra else 0.0
            out.append((a, (Phase(max(beta_net, beta_bus), steps, "ring", hw, net_latency),)))
        elif a == "tree" and c in ("all-reduce", "broadcast"):
            depth = max(1, math.ceil(math.log2(N + 1)) - 1)
            # double binary tree: a node is inner in one tree and a leaf in the other; it sends and
            # receives 2S per direction for all-reduce (reduce up + broadcast down), S for broadcast
            beta_net = (2.0 if c == "all-reduce" else 1.0) / (m_lo * card_bw)
            steps = (2 if c == "all-reduce" else 1) * (depth + max(0, m - 1))
            out.append((a, (Phase(beta_net, steps, "tree", hw, net_latency),)))
        elif a == "direct" and c in ("all-to-all", "send-recv"):
            if c == "send-recv":
                ph = (Phase(1.0 / card_bw, 1, "direct", hw, net_latency),)
            else:
                # S/n to each peer: a card of the thinnest domain sends (n - m_lo)/n of S off its
                # domain; the busiest domain moves a local all-to-all of S m/n over its bus
                beta_bus = sum(p.beta for p in best_intra("all-to-all", 1.0)) * m / n if m > 1 else 0.0
                ph = (Phase(max((n - m_lo) / n / card_bw, beta_bus), 1, "direct", hw, net_latency),)
            out.append((a, ph))
    if not out:
        why = " (hierarchical needs the same number of members in every domain)" if algorithm == "hierarchical" and not even else ""
        raise InputError("algorithm", algorithm, f"one of hierarchical, ring, tree, direct that fits {collective} across "
                         f"{N} domains with {'/'.join(str(k) for k in counts)} members{why}",
                         "is not available across domains")
    return out


def _evaluate_candidates(cands, collective: str, sizes: np.ndarray):
    """Times [C, M] and best index [M] of candidates for message sizes (numba kernel)."""
    n_p = max(1, max(len(ph) for _, ph in cands))
    C = len(cands)
    lat = np.full((C, n_p, 3), np.inf)
    inv = np.full((C, n_p, 3), np.inf)
    scale = np.zeros((C, n_p))
    for ci, (_, ph) in enumerate(cands):
        if not ph:
            lat[ci, 0, :] = 0.0
            inv[ci, 0, :] = 0.0
            scale[ci, 0] = 1.0
            continue
        l, v, s = phase_arrays(list(ph), collective)
        lat[ci, :len(ph)] = l
        inv[ci, :len(ph)] = v
        scale[ci, :len(ph)] = s
    return _kernels.sweep_times(np.ascontiguousarray(sizes, dtype=float), lat, inv, scale)


# --- fabric hop ------------------------------------------------------------------------------

def _fabric_hop(state, n_nodes: int, pattern: str) -> tuple[float, float]:
    """Per-node scale-out bandwidth [B/s] and base latency [s] of a group over ``n_nodes`` nodes,
    read from the fabric's results in the state tree (``node_bandwidth`` over pattern and
    hop_nodes, congestion control included; ``hop_latency``), log-linear in n between the
    tabulated group sizes."""
    from .. import tree

    bw = tree.array(state, "fabric", "node_bandwidth", "B/s").sel(pattern=pattern)
    lat = tree.array(state, "fabric", "hop_latency", "s")
    x = np.log(np.asarray(bw["hop_nodes"].values, dtype=float))
    xi = math.log(max(float(n_nodes), 1.0))
    return float(np.interp(xi, x, bw.values)), float(np.interp(xi, x, lat.values))


@functools.lru_cache(maxsize=16)
def _fabric_state_of(scenario_toml: str):
    from ..core import Twin

    t = Twin(tomllib.loads(scenario_toml))
    t.run(["fabric"])
    return t.state


def fabric_state(scenario):
    """The state tree of a throw-away Twin with the fabric evaluated (what a standalone
    :func:`collective_time` reads its inter-node hop from); one per scenario, kept for reuse."""
    sc = _scenario(scenario)
    return _fabric_state_of(sc.to_toml())


def _scenario(scenario):
    from ..scenario import load_scenario

    return load_scenario(scenario)


def _group_layout(sc, group_size: int, stride: int):
    """Where rank 0's group lies: (domain-local members of its busiest domain, members per
    domain it touches, nodes it spans)."""
    D = int(sc.compute.domain_size)
    total = int(sc.compute.nodes * sc.compute.cards_per_node)
    if (group_size - 1) * stride >= total:
        raise InputError("group_size", group_size, f"group_size x stride within the {total} cards of the scenario "
                         f"(stride {stride})", "needs more cards than the cluster has")
    ranks = [i * stride for i in range(group_size)]
    by_domain: dict[int, list[int]] = {}
    for r in ranks:
        by_domain.setdefault(r // D, []).append(r % D)
    busiest = max(by_domain.values(), key=len)
    counts = tuple(len(v) for v in by_domain.values())
    cpn = int(sc.compute.cards_per_node)
    n_nodes = len({r // cpn for r in ranks})
    return busiest, counts, n_nodes


def _plan(sc, collective: str, group_size: int, stride: int, algorithm: str, state=None):
    c = canonical_collective(collective)
    a = check_algorithm(algorithm)
    topo_key = (sc.compute.topology, sc.compute.accelerator, int(sc.compute.domain_size))
    topo = build_topology(*topo_key)
    members, counts, n_nodes = _group_layout(sc, group_size, stride)
    if group_size == 1:
        return c, [("none", ())], topo
    if len(counts) == 1:
        return c, list(_intra_candidates(topo_key, c, a, tuple(members))), topo
    if n_nodes == 1:
        # several bus domains inside one node: the hop between them is the cards' host link
        # (PCIe through the root complex), as NCCL's P2P/SHM transport over PCI
        card_bw, base_lat, hw = _host_hop(sc)
    else:
        pattern = "all-to-all" if c == "all-to-all" else "ring"
        node_bw, base_lat = _fabric_hop(state if state is not None else fabric_state(sc), n_nodes, pattern)
        card_bw, hw = node_bw / int(sc.compute.cards_per_node), "net"
    return c, _inter_candidates(topo, c, a, members, counts, card_bw, base_lat, hw), topo


def _host_hop(sc) -> tuple[float, float, str]:
    """Per-card bandwidth [B/s] and latency [s] of the host link between bus domains of one node."""
    from .. import catalog

    acc = catalog.accelerator(sc.compute.accelerator, "compute.accelerator")
    host = str(acc.get("host_link", "pcie4-x16"))
    bw = float(catalog.link_bandwidth(host).to("B/s").magnitude) * EFFICIENCY["bus"]
    lat = float(catalog.link(host)["latency"].to("s").magnitude)
    return bw, lat, "pci"


def collective_time(scenario, collective, message_size, group_size, *, stride=1, algorithm="auto", state=None):
    """Time of one collective among ``group_size`` cards of a scenario [s].

    Parameters
    ----------
    scenario : Scenario, preset name, path or dict
    collective : str
        all-reduce, all-gather, reduce-scatter, all-to-all, broadcast or send-recv.
    message_size : Quantity, str or number [B]
        nccl-tests convention: the buffer of all-reduce / broadcast / send-recv, the total
        gathered (all-gather, reduce-scatter) or sent (all-to-all) bytes per rank. Arrays allowed.
    group_size : int
        Ranks in the group (ranks numbered node-major).
    stride : int
        Members are ``0, stride, 2 stride, ...``; a group spanning domains crosses the fabric.
    algorithm : str
        auto (fastest), ring, tree, direct, nvls, hierarchical.
    state : xarray.DataTree, optional
        A twin state holding ``/fabric/results`` (the inter-node hop is read from it); default:
        a throw-away Twin of the scenario with the fabric evaluated (:func:`fabric_state`).

    Returns
    -------
    pint.Quantity [s]
        Scalar or array like ``message_size``.

    Notes
    -----
    Per phase ``T = lat0 + steps (hw + l_path) + S beta / eta_protocol`` minimised over the NCCL
    protocols, summed over phases (see :mod:`twin.interconnect.collectives`). A group inside one
    bus domain runs over the domain's graph. A group spread over N domains (node-major ranks,
    ``counts`` members in each) crosses the fabric: each card gets
    ``b_card = node_bandwidth(scenario, n_nodes, pattern) / cards_per_node`` (pattern "ring",
    or "all-to-all" for all-to-all; all groups of a parallel layout run at once), plus
    ``base_latency`` per inter-node step. Hierarchical all-reduce =
    intra reduce-scatter + inter all-reduce of S/m (``2 (N-1)/N S/m / b_card``) + intra
    all-gather, for m members in every domain; flat ring ``f(n) S / (m_min b_card)`` with
    ``m_min`` the fewest members any domain holds. Domains inside one node meet over the
    cards' PCIe host link.

    References
    ----------
    NVIDIA nccl-tests doc/PERFORMANCE.md; NVIDIA/nccl src/graph/tuning.cc; Thakur, Rabenseifner
    and Gropp, "Optimization of collective communication operations in MPICH" (IJHPCA 2005).
    """
    sc = _scenario(scenario)
    sizes, scalar = _sizes(message_size)
    group_size = _int(group_size, "group_size")
    stride = _int(stride, "stride")
    c, cands, _ = _plan(sc, collective, group_size, stride, algorithm, state)
    if cands[0][0] == "none":
        t = np.zeros_like(sizes)
    else:
        times, best = _evaluate_candidates(cands, c, sizes)
        t = times[best, np.arange(len(sizes))]
    return Q_(float(t[0]) if scalar else t, "s")


def sweep(topology: str, accelerator: str, cards: int | None, collective: str, sizes, *, algorithm: str = "auto",
          group_size: int | None = None) -> xr.Dataset:
    """busbw and algbw against message size for one topology (one domain, no fabric).

    Parameters
    ----------
    topology : str
        One of :data:`TOPOLOGIES`.
    accelerator : str
        Catalog accelerator name.
    cards : int or None
        Cards in the domain (None: the topology's default).
    collective : str
        One of :data:`COLLECTIVES` (NCCL spellings such as ``allreduce`` accepted).
    sizes : Quantity, str or numbers [B]
        Message sizes, nccl-tests convention (see :func:`collective_time`).
    algorithm : str
        auto (fastest per size), ring, tree, direct, nvls, hierarchical.
    group_size : int, optional
        Cards taking part (the first ``group_size`` of the domain); default all.

    Returns
    -------
    xarray.Dataset
        ``time`` [s], ``algbw`` and ``busbw`` [GB/s] over dimension ``message_size`` [B]; ``time_by_algorithm``
        over (``algorithm``, ``message_size``); ``algorithm_used`` per size (auto picks the fastest).

    Notes
    -----
    ``algbw = S / T`` and ``busbw = algbw f(n)`` with the nccl-tests factor f (all-reduce
    2(n-1)/n; all-gather, reduce-scatter, all-to-all (n-1)/n; broadcast, send/recv 1). T is the
    alpha-beta time of :func:`collective_time` over the topology's links.

    References
    ----------
    NVIDIA nccl-tests doc/PERFORMANCE.md; NVIDIA/nccl src/graph/tuning.cc.
    """
    c = canonical_collective(collective)
    a = check_algorithm(algorithm)
    s, _ = _sizes(sizes)
    topo = build_topology(topology, accelerator, cards)
    n = topo.cards if group_size is None else _int(group_size, "group_size")
    if n > topo.cards:
        raise InputError("group_size", n, f"at most the {topo.cards} cards of the topology", "is too large")
    cands = _intra_candidates((topology, topo.accelerator, topo.cards), c, a, tuple(range(n)))
    times, best = _evaluate_candidates(list(cands), c, s)
    t = times[best, np.arange(len(s))]
    algbw = s / t / 1e9
    names = [nm for nm, _ in cands]
    ds = xr.Dataset(
        {"time": ("message_size", t, {"units": "s"}),
         "algbw": ("message_size", algbw, {"units": "GB / s", "long_name": "algorithm bandwidth S/t"}),
         "busbw": ("message_size", algbw * busbw_factor(c, n), {"units": "GB / s", "long_name": "bus bandwidth (nccl-tests)"}),
         "algorithm_used": ("message_size", np.array([names[i] for i in best])),
         "time_by_algorithm": (("algorithm", "message_size"), times, {"units": "s"})},
        coords={"message_size": ("message_size", s, {"units": "B"}), "algorithm": names},
        attrs={"topology": topology, "accelerator": topo.accelerator, "cards": n, "collective": c,
               "description": topo.description})
    return ds


def large_message_busbw(topology: str, accelerator: str, cards: int | None, collective: str = "all-reduce",
                        algorithm: str = "auto", size="1 GiB"):
    """busbw of one (large) message on one topology, nccl-tests convention [GB/s].

    Parameters
    ----------
    topology, accelerator, cards, collective, algorithm
        As :func:`sweep`.
    size : Quantity or str [B]
        Message size (default 1 GiB: the plateau of nccl-tests' curves).

    Returns
    -------
    pint.Quantity [GB/s]

    Notes
    -----
    ``busbw = S / T(S) * f(n)`` (see :func:`sweep`).

    References
    ----------
    NVIDIA nccl-tests doc/PERFORMANCE.md.
    """
    ds = sweep(topology, accelerator, cards, collective, size, algorithm=algorithm)
    return Q_(float(ds.busbw.values[0]), "GB/s")


def topology_aggregate_bandwidth(topology: str, accelerator: str, cards: int | None = None, *, bidirectional: bool = True):
    """Card-to-card line bandwidth of one card of a topology, summed over its links [GB/s].

    Parameters
    ----------
    topology, accelerator, cards
        As :func:`build_topology`.
    bidirectional : bool
        Count both directions (the white paper's "aggregate" convention).

    Returns
    -------
    pint.Quantity [GB/s]

    Notes
    -----
    ``B = sum_links B_link`` (x2 if bidirectional), the host bus of module cards excluded.

    References
    ----------
    White paper 3.1.2 (OAM: 128 GB/s P2P, 8-card fully connected aggregate 896 GB/s).
    """
    topo = build_topology(topology, accelerator, cards)
    return Q_(topo.card_bandwidth(0, bidirectional=bidirectional) / 1e9, "GB/s")


from .parallelism import parallelism_traffic, topology_offer  # noqa: E402


#: The interconnect reads the fabric's inter-node hop from the state tree.
NEEDS = ("fabric",)

#: Headline figures (scalar results) for compare and the app: (variable, label, unit), as
#: datasets/tables/headlines.toml declares them.
HEADLINES = read_headlines("interconnect")


def evaluate(scenario, state) -> xr.Dataset:
    """The interconnect state of a scenario: busbw against message size for its topology and
    every collective, the parallelism needs of its workload against what the topology offers.

    Returns
    -------
    xarray.Dataset
        ``busbw`` [GB/s] over (``collective``, ``message_size``); ``time`` [s]; ``needed`` and
        ``offered`` [GB/s] over ``strategy``; attrs topology, accelerator, domain cards.
    """
    sc = _scenario(scenario)
    sizes = np.logspace(10, 33, 24, base=2.0)
    topo = build_topology(sc.compute.topology, sc.compute.accelerator, int(sc.compute.domain_size))
    n = min(topo.cards, int(sc.compute.cards_per_node)) if topo.cards > 1 else 1
    colls = [c for c in COLLECTIVES]
    bus = np.zeros((len(colls), len(sizes)))
    tim = np.zeros_like(bus)
    for i, c in enumerate(colls):
        if n < 2:
            continue
        ds = sweep(sc.compute.topology, sc.compute.accelerator, topo.cards, c, sizes, group_size=n)
        bus[i] = ds.busbw.values
        tim[i] = ds.time.values
    out = xr.Dataset(
        {"busbw": (("collective", "message_size"), bus, {"units": "GB / s"}),
         "time": (("collective", "message_size"), tim, {"units": "s"})},
        coords={"collective": colls, "message_size": ("message_size", sizes, {"units": "B"})},
        attrs={"topology": sc.compute.topology, "accelerator": sc.compute.accelerator,
               "domain_cards": topo.cards, "group_cards": n, "description": topo.description,
               "card_bandwidth_GBps": topo.card_bandwidth(0) / 1e9})
    try:
        need = topology_offer(sc, state=state)
    except InputError as exc:  # the workload's plan does not map onto this topology: say so
        out.attrs["table_3_1"] = f"not evaluated: {exc}"
    else:
        table = need[["needed", "offered", "meets"]]
        # a strategy the plan does not use (group of one, no traffic) or that the topology cannot
        # run has no offered figure: say so in a mask rather than with NaN
        table["offered_applies"] = ~np.isnan(table["offered"])
        table["offered_applies"].attrs = {"units": "", "long_name": "the topology runs this strategy's collective"}
        table["offered"] = table["offered"].fillna(0.0)
        table["needed"] = table["needed"].fillna(0.0)
        out = out.merge(table)
        out.attrs["table_3_1"] = "evaluated"
    # the whole job's all-reduce across the cluster: domains, nodes and the fabric's hop
    cards = int(sc.cards)
    if cards >= 2:
        size = 2.0 ** 30
        t = float(collective_time(sc, "all-reduce", Q_(size, "B"), cards, state=state).to("s").magnitude)
        out["cluster_allreduce_busbw"] = ((), size / t * busbw_factor("all-reduce", cards) / 1e9,
                                          {"units": format_unit("GB/s"), "long_name": "all-reduce of 1 GiB over every card"})
    for k in ("busbw", "time", "needed", "offered"):
        if k in out:
            out[k].attrs["units"] = format_unit(out[k].attrs.get("units", ""))
    return out


__all__ = ["build_topology", "collective_time", "sweep", "busbw_factor", "large_message_busbw",
           "topology_aggregate_bandwidth", "parallelism_traffic", "topology_offer", "evaluate",
           "TOPOLOGIES", "COLLECTIVES", "ALGORITHMS", "Topology", "EFFICIENCY", "NVLS_EFFICIENCY"]
