"""Load check: many concurrent browser sessions against one ``nicc-twin serve``.

    python tools/load_check.py [--sessions 20] [--preheat 0] [--cull-idle S] [--linger 60]
                               [--baseline] [--json FILE] [--check]

Starts one server (``python -m twin.cli serve``) on a free loopback port, opens ``--sessions``
headless chromium pages at once (Playwright, Debian chromium), and for each session measures
the time to first render (``.bk-Canvas`` attached and the scenario name shown), then changes
a control (the era selector) and waits for the redraw (the scenario name changes). With every
session rendered it samples the memory of the server's kernels (RSS and USS per kernel). Then
it closes the pages as a browser tab is closed (``beforeunload`` runs, which asks Voila to shut
the kernel down), waits ``--linger`` seconds and counts the kernels still alive. It stops the
server with SIGTERM and checks that nothing of it is left.

With ``--preheat N`` the server keeps N kernels with the app already executed, and the check
waits until every pooled kernel has run the app before the users arrive. The CPU the server
(Voila and its kernels) and the browsers spend while the sessions render is reported per session:
the browsers run on the server's cores here, where a user's browser runs on the user's machine.
``--baseline`` times the same sessions against an empty Voila page (one HTML widget) on the same
machine: the floor that Voila's front end and the browsers set, whatever the app does.

Goals (issue 15): p50 first render < 15 s and p95 < 30 s for 20 sessions, < 400 MB per session,
no kernel left 60 s after its page closed. ``--check`` exits 1 when one is missed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's twin, whatever is installed
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage"]
#: CPU a kernel has spent once it has run the app (imports, the scenario's whole-twin run and the
#: widgets take about 6 s; a started, idle kernel under 1 s): a pooled kernel below this, or one
#: whose CPU still grows, is still executing.
APP_EXECUTED_CPU_S = 3.0
GOALS = {"p50_s": 15.0, "p95_s": 30.0, "mb_per_session": 400.0, "kernels_left": 0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


from twin.cli import server_kernels as _kernels  # noqa: E402 (after the path insert)


#: a kernel id: in the page's websocket URL (/api/kernels/<id>/channels) and in the kernel
#: process's connection file name (kernel-<id>.json)
KERNEL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _cmdline(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except psutil.Error:
        return ""


def _cpu_s(p: psutil.Process) -> float:
    try:
        return sum(p.cpu_times()[:2])
    except psutil.Error:
        return 0.0


def _chromium() -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if cmd and "chromium" in Path(cmd[0]).name:
            out.append(p)
    return out


def _cpu_split(server_pid: int) -> dict:
    """CPU seconds so far of the server's processes (Voila and its kernels) and of the browsers.

    On this machine the 20 browsers share the server's cores; a user's browser runs on the
    user's machine, so the split tells the server's work per session from the clients'."""
    try:
        server = [psutil.Process(server_pid)] + psutil.Process(server_pid).children(recursive=True)
    except psutil.Error:
        server = []
    return {"server": sum(_cpu_s(p) for p in server), "browsers": sum(_cpu_s(p) for p in _chromium())}


def _memory_mb(procs) -> list[tuple[float, float]]:
    out = []
    for p in procs:
        try:
            m = p.memory_full_info()
            out.append((m.rss / 2**20, m.uss / 2**20))
        except psutil.Error:
            pass
    return out


def _pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


