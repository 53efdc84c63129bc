"""Storage physics on plain numbers: Young/Daly, goodput, over-provisioning, pooling, the
checkpoint path, the data loader (tests/conftest.py checks that property tests reach their assertions)."""
import math

import pytest
from hypothesis import given, settings, strategies as st

from twin.storage import model as M
from twin.storage import pool as P

@settings(max_examples=60, deadline=None)
@given(delta=st.floats(1, 600), mtbf=st.floats(3600, 1e6))
def test_young_daly_is_near_optimal(delta, mtbf):
    tau = M.young_daly_interval(delta, mtbf)
    assert tau == pytest.approx(math.sqrt(2 * delta * mtbf), rel=0.35)
    g = M.goodput_fraction(tau, delta, mtbf, 0.0)
    for k in (0.5, 2.0):
        assert g >= M.goodput_fraction(k * tau, delta, mtbf, 0.0) - 1e-3


def test_young_daly_limits():
    assert M.young_daly_interval(10.0, 0.0) == 0.0
    assert math.isinf(M.young_daly_interval(0.0, 3600.0))
    assert M.young_daly_interval(9000.0, 3600.0) == 3600.0


def test_goodput_without_failures_is_the_checkpoint_share_and_lag_costs():
    assert M.goodput_fraction(3600.0, 60.0, math.inf, 600.0) == pytest.approx(3600 / 3660)
    a = M.goodput_fraction(1800.0, 10.0, 20 * 3600.0, 600.0)
    b = M.goodput_fraction(1800.0, 10.0, 20 * 3600.0, 600.0, lag=300.0)
    assert b < a < 1


@settings(max_examples=60, deadline=None)
@given(lo=st.floats(1.0, 10.0), step=st.floats(0.01, 5.0))
def test_overprovisioning_falls_as_write_amplification_rises(lo, step):
    hi = lo + step
    assert M.overprovisioning(lo) > M.overprovisioning(hi) > 0
    # greedy-GC model: WA = (1 + OP) / (2 OP) round-trips
    op = M.overprovisioning(hi)
    assert (1 + op) / (2 * op) == pytest.approx(hi)


def test_pool_saving_grows_with_hosts_and_is_zero_alone():
    assert P.stranded_recovered(1) == 0.0
    s = [P.stranded_recovered(n) for n in (2, 4, 8, 16, 64, 10 ** 6)]
    assert all(a < b for a, b in zip(s, s[1:]))
    zc = P.PROVISION_Z * P.DEMAND_CV
    assert s[-1] == pytest.approx(zc / (1 + zc), rel=1e-2)


@settings(max_examples=80, deadline=None)
@given(size=st.floats(1e9, 1e14), nodes=st.integers(1, 4096), cpn=st.integers(1, 16),
       host=st.floats(1e9, 1e11), nic=st.floats(1e9, 1e11), sysw=st.floats(1e9, 1e13))
def test_checkpoint_write_is_limited_by_its_slowest_stage(size, nodes, cpn, host, nic, sysw):
    agg = nodes * nic
    r = M.checkpoint_times(size, nodes, cpn, host, nic, agg, sysw, 2 * sysw, files=0.0, metadata_rate=1.0)
    stages = r["stages"]
    assert r["write"] == pytest.approx(max(stages.values()))
    assert r["write_limit"] == max(stages, key=stages.get)
    assert r["snapshot"] <= r["write"] + 1e-12
    # restore reads twice as fast from the system: never slower than the write
    assert r["restore"] <= r["write"] + 1e-9
    # doubling the limiting stage's rate never slows the write
    faster = M.checkpoint_times(size, nodes, cpn, 2 * host, 2 * nic, 2 * agg, 2 * sysw, 4 * sysw, 0.0, 1.0)
    assert faster["write"] == pytest.approx(r["write"] / 2)


def test_unsharded_checkpoint_is_written_by_one_node():
    a = M.checkpoint_times(1e12, 100, 8, 20e9, 10e9, 1e12, 1e15, 1e15, 0.0, 1.0, sharded=True)
    b = M.checkpoint_times(1e12, 100, 8, 20e9, 10e9, 1e12, 1e15, 1e15, 0.0, 1.0, sharded=False)
    assert b["write"] == pytest.approx(100 * a["write"])
    assert b["write_limit"] == "nic"


@settings(max_examples=80, deadline=None)
@given(sample=st.floats(1e3, 2e8), batch=st.integers(1, 512), compute=st.floats(1e-3, 10.0),
       readers=st.integers(1, 4096), sysr=st.floats(1e8, 1e13), nodebw=st.floats(1e8, 1e11))
def test_data_loader_au_and_the_smallest_system(sample, batch, compute, readers, sysr, nodebw):
    rpn = max(1.0, readers / 16)
    r = M.data_loader(sample, 1, batch, compute, 4, readers, rpn, nodebw, sysr, 1e9, 0.0)
    assert 0 < r["au"] <= 1
    assert r["io_wait"] == pytest.approx(max(0.0, r["io_time"] - compute))
    assert r["au"] == pytest.approx(compute / (compute + r["io_wait"]))
    # the smallest system keeping AU >= 0.9, fed back with an unlimited node network, gives 0.9
    need = r["min_system_bandwidth"]
    if math.isfinite(need) and need > 0:
        back = M.data_loader(sample, 1, batch, compute, 4, readers, rpn, 1e30, need, 1e9, 0.0)
        assert back["au"] == pytest.approx(0.9, rel=1e-6) or back["au"] == pytest.approx(1.0)


def test_mlperf_throughput_is_linear_in_accelerators_and_au():
    a = M.mlperf_throughput("unet3d", "h100", 10, 0.9)
    b = M.mlperf_throughput("unet3d", "h100", 20, 0.45)
    assert a[0] == pytest.approx(b[0]) and a[1] == pytest.approx(b[1])
    assert a[1] == pytest.approx(a[0] * M.WORKLOADS["unet3d"]["sample"])



def test_checkpoint_bytes_by_precision_and_optimizer():
    import twin.storage as S
    from twin.errors import InputError

    assert S.checkpoint_bytes("bf16", "adam").magnitude == 14.0  # DLIO / MLPerf Storage
    assert S.checkpoint_bytes("fp32", "adam").magnitude == 12.0  # no separate master copy
    assert S.checkpoint_bytes("bf16", "none").magnitude == 2.0  # a released bf16 model
    assert S.checkpoint_bytes("fp8", "sgd-momentum").magnitude == 1 + 4 + 4
    with pytest.raises(InputError) as e:
        S.checkpoint_bytes("int3", "adam")
    assert e.value.field == "precision"
