"""Model zoo and closed-form counts (parameters, FLOPs, activations)."""

import pytest
from hypothesis import given, settings, strategies as st

from twin.errors import InputError
from twin.training import flops_per_iteration, get_model, model_names, parameter_count
from twin.training import formulas as F

GPT_ROWS = ["megatron-1.7b", "megatron-18.4b", "megatron-145.6b", "megatron-1t", "megatron-529.6b"]


def test_zoo_has_the_issue_models_and_sources():
    names = set(model_names())
    for n in ("gpt3-175b", "megatron-1.7b", "megatron-18.4b", "megatron-145.6b", "megatron-1t", "llama2-70b",
              "llama3-8b", "llama3-70b", "llama3-405b", "mixtral-8x7b", "resnet-50"):
        assert n in names
    for n in names:
        assert get_model(n).source.strip()


def test_unknown_model_names_field_and_closest():
    with pytest.raises(InputError) as e:
        get_model("llama3-7b")
    assert e.value.field == "workload.model"
    assert "llama3-8b" in str(e.value)


@pytest.mark.parametrize("name", GPT_ROWS)
def test_general_count_matches_sc21_closed_form(name):
    m = get_model(name)
    closed = F.sc21_parameter_count(m.layers, m.hidden, m.vocab, m.sequence_length)
    # the general count adds only the final LayerNorm (2h)
    assert F.parameter_count(m) - closed == pytest.approx(2 * m.hidden, rel=1e-6)
    assert F.parameter_count(m) == pytest.approx(m.params_published, rel=0.03)  # Table 1 labels are rounded (1.65B -> "1.7B")


@pytest.mark.parametrize("name", GPT_ROWS)
def test_flops_match_sc21_formula_with_and_without_recompute(name):
    m = get_model(name)
    B = 512
    for rc, flag in (("full", True), ("none", False)):
        want = F.sc21_flops(B, m.layers, m.hidden, m.vocab, m.sequence_length, recompute=flag)
        got = flops_per_iteration(name, B, rc).to("FLOP").magnitude
        assert got == pytest.approx(want, rel=1e-9)


def test_moe_active_parameters_and_published_counts():
    m = get_model("mixtral-8x7b")
    assert F.parameter_count(m, active=True) == pytest.approx(m.active_params_published, rel=0.01)
    for n in ("llama3-8b", "llama3-70b", "llama3-405b", "llama2-70b", "llama2-7b"):
        mm = get_model(n)
        assert F.parameter_count(mm) == pytest.approx(mm.params_published, rel=0.02), n
    assert parameter_count("gpt3-175b").magnitude == pytest.approx(175e9, rel=0.01)


def test_activation_memory_korthikanti_forms():
    m = get_model("megatron-145.6b")
    s, h, a, b, t = m.sequence_length, m.hidden, m.heads, 1, 8
    stats = 2 * 8 / h  # two LayerNorms' fp32 mean and 1/std per token, beside Korthikanti's 34 s b h
    none = F.activation_bytes_per_layer(m, b, t, sp=False, recompute="none", attention="unfused")
    assert none == pytest.approx(s * b * h * (10 + stats + 24 / t + 5 * a * s / (h * t)))
    sp = F.activation_bytes_per_layer(m, b, t, sp=True, recompute="none", attention="unfused")
    assert sp == pytest.approx(s * b * h / t * (34 + stats + 5 * a * s / h))
    sel = F.activation_bytes_per_layer(m, b, t, sp=True, recompute="selective", attention="unfused")
    assert sel == pytest.approx((34 + stats) * s * b * h / t)
    full = F.activation_bytes_per_layer(m, b, t, sp=False, recompute="full")
    assert full == pytest.approx(2 * s * b * h)


@settings(max_examples=30, deadline=None)
@given(b1=st.integers(1, 4096), b2=st.integers(1, 4096), name=st.sampled_from(["gpt3-175b", "llama3-70b", "mixtral-8x7b"]))
def test_flops_linear_in_batch_and_recompute_order(b1, b2, name):
    f = lambda b, rc: flops_per_iteration(name, b, rc).magnitude  # noqa: E731
    assert f(b1 + b2, "none") == pytest.approx(f(b1, "none") + f(b2, "none"), rel=1e-12)
    assert f(b1, "none") < f(b1, "selective") < f(b1, "full")
    assert f(b1, "full") / f(b1, "none") < 4 / 3 + 1e-9
