"""The tools over the transports assistants use: `ordergate agent` on stdio (a real subprocess), and
streamable HTTP at /mcp on a live uvicorn server; plus what the request guard does for /mcp."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.middleware import is_guest_path
from ordergate.settings import Settings
from tests.agent.support import TOOLS, ledger, ok, refused
from tests.factories import ADMIN_KEY, SKU, Buyer

ORDERGATE = str(Path(sys.executable).parent / "ordergate")
ACCEPT = {"Accept": "application/json, text/event-stream"}


def agent_env(settings: Settings) -> dict[str, str]:
    return {
        "ORDERGATE_DATABASE_URL": settings.database_url,
        "ORDERGATE_BASE_URL": settings.base_url,
        "ORDERGATE_DEMO": "1",
        "ORDERGATE_SANDBOX": "1",
        "ORDERGATE_VAR_DIR": str(settings.var_dir),
    }


async def test_stdio_agent_command(
    app: FastAPI,
    settings: Settings,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    order = await Buyer(client).order()
    before = await ledger(sessionmaker)
    params = StdioServerParameters(command=ORDERGATE, args=["agent"], env=agent_env(settings))
    with (tmp_path / "agent.stderr").open("w+") as errlog:
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=60) as mcp:
            assert {t.name for t in (await mcp.list_tools()).tools} == TOOLS
            assert (
                ok(await mcp.call_tool("describe_store", {"store": "demo"}))["name"]
                == "Fieldnotes Supply Co."
            )
            prepared = ok(
                await mcp.call_tool(
                    "prepare_checkout", {"store": "demo", "items": [{"sku": SKU, "quantity": 3}]}
                )
            )
            assert refused(
                await mcp.call_tool(
                    "prepare_checkout", {"store": "demo", "items": [{"sku": SKU, "quantity": 1}], "pay": True}
                )
            )
            tracked = ok(await mcp.call_tool("track_order", {"store": "demo", "token": order["token"]}))
        errlog.seek(0)
        stderr = errlog.read()
    assert tracked["number"] == order["number"]
    assert tracked["status"] == "awaiting_payment"
    assert order["token"] not in stderr
    # The subprocess wrote to the same database: one more cart, prepared by an assistant, and nothing else.
    assert (await client.get(f"/api/v1/stores/demo/checkouts/{prepared['id']}")).json()[
        "prepared_by"
    ] == "assistant"
    assert await ledger(sessionmaker) == {**before, "checkouts": before["checkouts"] + 1}


def test_stdio_agent_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ORDERGATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/empty.db",
        "ORDERGATE_DEMO": "1",
    }
    done = subprocess.run(
        [ORDERGATE, "agent"], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stdout == ""  # stdout is the protocol channel: nothing else ever goes there
    assert "ordergate migrate" in done.stderr
    assert "Traceback" not in done.stderr


@asynccontextmanager
async def live_server(app: FastAPI) -> AsyncIterator[str]:
    """The app on a real uvicorn server on a free port (its lifespan is already running in the fixture)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", access_log=False
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_streamable_http_on_a_live_server(
    app: FastAPI, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    order = await Buyer(client).order()
    before = await ledger(sessionmaker)
    async with live_server(app) as base, Client(f"{base}/mcp", read_timeout_seconds=60) as mcp:
        assert {t.name for t in (await mcp.list_tools()).tools} == TOOLS
        products = ok(await mcp.call_tool("list_products", {"store": "demo", "query": "notebook"}))
        assert [p["sku"] for p in products["items"]] == [SKU]
        prepared = ok(
            await mcp.call_tool("prepare_checkout", {"store": "demo", "items": [{"sku": SKU, "quantity": 2}]})
        )
        assert prepared["prepared_by"] == "assistant"
        message = refused(
            await mcp.call_tool(
                "prepare_checkout",
                {
                    "store": "demo",
                    "items": [{"sku": "../orders", "quantity": 1}],
                    "payment_method": "manual",
                },
            )
        )
        assert "payment_method: this tool takes no such argument" in message
        tracked = ok(await mcp.call_tool("track_order", {"store": "demo", "token": order["tracking_url"]}))
        assert tracked["number"] == order["number"]
    assert await ledger(sessionmaker) == {**before, "checkouts": before["checkouts"] + 1}


def rpc(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, **({"params": params} if params else {})}


async def test_mcp_path_reads_no_credentials(client: httpx.AsyncClient) -> None:
    assert is_guest_path("/mcp")
    assert not is_guest_path("/mcpx")
    call = rpc("tools/call", {"name": "describe_store", "arguments": {"store": "demo"}})
    plain = await client.post("/mcp", json=call, headers=ACCEPT)
    assert plain.status_code == 200, plain.text
    for ambient in ({"Authorization": f"Bearer {ADMIN_KEY}"}, {"Cookie": "session=abc; og_csrf=t"}):
        r = await client.post("/mcp", json=call, headers={**ACCEPT, **ambient})
        assert r.status_code == 200
        assert r.json() == plain.json()
    assert plain.headers["cache-control"] == "no-store"
    assert plain.headers["referrer-policy"] == "no-referrer"


async def test_mcp_path_http_edges(client: httpx.AsyncClient) -> None:
    # Stateless: no server-pushed stream to open, no session to end.
    assert (await client.get("/mcp", headers=ACCEPT)).status_code == 405
    assert (await client.delete("/mcp")).status_code == 405
    # Another site's hostname (DNS rebinding) is refused before any tool runs.
    r = await client.post("/mcp", json=rpc("tools/list"), headers={**ACCEPT, "Host": "evil.example"})
    assert r.status_code == 421
    r = await client.post(
        "/mcp", json=rpc("tools/list"), headers={**ACCEPT, "Origin": "https://evil.example"}
    )
    assert r.status_code == 403
    # The request guard's body limit covers /mcp too.
    r = await client.post(
        "/mcp", content=b"[" + b"1," * 40_000 + b"1]", headers={**ACCEPT, "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    # Malformed JSON is a JSON-RPC parse error, never a 500.
    r = await client.post(
        "/mcp", content=b"{not json", headers={**ACCEPT, "Content-Type": "application/json"}
    )
    assert 400 <= r.status_code < 500
