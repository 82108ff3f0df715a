"""`ordergate catalog` as an operator runs it: CSV export, an import with a progress bar and a
report of each row's outcome (refused rows change nothing), and the TOML export the store file takes."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from ordergate.stores.schemas import StoreConfig
from tests.factories import DEMO_FILE

ORDERGATE = str(Path(sys.executable).parent / "ordergate")


def run(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_")}
    environment.update({"ORDERGATE_DEMO": "1", "ORDERGATE_DATABASE_URL": db, "COLUMNS": "200"})
    return subprocess.run(
        [ORDERGATE, *args], capture_output=True, text=True, env=environment, timeout=120, check=False
    )


def test_import_export_and_toml(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/catalog.db"
    assert run("migrate", db=db).returncode == 0
    assert run("demo", db=db).returncode == 0
    exported = run("catalog", "export", str(tmp_path / "all.csv"), db=db)
    assert exported.returncode == 0, exported.stderr
    with (tmp_path / "all.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["sku"] == "NB-A5-DOT"
    assert rows[0]["on_hand"] == "100000"

    source = tmp_path / "in.csv"
    source.write_text(
        "sku,name,price,on_hand,low_stock_threshold,status\n"
        "NB-A5-DOT,,15.00,,,\n"
        "NEW-1,New thing,3.50,12,2,\n"
        "BAD SKU,x,1,,,\n"
        "NEW-2,,1.00,,,\n"
        "PEN-FINE-BLK,,,abc,,\n"
        "STICKY-SET,,,,,archived\n"
        "CASE-CANVAS,,24.00,,,\n"
    )
    imported = run("catalog", "import", str(source), db=db)
    assert imported.returncode == 2, imported.stderr  # some rows were refused
    assert "rows" in imported.stderr  # the progress bar
    assert "in.csv: 7 rows" in imported.stdout
    with (tmp_path / "in.report.csv").open() as handle:
        report = [(r["row"], r["sku"], r["outcome"]) for r in csv.DictReader(handle)]
    assert report == [
        ("2", "NB-A5-DOT", "updated"),
        ("3", "NEW-1", "created"),
        ("4", "BAD SKU", "error"),
        ("5", "NEW-2", "error"),
        ("6", "PEN-FINE-BLK", "error"),
        ("7", "STICKY-SET", "updated"),
        ("8", "CASE-CANVAS", "unchanged"),
    ]

    toml = run("catalog", "export", "-", "--toml", db=db)
    assert toml.returncode == 0, toml.stderr
    products = tomllib.loads(toml.stdout)["products"]
    raw = tomllib.loads(DEMO_FILE.read_text())
    raw["products"] = products
    config = StoreConfig.model_validate(raw)  # the store file takes it back
    by_sku = {p.sku: p for p in config.products}
    assert str(by_sku["NB-A5-DOT"].price) == "15.00"
    assert by_sku["NEW-1"].stock == 12
    assert by_sku["NEW-1"].low_stock_threshold == 2
    assert by_sku["STICKY-SET"].status == "archived"
    assert "NEW-2" not in by_sku

    missing = run("catalog", "import", str(tmp_path / "nope.csv"), db=db)
    assert missing.returncode == 1
    assert "cannot read" in missing.stderr
    (tmp_path / "bad.csv").write_text("sku,colour\nA,red\n")
    bad = run("catalog", "import", str(tmp_path / "bad.csv"), db=db)
    assert bad.returncode == 1
    assert "unknown column(s) colour" in bad.stderr
