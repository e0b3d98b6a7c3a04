"""GEOFENCE: a drone inside a protected zone from config.toml (circle or polygon, floor, ceiling)."""

from __future__ import annotations

from airwatch.config import Zone
from airwatch.contact import Contact
from airwatch.correlator import geo
from airwatch.correlator.alerts import Finding
from airwatch.correlator.model import AlertType, Fix, Severity, Track, TrackKind
from airwatch.correlator.rules.base import Rule

SEVERITY = {"low": Severity.LOW, "medium": Severity.MEDIUM, "high": Severity.HIGH, "critical": Severity.CRITICAL}


def inside(zone: Zone, fix: Fix) -> bool:
    if zone.polygon:
        if not geo.point_in_polygon(fix.lat, fix.lon, zone.polygon):
            return False
    elif geo.distance_m(zone.lat, zone.lon, fix.lat, fix.lon) > zone.radius_m:  # type: ignore[arg-type]
        return False
    altitude = fix.height_m if zone.altitude_ref == "height" else fix.alt_geodetic_m
    if altitude is None:  # unknown altitude: inside the column counts (the safe side)
        return True
    if zone.floor_m is not None and altitude < zone.floor_m:
        return False
    return zone.ceiling_m is None or altitude <= zone.ceiling_m


class Geofence(Rule):
    def on_contact(self, contact: Contact, track: Track, fix: Fix | None, new: bool) -> list[Finding]:
        if fix is None or track.kind is not TrackKind.DRONE:
            return []
        found = []
        for zone in self.ctx.zones:
            if inside(zone, fix):
                alt = f", height {fix.height_m:.0f} m" if fix.height_m is not None else ""
                found.append(Finding(AlertType.GEOFENCE, SEVERITY[zone.severity], "GF-1",
                                     f"{track.uas_id or track.track_id} inside protected zone {zone.name!r} "
                                     f"at {fix.lat:.6f}, {fix.lon:.6f}{alt}", (track,), contact.time, zone.name))
        return found
