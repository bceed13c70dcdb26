"""Running the Alembic migrations from code (the CLI, the tests, the demo)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str | None = None, schema: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        cfg.attributes["url"] = url
    if schema:
        cfg.attributes["schema"] = schema
    return cfg


def in_thread(fn: Callable[..., Any], *args: Any) -> None:
    """Alembic's env starts an event loop of its own, so inside a running loop it gets a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        fn(*args)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(fn, *args).result()


def upgrade(url: str | None = None, schema: str | None = None, revision: str = "head") -> None:
    """Bring the database up to ``revision``."""
    in_thread(command.upgrade, alembic_config(url, schema), revision)
