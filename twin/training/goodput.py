"""Goodput of a long training job: failures, checkpoints and restarts (white paper 6.3, fault tolerance)."""
from __future__ import annotations

import importlib.util
import math

import numpy as np
import xarray as xr

from ..errors import InputError
from ..scenario import load_scenario
from ..units import Q_, magnitude
from . import formulas as _f
from .models import get_model


def young_daly_interval(write_time: float, mtbf: float) -> float:
    """Optimal compute time between checkpoints [s] (Daly 2006, higher-order Young).

    Notes
    -----
    tau = sqrt(2 delta M) [1 + sqrt(delta / (2M)) / 3 + delta / (18 M)] - delta for delta < 2M,
    else tau = M; Young's first-order form is tau = sqrt(2 delta M).

    References
    ----------
    J. W. Young, "A first order approximation to the optimum checkpoint interval", CACM 1974;
    J. T. Daly, "A higher order estimate of the optimum checkpoint interval for restart dumps", FGCS 2006.
    """
    d, M = float(write_time), float(mtbf)
    if M <= 0:
        return 0.0
    if d <= 0:
        return math.inf
    if d >= 2 * M:
        return M
    return math.sqrt(2 * d * M) * (1 + math.sqrt(d / (2 * M)) / 3 + d / (18 * M)) - d


