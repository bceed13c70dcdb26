"""A real ordertrack server (uvicorn, SQLite file with the demo data) and headless Chromium for browser tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.server_process import free_port

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "docs" / "screenshots"


def require_chromium() -> None:
    """Skip without Chromium or Playwright, but never on CI (.ci/run installs Chromium)."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(CHROMIUM)
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright package")
    if not missing:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{' and '.join(missing)} missing: CI must run the browser tests.")
    pytest.skip(f"{' and '.join(missing)} missing (this skip is refused when CI is set).")


@dataclass
class Server:
    url: str
    staff: str
    viewer: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def cli(self, *args: str) -> str:
        run = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        return run.stdout

    def graphql(self, token: str, query: str, variables: dict[str, object] | None = None) -> dict[str, object]:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def start(self) -> None:
        """(Re)start uvicorn on the same port and database."""
        port = self.url.rsplit(":", 1)[1]
        log = open(Path(self.env["ORDERTRACK_TEST_DIR"]) / "server.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1", "--port", port, "--log-level", "warning"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {(Path(self.env['ORDERTRACK_TEST_DIR']) / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("uvicorn did not answer /healthz within 30 s")


def serve(folder: Path, **settings: str) -> Iterator[Server]:
    """Migrate a new SQLite database, load the demo data, and serve it on a free port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "BROADCAST_"))}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{folder}/ordertrack.db",
        PYTHONPATH=str(ROOT),
        ORDERTRACK_TEST_DIR=str(folder),
        LOG_LEVEL="warning",
        **settings,
    )
    demo = subprocess.run([sys.executable, "-m", "app.cli", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr
    staff = re.search(r"staff token:\s+(\S+)", demo.stdout)
    viewer = re.search(r"viewer token:\s+(\S+)", demo.stdout)
    assert staff and viewer, demo.stdout
    server = Server(url=f"http://127.0.0.1:{free_port()}", staff=staff.group(1), viewer=viewer.group(1), env=env, process=None)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()


def screenshot(page: object, name: str) -> Path:
    """Into docs/screenshots with ORDERTRACK_SCREENSHOTS=1 (`make screenshots`), else a temp folder,
    so an ordinary test run leaves the work tree clean."""
    folder = SCREENSHOTS if os.environ.get("ORDERTRACK_SCREENSHOTS") else Path(tempfile.gettempdir()) / "ordertrack-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path))  # type: ignore[attr-defined]
    assert path.stat().st_size > 5_000, f"{path} looks empty"
    return path


def node_available() -> bool:
    return bool(shutil.which("node"))
