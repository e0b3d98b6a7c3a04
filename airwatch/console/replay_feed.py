"""Captures and recordings replayed for the console, with the operator at the controls.

The same pipeline as ``airwatch replay`` (inputs -> decoders -> correlator -> storage) runs on a
worker thread, paced by the capture's clock: ``speed`` seconds of capture time per second of
wall time.  The console can pause, resume, change the speed (1x to 100x), step one second of
capture time, jump to a time (forwards by running ahead; backwards by running again from the
start, which takes a moment on long captures) and run to the next alert.

Acknowledgements are kept across a backwards jump: alert ids are stable (type, rule, tracks,
time), so an alert raised again is acknowledged again.
"""

from __future__ import annotations

import os
import threading
import time as _time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from airwatch.config import Settings
from airwatch.console.keeper import PictureKeeper
from airwatch.console.picture import Picture, ReplayState
from airwatch.contact import Contact
from airwatch.correlator.engine import Correlator, Step
from airwatch.inputs import InputOptions, InputReport, read_inputs
from airwatch.replay import _Sink
from airwatch.sources.health import SourceHealth

SPEEDS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
MAX_WAIT_S = 0.1  # the worker checks for commands at least this often
BATCH = 500  # contacts processed per lock hold while running ahead


class ReplayFeed:
    mode = "replay"

    def __init__(self, inputs: Sequence[str], settings: Settings | None = None, *, store: Any | None = None,
                 speed: float = 1.0, paused: bool = False, pause_at: float | None = None,
                 start: float | str | None = None, clock: Callable[[], float] = _time.monotonic) -> None:
        self.inputs = list(inputs)
        self.settings = settings or Settings()
        self.store = store
        self.start_time = start
        self.clock = clock
        self.state = ReplayState(paused=paused, speed=_clamp(speed))
        self._lock = threading.Lock()  # held while the correlator changes
        self._wake = threading.Condition(threading.Lock())
        self._target: float | None = None  # run ahead to this capture time, then pause
        self._until_alert = False
        self._restart_at: float | None = None
        self._stop = False
        self._acks: dict[str, tuple[float, str]] = {}
        self._pending_acks: list[str] = []
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        if pause_at is not None:
            self._target = pause_at
        self._build()

    # -- the pipeline ------------------------------------------------------------------------

    def _build(self) -> None:
        s = self.settings.sensor
        receiver = (s.lat, s.lon) if s.lat is not None and s.lon is not None else None
        self.correlator = Correlator(self.settings)
        self.keeper = PictureKeeper(self.correlator)
        options = InputOptions(sensor_id=s.id, receiver=receiver, start=self.start_time,
                               signatures=self.correlator.signatures)
        contacts, self.reports = read_inputs(self.inputs, options)
        self._contacts: Iterator[Contact] = iter(contacts)
        self._next: Contact | None = None
        self._sink = _Sink(self.store, None)
        self.health = [SourceHealth(name=os.path.basename(r.name) or r.name, kind="replay", sensor_id=s.id)
                       for r in self.reports]
        self._health_by_name = {r.name: h for r, h in zip(self.reports, self.health, strict=True)}
        if self.store is not None:
            self.store.upsert_sensor(s.id, None, s.lat, s.lon, s.alt_m)
        self.state.finished = False
        self.state.position = None

    def _peek(self) -> Contact | None:
        if self._next is None:
            self._next = next(self._contacts, None)
            if self._next is not None and self.state.start is None:
                self.state.start = self._next.time
        return self._next

    def _process(self, contact: Contact) -> Step:
        self._next = None
        health = self._health_by_name.get(contact.source or "")
        if health is not None:
            health.count(1, 1)
        step = self.correlator.process(contact)
        self._after(step)
        self.state.position = contact.time
        return step

    def _after(self, step: Step) -> None:
        self._sink.step(step)
        self.keeper.note(step)
        for alert in step.alerts:
            ack = self._acks.get(alert.alert_id)
            if ack is not None:
                self._apply_ack(alert.alert_id, *ack)

    def _finish(self) -> None:
        now = self.correlator.now
        if now is not None:
            final = self.correlator.advance(now + self.settings.correlator.non_cooperative_window_s + 1.0)
            self._after(final)
        self._sink.flush()
        self.state.finished = True
        self.state.end = self.state.position
        for h, r in zip(self.health, self.reports, strict=True):
            _report_health(h, r)

    def _apply_ack(self, alert_id: str, at: float, by: str) -> None:
        if self.correlator.manager.acknowledge(alert_id, at, by) and self.store is not None:
            self._sink.flush()
            self.store.acknowledge(alert_id, by, at)

    # -- the worker --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="airwatch-replay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            self._sink.flush()

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as e:  # noqa: BLE001 - the console shows why the replay stopped
            self.error = f"replay stopped: {type(e).__name__}: {e}"
            raise

    def _loop(self) -> None:
        wall0 = cap0 = None
        while True:
            with self._wake:
                if self._stop:
                    return
                restart, self._restart_at = self._restart_at, None
                acks, self._pending_acks = self._pending_acks, []
            if acks:
                with self._lock:
                    for alert_id in acks:
                        self._apply_ack(alert_id, *self._acks[alert_id])
            if restart is not None:
                with self._lock:
                    self._build()
                    self._target = restart
                wall0 = None
            target, until_alert = self._target, self._until_alert
            running_ahead = target is not None or until_alert
            if self.state.finished and running_ahead:
                with self._wake:
                    self._target, self._until_alert = None, False
                    self.state.paused = True
                continue
            if self.state.paused and not running_ahead or self.state.finished:
                self._wait(None)
                wall0 = None
                continue
            if running_ahead:
                self._run_ahead(target, until_alert)
                wall0 = None
                continue
            contact = self._peek()
            if contact is None:
                with self._lock:
                    self._finish()
                continue
            if wall0 is None:
                wall0, cap0 = self.clock(), contact.time
            ahead = (contact.time - cap0) / self.state.speed - (self.clock() - wall0)
            if ahead > 0:
                self._wait(min(ahead, MAX_WAIT_S))
                if self.state.paused or self._target is not None or self._until_alert:
                    wall0 = None
                continue
            with self._lock:
                n = 0
                while contact is not None and n < BATCH:
                    if (contact.time - cap0) / self.state.speed > self.clock() - wall0:
                        break
                    self._process(contact)
                    n += 1
                    contact = self._peek()

    def _run_ahead(self, target: float | None, until_alert: bool) -> None:
        """Process without pacing until ``target`` or the next alert, then pause."""
        with self._lock:
            for _ in range(BATCH):
                contact = self._peek()
                if contact is None:
                    self._finish()
                    break
                if target is not None and contact.time > target:
                    self._after(self.correlator.advance(target))
                    self.state.position = max(self.state.position or target, target)
                    break
                step = self._process(contact)
                if until_alert and step.alerts:
                    break
            else:
                return  # more to do; release the lock so the console can take a picture
        with self._wake:
            self._target, self._until_alert = None, False
            self.state.paused = True

    def _wait(self, timeout: float | None) -> None:
        with self._wake:
            if (not self._stop and self._target is None and not self._until_alert and self._restart_at is None
                    and not self._pending_acks):
                self._wake.wait(timeout if timeout is not None else MAX_WAIT_S * 5)

    def _command(self, **changes: Any) -> None:
        with self._wake:
            for k, v in changes.items():
                setattr(self, k, v)
            self._wake.notify_all()

    # -- what the console calls --------------------------------------------------------------

    def picture(self) -> Picture:
        with self._lock:
            tracks, alerts = self.keeper.collect()
            state = ReplayState(**{f: getattr(self.state, f) for f in ReplayState.__slots__})  # type: ignore[attr-defined]
            for h, r in zip(self.health, self.reports, strict=True):
                _report_health(h, r)
            s = self.settings.sensor
            return Picture(mode=self.mode, now=self.correlator.now, tracks=tracks, alerts=alerts,
                           sources=list(self.health), sensors={s.id: s}, zones=self.settings.zones,
                           replay=state, version=self.keeper.version, error=self.error)

    def acknowledge(self, alert_id: str, by: str) -> None:
        """Queued for the worker thread, which owns the store."""
        at = self.correlator.now or _time.time()
        with self._wake:
            self._acks[alert_id] = (at, by)
            self._pending_acks.append(alert_id)
            self._wake.notify_all()

    def pause(self, paused: bool) -> None:
        with self._wake:
            self.state.paused = paused
            self._wake.notify_all()

    def set_speed(self, speed: float) -> None:
        with self._wake:
            self.state.speed = _clamp(speed)
            self._wake.notify_all()

    def step(self, seconds: float = 1.0) -> None:
        position = self.state.position if self.state.position is not None else self.state.start
        if position is None:
            position = (self._peek_time() or 0.0)
        self.jump(position + seconds)

    def jump(self, when: float) -> None:
        position = self.state.position
        if position is not None and when < position:
            self._command(_restart_at=when, _until_alert=False)
        else:
            self._command(_target=when, _until_alert=False)

    def jump_next_alert(self) -> None:
        self._command(_until_alert=True, _target=None)

    def _peek_time(self) -> float | None:
        with self._lock:
            c = self._peek()
            return None if c is None else c.time

    @property
    def busy(self) -> bool:
        """Running ahead, restarting or with acknowledgements to apply (tests wait for this to clear)."""
        return (self._target is not None or self._until_alert or self._restart_at is not None
                or bool(self._pending_acks))


def _clamp(speed: float) -> float:
    return min(max(float(speed), SPEEDS[0]), SPEEDS[-1])


def _report_health(health: SourceHealth, report: InputReport) -> None:
    """A replayed input's health: its error if it broke, else ok once it gave contacts."""
    if report.error:
        health.errors = max(health.errors, 1)
        health.set("down", report.error)
    elif report.frames:
        health.errors = sum(report.rejected.values())
        health.set("ok", f"{report.frames:,} frames, {health.errors:,} refused")
    elif health.contacts:
        health.set("ok", "")
