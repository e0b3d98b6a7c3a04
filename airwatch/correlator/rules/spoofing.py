"""SPOOFING: what a real drone cannot do (detection-rules.md §2.5 C).

SP-1 impossible speed between fixes; SP-2 claimed speed against the positions' speed; SP-3
operator too far from the drone; SP-4 a position farther from the sensor than its radio
reaches; SP-5 a signal too strong for the distance claimed; SP-6 one identity from transmitters whose positions diverge; SP-7 many identities from
one transmitter; SP-8 message counters going backwards; SP-9 identity flood; SP-12 null island
and far-world positions; SP-13 Location timestamps frozen while the drone moves, or going
backwards; SP-11 a geodetic altitude that the take-off altitude and the height above it
contradict; SP-14 control characters or markup in broadcast text.  State per transmitter is
bounded like the track table.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict, deque
from dataclasses import dataclass

from airwatch.contact import Contact, HeightRef, Transport
from airwatch.correlator import geo
from airwatch.correlator.alerts import Finding
from airwatch.correlator.model import AlertType, Fix, Severity, Track, TrackKind
from airwatch.correlator.rules.base import Rule
from airwatch.correlator.tracks import REMOTE_ID

NULL_ISLAND_DEG = 0.5
FAR_WORLD_M = 50_000.0  # a claimed position this far from every sensor is not heard over Wi-Fi or Bluetooth
COUNTER_WINDOW_S = 10.0
TIME_STRIKES = 3  # SP-13: consecutive Location timestamps frozen or going back
MOVED_M = 5.0  # SP-13: a new position under the same timestamp, farther than GNSS noise
RSSI_MIN_RANGE_M = 100.0  # SP-5: nearer than this, antennas and reflections decide, not distance
RSSI_STRIKES = 3  # SP-5: this many contacts in a row too strong
SPEED_CHECK_S = (1.0, 10.0)  # SP-2: Location timestamps this far apart (s) are compared
SPEED_DISAGREE_MS = 10.0  # SP-2: claimed and position-derived speeds further apart than this
SPEED_STRIKES = 3  # SP-2: ... this many times in a row
#: SP-2: ASTM SpeedAccuracy enum -> m/s (the limit is at least 3 times it)
SPEED_ACCURACY_MS = {1: 10.0, 2: 3.0, 3: 1.0, 4: 0.3}
ALTITUDE_DISAGREE_M = 45.0  # SP-11: at least this far apart (or twice the declared vertical accuracy)
ALTITUDE_STRIKES = 3  # SP-11: ... this many Locations in a row
#: SP-11: ASTM VerticalAccuracy enum -> m (unknown: the widest bound)
VERTICAL_ACCURACY_M = {0: 150.0, 1: 150.0, 2: 45.0, 3: 25.0, 4: 10.0, 5: 3.0, 6: 1.0}
#: SP-14: Rich/Textual markup tags ([b], [/], [@click=...], [#ff0000]) in broadcast text
MARKUP = re.compile(r"\[/?[@#a-zA-Z]?[^\[\]]*\]")


@dataclass(slots=True)
class _Kinematics:
    """One transmitter's last Location on one transport, and its running strikes."""

    stamp: float  # seconds after the hour, as sent
    lat: float
    lon: float
    speed: float | None
    time_strikes: int = 0  # SP-13
    speed_strikes: int = 0  # SP-2


