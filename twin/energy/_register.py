"""Energy-domain validation quantities and benchmarks (imported by twin.registry only)."""
from __future__ import annotations

import numpy as np

from ..bench import Benchmark, register_benchmark
from ..units import Q_, magnitude
from ..validation import register_quantity


@register_quantity("energy.coldplate-case-rise", domain="energy", unit="K")
def _coldplate_rise(power="1 kW", flow="1.5 L/min", coolant="PG25", t_inlet="40 degC"):
    """Cold-plate case temperature above the coolant inlet."""
    from .thermal import coldplate_case

    return coldplate_case(power, flow, coolant, t_inlet)["case_rise"]


@register_quantity("energy.coldplate-coolant-dt", domain="energy", unit="K")
def _coldplate_dt(power="1 kW", flow="1.5 L/min", coolant="PG25", t_inlet="40 degC"):
    """Coolant temperature rise through a cold plate, P / (rho cp V)."""
    from .thermal import coldplate_case

    return coldplate_case(power, flow, coolant, t_inlet)["coolant_dt"]


@register_quantity("energy.plate-resistance", domain="energy", unit="K/W")
def _plate_r(flow, coolant="PG25", temperature="40 degC"):
    """Case-to-inlet resistance of the OCP 1 kW cold plate (fitted model)."""
    from .thermal import plate_resistance

    return plate_resistance(flow, coolant, temperature)


@register_quantity("energy.coolant-cp", domain="energy", unit="J/(kg*K)")
def _cp(coolant, temperature):
    """Specific heat of a catalog coolant at a temperature."""
    from .coolants import coolant_properties

    return coolant_properties(coolant, temperature)["cp"]


@register_quantity("energy.volumetric-heat-capacity-ratio", domain="energy", unit="")
def _vhc_ratio(liquid="water", gas="air", t_liquid="30 degC", t_gas="25 degC"):
    """(rho cp) of a liquid over (rho cp) of a gas."""
    from .coolants import coolant_properties

    a = coolant_properties(liquid, t_liquid)["volumetric_heat_capacity"]
    b = coolant_properties(gas, t_gas)["volumetric_heat_capacity"]
    return (a / b).to("dimensionless").magnitude


@register_quantity("energy.ite-airflow", domain="energy", unit="m^3/s")
def _ite_flow(design_power="5000 W", load=1.0, t_inlet="15 degC", fan_fraction=0.4, flow_per_watt="0.0001 m^3/s/W"):
    """EnergyPlus ITE:AirCooled airflow."""
    from .thermal import ite_air_cooled

    return ite_air_cooled(design_power, load, t_inlet, fan_fraction, flow_per_watt)["airflow"]


@register_quantity("energy.ite-air-dt", domain="energy", unit="K")
def _ite_dt(design_power="5000 W", load=1.0, t_inlet="15 degC", fan_fraction=0.4, flow_per_watt="0.0001 m^3/s/W"):
    """EnergyPlus ITE:AirCooled air temperature rise."""
    from .thermal import ite_air_cooled

    return ite_air_cooled(design_power, load, t_inlet, fan_fraction, flow_per_watt)["air_dt"]


@register_quantity("energy.arrhenius-factor", domain="energy", unit="")
def _af(t_use, t_ref, activation_energy="0.7 eV"):
    """Arrhenius acceleration factor."""
    from .reliability import arrhenius_factor

    return arrhenius_factor(t_use, t_ref, activation_energy)


@register_quantity("energy.server-power", domain="energy", unit="kW")
def _server(accelerator="A800-SXM4-80GB", cards=8, utilisation=1.0, t_inlet="35 degC"):
    """Wall power of an air-cooled training server."""
    from .power import server_power_q

    return server_power_q(accelerator, cards, utilisation, t_inlet)


@register_quantity("energy.annual-pue", domain="energy", unit="")
def _annual_pue(cooling="cold-plate", climate="beijing", supply_temperature=None, utilisation=1.0):
    """Annual PUE of a 1 MW hall of the cooling type in a climate (twin.energy.facility_year)."""
    from .facility import facility_year

    t = None if supply_temperature is None else magnitude(supply_temperature, "degC", "supply_temperature")
    return facility_year(cooling=cooling, climate=climate, supply_temperature=t, utilisation=float(utilisation))["pue"]


@register_quantity("energy.gpu-temperature", domain="energy", unit="degC")
def _gpu_temp(accelerator="H100-SXM5-80GB", cooling="cold-plate", supply_temperature="25 degC", coolant=None,
              utilisation=1.0):
    """Hottest accelerator junction of one 8-card server at steady state."""
    from .thermal import build_hall, hall_steady

    t = magnitude(supply_temperature, "degC", "supply_temperature")
    h = build_hall(accelerator=accelerator, cooling=cooling, n_racks=1, servers_per_rack=1, supply_temperature=t,
                   coolant_name=coolant, utilisation=float(utilisation))
    return Q_(float(np.max(hall_steady(h)["t_chip"])), "degC")


@register_benchmark("thermal-hall-1000-racks", domain="energy", goal="< 10 s and >= 20x scipy.integrate")
def _bench_hall(quick: bool) -> Benchmark:
    from ._reference import hall_transient_reference
    from .thermal import build_hall, hall_steady, hall_transient

    n_racks = 50 if quick else 1000
    horizon = 3600.0 if quick else 86400.0
    ref_horizon = 60.0 if quick else 120.0
    h = build_hall(accelerator="H100-SXM5-80GB", cooling="cold-plate", n_racks=n_racks, servers_per_rack=8)
    st = hall_steady(h)
    # diurnal load: 60-100 % with a minute resolution profile
    prof = 0.6 + 0.4 * np.sin(np.linspace(0.0, 2.0 * np.pi, 1441)) ** 2

    def fast():
        return hall_transient(h, duration=horizon, dt=1.0, record_every=60, profile=prof, profile_dt=60.0, initial=st)

    def reference():
        return hall_transient_reference(h, st, ref_horizon, prof, 60.0, max_step=1.0)

    return Benchmark(size=f"{n_racks} racks x 8 servers (3 nodes each), {horizon / 3600:g} h at 1 s steps",
                     fast=fast, reference=reference, repeats=1 if not quick else 2, reference_repeats=1,
                     reference_scale=horizon / ref_horizon,
                     note=(f"reference: scipy.integrate.solve_ivp (RK45, max_step 1 s to resolve the same 1 s dynamics) "
                           f"on the same ODEs over {ref_horizon:g} s, scaled x{horizon / ref_horizon:g} to the "
                           f"{horizon / 3600:g} h horizon; fast: numba backward-Euler sweep"))


@register_benchmark("energy-dashboard-rack-update", domain="energy", goal="well under 200 ms")
def _bench_rack(quick: bool) -> Benchmark:
    from ._reference import hall_transient_reference
    from .thermal import Fault, build_hall, hall_steady, hall_transient

    h = build_hall(accelerator="H100-SXM5-80GB", cooling="cold-plate", n_racks=1, servers_per_rack=8)

    def fast():
        st = hall_steady(h)
        return hall_transient(h, duration=1800.0, dt=1.0, record_every=5, faults=[Fault("cdu-pump", time=60.0)],
                              initial=st)

    def reference():
        st = hall_steady(h)
        return hall_transient_reference(h, st, 1800.0, max_step=1.0)

    return Benchmark(size="1 rack x 8 servers, 30 min fault transient", fast=fast, reference=reference, repeats=5,
                     reference_repeats=1, note="what one dashboard control change recomputes for a single rack")