async def _session(browser, url: str, i: int, timeout_ms: int, target: str) -> dict:
    ctx = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    kernel_ids: set[str] = set()  # the page's kernel, from its websocket's URL
    page.on("websocket", lambda ws: kernel_ids.update(KERNEL_ID.findall(ws.url)))
    rec = {"session": i, "ok": False, "errors": errors, "kernel_ids": kernel_ids}
    t0 = time.perf_counter()
    try:
        await page.goto(url, timeout=timeout_ms)
        await page.wait_for_selector(".bk-Canvas", state="attached", timeout=timeout_ms)
        name = page.locator(".nicc-scenario-name").first
        await name.wait_for(timeout=timeout_ms)
        rec["first_render_s"] = time.perf_counter() - t0
        before = (await name.inner_text()).strip()
        # change a control: the era selector, and wait for the summary to redraw
        t1 = time.perf_counter()
        await page.locator(".widget-dropdown select").first.select_option(target, timeout=timeout_ms)
        await page.wait_for_function(
            "([b]) => { const e = document.querySelector('.nicc-scenario-name'); return e && e.innerText.trim() !== b; }",
            arg=[before], timeout=timeout_ms)
        rec["redraw_s"] = time.perf_counter() - t1
        rec["ok"] = True
    except Exception as exc:  # noqa: BLE001 (a failed session is reported, not raised)
        rec["failure"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    rec["page"] = page
    rec["ctx"] = ctx
    return rec


async def _run_sessions(url: str, n: int, timeout_ms: int, server_pid: int) -> tuple[list[dict], dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        targets = ["superpool-2025", "heterogeneous-2021"]
        cpu0 = _cpu_split(server_pid)
        recs = await asyncio.gather(*[_session(browser, url, i, timeout_ms, targets[i % 2]) for i in range(n)])
        cpu = {k: v - cpu0[k] for k, v in _cpu_split(server_pid).items()}
        kern = _kernels(server_pid)
        # the pages' own kernels (a pool refilled meanwhile holds kernels of no page)
        ids = set().union(*(r["kernel_ids"] for r in recs))
        pages = [k for k in kern if ids & set(KERNEL_ID.findall(_cmdline(k)))]
        mem = _memory_mb(pages)
        # close the pages as a user closes tabs: beforeunload runs (Voila then shuts the kernel down)
        t_close = time.time()
        for r in recs:
            try:
                await r["page"].close(run_before_unload=True)
            except Exception:  # noqa: BLE001
                pass
        await asyncio.sleep(1.0)
        for r in recs:
            try:
                await r["ctx"].close()
            except Exception:  # noqa: BLE001
                pass
            r.pop("page", None)
            r.pop("ctx", None)
        await browser.close()
    for r in recs:
        r["kernel_ids"] = sorted(r["kernel_ids"])
    return recs, {"kernels_at_peak": len(kern), "page_kernels": len(pages), "memory_mb": mem, "closed_at": t_close,
                  "cpu_s": cpu, "watched": pages}


def run(sessions: int = 20, preheat: int = 0, cull_idle: int | None = None, linger: float = 60.0,
        timeout_s: float = 600.0) -> dict:
    if cull_idle is None:
        from twin.cli import CULL_IDLE_DEFAULT as cull_idle
    port = _free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"nicc-load-check-{port}.log"
    log = open(log_path, "w")
    cmd = [sys.executable, "-m", "twin.cli", "serve", "cluster-2023", "--port", str(port),
           "--cull-idle", str(cull_idle), "--preheat", str(preheat)]
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    out: dict = {"sessions": sessions, "preheat": preheat, "cull_idle_s": cull_idle, "linger_s": linger,
                 "cpus": os.cpu_count(), "load_average_before": os.getloadavg(), "log": str(log_path)}
    try:
        deadline = time.time() + 300  # serve warms up (one twin run) before Voila listens
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(f"nicc-twin serve exited: see {log_path}")
                time.sleep(0.5)
        if preheat:  # let the pool fill before the users arrive, as on a server that has been up
            t_pool = time.time()
            end = t_pool + timeout_s
            while time.time() < end and len(_kernels(server.pid)) < preheat:
                time.sleep(1)
            last: dict = {}
            while time.time() < end:  # until every pooled kernel has executed the app and is idle
                cpus = {k.pid: _cpu_s(k) for k in _kernels(server.pid)}
                ready = [pid for pid, c in cpus.items()
                         if c >= APP_EXECUTED_CPU_S and pid in last and c - last[pid] < 0.05]
                if len(ready) >= preheat:
                    break
                last = cpus
                time.sleep(5)
            out["pool_fill_s"] = time.time() - t_pool
        recs, info = asyncio.run(_run_sessions(url, sessions, int(timeout_s * 1000), server.pid))
        firsts = [r["first_render_s"] for r in recs if "first_render_s" in r]
        redraws = [r["redraw_s"] for r in recs if "redraw_s" in r]
        mem = info["memory_mb"]
        # kernels of the pages still alive `linger` s after the pages closed (kernels the pool
        # started afterwards belong to no page)
        time.sleep(max(0.0, info["closed_at"] + linger - time.time()))
        alive = _kernels(server.pid)
        # kernels of the pages still alive; a pool larger than the sessions keeps its untaken ones
        left = sum(1 for k in info["watched"] if k.is_running())
        out.update({
            "rendered": len(firsts), "redrawn": len(redraws), "failures": [r.get("failure") for r in recs if not r["ok"]],
            "page_errors": sum(len(r["errors"]) for r in recs),
            "first_render_p50_s": _pct(firsts, 0.5), "first_render_p95_s": _pct(firsts, 0.95),
            "first_render_max_s": max(firsts) if firsts else float("nan"),
            "redraw_p50_s": _pct(redraws, 0.5), "redraw_p95_s": _pct(redraws, 0.95),
            "server_cpu_s_per_session": info["cpu_s"]["server"] / sessions,
            "browser_cpu_s_per_session": info["cpu_s"]["browsers"] / sessions,
            "kernels_at_peak": info["kernels_at_peak"], "page_kernels": info["page_kernels"],
            "rss_mb_per_kernel_mean": statistics.mean(m[0] for m in mem) if mem else float("nan"),
            "uss_mb_per_kernel_mean": statistics.mean(m[1] for m in mem) if mem else float("nan"),
            "kernels_left_after_linger": max(0, left), "kernels_alive_after_linger": len(alive),
        })
    finally:
        procs = []
        try:
            procs.append(psutil.Process(server.pid))
            procs += psutil.Process(server.pid).children(recursive=True)
        except psutil.Error:
            pass
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
        _, alive = psutil.wait_procs(procs, timeout=10)
        out["processes_left_after_sigterm"] = len(alive)
        for p in alive:
            try:
                p.kill()
            except psutil.Error:
                pass
        log.close()
    return out


BASELINE_CELL = ("import ipywidgets as W\n"
                 "W.HTML(\"<div class='nicc-scenario-name'>empty</div><div class='bk-Canvas'></div>\")")


def baseline(sessions: int, timeout_s: float = 600.0) -> dict:
    """The same sessions against an empty Voila page (one HTML widget, NICC Twin's Voila template,
    a preheated pool of the same size): the floor that Voila and the browsers set on this
    machine, whatever the app does."""
    import tempfile

    import nbformat

    with tempfile.TemporaryDirectory() as d:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(BASELINE_CELL)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = Path(d) / "empty.ipynb"
        nbformat.write(nb, path)
        port = _free_port()
        from twin.cli import voila_command, voila_env

        # the server serve runs (template, IPC kernels, a preheated pool), without culling
        server = subprocess.Popen(voila_command(path, port=port, ip="127.0.0.1", cull_idle=0, preheat=sessions),
                                  env=voila_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=d,
                                  start_new_session=True)
        try:
            end, last = time.time() + timeout_s, {}
            while time.time() < end:  # every pooled kernel started and idle (its CPU no longer grows)
                cpus = {k.pid: _cpu_s(k) for k in _kernels(server.pid)}
                if len(cpus) >= sessions and all(pid in last and c - last[pid] < 0.05 for pid, c in cpus.items()):
                    break
                last = cpus
                time.sleep(3)

            async def go():
                from playwright.async_api import async_playwright

                async with async_playwright() as p:
                    browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                    cpu0 = _cpu_split(server.pid)

                    async def one():
                        ctx = await browser.new_context(viewport={"width": 1300, "height": 900})
                        page = await ctx.new_page()
                        t0 = time.perf_counter()
                        await page.goto(f"http://127.0.0.1:{port}/", timeout=timeout_s * 1000)
                        await page.wait_for_selector(".nicc-scenario-name", timeout=timeout_s * 1000)
                        return time.perf_counter() - t0

                    firsts = await asyncio.gather(*[one() for _ in range(sessions)])
                    cpu = {k: v - cpu0[k] for k, v in _cpu_split(server.pid).items()}
                    await browser.close()
                    return firsts, cpu

            firsts, cpu = asyncio.run(go())
        finally:
            procs = [server] + [c for c in _children(server.pid)]
            for q in procs:
                try:
                    q.send_signal(signal.SIGTERM)
                except (psutil.Error, ProcessLookupError):
                    pass
            server.wait(timeout=60)
            psutil.wait_procs([q for q in procs if isinstance(q, psutil.Process)], timeout=10)
    return {"first_render_p50_s": _pct(firsts, 0.5), "first_render_p95_s": _pct(firsts, 0.95),
            "browser_cpu_s_per_session": cpu["browsers"] / sessions,
            "server_cpu_s_per_session": cpu["server"] / sessions}


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def problems(res: dict) -> list[str]:
    out = []
    if res.get("rendered", 0) < res["sessions"] or res.get("redrawn", 0) < res["sessions"]:
        out.append(f"{res.get('rendered', 0)}/{res['sessions']} rendered, {res.get('redrawn', 0)} redrawn: "
                   f"{[f for f in res.get('failures', []) if f][:3]}")
    if not res.get("first_render_p50_s", 1e9) < GOALS["p50_s"]:
        out.append(f"first render p50 {res.get('first_render_p50_s'):.1f} s >= {GOALS['p50_s']:g} s")
    if not res.get("first_render_p95_s", 1e9) < GOALS["p95_s"]:
        out.append(f"first render p95 {res.get('first_render_p95_s'):.1f} s >= {GOALS['p95_s']:g} s")
    # memory per session: a kernel's unique set size (USS), what one more session costs the
    # machine; RSS also counts the shared libraries every kernel maps, and is reported beside it
    if not res.get("uss_mb_per_kernel_mean", 1e9) < GOALS["mb_per_session"]:
        out.append(f"{res.get('uss_mb_per_kernel_mean'):.0f} MB per session (USS) >= {GOALS['mb_per_session']:g} MB")
    if res.get("kernels_left_after_linger", 1) > GOALS["kernels_left"]:
        out.append(f"{res.get('kernels_left_after_linger')} kernels left {res['linger_s']:g} s after the pages closed")
    if res.get("processes_left_after_sigterm", 1):
        out.append(f"{res.get('processes_left_after_sigterm')} server processes left after SIGTERM")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--preheat", type=int, default=0)
    ap.add_argument("--cull-idle", type=int, default=None, help="default: nicc-twin serve's default")
    ap.add_argument("--linger", type=float, default=60.0)
    ap.add_argument("--timeout", type=float, default=600.0, help="per-session timeout [s]")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    ap.add_argument("--baseline", action="store_true",
                    help="also time the same sessions against an empty Voila page (the floor Voila and the browsers set)")
    a = ap.parse_args(argv)
    res = run(a.sessions, a.preheat, a.cull_idle, a.linger, a.timeout)
    if a.baseline:
        res["empty_voila_page"] = baseline(a.sessions, a.timeout)
    bad = problems(res)
    res["problems"] = bad
    text = json.dumps(res, indent=1, default=str)
    if a.json:
        Path(a.json).write_text(text)
    print(text)
    for b in bad:
        print(f"load check: {b}", file=sys.stderr)
    return 1 if (a.check and bad) else 0


if __name__ == "__main__":
    sys.exit(main())
