"""Re-fit the two efficiency constants (ETA_MAX, N_HALF) on the two calibration runs.

The calibration set is fixed: SC'21 Table 1 rows ``megatron-1.7b`` (137 TFLOP/s per GPU) and
``megatron-1t`` (163 TFLOP/s per GPU), the smallest and the largest of the series. Nothing else
is fitted; the other rows and papers are predictions. ``fit()`` solves the two equations
achieved(row) = published(row) for (ETA_MAX, N_HALF) and returns them; the values are then
copied into :mod:`twin.training.hardware` (a test re-runs the fit and checks they agree).
"""
from __future__ import annotations

CALIBRATION_ROWS = ("megatron-1.7b", "megatron-1t")


def _achieved(row, eta_max, n_half):
    from . import estimate, hardware
    from .published import published_run

    old = hardware.ETA_MAX, hardware.N_HALF
    hardware.ETA_MAX, hardware.N_HALF = eta_max, n_half
    try:
        sc, _ = published_run(row)
        return float(estimate(sc)["achieved_tflops"])
    finally:
        hardware.ETA_MAX, hardware.N_HALF = old


def fit(x0=(0.8, 60.0)):
    """(ETA_MAX, N_HALF) with the calibration rows reproduced exactly."""
    import numpy as np
    from scipy.optimize import fsolve

    from .models import get_model

    targets = [float(get_model(r).published["tflops"]) for r in CALIBRATION_ROWS]

    def res(x):
        return [_achieved(r, x[0], x[1]) / t - 1.0 for r, t in zip(CALIBRATION_ROWS, targets)]

    sol = fsolve(res, np.array(x0, dtype=float), xtol=1e-10)
    return float(sol[0]), float(sol[1])
