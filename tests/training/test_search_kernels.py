"""The numba kernels against the plain reference; search invariants."""
import functools
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from twin import catalog
from twin.scenario import load_scenario
from twin.training import _kernels as K
from twin.training import _reference as R
from twin.training import search
from twin.training.search import pareto_front, prepare, run_kernel

SC21 = load_scenario("megatron-sc21-a100-3072")
C23 = load_scenario("cluster-2023")
AB0 = (2e-5, 5e-11)  # a latency and an inverse bandwidth: they change times, never a plan's validity


def _split(grid, prepared, ep=1):
    """Every plan of ``grid`` (tp, pp, dp, mb, v, rc, zero, sp): those the kernel accepts, to draw
    from (valid by construction, so the comparisons are reached), and the rejected ones."""
    mc, hw = prepared
    ok, rejected = [], []
    for tp, pp, dp, mb, v, rc, zero, sp in itertools.product(*grid):
        out = np.zeros(K.N_OUT)
        code = K.evaluate_plan(mc, hw, tp, pp, dp, ep, mb, v, rc, zero, sp, *AB0, *AB0, *AB0, *AB0, out)
        (ok if code == 0 else rejected).append((tp, pp, dp, mb, v, rc, zero, sp))
    return ok, rejected


def _kernel_equals_reference(mc, hw, plan, ab, extra=()):
    """One plan through the kernel and the reference: same code, same step time and memory (and ``extra``)."""
    tp, pp, dp, mb, v, rc, zero, sp = plan
    out = np.zeros(K.N_OUT)
    code = K.evaluate_plan(mc, hw, tp, pp, dp, 1, mb, v, rc, zero, sp, *ab, *ab, *ab, *ab, out)
    rcode, res = R.plan_reference(mc, hw, tp, pp, dp, 1, mb, v, rc, zero, sp, {"tp": ab, "dp": ab, "pp": ab, "ep": ab})
    assert code == rcode
    if res is not None:
        for i, key in ((K.O_STEP, "step"), (K.O_M_TOTAL, "m_total"), *extra):
            assert out[i] == pytest.approx(res[key], rel=1e-12), key


def _same_codes(prepared, plans, every=53):
    """The kernel and the reference reject the same plans for the same reason (a fixed sample)."""
    mc, hw = prepared
    for tp, pp, dp, mb, v, rc, zero, sp in plans[::every]:
        out = np.zeros(K.N_OUT)
        code = K.evaluate_plan(mc, hw, tp, pp, dp, 1, mb, v, rc, zero, sp, *AB0, *AB0, *AB0, *AB0, out)
        rcode, _ = R.plan_reference(mc, hw, tp, pp, dp, 1, mb, v, rc, zero, sp,
                                    {"tp": AB0, "dp": AB0, "pp": AB0, "ep": AB0})
        assert code == rcode, (tp, pp, dp, mb, v, rc, zero, sp)


@pytest.mark.parametrize("sc,model,cards", [(SC21, None, 64), (C23, "mixtral-8x7b", 16), (C23, "llama3-8b", 16),
                                            (load_scenario("heterogeneous-2021"), None, None)])
def test_kernel_search_equals_reference(sc, model, cards):
    m, gb, n, mc, hw, lists, tabs, size = prepare(sc, model, max_cards=cards, max_micro_batch=4)
    plans, step, mem, code = run_kernel(mc, hw, lists, tabs, size)
    ref = R.search_plans(mc, hw, lists, tabs)
    assert len(ref) == len(code)
    assert np.array_equal(np.array([r[0] for r in ref]), plans)
    assert np.array_equal(np.array([r[1] for r in ref]), code)
    np.testing.assert_allclose(np.array([r[2] for r in ref]), step, rtol=1e-12)
    np.testing.assert_allclose(np.array([r[3] for r in ref]), mem, rtol=1e-12)


@functools.lru_cache(maxsize=None)
def _gpt3_on_c23():
    m, gb, n, mc, hw, lists, tabs, size = prepare(C23, "gpt3-175b")
    prepared = (mc, hw)
    grid = ([1, 2, 4, 8], [1, 2, 4, 8], range(1, 17), [1, 2, 4], [1, 2], [0, 1, 2], [0, 1, 2, 3], [0, 1])
    return prepared, *_split(grid, prepared)


def test_single_plan_rejections_match_reference():
    prepared, ok, rejected = _gpt3_on_c23()
    assert len(ok) >= 100 and len(rejected) >= 100
    _same_codes(prepared, rejected)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), ab=st.tuples(st.floats(0, 1e-4), st.floats(1e-12, 1e-9)))
def test_single_plan_kernel_equals_reference(data, ab):
    (mc, hw), ok, _ = _gpt3_on_c23()
    tp, pp, dp, mb, v, rc, zero, sp = data.draw(st.sampled_from(ok), label="plan")
    _kernel_equals_reference(mc, hw, (tp, pp, dp, mb, v, rc, zero, sp), ab)


