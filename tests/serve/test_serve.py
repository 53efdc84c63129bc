"""``nicc-twin serve``: idle kernels are culled, SIGTERM leaves no server or kernel behind, bad
scenarios fail with one line. Runs a real Voila server (no browser needed: an HTTP GET of the
page makes Voila start a kernel and execute the app, as a browser's first request does)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from twin.cli import VOILA_TEMPLATE, main, server_kernels, voila_command, voila_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_kernels = server_kernels


def _wait(cond, timeout: float, step: float = 0.25) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def _assert_nicc_template(html: str) -> None:
    """The page comes from NICC Twin's Voila template: it links nothing off the server (the lab
    page's CDN font sheets are gone) and its loading indicator does not animate."""
    links = re.findall(r"<link[^>]*href=\"([^\"]+)\"", html)
    assert links and not [u for u in links if u.startswith(("http:", "https:", "//"))], links
    loading = html[html.index('<div id="loading"'):]
    assert "nicc-loading-logo" in loading[:2000]
    assert "@keyframes rotation" not in html and 'class="spinner"' not in html


def test_voila_command_carries_culling_and_preheat():
    cmd = voila_command("app.ipynb", port=1, ip="127.0.0.1", cull_idle=600, preheat=2, refill_delay=7)
    assert "--MappingKernelManager.cull_idle_timeout=600" in cmd
    assert "--MappingKernelManager.cull_connected=False" in cmd
    assert "--preheat_kernel=True" in cmd and "--pool_size=2" in cmd
    assert "--VoilaKernelManager.fill_delay=7" in cmd
    assert f"--template={VOILA_TEMPLATE}" in cmd and "--KernelManager.transport=ipc" in cmd
    # the template is found first on JUPYTER_PATH; the user's own entries stay after it
    env = voila_env({"JUPYTER_PATH": "/opt/mine"})
    first, *rest = env["JUPYTER_PATH"].split(os.pathsep)
    assert (Path(first) / "voila" / "templates" / VOILA_TEMPLATE / "conf.json").is_file() and rest == ["/opt/mine"]
    off = voila_command("app.ipynb", port=1, ip="127.0.0.1", cull_idle=0)
    assert not any("cull" in c for c in off) and not any("preheat" in c for c in off)


@pytest.mark.parametrize("argv, field", [
    (["serve", "no-such-preset"], "no-such-preset"),
    (["serve", "cluster-2023", "--cull-idle", "-1"], "--cull-idle"),
    (["serve", "cluster-2023", "--preheat", "-2"], "--preheat"),
    (["serve", "cluster-2023", "--refill-delay", "-1"], "--refill-delay"),
])
def test_serve_bad_input_is_one_line(argv, field, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nicc-twin: error:") and field in err[0]


def test_serve_culls_idle_kernels_and_sigterm_leaves_nothing(tmp_path):
    port = _free_port()
    sc = tmp_path / "my.toml"  # a scenario file, not a preset (relative paths are resolved too)
    sc.write_text('extends = "cluster-2023"\nname = "my-hall"\n')
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "twin.cli", "serve", str(sc), "--port", str(port),
                             "--cull-idle", "6", "--preheat", "0"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        def listening():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False

        assert _wait(listening, 300), (tmp_path / "serve.log").read_text()[-2000:]
        server = [p for p in psutil.Process(proc.pid).children(recursive=True) if "voila" in " ".join(p.cmdline())]
        assert server, "no Voila process under nicc-twin serve"
        # 1. a session: GET renders the app in a new kernel; nobody connects its websocket, so the
        #    kernel is idle and disconnected and must be culled after ~6 s (+ the check interval)
        html = urllib.request.urlopen(url, timeout=240).read().decode()  # noqa: S310 (loopback)
        # widget state travels over the websocket, so the page itself only shows a failed render
        assert "Traceback" not in html and "nicc-error" not in html and "voila_finish" in html
        _assert_nicc_template(html)
        first = _kernels(proc.pid)
        assert len(first) == 1
        assert _wait(lambda: not any(k.is_running() for k in first), 60), "idle kernel not culled within 60 s"
        # 2. another session mid-render, then SIGTERM to the CLI process: nothing may be left
        threading.Thread(target=lambda: _try_get(url), daemon=True).start()
        assert _wait(lambda: len(_kernels(proc.pid)) == 1, 60)
        _assert_sigterm_leaves_nothing(proc, server + _kernels(proc.pid))
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()


def _assert_sigterm_leaves_nothing(proc, procs):
    """SIGTERM to the CLI process: it exits and none of ``procs`` (server, kernels) outlives it."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    gone, alive = psutil.wait_procs(procs, timeout=10)
    assert not alive, f"left running after SIGTERM: {[p.pid for p in alive]}"


def _try_get(url):
    try:
        urllib.request.urlopen(url, timeout=240).read()  # noqa: S310
    except Exception:
        pass


def test_preheated_pool_serves_a_page_refills_and_is_never_culled(tmp_path):
    """A page takes the pooled kernel (the app already executed in it); the pool starts a
    replacement after --refill-delay; the taken kernel, left without a browser, is culled, the
    pooled one is not; SIGTERM leaves nothing."""
    port = _free_port()
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "twin.cli", "serve", "cluster-2023", "--port", str(port),
                             "--cull-idle", "6", "--preheat", "1", "--refill-delay", "1"],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        assert _wait(lambda: len(_kernels(proc.pid)) == 1, 120), (tmp_path / "serve.log").read_text()[-2000:]
        pooled = _kernels(proc.pid)[0]
        # serve ran the twin once (compiling and caching the kernels) before Voila started
        assert "warm in" in (tmp_path / "serve.log").read_text()
        html = urllib.request.urlopen(url, timeout=300).read().decode()  # noqa: S310 (loopback)
        assert "Traceback" not in html and "nicc-error" not in html and "voila_finish" in html
        assert "Using pre-heated kernel" in (tmp_path / "serve.log").read_text()
        # the replacement starts after the refill delay
        assert _wait(lambda: any(k.pid != pooled.pid for k in _kernels(proc.pid)), 60), "pool not refilled"
        fresh = [k for k in _kernels(proc.pid) if k.pid != pooled.pid]
        # the taken kernel has no browser: culled; the pool's kernel is idle too but kept
        assert _wait(lambda: not pooled.is_running(), 90), "taken kernel not culled"
        time.sleep(12)  # two more cull intervals
        assert all(k.is_running() for k in fresh), "a pooled kernel was culled"
        _assert_sigterm_leaves_nothing(proc, psutil.Process(proc.pid).children(recursive=True))
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
