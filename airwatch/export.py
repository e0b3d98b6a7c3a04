"""Exports of stored tracks, positions and alerts for analysts: GeoJSON, KML and CSV.

``export(store, fmt, since=None, until=None, out=stream)`` writes one format to a binary stream
(standard output when ``out`` is ``None``) and returns the number of features, placemarks or rows
written.  The time range is the store's (half-open ``[since, until)``, UNIX seconds).  Formats
(:data:`FORMATS`):

``geojson``
    An RFC 7946 FeatureCollection.  Every feature has a ``feature`` property saying what it is:
    ``"track"`` (a LineString of the track's fixes in the range, a Point when there is one, no
    geometry when there is none; coordinates are ``[lon, lat]``, with the WGS-84 height as third
    element only when every fix of the track has a geodetic altitude, as RFC 7946 defines it;
    ``times`` holds the UNIX time of each coordinate), ``"operator"`` and ``"home"`` (Points, one
    per stored position change), and ``"alert"`` (a Point at the last fix of the alert's track at
    or before the alert time, ``position_time`` says when that fix was; no geometry when there is
    none).
``kml``
    KML 2.2 with folders ``Tracks`` (subfolders by kind, a ``gx:Track`` per track with a
    ``<when>`` per fix), ``Operators`` (operator and home positions) and ``Alerts``.  Altitude
    mode is ``absolute`` with the geodetic altitude when every fix of a track has one, else the
    pressure altitude when every fix has one (``ExtendedData`` ``altitude_reference`` says which;
    KML's "absolute" is above mean sea level, so a geodetic height is off by the local geoid
    undulation), else ``clampToGround``.
``csv``
    One row per position, with its track's columns (``operator_*`` and ``home_*`` are the track's
    last known positions).
``csv-alerts``
    One row per alert, with its acknowledgement.

Broadcast text is hostile.  JSON and CSV carry it literally, except that CSV text cells starting
with ``= + - @`` or a tab/carriage return get a leading ``'`` so spreadsheets do not run them as
formulas; list cells are JSON arrays.  KML is built with ElementTree (so markup is escaped),
characters XML 1.0 cannot hold are written as ``\\xNN``, and descriptions, which Google Earth
renders as HTML, are HTML-escaped as well; each placemark's balloon shows only that description.
"""

from __future__ import annotations

import bisect
import csv
import html
import io
import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, BinaryIO

import orjson

from airwatch.correlator.model import Severity
from airwatch.storage import AlertRow, OperatorPositionRow, PositionRow, Store, TrackRow

__all__ = ["FORMATS", "export"]

FORMATS = ("geojson", "kml", "csv", "csv-alerts")

KML_NS = "http://www.opengis.net/kml/2.2"
GX_NS = "http://www.google.com/kml/ext/2.2"


def export(store: Store, fmt: str, since: float | None = None, until: float | None = None,
           out: BinaryIO | None = None) -> int:
    """Write ``store``'s data in ``[since, until)`` as ``fmt`` to ``out``; the count written."""
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if out is None:
        out = sys.stdout.buffer
    return writer(store, since, until, out)


# -- loading ----------------------------------------------------------------------------------


class _Data:
    """Everything an export needs, read once, fixes grouped by track in time order."""

    def __init__(self, store: Store, since: float | None, until: float | None, places: bool = True,
                 alerts: bool = True) -> None:
        self.tracks: dict[str, TrackRow] = {t.track_id: t for t in store.tracks(since, until)}
        self.fixes: dict[str, list[PositionRow]] = defaultdict(list)
        for p in store.positions(since=since, until=until):
            self.fixes[p.track_id].append(p)
        for track_id in self.fixes:  # positions of a track whose row was never written
            if track_id not in self.tracks:
                self.tracks[track_id] = TrackRow(track_id=track_id, kind="unknown", classification="unknown",
                                                 cooperative=False, first_seen=self.fixes[track_id][0].time,
                                                 last_seen=self.fixes[track_id][-1].time)
        self.places: list[OperatorPositionRow] = store.operator_positions(since=since, until=until) if places else []
        self.alerts: list[AlertRow] = store.alerts(since, until) if alerts else []
        self._times: dict[str, list[float]] = {}

    def fix_at(self, alert: AlertRow) -> PositionRow | None:
        """The last fix of the alert's (first positioned) track at or before the alert time."""
        for track_id in alert.track_ids or ():
            fixes = self.fixes.get(track_id)
            if not fixes:
                continue
            times = self._times.get(track_id)
            if times is None:
                times = self._times[track_id] = [f.time for f in fixes]
            i = bisect.bisect_right(times, alert.time)
            if i:
                return fixes[i - 1]
        return None


