"""The one way tests and benchmarks start ordertrack: ``ordertrack serve`` in a child process
(``ServiceProcess``), or an app object on uvicorn in the caller's event loop (``serve_app``, for tests
that hand the app their own database and clock) with the uvicorn settings ``ordertrack serve`` uses,
its websocket protocol included. (No pytest here: the benchmarks use it too.)"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

import httpx
import uvicorn

from app.cli import uvicorn_options
from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of process ``pid`` and its direct children (uvicorn's workers)."""
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid] + ([int(p) for p in children.read_text().split()] if children.exists() else [])
    for each in pids:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class ServiceProcess:
    """``ordertrack serve`` on 127.0.0.1 in a child process, configured by ``env`` (settings are
    environment variables); ``app`` (a factory's import path) serves something else the same way,
    e.g. a benchmark's baseline. Start, kill -9, restart on the same port."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        port: int | None = None,
        log_path: Path | None = None,
        workers: int = 1,
        app: str | None = None,
        name: str = "ordertrack",
        inherit_env: bool = True,
        root: Path = ROOT,
    ) -> None:
        base = dict(os.environ) if inherit_env else {}
        self.root = root  # another checkout's code (a benchmark's baseline) runs from its own root
        self.env = {**base, "PYTHONPATH": str(root), "LOG_LEVEL": "warning", **env}
        self.port = port or free_port()
        self.log_path = log_path
        self.workers = workers
        self.app = app
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        where = ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        if self.app is None:
            return [sys.executable, "-m", "app.cli", "serve", *where]
        options = uvicorn_options(Settings())
        return [
            sys.executable,
            "-m",
            "uvicorn",
            self.app,
            "--factory",
            *where,
            "--no-access-log",
            "--log-level",
            "warning",
            "--ws",
            options["ws"],
            "--ws-max-size",
            str(options["ws_max_size"]),
        ]

    def log_tail(self, size: int = 3000) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        return Path(self._log.name).read_bytes()[-size:].decode(errors="replace")

    def ready(self) -> bool:
        """The service: /readyz answers 200 (its database is reachable); another app: its port accepts."""
        if self.app is None:
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
            return True
        return False

    def start(self, timeout: float = 60.0) -> None:
        """Start and return once it is ready (within ``timeout`` seconds)."""
        if self._log is None:
            # Kept open for the process's life, so not in a context manager.
            log_path, name = self.log_path, self.name
            self._log = open(log_path, "ab") if log_path else tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log")  # noqa: SIM115  open for the process's life, closed by stop()
        self.proc = subprocess.Popen(self.command(), cwd=self.root, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.ready():
                return
            time.sleep(0.1)  # polling a child process: nothing to wait on but the answer
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready within {timeout} s:\n{self.log_tail()}")

    async def astart(self, timeout: float = 60.0) -> None:
        await asyncio.to_thread(self.start, timeout)

    def kill(self) -> None:
        """kill -9: no shutdown, no flushing, no goodbye."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful shutdown; workers too), kill -9 after 10 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process (and its workers) so far."""
        assert self.proc is not None
        return process_cpu_seconds(self.proc.pid)

    def rss_kib(self) -> int:
        """Resident memory of the server process."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


@contextlib.asynccontextmanager
async def serve_app(app: Any, send_buffer: int | None = None, timeout: float = 15.0) -> AsyncIterator[str]:
    """Run ``app`` on a real uvicorn server in this event loop, with ``ordertrack serve``'s uvicorn
    settings (logging aside: the test's own stays); yields its address.

    ``send_buffer`` fixes the kernel send buffer of its connections (no autotuning), so that a
    client that stops reading makes the server's writes wait after a few kilobytes, not megabytes."""
    settings = getattr(getattr(app, "state", None), "ordertrack", None)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    options = uvicorn_options(settings.settings if settings is not None else Settings())
    config = uvicorn.Config(app, log_level="warning", log_config=None, lifespan="on", **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + timeout
        while not server.started and not task.done():  # uvicorn offers no event for "started"
            if time.monotonic() > deadline:
                raise AssertionError(f"uvicorn did not start within {timeout} s")
            await asyncio.sleep(0.01)
        if task.done():
            task.result()
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
        sock.close()
