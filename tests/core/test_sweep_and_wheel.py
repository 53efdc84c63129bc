import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from twin.errors import ScenarioError
from twin.energy import it_power
from twin.summary import bisection_bandwidth
from twin.sweep import sweep

ROOT = Path(__file__).resolve().parents[2]


def headline(sc):
    return {"bisection": bisection_bandwidth(sc), "it_power": it_power(sc)}


def test_sweep_on_dask_scheduler_stacks_grid_dims():
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        ds = sweep("cluster-2023", {"fabric.nic_speed": ["100 Gbit/s", "200 Gbit/s", "400 Gbit/s"],
                                    "compute.nodes": [64, 128]}, headline, client=client)
        assert len(client.scheduler_info()["workers"]) == 2
    assert ds["bisection"].dims == ("fabric.nic_speed", "compute.nodes")
    assert ds["bisection"].attrs["units"] == "Tbit / s"
    # bisection = nodes * 8 NICs * speed / 2
    np.testing.assert_allclose(ds["bisection"].sel({"compute.nodes": 128}).values, [51.2, 102.4, 204.8])
    assert ds["fabric.nic_speed"].attrs["units"] == "Gbit / s"


def test_sweep_bad_point_fails_before_running():
    with pytest.raises(ScenarioError, match="fabric.nic_speed"):
        sweep("cluster-2023", {"fabric.nic_speed": ["100 Gbit/s", "100 W"]}, headline)


def test_wheel_carries_every_dataset_file(tmp_path):
    """An installed wheel must find datasets/ as a source checkout does (twin.paths)."""
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q",
                        "-w", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    whl = next(tmp_path.glob("*.whl"))
    names = set(zipfile.ZipFile(whl).namelist())
    wanted = [p for p in (ROOT / "datasets").rglob("*") if p.is_file() and p.suffix in (".toml", ".csv")]
    assert wanted
    for p in wanted:
        rel = p.relative_to(ROOT / "datasets").as_posix()
        assert any(n.endswith(f"/share/nicc-twin/datasets/{rel}") for n in names), rel


def test_sweep_stacks_domain_datasets():
    from twin import training

    ds = sweep("cluster-2023", {"fabric.nic_speed": ["100 Gbit/s", "400 Gbit/s"]}, training.estimate)
    assert ds["step_time"].dims == ("fabric.nic_speed",) and ds["step_time"].attrs["units"] == "s"
    assert ds["breakdown"].dims == ("fabric.nic_speed", "component")
    # a faster scale-out network never makes the step slower
    assert float(ds["step_time"][1]) <= float(ds["step_time"][0])
