"""Activation memory per architecture (Korthikanti et al. 2022, term by term): flash attention, grouped-query
attention, dropout masks, SwiGLU, norms; the kernel and its reference agree on the activations they store."""
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from twin.scenario import load_scenario
from twin.training import _kernels as K
from twin.training import _reference as R
from twin.training import formulas as F
from twin.training.models import get_model
from twin.training.search import prepare

GPT = get_model("gpt3-175b")
LLAMA = get_model("llama3-70b")


def per_layer(m, b=1, t=8, sp=True, rc="none", att="unfused"):
    return F.activation_bytes_per_layer(m, b, t, sp=sp, recompute=rc, attention=att)


@pytest.mark.parametrize("m", [GPT, LLAMA])
@pytest.mark.parametrize("sp", [False, True])
def test_flash_attention_removes_the_s2_term(m, sp):
    """Unfused attention stores c_s2 a s^2 b / t (softmax output, and with dropout its mask and output);
    flash attention stores only a 4-byte log-sum-exp per head and token: memory becomes linear in s."""
    t, b = 8, 2
    for s in (2048, 8192):
        mm = m.with_sequence_length(s)
        _, _, cs2 = F.activation_coefficients(mm)
        gap = per_layer(mm, b, t, sp) - per_layer(mm, b, t, sp, att="flash")
        assert gap == pytest.approx(cs2 * mm.heads * s * s * b / t - F.FLASH_LSE_BYTES * mm.heads * s * b / t)
    flash = [per_layer(m.with_sequence_length(s), b, t, sp, att="flash") for s in (2048, 4096, 8192)]
    assert flash[1] / flash[0] == pytest.approx(2.0) and flash[2] / flash[1] == pytest.approx(2.0)
    unfused = [per_layer(m.with_sequence_length(s), b, t, sp) for s in (2048, 4096)]
    assert unfused[1] / unfused[0] > 2.0 + 1e-3
    # selective recomputation of unfused attention drops the same s^2 term (and keeps no log-sum-exp)
    assert per_layer(m, b, t, sp, rc="selective") == pytest.approx(
        per_layer(m, b, t, sp, att="flash") - F.FLASH_LSE_BYTES * m.heads * m.sequence_length * b / t)


@pytest.mark.parametrize("kv", [1, 8, 32])
def test_grouped_query_attention_stores_k_and_v_of_the_kv_heads_only(kv):
    s, h, a, b, t = LLAMA.sequence_length, LLAMA.hidden, LLAMA.heads, 1, 8
    full = dataclasses.replace(LLAMA, kv_heads=a)
    gqa = dataclasses.replace(LLAMA, kv_heads=kv)
    saved = per_layer(full, b, t, att="flash") - per_layer(gqa, b, t, att="flash")
    assert saved == pytest.approx(4 * s * b * h / t * (1 - kv / a))   # K and V: 2 B each, h kv / a wide
    assert saved > 0


@pytest.mark.parametrize("att", ["unfused", "flash"])
@pytest.mark.parametrize("sp", [False, True])
def test_no_dropout_removes_the_masks(att, sp):
    """Dropout keeps two 1-byte residual masks (s b h, split only under SP) and, unfused, the attention
    mask and dropout output (3 a s^2 b / t); Llama-family models train without dropout."""
    s, h, a, b, t = GPT.sequence_length, GPT.hidden, GPT.heads, 2, 4
    nodrop = dataclasses.replace(GPT, dropout=False)
    gap = per_layer(GPT, b, t, sp, att=att) - per_layer(nodrop, b, t, sp, att=att)
    want = 2 * s * b * h / (t if sp else 1) + (3 * a * s * s * b / t if att == "unfused" else 0.0)
    assert gap == pytest.approx(want)
    assert get_model("llama3-405b").dropout is False and get_model("mixtral-8x7b").dropout is False
    assert GPT.dropout is True


