"""SPOOFING, how a drone says it moves (detection-rules.md §2.5 C): messages that contradict themselves.

From one transmitter's successive Location messages on one transport: SP-13 timestamps frozen
while the position moves, or going back, several times running; SP-2 a claimed ground speed
that the positions, over their own timestamps, contradict several times running.  From one
Location: SP-11 a geodetic altitude that the take-off point's altitude plus the height above
take-off contradicts.  A timestamp stuck at 0 is a missing clock, left to compliance (RID-6).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from airwatch.contact import Contact, HeightRef
from airwatch.correlator import geo
from airwatch.correlator.alerts import Finding
from airwatch.correlator.model import AlertType, Fix, Severity, Track, TrackKind
from airwatch.correlator.rules.base import Rule, in_a_row, remember
from airwatch.correlator.tracks import REMOTE_ID

TIME_STRIKES = 3  # SP-13: consecutive Location timestamps frozen or going back
MOVED_M = 5.0  # SP-13: a new position under the same timestamp, farther than GNSS noise
SPEED_CHECK_S = (1.0, 10.0)  # SP-2: Location timestamps this far apart (s) are compared
SPEED_DISAGREE_MS = 10.0  # SP-2: claimed and position-derived speeds further apart than this
SPEED_STRIKES = 3  # SP-2: ... this many times in a row
#: SP-2: ASTM SpeedAccuracy enum -> m/s (the limit is at least 3 times it)
SPEED_ACCURACY_MS = {1: 10.0, 2: 3.0, 3: 1.0, 4: 0.3}
ALTITUDE_DISAGREE_M = 45.0  # SP-11: at least this far apart (or twice the declared vertical accuracy)
ALTITUDE_STRIKES = 3  # SP-11: ... this many Locations in a row
#: SP-11: ASTM VerticalAccuracy enum -> m (unknown: the widest bound)
VERTICAL_ACCURACY_M = {0: 150.0, 1: 150.0, 2: 45.0, 3: 25.0, 4: 10.0, 5: 3.0, 6: 1.0}


@dataclass(slots=True)
class _Kinematics:
    """One transmitter's last Location on one transport, and its running strikes."""

    stamp: float  # seconds after the hour, as sent
    lat: float
    lon: float
    speed: float | None
    time_strikes: int = 0  # SP-13
    speed_strikes: int = 0  # SP-2


