"""What the services need of a message bus, whichever it is: MQTT or in-process.

A :class:`Bus` opens connections; a connection publishes (returning once the bus has the message:
the PUBACK, for MQTT QoS 1), subscribes, and yields the messages of its subscriptions.
:func:`keep_connected` runs a body on a connection and reconnects with backoff when the bus goes
away; :class:`Outbox` and :func:`pump` send an ordered queue of messages with several in flight,
keeping each until it is acknowledged and sending the unacknowledged ones again, in order, after
a reconnection.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("airwatch.bus")


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 1


class BusError(Exception):
    """The bus cannot be used; the text says why, for the operator."""


class BusUnavailable(BusError):
    """Unreachable or gone away: worth trying again later."""


class BusRefused(BusError):
    """The broker said no (credentials, permissions, TLS trust): trying again will not help."""


class Connection(Protocol):
    async def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Return once the bus has the message.  Raises :class:`BusUnavailable` when it went away."""

    async def subscribe(self, *patterns: str) -> None:
        """Subscribe (QoS 1) to MQTT topic filters."""

    def messages(self) -> AsyncIterator[Message]:
        """The messages of the subscriptions, in order; raises :class:`BusUnavailable` on disconnection."""


class Bus(Protocol):
    name: str  # for messages: "mqtt://host:port" or "in-process"

    def connect(self, client_id: str, *, will: Message | None = None,
                clean: bool = False) -> contextlib.AbstractAsyncContextManager[Connection]:
        """A connection; ``will`` is published if it ends without a clean disconnection; ``clean=False``
        keeps the session (subscriptions and queued QoS 1 messages) across reconnections."""


async def keep_connected(bus: Bus, client_id: str, body: Callable[[Connection], Awaitable[Any]], *,
                         will: Message | None = None, clean: bool = False,
                         on_state: Callable[[str, str], None] | None = None,
                         backoff: tuple[float, float] = (0.2, 5.0)) -> Any:
    """Run ``body`` on a connection; reconnect (with growing pauses) whenever the bus goes away.

    Returns what ``body`` returns.  :class:`BusRefused` is raised at once: retrying a wrong
    password only fills the broker's log.  ``on_state("up"|"down", detail)`` follows the link.
    """
    delay = backoff[0]
    said, said_at = "", 0.0  # the same failure is logged again once a minute, not every retry
    while True:
        try:
            async with bus.connect(client_id, will=will, clean=clean) as conn:
                delay = backoff[0]
                if on_state is not None:
                    on_state("up", f"connected to {bus.name}")
                if said:
                    log.warning("%s: connected to %s again", client_id, bus.name)
                    said = ""
                return await body(conn)
        except BusRefused:
            raise
        except BusUnavailable as e:
            if on_state is not None:
                on_state("down", f"{e}; retrying in {delay:.1f} s")
            now = time.monotonic()
            if str(e) != said or now - said_at >= 60.0:
                log.warning("%s: %s; retrying (every %.0f s at most)", client_id, e, backoff[1])
                said, said_at = str(e), now
        await asyncio.sleep(delay)
        delay = min(delay * 2, backoff[1])


@dataclass(slots=True)
class Outgoing:
    """One message waiting for its acknowledgement; ``keys`` say what it carries (spool rows)."""

    topic: str
    payload: bytes
    retain: bool = False
    keys: Any = None
    qos: int = 1  # 0 for state refreshed often (track positions): done once written


