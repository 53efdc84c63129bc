"""Electrical power: accelerator, server, rack and the power chain.

Model constants below are engineering estimates unless a source is given; each says which.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from ..units import Q_, check_range, magnitude
from . import _catalog

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
    return float(_catalog.accelerator(name).tdp.to("W").magnitude)


def accelerator_power(tdp_w: float, utilisation: float, t_chip_c: float, clock: float = 1.0) -> float:
    """Accelerator power [W] at a utilisation, junction temperature and clock factor.

    Notes
    -----
    P = P_s (1 + k_leak (T - T_ref)) + (TDP - P_s) u f^3, P_s = IDLE_FRACTION * TDP,
    so P = TDP at u = 1, f = 1, T = T_ref.
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

    Fans follow the affinity law P_fan = P_fan_max n^3 with the speed n from
    :func:`fan_fraction`; a liquid-cooled server's fans carry only the air share of its heat and
    an immersed server has none. ``t_chip_c`` defaults to the TDP reference temperature.
    """
    check_range(utilisation, "utilisation", lo=0.0, hi=1.0)
    check_range(liquid_fraction, "energy.liquid_fraction", lo=0.0, hi=1.0)
    if cards < 1:
        raise InputError("compute.cards_per_node", cards, "a positive integer")
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
    return Q_(server_power(accelerator, int(cards), float(utilisation), t_inlet_c=t_in)["wall"] / 1e3, "kW")


def ups_efficiency(load_fraction: float, eco: bool = False) -> float:
    """Power-chain (UPS or HVDC rectifier, transformer, PDU) efficiency at a load fraction.

    Notes
    -----
    Loss = a + b x + c x^2 of rated power (no-load, proportional and resistive losses);
    a = 0.010, b = 0.020, c = 0.010 (double conversion: 93 % at 20 % load, 96 % at full load,
    in line with vendor curves of modern UPS, estimate); eco mode / HVDC: a = 0.004, b = 0.010,
    c = 0.006 (about 98 %).
    """
    x = min(max(load_fraction, 1e-3), 1.2)
    a, b, c = (0.004, 0.010, 0.006) if eco else (0.010, 0.020, 0.010)
    return x / (x + a + b * x + c * x * x)


def server_spec(scenario) -> ServerSpec:
    """The server parts of a scenario: its CPUs (compute.cpus_per_node x compute.cpu_tdp), no
    NVSwitches in a PCIe server, the rest as :data:`DEFAULT_SERVER` (HGX-class estimates with
    their sources above)."""
    import dataclasses

    c = scenario.compute
    return dataclasses.replace(DEFAULT_SERVER, cpu=float(c.cpus_per_node * c.cpu_tdp.to("W").magnitude),
                               nvswitch=0.0 if c.topology == "pcie" else DEFAULT_SERVER.nvswitch)


def it_power(scenario, utilisation: float = 1.0) -> Q_:
    """Wall power of all servers of a scenario [kW] (network and storage excluded).

    Each server as :func:`server_power` with the scenario's accelerator, cards, CPUs, cooling,
    liquid fraction and inlet air temperature; at ``utilisation = 1`` this is the full-load
    figure the summary quotes (white paper ch. 7: an 8 x A800 server about 6.5 kW).

    Notes
    -----
    ``P_IT = nodes * (P_acc + P_other + P_fans) / eta_PSU``
    """
    from .thermal import cooling_kind

    c, e = scenario.compute, scenario.energy
    kind = cooling_kind(e.cooling)
    lf = 0.0 if kind == "air" else float(e.liquid_fraction)
    p = server_power(c.accelerator, int(c.cards_per_node), float(utilisation),
                     t_inlet_c=float(e.air_supply_temperature.to("degC").magnitude), liquid_fraction=lf,
                     spec=server_spec(scenario), cooling="immersion" if kind == "immersion" else "air")
    return Q_(c.nodes * p["wall"] / 1e3, "kW")
