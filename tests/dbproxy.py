"""A TCP proxy between the service and PostgreSQL, for injecting database faults.

The service's ``DATABASE_URL`` names the proxy (:meth:`DbProxy.url`); a test switches
its mode while the real processes run:

- ``pass``: bytes flow both ways, as if the proxy were not there;
- ``refuse``: the database is down: every open connection is reset, and each new one
  is closed at once (counted in ``refused``, so a test can see a process retry);
- ``black_hole``: the database hangs (its processes stopped, or the network drops
  packets): new connections are accepted and get no answer, open ones go silent in
  both directions. What was sent meanwhile is held, not lost: back in ``pass``, it
  is delivered, as a stopped server that is continued reads what was waiting, so a
  statement a client gave up on still reaches the server unless the client closed
  its connection first.

An asyncio loop on a thread of its own, bound to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

PASS, REFUSE, BLACK_HOLE = "pass", "refuse", "black_hole"
CHUNK = 65536


class DbProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mode = PASS
        self.refused = 0  # connections closed at once, in refuse mode
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="dbproxy", daemon=True)
        self._thread.start()
        self._flowing: asyncio.Event = self._call(self._make_event())
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server = self._call(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port: int = self._server.sockets[0].getsockname()[1]

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    def set_mode(self, mode: str) -> None:
        assert mode in (PASS, REFUSE, BLACK_HOLE), mode
        self._call(self._set_mode(mode))

    def close(self) -> None:
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    @staticmethod
    async def _make_event() -> asyncio.Event:
        event = asyncio.Event()
        event.set()
        return event

    async def _close(self) -> None:
        self._server.close()
        await self._set_mode(REFUSE)

    async def _set_mode(self, mode: str) -> None:
        self.mode = mode
        if mode == BLACK_HOLE:
            self._flowing.clear()
            return
        if mode == REFUSE:
            for writer in list(self._writers):
                writer.transport.abort()  # a reset, as from a server that went away
            self._writers.clear()
        self._flowing.set()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.mode == REFUSE:
            self.refused += 1
            client_writer.transport.abort()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, server_writer}
        await asyncio.gather(self._pump(client_reader, server_writer), self._pump(server_reader, client_writer))
        self._writers -= {client_writer, server_writer}
        for writer in (client_writer, server_writer):
            writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction while flowing; a chunk read as the hole opens is held too."""
        try:
            while True:
                await self._flowing.wait()
                data = await reader.read(CHUNK)
                await self._flowing.wait()
                if not data:
                    break
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()  # the other side closed: pass the end on, as TCP does
        except (ConnectionError, OSError):
            writer.transport.abort()
