"""Table 3-1: the traffic of DP, PP, TP and EP and the bandwidth each needs."""
import numpy as np
import pytest

from twin.errors import InputError
from twin.interconnect import evaluate, parallelism_traffic, topology_offer

GPT3 = dict(layers=96, hidden=12288, vocab=50257, params_published=175e9)


def test_tp_needs_hundreds_dp_and_pp_a_few_to_tens_of_gb_per_s():
    ds = parallelism_traffic(GPT3, tp=8, pp=8, dp=16, global_batch=1536, accelerator="A100-SXM4-80GB")
    need = {s: float(ds.needed.sel(strategy=s)) for s in ("dp", "pp", "tp")}
    assert 100 <= need["tp"] < 1000      # white paper Table 3-1: "几百 GB/s"
    assert 1 <= need["dp"] < 100         # "几 ~ 几十 GB/s"
    assert 1 <= need["pp"] < 20          # "几 ~ 十几 GB/s"
    assert need["tp"] > 10 * max(need["dp"], need["pp"])


def test_traffic_formulas():
    ds = parallelism_traffic(GPT3, tp=8, pp=8, dp=16, micro_batch=1, global_batch=1536, sequence_length=2048)
    act = 2048 * 12288 * 2
    assert float(ds.message_size.sel(strategy="tp")) == act
    n_micro = 1536 / 16
    # 4 all-reduces per layer and micro-batch, 12 layers per stage, each 2(7/8) x act on the bus
    assert float(ds.bytes_per_step.sel(strategy="tp")) == pytest.approx(4 * 12 * n_micro * 2 * 7 / 8 * act)
    assert float(ds.bytes_per_step.sel(strategy="dp")) == pytest.approx(2 * 15 / 16 * 175e9 / 64 * 2)


def test_need_scales_inversely_with_budget_and_vanishes_without_the_strategy():
    a = parallelism_traffic(GPT3, tp=8, pp=1, dp=4, budget=0.1)
    b = parallelism_traffic(GPT3, tp=8, pp=1, dp=4, budget=0.2)
    np.testing.assert_allclose(a.needed.values, 2 * b.needed.values)
    assert float(a.needed.sel(strategy="pp")) == 0.0
    assert float(a.needed.sel(strategy="ep")) == 0.0


def test_moe_expert_parallel_traffic():
    moe = dict(GPT3, experts=16, top_k=2)
    ds = parallelism_traffic(moe, tp=1, pp=1, dp=8, ep=8)
    assert float(ds.needed.sel(strategy="ep")) > 0


def test_offer_for_scenarios():
    ds = topology_offer("cluster-2023", topologies=["pcie", "nvswitch", "s2-switch"])
    off = ds.offered.sel(strategy="tp")
    assert float(off.sel(topology="pcie")) < float(off.sel(topology="nvswitch"))
    assert not bool(ds.meets.sel(strategy="tp", topology="pcie"))


@pytest.mark.parametrize("kw,field", [(dict(tp=0), "tp"), (dict(mfu=0.0), "mfu"), (dict(pp=200), "pp")])
def test_bad_parallel_layouts(kw, field):
    args = dict(tp=8, pp=1, dp=2)
    args.update(kw)
    with pytest.raises(InputError) as e:
        parallelism_traffic(GPT3, **args)
    assert e.value.field == field


@pytest.mark.parametrize("preset", ["heterogeneous-2021", "cluster-2023", "superpool-2025"])
def test_evaluate_returns_units(preset):
    from twin.core import Twin

    t = Twin(preset)
    t.run(["interconnect"])
    ds = t.state["interconnect/results"].to_dataset()
    assert ds.busbw.attrs["units"] and ds.message_size.attrs["units"] == "B"
    assert np.all(np.isfinite(ds.busbw.values)) and float(ds.busbw.max()) > 0
