"""`ordergate serve` on real sockets: idle and slow clients, trusted proxies, the open-file limit,
and several web processes behaving like one (JSON logs, shared metrics, ending with their master)."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import ADMIN_KEY
from tests.served import ORDERGATE, Served, free_port, prepare_database, serve

READ_TIMEOUT = "4"  # seconds; the default is 20 and at most 30 (settings refuse more)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('serve') / 'serve.db'}"
    prepare_database(url)
    return url


@pytest.fixture(scope="module")
def default_server(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # Started under a low open-file limit: serve must raise it for its connection cap.
    with serve(
        database,
        tmp_path_factory.mktemp("default"),
        nofile=256,
        ORDERGATE_REQUEST_READ_TIMEOUT_SECONDS=READ_TIMEOUT,
    ) as served:
        yield served


def test_serve_raises_its_open_file_limit(default_server: Served) -> None:
    limits = Path(f"/proc/{default_server.process.pid}/limits").read_text()
    soft = int(re.search(r"Max open files\s+(\d+)", limits).group(1))  # type: ignore[union-attr]
    assert soft >= 1024 + 128, limits


def test_serve_refuses_a_connection_cap_the_file_limit_cannot_hold(database: str, tmp_path: Path) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard open-file limit to run into")
    env = {
        **os.environ,
        "ORDERGATE_DATABASE_URL": database,
        "ORDERGATE_DEMO": "1",
        "ORDERGATE_MAX_CONNECTIONS": str(hard + 1),
    }
    result = subprocess.run(
        [ORDERGATE, "serve", "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "open-file limit" in result.stderr
    assert "ORDERGATE_MAX_CONNECTIONS" in result.stderr


def _closed(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(64) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_idle_and_half_sent_connections_do_not_take_the_server_offline(default_server: Served) -> None:
    # 1,100 connections from one client address (127.0.0.2) that send nothing, or half a request.
    idle: list[socket.socket] = []
    try:
        for _ in range(1100):
            sock = socket.socket()
            sock.bind(("127.0.0.2", 0))
            sock.connect(("127.0.0.1", default_server.port))
            idle.append(sock)
        idle[0].sendall(b"POST /api/v1/stores/demo/checkouts HTTP/1.1\r\nHost: x\r\n")  # headers never end
        idle[1].sendall(
            b"POST /api/v1/stores/demo/checkouts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"  # the body never ends
        )
        started = time.monotonic()
        # Another client is served meanwhile, without waiting for the idle ones to time out.
        r = httpx.get(f"{default_server.base}/api/v1/stores/demo", timeout=5)
        assert r.status_code == 200
        assert time.monotonic() - started < float(READ_TIMEOUT)
        time.sleep(float(READ_TIMEOUT) + 2)
        still_open = [s for s in idle if not _closed(s)]
        assert still_open == [], f"{len(still_open)} idle connections still open after the read timeout"
        assert httpx.get(f"{default_server.base}/healthz", timeout=5).status_code == 200
    finally:
        for sock in idle:
            sock.close()


def _answers(data: bytes) -> list[tuple[int, bytes]]:
    """(status, body) of each HTTP/1.1 answer in a byte stream (every one has a Content-Length)."""
    found = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(v) for k, _, v in (h.partition(b": ") for h in lines[1:]) if k == b"content-length")
        found.append((int(lines[0].split()[1]), rest[:length]))
        data = rest[length:]
    return found


def test_pipelined_requests_are_answered_whole_and_in_order(default_server: Served) -> None:
    # An answer's head waits for its body to leave in one write (serving._OneWrite): nothing held may
    # be overtaken or lost, neither by the next answers nor by the 400 the protocol itself writes.
    with socket.create_connection(("127.0.0.1", default_server.port), timeout=10) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /api/v1/stores/demo HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /api/v1/stores/nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        data = b""
        while data.count(b"HTTP/1.1 ") < 4 or not data.endswith(b"}"):
            data += sock.recv(65536)
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")  # the protocol's own answer, then it closes
        while chunk := sock.recv(65536):
            data += chunk
    answers = _answers(data)
    assert [status for status, _ in answers] == [200, 200, 404, 200, 400]
    assert json.loads(answers[1][1])["slug"] == "demo"
    assert json.loads(answers[2][1])["status"] == 404


def _console_sign_in_attempts(base: str, count: int) -> list[int]:
    """Wrong-key console sign-ins, each claiming another address in X-Forwarded-For."""
    statuses = []
    with httpx.Client(base_url=base, timeout=10) as client:
        page = client.get("/admin/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        for n in range(count):
            r = client.post(
                "/admin/sign-in",
                data={"csrf": csrf, "key": ADMIN_KEY[:-4] + "zzzz", "next": "/admin"},
                headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
            )
            statuses.append(r.status_code)
    return statuses


def test_forwarded_addresses_are_ignored_unless_the_proxy_is_trusted(
    default_server: Served, database: str, tmp_path: Path
) -> None:
    # The console allows 10 sign-in attempts per client address and window.
    assert 429 in _console_sign_in_attempts(default_server.base, 12)
    with serve(database, tmp_path, ORDERGATE_TRUSTED_PROXIES="127.0.0.1") as behind_proxy:
        assert 429 not in _console_sign_in_attempts(behind_proxy.base, 12)


def test_several_web_processes_behave_like_one(database: str, tmp_path: Path) -> None:
    with serve(database, tmp_path, "--workers", "2", ORDERGATE_LOG_LEVEL="info") as served:
        deadline = time.monotonic() + 60
        while (
            len({json.loads(line).get("pid") for line in served.lines() if "web_process_started" in line}) < 2
        ):
            assert time.monotonic() < deadline, served.log.read_text()[-2000:]
            time.sleep(0.2)
        sent = 40
        for _ in range(sent):
            with httpx.Client(timeout=10) as fresh:  # a new connection each: either process may take it
                assert fresh.get(f"{served.base}/api/v1/stores/demo").status_code == 200
        metrics = httpx.get(f"{served.base}/metrics", timeout=10).text
        series = 'ordergate_http_requests_total{method="GET",route="/api/v1/stores/{store}",status="200"}'
        counted = re.search(re.escape(series) + r" (\S+)", metrics)
        assert counted is not None, metrics[-2000:]
        assert float(counted.group(1)) == sent
        lines = served.lines()[1:]  # the first is the master's "serving on" line
        parsed = [json.loads(line) for line in lines]  # every line from every process is JSON
        assert {"level", "timestamp", "pid"} <= set(parsed[-1])
        requests = [p for p in parsed if p.get("event") == "request"]
        assert len(requests) >= sent
        assert all("route" in p for p in requests)
        children = _children(served.process.pid)
        assert len(children) >= 2
        os.kill(served.process.pid, signal.SIGKILL)
        served.process.wait(10)
        deadline = time.monotonic() + 20
        while any(Path(f"/proc/{pid}").exists() and not _zombie(pid) for pid in children):
            assert time.monotonic() < deadline, "web processes outlived their master"
            time.sleep(0.2)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{served.base}/healthz", timeout=2)


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split(")")[-1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True
