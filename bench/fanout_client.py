"""One process of websocket subscribers for the fan-out benchmark (graphql-transport-ws).

    python -m bench.fanout_client URL TOKEN COUNT QUERY_FILE OUT_FILE [--variables JSON]

Opens COUNT connections, each subscribing once, prints "ready N errors E" when all are
acknowledged, records (arrival time, read time, sequence, the event's ``at``) for every ``next``
message, and writes them as JSON to OUT_FILE when it receives SIGTERM. The sequence is the first
``sequence`` key found in the payload.

The clients share the machine with the server, so every microsecond they spend per message is taken
from the server, and a client busy with other connections reads a message later than it arrived.
Each connection is therefore a socket read by a callback around websockets' sans-I/O client (no
task, queue or wake-up per message), on uvloop; payloads are parsed only after the run; and the
arrival time is the kernel's receive timestamp of the data (SO_TIMESTAMPNS), the moment a client of
its own would have it, next to the time this process got round to reading it.
"""

from __future__ import annotations

import asyncio
import json
import resource
import signal
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import orjson
import uvloop
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python does not name it
RECV_SIZE = 65536
ANCILLARY_SIZE = socket.CMSG_SPACE(16)  # one struct timespec


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


class Run:
    """What all connections of this process share: the messages, the received events, the errors."""

    def __init__(self, url: str, token: str, query: str, variables: dict[str, Any], total: int) -> None:
        self.url = url
        self.init = json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        self.subscribe = json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})
        self.total = total
        self.acked = 0
        self.ready = asyncio.Event()
        self.received: list[tuple[float, float, bytes]] = []
        self.errors: list[str] = []
        self.stopping = False

    def settled(self, error: str | None = None) -> None:
        """One connection is subscribed (or failed for good)."""
        if error is not None:
            self.errors.append(error[:300])
        self.acked += 1
        if self.acked == self.total:
            self.ready.set()


class Subscriber:
    """One dashboard: handshake, connection_init, subscribe; then it records every ``next`` frame
    with the kernel's arrival time of the data it came in (SO_TIMESTAMPNS) and the time it was read."""

    def __init__(self, run: Run, sock: socket.socket) -> None:
        self.run = run
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        self.ws = ClientProtocol(parse_uri(run.url), subprotocols=[Subprotocol("graphql-transport-ws")], max_size=2**22)
        self.out = b""
        self.writing = False
        self.subscribed = False
        self.settled = False

    def start(self) -> None:
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.loop.add_reader(self.sock.fileno(), self.readable)
        self.ws.send_request(self.ws.connect())
        self.flush()

    def flush(self) -> None:
        data = self.ws.data_to_send()
        if data:
            self.out += b"".join(data)
        if self.out:
            try:
                self.out = self.out[self.sock.send(self.out) :]
            except BlockingIOError:
                pass
            except OSError as exc:
                self.fail(f"send: {exc}")
                return
        if bool(self.out) != self.writing:  # wait for room only while something is left to send
            self.writing = bool(self.out)
            (
                self.loop.add_writer(self.sock.fileno(), self.flush)
                if self.writing
                else self.loop.remove_writer(self.sock.fileno())
            )

    def readable(self) -> None:
        try:
            data, ancillary, _, _ = self.sock.recvmsg(RECV_SIZE, ANCILLARY_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            self.lost(f"receive: {exc}")
            return
        read_at = time.time()
        if not data:
            self.lost("closed by the server")
            return
        arrived_at = read_at
        for level, kind, raw in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = struct.unpack("qq", raw)
                arrived_at = seconds + nanoseconds / 1e9  # of the last segment of this read: never early
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    self.message(arrived_at, read_at, cast(bytes, event.data))  # frames the protocol parsed hold bytes
            elif isinstance(event, Response):
                if event.status_code != 101:
                    self.fail(f"handshake: HTTP {event.status_code}")
                    return
                self.ws.send_text(self.run.init.encode())
        self.flush()  # answers to pings and closes, and what message() queued

    def message(self, arrived_at: float, read_at: float, raw: bytes) -> None:
        if b'"next"' in raw[:40]:
            self.run.received.append((arrived_at, read_at, raw))
            return
        message = orjson.loads(raw)
        kind = message.get("type")
        if kind == "connection_ack" and not self.subscribed:
            self.subscribed = True
            self.ws.send_text(self.run.subscribe.encode())
            self.settle()
        elif kind == "ping":
            self.ws.send_text(b'{"type":"pong"}')
        elif kind in ("error", "complete"):
            self.run.errors.append(str(message)[:300])

    def settle(self, error: str | None = None) -> None:
        if not self.settled:
            self.settled = True
            self.run.settled(error)
        elif error is not None:
            self.run.errors.append(error[:300])

    def fail(self, error: str) -> None:
        self.settle(error)
        self.close()

    def lost(self, reason: str) -> None:
        self.close()
        if not self.run.stopping:
            self.settle(f"connection lost: {reason}")

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            self.loop.remove_reader(self.sock.fileno())
            if self.writing:
                self.loop.remove_writer(self.sock.fileno())
            self.sock.close()


async def main() -> None:
    url, token, count, query_file, out_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    variables = json.loads(sys.argv[7]) if len(sys.argv) > 7 and sys.argv[6] == "--variables" else {}
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    run = Run(url, token, Path(query_file).read_text(), variables, count)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    parts = urlsplit(url)
    subscribers = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (parts.hostname, parts.port))
        except OSError as exc:  # a failed connection is counted, not fatal for the others
            sock.close()
            run.settled(f"{type(exc).__name__}: {exc}")
            continue
        subscribers.append(Subscriber(run, sock))
        subscribers[-1].start()
        await asyncio.sleep(0.002)  # do not stampede the server's accept queue
    await run.ready.wait()
    print(f"ready {count} errors {len(run.errors)}", flush=True)
    await stop.wait()
    run.stopping = True
    for subscriber in subscribers:
        subscriber.close()
    parsed = []
    for arrived_at, read_at, raw in run.received:
        payload = orjson.loads(raw).get("payload", {})
        if payload.get("errors"):
            run.errors.append(str(payload["errors"])[:300])
        data = payload.get("data")
        parsed.append((arrived_at, read_at, find_key(data, "sequence"), find_key(data, "at")))
    with open(out_file, "wb") as f:
        f.write(orjson.dumps({"received": parsed, "errors": run.errors[:20], "error_count": len(run.errors)}))


if __name__ == "__main__":
    uvloop.run(main())
