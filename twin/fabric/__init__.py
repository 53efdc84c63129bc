"""Inter-node fabric (white paper 3.2): fat-tree/Clos, rail-optimized and dual-plane fabrics,
ECMP / packet spraying / GSE packet containers / adaptive routing, max-min flow rates, incast
congestion control (PFC, DCQCN, HPCC, receiver credits, GSE DGSQ), FEC, encryption and optics.

Public functions take and return pint quantities (or xarray objects with ``units`` attrs);
the numba kernels in ``_kernels.py`` see plain SI floats.

References
----------
- China Mobile, NICC (new intelligent computing centre) white paper, section 3.2.
- Y. Zhu et al., "ECN or Delay: Lessons Learnt from Analysis of DCQCN and TIMELY", CoNEXT 2016.
- Y. Li et al., "HPCC: High Precision Congestion Control", SIGCOMM 2019.
- B. Montazeri et al., "Homa: A Receiver-Driven Low-Latency Transport Protocol", SIGCOMM 2018.
- A. Gangidi et al., "RDMA over Ethernet for Distributed AI Training at Meta Scale", SIGCOMM 2024.
- K. Qian et al., "Alibaba HPN: A Data Center Network for Large Language Model Training", SIGCOMM 2024.
- IEEE 802.3 clause 91 (RS(528,514), RS(544,514) FEC); IEEE 802.1AE (MACsec).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import InputError
from ..paths import read_headlines
from ..units import Q_, as_quantity, check_range, format_unit, magnitude, si
from . import linklayer as _ll
from . import routing as _rt
from . import topology as _topo
from .congestion import SCHEMES, run_incast
from .routing import LOAD_BALANCING, PATTERNS, FlowSolution, Routing, route, solve, traffic, transfer_times
from .topology import TOPOLOGIES, Fabric, as_count, check_connectivity

__all__ = [
    "Fabric", "Routing", "FlowSolution", "TOPOLOGIES", "LOAD_BALANCING", "PATTERNS", "SCHEMES",
    "build_fabric", "fabric_from_scenario", "traffic", "route", "solve", "transfer_times", "flow_rates",
    "allreduce_time", "incast", "ecmp_path_usage", "dcqcn_fixed_point", "fec_latency", "flexible_fec",
    "encryption_efficiency", "protocol_efficiency", "optics_power", "node_bandwidth", "base_latency", "evaluate", "check_connectivity",
]


# ---------------------------------------------------------------------------------------------
# Building


def build_fabric(n_nodes: int, nics_per_node: int, nic_speed, spine_link_speed=None, radix: int = 64,
                 oversubscription: float = 1.0, topology: str = "fat-tree-2tier", switch: str | None = None) -> Fabric:
    """Build a fabric (see :mod:`twin.fabric.topology`).

    Parameters
    ----------
    n_nodes : int
        Servers.
    nics_per_node : int
        Scale-out NIC ports (rails) per server.
    nic_speed, spine_link_speed : Quantity or str [Gbit/s]
        NIC line rate; switch-to-switch link rate (default: nic_speed).
    radix : int
        Switch ports at ``spine_link_speed``.
    oversubscription : float
        Leaf downlink:uplink bandwidth ratio (>= 1).
    topology : str
        fat-tree-2tier | fat-tree-3tier | rail-optimized | dual-plane.
    switch : str, optional
        Catalog switch name; checks radix x spine_link_speed fits the chip.

    Returns
    -------
    Fabric

    Notes
    -----
    A leaf of radix k gives k o / (1 + o) ports to NICs and the rest to uplinks; two tiers
    serve at most k x (NIC ports per leaf) NIC ports, three tiers k x k/2 x (NIC ports per leaf).
    """
    nic = si(nic_speed, "Gbit/s", "fabric.nic_speed")
    spine = si(spine_link_speed if spine_link_speed is not None else nic_speed, "Gbit/s", "fabric.spine_link_speed")
    cap = None
    if switch is not None:
        from .. import catalog

        sw = catalog.get("switches", switch, "fabric.switch")
        cap = float((sw.ports * sw.port_speed).to("bit/s").magnitude)
    try:
        over = float(oversubscription)
    except (TypeError, ValueError):
        raise InputError("fabric.oversubscription", oversubscription, "a finite ratio >= 1") from None
    return _topo.build_fabric(n_nodes, nics_per_node, nic, spine, radix, over, topology, switch_capacity=cap)


@functools.lru_cache(maxsize=32)
def _fabric_cached(n_nodes, rails, nic, spine, radix, over, topology, cap):
    return _topo.build_fabric(n_nodes, rails, nic, spine, radix, over, topology, switch_capacity=cap)


def _fab_params(scenario):
    f = scenario.fabric
    return _fab_params_of(f.nic_speed, getattr(f, "spine_link_speed", f.nic_speed), f.switch)


@functools.lru_cache(maxsize=256)
def _fab_params_of(nic_speed, spine_link_speed, switch):
    # cached: collective_time calls this for every group of a plan, and unit parsing dominated it
    nic = si(nic_speed, "Gbit/s", "fabric.nic_speed")
    spine = si(spine_link_speed, "Gbit/s", "fabric.spine_link_speed")
    from .. import catalog

    sw = catalog.get("switches", switch, "fabric.switch")
    cap = float((sw.ports * sw.port_speed).to("bit/s").magnitude)
    return nic, spine, cap


def fabric_from_scenario(scenario, n_nodes: int | None = None) -> Fabric:
    """The scenario's fabric (all ``compute.nodes``, or ``n_nodes`` if larger)."""
    f = scenario.fabric
    nic, spine, cap = _fab_params(scenario)
    n = int(scenario.compute.nodes)
    if n_nodes is not None:
        n = max(n, as_count(n_nodes, "n_nodes", 1, what="a number of nodes"))
    return _fabric_cached(n, int(f.nics_per_node), nic, spine, int(f.radix), float(f.oversubscription),
                          str(f.topology), cap)