def test_search_ranks_and_pareto():
    ds = search(SC21, top=10)
    st_ = ds.step_time.values
    assert np.all(np.diff(st_) >= 0)
    assert np.all(ds.cards.values == 3072)
    cap = catalog.accelerator(SC21.compute.accelerator).hbm_capacity.to("GB").magnitude  # 80 GiB = 85.9 GB
    assert np.all(ds.memory.values <= cap + 1e-9)
    pc, ps = ds.pareto_cards.values, ds.pareto_step_time.values
    assert np.all(np.diff(pc) > 0) and np.all(np.diff(ps) < 0)
    assert int(ds.rejected.sum()) == ds.attrs["candidates"]
    assert int(ds.rejected.sel(reason="ok")) == ds.attrs["valid"]
    # the best plan is at least as fast as the published one
    from twin.training import estimate

    assert st_[0] <= float(estimate(SC21).step_time) * (1 + 1e-9)


def test_pareto_front_small():
    cards = np.array([8, 8, 16, 32, 32, 64])
    step = np.array([10.0, 9.0, 9.5, 4.0, 5.0, 4.0])
    idx = pareto_front(cards, step)
    assert list(idx) == [1, 3]


def test_alpha_beta_is_physical():
    from twin.training.hardware import alpha_beta

    a_in, b_in = alpha_beta(SC21, "all_reduce", 8, 1)
    a_out, b_out = alpha_beta(SC21, "all_reduce", 8, 8)
    assert a_in >= 0 and b_in > 0
    assert 0 < b_in < b_out  # NVLink inside the node beats the 25 GB/s per-card NIC share
    assert alpha_beta(SC21, "all_reduce", 1, 1) == (0.0, 0.0)


def test_every_candidate_has_its_reason():
    ds = search(C23, model="llama3-8b", max_cards=64, all_candidates=True)
    reasons = ds.cand_reason.values
    assert len(reasons) == ds.attrs["candidates"]
    counts = dict(zip(ds.reason.values, ds.rejected.values))
    for r, c in counts.items():
        assert int((reasons == r).sum()) == int(c)
    bad = ds.where(ds.cand_reason == "global batch not a multiple of dp x micro_batch", drop=True)
    assert np.all(1536 % (bad.cand_dp.values * bad.cand_micro_batch.values) != 0)
    mem = ds.where(ds.cand_reason == "memory per card exceeds HBM", drop=True)
    assert np.all(mem.cand_memory.values > 80)


@functools.lru_cache(maxsize=None)
def _uneven(model):
    m, gb, n, mc, hw, lists, tabs, size = prepare(load_scenario("superpool-2025"), model, global_batch=2048,
                                                  uneven_pipeline=True)
    prepared = (mc, hw)
    grid = ([1, 2, 4, 8], [1, 3, 5, 7, 16, 32], range(1, 9), [1, 2], [1, 2, 3], [0, 1, 2], [0, 1, 2, 3], [1])
    return prepared, *_split(grid, prepared)


@pytest.mark.parametrize("model", ["llama3-405b", "mixtral-8x7b", "gpt3-175b"])
def test_uneven_pipeline_rejections_match_reference(model):
    prepared, ok, rejected = _uneven(model)
    assert len(ok) >= 50
    _same_codes(prepared, rejected)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), model=st.sampled_from(["llama3-405b", "mixtral-8x7b", "gpt3-175b"]),
       ab=st.tuples(st.floats(0, 1e-4), st.floats(1e-12, 1e-9)))
def test_uneven_pipeline_kernel_equals_reference(data, model, ab):
    (mc, hw), ok, _ = _uneven(model)
    tp, pp, dp, mb, v, rc, zero, sp = data.draw(st.sampled_from(ok), label="plan")
    _kernel_equals_reference(mc, hw, (tp, pp, dp, mb, v, rc, zero, sp), ab)


