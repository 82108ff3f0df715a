"""Control characters are refused in every body format the app decodes, before anything is stored."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.checkout.models import Checkout
from ordergate.db import make_engine, migrate
from tests.conftest import make_settings
from tests.factories import Buyer

PROBLEM = "application/problem+json"


def multipart(fields: dict[str, bytes], boundary: str = "og-test-boundary") -> bytes:
    parts = [
        b"--"
        + boundary.encode()
        + b'\r\nContent-Disposition: form-data; name="'
        + name.encode()
        + b'"\r\n\r\n'
        + value
        + b"\r\n"
        for name, value in fields.items()
    ]
    return b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"


async def _checkout_page_post(
    client: httpx.AsyncClient, checkout_id: str, content: bytes, ctype: str
) -> httpx.Response:
    page = await client.get(f"/s/demo/checkout/{checkout_id}")
    assert page.status_code == 200
    return await client.post(
        f"/s/demo/checkout/{checkout_id}", content=content, headers={"content-type": ctype}
    )


@pytest.mark.parametrize(
    ("name", "spelled", "ctype"),
    [
        ("multipart NUL", "raw-nul", "multipart/form-data; boundary=og-test-boundary"),
        ("multipart bell", "raw-bell", "multipart/form-data; boundary=og-test-boundary"),
        ("multipart UTF-7 NUL", "utf7", "multipart/form-data; charset=utf-7; boundary=og-test-boundary"),
        ("urlencoded escape", "%01", "application/x-www-form-urlencoded"),
        ("urlencoded C1", "%C2%85", "application/x-www-form-urlencoded"),
    ],
)
async def test_checkout_form_refuses_control_characters(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    name: str,
    spelled: str,
    ctype: str,
) -> None:
    chk = await Buyer(client).open()
    city = {"raw-nul": b"Ly\x00on", "raw-bell": b"Ly\x07on", "utf7": b"Ly+AAA-on"}.get(spelled)
    if city is not None:
        body = multipart({"delivery.city": city, "delivery.name": b"Ada"})
    else:
        body = f"delivery.city=Ly{spelled}on&delivery.name=Ada".encode()
    r = await _checkout_page_post(client, chk["id"], body, ctype)
    assert r.status_code in (415, 422), (name, r.status_code, r.text[:200])
    assert r.headers["content-type"] == PROBLEM
    async with sessionmaker() as session:
        stored = (await session.execute(select(Checkout.delivery))).scalars().all()
    assert all(not d or "Ly" not in str(d) for d in stored), stored  # nothing of it was saved


async def test_a_clean_multipart_form_is_still_read(client: httpx.AsyncClient) -> None:
    chk = await Buyer(client).open()
    body = multipart({"delivery.city": "Lyon\r\nCedex 2 é".encode(), "delivery.name": b"Ada"})
    r = await _checkout_page_post(client, chk["id"], body, "multipart/form-data; boundary=og-test-boundary")
    assert r.status_code < 500
    assert r.status_code not in (415, 422)


@pytest.mark.parametrize("escape", ["\\u0001", "\\u001F", "\\u007f", "\\u0085"])
async def test_json_refuses_escaped_control_characters(client: httpx.AsyncClient, escape: str) -> None:
    chk = await Buyer(client).open()
    body = '{"delivery": {"city": "Ly' + escape + 'on"}}'
    r = await client.patch(
        f"/api/v1/stores/demo/checkouts/{chk['id']}",
        content=body.encode(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body"
    tab = await client.patch(
        f"/api/v1/stores/demo/checkouts/{chk['id']}", json={"delivery": {"instructions": "Gate\tcode\n12"}}
    )
    assert tab.status_code == 200, tab.text


async def test_sqlite_database_and_wal_are_private(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'ordergate.db'}"
    migrate(url)
    engine = make_engine(make_settings(url))
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
            await conn.exec_driver_sql("INSERT INTO probe VALUES (1)")
            files = sorted(p.name for p in (tmp_path / "fresh").iterdir())
            assert "ordergate.db-wal" in files, files
            for name in files:
                mode = stat.S_IMODE((tmp_path / "fresh" / name).stat().st_mode)
                assert mode == 0o600, (name, oct(mode))
    finally:
        await engine.dispose()
