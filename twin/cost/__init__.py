"""Cost and carbon of a computing centre per outcome (beyond the white paper: its chapters argue
many choices on cost but give no cost model).

The cost domain reads the other domains' results from the twin's state tree (never their
models): IT and facility power, PUE, WUE and floor area from ``/energy/results``, switch counts
and links from ``/fabric/results``, step time, MFU and goodput from ``/training/results``, and,
where those domains have landed, storage power (``/storage/results``), the GPU allocation rate
(``/platform/results``) and inference throughput (``/compute/results``). Prices are data
(``datasets/prices/<name>.toml``, each with a year and a source or an ``estimate`` label), sites
are ``datasets/catalog/regions.toml`` (electricity price, grid emission factor, renewable share).

Public functions
----------------
load_prices(name)                  the price table, quantities with units, every row sourced
region(name)                       a site of datasets/catalog/regions.toml
electricity_price(scenario)        the price the scenario pays [CNY/kWh]
annualised(capex, years)           straight-line depreciation [currency/year]
training_emissions(...)            kg CO2e of a training run from GPU-hours, power, PUE, grid
estimate(scenario)                 a throw-away Twin run of every domain cost needs, /cost/results
evaluate(scenario, state)          the domain contract: /cost/results from the tree

References
----------
.. [1] MEE and NBS, Announcement on the 2021 electricity CO2 emission factors (2024-04-12).
.. [2] Luccioni, Viguier, Ligozat, "Estimating the carbon footprint of BLOOM, a 176B parameter
   language model", JMLR 24 (2023).
.. [3] Patterson et al., "Carbon emissions and large neural network training", arXiv:2104.10350.
.. [4] Turner & Townsend, Data Centre Cost Index 2023.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import xarray as xr

from .. import catalog
from ..errors import InputError, TwinError, unknown_name
from ..paths import datasets_dir, load_toml, read_headlines
from ..scenario import load_scenario
from ..tree import has_results, results, value
from ..units import Q_, as_quantity, format_unit, magnitude

#: Domains whose results cost reads (all of them: cost prices the whole twin).
NEEDS = ("fabric", "compute", "training", "platform", "storage", "energy")

#: Headline figures (scalar results) for compare and the app: (variable, label, unit), as
#: datasets/tables/headlines.toml declares them.
HEADLINES = read_headlines("cost")

HOURS_PER_YEAR = 8760.0

#: Components of capital cost and the scenario field giving their depreciation period.
COMPONENTS = ("accelerators", "servers", "nics", "switches", "optics", "storage", "power_chain", "cooling", "building")
_DEPRECIATION = {"accelerators": "it_depreciation", "servers": "it_depreciation", "nics": "it_depreciation",
                 "switches": "it_depreciation", "optics": "it_depreciation", "storage": "it_depreciation",
                 "power_chain": "facility_depreciation", "cooling": "facility_depreciation",
                 "building": "building_depreciation"}
OPEX_ITEMS = ("electricity", "water", "maintenance")


# --- data ---------------------------------------------------------------------------------------

def prices_names() -> list[str]:
    """Names of the price files in datasets/prices (file stems)."""
    return sorted(p.stem for p in (datasets_dir() / "prices").glob("*.toml"))


@functools.lru_cache(maxsize=16)
def load_prices(name: str = "default-2024", field: str = "cost.prices") -> dict:
    """The price table ``datasets/prices/<name>.toml`` with every price as a pint Quantity.

    Parameters
    ----------
    name : str
        File stem in datasets/prices.
    field : str
        Field named in the error when ``name`` is unknown.

    Returns
    -------
    dict
        Sections (accelerators, server, nics, optics, switches, storage, facility, operations)
        of rows ``{"price" or "value": Quantity | float, "source": str}``.

    Raises
    ------
    InputError
        Unknown file (with the closest names), a row without ``source``, a negative price, or a
        price that is not money (per unit).
    """
    names = prices_names()
    if name not in names:
        raise unknown_name(field, name, names, "price file (datasets/prices)")
    raw = load_toml(datasets_dir() / "prices" / f"{name}.toml")
    out: dict = {"year": raw.get("year"), "name": name}
    for sec, rows in raw.items():
        if not isinstance(rows, dict):
            continue
        out[sec] = _rows(name, sec, rows)
    return out


def _rows(name, sec, rows):
    out = {}
    for key, row in rows.items():
        path = f"prices.{name}.{sec}.{key}"
        if isinstance(row, dict) and "source" not in row and all(isinstance(v, dict) for v in row.values()):
            out[key] = _rows(name, f"{sec}.{key}", row)
            continue
        if not isinstance(row, dict) or "source" not in row:
            raise InputError(path, row, "a table with a price (or value) and a source", "has no source")
        r = dict(row)
        for k in ("price", "value"):
            if k in r and isinstance(r[k], str):
                q = Q_(r[k])
                if k == "price" and "[currency]" not in str(q.dimensionality):
                    raise InputError(f"{path}.price", r[k], "an amount of money, e.g. '2200 USD' or '180 USD/TB'", "is not money")
                if np.any(np.asarray(q.magnitude) < 0):
                    raise InputError(f"{path}.{k}", r[k], "a price >= 0", "is negative")
                r[k] = q
        out[key] = r
    return out


def region(name: str, field: str = "cost.region"):
    """A site of datasets/catalog/regions.toml (name, electricity_price, grid_emission_factor,
    renewable_share, source); an unknown name is an error with the closest names."""
    return catalog.get("regions", name, field)


def _section(sc, name):
    try:
        return getattr(sc, name)
    except AttributeError:
        return None


def _field(sc, name, default):
    sec = _section(sc, "cost")
    if sec is None:
        return default
    try:
        return getattr(sec, name)
    except AttributeError:
        return default


def electricity_price(scenario) -> "Q_":
    """The electricity price the scenario pays [CNY/kWh]: ``cost.electricity_price`` when it is
    set (> 0), else the region's published or estimated price.

    Raises
    ------
    InputError
        A negative price, a price per the wrong thing (``"0.45 CNY/kg"``), an unknown region.
    """
    sc = load_scenario(scenario)
    own = _field(sc, "electricity_price", Q_(0.0, "CNY/kWh"))
    q = as_quantity(own, "CNY/kWh", "cost.electricity_price")
    if q.magnitude < 0:
        raise InputError("cost.electricity_price", f"{own}", "a price >= 0 (0 = the region's price)", "is negative")
    if q.magnitude > 0:
        return q
    reg = region(str(_field(sc, "region", "china-national")))
    return as_quantity(reg.electricity_price, "CNY/kWh", f"regions.{reg.name}.electricity_price")


def check(scenario) -> None:
    """Check the cost inputs a scenario's schema cannot: the price file exists and reads, the
    electricity price is a price per energy >= 0, the region is known. Called by sweeps for
    every point before any point runs; raises InputError naming the field."""
    sc = load_scenario(scenario)
    load_prices(str(_field(sc, "prices", "default-2024")))
    electricity_price(sc)


def annualised(capex, years):
    """Straight-line depreciation: capex / years [currency/year].

    Parameters
    ----------
    capex : pint.Quantity
        Purchase cost [USD or CNY].
    years : pint.Quantity
        Depreciation period [year], > 0.

    Notes
    -----
    .. math:: C_{year} = C / T_{dep}

    No interest (cost of capital) is charged; a user who wants it sets shorter periods.
    """
    y = magnitude(years, "year", "years")
    if not y > 0:
        raise InputError("years", years, "a depreciation period > 0 years", "is not positive")
    return capex / Q_(y, "year")


def _by_rate(table: dict, rate_gbps: float, what: str):
    """The row of a table keyed by line rate [Gbit/s]: the smallest rate >= ``rate_gbps``."""
    rates = sorted(float(k) for k in table)
    for r in rates:
        if r >= rate_gbps - 1e-9:
            return table[f"{r:g}"]["price"]
    raise InputError(what, f"{rate_gbps:g} Gbit/s", f"a line rate <= {rates[-1]:g} Gbit/s (the price file's largest)",
                     "has no price")


def training_emissions(gpu_hours, power_per_gpu, pue, grid_emission_factor, *, embodied=None):
    """CO2e of a training run from its accelerator-hours.

    Parameters
    ----------
    gpu_hours : float or pint.Quantity
        Accelerator-hours of the run [h].
    power_per_gpu : pint.Quantity
        Mean electrical power per accelerator, including its share of the server [W].
    pue : float
        Power usage effectiveness of the facility [-], >= 1.
    grid_emission_factor : pint.Quantity
        Emission factor of the electricity [kg/kWh].
    embodied : pint.Quantity, optional
        Embodied carbon charged to the run [kg].

    Returns
    -------
    pint.Quantity
        Emissions [t] (CO2 equivalent).

    Notes
    -----
    .. math:: m = N_{h} \\, P \\, \\mathrm{PUE} \\, f_{grid} + m_{emb}

    the method of Patterson et al. (2021) and Luccioni et al. (2023) (dynamic power only when
    ``embodied`` is None).
    """
    h = magnitude(gpu_hours, "h", "gpu_hours", allow_bare=True)
    p = magnitude(power_per_gpu, "kW", "power_per_gpu")
    f = magnitude(grid_emission_factor, "kg/kWh", "grid_emission_factor")
    if not (math.isfinite(pue) and pue >= 1.0):
        raise InputError("pue", pue, "a PUE >= 1")
    for nm, v in (("gpu_hours", h), ("power_per_gpu", p), ("grid_emission_factor", f)):
        if v < 0:
            raise InputError(nm, v, "a value >= 0", "is negative")
    kg = h * p * pue * f
    if embodied is not None:
        kg += magnitude(embodied, "kg", "embodied")
    return Q_(kg / 1000.0, "t")


# --- the domain -----------------------------------------------------------------------------------

def _cooling_mix(cooling: str, liquid_fraction: float) -> dict:
    """Share of IT heat per cooling plant type for the scenario's energy.cooling."""
    lf = float(liquid_fraction)
    return {"air": {"air": 1.0}, "air+cold-plate": {"air": 1 - lf, "cold-plate": lf},
            "cold-plate": {"air": 1 - lf, "cold-plate": lf} if lf < 1 else {"cold-plate": 1.0},
            "cold-plate+immersion": {"cold-plate": 1 - lf, "immersion": lf} if lf < 1 else {"immersion": 1.0},
            "immersion": {"immersion": 1.0}}.get(cooling, {"air": 1.0})


