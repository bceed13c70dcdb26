"""A real ordertrack server (uvicorn, SQLite file with the demo data) and headless Chromium for browser tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.launcher import ServiceProcess

if TYPE_CHECKING:
    from playwright.sync_api import Page  # for the annotation only: playwright is imported where a browser runs

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "docs" / "screenshots"


def require_chromium() -> None:
    """Skip without Chromium or Playwright, but never on CI (.ci/run installs Chromium)."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(CHROMIUM)
    try:
        import playwright  # noqa: F401  only whether it is installed
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
    process: ServiceProcess

    def cli(self, *args: str) -> str:
        run = subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0, run.stderr
        return run.stdout

    def graphql(self, token: str, query: str, variables: dict[str, object] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        body = response.json()
        assert not body.get("errors"), body["errors"]
        data: dict[str, object] = body["data"]
        return data

    def stop(self) -> None:
        self.process.stop()

    def start(self) -> None:
        """(Re)start the service on the same port and database."""
        self.process.start(timeout=30)


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
    demo = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert demo.returncode == 0, demo.stderr
    staff = re.search(r"staff token:\s+(\S+)", demo.stdout)
    viewer = re.search(r"viewer token:\s+(\S+)", demo.stdout)
    assert staff and viewer, demo.stdout
    process = ServiceProcess(env, log_path=folder / "server.log", inherit_env=False)  # env: DATABASE_/BROADCAST_ left out
    server = Server(url=process.url, staff=staff.group(1), viewer=viewer.group(1), env=env, process=process)
    server.start()
    try:
        yield server
    finally:
        process.close()


def screenshot(page: Page, name: str) -> Path:
    """Into docs/screenshots with ORDERTRACK_SCREENSHOTS=1 (`make screenshots`), else a temp folder,
    so an ordinary test run leaves the work tree clean."""
    folder = SCREENSHOTS if os.environ.get("ORDERTRACK_SCREENSHOTS") else Path(tempfile.gettempdir()) / "ordertrack-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path))
    assert path.stat().st_size > 5_000, f"{path} looks empty"
    return path


def node_available() -> bool:
    return bool(shutil.which("node"))
