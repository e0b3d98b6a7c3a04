"""NON_COMPLIANT: Remote ID that breaks the rules (detection-rules.md §2.5 B).

Checked once a drone has been heard for the grace period (default 10 s, enough to hear every
message type at the standard's rates): no Basic ID (RID-4), serial number not valid
ANSI/CTA-2063-A (RID-9, checked with uas-standards), Location updates slower than 1 s
(RID-1: the shortest interval between distinct Location timestamps, so frames the receiver
missed do not count against the drone), no operator or take-off position (RID-4), invalid timestamps
(RID-6), values out of range (RID-8, from the decoder's anomalies), and an EU operator ID that
does not have the broadcast format of EN 4709-002 (RID-10: only the 16-character public part
is sent, so its check digit cannot be verified and is not), and flying higher than 400 ft above
take-off or ground, or faster than 87 kt (RID-14: the limits of 14 CFR 107.51; the EU open
category allows 120 m).
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from uas_standards.ansi_cta_2063_a import SerialNumber

from airwatch.contact import Contact, Location
from airwatch.correlator.alerts import Finding
from airwatch.correlator.model import AlertType, Classification, Fix, Severity, Track, TrackStatus
from airwatch.correlator.rules.base import Rule
from airwatch.correlator.tracks import REMOTE_ID
from airwatch.decoders.remoteid.enums import IdType

INTERVALS = 10  # Location intervals looked at
#: EN 4709-002 operator registration number as broadcast: ISO 3166 alpha-3 prefix, 13 of [0-9a-z]
EU_OPERATOR_ID = re.compile(r"[A-Z]{3}[0-9a-z]{13}")


@dataclass(slots=True)
class _Seen:
    basic_id: bool = False
    operator: bool = False
    location_times: deque[float] = field(default_factory=lambda: deque(maxlen=INTERVALS + 1))
    zero_stamps: set[tuple[float, float]] = field(default_factory=set)  # places reported with timestamp 0
    checked: bool = False


def serial_valid(serial: str) -> bool:
    try:
        return bool(SerialNumber(serial).valid)
    except Exception:  # noqa: BLE001 - a hostile string must not break the check
        return False


class Compliance(Rule):
    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.seen: OrderedDict[str, _Seen] = OrderedDict()

    def forget(self, track_id: str) -> None:
        self.seen.pop(track_id, None)

    def on_contact(self, contact: Contact, track: Track, fix: Fix | None, new: bool) -> list[Finding]:
        if contact.transport not in REMOTE_ID:
            return []
        seen = self.seen.get(track.track_id)
        if seen is None:
            seen = self.seen[track.track_id] = _Seen()
            while len(self.seen) > self.ctx.settings.max_tracks:
                self.seen.popitem(last=False)
        self.seen.move_to_end(track.track_id)
        found = []
        who = track.uas_id or track.track_id
        now = contact.time
        for b in contact.basic_ids:
            seen.basic_id = True
            if b.id_type == IdType.SERIAL_NUMBER and not serial_valid(b.uas_id):
                found.append(Finding(AlertType.NON_COMPLIANT, Severity.MEDIUM, "RID-9",
                                     f"serial number {b.uas_id!r} is not a valid ANSI/CTA-2063-A serial",
                                     (track,), now, "serial"))
        if contact.operator is not None:
            seen.operator = True
        op_id = contact.operator_id
        if op_id is not None and op_id.operator_id and op_id.operator_id_type == 0 \
                and not EU_OPERATOR_ID.fullmatch(op_id.operator_id):
            found.append(Finding(AlertType.NON_COMPLIANT, Severity.LOW, "RID-10",
                                 f"{who}: operator ID {op_id.operator_id!r} is not an EN 4709-002 registration "
                                 f"number (3 capital letters, 13 of 0-9 a-z)", (track,), now, "operator_id"))
        loc = contact.location
        if loc is not None:
            stamp = loc.time if loc.time is not None else now
            if not seen.location_times or stamp != seen.location_times[-1]:
                seen.location_times.append(stamp)  # the same Location over two transports counts once
            if loc.timestamp is None:
                found.append(Finding(AlertType.NON_COMPLIANT, Severity.MEDIUM, "RID-6",
                                     f"{who}: Location message without a valid timestamp", (track,), now, "timestamp"))
            elif loc.timestamp == 0.0 and loc.lat is not None and loc.lon is not None and len(seen.zero_stamps) < 3:
                seen.zero_stamps.add((round(loc.lat, 5), round(loc.lon, 5)))
                if len(seen.zero_stamps) == 3:  # moving, and every Location at 0 s after the hour
                    found.append(Finding(AlertType.NON_COMPLIANT, Severity.MEDIUM, "RID-6",
                                         f"{who}: Location timestamps stuck at 0 while the position moves "
                                         f"(a transmitter without a time source)", (track,), now, "timestamp_zero"))
            elif loc.timestamp != 0.0:
                seen.zero_stamps.clear()
            found += self._limits(loc, track, who, now)
        if contact.anomalies:
            found.append(Finding(AlertType.NON_COMPLIANT, Severity.HIGH, "RID-8",
                                 f"{who}: values outside the standard's ranges or malformed packs: "
                                 f"{', '.join(sorted(set(contact.anomalies)))}", (track,), now, "range"))
        return found

    def _limits(self, loc: Location, track: Track, who: str, now: float) -> list[Finding]:
        """RID-14: higher or faster than the rules allow (heights above take-off or ground only)."""
        s = self.ctx.settings
        found = []
        if loc.height_m is not None and loc.height_m > s.max_height_m:
            ref = loc.height_ref.value if loc.height_ref is not None else "take-off or ground"
            found.append(Finding(AlertType.NON_COMPLIANT, Severity.LOW, "RID-14",
                                 f"{who}: {loc.height_m:.0f} m above {ref}, higher than {s.max_height_m:.0f} m",
                                 (track,), now, "height"))
        if loc.speed_horizontal is not None and loc.speed_horizontal > s.max_ground_speed_ms:
            found.append(Finding(AlertType.NON_COMPLIANT, Severity.LOW, "RID-14",
                                 f"{who}: ground speed {loc.speed_horizontal:.1f} m/s, faster than "
                                 f"{s.max_ground_speed_ms:.1f} m/s", (track,), now, "speed"))
        return found

    def on_tick(self, now: float) -> list[Finding]:
        grace = self.ctx.settings.compliance_grace_s
        found = []
        for track_id, seen in self.seen.items():
            track = self.ctx.table.get(track_id)
            if track is None or track.status is not TrackStatus.ACTIVE:
                continue
            if track.classification is not Classification.COOPERATIVE_DRONE or now - track.first_seen < grace:
                continue
            who = track.uas_id or ", ".join(sorted(track.macs)) or track_id
            if not seen.basic_id:
                found.append(Finding(AlertType.NON_COMPLIANT, Severity.MEDIUM, "RID-4",
                                     f"{who}: no Basic ID heard in {now - track.first_seen:.0f} s", (track,), now,
                                     "basic_id"))
            if not seen.operator:
                found.append(Finding(AlertType.NON_COMPLIANT, Severity.MEDIUM, "RID-4",
                                     f"{who}: no operator or take-off position heard in "
                                     f"{now - track.first_seen:.0f} s", (track,), now, "operator"))
            times = sorted(seen.location_times)
            if len(times) > INTERVALS // 2:
                shortest = min(b - a for a, b in zip(times, times[1:]))
                if shortest > self.ctx.settings.location_interval_max_s:
                    found.append(Finding(AlertType.NON_COMPLIANT, Severity.LOW, "RID-1",
                                         f"{who}: Location at most every {shortest:.1f} s (the standard asks for 1 s)",
                                         (track,), now, "rate"))
        return found
