"""Numba kernels of the GPU-pool scheduler simulator (plain int64/float64 arrays).

One kernel replays a sequence of events (pod arrivals, and departures in the event-driven
mode) on a cluster of nodes, scoring every feasible node with one of the six policies of
Weng et al. (USENIX ATC 2023) and placing the pod on the best one (ties broken uniformly at
random with a pre-drawn uniform number, so that the NumPy reference in ``_reference.py``
takes exactly the same decisions). Node scores depend only on the node's state and the pod's
request, so they are cached per (node, request class) and a node's row is invalidated when
a pod lands on or leaves it.

Units: CPU in milli-cores, memory in MiB, GPU in milli-GPU (``gcap`` milli is one card; 1000
unless GPUs are over-committed).
"""
import math

import numpy as np
from numba import njit

RANDOM, DOTPROD, CLUSTERING, PACKING, BESTFIT, FGD = 0, 1, 2, 3, 4, 5
SEL_BEST, SEL_RANDOM, SEL_FGD = 0, 1, 2
MODE_LOCAL, MODE_REMOTE, MODE_AGGREGATE = 0, 1, 2
MAX_CPU = 128000.0  # milli-CPU of the largest node: the simulator's normalisation constant
MAX_GPU = 8000.0    # milli-GPU of the largest node (8 cards)
INVALID = -(2 ** 62)
INFEASIBLE = -(2 ** 62) + 1
K = 8  # (node, GPU) slots recorded per pod


@njit(cache=True)
def _trunc_div(a, b):
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


@njit(cache=True)
def node_frag(cpu_left, gl, ng, tbit, t_cpu, t_ngpu, t_milli, t_mask, t_freq):
    """Expected fragmented milli-GPU of one node against the typical pods (the FGD measure)."""
    total = 0
    for g in range(ng):
        total += gl[g]
    f = 0.0
    for t in range(t_cpu.shape[0]):
        w = t_freq[t]
        m = t_milli[t]
        if m == 0 or (t_mask[t] & tbit) == 0:
            f += w * total
            continue
        cnt = 0
        small = 0
        for g in range(ng):
            if gl[g] >= m:
                cnt += 1
            else:
                small += gl[g]
        if cnt >= t_ngpu[t] and cpu_left >= t_cpu[t]:
            f += w * small
        else:
            f += w * total
    return f


@njit(cache=True)
def nodes_frag(cpu_left, gl, ngpus, tbit, t_cpu, t_ngpu, t_milli, t_mask, t_freq):
    """:func:`node_frag` of every node (rows of ``gl``, the first ``ngpus[n]`` GPUs of each)."""
    out = np.empty(cpu_left.shape[0])
    for n in range(cpu_left.shape[0]):
        out[n] = node_frag(cpu_left[n], gl[n], ngpus[n], tbit[n], t_cpu, t_ngpu, t_milli, t_mask, t_freq)
    return out


@njit(cache=True)
def _fits(n, cpu, mem, ngpu, milli, mask, relax_cpu, cpu_left, mem_left, gpu_left, ngpus, tbit):
    if not relax_cpu:
        if cpu_left[n] < cpu or mem_left[n] < mem:
            return False
    if ngpu == 0:
        return True
    if ngpus[n] == 0 or (mask & tbit[n]) == 0:
        return False
    cnt = 0
    for g in range(ngpus[n]):
        if gpu_left[n, g] >= milli:
            cnt += 1
    return cnt >= ngpu


@njit(cache=True)
def _same_left_before(row, g):
    """True when a GPU before g has exactly as much left as GPU g."""
    for h in range(g):
        if row[h] == row[g]:
            return True
    return False


@njit(cache=True)
def _fgd_best_share(n, milli, cpu, before, cpu_left, gpu_left, ng, tbit, t_cpu, t_ngpu, t_milli, t_mask, t_freq):
    """(score, GPU) of the best GPU on node n for a share of ``milli`` under FGD: the score (0-100) is
    the node's fragmentation ``before`` less after the placement, squashed by a logistic; the first
    GPU with the highest score wins ((-1, -1) when none fits; gpu_left is restored). The node's
    fragmentation depends only on the multiset of what its GPUs have left, so a GPU with as much
    left as an earlier one scores the same and is skipped (same result, one evaluation per value)."""
    best = -1
    pick = -1
    for g in range(ng):
        if gpu_left[n, g] >= milli and not _same_left_before(gpu_left[n], g):
            gpu_left[n, g] -= milli
            after = node_frag(cpu_left[n] - cpu, gpu_left[n], ng, tbit[n], t_cpu, t_ngpu, t_milli, t_mask, t_freq)
            gpu_left[n, g] += milli
            s = np.int64(100.0 / (1.0 + math.exp(-(before - after) / 1000.0)))
            if pick < 0 or s > best:
                best = s
                pick = g
    return best, pick


