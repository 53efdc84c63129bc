import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from twin import cli
from twin.core import Twin, load_state, save_state
from twin.errors import InputError
from twin.units import quantity_of


def test_state_groups_and_units():
    t = Twin("cluster-2023")
    for g in ("compute", "interconnect", "fabric", "training", "storage", "platform", "energy"):
        assert g in t.state.children
    ds = t.state["compute"].to_dataset()
    assert ds.sizes["node"] == 128
    assert quantity_of(ds["peak_bf16_per_card"]).to("TFLOP/s").magnitude == pytest.approx(312)
    e = t.state["energy"].to_dataset()
    # the input groups hold inputs only (no model results): racks of energy.servers_per_rack servers
    assert int(e["servers"].sum()) == 128 and int(e["servers"][0]) == 4
    assert not any(d in t.state[g].children for g in t.state.children for d in ("results",))


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_save_load_round_trip_keeps_units(tmp_path, suffix):
    t = Twin("superpool-2025")
    p = t.save(tmp_path / f"state{suffix}")
    back = load_state(p)
    a, b = t.state["fabric"].to_dataset(), back["fabric"].to_dataset()
    for k in a.data_vars:
        assert b[k].attrs["units"] == a[k].attrs["units"]
        np.testing.assert_allclose(b[k].values, a[k].values)
    assert back.attrs["scenario_name"] == "superpool-2025"


def test_interrupted_save_leaves_previous_file_intact(tmp_path, monkeypatch):
    t = Twin("cluster-2023")
    p = t.save(tmp_path / "s.nc")
    before = p.read_bytes()

    def boom(self, *a, **k):
        Path(a[0]).write_bytes(b"half-written")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.DataTree, "to_netcdf", boom)
    with pytest.raises(KeyboardInterrupt):
        Twin("superpool-2025").save(p)
    assert p.read_bytes() == before
    assert not list(tmp_path.glob("*.part"))


def test_bad_output_suffix(tmp_path):
    with pytest.raises(InputError, match=r"\.nc"):
        save_state(Twin("cluster-2023").state, tmp_path / "x.csv")


def test_cli_scenarios_info_and_errors(capsys):
    assert cli.main(["scenarios"]) == 0
    out = capsys.readouterr().out
    for n in ("heterogeneous-2021", "cluster-2023", "superpool-2025", "megatron-sc21-a100-3072"):
        assert n in out
    assert cli.main(["info", "cluster-2023"]) == 0
    out = capsys.readouterr().out
    assert "1,024" in out and "Peak BF16/FP16" in out and "319.5 PFLOP/s" in out


def test_cli_bad_scenario_one_line_no_traceback(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('extends = "cluster-2023"\n[fabric]\nspine_link_speed = "400 W"\n')
    r = subprocess.run([sys.executable, "-m", "twin.cli", "info", str(f)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == ("nicc-twin: error: fabric.spine_link_speed: '400 W' is a power; "
                                "expected a data rate such as '400 Gbit/s'")
    assert "Traceback" not in r.stderr


def test_cli_run_writes_state(tmp_path):
    out = tmp_path / "run.nc"
    r = subprocess.run([sys.executable, "-m", "twin.cli", "run", "cluster-2023", "-o", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert load_state(out).attrs["scenario_name"] == "cluster-2023"


def test_cli_bench_json_runs(capsys):
    from twin.bench import Benchmark, register_benchmark, run_benchmark

    @register_benchmark("test-sum", domain="test")
    def _setup(quick):
        x = np.arange(10_000, dtype=float)
        return Benchmark(size="1e4", fast=lambda: x.sum(), reference=lambda: sum(x.tolist()), repeats=3)

    r = run_benchmark("test-sum", quick=True)
    assert r["ratio"] > 1 and r["fast_s"] > 0
    assert cli.main(["bench", "--json", "--quick", "test-sum"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert {"name", "size", "fast_s", "reference_s", "ratio"} <= set(res[0])