def _utc(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _altitudes(fixes: list[PositionRow]) -> tuple[str | None, list[float] | None]:
    """The altitude reference every fix has (geodetic first, then pressure) and the values."""
    for ref, attr in (("geodetic", "alt_geodetic_m"), ("pressure", "alt_pressure_m")):
        values = [getattr(f, attr) for f in fixes]
        if fixes and all(v is not None for v in values):
            return ref, values
    return None, None


def _max(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _track_properties(t: TrackRow, fixes: list[PositionRow]) -> dict[str, Any]:
    return {
        "feature": "track", "track_id": t.track_id, "kind": t.kind, "classification": t.classification,
        "cooperative": t.cooperative, "uas_id": t.uas_id, "icao": t.icao, "callsign": t.callsign,
        "macs": t.macs, "sources": t.sources, "sensors": t.sensors,
        "first_seen": t.first_seen, "last_seen": t.last_seen,
        "first_seen_utc": _utc(t.first_seen), "last_seen_utc": _utc(t.last_seen),
        "status": t.status, "signature": t.signature, "confidence": t.confidence,
        "alert_types": t.alert_types, "positions": len(fixes),
        "max_alt_geodetic_m": _max(f.alt_geodetic_m for f in fixes),
        "max_alt_pressure_m": _max(f.alt_pressure_m for f in fixes),
        "max_height_m": _max(f.height_m for f in fixes),
        "max_speed_mps": _max(f.speed_horizontal for f in fixes),
    }


def _alert_properties(a: AlertRow) -> dict[str, Any]:
    return {
        "feature": "alert", "alert_id": a.alert_id, "type": a.type, "severity": a.severity,
        "severity_name": _severity_name(a.severity), "rule": a.rule, "message": a.message,
        "time": a.time, "time_utc": _utc(a.time), "last_time": a.last_time, "last_time_utc": _utc(a.last_time),
        "count": a.count, "track_ids": a.track_ids, "uas_id": a.uas_id, "icao": a.icao, "mac": a.mac,
        "acknowledged": a.acknowledged, "acknowledged_at": a.acknowledged_at,
        "acknowledged_by": a.acknowledged_by,
    }


def _severity_name(value: int) -> str:
    try:
        return str(Severity(value))
    except ValueError:
        return str(value)


# -- GeoJSON ----------------------------------------------------------------------------------


def _geojson(store: Store, since: float | None, until: float | None, out: BinaryIO) -> int:
    data = _Data(store, since, until)
    features: list[dict[str, Any]] = []
    for track_id, t in data.tracks.items():
        fixes = data.fixes.get(track_id, [])
        ref, alts = _altitudes(fixes)
        if ref == "geodetic":
            coords = [[f.lon, f.lat, a] for f, a in zip(fixes, alts, strict=True)]
        else:
            coords = [[f.lon, f.lat] for f in fixes]
        if len(coords) > 1:
            geometry: dict[str, Any] | None = {"type": "LineString", "coordinates": coords}
        elif coords:
            geometry = {"type": "Point", "coordinates": coords[0]}
        else:
            geometry = None
        props = _track_properties(t, fixes)
        props["times"] = [f.time for f in fixes]
        features.append({"type": "Feature", "id": track_id, "geometry": geometry, "properties": props})
    for p in data.places:
        track = data.tracks.get(p.track_id)
        coords = [p.lon, p.lat] if p.alt_geodetic_m is None else [p.lon, p.lat, p.alt_geodetic_m]
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": coords},
                         "properties": {"feature": p.role, "track_id": p.track_id, "kind": p.kind,
                                        "uas_id": None if track is None else track.uas_id,
                                        "time": p.time, "time_utc": _utc(p.time)}})
    for a in data.alerts:
        fix = data.fix_at(a)
        props = _alert_properties(a)
        props["position_time"] = None if fix is None else fix.time
        geometry = None if fix is None else {"type": "Point", "coordinates": [fix.lon, fix.lat]}
        features.append({"type": "Feature", "id": a.alert_id, "geometry": geometry, "properties": props})
    out.write(orjson.dumps({"type": "FeatureCollection", "features": features}))
    out.write(b"\n")
    return len(features)


