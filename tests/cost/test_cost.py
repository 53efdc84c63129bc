"""Cost and carbon domain: identities between its outputs and its inputs from the tree, region and
price effects, bad input, and the training-emissions formula (hypothesis)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from twin import catalog
from twin.cost import (COMPONENTS, HEADLINES, NEEDS, annualised, electricity_price, load_prices, prices_names,
                       training_emissions)
from twin.errors import InputError, ScenarioError
from twin.scenario import load_scenario
from twin.sweep import run_point
from twin.tree import results, value
from twin.units import Q_

BASE = "cluster-2023"


@pytest.fixture(scope="module")
def base_twin():
    from twin.core import Twin

    t = Twin(BASE)
    t.run(["cost"])
    return t


def _with(**cost):
    d = load_scenario(BASE).to_dict()
    d["cost"] = {**d.get("cost", {}), **cost}
    return d


def test_contract_and_tree(base_twin):
    assert set(("energy", "fabric", "training")) <= set(NEEDS)
    ds = results(base_twin.state, "cost")
    for name, _, _ in HEADLINES:
        assert name in ds.variables and ds[name].attrs["units"] is not None
    assert list(ds["component"].values) == list(COMPONENTS)
    assert np.all(ds["capex"].values > 0)


def test_annual_cost_is_depreciated_capex_plus_opex(base_twin):
    ds = results(base_twin.state, "cost")
    annual = float((ds["capex"] / ds["depreciation"]).sum() + ds["opex"].sum())
    assert math.isclose(annual, float(ds["annual_cost"]), rel_tol=1e-9)
    cards = load_scenario(BASE).cards
    per_h = float(ds["annual_cost"]) / (cards * 8760 * float(ds["allocation_rate"]))
    assert math.isclose(per_h, float(ds["cost_per_gpu_hour"]), rel_tol=1e-9)


def test_electricity_opex_reads_energy_from_the_tree(base_twin):
    ds = results(base_twin.state, "cost")
    fac_kw = value(base_twin.state, "energy", "facility_power", "kW")
    price = Q_(float(ds["electricity_price"]), "CNY/kWh").to("USD/kWh").magnitude
    assert math.isclose(float(ds["opex"].sel(opex_item="electricity")), fac_kw * 8760 * price, rel_tol=1e-9)
    grid = float(ds["grid_emission_factor"])
    assert math.isclose(float(ds["emissions"].sel(emission_kind="operational")), fac_kw * 8760 * grid / 1000, rel_tol=1e-9)


def test_region_moves_price_and_carbon_only_through_cost():
    """A region change re-evaluates only the cost domain (reuse) and scales electricity and
    operational carbon by the regions' published price and factor."""
    a = run_point(_with(region="ningxia"), [("cost", "annual_cost")], ["cost"])
    b = run_point(_with(region="guangdong"), [("cost", "annual_cost")], ["cost"])
    assert b["_evaluated"] == ["cost"]
    ra, rb = (catalog.get("regions", n) for n in ("ningxia", "guangdong"))
    assert ra.electricity_price < rb.electricity_price
    assert a["cost.annual_cost"][0] < b["cost.annual_cost"][0]  # Ningxia's tariff is lower


def test_price_per_mwh_equals_per_kwh_and_bad_prices():
    a = electricity_price(load_scenario(_with(electricity_price="450 CNY/MWh")))
    b = electricity_price(load_scenario(_with(electricity_price="0.45 CNY/kWh")))
    assert math.isclose(a.to("CNY/kWh").magnitude, b.magnitude)
    usd = electricity_price(load_scenario(_with(electricity_price="0.08 USD/kWh")))
    assert 0.5 < usd.to("CNY/kWh").magnitude < 0.65
    region_price = electricity_price(load_scenario(_with(region="gansu")))
    assert region_price == catalog.get("regions", "gansu").electricity_price.to("CNY/kWh")
    with pytest.raises(ScenarioError, match="cost.electricity_price"):
        load_scenario(_with(electricity_price="-0.1 CNY/kWh"))
    with pytest.raises(ScenarioError, match="cost.electricity_price.*price per energy"):
        load_scenario(_with(electricity_price="0.45 CNY/kg"))
    with pytest.raises(ScenarioError, match="cost.electricity_price"):
        load_scenario(_with(electricity_price=0.45))  # no unit
    with pytest.raises(ScenarioError, match="cost.region.*did you mean"):
        load_scenario(_with(region="ningxai"))
    with pytest.raises(ScenarioError, match="cost.it_depreciation"):
        load_scenario(_with(it_depreciation="5 kg"))


