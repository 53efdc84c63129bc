"""EnergyPlus ElectricEquipment:ITE:AirCooled: an air-cooled server at one operating point."""
from __future__ import annotations

import math

import xarray as xr

from ..errors import InputError
from ..units import Q_, check_range, magnitude
from ._datasets import scalars
from .coolants import coolant

# --- EnergyPlus ElectricEquipment:ITE:AirCooled --------------------------------------

def ite_air_cooled(design_power="5000 W", load=1.0, t_inlet="15 degC", fan_fraction_design=0.4,
                   flow_per_watt="0.0001 m^3/s/W", coolant_name="air") -> xr.Dataset:
    """EnergyPlus ElectricEquipment:ITE:AirCooled at one operating point.

    Parameters
    ----------
    design_power : Quantity or str
        Design power P_d [W], > 0.
    load : float
        Load fraction x, 0..1.5.
    t_inlet : Quantity or str
        Inlet air temperature [degC]; the airflow curve must stay positive.
    fan_fraction_design : float
        Fan share of the design power, 0..1.
    flow_per_watt : Quantity or str
        Design airflow per design watt [m^3/s/W], > 0.
    coolant_name : str
        Catalog gas for rho, cp (air).

    Returns
    -------
    xarray.Dataset
        Scalars ``cpu_power``, ``fan_power`` [W], ``airflow`` [m^3/s], ``air_dt`` [K].

    Notes
    -----
    CPU power = P_d (1 - f_fan) fCPU(x, T), fCPU = -1 + x + 0.06667 T_in;
    airflow = V_d fFlow(x, T), fFlow = -1.4 + 0.9 x + 0.1 T_in; fan power = P_d f_fan fFlow^3
    (affinity law); air dT = (CPU + fan) / (rho cp V) with rho, cp of air at the inlet.

    References
    ----------
    EnergyPlus Input Output Reference, ElectricEquipment:ITE:AirCooled; curves of the example
    file 1ZoneDataCenterCRAC_wPumpedDXCoolingCoil.
    """
    return scalars(_ite_air_cooled(design_power, load, t_inlet, fan_fraction_design, flow_per_watt, coolant_name))


def _ite_air_cooled(design_power="5000 W", load=1.0, t_inlet="15 degC", fan_fraction_design=0.4,
                    flow_per_watt="0.0001 m^3/s/W", coolant_name="air") -> dict:
    """:func:`ite_air_cooled` as a dict of pint Quantities."""
    pd = magnitude(design_power, "W", "design_power")
    check_range(pd, "design_power", lo=0.0, lo_open=True, unit="W")
    t = magnitude(t_inlet, "degC", "t_inlet")
    check_range(load, "load", lo=0.0, hi=1.5)
    check_range(fan_fraction_design, "fan_fraction_design", lo=0.0, hi=1.0)
    vpw = magnitude(flow_per_watt, "m^3/s/W", "flow_per_watt")
    check_range(vpw, "flow_per_watt", lo=0.0, lo_open=True, unit="m^3/s/W")
    f_cpu = -1.0 + load + 0.06667 * t
    f_flow = -1.4 + 0.9 * load + 0.1 * t
    if not f_flow > 0:
        raise InputError("t_inlet", f"{t:g} degC", f"an inlet temperature above {(1.4 - 0.9 * load) / 0.1:.1f} degC "
                         f"at load {load:g} (the EnergyPlus airflow curve is not positive below it)",
                         "gives no airflow")
    cpu = pd * (1 - fan_fraction_design) * f_cpu
    flow = pd * vpw * f_flow
    fan = pd * fan_fraction_design * f_flow ** 3
    rho, cp, _, _ = coolant(coolant_name).props(t, "t_inlet")
    dt = (cpu + fan) / (rho * cp * flow) if flow > 0 else math.inf
    return {"cpu_power": Q_(cpu, "W"), "fan_power": Q_(fan, "W"), "airflow": Q_(flow, "m^3/s"),
            "air_dt": Q_(dt, "K")}
