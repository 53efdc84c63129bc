"""nicc-twin sweep: bad input before any point, per-domain reuse, and kill -9 then --resume on a
real LocalCluster with 2 worker processes (no finished point recomputed, none lost)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from twin.errors import InputError
from twin.scenario import load_scenario
from twin.sweep import domain_keys, parse_values, run_point, sweep_to_zarr

GRID_ARGS = ["--set", "fabric.load_balancing=ecmp,spraying,adaptive,gse", "--set", "fabric.nic_speed=25,100,200"]
METRICS = "fabric.base_latency,fabric.ring_node_bandwidth"


@pytest.mark.parametrize("grid, match", [
    ({"fabric.nic_speedd": ["100 Gbit/s"]}, "did you mean 'fabric.nic_speed'"),
    ({"fabric.nic_speed": ["100 Gbit/s", "100 W"]}, "fabric.nic_speed"),
    ({"cost.electricity_price": ["0.3 CNY/kWh", "-0.2 CNY/kWh"]}, "cost.electricity_price"),
    ({"cost.electricity_price": ["0.3 CNY/kg"]}, "price per energy"),
    ({"cost.region": ["usa", "atlantis"]}, "cost.region"),
])
def test_bad_sweep_fails_before_any_point(tmp_path, grid, match):
    out = tmp_path / "bad.zarr"
    with pytest.raises(InputError, match=match):
        sweep_to_zarr("cluster-2023", grid, out, metrics=["fabric.base_latency"])
    assert not out.exists()  # nothing was started, nothing written


def test_bad_metric_and_values_text():
    with pytest.raises(InputError, match="--metrics"):
        sweep_to_zarr("cluster-2023", {"cost.region": ["usa"]}, "/tmp/never.zarr", metrics=["power.plant"])
    assert parse_values("fabric.nic_speed", "100,400") == ["100 Gbit/s", "400 Gbit/s"]
    assert parse_values("compute.nodes", "64,128") == [64, 128]
    with pytest.raises(InputError, match="compute.nodes"):
        parse_values("compute.nodes", "64,many")


def test_domain_keys_follow_the_fields_each_domain_reads():
    base = load_scenario("cluster-2023").to_dict()
    other_region = {**base, "cost": {**base["cost"], "region": "usa"}}
    other_nic = {**base, "fabric": {**base["fabric"], "nic_speed": "400 Gbit/s"}}
    k0, k1, k2 = (domain_keys(d, ["cost"]) for d in (base, other_region, other_nic))
    assert set(k0) >= {"fabric", "training", "energy", "cost"}
    assert [d for d in k0 if k0[d] != k1[d]] == ["cost"]          # only cost reads the cost section
    assert all(k0[d] != k2[d] for d in k0)                        # a fabric field moves everything above


def test_point_reuses_unchanged_domains():
    base = load_scenario("cluster-2023").to_dict()
    a = run_point({**base, "cost": {**base["cost"], "it_depreciation": "4 year"}}, [("cost", "cost_per_gpu_hour")], ["cost"])
    b = run_point({**base, "cost": {**base["cost"], "it_depreciation": "6 year"}}, [("cost", "cost_per_gpu_hour")], ["cost"])
    assert "fabric" in a["_evaluated"] or a["_evaluated"] == ["cost"]
    assert b["_evaluated"] == ["cost"]
    assert b["cost.cost_per_gpu_hour"][0] < a["cost.cost_per_gpu_hour"][0]  # longer depreciation, lower cost


def _done_count(path):
    import zarr

    try:
        return int(np.asarray(zarr.open_group(str(path), mode="r")["_done"][...]).sum())
    except Exception:
        return 0


def test_kill_9_then_resume_recomputes_nothing_and_loses_nothing(tmp_path):
    out = tmp_path / "sweep.zarr"
    cmd = [sys.executable, "-m", "twin.sweep_cli", "heterogeneous-2021", *GRID_ARGS, "--metrics", METRICS,
           "-o", str(out), "--workers", "2", "--no-reuse"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    try:
        t0 = time.time()
        while _done_count(out) < 2:
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            assert time.time() - t0 < 120, "no point finished in 120 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI, its LocalCluster and both workers
        proc.wait()
    import zarr

    g = zarr.open_group(str(out), mode="r")
    done_before = np.asarray(g["_done"][...], dtype=bool)
    vals_before = {m: np.asarray(g[m][...]) for m in METRICS.split(",")}
    n_before = int(done_before.sum())
    assert 2 <= n_before < done_before.size, "the kill must land mid-sweep"
    # resume on a real 2-worker LocalCluster (in this process: the same entry point the CLI calls)
    grid = {"fabric.load_balancing": ["ecmp", "spraying", "adaptive", "gse"],
            "fabric.nic_speed": parse_values("fabric.nic_speed", "25,100,200")}
    ds = sweep_to_zarr("heterogeneous-2021", grid, out, metrics=METRICS.split(","), n_workers=2, resume=True, reuse=False)
    assert bool(ds["_done"].all())                                   # none lost
    attempt = ds["_attempt"].values
    assert np.all(attempt[done_before] == 1)                         # finished points kept from run 1
    assert np.all(attempt[~done_before] == 2)                        # the rest computed by the resume
    for m, before in vals_before.items():
        np.testing.assert_array_equal(ds[m].values[done_before], before[done_before])
        assert np.all(np.isfinite(ds[m].values))
    assert ds["fabric.base_latency"].attrs["units"]
    assert ds["fabric.ring_node_bandwidth"].dims == ("fabric.load_balancing", "fabric.nic_speed")
    assert np.all(ds["fabric.ring_node_bandwidth"].values > 0)
    # resuming a finished sweep runs nothing; resuming with another grid is refused
    again = sweep_to_zarr("heterogeneous-2021", grid, out, metrics=METRICS.split(","), resume=True, reuse=False)
    assert int((again["_attempt"].values == 3).sum()) == 0
    with pytest.raises(InputError, match="another sweep"):
        sweep_to_zarr("heterogeneous-2021", {**grid, "fabric.nic_speed": ["25 Gbit/s"]}, out,
                      metrics=METRICS.split(","), resume=True)
