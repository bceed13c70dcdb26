"""A PostgreSQL cluster of the test's own (initdb + pg_ctl on a free port in a temporary folder), so
that a test can shut it down, restart it or crash it without touching anyone else's database."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.launcher import free_port


def _bin_dir() -> Path | None:
    """The newest installed server's programs (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


class PrivatePostgres:
    """One cluster, trust authentication for user ``postgres``, listening on 127.0.0.1 only."""

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None or not (bin_dir / "initdb").exists():  # like require_service: a skip outside CI only
            if os.environ.get("CI"):
                pytest.fail("PostgreSQL's server programs (initdb, pg_ctl) are not installed, and CI must test restarts.")
            pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed (this skip is refused when CI is set).")
        self.bin = bin_dir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="ordertrack-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        # initdb refuses to run as root: then the cluster belongs to the ``postgres`` OS user.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.folder, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run([*self.as_user, *args], check=True, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        self._pg_ctl("start")

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} -c max_connections=40"
        self._run(
            str(self.bin / "pg_ctl"), action, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "-o", options, *extra
        )

    def restart(self, mode: str = "fast") -> None:
        """``fast``: sessions are terminated, the server shuts down cleanly and starts again;
        ``immediate``: it stops like a crash and recovers from its WAL when it starts."""
        self._pg_ctl("restart", "-m", mode)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.folder, ignore_errors=True)
