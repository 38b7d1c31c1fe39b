"""A loopback TCP relay to a real PostgreSQL that holds a connection open after the server closed it.

A proxy, a NAT or a busy client may deliver the server's last message (the FATAL of a shutdown) well
before its close: the client then holds a connection that read "terminating connection" but is not
closed. On the loop that alone hit 1 of 3,253 status reads (issue 18); the relay makes it every time: the
client learns of the close only when it next writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

TERMINATE = b"X\x00\x00\x00\x04"  # the client's last message: it closes the connection itself


@dataclass
class HalfOpenRelay:
    port: int = 0
    server_closes: int = 0  # connections the server has closed (their client side left open)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for_server_closes(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.server_closes < count:
                assert self._changed.wait(deadline - time.monotonic()), f"{self.server_closes} of {count} closed"

    def _server_closed(self) -> None:
        with self._changed:
            self.server_closes += 1
            self._changed.notify_all()


@contextmanager
def half_open_relay(socket_path: Callable[[], Path]) -> Iterator[HalfOpenRelay]:
    """Listens on 127.0.0.1, on an event loop of its own (a test client may block the test's loop while a
    request runs); each connection goes to the Unix socket `socket_path()` names at that moment."""
    relay = HalfOpenRelay()
    loop = asyncio.new_event_loop()
    clients: list[asyncio.StreamWriter] = []

    async def serve(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        clients.append(client_writer)
        try:
            server_reader, server_writer = await asyncio.open_unix_connection(str(socket_path()))
        except OSError:
            client_writer.close()
            return

        server_gone = terminated = False

        async def to_server() -> None:
            nonlocal terminated
            with contextlib.suppress(OSError):
                while data := await client_reader.read(65536):
                    if server_gone:
                        break  # what the client says now meets the closed socket: it learns of the close
                    terminated = data.endswith(TERMINATE)
                    server_writer.write(data)
                    await server_writer.drain()
            server_writer.close()
            client_writer.close()  # the client hung up: now the relay closes its side too

        async def to_client() -> None:
            nonlocal server_gone
            with contextlib.suppress(OSError):
                while data := await server_reader.read(65536):
                    client_writer.write(data)
                    await client_writer.drain()
            server_gone = True  # the client is not told, until it writes (or it asked for the close)
            if terminated:
                client_writer.close()
            else:
                relay._server_closed()

        await asyncio.gather(to_server(), to_client())

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    listening = asyncio.run_coroutine_threadsafe(asyncio.start_server(serve, "127.0.0.1", 0), loop).result(10)
    relay.port = listening.sockets[0].getsockname()[1]
    try:
        yield relay
    finally:

        async def close() -> None:
            listening.close()
            for writer in clients:
                writer.close()

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
