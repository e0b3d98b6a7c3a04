"""Geodesy on the WGS-84 ellipsoid, through pyproj (PROJ's geodesic routines), and the free-space
loss of a radio path over such a distance."""

from __future__ import annotations

import math

from pyproj import Geod

WGS84 = Geod(ellps="WGS84")
FEET = 0.3048
NAUTICAL_MILE = 1852.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return WGS84.inv(lon1, lat1, lon2, lat2)[2]


def offset_m(lat0: float, lon0: float, lat: float, lon: float) -> tuple[float, float]:
    """East and north metres of (lat, lon) from (lat0, lon0), along the geodesic."""
    az, _, dist = WGS84.inv(lon0, lat0, lon, lat)
    rad = math.radians(az)
    return dist * math.sin(rad), dist * math.cos(rad)


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return WGS84.inv(lon1, lat1, lon2, lat2)[0] % 360.0


def velocity_en(speed: float | None, direction: float | None) -> tuple[float, float] | None:
    """East and north components (m/s) of a ground speed along a true track."""
    if speed is None or direction is None:
        return None
    rad = math.radians(direction)
    return speed * math.sin(rad), speed * math.cos(rad)


def point_in_polygon(lat: float, lon: float, polygon: tuple[tuple[float, float], ...]) -> bool:
    """Even-odd rule on (lat, lon) vertices; fine for site-sized zones away from the antimeridian."""
    inside = False
    n = len(polygon)
    for i in range(n):
        (y1, x1), (y2, x2) = polygon[i], polygon[(i + 1) % n]
        if (y1 > lat) != (y2 > lat):
            x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < x_cross:
                inside = not inside
    return inside


def free_space_loss_db(distance_m: float, freq_mhz: float) -> float:
    """Free-space path loss (Friis), the least a radio path can lose; 1 m at the least."""
    return 20 * math.log10(max(distance_m, 1.0)) + 20 * math.log10(freq_mhz) - 27.55
