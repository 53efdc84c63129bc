"""Plain NumPy reference of the storage kernels (tests and benchmarks only, never production)."""
from __future__ import annotations

import numpy as np

from . import _kernels as K


def lifecycle(n_min, dt, shard, node_bw, read_demand, sys_read, sys_write, ckpt_every, keep, cold_after,
              archive_every, hot_factor, cold_factor, hot_base, cold_base, hot_capacity, cold_capacity, tier_bw):
    """Same model as :func:`twin.storage._kernels.lifecycle`, one NumPy step (vectorised over
    the nodes) per minute.

    Returns (hot_used, cold_used, write_rate, read_rate, wait_frac, summary).
    """
    node_bw = np.asarray(node_bw, dtype=float)
    read_demand = np.asarray(read_demand, dtype=float)
    n_nodes = node_bw.shape[0]
    read_rate = np.empty(n_min)
    wait_frac = np.empty(n_min)
    wait_total = 0.0
    has_demand = read_demand > 0
    n_demand = int(has_demand.sum())
    ask0 = float(np.minimum(read_demand * dt, node_bw * dt).sum())
    d_pos = read_demand[has_demand]
    with np.errstate(over="ignore"):
        ratio0 = float(np.minimum(dt, node_bw[has_demand] * dt / d_pos).sum())
    remaining = np.zeros(n_nodes)
    hot_used = np.empty(n_min)
    cold_used = np.empty(n_min)
    write_rate = np.empty(n_min)
    summary = np.zeros(K.N_SUMMARY)
    ck_bytes = shard * n_nodes
    start_at, done_at, moved = [], [], []
    writing = None
    hot, cold = float(hot_base), float(cold_base)
    written = tiered = 0.0
    full_minute = -1
    overlapped = 0
    waits = []
    first_hot = 0
    last_archived = -1
    hot_peak, cold_peak = hot, cold
    for t in range(n_min):
        if t % ckpt_every == 0:
            if writing is not None:
                overlapped += 1
            else:
                writing = len(start_at)
                start_at.append(t)
                done_at.append(-1)
                moved.append(0.0)
                remaining[:] = shard
        step = 0.0
        wgrant = np.zeros(n_nodes)
        if writing is not None:
            grant = np.minimum(remaining, node_bw * dt)
            ask = grant.sum()
            if ask > sys_write * dt:
                grant = grant * (sys_write * dt / ask)
            wgrant = grant
            remaining = remaining - grant
            remaining[remaining < 1e-6 * shard] = 0.0
            step = float(grant.sum())
            if remaining.sum() <= 0.0:
                done_at[writing] = t
                waits.append(t - start_at[writing] + 1)
                writing = None
        free = 1.0 - min(1.0, step / (sys_write * dt))
        if free < 1e-9:  # the checkpoint takes the whole system
            free = 0.0
        if step > 0.0:
            free_link = node_bw * dt - wgrant
            free_link[free_link < 1e-9 * node_bw * dt] = 0.0  # the checkpoint fills the link
            rg = np.minimum(read_demand * dt, free_link)
            ask = rg.sum()
            scale = sys_read * dt * free / ask if ask > sys_read * dt * free else 1.0
            got = ask * scale
            with np.errstate(over="ignore"):
                covered = np.minimum(dt, free_link[has_demand] / d_pos)
            waited = n_demand * dt - scale * float(covered.sum())
        else:  # no checkpoint in flight: the base grants, the same every step
            scale = sys_read * dt / ask0 if ask0 > sys_read * dt else 1.0
            got = ask0 * scale
            waited = n_demand * dt - scale * ratio0
        read_rate[t] = got / dt
        wait_frac[t] = waited / (n_nodes * dt)
        wait_total += waited / n_nodes
        written += step
        hot += step * hot_factor
        n_done = len(waits)
        budget = tier_bw * dt
        k = first_hot
        while k < len(start_at) and budget > 0.0:
            if done_at[k] < 0 or not (n_done - k > keep or t - done_at[k] >= cold_after):
                break
            archive = done_at[k] // archive_every != last_archived
            if archive:
                mv = min(ck_bytes - moved[k], budget)
                budget -= mv
                cold += mv * cold_factor
                tiered += mv
            else:
                mv = ck_bytes - moved[k]
            moved[k] += mv
            hot -= mv * hot_factor
            if moved[k] >= ck_bytes * (1.0 - 1e-12):
                if archive:
                    last_archived = done_at[k] // archive_every
                first_hot = k + 1
            k += 1
        hot_used[t], cold_used[t], write_rate[t] = hot, cold, step / dt
        hot_peak, cold_peak = max(hot_peak, hot), max(cold_peak, cold)
        if full_minute < 0 and (hot > hot_capacity or cold > cold_capacity):
            full_minute = t
    summary[K.S_CKPT_STARTED] = len(start_at)
    summary[K.S_CKPT_DONE] = len(waits)
    summary[K.S_MEAN_WRITE_MIN] = float(np.mean(waits)) if waits else 0.0
    summary[K.S_MAX_WRITE_MIN] = float(max(waits)) if waits else 0.0
    summary[K.S_HOT_PEAK] = hot_peak
    summary[K.S_COLD_PEAK] = cold_peak
    summary[K.S_FULL_MINUTE] = full_minute
    summary[K.S_BYTES_WRITTEN] = written
    summary[K.S_BYTES_TIERED] = tiered
    summary[K.S_OVERLAPPED] = overlapped
    summary[K.S_WAIT_SECONDS] = wait_total
    return hot_used, cold_used, write_rate, read_rate, wait_frac, summary
