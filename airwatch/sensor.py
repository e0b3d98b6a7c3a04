"""``airwatch sensor``: run a sensor's sources and publish what they hear on the bus.

Each contact gets the next sequence number of the sensor's stream, goes into the on-disk spool
(:mod:`airwatch.bus.spool`), and leaves it when the broker has acknowledged the message that
carried it (QoS 1, a persistent session, batches of one contact kind per message, several
messages in flight).  The status topic (retained) carries a heartbeat every ``heartbeat_s``: the
sensor's position, its sources' health, its spool, and its watermark (the sequence number and
time up to which everything has been sent); the last will replaces it with ``"down"`` if the
sensor vanishes.  When every source has finished (a replay), the sensor sends what is left and
announces the end of its stream (``"ended"``); with ``exit_at_end`` it then exits.

Topics and payloads: docs/mqtt.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time as _time
from typing import Any

from airwatch.bus.base import STOP_GRACE_S, Bus, Connection, Message, Service, drained, pump
from airwatch.bus.payload import encode_contact, encode_doc
from airwatch.bus.spool import Spool, default_path
from airwatch.bus.topics import KINDS, Topics
from airwatch.config import ConfigError, MqttSettings, Settings
from airwatch.contact import Contact
from airwatch.sources.health import SourceHealth

log = logging.getLogger("airwatch.sensor")

HEARTBEAT_S = 1.0
LINGER_S = 0.005  # contacts wait this long in memory, so the spool writes them in batches
WINDOW = 32  # messages in flight


def open_sources(settings: Settings) -> list[Any]:
    """One running source per ``[[sources]]`` table (:func:`airwatch.sources.live.open_source`)."""
    from airwatch.sources.live import open_source  # the radios' modules, loaded only for a sensor

    return [open_source(src, settings) for src in settings.sources]


def health_doc(h: SourceHealth) -> dict[str, Any]:
    return {"name": h.name, "kind": h.kind, "status": h.status, "since": h.since, "detail": h.detail,
            "messages": h.messages, "contacts": h.contacts, "errors": h.errors, "last_message": h.last_message,
            "rate": round(h.rate(), 1)}


class SensorService(Service):
    """One sensor: its sources in, the bus out.  ``await run()``; ``stop()`` from a signal handler."""

    def __init__(self, settings: Settings, bus: Bus, *, sources: list[Any] | None = None,
                 spool: Spool | None = None, exit_at_end: bool = False, heartbeat_s: float = HEARTBEAT_S,
                 linger_s: float = LINGER_S, raw: bool = False, client_id: str | None = None) -> None:
        self.settings = settings
        self.sensor = settings.sensor
        self.bus = bus
        mqtt = settings.mqtt or MqttSettings()
        self.topics = Topics(mqtt.topic_prefix)
        self.sources = open_sources(settings) if sources is None else sources
        if spool is None:
            path = default_path(mqtt.spool_dir, self.sensor.id) if settings.mqtt is not None else ":memory:"
            try:
                spool = Spool(path, max_bytes=int(mqtt.spool_max_mb * 1e6), topic_for=self._topic_for)
            except Exception as e:  # noqa: BLE001 - sqlite3 and OS errors alike: an unusable spool path
                raise ConfigError(f"spool {path}: cannot open: {e}") from None
        else:
            spool.topic_for = self._topic_for
        self.spool = spool
        self.exit_at_end = exit_at_end
        self.heartbeat_s = heartbeat_s
        self.linger_s = linger_s
        self.raw = raw
        self.client_id = client_id or mqtt.client_id or f"airwatch-sensor-{self.sensor.id}"
        self.status_topic = self.topics.status(self.sensor.id)
        self.state = "starting"  # starting, up, ended, stopped
        self.contacts = 0
        self._commit_handle: asyncio.TimerHandle | None = None
        self._sources_done: asyncio.Event | None = None
        self._last: list[float | None] = [None] * len(self.sources)  # each source's latest contact time
        self._finished = [False] * len(self.sources)

    def _topic_for(self, kind: str) -> str:
        return self.topics.contacts(self.sensor.id, kind)

    # -- contacts in ------------------------------------------------------------------------------

    def emit(self, contact: Contact) -> None:
        """Every contact a source hears (on the service's event loop): numbered and spooled."""
        if contact.sensor_id is None:
            contact.sensor_id = self.sensor.id
        spool = self.spool
        seq = spool.next_seq()
        spool.add(seq, KINDS[contact.transport], encode_contact(contact, seq, self.raw))
        self.contacts += 1
        if self._commit_handle is None and self._loop is not None:
            self._commit_handle = self._loop.call_later(self.linger_s, self._commit)

    def _commit(self) -> None:
        self._commit_handle = None
        try:
            self.spool.commit()
        except Exception:  # a full disk: keep the contacts in memory, try again
            log.exception("spool %s: cannot write", self.spool.path)
            self._commit_handle = self._loop.call_later(1.0, self._commit) if self._loop else None

    async def _run_source(self, i: int) -> None:
        source, last = self.sources[i], self._last

        def emit(contact: Contact) -> None:
            if last[i] is None or contact.time > last[i]:  # type: ignore[operator]
                last[i] = contact.time
            self.emit(contact)

        try:
            await source.run(emit)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - one broken source must not stop the others
            log.exception("source %s failed", source.health.name)
            source.health.errors += 1
            source.health.set("down", f"{type(e).__name__}: {e}")
        self._finished[i] = True

    # -- status -----------------------------------------------------------------------------------

    def watermark(self) -> float | None:
        """The time before which no contact will come any more: for live sources, now (they stamp
        contacts as they hear them); for a replay (``health.kind == "replay"``, capture-clocked), the
        time of its latest contact.  ``None`` while a replay has not started."""
        marks, finished = [], []
        for i, source in enumerate(self.sources):
            last = self._last[i]
            if source.health.kind != "replay":
                marks.append(_time.time())
            elif self._finished[i]:
                if last is not None:
                    finished.append(last)
            elif last is None:
                return None
            else:
                marks.append(last)
        if marks:
            return min(marks)
        return max(finished) if finished else None

    def status_doc(self, status: str) -> dict[str, Any]:
        s = self.sensor
        doc: dict[str, Any] = {
            "status": status, "sensor": s.id, "time": _time.time(), "stream": self.spool.stream,
            "seq": self.spool.last_seq, "heartbeat_s": self.heartbeat_s, "contacts": self.contacts,
            "spool": {"pending": len(self.spool), "dropped": self.spool.dropped},
            "sources": [health_doc(src.health) for src in self.sources],
        }
        wm = self.watermark()
        if wm is not None:
            doc["watermark"] = wm
        for key, value in (("lat", s.lat), ("lon", s.lon), ("alt_m", s.alt_m)):
            if value is not None:
                doc[key] = value
        return doc

    def will(self) -> Message:
        return Message(self.status_topic, encode_doc({"status": "down", "sensor": self.sensor.id,
                                                      "reason": "connection lost"}), retain=True)

    async def _publish_status(self, conn: Connection, status: str) -> None:
        await conn.publish(self.status_topic, encode_doc(self.status_doc(status)), retain=True)

    # -- the service ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Until stopped, or (``exit_at_end``) until the sources finished and everything was sent.

        On stop the spool is written, "stopped" said and the connection closed.  Raises
        :class:`~airwatch.bus.base.BusRefused` when the broker refuses the connection.
        """
        self._begin()
        self._sources_done = asyncio.Event()
        self.state = "up"
        self._last = [None] * len(self.sources)
        self._finished = [False] * len(self.sources)
        sources = [asyncio.create_task(self._run_source(i), name=f"source {s.health.name}")
                   for i, s in enumerate(self.sources)]
        watch = asyncio.create_task(self._watch_sources(sources))

        def stop_sources() -> None:
            for task in sources:
                task.cancel()

        try:
            await self._keep_session(self.client_id, self._session, self.will(), on_stop=stop_sources)
        finally:
            stop_sources()
            watch.cancel()
            await asyncio.gather(*sources, watch, return_exceptions=True)
            if self._commit_handle is not None:
                self._commit_handle.cancel()
                self._commit_handle = None
            self.spool.commit()

    async def _watch_sources(self, tasks: list[asyncio.Task[None]]) -> None:
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        assert self._sources_done is not None
        self._sources_done.set()

    async def _session(self, conn: Connection) -> None:
        assert self._stop is not None and self._sources_done is not None
        self.spool.rewind()
        await self._publish_status(conn, self.state)
        tasks = {
            asyncio.create_task(pump(conn, self.spool, WINDOW), name="pump"),
            asyncio.create_task(self._heartbeat(conn), name="heartbeat"),
            asyncio.create_task(_watch_link(conn), name="link"),
        }
        end = asyncio.create_task(self._end_of_stream(conn), name="end")
        stopping = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait({*tasks, end, stopping}, return_when=asyncio.FIRST_COMPLETED)
            for task in done & tasks:
                task.result()  # a broken link: BusUnavailable, and keep_connected reconnects
            if stopping in done:
                self.state = "stopped"
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._publish_status(conn, "stopped"), STOP_GRACE_S)
                return
            end.result()  # ended, and exit_at_end: everything sent and acknowledged
        finally:
            for task in (*tasks, end, stopping):
                task.cancel()
            await asyncio.gather(*tasks, end, stopping, return_exceptions=True)

    async def _end_of_stream(self, conn: Connection) -> None:
        """When the sources are done and the spool is empty: say "ended"; return if ``exit_at_end``."""
        assert self._sources_done is not None
        await self._sources_done.wait()
        await drained(self.spool)
        self.state = "ended"
        await self._publish_status(conn, "ended")
        log.info("sensor %s: end of stream after %d contacts (seq %d)", self.sensor.id, self.contacts,
                 self.spool.last_seq)
        if not self.exit_at_end:
            await asyncio.Event().wait()  # stay connected until stopped

    async def _heartbeat(self, conn: Connection) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            await self._publish_status(conn, self.state)


async def _watch_link(conn: Connection) -> None:
    """Raises when the connection drops (the sensor subscribes to nothing: no message comes)."""
    async for _ in conn.messages():
        pass


def cli(args: Any) -> int:
    """``airwatch sensor``: 0 when it stopped or ended cleanly, 1 when a source failed, 2 for bad
    configuration or a broker that refuses the credentials or certificate."""
    import sys

    from airwatch.bus.base import BusRefused, run_until_signalled
    from airwatch.bus.mqtt import MqttBus
    from airwatch.config import load_settings

    settings = load_settings(args.config)
    if settings.mqtt is None:
        print(f"airwatch sensor: {args.config} has no [mqtt] section: a sensor publishes to a broker "
              "(airwatch monitor runs everything in one process without one)", file=sys.stderr)
        return 2
    if not settings.sources:
        print(f"airwatch sensor: {args.config} has no [[sources]]", file=sys.stderr)
        return 2
    bus = MqttBus(settings.mqtt)
    spool = None
    if args.spool:
        try:
            spool = Spool(args.spool, topic_for=str, max_bytes=int(settings.mqtt.spool_max_mb * 1e6))
        except Exception as e:  # noqa: BLE001
            raise ConfigError(f"spool {args.spool}: cannot open: {e}") from None
    service = SensorService(settings, bus, spool=spool, exit_at_end=args.exit_at_end, raw=args.raw)
    try:
        run_until_signalled(service)
    except BusRefused as e:
        print(f"airwatch sensor: {e}", file=sys.stderr)
        return 2
    finally:
        service.spool.close()
    failed = [s.health for s in service.sources if s.health.errors]
    for h in failed:
        print(f"airwatch sensor: source {h.name}: {h.detail}", file=sys.stderr)
    print(f"airwatch sensor {settings.sensor.id}: {service.contacts} contacts, {len(service.spool)} waiting in "
          f"the spool, {service.spool.dropped} dropped (spool full), stream {service.spool.stream} "
          f"seq {service.spool.last_seq}", file=sys.stderr)
    return 1 if failed else 0