# -- KML --------------------------------------------------------------------------------------

# XML 1.0 allows tab, newline, carriage return and U+0020 onwards, less surrogates, FFFE and FFFF
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(value: Any) -> str:
    text = "" if value is None else str(value)
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = _xml(text)
    return el


def _description(title: str, rows: dict[str, Any]) -> str:
    """HTML for a balloon: every value HTML-escaped (ElementTree then escapes it for XML)."""
    cells = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(_plain(v))}</td></tr>"
                    for k, v in rows.items() if v not in (None, "", []))
    return f"<b>{html.escape(title)}</b><table>{cells}</table>"


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _placemark(folder: ET.Element, name: str, style: str, rows: dict[str, Any],
               begin: float | None = None, end: float | None = None) -> ET.Element:
    pm = _sub(folder, "Placemark")
    _sub(pm, "name", name)
    if begin is not None and end is not None and end != begin:
        span = _sub(pm, "TimeSpan")
        _sub(span, "begin", _utc(begin))
        _sub(span, "end", _utc(end))
    elif begin is not None:
        _sub(_sub(pm, "TimeStamp"), "when", _utc(begin))
    _sub(pm, "styleUrl", f"#{style}")
    _sub(pm, "description", _description(name, rows))
    ext = _sub(pm, "ExtendedData")
    for key, value in rows.items():
        if value is None:
            continue
        _sub(_sub(ext, "Data", name=key), "value", _plain(value))
    return pm


def _track_name(t: TrackRow | None, track_id: str) -> str:
    if t is None:
        return track_id
    return t.callsign or t.uas_id or t.icao or track_id


_STYLES = {  # aabbggrr
    "drone": "ff00a5ff", "aircraft": "ffffaa00", "unknown": "ffb0b0b0",
    "operator": "ff00ffff", "home": "ff00ff00", "alert": "ff0000ff",
}

_KIND_FOLDERS = {"drone": "Drones", "aircraft": "Aircraft"}


def _kml(store: Store, since: float | None, until: float | None, out: BinaryIO) -> int:
    data = _Data(store, since, until)
    root = ET.Element("kml", {"xmlns": KML_NS, "xmlns:gx": GX_NS})
    doc = _sub(root, "Document")
    _sub(doc, "name", "airwatch export")
    for style_id, colour in _STYLES.items():
        style = _sub(doc, "Style", id=style_id)
        _sub(_sub(style, "LineStyle"), "color", colour)
        _sub(_sub(style, "IconStyle"), "color", colour)
        _sub(_sub(style, "BalloonStyle"), "text", "$[description]")  # never raw ExtendedData
    count = 0

    tracks_folder = _sub(doc, "Folder")
    _sub(tracks_folder, "name", "Tracks")
    kind_folders: dict[str, ET.Element] = {}
    for track_id, t in data.tracks.items():
        kind = t.kind if t.kind in _KIND_FOLDERS else "unknown"
        folder = kind_folders.get(kind)
        if folder is None:
            folder = kind_folders[kind] = _sub(tracks_folder, "Folder")
            _sub(folder, "name", _KIND_FOLDERS.get(kind, "Other"))
        fixes = data.fixes.get(track_id, [])
        ref, alts = _altitudes(fixes)
        rows = _track_properties(t, fixes)
        rows["altitude_reference"] = ref
        pm = _placemark(folder, _track_name(t, track_id), kind, rows, t.first_seen, t.last_seen)
        if fixes:
            track = _sub(pm, "gx:Track")
            _sub(track, "altitudeMode", "absolute" if ref else "clampToGround")
            for f in fixes:
                _sub(track, "when", _utc(f.time))
            for i, f in enumerate(fixes):
                _sub(track, "gx:coord", f"{f.lon!r} {f.lat!r} {alts[i]!r}" if alts else f"{f.lon!r} {f.lat!r} 0")
        count += 1

    places_folder = _sub(doc, "Folder")
    _sub(places_folder, "name", "Operators")
    for p in data.places:
        t = data.tracks.get(p.track_id)
        rows = {"feature": p.role, "track_id": p.track_id, "kind": p.kind, "time_utc": _utc(p.time),
                "alt_geodetic_m": p.alt_geodetic_m}
        pm = _placemark(places_folder, f"{p.role} of {_track_name(t, p.track_id)}", p.role, rows, p.time)
        _point(pm, p.lon, p.lat, p.alt_geodetic_m)
        count += 1

    alerts_folder = _sub(doc, "Folder")
    _sub(alerts_folder, "name", "Alerts")
    for a in data.alerts:
        fix = data.fix_at(a)
        rows = _alert_properties(a)
        rows["position_time_utc"] = None if fix is None else _utc(fix.time)
        name = " ".join(x for x in (_severity_name(a.severity).upper(), a.rule or a.type) if x)
        pm = _placemark(alerts_folder, name, "alert", rows, a.time)
        if fix is not None:
            _point(pm, fix.lon, fix.lat, None)
        count += 1

    ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)
    out.write(b"\n")
    return count


