"""The console's picture of a site from the bus: a correlator anywhere that reaches the broker.

:class:`BusFeed` implements :class:`airwatch.console.picture.Feed`.  It subscribes to the tracks
(retained state), the alerts (events, and the retained list of recent ones, so a console that
joins late still sees them), and every sensor's and the correlator's status; it rebuilds
:class:`~airwatch.correlator.model.Track` and :class:`~airwatch.correlator.model.Alert` objects
from the payloads (:mod:`airwatch.bus.payload`) on its own thread and asyncio loop, and hands the
console a :class:`~airwatch.console.picture.Picture`.  Acknowledgements go to ``{prefix}/acks``
(kept and sent when the broker is back); the correlator applies and stores them and publishes
the alert again.  Replay controls do nothing: this feed is live.

``sources`` in the picture: the broker link (kind ``mqtt``), the correlator (kind
``correlator``), then one :class:`~airwatch.sources.health.SourceHealth` per sensor (kind
``sensor``): ``ok`` while its heartbeat comes, ``stale`` when three heartbeats were missed,
``down`` when its last will says so, ``stopped`` when it stopped or its stream ended.

:class:`MqttFeed` is the feed for ``[mqtt]``; the same class over an
:class:`~airwatch.bus.inproc.InProcessBus` serves the one-process monitor.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import threading
import time as _time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from airwatch.bus.base import Bus, BusRefused, Connection, Message, Outbox, Service, pump, run_in_thread
from airwatch.bus.payload import (
    PayloadError,
    encode_doc,
    finite,
    read_alert_event,
    read_alert_state,
    read_doc,
    read_track,
)
from airwatch.bus.topics import Topics
from airwatch.config import ConfigError, MqttSettings, SensorSettings, Settings
from airwatch.console.picture import LiveControls, Picture
from airwatch.correlator.model import Alert, Track
from airwatch.sources.health import SourceHealth

log = logging.getLogger("airwatch.bus.feed")

MAX_ALERTS = 5000
STALE_AFTER = 3.0  # heartbeats missed before a sensor shows as stale
_STATUS = {"up": "ok", "ended": "stopped", "stopped": "stopped", "down": "down"}


class BusFeed(LiveControls, Service):
    mode = "live"

    def __init__(self, settings: Settings, bus: Bus | None = None, *, client_id: str | None = None,
                 clock: Callable[[], float] = _time.time) -> None:
        self.settings = settings
        mqtt = settings.mqtt or MqttSettings()
        if bus is None:
            if settings.mqtt is None:
                raise ConfigError(f"{settings.source}: a remote console needs [mqtt] (the broker to reach)")
            from airwatch.bus.mqtt import MqttBus

            bus = MqttBus(settings.mqtt)
        self.bus = bus
        self.topics = Topics(mqtt.topic_prefix)
        self.client_id = client_id or f"airwatch-console-{socket.gethostname()}-{os.getpid()}"
        self.clock = clock
        self._lock = threading.Lock()
        self._tracks: dict[str, Track] = {}
        self._alerts: OrderedDict[str, Alert] = OrderedDict()
        self._sensors: dict[str, tuple[dict[str, Any], float, SourceHealth]] = {}
        self._positions: dict[str, SensorSettings] = {s.id: s for s in settings.sensors}
        self._link = SourceHealth(name=bus.name, kind="mqtt", status="starting")
        self._correlator = SourceHealth(name="correlator", kind="correlator", status="starting",
                                        detail="no status yet")
        self._version = 0
        self._data_time = 0.0  # newest track time heard, and the wall-clock time it was heard
        self._data_wall = 0.0
        self.malformed = 0
        self.error: str | None = None
        self._outbox: Outbox | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    # -- the worker ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = run_in_thread(self._main, "airwatch-bus-feed", self._failed)
        self._started.wait(5.0)

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):  # its loop has already closed
            super().stop()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _failed(self, e: BaseException) -> None:
        self.error = f"feed stopped: {type(e).__name__}: {e}"
        self._bump()

    async def _main(self) -> None:
        self._begin()
        self._outbox = Outbox()
        self._started.set()
        try:
            await self._keep_session(self.client_id, self._session, None, clean=True)
        except BusRefused as e:
            self.error = str(e)
            self._link.set("down", str(e))
            self._bump()

    def _on_link(self, state: str, detail: str) -> None:
        with self._lock:
            self._link.set("ok" if state == "up" else "down", detail)
            self._version += 1

    async def _session(self, conn: Connection) -> None:
        t = self.topics
        await conn.subscribe(t.all_tracks, t.alerts, t.alert_state, t.all_status, t.correlator_status)
        assert self._outbox is not None
        self._outbox.rewind()
        sender = asyncio.create_task(pump(conn, self._outbox))
        try:
            async for msg in conn.messages():
                self.handle(msg)
                if sender.done():
                    sender.result()
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    # -- messages in --------------------------------------------------------------------------------

    def handle(self, msg: Message) -> None:
        kind, ident, _ = self.topics.parse(msg.topic)
        try:
            if kind == "track":
                track = read_track(msg.payload) if msg.payload else None
                with self._lock:
                    if track is None:
                        self._tracks.pop(ident, None)  # type: ignore[arg-type]
                    else:
                        self._tracks[track.track_id] = track
                        if track.last_seen > self._data_time:  # the correlator's clock, as far as seen
                            self._data_time, self._data_wall = track.last_seen, self.clock()
                    self._version += 1
            elif kind == "alerts":
                _, alert = read_alert_event(msg.payload)
                with self._lock:
                    self._put_alert(alert)
            elif kind == "alert_state":
                alerts = read_alert_state(msg.payload) if msg.payload else []
                with self._lock:
                    for alert in alerts:
                        self._put_alert(alert)
            elif kind == "status" and msg.payload:
                self._sensor_status(ident, read_doc(msg.payload, "status"))  # type: ignore[arg-type]
            elif kind == "correlator" and msg.payload:
                self._correlator_status(read_doc(msg.payload, "correlator status"))
        except (PayloadError, ValueError, TypeError) as e:
            self.malformed += 1
            log.warning("malformed message on %s: %s", msg.topic, e)

    def _put_alert(self, alert: Alert) -> None:
        old = self._alerts.get(alert.alert_id)
        if old is not None and old.acknowledged and not alert.acknowledged:
            alert = dataclasses.replace(alert, acknowledged=True, acknowledged_at=old.acknowledged_at,
                                        acknowledged_by=old.acknowledged_by)  # acknowledged stays so
        self._alerts[alert.alert_id] = alert
        while len(self._alerts) > MAX_ALERTS:
            self._alerts.popitem(last=False)
        self._version += 1

    def _sensor_status(self, sensor_id: str, doc: dict[str, Any]) -> None:
        now = self.clock()
        status = doc.get("status")
        if status not in _STATUS:
            raise ValueError(f"unknown status {status!r}")
        with self._lock:
            old = self._sensors.get(sensor_id)
            health = old[2] if old is not None else SourceHealth(name=f"sensor {sensor_id}", kind="sensor",
                                                                 sensor_id=sensor_id)
            sources = [s for s in doc.get("sources") or () if isinstance(s, dict)]
            detail = ", ".join(f"{s.get('name')} {s.get('status')}" + (f" ({s['detail']})" if s.get("detail") else "")
                               for s in sources)
            if status == "down":
                detail = f"down: {doc.get('reason') or 'last will'}"
            pending = (doc.get("spool") or {}).get("pending") if isinstance(doc.get("spool"), dict) else None
            if isinstance(pending, int) and pending > 0:
                detail += f"; {pending} contacts spooled"
            health.set(_STATUS[status], detail, now=now)
            if status != "down":
                health.messages = sum(s.get("messages") or 0 for s in sources if isinstance(s.get("messages"), int))
                health.contacts = doc.get("contacts") if isinstance(doc.get("contacts"), int) else health.contacts
                health.errors = sum(s.get("errors") or 0 for s in sources if isinstance(s.get("errors"), int))
                last = [v for s in sources if (v := finite(s.get("last_message"))) is not None]
                health.last_message = max(last) if last else health.last_message
            self._sensors[sensor_id] = (doc, now, health)
            lat, lon = finite(doc.get("lat")), finite(doc.get("lon"))
            if lat is not None and lon is not None and sensor_id not in {s.id for s in self.settings.sensors}:
                self._positions[sensor_id] = SensorSettings(sensor_id, lat, lon, finite(doc.get("alt_m")))
            self._version += 1

    def _correlator_status(self, doc: dict[str, Any]) -> None:
        status = doc.get("status")
        with self._lock:
            if status == "up":
                self._correlator.set("ok", f"{doc.get('contacts', 0)} contacts")
            elif status == "stopped":
                self._correlator.set("stopped", "stopped")
            else:
                self._correlator.set("down", f"down: {doc.get('reason') or 'last will'}")
            self._version += 1

    # -- the Feed protocol --------------------------------------------------------------------------

    def picture(self) -> Picture:
        now = self.clock()
        with self._lock:
            sources = [dataclasses.replace(self._link), dataclasses.replace(self._correlator)]
            for sensor_id in sorted(self._sensors):
                doc, received, health = self._sensors[sensor_id]
                h = dataclasses.replace(health)
                beat = finite(doc.get("heartbeat_s")) or 1.0
                if h.status == "ok" and now - received > STALE_AFTER * beat:
                    h.status, h.detail = "stale", f"no heartbeat for {now - received:.0f} s"
                sources.append(h)
            alerts = sorted(self._alerts.values(), key=lambda a: a.time)
            # Ages are measured on the correlator's clock (the contacts' time), run on by the wall
            # clock since it was last heard: live it is the wall clock, for replayed sources it is not.
            data_now = self._data_time + (now - self._data_wall) if self._data_time else now
            return Picture(mode="live", now=data_now, tracks=list(self._tracks.values()), alerts=alerts,
                           sources=sources, sensors=dict(self._positions), zones=self.settings.zones,
                           version=self._version, error=self.error)

    def acknowledge(self, alert_id: str, by: str) -> None:
        at = self.clock()
        with self._lock:
            alert = self._alerts.get(alert_id)
            if alert is not None:
                self._alerts[alert_id] = dataclasses.replace(alert, acknowledged=True, acknowledged_at=at,
                                                             acknowledged_by=by)
                self._version += 1
        loop, outbox = self._loop, self._outbox
        if loop is not None and outbox is not None:
            payload = encode_doc({"alert_id": alert_id, "by": by, "time": at})
            loop.call_soon_threadsafe(outbox.put, self.topics.acks, payload)

    def _bump(self) -> None:
        with self._lock:
            self._version += 1



class MqttFeed(BusFeed):
    """The console's feed from the broker of ``[mqtt]``.  Raises ``ConfigError`` without one."""

    def __init__(self, settings: Settings, *, client_id: str | None = None) -> None:
        super().__init__(settings, None, client_id=client_id)
