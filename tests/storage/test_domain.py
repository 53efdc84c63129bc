"""The storage domain in the twin: tree hand-off, results, architecture and field effects, bad input."""
import math

import numpy as np
import pytest

from twin import tree
from twin.core import Twin
from twin.errors import InputError
from twin.scenario import load_scenario
from twin.scenario.schema import FIELDS
import twin.storage as S

C23 = load_scenario("cluster-2023")
REQUIRED = {"io_wait": "s", "effective_step_time": "s", "au": "", "checkpoint_write_time": "s",
            "checkpoint_restore_time": "s", "checkpoint_interval": "s", "goodput": "", "capacity_raw": "PB",
            "capacity_usable": "PB", "copies": "", "storage_power": "kW", "floor_area": "m ** 2"}


@pytest.fixture(scope="module")
def twin23():
    t = Twin(C23)
    t.run(["storage"])
    return t


@pytest.fixture(scope="module")
def inp23():
    return S.inputs(C23)


def test_storage_runs_after_its_needs_once_and_reads_the_tree(twin23):
    assert twin23.calls["storage"] == 1 and twin23.calls["training"] == 1 and twin23.calls["fabric"] == 1
    ds = tree.results(twin23.state, "storage")
    for name, unit in REQUIRED.items():
        assert name in ds, name
        assert ds[name].attrs["units"] == unit, (name, ds[name].attrs["units"])
        assert np.all(np.isfinite(ds[name].values)), name
    # the step time storage used is training's, read from the tree
    assert float(ds.step_time) == pytest.approx(tree.value(twin23.state, "training", "step_time", "s"))
    assert float(ds.effective_step_time) >= float(ds.step_time)
    assert 0 < float(ds.goodput) < 1 and 0 < float(ds.au) <= 1


def test_evaluate_equals_the_public_function(twin23):
    a = tree.results(twin23.state, "storage")
    b = S.storage(C23)
    for k in ("goodput", "checkpoint_write_time", "storage_power", "io_wait"):
        assert float(a[k]) == pytest.approx(float(b[k]), rel=1e-12)


def test_separate_to_converged_saves_copies_capacity_and_time(inp23):
    conv = S._dataset(S.plan(C23, inp23))
    sep_sc = C23.with_overrides({"storage": {"architecture": "separate"}})
    sep = S._dataset(S.plan(sep_sc, inp23))
    assert int(sep.copies) == 2 and int(conv.copies) == 1
    assert float(conv.time_saved) > 0 and float(sep.time_saved) == 0
    assert float(sep.stage_time.sel(stage="copy-to-file")) > 0 == float(conv.stage_time.sel(stage="copy-to-file"))
    assert float(sep.capacity_required_raw.sum()) > float(conv.capacity_required_raw.sum())
    # a converged store that does not serve S3 cannot avoid the copy
    nos3 = S._dataset(S.plan(C23.with_overrides({"storage": {"protocols": ["posix", "nfs"]}}), inp23))
    assert int(nos3.copies) == 2


def test_async_checkpoint_blocks_less_and_a_memory_pool_lets_it_fit(inp23):
    sync = S.plan(C23.with_overrides({"storage": {"checkpoint_mode": "sync"}}), inp23)
    asyn = S.plan(C23.with_overrides({"storage": {"checkpoint_mode": "async"}}), inp23)
    assert asyn["blocking"] < sync["blocking"] and asyn["lag"] > 0 == sync["lag"]
    # a checkpoint too big for host memory falls back to synchronous unless the pool holds it
    # (10T parameters at 64 B each on 128 nodes: 5 TB per node against 2 TB of host memory)
    inp = dict(inp23, parameters=1e13)
    big = C23.with_overrides({"storage": {"checkpoint_mode": "async", "checkpoint_bytes_per_parameter": 64.0}})
    assert S.plan(big, inp)["async_fallback"]
    pooled = big.with_overrides({"storage": {"memory_pool": "1000 TiB"}})
    assert not S.plan(pooled, inp)["async_fallback"]


def test_global_namespace_replicates_and_reads_nearest(inp23):
    g = C23.with_overrides({"storage": {"architecture": "global", "sites": 3, "site_distance": "1000 km"}})
    c = C23.with_overrides({"storage": {"sites": 3, "site_distance": "1000 km"}})
    rg, rc = S.plan(g, inp23), S.plan(c, inp23)
    assert rg["replication_lag"] > 1000e3 * 4.9e-9 and rg["remote_latency"] == 0
    assert rc["replication_lag"] == 0 and rc["remote_latency"] == pytest.approx(2 * 1000e3 * 4.9e-9)


STORAGE_FIELDS = [f for f in FIELDS if f.section == "storage"]
PERTURB = {"architecture": "separate", "capacity": "3 PB", "bandwidth": "40 GB/s", "redundancy": "replica-3",
           "memory_pool": "64 TiB", "protocols": ["posix"], "dataset_size": "900 TB", "checkpoints_kept": 20,
           "checkpoint_bytes_per_parameter": 16.0, "checkpoint_mode": "sync", "write_amplification": 3.0,
           "hot_media": "nvme-gen5-e3s-15.36tb", "cold_media": "nvme-qlc-61.44tb", "hot_fraction": 0.6,
           "network": "parameter", "storage_nics_per_node": 1, "storage_nic_speed": "25 Gbit/s",
           "metadata_rate": "10 1/s", "data_workload": "unet3d", "bytes_per_token": 16, "reader_threads": 1,
           "sites": 4, "site_distance": "2000 km", "wan_bandwidth": "1 Gbit/s", "pool_hosts": 64, "cold_after": "0 d"}