def _point(pm: ET.Element, lon: float, lat: float, alt: float | None) -> None:
    point = _sub(pm, "Point")
    if alt is None:
        _sub(point, "altitudeMode", "clampToGround")
        _sub(point, "coordinates", f"{lon!r},{lat!r}")
    else:
        _sub(point, "altitudeMode", "absolute")
        _sub(point, "coordinates", f"{lon!r},{lat!r},{alt!r}")


# -- CSV --------------------------------------------------------------------------------------

POSITION_COLUMNS = (
    "time", "time_utc", "track_id", "kind", "classification", "cooperative", "uas_id", "icao", "callsign",
    "macs", "lat", "lon", "alt_pressure_m", "alt_geodetic_m", "height_m", "speed_mps", "direction_deg",
    "vspeed_mps", "sensor_id", "transport", "operator_lat", "operator_lon", "home_lat", "home_lon",
)

ALERT_COLUMNS = (
    "time", "time_utc", "last_time", "last_time_utc", "alert_id", "type", "severity", "severity_name", "rule",
    "count", "track_ids", "uas_id", "icao", "mac", "message", "acknowledged", "acknowledged_at",
    "acknowledged_at_utc", "acknowledged_by",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    if isinstance(value, list | tuple):
        return orjson.dumps(list(value)).decode()
    return value


def _write_csv(out: BinaryIO, header: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        writer.writerow(header)
        n = 0
        for row in rows:
            writer.writerow([_cell(v) for v in row])
            n += 1
        text.flush()
    finally:
        text.detach()  # leave the caller's stream open
    return n


def _csv_positions(store: Store, since: float | None, until: float | None, out: BinaryIO) -> int:
    tracks = {t.track_id: t for t in store.tracks(since, until)}
    missing = TrackRow(track_id="", kind="unknown", classification="unknown", cooperative=False,
                       first_seen=0.0, last_seen=0.0)

    def rows() -> Iterable[tuple[Any, ...]]:
        for p in store.positions(since=since, until=until):
            t = tracks.get(p.track_id, missing)
            yield (p.time, _utc(p.time), p.track_id, t.kind, t.classification, t.cooperative, t.uas_id, t.icao,
                   t.callsign, t.macs, p.lat, p.lon, p.alt_pressure_m, p.alt_geodetic_m, p.height_m,
                   p.speed_horizontal, p.direction, p.speed_vertical, p.sensor_id, p.transport,
                   t.operator_lat, t.operator_lon, t.home_lat, t.home_lon)

    return _write_csv(out, POSITION_COLUMNS, rows())


def _csv_alerts(store: Store, since: float | None, until: float | None, out: BinaryIO) -> int:
    rows = ((a.time, _utc(a.time), a.last_time, _utc(a.last_time), a.alert_id, a.type, a.severity,
             _severity_name(a.severity), a.rule, a.count, a.track_ids, a.uas_id, a.icao, a.mac, a.message,
             a.acknowledged, a.acknowledged_at, _utc(a.acknowledged_at), a.acknowledged_by)
            for a in store.alerts(since, until))
    return _write_csv(out, ALERT_COLUMNS, rows)


_WRITERS: dict[str, Callable[[Store, float | None, float | None, BinaryIO], int]] = {
    "geojson": _geojson,
    "kml": _kml,
    "csv": _csv_positions,
    "csv-alerts": _csv_alerts,
}
