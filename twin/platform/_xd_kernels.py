"""Numba kernels of cross-domain training (twin.platform.crossdomain). Plain float64 arrays in SI.

Strategy codes: 0 sync-dp (one flat ring over every data-parallel rank), 1 hierarchical
(reduce-scatter inside each site, all-reduce across sites, all-gather inside), 2 pipeline (stages split
across sites, activations cross the WAN), 3 diloco (local SGD, H inner steps, then a
hierarchical all-reduce of the pseudo-gradient).
"""
import math

from numba import njit

SYNC_DP = 0
HIERARCHICAL = 1
PIPELINE = 2
DILOCO = 3
N_STRATEGIES = 4


@njit(cache=True)
def step_time_one(strategy, t_compute, t_intra, overlap, grad_bytes, act_bytes, n_sites, dp, bandwidth,
                  latency, local_steps, ratio, cost, pipeline_ok):
    """One step time [s] and the WAN time exposed in it [s] (see crossdomain.step_times)."""
    if strategy == PIPELINE:
        if pipeline_ok == 0:
            return math.inf, math.inf
        wan = act_bytes / bandwidth
        base = t_compute + t_intra
        step = max(base, wan) + 2.0 * (n_sites - 1) * latency
        return step, step - base
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
          ratios, costs, pipeline_ok, step_out, wan_out):
    """Step time and exposed WAN time over site sets x bandwidths x strategies x compressions.

    Parameters (arrays over the site-set axis ``k`` unless noted)
    ----------
    t_compute, t_intra, overlap, grad_bytes, act_bytes, n_sites, dp, latency, local_steps,
    pipeline_ok : float64[k]
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
                    r = ratios[c]
                    co = costs[c]
                    if s == PIPELINE:
                        r = 1.0
                        co = 0.0
                    st, w = step_time_one(s, t_compute[k], t_intra[k], overlap[k], grad_bytes[k], act_bytes[k],
                                          n_sites[k], dp[k], bandwidths[b], latency[k], local_steps[k], r, co,
                                          pipeline_ok[k])
                    step_out[k, b, s, c] = st
                    wan_out[k, b, s, c] = w
    return step_out
