import numpy as np
import pytest

from twin.errors import InputError
from twin.units import Q_, as_quantity, format_unit, magnitude, si, ureg


def test_bits_and_bytes_are_distinct_dimensions():
    assert Q_("400 Gbit/s").to("GB/s").magnitude == pytest.approx(50.0)
    assert Q_("1 GiB").to("GB").magnitude == pytest.approx(1.073741824)
    # information is not dimensionless: a data size is not a plain ratio, a data rate not a frequency
    with pytest.raises(InputError):
        as_quantity("80 GB", "", "ratio")
    with pytest.raises(InputError, match="is a rate per time"):
        as_quantity("3 Hz", "Gbit/s", "x")


def test_flop_rates_with_prefixes():
    assert Q_("312 TFLOP/s").to("PFLOP/s").magnitude == pytest.approx(0.312)
    assert Q_("624 TOP/s").to("TFLOP/s").magnitude == pytest.approx(624)


def test_temperatures_offset_and_delta():
    assert as_quantity("35 degC", "K", "t").magnitude == pytest.approx(308.15)
    assert Q_(10, "delta_degC").to("K").magnitude == pytest.approx(10)
    assert format_unit("degC") == "degC"


def test_power_where_rate_belongs_names_field_value_dimension_and_example():
    with pytest.raises(InputError) as e:
        as_quantity("400 W", "Gbit/s", "fabric.spine.link_speed")
    msg = str(e.value)
    assert msg == "fabric.spine.link_speed: '400 W' is a power; expected a data rate such as '400 Gbit/s'"
    assert e.value.field == "fabric.spine.link_speed"


@pytest.mark.parametrize("bad,problem", [(400, "has no unit"), ("abc", "not a quantity"), (None, "NoneType"),
                                         (True, "boolean"), ("nan W", "not finite")])
def test_bad_values(bad, problem):
    with pytest.raises(InputError, match=problem):
        as_quantity(bad, "W", "energy.power")


def test_magnitude_and_si():
    assert magnitude("1.5 L/min", "m^3/s", "flow") == pytest.approx(2.5e-5)
    assert si("2 kW", "W") == pytest.approx(2000)
    assert np.allclose(si(Q_(np.array([1.0, 2.0]), "us"), "s"), [1e-6, 2e-6])
    assert magnitude(3, "W", allow_bare=True) == 3.0


def test_one_registry():
    import pint

    assert pint.get_application_registry().get() is ureg or pint.get_application_registry() is ureg
