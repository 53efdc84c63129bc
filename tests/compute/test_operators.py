"""Operator model: kernel against its NumPy reference, roofline invariants (hypothesis), calibration."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin import catalog
from twin.compute import _kernels as K
from twin.compute import _reference as R
from twin.compute import gemm_throughput, gemm_time, peak_rate, precisions, roofline, training_parameters
from twin.compute.operators import arch_params, arch_vector

ACCS = catalog.names("accelerators")
REACHED = {"kernel": 0, "kernel_total": 0, "mono": 0, "mono_total": 0}


@settings(max_examples=60, deadline=None, database=None)
@given(acc=st.sampled_from(ACCS), m=st.integers(1, 20000), n=st.integers(1, 60000), k=st.integers(1, 30000),
       prec=st.sampled_from(["fp32", "bf16", "fp8", "int8"]))
def test_kernel_matches_reference(acc, m, n, k, prec):
    REACHED["kernel_total"] += 1
    if prec not in precisions(acc):
        prec = "bf16"
    ap = arch_vector(acc, prec)
    out = np.empty(1)
    K.gemm_times(np.array([m], float), np.array([n], float), np.array([k], float), ap, out)
    ref = R.gemm_times(np.array([m]), np.array([n]), np.array([k]), ap)
    REACHED["kernel"] += 1
    assert out[0] == pytest.approx(float(ref[0]), rel=1e-12)
    # never faster than the dense peak or the HBM bandwidth allows
    assert out[0] >= 2.0 * m * n * k / ap[K.AP_PEAK] * (1 - 1e-12)
    assert out[0] >= (m * k * ap[K.AP_BYTES_IN] + k * n * ap[K.AP_BYTES_W] + m * n * ap[K.AP_BYTES_OUT]) / ap[K.AP_BW]


@settings(max_examples=60, deadline=None, database=None)
@given(acc=st.sampled_from(ACCS), m=st.integers(1, 8192), n=st.integers(64, 32768), k=st.integers(64, 16384),
       grow=st.sampled_from(["m", "n", "k"]), factor=st.integers(2, 8))
def test_gemm_time_grows_with_work(acc, m, n, k, grow, factor):
    REACHED["mono_total"] += 1
    t0 = gemm_time(acc, m, n, k).magnitude
    kw = {"m": m, "n": n, "k": k}
    kw[grow] *= factor
    t1 = gemm_time(acc, kw["m"], kw["n"], kw["k"]).magnitude
    REACHED["mono"] += 1
    assert t1 >= t0 * (1 - 1e-12)
    r = gemm_throughput(acc, m, n, k).magnitude
    assert 0 < r <= peak_rate(acc, "bf16") / 1e12 * (1 + 1e-9)


def test_hypothesis_examples_reach_their_assertions():
    for key in ("kernel", "mono"):
        total = REACHED[f"{key}_total"]
        assert total >= 20, "the property tests above did not run"
        assert REACHED[key] / total >= 0.8


@pytest.mark.parametrize("acc", ["A100-SXM4-80GB", "H100-SXM5-80GB", "MI300X-OAM-192GB"])
def test_calibrated_ceiling_is_reproduced_at_its_shape(acc):
    a = catalog.accelerator(acc)
    m, n, k = a.gemm_best_shape
    r = gemm_throughput(acc, m, n, k).magnitude
    want = float(a.gemm_efficiency) * peak_rate(acc, "bf16") / 1e12
    assert r == pytest.approx(want, rel=0.01)


def test_decode_gemm_is_memory_bound_and_large_gemm_compute_bound():
    acc = "H100-SXM5-80GB"
    bw = catalog.accelerator(acc).hbm_bandwidth.to("B/s").magnitude * arch_params(acc)["memory_efficiency"]
    t = gemm_time(acc, 1, 8192, 8192).magnitude
    assert t == pytest.approx(8192 * 8192 * 2 / bw + 2e-6, rel=0.02)  # the weights' bytes at the memory rate
    rl = roofline(acc, "bf16")
    assert 8192 * 8192 * 2 * 1 / (8192 * 8192 * 2) < rl["ridge"]
    big = gemm_throughput(acc, 16384, 16384, 16384).magnitude * 1e12
    assert big > 0.6 * rl["peak"]


def test_roofline_ridge_and_precisions():
    for acc in ACCS:
        for p in precisions(acc):
            rl = roofline(acc, p)
            assert rl["ridge"] == pytest.approx(rl["peak"] / rl["bandwidth"])
            assert rl["peak_attained"] < rl["peak"]
    assert "fp8" in precisions("H100-SXM5-80GB") and "fp8" not in precisions("A100-SXM4-80GB")
    assert "int4" in precisions("A100-SXM4-80GB")


def test_sparsity_speeds_up_but_below_nominal_2x():
    dense = gemm_time("A100-SXM4-80GB", 8192, 8192, 8192).magnitude
    sparse = gemm_time("A100-SXM4-80GB", 8192, 8192, 8192, sparse=True).magnitude
    assert 1.2 < dense / sparse < 2.0


def test_training_parameters_scale_from_the_reference():
    ref = training_parameters("A100-SXM4-80GB")
    h = training_parameters("H100-SXM5-80GB")
    fb = training_parameters("Ascend-910B")
    assert ref["width_scale"] == 1.0 and ref["fallback"] == 0.0
    assert h["width_scale"] == pytest.approx(math.sqrt(132 / 108))
    assert h["gemm_efficiency"] == float(catalog.accelerator("H100-SXM5-80GB").gemm_efficiency)
    assert fb["fallback"] == 1.0 and fb["gemm_efficiency"] == ref["gemm_efficiency"]
    assert "fallback" in arch_params("Ascend-910B")["source"]
    f8 = training_parameters("H100-SXM5-80GB", "fp8")
    assert f8["peak"] == pytest.approx(2 * h["peak"], rel=1e-3)
    assert f8["gemm_efficiency"] < h["gemm_efficiency"]


SERVE_REACHED = {"n": 0, "total": 0}


@settings(max_examples=40, deadline=None, database=None)
@given(model=st.sampled_from(["llama2-7b", "llama2-13b", "llama3-8b", "llama2-70b"]),
       acc=st.sampled_from(["A100-SXM4-80GB", "H100-SXM5-80GB", "MI300X-OAM-192GB", "Ascend-910B", "B200-SXM6-180GB"]),
       batch=st.integers(1, 256), prompt=st.integers(16, 4096), output=st.integers(2, 1024),
       tp=st.sampled_from([1, 2, 4, 8]))
def test_serving_invariants(model, acc, batch, prompt, output, tp):
    from twin.compute.serving import geometry, serve

    SERVE_REACHED["total"] += 1
    a = catalog.accelerator(acc)
    g = geometry(model)

    def ar(size, n):  # a fixed all-reduce law (test input): 10 us + 2 (n-1)/n S / 200 GB/s
        return 10e-6 + 2 * (n - 1) / n * size / 200e9

    kw = dict(tp=tp, quant="bf16", allreduce=ar, watts_per_card=700.0)
    r = serve(a, g, batch=batch, prompt=prompt, output=output, **kw)
    SERVE_REACHED["n"] += 1
    assert r["ttft"] > 0 and r["tpot"] > 0 and r["throughput_per_card"] > 0
    # a longer prompt never makes the first token faster; a bigger batch never makes a step faster
    assert serve(a, g, batch=batch, prompt=2 * prompt, output=output, **kw)["ttft"] >= r["ttft"] * (1 - 1e-12)
    assert serve(a, g, batch=2 * batch, prompt=prompt, output=output, **kw)["tpot"] >= r["tpot"] * (1 - 1e-12)
    # the KV cache of a sequence is what its tokens hold, and the batch that fits fills the free memory
    assert r["kv_per_sequence"] == pytest.approx(2 * g["layers"] * max(g["kv_heads"] / tp, 1) * g["head_dim"] * 2
                                                 * (prompt + output))
    assert (r["max_batch"] >= batch) == r["fits"] or r["weights_per_card"] > 0.9 * a.hbm_capacity.to("B").magnitude - 3e9
    # decode can never beat reading this card's share of the weights once per step
    bw = a.hbm_bandwidth.to("B/s").magnitude
    assert r["tpot"] >= r["weights_per_card"] / bw


def test_serving_property_examples_reach_their_assertions():
    assert SERVE_REACHED["total"] >= 20
    assert SERVE_REACHED["n"] / SERVE_REACHED["total"] >= 0.8


def test_fp8_kernel_generations():
    """The 2023 TensorRT-LLM FP8 kernels run a compute-bound FP8 GEMM slower than the current ones (their
    catalog ratios), an unknown generation is refused by name, and BF16 does not depend on it."""
    from twin.compute import _kernels as CK
    from twin.compute.operators import arch_vector
    from twin.errors import InputError

    a = arch_params("H100-SXM5-80GB")
    now = arch_vector("H100-SXM5-80GB", "fp8")
    old = arch_vector("H100-SXM5-80GB", "fp8", fp8_kernels="2023")
    t_now, t_old = CK.gemm_time(8192.0, 8192.0, 8192.0, now), CK.gemm_time(8192.0, 8192.0, 8192.0, old)
    assert t_old > t_now
    assert t_now / t_old == pytest.approx(a["fp8_ratio_2023"] / a["fp8_ratio"], rel=0.02)
    assert np.array_equal(arch_vector("H100-SXM5-80GB", "bf16", fp8_kernels="2023"), arch_vector("H100-SXM5-80GB", "bf16"))
    with pytest.raises(InputError, match="fp8_kernels"):
        arch_vector("H100-SXM5-80GB", "fp8", fp8_kernels="2022")