class Kinematics(Rule):
    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.limit = 2 * ctx.settings.max_tracks
        # (transmitter, transport) -> its last Location, for SP-13 and SP-2
        self.stamps: OrderedDict[tuple[str, str], _Kinematics] = OrderedDict()
        self.off_height: OrderedDict[str, int] = OrderedDict()  # track id -> Locations in a row (SP-11)

    def forget(self, track_id: str) -> None:
        self.off_height.pop(track_id, None)

    def on_contact(self, contact: Contact, track: Track, fix: Fix | None, new: bool) -> list[Finding]:
        loc = contact.location
        if loc is None or loc.lat is None or loc.lon is None or track.kind is not TrackKind.DRONE:
            return []
        who = track.uas_id or track.track_id
        found = []
        if contact.transmitter and loc.timestamp is not None and contact.transport in REMOTE_ID:
            found += self._timestamps(contact, track, who, contact.time)
        found += self._altitudes(contact, track, who, contact.time)
        return found

    def _timestamps(self, contact: Contact, track: Track, who: str, now: float) -> list[Finding]:
        """SP-13 and SP-2, from one transmitter's successive Location messages on one transport.

        SP-13: the Location timestamp (seconds after the hour) stays the same while the position
        moves, or goes back, several times running.  The same message repeated (same time, same
        place) changes nothing; a timestamp stuck at 0 is a missing clock (compliance, RID-6).
        SP-2: the claimed ground speed disagrees with the speed the positions give, over their own
        timestamps 1 to 10 s apart, several times running."""
        loc = contact.location
        assert loc is not None and loc.timestamp is not None and loc.lat is not None and loc.lon is not None
        key = (contact.transmitter or "", contact.transport.value)
        last = self.stamps.get(key)
        found: list[Finding] = []
        state = _Kinematics(loc.timestamp, loc.lat, loc.lon, loc.speed_horizontal)
        if last is not None:
            back = (last.stamp - loc.timestamp) % 3600.0
            moved = geo.distance_m(last.lat, last.lon, loc.lat, loc.lon)
            if back == 0.0 and (loc.timestamp == 0.0 or moved <= MOVED_M):
                return []  # a repeat of the same message, or no clock at all
            state.speed_strikes = last.speed_strikes
            if back == 0.0:
                state.time_strikes, what = last.time_strikes + 1, "frozen while the position moves"
            elif back < 1800.0:
                state.time_strikes = last.time_strikes + 1
                what = f"going back from {last.stamp:.1f} s to {loc.timestamp:.1f} s after the hour"
            else:
                dt = 3600.0 - back  # forward, across the hour too
                if SPEED_CHECK_S[0] <= dt <= SPEED_CHECK_S[1]:
                    found += self._speed(last, state, moved / dt, loc.accuracy_speed, track, who, now, key)
            if state.time_strikes >= TIME_STRIKES:
                found.append(Finding(AlertType.SPOOFING, Severity.HIGH, "SP-13",
                                     f"{who}: Location timestamps on {key[1]} from {key[0]} {what} "
                                     f"({state.time_strikes} in a row)", (track,), now, key[1]))
        remember(self.stamps, key, state, self.limit)
        return found

    def _speed(self, last: _Kinematics, state: _Kinematics, derived: float, accuracy: int | None, track: Track,
               who: str, now: float, key: tuple[str, str]) -> list[Finding]:
        if last.speed is None or state.speed is None:
            return []
        claimed = (last.speed + state.speed) / 2
        limit = max(SPEED_DISAGREE_MS, 3 * SPEED_ACCURACY_MS.get(accuracy or 0, 0.0))
        if abs(derived - claimed) <= limit:
            state.speed_strikes = 0
            return []
        state.speed_strikes += 1
        if state.speed_strikes < SPEED_STRIKES:
            return []
        return [Finding(AlertType.SPOOFING, Severity.MEDIUM, "SP-2",
                        f"{who}: claims {claimed:.1f} m/s on {key[1]} but its positions move at {derived:.1f} m/s "
                        f"({state.speed_strikes} in a row)", (track,), now, f"speed:{key[1]}")]

    def _altitudes(self, contact: Contact, track: Track, who: str, now: float) -> list[Finding]:
        """SP-11: the geodetic altitude against the take-off point's altitude plus the height
        above take-off, when the drone sends all three."""
        loc = contact.location
        takeoff = contact.operator or track.operator
        if (loc is None or loc.alt_geodetic_m is None or loc.height_m is None or loc.height_ref != HeightRef.TAKEOFF
                or takeoff is None or takeoff.kind != "takeoff" or takeoff.alt_geodetic_m is None):
            return []
        expected = takeoff.alt_geodetic_m + loc.height_m
        gap = abs(loc.alt_geodetic_m - expected)
        limit = max(ALTITUDE_DISAGREE_M, 2 * VERTICAL_ACCURACY_M.get(loc.accuracy_vertical or 0, 150.0))
        strikes = in_a_row(self.off_height, track.track_id, gap > limit, self.limit)
        if strikes < ALTITUDE_STRIKES:
            return []
        return [Finding(AlertType.SPOOFING, Severity.MEDIUM, "SP-11",
                        f"{who}: geodetic altitude {loc.alt_geodetic_m:.0f} m, but take-off at "
                        f"{takeoff.alt_geodetic_m:.0f} m plus {loc.height_m:.0f} m above it makes {expected:.0f} m",
                        (track,), now, "altitude")]