@pytest.mark.parametrize("L,pp,v", [(126, 16, 1), (126, 14, 1), (96, 8, 2), (105, 35, 3), (60, 7, 2), (126, 100, 1)])
def test_stage_layers_cover_the_model(L, pp, v):
    """Uneven split: chunks of ceil(L/(pp v)); the end stages give up the shortfall; the layers add up
    (Llama 3 405B: 126 layers on 16 stages = 14 x 8 + 2 x 7)."""
    first, mid, last = K.stage_layers(float(L), pp, v, 1.0)
    assert (first, mid, last) == R.stage_layers(float(L), pp, v, True)
    assert first <= mid and last <= mid and first >= v and last >= v
    if pp >= 2 and (pp - 2) * mid + first + last >= L:
        assert mid == v * -(-L // (pp * v))
    if L % (pp * v) == 0:
        assert first == mid == last == L / pp
    if (L, pp, v) == (126, 16, 1):
        assert (first, mid, last) == (7, 8, 7)
    even = K.stage_layers(float(L), pp, v, 0.0)
    assert even == (L / pp,) * 3


H100_FP8 = load_scenario({"compute": {"accelerator": "H100-SXM5-80GB", "precision": "fp8"}})


@functools.lru_cache(maxsize=None)
def _fp8(model):
    m, gb, n, mc, hw, lists, tabs, size = prepare(H100_FP8, model, global_batch=1024)
    prepared = (mc, hw)
    grid = ([1, 2, 4, 8], [1, 2, 4], range(1, 9), [1, 2], [1], [0, 1, 2], [0, 1, 2, 3], [0, 1])
    return prepared, *_split(grid, prepared)


@pytest.mark.parametrize("model", ["gpt3-175b", "mixtral-8x7b", "llama3-8b"])
def test_fp8_rejections_match_reference(model):
    prepared, ok, rejected = _fp8(model)
    assert prepared[1][K.HW_FP8] == 1 and len(ok) >= 50
    _same_codes(prepared, rejected)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), model=st.sampled_from(["gpt3-175b", "mixtral-8x7b", "llama3-8b"]),
       ab=st.tuples(st.floats(0, 1e-4), st.floats(1e-12, 1e-9)))
def test_fp8_kernel_equals_reference(data, model, ab):
    """FP8 training (casts, 16-bit attention and logits, fp8 weight copies): kernel == reference."""
    (mc, hw), ok, _ = _fp8(model)
    tp, pp, dp, mb, v, rc, zero, sp = data.draw(st.sampled_from(ok), label="plan")
    _kernel_equals_reference(mc, hw, (tp, pp, dp, mb, 1, rc, zero, sp), ab,
                             ((K.O_COMPUTE, "compute"), (K.O_M_WEIGHTS, "m_weights")))


SEARCH_CASES = {  # small grids of every kind of plan the search enumerates
    "sc21-1t": (SC21, None, dict(max_cards=64)),
    "moe": (C23, "mixtral-8x7b", dict(max_cards=16)),
    "gqa": (C23, "llama3-8b", dict(max_cards=16)),
    "cnn": (load_scenario("heterogeneous-2021"), None, {}),
    "context-parallel": (C23, "llama3-8b", dict(sequence_length=32768, global_batch=16, max_cards=16)),
    "uneven": (load_scenario("superpool-2025"), "llama3-405b", dict(global_batch=2048, uneven_pipeline=True,
                                                                    max_cards=64)),
    "fp8-moe": (H100_FP8, "mixtral-8x7b", dict(global_batch=1024, max_cards=16)),
}


@functools.lru_cache(maxsize=None)
def _searched(case, no_tier=False):
    sc, model, kw = SEARCH_CASES[case]
    m, gb, n, mc, hw, lists, tabs, size = prepare(sc, model, max_micro_batch=4, **kw)
    if no_tier:
        hw = hw.copy()
        hw[K.HW_OFF_BW] = 0.0
    return (mc, hw, lists, tabs), run_kernel(mc, hw, lists, tabs, size)


@pytest.mark.parametrize("case,no_tier", [(c, False) for c in SEARCH_CASES] + [("gqa", True)])
def test_numpy_search_equals_kernel(case, no_tier):
    """The benchmark's vectorised reference (twin.training._reference.search_plans_numpy): the same
    plans in the same order, the same rejection codes, the same step time and memory of every plan."""
    args, (plans, step, mem, code) = _searched(case, no_tier)
    r_plans, r_step, r_mem, r_code = R.search_plans_numpy(*args, block=4096)  # several blocks
    assert np.array_equal(r_plans, plans)
    assert np.array_equal(r_code, code)
    np.testing.assert_allclose(r_step, step, rtol=1e-12, atol=0)
    np.testing.assert_allclose(r_mem, mem, rtol=1e-12, atol=0)
    assert len(set(code.tolist())) >= (1 if case == "cnn" else 4)  # several rejection reasons reached
    if no_tier:
        assert np.all(code[plans[:, K.P_OFF] > 0] != K.OK)


def test_numpy_search_equals_plain_reference():
    (mc, hw, lists, tabs), _ = _searched("context-parallel")
    rows = R.search_plans(mc, hw, lists, tabs)
    plans, step, mem, code = R.search_plans_numpy(mc, hw, lists, tabs)
    assert np.array_equal(np.array([r[0] for r in rows]), plans)
    assert np.array_equal(np.array([r[1] for r in rows]), code)
    np.testing.assert_allclose(np.array([r[2] for r in rows]), step, rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.array([r[3] for r in rows]), mem, rtol=1e-12, atol=0)