# ---------------------------------------------------------------------------------------------
# Flows


def flow_rates(fab: Fabric, src, dst, load_balancing: str = "ecmp", flows_per_pair: int = 1, seed: int = 0):
    """Max-min fair rates of flows src -> dst (endpoint indices) as an xarray.Dataset.

    Variables: ``rate`` [Gbit/s] per flow, ``utilisation`` per link, ``link_load`` [Gbit/s].

    Notes
    -----
    Progressive filling: all unfrozen rates rise together; when a link's load
    sum_f w_fl r_f reaches its capacity c_l, the flows on it freeze (max-min fairness).

    References
    ----------
    D. Bertsekas, R. Gallager, *Data Networks*, 2nd ed., sec. 6.5.2 (max-min fairness, progressive filling).
    """
    import xarray as xr

    rt = route(fab, src, dst, load_balancing, flows_per_pair, seed)
    sol = solve(fab, rt)
    s, d = _topo.check_flows(fab, src, dst)
    return xr.Dataset(
        {"rate": ("flow", sol.rate / 1e9, {"units": "Gbit / s", "long_name": "max-min fair flow rate"}),
         "utilisation": ("link", sol.utilisation, {"units": "", "long_name": "link utilisation"}),
         "link_load": ("link", sol.link_load / 1e9, {"units": "Gbit / s"})},
        coords={"src": ("flow", s), "dst": ("flow", d),
                "link_tier": ("link", np.asarray(_topo.LINK_TIERS)[fab.tier])},
        attrs={"load_balancing": load_balancing, "flows_per_pair": int(flows_per_pair), "seed": int(seed)})


def allreduce_time(scenario, n_nodes: int, message_size, *, load_balancing: str | None = None,
                   flows_per_pair: int | None = None, seed: int = 0) -> dict:
    """Inter-node ring all-reduce time of ``message_size`` per GPU over ``n_nodes`` nodes.

    Returns dict of Quantities: ``time`` [s], ``busbw`` [GB/s], ``step_time`` [s].

    Notes
    -----
    One ring per rail on S/R of the data (hierarchical all-reduce); T = 2(n-1)(t_step + t_lat)
    with t_step from event-driven max-min completion of the step's transfers and t_lat the
    path latency (:func:`base_latency`); busbw = (S/T) 2(n-1)/n (nccl-tests convention).

    References
    ----------
    P. Patarasuk, X. Yuan, "Bandwidth optimal all-reduce algorithms for clusters of workstations",
    J. Parallel Distrib. Comput. 69 (2009); NVIDIA nccl-tests, doc/PERFORMANCE.md (busbw).
    """
    f = scenario.fabric
    lb = load_balancing or f.load_balancing
    q = int(flows_per_pair or f.flows_per_pair)
    S = si(message_size, "GB", "message_size")
    check_range(S, "message_size", lo=0.0, lo_open=True, unit="bit")
    fab = fabric_from_scenario(scenario, n_nodes)
    lat = base_latency(scenario, n_nodes).to("s").magnitude
    r = _rt.ring_allreduce_time(fab, as_count(n_nodes, "n_nodes", 2, what="a number of nodes"), S, load_balancing=lb, flows_per_pair=q, seed=seed, hop_latency=lat,
                                placement=str(f.placement))
    return {"time": Q_(r["time"], "s"), "step_time": Q_(r["step_time"], "s"),
            "busbw": Q_(r["busbw"], "bit/s").to("GB/s"), "algbw": Q_(r["algbw"], "bit/s").to("GB/s")}