def _numbers(ds):
    return np.concatenate([np.ravel(ds[v].values).astype(float) for v in sorted(ds.data_vars)])


@pytest.mark.parametrize("field", [f.name for f in STORAGE_FIELDS])
def test_every_storage_field_moves_a_result(field, inp23):
    base = C23.with_overrides({"storage": {"memory_pool": "8 TiB", "pool_hosts": 8, "sites": 2, "site_distance": "500 km",
                                           "architecture": "global"}}) if field in ("pool_hosts", "site_distance", "sites", "wan_bandwidth") \
        else C23
    assert field in PERTURB, f"add a perturbation for the new field storage.{field}"
    other = base.with_overrides({"storage": {field: PERTURB[field]}})
    a, b = _numbers(S._dataset(S.plan(base, inp23))), _numbers(S._dataset(S.plan(other, inp23)))
    assert a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=0), f"storage.{field} moves no result"


def test_dataset_larger_than_the_store_says_full_with_what_is_missing(inp23):
    full = C23.with_overrides({"storage": {"dataset_size": "50000 TB"}})
    ds = S._dataset(S.plan(full, inp23))
    assert float(ds.store_full) == 1 and float(ds.capacity_missing) > 50 - 20  # >= 50 PB data in a 20 PB store


@pytest.mark.parametrize("over, field", [
    ({"redundancy": "ec-2+2"}, "storage.redundancy"), ({"redundancy": "ec-4+6"}, "storage.redundancy"),
    ({"hot_fraction": 0.0}, "storage.hot_fraction"),
    ({"hot_fraction": 1.0, "architecture": "separate"}, "storage.hot_fraction"),
    ({"bandwidth": "0 GB/s"}, "storage.bandwidth"), ({"capacity": "0 PB"}, "storage.capacity"),
    ({"network": "separate", "storage_nics_per_node": 0}, "storage.storage_nics_per_node"),
])
def test_bad_storage_inputs_name_their_field(over, field, inp23):
    with pytest.raises(InputError) as exc:
        S.plan(C23.with_overrides({"storage": over}), inp23)
    assert exc.value.field == field


@pytest.mark.parametrize("over, field", [
    ({"dataset_size": "-5 TB"}, "storage.dataset_size"), ({"bandwidth": "200 W"}, "storage.bandwidth"),
    ({"hot_media": "floppy"}, "storage.hot_media"), ({"wan_bandwidth": "-1 Gbit/s"}, "storage.wan_bandwidth"),
    ({"checkpoints_kept": 0}, "storage.checkpoints_kept"),
])
def test_bad_scenario_values_are_refused_by_the_schema(over, field):
    with pytest.raises(InputError) as exc:
        C23.with_overrides({"storage": over})
    assert exc.value.field == field


@pytest.mark.parametrize("kwargs, field", [
    (dict(failure_rate="-1 /h"), "failure_rate"), (dict(interval="-5 s"), "interval"),
    (dict(restart_time="-1 min"), "restart_time"), (dict(failure_factor=0), "failure_factor"),
    (dict(checkpoint_mode="maybe"), "checkpoint_mode"), (dict(interval="5 W"), "interval"),
])
def test_bad_public_arguments_name_their_field(kwargs, field, inp23):
    with pytest.raises(InputError) as exc:
        S.plan(C23, inp23, **kwargs)
    assert exc.value.field == field


def test_bad_standalone_arguments():
    with pytest.raises(InputError) as e1:
        S.mlperf_throughput("bert", "h100", 4, 0.9)
    with pytest.raises(InputError) as e2:
        S.mlperf_throughput("unet3d", "h100", 4, 1.5)
    with pytest.raises(InputError) as e3:
        S.read_bandwidth(0, 2, "200 Gbit/s")
    with pytest.raises(InputError) as e4:
        S.lifecycle(C23, days=0)
    assert (e1.value.field, e2.value.field, e3.value.field, e4.value.field) == ("workload", "au", "servers", "days")


def test_storage_wall_bites_a_vision_workload_on_a_small_store(inp23):
    small = C23.with_overrides({"storage": {"data_workload": "unet3d", "bandwidth": "20 GB/s"}})
    r = S.plan(small, inp23)
    assert r["dl"]["au"] < 0.9 and r["io_wait"] > 0
    need = r["dl"]["min_system_bandwidth"]
    big = small.with_overrides({"storage": {"bandwidth": f"{need / 1e9 * 1.01} GB/s"}})
    # the storage system alone is not enough: the hot tier's 33 servers' NICs on the storage network
    # cannot carry the reads, so the wall stays and the node network is the limit
    few = S.plan(big, inp23)
    assert few["dl"]["au"] < 0.9 and few["dl"]["limit"] == "node network"
    # with one server per node on the storage network the system bandwidth is what lifts AU to 90%
    many = S.plan(big, inp23, storage_servers=int(C23.compute.nodes))
    assert many["dl"]["node_network_sufficient"] and many["dl"]["au"] >= 0.9 - 1e-9
