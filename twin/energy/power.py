"""Electrical power: accelerator, server, rack and the power chain.

Model constants below are engineering estimates unless a source is given; each says which.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError
from ..units import Q_, check_range, magnitude
from .. import catalog

#: Accelerator idle (static) power as a fraction of TDP at the reference temperature.
#: A100/H100 SXM idle at about 50-70 W of 400-700 W (nvidia-smi on idle nodes; estimate 0.15).
IDLE_FRACTION = 0.15
#: Temperature coefficient of the static (leakage) power [1/K]: leakage roughly doubles every
#: 35 K in current CMOS (ln 2 / 35 = 0.02 /K; engineering estimate).
LEAKAGE_PER_K = 0.02
#: Junction temperature at which the TDP is drawn at full utilisation [degC] (estimate: the
#: air-cooled design point of SXM modules).
T_REF_C = 65.0
#: Exponent of dynamic power against clock factor under DVFS (P ~ f V^2, V ~ f).
CLOCK_EXPONENT = 3.0


@dataclass(frozen=True)
class ServerSpec:
    """Non-accelerator power of an 8-card training server at full load [W] (DC side).

    Defaults are for an HGX-A100/A800 class 8-card server:
    cpu 2 x 300 W (white paper ch. 7: "CPU from 150 W to above 300 W"); memory 32 DDR4 RDIMMs at
    about 10 W (vendor power calculators, estimate); nvswitch 6 NVSwitch2 at 50 W (estimate);
    nics 10 x 20 W (ConnectX-6 200G max power class, NVIDIA datasheet order of magnitude);
    storage 4 NVMe at 12 W; pcie_misc 100 W (PCIe switches, BMC, VRM; estimate);
    fan_max 900 W (air-cooled 6U chassis fans at full speed, estimate); psu_efficiency 0.94
    (80 PLUS Platinum at 50-100 % load).
    """

    cpu: float = 600.0
    memory: float = 320.0
    nvswitch: float = 300.0
    nics: float = 200.0
    storage: float = 48.0
    pcie_misc: float = 100.0
    fan_max: float = 900.0
    psu_efficiency: float = 0.94
    other_idle_fraction: float = 0.4  # non-accelerator idle share (CPUs idle at ~40 %, estimate)
    t_exhaust_max: float = 47.0  # air exhaust limit [degC] that sets fan speed (estimate)
    dt_air_min: float = 12.0  # air dT at full load and 35 degC inlet (ASHRAE A2 max inlet)

    @property
    def other(self) -> float:
        return self.cpu + self.memory + self.nvswitch + self.nics + self.storage + self.pcie_misc


DEFAULT_SERVER = ServerSpec()


def accelerator_tdp(name: str) -> float:
    """TDP [W] of catalog accelerator ``name``."""
    return float(catalog.accelerator(name).tdp.to("W").magnitude)


def accelerator_power(tdp_w: float, utilisation: float, t_chip_c: float, clock: float = 1.0) -> float:
    """Accelerator power [W] at a utilisation, junction temperature and clock factor.

    Parameters
    ----------
    tdp_w : float
        Thermal design power [W].
    utilisation : float
        Utilisation 0..1.
    t_chip_c : float
        Junction temperature [degC].
    clock : float
        Clock factor 0..1 (throttling).

    Returns
    -------
    float
        Power [W], >= 0.

    Notes
    -----
    P = P_s (1 + k_leak (T - T_ref)) + (TDP - P_s) u f^3, P_s = IDLE_FRACTION * TDP,
    so P = TDP at u = 1, f = 1, T = T_ref (dynamic power ~ f V^2 with V ~ f).

    References
    ----------
    Constants are estimates stated at their definitions (idle fraction, leakage doubling every
    about 35 K, T_ref 65 degC).
    """
    ps = IDLE_FRACTION * tdp_w
    p = ps * (1.0 + LEAKAGE_PER_K * (t_chip_c - T_REF_C)) + (tdp_w - ps) * utilisation * clock ** CLOCK_EXPONENT
    return max(p, 0.0)


def fan_fraction(p_air_w: float, p_air_max_w: float, t_inlet_c: float, spec: ServerSpec = DEFAULT_SERVER) -> float:
    """Fan speed fraction needed to carry ``p_air_w`` at inlet ``t_inlet_c``.

    The fans keep the exhaust at or below ``t_exhaust_max``; full speed moves ``p_air_max_w`` at
    ``dt_air_min`` (35 degC inlet). Airflow scales with speed (affinity law 1).
    """
    if p_air_max_w <= 0:
        return 0.0
    dt_allow = max(spec.t_exhaust_max - t_inlet_c, 1.0)
    frac = (p_air_w / dt_allow) / (p_air_max_w / spec.dt_air_min)
    return min(max(frac, 0.2), 1.0)


def server_power(accelerator: str = "A800-SXM4-80GB", cards: int = 8, utilisation: float = 1.0,
                 t_chip_c: float | None = None, t_inlet_c: float = 35.0, liquid_fraction: float = 0.0,
                 spec: ServerSpec = DEFAULT_SERVER, cooling: str = "air") -> dict:
    """Wall power of one server and its parts [W] (plain floats, SI).

    Parameters
    ----------
    accelerator : str
        Catalog accelerator.
    cards : int
        Accelerators per server.
    utilisation : float
        0..1.
    t_chip_c : float, optional
        Junction temperature [degC] (default the TDP reference :data:`T_REF_C`).
    t_inlet_c : float
        Server inlet air temperature [degC].
    liquid_fraction : float
        Share of the server heat taken by liquid (the fans carry the rest).
    spec : ServerSpec
        Non-accelerator parts.
    cooling : str
        ``"immersion"`` (no fans) or anything else (fans).

    Returns
    -------
    dict
        ``accelerators``, ``other``, ``fans``, ``dc``, ``wall``, ``psu_loss`` [W] and ``fan_speed``.

    Notes
    -----
    P_wall = (P_acc + P_other + P_fans) / eta_PSU; P_fans = s_air P_fan,max n^3 (affinity law),
    n from :func:`fan_fraction`; P_other = P_other,max (i + (1 - i) u).

    References
    ----------
    Fan affinity laws (power ~ speed^3); white paper ch. 7 (8 x A800 server about 6.5 kW).
    """
    check_range(utilisation, "utilisation", lo=0.0, hi=1.0)
    check_range(liquid_fraction, "energy.liquid_fraction", lo=0.0, hi=1.0)
    if isinstance(cards, bool) or not isinstance(cards, (int,)) and not (hasattr(cards, "is_integer") and cards.is_integer()):
        raise InputError("compute.cards_per_node", cards, "a positive integer")
    if cards < 1:
        raise InputError("compute.cards_per_node", cards, "a positive integer")
    check_range(t_inlet_c, "t_inlet", lo=-50.0, hi=80.0)
    if t_chip_c is not None:
        check_range(t_chip_c, "t_chip", lo=-50.0, hi=200.0)
    tdp = accelerator_tdp(accelerator)
    tc = T_REF_C if t_chip_c is None else t_chip_c
    acc = cards * accelerator_power(tdp, utilisation, tc)
    other = spec.other * (spec.other_idle_fraction + (1 - spec.other_idle_fraction) * utilisation)
    air_share = 0.0 if cooling == "immersion" else (1.0 - liquid_fraction)
    p_air = air_share * (acc + other)
    p_air_max = air_share * (cards * tdp + spec.other)
    n = fan_fraction(p_air, p_air_max, t_inlet_c, spec) if air_share > 0 else 0.0
    fans = air_share * spec.fan_max * n ** 3
    dc = acc + other + fans
    wall = dc / spec.psu_efficiency
    return {"accelerators": acc, "other": other, "fans": fans, "fan_speed": n, "dc": dc, "wall": wall,
            "psu_loss": wall - dc}


def server_power_q(accelerator="A800-SXM4-80GB", cards=8, utilisation=1.0, t_inlet="35 degC") -> Q_:
    """Public form of :func:`server_power`: wall power [kW] of one air-cooled server.

    Parameters
    ----------
    accelerator : str
        Catalog accelerator name.
    cards : int
        Accelerators per server.
    utilisation : float
        Accelerator utilisation 0..1.
    t_inlet : Quantity or str
        Server inlet air temperature [degC].

    Returns
    -------
    Quantity
        Wall power [kW].
    """
    t_in = magnitude(t_inlet, "degC", "t_inlet")
    try:
        n = int(cards)
    except (TypeError, ValueError):
        raise InputError("compute.cards_per_node", cards, "a positive integer") from None
    if n != cards:
        raise InputError("compute.cards_per_node", cards, "a positive integer", "is not a whole number")
    try:
        u = float(utilisation)
    except (TypeError, ValueError):
        raise InputError("utilisation", utilisation, "a number between 0 and 1") from None
    return Q_(server_power(accelerator, n, u, t_inlet_c=t_in)["wall"] / 1e3, "kW")


def ups_efficiency(load_fraction: float, eco: bool = False) -> float:
    """Efficiency of a UPS (double conversion; ``eco``: eco mode or HVDC rectifier) at a load
    fraction of its rating. The PDUs after it are :data:`twin.energy.facility.PDU_EFFICIENCY`.

    Parameters
    ----------
    load_fraction : float
        Load over the UPS rating (a 2N UPS runs at about 0.3 at full IT load, see
        :data:`twin.energy.facility.UPS_LOAD_2N`).
    eco : bool
        Eco mode / HVDC curve.

    Returns
    -------
    float
        Efficiency 0..1.

    Notes
    -----
    Loss = a + b x + c x^2 of rated power (no-load, proportional and resistive losses);
    a = 0.010, b = 0.020, c = 0.010 (double conversion: 93 % at 20 % load, 96 % at full load,
    in line with vendor curves of modern UPS, estimate); eco mode / HVDC: a = 0.004, b = 0.010,
    c = 0.006 (about 98 %). The loss split into no-load, proportional and square-law parts is
    Schneider Electric's (White Paper 108: no-load losses can be over 40 % of all UPS losses,
    square-law losses 1-4 % at high load); the coefficients are estimates.

    References
    ----------
    V. Avelar, "Making Large UPS Systems More Efficient", Schneider Electric White Paper 108.
    """
    if not (isinstance(load_fraction, (int, float)) and math.isfinite(load_fraction) and load_fraction >= 0):
        raise InputError("load_fraction", load_fraction, "a UPS load fraction >= 0 (1 = rated load)")
    x = min(max(load_fraction, 1e-3), 1.2)
    a, b, c = (0.004, 0.010, 0.006) if eco else (0.010, 0.020, 0.010)
    return x / (x + a + b * x + c * x * x)


def server_spec(scenario) -> ServerSpec:
    """The server parts of a scenario.

    Parameters
    ----------
    scenario : twin.scenario.Scenario
        Uses compute.cpus_per_node, compute.cpu_tdp and compute.topology.

    Returns
    -------
    ServerSpec
        CPUs = cpus_per_node x cpu_tdp [W], no NVSwitches in a PCIe server, the rest as
        :data:`DEFAULT_SERVER` (HGX-class estimates with their sources above).
    """
    import dataclasses

    c = scenario.compute
    return dataclasses.replace(DEFAULT_SERVER, cpu=float(c.cpus_per_node * c.cpu_tdp.to("W").magnitude),
                               nvswitch=0.0 if c.topology == "pcie" else DEFAULT_SERVER.nvswitch)


def it_power(scenario, utilisation: float = 1.0) -> Q_:
    """Wall power of all servers of a scenario [kW] (network and storage excluded).

    Each server as :func:`server_power` with the scenario's accelerator, cards, CPUs, cooling,
    liquid fraction and inlet air temperature; at ``utilisation = 1`` this is the full-load
    figure the summary quotes (white paper ch. 7: an 8 x A800 server about 6.5 kW).

    Parameters
    ----------
    scenario : twin.scenario.Scenario
        Uses compute.accelerator/nodes/cards_per_node/cpus_per_node/cpu_tdp/topology and
        energy.cooling/liquid_fraction/air_supply_temperature.
    utilisation : float
        Accelerator utilisation 0..1.

    Returns
    -------
    Quantity
        IT wall power [kW].

    Notes
    -----
    ``P_IT = nodes * (P_acc + P_other + P_fans) / eta_PSU`` with the accelerators at the TDP
    reference junction temperature :data:`T_REF_C`. :func:`twin.energy.evaluate` solves the
    hall's junction temperatures and so differs by the leakage term
    ``IDLE_FRACTION * TDP * LEAKAGE_PER_K * (T_j - T_REF_C)`` per card (a few per cent: cold
    plate runs cooler than 65 degC, air and warm-water halls hotter) and by the fan speed the
    hall's GPU-temperature fan curve sets.
    """
    from .cooling import cooling_kind

    c, e = scenario.compute, scenario.energy
    kind = cooling_kind(e.cooling)
    lf = 0.0 if kind == "air" else float(e.liquid_fraction)
    # only a fully immersed hall is fanless; "cold-plate+immersion" keeps fans for its air
    # share, as hall_from_scenario models it, so the summary and the hall agree
    immersed = e.cooling == "immersion"
    p = server_power(c.accelerator, int(c.cards_per_node), float(utilisation),
                     t_inlet_c=float(e.air_supply_temperature.to("degC").magnitude), liquid_fraction=lf,
                     spec=server_spec(scenario), cooling="immersion" if immersed else "air")
    return Q_(c.nodes * p["wall"] / 1e3, "kW")
