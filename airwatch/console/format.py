"""How tracks and alerts read on the console: pure functions from model objects to ``Text``.

Every string that came over the air (SSIDs, Self-ID text, serials, operator IDs, callsigns)
reaches the screen only as a :class:`rich.text.Text` built with ``Text(...)``, never parsed as
markup: Textual treats plain ``str`` cells as markup, and markup can carry ``@click`` actions.
Control characters are shown as escapes (``sinks.jsonl.plain``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text

from airwatch.config import SensorSettings
from airwatch.correlator.geo import WGS84, distance_m
from airwatch.correlator.model import Alert, AlertType, Classification, Fix, Severity, Track, TrackKind, TrackStatus
from airwatch.sinks.jsonl import plain

GLYPH = {"drone": "◆", "drone_hidden": "▲", "operator": "×", "aircraft": "✈", "unknown": "·"}
CLASS_SHORT = {
    Classification.COOPERATIVE_DRONE: "RID", Classification.PROPRIETARY_DRONE: "PROP",
    Classification.DRONE_SIGNATURE: "NONCO", Classification.OPERATOR_EMITTER: "OPER",
    Classification.AIRCRAFT: "ADSB", Classification.COOPERATIVE_UAV: "UAV", Classification.UNKNOWN: "UNK",
}
ALERT_SHORT = {
    AlertType.NON_COOPERATIVE: "NC", AlertType.NON_COMPLIANT: "NCMP", AlertType.SPOOFING: "SPOOF",
    AlertType.PROXIMITY: "PROX", AlertType.GEOFENCE: "ZONE", AlertType.EMERGENCY: "EMRG",
    AlertType.UNLISTED_UAV: "UAV",
}
SEVERITY_STYLE = {
    Severity.INFO: "dim", Severity.LOW: "cyan", Severity.MEDIUM: "yellow", Severity.HIGH: "bold red",
    Severity.CRITICAL: "bold white on red",
}
SOURCE_SHORT = {
    "wifi_beacon": "WiFi", "wifi_nan": "NaN", "bt4_legacy": "BT4", "bt5_long_range": "BT5",
    "dji_droneid": "DJI", "french_beacon": "FR", "wifi_signature": "WiFi?", "adsb": "1090",
}


def safe(value: object, style: str = "") -> Text:
    """Broadcast text as plain text: no markup, control characters escaped."""
    return Text(plain(str(value)), style=style, no_wrap=True)


def glyph(track: Track) -> str:
    if track.kind is TrackKind.AIRCRAFT:
        return GLYPH["aircraft"]
    if track.classification is Classification.OPERATOR_EMITTER:
        return GLYPH["operator"]
    if track.kind is TrackKind.DRONE:
        return GLYPH["drone"] if track.cooperative else GLYPH["drone_hidden"]
    return GLYPH["unknown"]


def identity(track: Track) -> str:
    """The name an operator knows the track by (raw broadcast text; wrap it with :func:`safe`)."""
    if track.kind is TrackKind.AIRCRAFT:
        name = (track.callsign or "").strip()
        return f"{name} {track.icao}" if name else (track.icao or track.track_id)
    if track.uas_id:
        return track.uas_id
    if track.signature:
        mac = min(track.macs) if track.macs else ""
        return f"{track.signature} {mac}".strip()
    if track.macs:
        return min(track.macs)
    return track.track_id


def altitude(track: Track) -> tuple[str, float | None]:
    """Altitude with its reference: ``geo`` (WGS-84), ``baro`` (pressure), ``hgt`` (above take-off/ground)."""
    fix = track.last_fix
    if fix is None:
        return "", None
    if fix.height_m is not None and track.kind is not TrackKind.AIRCRAFT:
        return f"{fix.height_m:.0f}m hgt", fix.height_m
    if fix.alt_pressure_m is not None:
        return f"{fix.alt_pressure_m:.0f}m baro", fix.alt_pressure_m
    if fix.alt_geodetic_m is not None:
        return f"{fix.alt_geodetic_m:.0f}m geo", fix.alt_geodetic_m
    return "", None


#: fix id -> (fix, sensor, range, bearing): a fix's range and bearing are asked for at every
#: refresh (the threat order sorts on range) but change only with a new fix.
_RANGE_BEARING: dict[int, tuple[Fix, SensorSettings, float, float]] = {}
_RANGE_BEARING_MAX = 20_000


def range_bearing(track: Track, sensor: SensorSettings | None) -> tuple[float | None, float | None]:
    fix = track.last_fix
    if fix is None or sensor is None or sensor.lat is None or sensor.lon is None:
        return None, None
    known = _RANGE_BEARING.get(id(fix))
    if known is not None and known[0] is fix and known[1] == sensor:
        return known[2], known[3]
    az, _, dist = WGS84.inv(sensor.lon, sensor.lat, fix.lon, fix.lat)  # distance_m and bearing_deg in one
    if len(_RANGE_BEARING) >= _RANGE_BEARING_MAX:
        _RANGE_BEARING.clear()
    _RANGE_BEARING[id(fix)] = (fix, sensor, dist, az % 360.0)
    return dist, az % 360.0


def operator_distance(track: Track) -> float | None:
    fix, op = track.last_fix, track.operator
    if fix is None or op is None:
        return None
    return distance_m(op.lat, op.lon, fix.lat, fix.lon)


def metres(value: float | None) -> str:
    if value is None:
        return ""
    if value >= 10_000:
        return f"{value / 1000:.0f}km"
    if value >= 1000:
        return f"{value / 1000:.1f}km"
    return f"{value:.0f}m"


def age(seconds: float | None) -> str:
    """Blank under two seconds (a constantly flickering 0s/1s column says nothing)."""
    if seconds is None or seconds < 2:
        return ""
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.0f}h"


def utc(t: float | None, with_date: bool = False) -> str:
    if t is None:
        return "--:--:--"
    fmt = "%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S"
    return time.strftime(fmt, time.gmtime(t))


@dataclass(slots=True)
class Threat:
    """What the alerts say about one track."""

    unacked: Severity | None = None  # worst unacknowledged
    worst: Severity | None = None
    types: tuple[AlertType, ...] = ()


def threats(alerts: Iterable[Alert]) -> dict[str, Threat]:
    out: dict[str, Threat] = {}
    for a in alerts:
        for tid in a.track_ids:
            t = out.get(tid)
            if t is None:
                t = out[tid] = Threat()
            if t.worst is None or a.severity > t.worst:
                t.worst = a.severity
            if not a.acknowledged and (t.unacked is None or a.severity > t.unacked):
                t.unacked = a.severity
            if a.type not in t.types:
                t.types += (a.type,)
    return out


def threat_rank(track: Track, threat: Threat | None, rng: float | None) -> tuple[float, ...]:
    """Most dangerous first: unacknowledged severity, any severity, hidden drones, drones, range."""
    unacked = -float(threat.unacked) if threat and threat.unacked is not None else 1.0
    worst = -float(threat.worst) if threat and threat.worst is not None else 1.0
    if track.kind is TrackKind.DRONE:
        kind = 0.0 if not track.cooperative else 1.0
    elif track.classification is Classification.OPERATOR_EMITTER:
        kind = 2.0
    elif track.kind is TrackKind.AIRCRAFT:
        kind = 4.0
    else:
        kind = 3.0
    return (unacked, worst, kind, rng if rng is not None else math.inf)


def badges(threat: Threat | None) -> Text:
    if threat is None or not threat.types:
        return Text("")
    style = SEVERITY_STYLE.get(threat.unacked, "dim") if threat.unacked is not None else "dim"
    return Text(" ".join(ALERT_SHORT[t] for t in threat.types), style=style, no_wrap=True)


def sources_short(track: Track) -> str:
    return "/".join(sorted(SOURCE_SHORT.get(s.value, s.value) for s in track.sources))


def class_text(track: Track) -> Text:
    style = "bold red" if track.kind is TrackKind.DRONE and not track.cooperative else ""
    if track.classification is Classification.OPERATOR_EMITTER:
        style = "magenta"
    elif track.kind is TrackKind.AIRCRAFT:
        style = "cyan"
    return Text(CLASS_SHORT.get(track.classification, "UNK"), style=style)


def row_style(track: Track) -> str:
    return "dim" if track.status is not TrackStatus.ACTIVE else ""


def search_text(track: Track, threat: Threat | None) -> str:
    """What ``/`` filters on (lower case)."""
    parts = [identity(track), track.track_id, track.kind.value, track.classification.value,
             CLASS_SHORT.get(track.classification, ""), sources_short(track), track.callsign or "",
             track.icao or "", *track.macs]
    if threat is not None:
        parts += [ALERT_SHORT[t] for t in threat.types] + [t.value for t in threat.types]
    return " ".join(parts).lower()


def alert_subject(alert: Alert) -> str:
    """Who the alert is about (raw broadcast text; wrap it with :func:`safe`)."""
    names = [alert.uas_id, alert.icao, alert.mac]
    return " ".join(n for n in names if n) or "+".join(alert.track_ids)
