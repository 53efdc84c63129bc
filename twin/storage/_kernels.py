"""Numba kernel of the storage domain: a training job's storage life over time.

Plain float64 / int64 arrays in SI units; imports only numpy, numba and math.
"""
import math

import numpy as np
from numba import njit

# summary slots of lifecycle()
S_CKPT_STARTED = 0
S_CKPT_DONE = 1
S_MEAN_WRITE_MIN = 2
S_MAX_WRITE_MIN = 3
S_HOT_PEAK = 4
S_COLD_PEAK = 5
S_FULL_MINUTE = 6
S_BYTES_WRITTEN = 7
S_BYTES_TIERED = 8
S_OVERLAPPED = 9
S_WAIT_SECONDS = 10
N_SUMMARY = 11


@njit(cache=True)
def lifecycle(n_min, dt, shard, node_bw, read_demand, sys_read, sys_write, ckpt_every, keep, cold_after,
              archive_every, hot_factor, cold_factor, hot_base, cold_base, hot_capacity, cold_capacity, tier_bw,
              remaining, hot_used, cold_used, write_rate, read_rate, wait_frac, summary):
    """Minute-by-minute training reads, checkpoints with per-node shard writes, and tiering.

    Every node reads its data loader's demand ``read_demand[i]`` [B/s] through its own link
    ``node_bw[i]`` [B/s]; checkpoint writes take the link and the storage system first, reads
    share what is left (the system's read rate scaled by the share of its write rate the
    checkpoint leaves free). A node that gets less than it asks waits; ``wait_frac`` is the
    mean share of the time step the nodes wait.

    Each node writes its shard of a checkpoint every ``ckpt_every`` minutes at
    min(node_bw dt, remaining); when the nodes together ask more than sys_write dt, every grant
    is scaled down by the same factor (fair share of the storage system). A checkpoint is done
    when every shard is written. The ``keep`` newest done checkpoints stay hot; older ones, and
    those older than ``cold_after`` minutes, leave the hot tier at tier_bw: the first one done in
    every ``archive_every`` minutes is archived on the cold tier, the others are deleted. hot_factor and
    cold_factor turn user bytes into raw bytes (redundancy, over-provisioning).
    """
    n_nodes = remaining.shape[0]
    wait_total = 0.0
    # time each node's grant covers, g / d <= dt, computed as min(dt, cap / d): no 1/d that
    # overflows for a tiny demand
    n_demand = 0
    ask0 = 0.0
    ratio0 = 0.0
    for i in range(n_nodes):
        ask0 += min(read_demand[i] * dt, node_bw[i] * dt)
        if read_demand[i] > 0.0:
            n_demand += 1
            ratio0 += min(dt, node_bw[i] * dt / read_demand[i])
    max_ck = n_min // ckpt_every + 2
    done_at = np.full(max_ck, -1, dtype=np.int64)
    start_at = np.full(max_ck, -1, dtype=np.int64)
    moved = np.zeros(max_ck)  # bytes of each checkpoint already moved to cold
    ck_bytes = shard * n_nodes
    n_started = 0
    n_done = 0
    writing = -1
    hot = hot_base
    cold = cold_base
    written = 0.0
    tiered = 0.0
    full_minute = -1
    overlapped = 0
    sum_w = 0.0
    max_w = 0.0
    hot_peak = hot
    cold_peak = cold
    first_hot = 0  # oldest checkpoint still (partly) hot
    last_archived = -1  # archive period of the newest archived checkpoint
    for t in range(n_min):
        if t % ckpt_every == 0:
            if writing >= 0:
                overlapped += 1  # previous checkpoint still being written: this one is skipped
            else:
                writing = n_started
                start_at[writing] = t
                n_started += 1
                for i in range(n_nodes):
                    remaining[i] = shard
        step_written = 0.0
        free = 1.0
        got = ask0
        rsum = ratio0
        if writing >= 0:
            ask = 0.0
            for i in range(n_nodes):
                ask += min(remaining[i], node_bw[i] * dt)
            scale = 1.0
            if ask > sys_write * dt:
                scale = sys_write * dt / ask
            left = 0.0
            got = 0.0
            rsum = 0.0
            for i in range(n_nodes):
                cap = node_bw[i] * dt
                g = min(remaining[i], cap) * scale
                remaining[i] -= g
                if remaining[i] < 1e-6 * shard:
                    remaining[i] = 0.0
                step_written += g
                left += remaining[i]
                # training reads take what the checkpoint leaves of the node's link
                free_link = cap - g
                if free_link < 1e-9 * cap:  # the checkpoint fills the link (rounding left over)
                    free_link = 0.0
                got += min(read_demand[i] * dt, free_link)
                if read_demand[i] > 0.0:
                    rsum += min(dt, free_link / read_demand[i])
            if left <= 0.0:
                done_at[writing] = t
                w = t - start_at[writing] + 1
                sum_w += w
                if w > max_w:
                    max_w = w
                n_done += 1
                writing = -1
            free = 1.0 - min(1.0, step_written / (sys_write * dt))
            if free < 1e-9:  # the checkpoint takes the whole system (rounding left over)
                free = 0.0
        # reads share what the checkpoint leaves of the storage system; with no checkpoint in
        # flight every node asks its base grant, the same every step (got = ask0, rsum = ratio0)
        scale = 1.0
        if got > sys_read * dt * free:
            scale = sys_read * dt * free / got
        got *= scale
        waited = n_demand * dt - scale * rsum
        read_rate[t] = got / dt
        wait_frac[t] = waited / (n_nodes * dt)
        wait_total += waited / n_nodes
        written += step_written
        hot += step_written * hot_factor
        # tiering: checkpoints beyond the newest `keep`, or older than cold_after, move to cold
        budget = tier_bw * dt
        k = first_hot
        while k < n_started and budget > 0.0:
            if done_at[k] < 0:
                break
            if not (n_done - k > keep or t - done_at[k] >= cold_after):
                break
            archive = done_at[k] // archive_every != last_archived
            if archive:
                mv = min(ck_bytes - moved[k], budget)
                budget -= mv
                cold += mv * cold_factor
                tiered += mv
            else:
                mv = ck_bytes - moved[k]  # deleting is free
            moved[k] += mv
            hot -= mv * hot_factor
            if moved[k] >= ck_bytes * (1.0 - 1e-12):
                if archive:
                    last_archived = done_at[k] // archive_every
                first_hot = k + 1
            k += 1
        hot_used[t] = hot
        cold_used[t] = cold
        write_rate[t] = step_written / dt
        if hot > hot_peak:
            hot_peak = hot
        if cold > cold_peak:
            cold_peak = cold
        if full_minute < 0 and (hot > hot_capacity or cold > cold_capacity):
            full_minute = t
    summary[S_CKPT_STARTED] = n_started
    summary[S_CKPT_DONE] = n_done
    summary[S_MEAN_WRITE_MIN] = sum_w / n_done if n_done > 0 else 0.0
    summary[S_MAX_WRITE_MIN] = max_w
    summary[S_HOT_PEAK] = hot_peak
    summary[S_COLD_PEAK] = cold_peak
    summary[S_FULL_MINUTE] = full_minute
    summary[S_BYTES_WRITTEN] = written
    summary[S_BYTES_TIERED] = tiered
    summary[S_OVERLAPPED] = overlapped
    summary[S_WAIT_SECONDS] = wait_total
