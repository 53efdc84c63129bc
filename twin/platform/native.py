"""Compute-native heterogeneous pools (white paper 6.2): siloed families against one unified pool.

A cluster holds several accelerator families (``platform.accelerator_mix``, NVIDIA and the
domestic chips of the catalog). Jobs arrive built for one family (``platform.native_job_share``
for the first, the rest evenly). *Siloed*: each family serves only its own jobs, an M/M/c queue
per family. *Compute-native* (the white paper's "one application, one packaging, migrate across
chips"): a job runs on any free server, on a foreign family at that family's rate less a
porting / translation overhead (``platform.porting_overhead``); one M/M/c queue over every
server. Reported: queueing delay, utilisation per family, jobs completed per day, and the cards
a siloed cluster needs to wait no longer than the unified one.

Family rates: the compute domain's per-accelerator efficiency when its results carry one
(``efficiency`` over ``accelerator``); until then the catalog BF16 peak times the training
domain's MFU for the scenario's workload (the same efficiency on every family, documented).

Public functions: :func:`evaluate_native`, :func:`native_pools`, :func:`erlang_c`,
:func:`mmc_wait`, :func:`servers_for_wait`.
"""
from __future__ import annotations

import math

import numpy as np
import xarray as xr

from .. import catalog
from ..errors import CatalogError, InputError, TwinError
from ..scenario import load_scenario
from ..units import format_unit

NEEDS = ("compute", "training")

#: Upper bound of the siloed-cards search: a family never needs more than this many times its cards.
MAX_SCALE = 64


def erlang_c(servers: int, offered: float) -> float:
    """Probability that an arriving job waits in an M/M/c queue (Erlang C) [1].

    Parameters
    ----------
    servers : int
        c >= 1.
    offered : float
        Offered load a = lambda / mu [Erlang], 0 <= a < c.

    Notes
    -----
    Erlang B by the stable recursion B_0 = 1, B_k = a B_{k-1} / (k + a B_{k-1}); then
    C = c B_c / (c - a (1 - B_c)).

    References
    ----------
    L. Kleinrock, Queueing Systems Vol. 1 (1975), sec. 3.5. Example: c = 2, a = 1 gives C = 1/3.
    """
    c = int(servers)
    a = float(offered)
    if c < 1:
        raise InputError("servers", servers, "an integer >= 1")
    if not (0 <= a < c):
        raise InputError("offered", offered, f"an offered load in [0, {c}) Erlang (a stable queue)", "is unstable")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return c * b / (c - a * (1.0 - b))


def mmc_wait(servers: int, arrival_rate: float, service_time: float) -> float:
    """Mean wait in queue of an M/M/c system [same time unit as service_time]; inf when unstable.

    Notes
    -----
    W_q = C(c, a) / (c mu - lambda), a = lambda / mu, mu = 1 / service_time.
    """
    lam, s = float(arrival_rate), float(service_time)
    if lam < 0 or s <= 0:
        raise InputError("arrival_rate", arrival_rate, "lambda >= 0 and a service time > 0")
    c = int(servers)
    if lam == 0:
        return 0.0
    a = lam * s
    if c < 1 or a >= c:
        return math.inf
    return erlang_c(c, a) / (c / s - lam)


def servers_for_wait(arrival_rate: float, service_time: float, wait: float, start: int = 1, limit: int = 10**6) -> int:
    """Fewest servers whose M/M/c mean wait is at most ``wait`` (one Erlang-B recursion)."""
    lam, s = float(arrival_rate), float(service_time)
    a = lam * s
    if lam == 0:
        return 0
    b = 1.0
    for k in range(1, limit + 1):
        b = a * b / (k + a * b)
        if k >= max(start, 1) and a < k:
            cq = k * b / (k - a * (1.0 - b))
            if cq / (k / s - lam) <= wait * (1 + 1e-12):
                return k
    return limit


