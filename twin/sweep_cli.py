"""``nicc-twin sweep``: the whole twin over a grid of scenario fields, on Dask, streamed to Zarr.

    nicc-twin sweep BASE --set fabric.nic_speed=100,200,400 --set energy.cooling=air,cold-plate \\
        --metrics cost.cost_per_gpu_hour,energy.pue -o out.zarr [--resume] [--scheduler ADDRESS]

Each point is written to the Zarr store as soon as it finishes, so a sweep killed (even with
``kill -9``) continues with ``--resume``: finished points are kept and not recomputed. Unknown
fields, bad values and unknown metric domains are errors before any point runs. A point reuses
every domain result whose inputs did not change (twin.sweep.domain_keys).

The twin's CLI (twin/cli.py) adds this command with :func:`add_parser` and dispatches to
:func:`cmd_sweep`; ``python -m twin.sweep_cli ...`` runs it on its own.
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``sweep`` sub-command to an argparse ``subparsers`` object."""
    p = subparsers.add_parser("sweep", help="sweep the whole twin over scenario fields on Dask, streamed to Zarr (resumable)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("base", help="base scenario: a preset name or a TOML path")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="FIELD=V1,V2,...",
                   help="a scenario field and its values (repeat for more dims); a bare number is read in the field's unit")
    p.add_argument("--metrics", default=None,
                   help="comma-separated DOMAIN.VARIABLE scalars to record (default: cost per GPU-hour, per million "
                        "tokens, carbon per million tokens, annual cost, PUE, MFU)")
    p.add_argument("-o", "--output", required=True, help="Zarr store to write (.zarr)")
    p.add_argument("--resume", action="store_true", help="continue the sweep stored at --output")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a running Dask scheduler (default: a local cluster)")
    p.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster (default 2)")
    p.add_argument("--no-reuse", action="store_true", help="recompute every domain at every point (for comparison)")
    p.set_defaults(func=cmd_sweep)
    return p


def _parse_sets(sets) -> dict:
    from .errors import InputError
    from .sweep import parse_values

    grid = {}
    for s in sets:
        if "=" not in s:
            raise InputError("--set", s, "FIELD=V1,V2,... such as fabric.nic_speed=100,200,400", "has no '='")
        k, v = s.split("=", 1)
        k = k.strip()
        if k in grid:
            raise InputError("--set", k, "each field once", "is given twice")
        grid[k] = parse_values(k, v)
    return grid


class _Bar:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.t0 = time.time()
        self.tty = self.stream.isatty() or os.environ.get("NICC_TWIN_PROGRESS") == "1"

    def __call__(self, done: int, total: int, label: str) -> None:
        dt = max(time.time() - self.t0, 1e-9)
        if self.tty:
            w = 30
            k = int(w * done / max(total, 1))
            self.stream.write(f"\r[{'#' * k}{'.' * (w - k)}] {done}/{total} {done / dt:5.1f} pt/s {label[:40]:<40}")
            if done >= total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{done}/{total}] {label}\n")
        self.stream.flush()


def cmd_sweep(args) -> int:
    """Run ``nicc-twin sweep`` from parsed arguments; prints a summary of the finished store."""
    from .sweep import sweep_to_zarr

    grid = _parse_sets(args.sets)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    t0 = time.time()
    ds = sweep_to_zarr(args.base, grid, args.output, metrics=metrics, scheduler=args.scheduler,
                       n_workers=args.workers, resume=args.resume, progress=_Bar(), reuse=not args.no_reuse)
    n = int(ds["_done"].size)
    run_no = int(ds.attrs.get("runs", 1))
    new = int((ds["_attempt"].values == run_no).sum())
    dt = time.time() - t0
    print(f"wrote {args.output}: {n} points ({new} computed in this run, {n - new} kept), "
          f"{new / dt if dt > 0 else 0:.2f} points/s")
    for name in ds.data_vars:
        if name.startswith("_"):
            continue
        v = ds[name].values
        print(f"  {name} [{ds[name].attrs.get('units', '')}]: min {float(v.min()):.4g}, max {float(v.max()):.4g}")
    return 0


def main(argv=None) -> int:
    """``python -m twin.sweep_cli BASE --set ... -o out.zarr``: the sweep command on its own."""
    from .errors import TwinError

    parser = argparse.ArgumentParser(prog="nicc-twin")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "sweep":
        argv = ["sweep", *argv]
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (TwinError, ValueError) as exc:
        print(f"nicc-twin: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
