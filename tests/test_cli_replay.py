"""`airwatch replay` and `airwatch export` as analysts run them: real child processes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "captures" / "demo_scenario"


def airwatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "airwatch", *args], capture_output=True, timeout=300)


def demo_config(tmp_path: Path) -> Path:
    """The README's demo config, checked against the scenario's truth (sensor and zone)."""
    from airwatch.config import load_settings

    path = ROOT / "captures" / "demo_scenario.config.toml"
    settings = load_settings(path)
    truth = json.loads(SCENARIO.with_suffix(".truth.json").read_text())
    (zone,) = truth["zones"]
    assert (settings.sensor.id, settings.sensor.lat, settings.sensor.lon) == (
        truth["sensor"]["id"], truth["sensor"]["lat"], truth["sensor"]["lon"])
    (z,) = settings.zones
    assert (z.name, z.lat, z.lon, z.radius_m, z.ceiling_m) == (
        zone["name"], zone["lat"], zone["lon"], zone["radius_m"], zone["ceiling_m"])
    return path


def test_json_contract_on_the_demo_scenario(tmp_path):
    done = airwatch("replay", "--json", "-q", "--config", str(demo_config(tmp_path)),
                    f"{SCENARIO}.pcapng", f"{SCENARIO}.adsb.csv")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    alerts = [r for r in records if r["event"] == "alert"]
    tracks = [r for r in records if r["event"] == "track"]
    assert {a["type"] for a in alerts} == {"non_cooperative", "geofence", "proximity", "emergency"}
    for a in alerts:
        assert set(a) >= {"type", "severity", "time", "message", "uas_id", "icao", "mac"}
        assert a["severity"] in {"info", "low", "medium", "high", "critical"}
        assert isinstance(a["time"], float)
    times = [a["time"] for a in alerts]
    assert times == sorted(times)
    for a in alerts:
        if a["type"] == "proximity":  # both parties named
            assert a["uas_id"] and a["icao"] and len(a["track_ids"]) == 2
    for t in tracks:
        assert set(t) >= {"track_id", "kind", "cooperative", "uas_id", "icao", "macs", "sources", "positions",
                          "last_position", "alerts"}
        assert t["kind"] in {"drone", "aircraft", "unknown"}
        assert t["last_position"] is None or set(t["last_position"]) == {"lat", "lon", "alt_m"}
    by_id = {t["uas_id"] or t["icao"] or t["track_id"]: t for t in tracks}
    compliant = by_id["1581FDEMQ00000000001"]
    assert compliant["cooperative"] and set(compliant["sources"]) == {
        "wifi_beacon", "wifi_nan", "bt4_legacy", "bt5_long_range"}
    assert not by_id["0K1ZA2B3C4D5E6F7"]["cooperative"]
    assert "non_cooperative" in by_id["0K1ZA2B3C4D5E6F7"]["alerts"]
    assert by_id["4B1A2C"]["kind"] == "aircraft"


def test_store_then_export_every_format(tmp_path):
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    done = airwatch("replay", "-q", "--db", db, "--config", str(demo_config(tmp_path)),
                    f"{SCENARIO}.pcapng", f"{SCENARIO}.adsb.csv")
    assert done.returncode == 0, done.stderr
    printed = [line for line in done.stdout.decode().splitlines() if line]
    assert any("geofence" in line for line in printed)  # one line per alert without --json
    gj = airwatch("export", "--db", db, "--format", "geojson")
    features = json.loads(gj.stdout)["features"]
    lines = [f for f in features if f["geometry"] and f["geometry"]["type"] == "LineString"]
    assert len(lines) >= 6
    lon, lat = lines[0]["geometry"]["coordinates"][0][:2]
    assert 46.1 < lat < 46.3 and 6.0 < lon < 6.3  # [lon, lat] order
    kml = airwatch("export", "--db", db, "--format", "kml")
    assert ET.fromstring(kml.stdout).tag.endswith("kml")
    rows = list(csv.reader(io.StringIO(airwatch("export", "--db", db, "--format", "csv").stdout.decode())))
    assert len(rows) > 1000
    alerts = list(csv.reader(io.StringIO(airwatch("export", "--db", db, "--format", "csv-alerts").stdout.decode())))
    assert len(alerts) - 1 == len(printed)  # header + one row per alert printed by replay


def test_bad_database_url_is_a_clear_error(tmp_path):
    done = airwatch("replay", "--db", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none",
                    f"{SCENARIO}.pcapng")
    assert done.returncode == 2
    err = done.stderr.decode()
    assert "airwatch:" in err and "secret" not in err and "Traceback" not in err
