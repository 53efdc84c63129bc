"""Cross-region placement by queue (twin.platform.crossdomain.placement, site_queues): time to
result = M/M/c queue wait + data transfer + run time; bad input naming its field; placement by
time to result never worse than the data's site or the cheapest site in that objective."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.errors import InputError
from twin.platform import crossdomain as xd
from twin.scenario import load_scenario

C23 = load_scenario("cluster-2023")
SITES = ["hohhot", "beijing", "guian"]


def _sc(**platform):
    base = {"sites": SITES, "site_accelerators": ["Ascend-910B"], "wan_links": [], "data_site": "beijing"}
    return C23.with_overrides({"platform": {**base, **platform}})


def _place(**platform):
    return xd.placement(_sc(**platform))


_reached = {"prop": 0, "prop_total": 0, "mono": 0, "mono_total": 0}
loads = st.lists(st.floats(0.0, 0.99), min_size=3, max_size=3)
scales = st.lists(st.integers(1, 16), min_size=3, max_size=3)


@settings(max_examples=40, deadline=None)
@given(u=loads, k=scales, hours=st.floats(0.5, 2000), data=st.sampled_from(SITES), obj=st.sampled_from(["time", "cost", "carbon"]))
def test_placement_by_time_to_result_is_never_worse_than_the_data_site_or_the_cheapest(u, k, hours, data, obj):
    _reached["prop_total"] += 1
    cards = C23.cards
    ds = _place(site_load=[f"{s}:{x}" for s, x in zip(SITES, u)], site_capacity=[f"{s}:{m * cards}" for s, m in zip(SITES, k)],
                job_hours=f"{hours} h", data_site=data, placement_objective=obj)
    ttr = ds["time_to_result"]
    assert np.all(np.isfinite(ttr.values)) and np.all(ttr.values > 0)
    np.testing.assert_allclose(ttr.values, (ds["queue_wait"] + ds["data_transfer_time"] + ds["run_time"]).values)
    best = float(ttr.sel(site=ds.attrs["queue_placement_site"]))
    assert best <= float(ttr.sel(site=data)) + 1e-9
    assert best <= float(ttr.sel(site=ds.attrs["cheapest_site"])) + 1e-9
    assert float(ds["queue_saving_vs_data_site"]) >= 0 and float(ds["queue_saving_vs_cheapest"]) >= 0
    assert float(ds["data_transfer_time"].sel(site=data)) == 0
    if obj == "time":
        assert ds.attrs["placement_site"] == ds.attrs["queue_placement_site"]
    _reached["prop"] += 1


@settings(max_examples=30, deadline=None)
@given(u=st.floats(0.0, 0.95), du=st.floats(0.001, 0.04), c=st.integers(1, 64))
def test_wait_grows_with_load_and_falls_with_capacity(u, du, c):
    _reached["mono_total"] += 1
    cards = C23.cards
    a = _place(site_load=[f"hohhot:{u}"], site_capacity=[f"hohhot:{c * cards}"])
    b = _place(site_load=[f"hohhot:{u + du}"], site_capacity=[f"hohhot:{c * cards}"])
    bigger = _place(site_load=[f"hohhot:{u}"], site_capacity=[f"hohhot:{(c + 1) * cards}"])
    wa, wb = float(a["queue_wait"].sel(site="hohhot")), float(b["queue_wait"].sel(site="hohhot"))
    assert wb > wa or (u == 0 and wa == 0)
    assert float(bigger["queue_wait"].sel(site="hohhot")) <= wa + 1e-12
    # the unlisted sites are idle: no wait
    assert float(a["queue_wait"].sel(site="guian")) == 0
    _reached["mono"] += 1


def test_hypothesis_examples_reached_their_assertions():
    assert _reached["prop_total"] and _reached["prop"] == _reached["prop_total"]
    assert _reached["mono_total"] and _reached["mono"] == _reached["mono_total"]


def test_one_slot_is_the_m_m_1_queue():
    """A site that holds exactly the job is M/M/1: W_q = u T / (1 - u) (Kleinrock), T the run time there."""
    ds = _place(site_load=["beijing:0.6", "hohhot:0.3"], site_capacity=[], job_hours="10 h")
    for site, u in (("beijing", 0.6), ("hohhot", 0.3)):
        t = float(ds["run_time"].sel(site=site))
        assert float(ds["queue_wait"].sel(site=site)) == pytest.approx(u * t / (1 - u), rel=1e-9)
    # run time scales with the site's BF16 peak: Ascend 910B 320 against the A800's 312 TFLOP/s
    assert float(ds["run_time"].sel(site="hohhot")) == pytest.approx(10 * 312 / 320, rel=1e-9)


def test_a_busy_data_site_sends_the_job_west():
    """East data, west computing (white paper 1.2): with the eastern data site loaded, placement by
    queue moves the job to an idle western hub even though the data must cross the WAN."""
    idle = _place(site_load=[], site_capacity=[])
    assert idle.attrs["queue_placement_site"] == "beijing"  # nothing queues: the data's site wins (no transfer)
    busy = _place(site_load=["beijing:0.9"], site_capacity=["beijing:2048"])
    assert busy.attrs["queue_placement_site"] != "beijing"
    assert float(busy["queue_saving_vs_data_site"]) > float(busy["data_transfer_time"].max())


def test_preset_reports_the_queue_placement():
    ds = xd.crossdomain(C23, xd.training_state(C23))
    for v in ("queue_wait", "run_time", "time_to_result"):
        assert ds[v].attrs["units"] == "h" and np.all(np.isfinite(ds[v].values))
    assert ds.attrs["queue_placement_site"] == str(ds["time_to_result"].idxmin("site").values)
    assert float(ds["queue_saving_vs_data_site"]) == pytest.approx(
        float(ds["time_to_result"].sel(site=ds.attrs["placement_baseline"]) - ds["time_to_result"].min()))


@pytest.mark.parametrize("over, field", [
    ({"site_load": ["beijing:-0.2"]}, "platform.site_load"),  # negative load
    ({"site_load": ["beijing:1.0"]}, "platform.site_load"),  # a saturated site
    ({"site_load": ["atlantis:0.5"]}, "platform.site_load"),  # an unknown site
    ({"site_load": ["leased-line:0.5"]}, "platform.site_load"),  # a WAN technology, not a site
    ({"site_load": ["beijing"]}, "platform.site_load"),
    ({"site_load": ["beijing:busy"]}, "platform.site_load"),
    ({"site_load": ["beijing:0.5", "beijing:0.6"]}, "platform.site_load"),
    ({"site_load": ["beijing:nan"]}, "platform.site_load"),
    ({"site_capacity": ["atlantis:4096"]}, "platform.site_capacity"),
    ({"site_capacity": ["beijing:16"]}, "platform.site_capacity"),  # cannot hold the 1024-card job
    ({"site_capacity": ["beijing:4096.5"]}, "platform.site_capacity"),
])
def test_bad_load_input_names_its_field(over, field):
    with pytest.raises(InputError) as exc:
        _place(**over)
    assert exc.value.field == field, str(exc.value)


def test_scenario_rejects_a_non_positive_job_length():
    with pytest.raises(InputError) as exc:
        C23.with_overrides({"platform": {"job_hours": "0 h"}})
    assert exc.value.field == "platform.job_hours"


def test_sites_the_job_does_not_consider_are_ignored():
    ds = _place(site_load=["shanghai:0.99"], site_capacity=["shanghai:8"])
    assert "shanghai" not in ds.site.values
    assert math.isclose(float(ds["queue_wait"].max()), 0.0)
