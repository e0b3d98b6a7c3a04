"""PROXIMITY: a drone close to a manned aircraft (detection-rules.md §3).

Near mid-air collision: closer than 500 ft horizontally and 100 ft vertically (critical).
Loss of well-clear (DO-365: 0.66 NM and 450 ft) now or predicted within 55 s with constant
velocities (high within 25 s, medium before).  Altitudes are compared like with like only:
barometric with barometric, geodetic with geodetic; a pair with neither is not compared
vertically and cannot raise a proximity alert (a height above take-off says nothing about an
aircraft's altitude).  Positions are brought to the same instant along their velocities.
One encounter is one alert: its severity and message escalate as the pair closes in.
"""

from __future__ import annotations

import math

from airwatch.contact import Contact
from airwatch.correlator import geo
from airwatch.correlator.alerts import Finding
from airwatch.correlator.model import AlertType, Classification, Fix, Severity, Track, TrackKind, TrackStatus
from airwatch.correlator.rules.base import Rule

PREFILTER_M = 20_000.0
PAIR_INTERVAL_S = 0.5  # a track, and a pair, is looked at twice a second at most, however many frames it sends


def vertical(a: Fix, b: Fix) -> tuple[float, float, str] | None:
    """Separation, closure rate (m/s, positive = closing) and reference, or None."""
    for ref in ("alt_geodetic_m", "alt_pressure_m"):  # GNSS heights first: a drone's barometer is often absent
        za, zb = getattr(a, ref), getattr(b, ref)
        if za is not None and zb is not None:
            va, vb = a.speed_vertical or 0.0, b.speed_vertical or 0.0
            sep = za - zb
            return abs(sep), -(va - vb) * math.copysign(1.0, sep) if sep else 0.0, ref[4:-2]
    return None


class Proximity(Rule):
    """Pairs each drone with each manned aircraft, at most once per ``PAIR_INTERVAL_S`` per pair."""

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.drones: dict[str, Track] = {}
        self.aircraft: dict[str, Track] = {}
        self.checked: dict[tuple[str, str], float] = {}  # (drone, aircraft) -> last evaluation

    def forget(self, track_id: str) -> None:
        self.drones.pop(track_id, None)
        self.aircraft.pop(track_id, None)
        for pair in [p for p in self.checked if track_id in p]:
            del self.checked[pair]

    def on_contact(self, contact: Contact, track: Track, fix: Fix | None, new: bool) -> list[Finding]:
        if fix is None:
            return []
        if track.kind is TrackKind.AIRCRAFT and track.classification is not Classification.COOPERATIVE_UAV:
            self.aircraft[track.track_id] = track
            others, manned = self.drones, True
        elif track.kind is TrackKind.DRONE:
            self.drones[track.track_id] = track
            others, manned = self.aircraft, False
        else:
            return []
        s = self.ctx.settings
        now = contact.time
        if now - self.checked.get((track.track_id, ""), -1e18) < PAIR_INTERVAL_S:
            return []  # this track was paired with the others a moment ago
        self.checked[(track.track_id, "")] = now
        found = []
        for other in others.values():
            o = other.last_fix
            if o is None or other.status is not TrackStatus.ACTIVE or now - o.time > s.proximity_max_fix_age_s:
                continue
            drone, aircraft = (other, track) if manned else (track, other)
            pair = (drone.track_id, aircraft.track_id)
            if now - self.checked.get(pair, -1e18) < PAIR_INTERVAL_S:
                continue
            self.checked[pair] = now
            df, af = (o, fix) if manned else (fix, o)
            finding = self._pair(drone, df, aircraft, af, now)
            if finding is not None:
                found.append(finding)
        return found

    def _pair(self, drone: Track, d: Fix, aircraft: Track, a: Fix, now: float) -> Finding | None:
        s = self.ctx.settings
        vert = vertical(d, a)
        if vert is None:
            return None
        v_sep, v_closure, ref = vert
        if v_sep - max(v_closure, 0.0) * s.well_clear_lookahead_s >= s.well_clear_vertical_m:
            return None  # cannot come within well-clear vertically in the lookahead: no geodesy needed
        if geo.distance_m(d.lat, d.lon, a.lat, a.lon) > PREFILTER_M:
            return None
        # relative position of the aircraft from the drone, both brought to `now`
        east, north = geo.offset_m(d.lat, d.lon, a.lat, a.lon)
        vd = geo.velocity_en(d.speed_horizontal, d.direction) or (0.0, 0.0)
        va = geo.velocity_en(a.speed_horizontal, a.direction) or (0.0, 0.0)
        east += va[0] * (now - a.time) - vd[0] * (now - d.time)
        north += va[1] * (now - a.time) - vd[1] * (now - d.time)
        rel_v = (va[0] - vd[0], va[1] - vd[1])
        h_sep = math.hypot(east, north)
        who = f"{drone.uas_id or drone.track_id} and {aircraft.callsign or aircraft.icao or aircraft.track_id}"
        if h_sep < s.nmac_horizontal_m and v_sep < s.nmac_vertical_m:
            return Finding(AlertType.PROXIMITY, Severity.CRITICAL, "PX",
                           f"near mid-air collision: {who} {h_sep / geo.FEET:.0f} ft apart horizontally, "
                           f"{v_sep / geo.FEET:.0f} ft vertically ({ref} altitudes)", (drone, aircraft), now)
        if h_sep < s.well_clear_horizontal_m and v_sep < s.well_clear_vertical_m:
            return Finding(AlertType.PROXIMITY, Severity.HIGH, "PX",
                           f"well-clear lost: {who} {h_sep / geo.NAUTICAL_MILE:.2f} NM apart horizontally, "
                           f"{v_sep / geo.FEET:.0f} ft vertically ({ref} altitudes)", (drone, aircraft), now)
        # time of closest approach with constant velocities, then well-clear at that time
        speed2 = rel_v[0] ** 2 + rel_v[1] ** 2
        if speed2 < 1e-6:
            return None
        t_cpa = -(east * rel_v[0] + north * rel_v[1]) / speed2
        if not 0.0 < t_cpa <= s.well_clear_lookahead_s:
            return None
        h_cpa = math.hypot(east + rel_v[0] * t_cpa, north + rel_v[1] * t_cpa)
        v_cpa = max(0.0, v_sep - v_closure * t_cpa)
        if h_cpa >= s.well_clear_horizontal_m or v_cpa >= s.well_clear_vertical_m:
            return None
        # when well-clear is first lost along the way (the horizontal cylinder entry)
        b = east * rel_v[0] + north * rel_v[1]
        c = east * east + north * north - s.well_clear_horizontal_m ** 2
        disc = b * b - speed2 * c
        t_loss = max(0.0, (-b - math.sqrt(disc)) / speed2) if disc > 0 else t_cpa
        severity = Severity.HIGH if t_loss <= s.well_clear_warning_s else Severity.MEDIUM
        return Finding(AlertType.PROXIMITY, severity, "PX",
                       f"{who} predicted to lose well-clear in {t_loss:.0f} s (closest {h_cpa / geo.FEET:.0f} ft "
                       f"horizontally, {v_cpa / geo.FEET:.0f} ft vertically in {t_cpa:.0f} s; {ref} altitudes)",
                       (drone, aircraft), now)
