"""The concurrency load test (bench/load_concurrency.py), briefly: PostgreSQL, `serve --workers 2`,
the worker expiring 20 s payment windows while buyers place, pay, reload and refresh. Counts only:
no 5xx, no 409 on a read, no lost or duplicated order, stock that adds up. The full run is
`.venv/bin/python bench/load_concurrency.py` (three minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.load_concurrency import run

from tests.conftest import POSTGRES

pytestmark = pytest.mark.load


def test_a_short_load_has_no_5xx_no_read_conflicts_and_loses_nothing(tmp_path: Path) -> None:
    if not POSTGRES:
        pytest.skip("PostgreSQL is not reachable")
    result = run(seconds=15, buyers=8, workdir=tmp_path)
    assert result["requests_sent"] > 50
    assert result["server_errors"] == 0, result["examples"]
    assert result["read_conflicts"] == 0, result["examples"]
    assert result["lost"] == 0
    assert result["duplicated"] == 0
    assert result["orders_without_their_checkout"] == 0
    assert result["products_with_wrong_reserved_stock"] == 0
    assert result["server_log_errors"] == 0, result["server_log_error_examples"]
