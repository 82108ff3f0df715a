"""The API docs pages in Chromium: they render, load nothing from another origin, and break no rule
of their Content-Security-Policy."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Request

from tests.browser.conftest import LiveServer, new_context

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_render_from_this_origin_only(browser: Browser, live_server: LiveServer, path: str) -> None:
    rendered = ".swagger-ui .info .title"  # /redoc leads to the same page
    context = new_context(browser, "desktop", js=True)
    page = context.new_page()
    requested: list[str] = []
    complaints: list[str] = []

    def on_request(request: Request) -> None:
        requested.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            complaints.append(message.text)

    page.on("request", on_request)
    page.on("console", on_console)
    try:
        page.goto(f"{live_server.base}{path}")
        page.locator(rendered).first.wait_for(timeout=30_000)
        assert "ordergate" in page.locator(rendered).first.inner_text()
        foreign = [u for u in requested if not u.startswith((live_server.base, "data:", "blob:"))]
        assert foreign == []
        assert [c for c in complaints if "Content Security Policy" in c] == []
    finally:
        context.close()