def _families(sc):
    mix = list(sc.platform.accelerator_mix)
    if not mix:
        return [sc.compute.accelerator], [sc.cards]
    names, cards = [], []
    for item in mix:
        name, sep, cnt = str(item).partition(":")
        try:
            acc = catalog.accelerator(name.strip(), "platform.accelerator_mix")
        except CatalogError as exc:
            raise InputError("platform.accelerator_mix", item, exc.expected, exc.problem) from None
        try:
            c = int(cnt)
        except ValueError:
            raise InputError("platform.accelerator_mix", item, "\"name:cards\" with an integer card count, e.g. \"Ascend-910B:256\"") from None
        if c < sc.compute.cards_per_node:
            raise InputError("platform.accelerator_mix", item,
                             f"at least one server ({sc.compute.cards_per_node} cards) per family", "has no server")
        if acc.name in names:
            raise InputError("platform.accelerator_mix", item, "each family once", "repeats a family")
        names.append(acc.name)
        cards.append(c)
    return names, cards


def _rates(sc, state, names):
    """Delivered rate per card [TFLOP/s] per family and where it came from."""
    from .. import tree

    try:
        eff = tree.array(state, "compute", "efficiency", "")
        if "accelerator" in eff.dims and all(n in eff.accelerator.values for n in names):
            peaks = np.array([peak_bf16(n) for n in names])
            return peaks * eff.sel(accelerator=names).values, "compute domain efficiency x catalog peak"
    except TwinError:
        pass
    mfu = tree.value(state, "training", "mfu", "")
    return np.array([peak_bf16(n) for n in names]) * mfu, "catalog BF16 peak x the training domain's MFU (same on every family)"


def peak_bf16(name, field: str = "platform.accelerator_mix") -> float:
    """BF16 (else FP16) dense peak of a catalog accelerator [TFLOP/s]; an unknown name names ``field``."""
    a = catalog.accelerator(name, field)
    pk = a.get("peak_bf16")
    if pk is None or pk.magnitude == 0:
        pk = a.get("peak_fp16")
    return pk.to("TFLOP/s").magnitude