@njit(cache=True)
def _score(policy, n, cpu, ngpu, milli, gcap, cpu_left, gpu_left, ngpus, tbit, aff, fragc,
           t_cpu, t_ngpu, t_milli, t_mask, t_freq, work):
    """Integer score 0..100 of node n for the pod (higher is better)."""
    ng = ngpus[n]
    if policy == RANDOM:
        return 0
    gtot = 0
    for g in range(ng):
        gtot += gpu_left[n, g]
    if policy == DOTPROD:
        if cpu_left[n] < cpu:
            return 0
        dot = (cpu_left[n] / MAX_CPU) * (cpu / MAX_CPU) + (gtot / MAX_GPU) * (ngpu * milli / MAX_GPU)
        return np.int64(100.0 * (1.0 - dot / 2.0))
    if policy == BESTFIT:
        s = (cpu_left[n] - cpu) / MAX_CPU * 0.5 + (gtot - ngpu * milli) / MAX_GPU * 0.5
        return np.int64((1.0 - s) * 100.0)
    if policy == CLUSTERING:
        if ngpu == 0:
            return 0
        tag = 0 if milli < gcap else ngpu
        ntags = 0
        for k in range(aff.shape[1]):
            if aff[n, k] > 0:
                ntags += 1
        base = _trunc_div(25 * (8000 - gtot), 8000)
        if aff[n, tag] > 0:
            return base + (75 if ntags == 1 else 50)
        return base + (25 if ntags == 0 else 0)
    if policy == PACKING:
        if ngpu == 0 or milli <= 0:
            return 0
        full = 0
        for g in range(ng):
            if gpu_left[n, g] == gcap:
                full += 1
        if full == ng:
            return max(33 - full, full)
        # GPUs in ascending order of what is left (stable), take those that fit
        for g in range(ng):
            work[g] = g
        for i in range(1, ng):
            j = i
            while j > 0 and gpu_left[n, work[j - 1]] > gpu_left[n, work[j]]:
                tmp = work[j]
                work[j] = work[j - 1]
                work[j - 1] = tmp
                j -= 1
        need = ngpu
        use_full = 0
        pct = 0
        for i in range(ng):
            if need == 0:
                break
            left = gpu_left[n, work[i]]
            if milli <= left:
                need -= 1
                if left == gcap:
                    use_full += 1
                pct += (left * 100) // 1000
        if need != 0:
            return 0
        if use_full > 0:
            return max(50 - use_full, 33)
        return max(100 - pct // 10, 50)
    # FGD
    if fragc[n] < -0.5:
        fragc[n] = node_frag(cpu_left[n], gpu_left[n], ng, tbit[n], t_cpu, t_ngpu, t_milli, t_mask, t_freq)
    before = fragc[n]
    if ngpu == 1 and milli < gcap:
        return _fgd_best_share(n, milli, cpu, before, cpu_left, gpu_left, ng, tbit, t_cpu, t_ngpu, t_milli, t_mask,
                               t_freq)[0]
    # whole cards (or none): take them from the GPUs with least left that fit
    taken = 0
    for g in range(ng):
        work[g] = -1
    while taken < ngpu:
        pick = -1
        for g in range(ng):
            if work[g] < 0 and gpu_left[n, g] >= milli and (pick < 0 or gpu_left[n, g] < gpu_left[n, pick]):
                pick = g
        if pick < 0:
            break
        work[pick] = 1
        gpu_left[n, pick] -= milli
        taken += 1
    after = node_frag(cpu_left[n] - cpu, gpu_left[n], ng, tbit[n], t_cpu, t_ngpu, t_milli, t_mask, t_freq)
    for g in range(ng):
        if work[g] > 0:
            gpu_left[n, g] += milli
    return np.int64(100.0 / (1.0 + math.exp(-(before - after) / 1000.0)))


@njit(cache=True)
def _choose_gpus(n, ngpu, milli, gcap, sel, u, cpu, cpu_left, gpu_left, ngpus, tbit,
                 t_cpu, t_ngpu, t_milli, t_mask, t_freq, out):
    """GPU indices on node n for the pod (out[:ngpu]); returns how many were chosen."""
    ng = ngpus[n]
    if ngpu == 0:
        return 0
    if milli >= gcap or ngpu > 1:
        k = 0
        for g in range(ng):
            if k < ngpu and gpu_left[n, g] >= gcap:
                out[k] = g
                k += 1
        return k
    pick = -1
    if sel == SEL_RANDOM:
        cnt = 0
        for g in range(ng):
            if gpu_left[n, g] >= milli:
                cnt += 1
        j = min(int(u * cnt), cnt - 1)
        for g in range(ng):
            if gpu_left[n, g] >= milli:
                if j == 0:
                    pick = g
                    break
                j -= 1
    elif sel == SEL_FGD:
        before = node_frag(cpu_left[n], gpu_left[n], ng, tbit[n], t_cpu, t_ngpu, t_milli, t_mask, t_freq)
        pick = _fgd_best_share(n, milli, cpu, before, cpu_left, gpu_left, ng, tbit, t_cpu, t_ngpu, t_milli, t_mask,
                               t_freq)[1]
    else:
        for g in range(ng):
            if gpu_left[n, g] >= milli and (pick < 0 or gpu_left[n, g] < gpu_left[n, pick]):
                pick = g
    if pick < 0:
        return 0
    out[0] = pick
    return 1


@njit(cache=True)
def _invalidate(n, cache, fragc):
    for s in range(cache.shape[1]):
        cache[n, s] = INVALID
    fragc[n] = -1.0


@njit(cache=True)
def _pick(policy, p, relax, use_cache, cls, cpu, mem, ngpu, milli, mask, gcap, u,
          cpu_left, mem_left, gpu_left, ngpus, tbit, aff, fragc, cache,
          t_cpu, t_ngpu, t_milli, t_mask, t_freq, work):
    n_nodes = cpu_left.shape[0]
    best = INFEASIBLE
    nt = 0
    for n in range(n_nodes):
        if use_cache:
            sc = cache[n, cls]
            if sc == INVALID:
                if _fits(n, cpu, mem, ngpu, milli, mask, relax, cpu_left, mem_left, gpu_left, ngpus, tbit):
                    sc = _score(policy, n, cpu, ngpu, milli, gcap, cpu_left, gpu_left, ngpus, tbit, aff, fragc,
                                t_cpu, t_ngpu, t_milli, t_mask, t_freq, work)
                else:
                    sc = INFEASIBLE
                cache[n, cls] = sc
        else:
            if _fits(n, cpu, mem, ngpu, milli, mask, relax, cpu_left, mem_left, gpu_left, ngpus, tbit):
                sc = _score(policy, n, cpu, ngpu, milli, gcap, cpu_left, gpu_left, ngpus, tbit, aff, fragc,
                            t_cpu, t_ngpu, t_milli, t_mask, t_freq, work)
            else:
                sc = INFEASIBLE
            work[8 + n] = sc
        if sc == INFEASIBLE:
            continue
        if sc > best:
            best = sc
            nt = 1
        elif sc == best:
            nt += 1
    if nt == 0:
        return -1
    # u < 0: the artifact's rule (lowest node name among the best); else uniform among them
    j = 0 if u < 0 else min(int(u * nt), nt - 1)
    for n in range(n_nodes):
        sc = cache[n, cls] if use_cache else work[8 + n]
        if sc == best:
            if j == 0:
                return n
            j -= 1
    return -1


@njit(cache=True, nogil=True)
def simulate(policy, sel, mode, gcap,
             cpu_cap, mem_cap, ngpus, tbit,
             p_cpu, p_mem, p_ngpu, p_milli, p_mask, p_cls, n_cls,
             t_cpu, t_ngpu, t_milli, t_mask, t_freq,
             ev_kind, ev_pod, ev_time, rnd, queue_limit,
             used, arrived, status, start, place_node, place_gpu, cpu_node, final_gpu_left, final_cpu_left):
    """Replay events and place pods; fills the preallocated outputs.

    ev_kind: 0 arrival, 1 departure. rnd: (n_pods, 2) uniform numbers (tie-break, GPU pick).
    Outputs per event: used / arrived milli-GPU after the event. Per pod: status (0 never
    placed, 1 placed, 2 placed with remote GPUs, 3 aggregated over nodes, +10 once it left,
    -1 still waiting at the end),
    start time, placement (node, GPU) pairs and the node of its CPU part.
    """
    n_nodes = cpu_cap.shape[0]
    G = final_gpu_left.shape[1]
    cpu_left = cpu_cap.copy()
    mem_left = mem_cap.copy()
    gpu_left = np.zeros((n_nodes, G), dtype=np.int64)
    for n in range(n_nodes):
        for g in range(ngpus[n]):
            gpu_left[n, g] = gcap
    aff = np.zeros((n_nodes, 9), dtype=np.int64)
    fragc = -np.ones(n_nodes)
    cache = np.full((n_nodes, max(n_cls, 1)), INVALID, dtype=np.int64)
    work = np.zeros(8 + n_nodes + G, dtype=np.int64)
    gsel = np.zeros(K, dtype=np.int64)
    cand = np.zeros(n_nodes, dtype=np.int64)
    n_pods = p_cpu.shape[0]
    queue = np.zeros(n_pods, dtype=np.int64)
    qn = 0
    cur_used = 0
    cur_arr = 0
    for i in range(n_pods):
        status[i] = 0
        start[i] = -1.0
        cpu_node[i] = -1
        for k in range(K):
            place_node[i, k] = -1
            place_gpu[i, k] = -1
    for e in range(ev_kind.shape[0]):
        p = ev_pod[e]
        todo_from = -1
        if ev_kind[e] == 1:
            # departure: release what the pod holds (if it ever ran), then retry the queue
            if 0 < status[p] < 10:
                if status[p] == 3:
                    c1 = (p_cpu[p] + p_ngpu[p] - 1) // p_ngpu[p]
                    m1 = (p_mem[p] + p_ngpu[p] - 1) // p_ngpu[p]
                    for k in range(K):
                        n = place_node[p, k]
                        if n >= 0:
                            cpu_left[n] += c1
                            mem_left[n] += m1
                else:
                    c = cpu_node[p]
                    cpu_left[c] += p_cpu[p]
                    mem_left[c] += p_mem[p]
                    _invalidate(c, cache, fragc)
                for k in range(K):
                    n = place_node[p, k]
                    if n < 0:
                        continue
                    g = place_gpu[p, k]
                    share = p_milli[p] if p_ngpu[p] == 1 else gcap
                    gpu_left[n, g] += share
                    cur_used -= share
                    _invalidate(n, cache, fragc)
                if p_ngpu[p] > 0 and place_node[p, 0] >= 0:
                    tag = 0 if p_milli[p] < gcap else p_ngpu[p]
                    aff[place_node[p, 0], tag] -= 1
                status[p] += 10  # finished
            elif status[p] == -1:
                # left the queue without running: drop it
                for q in range(qn):
                    if queue[q] == p:
                        for r in range(q, qn - 1):
                            queue[r] = queue[r + 1]
                        qn -= 1
                        break
                status[p] = 0
            todo_from = 0
        else:
            cur_arr += p_ngpu[p] * p_milli[p]
            queue[qn] = p
            qn += 1
            status[p] = -1
            todo_from = qn - 1
        # try to start queued pods in FIFO order (only the newcomer when there is no queueing)
        q = todo_from if queue_limit <= 0 else 0
        tries = 0
        while q < qn and todo_from >= 0:
            if queue_limit > 0 and tries >= queue_limit:
                break
            tries += 1
            pp = queue[q]
            placed = _place(policy, sel, mode, gcap, pp, rnd[pp, 0], rnd[pp, 1],
                            p_cpu, p_mem, p_ngpu, p_milli, p_mask, p_cls,
                            cpu_left, mem_left, gpu_left, ngpus, tbit, aff, fragc, cache,
                            t_cpu, t_ngpu, t_milli, t_mask, t_freq, work, gsel, cand,
                            status, place_node, place_gpu, cpu_node)
            if placed:
                start[pp] = ev_time[e]
                share = p_milli[pp] if p_ngpu[pp] == 1 else gcap
                cur_used += share * p_ngpu[pp]
                for r in range(q, qn - 1):
                    queue[r] = queue[r + 1]
                qn -= 1
            elif queue_limit <= 0:
                # no queueing (the paper's protocol): the pod fails
                status[pp] = 0
                for r in range(q, qn - 1):
                    queue[r] = queue[r + 1]
                qn -= 1
            else:
                q += 1
        used[e] = cur_used
        arrived[e] = cur_arr
    final_gpu_left[:, :] = gpu_left
    final_cpu_left[:] = cpu_left
    return qn


@njit(cache=True)
def _place(policy, sel, mode, gcap, p, u0, u1, p_cpu, p_mem, p_ngpu, p_milli, p_mask, p_cls,
           cpu_left, mem_left, gpu_left, ngpus, tbit, aff, fragc, cache,
           t_cpu, t_ngpu, t_milli, t_mask, t_freq, work, gsel, cand,
           status, place_node, place_gpu, cpu_node):
    cpu = p_cpu[p]
    mem = p_mem[p]
    ngpu = p_ngpu[p]
    milli = p_milli[p]
    mask = p_mask[p]
    n = _pick(policy, p, False, True, p_cls[p], cpu, mem, ngpu, milli, mask, gcap, u0,
              cpu_left, mem_left, gpu_left, ngpus, tbit, aff, fragc, cache,
              t_cpu, t_ngpu, t_milli, t_mask, t_freq, work)
    if n >= 0:
        k = _choose_gpus(n, ngpu, milli, gcap, sel, u1, cpu, cpu_left, gpu_left, ngpus, tbit,
                         t_cpu, t_ngpu, t_milli, t_mask, t_freq, gsel)
        cpu_left[n] -= cpu
        mem_left[n] -= mem
        cpu_node[p] = n
        share = milli if ngpu == 1 else gcap
        for j in range(k):
            gpu_left[n, gsel[j]] -= share
            place_node[p, j] = n
            place_gpu[p, j] = gsel[j]
        if ngpu > 0:
            aff[n, 0 if milli < gcap else ngpu] += 1
        _invalidate(n, cache, fragc)
        status[p] = 1
        return True
    if ngpu == 0:
        return False
    if mode == MODE_REMOTE:
        # GPUs on a node whose CPU is full, the pod's CPU part on another node (over the fabric)
        ng_node = _pick(policy, p, True, False, 0, cpu, mem, ngpu, milli, mask, gcap, u0,
                        cpu_left, mem_left, gpu_left, ngpus, tbit, aff, fragc, cache,
                        t_cpu, t_ngpu, t_milli, t_mask, t_freq, work)
        if ng_node < 0:
            return False
        c = -1
        for m in range(cpu_left.shape[0]):
            if cpu_left[m] >= cpu and mem_left[m] >= mem and (c < 0 or cpu_left[m] > cpu_left[c]):
                c = m
        if c < 0:
            return False
        k = _choose_gpus(ng_node, ngpu, milli, gcap, sel, u1, cpu, cpu_left, gpu_left, ngpus, tbit,
                         t_cpu, t_ngpu, t_milli, t_mask, t_freq, gsel)
        share = milli if ngpu == 1 else gcap
        for j in range(k):
            gpu_left[ng_node, gsel[j]] -= share
            place_node[p, j] = ng_node
            place_gpu[p, j] = gsel[j]
        aff[ng_node, 0 if milli < gcap else ngpu] += 1
        cpu_left[c] -= cpu
        mem_left[c] -= mem
        cpu_node[p] = c
        _invalidate(ng_node, cache, fragc)
        _invalidate(c, cache, fragc)
        status[p] = 2
        return True
    if mode == MODE_AGGREGATE and ngpu > 1 and milli >= gcap:
        # whole cards gathered from several nodes, CPU and memory split per card
        c1 = (cpu + ngpu - 1) // ngpu
        m1 = (mem + ngpu - 1) // ngpu
        nc = 0
        total = 0
        for m in range(cpu_left.shape[0]):
            if ngpus[m] == 0 or (mask & tbit[m]) == 0:
                continue
            free = 0
            for g in range(ngpus[m]):
                if gpu_left[m, g] >= gcap:
                    free += 1
            if c1 > 0:
                free = min(free, cpu_left[m] // c1)
            if m1 > 0:
                free = min(free, mem_left[m] // m1)
            if free > 0:
                cand[nc] = m
                work[8 + nc] = free
                nc += 1
                total += free
        if total < ngpu:
            return False
        need = ngpu
        j = 0
        while need > 0:
            bi = -1
            for i in range(nc):
                if work[8 + i] > 0 and (bi < 0 or work[8 + i] > work[8 + bi]):
                    bi = i
            m = cand[bi]
            take = min(work[8 + bi], need)
            work[8 + bi] = 0
            got = 0
            for g in range(ngpus[m]):
                if got < take and gpu_left[m, g] >= gcap:
                    gpu_left[m, g] -= gcap
                    place_node[p, j] = m
                    place_gpu[p, j] = g
                    j += 1
                    got += 1
            cpu_left[m] -= c1 * take
            mem_left[m] -= m1 * take
            if cpu_node[p] < 0:
                cpu_node[p] = m
            _invalidate(m, cache, fragc)
            need -= take
        aff[place_node[p, 0], ngpu] += 1
        status[p] = 3
        return True
    return False
