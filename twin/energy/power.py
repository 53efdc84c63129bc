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


#: Fan power at full speed over the heat the fans move at full load [W/W]. Calibrated (0.252
#: rounded to 0.25): the least-squares fit (relative errors, :func:`fit_fan_ratio`) of the maximum system power of the DGX A100 and DGX H100 datasheets
#: (cases "dgx-a100-max-power", "dgx-h100-max-power"); the DGX-1, DGX B200 and the white
#: paper's A800 server are predictions. Consistent with ServeTheHome's rule of thumb for 8-GPU
#: servers, "add another 10-20% for cooling" (ASRock Rack 4U8G-TURIN2 review, 2024), at its
#: top: an air-cooled 8-GPU chassis at 35 degC inlet runs its fans at full speed. The fitted
#: value also carries what the datasheets' "maximum" holds beyond the parts' TDPs (power
#: excursions, derating); that share is not separated here.
FAN_RATIO = 0.25


@dataclass(frozen=True)
class ServerSpec:
    """Non-accelerator power of an accelerator server at full load [W] (DC side).

    The defaults are the HGX A800 class of datasets/catalog/servers.toml (see
    :func:`class_spec`, which builds a spec from a catalog server class): CPUs, memory,
    NVSwitch, NICs and DPUs, drives, PCIe switches and the rest of the board; ``fan_max`` is
    :data:`FAN_RATIO` of the heat at full load; ``psu_efficiency`` 0.94 (80 PLUS Platinum at
    50-100 % load).
    """

    cpu: float = 540.0
    memory: float = 320.0
    nvswitch: float = 420.0
    nics: float = 200.0
    storage: float = 96.0
    pcie_misc: float = 210.0
    fan_max: float = 1246.5
    psu_efficiency: float = 0.94
    other_idle_fraction: float = 0.4  # non-accelerator idle share (CPUs idle at ~40 %, estimate)
    t_exhaust_max: float = 47.0  # air exhaust limit [degC] that sets fan speed (estimate)
    dt_air_min: float = 12.0  # air dT at full load and 35 degC inlet (ASHRAE A2 max inlet)
    name: str = "hgx-a800"

    @property
    def other(self) -> float:
        return self.cpu + self.memory + self.nvswitch + self.nics + self.storage + self.pcie_misc


def fit_fan_ratio(cases) -> float:
    """Least-squares :data:`FAN_RATIO` on published maximum powers.

    Parameters
    ----------
    cases : sequence of (str, float)
        (server class, published maximum wall power [W]).

    Returns
    -------
    float
        k minimising sum((H_i (1 + k) / (eta_i P_i) - 1)^2), H_i the class's heat at full
        load (cards x TDP + other parts), eta_i its PSU efficiency:
        1 + k = sum(r_i) / sum(r_i^2), r_i = H_i / (eta_i P_i).
    """
    rs = []
    for cls, p_max in cases:
        spec = class_spec(cls)
        e = class_entry(cls)
        heat = int(e["cards"]) * accelerator_tdp(str(e["accelerator"])) + spec.other
        if not p_max > 0:
            raise InputError("max_power", p_max, "a positive published maximum power [W]")
        rs.append(heat / (spec.psu_efficiency * p_max))
    if not rs:
        raise InputError("cases", cases, "at least one (server class, maximum power) pair")
    return sum(rs) / sum(r * r for r in rs) - 1.0


def _w(entry, key, default=0.0) -> float:
    v = entry.get(key, None)
    if v is None:
        return float(default)
    return float(v.to("W").magnitude) if hasattr(v, "to") else float(v)


def server_classes() -> list[str]:
    """Names of the server classes of datasets/catalog/servers.toml."""
    return list(catalog.names("servers"))


