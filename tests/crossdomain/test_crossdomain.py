"""Cross-domain training (twin.platform.crossdomain): kernel against references, invariants, round
trips, bad input naming its field, every issue-12 scenario field moving a result."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.errors import InputError
from twin.platform import _xd_kernels as K
from twin.platform import _xd_reference as R
from twin.platform import crossdomain as xd
from twin.platform.native import native_pools
from twin.scenario import load_scenario

C23 = load_scenario("cluster-2023")


@pytest.fixture(scope="module")
def state():
    return xd.training_state(C23)


@pytest.fixture(scope="module")
def base(state):
    return xd.crossdomain(C23, state)


# --- kernel against the references --------------------------------------------------------------

_reached = {"ref": 0, "ref_total": 0, "mono": 0, "mono_total": 0}

pos = st.floats(1e-3, 1e3)


@settings(max_examples=60, deadline=None)
@given(t_c=pos, frac=st.floats(0, 0.5), g=st.floats(1e6, 1e13), act=st.floats(1e6, 1e12), S=st.integers(1, 6),
       dp=st.integers(1, 256), lat=st.floats(0, 0.05), H=st.integers(1, 1000), bw=st.floats(1e6, 1e12),
       p=st.integers(1, 24), m=st.integers(1, 256), ov=st.booleans())
def test_kernel_matches_python_and_numpy_references(t_c, frac, g, act, S, dp, lat, H, bw, p, m, ov):
    _reached["ref_total"] += 1
    ratios = np.array([1.0, 0.5, 0.01, 0.003])
    costs = np.array([0.0, 0.01 * t_c, 0.02 * t_c, 0.03 * t_c])
    one = lambda v: np.array([float(v)])  # noqa: E731
    args = (one(t_c), one(frac * t_c), one(2 / 3 * t_c if ov else 0.0), one(g), one(act), one(S), one(dp),
            np.array([bw, bw * 3.0]), one(lat), one(H), ratios, costs, one(p), one(m))
    fast = np.zeros((1, 2, 4, 4))
    wan = np.zeros_like(fast)
    K.sweep(*args, fast, wan)
    slow = np.zeros_like(fast)
    slow_wan = np.zeros_like(fast)
    R.sweep(*args, slow, slow_wan)
    vec = R.sweep_numpy(*args)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)
    np.testing.assert_allclose(fast, vec, rtol=1e-12)
    np.testing.assert_allclose(wan, slow_wan, rtol=1e-9, atol=1e-12 * t_c)
    assert np.all(np.isinf(fast[..., 2, :])) == (p < S)  # a pipeline needs a stage on every site
    finite = np.isfinite(fast)
    assert np.all(fast[finite] >= t_c - 1e-12)  # never faster than the slowest site's compute
    _reached["ref"] += 1


@settings(max_examples=60, deadline=None)
@given(c=pos, m=st.integers(1, 512), x=st.floats(0, 1e10), t_dp=st.floats(0, 10),
       links=st.lists(st.tuples(st.floats(1e6, 1e12), st.floats(0, 0.3)), min_size=0, max_size=15))
def test_blocking_pipeline_kernel_matches_reference(c, m, x, t_dp, links):
    bws = np.array([b for b, _ in links], dtype=float)
    lats = np.array([v for _, v in links], dtype=float)
    fast = K.pipeline_blocking(c, float(m), x, bws, lats, t_dp)
    assert fast == pytest.approx(R.pipeline_blocking(c, m, x, list(bws), list(lats), t_dp), rel=1e-12)
    # the public function runs the same kernel, in units
    pub = xd.pipeline_blocking_step_time(f"{c} s", m, f"{x} B", [f"{b} B/s" for b in bws], [f"{v} s" for v in lats],
                                         data_parallel=f"{t_dp} s").to("s").magnitude
    assert pub == pytest.approx(fast, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(t_c=pos, g=st.floats(1e8, 1e13), S=st.integers(2, 6), dp=st.integers(2, 256), lat=st.floats(0, 0.05),
       H=st.integers(1, 500), bw=st.floats(1e7, 1e11), k=st.floats(1.01, 100))
def test_step_time_falls_with_bandwidth_and_with_inner_steps(t_c, g, S, dp, lat, H, bw, k):
    _reached["mono_total"] += 1
    a = xd.step_times(t_c, 0.05 * t_c, g, 0.1 * g, S, dp, [bw, bw * k], lat, local_steps=H, overlap=0.5 * t_c)
    st_ = a["step_time"].values
    assert np.all(st_[1] <= st_[0] + 1e-9)
    b = xd.step_times(t_c, 0.05 * t_c, g, 0.1 * g, S, dp, bw, lat, local_steps=H + 7, overlap=0.5 * t_c)
    d0 = float(a["step_time"].isel(bandwidth=0).sel(strategy="diloco", compression="none"))
    d1 = float(b["step_time"].isel(bandwidth=0).sel(strategy="diloco", compression="none"))
    assert d1 <= d0 + 1e-12
    # where the sites' own links are fast against the WAN (t_intra <= (2(dp-1)/dp - 2(S-1)/S) G/B),
    # reducing inside each site first is never slower than one flat ring over every replica
    if S <= dp and 0.05 * t_c <= (2 * (dp - 1) / dp - 2 * (S - 1) / S) * g / bw:
        assert float(a["step_time"].isel(bandwidth=0).sel(strategy="hierarchical", compression="none")) <= \
            float(a["step_time"].isel(bandwidth=0).sel(strategy="sync-dp", compression="none")) + 1e-9
    _reached["mono"] += 1


def test_hypothesis_examples_reached_their_assertions():
    for k in ("ref", "mono"):
        assert _reached[f"{k}_total"] > 0
        assert _reached[k] / _reached[f"{k}_total"] >= 0.8, _reached


# --- required bandwidth round trip ---------------------------------------------------------------

@pytest.mark.parametrize("strategy", xd.STRATEGIES)
@pytest.mark.parametrize("target", [0.5, 0.8, 0.95])
def test_required_bandwidth_gives_the_target_utilisation(strategy, target):
    t_c, t_i, g, act, S, dp, lat, H = 20.0, 1.0, 3.5e11, 2e10, 3, 16, 5e-3, 50
    req = xd.required_bandwidth(target, t_c, t_i, g, act, S, dp, lat, local_steps=H, ratio=0.5, cost=0.2,
                                overlap=2 / 3 * t_c, stages=8, micro_batches=32)[strategy]
    assert req > 0
    if not math.isfinite(req):
        pytest.skip("latency alone misses this target")
    comp = ("int8",)
    ds = xd.step_times(t_c, t_i, g, act, S, dp, req, lat, local_steps=H, compression=comp,
                       ratios=[1.0 if strategy == "pipeline" else 0.5], costs=[0.0 if strategy == "pipeline" else 0.2],
                       overlap=2 / 3 * t_c, stages=8, micro_batches=32)
    step = float(ds["step_time"].sel(strategy=strategy).isel(bandwidth=0, compression=0))
    assert (t_c + t_i) / step == pytest.approx(target, rel=1e-9)


# --- the scenario through the tree ---------------------------------------------------------------

def test_results_are_finite_and_bounded(base):
    for v in ("step_time", "utilisation", "communication_share", "wan_bytes_per_step"):
        assert np.all(np.isfinite(base[v].values)), v  # cluster-2023: pp = 8 >= 2 sites, pipeline valid
    assert np.all((base["utilisation"] > 0) & (base["utilisation"] <= 1 + 1e-12))
    assert np.all(base["step_time"] >= float(base["single_site_step_time"]) * 0.999)
    assert 0 <= float(base["straggler_loss"]) < 1
    assert base.sizes["site"] == 2 and base.sizes["link"] == 1


def test_straggler_is_the_slower_site(state):
    # A800 (312 TFLOP/s) against Ascend 910B (320): the A800 site paces the step and is the busier one
    ds = xd.crossdomain(C23, state)
    speeds = ds["site_speed"].values
    util = ds["site_utilisation"].values
    assert np.argmax(util) == np.argmin(speeds)
    slow = xd.crossdomain(C23, state, site_accelerators=["A800-SXM4-80GB", "MLU370-X8"])
    assert float(slow["straggler_loss"]) > float(ds["straggler_loss"])
    assert float(slow["selected_step_time"]) > float(ds["selected_step_time"])


def test_more_wan_bandwidth_raises_utilisation(state):
    lo = xd.crossdomain(C23, state, wan_bandwidth="10 Gbit/s")
    hi = xd.crossdomain(C23, state, wan_bandwidth="400 Gbit/s")
    assert float(hi["selected_utilisation"]) > float(lo["selected_utilisation"])
    assert float(hi["selected_communication_share"]) < float(lo["selected_communication_share"])


def test_one_site_costs_nothing_on_the_wan(state):
    ds = xd.crossdomain(C23, state, sites=["beijing"], site_accelerators=[])  # the Hohhot link is unused
    assert np.allclose(ds["step_time"].values, float(ds["single_site_step_time"]))
    assert np.all(ds["wan_bytes_per_step"].values == 0)


def test_placement_follows_its_objective(state):
    ds = xd.crossdomain(C23, state, placement_objective="time", site_load=[])
    assert ds.attrs["placement_site"] == "beijing"  # no queue anywhere: the data lives there, no transfer
    assert float(ds["data_transfer_time"].sel(site="beijing")) == 0
    ds = xd.crossdomain(C23, state, placement_objective="time")  # the preset loads Beijing: time to result decides
    assert ds.attrs["placement_site"] == str(ds["time_to_result"].idxmin("site").values)
    if "energy_cost" in ds:
        ds = xd.crossdomain(C23, state, placement_objective="cost")
        assert ds.attrs["placement_site"] == str(ds["energy_cost"].idxmin("site").values)
        assert float(ds["placement_saving"]) >= 0


# every issue-12 field moves a result of the cluster-2023 preset (crossdomain or native)
MOVES = {
    "sites": ["hohhot"], "site_accelerators": ["A800-SXM4-80GB", "A800-SXM4-80GB"],
    "wan_links": ["beijing-hohhot@3000 km"], "wan_technology": "dwdm-owned-fibre", "wan_bandwidth": "50 Gbit/s",
    "wan_sharing": 0.5, "crossdomain_strategy": "diloco", "local_steps": 10, "compression": "int8",
    "compression_ratio": 0.1, "target_efficiency": 0.5, "data_site": "hohhot", "placement_objective": "time",
    "accelerator_mix": ["A800-SXM4-80GB:768", "Ascend-910B:256"], "native_job_share": 0.4, "porting_overhead": 0.4,
    "offered_load": 0.5, "mean_job_hours": "3 h", "site_load": ["beijing:0.5"], "site_capacity": ["hohhot:1024"],
    "job_hours": "10 h",
}


def _signature(ds):
    out = []
    for v in sorted(ds.data_vars):
        a = np.asarray(ds[v].values, dtype=float).ravel()
        out.append((v, tuple(np.round(a[np.isfinite(a)], 9)), int(np.isinf(a).sum())))
    return tuple(out) + tuple(sorted((k, str(v)) for k, v in ds.attrs.items()))


@pytest.mark.parametrize("field", sorted(MOVES))
def test_every_issue12_field_moves_a_result(state, field):
    before = (_signature(xd.crossdomain(C23, state)), _signature(native_pools(C23, state)))
    after = (_signature(xd.crossdomain(C23, state, **{field: MOVES[field]})),
             _signature(native_pools(C23, state, **{field: MOVES[field]})))
    assert before != after


# --- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("over, field", [
    ({"sites": ["beijing", "hohhot:0"]}, "platform.sites"),  # a site with no compute
    ({"sites": ["beijing:1024", "hohhot:0"]}, "platform.sites"),
    ({"sites": ["beijing", "atlantis"]}, "platform.sites"),
    ({"sites": ["beijing", "beijing"]}, "platform.sites"),
    ({"sites": ["beijing:100", "hohhot:100"]}, "platform.sites"),  # counts that do not sum to the cluster
    ({"sites": ["beijing", "dwdm-owned-fibre"]}, "platform.sites"),
    ({"wan_links": ["beijing-atlantis"]}, "platform.wan_links"),  # a link between unknown sites
    ({"wan_links": ["beijing-shanghai"]}, "platform.wan_links"),  # a link that leaves hohhot unconnected
    ({"wan_links": ["beijing-hohhot@-5 km"]}, "platform.wan_links"),  # a negative distance
    ({"wan_links": ["beijing"]}, "platform.wan_links"),
    ({"wan_links": ["beijing-beijing"]}, "platform.wan_links"),
    ({"wan_bandwidth": "5000 Gbit/s"}, "platform.wan_bandwidth"),  # beyond 4 x 100G leased lines
    ({"site_accelerators": ["A800-SXM4-80GB"] * 3}, "platform.site_accelerators"),
    ({"site_accelerators": ["A800-SXM4-80GB", "TPU-v9"]}, "platform.site_accelerators"),
    ({"data_site": "internet"}, "platform.data_site"),  # a WAN technology, not a site
    ({"compression": "powersgd", "compression_ratio": 1e-6}, "platform.compression_ratio"),
])
def test_bad_input_names_its_field(state, over, field):
    with pytest.raises(InputError) as exc:
        xd.crossdomain(C23, state, **over)
    assert exc.value.field == field, str(exc.value)


@pytest.mark.parametrize("over, field", [
    ({"local_steps": 0}, "platform.local_steps"),  # H < 1
    ({"compression_ratio": 1.5}, "platform.compression_ratio"),  # a compression ratio above 1
    ({"wan_sharing": 0.0}, "platform.wan_sharing"), ({"wan_bandwidth": "-1 Gbit/s"}, "platform.wan_bandwidth"),
    ({"wan_bandwidth": "10 W"}, "platform.wan_bandwidth"), ({"crossdomain_strategy": "carrier"}, "platform.crossdomain_strategy"),
])
def test_scenario_rejects_bad_fields(over, field):
    with pytest.raises(InputError) as exc:
        C23.with_overrides({"platform": over})
    assert exc.value.field == field


def test_pipeline_needs_as_many_stages_as_sites(state):
    sc = C23.with_overrides({"platform": {"sites": ["beijing", "hohhot", "guian"], "site_accelerators": [], "wan_links": [],
                                          "crossdomain_strategy": "pipeline"}})
    ok = xd.crossdomain(sc, state)  # pp = 8 >= 3 sites
    assert np.isfinite(float(ok["selected_step_time"]))
    sc9 = load_scenario({"extends": "cluster-2023", "workload": {"pp": 1, "tp": 8},
                         "platform": {"crossdomain_strategy": "pipeline"}})
    with pytest.raises(InputError) as exc:
        xd.crossdomain(sc9)
    assert exc.value.field == "platform.crossdomain_strategy"


@pytest.mark.parametrize("call, field", [
    (lambda: xd.fibre_latency("-3 km"), "distance"),
    (lambda: xd.fibre_latency("3 s"), "distance"),
    (lambda: xd.communication_reduction("diloco", 0), "platform.local_steps"),
    (lambda: xd.communication_reduction("diloco", 5, "topk", 1.2), "platform.compression_ratio"),
    (lambda: xd.compression_model("topk", 2.0, 1e9, "2000 GB/s", "300 TFLOP/s"), "platform.compression_ratio"),
    (lambda: xd.compression_model("zip", 0.1, 1e9, "2000 GB/s", "300 TFLOP/s"), "platform.compression"),
    (lambda: xd.step_times(1, 0, 1e9, 1e9, 2, 2, 0.0, 0.0), "platform.wan_bandwidth"),
    (lambda: xd.step_times(1, 0, 1e9, 1e9, 2, 2, 1e9, 0.0, local_steps=0), "platform.local_steps"),
    (lambda: xd.step_times(1, 0, 1e9, 1e9, 2, 2, 1e9, 0.0, stages=0), "stages"),
    (lambda: xd.step_times(1, 0, 1e9, 1e9, 2, 2, 1e9, 0.0, stages=8, micro_batches=0.5), "micro_batches"),
    (lambda: xd.required_bandwidth(1.2, 1, 0, 1e9, 1e9, 2, 2, 0.0), "platform.target_efficiency"),
    (lambda: xd.ring_allreduce_time("1 GB", 0, "1 Gbit/s"), "ranks"),
    (lambda: xd.topk_bytes_ratio(0.0), "density"),
    (lambda: xd.pipeline_blocking_step_time("1 s", 0, "1 MB", ["1 Gbit/s"], ["1 ms"]), "micro_batches"),
    (lambda: xd.pipeline_blocking_step_time("1 s", 4, "1 MB", ["1 Gbit/s"], []), "link_latencies"),
    (lambda: xd.pipeline_blocking_step_time("1 s", 4, "1 MB", ["0 Gbit/s"], ["1 ms"]), "link_bandwidths"),
])
def test_public_functions_name_the_bad_argument(call, field):
    with pytest.raises(InputError) as exc:
        call()
    assert exc.value.field == field


def test_schema_lists_the_catalog_wan_technologies():
    from twin.scenario.schema import fields_of

    assert set(fields_of("platform")["wan_technology"].choices) == set(xd.wan_technologies())


def test_fewer_site_accelerators_than_sites_fill_with_the_scenario_accelerator(state):
    ds = xd.crossdomain(C23, state, site_accelerators=["Ascend-910B"])
    assert list(ds["site_speed"].values) == pytest.approx([320 / 312, 1.0])


def test_fibre_and_great_circle():
    assert xd.fibre_latency("1000 km").to("ms").magnitude == pytest.approx(4.897, rel=1e-3)
    d = xd.great_circle("beijing", "shanghai").to("km").magnitude
    assert 1000 < d < 1150  # Beijing-Shanghai is about 1,070 km as the crow flies
    assert xd.great_circle("hohhot", "hohhot").magnitude == 0


def test_links_between_sites_the_job_does_not_span_are_unused(state):
    base = xd.crossdomain(C23, state)
    more = xd.crossdomain(C23, state, wan_links=list(C23.platform.wan_links) + ["beijing-shanghai@1200 km"])
    assert list(more["link"].values) == list(base["link"].values)
    assert float(more["selected_step_time"]) == float(base["selected_step_time"])


def test_blocking_pipeline_slowest_stage_sets_the_period():
    """Three stages, links of 1 and 0.5 Gbit/s: tau = 1 MB / B + L; the middle stage waits on both
    links each micro-batch, so T = (m - 1)(c + tau_1 + tau_2) + 3 c + 2 (tau_1 + tau_2) + t_dp."""
    tau1, tau2 = 1e6 / 1.25e8 + 0.002, 1e6 / 6.25e7 + 0.010
    c, m = 0.05, 16
    t = xd.pipeline_blocking_step_time("0.05 s", m, "1 MB", ["1 Gbit/s", "0.5 Gbit/s"], ["2 ms", "10 ms"],
                                       data_parallel="0.3 s").to("s").magnitude
    assert t == pytest.approx((m - 1) * (c + tau1 + tau2) + 3 * c + 2 * (tau1 + tau2) + 0.3, rel=1e-12)
    # one stage alone: no link, every micro-batch back to back
    assert xd.pipeline_blocking_step_time("0.05 s", m, "1 MB", [], []).to("s").magnitude == pytest.approx(m * c)
    # halving the slow link's bandwidth slows the step by (m + 1) x the extra transfer time
    t2 = xd.pipeline_blocking_step_time("0.05 s", m, "1 MB", ["1 Gbit/s", "0.25 Gbit/s"], ["2 ms", "10 ms"],
                                        data_parallel="0.3 s").to("s").magnitude
    assert t2 - t == pytest.approx((m + 1) * 1e6 / 6.25e7, rel=1e-9)


def test_pipeline_wan_quantity_is_compute_bound_on_fast_links():
    """On links far faster than the activations need, the quantity is m x (layers / stages) x layer
    compute plus the fill of the other stages and the data-parallel ring, each a few percent."""
    from twin.validation import quantities

    q = quantities()["pipeline-wan-step-time"]
    fast = q.func(layer_compute="0.02 s", layers=24, stages=8, micro_batches=128, dp_bandwidth="1000 Gbit/s",
                  dp_latency="0 ms", link_bandwidths=[1e4] * 7, link_latencies=[0.0] * 7).to("s").magnitude
    assert fast == pytest.approx((128 + 7) * 0.02 * 3, rel=0.01)
    slow = q.func(layer_compute="0.02 s", layers=24, stages=8, micro_batches=128, dp_bandwidth="1000 Gbit/s",
                  dp_latency="0 ms", link_bandwidths=[1e4] * 6 + [0.1], link_latencies=[0.0] * 7).to("s").magnitude
    # the slow last link: the last stage waits (m + 1) transfers of one micro-batch's activations
    assert slow - fast == pytest.approx(129 * 2048 * 2048 * 2 / 1.25e7, rel=0.01)


# --- the tab's pipeline strategy is the validated blocking pipeline ----------------------------

def test_pipeline_strategy_is_the_blocking_pipeline_with_a_stage_per_site():
    """One stage per site: every stage boundary is a WAN link, so step_times' pipeline is
    pipeline_blocking_step_time with p - 1 equal links, c = T_c / (m + p - 1), x = X / m."""
    p, m, c, X, B, L, t_dp = 4, 24, 0.05, 2.4e9, 1.25e9, 0.004, 0.3
    ds = xd.step_times((m + p - 1) * c, t_dp, 1e10, X, p, 8, B, L, stages=p, micro_batches=m)
    t = float(ds["step_time"].sel(strategy="pipeline").isel(bandwidth=0, compression=0))
    ref = xd.pipeline_blocking_step_time(f"{c} s", m, f"{X / m} B", [f"{B} B/s"] * (p - 1), [f"{L} s"] * (p - 1),
                                         data_parallel=f"{t_dp} s").to("s").magnitude
    assert t == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("p, S, adjacent", [(8, 2, 1), (16, 3, 1), (5, 4, 2)])
def test_pipeline_across_sites_closed_form(p, S, adjacent):
    """Stages split over sites in a chain (p // S each, the first p % S sites one more): a stage
    waits each micro-batch for the WAN links beside it (two only when a middle site holds a
    single stage: 5 stages on 4 sites = 2, 1, 1, 1), fill and drain cross each of the S - 1 links
    both ways, the data-parallel all-reduce follows the flush:
    T = T_c + (m - 1) adjacent tau + 2 (S - 1) tau + t_dp, tau = X / m / B + L."""
    m, c, X, B, L, t_dp = 32, 0.1, 3.2e9, 1e9, 0.006, 0.4
    t_c = (m + p - 1) * c
    tau = X / m / B + L
    ds = xd.step_times(t_c, t_dp, 1e10, X, S, 16, [B, B / 2], L, stages=p, micro_batches=m)
    t = ds["step_time"].sel(strategy="pipeline").isel(compression=0).values
    assert t[0] == pytest.approx(t_c + (m - 1) * adjacent * tau + 2 * (S - 1) * tau + t_dp, rel=1e-12)
    # halving the WAN bandwidth: every blocking transfer takes X / m / B longer
    assert t[1] - t[0] == pytest.approx(((m - 1) * adjacent + 2 * (S - 1)) * X / m / B, rel=1e-9)
    assert float(ds["wan_time"].sel(strategy="pipeline").isel(bandwidth=0, compression=0)) == \
        pytest.approx(t[0] - t_c - t_dp, rel=1e-12)


def test_scenario_pipeline_is_the_validated_function(state):
    """cluster-2023 split over Hohhot and Beijing: the Cross-domain tab's pipeline step equals
    pipeline_blocking_step_time on the preset's chain (pp stages, the site boundary the one WAN
    link at the link's latency, the in-site boundaries already in the training step)."""
    from twin import tree
    from twin.training import get_model
    from twin.units import Q_

    ds = xd.crossdomain(C23, state, crossdomain_strategy="pipeline")
    br = tree.array(state, "training", "breakdown", "s")
    t_dp = float(br.sel(component="dp_comm"))
    t_c = tree.value(state, "training", "step_time", "s") - t_dp
    a = tree.results(state, "training").attrs
    p = int(a.get("plan_pp", C23.workload.pp))
    m = int(tree.value(state, "training", "micro_batches", ""))
    dp = int(a.get("plan_dp", 0) or 0) or C23.cards // (p * int(a.get("plan_tp", C23.workload.tp)))
    b = int(a.get("plan_micro_batch", C23.workload.micro_batch))
    seq = int(a.get("plan_sequence_length", C23.workload.sequence_length))
    hidden = get_model(a.get("model", C23.workload.model)).hidden
    x = dp * b * seq * hidden * 2.0  # bf16 activations of every data-parallel replica, one micro-batch
    links = xd.wan_links(C23)
    bw = Q_(float(links["effective_bandwidth"]), "Gbit/s")
    lat = Q_(float(links["latency"].max()), "ms")
    inf = Q_(1e15, "Gbit/s")  # an in-site boundary: its transfer is in the training step (here < 1e-17 s)
    half = p // 2
    bws = [inf] * (half - 1) + [bw] + [inf] * (p - half - 1)
    lats = [Q_(0.0, "s")] * (half - 1) + [lat] + [Q_(0.0, "s")] * (p - half - 1)
    ref = xd.pipeline_blocking_step_time(Q_(t_c / (m + p - 1), "s"), m, Q_(x, "B"), bws, lats,
                                         data_parallel=Q_(t_dp, "s")).to("s").magnitude
    assert float(ds["selected_step_time"]) == pytest.approx(ref, rel=1e-9)
    # and it is slower than the one-site step by the blocking transfers, which grow with the WAN's slowness
    assert float(ds["selected_step_time"]) > float(ds["single_site_step_time"])
    slow = xd.crossdomain(C23, state, crossdomain_strategy="pipeline", wan_bandwidth="25 Gbit/s")
    assert float(slow["selected_step_time"]) > float(ds["selected_step_time"])
