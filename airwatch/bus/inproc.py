"""The embedded bus: the same interface as MQTT, inside one process, for ``airwatch monitor``.

With no ``[mqtt]`` section a laptop needs no broker: the sensor service, the correlate service and
the console's feed all take an :class:`InProcessBus` in place of an :class:`~airwatch.bus.mqtt.MqttBus`.
It keeps MQTT's semantics where the services rely on them: topic filters with ``+`` and ``#``,
retained messages (delivered on subscription; an empty payload clears one), last wills (published
when a connection ends with an error), per-publisher order, and persistent sessions (a client
that reconnects with ``clean=False`` finds the messages published while it was away).  Nothing is
ever lost, so a publish returns at once.

Connections may live on different event loops (the services on one worker thread, the console's
feed on another): a message is handed to its subscriber's loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator

from paho.mqtt.client import topic_matches_sub

from airwatch.bus.base import BusUnavailable, Message

SESSION_LIMIT = 1_000_000  # messages kept for an absent persistent client (then the oldest go)


class _Session:
    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.patterns: list[str] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queue: asyncio.Queue[Message] | None = None
        self.parked: deque[Message] = deque(maxlen=SESSION_LIMIT)  # while disconnected
        self.connected = False

    def wants(self, topic: str) -> bool:
        return any(p == topic or topic_matches_sub(p, topic) for p in self.patterns)

    def deliver(self, msg: Message) -> None:
        if not self.connected or self.queue is None or self.loop is None:
            self.parked.append(msg)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.queue.put_nowait(msg)
        else:
            with contextlib.suppress(RuntimeError):  # that loop has closed
                self.loop.call_soon_threadsafe(self.queue.put_nowait, msg)


class InProcessConnection:
    def __init__(self, bus: InProcessBus, session: _Session) -> None:
        self.bus = bus
        self.session = session
        self.closed = False

    async def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        if self.closed:
            raise BusUnavailable("in-process bus: connection closed")
        self.bus.publish_now(Message(topic, payload, retain, qos))

    async def subscribe(self, *patterns: str) -> None:
        retained = self.bus.subscribe_now(self.session, patterns)
        for msg in retained:
            self.session.deliver(msg)

    async def messages(self) -> AsyncIterator[Message]:
        queue = self.session.queue
        assert queue is not None
        while not self.closed:
            yield await queue.get()
        raise BusUnavailable("in-process bus: connection closed")


class InProcessBus:
    """A broker in the process: see the module's text."""

    name = "in-process"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._retained: dict[str, Message] = {}

    @contextlib.asynccontextmanager
    async def connect(self, client_id: str, *, will: Message | None = None,
                      clean: bool = False) -> AsyncIterator[InProcessConnection]:
        with self._lock:
            session = self._sessions.get(client_id)
            if session is None or clean:
                session = self._sessions[client_id] = _Session(client_id)
            if session.connected:
                raise BusUnavailable(f"in-process bus: client id {client_id!r} is already connected")
            session.loop = asyncio.get_running_loop()
            session.queue = asyncio.Queue()
            session.connected = True
            parked, session.parked = list(session.parked), deque(maxlen=SESSION_LIMIT)
        for msg in parked:
            session.queue.put_nowait(msg)
        conn = InProcessConnection(self, session)
        ok = False
        try:
            yield conn
            ok = True
        finally:
            conn.closed = True
            with self._lock:
                session.connected = False
                session.queue = None
                if clean:
                    self._sessions.pop(client_id, None)
            if not ok and will is not None:
                self.publish_now(will)

    def publish_now(self, msg: Message) -> None:
        """Deliver ``msg`` to every matching subscription (from any thread)."""
        with self._lock:
            if msg.retain:
                if msg.payload:
                    self._retained[msg.topic] = msg
                else:
                    self._retained.pop(msg.topic, None)
            targets = [s for s in self._sessions.values() if s.wants(msg.topic)]
        if msg.retain:
            msg = Message(msg.topic, msg.payload, False, msg.qos)  # live delivery: retain flag off, as MQTT does
        for session in targets:
            session.deliver(msg)

    def subscribe_now(self, session: _Session, patterns: tuple[str, ...]) -> list[Message]:
        with self._lock:
            new = [p for p in patterns if p not in session.patterns]
            session.patterns.extend(new)
            return [m for t, m in self._retained.items() if any(topic_matches_sub(p, t) for p in new)]
