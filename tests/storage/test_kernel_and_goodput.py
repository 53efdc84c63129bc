"""The lifecycle kernel against its NumPy reference, its conservation laws, and goodput (moved from
training): Young/Daly interval, failure scaling, the storage path that limits a checkpoint."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from twin.scenario import load_scenario
import twin.storage as S
from twin.storage import _kernels as K
from twin.storage import _reference as R

def _run(args):
    n_min, nodes = args[0], args[3].shape[0]
    out = [np.empty(n_min) for _ in range(5)]
    summ = np.zeros(K.N_SUMMARY)
    K.lifecycle(*args, np.zeros(nodes), *out, summ)
    return (*out, summ)


@settings(max_examples=30, deadline=None)
@given(nodes=st.integers(1, 20), n_min=st.integers(10, 200), every=st.integers(1, 60), keep=st.integers(1, 5),
       cold_after=st.integers(0, 200), shard=st.floats(1e9, 1e12), bw=st.floats(1e8, 5e10),
       demand=st.floats(0.0, 2e10), sysw=st.floats(1e9, 1e12), sysr=st.floats(1e9, 1e12), seed=st.integers(0, 99))
def test_kernel_matches_reference_and_conserves_bytes(nodes, n_min, every, keep, cold_after, shard, bw, demand, sysw,
                                                      sysr, seed):
    rng = np.random.default_rng(seed)
    node_bw = bw * rng.uniform(0.5, 1.5, nodes)
    dem = demand * rng.uniform(0.0, 1.0, nodes)
    args = (n_min, 60.0, shard, node_bw, dem, sysr, sysw, every, keep, cold_after, 1440, 1.6, 1.25, 1e15, 0.0,
            1e17, 1e18, 5e10)
    fast = _run(args)
    ref = R.lifecycle(*args)
    # series: bytes agree to 1e-6 relative, wait fractions to 1e-5 (a wait subtracts nearly equal
    # numbers when a node's demand is tiny); the summary's wait seconds on the same scale
    for a, b in zip(fast[:5], ref[:5]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-5)
    w = K.S_WAIT_SECONDS
    np.testing.assert_allclose(np.delete(fast[5], w), np.delete(ref[5], w), rtol=1e-6, atol=1e-5)
    assert abs(fast[5][w] - ref[5][w]) <= 1e-5 * n_min * 60.0 + 1e-6 * abs(ref[5][w])
    hot, cold, wrate, rrate, wait, summ = fast
    # bytes written = done checkpoints + the part of the one in flight; reads never exceed demand
    done, started = summ[K.S_CKPT_DONE], summ[K.S_CKPT_STARTED]
    written = summ[K.S_BYTES_WRITTEN]
    assert done * shard * nodes - 1e-6 * written <= written <= started * shard * nodes * (1 + 1e-9)
    assert np.all(rrate <= dem.sum() * (1 + 1e-9) + 1e-9)
    assert np.all((wait >= -1e-12) & (wait <= 1 + 1e-12))
    assert np.all(wrate <= min(sysw, node_bw.sum()) * (1 + 1e-9))
    # the hot tier never holds less than the base data; tiered bytes moved to cold
    assert np.all(hot >= 1e15 * (1 - 1e-9))
    assert cold[-1] == pytest.approx(summ[K.S_BYTES_TIERED] * 1.25, rel=1e-9, abs=1e-3)


def test_simulate_a_month_of_the_cluster_era():
    ds = S.simulate("cluster-2023", days=3)
    assert ds.sizes["time"] == 3 * 1440
    assert ds.attrs["checkpoints_done"] >= 1 and ds.attrs["mean_write_minutes"] >= 1
    assert float(ds.hot_used.max()) > float(ds.hot_used[0]) and float(ds.cold_used[-1]) >= 0
    assert np.all(np.isfinite(ds.write_rate.values))


SC21 = load_scenario("megatron-sc21-a100-3072")


def test_goodput_dataset_and_failure_scaling():
    a = S.goodput(SC21)
    b = S.goodput(SC21, failure_rate="1e-4 /h")
    assert 0 < float(b.goodput) < float(a.goodput) < 1
    assert float(b.mtbf) < float(a.mtbf)
    assert float(b.checkpoint_interval) < float(a.checkpoint_interval)
    none = S.goodput(SC21, failure_rate="0 /h", interval="3600 s")
    assert float(none.goodput) == pytest.approx(3600 / (3600 + float(none.checkpoint_blocking_time)))
    # a failure factor (e.g. twin.energy.arrhenius_factor at a hot card) shortens the MTBF by itself
    from twin.energy import arrhenius_factor
    from twin.units import Q_

    af = arrhenius_factor(Q_(65, "degC"), Q_(45, "degC"))
    hot = S.goodput(SC21, failure_factor=af)
    assert float(hot.mtbf) == pytest.approx(float(a.mtbf) / af, rel=1e-9)
    assert float(hot.goodput) < float(a.goodput)


def test_checkpoint_follows_the_slowest_stage_of_the_scenario():
    a = S.storage(SC21, checkpoint_mode="sync")
    # on this preset the storage network (17 hot-tier servers x 2 x 200 Gbit/s) limits the write:
    # a bigger storage front end does not shorten it, faster storage NICs do
    assert a.attrs["write_limit"] == "network"
    assert float(a.checkpoint_network_time) > float(a.checkpoint_storage_time)
    fast = SC21.with_overrides({"storage": {"bandwidth": "2000 GB/s"}})
    b = S.checkpoint(fast, checkpoint_mode="sync")
    assert float(b.checkpoint_write_time) == pytest.approx(float(a.checkpoint_write_time), rel=1e-9)
    nic = SC21.with_overrides({"storage": {"storage_nic_speed": "400 Gbit/s"}})
    c = S.storage_traffic(nic, checkpoint_mode="sync")
    assert float(c.checkpoint_write_time) < float(a.checkpoint_write_time)
    # ... until the storage system is the slowest stage again
    assert c.attrs["write_limit"] == "storage_system"
    assert float(c.checkpoint_write_time) >= float(c.checkpoint_stage_time.max())
    asyn = S.checkpoint(SC21, checkpoint_mode="async")
    assert float(asyn.checkpoint_blocking_time) < float(a.checkpoint_blocking_time)