def default_server_class(accelerator: str, topology: str | None = None) -> str:
    """The server class a catalog accelerator ships in by default.

    Parameters
    ----------
    accelerator : str
        Catalog accelerator name.
    topology : str, optional
        compute.topology; a ``"pcie"`` topology picks the PCIe server class.

    Returns
    -------
    str
        A name of :func:`server_classes`: the class whose ``accelerators`` list holds the
        accelerator, else by form factor (``sxm`` -> ``hgx-a800``, ``oam`` -> ``oam-mi300x``,
        ``pcie`` -> ``pcie-8gpu``).
    """
    acc = catalog.accelerator(accelerator)
    if topology == "pcie":
        return "pcie-8gpu"
    for name in server_classes():
        if accelerator in list(catalog.get("servers", name).get("accelerators", [])):
            return name
    form = str(acc.get("form_factor", "sxm"))
    return {"oam": "oam-mi300x", "pcie": "pcie-8gpu"}.get(form, "hgx-a800")


def class_spec(server_class: str, accelerator: str | None = None, cards: int | None = None) -> ServerSpec:
    """The :class:`ServerSpec` of a catalog server class.

    Parameters
    ----------
    server_class : str
        Name in datasets/catalog/servers.toml (see :func:`server_classes`).
    accelerator : str, optional
        Accelerator in the chassis (default the class's own); sets the fans' heat.
    cards : int, optional
        Accelerators per server (default the class's).

    Returns
    -------
    ServerSpec
        cpu = cpus x cpu_tdp; memory = dimms x dimm_power; nvswitch = nvswitches x
        nvswitch_power; nics = nics x nic_power + dpus x dpu_power; storage = drives x
        drive_power; pcie_misc = pcie_switches x pcie_switch_power + misc [W];
        fan_max = :data:`FAN_RATIO` (cards TDP + all of the above).

    Notes
    -----
    P_max,wall = (n TDP + P_other) (1 + FAN_RATIO) / eta_PSU at full load and 35 degC inlet.

    References
    ----------
    Part counts from the vendors' datasheets, part powers as datasets/catalog/servers.toml
    cites or labels as estimates.
    """
    from ..errors import CatalogError

    try:
        e = catalog.get("servers", server_class)
    except CatalogError as exc:
        raise InputError("compute.server_class", server_class, f"one of {', '.join(server_classes())} or 'auto'",
                         str(exc)) from None
    if int(e["cards"]) < 1 or not 0.5 < float(e.get("psu_efficiency", 0.94)) <= 1.0:
        raise InputError(f"servers.{server_class}", dict(e), "cards >= 1 and a PSU efficiency in (0.5, 1]")
    acc = accelerator or str(e["accelerator"])
    n = int(e["cards"]) if cards is None else int(cards)
    cpu = int(e.get("cpus", 0)) * _w(e, "cpu_tdp")
    mem = int(e.get("dimms", 0)) * _w(e, "dimm_power")
    nvs = int(e.get("nvswitches", 0)) * _w(e, "nvswitch_power")
    nics = int(e.get("nics", 0)) * _w(e, "nic_power") + int(e.get("dpus", 0)) * _w(e, "dpu_power")
    sto = int(e.get("drives", 0)) * _w(e, "drive_power")
    misc = int(e.get("pcie_switches", 0)) * _w(e, "pcie_switch_power") + _w(e, "misc")
    heat = n * accelerator_tdp(acc) + cpu + mem + nvs + nics + sto + misc
    return ServerSpec(cpu=cpu, memory=mem, nvswitch=nvs, nics=nics, storage=sto, pcie_misc=misc,
                      fan_max=FAN_RATIO * heat, psu_efficiency=float(e.get("psu_efficiency", 0.94)),
                      name=server_class)


def accelerator_tdp(name: str) -> float:
    """TDP [W] of catalog accelerator ``name``."""
    return float(catalog.accelerator(name).tdp.to("W").magnitude)


