"""Browser test fixtures: a real uvicorn server on a migrated SQLite file, and Debian's Chromium.

The pages do not differ per database, so browser tests run on SQLite only."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from ordergate.db import make_engine, make_sessionmaker, migrate
from ordergate.settings import Settings
from tests.factories import load_demo_store, make_store

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUICK_WINDOW_SECONDS = 6  # the "quick" store's payment window: long enough to act, short enough to wait out
VIEWPORTS: dict[str, dict[str, Any]] = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare_database(url: str) -> None:
    migrate(url)

    async def load() -> None:
        engine = make_engine(Settings(database_url=url, demo=True, sandbox=True))
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                await load_demo_store(session)
                await make_store(
                    session, slug="quick", name="Quick Test Shop", payment_window_seconds=QUICK_WINDOW_SECONDS
                )
        finally:
            await engine.dispose()

    asyncio.run(load())


@dataclass(frozen=True)
class LiveServer:
    base: str
    log: Path

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("browser")
    url = f"sqlite+aiosqlite:///{workdir / 'pages.db'}"
    with ThreadPoolExecutor(max_workers=1) as pool:  # outside any running event loop
        pool.submit(_prepare_database, url).result()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "ORDERGATE_DATABASE_URL": url,
        "ORDERGATE_BASE_URL": base,
        "ORDERGATE_SANDBOX": "1",
        "ORDERGATE_DEMO": "1",
        "ORDERGATE_VAR_DIR": str(workdir / "var"),
        "ORDERGATE_LOG_LEVEL": "warning",
    }
    with serve_app(port, env, workdir) as log:
        yield LiveServer(base, log)


@contextmanager
def serve_app(port: int, env: dict[str, str], workdir: Path) -> Iterator[Path]:
    """`ordergate.app:create_app` under uvicorn in its own process on 127.0.0.1:`port`, until the
    block ends; yields the path of its log."""
    log = workdir / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "ordergate.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the test server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield log
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


# Module scope, not session: while Playwright's sync API is open it holds an event loop on this
# thread, which async tests of later modules must not find there.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's Chromium is missing: run `make browser-deps`")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `npm ci` (the Makefile's pytest target does)")
    return AXE.read_text()


def new_context(browser: Browser, size: str, *, js: bool, **extra: Any) -> BrowserContext:
    options: dict[str, Any] = {**VIEWPORTS[size], "java_script_enabled": js, "locale": "en-IE", **extra}
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    return context


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def serious_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now."""
    page.evaluate(axe_source)
    found = page.evaluate(
        """async () => {
             const result = await axe.run(document);
             return {passes: result.passes.length, violations: result.violations
               .filter(v => v.impact === "serious" || v.impact === "critical")
               .map(v => ({id: v.id, impact: v.impact, help: v.help,
                           nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))};
           }"""
    )
    assert found["passes"] > 10, "axe-core checked next to nothing: is the page empty?"
    return list(found["violations"])


def audit(page: Page, axe_source: str) -> None:
    """No serious or critical axe violation on the page as the browser now shows it."""
    found = serious_violations(page, axe_source)
    assert not found, f"accessibility problems on {page.url.split('?')[0]}:\n{describe(found)}"


def audit_without_script(browser: Browser, url: str, size: str, axe_source: str) -> list[dict[str, Any]]:
    """axe on the page exactly as a browser without JavaScript gets it (served HTML, no app.js)."""
    html = httpx.get(url, headers={"Accept-Language": "en-IE"}, timeout=30).text
    no_script = html.replace('<script src="', '<script type="text/plain" data-src="')
    context = new_context(browser, size, js=True)
    try:
        page = context.new_page()
        page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=no_script))
        page.goto(url)
        return serious_violations(page, axe_source)
    finally:
        context.close()


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, indent=2)
