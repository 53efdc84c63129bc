"""Validation quantities and benchmarks of the interconnect domain (loaded by twin.registry)."""
from __future__ import annotations

import numpy as np

from ..bench import Benchmark, register_benchmark
from ..validation import patched, register_calibration, register_quantity, run_case


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


@register_quantity("nccl-busbw-multinode", domain="interconnect", unit="GB/s")
def _nccl_busbw_multinode(accelerator: str, nodes: int, cards_per_node: int = 8, topology: str = "nvswitch",
                          nic_speed: str = "400 Gbit/s", nics_per_node: int = 8, protocol: str = "infiniband",
                          fabric_topology: str = "rail-optimized", collective: str = "all-reduce",
                          algorithm: str = "nccl", message_size: str = "1 GiB"):
    """busbw of an nccl-tests run across nodes: a scenario built from the inputs, the fabric and
    the interconnect evaluated by a Twin, the collective read off the state tree."""
    from .collectives import nccl_busbw, nccl_test_scenario

    sc = nccl_test_scenario(accelerator, int(nodes), int(cards_per_node), topology=topology, nic_speed=nic_speed,
                            nics_per_node=int(nics_per_node), protocol=protocol, fabric_topology=fabric_topology)
    return nccl_busbw(sc, collective, message_size, algorithm=algorithm)


def _mean_ratio(train) -> float:
    """Mean of published / predicted over cases (the fit rule of both calibrations below)."""
    ratios = []
    for c in train:
        r = run_case(c)
        if r.error is not None or not r.predicted:
            raise RuntimeError(f"refit: case {c.get('id')} did not run: {r.error}")
        ratios.append(r.expected / r.predicted)
    return float(np.mean(ratios))


def _clear_caches():
    from . import _intra_candidates
    from .topology import _build_cached

    return (_build_cached, _intra_candidates)


def _refit_scale_up(train):
    """Refit the scale-up link efficiency on ``train``: efficiency x mean(published / predicted)
    (busbw at 4 GiB is proportional to it to within the per-step latency)."""
    from .topology import EFFICIENCY

    return patched(EFFICIENCY, "scale-up", EFFICIENCY["scale-up"] * _mean_ratio(train), clear=_clear_caches())


def _refit_nvls(train):
    """Refit the NVLS efficiency on ``train``: NVLS_EFFICIENCY x mean(published / predicted)."""
    from . import collectives

    return patched(collectives, "NVLS_EFFICIENCY", collectives.NVLS_EFFICIENCY * _mean_ratio(train),
                   clear=_clear_caches())


register_calibration("twin.interconnect.topology.EFFICIENCY['scale-up']", domain="interconnect",
                     cases=("nccl-allreduce-8xA100-nvswitch", "nccl-allreduce-8xH100-ring"), refit=_refit_scale_up,
                     description="payload share of NVLink / OAM scale-up links: mean published / predicted ring "
                                 "all-reduce busbw over A100 (NVLink3) and H100 (NVLink4)")
register_calibration("twin.interconnect.collectives.NVLS_EFFICIENCY", domain="interconnect",
                     cases=("nccl-allreduce-8xH100-nvls", "nccl-allreduce-5xH100-nvls"), refit=_refit_nvls,
                     description="NVLink SHARP reduce/multicast rate relative to the links: mean published / "
                                 "predicted NVLS all-reduce busbw on 8 and 5 H100")


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
