"""Coolant properties: CoolProp for water, air and glycol mixtures; sourced tables for dielectrics.

The reference in these tests is CoolProp itself, called directly (the library, not a mock),
and the published property rows of the project's reference (independent numbers)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import CoolProp.CoolProp as CP

from twin import energy
from twin.errors import InputError
from twin.units import quantity_of
from twin.energy import coolants
from twin.energy.coolants import coolant

P = 101325.0
KEYS = (("density", "D"), ("cp", "C"), ("conductivity", "L"), ("viscosity", "V"))


def _direct(fluid, t_c):
    """CoolProp's own (rho, cp, k, mu [Pa s]) at t_c [degC], 1 atm."""
    return tuple(CP.PropsSI(k, "T", t_c + 273.15, "P", P, fluid) for _, k in KEYS)


@pytest.mark.parametrize("name,fluid", [("water", "HEOS::Water"), ("PG25", "INCOMP::MPG[0.25]")])
def test_water_and_pg25_follow_coolprop_from_minus10_to_80c(name, fluid):
    c = coolant(name)
    assert c.fluid == fluid
    t_freeze = CP.PropsSI("T_freeze", "T", 300, "P", P, fluid) - 273.15 if fluid.startswith("INCOMP") else 0.0
    temps = [t for t in np.arange(-10.0, 80.01, 0.7) if t > t_freeze + 0.01]
    assert len(temps) > 100
    for t in temps:
        got = c.props(float(t))
        ref = _direct(fluid, float(t))
        for g, r in zip(got, ref):
            assert g == pytest.approx(r, rel=2e-5)
    # the array path gives the same numbers
    arr = c.props(np.asarray(temps))
    for g, (_, k) in zip(arr, KEYS):
        np.testing.assert_allclose(g, CP.PropsSI(k, "T", np.asarray(temps) + 273.15, "P", P, fluid), rtol=2e-5)


@pytest.mark.parametrize("name,t,row", [
    ("PG25", "30 degC", (1014.9, 3945, 0.477, 1.78)),
    ("PG25", "40 degC", (1009.9, 3969, 0.486, 1.35)),
    ("water", "30 degC", (995.6, 4180, 0.614, 0.797)),
    ("air", "25 degC", (1.184, 1006, 0.0262, 0.0185)),
])
def test_published_rows(name, t, row):
    p = energy.coolant_properties(name, t)
    got = tuple(quantity_of(p[k]).to(u).magnitude for k, u in (("density", "kg/m^3"), ("cp", "J/(kg*K)"),
                                                                 ("conductivity", "W/(m*K)"), ("viscosity", "mPa*s")))
    for g, r in zip(got, row):
        # published rows are rounded to 3-4 significant digits
        assert g == pytest.approx(r, rel=4e-3)
    assert quantity_of(p["volumetric_heat_capacity"]).to("J/(m^3*K)").magnitude == pytest.approx(got[0] * got[1], rel=1e-12)


def test_pg25_viscosity_at_10_and_minus5_follows_coolprop_not_the_old_extrapolation():
    c = coolant("PG25")
    # the old catalog carried only the 30 and 40 degC rows and extrapolated log(mu) linearly
    def old(t):
        return math.exp(math.log(1.78e-3) + (math.log(1.35e-3) - math.log(1.78e-3)) / 10.0 * (t - 30.0))

    for t, low_by in ((10.0, 0.10), (-5.0, 0.25)):
        mu = c.props(t)[3]
        assert mu == pytest.approx(CP.PropsSI("V", "T", t + 273.15, "P", P, "INCOMP::MPG[0.25]"), rel=2e-5)
        assert old(t) < (1.0 - low_by) * mu  # the old table was 13 % (10 degC) and 33 % (-5 degC) low


