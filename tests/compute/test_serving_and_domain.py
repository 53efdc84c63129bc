"""Serving, bad input, the domain contract (tree in, tree out) and training reading the operator model."""
import numpy as np
import pytest
import xarray as xr

from twin import catalog
from twin.compute import evaluate, gemm_throughput, inference, peak_rate
from twin.compute.serving import geometry, kv_bytes_per_token, serve, weights_count
from twin.core import Twin
from twin.errors import InputError
from twin.scenario import load_scenario


def _ar(size, n):  # an all-reduce at 100 GB/s bus bandwidth and 20 us latency (test input, not a mock)
    return 20e-6 + 2 * (n - 1) / n * size / 100e9


A100 = catalog.accelerator("A100-SXM4-80GB")


@pytest.fixture(scope="module")
def twin_cluster():
    t = Twin("cluster-2023")
    t.run(["compute"])
    return t


def test_twin_run_writes_results_and_reads_interconnect(twin_cluster):
    ds = twin_cluster.state["compute/results"].to_dataset()
    for k in ("peak_rate", "gemm_efficiency", "ttft", "tpot", "throughput_per_card", "max_batch", "cim_energy",
              "dpu_cores_freed", "attained_rate", "tpot_vs_batch"):
        assert k in ds
        assert np.all(np.isfinite(ds[k].values))
    assert "results" in twin_cluster.state["interconnect"].children
    # a slower interconnect in the tree slows TP serving: compute reads the tree, not a model of its own
    sc = twin_cluster.scenario
    state = twin_cluster.state.copy()
    ic = state["interconnect/results"].to_dataset()
    ic["busbw"] = ic["busbw"] * 0.25
    state["interconnect/results"] = xr.DataTree(ic)
    slow = evaluate(sc, state)
    assert float(slow["tpot"]) > float(ds["tpot"])


def test_tpot_rises_and_throughput_saturates_with_batch(twin_cluster):
    ds = twin_cluster.state["compute/results"].to_dataset()
    tpot = ds["tpot_vs_batch"].values
    thr = ds["throughput_vs_batch"].values
    assert np.all(np.diff(tpot) >= -1e-12)
    # more sequences share each weight read: throughput grows about linearly while memory-bound, then
    # saturates; a wave-quantisation dip between neighbours stays well under 2x
    assert thr[-1] > 30 * thr[0]
    assert np.all(thr[1:] > 0.5 * thr[:-1])
    assert thr[-1] / thr[-3] < thr[2] / thr[0]  # diminishing returns once compute-bound


def test_decode_at_batch_one_is_weight_bandwidth_bound():
    g = geometry("llama2-7b")
    r = serve(A100, g, batch=1, prompt=128, output=64, tp=1, quant="bf16", allreduce=None, watts_per_card=400)
    bw = A100.hbm_bandwidth.to("B/s").magnitude
    floor = weights_count(g) * 2 / bw
    assert floor < r["tpot"] < 1.6 * floor


def test_quantisation_shrinks_weights_and_kv():
    g = geometry("llama2-70b")
    kw = dict(batch=8, prompt=512, output=128, tp=8, allreduce=_ar, watts_per_card=400)
    h100 = catalog.accelerator("H100-SXM5-80GB")
    b16 = serve(h100, g, quant="bf16", **kw)
    f8 = serve(h100, g, quant="fp8", **kw)
    i4 = serve(A100, g, quant="int4", **kw)
    assert f8["weights_per_card"] == pytest.approx(b16["weights_per_card"] / 2)
    assert i4["weights_per_card"] == pytest.approx(b16["weights_per_card"] / 4)
    assert f8["kv_per_sequence"] < b16["kv_per_sequence"]
    assert f8["max_batch"] > b16["max_batch"]
    assert f8["tpot"] < b16["tpot"]
    assert kv_bytes_per_token(g, 8, 2) == 2 * 80 * 1 * 128 * 2


def test_model_that_cannot_fit_even_at_tp8_says_why():
    v100 = catalog.accelerator("V100-SXM2-32GB")
    r = serve(v100, geometry("llama3-405b"), batch=1, prompt=128, output=16, tp=8, quant="fp16", allreduce=_ar,
              watts_per_card=300)
    assert r["fits"] is False
    assert "TP = 8" in r["reason"] and "GB" in r["reason"]
    ok = serve(A100, geometry("llama2-7b"), batch=4, prompt=128, output=16, tp=1, quant="bf16", allreduce=None,
               watts_per_card=400)
    assert ok["fits"] is True and ok["reason"] == ""


@pytest.mark.parametrize("kw, field", [
    (dict(batch=0), "compute.serving_batch"),
    (dict(prompt=-5), "compute.prompt_tokens"),
    (dict(output=0), "compute.output_tokens"),
    (dict(tp=3), "compute.serving_tp"),
    (dict(quant="fp8"), "compute.precision"),       # A100 has no FP8: the error lists what it has
    (dict(quant="fp6"), "compute.weight_precision"),
    (dict(batch=2.5), "compute.serving_batch"),
])
def test_bad_serving_input(kw, field):
    args = dict(batch=4, prompt=128, output=16, tp=1, quant="bf16", allreduce=_ar, watts_per_card=400)
    args.update(kw)
    with pytest.raises(InputError) as e:
        serve(A100, geometry("llama2-70b"), **args)
    assert e.value.field == field
    if kw.get("quant") == "fp8":
        assert "bf16" in str(e.value) and "int8" in str(e.value)


