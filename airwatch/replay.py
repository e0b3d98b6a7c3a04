"""Replay: captures and ADS-B recordings through the whole pipeline, with the capture's clock.

The same path as live: inputs -> decoders -> correlator -> storage and JSON Lines.  Without a
speed it runs as fast as it can (a progress line on stderr); with ``speed`` it paces itself
so capture time passes ``speed`` times faster than real time.

JSON Lines (``--json``), the contract for analysts' scripts:

* ``{"event": "alert", "type", "severity", "time", "message", "uas_id", "icao", "mac",
  "track_ids", "rule", "alert_id"}`` when an alert is raised (``type`` is one of
  non_cooperative, non_compliant, spoofing, proximity, geofence, emergency; ``severity`` is
  info, low, medium, high or critical; ``time`` is UNIX seconds of capture time);
* ``{"event": "track", "track_id", "kind", "classification", "cooperative", "uas_id", "icao",
  "callsign", "macs", "sources", "positions", "last_position", "operator", "first_seen",
  "last_seen", "alerts"}`` once per track: when it ends (silent for ``end_after_s``) or at the
  end of the replay.  ``last_position`` is ``{lat, lon, alt_m}`` with ``alt_m`` the geodetic
  altitude, else the barometric one, else null.
"""

from __future__ import annotations

import sys
import time as _time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from airwatch.config import Settings
from airwatch.correlator.engine import Correlator, Step
from airwatch.correlator.model import Alert, Fix, Track
from airwatch.inputs import InputOptions, InputReport, read_inputs

FLUSH_EVERY = 5000  # contacts between storage flushes


def alert_record(alert: Alert) -> dict[str, Any]:
    return {"event": "alert", "type": alert.type.value, "severity": str(alert.severity), "time": alert.time,
            "message": alert.message, "uas_id": alert.uas_id, "icao": alert.icao, "mac": alert.mac,
            "track_ids": list(alert.track_ids), "rule": alert.rule, "alert_id": alert.alert_id}


def track_record(track: Track) -> dict[str, Any]:
    fix = track.last_fix
    last = None
    if fix is not None:
        alt = fix.alt_geodetic_m if fix.alt_geodetic_m is not None else fix.alt_pressure_m
        last = {"lat": fix.lat, "lon": fix.lon, "alt_m": alt}
    op = track.operator
    return {"event": "track", "track_id": track.track_id, "kind": track.kind.value,
            "classification": track.classification.value, "cooperative": track.cooperative,
            "uas_id": track.uas_id, "icao": track.icao, "callsign": track.callsign, "macs": sorted(track.macs),
            "sources": sorted(s.value for s in track.sources), "positions": track.positions,
            "last_position": last,
            "operator": None if op is None else {"lat": op.lat, "lon": op.lon, "kind": op.kind},
            "first_seen": track.first_seen, "last_seen": track.last_seen,
            "alerts": sorted(a.value for a in track.alert_types)}


def alert_line(alert: Alert) -> str:
    """One readable line for an alert (``airwatch replay`` without ``--json``), broadcast text escaped."""
    from airwatch.sinks.jsonl import plain

    when = _time.strftime("%H:%M:%S", _time.gmtime(alert.time))
    return f"{when}Z {str(alert.severity):8} {alert.type.value:15} {plain(alert.message)}"


@dataclass
class ReplayResult:
    reports: list[InputReport]
    tracks: list[Track] = field(default_factory=list)  # every track, ended ones included
    alerts: list[Alert] = field(default_factory=list)
    contacts: int = 0


