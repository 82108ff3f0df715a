"""The ceiling for reads: a bare Starlette JSON route, served like ordergate (uvicorn, uvloop,
httptools, one worker, no access log)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

PATH = "/hello"


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "service": "bare starlette"})


app = Starlette(routes=[Route(PATH, hello)])
