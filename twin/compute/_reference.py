"""Plain NumPy references of the compute kernels (tests and benchmarks only, never production)."""
import numpy as np

from . import _kernels as K


def gemm_times(m, n, k, ap):
    """Vectorised NumPy twin of :func:`twin.compute._kernels.gemm_times`."""
    m = np.asarray(m, dtype=float)
    n = np.asarray(n, dtype=float)
    k = np.asarray(k, dtype=float)
    best = None
    for tm, tn, f in ((ap[K.AP_TM], ap[K.AP_TN], 1.0), (0.5 * ap[K.AP_TM], ap[K.AP_TN], K.HALF_TILE_EFF),
                      (ap[K.AP_TM], 0.5 * ap[K.AP_TN], K.HALF_TILE_EFF)):
        waves = np.ceil(np.ceil(m / tm) * np.ceil(n / tn) / ap[K.AP_UNITS])
        w = 2.0 * waves * ap[K.AP_UNITS] * tm * tn * k * (1.0 + ap[K.AP_KHALF] / k) / f
        best = w if best is None else np.minimum(best, w)
    # split-K of the full tile into s = floor(U / tiles) slices when that leaves no unit idle
    tiles = np.ceil(m / ap[K.AP_TM]) * np.ceil(n / ap[K.AP_TN])
    s = np.floor(ap[K.AP_UNITS] / tiles)
    kc = k / np.maximum(s, 1.0)
    waves = np.ceil(tiles * s / ap[K.AP_UNITS])
    w = 2.0 * waves * ap[K.AP_UNITS] * ap[K.AP_TM] * ap[K.AP_TN] * kc * (1.0 + ap[K.AP_KHALF] / kc) / K.HALF_TILE_EFF
    best = np.where(s >= 2, np.minimum(best, w), best)
    t_c = best / (ap[K.AP_PEAK] * ap[K.AP_ETA])
    t_m = (m * k * ap[K.AP_BYTES_IN] + k * n * ap[K.AP_BYTES_W] + m * n * ap[K.AP_BYTES_OUT]) / ap[K.AP_BW]
    return np.maximum(t_c, t_m) + ap[K.AP_TMIN]


def decode_sweep(aps, n, k, batches):
    """NumPy twin of :func:`twin.compute._kernels.decode_sweep` (one accelerator at a time,
    every batch x shape pair broadcast)."""
    out = np.empty((aps.shape[0], len(batches)))
    mm = np.asarray(batches, dtype=float)[:, None]
    for a in range(aps.shape[0]):
        t = gemm_times(mm, np.asarray(n, dtype=float)[None, :], np.asarray(k, dtype=float)[None, :], aps[a])
        out[a] = t.sum(axis=1)
    return out
