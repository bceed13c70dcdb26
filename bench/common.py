"""What every benchmark needs: a private PostgreSQL schema, server processes, wrk, and a table printer."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import text

from app.db import Database
from app.realtime.ws_protocol import WS_PROTOCOL

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_DATABASE_URL", os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"))


class NotReady(Exception):
    """The feature a benchmark measures is not in this build (yet)."""


@asynccontextmanager
async def pg_schema(prefix: str = "bench", keep: bool = False) -> AsyncIterator[tuple[Database, str]]:
    """A new PostgreSQL schema with every table; dropped afterwards unless ``keep``."""
    import app.models  # noqa: F401  registers every table

    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = Database(PG_URL, pool_size=1)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(PG_URL, schema=schema, pool_size=4)
    try:
        await db.create_all()
        yield db, schema
    finally:
        await db.dispose()
        if not keep:
            async with admin.engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    name: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process (and its workers) so far."""
        total = 0.0
        pids = [self.process.pid] + [int(p) for p in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()]
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def rss_kib(self) -> int:
        """Resident memory of the server process."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


def wait_for_port(process: subprocess.Popen[bytes], port: int, name: str, timeout: float) -> None:
    """Until ``process`` accepts connections on ``port`` (RuntimeError if it exits or takes too long)."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} server did not start in {timeout} s") from None
            time.sleep(0.1)


@contextmanager
def uvicorn(app: str, *, env: dict[str, str], name: str, factory: bool = True, timeout: float = 60.0, workers: int = 1) -> Iterator[Server]:
    """Run ``app`` in its own uvicorn process (one worker: one core, unless ``workers``); stop it afterwards."""
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
            "--log-level", "warning", "--loop", "uvloop", "--http", "httptools", "--ws", os.environ.get("BENCH_WS", WS_PROTOCOL),
            "--ws-per-message-deflate", os.environ.get("BENCH_WS_DEFLATE", "false")]
    if factory:
        args.append("--factory")
    if workers > 1:
        args += ["--workers", str(workers)]
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "MONITOR_ENABLED": "false", **env}
    process = subprocess.Popen(args, env=full_env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    server = Server(process, port, name)
    try:
        try:
            wait_for_port(process, port, name, timeout)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: {Path(log.name).read_text()[-2000:]}") from None
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        os.unlink(log.name)


def postgres_cpu_seconds() -> float:
    """User + system CPU time of every local PostgreSQL process so far (0 when they cannot be read)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().split(") ", 1)
        except OSError:
            continue
        if name.endswith("(postgres"):
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def app_env(db: Database, schema: str, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": PG_URL, "DATABASE_SCHEMA": schema, "GRAPHIQL": "false", "LOG_LEVEL": "WARNING", **extra}


@dataclass
class LoadResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


WRK_SCRIPT = """
local f = io.open(os.getenv("BENCH_BODY_FILE"), "r")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
"""


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, body: bytes, authorization: str, *, connections: int, seconds: float, script: str = WRK_SCRIPT) -> LoadResult:
    """Load ``url`` with POSTs of ``body`` (or what ``script`` makes) from a separate wrk process."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "body.json").write_bytes(body)
        (Path(tmp) / "post.lua").write_text(script)
        env = {**os.environ, "BENCH_BODY_FILE": str(Path(tmp) / "body.json"), "BENCH_AUTH": authorization}
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, int(seconds))}s", "--latency", "--timeout", "10s",
             "-s", str(Path(tmp) / "post.lua"), url],
            env=env, capture_output=True, text=True, timeout=seconds + 30, check=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in socket_errors.groups()) if socket_errors else 0)
    return LoadResult(rps, p50, p99, total, errors)


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (it goes straight into the README)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"  # noqa: E731
    out = [f"**{title}**", "", line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    text_ = "\n".join(out)
    print(text_, flush=True)
    return text_


def run(main: Any) -> None:
    """Run a benchmark's async main with a hard time bound."""
    asyncio.run(main)