def test_unknown_price_file_names_the_field():
    with pytest.raises(InputError, match="cost.prices"):
        load_prices("no-such-prices")
    assert "default-2024" in prices_names()


def test_every_price_row_has_a_source_and_money():
    p = load_prices("default-2024")
    for sec in ("accelerators", "nics", "optics", "switches", "storage", "server", "operations"):
        for key, row in p[sec].items():
            assert row["source"], (sec, key)
            if "price" in row:
                assert "[currency]" in str(row["price"].dimensionality)
    # every accelerator of the catalog is priced, or the default row (reported) stands in
    assert "default" in p["accelerators"]


def test_regions_have_exactly_the_agreed_fields():
    names = catalog.names("regions")
    for hub in ("inner-mongolia", "ningxia", "gansu", "guizhou", "chengdu-chongqing",
                "beijing-tianjin-hebei", "yangtze-river-delta", "guangdong"):
        assert hub in names
    for n in names:
        r = catalog.get("regions", n)
        assert set(r) == {"name", "electricity_price", "grid_emission_factor", "renewable_share", "source"}
        assert r.electricity_price.to("CNY/kWh").magnitude > 0
        assert 0 < r.grid_emission_factor.to("kg/kWh").magnitude < 1.2
        assert 0 <= r.renewable_share <= 1


def test_annualised_and_bad_periods():
    assert annualised(Q_(100.0, "USD"), Q_(4, "year")).to("USD/year").magnitude == pytest.approx(25.0)
    with pytest.raises(InputError, match="years"):
        annualised(Q_(100.0, "USD"), Q_(0, "year"))
    with pytest.raises(InputError):
        annualised(Q_(100.0, "USD"), Q_(4, "kg"))


_reached = {"n": 0, "total": 0}


@settings(max_examples=60, deadline=None)
@given(h=st.floats(1.0, 1e8), p=st.floats(10.0, 2000.0), pue=st.floats(1.0, 3.0), f=st.floats(0.0, 1.2),
       k=st.floats(1.1, 10.0))
def test_training_emissions_linear_and_monotone(h, p, pue, f, k):
    _reached["total"] += 1
    m = training_emissions(h, Q_(p, "W"), pue, Q_(f, "kg/kWh")).to("t").magnitude
    m2 = training_emissions(h * k, Q_(p, "W"), pue, Q_(f, "kg/kWh")).to("t").magnitude
    m3 = training_emissions(h, Q_(p, "W"), pue * k if pue * k <= 30 else pue, Q_(f, "kg/kWh")).to("t").magnitude
    assert m == pytest.approx(h * p / 1000 * pue * f / 1000, rel=1e-9)
    assert m2 == pytest.approx(k * m, rel=1e-9)
    assert m3 >= m
    _reached["n"] += 1


def test_property_examples_reached_assertions():
    assert _reached["total"] >= 20
    assert _reached["n"] / _reached["total"] >= 0.8


@pytest.mark.parametrize("bad", [dict(pue=0.9), dict(power_per_gpu=Q_(-1, "W")), dict(grid_emission_factor=Q_(1, "kg"))])
def test_training_emissions_bad_input(bad):
    kw = dict(gpu_hours=10.0, power_per_gpu=Q_(400, "W"), pue=1.2, grid_emission_factor=Q_(0.5, "kg/kWh"))
    kw.update(bad)
    with pytest.raises(InputError):
        training_emissions(**kw)


@pytest.mark.parametrize("accelerator", ["V100-SXM2-32GB", "A100-SXM4-80GB", "H100-SXM5-80GB"])
def test_emission_server_carries_its_class_hosts(accelerator):
    """The throw-away server of cost.training-emissions (power_basis 'server') has the host CPUs of
    the accelerator's own server class (catalog), not the cluster-2023 preset's A800 hosts."""
    from twin.cost._register import _one_server_scenario
    from twin.energy.power import class_entry, default_server_class

    sc = _one_server_scenario(accelerator, 8)
    e = class_entry(default_server_class(accelerator, sc.compute.topology))
    assert sc.compute.cpus_per_node == int(e["cpus"])
    assert sc.compute.cpu_tdp.to("W").magnitude == pytest.approx(e["cpu_tdp"].to("W").magnitude)
