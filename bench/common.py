"""What every benchmark needs: a private PostgreSQL schema, server processes, wrk, and a table printer."""

from __future__ import annotations

import asyncio
import math
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import text

from app.db import Database
from tests.launcher import ServiceProcess

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
)


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


SERVICE = "app.main:create_app"


class Server(Protocol):
    """A server under load: its name, its address and the CPU its process has used so far."""

    name: str

    @property
    def url(self) -> str: ...

    def cpu_seconds(self) -> float: ...


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
def uvicorn(
    app: str, *, env: dict[str, str], name: str, timeout: float = 60.0, workers: int = 1, root: Path = ROOT
) -> Iterator[ServiceProcess]:
    """The service as ``ordertrack serve`` runs it (``app`` is ``SERVICE``), or another app factory (a
    baseline) with the same uvicorn settings, in its own process (one worker: one core, unless
    ``workers``); stopped afterwards. Uncompressed websockets unless ``BENCH_WS_DEFLATE=true``.
    ``root``: the checkout whose code runs (another one, e.g. a worktree of main, for old against new)."""
    settings = {"MONITOR_ENABLED": "false", "WS_PER_MESSAGE_DEFLATE": os.environ.get("BENCH_WS_DEFLATE", "false"), **env}
    server = ServiceProcess(settings, workers=workers, app=None if app == SERVICE else app, name=name, root=root)
    try:
        server.start(timeout)
        yield server
    finally:
        server.close()


def postgres_cpu_by_process() -> dict[int, float]:
    """User + system CPU seconds of each local PostgreSQL process (a difference of sums would lose the
    CPU of connections that closed in between)."""
    found, tick = {}, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().split(") ", 1)
        except OSError:
            continue
        if name.endswith("(postgres"):
            fields = rest.split()
            found[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def postgres_cpu_seconds() -> float:
    """User + system CPU time of every local PostgreSQL process so far (0 when they cannot be read)."""
    return sum(postgres_cpu_by_process().values())


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


def _found(pattern: str, text: str) -> str:
    """The first group of ``pattern`` in wrk's output; wrk printing something else is an error."""
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"wrk's output has no {pattern!r}:\n{text}")
    return match.group(1)


def _ms(value: str) -> float:
    number, unit = _found(r"^([\d.]+)", value), _found(r"^[\d.]+(\w+)", value)
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, body: bytes, authorization: str, *, connections: int, seconds: float, script: str = WRK_SCRIPT) -> LoadResult:
    """Load ``url`` with POSTs of ``body`` (or what ``script`` makes) from a separate wrk process."""
    if shutil.which("wrk") is None:
        raise RuntimeError("this benchmark loads the service with wrk, which is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "body.json").write_bytes(body)
        (Path(tmp) / "post.lua").write_text(script)
        env = {**os.environ, "BENCH_BODY_FILE": str(Path(tmp) / "body.json"), "BENCH_AUTH": authorization}
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, int(seconds))}s",
                "--latency",
                "--timeout",
                "10s",
                "-s",
                str(Path(tmp) / "post.lua"),
                url,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        ).stdout
    rps = float(_found(r"Requests/sec:\s+([\d.]+)", out))
    p50 = _ms(_found(r"\s50%\s+(\S+)", out))
    p99 = _ms(_found(r"\s99%\s+(\S+)", out))
    total = int(_found(r"(\d+) requests in", out))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in socket_errors.groups()) if socket_errors else 0)
    return LoadResult(rps, p50, p99, total, errors)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (NaN of nothing): one value in a hundred is above the 0.99 one."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (it goes straight into the README)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"  # noqa: E731  a one-line helper next to its use
    out = [f"**{title}**", "", line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    text_ = "\n".join(out)
    print(text_, flush=True)
    return text_


def run(main: Any) -> None:
    """Run a benchmark's async main with a hard time bound."""
    asyncio.run(main)
