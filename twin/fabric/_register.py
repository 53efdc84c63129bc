"""Validation quantities and benchmarks of the fabric domain (loaded by twin.registry)."""
from __future__ import annotations

import math

import numpy as np

from ..bench import Benchmark, register_benchmark
from ..validation import register_quantity


@register_quantity("ecmp-path-usage", domain="fabric", unit="")
def _ecmp_usage(n_flows: int = 8, n_paths: int = 8, n_seeds: int = 4000):
    """Mean fraction of equal paths used by N flows under the twin's seeded ECMP hash (Monte Carlo)."""
    from . import ecmp_path_usage

    return ecmp_path_usage(int(n_flows), int(n_paths), int(n_seeds))


@register_quantity("dcqcn-fluid-queue", domain="fabric", unit="kB")
def _dcqcn_queue(n_flows: int = 2, capacity: str = "40 Gbit/s", duration: str = "150 ms", average_last: str = "50 ms",
                 step: str = "1 us", rtt: str = "4 us"):
    """Mean queue of the simulated DCQCN fluid model (CoNEXT'16 defaults) over the last part of a run."""
    from ..units import Q_, magnitude
    from .congestion import run_incast

    C = magnitude(capacity, "byte/s", "capacity")
    out = run_incast("dcqcn", int(n_flows), C, C, magnitude(duration, "s", "duration"), 0.0, pfc=False,
                     dt=magnitude(step, "s", "step"), rtt=magnitude(rtt, "s", "rtt"), packet=1e3, lossy_buffer=1e12)
    k = max(1, int(round(magnitude(average_last, "s", "average_last") / magnitude(step, "s", "step"))))
    return Q_(float(np.mean(out["queue"][-k:])), "byte").to("kB")


@register_quantity("fec-accumulation-latency", domain="fabric", unit="ns")
def _fec_acc(rate: str = "106.25 Gbit/s", code: str = "rs544"):
    """Time to accumulate one FEC codeword at the aggregate FEC-lane rate."""
    from . import fec_latency

    return fec_latency(rate, code, part="accumulation")


@register_quantity("fec-share-of-hop-latency", domain="fabric", unit="")
def _fec_share(switch: str = "tomahawk3-12.8t", rate: str = "106.25 Gbit/s", code: str = "rs544"):
    """FEC latency (accumulation + decode) as a fraction of one hop's forwarding latency
    (switch port-to-port latency from the catalog + FEC of the incoming link)."""
    from .. import catalog
    from . import fec_latency

    fec = fec_latency(rate, code).to("ns").magnitude
    sw = catalog.get("switches", switch, "switch").latency.to("ns").magnitude
    return fec / (fec + sw)


@register_quantity("flow-throughput-share", domain="fabric", unit="")
def _flow_throughput(nodes: int = 512, rails: int = 8, topology: str = "fat-tree-3tier", radix: int = 128,
                     link_speed: str = "400 Gbit/s", load_balancing: str = "ecmp", pattern: str = "permutation",
                     flows_per_pair: int = 1, protocol: str = "", seeds: int = 3):
    """Mean max-min fair rate of long-lived flows as a share of the NIC line rate (times the protocol's
    payload share when ``protocol`` is given), averaged over ``seeds`` traffic / hash seeds.

    The fabric is built non-blocking from the inputs (:func:`twin.fabric.build_fabric`), the flows of
    ``pattern`` (:func:`twin.fabric.traffic`) are routed with ``load_balancing`` and given their max-min
    fair rates (:func:`twin.fabric.flow_rates`), the steady state that long flows under a fair congestion
    control converge to."""
    from . import build_fabric, flow_rates, protocol_efficiency, traffic
    from .topology import as_count

    n = as_count(nodes, "nodes", 2, what="a number of nodes")
    fab = build_fabric(n, int(rails), link_speed, link_speed, int(radix), 1.0, str(topology))
    shares = []
    for s in range(as_count(seeds, "seeds", 1, what="a number of seeds")):
        src, dst = traffic(fab, str(pattern), n, seed=s)
        fr = flow_rates(fab, src, dst, str(load_balancing), int(flows_per_pair), seed=s)
        shares.append(float(fr["rate"].mean()) * 1e9 / fab.nic_speed)
    eta = protocol_efficiency(str(protocol)) if protocol else 1.0
    return eta * float(np.mean(shares))


@register_quantity("rdma-goodput", domain="fabric", unit="Gbit/s")
def _rdma_goodput(protocol: str = "infiniband", rate: str = "100 Gbit/s"):
    """Payload rate of one RDMA stream of large messages at full MTU on a link of data rate ``rate``
    (after line coding): the line rate times the protocol's payload share (:func:`protocol_efficiency`)."""
    from ..units import Q_, check_range, magnitude
    from . import protocol_efficiency

    r = magnitude(rate, "Gbit/s", "rate")
    check_range(r, "rate", lo=0.0, lo_open=True, hi=math.inf, hi_open=True, unit="Gbit/s")
    return Q_(protocol_efficiency(str(protocol)) * r, "Gbit/s")


