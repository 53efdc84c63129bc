"""``nicc-twin pool``: replay a GPU cluster trace under schedulers and allocation modes.

The lead wires it into :mod:`twin.cli` with ``add_parser(sub)`` (the subcommand registers
``cmd_pool`` as its ``func``).

Examples
--------
``nicc-twin pool --trace ../shared/data/openb --policy all --seeds 42-51``
``nicc-twin pool --trace sample --policy FGD,BestFit --mode fractional,whole --seeds 3 --at 100``
"""
from __future__ import annotations

import json

import numpy as np

from ..errors import InputError
from .simulate import MODES, PAPER_SEEDS, POLICIES


def parse_seeds(text: str) -> list[int]:
    """``"42-51"`` -> 42..51, ``"3"`` -> the paper's first 3 seeds, ``"1,5,9"`` -> those."""
    s = str(text).strip()
    try:
        if "-" in s[1:]:
            a, b = s.split("-", 1)
            lo, hi = int(a), int(b)
            if hi < lo:
                raise ValueError
            return list(range(lo, hi + 1))
        if "," in s:
            return [int(x) for x in s.split(",") if x.strip()]
        n = int(s)
    except ValueError:
        raise InputError("--seeds", text, "a count (10), a range (42-51) or a list (1,2,3)") from None
    if not 1 <= n <= 1000:
        raise InputError("--seeds", text, "a count between 1 and 1000")
    return list(range(PAPER_SEEDS[0], PAPER_SEEDS[0] + n))


def _names(text: str, choices, field: str) -> list[str]:
    if str(text).lower() == "all":
        return list(choices)
    return [x.strip() for x in str(text).split(",") if x.strip()] or [""]


def add_parser(subparsers, parents=()):
    """Register the ``pool`` subcommand on an argparse subparsers object."""
    s = subparsers.add_parser("pool", parents=list(parents), help="replay a GPU cluster trace (FGD protocol) "
                              "under schedulers and allocation modes")
    s.add_argument("--trace", default="sample",
                   help="openb folder or pod list CSV, 'sample' (shipped), 'synthetic' or 'openb' (../shared/data/openb)")
    s.add_argument("--policy", default="all", help=f"comma-separated of {', '.join(POLICIES)}, or all")
    s.add_argument("--mode", default="fractional", help=f"comma-separated of {', '.join(MODES)}, or all")
    s.add_argument("--seeds", default="10", help="a count (10 = 42..51), a range (42-51) or a list")
    s.add_argument("--ratio", type=float, default=1.3, help="arrived load at the end, share of capacity (1.3)")
    s.add_argument("--at", type=float, default=100.0, help="arrived load [%% of capacity] the table reports (100)")
    s.add_argument("--granularity", type=float, default=0.01, help="smallest share of a card (0.01 = 1%%)")
    s.add_argument("--overcommit", type=float, default=1.5, help="over-commit factor of the overcommit mode")
    s.add_argument("--dask", action="store_true", help="run seeds x policies x modes on Dask (LocalCluster of 2)")
    s.add_argument("--scheduler", default=None, help="Dask scheduler address to scale out (implies --dask)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_pool)
    return s


def cmd_pool(args) -> int:
    """Run the grid and print one row per (policy, mode): allocation rate mean and spread."""
    from . import pool, pool_grid

    seeds = parse_seeds(args.seeds)
    policies = _names(args.policy, POLICIES, "--policy")
    modes = _names(args.mode, MODES, "--mode")
    if not (0.0 <= float(args.at) <= 100.0 * float(args.ratio)):
        raise InputError("--at", args.at, f"an arrived load between 0 and {100 * args.ratio:g} %")
    kw = dict(policies=policies, modes=modes, seeds=seeds, ratio=float(args.ratio), overcommit=float(args.overcommit),
              granularity=float(args.granularity))
    if args.dask or args.scheduler:
        ds = pool_grid(args.trace, scheduler=args.scheduler, **kw)
    else:
        ds = pool(args.trace, **kw)
    at = ds.sel(arrived=round(float(args.at)), method="nearest")
    rows = []
    for p in ds["policy"].values:
        for m in ds["mode"].values:
            a = at["allocation_rate"].sel(policy=p, mode=m).values
            sv = at["served_rate"].sel(policy=p, mode=m).values
            rows.append({"policy": str(p), "mode": str(m), "allocation_rate": float(np.mean(a)),
                         "allocation_rate_std": float(np.std(a)), "served_rate": float(np.mean(sv)),
                         "failed_pods": float(ds["failed_pods"].sel(policy=p, mode=m).mean()),
                         "fragmentation_gpus": float(ds["fragmentation"].sel(policy=p, mode=m).mean())})
    if args.json:
        print(json.dumps({"trace": ds.attrs["trace"], "nodes": int(ds.attrs["nodes"]), "gpus": int(ds.attrs["gpus"]),
                          "seeds": seeds, "at": float(args.at), "rows": rows}, indent=2))
        return 0
    print(f"trace {ds.attrs['trace']}: {ds.attrs['nodes']} nodes, {ds.attrs['gpus']} GPUs; {len(seeds)} seeds; "
          f"GPU allocation rate at {args.at:g}% arrived")
    print(f"{'policy':<14} {'mode':<11} {'alloc %':>8} {'+-':>5} {'served %':>9} {'failed':>7} {'frag GPUs':>10}")
    for r in rows:
        print(f"{r['policy']:<14} {r['mode']:<11} {r['allocation_rate']:8.2f} {r['allocation_rate_std']:5.2f} "
              f"{r['served_rate']:9.2f} {r['failed_pods']:7.0f} {r['fragmentation_gpus']:10.1f}")
    return 0
