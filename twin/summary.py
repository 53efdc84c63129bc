"""Headline figures of a scenario: the numbers an architect quotes first.

All figures are derived from the scenario and the catalog, with the formula beside each.
"""
from __future__ import annotations

from dataclasses import dataclass

import pint

from . import catalog
from .catalog import peak_rate
from .scenario import Scenario, usable_fraction
from .units import Q_

PRECISIONS = ("fp32", "tf32", "bf16", "fp8", "int8")


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: pint.Quantity | str | int | float
    formula: str


def scale_up_bandwidth(sc: Scenario) -> pint.Quantity:
    """Per-card card-to-card bandwidth, both directions [GB/s] (the P2P figure vendors quote).

    Notes
    -----
    ``B = link_bandwidth(link_family) * link_count * 2``; for PCIe cards the host link.
    """
    acc = catalog.accelerator(sc.compute.accelerator)
    fam = acc.link_family
    return (catalog.link_bandwidth(fam, bidirectional=True) * int(acc.link_count)).to("GB/s")


def bisection_bandwidth(sc: Scenario) -> pint.Quantity:
    """Scale-out bisection bandwidth [Tbit/s] of a folded-Clos fabric.

    Notes
    -----
    ``B_bis = N_nodes * nics_per_node * nic_speed / 2 / oversubscription`` (one direction):
    half of all hosts can send to the other half at full rate divided by the leaf
    oversubscription. Exact for non-blocking fat-trees (Leiserson 1985; Al-Fares et al.,
    SIGCOMM 2008); rail-optimized and dual-plane fabrics have the same bisection per plane.
    """
    f = sc.fabric
    return (sc.compute.nodes * f.nics_per_node * f.nic_speed / 2 / f.oversubscription).to("Tbit/s")


def summary(sc: Scenario) -> list[Figure]:
    """Headline figures of a scenario, in display order."""
    c, f, s, e = sc.compute, sc.fabric, sc.storage, sc.energy
    acc = catalog.accelerator(c.accelerator)
    n = sc.cards
    out = [
        Figure("era", "Era", sc.era, "white paper Fig. 2-2"),
        Figure("accelerator", "Accelerator", f"{acc.name} ({acc.form_factor.upper()})", "catalog"),
        Figure("cards", "Accelerators", n, "nodes x cards_per_node"),
        Figure("nodes", "Nodes", c.nodes, "scenario"),
    ]
    for p in PRECISIONS:
        pk = peak_rate(acc, p)
        if pk.magnitude > 0:
            label = "Peak BF16/FP16" if p == "bf16" else f"Peak {p.upper()}"
            out.append(Figure(f"peak_{p}", label, (n * pk).to("PFLOP/s"), f"cards x peak_{p} (dense)"))
    out += [
        Figure("hbm", "HBM total", (n * acc.hbm_capacity).to("TB"), "cards x HBM capacity"),
        Figure("scale_up", "Scale-up per card", scale_up_bandwidth(sc), f"{c.topology}: link bandwidth x links x 2 directions"),
        Figure("domain", "High-speed domain", f"{c.domain_size} cards ({c.topology})", "scenario"),
        Figure("nic", "Scale-out per node", (f.nics_per_node * f.nic_speed).to("Gbit/s"), f"{f.nics_per_node} x {f.nic_speed:~} {f.protocol}"),
        Figure("bisection", "Fabric bisection", bisection_bandwidth(sc), "nodes x NICs x speed / 2 / oversubscription"),
        Figure("fabric", "Fabric", f"{f.topology}, {f.load_balancing}, {f.congestion_control}", "scenario"),
        Figure("storage_raw", "Storage raw", s.capacity.to("PB"), "scenario"),
        Figure("storage_usable", "Storage usable", (s.capacity * usable_fraction(s.redundancy)).to("PB"), f"raw x usable fraction of {s.redundancy}"),
        Figure("storage_bw", "Storage bandwidth", s.bandwidth.to("GB/s"), f"{s.architecture}"),
        Figure("cooling", "Cooling", f"{e.cooling} ({e.liquid_fraction:.0%} liquid)", "scenario"),
    ]
    return out


def summary_dict(sc: Scenario) -> dict[str, str]:
    """Summary as label -> formatted string (CLI and app)."""
    return {fig.label: format_value(fig.value) for fig in summary(sc)}


def format_value(v) -> str:
    if isinstance(v, pint.Quantity):
        m = float(v.magnitude)
        digits = 4 if abs(m) < 10 else 1 if abs(m) < 1000 else 0
        txt = f"{m:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{m:,.0f}"
        return f"{txt} {v.units:~P}".replace("°C", "degC")
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)
