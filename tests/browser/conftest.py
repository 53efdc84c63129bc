"""Browser fixtures: a real Voila server (``nicc-twin serve``) and Debian chromium via Playwright.

Without /usr/bin/chromium the browser tests skip with the reason, except under CI=true,
where a missing browser is a failure (CI installs it; a skip there would hide one).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]
RENDER_TIMEOUT_MS = 120_000
#: serve runs the twin once before Voila listens: about a minute when the kernels compile (fresh install)
SERVE_START_TIMEOUT_S = 300

pytestmark = pytest.mark.browser


def _need_chromium():
    if CHROMIUM:
        return
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed (apt-get install chromium); CI must run the browser tests")
    pytest.skip("Debian chromium not found at /usr/bin/chromium: apt-get install chromium to run browser tests")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def voila_server(tmp_path_factory):
    """``nicc-twin serve cluster-2023`` on a free loopback port; yields the base URL."""
    _need_chromium()
    port = _free_port()
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    fh = open(log, "w")
    proc = subprocess.Popen([sys.executable, "-m", "twin.cli", "serve", "cluster-2023", "--port", str(port)],
                            stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    # serve warms up first (one twin run; compiles the kernels after a fresh install), then Voila
    # listens; wait for the port, not a page (every page request takes or starts a kernel)
    deadline = time.time() + SERVE_START_TIMEOUT_S
    while time.time() < deadline:
        if proc.poll() is not None:
            fh.close()
            pytest.fail(f"nicc-twin serve exited early:\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.terminate()
        fh.close()
        pytest.fail(f"Voila did not listen on {url} within {SERVE_START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    fh.close()


@pytest.fixture(scope="session")
def browser():
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def collect_errors():
    """A list that app_page fills with page errors and console errors."""
    return []


def watch_page(page, errors: list) -> None:
    """Append to ``errors`` every page error, console error and failed load of ``page``, and every
    request that leaves the server: the app must load nothing from the internet (air-gapped data
    centres). NICC Twin's Voila template drops the lab page's CDN font links, so no failure is
    tolerated."""
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    def on_console(msg):
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        errors.append(f"console: {msg.text} ({url})" if url else f"console: {msg.text}")

    def on_request(req):
        host = urlsplit(req.url).hostname
        if req.url.startswith(("http:", "https:", "ws:", "wss:")) and host not in ("127.0.0.1", "localhost"):
            errors.append(f"off-server request: {req.url}")

    def on_failed(req):
        errors.append(f"failed load: {req.url} ({req.failure})")

    def on_response(resp):
        if resp.status >= 400:
            errors.append(f"failed load: {resp.url} (HTTP {resp.status})")

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("requestfailed", on_failed)
    page.on("response", on_response)


@pytest.fixture
def app_page(browser, voila_server, collect_errors):
    """A page of the served app with the default scenario rendered (a .bk-Canvas attached)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    watch_page(page, collect_errors)
    page.goto(voila_server, timeout=RENDER_TIMEOUT_MS)
    page.wait_for_selector(".bk-Canvas", state="attached", timeout=RENDER_TIMEOUT_MS)
    page.wait_for_selector(".nicc-scenario-name", timeout=RENDER_TIMEOUT_MS)
    yield page
    ctx.close()


def _click_tab(page, title: str, timeout_ms: int = 60_000):
    """Select the app tab ``title`` and return its panel (a Playwright locator)."""
    tab = page.locator(".lm-TabBar-tab", has_text=title).first
    tab.click(timeout=timeout_ms)
    panel = page.locator(".lm-TabPanel > .lm-Widget:not(.lm-mod-hidden), .widget-tab-contents > .lm-Widget:not(.lm-mod-hidden)").first
    panel.wait_for(state="visible", timeout=timeout_ms)
    return panel


@pytest.fixture
def click_tab():
    """``click_tab(page, "Fabric")`` selects a tab of the app and returns its visible panel."""
    return _click_tab
