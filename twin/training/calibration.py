"""Re-fit the two efficiency constants (ETA_MAX, N_HALF) on the calibration runs.

The calibration set is fixed: SC'21 Table 1 rows ``megatron-1.7b`` (137 TFLOP/s per GPU) and
``megatron-1t`` (163 TFLOP/s per GPU), the smallest and the largest of the series (validation
cases ``megatron-sc21-1.7b`` and ``megatron-sc21-1t``). Nothing else is fitted; the other rows
and papers are predictions. ``fit()`` solves the two equations achieved(row) = published(row)
for (ETA_MAX, N_HALF) and returns them; the values are then copied into
:mod:`twin.training.hardware` (a test re-runs the fit and checks they agree).

Leave-one-out (:func:`refit`, registered with the validation harness): with one row left, the
two constants are under-determined, so N_HALF keeps its value and ETA_MAX alone is fitted to the
remaining row; the left-out row is then predicted with that refit.
"""
from __future__ import annotations

import contextlib

CALIBRATION_ROWS = ("megatron-1.7b", "megatron-1t")
#: the validation cases of the calibration rows (datasets/validation/training.toml)
CALIBRATION_CASES = ("megatron-sc21-1.7b", "megatron-sc21-1t")


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


def fit(x0=(0.8, 60.0), rows=CALIBRATION_ROWS):
    """(ETA_MAX, N_HALF) with the calibration rows reproduced exactly.

    With a single row, N_HALF is held at its current value and ETA_MAX alone is solved for.
    """
    import numpy as np
    from scipy.optimize import brentq, fsolve

    from . import hardware
    from .models import get_model

    rows = tuple(rows)
    targets = [float(get_model(r).published["tflops"]) for r in rows]
    if len(rows) == 1:
        n_half = hardware.N_HALF
        eta = brentq(lambda e: _achieved(rows[0], e, n_half) / targets[0] - 1.0, 0.2, 1.0, xtol=1e-10)
        return float(eta), float(n_half)

    def res(x):
        return [_achieved(r, x[0], x[1]) / t - 1.0 for r, t in zip(rows, targets)]

    sol = fsolve(res, np.array(x0, dtype=float), xtol=1e-10)
    return float(sol[0]), float(sol[1])


@contextlib.contextmanager
def refit(train_cases):
    """The constants refit on ``train_cases`` (validation case dicts of the calibration rows),
    applied inside the ``with`` block (the validation harness's leave-one-out hook)."""
    from . import hardware

    rows = tuple(str(c.get("inputs", {}).get("model")) for c in train_cases)
    eta, n_half = fit(x0=(hardware.ETA_MAX, hardware.N_HALF), rows=rows)
    old = hardware.ETA_MAX, hardware.N_HALF
    hardware.ETA_MAX, hardware.N_HALF = eta, n_half
    try:
        yield eta, n_half
    finally:
        hardware.ETA_MAX, hardware.N_HALF = old
