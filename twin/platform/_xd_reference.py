"""Plain-Python reference of twin.platform._xd_kernels (tests and benchmarks only)."""
import math


def step_time_one(strategy, t_compute, t_intra, overlap, grad_bytes, act_bytes, n_sites, dp, bandwidth,
                  latency, local_steps, ratio, cost, pipeline_ok):
    """Same contract as the kernel, written out per strategy with the equations of crossdomain.step_times."""
    names = ("sync-dp", "hierarchical", "pipeline", "diloco")
    name = names[int(strategy)]
    if name == "pipeline":
        if not pipeline_ok:
            return math.inf, math.inf
        base = t_compute + t_intra
        step = max(base, act_bytes / bandwidth) + 2 * (n_sites - 1) * latency
        return step, step - base
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
          ratios, costs, pipeline_ok, step_out, wan_out):
    """Python loops over the same axes as the kernel."""
    for k in range(len(t_compute)):
        for b, bw in enumerate(bandwidths):
            for s in range(4):
                for c in range(len(ratios)):
                    r, co = (1.0, 0.0) if s == 2 else (ratios[c], costs[c])
                    st, w = step_time_one(s, t_compute[k], t_intra[k], overlap[k], grad_bytes[k], act_bytes[k],
                                          n_sites[k], dp[k], bw, latency[k], local_steps[k], r, co, pipeline_ok[k])
                    step_out[k, b, s, c] = st
                    wan_out[k, b, s, c] = w
    return step_out


def sweep_numpy(t_compute, t_intra, overlap, grad_bytes, act_bytes, n_sites, dp, bandwidths, latency, local_steps,
                ratios, costs, pipeline_ok):
    """Vectorised NumPy version (broadcast over site sets x bandwidths x compressions): step[k, b, 4, c]."""
    import numpy as np

    k = lambda v: np.asarray(v, dtype=float)[:, None, None]  # noqa: E731
    tc, ti, ov, g, act, S, d, lat, H, ok = (k(v) for v in (t_compute, t_intra, overlap, grad_bytes, act_bytes, n_sites,
                                                            dp, latency, local_steps, pipeline_ok))
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
    pipe = np.maximum(tc + ti, act / B) + 2 * (S - 1) * lat + 0 * r
    pipe = np.where(ok > 0, pipe, np.inf)
    dil = tc + ti + (co + t_h) / H
    return np.stack(np.broadcast_arrays(sync, hier, pipe, dil), axis=2)
