"""NON_COOPERATIVE: a drone, or a drone's Wi-Fi signature, with no standard Remote ID (NC-4).

Fires once the object has been heard for the whole window (default 30 s) without standard
Remote ID from the same track, transmitter or identity: Remote ID is sent at least once a
second, so a window of silence is evidence, and the alert comes at first-heard + window.
"""

from __future__ import annotations

from airwatch.correlator.alerts import Finding
from airwatch.correlator.model import AlertType, Classification, Severity, TrackStatus
from airwatch.correlator.rules.base import Rule

WATCHED = (Classification.PROPRIETARY_DRONE, Classification.DRONE_SIGNATURE)


class NonCooperative(Rule):
    def on_tick(self, now: float) -> list[Finding]:
        window = self.ctx.settings.non_cooperative_window_s
        table = self.ctx.table
        found = []
        for track in table.tracks.values():
            if track.classification not in WATCHED or track.status is not TrackStatus.ACTIVE:
                continue
            if now - track.first_seen < window:
                continue
            last_rid = table.last_remote_id(track)
            if last_rid is not None and now - last_rid <= window:
                continue
            how = ("DJI DroneID" if "dji_droneid" in track.sources else
                   "the French beacon" if "french_beacon" in track.sources else
                   f"a Wi-Fi signature ({track.signature})")
            who = track.uas_id or ", ".join(sorted(track.macs)) or track.track_id
            found.append(Finding(AlertType.NON_COOPERATIVE, Severity.HIGH, "NC-4",
                                 f"drone {who} heard for {now - track.first_seen:.0f} s by {how} with no standard "
                                 f"Remote ID from it", (track,), now))
        return found
