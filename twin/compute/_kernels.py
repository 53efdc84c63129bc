"""numba kernels of the compute-efficiency domain: GEMM time by shape and the operator sweep.

Plain float64 arrays in SI units (s, FLOP/s, B/s, B). Imports only numpy, numba, math.
The equations are documented in :mod:`twin.compute.operators` and mirrored without numba in
:mod:`twin.compute._reference`.
"""
import math

import numpy as np
from numba import njit

# --- accelerator-at-a-precision parameter vector (built by twin.compute.operators.arch_vector) -----
AP_PEAK, AP_BW, AP_ETA, AP_UNITS, AP_TM, AP_TN, AP_KHALF, AP_TMIN = 0, 1, 2, 3, 4, 5, 6, 7
AP_BYTES_IN, AP_BYTES_W, AP_BYTES_OUT = 8, 9, 10
AP_SIZE = 11


#: tile candidates a GEMM library picks from: the full tile, the tile halved along M or N, and
#: split-K of the full tile when it leaves units idle (each run at HALF_TILE_EFF of the full
#: tile's rate: half the operand reuse, or the partial-sum reduction; assumption)
HALF_TILE_EFF = 0.9


@njit(cache=True)
def padded_work(m, n, k, ap):
    """Effective FLOPs of a GEMM after tile and wave quantisation, the best of four tilings [FLOP]:
    2 W U Tm Tn k_c (1 + k_half / k_c) / f, W = ceil(tiles / U) waves of U units, k_c the K depth of one
    tile (k, or k / s with split-K into s = floor(U / tiles) slices), f the tiling's relative rate."""
    best = 1e300
    for c in range(4):
        tm = ap[AP_TM]
        tn = ap[AP_TN]
        f = 1.0
        kc = k
        if c == 1:
            tm = 0.5 * tm
            f = HALF_TILE_EFF
        elif c == 2:
            tn = 0.5 * tn
            f = HALF_TILE_EFF
        tiles = math.ceil(m / tm) * math.ceil(n / tn)
        if c == 3:
            s = math.floor(ap[AP_UNITS] / tiles)
            if s < 2:
                continue
            kc = k / s
            tiles = tiles * s
            f = HALF_TILE_EFF
        waves = math.ceil(tiles / ap[AP_UNITS])
        w = 2.0 * waves * ap[AP_UNITS] * tm * tn * kc * (1.0 + ap[AP_KHALF] / kc) / f
        if w < best:
            best = w
    return best


@njit(cache=True)
def gemm_time(m, n, k, ap):
    """Time [s] of one (m x k) @ (k x n) GEMM on an accelerator parameter vector ``ap``.

    t = max(t_compute, t_memory) + t_min with t_compute = padded_work / (P eta),
    t_memory = (m k b_in + k n b_w + m n b_out) / B_mem.
    """
    t_c = padded_work(m, n, k, ap) / (ap[AP_PEAK] * ap[AP_ETA])
    t_m = (m * k * ap[AP_BYTES_IN] + k * n * ap[AP_BYTES_W] + m * n * ap[AP_BYTES_OUT]) / ap[AP_BW]
    return max(t_c, t_m) + ap[AP_TMIN]


@njit(cache=True)
def gemm_times(m, n, k, ap, out):
    """gemm_time for arrays of shapes (same length) into ``out``."""
    for i in range(m.shape[0]):
        out[i] = gemm_time(m[i], n[i], k[i], ap)


@njit(cache=True)
def decode_sweep(aps, n, k, batches, out):
    """Operator-model sweep: for every accelerator-precision vector ``aps[a]`` and batch size
    ``batches[b]``, the summed time [s] of the GEMMs (batch x k[i]) @ (k[i] x n[i]) over all shapes i
    (one decode step of a model whose weight matrices are those shapes) into ``out[a, b]``.

    Same arithmetic as :func:`gemm_time`; the compute term depends on the batch only through the
    M-tile counts ceil(m / Tm) and ceil(2 m / Tm), so it is recomputed only when they change."""
    for a in range(aps.shape[0]):
        ap = aps[a]
        pk = ap[AP_PEAK] * ap[AP_ETA]
        for b in range(batches.shape[0]):
            out[a, b] = 0.0
        for i in range(n.shape[0]):
            q1 = -1.0
            q2 = -1.0
            t_c = 0.0
            wb = k[i] * n[i] * ap[AP_BYTES_W]
            for b in range(batches.shape[0]):
                m = batches[b]
                r1 = math.ceil(m / ap[AP_TM])
                r2 = math.ceil(2.0 * m / ap[AP_TM])
                if r1 != q1 or r2 != q2:
                    t_c = padded_work(m, n[i], k[i], ap) / pk
                    q1 = r1
                    q2 = r2
                t_m = (m * k[i] * ap[AP_BYTES_IN] + wb + m * n[i] * ap[AP_BYTES_OUT]) / ap[AP_BW]
                out[a, b] += max(t_c, t_m) + ap[AP_TMIN]
