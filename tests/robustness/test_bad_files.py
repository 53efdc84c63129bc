"""Bad input tried as a user would: 1,000 malformed scenario files through the CLI, truncated and
corrupted state files into load_state, and ``run -o`` into a full or read-only folder."""
from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from twin.cli import main
from twin.core import load_state, save_state
from twin.errors import InputError

sys.path.insert(0, str(Path(__file__).parent))
from _malformed import malformed  # noqa: E402

N_FILES = 1000


def _cli(argv) -> tuple[int, list[str], str]:
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = main(argv)
    return rc, err.getvalue().strip().splitlines(), out.getvalue()


def test_1000_malformed_scenario_files_give_one_line_naming_the_field(tmp_path):
    kinds = set()
    bad = []
    for i, (label, data, field) in enumerate(malformed(N_FILES, seed=15)):
        p = tmp_path / f"case{i}.toml"
        p.write_bytes(data)
        kinds.add(label.split(":")[-1].split("=")[0])
        # alternate the two commands that take a scenario; `run` must fail before writing anything
        argv = ["info", str(p)] if i % 2 == 0 else ["run", str(p), "-o", str(tmp_path / f"out{i}.nc")]
        rc, err, _ = _cli(argv)
        ok = (rc == 2 and len(err) == 1 and err[0].startswith("nicc-twin: error:") and "Traceback" not in err[0]
              and (field is None or field in err[0]) and not (tmp_path / f"out{i}.nc").exists())
        if not ok:
            bad.append((label, field, rc, err[:3]))
    assert not bad, f"{len(bad)} of {N_FILES} malformed files were not a one-line error naming the field: {bad[:5]}"
    assert len(kinds) > 60  # the generator really varies the fields and the kinds of damage


@pytest.mark.parametrize("cmd", ["info", "run"])
def test_malformed_file_in_a_real_subprocess(tmp_path, cmd):
    label, data, field = next(iter(malformed(1, seed=3)))
    p = tmp_path / "bad.toml"
    p.write_bytes(data)
    argv = [sys.executable, "-m", "twin.cli", cmd, str(p)] + (["-o", str(tmp_path / "x.nc")] if cmd == "run" else [])
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1 and "Traceback" not in r.stderr, r.stderr
    assert field is None or field in err[0]


# --- state files -------------------------------------------------------------------------------

def _state() -> xr.DataTree:
    """A state tree shaped like the twin's (inputs group, domain results with units)."""
    rng = np.random.default_rng(0)
    ds = xr.Dataset({"step_time": ("plan", rng.random(50), {"units": "s"}),
                     "power": (("rack", "t"), rng.random((40, 30)), {"units": "W"})},
                    coords={"plan": np.arange(50), "rack": np.arange(40)}, attrs={"scenario": "cluster-2023"})
    return xr.DataTree.from_dict({"/": xr.Dataset(attrs={"name": "cluster-2023"}),
                                  "/inputs": xr.Dataset(attrs={"compute.nodes": 128}),
                                  "/energy/results": ds, "/training/results": ds[["step_time"]]})


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_state_round_trip(tmp_path, suffix):
    p = save_state(_state(), tmp_path / f"s{suffix}")
    back = load_state(p)
    np.testing.assert_array_equal(back["energy/results"]["power"].values, _state()["energy/results"]["power"].values)