def ecmp_path_usage(n_flows: int = 8, n_paths: int = 8, n_seeds: int = 2000) -> float:
    """Mean fraction of ``n_paths`` equal paths used by ``n_flows`` flows under the twin's ECMP
    hash, Monte Carlo over ``n_seeds`` hash seeds (and flows with distinct 5-tuples).

    Notes
    -----
    Balls into bins: E[used]/N = 1 - (1 - 1/N)^N for N flows on N paths if the hash is uniform.

    References
    ----------
    C. Hopps, RFC 2992 "Analysis of an Equal-Cost Multi-Path Algorithm" (2000); M. Mitzenmacher,
    E. Upfal, *Probability and Computing*, ch. 5 (balls into bins).
    """
    from . import _kernels as K

    n_flows, n_paths, n_seeds = (as_count(v, f"ecmp.{k}", 1, what="a positive integer")
                                 for k, v in (("n_flows", n_flows), ("n_paths", n_paths), ("n_seeds", n_seeds)))
    src = np.arange(n_flows, dtype=np.int64) * 8 + 3
    dst = src + 100_003
    qp = np.zeros(n_flows, np.int64)
    npth = np.full(n_flows, n_paths, np.int64)
    out = np.empty(n_flows, np.int64)
    used = 0
    for s in range(n_seeds):
        K.ecmp_hash(src, dst, qp, s, npth, out)
        used += len(np.unique(out))
    return used / (n_seeds * n_paths)


def dcqcn_fixed_point(n_flows: int, capacity="40 Gbit/s", *, rai="40 Mbit/s", tau_prime="55 us", timer="55 us",
                      byte_counter="10 MB", packet="1 kB", kmin="5 kB", kmax="200 kB", pmax: float = 0.01) -> dict:
    """Analytical DCQCN fixed point (Zhu et al. CoNEXT 2016).

    p* = cbrt( R_AI N^2 / (tau' C^2) (1/B + N/(T C))^2 ), rates in packets/s, B in packets;
    q* = (p*/Pmax)(Kmax - Kmin) + Kmin. Returns {"p": float, "queue": Quantity [KB]}.

    Parameters: ``capacity`` and ``rai`` [Gbit/s], ``tau_prime`` and ``timer`` [s], ``byte_counter``,
    ``packet``, ``kmin``, ``kmax`` [byte], ``pmax`` (0, 1].

    References
    ----------
    Y. Zhu et al., "ECN or Delay: Lessons Learnt from Analysis of DCQCN and TIMELY", CoNEXT 2016.
    """
    pkt = magnitude(packet, "byte", "dcqcn.packet")
    C = magnitude(capacity, "byte/s", "dcqcn.capacity") / pkt
    R = magnitude(rai, "byte/s", "dcqcn.rai") / pkt
    tp = magnitude(tau_prime, "s", "dcqcn.tau_prime")
    T = magnitude(timer, "s", "dcqcn.timer")
    B = magnitude(byte_counter, "byte", "dcqcn.byte_counter") / pkt
    N = as_count(n_flows, "dcqcn.n_flows", 1, what="a number of flows")
    for name, v in (("capacity", C), ("rai", R), ("tau_prime", tp), ("timer", T), ("byte_counter", B)):
        check_range(v, f"dcqcn.{name}", lo=0.0, lo_open=True, hi=math.inf, hi_open=True)
    check_range(pmax, "dcqcn.pmax", lo=0.0, lo_open=True, hi=1.0)
    p = (R * N**2 / (tp * C**2) * (1 / B + N / (T * C)) ** 2) ** (1 / 3)
    k0, k1 = magnitude(kmin, "byte", "dcqcn.kmin"), magnitude(kmax, "byte", "dcqcn.kmax")
    check_range(k0, "dcqcn.kmin", lo=0.0, hi=math.inf, hi_open=True, unit="byte")
    if not (k0 < k1 < math.inf):
        raise InputError("dcqcn.kmax", kmax, f"a finite threshold above kmin ({k0:g} byte)")
    return {"p": p, "queue": Q_(p / pmax * (k1 - k0) + k0, "byte").to("kB")}


