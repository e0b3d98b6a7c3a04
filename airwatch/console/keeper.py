"""Copies of the correlator's tracks and alerts for the UI thread, kept up to date cheaply.

The worker thread that runs the correlator calls :meth:`PictureKeeper.note` with every step,
and :meth:`PictureKeeper.collect` under the feed's lock when the console asks for a picture.
Only tracks that changed since the last picture are copied again, so a picture of 2,000 tracks
where 100 moved costs 100 copies, not 2,000.
"""

from __future__ import annotations

import copy
from collections import OrderedDict, deque

from airwatch.correlator.engine import Correlator, Step
from airwatch.correlator.model import Alert, Track

TRAIL = 16  # fixes of trail the console draws


def copy_track(track: Track) -> Track:
    """A copy the UI thread can read while the worker goes on changing the original."""
    c = copy.copy(track)
    c.macs = set(track.macs)
    c.sources = set(track.sources)
    c.sensors = set(track.sensors)
    c.alert_types = set(track.alert_types)
    c.trail = deque(list(track.trail)[-TRAIL:], maxlen=TRAIL)
    c.rssi_trail = deque(track.rssi_trail, maxlen=track.rssi_trail.maxlen)
    c.latest = dict(track.latest)
    return c


class PictureKeeper:
    def __init__(self, correlator: Correlator) -> None:
        self.correlator = correlator
        correlator.manager.changed = set()
        self.dirty: set[str] = set()
        self.tracks: dict[str, Track] = {}  # track id -> copy
        self.alerts: OrderedDict[str, Alert] = OrderedDict()  # alert id -> copy, oldest first
        self.version = 0

    def note(self, step: Step) -> None:
        if step.track is not None:
            self.dirty.add(step.track.track_id)
        for alert in step.alerts:
            self.dirty.update(alert.track_ids)
        if step.track is not None or step.alerts or step.ended or step.merged:
            self.version += 1

    def collect(self) -> tuple[list[Track], list[Alert]]:
        """Bring the copies up to date (call it holding the lock the worker holds while processing)."""
        live = self.correlator.table.tracks
        for gone in [tid for tid in self.tracks if tid not in live]:
            del self.tracks[gone]
        for tid, track in live.items():
            old = self.tracks.get(tid)
            if old is None or tid in self.dirty or old.status is not track.status:
                self.tracks[tid] = copy_track(track)
        self.dirty.clear()
        changed = self.correlator.manager.changed
        if changed:
            alerts = self.correlator.manager.alerts
            for alert_id in sorted(changed, key=lambda a: alerts[a].time if a in alerts else 0.0):
                alert = alerts.get(alert_id)
                if alert is not None:
                    self.alerts[alert_id] = copy.copy(alert)
            changed.clear()
            self.version += 1
        return list(self.tracks.values()), list(self.alerts.values())
