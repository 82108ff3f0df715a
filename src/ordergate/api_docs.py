"""The served OpenAPI document (with the answers every route can give) and the API docs page
(Swagger UI; /redoc leads there), whose scripts and styles come from this server only, under a
Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from ordergate.errors import PROBLEM_JSON, PROBLEM_SCHEMA

# Swagger UI and ReDoc builds shipped inside the fastapi-offline wheel (MIT): no CDN, no fonts.
ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/docs-assets"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
# Answers the request guard and the server give on any route, before a handler runs.
COMMON_ANSWERS: dict[str, str] = {
    "400": "Malformed request: unparsable body, or a NUL character in the path or query",
    "429": "Too many requests from this client: try again after Retry-After seconds",
}
BODY_ANSWERS: dict[str, str] = {
    "413": "The request body is too large",
    "415": "The body's media type is not one this route reads",
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}


def _docs_response(html: str) -> HTMLResponse:
    # Inline scripts are allowed by their hash only; everything else comes from this origin.
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    policy = (
        f"default-src 'none'; script-src 'self' {hashes}; connect-src 'self'; img-src 'self' data:; "
        # Both UIs set style attributes from script, which a hash cannot cover.
        "style-src 'self' 'unsafe-inline'; font-src 'self'; "
        "worker-src blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    return HTMLResponse(
        html,
        headers={"Content-Security-Policy": policy, "X-Frame-Options": "DENY", "Cache-Control": "no-store"},
    )


def install_api_docs(app: FastAPI) -> None:
    """/openapi.json, /docs and /redoc for `app` (created with docs_url=None, redoc_url=None)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            for item in document.get("paths", {}).values():
                for operation in item.values():
                    answers = operation.setdefault("responses", {})
                    extra = {**COMMON_ANSWERS, **(BODY_ANSWERS if "requestBody" in operation else {})}
                    for status, description in extra.items():
                        answers.setdefault(status, _problem(description))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        )
        return _docs_response(bytes(page.body).decode())

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> RedirectResponse:
        # ReDoc's bundle fetches its logo from its vendor's CDN whatever the options: one UI is enough.
        return RedirectResponse("/docs", status_code=307)
