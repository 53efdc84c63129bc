"""estimate(): invariants of the step-time model and bad input naming its field."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from twin.errors import InputError
from twin.scenario import load_scenario
from twin.training import COMPONENTS, estimate, search
from twin.training.published import published_run

SC21 = load_scenario("megatron-sc21-a100-3072")
C23 = load_scenario("cluster-2023")


def test_dataset_shape_units_and_sum():
    ds = estimate(SC21)
    assert list(ds.breakdown.component.values) == list(COMPONENTS)
    assert float(ds.breakdown.sum()) == pytest.approx(float(ds.step_time), rel=1e-12)
    assert ds.step_time.attrs["units"] == "s"
    assert ds.achieved_tflops.attrs["units"] == "TFLOP / s"
    assert 0 < float(ds.mfu) < float(ds.hfu) <= 1
    assert 0 < float(ds.gpu_utilisation) <= 1
    assert float(ds.memory.sum()) == pytest.approx(float(ds.memory_total))
    assert bool(ds.fits)


def test_published_1t_plan_has_the_interleaving_free_bubble():
    ds = estimate(SC21)
    m = int(ds.micro_batches)
    assert m == 3072 // 6
    comp = float(ds.breakdown.sel(component="compute")) + float(ds.breakdown.sel(component="tp_comm")) + \
        float(ds.breakdown.sel(component="pp_comm"))
    # bubble = (p - 1) / (v m) of the pipelined work (Narayanan et al. eq. 1)
    assert float(ds.breakdown.sel(component="bubble")) == pytest.approx(comp * 63 / m, rel=1e-9)


@settings(max_examples=15, deadline=None)
@given(v=st.sampled_from([1, 2, 4]), cf=st.floats(0.5, 1.5))
def test_interleaving_shrinks_bubble_and_clock_speeds_up(v, cf):
    a = estimate(C23, pp=8, virtual_stages=1)
    b = estimate(C23, pp=8, virtual_stages=v)
    assert float(b.breakdown.sel(component="bubble")) <= float(a.breakdown.sel(component="bubble")) * (1 + 1e-9)
    slow = estimate(C23, clock_factor=cf)
    fast = estimate(C23, clock_factor=cf * 1.2)
    assert float(fast.step_time) < float(slow.step_time)


@pytest.mark.parametrize("zero", [0, 1, 2, 3])
def test_zero_stages_shard_state(zero):
    base = estimate(C23, zero_stage=0)
    z = estimate(C23, zero_stage=zero)
    assert float(z.memory.sel(memory_part="optimizer")) <= float(base.memory.sel(memory_part="optimizer"))
    if zero >= 2:
        assert float(z.memory.sel(memory_part="gradients")) < float(base.memory.sel(memory_part="gradients"))
    if zero >= 3:
        assert float(z.memory.sel(memory_part="weights")) < float(base.memory.sel(memory_part="weights"))


def test_recompute_trades_memory_for_time():
    none = estimate(C23, recompute="none")
    full = estimate(C23, recompute="full")
    assert float(full.memory.sel(memory_part="activations")) < float(none.memory.sel(memory_part="activations"))
    assert float(full.step_time) > float(none.step_time)


def test_bad_split_names_field():
    with pytest.raises(InputError) as e:
        estimate(SC21, pp=5, dp=0)
    assert e.value.field == "workload.pp"
    with pytest.raises(InputError) as e:
        estimate(C23, tp=3, pp=1, dp=0)
    assert e.value.field == "workload.tp"


def test_batch_smaller_than_dp_times_micro_batch():
    with pytest.raises(InputError) as e:
        estimate(SC21, global_batch=4, micro_batch=1)
    assert e.value.field == "workload.global_batch"
    assert "dp x micro_batch" in str(e.value)


def test_other_bad_inputs():
    with pytest.raises(InputError) as e:
        estimate(C23, model="gpt-5")
    assert e.value.field == "model"
    with pytest.raises(InputError):
        estimate(C23, clock_factor=0)
    with pytest.raises(InputError) as e:
        estimate(C23, tp=16, pp=1)
    assert e.value.field == "workload.tp"
    with pytest.raises(InputError) as e:
        estimate(C23, recompute="sometimes")
    assert e.value.field == "workload.recompute"
    with pytest.raises(InputError) as e:
        estimate(C23, bogus=1)
    assert e.value.field == "workload.bogus"


def test_model_that_cannot_fit_anywhere():
    het = load_scenario("heterogeneous-2021")  # 256 x V100 32 GB
    with pytest.raises(InputError) as e:
        search(het, model="megatron-1t", global_batch=512, offload_modes=("none",))
    assert e.value.field == "workload.model"
    assert "memory" in str(e.value)
    small = estimate(het, model="llama3-405b", tp=8, pp=1, micro_batch=1, global_batch=512)
    assert not bool(small.fits)


def test_published_runs_are_the_paper_plans():
    sc, plan = published_run("megatron-145.6b")
    assert sc.cards == 1536 and plan["tp"] == 8 and plan["pp"] == 8 and plan["dp"] == 24
    ds = estimate(sc)
    assert ds.attrs["plan_virtual_stages"] == 2


_LAYERS = {"gpt3-175b": 96, "llama3-8b": 32, "mixtral-8x7b": 32, "megatron-18.4b": 40}


@settings(max_examples=40, deadline=None)
@given(data=st.data(), model=st.sampled_from(sorted(_LAYERS) + ["resnet-50"]), mb=st.integers(1, 4),
       k=st.integers(1, 4), rc=st.sampled_from(["none", "selective", "full"]), zero=st.integers(0, 3))
def test_any_valid_plan_gives_finite_numbers_and_mfu_below_one(data, model, mb, k, rc, zero):
    """Valid by construction: tp divides every zoo model's heads and KV heads, pp its layers, and the
    global batch is a multiple of dp x micro-batch (dp = cards / (tp pp)); a CNN runs data-parallel."""
    import math

    if model == "resnet-50":
        tp = pp = 1
    else:
        tp = data.draw(st.sampled_from([1, 2, 4, 8]), label="tp")
        pp = data.draw(st.sampled_from([p for p in (1, 2, 4, 8) if _LAYERS[model] % p == 0]), label="pp")
    dp = C23.cards // (tp * pp)
    ds = estimate(C23, model=model, tp=tp, pp=pp, dp=dp, micro_batch=mb, global_batch=dp * mb * k, recompute=rc,
                  zero_stage=zero)
    for key in ("step_time", "mfu", "achieved_tflops", "memory_total", "gpu_utilisation"):
        v = float(ds[key])
        assert math.isfinite(v) and v > 0, key
    assert float(ds.mfu) < 1


@settings(max_examples=60, deadline=None)
@given(tp=st.integers(1, 20), pp=st.integers(1, 20), mb=st.integers(1, 8), gb=st.integers(1, 4096),
       rc=st.sampled_from(["none", "selective", "full"]), zero=st.integers(0, 3),
       model=st.sampled_from(["gpt3-175b", "llama3-8b", "mixtral-8x7b", "megatron-18.4b", "resnet-50"]))
def test_invalid_plan_gives_a_named_input_error(tp, pp, mb, gb, rc, zero, model):
    """Arbitrary invalid plans: the property is the named error; valid plans are checked in
    test_any_valid_plan_gives_finite_numbers_and_mfu_below_one."""
    with pytest.raises(InputError) as err:  # dp = 0 alone makes every one of these plans invalid
        estimate(C23, model=model, tp=tp, pp=pp, dp=0, micro_batch=mb, global_batch=gb, recompute=rc, zero_stage=zero)
    assert err.value.field.startswith("workload.")


@pytest.mark.parametrize("preset", ["heterogeneous-2021", "cluster-2023", "superpool-2025", "megatron-sc21-a100-3072"])
def test_evaluate_every_preset(preset):
    from twin.core import Twin

    t = Twin(preset)
    t.run(["training"])
    ds = t.state["training/results"].to_dataset()
    assert float(ds.step_time) > 0
    assert float(ds.step_time_nominal) <= float(ds.step_time) + 1e-12
    assert float(ds.clock_factor) == 1.0  # first pass: nothing fed back yet


def _fp8_pair(model, cards, **plan):
    from twin.training.published import plan_run

    kw = dict(dict(tp=1, pp=1, dp=0, micro_batch=1, recompute="none", sequence_parallel=False, zero_stage=1,
                   attention="flash", dp_overlap=True), **plan)
    return (plan_run(model, "H100-SXM5-80GB", cards, precision="bf16", **kw),
            plan_run(model, "H100-SXM5-80GB", cards, precision="fp8", **kw))


@pytest.mark.parametrize("model,cards,plan", [
    ("gpt3-175b", 64, dict(tp=8, pp=8, global_batch=64, sequence_parallel=True)),
    ("llama2-70b", 32, dict(tp=8, pp=4, global_batch=64, sequence_parallel=True)),
    ("llama2-7b", 8, dict(global_batch=64, sequence_length=4096))])
def test_fp8_is_faster_than_bf16_but_below_the_peak_ratio(model, cards, plan):
    """Large GEMM-bound models: FP8 speeds the step up, but by less than the FP8 / BF16 peak ratio (2x on
    H100) and less than the GEMMs alone would (attention, logits and element-wise work stay 16-bit, and
    the casts add HBM traffic)."""
    from twin.compute import peak_rate, training_parameters

    b16, f8 = _fp8_pair(model, cards, **plan)
    t16, t8 = float(b16.step_time), float(f8.step_time)
    speedup = t16 / t8
    op16 = training_parameters("H100-SXM5-80GB", "bf16")
    op8 = training_parameters("H100-SXM5-80GB", "fp8")
    gemm_ratio = op8["peak"] * op8["gemm_efficiency"] / (op16["peak"] * op16["gemm_efficiency"])
    assert speedup > 1.15
    assert speedup < gemm_ratio < peak_rate("H100-SXM5-80GB", "fp8") / peak_rate("H100-SXM5-80GB", "bf16") + 1e-9
    # fp8 weight copies and transposes add memory; the fp8-saved GEMM inputs take activation memory away
    assert float(f8.memory.sel(memory_part="weights")) > float(b16.memory.sel(memory_part="weights"))
    assert float(f8.memory.sel(memory_part="activations")) < float(b16.memory.sel(memory_part="activations"))


def test_fp8_casts_cost_time_in_proportion_to_their_bytes():
    """The cast traffic is bytes / HBM bandwidth: more bytes per cast, a longer step; none, a shorter one."""
    from twin.training import _kernels as K
    from twin.training.search import prepare

    sc = load_scenario({"compute": {"accelerator": "H100-SXM5-80GB", "precision": "fp8"}})
    m, gb, n, mc, hw, lists, tabs, size = prepare(sc, "llama2-7b", global_batch=64)
    steps = []
    for cast in (0.0, hw[K.HW_CAST_B], 2 * hw[K.HW_CAST_B]):
        h = hw.copy()
        h[K.HW_CAST_B] = cast
        out = np.zeros(K.N_OUT)
        assert K.evaluate_plan(mc, h, 1, 1, 8, 1, 1, 1, 0, 1, 0, 0.0, 0.0, 1e-5, 1e-11, 0.0, 0.0, 0.0, 0.0, out) == K.OK
        steps.append(out[K.O_STEP])
    assert steps[0] < steps[1] < steps[2]
    # linear in the bytes (the cast is memory-bound): equal increments
    assert steps[2] - steps[1] == pytest.approx(steps[1] - steps[0], rel=1e-9)
