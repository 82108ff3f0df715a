"""The CLI as an operator uses it: help, one-line errors, migrate, demo, worker, sandbox pay."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from ordergate.app import create_app
from tests.conftest import make_settings
from tests.factories import Buyer

ORDERGATE = str(Path(sys.executable).parent / "ordergate")


def run(*args: str, db: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_")}
    environment.update({"ORDERGATE_SANDBOX": "1", "ORDERGATE_DEMO": "1", "COLUMNS": "200", **env})
    if db:
        environment["ORDERGATE_DATABASE_URL"] = db
    return subprocess.run(
        [ORDERGATE, *args], capture_output=True, text=True, env=environment, timeout=120, check=False
    )


def test_help_explains_each_command() -> None:
    top = run("--help")
    assert top.returncode == 0
    for command in ["serve", "worker", "migrate", "demo", "sandbox"]:
        assert command in top.stdout
    for command in [["serve"], ["worker"], ["migrate"], ["demo"], ["sandbox", "pay"]]:
        r = run(*command, "--help")
        assert r.returncode == 0, command
        assert "Usage" in r.stdout, command


def test_bad_database_url_is_one_line(tmp_path: Path) -> None:
    for command in (["migrate"], ["worker", "--once"], ["serve"], ["demo"]):
        r = run(*command, db="nonsense://")
        assert r.returncode == 1, (command, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert r.stderr.startswith("error:")


def test_unreachable_and_unmigrated_databases_are_one_line(tmp_path: Path) -> None:
    r = run("serve", db=f"sqlite+aiosqlite:///{tmp_path}/fresh.db")
    assert r.returncode == 1
    assert "run `ordergate migrate`" in r.stderr
    assert len(r.stderr.splitlines()) == 1
    r = run("worker", "--once", db="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert r.returncode == 1
    assert "cannot reach the database" in r.stderr
    assert "Traceback" not in r.stderr


async def test_migrate_demo_worker_and_sandbox_pay(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    key = "og_clitest001_" + "c" * 32
    assert run("migrate", db=db).returncode == 0
    assert run("migrate", db=db).returncode == 0  # again: nothing to do
    first = run("demo", db=db)
    assert first.returncode == 0
    assert "ORDERGATE_DEMO_ADMIN_KEY=og_" in first.stdout
    again = run("demo", db=db)
    assert "ORDERGATE_DEMO_ADMIN_KEY=" not in again.stdout
    assert run("demo", db=db, ORDERGATE_DEMO_ADMIN_KEY=key).returncode == 0
    assert run("worker", "--once", db=db).stdout.startswith("expired 0 checkouts, 0 orders")

    app = create_app(make_settings(db))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        order = await Buyer(client).order()
        admin = {"Authorization": f"Bearer {key}"}
        assert (
            await client.get(f"/api/v1/stores/demo/admin/orders/{order['number']}", headers=admin)
        ).status_code == 200
        paid = run("sandbox", "pay", order["token"], db=db)
        assert paid.returncode == 0, paid.stderr
        assert f"order {order['number']}: funded; payment confirmed" in paid.stdout
        assert (await Buyer(client).track(order["token"]))["status"] == "funded"
        missing = run("sandbox", "pay", "A" * 32, db=db)
        assert missing.returncode == 1
        assert missing.stderr.startswith("error:")
        # A token may begin with "-" (base64url, 1 in 64): it is a token, not an unknown option.
        dashed = run("sandbox", "pay", "-" + "A" * 31, db=db)
        assert (dashed.returncode, dashed.stderr.startswith("error:")) == (1, True), dashed.stderr
        # The whole tracking link works too: the token is its last part.
        second = await Buyer(client).order()
        link = run("sandbox", "pay", f"http://localhost:8000/s/demo/orders/{second['token']}", db=db)
        assert link.returncode == 0, link.stderr
        assert f"order {second['number']}: funded" in link.stdout


def test_store_file_errors_name_key_and_line(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/stores.db"
    assert run("migrate", db=db).returncode == 0
    good = (Path(__file__).parents[1] / "src/ordergate/stores/demo.toml").read_text()
    bad = good.replace('currency = "EUR"', 'currency = "euro"').replace('price = "7.90"', 'price = "-1"')
    path = tmp_path / "store.toml"
    path.write_text(bad)
    r = run("stores", "load", str(path), db=db)
    assert r.returncode == 1
    lines = bad.splitlines()
    currency_line = lines.index('currency = "euro"') + 1
    price_line = lines.index('price = "-1"') + 1
    assert f"store.toml:{currency_line}: currency:" in r.stderr
    assert f"store.toml:{price_line}: products[1].price:" in r.stderr
    path.write_text("slug = \n")
    r = run("stores", "load", str(path), db=db)
    assert r.returncode == 1
    assert "not valid TOML" in r.stderr
    assert "line 1" in r.stderr
    path.write_text(good.replace('slug = "demo"', 'slug = "second"'))
    r = run("stores", "load", str(path), db=db)
    assert r.returncode == 0
    assert "store 'second' loaded: 4 products, 3 policies, 2 payment methods" in r.stdout


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/keys.db"
    assert run("migrate", db=db).returncode == 0
    assert run("demo", db=db).returncode == 0
    created = run("keys", "create", "--store", "demo", "--label", "warehouse", db=db)
    assert created.returncode == 0
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("og_")
    key_id = key.split("_")[1]
    listing = run("keys", "list", "--store", "demo", db=db)
    assert key_id in listing.stdout
    assert "warehouse" in listing.stdout
    assert key not in listing.stdout
    assert run("keys", "revoke", key_id, "--store", "demo", db=db).returncode == 0
    missing = run("keys", "revoke", "nosuchkey", "--store", "demo", db=db)
    assert missing.returncode == 1
    assert "No key" in missing.stderr
    assert run("keys", "create", "--store", "nowhere", db=db).returncode == 1


def test_report_prints_a_table_and_csv(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/report.db"
    assert run("migrate", db=db).returncode == 0
    assert run("demo", db=db).returncode == 0
    out = tmp_path / "funnel.csv"
    r = run("report", "--store", "demo", "--since", "30d", "--csv", str(out), db=db)
    assert r.returncode == 0
    assert "checkouts opened" in r.stdout
    assert "guest" in r.stdout
    assert out.read_text().startswith("store,currency,since,until,channel")
    bad = run("report", "--store", "demo", "--since", "whenever", db=db)
    assert bad.returncode == 1
    assert "since" in bad.stderr
