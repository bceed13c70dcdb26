"""Settings from the environment (prefix ``ORDERTRACK_`` or the plain names below)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MONITOR_BATCH_ORDERS = 250
MONITOR_BATCH_SECONDS = 0.0  # off: see the README (the benchmarks gave sizing by time nothing to show)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", env_file=".env", extra="ignore")

    ordertrack_env: Literal["development", "production"] = Field(
        default="development",
        description="production: no GraphiQL, no introspection, no suggestions in errors; /metrics needs METRICS_TOKEN.",
    )
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
    monitor_batch_orders: int = Field(
        default=MONITOR_BATCH_ORDERS,
        ge=1,
        description="Orders per sweep transaction at most: no writer waits for the monitor longer than one such batch.",
    )
    monitor_batch_seconds: float = Field(
        default=MONITOR_BATCH_SECONDS,
        ge=0,
        description="The time a sweep's batch should take: the next batch holds as many orders as fit (at most "
        "MONITOR_BATCH_ORDERS), by the time per order of the last one; 0 keeps every batch at MONITOR_BATCH_ORDERS.",
    )
    monitor_forecast_processes: int = Field(
        default=1,
        ge=0,
        le=16,
        description="Worker processes drawing the sweep's forecasts off the service's event loop (started with the "
        "monitor, at a lower CPU priority); 0 draws them in the service process.",
    )
    jeopardy_policy_file: str | None = Field(
        default=None, description="YAML/JSON escalation policy; unset: the shipped app/jeopardy/policy.yaml."
    )
    metrics_token: str | None = Field(default=None, description="Bearer token /metrics asks for (required in production).")
    metrics_refresh_seconds: float = Field(
        default=15.0, description="How often the open-order gauges are counted (not per scrape)."
    )
    # Slow clients: ``ordertrack serve`` bounds the time to the end of the headers, the app the time for the body.
    header_read_timeout_seconds: float = Field(default=10.0, description="Longest wait for a request's complete headers.")
    body_read_timeout_seconds: float = Field(default=30.0, description="Longest time for a request's whole body to arrive.")
    # GraphQL limits
    graphiql: bool = True
    introspection: bool = Field(default=True, description="Off: introspection refused and no 'Did you mean' suggestions.")
    max_page_size: int = 100
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4000
    max_body_bytes: int = 256 * 1024
    max_subscriptions_per_connection: int = 20
    ws_per_message_deflate: bool = Field(
        default=False, description="Compress websocket messages (costs ~100 KiB per subscriber for small payloads)."
    )
    mutation_rate_per_minute: int = 0  # per token and process; 0 turns the limit off
    direct_lane: bool = Field(
        default=True,
        description="Answer the usual partner progress report without strawberry's per-request execution (app/graphql/direct_lane.py).",
    )
    mutation_rate_burst: int | None = None  # bucket size; default: one minute's worth
    token_cache_seconds: float = Field(
        default=5.0, description="How long a verified token is trusted without a lookup (a revocation waits this long)."
    )
    graphql_cache_size: int = Field(default=256, description="Parsed and validated documents kept (LRU).")
    read_planner: bool = Field(
        default=True,
        description="Answer order-tree queries with one planned SQL statement each (PostgreSQL and SQLite; see app/graphql/planner.py).",
    )
    response_cache_size: int = Field(
        default=256, description="Query answers kept (LRU), checked against the event log per request; 0 turns the cache off."
    )
    response_cache_bytes: int = Field(
        default=64 * 1024 * 1024, description="Encoded query answers kept, in bytes, over all entries."
    )
    db_pool_size: int = 10
    # Live events (app/realtime)
    broadcast_channel: str = Field(default="ordertrack_events", description="The broker channel every process shares.")
    bus_buffer_size: int = Field(
        default=1000, description="Events buffered per subscriber; a consumer further behind is cut off."
    )
    bus_poll_interval_seconds: float = Field(default=1.0, description="How often the event log is read as a safety net.")
    bus_heartbeat_seconds: float = Field(default=1.0, description="Broker heartbeat; three missed ones mean reconnect.")
    bus_reconnect_max_seconds: float = Field(default=10.0, description="Longest wait between broker reconnect attempts.")
    bus_max_message_bytes: int = Field(
        default=7000, description="Bigger batches travel as a hint to read the log (NOTIFY takes < 8000)."
    )
    ws_keep_alive_seconds: float = Field(default=15.0, description="Keep-alive ('ka') interval on legacy graphql-ws.")
    graphql_sse: bool = Field(
        default=True, description="Also serve subscriptions as GraphQL over SSE (distinct connections mode)."
    )
    # Persisted queries and the front-end contract
    partner_persisted_only: bool = Field(
        default=False, description="Partner tokens may run only the contract's persisted operations."
    )
    persisted_query_store_bytes: int = 8 * 1024 * 1024
    contract_dir: str | None = Field(default=None, description="The frontend-contract folder (default: the one beside app/).")
    # Webhooks (app/webhooks)
    webhook_delivery_enabled: bool = Field(
        default=False, description="Deliver webhooks in this app process (or run `ordertrack deliver`)."
    )
    webhook_allowed_hosts: str = Field(
        default="", description="Comma-separated hosts webhooks may call: names, '*.example.com', or '*' for any public host."
    )
    webhook_allow_private_networks: bool = Field(
        default=False, description="Allow loopback, private and link-local addresses (tests, an operator's own network)."
    )
    webhook_connect_timeout_seconds: float = 5.0
    webhook_read_timeout_seconds: float = 10.0
    webhook_max_response_bytes: int = Field(default=64 * 1024, description="At most this much of a receiver's answer is read.")
    webhook_backoff_base_seconds: float = Field(
        default=1.0, description="The first retry's delay; it doubles per failure (half of it jittered)."
    )
    webhook_backoff_cap_seconds: float = Field(default=600.0, description="The longest delay between attempts.")
    webhook_max_attempts: int = Field(default=10, description="Failures in a row before a webhook is marked failing.")
    webhook_poll_interval_seconds: float = Field(
        default=5.0, description="How often the log is read without a doorbell from the bus."
    )
    webhook_lease_seconds: float = Field(
        default=60.0, description="SQLite: how long a deliverer's claim on a webhook lasts without renewal."
    )
    webhook_concurrency: int = Field(
        default=4, description="Webhooks attempted at once per process (each holds a database connection on PostgreSQL)."
    )
    webhook_secret_overlap_hours: float = Field(
        default=24.0, description="After a rotation, how long the old secret still signs too."
    )
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _production_profile(self) -> Settings:
        if self.production:
            self.graphiql = False
            self.introspection = False
        return self

    @property
    def production(self) -> bool:
        return self.ordertrack_env == "production"

    @property
    def suggestions(self) -> bool:
        """Whether errors may say "Did you mean …": only where the schema is not hidden anyway."""
        return self.introspection


@lru_cache
def get_settings() -> Settings:
    return Settings()
