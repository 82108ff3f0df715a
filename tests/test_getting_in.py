"""Getting in: links point at the server that made them (BASE_URL defaults to where serve listens),
the demo's `/` leads to the storefront, and `sandbox pay` can finish a payment that is confirming."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from ordergate.settings import Settings
from tests.factories import DELIVERY, SKU
from tests.test_cli import ORDERGATE, run

SECRET = "getting-in-secret-key-" + "s" * 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_base_url_defaults_to_the_listening_address() -> None:
    demo = Settings(demo=True, port=9000)
    assert demo.base_url == "http://localhost:9000"
    assert demo.base_url_is_default
    served = Settings(secret_key=SECRET, host="10.1.2.3", port=8100)  # type: ignore[arg-type]
    assert served.base_url == "http://10.1.2.3:8100"
    anywhere = Settings(secret_key=SECRET, host="0.0.0.0", port=8100)  # type: ignore[arg-type]  # noqa: S104
    assert anywhere.base_url == "http://localhost:8100"
    given = Settings(secret_key=SECRET, base_url="https://shop.example")  # type: ignore[arg-type]
    assert given.base_url == "https://shop.example"
    assert not given.base_url_is_default


def _serve(db: str, port: int, **env: str) -> subprocess.Popen[str]:
    import os

    environment = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_")}
    environment.update({"ORDERGATE_DATABASE_URL": db, "ORDERGATE_PORT": str(port), **env})
    return subprocess.Popen(
        [ORDERGATE, "serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    )


def _wait(base: str, server: subprocess.Popen[str]) -> None:
    for _ in range(200):
        if server.poll() is not None:
            pytest.fail(f"serve stopped: {server.stderr.read() if server.stderr else ''}")
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    pytest.fail("serve did not start")


def test_demo_on_another_port_links_to_that_port(tmp_path: Path) -> None:
    """`ORDERGATE_PORT=N make run`: the storefront is at `/`, and every link names port N."""
    db = f"sqlite+aiosqlite:///{tmp_path}/port.db"
    assert run("migrate", db=db).returncode == 0
    assert run("demo", db=db).returncode == 0
    port = free_port()
    server = _serve(db, port, ORDERGATE_DEMO="1", ORDERGATE_SANDBOX="1")
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, server)
        with httpx.Client(base_url=base, timeout=30) as c:
            home = c.get("/")
            assert home.status_code == 303
            assert home.headers["location"] == "/s/demo"
            checkout = c.post("/api/v1/stores/demo/checkouts", json={"items": [{"sku": SKU, "quantity": 1}]})
            chk = checkout.json()
            assert chk["resume_url"].startswith(f"http://localhost:{port}/s/demo/checkout/")
            c.patch(
                f"/api/v1/stores/demo/checkouts/{chk['id']}",
                json={"contact": {"email": "port@example.com"}, "delivery": DELIVERY},
            )
            store = c.get("/api/v1/stores/demo").json()
            placed = c.post(
                f"/api/v1/stores/demo/checkouts/{chk['id']}/orders",
                json={
                    "payment_method": "sandbox",
                    "accepted_policies": [f"{p['id']}@{p['version']}" for p in store["policies"]],
                },
                headers={"Idempotency-Key": "port-test-1"},
            )
            assert placed.status_code == 201, placed.text
            assert placed.json()["tracking_url"].startswith(f"http://localhost:{port}/s/demo/orders/")
    finally:
        server.terminate()
        server.wait(10)
    assert "warning" not in (server.stderr.read() if server.stderr else "")


def test_serve_warns_when_base_url_is_unset_outside_the_demo(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/warn.db"
    assert run("migrate", db=db).returncode == 0
    port = free_port()
    server = _serve(db, port, ORDERGATE_SECRET_KEY=SECRET)
    try:
        _wait(f"http://127.0.0.1:{port}", server)
    finally:
        server.terminate()
        server.wait(10)
    stderr = server.stderr.read() if server.stderr else ""
    assert f"ORDERGATE_BASE_URL is not set: links will use http://127.0.0.1:{port}" in stderr


def test_sandbox_pay_adds_confirmations_to_a_confirming_payment(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/pay.db"
    assert run("migrate", db=db).returncode == 0
    assert run("demo", db=db).returncode == 0
    port = free_port()
    server = _serve(db, port, ORDERGATE_DEMO="1", ORDERGATE_SANDBOX="1")
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, server)
        with httpx.Client(base_url=base, timeout=30) as c:
            items = {"items": [{"sku": SKU, "quantity": 1}]}
            chk = c.post("/api/v1/stores/demo/checkouts", json=items).json()
            c.patch(
                f"/api/v1/stores/demo/checkouts/{chk['id']}",
                json={"contact": {"email": "pay@example.com"}, "delivery": DELIVERY},
            )
            store = c.get("/api/v1/stores/demo").json()
            order = c.post(
                f"/api/v1/stores/demo/checkouts/{chk['id']}/orders",
                json={
                    "payment_method": "sandbox",
                    "accepted_policies": [f"{p['id']}@{p['version']}" for p in store["policies"]],
                },
                headers={"Idempotency-Key": "pay-test-1"},
            ).json()
            token = order["token"]
            first = run("sandbox", "pay", token, "--confirmations", "1", db=db)
            assert first.returncode == 0, first.stderr
            assert "awaiting_payment; payment received, waiting for 1 more confirmation" in first.stdout
            second = run("sandbox", "pay", token, db=db)
            assert f"order {order['number']}: funded; payment confirmed" in second.stdout, second.stderr
            tracked = c.get(f"/api/v1/stores/demo/orders/{token}").json()
            assert tracked["status"] == "funded"
    finally:
        server.terminate()
        server.wait(10)


def test_sandbox_pay_without_the_demos_settings_says_which_they_are(tmp_path: Path) -> None:
    outside = run(
        "sandbox", "pay", "x" * 32, db=f"sqlite+aiosqlite:///{tmp_path}/none.db", ORDERGATE_DEMO="0"
    )
    assert outside.returncode == 1
    said = " ".join(outside.stderr.split())
    assert "ORDERGATE_SECRET_KEY is required outside demo mode" in said
    assert "ORDERGATE_DEMO=1 ORDERGATE_SANDBOX=1, which `make run` and `make pay` set" in said