def goodput_fraction(interval, write_time: float, mtbf: float, restart: float):
    """Share of wall-clock time spent on useful training [1].

    Notes
    -----
    G(tau) = tau / (tau + delta) x max(0, 1 - (R + (tau + delta)/2) / M): synchronous checkpoint
    overhead delta per interval tau, and per failure (mean time M) a restart R plus on average
    half an interval of lost work (first-order model, valid for tau + delta << M).
    """
    tau = np.asarray(interval, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ck = tau / (tau + write_time)
        loss = np.clip(1.0 - (restart + (tau + write_time) / 2.0) / mtbf, 0.0, 1.0) if mtbf > 0 and math.isfinite(mtbf) else 1.0
    g = ck * loss
    return float(g) if np.ndim(g) == 0 else g


def arrhenius(temperature, reference) -> tuple[float, str]:
    """Failure-rate multiplier AF [1] and its provenance: twin.energy.arrhenius_factor, or 1.

    Notes
    -----
    AF = exp[(Ea / k_B) (1/T_ref - 1/T)], T in kelvin, Ea = 0.7 eV (reliability halves per
    +10 degC, white paper 7), computed by :func:`twin.energy.arrhenius_factor` (the public energy
    API); AF = 1 when no temperature is given or the energy package is absent (the returned
    provenance string says which).
    """
    if temperature is None:
        return 1.0, "none (no temperature given)"
    t = magnitude(temperature, "K", "temperature")
    t0 = magnitude(reference, "K", "reference_temperature")
    for field, val, raw in (("temperature", t, temperature), ("reference_temperature", t0, reference)):
        if not val > 0:
            raise InputError(field, raw, "a temperature above absolute zero such as '65 degC'", "is impossible")
    spec = importlib.util.find_spec("twin.energy")
    if spec is not None:
        import twin.energy as en

        fn = getattr(en, "arrhenius_factor", None)  # public API only (contract)
        if fn is not None:
            try:
                af = float(fn(Q_(t, "K"), Q_(t0, "K")))
            except InputError as exc:  # re-label the energy package's field names with ours
                raise InputError("temperature", temperature, exc.expected, getattr(exc, "problem", None)) from exc
            return af, "twin.energy.arrhenius_factor"
    return 1.0, "neutral (twin.energy absent)"


def goodput(scenario, *, model=None, step_time=None, interval=None, failure_rate=None, restart_time=None,
            storage_bandwidth=None, temperature=None, reference_temperature="25 degC", **plan) -> xr.Dataset:
    """Goodput of the scenario's training job once failures and checkpoints are counted.

    Parameters
    ----------
    scenario : Scenario or preset name
    model : str, optional        zoo name (default scenario.workload.model)
    step_time : Quantity, optional  [s] (default: :func:`twin.training.estimate`)
    interval : Quantity, optional   checkpoint interval [s] (default: Young/Daly optimum)
    failure_rate : Quantity, optional  failures per card-hour [1/h] (default workload.failure_rate)
    restart_time : Quantity, optional  [min] (default workload.restart_time)
    storage_bandwidth : Quantity, optional  aggregate write bandwidth [GB/s] (default storage.bandwidth)
    temperature, reference_temperature : Quantity, optional
        Operating and reference temperature of the failure rate [degC]; the rate is scaled by
        twin.energy.arrhenius_factor (Ea = 0.7 eV) when the energy package is present, else 1.

    Returns
    -------
    xarray.Dataset
        goodput [1] at ``interval``, checkpoint_interval [s], checkpoint_size [TB] (14 B per
        parameter: bf16 weights + fp32 master, momentum, variance), checkpoint_write_time [s],
        mtbf [h] of the job, restart_time [s], arrhenius_factor, steps_per_checkpoint, and the
        curve goodput_curve over ``interval_axis`` [s].

    Notes
    -----
    Job mean time between failures M = 1 / (lambda N AF) with lambda the failure rate per
    card-hour, N the job's cards and AF the Arrhenius factor of :func:`arrhenius`
    (``twin.energy.arrhenius_factor(temperature, reference_temperature)``, Ea = 0.7 eV; AF = 1
    without a temperature). Checkpoint write time delta = 14 P / BW with P the parameters and
    BW = ``storage_bandwidth`` or, by default, the scenario's aggregate ``sc.storage.bandwidth``
    (the twin has no storage model yet, so the whole checkpoint is assumed to stream at that
    rate: an optimistic bound that ignores per-node NIC limits and file-system metadata).
    tau* = Young/Daly (:func:`young_daly_interval`); G(tau) by :func:`goodput_fraction`.

    References
    ----------
    J. W. Young, CACM 1974; J. T. Daly, FGCS 2006; checkpoint bytes per parameter: DLIO /
    MLPerf Storage (bf16 weights + fp32 master weights, momentum, variance); NIST/SEMATECH
    e-Handbook 8.1.5.1 (Arrhenius).
    """
    sc = load_scenario(scenario)
    m = get_model(model if model is not None else sc.workload.model, "model")
    if step_time is None:
        from . import estimate

        est = estimate(sc, model=model, **plan)
        step = float(est["step_time"])
        cards = int(est.attrs["cards"])
    else:
        step = magnitude(step_time, "s", "step_time")
        if step <= 0:
            raise InputError("step_time", step_time, "a positive time", "is not positive")
        cards = sc.cards
    lam = magnitude(failure_rate if failure_rate is not None else sc.workload.failure_rate, "1/h", "failure_rate")
    if lam < 0:
        raise InputError("failure_rate", failure_rate, "a rate >= 0 per card-hour such as '2e-5 /h'", "is negative")
    restart = magnitude(restart_time if restart_time is not None else sc.workload.restart_time, "s", "restart_time")
    if restart < 0:
        raise InputError("restart_time", restart_time, "a time >= 0 such as '10 min'", "is negative")
    bw = magnitude(storage_bandwidth if storage_bandwidth is not None else sc.storage.bandwidth, "B/s", "storage_bandwidth")
    if bw <= 0:
        field = "storage_bandwidth" if storage_bandwidth is not None else "storage.bandwidth"
        raise InputError(field, storage_bandwidth if storage_bandwidth is not None else sc.storage.bandwidth,
                         "a positive bandwidth such as '200 GB/s'", "cannot write checkpoints")
    af, af_src = arrhenius(temperature, reference_temperature)
    size = _f.BYTES_CHECKPOINT * _f.parameter_count(m)
    delta = size / bw
    mtbf = math.inf if lam == 0 else 3600.0 / (lam * cards * af)
    if interval is None:
        tau = young_daly_interval(delta, mtbf)
        if not math.isfinite(tau):
            tau = 24 * 3600.0
    else:
        tau = magnitude(interval, "s", "interval")
        if tau <= 0:
            raise InputError("interval", interval, "a positive time", "is not positive")
    g = goodput_fraction(tau, delta, mtbf, restart)
    hi = max(10 * tau, 4 * 3600.0)
    axis = np.geomspace(max(step, 1.0, delta / 50), hi, 60)
    curve = goodput_fraction(axis, delta, mtbf, restart)
    return xr.Dataset(
        {
            "goodput": xr.DataArray(g, attrs={"units": "", "long_name": "useful share of wall-clock time"}),
            "checkpoint_interval": xr.DataArray(tau, attrs={"units": "s"}),
            "checkpoint_size": xr.DataArray(size / 1e12, attrs={"units": "TB"}),
            "checkpoint_write_time": xr.DataArray(delta, attrs={"units": "s"}),
            "mtbf": xr.DataArray(mtbf / 3600.0, attrs={"units": "h", "long_name": "job mean time between failures"}),
            "restart_time": xr.DataArray(restart, attrs={"units": "s"}),
            "arrhenius_factor": xr.DataArray(af, attrs={"units": "", "source": af_src}),
            "steps_per_checkpoint": xr.DataArray(tau / step, attrs={"units": ""}),
            "step_time": xr.DataArray(step, attrs={"units": "s"}),
            "goodput_curve": xr.DataArray(curve, dims="interval_axis", coords={"interval_axis": axis}, attrs={"units": ""}),
        },
        attrs={"model": m.name, "scenario": sc.name, "cards": cards},
    )