class _Sink:
    """Storage and JSON Lines for what each step changed."""

    def __init__(self, store: Any | None, out: IO[bytes] | None) -> None:
        self.store = store
        self.out = out
        self.touched: dict[str, Track] = {}
        self.fixes: list[tuple[Track, Fix]] = []
        self.alerts: list[Alert] = []
        self.pending = 0

    def step(self, step: Step) -> None:
        for old in step.merged:  # a provisional track became part of an identified one
            self.touched.pop(old, None)
            self.fixes = [(step.track, f) if t.track_id == old else (t, f) for t, f in self.fixes]  # type: ignore[misc]
            if self.store is not None:
                self.store.merge_track(old, step.track.track_id)  # type: ignore[union-attr]
        if step.track is not None and self.store is not None:
            self.touched[step.track.track_id] = step.track
            if step.fix is not None:
                self.fixes.append((step.track, step.fix))
        for alert in step.alerts:
            if self.out is not None:
                self.out.write(orjson.dumps(alert_record(alert), option=orjson.OPT_APPEND_NEWLINE))
            self.alerts.append(alert)
        for track in step.ended:
            self.touched[track.track_id] = track
            if self.out is not None:
                self.out.write(orjson.dumps(track_record(track), option=orjson.OPT_APPEND_NEWLINE))
        self.pending += 1
        if self.pending >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.store is not None:
            self.store.write(self.touched.values(), self.fixes, self.alerts)
        self.touched, self.fixes, self.alerts, self.pending = {}, [], [], 0

    def finish(self, correlator: Correlator, settings: Settings,
               after: Callable[[Step], None] | None = None) -> list[Track]:
        """The end of the input: the window rules see it, every live track gets its record; flushed.

        Returns the tracks the final step ended; ``after`` (default :meth:`step`) takes that step.
        """
        ended: list[Track] = []
        if correlator.now is not None:  # let the window rules see the end of the capture
            final = correlator.advance(correlator.now + settings.correlator.non_cooperative_window_s + 1.0)
            ended = final.ended
            (after or self.step)(final)
        for track in correlator.tracks:
            self.touched[track.track_id] = track
            if self.out is not None:
                self.out.write(orjson.dumps(track_record(track), option=orjson.OPT_APPEND_NEWLINE))
        self.flush()
        return ended


def replay(inputs: Iterable[str], settings: Settings | None = None, *, store: Any | None = None,
           out: IO[bytes] | None = None, speed: float | None = None, start: float | str | None = None,
           progress: Callable[[int, float | None, int], None] | None = None,
           sleep: Callable[[float], None] = _time.sleep,
           clock: Callable[[], float] = _time.monotonic) -> ReplayResult:
    """Run the pipeline over ``inputs``; alerts and tracks go to ``out`` (JSON Lines) and ``store``."""
    settings = settings or Settings()
    correlator = Correlator(settings)
    sensor = settings.sensor
    receiver = (sensor.lat, sensor.lon) if sensor.lat is not None and sensor.lon is not None else None
    options = InputOptions(sensor_id=sensor.id, receiver=receiver, start=start, signatures=correlator.signatures)
    contacts, reports = read_inputs(list(inputs), options)
    sink = _Sink(store, out)
    if store is not None:
        store.upsert_sensor(sensor.id, None, sensor.lat, sensor.lon, sensor.alt_m)
    result = ReplayResult(reports)
    ended: list[Track] = []
    wall0 = capture0 = None
    n = 0
    for contact in contacts:
        if speed is not None:
            if wall0 is None:
                wall0, capture0 = clock(), contact.time
            ahead = (contact.time - capture0) / speed - (clock() - wall0)
            if ahead > 0:
                sleep(ahead)
        step = correlator.process(contact)
        ended += step.ended
        sink.step(step)
        n += 1
        if progress is not None and n % 2000 == 0:
            progress(n, correlator.now, len(correlator.manager.alerts))
    ended += sink.finish(correlator, settings)
    result.tracks = ended + correlator.tracks
    result.alerts = correlator.alerts
    result.contacts = n
    return result


def rich_progress() -> tuple[Callable[[int, float | None, int], None], Callable[[], None]]:
    """A progress line on stderr (rich), and the function that closes it."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task("replaying", total=None)
    bar.start()

    def update(contacts: int, now: float | None, alerts: int) -> None:
        clock = _time.strftime("%Y-%m-%d %H:%M:%S", _time.gmtime(now)) if now else "-"
        bar.update(task, description=f"{contacts:,} contacts, {alerts} alerts, capture time {clock} UTC")

    return update, bar.stop


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
