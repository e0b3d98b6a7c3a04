"""PROXIMITY without a drone position: a hidden drone and a low aircraft near the same sensor.

A drone known only by its emissions (a Wi-Fi signature, DroneID without a fix) has no position
to pair with an aircraft, so the proximity rule cannot judge it.  detection-rules.md §3.4
("presence-only"): a drone emitter without a position heard by a sensor while a manned aircraft
is within 2 NM of that sensor and below 1,500 ft above it is a medium alert, one per pair: the
operator cannot see the geometry, only that both are there.
"""

from __future__ import annotations

from airwatch.config import SensorSettings
from airwatch.correlator import geo
from airwatch.correlator.alerts import Finding
from airwatch.correlator.model import AlertType, Classification, Severity, Track, TrackKind, TrackStatus
from airwatch.correlator.rules.base import Rule

PRESENCE_RANGE_M = 2 * geo.NAUTICAL_MILE
PRESENCE_HEIGHT_M = 1500 * geo.FEET
FIX_MAX_AGE_S = 10.0  # a drone fix older than this no longer places it; an aircraft's no longer counts


class Presence(Rule):
    def on_tick(self, now: float) -> list[Finding]:
        sensors = self.ctx.sensors or {}
        hidden: list[Track] = []
        aircraft: list[Track] = []
        for track in self.ctx.table.tracks.values():
            if track.status is not TrackStatus.ACTIVE:
                continue
            if track.kind is TrackKind.DRONE:
                if track.last_fix is None or now - track.last_fix.time > FIX_MAX_AGE_S:
                    hidden.append(track)
            elif (track.kind is TrackKind.AIRCRAFT and track.classification is not Classification.COOPERATIVE_UAV
                  and track.last_fix is not None and now - track.last_fix.time <= FIX_MAX_AGE_S):
                aircraft.append(track)
        if not hidden or not aircraft:
            return []
        found = []
        near: dict[str, list[tuple[Track, float, float]]] = {}  # sensor id -> aircraft close to it, once a tick
        for drone in hidden:
            for sensor in (sensors.get(s) for s in sorted(drone.sensors)):
                if sensor is None or sensor.lat is None or sensor.lon is None:
                    continue
                if sensor.id not in near:
                    near[sensor.id] = [(plane, *close) for plane in aircraft
                                       if (close := self._close(plane, sensor)) is not None]
                for plane, distance, height in near[sensor.id]:
                    who = drone.uas_id or ", ".join(sorted(drone.macs)) or drone.track_id
                    what = plane.callsign or plane.icao or plane.track_id
                    found.append(Finding(AlertType.PROXIMITY, Severity.MEDIUM, "PX-P",
                                         f"drone {who}, position unknown, heard by {sensor.id} while {what} flies "
                                         f"{distance / geo.NAUTICAL_MILE:.1f} NM from it, {height / geo.FEET:.0f} ft "
                                         f"above it", (drone, plane), now, "presence"))
        return found

    @staticmethod
    def _close(plane: Track, sensor: SensorSettings) -> tuple[float, float] | None:
        """(distance, height above the sensor) when the aircraft is within the presence volume."""
        fix = plane.last_fix
        assert fix is not None and sensor.lat is not None and sensor.lon is not None
        altitude = fix.alt_geodetic_m if fix.alt_geodetic_m is not None else fix.alt_pressure_m
        if altitude is None:
            return None
        height = altitude - (sensor.alt_m or 0.0)  # no antenna altitude: sea level, the safe side
        if height >= PRESENCE_HEIGHT_M:
            return None
        distance = geo.distance_m(sensor.lat, sensor.lon, fix.lat, fix.lon)
        return (distance, height) if distance <= PRESENCE_RANGE_M else None
