"""Exports (GeoJSON, KML, CSV) of a store filled with Track/Fix/Alert objects built here.

The exports read through the Store API only, which test_storage covers on both backends; these
tests use SQLite.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from airwatch.contact import GeoPoint, Transport
from airwatch.correlator.model import Alert, AlertType, Classification, Fix, Severity, Track, TrackKind
from airwatch.export import FORMATS, export
from airwatch.storage import Store

T0 = 1_700_000_000.0
HOSTILE = "'); DROP TABLE x; -- <script>alert(1)</script> &amp; ]]> \"q\" \u202e🛸\x01"
NS = {"k": "http://www.opengis.net/kml/2.2", "gx": "http://www.google.com/kml/ext/2.2"}


def _drone() -> Track:
    return Track("rid:SERIAL1", TrackKind.DRONE, Classification.COOPERATIVE_DRONE, T0, T0 + 20,
                 uas_id="SERIAL1", callsign=HOSTILE, macs={"60:60:1f:00:00:01"}, sources={Transport.BT4_LEGACY},
                 operator=GeoPoint(26.2, -98.3, 30.0, "takeoff"), home=GeoPoint(26.21, -98.31, None, "home"))


def _plane() -> Track:
    return Track("icao:a1b2c3", TrackKind.AIRCRAFT, Classification.AIRCRAFT, T0 + 5, T0 + 15,
                 icao="a1b2c3", callsign="=HYPERLINK(\"http://x\")", sources={Transport.ADSB})


def _signature() -> Track:  # heard, never positioned
    return Track("mac:60:60:1f:aa:bb:cc", TrackKind.UNKNOWN, Classification.DRONE_SIGNATURE, T0, T0 + 30,
                 macs={"60:60:1f:aa:bb:cc"}, signature=HOSTILE)


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'export.db'}")
    drone, plane, sig = _drone(), _plane(), _signature()
    fixes = [(drone, Fix(T0 + 10 * i, 26.0 + 0.01 * i, -98.0 - 0.01 * i, alt_pressure_m=100.0 + i,
                         alt_geodetic_m=120.0 + i, height_m=50.0, speed_horizontal=5.0 + i,
                         transport=Transport.BT4_LEGACY)) for i in range(3)]
    fixes += [(plane, Fix(T0 + 5 + 5 * i, 27.0, -97.0 + 0.1 * i, alt_pressure_m=900.0 + i,
                          transport=Transport.ADSB)) for i in range(3)]
    alerts = [
        Alert("spoofing:rid:SERIAL1:15", AlertType.SPOOFING, Severity.HIGH, T0 + 15, ("rid:SERIAL1",),
              HOSTILE, uas_id="SERIAL1", rule="SP-3"),
        Alert("non_cooperative:mac:x:5", AlertType.NON_COOPERATIVE, Severity.MEDIUM, T0 + 5,
              ("mac:60:60:1f:aa:bb:cc",), "-1+1 drone Wi-Fi signature, no Remote ID", rule="NC-4"),
    ]
    s.write(tracks=[drone, plane, sig], fixes=fixes, alerts=alerts)
    s.acknowledge("non_cooperative:mac:x:5", by="dave", at=T0 + 100)
    yield s
    s.close()


def run(store: Store, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    export(store, fmt, out=out, **kw)
    return out.getvalue()


def test_formats() -> None:
    assert FORMATS == ("geojson", "kml", "csv", "csv-alerts")


def test_unknown_format(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown export format"):
        export(store, "shapefile", out=io.BytesIO())


def test_geojson(store: Store) -> None:
    doc = json.loads(run(store, "geojson"))
    assert doc["type"] == "FeatureCollection"
    by_kind: dict[str, list[dict]] = {}
    for f in doc["features"]:
        assert f["type"] == "Feature"
        by_kind.setdefault(f["properties"]["feature"], []).append(f)
    assert {k: len(v) for k, v in by_kind.items()} == {"track": 3, "operator": 1, "home": 1, "alert": 2}

    tracks = {f["properties"]["track_id"]: f for f in by_kind["track"]}
    drone = tracks["rid:SERIAL1"]
    assert drone["geometry"]["type"] == "LineString"
    # lon, lat, and the WGS-84 height because every fix has one
    assert drone["geometry"]["coordinates"] == [[-98.0, 26.0, 120.0], [-98.01, 26.01, 121.0], [-98.02, 26.02, 122.0]]
    assert drone["properties"]["times"] == [T0, T0 + 10, T0 + 20]
    assert drone["properties"]["callsign"] == HOSTILE  # literal
    assert drone["properties"]["max_speed_mps"] == 7.0
    assert drone["properties"]["positions"] == 3
    plane = tracks["icao:a1b2c3"]
    assert plane["geometry"]["coordinates"][0] == [-97.0, 27.0]  # no geodetic height: 2D
    assert tracks["mac:60:60:1f:aa:bb:cc"]["geometry"] is None
    assert tracks["mac:60:60:1f:aa:bb:cc"]["properties"]["signature"] == HOSTILE

    assert by_kind["operator"][0]["geometry"]["coordinates"] == [-98.3, 26.2, 30.0]
    assert by_kind["operator"][0]["properties"]["kind"] == "takeoff"
    assert by_kind["home"][0]["geometry"]["coordinates"] == [-98.31, 26.21]

    alerts = {f["properties"]["rule"]: f for f in by_kind["alert"]}
    sp3 = alerts["SP-3"]
    assert sp3["geometry"] == {"type": "Point", "coordinates": [-98.01, 26.01]}  # fix at T0+10 <= T0+15
    assert sp3["properties"]["position_time"] == T0 + 10
    assert sp3["properties"]["message"] == HOSTILE
    assert (sp3["properties"]["severity"], sp3["properties"]["severity_name"]) == (15, "high")
    assert alerts["NC-4"]["geometry"] is None  # its track has no position
    assert alerts["NC-4"]["properties"]["acknowledged_by"] == "dave"


def test_geojson_time_range(store: Store) -> None:
    doc = json.loads(run(store, "geojson", since=T0 + 10, until=T0 + 20))
    tracks = {f["properties"]["track_id"]: f for f in doc["features"] if f["properties"]["feature"] == "track"}
    assert tracks["rid:SERIAL1"]["geometry"] == {"type": "Point", "coordinates": [-98.01, 26.01, 121.0]}
    assert tracks["icao:a1b2c3"]["properties"]["times"] == [T0 + 10, T0 + 15]
    alerts = [f["properties"]["alert_id"] for f in doc["features"] if f["properties"]["feature"] == "alert"]
    assert alerts == ["spoofing:rid:SERIAL1:15"]


def test_kml(store: Store) -> None:
    raw = run(store, "kml")
    assert b"<script>" not in raw and b"]]>" not in raw.replace(b"]]&gt;", b"")
    root = ET.fromstring(raw)
    assert root.tag == "{%s}kml" % NS["k"]
    doc = root.find("k:Document", NS)
    folders = {f.findtext("k:name", namespaces=NS): f for f in doc.findall("k:Folder", NS)}
    assert list(folders) == ["Tracks", "Operators", "Alerts"]
    kinds = {f.findtext("k:name", namespaces=NS): f for f in folders["Tracks"].findall("k:Folder", NS)}
    assert set(kinds) == {"Drones", "Aircraft", "Other"}

    [drone] = kinds["Drones"].findall("k:Placemark", NS)
    # hostile text is escaped: it parses back to itself (the control character made visible)
    assert drone.findtext("k:name", namespaces=NS) == HOSTILE.replace("\x01", "\\x01")
    # descriptions are HTML for Google Earth: the markup inside is escaped once more
    description = drone.findtext("k:description", namespaces=NS)
    assert "&lt;script&gt;" in description and "<script>" not in description
    data = {d.get("name"): d.findtext("k:value", namespaces=NS)
            for d in drone.findall("k:ExtendedData/k:Data", NS)}
    assert data["track_id"] == "rid:SERIAL1" and data["altitude_reference"] == "geodetic"
    track = drone.find("gx:Track", NS)
    assert track.findtext("k:altitudeMode", namespaces=NS) == "absolute"
    assert len(track.findall("k:when", NS)) == 3
    coords = [c.text for c in track.findall("gx:coord", NS)]
    assert coords[0] == "-98.0 26.0 120.0"  # lon lat alt

    [plane] = kinds["Aircraft"].findall("k:Placemark", NS)
    assert plane.find("gx:Track/k:altitudeMode", NS).text == "absolute"
    assert plane.find("gx:Track/gx:coord", NS).text == "-97.0 27.0 900.0"  # pressure altitude
    [sig] = kinds["Other"].findall("k:Placemark", NS)
    assert sig.find("gx:Track", NS) is None

    places = folders["Operators"].findall("k:Placemark", NS)
    assert [p.findtext("k:Point/k:coordinates", namespaces=NS) for p in places] == ["-98.3,26.2,30.0",
                                                                                  "-98.31,26.21"]
    alerts = folders["Alerts"].findall("k:Placemark", NS)
    assert len(alerts) == 2
    assert alerts[1].findtext("k:Point/k:coordinates", namespaces=NS) == "-98.01,26.01"
    assert alerts[0].find("k:Point", NS) is None


def test_csv_positions(store: Store) -> None:
    out = io.BytesIO()
    assert export(store, "csv", out=out) == 6
    assert not out.closed  # the caller's stream is left open
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    assert len(body) == 6
    assert header[:4] == ["time", "time_utc", "track_id", "kind"]
    col = {name: i for i, name in enumerate(header)}
    first = body[0]
    assert (first[col["track_id"]], first[col["lat"]], first[col["lon"]]) == ("rid:SERIAL1", "26.0", "-98.0")
    assert first[col["callsign"]] == HOSTILE  # literal, quoting handled by csv
    assert first[col["operator_lat"]] == "26.2"
    plane = [r for r in body if r[col["track_id"]] == "icao:a1b2c3"]
    assert len(plane) == 3
    assert plane[0][col["callsign"]] == "'=HYPERLINK(\"http://x\")"  # never a spreadsheet formula
    assert plane[0][col["alt_geodetic_m"]] == ""
    # rows in time order
    times = [float(r[col["time"]]) for r in body]
    assert times == sorted(times)


def test_csv_alerts(store: Store) -> None:
    rows = list(csv.DictReader(io.StringIO(run(store, "csv-alerts").decode("utf-8"), newline="")))
    assert [r["rule"] for r in rows] == ["NC-4", "SP-3"]
    nc, sp = rows
    assert (nc["acknowledged"], nc["acknowledged_by"]) == ("True", "dave")
    assert nc["message"].startswith("'-1+1")
    assert sp["message"] == HOSTILE
    assert json.loads(sp["track_ids"]) == ["rid:SERIAL1"]


def test_empty_store(tmp_path) -> None:
    with Store(f"sqlite:///{tmp_path / 'empty.db'}") as s:
        assert json.loads(run(s, "geojson")) == {"type": "FeatureCollection", "features": []}
        assert ET.fromstring(run(s, "kml")).find("k:Document", NS) is not None
        assert len(list(csv.reader(io.StringIO(run(s, "csv").decode())))) == 1
        assert len(list(csv.reader(io.StringIO(run(s, "csv-alerts").decode())))) == 1
