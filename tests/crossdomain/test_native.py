"""Compute-native pools (twin.platform.native): Erlang C against the textbook sum, queue invariants,
silo vs unified pool, bad input naming its field."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.errors import InputError
from twin.platform import crossdomain as xd
from twin.platform.native import erlang_c, mmc_wait, native_pools, servers_for_wait
from twin.scenario import load_scenario

C23 = load_scenario("cluster-2023")
_reached = {"ok": 0, "total": 0}


def _erlang_c_sum(c, a):
    """Erlang C by its defining sum (Kleinrock 1975, eq. 3.40), independent of the recursion."""
    top = a ** c / math.factorial(c) * c / (c - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)


@settings(max_examples=80, deadline=None)
@given(c=st.integers(1, 60), frac=st.floats(0.01, 0.99))
def test_erlang_c_matches_the_defining_sum(c, frac):
    _reached["total"] += 1
    a = frac * c
    assert erlang_c(c, a) == pytest.approx(_erlang_c_sum(c, a), rel=1e-9)
    # more servers at the same load: less waiting
    assert mmc_wait(c + 1, a, 1.0) <= mmc_wait(c, a, 1.0) + 1e-15
    n = servers_for_wait(a, 1.0, mmc_wait(c, a, 1.0))
    assert n <= c and mmc_wait(n, a, 1.0) <= mmc_wait(c, a, 1.0) * (1 + 1e-9)
    assert n == 1 or mmc_wait(n - 1, a, 1.0) > mmc_wait(c, a, 1.0)
    _reached["ok"] += 1


def test_hypothesis_examples_reached_their_assertions():
    assert _reached["total"] > 0 and _reached["ok"] / _reached["total"] >= 0.8


def test_overloaded_queue_waits_forever_not_nan():
    assert mmc_wait(2, 3.0, 1.0) == math.inf
    with pytest.raises(InputError):
        erlang_c(2, 2.0)


@pytest.fixture(scope="module")
def state():
    return xd.training_state(C23)


def test_unified_pool_beats_imbalanced_silos(state):
    ds = native_pools(C23, state)
    assert float(ds["wait_native"]) < float(ds["wait_siloed_mean"])
    assert float(ds["extra_cards_siloed"]) > 0
    assert np.all(ds["utilisation_native"].values < 1)
    assert float(ds["jobs_per_day_native"]) == pytest.approx(float(ds["jobs_per_day_siloed"]))  # both keep up here
    # the most demanded family is the most loaded silo
    assert str(ds["utilisation_siloed"].idxmax("family").values) == "A800-SXM4-80GB"


def test_porting_overhead_costs_the_unified_pool(state):
    lo = native_pools(C23, state, porting_overhead=0.0)
    hi = native_pools(C23, state, porting_overhead=0.5)
    assert float(hi["service_time_native"]) > float(lo["service_time_native"])
    assert float(hi["wait_native"]) >= float(lo["wait_native"])
    assert float(lo["wait_siloed_mean"]) == float(hi["wait_siloed_mean"])  # silos never translate


def test_one_family_is_its_own_silo(state):
    ds = native_pools(C23, state, accelerator_mix=[])
    assert ds.sizes["family"] == 1
    assert float(ds["wait_native"]) == pytest.approx(float(ds["wait_siloed_mean"]))
    assert float(ds["foreign_share"]) == 0 and float(ds["extra_cards_siloed"]) == 0


@pytest.mark.parametrize("mix", [["TPU-v9:64"], ["A800-SXM4-80GB"], ["A800-SXM4-80GB:four"], ["A800-SXM4-80GB:4"],
                                 ["A800-SXM4-80GB:64", "A800-SXM4-80GB:64"]])
def test_bad_accelerator_mix_names_its_field(state, mix):
    with pytest.raises(InputError) as exc:
        native_pools(C23, state, accelerator_mix=mix)
    assert exc.value.field == "platform.accelerator_mix"


@pytest.mark.parametrize("over, field", [({"offered_load": 1.0}, "platform.offered_load"),
                                         ({"porting_overhead": 1.0}, "platform.porting_overhead"),
                                         ({"native_job_share": -0.1}, "platform.native_job_share"),
                                         ({"mean_job_hours": "0 h"}, "platform.mean_job_hours")])
def test_scenario_rejects_bad_pool_fields(over, field):
    with pytest.raises(InputError) as exc:
        C23.with_overrides({"platform": over})
    assert exc.value.field == field
