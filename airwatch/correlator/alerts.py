"""From rule findings to alerts: one event is one alert.

Rules report *findings* every time they see a condition; the :class:`AlertManager` turns the
first finding of a condition into an alert and folds the repeats into it (``count``,
``last_time``).  A condition must stay absent for ``clear_after`` seconds before it can raise a
new alert (hysteresis), so a drone hovering on a zone's edge is one alert, not fifty.
Acknowledgement is kept; nothing is deleted.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from airwatch.correlator.model import Alert, AlertType, Severity, Track

MAX_OPEN = 20_000  # conditions remembered for folding repeats
MAX_KEPT = 50_000  # alerts kept in memory (storage keeps them all)


@dataclass(slots=True)
class Finding:
    type: AlertType
    severity: Severity
    rule: str  # catalogue id (docs/alerts.md), e.g. "SP-3"
    message: str
    tracks: tuple[Track, ...]
    time: float
    key: str = ""  # distinguishes several conditions of one rule on the same tracks (zone name, ...)
    mac: str | None = None  # the transmitter, where the finding is about one rather than a track


class AlertManager:
    def __init__(self, clear_after: float = 60.0) -> None:
        self.clear_after = clear_after
        self._open: OrderedDict[tuple[str, str, str, tuple[str, ...]], Alert] = OrderedDict()
        self.alerts: OrderedDict[str, Alert] = OrderedDict()  # recent alerts, by id
        #: Set it to a set to collect the ids of alerts raised, folded into or acknowledged (the
        #: console does, and clears it as it reads); ``None`` (the default) keeps nothing.
        self.changed: set[str] | None = None

    def submit(self, finding: Finding) -> Alert | None:
        """The new alert, or ``None`` when the finding folds into an open one."""
        ids = tuple(t.track_id for t in finding.tracks)
        key = (finding.type.value, finding.rule, finding.key, ids)
        alert = self._open.get(key)
        if alert is not None and finding.time - (alert.last_time or alert.time) <= self.clear_after:
            alert.count += 1
            alert.last_time = max(alert.last_time or alert.time, finding.time)
            if finding.severity > alert.severity:
                alert.severity = finding.severity
                alert.message = finding.message
            self._open.move_to_end(key)
            if self.changed is not None:
                self.changed.add(alert.alert_id)
            return None
        alert = Alert(
            alert_id=f"{finding.type.value}:{finding.rule}:{'+'.join(ids)}:{finding.key}:{finding.time:.3f}",
            type=finding.type, severity=finding.severity, time=finding.time, track_ids=ids,
            message=finding.message, rule=finding.rule, last_time=finding.time,
        )
        alert.mac = finding.mac
        for t in finding.tracks:  # the identifiers an analyst greps for
            if t.uas_id and alert.uas_id is None:
                alert.uas_id = t.uas_id
            if t.icao and alert.icao is None:
                alert.icao = t.icao
            if t.macs and alert.mac is None:
                alert.mac = sorted(t.macs)[0]
            t.alert_types.add(finding.type)
        self._open[key] = alert
        self._open.move_to_end(key)
        self.alerts[alert.alert_id] = alert
        if self.changed is not None:
            self.changed.add(alert.alert_id)
        while len(self._open) > MAX_OPEN:
            self._open.popitem(last=False)
        while len(self.alerts) > MAX_KEPT:
            self.alerts.popitem(last=False)
        return alert

    def acknowledge(self, alert_id: str, at: float, by: str | None = None) -> bool:
        alert = self.alerts.get(alert_id)
        if alert is None:
            return False
        alert.acknowledged, alert.acknowledged_at, alert.acknowledged_by = True, at, by
        if self.changed is not None:
            self.changed.add(alert_id)
        return True
