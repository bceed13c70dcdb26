"""One process of websocket subscribers for the fan-out benchmark (graphql-transport-ws).

    python -m bench.fanout_client URL TOKEN COUNT QUERY_FILE OUT_FILE [--variables JSON]

Opens COUNT connections, each subscribing once, prints "ready N" when all are acknowledged, records
(receive wall-clock time, sequence, the event's ``at``) for every ``next`` message, and writes them as JSON lines to
OUT_FILE when it receives SIGTERM. The sequence is the first ``sequence`` key found in the payload.
"""

from __future__ import annotations

import asyncio
import json
import resource
import signal
import sys
import time
from typing import Any

import orjson
import websockets


def find_key(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        if key in value:
            return value[key]
        for v in value.values():
            found = find_key(v, key)
            if found is not None:
                return found
    elif isinstance(value, list):
        for v in value:
            found = find_key(v, key)
            if found is not None:
                return found
    return None


def find_sequence(value: Any) -> int | None:
    if isinstance(value, dict):
        if "sequence" in value:
            return int(value["sequence"])
        for v in value.values():
            found = find_sequence(v)
            if found is not None:
                return found
    elif isinstance(value, list):
        for v in value:
            found = find_sequence(v)
            if found is not None:
                return found
    return None


async def subscriber(url: str, token: str, query: str, variables: dict[str, Any], ready: asyncio.Event,
                     acked: list[int], received: list[tuple[float, Any]], errors: list[str], total: int) -> None:
    try:
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"], max_size=2**22, open_timeout=120, ping_interval=None) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
            ack = orjson.loads(await ws.recv())
            if ack.get("type") != "connection_ack":
                errors.append(f"no ack: {ack}")
                return
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}))
            acked[0] += 1
            if acked[0] == total:
                ready.set()
            async for raw in ws:
                # Only the time here; parsing waits for the end, so the clients (which share the
                # machine with the server) spend as little CPU per message as they can.
                if '"next"' in raw[:40]:
                    received.append((time.time(), raw))
                    continue
                message = orjson.loads(raw)
                kind = message.get("type")
                if kind == "ping":
                    await ws.send('{"type":"pong"}')
                elif kind in ("error", "complete"):
                    errors.append(str(message)[:300])
    except Exception as exc:  # a failed connection is counted, not fatal for the others
        errors.append(f"{type(exc).__name__}: {exc}"[:300])
        acked[0] += 1
        if acked[0] == total:
            ready.set()


async def main() -> None:
    url, token, count, query_file, out_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    variables = json.loads(sys.argv[7]) if len(sys.argv) > 7 and sys.argv[6] == "--variables" else {}
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    query = open(query_file).read()
    ready, stop = asyncio.Event(), asyncio.Event()
    acked, received, errors = [0], [], []  # type: ignore[var-annotated]
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    tasks = []
    for _ in range(count):
        tasks.append(asyncio.create_task(subscriber(url, token, query, variables, ready, acked, received, errors, count)))
        await asyncio.sleep(0.002)  # do not stampede the server's accept queue
    await ready.wait()
    print(f"ready {count} errors {len(errors)}", flush=True)
    await stop.wait()
    for t in tasks:
        t.cancel()
    parsed = []
    for at, raw in received:
        payload = orjson.loads(raw).get("payload", {})
        if payload.get("errors"):
            errors.append(str(payload["errors"])[:300])
        data = payload.get("data")
        parsed.append((at, find_sequence(data), find_key(data, "at")))
    with open(out_file, "wb") as f:
        f.write(orjson.dumps({"received": parsed, "errors": errors[:20], "error_count": len(errors)}))


if __name__ == "__main__":
    asyncio.run(main())