class Outbox:
    """An ordered queue of outgoing messages (in memory); :class:`~airwatch.bus.spool.Spool` is the on-disk one.

    ``take(n)`` hands out up to ``n`` messages not yet sent on this connection, in order;
    ``done(msg)`` drops an acknowledged one; ``rewind()`` (after a reconnection) makes every
    unacknowledged message due again, oldest first.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._queue: deque[Outgoing] = deque()
        self._sent = 0  # messages at the head of the queue already handed out
        self.ready = asyncio.Event()
        self.dropped = 0

    def put(self, topic: str, payload: bytes, retain: bool = False, qos: int = 1) -> None:
        if len(self._queue) >= self.limit:
            self._queue.popleft()
            self._sent = max(0, self._sent - 1)
            self.dropped += 1
        self._queue.append(Outgoing(topic, payload, retain, qos=qos))
        self.ready.set()

    def take(self, n: int) -> list[Outgoing]:
        out = [self._queue[i] for i in range(self._sent, min(len(self._queue), self._sent + n))]
        self._sent += len(out)
        if self._sent >= len(self._queue):
            self.ready.clear()
        return out

    def done(self, msg: Outgoing) -> None:
        with contextlib.suppress(ValueError):
            index = self._queue.index(msg)
            del self._queue[index]
            if index < self._sent:
                self._sent -= 1

    def rewind(self) -> None:
        self._sent = 0
        if self._queue:
            self.ready.set()

    def __len__(self) -> int:
        return len(self._queue)


class Source(Protocol):
    ready: asyncio.Event

    def take(self, n: int) -> list[Outgoing]: ...

    def done(self, msg: Outgoing) -> None: ...

    def rewind(self) -> None: ...


@dataclass(slots=True)
class PumpStats:
    published: int = 0
    acked: int = field(default=0)


async def pump(conn: Connection, outbox: Source, window: int = 32, stats: PumpStats | None = None) -> None:
    """Send ``outbox`` on ``conn`` for as long as the connection lasts, ``window`` messages in flight.

    Messages leave in order (each ``publish`` call hands its message to the connection before
    the next one starts); each is marked done when acknowledged.  A failed publish raises
    :class:`BusUnavailable` out of here after cancelling the others.  Call ``outbox.rewind()``
    before pumping on a new connection.
    """
    inflight: set[asyncio.Task[None]] = set()
    room = asyncio.Event()
    room.set()
    failure: list[BaseException] = []

    async def send(msg: Outgoing) -> None:
        await conn.publish(msg.topic, msg.payload, qos=msg.qos, retain=msg.retain)
        outbox.done(msg)
        if stats is not None:
            stats.acked += 1

    def finished(task: asyncio.Task[None]) -> None:
        inflight.discard(task)
        room.set()
        if not task.cancelled() and task.exception() is not None:
            failure.append(task.exception())  # type: ignore[arg-type]

    try:
        while True:
            if failure:
                raise failure[0]
            if len(inflight) >= window:
                room.clear()
                await room.wait()
                continue
            batch = outbox.take(window - len(inflight))
            if not batch:
                ready = asyncio.ensure_future(outbox.ready.wait())
                roomy = asyncio.ensure_future(room.wait()) if inflight else None
                room.clear()
                waits = {ready} if roomy is None else {ready, roomy}
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waits:
                        w.cancel()
                continue
            for msg in batch:
                task = asyncio.ensure_future(send(msg))  # runs in creation order: publishes stay in order
                inflight.add(task)
                task.add_done_callback(finished)
                if stats is not None:
                    stats.published += 1
            await asyncio.sleep(0)
    finally:
        for task in list(inflight):
            task.cancel()
        if inflight:
            await asyncio.gather(*inflight, return_exceptions=True)


async def drained(outbox: Any, poll_s: float = 0.02) -> None:
    """Wait until ``outbox`` holds nothing (every message acknowledged)."""
    while len(outbox):
        await asyncio.sleep(poll_s)


def run_until_signalled(service: Any) -> Any:
    """``asyncio.run(service.run())``, with SIGINT and SIGTERM asking the service to stop cleanly,
    and SIGUSR1 writing what every task is waiting on to the log (``kill -USR1 <pid>`` on a
    sensor or correlator that seems stuck: it keeps running)."""
    import signal

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, service.stop)
        with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
            loop.add_signal_handler(signal.SIGUSR1, lambda: log.warning("%s", describe_tasks(service)))
        return await service.run()

    return asyncio.run(main())


def describe_tasks(service: Any = None) -> str:
    """Every task of the running loop with where it waits, and the service's own state."""
    out = io.StringIO()
    tasks = sorted(asyncio.all_tasks(), key=lambda t: t.get_name())
    out.write(f"{len(tasks)} tasks\n")
    for task in tasks:
        out.write(f"--- task {task.get_name()}: {task.get_coro()!r}\n")
        task.print_stack(limit=8, file=out)
    if service is not None:
        link = f"link {getattr(service, 'link', '?')} {getattr(service, 'link_detail', '')}".strip()
        out.write(f"service {type(service).__name__}: state {getattr(service, 'state', '?')}, {link}\n")
        spool = getattr(service, "spool", None)
        if spool is not None and hasattr(spool, "describe"):
            out.write(f"spool: {spool.describe()}\n")
    return out.getvalue()


STOP_GRACE_S = 3.0  # on stop: time a service has to say "stopped" on the bus before it is cut off


class Service:
    """What the sensor and correlate services share: a stop asked from any thread, the state of the
    link to the bus, and a session kept on the bus (reconnecting) until it returns or stop is asked."""

    bus: Bus
    link = "down"  # the bus link: up or down
    link_detail = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None

    def stop(self) -> None:
        """Ask the service to stop (thread-safe): it says "stopped" on the bus and returns from run()."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)

    def _begin(self) -> asyncio.Event:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        return self._stop

    def _on_link(self, state: str, detail: str) -> None:
        self.link, self.link_detail = state, detail

    async def _keep_session(self, client_id: str, session: Callable[[Connection], Awaitable[Any]],
                            will: Message | None, on_stop: Callable[[], None] | None = None,
                            clean: bool = False) -> None:
        """``session`` on the bus (reconnecting) until it returns; on stop, it gets ``STOP_GRACE_S`` to end
        (an absent broker is not waited for).  Raises :class:`BusRefused`."""
        assert self._stop is not None
        link = asyncio.create_task(keep_connected(self.bus, client_id, session, will=will, clean=clean,
                                                  on_state=self._on_link))
        stopping = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait({link, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if link in done:
                link.result()
                return
            if on_stop is not None:
                on_stop()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, BusError):
                await asyncio.wait_for(link, STOP_GRACE_S)
        finally:
            for task in (link, stopping):
                task.cancel()
            await asyncio.gather(link, stopping, return_exceptions=True)


def run_in_thread(main: Callable[[], Awaitable[Any]], name: str,
                  on_error: Callable[[BaseException], None]) -> threading.Thread:
    """``asyncio.run(main())`` on a daemon thread; an exception is logged and handed to ``on_error``."""

    def target() -> None:
        try:
            asyncio.run(main())  # type: ignore[arg-type]
        except Exception as e:  # noqa: BLE001 - the console shows why it stopped
            log.exception("%s stopped", name)
            on_error(e)

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread
