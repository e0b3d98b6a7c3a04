"""The correlator: contacts in, tracks and alerts out.

Time is the contacts' own: in a replay the capture drives the clock, live the receive time
does.  Rules that look at the whole picture (non-cooperative windows, missing messages, track
ageing) run once per second of that clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from airwatch.config import SensorSettings, Settings
from airwatch.contact import Contact
from airwatch.correlator.alerts import AlertManager, Finding
from airwatch.correlator.model import Alert, Fix, Track, TrackStatus
from airwatch.correlator.rules import Context, Rule
from airwatch.correlator.rules.compliance import Compliance
from airwatch.correlator.rules.emergency import Emergency
from airwatch.correlator.rules.geofence import Geofence
from airwatch.correlator.rules.noncooperative import NonCooperative
from airwatch.correlator.rules.presence import Presence
from airwatch.correlator.rules.proximity import Proximity
from airwatch.correlator.rules.broadcast_text import BroadcastText
from airwatch.correlator.rules.claimed_position import ClaimedPosition
from airwatch.correlator.rules.kinematics import Kinematics
from airwatch.correlator.rules.spoofing import Spoofing
from airwatch.correlator.rules.uav import UnlistedUav
from airwatch.correlator.tracks import TrackTable
from airwatch.signature_rules import matcher_with

RULES: tuple[type[Rule], ...] = (NonCooperative, Compliance, Spoofing, ClaimedPosition, Kinematics, BroadcastText,
                                 Proximity, Presence, Geofence, Emergency, UnlistedUav)
TICK_S = 1.0


@dataclass(slots=True)
class Step:
    """What one contact changed: for storage, publishing and the console."""

    track: Track | None = None
    fix: Fix | None = None
    alerts: list[Alert] = field(default_factory=list)
    ended: list[Track] = field(default_factory=list)
    merged: tuple[str, ...] = ()  # provisional track ids folded into ``track``


class Correlator:
    def __init__(self, settings: Settings | None = None, sensors: dict | None = None) -> None:  # type: ignore[type-arg]
        self.settings = settings or Settings()
        self.signatures = matcher_with(list(self.settings.signatures))
        c = self.settings.correlator
        self.table = TrackTable(c.max_tracks, self.signatures)
        self.manager = AlertManager(c.alert_clear_after_s)
        if sensors is None:
            sensors = {self.settings.sensor.id: self.settings.sensor}
        self.ctx = Context(c, self.table, self.settings.zones, sensors)
        self.rules = [rule(self.ctx) for rule in RULES]
        self.now: float | None = None
        self._next_tick: float | None = None
        self.on_alert: Callable[[Alert], None] | None = None

    def set_sensor(self, sensor: SensorSettings) -> None:
        """Add or move a sensor (its position, for the rules that need it) while running."""
        if self.ctx.sensors is None:
            self.ctx.sensors = {}
        self.ctx.sensors[sensor.id] = sensor

    def process(self, contact: Contact) -> Step:
        step = Step()
        self._advance(contact.time, step)
        update = self.table.update(contact)
        self._wake(self.now)  # the clock's time: a late contact must not replay ticks already run
        for old in (*update.merged, *update.evicted):
            self._forget(old)
        step.track, step.fix, step.merged = update.track, update.fix, update.merged
        for rule in self.rules:
            self._submit(rule.on_contact(contact, update.track, update.fix, update.new), step)
        return step

    def advance(self, now: float) -> Step:
        """Move the clock without a contact (the end of a replay, a quiet live minute)."""
        step = Step()
        self._advance(now, step)
        return step

    def _advance(self, now: float, step: Step) -> None:
        if self.now is None or now > self.now:
            self.now = now
        if self._next_tick is None:
            self._next_tick = now + TICK_S
            return
        c = self.settings.correlator
        while self.now >= self._next_tick:
            tick = self._next_tick
            for track in self.table.age(tick, c.stale_after_s, c.end_after_s):
                step.ended.append(track)
                self._forget(track.track_id)
            for rule in self.rules:
                self._submit(rule.on_tick(tick), step)
            self._next_tick = self._after_quiet(tick + TICK_S, c.end_after_s)

    def _after_quiet(self, next_tick: float, end_after: float) -> float:
        """The next tick that can change anything.  While every track is silent (stale or none),
        the rules have nothing to look at (they watch active tracks) and the next change is the
        oldest stale track ending: the ticks in between are skipped, so a gap of days between
        two captures costs nothing.  Ticks stay on the same one-second grid."""
        if any(t.status is TrackStatus.ACTIVE for t in reversed(self.table.tracks.values())):
            return next_tick  # (newest first: while tracks are active, the first one answers)
        # the first to end: the table is ordered by arrival, which late contacts can make differ
        # from last_seen (one pass per skip, not per tick)
        tracks = self.table.tracks.values()
        due = min(t.last_seen for t in tracks) + end_after if tracks else self.now
        if due <= next_tick:
            return next_tick
        return next_tick + TICK_S * math.ceil((due - next_tick) / TICK_S)

    def _wake(self, now: float | None) -> None:
        """A track is active again: the ticks skipped over a quiet stretch resume, at the first
        tick after the clock's ``now`` on the same grid."""
        if now is not None and self._next_tick is not None and self._next_tick - now > TICK_S:
            self._next_tick -= TICK_S * (math.ceil((self._next_tick - now) / TICK_S) - 1)

    def _forget(self, track_id: str) -> None:
        for rule in self.rules:
            rule.forget(track_id)

    def _submit(self, findings: list[Finding], step: Step) -> None:
        for finding in findings:
            alert = self.manager.submit(finding)
            if alert is not None:
                step.alerts.append(alert)
                if self.on_alert is not None:
                    self.on_alert(alert)

    @property
    def tracks(self) -> list[Track]:
        return list(self.table.tracks.values())

    @property
    def alerts(self) -> list[Alert]:
        return list(self.manager.alerts.values())
