"""Cooling types of the hall model, their constants, and the one map from a scenario's cooling to a type."""
from __future__ import annotations



# --- hall network ----------------------------------------------------------------------

#: Cooling types and their model constants (engineering estimates unless noted).
#: r_jc: junction-to-case per card [K/W]; r_sink: sink-to-coolant per card at design flow
#: (air heat sink, immersion heat sink) [K/W] (cold plate uses :func:`~twin.energy.coldplate.plate_resistance`);
#: c_*: capacitances per server [J/K]; flow_per_kw: coolant flow [L/min per kW] (OCP 1.5);
#: recirc: hot-air recirculation fraction; max_rack_kw: rack heat the liquid side (manifold, CDU
#: share; immersion tank) or, for air, the room air can remove (air: :data:`AIR_RACK_KW`, sourced
#: below); AIR_RACK_KW bounds every rack's air-side heat;
#: rack_area: floor area per rack or tank incl. aisles and cooling share [m^2].
COOLING = {
    "air": dict(r_jc=0.015, r_sink=0.03, c_chip=8 * 120.0, c_sink=8 * 900.0, c_fluid=2000.0,
                recirc=0.08, max_rack_kw=15.0, rack_area=2.8, medium="air", dt_design=12.0),
    "cold-plate": dict(r_jc=0.015, r_sink=None, c_chip=8 * 120.0, c_sink=8 * 400.0, c_fluid=6000.0,
                       recirc=0.0, max_rack_kw=150.0, rack_area=2.6, medium="liquid", flow_per_kw=1.5),
    "immersion": dict(r_jc=0.015, r_sink=0.03, c_chip=8 * 120.0, c_sink=8 * 900.0, c_fluid=1.5e5,
                      recirc=0.0, max_rack_kw=100.0, rack_area=3.6, medium="dielectric", dt_design=8.0),
}
#: Air-side heat one rack can reject to the room [kW]; liquid-cooled racks are bounded by this
#: on their residual air heat. 15 kW is the limit of a conventional (raised-floor CRAH) hall:
#: "most mainstream data centres are hard pressed or unable to support more than 10-15 kW per
#: rack" (Refrigeration and Air Conditioning, "Pushing the boundaries of air cooling in
#: high-density environments", after Data Center Frontier); Schneider Electric White Paper 156
#: (Brown, Torell, Avelar, "Choosing the Optimal Data Center Power Density") finds no further
#: capital savings above about 15 kW per rack. Engineered air with full containment goes further,
#: 25 kW and up to about 35 kW per rack (G. Johnson, Subzero Engineering, Intelligent Data
#: Centres issue 56, 2023): 15 kW is the conventional hall, not the physical ceiling of air.
AIR_RACK_KW = 15.0
#: Chip temperature the fan curve of an air-cooled server holds at full load [degC]. An
#: uncalibrated estimate: no published fan-curve policy for air-cooled HGX-class servers was
#: found; it leaves about 12 K below the H100's 87 degC operating limit. The one measurement
#: (Latif et al. 2025, 54-72 degC) runs cooler: see the known gap of case
#: latif2025-h100-air-gpu-temperature in datasets/validation/energy.toml.
AIR_T_TARGET = 75.0
#: Mixed cooling types of the scenario and the hall model each maps to (the one alias map):
#: both mixed halls are cold-plate halls whose liquid share is the scenario's liquid fraction
#: (the immersion tanks of "cold-plate+immersion" are lumped into that share).
COOLING_ALIASES = {"air+cold-plate": "cold-plate", "cold-plate+immersion": "cold-plate"}


def cooling_kind(cooling: str) -> str:
    """The hall model (``air``, ``cold-plate`` or ``immersion``) of a scenario's cooling type."""
    if cooling in COOLING:
        return cooling
    if cooling in COOLING_ALIASES:
        return COOLING_ALIASES[cooling]
    from ..errors import unknown_name

    raise unknown_name("energy.cooling", cooling, list(COOLING) + list(COOLING_ALIASES), "cooling type")
