"""``nicc-twin``: the command line, a thin layer over twin.

    nicc-twin scenarios                     list presets
    nicc-twin info SCENARIO                 headline figures
    nicc-twin run SCENARIO -o FILE          evaluate every domain in dependency order, write the tree
    nicc-twin compare A B [--json]          headline figures of two scenarios with deltas
    nicc-twin fields SCENARIO [FIELD ...]   which results each scenario field moves
    nicc-twin pool [--trace T] [--policy P] [--mode M] [--seeds N]   GPU pooling on a cluster trace
    nicc-twin sweep BASE --set FIELD=V1,V2 ... -o OUT.zarr [--resume]   whole-twin sweeps on Dask
    nicc-twin validate [--cases PATH ...] [--domain NAME] [--json]
    nicc-twin bench [--quick] [--check] [--json] [NAME ...]
    nicc-twin serve [SCENARIO] [--port N] [--ip ADDR] [--cull-idle S] [--preheat N] [--refill-delay S] [--no-warm-up]

Errors print one line and exit non-zero; ``--debug`` shows the traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .errors import TwinError


def _bar(i: int, n: int, label: str, stream=sys.stderr) -> None:
    if not stream.isatty() and os.environ.get("NICC_TWIN_PROGRESS") != "1":
        if label:
            print(f"[{i + 1}/{n}] {label}", file=stream, flush=True)
        return
    width = 30
    done = int(width * i / max(n, 1))
    stream.write(f"\r[{'#' * done}{'.' * (width - done)}] {i}/{n} {label:<30}")
    if i >= n:
        stream.write("\n")
    stream.flush()


def _table(rows: list[dict], cols: list[str]) -> str:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) if rows else len(c) for c in cols}
    line = "  ".join(c.ljust(widths[c]) for c in cols)
    out = [line, "  ".join("-" * widths[c] for c in cols)]
    for r in rows:
        out.append("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols))
    return "\n".join(out)


def cmd_scenarios(args) -> int:
    from .scenario import list_presets, load_scenario

    rows = []
    for name in list_presets():
        sc = load_scenario(name)
        rows.append({"name": name, "era": sc.era, "cards": f"{sc.cards:,}", "accelerator": sc.compute.accelerator,
                     "description": sc.description[:70] + ("..." if len(sc.description) > 70 else "")})
    print(_table(rows, ["name", "era", "cards", "accelerator", "description"]))
    return 0


def cmd_info(args) -> int:
    from .scenario import load_scenario
    from .summary import summary, format_value

    sc = load_scenario(args.scenario)
    print(f"{sc.name}: {sc.description}")
    rows = [{"figure": f.label, "value": format_value(f.value), "how": f.formula} for f in summary(sc)]
    print(_table(rows, ["figure", "value", "how"]))
    return 0


def cmd_run(args) -> int:
    from .core import Twin

    t = Twin(args.scenario)
    t.run(progress=_bar)
    path = t.save(args.output)
    print(f"wrote {path}")
    return 0


def cmd_validate(args) -> int:
    from .validation import fidelity, run_cases

    results = run_cases(args.cases, args.domain)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=1))
    else:
        rows = []
        for r in results:
            rows.append({
                "id": r.id, "domain": r.domain, "kind": {"measurement": "meas", "consistency": "cons"}.get(r.kind, r.kind or "?"),
                "expected": "" if r.expected is None else f"{r.expected:.4g}",
                "predicted": "" if r.predicted is None else f"{r.predicted:.4g}",
                "unit": r.unit,
                "error": "" if r.rel_error is None else (
                    f"{r.abs_error:+.3g} {'K' if r.unit == 'degC' else r.unit}".strip()
                    if any(ch.isalpha() for ch in r.tolerance) else f"{100 * r.rel_error:+.1f}%"),
                "tol": r.tolerance, "cal": "yes" if r.calibrated else "",
                "result": {"pass": "pass", "fail": "FAIL", "known gap": "known gap", "gap closed": "GAP CLOSED (remove known_gap)",
                           "gap widened": f"GAP WIDENED (past bound {r.gap_bound})",
                           "error": f"ERROR: {r.error}"}[r.status],
            })
        print(_table(rows, ["id", "domain", "kind", "expected", "predicted", "unit", "error", "tol", "cal", "result"]))
        n_pass = sum(r.status == "pass" for r in results)
        n_gap = sum(r.status == "known gap" for r in results)
        n_fail = sum(not r.ok for r in results)
        print(f"{n_pass} passed, {n_fail} failed" + (f", {n_gap} known gaps" if n_gap else ""))
        for r in results:
            if r.status in ("known gap", "gap widened"):
                print(f"known gap {r.id} (bound {r.gap_bound}): {r.known_gap}")
        fid = fidelity(results)
        pct = lambda x: "" if x is None else f"{100 * x:.1f}%"  # noqa: E731
        print("\nFidelity on measurements (known gaps apart); consistency checks counted apart")
        print(_table([{"domain": d["domain"], "measurements": d["measurements"], "mean |err|": pct(d["mean_abs_error"]),
                       "max |err|": pct(d["max_abs_error"]), "worst": d["worst"], "known gaps": d["known_gaps"],
                       "consistency": f"{d['consistency_passed']}/{d['consistency']} pass"} for d in fid["domains"]],
                     ["domain", "measurements", "mean |err|", "max |err|", "worst", "known gaps", "consistency"]))
        if fid["baseline"]:
            print("\nConstant baseline (median published value) on quantities with >= 5 measurements; "
                  "the model must beat it by 2x")
            print(_table([{"quantity": b["quantity"], "cases": b["cases"], "median": f"{b['median']:.4g} {b['unit']}".strip(),
                           "constant |err|": pct(b["baseline_error"]), "model |err|": pct(b["model_error"]),
                           "ratio": f"{b['ratio']:.1f}x", "flag": "FLAG: model < 2x better" if b["flagged"] else ""}
                          for b in fid["baseline"]],
                         ["quantity", "cases", "median", "constant |err|", "model |err|", "ratio", "flag"]))
        if fid["leave_one_out"]:
            print("\nCalibrated constants: cases fitted on, error with the fit and leave-one-out (refit without the case)")
            print(_table([{"constant": row["constant"], "case": row["case"],
                           "fitted": "" if row["fitted_error"] is None else f"{100 * row['fitted_error']:+.1f}%",
                           "leave-one-out": "" if row["loo_error"] is None else f"{100 * row['loo_error']:+.1f}%",
                           "note": row["note"]} for row in fid["leave_one_out"]],
                         ["constant", "case", "fitted", "leave-one-out", "note"]))
    return 0 if all(r.ok for r in results) else 1


def cmd_bench(args) -> int:
    from .bench import run_benchmarks

    res = run_benchmarks(args.names or None, quick=args.quick, progress=None if args.json else _bar)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        def status(r):
            if r["problems"]:
                return "FAIL"
            return "ok" if r["goal_met"] else "agrees (goal not checked: --quick)"

        rows = [{"name": r["name"], "size": r["size"], "fast_s": f"{r['fast_s']:.4g}", "reference_s": f"{r['reference_s']:.4g}",
                 "ratio": f"{r['ratio']:.1f}x", "agreement": f"{r['discrepancy']:.2g} <= {r['tolerance']:.2g} {r['metric']}",
                 "goal": r["goal"], "result": status(r)} for r in res]
        print(_table(rows, ["name", "size", "fast_s", "reference_s", "ratio", "agreement", "result", "goal"]))
        for r in res:
            for p in r["problems"]:
                print(f"{r['name']}: {p}")
            if r["note"]:
                print(f"{r['name']}: {r['note']}")
    if args.check and any(r["problems"] for r in res):
        return 1
    return 0


def cmd_compare(args) -> int:
    from .compare import compare

    ds = compare(args.a, args.b)
    rows = []
    for i in range(ds.sizes["figure"]):
        unit = str(ds.unit.values[i])
        rel = float(ds.relative.values[i])
        rows.append({"domain": str(ds.domain.values[i]), "figure": str(ds.label.values[i]), "unit": unit,
                     "a": float(ds.a.values[i]), "b": float(ds.b.values[i]), "delta": float(ds.delta.values[i]),
                     "relative": rel})
    if args.json:
        print(json.dumps({"a": ds.attrs["a"], "b": ds.attrs["b"], "figures": rows}, indent=1))
        return 0
    show = [{**r, "a": f"{r['a']:.4g}", "b": f"{r['b']:.4g}", "delta": f"{r['delta']:+.4g}",
             "relative": f"{100 * r['relative']:+.1f}%"} for r in rows]
    print(f"a = {ds.attrs['a']}, b = {ds.attrs['b']}")
    print(_table(show, ["domain", "figure", "a", "b", "unit", "delta", "relative"]))
    return 0


def cmd_fields(args) -> int:
    from .compare import field_sensitivity, sensitivity_table

    rows = field_sensitivity(args.scenario, args.fields or None)
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
    else:
        print(_table(sensitivity_table(rows), ["field", "perturbation", "results moved", "status"]))
    silent = [r["field"] for r in rows if not r["moved"] and not r["label_only"]]
    if silent:
        print(f"{len(silent)} field(s) move no result and are not marked label_only: {', '.join(silent)}", file=sys.stderr)
    return 1 if silent else 0


#: Kernels idle this many seconds with no browser connected are shut down (``--cull-idle``).
#: Connected kernels are never culled, however long their user is idle, so the timeout only
#: reclaims sessions whose page went away (lost network, crashed browser; a closed tab asks
#: Voila to shut its kernel down at once). It must outlast a page's load under load: with 40 s,
#: 20 concurrent sessions on 2 cores had their kernels culled before their pages connected.
CULL_IDLE_DEFAULT = 600

#: Kernels kept with the app already executed (``--preheat``): a page that finds one renders at
#: once instead of starting Python, importing the twin and running the scenario (about 6 s of
#: CPU). Each pooled kernel holds about 220 MB; size the pool to the users expected at once.
PREHEAT_DEFAULT = 2

#: Seconds after a pooled kernel is taken before the pool starts its replacement
#: (``--refill-delay``). A burst of users drains the pool at once; refilling immediately would
#: start as many kernels executing the app while those users' pages still load, and on a small
#: server the refill then takes the CPU their first render needs.
REFILL_DELAY_DEFAULT = 120


#: The Voila template ``serve`` uses (notebooks/voila/templates/nicc): Voila's lab page
#: without the CDN style sheets and with a loading indicator that does not animate.
VOILA_TEMPLATE = "nicc"


def voila_env(env: dict | None = None) -> dict:
    """The environment Voila runs in: JUPYTER_PATH starts with the folder holding the NICC Twin
    template, so Voila finds it before the installed ones (and falls back to them for the rest)."""
    from .paths import notebooks_dir

    env = dict(os.environ if env is None else env)
    env["JUPYTER_PATH"] = os.pathsep.join([str(notebooks_dir())] + [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    return env


def voila_command(notebook, *, port: int, ip: str, cull_idle: int = CULL_IDLE_DEFAULT, preheat: int = 0,
                  refill_delay: float = REFILL_DELAY_DEFAULT) -> list[str]:
    """The Voila command line ``serve`` runs: kernel culling and optional preheated kernels.

    Culling (jupyter_server's MappingKernelManager): a kernel idle for ``cull_idle`` s with no
    browser connected is shut down (checked every min(60, cull_idle / 4) s; connected kernels
    are never culled, nor are pooled ones); 0 disables it. ``preheat`` > 0 keeps that many
    kernels with the app already executed (Voila's preheated kernel pool), so the next sessions
    render at once; a taken kernel is replaced ``refill_delay`` s later. Kernels talk to Voila
    over local IPC sockets, not TCP: with 20 kernels starting at once, jupyter_client's free-port
    picks raced (a kernel's heartbeat died with "Address already in use"), and nothing of a
    shared server's kernels is then reachable from the network.
    """
    cmd = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", f"--Voila.ip={ip}",
           f"--template={VOILA_TEMPLATE}", "--KernelManager.transport=ipc"]
    if cull_idle > 0:
        cmd += [f"--MappingKernelManager.cull_idle_timeout={int(cull_idle)}",
                f"--MappingKernelManager.cull_interval={max(2, min(60, int(cull_idle) // 4))}",
                "--MappingKernelManager.cull_connected=False", "--MappingKernelManager.cull_busy=False"]
    if preheat > 0:
        cmd += ["--preheat_kernel=True", f"--pool_size={int(preheat)}",
                f"--VoilaKernelManager.fill_delay={float(refill_delay):g}"]
    return cmd


def _warm_up(scenario) -> None:
    """Run the scenario's whole twin once before Voila starts, with a progress line per domain.

    The first run after an install compiles every numba kernel (about 45 s on 2 cores) and
    caches them (``cache=True``); every kernel the server starts, pooled or not, then loads the
    compiled code instead of compiling it again while a user waits. With the cache warm this
    run takes a second or two."""
    import time

    from .core import Twin

    t0 = time.perf_counter()
    print("warming up: one run of the whole twin (the first start after an install compiles the kernels, "
          "about a minute; later starts take seconds)", file=sys.stderr, flush=True)
    Twin(scenario).run(progress=_bar)
    print(f"warm in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)


def cmd_serve(args) -> int:
    """Run Voila as a child in its own session, forward SIGINT/SIGTERM/SIGHUP to it and wait;
    whatever of the server and its kernels is still alive after a grace period is killed."""
    import signal
    import subprocess
    import time
    from pathlib import Path

    import psutil

    from .errors import InputError
    from .paths import notebooks_dir
    from .scenario import load_scenario

    for name, v, lo in (("--cull-idle", args.cull_idle, 0), ("--preheat", args.preheat, 0), ("--port", args.port, 1),
                        ("--refill-delay", args.refill_delay, 0)):
        if v < lo:
            raise InputError(name, v, f"an integer >= {lo}")
    sc = load_scenario(args.scenario)  # fail early, with a clear one-line message, on a bad scenario
    if not args.no_warm_up:
        _warm_up(sc)
    scenario = args.scenario
    if Path(scenario).exists():  # a scenario file: the server runs in the notebooks folder
        scenario = str(Path(scenario).resolve())
    env = voila_env(dict(os.environ, NICC_TWIN_SCENARIO=scenario))
    nb = notebooks_dir() / "app.ipynb"
    cmd = voila_command(nb, port=args.port, ip=args.ip, cull_idle=args.cull_idle, preheat=args.preheat,
                        refill_delay=args.refill_delay)
    print(f"NICC Twin app on http://{args.ip}:{args.port}/ (scenario {sc.name}; {args.preheat} preheated "
          f"kernel(s); idle kernels culled after {args.cull_idle} s); Ctrl-C stops it", file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd, env=env, cwd=nb.parent, start_new_session=True)
    stop = []

    def forward(signum, frame):
        stop.append(signum)
        try:
            proc.send_signal(signal.SIGTERM)  # Voila stops its loop and shuts every kernel down
        except ProcessLookupError:
            pass

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    seen: dict[int, float] = {}  # pid -> create time of every process the server started
    try:
        while proc.poll() is None:
            try:
                for c in psutil.Process(proc.pid).children(recursive=True):
                    seen.setdefault(c.pid, c.create_time())
            except psutil.Error:
                pass
            time.sleep(0.5)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        _reap(proc, seen)
    return 0 if stop or proc.returncode in (0, -signal.SIGTERM) else proc.returncode


def server_kernels(pid: int) -> list:
    """The kernel processes (ipykernel) below a ``serve`` or Voila process ``pid``: what the
    serve tests and tools/load_check.py count and measure."""
    import psutil

    try:
        kids = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    out = []
    for k in kids:
        try:
            if "ipykernel" in " ".join(k.cmdline()):
                out.append(k)
        except psutil.Error:
            pass
    return out


def _reap(proc, seen: dict, grace: float = 20.0) -> None:
    """Wait for the server to exit, then end any kernel it left behind (same pid and start time)."""
    import signal
    import subprocess

    import psutil

    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()
    left = []
    for pid, created in seen.items():
        try:
            p = psutil.Process(pid)
            if abs(p.create_time() - created) < 1e-3:
                left.append(p)
        except psutil.Error:
            pass
    for p in left:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(left, timeout=5)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    p = argparse.ArgumentParser(prog="nicc-twin", description="NICC Twin: digital twin of an AI computing centre",
                                parents=[common])
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, help, func=None, *arguments):  # every subcommand also takes --debug
        s = sub.add_parser(name, parents=[common], help=help)
        for flags, kw in arguments:
            s.add_argument(*flags, **kw)
        if func is not None:
            s.set_defaults(func=func)
        return s

    scenario = (("scenario",), {"help": "preset name or .toml path"})
    as_json = (("--json",), {"action": "store_true"})
    add("scenarios", "list the built-in presets", cmd_scenarios)
    add("info", "headline figures of a scenario", cmd_info, scenario)
    add("run", "evaluate the domain models and write the state", cmd_run, (("scenario",), {}),
        (("-o", "--output"), {"required": True, "help": "output .nc or .zarr"}))
    add("compare", "headline figures of two scenarios side by side, with deltas", cmd_compare,
        (("a",), scenario[1]), (("b",), scenario[1]), as_json)
    add("fields", "which results each scenario field moves (perturb and re-run)", cmd_fields, scenario,
        (("fields",), {"nargs": "*", "help": "dotted field paths (default: all)"}), as_json)
    from .platform.cli import add_parser as add_pool
    from .sweep_cli import add_parser as add_sweep

    add_pool(sub, parents=[common])
    add_sweep(sub)
    add("validate", "run validation cases against published measurements", cmd_validate,
        (("--cases",), {"nargs": "*", "default": [], "help": "extra case files or folders"}),
        (("--domain",), {"help": "only this domain"}), as_json)
    add("bench", "time fast paths against their references", cmd_bench, (("names",), {"nargs": "*"}),
        (("--quick",), {"action": "store_true", "help": "reduced sizes; checks agreement, not goals"}), as_json,
        (("--check",), {"action": "store_true",
                        "help": "exit 1 when a fast path disagrees with its reference or misses its goal"}))
    s = add("serve", help="serve the dashboards (Voila)")
    s.add_argument("scenario", nargs="?", default="cluster-2023", help="preset name or .toml path")
    s.add_argument("--port", type=int, default=8866)
    s.add_argument("--ip", default="127.0.0.1")
    s.add_argument("--cull-idle", type=int, default=CULL_IDLE_DEFAULT, metavar="SECONDS",
                   help=f"shut down kernels idle this long with no browser connected (default {CULL_IDLE_DEFAULT}; 0: never)")
    s.add_argument("--preheat", type=int, default=PREHEAT_DEFAULT, metavar="N",
                   help="keep N kernels with the app already executed, about 220 MB each: size it to the users "
                        f"expected at once (Voila preheated kernels; default {PREHEAT_DEFAULT}; 0: none)")
    s.add_argument("--no-warm-up", action="store_true",
                   help="start Voila at once, without first running the twin to compile and cache its kernels")
    s.add_argument("--refill-delay", type=float, default=REFILL_DELAY_DEFAULT, metavar="SECONDS",
                   help="wait this long after a preheated kernel is taken before starting its replacement, so a "
                        f"burst of users gets the CPU first (default {REFILL_DELAY_DEFAULT})")
    s.set_defaults(func=cmd_serve)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.debug = getattr(args, "debug", False)
    try:
        return args.func(args)
    except (TwinError, FileNotFoundError) as exc:
        if args.debug:
            raise
        print(f"nicc-twin: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
