"""The worker process: killed mid-delivery it loses nothing and repeats nothing acknowledged; several
workers share the outbox without sending anything twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from asyncio.subprocess import PIPE
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.db import make_engine, make_sessionmaker
from ordergate.notifications.delivery import deliver_due, open_channels, outbox_pass
from ordergate.notifications.models import OutboxMessage
from ordergate.notifications.service import enqueue_verification_code
from ordergate.settings import Settings
from ordergate.stores.models import Store
from tests.notifications.conftest import SECRET_KEY, outbox, with_smtp
from tests.notifications.helpers import place_order
from tests.notifications.servers import SmtpTestServer

WORKER = [sys.executable, "-c", "from ordergate.cli import main; main()", "worker"]


def worker_env(settings: Settings, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_")}
    env.update(
        ORDERGATE_DATABASE_URL=settings.database_url,
        ORDERGATE_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        ORDERGATE_SECRET_KEY=SECRET_KEY,
        ORDERGATE_BASE_URL=settings.base_url,
        ORDERGATE_VAR_DIR=str(settings.var_dir),
        ORDERGATE_SANDBOX="1",
        ORDERGATE_WORKER_INTERVAL_SECONDS="0.2",
        PYTHONPATH=os.pathsep.join(sys.path),
    )
    return env


async def sent_count(maker: async_sessionmaker[AsyncSession]) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).where(OutboxMessage.state == "sent")) or 0)


async def test_killed_mid_delivery_loses_nothing_and_repeats_nothing(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp: SmtpTestServer,
    tmp_path: Path,
) -> None:
    buyers = ["first@example.com", "second@example.com", "third@example.com"]
    for address in buyers:
        await place_order(client, email=address)
    smtp.handler.hold_next = True  # the first message to arrive is never acknowledged

    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = await asyncio.create_subprocess_exec(
            *WORKER, env=worker_env(settings, smtp.port), stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while not smtp.handler.holding.is_set():
            assert worker.returncode is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the worker never delivered"
            await asyncio.sleep(0.05)
        # The other two are acknowledged by the server and recorded as sent before the kill.
        while await sent_count(sessionmaker) < 2:
            assert time.monotonic() < deadline, "the other messages were not recorded"
            await asyncio.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        await asyncio.wait_for(worker.wait(), 30)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    smtp.handler.release.set()
    assert len(smtp.received) == 2

    (held,) = await outbox(sessionmaker, state="pending")
    assert held.claim is not None
    assert held.attempts == 1
    settings = with_smtp(settings, f"smtp://127.0.0.1:{smtp.port}")
    # Its lease still runs: nobody takes it over yet.
    assert (await outbox_pass(sessionmaker, settings)).sent == 0
    clock.advance(timedelta(seconds=settings.outbox_lease_seconds + 1))
    result = await outbox_pass(sessionmaker, settings)
    assert result.sent == 1
    (row,) = [m for m in await outbox(sessionmaker) if m.id == held.id]
    assert (row.state, row.attempts) == ("sent", 2)
    assert sorted(r for mail in smtp.received for r in mail.recipients) == sorted(buyers)

    # A worker started again sends nothing: everything acknowledged stays sent.
    again = await asyncio.create_subprocess_exec(
        *WORKER, "--once", env=worker_env(settings, smtp.port), stdout=PIPE, stderr=PIPE
    )
    stdout, stderr = await asyncio.wait_for(again.communicate(), 120)
    assert again.returncode == 0, stderr.decode()
    assert b"sent 0 messages" in stdout
    assert len(smtp.received) == 3


async def test_several_workers_share_the_outbox(
    app: object,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp: SmtpTestServer,
) -> None:
    count = 40
    async with sessionmaker() as session, session.begin():
        store = await session.scalar(select(Store).where(Store.slug == "demo"))
        assert store is not None
        for i in range(count):
            await enqueue_verification_code(
                session, store, f"buyer{i}@example.com", f"{i:06d}", settings=settings
            )
    settings = with_smtp(settings, f"smtp://127.0.0.1:{smtp.port}")

    async def one_worker() -> int:
        # An engine of its own: its own connections, as a separate process would have.
        engine = make_engine(settings)
        try:
            async with open_channels(settings) as channels:
                result = await deliver_due(make_sessionmaker(engine), settings, channels, limit=4)
            return result.sent
        finally:
            await engine.dispose()

    shares = await asyncio.gather(*(one_worker() for _ in range(3)))
    assert sum(shares) == count
    assert sorted(shares)[1] > 0
    recipients = [r for mail in smtp.received for r in mail.recipients]
    assert len(recipients) == count
    assert len(set(recipients)) == count
    assert {m.state for m in await outbox(sessionmaker)} == {"sent"}
    bodies = {mail.recipients[0]: mail.part("plain") for mail in smtp.received}
    assert "000007" in bodies["buyer7@example.com"]