def test_freezing_points_and_limits_from_coolprop():
    assert coolant("PG25").t_freeze == pytest.approx(
        CP.PropsSI("T_freeze", "T", 300, "P", P, "INCOMP::MPG[0.25]") - 273.15, abs=1e-9)
    assert coolant("PG25").t_freeze == pytest.approx(-9.8, abs=0.1)  # published
    assert coolant("EG25").t_freeze == pytest.approx(
        CP.PropsSI("T_freeze", "T", 300, "P", P, "INCOMP::MEG[0.25]") - 273.15, abs=1e-9)
    assert coolant("water").t_freeze == pytest.approx(0.0, abs=0.01)
    assert coolant("water").t_max == pytest.approx(CP.PropsSI("T", "P", P, "Q", 0, "Water") - 273.15, abs=1e-9)
    assert 99.9 < coolant("water").t_max < 100.0


def test_glycol_names_parse_to_mass_fraction():
    assert coolant("pg25") is coolant("PG25")
    for alias in ("pg 30", "PG-30%", "PG30.0"):
        assert coolant(alias).name == "PG30"
        assert coolant(alias).props(20.0) == pytest.approx(coolant("PG30").props(20.0), rel=1e-12)
    c = coolant("PG33")  # not in the catalog: parsed
    assert c.fluid == "INCOMP::MPG[0.33]"
    assert c.props(25.0) == pytest.approx(_direct("INCOMP::MPG[0.33]", 25.0), rel=2e-5)
    assert coolant("EG40").props(0.0) == pytest.approx(_direct("INCOMP::MEG[0.4]", 0.0), rel=2e-5)


@settings(max_examples=30, deadline=None)
@given(x=st.integers(min_value=5, max_value=60), t=st.floats(min_value=-5.0, max_value=95.0))
def test_glycol_any_fraction_matches_coolprop(x, t):
    c = coolant(f"PG{x}")
    # richer mixtures freeze lower (CoolProp's T_freeze falls with the glycol fraction)
    assert c.t_freeze < coolant(f"PG{x - 1}").t_freeze
    t = max(t, c.t_freeze + 0.5)
    got = c.props(t)
    ref = _direct(f"INCOMP::MPG[{x / 100:g}]", t)
    for g, r in zip(got, ref):
        assert g == pytest.approx(r, rel=2e-5)


@settings(max_examples=40, deadline=None)
@given(t=st.floats(min_value=0.01, max_value=99.9))
def test_water_scalar_and_array_agree_and_physics(t):
    c = coolant("water")
    s = c.props(t)
    a = c.props(np.array([t]))
    assert s == pytest.approx(tuple(float(v[0]) for v in a), rel=1e-12)
    # viscosity falls with temperature everywhere in the liquid range
    assert c.props(min(t + 1.0, c.t_max))[3] <= s[3]


def test_dielectric_oils_follow_coolprop_within_their_limits():
    for name, fluid, row in (("Syltherm-XLT", "INCOMP::XLT", (835.0, 1814.0, 0.106, 1.02e-3)),
                             ("silicone-PMS1", "INCOMP::PMS1", (890.0, 1688.0, 0.119, 2.04e-3))):
        c = coolant(name)
        assert c.kind == "dielectric" and c.fluid == fluid
        assert c.props(40.0) == pytest.approx(row, rel=5e-3)  # published rows at 40 degC
        for t in (-20.0, 25.0, 60.0, 95.0):
            assert c.props(t) == pytest.approx(_direct(fluid, t), rel=2e-5)
        # no freezing curve in CoolProp: the fit's T_min, which lies above the catalog pour point
        t_min = CP.PropsSI("T_min", "T", 300, "P", P, fluid) - 273.15
        assert c.t_freeze == pytest.approx(t_min, abs=1e-9)
    assert coolant("Syltherm-XLT").t_max == 120.0  # the catalog's application limit below CoolProp's 260 degC


