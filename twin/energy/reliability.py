"""Chip thermal limits, throttling and Arrhenius failure-rate acceleration."""
from __future__ import annotations

import math

import xarray as xr

from ..errors import InputError
from ..units import Q_, magnitude
from ._datasets import scalars

BOLTZMANN_EV = 8.617333262e-5  # eV/K, CODATA 2018

#: White paper ch. 7: "the chip's limit temperature is 85 degC". Used for accelerators whose
#: catalog entry has no thermal limits; slowdown and shutdown then follow the H100 brief's
#: offsets (87 -> 89 -> 92 degC, i.e. +2 K and +5 K).
WHITE_PAPER_LIMIT_C = 85.0

#: Clock factor reached at the shutdown temperature when the hardware slowdown acts (the
#: slowdown halves clocks; engineering estimate, NVIDIA documents "HW slowdown" without a factor).
F_MIN = 0.5


def arrhenius_factor(t_use, t_ref, activation_energy=Q_(0.7, "eV")) -> float:
    """Failure-rate multiplier of running at ``t_use`` instead of ``t_ref``.

    Parameters
    ----------
    t_use, t_ref : Quantity or str
        Junction temperatures [degC or K].
    activation_energy : Quantity or str, optional
        Ea [eV]; 0.7 eV reproduces the white paper's "reliability halves per +10 degC".

    Returns
    -------
    float
        AF = lambda(t_use) / lambda(t_ref) (> 1 when hotter).

    Notes
    -----
    AF = exp[(Ea / k_B) (1/T_ref - 1/T_use)], T in kelvin, k_B = 8.617e-5 eV/K.

    References
    ----------
    NIST/SEMATECH e-Handbook of Statistical Methods, 8.1.5.1 (Arrhenius): 25 -> 125 degC at
    Ea = 0.5 eV gives AF = 133.
    """
    tu = magnitude(t_use, "K", "t_use")
    tr = magnitude(t_ref, "K", "t_ref")
    ea = magnitude(activation_energy, "eV", "activation_energy")
    if tu <= 0 or tr <= 0:
        raise InputError("t_use" if tu <= 0 else "t_ref", min(tu, tr), "a temperature above absolute zero")
    if ea < 0:
        raise InputError("activation_energy", ea, "a non-negative energy such as '0.7 eV'", "is negative")
    return math.exp(ea / BOLTZMANN_EV * (1.0 / tr - 1.0 / tu))


def chip_limits(accelerator: str) -> xr.Dataset:
    """Thermal limits of an accelerator [degC].

    Parameters
    ----------
    accelerator : str
        Catalog accelerator name.

    Returns
    -------
    xarray.Dataset
        Scalars ``t_max_operating``, ``t_slowdown``, ``t_shutdown`` [degC]; ``source`` and the
        accelerator in attrs. Accelerators
        without limits in the catalog get the white paper's 85 degC with the H100 brief's offsets
        (+2 K slowdown, +5 K shutdown).

    References
    ----------
    NVIDIA H100 Tensor Core GPU product brief (87 / 89 / 92 degC); white paper ch. 7 (85 degC).
    """
    lim = _chip_limits(accelerator)
    return scalars({k: Q_(v, "degC") if k != "source" else v for k, v in lim.items()}, {"accelerator": accelerator})


def _chip_limits(accelerator: str) -> dict:
    """:func:`chip_limits` as a dict of floats [degC] and ``source``."""
    from .. import catalog

    e = catalog.accelerator(accelerator)
    out = {}
    try:
        out = {"t_max_operating": float(e.t_max_operating.to("degC").magnitude),
               "t_slowdown": float(e.t_slowdown.to("degC").magnitude),
               "t_shutdown": float(e.t_shutdown.to("degC").magnitude),
               "source": f"catalog {accelerator}: {e.source}"}
    except (AttributeError, KeyError):
        out = {"t_max_operating": WHITE_PAPER_LIMIT_C, "t_slowdown": WHITE_PAPER_LIMIT_C + 2.0,
               "t_shutdown": WHITE_PAPER_LIMIT_C + 5.0,
               "source": "white paper ch. 7 chip limit 85 degC; slowdown/shutdown offsets as H100 product brief"}
    return out


def clock_factor(t_chip_c: float, t_slowdown_c: float, t_shutdown_c: float, f_min: float = F_MIN) -> float:
    """Clock factor of a chip at a junction temperature.

    Parameters
    ----------
    t_chip_c, t_slowdown_c, t_shutdown_c : float
        Junction, slowdown and shutdown temperatures [degC].
    f_min : float
        Clock factor just before shutdown (:data:`F_MIN`, an estimate).

    Returns
    -------
    float
        1 below slowdown, linear to ``f_min`` at shutdown, 0 at or after shutdown.

    Notes
    -----
    f = 1 - (T - T_slow) / (T_shut - T_slow) (1 - f_min) for T_slow < T < T_shut.

    References
    ----------
    NVIDIA H100 product brief: hardware slowdown at 89 degC, shutdown at 92 degC (the factor
    between them is not documented; the linear ramp is an assumption).
    """
    if t_chip_c >= t_shutdown_c:
        return 0.0
    if t_chip_c <= t_slowdown_c:
        return 1.0
    return 1.0 - (t_chip_c - t_slowdown_c) / (t_shutdown_c - t_slowdown_c) * (1.0 - f_min)
