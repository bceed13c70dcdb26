"""Settings from the environment (prefix ``ORDERTRACK_`` or the plain names below)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./data/ordertrack.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///file.db or postgresql+asyncpg://...",
    )
    database_schema: str | None = Field(default=None, description="PostgreSQL schema to use (search_path).")
    broadcast_url: str = Field(default="memory://", description="memory://, redis://host:port or postgres://...")
    host: str = "127.0.0.1"
    port: int = 8000
    # Jeopardy monitor
    monitor_enabled: bool = True
    monitor_interval_seconds: float = 30.0
    # GraphQL limits
    graphiql: bool = True
    introspection: bool = True
    max_page_size: int = 100
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4000
    max_body_bytes: int = 256 * 1024
    max_subscriptions_per_connection: int = 20
    token_cache_seconds: float = Field(default=5.0, description="How long a verified token is trusted without a lookup (a revocation waits this long).")
    graphql_cache_size: int = Field(default=256, description="Parsed and validated documents kept (LRU).")
    db_pool_size: int = 10
    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    return Settings()
