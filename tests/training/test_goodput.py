"""Goodput: Young/Daly interval, failure scaling, bad input."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from twin.errors import InputError
from twin.scenario import load_scenario
from twin.training import goodput
from twin.training.goodput import goodput_fraction, young_daly_interval

SC21 = load_scenario("megatron-sc21-a100-3072")


@settings(max_examples=50, deadline=None)
@given(delta=st.floats(1, 600), mtbf=st.floats(3600, 1e6))
def test_young_daly_is_near_optimal(delta, mtbf):
    tau = young_daly_interval(delta, mtbf)
    assert tau == pytest.approx(math.sqrt(2 * delta * mtbf), rel=0.35)
    g = goodput_fraction(tau, delta, mtbf, 0.0)
    for k in (0.3, 3.0):
        assert g >= goodput_fraction(k * tau, delta, mtbf, 0.0) - 1e-3


def test_goodput_dataset_and_failure_scaling():
    a = goodput(SC21, step_time="100 s")
    b = goodput(SC21, step_time="100 s", failure_rate="1e-4 /h")
    assert 0 < float(b.goodput) < float(a.goodput) < 1
    assert float(a.checkpoint_size) == pytest.approx(14 * 1.008e12 / 1e12, rel=0.01)
    assert float(a.checkpoint_write_time) == pytest.approx(float(a.checkpoint_size) * 1e12 / 1000e9, rel=1e-6)
    assert float(a.mtbf) == pytest.approx(1 / (2e-5 * 3072), rel=1e-6)
    none = goodput(SC21, step_time="100 s", failure_rate="0 /h", interval="3600 s")
    assert float(none.goodput) == pytest.approx(3600 / (3600 + float(none.checkpoint_write_time)))


def test_hotter_cards_fail_more_when_energy_present():
    cool = goodput(SC21, step_time="100 s", temperature="25 degC")
    hot = goodput(SC21, step_time="100 s", temperature="45 degC")
    assert float(hot.arrhenius_factor) >= float(cool.arrhenius_factor)
    assert float(hot.goodput) <= float(cool.goodput)


def test_bad_goodput_inputs():
    with pytest.raises(InputError) as e:
        goodput(SC21, step_time="100 s", failure_rate="-1 /h")
    assert e.value.field == "failure_rate"
    with pytest.raises(InputError) as e:
        goodput(SC21, step_time="100 W")
    assert e.value.field == "step_time"
