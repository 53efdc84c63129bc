"""Facility plant: chiller (EnergyPlus EIR form), cooling tower / dry cooler free cooling,
pumps and fans; PUE (instantaneous and annual), WUE, rack density and floor area.

Model constants are engineering estimates unless a source is named.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..errors import InputError, unknown_name
from ..units import Q_, check_range, format_unit, magnitude
from ._datasets import scalars
from .climate import _hourly_year
from .power import DEFAULT_SERVER, server_power, ups_efficiency
from .cooling import COOLING, cooling_kind


@dataclass(frozen=True)
class ChillerCurves:
    """Chiller:Electric:EIR performance data (x = leaving chilled water, y = entering condenser, degC).

    capft(x, y) and eirft(x, y) biquadratic a + b x + c x^2 + d y + e y^2 + f x y; eirfplr(p)
    quadratic; temperatures clamped to the curve ranges as EnergyPlus does. Build one from the
    catalog with :func:`chiller_curves`.
    """

    name: str
    capacity: float  # W
    cop: float
    cap: tuple
    eir: tuple
    plr: tuple
    x_range: tuple
    y_range: tuple
    plr_min: float
    source: str
    t_chw_ref: float = 5.56  # reference leaving chilled water [degC]
    t_cond_ref: float = 23.89  # reference entering condenser water [degC]
    plr_max: float = 1.0

    def capft(self, x, y):
        x = np.clip(x, *self.x_range)
        y = np.clip(y, *self.y_range)
        a, b, c, d, e, f = self.cap
        return a + b * x + c * x * x + d * y + e * y * y + f * x * y

    def eirft(self, x, y):
        x = np.clip(x, *self.x_range)
        y = np.clip(y, *self.y_range)
        a, b, c, d, e, f = self.eir
        return a + b * x + c * x * x + d * y + e * y * y + f * x * y

    def eirfplr(self, p):
        a, b, c = self.plr
        return a + b * p + c * p * p


#: Curve set the facility plant uses unless told otherwise (datasets/catalog/chillers.toml).
DEFAULT_CHILLER = "york-yt-1403kw-vsd"


def chiller_names() -> list[str]:
    """Names of the chiller curve sets of datasets/catalog/chillers.toml."""
    from .. import catalog

    return list(catalog.names("chillers"))


def chiller_curves(name: str | ChillerCurves = DEFAULT_CHILLER) -> ChillerCurves:
    """The :class:`ChillerCurves` of a named catalog chiller.

    Parameters
    ----------
    name : str or ChillerCurves
        Name in datasets/catalog/chillers.toml (a ChillerCurves is returned as is).

    Returns
    -------
    ChillerCurves
        Reference capacity [W] and COP, CAPFT / EIRFT / EIRFPLR coefficients, ranges.

    References
    ----------
    EnergyPlus DataSets/Chillers.idf as carried by the Modelica Buildings library,
    Buildings.Fluid.Chillers.Data.ElectricEIR (each entry's ``source``).
    """
    from .. import catalog
    from ..errors import CatalogError

    if isinstance(name, ChillerCurves):
        return name
    try:
        e = catalog.get("chillers", str(name))
    except CatalogError as exc:
        raise InputError("energy.chiller", name, f"one of {', '.join(chiller_names())}", str(exc)) from None
    return ChillerCurves(
        name=str(name), capacity=float(e["capacity"].to("W").magnitude), cop=float(e["cop"]),
        cap=tuple(float(v) for v in e["cap"]), eir=tuple(float(v) for v in e["eir"]),
        plr=tuple(float(v) for v in e["plr"]), x_range=tuple(float(v) for v in e["x_range_c"]),
        y_range=tuple(float(v) for v in e["y_range_c"]), plr_min=float(e["plr_min"]), source=str(e["source"]),
        t_chw_ref=float(e["t_chw_ref_c"]), t_cond_ref=float(e["t_cond_ref_c"]), plr_max=float(e["plr_max"]))


#: York YT 1403 kW / COP 6.94 / VSD centrifugal chiller (catalog ``york-yt-1403kw-vsd``): the
#: plant's default. Capacity falls and EIR rises with condenser temperature (checked in the tests).
YORK_YT_1403 = chiller_curves(DEFAULT_CHILLER)


def chiller_performance(chiller=DEFAULT_CHILLER, t_chw_leaving="6.67 degC", t_cond_entering="29.44 degC",
                        load_fraction=1.0) -> xr.Dataset:
    """Capacity, power and COP of one chiller at a condition (EnergyPlus Chiller:Electric:EIR).

    Parameters
    ----------
    chiller : str or ChillerCurves
        Catalog chiller (datasets/catalog/chillers.toml).
    t_chw_leaving : Quantity or str
        Leaving chilled water temperature [degC].
    t_cond_entering : Quantity or str
        Entering condenser water temperature [degC].
    load_fraction : float
        Cooling load over the reference capacity, > 0 and at most the available capacity's
        ``plr_max`` share.

    Returns
    -------
    xarray.Dataset
        Scalars ``capacity`` (available) [W], ``load`` [W], ``plr`` [1], ``power`` [W],
        ``cop`` [1], ``capft``, ``eirft``, ``eirfplr`` [1]; the chiller in attrs.

    Notes
    -----
    Q_a = Q_ref CAPFT(x, y); PLR = Q / Q_a;
    P = (Q_a / COP_ref) EIRFT(x, y) EIRFPLR(max(PLR, PLR_min)) min(PLR / PLR_min, 1);
    COP = Q / P.

    References
    ----------
    EnergyPlus Engineering Reference, "Electric Chiller Model Based on Condenser Entering
    Temperature" (Chiller:Electric:EIR).
    """
    r = _chiller_performance(chiller, t_chw_leaving, t_cond_entering, load_fraction)
    return scalars({k: Q_(v, "W") if k in ("capacity", "load", "power") else v for k, v in r.items()},
                   {"chiller": chiller_curves(chiller).name})


def _chiller_performance(chiller=DEFAULT_CHILLER, t_chw_leaving="6.67 degC", t_cond_entering="29.44 degC",
                         load_fraction=1.0) -> dict:
    """:func:`chiller_performance` as a dict of floats (SI)."""
    c = chiller_curves(chiller)
    x = magnitude(t_chw_leaving, "degC", "t_chw_leaving")
    y = magnitude(t_cond_entering, "degC", "t_cond_entering")
    try:
        lf = float(load_fraction)
    except (TypeError, ValueError):
        raise InputError("load_fraction", load_fraction, "a load over the reference capacity > 0") from None
    if not (math.isfinite(lf) and lf > 0):
        raise InputError("load_fraction", load_fraction, "a load over the reference capacity > 0")
    capft = float(c.capft(x, y))
    qa = c.capacity * capft
    q = lf * c.capacity
    plr = q / qa
    if plr > c.plr_max + 1e-9:
        raise InputError("load_fraction", load_fraction,
                         f"at most {c.plr_max * qa / c.capacity:.3f} (the chiller's maximum part-load ratio "
                         f"{c.plr_max:g} of its {qa / 1e3:.0f} kW available at these temperatures)")
    eirft = float(c.eirft(x, y))
    fplr = float(c.eirfplr(max(plr, c.plr_min)))
    p = qa / c.cop * eirft * fplr * min(plr / c.plr_min, 1.0)
    return {"capacity": qa, "load": q, "plr": plr, "power": p, "cop": q / p, "capft": capft, "eirft": eirft,
            "eirfplr": fplr}


#: AHRI Standard 550/590 (I-P) integrated part-load value: weights of the 100, 75, 50 and 25 %
#: load points and their entering condenser water temperatures [degC] (85, 75, 65, 65 degF) at
#: 44 degF (6.67 degC) leaving chilled water.
AHRI_IPLV = ((1.00, 0.01, 29.44), (0.75, 0.42, 23.89), (0.50, 0.45, 18.33), (0.25, 0.12, 18.33))


def iplv(chiller=DEFAULT_CHILLER, t_chw_leaving="6.67 degC") -> float:
    """Integrated part-load value [W/W, as COP] of a catalog chiller (AHRI 550/590).

    Parameters
    ----------
    chiller : str or ChillerCurves
        Catalog chiller.
    t_chw_leaving : Quantity or str
        Leaving chilled water [degC] (AHRI: 44 degF; NPLV at other design conditions).

    Returns
    -------
    float
        IPLV = 0.01 A + 0.42 B + 0.45 C + 0.12 D, the COPs at 100, 75, 50, 25 % of the
        full-load capacity at the 100 % point's conditions.

    Notes
    -----
    Load points are fractions of the available capacity at (t_chw_leaving, 29.44 degC).

    References
    ----------
    AHRI Standard 550/590 (I-P), Performance Rating of Water-Chilling and Heat Pump
    Water-Heating Packages Using the Vapor Compression Cycle, section 5.4 (IPLV).
    """
    c = chiller_curves(chiller)
    x = magnitude(t_chw_leaving, "degC", "t_chw_leaving")
    full = float(c.capft(x, AHRI_IPLV[0][2]))
    total = 0.0
    for frac, weight, y in AHRI_IPLV:
        total += weight * _chiller_performance(c, Q_(x, "degC"), Q_(y, "degC"), frac * full)["cop"]
    return total


def chiller_power(load_w, t_chw_leaving_c, t_cond_entering_c, n_units=None, curves: ChillerCurves | str = YORK_YT_1403):
    """Electric power [W] of a chiller plant of identical units meeting ``load_w``.

    Parameters
    ----------
    load_w : float or array
        Cooling load [W], finite and >= 0.
    t_chw_leaving_c, t_cond_entering_c : float or array
        Leaving chilled-water and entering condenser-water temperatures [degC].
    n_units : int, optional
        Units running (default: staged to the load).
    curves : ChillerCurves or str
        Performance curves or a catalog chiller name (default :data:`YORK_YT_1403`).

    Returns
    -------
    numpy.ndarray
        Electric power [W].

    Notes
    -----
    Available capacity Q_a = Q_ref capft(x, y); PLR = Q / (n Q_a); P = n (Q_a / COP_ref)
    eirft(x, y) eirfplr(PLR) (below PLR_min the unit cycles at PLR_min). Units are staged:
    n = ceil(Q / Q_a) unless given. Loads beyond the available capacity are capped.

    References
    ----------
    EnergyPlus Engineering Reference, Chiller:Electric:EIR.
    """
    curves = chiller_curves(curves)
    q = np.asarray(load_w, dtype=float)
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise InputError("load_w", "array" if q.ndim else float(q), "finite chiller loads >= 0 W")
    for name, v in (("t_chw_leaving", t_chw_leaving_c), ("t_cond_entering", t_cond_entering_c)):
        if not np.all(np.isfinite(np.asarray(v, dtype=float))):
            raise InputError(name, v, "a finite temperature in degC")
    capa = curves.capacity * curves.capft(t_chw_leaving_c, t_cond_entering_c)
    n = np.maximum(np.ceil(q / capa), 1.0) if n_units is None else np.full_like(q, float(n_units))
    plr = np.clip(q / (n * capa), 0.0, 1.0)
    plr_eff = np.maximum(plr, curves.plr_min)
    p = n * capa / curves.cop * curves.eirft(t_chw_leaving_c, t_cond_entering_c) * curves.eirfplr(plr_eff)
    p = np.where(q > 0, p * np.where(plr < curves.plr_min, plr / curves.plr_min, 1.0), 0.0)
    return p


#: Heat rejection and distribution constants (engineering estimates): approaches [K], fan power
#: per heat rejected at design [W/W], pump heads [Pa] at design flow and pump efficiency, CRAH
#: fan total pressure [Pa] (coil, filter, floor tiles) and fan efficiency.
PLANT = dict(tower_approach=4.0, dry_approach=8.0, hx_approach=1.5, tower_fan=0.008, dry_fan=0.02,
             chw_dt=6.0, cw_dt=5.0, fac_head=250e3, cdu_head=200e3, pump_eff=0.7, crah_dp=350.0,
             crah_fan_eff=0.65, crah_dt=12.0, coil_approach=8.0, h_fg=2.43e6, cycles=4.0)

#: Load on each UPS of a 2N power chain at full IT load (fraction of its rating). Each side of a
#: 2N system must carry the whole load alone, so it runs at <= 50 %; field surveys find 20-40 %
#: and a typical 30 % (V. Avelar, "Making Large UPS Systems More Efficient", Schneider Electric
#: White Paper 108). At that load a double-conversion UPS is well below its full-load efficiency.
UPS_LOAD_2N = 0.30
#: Efficiency of the PDUs (with their isolation transformers) and distribution after the UPS:
#: "PDUs typically operate at the high efficiency of 94 to 98 percent" (Niteo Ltd., "How much
#: power does your UPS consume to do its job", part 1); 0.97 taken for a modern PDU (assumption
#: within that range).
PDU_EFFICIENCY = 0.97
#: Lighting as a share of the facility's total power: 1 % in APC's breakdown of a typical 1 MW
#: data centre (K. S. Nash, "Data Centers: Where Does the Power Go?", CIO, 30 Oct 2007).
LIGHTING_SHARE = 0.01


def _plant_power(q_w, t_supply_c, t_db, t_wb, rejection="tower", dt_loop=6.0, chiller=DEFAULT_CHILLER):
    """Hourly plant power [W] to remove ``q_w`` at facility supply ``t_supply_c``.

    Parameters
    ----------
    q_w : float or array
        Heat to remove [W].
    t_supply_c : float
        Facility (chilled) water supply temperature [degC].
    t_db, t_wb : array
        Outdoor dry bulb and wet bulb [degC].
    rejection : str
        ``"tower"`` or ``"dry-cooler"``.
    dt_loop : float
        Loop temperature difference [K].
    chiller : str or ChillerCurves
        Catalog chiller trimming what free cooling leaves (default :data:`DEFAULT_CHILLER`).

    Returns
    -------
    dict
        Arrays ``chiller`` and ``rejection_fans`` [W], ``free_fraction``, ``water`` [kg per hour].

    Notes
    -----
    Waterside economiser: free share = clip((T_ret - (T_rej + approach)) / dT_loop, 0, 1) with
    T_rej = wet bulb + tower approach or dry bulb + dry-cooler approach; the chiller trims the
    rest with its condenser at T_rej; fans by the affinity law; tower water = evaporation
    (Q / h_fg) plus blowdown at the cycles of concentration.

    References
    ----------
    ASHRAE Handbook HVAC Systems and Equipment (cooling towers, economisers); approaches and fan
    powers are estimates (:data:`PLANT`).
    """
    t_db = np.asarray(t_db, dtype=float)
    t_wb = np.asarray(t_wb, dtype=float)
    q = np.broadcast_to(np.asarray(q_w, dtype=float), t_db.shape)
    if rejection == "tower":
        t_rej = t_wb + PLANT["tower_approach"]
        fan_design = PLANT["tower_fan"]
    elif rejection == "dry-cooler":
        t_rej = t_db + PLANT["dry_approach"]
        fan_design = PLANT["dry_fan"]
    else:
        raise unknown_name("energy.heat_rejection", rejection, ["tower", "dry-cooler"], "heat rejection")
    t_ret = t_supply_c + dt_loop
    t_free = t_rej + PLANT["hx_approach"]
    free = np.clip((t_ret - t_free) / dt_loop, 0.0, 1.0)
    q_ch = q * (1.0 - free)
    curves = chiller_curves(chiller)
    w_ch = chiller_power(q_ch, t_supply_c, np.maximum(t_rej, curves.y_range[0]), curves=curves)
    q_rej = q + w_ch
    # fans: affinity law, speed ~ heat share of design, at least 30 % speed when running
    design = np.max(q) * 1.15 if np.max(q) > 0 else 1.0
    speed = np.clip(q_rej / design, 0.3, 1.0)
    fans = fan_design * design * speed ** 3
    # evaporation plus blowdown at the cycles of concentration, per hour [kg]
    water = (q_rej / PLANT["h_fg"] * (1.0 + 1.0 / (PLANT["cycles"] - 1.0)) * 3600.0 if rejection == "tower"
             else np.zeros_like(q))
    return {"chiller": w_ch, "rejection_fans": fans, "free_fraction": free, "water": water}


def _pump_power(q_w, coolant_rho_cp, dt, head):
    return q_w / (coolant_rho_cp * dt) * head / PLANT["pump_eff"]


def facility_year(*, cooling="cold-plate", climate="beijing", it_load_w=1e6, liquid_fraction=None,
                  supply_temperature=None, air_supply_temperature=24.0, rejection=None, eco_ups=None,
                  utilisation=1.0, ups_load=UPS_LOAD_2N, chiller=DEFAULT_CHILLER) -> xr.Dataset:
    """Hourly facility energy over a synthetic year and the annual PUE and WUE.

    Parameters
    ----------
    cooling : str
        Cooling type (``air``, ``cold-plate``, ``immersion`` or a mixed alias).
    climate : str
        City of datasets/climate/normals.toml.
    it_load_w : float
        IT wall power at full load [W], > 0.
    liquid_fraction : float, optional
        Share of the IT heat to liquid (default per type; 0 for air).
    supply_temperature, air_supply_temperature : float
        Liquid and air supply temperatures at the IT [degC].
    rejection : str, optional
        ``"tower"`` or ``"dry-cooler"`` (default by loop temperature).
    eco_ups : bool, optional
        Eco-mode / HVDC power chain instead of double conversion.
    utilisation : float
        Mean utilisation 0..1 (IT power 0.3 + 0.7 u of full load).
    ups_load : float
        UPS load at full IT load as a fraction of its rating, 0 < x <= 1 (2N: 0.3).
    chiller : str
        Catalog chiller curve set of the plant (datasets/catalog/chillers.toml).

    The liquid share is rejected at the liquid loop's facility supply (CDU approach 3 K below
    ``supply_temperature``); the air share through CRAHs fed with chilled water
    ``coil_approach`` below ``air_supply_temperature``. Cold plate and immersion default to a
    dry cooler when the liquid loop is warm (>= 30 degC facility supply), else a tower.

    Power chain: UPS (double conversion, :func:`~twin.energy.power.ups_efficiency`) at
    ``ups_load`` of its rating at full IT load (2N: :data:`UPS_LOAD_2N`), then PDUs at
    :data:`PDU_EFFICIENCY`; lighting :data:`LIGHTING_SHARE` of the total. The chain losses and
    the lighting end up as heat in the building, removed by the air-side plant (CRAHs and
    chilled water), as W. J. Kosik notes ("Data center efficiency, cooling considerations",
    Consulting-Specifying Engineer, 2012).

    Returns
    -------
    xarray.Dataset
        Over ``hour``: pue_hourly [1], it_power, cooling_power, chain_loss, lighting [kW],
        liquid_cooling_power and air_cooling_power [kW] (the plant of each loop the hall has),
        free_cooling_fraction [1], dry_bulb and wet_bulb [degC]; annual pue [1], wue [L/kWh],
        facility_energy [kWh], facility_power (annual mean) [kW], water [m^3]; climate, cooling
        and heat_rejection in attrs.

    Notes
    -----
    PUE(h) = (P_IT + P_cool + P_chain + P_light) / P_IT,
    P_chain = P_IT (1 / (eta_UPS(x) eta_PDU) - 1), x = ups_load P_IT / P_IT,design,
    P_light = s_light (P_IT + P_cool + P_chain) / (1 - s_light).

    References
    ----------
    EnergyPlus Engineering Reference, Chiller:Electric:EIR; V. Avelar, Schneider Electric White
    Paper 108; APC power breakdown of a 1 MW data centre (CIO, 2007).
    """
    y = _facility_year(cooling=cooling, climate=climate, it_load_w=it_load_w, liquid_fraction=liquid_fraction,
                       supply_temperature=supply_temperature, air_supply_temperature=air_supply_temperature,
                       rejection=rejection, eco_ups=eco_ups, utilisation=utilisation, ups_load=ups_load, chiller=chiller)
    hourly = {"it_power": y["it"], "cooling_power": y["cooling_power"], "chain_loss": y["chain_loss"],
              "lighting": y["lighting"], **{f"{k}_cooling_power": v for k, v in y["cooling_parts"].items()}}
    data = {k: ("hour", v / 1e3, {"units": "kW"}) for k, v in hourly.items()}
    data.update(
        pue_hourly=("hour", y["pue_hourly"], {"units": "", "long_name": "instantaneous PUE, synthetic year"}),
        free_cooling_fraction=("hour", y["free_fraction"], {"units": "", "long_name": "share of the heat removed without the chiller"}),
        dry_bulb=("hour", y["dry_bulb"], {"units": "degC"}), wet_bulb=("hour", y["wet_bulb"], {"units": "degC"}),
        pue=((), y["pue"], {"units": "", "long_name": "annual PUE"}), wue=((), y["wue"], {"units": format_unit("L/kWh")}),
        facility_energy=((), y["energy_kwh"], {"units": "kWh"}),
        facility_power=((), y["energy_kwh"] / 8760.0, {"units": "kW", "long_name": "annual mean facility power"}),
        water=((), y["water_m3"], {"units": format_unit("m^3")}))
    return xr.Dataset(data, coords={"hour": ("hour", np.arange(8760), {"units": "h"})},
                      attrs={"climate": y["city"], "cooling": y["cooling"], "heat_rejection": y["rejection"]})


def _facility_year(*, cooling="cold-plate", climate="beijing", it_load_w=1e6, liquid_fraction=None,
                   supply_temperature=None, air_supply_temperature=24.0, rejection=None, eco_ups=None,
                   utilisation=1.0, ups_load=UPS_LOAD_2N, chiller=DEFAULT_CHILLER) -> dict:
    """:func:`facility_year` as a dict of hourly arrays [W] and annual figures."""
    kind = cooling_kind(cooling)
    curves = chiller_curves(chiller)
    w = _hourly_year(climate)
    check_range(it_load_w, "it_load", lo=0.0, lo_open=True, unit="W")
    if liquid_fraction is None:
        liquid_fraction = {"air": 0.0, "cold-plate": 0.8, "immersion": 1.0}[kind]
    if kind == "air":
        liquid_fraction = 0.0
    check_range(liquid_fraction, "energy.liquid_fraction", lo=0.0, hi=1.0)
    if supply_temperature is None:
        supply_temperature = {"air": 24.0, "cold-plate": 40.0, "immersion": 35.0}[kind]
    check_range(supply_temperature, "energy.supply_temperature", lo=-10.0, hi=70.0)
    check_range(air_supply_temperature, "energy.air_supply_temperature", lo=-10.0, hi=60.0)
    check_range(utilisation, "utilisation", lo=0.0, hi=1.0)
    check_range(ups_load, "ups_load", lo=0.0, hi=1.0, lo_open=True)
    it = it_load_w * (0.3 + 0.7 * utilisation) * np.ones(8760)
    if eco_ups is None:
        eco_ups = False
    eta = ups_efficiency(ups_load * (0.3 + 0.7 * utilisation), eco=eco_ups) * PDU_EFFICIENCY
    chain = it * (1.0 / eta - 1.0)
    q_liq = it * liquid_fraction
    # the chain's losses (UPS and PDU rooms) and the lighting are heat for the air-side plant;
    # lighting is estimated from the IT + chain share before cooling (second-order in the share)
    light_heat = LIGHTING_SHARE * (it + chain)
    q_air = it - q_liq + chain + light_heat
    water_rc = 4.18e6
    t_fac_liq = supply_temperature - 3.0
    t_chw = air_supply_temperature - PLANT["coil_approach"]
    if rejection is None:
        rejection = "dry-cooler" if (liquid_fraction >= 0.5 and t_fac_liq >= 30.0) else "tower"
    cooling_w = np.zeros(8760)
    free = np.zeros(8760)
    water = np.zeros(8760)
    parts = {}
    if np.any(q_liq > 0):
        pl = _plant_power(q_liq, t_fac_liq, w["dry_bulb"], w["wet_bulb"], rejection, dt_loop=10.0, chiller=curves)
        cdu_pumps = _pump_power(q_liq, 4.0e6, 10.0, PLANT["cdu_head"])
        fac_pumps = _pump_power(q_liq, water_rc, 10.0, PLANT["fac_head"])
        parts["liquid"] = pl["chiller"] + pl["rejection_fans"] + cdu_pumps + fac_pumps
        cooling_w += parts["liquid"]
        free += pl["free_fraction"] * q_liq
        water += pl["water"]
    if np.any(q_air > 0):
        pa = _plant_power(q_air, t_chw, w["dry_bulb"], w["wet_bulb"], "tower", dt_loop=PLANT["chw_dt"], chiller=curves)
        chw_pumps = _pump_power(q_air, water_rc, PLANT["chw_dt"], PLANT["fac_head"])
        cw_pumps = _pump_power(q_air, water_rc, PLANT["cw_dt"], PLANT["fac_head"])
        crah = q_air / (1.2 * 1006.0 * PLANT["crah_dt"]) * PLANT["crah_dp"] / PLANT["crah_fan_eff"]
        parts["air"] = pa["chiller"] + pa["rejection_fans"] + chw_pumps + cw_pumps + crah
        cooling_w += parts["air"]
        free += pa["free_fraction"] * q_air
        water += pa["water"]
    free = free / (q_liq + q_air)  # heat-weighted share removed without the chiller
    light = LIGHTING_SHARE / (1.0 - LIGHTING_SHARE) * (it + cooling_w + chain)
    total = it + cooling_w + chain + light
    pue_h = total / it
    e_it = it.sum() / 1e3
    wue = water.sum() / e_it  # kg = L of make-up water per kWh of IT energy
    return {"city": w["city"], "cooling": kind, "rejection": rejection, "pue_hourly": pue_h, "it": it,
            "cooling_power": cooling_w, "chain_loss": chain, "lighting": light, "free_fraction": free,
            "cooling_parts": parts,
            "pue": float(total.sum() / it.sum()), "wue": float(wue), "energy_kwh": float(total.sum() / 1e3),
            "water_m3": float(water.sum() / 1000.0), "dry_bulb": w["dry_bulb"], "wet_bulb": w["wet_bulb"]}


def instantaneous_pue(it_w, cooling_w, chain_w, misc_w=0.0) -> float:
    """PUE at one instant.

    Parameters
    ----------
    it_w, cooling_w, chain_w, misc_w : float
        IT, cooling, power-chain loss and other (lighting) power [W]; IT > 0.

    Returns
    -------
    float
        PUE = (IT + cooling + chain + misc) / IT.

    References
    ----------
    The Green Grid, PUE: a comprehensive examination of the metric (White Paper 49).
    """
    if not it_w > 0:
        raise InputError("it_power", it_w, "a positive IT power")
    return float((it_w + cooling_w + chain_w + misc_w) / it_w)


def floor_plan(*, n_servers=1000, server_kw=6.5, cooling="air", servers_per_rack=8, liquid_fraction=None) -> xr.Dataset:
    """Racks, rack density and floor area of a hall per cooling type.

    Parameters
    ----------
    n_servers : int
        Servers, >= 1.
    server_kw : float
        Wall power of one server [kW], > 0.
    cooling : str
        Cooling type.
    servers_per_rack : int
        Requested servers per rack, >= 1.
    liquid_fraction : float, optional
        Cold plate's liquid share (default 0.8).

    Returns
    -------
    xarray.Dataset
        Scalars ``servers_per_rack``, ``racks`` [1], ``rack_density`` [kW], ``floor_area``
        [m^2] (inf racks and area when one server is beyond the rack limit); ``cooling``,
        ``overheats`` (0/1) and ``overheat_reason`` in attrs.

    Notes
    -----
    Servers per rack = min(requested, floor(limit / server_kw)); limit: air
    :data:`~twin.energy.cooling.AIR_RACK_KW`; cold plate min(150 kW, AIR_RACK_KW / (1 - lf));
    immersion 100 kW per tank. Area = racks x area per rack (aisles, CRAH / CDU share).

    References
    ----------
    Air rack limit: see :data:`~twin.energy.cooling.AIR_RACK_KW`; white paper ch. 7 (liquid racks
    3-4x denser, about 75 % less floor).
    """
    p = _floor_plan(n_servers=n_servers, server_kw=server_kw, cooling=cooling, servers_per_rack=servers_per_rack,
                    liquid_fraction=liquid_fraction)
    return scalars({"servers_per_rack": p["servers_per_rack"], "racks": p["racks"], "rack_density": Q_(p["rack_kw"], "kW"),
                    "floor_area": Q_(p["area_m2"], "m^2")},
                   {"cooling": p["cooling"], "overheats": int(p["overheats"]), "overheat_reason": p["reason"]})


def _floor_plan(*, n_servers=1000, server_kw=6.5, cooling="air", servers_per_rack=8, liquid_fraction=None) -> dict:
    """:func:`floor_plan` as a dict (``rack_kw`` [kW], ``area_m2`` [m^2], ``overheats``, ``reason``)."""
    from .cooling import AIR_RACK_KW

    kind = cooling_kind(cooling)
    spec = COOLING[kind]
    if n_servers < 1:
        raise InputError("compute.nodes", n_servers, "a positive number of servers")
    if not (isinstance(servers_per_rack, (int, np.integer)) and servers_per_rack >= 1):
        raise InputError("energy.servers_per_rack", servers_per_rack, "a positive integer")
    if not server_kw > 0:
        raise InputError("server_kw", server_kw, "a positive server power")
    limit = spec["max_rack_kw"]
    if kind == "cold-plate":
        lf = 0.8 if liquid_fraction is None else float(liquid_fraction)
        check_range(lf, "energy.liquid_fraction", lo=0.0, hi=1.0)
        if lf < 1.0:
            limit = min(limit, AIR_RACK_KW / (1.0 - lf))
    per_rack = min(int(servers_per_rack), int(limit // server_kw))
    if per_rack < 1:
        art = "an" if kind[0] in "aeiou" else "a"
        return {"cooling": kind, "servers_per_rack": 0, "racks": math.inf, "rack_kw": server_kw, "area_m2": math.inf,
                "overheats": True, "reason": f"one {server_kw:.1f} kW server exceeds the {limit:g} kW "
                                            f"{art} {kind} rack can remove"}
    racks = math.ceil(n_servers / per_rack)
    return {"cooling": kind, "servers_per_rack": per_rack, "racks": racks, "rack_kw": per_rack * server_kw,
            "area_m2": racks * spec["rack_area"], "overheats": False, "reason": ""}