class Spoofing(Rule):
    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        limit = 2 * ctx.settings.max_tracks
        self.limit = limit
        self.ids_by_transmitter: OrderedDict[str, set[str]] = OrderedDict()
        self.counters: OrderedDict[tuple[str, str], tuple[int, float, int]] = OrderedDict()
        self.new_identities: deque[float] = deque()
        self.too_strong: OrderedDict[str, int] = OrderedDict()  # track id -> contacts in a row too strong (SP-5)
        self.off_height: OrderedDict[str, int] = OrderedDict()  # track id -> Locations in a row (SP-11)
        # (transmitter, transport) -> its last Location, for SP-13 and SP-2
        self.stamps: OrderedDict[tuple[str, str], _Kinematics] = OrderedDict()

    def _remember(self, book: OrderedDict, key, value) -> None:  # type: ignore[no-untyped-def,type-arg]
        book[key] = value
        book.move_to_end(key)
        while len(book) > self.limit:
            book.popitem(last=False)

    def on_contact(self, contact: Contact, track: Track, fix: Fix | None, new: bool) -> list[Finding]:
        s = self.ctx.settings
        now = contact.time
        found: list[Finding] = []
        who = track.uas_id or track.track_id
        drone = track.kind is TrackKind.DRONE

        if new and drone:  # SP-9 identity flood
            self.new_identities.append(now)
            while self.new_identities and now - self.new_identities[0] > 60.0:
                self.new_identities.popleft()
            if len(self.new_identities) > s.flood_identities_per_min:
                found.append(Finding(AlertType.SPOOFING, Severity.CRITICAL, "SP-9",
                                     f"identity flood: {len(self.new_identities)} new drone identities in the last "
                                     f"minute", (), now, "flood"))

        mac = contact.transmitter
        if mac and contact.transport in REMOTE_ID and contact.uas_id:  # SP-7
            ids = self.ids_by_transmitter.get(mac) or set()
            if len(ids) <= s.identities_per_transmitter:
                ids.add(contact.uas_id)
            self._remember(self.ids_by_transmitter, mac, ids)
            if len(ids) > s.identities_per_transmitter:  # one alert per transmitter, whichever identity
                found.append(Finding(AlertType.SPOOFING, Severity.HIGH, "SP-7",
                                     f"transmitter {mac} sends more than {s.identities_per_transmitter} identities "
                                     f"({', '.join(sorted(ids)[:4])}, ...)", (), now, mac, mac=mac))

        if mac and contact.counter is not None and contact.transport in REMOTE_ID:  # SP-8
            key = (mac, contact.transport.value)
            last = self.counters.get(key)
            regressions = 0
            if last is not None:
                previous, t_prev, regressions = last
                back = (previous - contact.counter) % 256
                if 0 < back < 64 and now - t_prev < COUNTER_WINDOW_S:
                    regressions += 1
                    if regressions >= 2:
                        found.append(Finding(AlertType.SPOOFING, Severity.HIGH, "SP-8",
                                             f"{who}: message counter on {contact.transport.value} from {mac} went "
                                             f"back from {previous} to {contact.counter}", (track,), now, key[1]))
            self._remember(self.counters, key, (contact.counter, now, regressions))

        if drone:
            found += self._text(contact, track, who, now)
        loc = contact.location
        if loc is not None and loc.lat is not None and loc.lon is not None and drone:  # SP-12, SP-4
            if abs(loc.lat) < NULL_ISLAND_DEG and abs(loc.lon) < NULL_ISLAND_DEG:
                found.append(Finding(AlertType.SPOOFING, Severity.HIGH, "SP-12",
                                     f"{who} claims a position at null island ({loc.lat:.5f}, {loc.lon:.5f})",
                                     (track,), now, "null_island"))
            elif contact.transport is not Transport.ADSB:
                found += self._range(contact, track, who, now)
            if mac and loc.timestamp is not None and contact.transport in REMOTE_ID:
                found += self._timestamps(contact, track, who, now)
            found += self._altitudes(contact, track, who, now)

        if fix is None or not drone:
            return found
        if track.operator is not None:  # SP-3
            d = geo.distance_m(fix.lat, fix.lon, track.operator.lat, track.operator.lon)
            if d > s.operator_max_distance_m:
                found.append(Finding(AlertType.SPOOFING, Severity.HIGH, "SP-3",
                                     f"{who}: operator {d / 1000:.1f} km from the drone (more than "
                                     f"{s.operator_max_distance_m / 1000:.0f} km)", (track,), now, "operator"))
        same_tx = other_tx = None  # the latest earlier fix from this transmitter, and from another one
        for prev in reversed(track.trail):
            if prev is fix:
                continue
            if prev.transmitter == fix.transmitter:
                same_tx = same_tx or prev
            elif prev.transport == fix.transport and fix.time - prev.time <= 2.0:
                other_tx = other_tx or prev
            if same_tx is not None and (other_tx is not None or fix.time - prev.time > 2.0):
                break
        if other_tx is not None:  # SP-6: a rotating Bluetooth address agrees; a second transmitter does not
            d = geo.distance_m(other_tx.lat, other_tx.lon, fix.lat, fix.lon)
            if d > s.divergence_m:
                found.append(Finding(AlertType.SPOOFING, Severity.CRITICAL, "SP-6",
                                     f"{who} reported {d:.0f} m apart within {fix.time - other_tx.time:.1f} s by "
                                     f"transmitters {other_tx.transmitter} and {fix.transmitter}", (track,), now,
                                     "divergence"))
        if same_tx is not None:  # SP-1: speed between two fixes of one transmitter
            dt = fix.time - same_tx.time
            d = geo.distance_m(same_tx.lat, same_tx.lon, fix.lat, fix.lon)
            if d > 50.0 and (dt <= 0.0 or d / dt > s.max_speed_ms):
                speed = "instantly" if dt <= 0.0 else f"at {d / dt:.0f} m/s"
                found.append(Finding(AlertType.SPOOFING, Severity.HIGH, "SP-1",
                                     f"{who} jumped {d:.0f} m {speed} (more than {s.max_speed_ms:.0f} m/s)",
                                     (track,), now, "teleport"))
        return found

    def _range(self, contact: Contact, track: Track, who: str, now: float) -> list[Finding]:
        """SP-12 beyond any radio (50 km), SP-4 beyond this transport's radio range."""
        sensors = self.ctx.sensors or {}
        sensor = sensors.get(contact.sensor_id or "")
        loc = contact.location
        if sensor is None or sensor.lat is None or sensor.lon is None or loc is None:
            return []
        d = geo.distance_m(sensor.lat, sensor.lon, loc.lat, loc.lon)  # type: ignore[arg-type]
        if d > FAR_WORLD_M:
            return [Finding(AlertType.SPOOFING, Severity.HIGH, "SP-12",
                            f"{who} claims a position more than {FAR_WORLD_M / 1000:.0f} km from the sensor that "
                            f"heard it ({loc.lat:.5f}, {loc.lon:.5f})", (track,), now, "far")]
        s = self.ctx.settings
        t = contact.transport
        reach = (s.radio_range_droneid_m if t is Transport.DJI_DRONEID else
                 s.radio_range_bluetooth_m if t in (Transport.BT4_LEGACY, Transport.BT5_LONG_RANGE) else
                 s.radio_range_wifi_m)
        found = self._strength(contact, track, who, now, d, sensor.id)
        if d > reach:
            found.append(Finding(AlertType.SPOOFING, Severity.HIGH, "SP-4",
                                 f"{who} claims a position {d / 1000:.1f} km from sensor {sensor.id}, which hears "
                                 f"{t.value} to {reach / 1000:.1f} km", (track,), now, "range"))
        return found

    def _strength(self, contact: Contact, track: Track, who: str, now: float, d: float,
                  sensor_id: str) -> list[Finding]:
        """SP-5: heard far stronger than a drone's transmitter allows over the distance it claims
        (free-space loss, the least there can be): it is nearer than it says."""
        rssi = contact.rssi_dbm
        if rssi is None or d < RSSI_MIN_RANGE_M:
            return []
        s = self.ctx.settings
        freq = contact.freq_mhz or _frequency(contact)
        loss = 20 * math.log10(d) + 20 * math.log10(freq) - 27.55
        excess = rssi - (s.tx_power_dbm - loss)
        if excess <= s.rssi_excess_db:
            self.too_strong.pop(track.track_id, None)
            return []
        strikes = self.too_strong.get(track.track_id, 0) + 1
        self._remember(self.too_strong, track.track_id, strikes)
        if strikes < RSSI_STRIKES:
            return []
        return [Finding(AlertType.SPOOFING, Severity.HIGH, "SP-5",
                        f"{who} heard by {sensor_id} at {rssi} dBm, {excess:.0f} dB stronger than a "
                        f"{s.tx_power_dbm:.0f} dBm transmitter {d / 1000:.1f} km away can be: it is nearer than it "
                        f"claims", (track,), now, "strength")]

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
        self._remember(self.stamps, key, state)
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

    def forget(self, track_id: str) -> None:
        self.too_strong.pop(track_id, None)
        self.off_height.pop(track_id, None)

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
        if gap <= limit:
            self.off_height.pop(track.track_id, None)
            return []
        strikes = self.off_height.get(track.track_id, 0) + 1
        self._remember(self.off_height, track.track_id, strikes)
        if strikes < ALTITUDE_STRIKES:
            return []
        return [Finding(AlertType.SPOOFING, Severity.MEDIUM, "SP-11",
                        f"{who}: geodetic altitude {loc.alt_geodetic_m:.0f} m, but take-off at "
                        f"{takeoff.alt_geodetic_m:.0f} m plus {loc.height_m:.0f} m above it makes {expected:.0f} m",
                        (track,), now, "altitude")]

    @staticmethod
    def _text(contact: Contact, track: Track, who: str, now: float) -> list[Finding]:
        """SP-14: control characters or markup in the strings a drone broadcasts.  They are always
        shown escaped; a real drone has no reason to send them."""
        fields = [("UAS ID", b.uas_id) for b in contact.basic_ids]
        if contact.self_id is not None:
            fields.append(("Self-ID", contact.self_id.description))
        if contact.operator_id is not None:
            fields.append(("operator ID", contact.operator_id.operator_id))
        if contact.ssid:
            fields.append(("SSID", contact.ssid))
        found = []
        for name, value in fields:
            if not value:
                continue
            if not value.isprintable():
                what = "control characters"
            elif MARKUP.search(value):
                what = "markup"
            else:
                continue
            found.append(Finding(AlertType.SPOOFING, Severity.MEDIUM, "SP-14",
                                 f"{who}: the {name} carries {what}: {value!r}", (track,), now, f"text:{name}"))
        return found


def _frequency(contact: Contact) -> float:
    """MHz, when the capture did not say: the Wi-Fi channel's, else the 2.4 GHz band's middle (a
    5.8 GHz signal loses more, so this errs towards no alert)."""
    ch = contact.channel
    if contact.transport in (Transport.WIFI_BEACON, Transport.WIFI_NAN, Transport.DJI_DRONEID,
                             Transport.FRENCH_BEACON) and ch is not None:
        if 1 <= ch <= 13:
            return 2407.0 + 5 * ch
        if 36 <= ch <= 177:
            return 5000.0 + 5 * ch
    return 2440.0
