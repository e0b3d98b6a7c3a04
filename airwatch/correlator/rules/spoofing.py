"""SPOOFING: identities and transmitters that a real drone cannot produce (detection-rules.md §2.5 C).

SP-1 impossible speed between two fixes of one transmitter; SP-3 operator too far from the
drone; SP-6 one identity from transmitters whose positions diverge; SP-7 many identities from
one transmitter; SP-8 message counters going backwards; SP-9 identity flood.  State per
transmitter is bounded like the track table.  The other spoofing rules look at where a drone
says it is (``claimed_position``: SP-4, SP-5, SP-12), how it says it moves (``kinematics``:
SP-2, SP-11, SP-13) and what it writes (``broadcast_text``: SP-14).
"""

from __future__ import annotations

from collections import OrderedDict, deque

from airwatch.contact import Contact
from airwatch.correlator import geo
from airwatch.correlator.alerts import Finding
from airwatch.correlator.model import AlertType, Fix, Severity, Track, TrackKind
from airwatch.correlator.rules.base import Rule, remember
from airwatch.correlator.tracks import REMOTE_ID

COUNTER_WINDOW_S = 10.0


class Spoofing(Rule):
    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        limit = 2 * ctx.settings.max_tracks
        self.limit = limit
        self.ids_by_transmitter: OrderedDict[str, set[str]] = OrderedDict()
        self.counters: OrderedDict[tuple[str, str], tuple[int, float, int]] = OrderedDict()
        self.new_identities: deque[float] = deque()

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
            remember(self.ids_by_transmitter, mac, ids, self.limit)
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
            remember(self.counters, key, (contact.counter, now, regressions), self.limit)

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
