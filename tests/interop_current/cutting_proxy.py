"""A TCP proxy on 127.0.0.1 that can cut a connection at a chosen point of its response.

It forwards bytes both ways untouched, in a thread with its own event loop (so sync tests
that run a Node client and async tests alike can use it). Each accepted connection takes
the next :class:`Cut` queued with :meth:`CuttingProxy.cut_next` (none queued: it is passed
through whole). A cut forwards the response up to an exact byte offset of that
connection's response bytes (status line and headers included, chunked framing and all),
then closes both sides: the client sees the response end mid-way, the server sees the
client go away::

    with cutting_proxy(upstream_port) as proxy:
        proxy.cut_next(Cut(after=b"TEXT_MESSAGE_CONTENT"))  # mid-way through an event
        ...  # a client talks to proxy.url
        proxy.log  # [Connection(cut=True, sent=b"HTTP/1.1 200 ..."), ...]
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cut:
    """Where to cut a response: after ``after_bytes`` bytes, or right after the first
    occurrence of ``after`` (then, if ``then`` is given, right after the first ``then``
    at or past that point, e.g. the blank line that ends the event)."""

    after_bytes: int | None = None
    after: bytes | None = None
    then: bytes | None = None

    def position(self, seen: bytes) -> int | None:
        """The offset to cut at, once ``seen`` holds it; ``None`` while not yet known."""
        if self.after_bytes is not None:
            return self.after_bytes if len(seen) >= self.after_bytes else None
        assert self.after is not None, "a Cut needs after_bytes or after"
        found = seen.find(self.after)
        if found < 0:
            return None
        end = found + len(self.after)
        if self.then is None:
            return end
        tail = seen.find(self.then, end)
        return None if tail < 0 else tail + len(self.then)


@dataclass
class Connection:
    """One proxied connection: the cut it took, the response bytes passed on, whether
    it was cut."""

    rule: Cut | None
    sent: bytearray = field(default_factory=bytearray)
    cut: bool = False


class CuttingProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.log: list[Connection] = []
        self._rules: list[Cut | None] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut_next(self, *rules: Cut | None) -> None:
        """Queue cuts for the next connections, in order (``None``: pass one through)."""
        with self._lock:
            self._rules.extend(rules)

    def cuts(self) -> list[Connection]:
        with self._lock:
            return [c for c in self.log if c.cut]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            rule = self._rules.pop(0) if self._rules else None
            connection = Connection(rule)
            self.log.append(connection)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return

        async def upstream() -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await reader.read(65536):
                    up_writer.write(data)
                    await up_writer.drain()
            # The client closed its side: keep the response coming (a half-close).
            with contextlib.suppress(OSError, ConnectionError, RuntimeError):
                up_writer.write_eof()

        async def downstream() -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await up_reader.read(65536):
                    start = len(connection.sent)
                    at = rule.position(bytes(connection.sent) + data) if rule else None
                    if at is not None:
                        part = data[: max(0, at - start)]
                        connection.sent += part
                        connection.cut = True
                        writer.write(part)
                        await writer.drain()
                        return
                    connection.sent += data
                    writer.write(data)
                    await writer.drain()

        pumping = asyncio.ensure_future(upstream())
        try:
            await downstream()
        finally:
            pumping.cancel()
            for w in (writer, up_writer):
                with contextlib.suppress(OSError, ConnectionError, RuntimeError):
                    w.close()

    def _spawn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = self._loop.create_task(self._handle(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._spawn, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def start(self) -> None:
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start())
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="cutting-proxy", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("cutting proxy did not start")

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@contextlib.contextmanager
def cutting_proxy(upstream_port: int) -> Iterator[CuttingProxy]:
    """A :class:`CuttingProxy` to ``127.0.0.1:upstream_port`` for the ``with`` block."""
    proxy = CuttingProxy(upstream_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
