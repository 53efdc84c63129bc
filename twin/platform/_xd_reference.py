"""Plain-Python reference of twin.platform._xd_kernels (tests and benchmarks only)."""
import math


def pipeline_blocking(c, m, x, bandwidths, latencies, t_dp):
    """Megatron 1F1B with blocking sends, written out: each stage's period with its two neighbours' links."""
    tau = [x / b + lat for b, lat in zip(bandwidths, latencies)]
    p = len(tau) + 1
    periods = [c + (tau[k - 1] if k > 0 else 0.0) + (tau[k] if k < p - 1 else 0.0) for k in range(p)]
    return (m - 1) * max(periods) + p * c + 2 * sum(tau) + t_dp


def site_of_stages(stages, n_sites):
    """Site index of each stage: stages // S per site, one more on the first stages % S sites."""
    base, extra = divmod(int(stages), int(n_sites))
    out = []
    for i in range(int(n_sites)):
        out += [i] * (base + (1 if i < extra else 0))
    return out


def pipeline_across_sites(t_compute, t_intra, act_bytes, n_sites, stages, micro_batches, bandwidth, latency):
    """The chain of stages over sites: a WAN link where consecutive stages sit on different sites."""
    p, S = int(stages), int(n_sites)
    if p < S or p < 1:
        return math.inf
    site = site_of_stages(p, S)
    wan = [site[j] != site[j + 1] for j in range(p - 1)]
    bws = [bandwidth if w else math.inf for w in wan]
    lats = [latency if w else 0.0 for w in wan]
    return pipeline_blocking(t_compute / (micro_batches + p - 1), micro_batches, act_bytes / micro_batches, bws, lats,
                             t_intra)


def step_time_one(strategy, t_compute, t_intra, overlap, grad_bytes, act_bytes, n_sites, dp, bandwidth,
                  latency, local_steps, ratio, cost, stages, micro_batches):
    """Same contract as the kernel, written out per strategy with the equations of crossdomain.step_times."""
    names = ("sync-dp", "hierarchical", "pipeline", "diloco")
    name = names[int(strategy)]
    if name == "pipeline":
        step = pipeline_across_sites(t_compute, t_intra, act_bytes, n_sites, stages, micro_batches, bandwidth, latency)
        return step, step - t_compute - t_intra
    if name == "sync-dp":
        ring_bytes = 2 * (dp - 1) / dp * grad_bytes * ratio
        t_wan = ring_bytes / bandwidth + 2 * (dp - 1) * latency
        step = t_compute + cost + max(t_intra, t_wan - overlap)
        return step, step - t_compute - t_intra
    ring_bytes = 2 * (n_sites - 1) / n_sites * grad_bytes * ratio
    t_wan = ring_bytes / bandwidth + 2 * (n_sites - 1) * latency
    if name == "hierarchical":
        ns = dp / n_sites
        t_site = t_intra * ((ns - 1) / ns) / ((dp - 1) / dp) if (ns > 1 and dp > 1) else 0.0
        step = t_compute + cost + max(t_intra, t_site + t_wan - overlap)
    else:
        step = t_compute + t_intra + (cost + t_wan) / local_steps
    return step, step - t_compute - t_intra


def sweep(t_compute, t_intra, overlap, grad_bytes, act_bytes, n_sites, dp, bandwidths, latency, local_steps,
          ratios, costs, stages, micro_batches, step_out, wan_out):
    """Python loops over the same axes as the kernel."""
    for k in range(len(t_compute)):
        for b, bw in enumerate(bandwidths):
            for s in range(4):
                for c in range(len(ratios)):
                    st, w = step_time_one(s, t_compute[k], t_intra[k], overlap[k], grad_bytes[k], act_bytes[k],
                                          n_sites[k], dp[k], bw, latency[k], local_steps[k], ratios[c], costs[c],
                                          stages[k], micro_batches[k])
                    step_out[k, b, s, c] = st
                    wan_out[k, b, s, c] = w
    return step_out


def _pipeline_numpy(t_compute, t_intra, act_bytes, n_sites, stages, micro_batches, bandwidths, latency):
    """Pipeline step over (site set, bandwidth): per site set, every stage's period over all bandwidths at once."""
    import numpy as np

    out = np.empty((len(t_compute), len(bandwidths)))
    for k in range(len(t_compute)):
        p, S, m = int(stages[k]), int(n_sites[k]), float(micro_batches[k])
        if p < S or p < 1:
            out[k] = np.inf
            continue
        site = np.repeat(np.arange(S), [p // S + (1 if i < p % S else 0) for i in range(S)])
        wan = (site[1:] != site[:-1]).astype(float)  # [p - 1]
        tau = (act_bytes[k] / m / np.asarray(bandwidths, dtype=float) + latency[k])[:, None] * wan[None, :]
        edges = np.pad(tau, ((0, 0), (1, 1)))
        c = t_compute[k] / (m + p - 1)
        period = c + edges[:, :-1] + edges[:, 1:]
        out[k] = (m - 1) * period.max(axis=1) + p * c + 2 * tau.sum(axis=1) + t_intra[k]
    return out


def sweep_numpy(t_compute, t_intra, overlap, grad_bytes, act_bytes, n_sites, dp, bandwidths, latency, local_steps,
                ratios, costs, stages, micro_batches):
    """Vectorised NumPy version (broadcast over site sets x bandwidths x compressions): step[k, b, 4, c]."""
    import numpy as np

    k = lambda v: np.asarray(v, dtype=float)[:, None, None]  # noqa: E731
    tc, ti, ov, g, S, d, lat, H = (k(v) for v in (t_compute, t_intra, overlap, grad_bytes, n_sites, dp, latency,
                                                  local_steps))
    B = np.asarray(bandwidths, dtype=float)[None, :, None]
    r = np.asarray(ratios, dtype=float)[None, None, :]
    co = np.asarray(costs, dtype=float)[None, None, :]
    t_flat = 2 * (d - 1) / d * g * r / B + 2 * (d - 1) * lat
    sync = tc + co + np.maximum(ti, t_flat - ov)
    t_h = 2 * (S - 1) / S * g * r / B + 2 * (S - 1) * lat
    ns = d / S
    with np.errstate(divide="ignore", invalid="ignore"):
        t_site = np.where((ns > 1) & (d > 1), ti * ((ns - 1) / ns) / ((d - 1) / d), 0.0)
    hier = tc + co + np.maximum(ti, t_site + t_h - ov)
    pipe = _pipeline_numpy(np.asarray(t_compute, dtype=float), np.asarray(t_intra, dtype=float),
                           np.asarray(act_bytes, dtype=float), n_sites, stages, micro_batches, bandwidths,
                           np.asarray(latency, dtype=float))[:, :, None] + 0 * r
    dil = tc + ti + (co + t_h) / H
    return np.stack(np.broadcast_arrays(sync, hier, pipe, dil), axis=2)
