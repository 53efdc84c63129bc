"""EnergyPlus Chiller:Electric:EIR curve sets from the catalog: reference COP and capacity,
the temperature sign, part load, IPLV, the facility plant's chiller choice, bad input."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin import catalog
from twin.energy import facility
from twin.errors import InputError

NAMES = facility.chiller_names()
VSD = [n for n in NAMES if "vsd" in n]


def test_catalog_has_named_curve_sets_of_three_vendors():
    vendors = {str(catalog.get("chillers", n)["vendor"]) for n in NAMES}
    assert {"York", "Carrier", "Trane"} <= vendors
    for n in NAMES:
        c = facility.chiller_curves(n)
        assert len(c.cap) == 6 and len(c.eir) == 6 and len(c.plr) == 3
        assert c.x_range[0] < c.x_range[1] and c.y_range[0] < c.y_range[1]
        assert "Chillers" in c.source or "EnergyPlus" in c.source


@pytest.mark.parametrize("name", NAMES)
def test_reference_point_reproduces_the_published_cop_and_capacity(name):
    """The curves are normalised at the reference temperatures (to the fit's residual)."""
    c = facility.chiller_curves(name)
    r = facility.chiller_performance(name, f"{c.t_chw_ref} degC", f"{c.t_cond_ref} degC", 1.0)
    assert float(r["cop"]) == pytest.approx(float(catalog.get("chillers", name)["cop"]), rel=0.02)
    assert r["capacity"].attrs["units"] == "W"
    assert float(r["capacity"]) == pytest.approx(catalog.get("chillers", name)["capacity"].to("W").magnitude, rel=0.03)
    assert c.eirfplr(1.0) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("name", NAMES)
def test_temperature_sign_capacity_falls_and_cop_falls_with_condenser(name):
    """Capacity falls and EIR rises as the condenser water gets warmer, at the rating point
    (the derivative) and from the rating to the hottest condenser water of the fit."""
    c = facility.chiller_curves(name)
    x, y = c.t_chw_ref, c.t_cond_ref
    a, b, cc, d, e, f = c.cap
    assert d + 2 * e * y + f * x < 0, "d CAPFT / d T_cond must be negative at rating (sign check)"
    a, b, cc, d, e, f = c.eir
    assert d + 2 * e * y + f * x > 0, "d EIRFT / d T_cond must be positive at rating"
    hot = c.y_range[1]
    if hot > y + 0.5:
        assert c.capft(x, hot) < c.capft(x, y)
        cool_cop = float(facility.chiller_performance(name, f"{x} degC", f"{y} degC", 0.5)["cop"])
        hot_cop = float(facility.chiller_performance(name, f"{x} degC", f"{hot} degC", 0.5)["cop"])
        assert hot_cop < cool_cop


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(NAMES), p=st.floats(0.05, 0.95), dp=st.floats(0.02, 0.1))
def test_power_rises_with_load(name, p, dp):
    c = facility.chiller_curves(name)
    x, y = f"{c.t_chw_ref} degC", f"{c.t_cond_ref} degC"
    lo = facility.chiller_performance(name, x, y, p)
    hi = facility.chiller_performance(name, x, y, min(p + dp, 1.0))
    assert float(hi["power"]) > float(lo["power"]) > 0
    assert float(lo["cop"]) == pytest.approx(float(lo["load"] / lo["power"]))


@pytest.mark.parametrize("name", VSD)
def test_vsd_chillers_are_better_at_part_load(name):
    """IPLV (AHRI 550/590 weights, cooler condenser water at part load) beats the full-load
    COP at the AHRI full-load condition for variable-speed centrifugals."""
    full = float(facility.chiller_performance(name, "6.67 degC", "29.44 degC",
                                              float(facility.chiller_curves(name).capft(6.67, 29.44)))["cop"])
    assert facility.iplv(name) > 1.1 * full
    assert sum(w for _, w, _ in facility.AHRI_IPLV) == pytest.approx(1.0)


def test_chiller_power_accepts_a_name_and_matches_curves():
    q = np.array([2e5, 8e5, 1.2e6])
    a = facility.chiller_power(q, 6.0, 24.0, curves="york-yt-1403kw-vsd")
    b = facility.chiller_power(q, 6.0, 24.0, curves=facility.YORK_YT_1403)
    np.testing.assert_allclose(a, b)
    r = facility.chiller_performance("york-yt-1403kw-vsd", "6 degC", "24 degC", 8e5 / facility.YORK_YT_1403.capacity)
    assert a[1] == pytest.approx(float(r["power"]), rel=1e-9)


def test_facility_chiller_choice_moves_pue():
    """An air hall leans on its chiller: a different curve set gives a different annual PUE;
    the default is the York set."""
    base = float(facility.facility_year(cooling="air", climate="beijing")["pue"])
    same = float(facility.facility_year(cooling="air", climate="beijing", chiller="york-yt-1403kw-vsd")["pue"])
    assert same == base
    others = {n: float(facility.facility_year(cooling="air", climate="beijing", chiller=n)["pue"]) for n in NAMES}
    assert len({round(v, 6) for v in others.values()}) > 1
    assert all(1.0 < v < 2.0 for v in others.values())


def test_bad_chiller_input():
    with pytest.raises(InputError, match="energy.chiller"):
        facility.chiller_curves("york-zz-1kw")
    with pytest.raises(InputError, match="load_fraction"):
        facility.chiller_performance("york-yt-1403kw-vsd", "6 degC", "24 degC", 5.0)
    with pytest.raises(InputError, match="load_fraction"):
        facility.chiller_performance("york-yt-1403kw-vsd", "6 degC", "24 degC", -0.1)
    with pytest.raises(InputError, match="load_fraction"):
        facility.chiller_performance("york-yt-1403kw-vsd", "6 degC", "24 degC", math.nan)
    with pytest.raises(InputError, match="t_cond_entering"):
        facility.chiller_performance("york-yt-1403kw-vsd", "6 degC", "warm", 0.5)
    with pytest.raises(InputError, match="energy.chiller"):
        facility.facility_year(chiller="nope")
