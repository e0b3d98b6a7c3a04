"""``airwatch correlate``: every sensor's contacts from the bus, one picture of the site.

Subscribes to ``{prefix}/sensors/+/contacts/#`` and ``.../status`` (QoS 1, a persistent
session), puts the sensors' streams back together (:mod:`airwatch.bus.merge`: each contact once,
in time order across sensors), and runs them through the same correlator, storage and JSON Lines
as ``airwatch replay`` (:class:`airwatch.replay._Sink`).  A drone heard by two sensors is one
track; each sensor's position comes from ``[[sensors]]`` in this config, else from the position
in the sensor's own status.  It publishes:

* ``{prefix}/tracks/{id}``: each track's state (its last 16 fixes of trail), retained, QoS 0, at
  most once a second per track; an empty retained payload (QoS 1) when the track ends or was
  merged into another;
* ``{prefix}/alerts``: ``raised``, ``updated`` (severity or evidence changed) and ``acknowledged``
  events, and ``{prefix}/state/alerts`` (retained, at most once a second) with the most recent
  alerts and their repeat counts, for a console that joins later;
* ``{prefix}/correlator/status``: retained, with a last will.

Acknowledgements published on ``{prefix}/acks`` are applied (in memory and in storage) and the
alert is published again.  A malformed message (garbage, another version, too big, wrong types)
is counted and logged with its topic; it never stops the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import threading
import time as _time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from airwatch.bus.base import STOP_GRACE_S, Bus, Connection, Message, Outbox, Service, drained, pump
from airwatch.bus.merge import StreamCounts, TimeMerge
from airwatch.bus.payload import (
    PayloadError,
    encode_alert_event,
    encode_alert_state,
    encode_doc,
    encode_track,
    read_batch,
    read_doc,
)
from airwatch.bus.topics import Topics
from airwatch.config import MqttSettings, Settings
from airwatch.correlator.engine import Correlator, Step
from airwatch.correlator.model import Alert, Track
from airwatch.replay import _Sink

log = logging.getLogger("airwatch.correlate")

MAX_HOLD_S = 0.1  # live default: how long a contact waits for the other sensors to catch up
PUBLISH_EVERY_S = 1.0  # tracks and alert updates at most this often
TICK_S = 0.02  # how often held contacts are looked at
STORE_EVERY_S = 2.0  # storage is flushed at least this often when contacts trickle in
ALERT_STATE = 200  # alerts kept in the retained alert state
TRAIL = 16  # fixes of trail in a published track (the console draws 16)
TRACKS_PER_TICK = 20  # track states encoded per tick at most (1,000 a second)


@dataclass
class CorrelateResult:
    tracks: list[Track] = field(default_factory=list)  # every track, ended ones included (until_ended)
    alerts: list[Alert] = field(default_factory=list)
    contacts: int = 0
    counts: StreamCounts = field(default_factory=StreamCounts)
    malformed: int = 0
    ended: bool = False  # every sensor's stream ended (until_ended)


class CorrelateService(Service):
    """The correlator behind the bus.  ``await run()``; ``stop()`` from a signal handler or another thread.

    ``until_ended``: finish like ``airwatch replay`` (end-of-capture rules, a record per live
    track) and return once every known sensor has announced the end of its stream.  ``on_step``
    sees every :class:`~airwatch.correlator.engine.Step` (the benchmark and the monitor use it).
    """

    def __init__(self, settings: Settings, bus: Bus, *, store: Any | None = None, out: IO[bytes] | None = None,
                 max_hold: float = MAX_HOLD_S, until_ended: bool = False, client_id: str | None = None,
                 on_step: Callable[[Step], None] | None = None, publish_every_s: float = PUBLISH_EVERY_S,
                 clock: Callable[[], float] = _time.time) -> None:
        self.settings = settings
        self.bus = bus
        mqtt = settings.mqtt or MqttSettings()
        self.topics = Topics(mqtt.topic_prefix)
        configured = {s.id: s for s in settings.sensors}
        self.configured = set(configured)
        self.correlator = Correlator(settings, sensors=dict(configured))
        self.correlator.manager.changed = set()
        self.merge = TimeMerge(max_hold, expected=configured)
        self.store = store
        self.out = out
        self.sink = _Sink(store, out)
        self.until_ended = until_ended
        self.client_id = client_id or (f"{mqtt.client_id}" if mqtt.client_id else "airwatch-correlator")
        self.on_step = on_step
        self.publish_every_s = publish_every_s
        self.clock = clock
        self.outbox = Outbox()
        self.malformed: Counter[str] = Counter()  # by reason
        self.contacts = 0
        self.errors = 0  # contacts the correlator failed on (a bug; logged with the contact)
        self._dirty: set[str] = set()  # tracks changed and not yet published
        self._due: list[tuple[float, str]] = []  # (when, track id): a heap of tracks to publish
        self._last_published: dict[str, float] = {}  # track id -> wall time of its last state
        self._raised: set[str] = set()
        self._published: dict[str, tuple[Any, str]] = {}  # alert id -> (severity, message) last published
        self._alert_state_dirty = False
        self._ended: list[Track] = []
        self._positions: dict[str, tuple[float | None, float | None, float | None]] = {}
        self._last_store = clock()
        self._complaints = 0
        self.ready = threading.Event()  # set once subscribed (from any thread: the monitor waits on it)
        self._done: asyncio.Event | None = None
        if store is not None:
            for s in settings.sensors:
                store.upsert_sensor(s.id, None, s.lat, s.lon, s.alt_m)

    # -- messages in ------------------------------------------------------------------------------

    def handle(self, msg: Message) -> None:
        """One message from the bus (never raises for bad input: counted and logged)."""
        kind, ident, _ = self.topics.parse(msg.topic)
        try:
            if kind == "contacts":
                stream, items = read_batch(msg.payload)
                self.merge.add(ident, stream, items, self.clock())  # type: ignore[arg-type]
            elif kind == "status":
                if not msg.payload:
                    return  # a cleared retained status
                self._status(ident, read_doc(msg.payload, "status"))  # type: ignore[arg-type]
            elif kind == "acks":
                self._ack(read_doc(msg.payload, "acknowledgement"))
        except (PayloadError, ValueError, TypeError) as e:
            self._complain(msg, e)
            return
        self.advance()

    def _complain(self, msg: Message, error: Exception) -> None:
        reason = str(error).split(":", 1)[0] if isinstance(error, PayloadError) else type(error).__name__
        self.malformed[reason] += 1
        self._complaints += 1
        n = self._complaints
        if n <= 20 or n % 1000 == 0:
            log.warning("malformed message on %s (%d bytes; %d so far): %s", msg.topic, len(msg.payload), n, error)

    def _status(self, sensor_id: str, doc: dict[str, Any]) -> None:
        stream = self.merge.stream(sensor_id)
        stream.on_status(doc, self.clock())
        pos = stream.position
        if pos is not None and sensor_id not in self.configured:
            self.correlator.set_sensor(pos)
        if self.store is not None and pos is not None:
            where = (pos.lat, pos.lon, pos.alt_m)
            if self._positions.get(sensor_id) != where:
                self._positions[sensor_id] = where
                known = self.correlator.ctx.sensors or {}
                p = known.get(sensor_id, pos)
                self.store.upsert_sensor(sensor_id, None, p.lat, p.lon, p.alt_m, self.clock())

    def _ack(self, doc: dict[str, Any]) -> None:
        alert_id, by, at = doc.get("alert_id"), doc.get("by"), doc.get("time")
        if not isinstance(alert_id, str) or not alert_id:
            raise ValueError("acknowledgement without an alert_id")
        by = by if isinstance(by, str) else None
        at = float(at) if isinstance(at, int | float) and not isinstance(at, bool) else self.clock()
        known = self.correlator.manager.acknowledge(alert_id, at, by)
        if self.store is not None:
            self.sink.flush()  # the alert may still be queued
            known = self.store.acknowledge(alert_id, by, at) or known
        if not known:
            log.warning("acknowledgement of unknown alert %s", alert_id)
            return
        alert = self.correlator.manager.alerts.get(alert_id)
        if alert is not None:
            self.outbox.put(self.topics.alerts, encode_alert_event("acknowledged", alert))
            self._alert_state_dirty = True
        self.correlator.manager.changed.discard(alert_id)  # type: ignore[union-attr]

    # -- the correlator ---------------------------------------------------------------------------

    def advance(self, force: bool = False) -> None:
        """Release what the merge allows, run it through the correlator; move the clock on quiet sensors."""
        for contact in self.merge.release(self.clock(), force):
            try:
                step = self.correlator.process(contact)
            except Exception:  # noqa: BLE001 - one bad contact must not stop the site's correlator
                self.errors += 1
                log.exception("correlator failed on a contact from %s: %r", contact.sensor_id, contact)
                continue
            self.contacts += 1
            self._after(step)
        if self.correlator.now is not None and not self.merge.waiting():
            wm = self.merge.watermark(self.clock())
            if wm is not None and wm > self.correlator.now:
                self._after(self.correlator.advance(wm))

    def _after(self, step: Step) -> None:
        self.sink.step(step)
        for old in step.merged:
            self._dirty.discard(old)
            self.outbox.put(self.topics.track(old), b"", retain=True)
        if step.track is not None:
            self._changed(step.track.track_id)
        for alert in step.alerts:
            self.outbox.put(self.topics.alerts, encode_alert_event("raised", alert))
            self._raised.add(alert.alert_id)
            self._alert_state_dirty = True
        for track in step.ended:
            self._ended.append(track)
            self._dirty.discard(track.track_id)
            self._last_published.pop(track.track_id, None)
            self.outbox.put(self.topics.track(track.track_id), b"", retain=True)
        if self.on_step is not None:
            self.on_step(step)

    def _changed(self, track_id: str) -> None:
        if track_id not in self._dirty:
            self._dirty.add(track_id)
            last = self._last_published.get(track_id)
            when = self.clock() if last is None else last + self.publish_every_s
            heapq.heappush(self._due, (when, track_id))

    def publish_tracks(self, budget: int | None = None) -> None:
        """Tracks whose turn has come (at most one state a second each), ``budget`` at most."""
        now = self.clock()
        tracks = self.correlator.table.tracks
        due = self._due
        n = 0
        while due and (due[0][0] <= now or budget is None) and (budget is None or n < budget):
            _, track_id = heapq.heappop(due)
            if track_id not in self._dirty:
                continue
            self._dirty.discard(track_id)
            track = tracks.get(track_id)
            if track is not None:
                self.outbox.put(self.topics.track(track_id), encode_track(track, TRAIL), retain=True, qos=0)
                self._last_published[track_id] = now
                n += 1

    def publish_changes(self) -> None:
        """Every changed track now, and the alerts updated since the last call, to the outbox."""
        self.publish_tracks()
        self.publish_alerts()

    def publish_alerts(self) -> None:
        manager = self.correlator.manager
        changed, manager.changed = manager.changed or set(), set()
        for alert_id in changed - self._raised:
            alert = manager.alerts.get(alert_id)
            if alert is None:
                continue
            self._alert_state_dirty = True  # repeats (count, last_time) ride on the retained alert state
            seen = (alert.severity, alert.message)
            if self._published.get(alert_id) != seen:
                self._published[alert_id] = seen
                self.outbox.put(self.topics.alerts, encode_alert_event("updated", alert))
        for alert_id in self._raised:
            alert = manager.alerts.get(alert_id)
            if alert is not None:
                self._published[alert_id] = (alert.severity, alert.message)
        while len(self._published) > len(manager.alerts) + 1000:  # forget alerts the manager forgot
            self._published.pop(next(iter(self._published)))
        self._raised = set()
        if self._alert_state_dirty:
            recent = list(manager.alerts.values())[-ALERT_STATE:]
            self.outbox.put(self.topics.alert_state, encode_alert_state(recent), retain=True)
            self._alert_state_dirty = False

    def finish(self) -> None:
        """The end of every stream: the same end as ``airwatch replay`` (rules see the end, live tracks' records)."""
        self.advance(force=True)
        self.sink.finish(self.correlator, self.settings, after=self._after)  # _after keeps the ended tracks
        self.publish_changes()

    def result(self) -> CorrelateResult:
        return CorrelateResult(tracks=self._ended + self.correlator.tracks, alerts=self.correlator.alerts,
                               contacts=self.contacts, counts=self.merge.counts(),
                               malformed=sum(self.malformed.values()), ended=self.merge.all_ended())

    # -- the service ------------------------------------------------------------------------------

    def status_doc(self, status: str) -> dict[str, Any]:
        c = self.merge.counts()
        return {"status": status, "time": self.clock(), "contacts": self.contacts,
                "tracks": len(self.correlator.table.tracks), "alerts": len(self.correlator.manager.alerts),
                "duplicates": c.duplicates, "lost": c.lost, "forced": c.forced,
                "malformed": sum(self.malformed.values()), "sensors": sorted(self.merge.streams)}

    def will(self) -> Message:
        return Message(self.topics.correlator_status, encode_doc({"status": "down", "reason": "connection lost"}),
                       retain=True)

    async def run(self) -> CorrelateResult:
        """Until stopped (or, ``until_ended``, every stream ended).  Raises ``BusRefused``."""
        self._begin()
        self._done = asyncio.Event()
        ticker = asyncio.create_task(self._ticker())
        try:
            await self._keep_session(self.client_id, self._session, self.will())
        finally:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
            self.sink.flush()
        return self.result()

    async def _ticker(self) -> None:
        assert self._done is not None
        last_publish = self.clock()
        while True:
            await asyncio.sleep(TICK_S)
            now = self.clock()
            self.advance()
            self.publish_tracks(TRACKS_PER_TICK)  # spread over the second, not all at once
            if now - last_publish >= self.publish_every_s:
                last_publish = now
                self.publish_alerts()
                if now - self._last_store >= STORE_EVERY_S and self.sink.pending:
                    self.sink.flush()
                    self._last_store = now
            if self.until_ended and not self._done.is_set() and self.merge.all_ended():
                self.finish()
                self._done.set()

    async def _session(self, conn: Connection) -> None:
        assert self._stop is not None and self._done is not None
        t = self.topics
        await conn.subscribe(t.all_contacts, t.all_status, t.acks)
        self.ready.set()
        self.outbox.rewind()
        self.outbox.put(t.correlator_status, encode_doc(self.status_doc("up")), retain=True)
        tasks = {asyncio.create_task(pump(conn, self.outbox)), asyncio.create_task(self._read(conn))}
        waits = {asyncio.create_task(self._stop.wait()), asyncio.create_task(self._done.wait())}
        try:
            done, _ = await asyncio.wait(tasks | waits, return_when=asyncio.FIRST_COMPLETED)
            for task in done & tasks:
                task.result()  # the link broke: BusUnavailable, and keep_connected reconnects
            self.publish_changes()
            self.outbox.put(t.correlator_status, encode_doc(self.status_doc("stopped")), retain=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(drained(self.outbox), STOP_GRACE_S)
        finally:
            for task in tasks | waits:
                task.cancel()
            await asyncio.gather(*tasks, *waits, return_exceptions=True)

    async def _read(self, conn: Connection) -> None:
        async for msg in conn.messages():
            self.handle(msg)


def cli(args: Any) -> int:
    """``airwatch correlate``: 0 when stopped or ended cleanly, 2 for bad configuration or a refused connection."""
    import sys

    from airwatch.bus.base import BusRefused, run_until_signalled
    from airwatch.bus.mqtt import MqttBus
    from airwatch.config import load_settings
    from airwatch.replay import alert_line

    settings = load_settings(args.config)
    if settings.mqtt is None:
        print(f"airwatch correlate: {args.config} has no [mqtt] section (the broker the sensors publish to)",
              file=sys.stderr)
        return 2
    if not args.max_hold >= 0:
        print("airwatch correlate: --max-hold must be 0 or more seconds", file=sys.stderr)
        return 2
    bus = MqttBus(settings.mqtt)
    store = None
    if args.db:
        from airwatch.storage import Store

        store = Store(args.db)
    out = sys.stdout.buffer

    def printed(step: Step) -> None:
        for alert in step.alerts:
            out.write(alert_line(alert).encode("utf-8", "replace") + b"\n")
        if step.alerts:
            out.flush()

    service = CorrelateService(settings, bus, store=store, out=out if args.json else None, max_hold=args.max_hold,
                               until_ended=args.until_ended, client_id=args.client_id,
                               on_step=None if args.json else printed)
    try:
        result = run_until_signalled(service)
        out.flush()
    except BusRefused as e:
        print(f"airwatch correlate: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    finally:
        if store is not None:
            store.close()
    c = result.counts
    print(f"airwatch correlate: {result.contacts} contacts from {len(service.merge.streams)} sensor(s), "
          f"{len(result.tracks)} tracks, {len(result.alerts)} alerts, {c.duplicates} duplicates dropped, "
          f"{c.lost} lost in {c.gaps} gaps, {c.forced} released before the other sensors caught up, "
          f"{result.malformed} malformed messages", file=sys.stderr)
    return 0
