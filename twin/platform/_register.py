"""Validation quantities and benchmarks of the platform domain (loaded by twin.registry)."""
from __future__ import annotations

import functools

import numpy as np

from ..bench import Benchmark, max_abs_diff, register_benchmark
from ..errors import InputError
from ..validation import register_quantity
from . import _xd_register  # noqa: F401  (issue 12: cross-domain and compute-native cases, crossdomain-sweep)


def _openb(workload: str = "default"):
    from . import shared_openb_dir
    from .traces import load_openb

    d = shared_openb_dir()
    if d is None:
        raise InputError("trace", "openb", "the openb trace in ../shared/data/openb beside the repository",
                         "is absent (the project does not ship it)")
    return load_openb(d / f"openb_pod_list_{workload}.csv", nodes=d / "openb_node_list_gpu_node.csv")


@functools.lru_cache(maxsize=32)
def _policy_means(workload: str, seeds: int, arrived: float) -> dict:
    from . import simulate as S

    prep = S.prepare(_openb(workload), "fractional")
    out = {}
    for pol in S.POLICIES:
        v = [S.allocation_curve(S.run_protocol(prep, pol, seed=s), [arrived])[1][0]
             for s in S.PAPER_SEEDS[: int(seeds)]]
        out[pol] = float(np.mean(v))
    return out


@register_quantity("openb-statistic", domain="platform", unit="")
def _openb_stat(statistic: str, workload: str = "default"):
    """A statistic of the openb trace as the loader reads it (gpu_nodes, gpus, gpu_pods, ...)."""
    st = _openb(workload).statistics()
    if statistic not in st:
        raise InputError("statistic", statistic, f"one of {', '.join(st)}")
    return float(st[statistic])


@register_quantity("fgd-allocation-rate", domain="platform", unit="")
def _fgd_rate(policy: str, workload: str = "default", seeds: int = 10, arrived: float = 100.0):
    """GPU allocation rate [%] of a policy at an arrived load [% of capacity], mean of seeds
    42.., the FGD paper's protocol on an openb pod list."""
    from .simulate import POLICIES, policy_code

    return _policy_means(str(workload), int(seeds), float(arrived))[POLICIES[policy_code(policy)]]


@register_quantity("fgd-unallocated-reduction", domain="platform", unit="")
def _fgd_reduction(workload: str = "default", seeds: int = 10, arrived: float = 100.0, baseline: str = "DotProd"):
    """Share of unallocated GPUs FGD saves against a baseline policy, 1 - (100 - A_FGD)/(100 - A_base)."""
    m = _policy_means(str(workload), int(seeds), float(arrived))
    from .simulate import POLICIES, policy_code

    return 1.0 - (100.0 - m["FGD"]) / (100.0 - m[POLICIES[policy_code(baseline)]])


@register_quantity("pool-instances-per-card", domain="platform", unit="")
def _instances(mode: str = "mig", request_milli: int = 50):
    """How many pods asking ``request_milli`` of a card the simulator packs onto one card."""
    from . import simulate as S
    from .traces import Trace

    n = 400
    tr = Trace(np.array(["n0"]), np.array([10 ** 9]), np.array([10 ** 9]), np.array([1]), np.array(["A100"], dtype=object),
               np.array([f"p{i}" for i in range(n)]), np.full(n, 1), np.full(n, 1), np.ones(n, np.int64),
               np.full(n, int(request_milli), np.int64), np.array([""] * n, dtype=object), np.zeros(n), -np.ones(n))
    r = S.run_protocol(tr, "BestFit", mode, seed=0, ratio=5.0, max_pods=n)
    return float(((r["status"] % 10) == 1).sum())


# ---------------------------------------------------------------------------------------------
# Benchmarks


@register_benchmark("pooling-openb-6x10", domain="platform", min_ratio=10.0, max_seconds=60.0,
                    goal="< 60 s and >= 10x over the NumPy reference: six policies x 10 seeds of the FGD protocol on "
                         "the openb default trace (1,213 nodes, 6,212 GPUs) to 130% arrived")
def _bench_pool(quick: bool) -> Benchmark:
    from . import _reference as R
    from . import shared_openb_dir
    from . import simulate as S
    from .traces import synthetic_openb

    d = shared_openb_dir()
    tr = _openb("default") if d is not None else synthetic_openb(seed=0)
    prep = S.prepare(tr, "fractional")
    seeds = S.PAPER_SEEDS[:2] if quick else S.PAPER_SEEDS
    prefix = 40 if quick else 250
    total_pods = sum(S.protocol_order(prep, s, 1.3).size for s in seeds) * len(S.POLICIES)

    def fast():
        return [S.run_protocol(prep, p, seed=s)["used"][-1] for p in S.POLICIES for s in seeds]

    def fast_check():
        return np.concatenate([S.run_protocol(prep, p, seed=42, max_pods=prefix)["used"] for p in S.POLICIES])

    def reference():
        return np.concatenate([S.run_protocol(prep, p, seed=42, max_pods=prefix, kernel=R.simulate)["used"]
                               for p in S.POLICIES])

    return Benchmark(size=f"{len(S.POLICIES)} policies x {len(seeds)} seeds, {tr.n_nodes} nodes, {tr.n_gpus} GPUs, "
                          f"{total_pods} pod arrivals ({tr.name})",
                     fast=fast, reference=reference, fast_check=fast_check, repeats=1 if not quick else 2,
                     reference_repeats=1, reference_scale=total_pods / (prefix * len(S.POLICIES)),
                     compare=max_abs_diff, tolerance=0.0, metric="largest difference of allocated milli-GPU after any arrival",
                     note=f"numba kernel with a per-(node, request class) score cache vs the NumPy reference that scores "
                          f"every node from scratch (vectorised over nodes); the reference replays the first {prefix} "
                          f"arrivals of seed 42 per policy and is scaled per arrival to the full run; both take the "
                          f"same decisions (compared after every arrival). The paper's Go simulator (kube-scheduler "
                          f"framework) takes on the order of 10 minutes per experiment, about 600 min for these 60.")