def incast(scheme: str = "dcqcn", n_senders: int = 64, capacity="100 Gbit/s", line_rate=None,
           duration="2 ms", message_size="0 MB", *, step="1 us", rtt="4 us", pfc: bool | None = None, **params):
    """N-to-1 incast through one egress port, fluid model at ``step`` resolution.

    Parameters
    ----------
    scheme : str
        pfc | dcqcn | hpcc | credits | dgsq | tcp.
    n_senders : int
    capacity, line_rate : [Gbit/s]
        Bottleneck egress rate; sender line rate (default: capacity).
    duration, step, rtt : [s]
    message_size : [MB]
        Bytes per sender (0: unlimited backlog).
    params : further kernel parameters in SI (see :mod:`twin.fabric.congestion`), e.g.
        ``kmin=5e3`` [byte], ``pmax=0.01``, ``xoff=256e3`` [byte].

    Returns
    -------
    xarray.Dataset
        ``queue`` [KB] and ``rate_total`` [Gbit/s] over ``time`` [us]; attrs: PFC pause time,
        drops, peak queue, completion time, p99 queueing delay, tail latency.

    Notes
    -----
    dq/dt = sum_i r_i - C (q >= 0); ECN marking p(q) = Pmax (q - Kmin)/(Kmax - Kmin) between
    the thresholds; PFC pauses the senders one response delay after q > Xoff.

    References
    ----------
    Y. Zhu et al., CoNEXT 2016 (DCQCN fluid model); Y. Li et al., "HPCC: High Precision Congestion
    Control", SIGCOMM 2019; B. Montazeri et al., "Homa", SIGCOMM 2018; IEEE 802.1Qbb (PFC);
    China Mobile NICC white paper 3.2.2 (GSE DGSQ).
    """
    import xarray as xr

    C = magnitude(capacity, "byte/s", "congestion.capacity")
    line = magnitude(line_rate if line_rate is not None else capacity, "byte/s", "congestion.line_rate")
    dur = magnitude(duration, "s", "congestion.duration")
    size = magnitude(message_size, "byte", "congestion.message_size")
    dt = magnitude(step, "s", "congestion.dt")
    r = magnitude(rtt, "s", "congestion.rtt")
    n_senders = as_count(n_senders, "congestion.n_senders", 1, what="a number of senders")
    out = run_incast(scheme, n_senders, C, line, dur, size, pfc=pfc, dt=dt, rtt=r, **params)
    st = out["stats"]
    attrs = {"scheme": scheme, "n_senders": int(n_senders),
             "pause_time_us": st["pause_time"] * 1e6, "pause_fraction": st["pause_fraction"],
             "drops_kB": st["drops"] / 1e3, "queue_max_kB": st["queue_max"] / 1e3,
             "completion_time_us": st["completion_time"] * 1e6 if math.isfinite(st["completion_time"]) else -1.0,
             "p99_queueing_delay_us": st["p99_queueing_delay"] * 1e6, "tail_latency_us": st["tail_latency"] * 1e6}
    return xr.Dataset(
        {"queue": ("time", out["queue"] / 1e3, {"units": "kB"}),
         "rate_total": ("time", out["rate_total"] * 8 / 1e9, {"units": "Gbit / s"}),
         "rate": (("time", "sender"), out["rates"] * 8 / 1e9, {"units": "Gbit / s"})},
        coords={"time": ("time", out["t"] * 1e6, {"units": "us"})}, attrs=attrs)


# ---------------------------------------------------------------------------------------------
# Link layer


def fec_latency(rate, code: str = "rs544", *, bypass: bool = False, ber: float = 0.0, part: str = "total"):
    """FEC latency [ns] of one link end at aggregate FEC rate ``rate`` (e.g. '106.25 Gbit/s').

    Notes
    -----
    Accumulation t_acc = n m / R (RS(544,514): 5440 bits); decode t_dec = (2t + 20) cycles at
    1 GHz (model assumption); with detect-then-correct bypass (white paper 3.2.3)
    t = P0 t_det + (1 - P0)(t_acc + t_dec), P0 = (1 - BER)^(n m).
    ``part``: "total" | "accumulation" | "decode".

    References
    ----------
    IEEE 802.3 clauses 91 and 119 (RS(528,514), RS(544,514)); China Mobile NICC white paper 3.2.3
    (detect-then-correct FEC bypass, flexible FEC); G. Sella, A. Moore, N. Zilberman, "FEC Killed
    the Cut-Through Switch", NetCompute 2018.
    """
    R = si(rate, "Gbit/s", "fec.rate")
    if part == "accumulation":
        v = _ll.fec_accumulation_time(code, R)
    elif part == "decode":
        v = _ll.fec_decode_time(code)
    elif part == "total":
        v = _ll.fec_latency(code, R, bypass=bypass, ber=ber)
    else:
        raise InputError("fec.part", part, "'total', 'accumulation' or 'decode'")
    return Q_(v, "s").to("ns")


def flexible_fec(ber: float, target: float = 1e-10) -> str:
    """Flexible FEC: the lightest code meeting a codeword error ratio ``target`` at pre-FEC ``ber``."""
    return _ll.flexible_fec(_real(ber, "fec.ber"), _real(target, "fec.target"))


