"""`ordergate serve` in a process of its own, on a prepared database, for tests on real sockets."""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from ordergate.db import make_engine, make_sessionmaker, migrate
from ordergate.settings import Settings
from tests.factories import load_demo_store

ORDERGATE = str(Path(sys.executable).parent / "ordergate")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_database(url: str) -> None:
    """Migrate `url` and load the demo store with the tests' operator key (outside any event loop)."""
    migrate(url)

    async def load() -> None:
        engine = make_engine(Settings(database_url=url, demo=True))
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                await load_demo_store(session)
        finally:
            await engine.dispose()

    asyncio.run(load())


@dataclass
class Served:
    base: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]

    def lines(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line.strip()]


@contextmanager
def serve(
    database: str, workdir: Path, *args: str, nofile: int | None = None, **env: str
) -> Iterator[Served]:
    """`ordergate serve` on a free port until the block ends (`nofile`: its starting open-file limit)."""
    port = free_port()
    log = workdir / f"serve-{port}.log"
    environment = {
        **os.environ,
        "ORDERGATE_DATABASE_URL": database,
        "ORDERGATE_DEMO": "1",
        "ORDERGATE_SANDBOX": "1",
        "ORDERGATE_VAR_DIR": str(workdir / "var"),
        "ORDERGATE_MCP_HTTP": "0",
        **env,
    }

    def limit_files() -> None:
        if nofile is not None:
            resource.setrlimit(
                resource.RLIMIT_NOFILE, (nofile, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
            )

    with log.open("wb") as out:
        process = subprocess.Popen(
            [ORDERGATE, "serve", "--port", str(port), *args],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            preexec_fn=limit_files,
        )
    served = Served(f"http://127.0.0.1:{port}", port, process, log, environment)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{served.base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ordergate serve did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