def test_hand_table_path_interpolates_and_extrapolates():
    # the path kept for fluids CoolProp lacks: the old two-row PG25 table as such a fluid
    c = coolants.Coolant(name="two-row", kind="liquid", t_freeze=-9.8, t_max=90.0,
                         temperature=np.array([30.0, 40.0]), density=np.array([1014.9, 1009.9]),
                         cp=np.array([3945.0, 3969.0]), conductivity=np.array([0.477, 0.486]),
                         viscosity=np.array([1.78e-3, 1.35e-3]), source="test rows")
    rho, cp, k, mu = c.props(35.0)
    assert (rho, cp, k) == pytest.approx((1012.4, 3957.0, 0.4815))
    assert mu == pytest.approx(math.sqrt(1.78e-3 * 1.35e-3))  # log-linear
    assert c.props(50.0)[0] == pytest.approx(1004.9)  # linear beyond the table
    arr = c.props(np.array([20.0, 35.0, 50.0]))
    for a, t in zip(arr[3], (20.0, 35.0, 50.0)):
        assert a == pytest.approx(c.props(t)[3], rel=1e-12)
    one = coolants.Coolant(name="one-row", kind="dielectric", t_freeze=-50.0, t_max=100.0,
                           temperature=np.array([40.0]), density=np.array([800.0]), cp=np.array([2000.0]),
                           conductivity=np.array([0.13]), viscosity=np.array([5e-3]), source="test row")
    assert one.props(0.0) == pytest.approx((800.0, 2000.0, 0.13, 5e-3))
    with pytest.raises(InputError, match="t_in"):
        one.props(101.0, "t_in")


def test_every_coolprop_entry_cites_coolprop_and_the_catalog():
    for name in coolants.coolant_names():
        c = coolant(name)
        assert c.source
        if c.fluid is not None:
            assert "CoolProp" in c.source and c.fluid in c.source


BAD = [
    (lambda: energy.coolant_properties("glycerol", "30 degC"), "energy.coolant"),
    (lambda: energy.coolant_properties("PG65", "30 degC"), "energy.coolant"),
    (lambda: energy.coolant_properties("EG61", "30 degC"), "energy.coolant"),
    (lambda: coolant(25), "energy.coolant"),
    (lambda: energy.coolant_properties("water", "-5 degC"), "temperature"),
    (lambda: energy.coolant_properties("water", "100 degC"), "temperature"),
    (lambda: energy.coolant_properties("PG25", "-10 degC"), "temperature"),
    (lambda: energy.coolant_properties("PG25", "101 degC"), "temperature"),
    (lambda: energy.coolant_properties("air", "150 degC"), "temperature"),
    (lambda: energy.coolant_properties("water", "30 kg"), "temperature"),
    (lambda: coolant("PG25").props(float("nan"), "t_inlet"), "t_inlet"),
    (lambda: coolant("PG25").rho_cp(np.array([20.0, -20.0]), "supply"), "supply"),
]


@pytest.mark.parametrize("call,field", BAD)
def test_bad_input_names_the_field(call, field):
    with pytest.raises(InputError, match=field) as e:
        call()
    assert e.value.field == field


def test_bad_input_messages_say_what_is_wrong():
    with pytest.raises(InputError, match="boiling point"):
        energy.coolant_properties("water", "100 degC")
    with pytest.raises(InputError, match="freezing point"):
        energy.coolant_properties("PG25", "-10 degC")
    with pytest.raises(InputError, match="concentration range"):
        energy.coolant_properties("PG65", "30 degC")


def test_disk_cache_round_trip_and_corrupt_file(tmp_path, monkeypatch):
    monkeypatch.setenv("NICC_TWIN_CACHE", str(tmp_path))
    a = coolants._coolprop_table("PG25", "liquid", "INCOMP::MPG[0.25]", None, None)
    files = list((tmp_path / "coolprop").glob("*.npz"))
    assert len(files) == 1
    b = coolants._coolprop_table("PG25", "liquid", "INCOMP::MPG[0.25]", None, None)
    for k in ("temperature",) + coolants._FIELDS:
        np.testing.assert_array_equal(a[k], b[k])
    assert b["t_freeze"] == a["t_freeze"] and b["reason"] == a["reason"]
    files[0].write_bytes(b"not an npz")
    c = coolants._coolprop_table("PG25", "liquid", "INCOMP::MPG[0.25]", None, None)
    np.testing.assert_array_equal(a["viscosity"], c["viscosity"])