_FLOOR_TYPE = {"air": "air", "air+cold-plate": "cold-plate", "cold-plate": "cold-plate",
               "cold-plate+immersion": "immersion", "immersion": "immersion"}


def evaluate(scenario, state) -> xr.Dataset:
    """Cost and carbon of the scenario from the results already in the state tree.

    Parameters
    ----------
    scenario : twin.scenario.Scenario
        Uses compute (accelerator, nodes, cards_per_node), fabric (nic_speed, nics_per_node,
        switch), storage (capacity), energy (cooling, liquid_fraction), workload
        (global_batch, sequence_length) and the cost section (region, prices, electricity_price,
        it_depreciation, facility_depreciation, building_depreciation, training_tokens).
    state : xarray.DataTree
        The twin's state with /energy, /fabric and /training results (and /storage,
        /platform, /compute results where those domains have landed).

    Returns
    -------
    xarray.Dataset
        capex, depreciation, annual_capex (dim ``component``) [USD], [year], [USD/year];
        opex (dim ``opex_item``) [USD/year]; annual_cost [USD/year]; energy_per_year [MWh];
        electricity_price [CNY/kWh]; grid_emission_factor [kg/kWh]; renewable_share;
        cost_per_gpu_hour [USD/h]; cost_per_pflop_day [USD]; cost_per_million_tokens [USD];
        cost_per_million_inference_tokens [USD] (when /compute serves them); emissions
        (dim ``emission_kind``: operational, embodied) [t/year]; carbon_per_million_tokens [kg];
        time_to_train [d], training_run_cost [USD], training_run_emissions [t] for
        ``cost.training_tokens``; carbon_per_million_inference_tokens [kg]. attrs: region, prices, missing (upstream variables not in the
        tree, replaced by the stated assumption).

    Notes
    -----
    Capex by component, each annualised straight-line over its depreciation period;
    opex = electricity (facility power x 8760 h x price) + water (WUE x IT energy x price) +
    maintenance (rate x IT capex). Delivered work: cards x 8760 h x allocation rate; PFLOP-days
    delivered = cards x peak x MFU x goodput x allocation rate; trained tokens per second =
    global_batch x sequence_length / step_time x goodput.

    .. math:: c_{GPU h} = \\frac{\\sum_k C_k / T_k + O}{N_{cards} \\, 8760 \\, a}
    """
    sc = load_scenario(scenario)
    c, fab, st, en, w = sc.compute, sc.fabric, sc.storage, sc.energy, sc.workload
    missing: list[str] = []
    prices = load_prices(str(_field(sc, "prices", "default-2024")))
    reg = region(str(_field(sc, "region", "china-national")))
    price_kwh = electricity_price(sc)
    grid = as_quantity(reg.grid_emission_factor, "kg/kWh", f"regions.{reg.name}.grid_emission_factor")
    usd = lambda q: float(Q_(q).to("USD").magnitude)  # noqa: E731

    cards = int(c.nodes) * int(c.cards_per_node)
    acc = catalog.accelerator(c.accelerator)
    acc_row = prices["accelerators"].get(acc.name)
    if acc_row is None:
        acc_row = prices["accelerators"]["default"]
        missing.append(f"price of {acc.name} (the price file's default used)")

    # --- upstream results ---------------------------------------------------------------------
    it_kw = value(state, "energy", "it_power", "kW")
    fac_kw = value(state, "energy", "facility_power", "kW")
    pue = value(state, "energy", "pue", "")
    wue = value(state, "energy", "wue", "L/kWh")
    en_ds = results(state, "energy")
    ftype = _FLOOR_TYPE.get(str(en.cooling), "air")
    area = float(en_ds["floor_area"].sel(cooling_type=ftype).values) if "cooling_type" in en_ds["floor_area"].dims \
        else float(en_ds["floor_area"].values)
    fab_ds = results(state, "fabric")
    n_switches = int(value(state, "fabric", "switch_count", ""))
    tr = results(state, "training")
    step = value(state, "training", "step_time", "s")
    mfu = value(state, "training", "mfu", "")
    # goodput (checkpoints and failures) is written by the storage domain, which owns checkpoints
    goodput = value(state, "storage", "goodput", "")
    alloc = value(state, "platform", "allocation_rate", "")  # written in percent: read as a fraction
    storage_kw = value(state, "storage", "storage_power", "kW")
    net_kw = value(state, "fabric", "network_power", "kW")
    # output tokens per second per card of the compute domain's serving model
    infer_tps = value(state, "compute", "throughput_per_card", "1/s")
    job_cards = int(value(state, "training", "cards", "")) if "cards" in tr.variables else cards

    # --- capex by component -----------------------------------------------------------------
    nic_gbps = magnitude(fab.nic_speed, "Gbit/s", "fabric.nic_speed")
    nic_ports = int(c.nodes) * int(fab.nics_per_node)
    sw = catalog.get("switches", fab.switch, "fabric.switch")
    sw_cap = float(Q_(sw.capacity).to("Tbit/s").magnitude)
    # optics: the fabric's module count where it reports one, each priced at the rate of the link
    # it sits on (mean over the fabric's physical links); else two modules per physical link
    optics = 0.0
    if "link_tier" in fab_ds.variables and "link_capacity" in fab_ds.variables:
        tiers = np.asarray(fab_ds["link_tier"].values).astype(str)
        caps = np.asarray(fab_ds["link_capacity"].values, float)  # Gbit/s
        one_way = np.isin(tiers, ("nic->leaf", "leaf->spine", "agg->core"))
        # each distinct line rate priced once (a fabric has thousands of links at a few rates)
        rates, which = np.unique(caps[one_way], return_inverse=True)
        per_rate = np.array([usd(_by_rate(prices["optics"], float(cg), "fabric.link_capacity")) for cg in rates])
        per_link = per_rate[which.reshape(-1)]
        if "optical_modules" in fab_ds.variables and per_link.size:
            optics = float(fab_ds["optical_modules"].values) * float(per_link.mean())
        else:
            optics = 2.0 * float(per_link.sum())
    else:
        missing.append("/fabric/results link_tier, link_capacity (optics not priced)")
    # storage: raw capacity per tier and its medium from /storage/results; else the scenario's
    # raw capacity, all flash
    flash_tb = usd(prices["storage"]["flash"]["price"] * Q_(1, "TB"))
    hdd_tb = usd(prices["storage"]["hdd"]["price"] * Q_(1, "TB"))
    st_res = results(state, "storage")
    caps_pb = Q_(np.asarray(st_res["capacity_raw"].values, float), st_res["capacity_raw"].attrs.get("units", "PB")).to("PB").magnitude
    media = [str(m) for m in np.asarray(st_res["media"].values).ravel()]
    storage_usd = float(sum(cp * 1000.0 * (hdd_tb if m.startswith("hdd") else flash_tb) for cp, m in zip(caps_pb, media)))
    storage_area = value(state, "storage", "floor_area", "m^2")
    design_kw = it_kw
    mix = _cooling_mix(str(en.cooling), float(en.liquid_fraction))
    cool_tab = prices["facility"]["cooling"]
    cooling_usd = sum(share * design_kw * usd(cool_tab[k]["price"] * Q_(1, "kW")) for k, share in mix.items())
    capex = {
        "accelerators": cards * usd(acc_row["price"]),
        "servers": int(c.nodes) * usd(prices["server"]["host"]["price"]),
        "nics": nic_ports * usd(_by_rate(prices["nics"], nic_gbps, "fabric.nic_speed")),
        "switches": n_switches * sw_cap * usd(prices["switches"]["per_capacity"]["price"] * Q_(1, "Tbit/s")),
        "optics": optics,
        "storage": storage_usd,
        "power_chain": design_kw * usd(prices["facility"]["power_chain"]["price"] * Q_(1, "kW")),
        "cooling": cooling_usd,
        "building": (area + storage_area) * usd(prices["facility"]["building"]["price"] * Q_(1, "m^2")),
    }
    years = {}
    for k, f in _DEPRECIATION.items():
        default = {"it_depreciation": "5 year", "facility_depreciation": "15 year", "building_depreciation": "30 year"}[f]
        y = magnitude(_field(sc, f, Q_(default)), "year", f"cost.{f}")
        if not y > 0:
            raise InputError(f"cost.{f}", y, "a depreciation period > 0 years", "is not positive")
        years[k] = y
    annual_capex = {k: capex[k] / years[k] for k in COMPONENTS}

    # --- opex ---------------------------------------------------------------------------------
    fac_kwh = fac_kw * HOURS_PER_YEAR
    it_kwh = it_kw * HOURS_PER_YEAR
    elec = fac_kwh * float(price_kwh.to("USD/kWh").magnitude)
    water_m3 = wue * it_kwh / 1000.0
    water = water_m3 * usd(prices["operations"]["water"]["price"] * Q_(1, "m^3"))
    it_capex = sum(capex[k] for k in ("accelerators", "servers", "nics", "switches", "optics", "storage"))
    maint = float(prices["operations"]["maintenance_rate"]["value"]) * it_capex
    opex = {"electricity": elec, "water": water, "maintenance": maint}
    annual = sum(annual_capex.values()) + sum(opex.values())

    # --- outcomes -----------------------------------------------------------------------------
    gpu_hours = cards * HOURS_PER_YEAR * alloc
    per_gpu_h = annual / gpu_hours
    # the card's training peak as the state's compute group holds it (one BF16/FP16 rule, core)
    comp_in = state["compute"].to_dataset()
    peak = float(Q_(float(comp_in["peak_bf16_per_card"].values), comp_in["peak_bf16_per_card"].attrs["units"]).to("PFLOP/s").magnitude)
    pflops_delivered = cards * peak * mfu * goodput * alloc
    per_pflop_day = annual / (pflops_delivered * 365.0) if pflops_delivered > 0 else float("inf")
    if "tokens_per_second" in tr.variables:
        tokens_per_s = value(state, "training", "tokens_per_second", "1/s") * goodput
    else:
        tokens_per_s = float(w.global_batch) * float(w.sequence_length) / step * goodput if step > 0 else 0.0
    job_cost_per_s = per_gpu_h * job_cards / 3600.0
    per_mtok = job_cost_per_s / tokens_per_s * 1e6 if tokens_per_s > 0 else float("inf")
    per_m_infer = per_gpu_h / (infer_tps * 3600.0) * 1e6 if infer_tps else float("nan")

    op_t = fac_kwh * float(grid.magnitude) / 1000.0
    emb_kg = int(c.nodes) * float(prices["server"]["embodied_per_server"]["value"].to("kg").magnitude) \
        + cards * float(prices["server"]["embodied_per_card"]["value"].to("kg").magnitude)
    emb_t = emb_kg / 1000.0 / years["servers"]
    carbon_per_gpu_h = (op_t + emb_t) * 1000.0 / (cards * HOURS_PER_YEAR * alloc)  # kg per GPU-hour
    carbon_per_mtok = carbon_per_gpu_h * job_cards / 3600.0 / tokens_per_s * 1e6 if tokens_per_s > 0 else float("inf")
    n_tok = float(_field(sc, "training_tokens", 300e9))
    t_train_d = n_tok / tokens_per_s / 86400.0 if tokens_per_s > 0 else float("inf")

    comp = list(COMPONENTS)
    ds = xr.Dataset(
        {
            "capex": ("component", [capex[k] for k in comp], {"units": "USD", "long_name": "purchase cost"}),
            "depreciation": ("component", [years[k] for k in comp], {"units": format_unit("year")}),
            "annual_capex": ("component", [annual_capex[k] for k in comp], {"units": format_unit("USD/year")}),
            "opex": ("opex_item", [opex[k] for k in OPEX_ITEMS], {"units": format_unit("USD/year")}),
            "annual_cost": ((), annual, {"units": format_unit("USD/year")}),
            "energy_per_year": ((), fac_kwh / 1000.0, {"units": "MWh", "long_name": "facility electricity per year"}),
            "floor_area": ((), area + storage_area, {"units": format_unit("m^2"),
                                                     "long_name": "IT white space (energy) and storage (storage) priced"}),
            "water_per_year": ((), water_m3, {"units": format_unit("m^3")}),
            "electricity_price": ((), float(price_kwh.to("CNY/kWh").magnitude), {"units": format_unit("CNY/kWh")}),
            "grid_emission_factor": ((), float(grid.magnitude), {"units": format_unit("kg/kWh")}),
            "renewable_share": ((), float(reg.renewable_share), {"units": ""}),
            "allocation_rate": ((), alloc, {"units": "", "long_name": "GPU allocation rate read from /platform/results"}),
            "cost_per_gpu_hour": ((), per_gpu_h, {"units": format_unit("USD/h")}),
            "cost_per_pflop_day": ((), per_pflop_day, {"units": "USD", "long_name": "per PFLOP-day delivered (MFU, goodput)"}),
            "cost_per_million_tokens": ((), per_mtok, {"units": "USD", "long_name": "per million trained tokens"}),
            "cost_per_million_inference_tokens": ((), per_m_infer, {"units": "USD", "long_name": "per million output "
                                                                   "tokens served (compute.serving_model); NaN when not served"}),
            "carbon_per_million_inference_tokens": ((), carbon_per_gpu_h / (infer_tps * 3600.0) * 1e6 if infer_tps else float("nan"),
                                                    {"units": "kg"}),
            "emissions": ("emission_kind", [op_t, emb_t], {"units": format_unit("t/year"), "long_name": "CO2e per year"}),
            "carbon_per_gpu_hour": ((), carbon_per_gpu_h, {"units": "kg"}),
            "carbon_per_million_tokens": ((), carbon_per_mtok, {"units": "kg", "long_name": "CO2e per million trained tokens"}),
            "time_to_train": ((), t_train_d, {"units": "d", "long_name": "days to train on cost.training_tokens"}),
            "training_run_cost": ((), per_mtok * n_tok / 1e6, {"units": "USD"}),
            "training_run_emissions": ((), carbon_per_mtok * n_tok / 1e6 / 1000.0, {"units": "t"}),
        },
        coords={"component": comp, "opex_item": list(OPEX_ITEMS), "emission_kind": ["operational", "embodied"]},
        attrs={"region": reg.name, "region_name": str(reg["name"]), "prices": prices["name"],
               "prices_year": int(prices["year"] or 0), "accelerator_price_source": acc_row["source"],
               "missing": "; ".join(missing), "pue_used": pue,
               "storage_power_kW": storage_kw, "network_power_kW": net_kw},
    )
    return ds