def test_bad_precision_and_gemm_input():
    with pytest.raises(InputError) as e:
        peak_rate("V100-SXM2-32GB", "fp8")
    assert "fp16" in str(e.value)
    with pytest.raises(InputError):
        peak_rate("A100-SXM4-80GB", "fp4")
    with pytest.raises(InputError):
        peak_rate("Ascend-910B", "bf16", sparse=True)
    for bad in (0, -1, float("nan")):
        with pytest.raises(InputError):
            gemm_throughput("A100-SXM4-80GB", bad, 128, 128)
    with pytest.raises(InputError):
        geometry("resnet-50")
    with pytest.raises(InputError):
        geometry("mixtral-8x7b")
    with pytest.raises(InputError):
        geometry("no-such-model")


def test_inference_overrides_and_tp_beyond_the_domain():
    ds = inference("cluster-2023", serving_model="llama2-7b", serving_tp=1, serving_batch=4, prompt_tokens=256,
                   output_tokens=32)
    assert ds.attrs["serving_model"] == "llama2-7b" and float(ds["serving_fits"]) == 1.0
    with pytest.raises(InputError):
        inference("cluster-2023", serving_tp=16)
    with pytest.raises(InputError):
        inference("cluster-2023", serving_batch=0)
    with pytest.raises(InputError):
        inference("cluster-2023", no_such_field=1)


def test_training_reads_the_operator_model():
    from twin.training import hardware as H
    from twin.training import _kernels as TK

    a100 = H.hardware_vector(load_scenario("megatron-sc21-a100-3072"))
    assert a100[TK.HW_ETA_MAX] == pytest.approx(H.ETA_MAX) and a100[TK.HW_N_HALF] == pytest.approx(H.N_HALF)
    sc = load_scenario({"compute": {"accelerator": "H100-SXM5-80GB"}})
    h = H.hardware_vector(sc)
    e = float(catalog.accelerator("H100-SXM5-80GB").gemm_efficiency)
    assert h[TK.HW_ETA_MAX] == pytest.approx(H.ETA_MAX * e / float(A100.gemm_efficiency))
    assert h[TK.HW_N_HALF] > H.N_HALF
    f8 = H.hardware_vector(load_scenario({"compute": {"accelerator": "H100-SXM5-80GB", "precision": "fp8"}}))
    assert f8[TK.HW_PEAK] == pytest.approx(2 * h[TK.HW_PEAK], rel=1e-3)
    # FP8 training: the 16-bit operators keep the BF16 peak and ceiling, the casts cost HBM bytes
    assert f8[TK.HW_FP8] == 1 and h[TK.HW_FP8] == 0 and h[TK.HW_CAST_B] == 0
    assert f8[TK.HW_PEAK16] == pytest.approx(h[TK.HW_PEAK]) and f8[TK.HW_ETA16] == pytest.approx(h[TK.HW_ETA_MAX])
    assert f8[TK.HW_CAST_B] >= 3  # at least read 2 B + write 1 B per element
    assert f8[TK.HW_KERNELS] > h[TK.HW_KERNELS]
    t8 = Twin(load_scenario({"compute": {"accelerator": "H100-SXM5-80GB", "precision": "fp8"}}))
    t8.run(["compute"])
    assert np.allclose(H.hardware_vector(t8.scenario, state=t8.state), f8)
    # from the tree when a state holds the compute results
    t = Twin(sc)
    t.run(["compute"])
    assert np.allclose(H.hardware_vector(sc, state=t.state), h)
    with pytest.raises(InputError):
        H.hardware_vector(load_scenario({"compute": {"accelerator": "A100-SXM4-80GB", "precision": "int8"}}))
    with pytest.raises(InputError):
        H.hardware_vector(load_scenario({"compute": {"accelerator": "A100-SXM4-80GB", "precision": "fp8"}}))


FIELD_CHANGES = {
    "precision": ("peak_rate", "tf32"), "sparsity": ("peak_rate", True), "serving_model": ("ttft", "llama2-13b"),
    "serving_tp": ("tpot", 4), "serving_batch": ("tpot", 8), "prompt_tokens": ("ttft", 256),
    "output_tokens": ("serving_latency", 64), "weight_precision": ("weights_per_card", "int4"),
    "cim_chip": ("cim_energy", "tsmc-dcim-22nm"), "dpu": ("dpu_cores_freed", "none"),
    "dpu_placement": ("dpu_power_delta", "gpu-domain"),
}


def test_every_compute_field_moves_a_result(twin_cluster):
    base = twin_cluster.state["compute/results"].to_dataset()
    state = twin_cluster.state
    for field, (var, value) in FIELD_CHANGES.items():
        sc = twin_cluster.scenario.with_overrides({"compute": {field: value}})
        ds = evaluate(sc, state)
        assert float(ds[var]) != pytest.approx(float(base[var]), rel=1e-6), field


def test_cim_and_dpu():
    from twin.compute import cim_vs_gpu, dpu_offload

    small = cim_vs_gpu("A100-SXM4-80GB", "ibm-hermes-pcm", "llama2-7b", 256)
    assert small["energy_ratio"] > 1 and small["chips"] >= 1 and 0 < small["matmul_share"] <= 1
    bf = dpu_offload("bluefield-2", "cpu-domain")
    none = dpu_offload("none")
    assert bf["cores_freed"] > 0 and none["cores_freed"] == 0
    assert bf["delivery_time"] * 10 == pytest.approx(none["delivery_time"])
    with pytest.raises(InputError):
        dpu_offload("bluefield-2", "nic-domain")