def _damage_nc(p: Path, how: str, rng) -> None:
    data = bytearray(p.read_bytes())
    if how == "truncated-half":
        p.write_bytes(bytes(data[: len(data) // 2]))
    elif how == "truncated-header":
        p.write_bytes(bytes(data[:100]))
    elif how == "empty":
        p.write_bytes(b"")
    elif how == "zeroed-middle":
        i = len(data) // 3
        data[i:i + 4096] = bytes(4096)
        p.write_bytes(bytes(data))
    elif how == "random-bytes":
        p.write_bytes(bytes(rng.integers(0, 256, len(data), dtype=np.uint8)))
    elif how == "text":
        p.write_text("this is not a NetCDF file\n")
    elif how == "header-flipped":
        data[0:8] = bytes(b ^ 0xFF for b in data[0:8])
        p.write_bytes(bytes(data))


NC_DAMAGE = ["truncated-half", "truncated-header", "empty", "zeroed-middle", "random-bytes", "text", "header-flipped"]


@pytest.mark.parametrize("how", NC_DAMAGE)
def test_damaged_netcdf_is_a_clear_error(tmp_path, how):
    p = save_state(_state(), tmp_path / "s.nc")
    _damage_nc(p, how, np.random.default_rng(1))
    with pytest.raises(InputError) as e:  # HDF5 errors, or the digest written with the data
        load_state(p)
    assert e.value.field == "path" and str(p) in str(e.value) and "\n" not in str(e.value)


def _zarr_files(root: Path, pattern: str) -> list[Path]:
    return sorted(q for q in root.rglob(pattern) if q.is_file())


ZARR_DAMAGE = ["metadata-deleted", "metadata-garbage", "chunk-truncated", "chunk-deleted", "group-deleted", "empty-dir"]


@pytest.mark.parametrize("how", ZARR_DAMAGE)
def test_damaged_zarr_is_a_clear_error(tmp_path, how):
    p = save_state(_state(), tmp_path / "s.zarr")
    meta = _zarr_files(p, "zarr.json") + _zarr_files(p, ".z*")
    chunks = [q for q in _zarr_files(p, "*") if q.name not in ("zarr.json",) and not q.name.startswith(".z")
              and "power" in str(q)]
    if how == "metadata-deleted":
        for m in meta:
            m.unlink()
    elif how == "metadata-garbage":
        for m in meta:
            m.write_text("{not json")
    elif how == "chunk-truncated":
        assert chunks
        for c in chunks:
            c.write_bytes(c.read_bytes()[:7])
    elif how == "chunk-deleted":
        assert chunks
        for c in chunks:
            c.unlink()
    elif how == "group-deleted":
        shutil.rmtree(p / "energy")
    elif how == "empty-dir":
        shutil.rmtree(p)
        p.mkdir()
    # zarr reads a lost chunk or group as fill values: the digest written with the data catches it
    with pytest.raises(InputError) as e:
        load_state(p)
    assert e.value.field == "path" and "\n" not in str(e.value)


def test_load_state_rejects_other_formats(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("a,b\n")
    with pytest.raises(InputError, match="unknown format"):
        load_state(p)


# --- run -o into a full or read-only folder ---------------------------------------------------

@contextlib.contextmanager
def _tmpfs(path: Path, size: str):
    """A tiny tmpfs at ``path`` (root only); yields False where mounting is not allowed."""
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    try:
        yield r.returncode == 0
    finally:
        if r.returncode == 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _old_file(d: Path) -> bytes:
    save_state(xr.DataTree.from_dict({"/": xr.Dataset({"x": ("i", np.arange(3.0))})}), d / "state.nc")
    return (d / "state.nc").read_bytes()


@pytest.mark.parametrize("trouble", ["disk-full", "read-only"])
def test_run_output_to_full_or_read_only_folder(tmp_path, monkeypatch, trouble):
    mnt = tmp_path / "mnt"
    with _tmpfs(mnt, "64k") as mounted:
        if mounted:
            old = _old_file(mnt)
            if trouble == "read-only":
                assert subprocess.run(["mount", "-o", "remount,ro", str(mnt)]).returncode == 0
        else:  # not root: the same OSError, raised where the file system would raise it
            old = _old_file(mnt)
            code = errno.ENOSPC if trouble == "disk-full" else errno.EROFS
            real = os.replace

            def failing_replace(src, dst, *a, **k):
                if str(dst).startswith(str(mnt)):
                    raise OSError(code, os.strerror(code), str(dst))
                return real(src, dst, *a, **k)

            monkeypatch.setattr(os, "replace", failing_replace)
        rc, err, _ = _cli(["run", "heterogeneous-2021", "-o", str(mnt / "state.nc")])
        assert rc == 2 and len(err) == 1 and "output" in err[0] and "Traceback" not in err[0], err
        assert (mnt / "state.nc").read_bytes() == old  # the old file is intact
        assert not list(mnt.glob("*.part"))  # and no partial file is left
