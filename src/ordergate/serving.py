"""How `ordergate serve` runs the app under uvicorn: connection limits and read timeouts, the open-file
limit, JSON logs in every web process, shared metrics, web processes that end with their master, and
each answer's head and body written to the socket at once."""

from __future__ import annotations

import asyncio
import ctypes
import ipaddress
import os
import resource
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ordergate.observability import configure_logging
from ordergate.settings import Settings

MASTER_PID_ENV = "ORDERGATE_SERVE_MASTER_PID"
FILES_PER_PROCESS_BESIDES_CONNECTIONS = 128  # database pool, log files, the listening socket, imports
PR_SET_PDEATHSIG = 1
log = structlog.get_logger("ordergate.serve")


class _OneWrite:
    """The transport a response is written to, with its head and body leaving in one write: uvicorn
    writes the status line and headers, then the body, each a system call and a TCP segment of its
    own (py-spy --native: the two were a quarter of a tracking read's CPU in the web process). A write is held
    until the next one, which goes out with it, or until the event loop's next turn, whichever comes
    first: a streamed body's head is never kept waiting for its first chunk."""

    __slots__ = ("_held", "_later", "_loop", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self.transport, self._loop = transport, loop
        self._held: bytes | None = None
        self._later: asyncio.Handle | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is None:
            self._held = data
            self._later = self._loop.call_soon(self.flush)
            return
        self._held = None
        if self._later is not None:
            self._later.cancel()
            self._later = None
        self.transport.writelines((held, data))

    def flush(self) -> None:
        held, self._held = self._held, None
        if self._later is not None:
            self._later.cancel()
            self._later = None
        if held is not None and not self.transport.is_closing():
            self.transport.write(held)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus: a request (headers and body) must arrive within the read
    timeout of the connection opening or of its first byte, and one client address holds at most
    `per_client` connections of this process (trusted proxies excepted: every client comes through
    them). uvicorn itself only times out idle keep-alive connections, after a response."""

    read_timeout: ClassVar[float] = 20.0
    per_client: ClassVar[int] = 128
    trusted: ClassVar[frozenset[str]] = frozenset()
    open_by_client: ClassVar[Counter[str]] = Counter()

    _deadline: asyncio.TimerHandle | None = None
    _counted: str | None = None

    _one_write: _OneWrite | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._one_write = _OneWrite(transport, self.loop)
        peer = self.client[0] if self.client else ""
        if not _trusted(peer, self.trusted):
            self.open_by_client[peer] += 1
            self._counted = peer
            if self.open_by_client[peer] > self.per_client:
                transport.abort()  # nothing read, nothing answered: this address has enough open
                return
        self._arm()

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.read_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._one_write is not None:
            self._one_write.flush()  # whatever the protocol answers to this comes after what was held
        super().data_received(data)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.cycle is not None and self._one_write is not None:
            self.cycle.transport = self._one_write  # type: ignore[assignment]

    def shutdown(self) -> None:
        if self._one_write is not None:
            self._one_write.flush()
        super().shutdown()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()  # the next request on a kept-alive connection: its own deadline

    def on_message_complete(self) -> None:
        self._disarm()  # the rest is the app's time, not the client's
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._one_write is not None:
            self._one_write.flush()  # a no-op on a closed transport; drops the held turn's callback
        if self._counted is not None:
            self.open_by_client[self._counted] -= 1
            if self.open_by_client[self._counted] <= 0:
                del self.open_by_client[self._counted]
            self._counted = None
        super().connection_lost(exc)


def _trusted(peer: str, proxies: frozenset[str]) -> bool:
    """Whether `peer` is one of the trusted proxies (addresses or networks, as uvicorn reads them)."""
    if not proxies:
        return False
    if "*" in proxies or peer in proxies:
        return True
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for proxy in proxies:
        try:
            if address in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False


def trusted_proxies(settings: Settings) -> list[str]:
    return [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]


def files_needed(settings: Settings) -> int:
    return settings.max_connections + settings.db_pool_size * 2 + FILES_PER_PROCESS_BESIDES_CONNECTIONS


def raise_open_file_limit(settings: Settings) -> int:
    """Raise this process's open-file limit (inherited by the web processes) to what the connection
    cap needs, up to the hard limit; refuse to serve below it, where accept() would start failing."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = files_needed(settings)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft < needed:
        raise RuntimeError(
            f"the open-file limit is {soft} (hard limit {hard}) but ORDERGATE_MAX_CONNECTIONS="
            f"{settings.max_connections} needs {needed}: raise the limit (ulimit -n) or lower the cap"
        )
    return soft


def _end_with_master(master: int) -> None:
    """A web process whose master is gone (even by SIGKILL) stops serving: the kernel signals it
    (Linux), and a watcher thread notices a new parent everywhere else."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == master:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    if os.getppid() != master:
        os.kill(os.getpid(), signal.SIGTERM)
    threading.Thread(target=watch, name="ordergate-master-watch", daemon=True).start()


def create_served_app() -> FastAPI:
    """The app factory `ordergate serve` hands uvicorn: it runs in every web process."""
    from ordergate.app import create_app

    settings = Settings()
    configure_logging(settings.log_level)
    GuardedHttpProtocol.read_timeout = settings.request_read_timeout_seconds
    GuardedHttpProtocol.per_client = settings.max_connections_per_client
    GuardedHttpProtocol.trusted = frozenset(trusted_proxies(settings))
    master = os.environ.get(MASTER_PID_ENV)
    if master is not None and int(master) != os.getpid():
        _end_with_master(int(master))
    log.info("web_process_started", pid=os.getpid())
    return create_app(settings)


def serve_alone() -> None:
    """The one web process of `ordergate serve --workers 1`, which the CLI replaces itself with."""
    settings = Settings()
    run_server(settings, host=settings.host, port=settings.port, workers=1)


def serve_app(settings: Settings, *, workers: int) -> None:
    """`ordergate serve`, once the CLI's checks are done. With one worker the web process is this
    process: it replaces itself by a fresh interpreter serving alone (same process id and
    environment), so the CLI's typer, rich and command modules (about 1.3 MB) do not stay resident
    for the server's whole life; that does not return. Several workers are uvicorn's processes."""
    if workers == 1:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        code = "from ordergate.serving import serve_alone; serve_alone()"
        os.execv(sys.executable, [sys.executable, "-c", code])  # noqa: S606 (this interpreter, fixed code)
    run_server(settings, host=settings.host, port=settings.port, workers=workers)


def run_server(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """uvicorn with this module's protocol, limits and app factory; returns when it stops."""
    import uvicorn

    os.environ[MASTER_PID_ENV] = str(os.getpid())  # web processes end when this process does
    metrics_dir = None
    if workers > 1:
        # Each web process writes its request metrics to files here; /metrics adds them up.
        metrics_dir = tempfile.mkdtemp(prefix="ordergate-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    proxies = trusted_proxies(settings)
    try:
        uvicorn.run(
            "ordergate.serving:create_served_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            http="ordergate.serving:GuardedHttpProtocol",
            limit_concurrency=settings.max_connections,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=10,
            timeout_worker_healthcheck=60,  # a web process may take a while to import on a busy machine
            # Client addresses come from the socket unless ORDERGATE_TRUSTED_PROXIES names the proxies.
            proxy_headers=bool(proxies),
            forwarded_allow_ips=",".join(proxies) or None,
            access_log=False,  # our own access log names routes, never raw paths with tokens
            log_config=None,  # every process logs through configure_logging: JSON, redacted
            log_level="warning",
            lifespan="on",
            ws="none",  # no route speaks WebSocket (an Upgrade is answered as HTTP): websockets unloaded
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