def _has(section, name) -> bool:
    try:
        getattr(section, name)
        return True
    except AttributeError:
        return False


def estimate(scenario, *, reuse=None) -> xr.Dataset:
    """Cost and carbon of a scenario: a throw-away :class:`twin.core.Twin` runs every domain cost
    needs, then ``/cost/results`` is returned (see :func:`evaluate`).

    Parameters
    ----------
    scenario : str, dict or Scenario
    reuse : twin.core.Twin, optional
        A twin already run on a scenario that differs from ``scenario`` at most in its ``cost``
        section: its lower domains' results (and fed-back values) are copied, so only the cost
        domain is evaluated. Ignored when any other section differs.
    """
    return rerun(scenario, reuse).state["cost/results"].to_dataset()


def rerun(scenario, reuse=None):
    """A :class:`twin.core.Twin` of ``scenario`` with the cost domain run, taking every other
    domain's results from ``reuse`` (a run twin) when only the cost section differs."""
    from ..core import Twin

    t = Twin(scenario)
    if reuse is not None:
        a, b = t.scenario.to_dict(), reuse.scenario.to_dict()
        same = all(a.get(k) == b.get(k) for k in set(a) | set(b) if k not in ("cost", "name", "description"))
        if same:
            for d in _run_order_below():
                if has_results(reuse.state, d):
                    t.state[f"{d}/results"] = reuse.state[f"{d}/results"].copy()
            if "feedback" in reuse.state.children:
                t.state["feedback"] = reuse.state["feedback"].copy()
    t.run(["cost"])
    return t


def _run_order_below():
    from ..core import run_order

    return [d for d in run_order(["cost"]) if d != "cost"]


__all__ = ["NEEDS", "HEADLINES", "COMPONENTS", "OPEX_ITEMS", "evaluate", "estimate", "load_prices", "prices_names", "region",
           "electricity_price", "annualised", "training_emissions", "rerun", "check"]