@register_quantity("switch-capacity-from-serdes", domain="fabric", unit="Tbit/s")
def _switch_capacity(switch: str = "tomahawk5-51.2t"):
    """Switch chip capacity rebuilt from its SerDes count x lane rate (catalog)."""
    from .. import catalog

    sw = catalog.get("switches", switch, "switch")
    return (sw.serdes_lanes * sw.serdes).to("Tbit/s")


# ---------------------------------------------------------------------------------------------
# Benchmarks


def _maxmin_benchmark(nodes: int, radix: int, repeats: int, reference_repeats: int, note: str) -> Benchmark:
    """Max-min rates of one rail-matched ring flow per GPU on ``nodes`` x 8 rails: numba vs NumPy."""
    from ..bench import max_rel_diff
    from . import _reference as R
    from .routing import route, solve, traffic
    from .topology import build_fabric

    fab = build_fabric(nodes, 8, 400e9, 400e9, radix, 1.0, "fat-tree-3tier")
    src, dst = traffic(fab, "ring", nodes, placement="scattered", seed=0)
    rt = route(fab, src, dst, "ecmp", 1, 0)
    return Benchmark(size=f"{nodes * 8} flows, {fab.n_links} links ({nodes} nodes x 8 rails, radix {radix}, "
                          f"{fab.tiers} tiers, {fab.pods} pods)",
                     fast=lambda: solve(fab, rt), reference=lambda: R.solve(fab, rt),
                     repeats=repeats, reference_repeats=reference_repeats,
                     compare=lambda f, r: max_rel_diff(f.rate, r.rate), tolerance=1e-9,
                     metric="max relative rate difference", note=note)


@register_benchmark("maxmin-fattree-16k", domain="fabric", min_ratio=10.0, max_seconds=1.0,
                    goal="< 1 s and >= 10x over the NumPy reference: max-min rates of one ring all-reduce flow per GPU, "
                         "16,384 GPUs (2,048 nodes x 8 rails), 3-tier fat tree")
def _bench_maxmin(quick: bool) -> Benchmark:
    return _maxmin_benchmark(256 if quick else 2048, 64, 5, 3,
                             "rail-matched ring over a scattered (fragmented) placement of the job's nodes, per-flow ECMP "
                             "(1 QP, seeded hash); routing excluded, rates solved by the numba heap-based progressive "
                             "filling vs the vectorised NumPy round-by-round reference (bincount per round)")


@register_benchmark("maxmin-fattree-128k", domain="fabric", max_seconds=2.0,
                    goal="< 2 s: max-min rates of one ring all-reduce flow per GPU, 131,072 GPUs (16,384 nodes x 8 "
                         "rails), 3-tier fat tree of radix-128 switches")
def _bench_maxmin_128k(quick: bool) -> Benchmark:
    return _maxmin_benchmark(1024 if quick else 16384, 128, 3, 1,
                             "as maxmin-fattree-16k at 8x the size; the NumPy reference runs once at full size to "
                             "check the rates (tens of seconds)")


@register_benchmark("dcqcn-incast-64", domain="fabric", min_ratio=10.0, max_seconds=1.0,
                    goal="< 1 s and >= 10x over the vectorised NumPy reference: 64-to-1 incast, DCQCN fluid model, "
                         "10 ms at 1 us steps")
def _bench_incast(quick: bool) -> Benchmark:
    from ..bench import max_abs_diff
    from . import _kernels as K
    from . import _reference as R
    from .congestion import build_params

    n = 64
    horizon = 1e-3 if quick else 10e-3
    prm = build_params(n, 100e9 / 8, 100e9 / 8)
    steps = int(round(horizon / 1e-6))
    size = np.zeros(n)
    q = np.empty(steps)
    rs = np.empty(steps)
    rates = np.empty((steps, n))
    st = np.empty(K.N_STATS)

    def fast():
        K.incast_fluid(K.SCHEME_DCQCN, prm, size, steps, q, rs, rates, st)
        return q.copy()

    def reference():
        return R.incast_fluid_numpy(K.SCHEME_DCQCN, prm, size, steps)[0]

    return Benchmark(size=f"{n} senders x {steps} steps of 1 us at 100 Gbit/s, PFC on",
                     fast=fast, reference=reference, repeats=5, reference_repeats=1,
                     compare=lambda f, r: max_abs_diff(f, r) / float(prm[K.P_BUF]), tolerance=1e-9,
                     metric="max queue difference / buffer",
                     note="reference: the same fluid equations with every sender's state in NumPy arrays, one Python "
                          "iteration per 1 us step (time is sequential), full horizon, no scaling")
