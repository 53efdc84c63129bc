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
                algorithm: str = "nccl", message_size: str = "4 GiB"):
    """Bus bandwidth the model gives for one collective on one topology (nccl-tests convention).

    nccl-tests lets NCCL choose, so ``auto`` means NCCL's own algorithm set here (``nccl``), not
    the fastest algorithm the twin knows (a direct all-reduce that NCCL does not run would make
    mid-size messages look up to twice as fast as measured)."""
    from . import large_message_busbw

    a = "nccl" if isinstance(algorithm, str) and algorithm.strip().lower() == "auto" else algorithm
    return large_message_busbw(topology, accelerator, int(cards), collective, a, message_size)


@register_quantity("nccl-busbw-multinode", domain="interconnect", unit="GB/s")
def _nccl_busbw_multinode(accelerator: str, nodes: int, cards_per_node: int = 8, topology: str = "nvswitch",
                          nic_speed: str | None = None, nics_per_node: int = 8, protocol: str | None = None,
                          fabric_topology: str = "rail-optimized", collective: str = "all-reduce",
                          algorithm: str = "nccl", message_size: str = "1 GiB", nic: str | None = None,
                          fabric: str | None = None):
    """busbw of an nccl-tests run across nodes: a scenario built from the inputs, the fabric and
    the interconnect evaluated by a Twin, the collective read off the state tree.

    ``nic`` (a catalog NIC) may stand for ``nic_speed``; ``fabric`` for ``protocol`` (infiniband,
    roce, ethernet, gse). Defaults: 400 Gbit/s, InfiniBand."""
    from .. import catalog
    from ..errors import InputError
    from ..units import magnitude
    from .collectives import nccl_busbw, nccl_test_scenario

    if nic is not None:
        entry = catalog.get("nics", nic, "nic")
        if nic_speed is not None and abs(entry.speed.to("Gbit/s").magnitude
                                         - magnitude(nic_speed, "Gbit/s", "nic_speed")) > 1e-6:
            raise InputError("nic_speed", nic_speed, f"the speed of NIC {nic} ({entry.speed:~}) or nothing",
                             "contradicts the NIC")
        nic_speed = f"{entry.speed.to('Gbit/s').magnitude} Gbit/s"
    if fabric is not None:
        if protocol is not None and protocol != fabric:
            raise InputError("fabric", fabric, f"the protocol given ({protocol}) or nothing", "contradicts protocol")
        protocol = fabric
    nic_speed = "400 Gbit/s" if nic_speed is None else nic_speed
    protocol = "infiniband" if protocol is None else protocol

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


def _refit_nvls(train):
    """Refit the NVLS efficiency on ``train``: NVLS_EFFICIENCY x mean(published / predicted)."""
    from . import collectives

    return patched(collectives, "NVLS_EFFICIENCY", collectives.NVLS_EFFICIENCY * _mean_ratio(train),
                   clear=_clear_caches())


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


@register_benchmark("collective-sweep-s2-256", domain="interconnect", max_seconds=0.2,
                    goal="< 0.2 s (interactive); ratio reported against vectorised NumPy: all-to-all link loads over a 256-card S^2 graph "
                         "and a 200-size busbw sweep of the model's own all-reduce candidates")
def _bench_sweep(quick: bool) -> Benchmark:
    from ..bench import max_rel_diff
    from . import INTRA_ALGORITHMS, _kernels, _reference
    from .collectives import intra_phases, phase_arrays
    from .topology import build_topology

    cards = 64 if quick else 256
    topo = build_topology("s2-switch", "MI300X-OAM-192GB", cards)
    src, dst = np.nonzero(~np.eye(cards, dtype=bool))
    src = src.astype(np.int64)
    dst = dst.astype(np.int64)
    nb = np.full(len(src), 1.0 / cards)
    grp = np.zeros(len(src), dtype=np.int64)
    sizes = np.logspace(3, 10, 200)
    # the model's own candidates: every intra-domain all-reduce algorithm that fits this topology,
    # with the latencies and inverse bandwidths per phase and protocol that collective_time uses
    cands = [ph for a in INTRA_ALGORITHMS if (ph := intra_phases(topo, "all-reduce", a, list(range(cards))))]
    P = max(len(ph) for ph in cands)
    C = len(cands)
    lat = np.full((C, P, 3), np.inf)
    inv = np.full((C, P, 3), np.inf)
    scale = np.zeros((C, P))
    for ci, ph in enumerate(cands):
        lt, iv, sc = phase_arrays(list(ph), "all-reduce")
        lat[ci, :len(ph)], inv[ci, :len(ph)], scale[ci, :len(ph)] = lt, iv, sc
    args = (topo.indptr, topo.adj_node, topo.adj_edge, topo.bandwidth, topo.latency, topo.is_acc, topo.dist)

    def run(loads_fn, sweep_fn):
        loads, _ = loads_fn(*args, src, dst, nb, grp, 0, len(topo.edges))
        # the busiest link of the all-to-all slows every candidate's bandwidth term
        beta = float(np.max(loads / topo.effective_bandwidth))
        times, best = sweep_fn(sizes, lat, inv * (1.0 + beta), scale)
        return loads, times

    def compare(f, r):
        return max(max_rel_diff(f[0], r[0], floor=1e-12), max_rel_diff(f[1], r[1]))

    return Benchmark(size=f"{cards} cards, {len(src)} transfers, 200 sizes x {C} all-reduce algorithms x {P} phases "
                          f"x 3 protocols",
                     fast=lambda: run(_kernels.link_loads, _kernels.sweep_times),
                     reference=lambda: run(_reference.link_loads_numpy, _reference.sweep_times),
                     repeats=5, reference_repeats=3, compare=compare, tolerance=1e-9,
                     metric="max relative difference of link loads and times",
                     note="reference: shortest-path spreading vectorised per destination and distance level "
                          "(bincount over the adjacency) + NumPy broadcasting sweep; the candidates' latencies and "
                          "bandwidths are the model's own (intra_phases / phase_arrays). The numba kernel walks every transfer's paths; the reference "
                          "aggregates each destination's sources, which is why it comes close at 256 cards")
