"""Cold plates: the OCP 1 kW OAM plate's case-to-inlet resistance against flow and coolant."""
from __future__ import annotations

import math
from functools import lru_cache

import xarray as xr

from ..errors import InputError
from ..units import Q_, check_range, magnitude
from ._datasets import scalars
from .coolants import coolant

# --- cold plate ------------------------------------------------------------------------

#: OCP 1 kW OAM cold plate, case-to-inlet resistance [K/W] against flow [L/min] (Modelica
#: Buildings library data as quoted in the project's published-numbers reference).
PLATE_POINTS = [
    # (coolant, flow L/min, R K/W, used for calibration)
    ("PG25", 0.4, 0.0389, True),
    ("PG25", 1.0, 0.0245, True),
    ("PG25", 2.0, 0.0204, False),
    ("PG25", 2.4, 0.0197, True),
    ("water", 2.0, 0.0172, True),
    ("water", 5.0, 0.0151, False),
]
PLATE_SOURCE = ("OCP 1 kW OAM cold plate, case-to-inlet resistance vs flow, Modelica Buildings library data "
                "(project published-numbers reference, white paper 7 section)")
PLATE_T_PROPS = 40.0  # degC at which the plate data's fluid properties are taken (the OCP case inlet)


def _plate_r(params, flow_lpm, cname, t_c):
    """Plate resistance model [K/W]; see :func:`plate_resistance`."""
    r_base, r_lam, a, m = params
    c = coolant(cname)
    ref = coolant("PG25")
    rho, cp, k, mu = c.props(t_c)
    rho0, cp0, k0, mu0 = ref.props(PLATE_T_PROPS)
    pr, pr0 = mu * cp / k, mu0 * cp0 / k0
    nu, nu0 = mu / rho, mu0 / rho0
    phi = (k0 / k) * (pr0 / pr) ** (1.0 / 3.0) * (nu / nu0) ** m
    mcp = rho * cp * flow_lpm / 60000.0
    return r_base + r_lam * k0 / k + 0.5 / mcp + a * flow_lpm ** (-m) * phi


def fit_plate(points) -> tuple:
    """Fit the plate model's (r_base, r_lam, a, m) to ``points`` of (coolant, flow [L/min], R [K/W]).

    Least squares on log R (scipy.optimize.least_squares), bounded; see :func:`plate_resistance`.
    """
    from scipy.optimize import least_squares

    pts = [(str(c), float(v), float(r)) for c, v, r in points]
    if not pts:
        raise InputError("points", points, "at least one (coolant, flow, resistance) point")

    def resid(p):
        return [math.log(_plate_r(p, v, c, PLATE_T_PROPS) / r) for c, v, r in pts]

    res = least_squares(resid, [0.003, 0.013, 0.0005, 2.0], bounds=([0, 0, 0, 0.05], [0.05, 0.05, 1.0, 3.0]))
    return tuple(float(x) for x in res.x)


@lru_cache(maxsize=1)
def plate_fit() -> tuple:
    """The plate model's (r_base, r_lam, a, m) fitted on the calibration subset of
    :data:`PLATE_POINTS` (:func:`fit_plate`)."""
    return fit_plate([(c, v, r) for c, v, r, cal in PLATE_POINTS if cal])


def plate_resistance(flow, coolant_name="PG25", temperature="40 degC") -> Q_:
    """Case-to-inlet thermal resistance of the OCP 1 kW cold plate.

    Parameters
    ----------
    flow : Quantity or str
        Coolant flow through the plate [L/min], > 0.
    coolant_name : str
        Catalog coolant.
    temperature : Quantity or str
        Coolant temperature for the properties [degC].

    Returns
    -------
    Quantity
        R [K/W].

    Notes
    -----
    R = R_b + R_lam k_ref/k + 1/(2 m cp) + a V^-m phi, phi = (k_ref/k)(Pr_ref/Pr)^(1/3)(nu/nu_ref)^m:
    base (spreading and conduction), laminar microchannel convection (Nu constant, so h ~ k),
    half the coolant's temperature rise (resistance to the mean coolant temperature), and a
    developing-flow term. R_b, R_lam, a, m fitted to 4 of the 6 published points
    (:data:`PLATE_POINTS`); the other two are predictions (validation cases).

    References
    ----------
    OCP 1 kW OAM cold plate, case-to-inlet resistance against flow (Modelica Buildings library
    data); developing-flow correlations with Nu ~ Re^m Pr^(1/3) (Incropera et al., ch. 8).
    """
    v = magnitude(flow, "L/min", "flow")
    if not v > 0:
        raise InputError("flow", flow, "a positive coolant flow such as '1.5 L/min'", "is not positive")
    t = magnitude(temperature, "degC", "temperature")
    coolant(coolant_name).check_temperature(t, "temperature")
    return Q_(_plate_r(plate_fit(), v, coolant_name, t), "K/W")


def coldplate_case(power="1 kW", flow="1.5 L/min", coolant_name="PG25", t_inlet="40 degC") -> xr.Dataset:
    """Case temperature and coolant temperature rise of the OCP 1 kW cold plate.

    Parameters
    ----------
    power : Quantity or str
        Heat into the plate [W], >= 0.
    flow : Quantity or str
        Coolant flow [L/min], > 0.
    coolant_name : str
        Catalog coolant.
    t_inlet : Quantity or str
        Coolant inlet temperature [degC], above the coolant's freezing point.

    Returns
    -------
    xarray.Dataset
        Scalars ``t_case`` [degC], ``case_rise`` [K] over inlet, ``coolant_dt`` [K],
        ``resistance`` [K/W]; the coolant in attrs.

    Notes
    -----
    T_case = T_in + P R(V) with R from :func:`plate_resistance`; dT = P / (rho cp V).

    References
    ----------
    OCP 1 kW OAM cold plate data (Modelica Buildings library), OCP guideline 1.5 L/min per kW.
    """
    return scalars(_coldplate_case(power, flow, coolant_name, t_inlet), {"coolant": coolant_name})


def _coldplate_case(power="1 kW", flow="1.5 L/min", coolant_name="PG25", t_inlet="40 degC") -> dict:
    """:func:`coldplate_case` as a dict of pint Quantities."""
    p = magnitude(power, "W", "power")
    check_range(p, "power", lo=0.0, unit="W")
    t_in = magnitude(t_inlet, "degC", "t_inlet")
    c = coolant(coolant_name)
    c.check_temperature(t_in, "t_inlet")
    r = plate_resistance(flow, coolant_name, Q_(t_in, "degC")).magnitude
    v = magnitude(flow, "L/min", "flow") / 60000.0
    dt = p / (c.rho_cp(t_in) * v)
    return {"t_case": Q_(t_in + p * r, "degC"), "case_rise": Q_(p * r, "K"), "coolant_dt": Q_(dt, "K"),
            "resistance": Q_(r, "K/W")}