def _real(value, field: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(field, value, "a number") from None


def encryption_efficiency(mode: str = "macsec", payload="4096 B") -> float:
    """Goodput fraction with MACsec (32 B per frame) or PHYSec (none) for a payload size."""
    return _ll.encryption_efficiency(mode, magnitude(payload, "byte", "fabric.mtu"))


def protocol_efficiency(protocol: str) -> float:
    """Payload fraction of the line rate for full-MTU packets of ``protocol`` (ethernet | roce | gse |
    infiniband); eta = payload / (payload + per-packet headers and framing).

    References
    ----------
    IEEE 802.3 (framing, IFG); IBTA InfiniBand Architecture Vol. 1 and RoCEv2 Annex A17.
    """
    return _ll.protocol_efficiency(protocol)


def optics_power(speed, technology: str = "dsp"):
    """Optics power per port [W] from the catalog for a speed and technology (dsp | lpo | cpo)."""
    from .. import catalog

    s = magnitude(speed, "Gbit/s", "optics.speed")
    techs = ("dsp", "lpo", "cpo")
    if technology not in techs:
        raise InputError("optics.technology", technology, "one of dsp, lpo, cpo")
    for name in catalog.names("optics"):
        e = catalog.get("optics", name)
        if e.technology == technology and abs(e.speed.to("Gbit/s").magnitude - s) < 1e-6:
            return e.power.to("W")
    have = sorted({f"{catalog.get('optics', n).speed.to('Gbit/s').magnitude:g}G-{catalog.get('optics', n).technology}"
                   for n in catalog.names("optics")})
    raise InputError("optics.speed", f"{s:g} Gbit/s {technology}", "a catalog combination: " + ", ".join(have),
                     "has no catalog entry")


# ---------------------------------------------------------------------------------------------
# Cross-domain functions

#: Cable lengths per tier (assumption: in-rack DAC/AOC to the leaf, row-scale to spines,
#: hall-scale to cores) and the fibre delay 5 ns/m.
CABLE_M = {"access": 3.0, "spine": 30.0, "core": 100.0}
FIBRE_S_PER_M = 5e-9


def _hops(fab: Fabric, n_nodes: int) -> int:
    e = np.arange(int(n_nodes) * fab.rails)
    leaves = fab.leaf_of(e)
    if np.unique(leaves).size <= 1:
        return 1
    if fab.tiers == 2 or np.unique(fab.pod_of_leaf(leaves)).size <= 1:
        return 3
    return 5


def _nic_latency(scenario) -> float:
    from .. import catalog

    speed = magnitude(scenario.fabric.nic_speed, "Gbit/s", "fabric.nic_speed")
    best = None
    for n in catalog.names("nics"):
        e = catalog.get("nics", n)
        if abs(e.speed.to("Gbit/s").magnitude - speed) < 1e-6:
            best = e
            break
    if best is None:
        best = catalog.get("nics", catalog.names("nics")[0])
    return float(best.latency.to("s").magnitude)


def base_latency(scenario, n_nodes: int):
    """Zero-load one-way latency [s] across the fabric between the farthest nodes of a job.

    Notes
    -----
    t = t_NIC + h t_switch + (h + 1) t_FEC + sum of cable delays, h = 1, 3 or 5 switch hops
    (same leaf, same pod / 2 tiers, across pods); t_FEC = RS(544,514) accumulation + decode at
    the link rate (Ethernet and InfiniBand HDR/NDR both run RS-FEC on PAM4 lanes); cables
    3 m / 30 m / 100 m at 5 ns/m (assumption). Switch and NIC latencies from the catalog.

    References
    ----------
    IEEE 802.3 cl. 91/119 (RS-FEC); switch and NIC datasheets cited in datasets/catalog/switches.toml
    and nics.toml; fibre group index 1.468 (about 4.9 ns/m, rounded to 5 ns/m).
    """
    from .. import catalog

    n = as_count(n_nodes, "n_nodes", 1, what="a number of nodes")
    fab = fabric_from_scenario(scenario, n)
    sw = catalog.get("switches", scenario.fabric.switch, "fabric.switch")
    t_sw = float(sw.latency.to("s").magnitude)
    t_nic = _nic_latency(scenario)
    if n == 1:
        return Q_(t_nic, "s")
    h = _hops(fab, n)
    fec_acc = lambda r: _ll.fec_latency("rs544", r * 1.0625)  # noqa: E731  (line rate incl. 256b/257b+FEC)
    t_fec = 2 * fec_acc(fab.nic_speed / fab.planes) + (h - 1) * fec_acc(fab.spine_speed)
    cables = 2 * CABLE_M["access"] + (2 * CABLE_M["spine"] if h >= 3 else 0) + (2 * CABLE_M["core"] if h >= 5 else 0)
    return Q_(t_nic + h * t_sw + t_fec + cables * FIBRE_S_PER_M, "s")


def all_to_all_sample(fab: Fabric, n: int, lb: str, budget: int = 1_000_000) -> int:
    """Peers per node for an all-to-all sample whose link-incidence entries stay near ``budget``."""
    per_flow = 6 if lb in ("ecmp", "adaptive") else (2 + 2 * fab.u + 2 * fab.u * max(fab.v, 1)) * fab.planes
    return int(max(1, min(64, n - 1, budget // max(1, n * fab.rails * per_flow))))


_NB_CACHE: dict = {}


def node_bandwidth(scenario, n_nodes: int, pattern: str = "ring"):
    """Achieved per-node injection bandwidth [GB/s] for a traffic pattern over ``n_nodes`` nodes.

    Parameters
    ----------
    scenario : Scenario
    n_nodes : int
        Nodes of the job, placed as ``fabric.placement`` says: the first ``n_nodes`` of the
        fabric (contiguous) or a seeded random set across it (scattered).
    pattern : str
        "ring" (rail-matched ring, the inter-node hop of ring / hierarchical collectives),
        "all-to-all" (MoE; above 64 peers a spread sample of peers), "incast" (n-1 -> 1; the
        average per sending node), or another of :data:`PATTERNS`.

    Returns
    -------
    Quantity [GB/s]
        Payload bandwidth of a bulk-synchronous step of the pattern: every flow moves the same
        amount c, the step ends when its last transfer ends, so a collision that slows one
        flow slows the whole step (as a ring or all-to-all step does in NCCL).

    Notes
    -----
    Flows are routed with the scenario's load balancing and flows per pair (seed 0);
    transfers complete under max-min fair rates re-shared as flows finish (progressive
    filling, :func:`transfer_times`); b = eta_proto * c * mean_node(F_node) / T_step with
    F_node the flows a node sends and T_step the last finish time;
    eta_proto = payload / (payload + headers) at a full MTU (RoCEv2 4096 B: 0.980; InfiniBand
    0.994; Ethernet/TCP 1500 B: 0.941). One node alone gets its NICs' line rate times eta_proto.

    References
    ----------
    A. Gangidi et al., "RDMA over Ethernet for Distributed AI Training at Meta Scale", SIGCOMM 2024
    (few large flows, ECMP collisions, fragmented placement); D. Bertsekas, R. Gallager, *Data
    Networks*, sec. 6.5.2 (max-min fairness).
    """
    f = scenario.fabric
    n = as_count(n_nodes, "n_nodes", 1, what="a number of nodes")
    if pattern not in PATTERNS:
        raise InputError("pattern", pattern, "one of " + ", ".join(PATTERNS))
    nic, spine, cap = _fab_params(scenario)
    eta = _ll.protocol_efficiency(str(f.protocol))
    if n == 1:
        return Q_(eta * nic * int(f.nics_per_node), "bit/s").to("GB/s")
    key = (int(scenario.compute.nodes), int(f.nics_per_node), nic, spine, int(f.radix), float(f.oversubscription),
           str(f.topology), cap, str(f.load_balancing), int(f.flows_per_pair), n, pattern, str(f.placement))
    if key in _NB_CACHE:
        return Q_(eta * _NB_CACHE[key], "bit/s").to("GB/s")
    fab = fabric_from_scenario(scenario, n)
    kw = {}
    if pattern == "all-to-all":
        kw["sample"] = all_to_all_sample(fab, n, f.load_balancing)
    if pattern == "storage":
        kw["storage_nodes"] = max(1, min(fab.n_nodes - n, max(1, n // 8)))
    src, dst = traffic(fab, pattern, n, placement=str(f.placement), **kw)
    rt = route(fab, src, dst, f.load_balancing, int(f.flows_per_pair), 0)
    chunk = 1e9  # bits per flow; the fluid model is linear in size, so b does not depend on it
    t_step = float(transfer_times(fab, rt, chunk).max())
    node = src // fab.rails
    flows_per_node = np.bincount(node)[np.unique(node)]
    val = float(chunk * flows_per_node.mean() / t_step)
    if len(_NB_CACHE) > 256:
        _NB_CACHE.clear()
    _NB_CACHE[key] = val
    return Q_(eta * val, "bit/s").to("GB/s")


#: Domains whose results the fabric reads: none (it sits at the bottom of the twin).
NEEDS: tuple = ()

#: Headline figures (scalar results) for compare and the app: (variable, label, unit), as
#: datasets/tables/headlines.toml declares them.
HEADLINES = read_headlines("fabric")

#: Patterns whose per-node bandwidth the fabric publishes for the collectives above it.
HOP_PATTERNS = ("ring", "all-to-all")


def hop_nodes(n_nodes: int) -> list[int]:
    """Group sizes in nodes [1] at which :func:`evaluate` tabulates the inter-node hop: powers of
    two below the cluster and the cluster itself (readers interpolate in log n between them)."""
    n = as_count(n_nodes, "compute.nodes", 1, what="a number of nodes")
    out = [2 ** k for k in range(1, 40) if 2 ** k < n]
    return out + [n] if n >= 2 else [1]


#: Senders of the incast behind :func:`congestion_efficiency` (larger fan-ins share its result)
INCAST_MAX_SENDERS = 64


def congestion_efficiency(scenario, fan_in: int) -> float:
    """Share of the max-min bandwidth that a bottleneck shared by ``fan_in`` flows delivers
    under the scenario's congestion control [1].

    Parameters
    ----------
    scenario : Scenario
    fan_in : int
        Flows converging on the busiest link (1: no contention, efficiency 1).

    Returns
    -------
    float
        ``eta_cc = (T_ideal / T_fluid) (1 - f_pause)`` in (0, 1].

    Notes
    -----
    The fluid incast model (:func:`incast`) runs ``fan_in`` senders of 0.5 MB each into one
    port at the NIC speed under the scenario's congestion control (PFC, DCQCN, HPCC, receiver
    credits, GSE DGSQ or TCP); ``T_ideal = fan_in S / C`` is the completion time of a perfectly
    shared link, ``T_fluid`` the model's, and ``f_pause`` the share of time PFC paused the
    senders, which also stops every other flow behind those ports (head-of-line blocking).

    References
    ----------
    Y. Zhu et al., CoNEXT 2016; Y. Li et al., SIGCOMM 2019; A. Gangidi et al., SIGCOMM 2024.
    """
    k = as_count(fan_in, "fan_in", 1, what="a number of flows")
    if k < 2:
        return 1.0
    f = scenario.fabric
    cc = str(f.congestion_control)
    scheme = cc if cc in SCHEMES else "dcqcn"
    nic = magnitude(f.nic_speed, "Gbit/s", "fabric.nic_speed")
    size = 0.5e6
    k = min(k, INCAST_MAX_SENDERS)
    inc = incast(scheme, k, f"{nic} Gbit/s", duration="2 ms", message_size=f"{size} B")
    t_ideal = k * size * 8 / (nic * 1e9)
    t_done = inc.attrs["completion_time_us"] * 1e-6
    if t_done <= 0:  # not finished within the window: take the delivered share instead
        delivered = float(inc["rate_total"].mean()) / nic
        return float(min(1.0, max(delivered, 1e-3)) * (1.0 - inc.attrs["pause_fraction"]))
    return float(min(1.0, t_ideal / t_done) * (1.0 - inc.attrs["pause_fraction"]))


def network_power(scenario) -> dict:
    """Power of the scale-out network the scenario builds [W], by part.

    Returns
    -------
    dict
        ``switches`` (switch systems x catalog power), ``optics`` (two modules per link, at each
        link's speed and ``fabric.optics`` technology), ``total``; and the counts used.

    Notes
    -----
    ``P = N_sw P_sw + sum_links 2 P_module(speed, technology)``. Every link, NIC-to-leaf
    included, carries an optical module at each end (400G-class AI fabrics run optics or AOCs to
    end-of-row rail switches; an assumption, stated). Switch power is the catalog's typical
    system power without optics.

    References
    ----------
    Switch and module datasheets in datasets/catalog/switches.toml and optics.toml; white paper
    3.2 (network power rising with port speed; LPO and CPO).
    """
    from .. import catalog

    f = scenario.fabric
    fab = fabric_from_scenario(scenario)
    sw = catalog.get("switches", f.switch, "fabric.switch")
    n_sw = int(sum(fab.n_switches().values()))
    tech = str(f.optics)
    # directed links come in pairs; LINK_TIERS even indices are the up-direction of each tier
    up = np.bincount(fab.tier, minlength=len(_topo.LINK_TIERS))[0::2]
    nic_speed = magnitude(f.nic_speed, "Gbit/s", "fabric.nic_speed") / fab.planes
    spine_speed = magnitude(f.spine_link_speed, "Gbit/s", "fabric.spine_link_speed")
    p_access = optics_power(f"{nic_speed} Gbit/s", tech).to("W").magnitude
    p_spine = optics_power(f"{spine_speed} Gbit/s", tech).to("W").magnitude
    optics = 2 * (up[0] * p_access + up[1:].sum() * p_spine)
    switches = n_sw * sw.power.to("W").magnitude
    return {"switches": float(switches), "optics": float(optics), "total": float(switches + optics),
            "n_switches": n_sw, "n_modules": int(2 * up.sum())}


def evaluate(scenario, state=None):
    """The fabric's results in the twin state.

    Parameters
    ----------
    scenario : Scenario
    state : xarray.DataTree, optional
        The twin state (the fabric reads nothing from it: NEEDS is empty).

    Returns
    -------
    xarray.Dataset
        The inter-node hop the collectives above read: ``node_bandwidth`` [GB/s] over
        (``pattern``, ``hop_nodes``), congestion control included (``cc_efficiency``), and
        ``hop_latency`` [us] over ``hop_nodes``; per-link utilisation and per-flow rates of a
        whole-cluster ring (nodes placed as ``fabric.placement`` says); the incast queue under
        the scenario's congestion control; network power [kW] by part; base and FEC latency.

    Notes
    -----
    ``b(pattern, n) = b_maxmin(pattern, n) eta_cc(k)``, with ``k`` the flows converging on the
    busiest port: ``n - 1`` for all-to-all (every receiver is an incast), and for a ring the
    ratio of the line rate to the max-min rate (ECMP collisions on a scattered placement); see
    :func:`node_bandwidth` and :func:`congestion_efficiency`.
    """
    import xarray as xr

    f = scenario.fabric
    fab = fabric_from_scenario(scenario)
    n = fab.n_nodes
    ds = xr.Dataset(attrs={"topology": fab.topology, "tiers": fab.tiers, "planes": fab.planes,
                           "load_balancing": str(f.load_balancing), "congestion_control": str(f.congestion_control),
                           "leaves": int(fab.n_leaves * fab.planes), **{f"switches_{k}": int(v) for k, v in fab.n_switches().items()},
                           **{f"gse_{k}": int(v) for k, v in fab.gse_roles().items()}})
    # --- the inter-node hop table read by the interconnect and everything above it
    hops = hop_nodes(n)
    eta = _ll.protocol_efficiency(str(f.protocol))
    line = eta * magnitude(f.nic_speed, "GB/s", "fabric.nic_speed") * int(f.nics_per_node)
    raw = np.array([[node_bandwidth(scenario, k, pat).to("GB/s").magnitude if k >= 2 else line for k in hops]
                    for pat in HOP_PATTERNS])
    cc = np.ones_like(raw)
    eff = {}  # one incast per fan-in the model distinguishes (it caps the senders)

    def cc_of(k):
        key = min(int(k), INCAST_MAX_SENDERS)
        if key not in eff:
            eff[key] = congestion_efficiency(scenario, key)
        return eff[key]

    for j, k in enumerate(hops):
        if k < 2:
            continue
        cc[HOP_PATTERNS.index("all-to-all"), j] = cc_of(k - 1)
        fan = int(round(line / max(raw[HOP_PATTERNS.index("ring"), j], 1e-9)))
        cc[HOP_PATTERNS.index("ring"), j] = cc_of(fan)
    ds = ds.assign_coords(pattern=list(HOP_PATTERNS), hop_nodes=("hop_nodes", np.asarray(hops, dtype=float), {"units": ""}))
    ds["node_bandwidth"] = (("pattern", "hop_nodes"), raw * cc,
                            {"units": format_unit("GB/s"), "long_name": "per-node payload bandwidth of a collective step, congestion control included"})
    ds["node_bandwidth_maxmin"] = (("pattern", "hop_nodes"), raw, {"units": format_unit("GB/s"), "long_name": "max-min fair bandwidth before congestion control"})
    ds["cc_efficiency"] = (("pattern", "hop_nodes"), cc, {"units": "", "long_name": "share kept under the congestion control"})
    ds["hop_latency"] = ("hop_nodes", [base_latency(scenario, k).to("us").magnitude for k in hops], {"units": format_unit("us")})
    if n >= 2:
        src, dst = traffic(fab, "ring", n, placement=str(f.placement))  # same flows as node_bandwidth
        fr = flow_rates(fab, src, dst, f.load_balancing, int(f.flows_per_pair), 0)
        fr = fr.reset_coords(drop=True)
        ds["flow_rate"] = fr["rate"]
        ds["flow_src"] = ("flow", np.asarray(src), {"units": "", "long_name": "source NIC port"})
        ds["flow_dst"] = ("flow", np.asarray(dst), {"units": "", "long_name": "destination NIC port"})
        ds["link_utilisation"] = fr["utilisation"]
        ds["link_capacity"] = ("link", fab.cap / 1e9, {"units": format_unit("Gbit/s")})
        ds["link_tier"] = ("link", np.asarray(_topo.LINK_TIERS)[fab.tier].astype(str), {"units": ""})
        ds["ring_node_bandwidth"] = ((), float(ds["node_bandwidth"].sel(pattern="ring").values[-1]), {"units": format_unit("GB/s")})
    cc_name = str(f.congestion_control)
    scheme = cc_name if cc_name in SCHEMES else "dcqcn"
    nic_gbps = magnitude(f.nic_speed, "Gbit/s", "fabric.nic_speed")
    ns = int(min(max(n - 1, 1), 64))
    inc = incast(scheme, ns, f"{nic_gbps} Gbit/s", duration="1 ms", message_size="0.5 MB")
    ds["incast_queue"] = ("incast_time", inc["queue"].values, {"units": format_unit("kB"), "scheme": scheme, "n_senders": ns})
    ds = ds.assign_coords(incast_time=("incast_time", inc["time"].values, {"units": format_unit("us")}))
    ds["incast_pause_fraction"] = ((), inc.attrs["pause_fraction"], {"units": ""})
    ds["incast_tail_latency"] = ((), inc.attrs["tail_latency_us"], {"units": format_unit("us")})
    ds["base_latency"] = ((), base_latency(scenario, n).to("us").magnitude, {"units": format_unit("us")})
    ds["fec_latency"] = ((), fec_latency(f"{nic_gbps * 1.0625} Gbit/s").magnitude, {"units": format_unit("ns")})
    npw = network_power(scenario)
    ds = ds.assign_coords(network_part=["switches", "optics"])
    ds["network_power_by_part"] = ("network_part", [npw["switches"] / 1e3, npw["optics"] / 1e3], {"units": format_unit("kW")})
    ds["network_power"] = ((), npw["total"] / 1e3, {"units": format_unit("kW"), "long_name": "switches and optical modules"})
    ds["switch_count"] = ((), npw["n_switches"], {"units": ""})
    ds["optical_modules"] = ((), npw["n_modules"], {"units": ""})
    return ds
