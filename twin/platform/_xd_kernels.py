"""Numba kernels of cross-domain training (twin.platform.crossdomain). Plain float64 arrays in SI.

Strategy codes: 0 sync-dp (one flat ring over every data-parallel rank), 1 hierarchical
(reduce-scatter inside each site, all-reduce across sites, all-gather inside), 2 pipeline (stages split
across sites, activations cross the WAN, Megatron's blocking 1F1B: :func:`pipeline_blocking`), 3 diloco
(local SGD, H inner steps, then a hierarchical all-reduce of the pseudo-gradient).
"""
import math

import numpy as np
from numba import njit

SYNC_DP = 0
HIERARCHICAL = 1
PIPELINE = 2
DILOCO = 3
N_STRATEGIES = 4


@njit(cache=True)
def pipeline_blocking(c, m, x, bandwidths, latencies, t_dp):
    """Step time [s] of a 1F1B pipeline whose stage-to-stage sends block the stage.

    c: compute of one micro-batch on one stage [s]; m: micro-batches; x: bytes crossing one stage
    boundary per micro-batch [B]; bandwidths, latencies: float64[p - 1], the links between
    consecutive stages [B/s], [s] (an infinite bandwidth with zero latency is a boundary whose
    transfer is already in c); t_dp: data-parallel all-reduce after the flush [s].
    tau_j = x / B_j + L_j; stage k waits on links k - 1 and k each micro-batch, P_k = c + tau_{k-1} + tau_k;
    T = (m - 1) max_k P_k + p c + 2 sum_j tau_j + t_dp (see crossdomain.pipeline_blocking_step_time).
    """
    n = bandwidths.shape[0]
    worst = 0.0
    total = 0.0
    prev = 0.0
    for j in range(n + 1):
        tau = 0.0
        if j < n:
            tau = x / bandwidths[j] + latencies[j]
        period = c + prev + tau
        if period > worst:
            worst = period
        total += tau
        prev = tau
    return (m - 1.0) * worst + (n + 1.0) * c + 2.0 * total + t_dp


@njit(cache=True)
def pipeline_across_sites(t_compute, t_intra, act_bytes, n_sites, stages, micro_batches, bandwidth, latency):
    """Step time [s] of ``stages`` pipeline stages split over ``n_sites`` sites in a chain (inf if fewer
    stages than sites): site i holds stages // S stages, one more for the first stages % S sites; the
    S - 1 site boundaries are WAN links (x = act_bytes / m per micro-batch, all data-parallel replicas
    together), the boundaries inside a site cost nothing beyond t_compute = (m + p - 1) c."""
    p = int(stages)
    s = int(n_sites)
    if p < s or p < 1:
        return math.inf
    m = micro_batches
    bws = np.full(p - 1, np.inf)
    lats = np.zeros(p - 1)
    base = p // s
    extra = p - base * s
    pos = 0
    for i in range(s - 1):
        pos += base
        if i < extra:
            pos += 1
        bws[pos - 1] = bandwidth
        lats[pos - 1] = latency
    return pipeline_blocking(t_compute / (m + p - 1.0), m, act_bytes / m, bws, lats, t_intra)


@njit(cache=True)
def step_time_one(strategy, t_compute, t_intra, overlap, grad_bytes, act_bytes, n_sites, dp, bandwidth,
                  latency, local_steps, ratio, cost, stages, micro_batches):
    """One step time [s] and the WAN time exposed in it [s] (see crossdomain.step_times)."""
    if strategy == PIPELINE:
        step = pipeline_across_sites(t_compute, t_intra, act_bytes, n_sites, stages, micro_batches, bandwidth,
                                     latency)
        return step, step - t_compute - t_intra
    if strategy == SYNC_DP:
        x = 2.0 * (dp - 1) / dp * grad_bytes * ratio
        t_wan = x / bandwidth + 2.0 * (dp - 1) * latency
        exposed = max(t_intra, t_wan - overlap)
        step = t_compute + cost + exposed
        return step, step - t_compute - t_intra
    x = 2.0 * (n_sites - 1) / n_sites * grad_bytes * ratio
    t_wan = x / bandwidth + 2.0 * (n_sites - 1) * latency
    if strategy == HIERARCHICAL:
        # the intra-site phases run over dp / S replicas instead of dp: scale the ring factor
        ns = dp / n_sites
        t_site = 0.0
        if ns > 1.0 and dp > 1.0:
            t_site = t_intra * ((ns - 1.0) / ns) / ((dp - 1.0) / dp)
        step = t_compute + cost + max(t_intra, t_site + t_wan - overlap)
        return step, step - t_compute - t_intra
    # DILOCO: blocking outer synchronisation every H inner steps
    step = t_compute + t_intra + (cost + t_wan) / local_steps
    return step, step - t_compute - t_intra


@njit(cache=True)
def sweep(t_compute, t_intra, overlap, grad_bytes, act_bytes, n_sites, dp, bandwidths, latency, local_steps,
          ratios, costs, stages, micro_batches, step_out, wan_out):
    """Step time and exposed WAN time over site sets x bandwidths x strategies x compressions.

    Parameters (arrays over the site-set axis ``k`` unless noted)
    ----------
    t_compute, t_intra, overlap, grad_bytes, act_bytes, n_sites, dp, latency, local_steps,
    stages, micro_batches : float64[k]   (stages < n_sites: no pipeline across the sites, inf)
    bandwidths : float64[b]   effective WAN bandwidth [byte/s]
    ratios, costs : float64[c]  bytes ratio and compute cost [s] of each compression
    step_out, wan_out : float64[k, b, 4, c]  filled in place
    """
    nk = t_compute.shape[0]
    nb = bandwidths.shape[0]
    nc = ratios.shape[0]
    for k in range(nk):
        for b in range(nb):
            for s in range(N_STRATEGIES):
                for c in range(nc):
                    if s == PIPELINE and c > 0:  # activations are not compressed: the same step for every c
                        step_out[k, b, s, c] = step_out[k, b, s, 0]
                        wan_out[k, b, s, c] = wan_out[k, b, s, 0]
                        continue
                    st, w = step_time_one(s, t_compute[k], t_intra[k], overlap[k], grad_bytes[k], act_bytes[k],
                                          n_sites[k], dp[k], bandwidths[b], latency[k], local_steps[k], ratios[c],
                                          costs[c], stages[k], micro_batches[k])
                    step_out[k, b, s, c] = st
                    wan_out[k, b, s, c] = w
    return step_out
