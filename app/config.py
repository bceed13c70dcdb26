"""Settings from the environment (prefix ``ORDERTRACK_`` or the plain names below)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MONITOR_BATCH_ORDERS = 500


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
    monitor_batch_orders: int = Field(default=MONITOR_BATCH_ORDERS, ge=1, description="Orders per sweep transaction: no writer waits for the monitor longer than one such batch.")
    jeopardy_policy_file: str | None = Field(default=None, description="YAML/JSON escalation policy; unset: the shipped app/jeopardy/policy.yaml.")
    # GraphQL limits
    graphiql: bool = True
    introspection: bool = True
    max_page_size: int = 100
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4000
    max_body_bytes: int = 256 * 1024
    max_subscriptions_per_connection: int = 20
    ws_per_message_deflate: bool = Field(default=False, description="Compress websocket messages (costs ~100 KiB per subscriber for small payloads).")
    mutation_rate_per_minute: int = 0  # per token and process; 0 turns the limit off
    mutation_rate_burst: int | None = None  # bucket size; default: one minute's worth
    token_cache_seconds: float = Field(default=5.0, description="How long a verified token is trusted without a lookup (a revocation waits this long).")
    graphql_cache_size: int = Field(default=256, description="Parsed and validated documents kept (LRU).")
    response_cache_size: int = Field(default=256, description="Query answers kept (LRU), checked against the event log per request; 0 turns the cache off.")
    response_cache_bytes: int = Field(default=64 * 1024 * 1024, description="Encoded query answers kept, in bytes, over all entries.")
    db_pool_size: int = 10
    # Live events (app/realtime)
    broadcast_channel: str = Field(default="ordertrack_events", description="The broker channel every process shares.")
    bus_buffer_size: int = Field(default=1000, description="Events buffered per subscriber; a consumer further behind is cut off.")
    bus_poll_interval_seconds: float = Field(default=1.0, description="How often the event log is read as a safety net.")
    bus_heartbeat_seconds: float = Field(default=1.0, description="Broker heartbeat; three missed ones mean reconnect.")
    bus_reconnect_max_seconds: float = Field(default=10.0, description="Longest wait between broker reconnect attempts.")
    bus_max_message_bytes: int = Field(default=7000, description="Bigger batches travel as a hint to read the log (NOTIFY takes < 8000).")
    ws_keep_alive_seconds: float = Field(default=15.0, description="Keep-alive ('ka') interval on legacy graphql-ws.")
    graphql_sse: bool = Field(default=True, description="Also serve subscriptions as GraphQL over SSE (distinct connections mode).")
    # Persisted queries and the front-end contract
    partner_persisted_only: bool = Field(default=False, description="Partner tokens may run only the contract's persisted operations.")
    persisted_query_store_bytes: int = 8 * 1024 * 1024
    contract_dir: str | None = Field(default=None, description="The frontend-contract folder (default: the one beside app/).")
    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    return Settings()