def test_mlp_keeps_up_projection_output_and_activation_output():
    """GeLU: GeLU input (f) and output (f), 4 f/h (16 for f = 4h, Korthikanti's count); SwiGLU: gate and
    up (2f) and the product (f), 6 f/h: one extra f-wide tensor over GeLU at equal f, not two."""
    cu, ct, _ = F.activation_coefficients(GPT)
    assert ct == pytest.approx(24.0) and cu == pytest.approx(10 + 16 / GPT.hidden)
    gelu = dataclasses.replace(LLAMA, mlp="gelu")
    diff = F.activation_coefficients(LLAMA)[1] - F.activation_coefficients(gelu)[1]
    assert diff == pytest.approx(2 * LLAMA.ffn_hidden / LLAMA.hidden)
    moe = get_model("mixtral-8x7b")
    dense = dataclasses.replace(moe, experts=1, top_k=1)
    assert (F.activation_coefficients(moe)[1] - F.activation_coefficients(dense)[1]
            == pytest.approx(6 * moe.ffn_hidden / moe.hidden * (moe.top_k - 1)))


def test_norm_statistics():
    """LayerNorm keeps fp32 mean and 1/std per token, RMSNorm only 1/rms: 8 B less per token and layer."""
    ln = dataclasses.replace(LLAMA, norm="layernorm")
    assert (F.activation_coefficients(ln)[0] - F.activation_coefficients(LLAMA)[0]) * LLAMA.hidden == pytest.approx(8.0)


def test_llama_activations_near_32_bytes_per_token_hidden():
    """Llama 3 405B (no dropout, SwiGLU f = 3.25 h, 8 of 128 KV heads, RMSNorm, flash attention) keeps about
    32 B per token and hidden unit per layer at TP 8 with SP, 21% less than the GPT-style count it had
    (10 + 4 + 4 kv/a + 8 f/h = 40.25)."""
    m = get_model("llama3-405b")
    t = 8
    got = per_layer(m, 1, t, True, att="flash") * t / (m.sequence_length * m.hidden)
    assert 31.5 < got < 32.5
    assert got / 40.25 == pytest.approx(0.79, abs=0.01)


@settings(max_examples=40, deadline=None)
@given(tp=st.sampled_from([1, 2, 8]), pp=st.sampled_from([1, 2, 4]), dp=st.integers(1, 8), mb=st.sampled_from([1, 2]),
       rc=st.integers(0, 2), sp=st.integers(0, 1), att=st.sampled_from(["flash", "unfused"]),
       model=st.sampled_from(["llama3-70b", "gpt3-175b", "mixtral-8x7b"]),
       ab=st.tuples(st.floats(0, 1e-4), st.floats(1e-12, 1e-9)))
def test_activation_memory_kernel_equals_reference(tp, pp, dp, mb, rc, sp, att, model, ab):
    m, gb, n, mc, hw, lists, tabs, size = prepare(load_scenario("cluster-2023"), model, global_batch=512,
                                                   attention=att)
    assert mc[K.MC_LSE] == (F.FLASH_LSE_BYTES if att == "flash" else 0.0)
    out = np.zeros(K.N_OUT)
    code = K.evaluate_plan(mc, hw, tp, pp, dp, 1, mb, 1, rc, 1, sp, *ab, *ab, *ab, *ab, out)
    rcode, res = R.plan_reference(mc, hw, tp, pp, dp, 1, mb, 1, rc, 1, sp, {"tp": ab, "dp": ab, "pp": ab, "ep": ab})
    assert code == rcode
    if res is not None:
        assert out[K.O_M_ACT] == pytest.approx(res["m_act"], rel=1e-12)
        assert out[K.O_M_TOTAL] == pytest.approx(res["m_total"], rel=1e-12)
        assert out[K.O_STEP] == pytest.approx(res["step"], rel=1e-12)


def test_dropout_field_accepts_a_probability_and_rejects_nonsense():
    from twin.errors import InputError
    from twin.training.models import model_from_dims

    dims = dict(layers=2, hidden=256, heads=4, vocab=1000)
    assert model_from_dims(dict(dims, dropout=0.0)).dropout is False
    assert model_from_dims(dict(dims, dropout=0.1)).dropout is True
    assert model_from_dims(dict(dims, dropout=False)).dropout is False
    assert model_from_dims(dims).dropout is True
    for bad in (1.5, -0.1, "yes"):
        with pytest.raises(InputError, match="dropout"):
            model_from_dims(dict(dims, dropout=bad))
