"""Validation quantities and benchmarks of the interconnect domain (loaded by twin.registry)."""
from __future__ import annotations

import numpy as np

from ..bench import Benchmark, register_benchmark
from ..validation import register_quantity


@register_quantity("nccl-busbw-factor", domain="interconnect", unit="")
def _busbw_factor(collective: str, n: int):
    """nccl-tests bus-bandwidth factor busbw / algbw."""
    from . import busbw_factor

    return busbw_factor(collective, int(n))


@register_quantity("nccl-busbw", domain="interconnect", unit="GB/s")
def _nccl_busbw(topology: str, accelerator: str, cards: int = 8, collective: str = "all-reduce",
                algorithm: str = "auto", message_size: str = "4 GiB"):
    """Bus bandwidth the model gives for one collective on one topology (nccl-tests convention)."""
    from . import large_message_busbw

    return large_message_busbw(topology, accelerator, int(cards), collective, algorithm, message_size)


@register_quantity("hcm-ring-count", domain="interconnect", unit="")
def _hcm_rings(accelerator: str = "V100-SXM2-32GB", topology: str = "nvlink-hcm"):
    """Edge-disjoint Hamiltonian rings the model finds on a hybrid cube mesh board."""
    from . import build_topology

    return len(build_topology(topology, accelerator, 8).rings) // 2


@register_quantity("oam-topology-aggregate-bandwidth", domain="interconnect", unit="GB/s")
def _oam_aggregate(link: str | None = None, links: int = 7, accelerator: str | None = None,
                   topology: str = "oam-fc", cards: int = 8):
    """Card-to-card bandwidth of one card on an OAM board, both directions, from the topology graph."""
    from ..units import Q_
    from .topology import build_oam_fc, build_oam_hcm, generic_card

    card = generic_card(link, int(links)) if link else accelerator
    topo = (build_oam_fc if topology == "oam-fc" else build_oam_hcm)(card, int(cards))
    return Q_(topo.card_bandwidth(0, bidirectional=True, peers_only=True) / 1e9, "GB/s")


@register_benchmark("collective-sweep-s2-256", domain="interconnect",
                    goal="all-to-all link loads over a 256-card S^2 graph and a 200-size busbw sweep: numba vs Python/NumPy")
def _bench_sweep(quick: bool) -> Benchmark:
    from . import _kernels, _reference
    from .topology import build_topology

    cards = 64 if quick else 256
    topo = build_topology("s2-switch", "MI300X-OAM-192GB", cards)
    pairs = [(i, j) for i in range(cards) for j in range(cards) if i != j]
    src = np.array([p[0] for p in pairs], dtype=np.int64)
    dst = np.array([p[1] for p in pairs], dtype=np.int64)
    nb = np.full(len(pairs), 1.0 / cards)
    grp = np.zeros(len(pairs), dtype=np.int64)
    sizes = np.logspace(3, 10, 200)
    rng = np.random.default_rng(0)
    C, P = 5, 3
    lat = rng.uniform(1e-6, 5e-5, (C, P, 3))
    inv = rng.uniform(1e-12, 1e-10, (C, P, 3))
    scale = np.ones((C, P))
    args = (topo.indptr, topo.adj_node, topo.adj_edge, topo.bandwidth, topo.latency, topo.is_acc, topo.dist)

    def run(mod):
        loads, _ = mod.link_loads(*args, src, dst, nb, grp, 0, len(topo.edges))
        beta = float(np.max(loads / topo.effective_bandwidth))
        times, best = mod.sweep_times(sizes, lat, inv * (1.0 + beta), scale)
        return times

    return Benchmark(size=f"{cards} cards, {len(pairs)} transfers, 200 sizes x {C} algorithms x {P} phases x 3 protocols",
                     fast=lambda: run(_kernels), reference=lambda: run(_reference),
                     repeats=5, reference_repeats=1 if not quick else 1,
                     note="reference = pure-Python shortest-path spreading + NumPy broadcasting sweep")
