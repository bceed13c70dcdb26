"""The ``ordertrack`` command: serve, migrate, demo, create-token, revoke-token, monitor, deliver, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

from app.access import tokens
from app.auth import Role
from app.clock import SystemClock
from app.config import Settings, get_settings
from app.consistency import reconciler
from app.db import Database
from app.errors import DomainError
from app.jeopardy.policy import Policy, load_policy


def _db(settings: Settings, policy: Policy | None = None) -> Database:
    """The database, its writes reconciled under ``policy`` (else the settings' escalation policy)."""
    if settings.database_url.startswith("sqlite"):
        path = settings.database_url.split("///", 1)[-1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url, schema=settings.database_schema, pool_size=2)
    # every write keeps its orders consistent (see app/consistency.py)
    used = policy or load_policy(settings.jeopardy_policy_file)
    db.reconcile = reconciler(used)
    db.calendars = used.calendars
    return db


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> None:
    from app import migrate

    _db(settings)  # makes the SQLite folder
    migrate.upgrade(settings.database_url, settings.database_schema)
    print("database is up to date")


async def _token(settings: Settings, name: str, role: Role, party_id: int | None, lifetime: timedelta | None = None) -> str:
    db = _db(settings)
    try:
        async with db.write(tokens.OPERATOR, SystemClock().now()) as uow:
            plain, _ = await tokens.issue(uow, name=name, role=role, party_id=party_id, lifetime=lifetime)
        return plain
    finally:
        await db.dispose()


def _fail(exc: DomainError) -> NoReturn:
    print(f"ordertrack: {exc.message}", file=sys.stderr)
    raise SystemExit(2)


def cmd_create_token(settings: Settings, args: argparse.Namespace) -> None:
    try:
        lifetime = tokens.parse_lifetime(args.expires_in, "--expires-in") if args.expires_in else None
        token = asyncio.run(_token(settings, args.name, Role(args.role), args.party_id, lifetime))
    except DomainError as exc:
        _fail(exc)
    print(token)


async def _revoke(settings: Settings, name: str) -> int:
    db = _db(settings)
    try:
        async with db.write(tokens.OPERATOR, SystemClock().now()) as uow:
            rows = await tokens.revoke_named(uow, name)
        return len(rows)
    finally:
        await db.dispose()


def cmd_revoke_token(settings: Settings, args: argparse.Namespace) -> None:
    try:
        count = asyncio.run(_revoke(settings, args.name))
    except DomainError as exc:
        _fail(exc)
    print(
        f"revoked {count} token{'s' if count != 1 else ''} named {args.name.strip()!r} "
        f"(open sessions end within TOKEN_CACHE_SECONDS={settings.token_cache_seconds:g})"
    )


async def _demo(settings: Settings) -> None:
    from app.demo import has_orders, load_demo

    db = _db(settings)
    try:
        if await has_orders(db):
            print("demo data: the database already has orders; none added")
        else:
            history_db = _db(settings)  # see load_demo: the open orders' forecasts read the history afresh
            try:
                ids = await load_demo(db, SystemClock(), history_db=history_db)
            finally:
                await history_db.dispose()
            print(f"demo data: {len(ids)} customer orders created")
    finally:
        await db.dispose()
    print(f"staff token:  {await _token(settings, 'demo-staff', Role.STAFF, None)}")
    print(f"viewer token: {await _token(settings, 'demo-viewer', Role.VIEWER, None)}")
    print(f"partner token (party 1): {await _token(settings, 'demo-partner-1', Role.PARTNER, 1)}")


def cmd_demo(settings: Settings, _: argparse.Namespace) -> None:
    cmd_migrate(settings, _)
    asyncio.run(_demo(settings))


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn settings the service runs with (``ordertrack serve``; tests that serve an app in
    their own event loop use them too)."""
    from app.http_protocol import HTTP_PROTOCOL
    from app.realtime.ws_protocol import WS_PROTOCOL

    return {
        "access_log": False,  # RequestContext logs each request as JSON
        "ws_max_size": settings.max_body_bytes,  # the body cap holds for websocket messages too
        "ws_per_message_deflate": settings.ws_per_message_deflate,
        "ws": WS_PROTOCOL,  # uvicorn's own, plus a send that fan-out can use without waiting
        "http": HTTP_PROTOCOL,  # uvicorn's own, plus HEADER_READ_TIMEOUT_SECONDS for the request headers
    }


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    if args.demo:
        cmd_demo(settings, args)
    elif args.migrate:
        cmd_migrate(settings, args)
    host, port = args.host or settings.host, args.port or settings.port
    note = " (GraphiQL in a browser)" if settings.graphiql else " (production profile)" if settings.production else ""
    print(f"ordertrack on http://{host}:{port}/graphql{note}", flush=True)
    from app.observability.logs import logging_config

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        log_config=logging_config(settings.log_level),
        **uvicorn_options(settings),
    )


def cmd_audit(settings: Settings, _: argparse.Namespace) -> None:
    """Check the event log against the orders; exit 1 when anything is inconsistent."""
    from app.audit import audit

    async def run() -> bool:
        db = _db(settings)
        try:
            report = await audit(db)
        finally:
            await db.dispose()
        print(f"{report.orders} orders, {report.events} events, last seq {report.last_seq}")
        for problem in report.problems:
            print(f"PROBLEM: {problem}")
        return report.ok

    if not asyncio.run(run()):
        sys.exit(1)


def cmd_export_schema(_: Settings, args: argparse.Namespace) -> None:
    from app.graphql.schema import schema

    sdl = schema.as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl)
        print(f"wrote {args.output}")


def cmd_monitor(settings: Settings, args: argparse.Namespace) -> None:
    from app.jeopardy.monitor import run_cli

    policy = load_policy(settings.jeopardy_policy_file)
    asyncio.run(run_cli(settings, _db(settings, policy), policy, once=args.once, interval=args.interval))


def cmd_deliver(settings: Settings, _: argparse.Namespace) -> None:
    from app.webhooks.delivery import run_cli

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_cli(settings, _db(settings)))


def cmd_contract(_: Settings, args: argparse.Namespace) -> None:
    from app.graphql.contract import CONTRACT_DIR, MANIFEST_NAME, load_operations, manifest

    (CONTRACT_DIR / MANIFEST_NAME).write_text(manifest(load_operations()))
    print(f"wrote {CONTRACT_DIR / MANIFEST_NAME}")
    if args.publish:
        (CONTRACT_DIR / "published-schema.graphql").write_text(Path("schema.graphql").read_text())
        print(f"published schema.graphql as {CONTRACT_DIR / 'published-schema.graphql'}")


def cmd_generate(settings: Settings, args: argparse.Namespace) -> None:
    from app.datagen import run_generate

    asyncio.run(run_generate(_db(settings), args))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ordertrack", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the service")
    s.add_argument("--demo", action="store_true", help="migrate and load demo data first (printing tokens)")
    s.add_argument("--migrate", action="store_true", help="migrate the database first")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--workers", type=int, default=1)
    s.set_defaults(run=cmd_serve)
    sub.add_parser("migrate", help="apply the Alembic migrations").set_defaults(run=cmd_migrate)
    sub.add_parser("demo", help="load demo data and print a staff and a viewer token").set_defaults(run=cmd_demo)
    t = sub.add_parser("create-token", help="issue an API token (printed once)")
    t.add_argument("--name", required=True)
    t.add_argument("--role", required=True, choices=[r.value for r in Role if r is not Role.SYSTEM])
    t.add_argument("--party-id", type=int)
    t.add_argument("--expires-in", help="lifetime, e.g. 30d, 12h, 90m, 2w (default: until revoked)")
    t.set_defaults(run=cmd_create_token)
    r = sub.add_parser("revoke-token", help="revoke every live token with this name (open sessions end too)")
    r.add_argument("--name", required=True)
    r.set_defaults(run=cmd_revoke_token)
    sub.add_parser("audit", help="check that the event log and the orders agree").set_defaults(run=cmd_audit)
    m = sub.add_parser("monitor", help="run the jeopardy monitor on its own (one leader across processes)")
    m.add_argument("--once", action="store_true", help="one sweep, print what changed, exit")
    m.add_argument("--interval", type=float, help="seconds between sweeps (default MONITOR_INTERVAL_SECONDS)")
    m.set_defaults(run=cmd_monitor)
    sub.add_parser("deliver", help="deliver webhooks on their own (one process per webhook at a time)").set_defaults(
        run=cmd_deliver
    )
    g = sub.add_parser(
        "generate", help="bulk-load a consistent set of open orders, and/or a history of closed ones (demo, load test)"
    )
    g.add_argument("--orders", type=int, default=0, help="how many open customer orders")
    g.add_argument(
        "--history",
        type=int,
        default=0,
        help="how many closed orders to write first, through the domain functions (learned statistics)",
    )
    g.add_argument(
        "--party-slip",
        action="append",
        metavar="NAME=RATE",
        help="share of a party's deliveries that are late (repeat; default: the demo's parties)",
    )
    g.add_argument(
        "--kind-slip",
        action="append",
        metavar="KIND=RATE",
        help="share of an activity kind's work that overruns its plan (repeat; default: site survey, install)",
    )
    g.add_argument("--items", type=int, default=5, help="items per order (each with an activity and a service order request)")
    g.add_argument("--chunk", type=int, default=5000, help="orders per transaction")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--jobs", type=int, default=2, help="chunks written concurrently (PostgreSQL)")
    g.set_defaults(run=cmd_generate)
    e = sub.add_parser("export-schema", help="write the GraphQL SDL")
    e.add_argument("--output", default="schema.graphql")
    e.set_defaults(run=cmd_export_schema)
    c = sub.add_parser("contract", help="write frontend-contract/persisted-operations.json from its operations")
    c.add_argument("--publish", action="store_true", help="also publish schema.graphql as the contract's schema")
    c.set_defaults(run=cmd_contract)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.run(get_settings(), args)


if __name__ == "__main__":
    main()