#: The HGX A800 class of the white paper's cluster era (datasets/catalog/servers.toml).
DEFAULT_SERVER = class_spec("hgx-a800")


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
                 spec: ServerSpec | None = None, cooling: str = "air", server_class: str | None = None) -> dict:
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
    spec : ServerSpec, optional
        Non-accelerator parts (default: :func:`class_spec` of ``server_class``).
    cooling : str
        ``"immersion"`` (no fans) or anything else (fans).
    server_class : str, optional
        Catalog server class (default :func:`default_server_class` of the accelerator); used
        only when ``spec`` is not given.

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
    if spec is None:
        spec = class_spec(server_class or default_server_class(accelerator), accelerator, int(cards))
    elif not isinstance(spec, ServerSpec):
        raise InputError("spec", type(spec).__name__, "a twin.energy.power.ServerSpec")
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


def server_power_q(accelerator=None, cards=None, utilisation=1.0, t_inlet="35 degC", server_class=None) -> Q_:
    """Public form of :func:`server_power`: wall power [kW] of one air-cooled server.

    Parameters
    ----------
    accelerator : str, optional
        Catalog accelerator name (default: the server class's; A800-SXM4-80GB when neither is
        given).
    cards : int, optional
        Accelerators per server (default the class's, 8).
    utilisation : float
        Accelerator utilisation 0..1.
    t_inlet : Quantity or str
        Server inlet air temperature [degC].
    server_class : str, optional
        Catalog server class (datasets/catalog/servers.toml); default by accelerator
        (:func:`default_server_class`).

    Returns
    -------
    Quantity
        Wall power [kW]; at ``utilisation = 1`` and 35 degC inlet (fans at full speed) the
        server's maximum power.

    Notes
    -----
    P_wall = (n P_acc + P_other + P_fans) / eta_PSU (:func:`server_power`), parts from
    :func:`class_spec`.

    References
    ----------
    NVIDIA DGX-1, DGX A100, DGX H100, DGX B200 datasheets (maximum system power);
    datasets/catalog/servers.toml.
    """
    t_in = magnitude(t_inlet, "degC", "t_inlet")
    if server_class is not None:
        cls = str(server_class)
        entry_acc = str(class_entry(cls)["accelerator"])
        accelerator = accelerator or entry_acc
        if cards is None:
            cards = int(class_entry(cls)["cards"])
    else:
        accelerator = accelerator or "A800-SXM4-80GB"
        cls = default_server_class(accelerator)
        if cards is None:
            cards = 8
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
    return Q_(server_power(accelerator, n, u, t_inlet_c=t_in, server_class=cls)["wall"] / 1e3, "kW")


def class_entry(server_class: str):
    """The catalog entry of a server class; InputError naming compute.server_class if unknown."""
    from ..errors import CatalogError

    try:
        return catalog.get("servers", str(server_class))
    except CatalogError as exc:
        raise InputError("compute.server_class", server_class, f"one of {', '.join(server_classes())} or 'auto'",
                         str(exc)) from None


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
        Uses compute.server_class (``"auto"``: :func:`default_server_class` of
        compute.accelerator and compute.topology), compute.accelerator, cards_per_node,
        cpus_per_node, cpu_tdp and topology.

    Returns
    -------
    ServerSpec
        :func:`class_spec` of the class with the scenario's accelerator and cards; the CPUs are
        the scenario's (cpus_per_node x cpu_tdp [W]); no NVSwitches in a PCIe server. The fans'
        full-speed power follows the heat (:data:`FAN_RATIO`).
    """
    import dataclasses

    c = scenario.compute
    cls = str(getattr(c, "server_class", "auto") or "auto")
    if cls == "auto":
        cls = default_server_class(c.accelerator, c.topology)
    spec = class_spec(cls, c.accelerator, int(c.cards_per_node))
    cpu = float(c.cpus_per_node * c.cpu_tdp.to("W").magnitude)
    nvs = 0.0 if c.topology == "pcie" else spec.nvswitch
    heat = spec.fan_max / FAN_RATIO - spec.cpu - spec.nvswitch + cpu + nvs
    return dataclasses.replace(spec, cpu=cpu, nvswitch=nvs, fan_max=FAN_RATIO * heat)


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
