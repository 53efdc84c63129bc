"""Platform pooling simulator: loader, invariants, kernel against the NumPy reference, bad input."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.errors import InputError
from twin.platform import _reference as R
from twin.platform import simulate as S
from twin.platform.traces import Trace, load_openb, synthetic_openb, write_openb

REPO = Path(__file__).resolve().parents[2]
OPENB = REPO.parent / "shared" / "data" / "openb"
needs_openb = pytest.mark.skipif(not (OPENB / "openb_pod_list_default.csv").is_file(),
                                 reason="the openb trace is not beside the repository (../shared/data/openb)")


@pytest.fixture(scope="module")
def small():
    return synthetic_openb(n_nodes=40, n_pods=400, seed=3)


def _mini(nodes, pods, models=None):
    """A Trace from (cpu, mem, gpus) nodes and (cpu, mem, ngpu, milli) pods."""
    n, p = len(nodes), len(pods)
    models = models or ["A100"] * n
    return Trace(np.array([f"n{i}" for i in range(n)]), np.array([x[0] for x in nodes]), np.array([x[1] for x in nodes]),
                 np.array([x[2] for x in nodes]), np.array(models, dtype=object), np.array([f"p{i}" for i in range(p)]),
                 np.array([x[0] for x in pods]), np.array([x[1] for x in pods]), np.array([x[2] for x in pods]),
                 np.array([x[3] for x in pods]), np.array([""] * p, dtype=object), np.arange(p, dtype=float), -np.ones(p))


@needs_openb
def test_loader_reproduces_published_openb_statistics():
    st_ = load_openb(OPENB).statistics()
    assert (st_["gpu_nodes"], st_["gpus"], st_["pods"], st_["gpu_pods"], st_["fractional_pods"]) == (1213, 6212, 8152, 7064, 3078)
    assert st_["median_fraction_milli"] == 470


def test_sample_roundtrip(tmp_path, small):
    write_openb(small, tmp_path)
    back = load_openb(tmp_path)
    assert back.statistics() == small.statistics()
    assert (back.pod_milli == small.pod_milli).all()


@pytest.mark.parametrize("policy", S.POLICIES)
def test_kernel_matches_reference(small, policy):
    prep = S.prepare(small, "fractional")
    a = S.run_protocol(prep, policy, seed=5, max_pods=150)
    b = S.run_protocol(prep, policy, seed=5, max_pods=150, kernel=R.simulate)
    assert (a["place_node"] == b["place_node"]).all()
    assert (a["used"] == b["used"]).all()


def test_fgd_beats_random_and_pooling_beats_whole(small):
    prep_f = S.prepare(small, "fractional")
    prep_w = S.prepare(small, "whole")
    fgd = np.mean([S.allocation_curve(S.run_protocol(prep_f, "FGD", seed=s), [100], "served")[1][0] for s in range(3)])
    rnd = np.mean([S.allocation_curve(S.run_protocol(prep_f, "Random", seed=s), [100], "served")[1][0] for s in range(3)])
    whole = np.mean([S.allocation_curve(S.run_protocol(prep_w, "FGD", seed=s), [100], "served")[1][0] for s in range(3)])
    assert fgd > rnd
    assert fgd > whole + 5.0  # whole cards strand what fractional pods leave unused


def test_mig_and_hami_instances_per_card():
    one = [(10 ** 6, 10 ** 7, 1)]
    for mode, milli, expect in (("mig", 50, 7), ("fractional", 10, 100), ("whole", 10, 1)):
        tr = _mini(one, [(1, 1, 1, milli)] * 200)
        r = S.run_protocol(tr, "BestFit", mode, seed=0, ratio=5.0, max_pods=200)
        assert int(((r["status"] % 10) == 1).sum()) == expect


def test_remote_and_aggregate_modes_place_what_local_cannot():
    # node 0: GPUs but no CPU left for the pod; node 1: CPU only -> remote GPU
    tr = _mini([(1000, 10 ** 6, 1), (64000, 10 ** 6, 0)], [(8000, 10, 1, 1000)], models=["A100", ""])
    assert S.run_protocol(tr, "BestFit", "fractional", seed=0, ratio=1.0)["status"][0] == 0
    assert S.run_protocol(tr, "BestFit", "remote", seed=0, ratio=1.0)["status"][0] == 2
    # a 4-card pod on two 2-card nodes -> aggregated
    tr2 = _mini([(64000, 10 ** 6, 2), (64000, 10 ** 6, 2)], [(8000, 10, 4, 1000)])
    assert S.run_protocol(tr2, "FGD", "fractional", seed=0, ratio=1.0)["status"][0] == 0
    r = S.run_protocol(tr2, "FGD", "aggregate", seed=0, ratio=1.0)
    assert r["status"][0] == 3 and set(r["place_node"][0][:4]) == {0, 1}


def test_event_mode_releases_and_queues(small):
    r = S.run_events(small, "BestFit", "fractional", seed=1)
    assert (r["used"] >= 0).all() and (r["used"] <= r["capacity"]).all()
    ran = np.isfinite(r["wait"])
    assert ran.mean() > 0.9 and (r["wait"][ran] >= 0).all()
    # every pod that ran has left by the end: nothing is held
    assert r["used"][-1] == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10 ** 6), policy=st.sampled_from(S.POLICIES), mode=st.sampled_from(S.MODES),
       n_nodes=st.integers(1, 12), n_pods=st.integers(1, 120))
def test_invariants_random_clusters(seed, policy, mode, n_nodes, n_pods):
    tr = synthetic_openb(n_nodes=n_nodes, n_pods=n_pods, seed=seed)
    if (tr.pod_ngpu == 0).all():  # nothing to replay: a clear error, not a crash
        with pytest.raises(InputError, match="GPU pods"):
            S.run_protocol(tr, policy, mode, seed=seed)
        _COUNT["reached"] += 1
        return
    r = S.run_protocol(tr, policy, mode, seed=seed)
    prep = r["prep"]
    gl = r["final_gpu_left"]
    valid = prep.ngpus[:, None] > np.arange(gl.shape[1])
    assert (gl[valid] >= 0).all() and (gl[valid] <= prep.gcap).all()
    assert (r["final_cpu_left"] >= 0).all()
    assert (np.diff(r["used"]) >= 0).all() and (np.diff(r["arrived"]) >= 0).all()
    held = (prep.gcap - gl[valid]).sum()
    placed = (r["status"] % 10 >= 1) & (r["status"] % 10 <= 3)
    pods = r["pods"]
    give = prep.ngpu[pods] * np.where((prep.ngpu[pods] == 1) & (prep.milli[pods] < prep.gcap), prep.milli[pods], prep.gcap)
    assert held == give[placed].sum()  # every milli-GPU held belongs to a placed pod
    _COUNT["reached"] += 1


_COUNT = {"reached": 0}


def test_property_examples_reached_assertions():
    # run after the property test above (file order, -p no:randomly): most examples are checked
    assert _COUNT["reached"] >= 32


@pytest.mark.parametrize("bad, field", [
    ("policy", "policy"), ("mode", "mode"),
])
def test_unknown_names(small, bad, field):
    kw = {"policy": "BestFit", "mode": "fractional"}
    kw[bad] = "nonsense"
    with pytest.raises(InputError) as e:
        S.run_protocol(small, kw["policy"], kw["mode"], seed=0)
    assert field in str(e.value)


def _write(tmp_path, node_rows, pod_rows, pod_header="name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec"):
    (tmp_path / "openb_node_list_gpu_node.csv").write_text("sn,cpu_milli,memory_mib,gpu,model\n" + "\n".join(node_rows) + "\n")
    (tmp_path / "openb_pod_list_default.csv").write_text(pod_header + "\n" + "\n".join(pod_rows) + "\n")
    return tmp_path


@pytest.mark.parametrize("pods, header, expect", [
    (["p0,1000,10,1"], "name,cpu_milli,memory_mib,num_gpu", "misses column(s) gpu_milli"),
    (["p0,-1000,10,1,500,"], None, "row 2 column cpu_milli"),
    (["p0,1000,10,1,1500,"], None, "row 2 column gpu_milli"),
    (["p0,1000,10,2,500,"], None, "fraction on a multi-GPU pod"),
    (["p0,1000,10,1,500,H100"], None, "gpu_spec"),
    (["p0,abc,10,1,500,"], None, "a number"),
])
def test_bad_trace_rows(tmp_path, pods, header, expect):
    d = _write(tmp_path, ["n0,64000,262144,8,V100M32"], pods, header or "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec")
    with pytest.raises(InputError) as e:
        load_openb(d)
    assert expect in str(e.value)


def test_pod_that_never_fits_is_reported_not_a_crash(tmp_path):
    d = _write(tmp_path, ["n0,64000,262144,2,T4"], ["p0,1000,10,8,1000,", "p1,1000,10,1,500,"])
    r = S.run_protocol(load_openb(d), "FGD", "fractional", seed=0, ratio=1.0)
    sm = S.summary(r, at=100.0)
    assert sm["failed_pods"] >= 1 and np.isfinite(sm["allocation_rate"])


def test_missing_file_and_bad_ratio(tmp_path, small):
    with pytest.raises(InputError, match="does not exist"):
        load_openb(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="ratio"):
        S.run_protocol(small, "FGD", seed=0, ratio=-1)
    with pytest.raises(InputError, match="overcommit"):
        S.prepare(small, "overcommit", overcommit=9)


@pytest.mark.parametrize("mode", S.MODES)
def test_event_mode_returns_every_resource(mode):
    # a tight cluster so that remote and aggregated placements happen, then everything leaves
    tr = synthetic_openb(n_nodes=6, n_pods=300, seed=11, load=1.5)
    r = S.run_events(tr, "FGD", mode, seed=2, queue_limit=16)
    prep = r["prep"]
    assert r["used"][-1] == 0
    assert (r["final_cpu_left"] == prep.cpu_cap).all()
    gl = r["final_gpu_left"]
    valid = prep.ngpus[:, None] > np.arange(gl.shape[1])
    assert (gl[valid] == prep.gcap).all()
    assert (r["used"] >= 0).all()


def test_event_mode_aggregated_pod_leaves_cleanly():
    tr = _mini([(64000, 10 ** 6, 2), (64000, 10 ** 6, 2)], [(8000, 100, 4, 1000), (4000, 100, 1, 500)])
    tr.pod_create[:] = [0.0, 10.0]
    tr.pod_delete[:] = [100.0, 50.0]
    r = S.run_events(tr, "BestFit", "aggregate", seed=0)
    assert r["status"][0] == 13  # aggregated over both nodes, then finished
    assert r["status"][1] == 0   # nothing left for the second pod while the first ran; it left unserved
    assert (r["final_cpu_left"] == 64000).all() and (r["final_gpu_left"] == 1000).all()


def _same_as_direct_replay(prep, policy, seed, ratios):
    full = S.run_protocol(prep, policy, seed=seed, ratio=1.3)
    for ratio in ratios:
        a = S.run_protocol(prep, policy, seed=seed, ratio=ratio)
        b = S.prefix(full, ratio)
        for k in ("status", "pods", "place_node", "place_gpu", "cpu_node", "used", "arrived", "served",
                  "final_gpu_left", "final_cpu_left"):
            assert np.array_equal(a[k], b[k]), (policy, ratio, k)
        assert S.summary(a, 100 * ratio) == S.summary(b, 100 * ratio)
    return full


@pytest.mark.parametrize("mode", S.MODES)
def test_prefix_of_a_longer_run_is_the_shorter_run(mode):
    # the twin reads its run at the scenario's load off the grid's run to saturation: it must be
    # the run a direct replay to that load gives, final node state included
    tr = synthetic_openb(n_nodes=8, n_pods=300, seed=5, load=1.5)
    prep = S.prepare(tr, mode)
    for policy in ("FGD", "BestFit", "Random"):
        full = _same_as_direct_replay(prep, policy, 9, (0.4, 1.0, 1.3))
    with pytest.raises(InputError, match="ratio"):
        S.prefix(full, 1.5)  # beyond what the run reached


def test_prefix_puts_aggregated_pods_cpu_on_each_card_node():
    # 3-card pods on 4-card nodes: with 1-card pods spread at random some gather cards across
    # nodes, their CPU split per card (the synthetic sample rarely aggregates)
    tr = _mini([(32000, 10 ** 6, 4)] * 4, [(2000, 100, 1, 1000)] * 8 + [(4000, 100, 3, 1000)] * 4 + [(1000, 100, 1, 300)] * 8)
    full = _same_as_direct_replay(S.prepare(tr, "aggregate"), "Random", 0, (1.0,))
    assert (S.prefix(full, 1.0)["status"] % 10 == 3).any()


def test_nodes_frag_kernel_matches_reference(small):
    r = S.run_protocol(S.prepare(small, "fractional"), "FGD", seed=1, ratio=0.8)
    prep = r["prep"]
    gl = r["final_gpu_left"]
    valid = prep.ngpus[:, None] > np.arange(gl.shape[1])
    ref = R.node_frag(r["final_cpu_left"], np.where(valid, gl, 0), prep.tbit, *prep.typical)
    assert np.allclose(S.fragmentation(r), ref, rtol=1e-12, atol=0)
    assert ref.sum() > 0
