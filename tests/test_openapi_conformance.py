"""Schemathesis against the served OpenAPI document, on both databases: no 5xx and no response that
breaks the document (status codes, content types, headers, bodies), over a bounded set of examples."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import POSTGRES, POSTGRES_URL, _pg_url
from tests.factories import ADMIN_KEY
from tests.served import prepare_database, serve

ST = str(Path(sys.executable).parent / "st")
CONFIG = Path(__file__).parent / "schemathesis" / "schemathesis.toml"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
EXAMPLES = os.environ.get("ORDERGATE_SCHEMATHESIS_EXAMPLES", "3")  # per operation and phase
ST_DB = f"ordergate_st_{os.getpid()}"


def _admin(*statements: str) -> None:
    async def run() -> None:
        engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                for statement in statements:
                    await conn.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.fixture(params=["sqlite", "postgresql"])
def served_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'st.db'}"
        prepare_database(url)
        yield url
        return
    if not POSTGRES:
        pytest.skip("PostgreSQL is not reachable")
    _admin(f"DROP DATABASE IF EXISTS {ST_DB} WITH (FORCE)", f"CREATE DATABASE {ST_DB}")
    url = _pg_url(ST_DB)
    prepare_database(url)
    try:
        yield url
    finally:
        _admin(f"DROP DATABASE IF EXISTS {ST_DB} WITH (FORCE)")


def test_served_api_matches_its_openapi_document(served_database: str, tmp_path: Path) -> None:
    with serve(served_database, tmp_path, ORDERGATE_LOG_LEVEL="warning") as served:
        result = subprocess.run(
            [
                ST,
                "--config-file",
                str(CONFIG),
                "run",
                f"{served.base}/openapi.json",
                "--checks",
                CHECKS,
                "--header",
                f"Authorization: Bearer {ADMIN_KEY}",
                "--max-examples",
                EXAMPLES,
                "--phases",
                "examples,coverage,fuzzing",
                "--seed",
                "13",
                "--generation-database",
                "none",
                "--workers",
                "1",  # hypothesis parses lambdas with ast, which is not thread-safe on Python 3.11
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        report = result.stdout[-6000:] + result.stderr[-2000:]
        assert result.returncode == 0, report
        assert " passed" in result.stdout, report
        assert "failure" not in result.stdout.split("SUMMARY")[-1], report
        server_log = served.log.read_text()
        assert "unhandled_error" not in server_log, server_log[-3000:]
