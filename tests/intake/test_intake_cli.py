"""`ordergate intake` as an operator uses it: demo secrets, CSV import with its report, the
quarantine, SKU mappings, replay (corrected or not), counts; errors as one line."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.intake.channel import FIXTURES

ORDERGATE = str(Path(sys.executable).parent / "ordergate")


@pytest.fixture
def intake_sources() -> None:
    """Not needed here: the CLI loads the demo store's sources into a database of its own."""


def run(*args: str, db: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_")}
    environment.update({"ORDERGATE_DEMO": "1", "ORDERGATE_DATABASE_URL": db, "COLUMNS": "200", **env})
    return subprocess.run(
        [ORDERGATE, *args], capture_output=True, text=True, env=environment, timeout=120, check=False
    )


def test_cli_import_report_quarantine_map_replay_stats(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/intake.db"
    assert run("migrate", db=db).returncode == 0
    first = run("demo", db=db)
    assert first.returncode == 0, first.stderr
    assert "ORDERGATE_DEMO_INTAKE_SECRET=" in first.stdout  # generated, shown once
    again = run("demo", db=db)
    assert "ORDERGATE_DEMO_INTAKE_SECRET=" not in again.stdout
    assert "shown when" not in again.stderr
    chosen = run("demo", db=db, ORDERGATE_DEMO_INTAKE_SECRET="a-chosen-secret-of-some-length")
    assert "the one in ORDERGATE_DEMO_INTAKE_SECRET" in chosen.stdout

    orders = tmp_path / "orders.csv"
    shutil.copy(FIXTURES / "orders.csv", orders)
    imported = run("intake", "import", str(orders), "--source", "csv-demo", db=db)
    assert imported.returncode == 0, imported.stderr
    assert "orders.csv: 4 orders, 5 rows" in imported.stdout
    assert "accepted" in imported.stdout
    assert "reference.sku" in imported.stdout
    assert "rows" in imported.stderr  # the progress bar
    with (tmp_path / "orders.report.csv").open() as handle:
        report = list(csv.DictReader(handle))
    assert [(r["row"], r["external_id"], r["status"]) for r in report] == [
        ("2", "POS-1001", "accepted"),
        ("3", "POS-1001", "accepted"),
        ("4", "POS-1002", "accepted"),
        ("5", "POS-1003", "quarantined"),
        ("6", "POS-1004", "quarantined"),
    ]
    assert "contact.email (back-office, block) contact.email" in report[3]["issues"]

    twice = run("intake", "import", str(orders), "--source", "csv-demo", db=db)
    assert "duplicate" in twice.stdout

    waiting = run("intake", "quarantine", db=db)
    assert waiting.returncode == 0
    assert "POS-1003" in waiting.stdout
    assert "POS-1004" in waiting.stdout

    assert run("intake", "map", "csv-demo", "UNKNOWN-SKU", "STICKY-SET", db=db).returncode == 0
    replayed = run("intake", "replay", "--all", "--rule", "reference.sku", db=db)
    assert replayed.returncode == 0
    assert "contact.email" in replayed.stdout

    pos_1004 = next(r["intake_id"] for r in report if r["external_id"] == "POS-1004")
    fixed = tmp_path / "pos-1004.csv"
    fixed.write_text(
        "external_id,status,currency,email,ship_name,address_line1,city,postal_code,country,sku,quantity,"
        "unit_price,total\n"
        "POS-1004,paid,EUR,conor@example.ie,Conor Burke,4 Bridge Street,Athlone,N37 E5F6,IE,"
        "STICKY-SET,2,3.20,6.40\n"
    )
    corrected = run("intake", "replay", pos_1004, "--payload", str(fixed), "--note", "two -> 2", db=db)
    assert corrected.returncode == 0
    assert f"{pos_1004}: accepted order" in corrected.stdout
    settled = run("intake", "replay", pos_1004, db=db)
    assert "already settled" in settled.stdout

    stats = run("intake", "stats", db=db)
    assert stats.returncode == 0
    assert "csv-demo" in stats.stdout
    assert "web-guest" in stats.stdout

    wrong = run("intake", "import", str(orders), "--source", "shopify-demo", db=db)
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("error:")
    assert "Traceback" not in wrong.stderr
    missing = run("intake", "import", str(tmp_path / "nope.csv"), "--source", "csv-demo", db=db)
    assert missing.returncode == 1
    assert "cannot read" in missing.stderr
    unknown = run("intake", "replay", "in_nothing", db=db)
    assert unknown.returncode == 1
    assert len(unknown.stderr.strip().splitlines()) == 1