def evaluate_native(scenario, state) -> xr.Dataset:
    """Siloed against compute-native pooling of the scenario's accelerator families.

    Returns
    -------
    xarray.Dataset over ``family``: cards, rate_per_card [TFLOP/s], arrival_rate [1/h],
    utilisation_siloed, utilisation_native, wait_siloed [h] (inf: the silo is overloaded), and
    cards_siloed_to_match; scalars cards_siloed_resized, wait_native [h], wait_siloed_mean [h], jobs_per_day_siloed,
    jobs_per_day_native, extra_cards_siloed, foreign_share (jobs run translated).

    Notes
    -----
    Jobs need one server (compute.cards_per_node cards) for T = platform.mean_job_hours on their
    own family. lambda = offered_load x (servers) / T. Siloed family f: M/M/c_f with lambda_f =
    share_f lambda, service T. Unified: a job lands on family g with probability
    c_g r_g / sum(c r) (the scheduler spreads work in proportion to capacity), and runs T r_f / r_g / (1 - o [g != f]) with r the
    per-card rate and o the porting overhead; one M/M/C queue with that mean service time (an
    exponential approximation of the mixture). Cards to match: per family the fewest servers
    whose siloed mean wait is at most the unified pool's (re-sized); with the family mix kept,
    every silo scales by the largest of those ratios (extra_cards_siloed).

    References
    ----------
    White paper 6.2; L. Kleinrock, Queueing Systems Vol. 1 (1975) (M/M/c, Erlang C).
    """
    sc = load_scenario(scenario)
    p = sc.platform
    names, cards = _families(sc)
    n = len(names)
    cpn = sc.compute.cards_per_node
    servers = np.array([c // cpn for c in cards], dtype=np.int64)
    rates, rate_source = _rates(sc, state, names)
    T = p.mean_job_hours.to("h").magnitude
    share = np.full(n, (1.0 - p.native_job_share) / (n - 1)) if n > 1 else np.ones(1)
    if n > 1:
        share[0] = p.native_job_share
    o = float(p.porting_overhead)
    C = int(servers.sum())
    lam = float(p.offered_load) * C / T
    lam_f = share * lam
    # siloed
    util_s = lam_f * T / servers
    wait_s = np.array([mmc_wait(int(servers[i]), lam_f[i], T) for i in range(n)])
    done_s = np.minimum(lam_f, servers / T).sum() * 24.0
    # unified
    pg = servers * rates / float((servers * rates).sum())
    ratio = rates[:, None] / rates[None, :]  # r_f / r_g: job of family f on family g
    slow = np.where(np.eye(n, dtype=bool), 1.0, 1.0 / (1.0 - o))
    es = T * float((share[:, None] * pg[None, :] * ratio * slow).sum())
    wait_u = mmc_wait(C, lam, es)
    util_u = np.full(n, lam * es / C)
    done_u = min(lam, C / es) * 24.0
    foreign = float((share[:, None] * pg[None, :] * (~np.eye(n, dtype=bool))).sum())
    if math.isfinite(wait_u):
        match = np.array([servers_for_wait(lam_f[i], T, wait_u, limit=int(MAX_SCALE * C) + 1) for i in range(n)])
    else:  # the unified pool itself is overloaded: no finite wait to match
        match = servers.copy()
    k = float(np.max(match / servers))  # common scale of every silo, keeping the family proportions
    extra = float(sum(math.ceil(k * sv) for sv in servers) * cpn - sum(cards)) if k > 1 else 0.0
    with np.errstate(invalid="ignore"):
        wmean = float((lam_f * wait_s).sum() / lam) if np.all(np.isfinite(wait_s)) else math.inf
    fam = ("family",)
    return xr.Dataset(
        {"cards": (fam, np.array(cards, dtype=float), {"units": ""}),
         "rate_per_card": (fam, rates, {"units": format_unit("TFLOP/s"), "long_name": rate_source}),
         "arrival_rate": (fam, lam_f, {"units": format_unit("1/h"), "long_name": "jobs built for the family"}),
         "utilisation_siloed": (fam, util_s, {"units": "", "long_name": "offered load per server, siloed (>= 1: overloaded)"}),
         "utilisation_native": (fam, util_u, {"units": "", "long_name": "server utilisation in the unified pool"}),
         "wait_siloed": (fam, wait_s, {"units": "h", "long_name": "mean queueing delay, siloed (inf: overloaded)"}),
         "cards_siloed_to_match": (fam, match * cpn * 1.0, {"units": "", "long_name": "cards a silo needs to wait no longer than the unified pool"}),
         "wait_native": ((), wait_u, {"units": "h", "long_name": "mean queueing delay, compute-native pool"}),
         "wait_siloed_mean": ((), wmean, {"units": "h", "long_name": "mean queueing delay over all jobs, siloed"}),
         "service_time_native": ((), es, {"units": "h", "long_name": "mean job time in the unified pool (porting included)"}),
         "jobs_per_day_siloed": ((), done_s, {"units": format_unit("1/day")}),
         "jobs_per_day_native": ((), done_u, {"units": format_unit("1/day")}),
         "cards_siloed_resized": ((), float((match * cpn).sum()), {"units": "", "long_name": "cards of a siloed cluster re-sized family by family to wait no longer than the unified pool"}),
         "extra_cards_siloed": ((), extra, {"units": "", "long_name": "cards a siloed cluster with the same family mix adds to wait no longer than the unified pool"}),
         "foreign_share": ((), foreign, {"units": "", "long_name": "share of jobs run translated on a foreign family"})},
        coords={"family": names},
        attrs={"rate_source": rate_source, "porting_overhead": o, "offered_load": float(p.offered_load),
               "queue_model": "M/M/c per silo; one M/M/C over all servers, work spread in proportion to capacity, for the compute-native pool"})


def native_pools(scenario, state=None, **overrides) -> xr.Dataset:
    """:func:`evaluate_native` for a scenario (``platform`` overrides as keywords), running the
    training (and, when it follows the contract, compute) domains in a throw-away Twin."""
    from .crossdomain import scenario_and_state

    return evaluate_native(*scenario_and_state(scenario, state, overrides))


__all__ = ["NEEDS", "evaluate_native", "native_pools", "erlang_c", "mmc_wait", "servers_for_wait", "peak_bf16"]
