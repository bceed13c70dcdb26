"""Structured (JSON) logs; every line written while serving a request carries its request id."""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass
class RequestInfo:
    """What is known about the request being served (mutable: the GraphQL layer adds the operation)."""

    request_id: str
    operation: str | None = None


current_request: ContextVar[RequestInfo | None] = ContextVar("ordertrack_request", default=None)


def new_request_id(offered: str | None = None) -> str:
    """The client's X-Request-ID when it is short and plain, else a fresh one."""
    if offered and _SAFE_ID.match(offered):
        return offered
    return uuid.uuid4().hex


def request_id() -> str | None:
    info = current_request.get()
    return info.request_id if info else None


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` (and the operation name) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = current_request.get()
        if not hasattr(record, "request_id"):
            record.request_id = info.request_id if info else None
        if not hasattr(record, "operation"):
            record.operation = info.operation if info else None
        return True


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and value is not None:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


QUIET_DRIVERS = ("aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool")


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` (also given to uvicorn) writing JSON lines to stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "uvicorn": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
            # The drivers and SQLAlchemy log statements (with their values, at DEBUG): never, whatever LOG_LEVEL says.
            **{name: {"level": "WARNING", "handlers": [], "propagate": True} for name in QUIET_DRIVERS},
        },
    }
