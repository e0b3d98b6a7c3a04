"""Storage against both backends: SQLite (a temporary file) and the real PostgreSQL.

PostgreSQL is at ``AIRWATCH_TEST_PG`` (a libpq connection string; default
``host=127.0.0.1 port=5432 user=postgres dbname=test``).  The session creates a throwaway
database ``airwatch_test_<random>`` there, every test gets a fresh schema in it, and the
database is dropped at the end, so parallel runs and other data are left alone.  An unreachable
server fails the tests (CI has PostgreSQL): they are never skipped.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest

from airwatch.contact import GeoPoint, Transport
from airwatch.correlator.model import (
    Alert,
    AlertType,
    Classification,
    Fix,
    Severity,
    Track,
    TrackKind,
    TrackStatus,
)
from airwatch.storage import StorageError, Store

PG_DSN = os.environ.get("AIRWATCH_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=test")

HOSTILE = "'); DROP TABLE tracks; -- <b>&amp;</b> ]]> \"q\" \\ \u202e🛸\n\ttab"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[dict[str, str]]:
    """A throwaway PostgreSQL database for this test session (dropped afterwards)."""
    try:
        admin = psycopg.connect(PG_DSN, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the storage tests and is not reachable at {PG_DSN!r} "
                    f"(set AIRWATCH_TEST_PG to a libpq connection string): {exc}", pytrace=False)
    name = f"airwatch_test_{secrets.token_hex(6)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    info = admin.info
    try:
        yield {"host": info.host, "port": str(info.port), "user": info.user, "dbname": name}
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A URL of an empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'airwatch.db'}"
    db = request.getfixturevalue("pg_database")
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(host=db["host"], port=db["port"], user=db["user"], dbname=db["dbname"],
                         autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    options = quote(f"-csearch_path={schema}")
    return f"postgresql+psycopg://{db['user']}@{db['host']}:{db['port']}/{db['dbname']}?options={options}"


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    s = Store(url)
    yield s
    s.close()


def make_track(track_id: str = "rid:1581F4XXB", **kw) -> Track:
    base = dict(
        kind=TrackKind.DRONE, classification=Classification.COOPERATIVE_DRONE,
        first_seen=1_700_000_000.25, last_seen=1_700_000_060.5, uas_id="1581F4XXB",
        macs={"60:60:1f:00:00:01", "60:60:1f:00:00:02"},
        sources={Transport.BT4_LEGACY, Transport.WIFI_BEACON}, sensors={"s1"}, contacts=12, positions=3,
        last_fix=Fix(1_700_000_060.5, 26.1, -98.2, alt_pressure_m=120.0, alt_geodetic_m=140.5, height_m=80.0),
        operator=GeoPoint(26.2, -98.3, 30.0, "takeoff"), home=GeoPoint(26.21, -98.31, None, "home"),
        last_rid_time=1_700_000_060.5, confidence=0.9, alert_types={AlertType.SPOOFING},
    )
    base.update(kw)
    return Track(track_id=track_id, **base)


def make_fix(t: float, lat: float = 26.1, lon: float = -98.2, **kw) -> Fix:
    base = dict(alt_pressure_m=100.0, alt_geodetic_m=120.0, height_m=50.0, speed_horizontal=9.5,
                direction=45.0, speed_vertical=-0.5, sensor_id="s1", transport=Transport.BT5_LONG_RANGE)
    base.update(kw)
    return Fix(t, lat, lon, **base)


def make_alert(alert_id: str = "spoofing:rid:1581F4XXB:1700000010", **kw) -> Alert:
    base = dict(type=AlertType.SPOOFING, severity=Severity.HIGH, time=1_700_000_010.0,
                track_ids=("rid:1581F4XXB",), message="operator 6.2 km from UA", uas_id="1581F4XXB",
                mac="60:60:1f:00:00:01", rule="SP-3", last_time=1_700_000_020.0, count=3)
    base.update(kw)
    return Alert(alert_id=alert_id, **base)


def test_round_trip(store: Store) -> None:
    track = make_track()
    fixes = [make_fix(1_700_000_000.25 + i, lat=26.1 + i * 1e-4) for i in range(3)]
    fixes[1].alt_geodetic_m = None  # unknown values stay unknown
    fixes[2].transport = None
    alert = make_alert()
    store.write(tracks=[track], fixes=[(track, f) for f in fixes], alerts=[alert])

    [row] = store.tracks()
    back = row.to_track()
    for name in ("track_id", "kind", "classification", "first_seen", "last_seen", "uas_id", "icao",
                 "callsign", "macs", "sources", "sensors", "contacts", "positions", "operator", "home",
                 "last_rid_time", "confidence", "status", "alert_types"):
        assert getattr(back, name) == getattr(track, name), name
    assert row.cooperative is True
    assert row.macs == sorted(track.macs)
    assert (back.last_fix.lat, back.last_fix.lon, back.last_fix.alt_geodetic_m) == (26.1, -98.2, 140.5)

    positions = store.positions(track_id=track.track_id)
    assert [p.to_fix() for p in positions] == fixes
    assert all(p.track_id == track.track_id for p in positions)

    [arow] = store.alerts()
    assert arow.to_alert() == alert
    assert arow.severity == 15 and arow.track_ids == ["rid:1581F4XXB"]


def test_aircraft_and_unknown_enum_values(store: Store) -> None:
    plane = make_track("icao:a1b2c3", kind=TrackKind.AIRCRAFT, classification=Classification.AIRCRAFT,
                       uas_id=None, icao="a1b2c3", callsign="N123AB", macs=set(), sources={Transport.ADSB},
                       operator=None, home=None, last_fix=None, alert_types=set())
    store.write(tracks=[plane])
    back = store.track("icao:a1b2c3").to_track()
    assert (back.icao, back.callsign, back.operator, back.home, back.last_fix) == ("a1b2c3", "N123AB",
                                                                                   None, None, None)
    assert store.operator_positions() == []
    assert store.track("icao:nothing") is None


def test_upsert_updates(store: Store) -> None:
    track = make_track()
    store.write(tracks=[track], alerts=[make_alert()])
    # the correlator goes on: later fix, new callsign, more positions, status, alert repeats
    later = make_track(first_seen=1_700_000_030.0, last_seen=1_700_000_200.0, positions=40,
                       callsign="SELF-ID", status=TrackStatus.STALE, macs={"60:60:1f:00:00:03"},
                       alert_types={AlertType.SPOOFING, AlertType.GEOFENCE})
    store.write(tracks=[later], alerts=[make_alert(count=7, last_time=1_700_000_090.0)])
    [row] = store.tracks()
    assert row.first_seen == 1_700_000_000.25  # the earliest is kept
    assert (row.last_seen, row.positions, row.callsign, row.status) == (1_700_000_200.0, 40, "SELF-ID", "stale")
    assert row.macs == ["60:60:1f:00:00:03"]
    assert row.alert_types == ["geofence", "spoofing"]
    [arow] = store.alerts()
    assert (arow.count, arow.last_time) == (7, 1_700_000_090.0)


def test_queue_writes_latest_state_at_flush(store: Store) -> None:
    track = make_track(positions=1)
    store.upsert_tracks([track])
    track.positions = 5  # mutated by the correlator before the flush
    store.upsert_tracks([track])
    assert store.pending == 1
    store.flush()
    assert store.pending == 0
    assert store.tracks()[0].positions == 5
    store.flush()  # nothing queued: no-op


def test_acknowledge_persists_and_survives_reopening(url: str) -> None:
    store = Store(url)
    store.write(alerts=[make_alert("a1"), make_alert("a2", time=1_700_000_011.0)])
    assert store.acknowledge("a1", by="dave", at=1_700_000_100.0) is True
    assert store.acknowledge("missing", by="dave") is False
    # a later upsert from a correlator unaware of the acknowledgement does not undo it
    store.write(alerts=[make_alert("a1", count=9)])
    store.close()
    store.close()  # idempotent

    store = Store(url)
    try:
        a1 = {a.alert_id: a for a in store.alerts()}["a1"]
        assert (a1.acknowledged, a1.acknowledged_by, a1.acknowledged_at, a1.count) == (
            True, "dave", 1_700_000_100.0, 9)
        assert [a.alert_id for a in store.alerts(unacknowledged_only=True)] == ["a2"]
        # an alert still queued is flushed before it is acknowledged
        store.upsert_alerts([make_alert("a3")])
        assert store.acknowledge("a3", by="eve") is True
        a3 = {a.alert_id: a for a in store.alerts()}["a3"]
        assert a3.acknowledged and a3.acknowledged_by == "eve" and a3.acknowledged_at > 1_700_000_000
    finally:
        store.close()


def test_time_ranges(store: Store) -> None:
    t0 = 1_700_000_000.0
    a = make_track("rid:A", first_seen=t0, last_seen=t0 + 100)
    b = make_track("rid:B", first_seen=t0 + 200, last_seen=t0 + 300)
    fixes = [(a, make_fix(t0 + i * 10)) for i in range(11)] + [(b, make_fix(t0 + 200 + i * 10)) for i in range(11)]
    alerts = [make_alert("x", time=t0 + 50, last_time=t0 + 250), make_alert("y", time=t0 + 260, last_time=None)]
    store.write(tracks=[a, b], fixes=fixes, alerts=alerts)

    assert len(store.positions()) == 22
    assert [p.time for p in store.positions(since=t0 + 90, until=t0 + 210)] == [t0 + 90, t0 + 100, t0 + 200]
    assert [p.time for p in store.positions("rid:B", until=t0 + 220)] == [t0 + 200, t0 + 210]
    assert [p.time for p in store.positions("rid:A", since=t0 + 100)] == [t0 + 100]
    assert store.positions("rid:A", since=t0 + 101) == []

    def ids(rows):
        return [r.track_id for r in rows]

    assert ids(store.tracks()) == ["rid:A", "rid:B"]
    assert ids(store.tracks(since=t0 + 100)) == ["rid:A", "rid:B"]  # A seen until t0+100
    assert ids(store.tracks(since=t0 + 101)) == ["rid:B"]
    assert ids(store.tracks(until=t0 + 200)) == ["rid:A"]  # half-open: B starts at until
    assert ids(store.tracks(since=t0 + 120, until=t0 + 180)) == []

    def alert_ids(**kw):
        return [r.alert_id for r in store.alerts(**kw)]

    assert alert_ids() == ["x", "y"]
    assert alert_ids(since=t0 + 255) == ["y"]  # x lasted until t0+250
    assert alert_ids(since=t0 + 240, until=t0 + 260) == ["x"]
    assert alert_ids(until=t0 + 50) == []


def test_ten_thousand_positions_in_one_flush(store: Store) -> None:
    tracks = [make_track(f"rid:T{i}") for i in range(10)]
    store.upsert_tracks(tracks)
    store.add_positions((tracks[i % 10], make_fix(1_700_000_000.0 + i * 0.01, lat=26 + i * 1e-6))
                        for i in range(10_000))
    assert store.pending == 10_010
    store.flush()
    assert store.pending == 0
    assert len(store.positions()) == 10_000
    assert len(store.positions("rid:T3")) == 1_000
    assert len(store.tracks()) == 10


def test_hostile_strings_stored_literally(store: Store) -> None:
    track_id = f"rid:{HOSTILE}"
    track = make_track(track_id, uas_id=HOSTILE, callsign=HOSTILE + "\x00nul", signature=HOSTILE,
                       macs={HOSTILE}, operator=GeoPoint(1.0, 2.0, None, HOSTILE))
    fix = make_fix(1_700_000_000.0, sensor_id=HOSTILE)
    alert = make_alert(HOSTILE, message=HOSTILE, track_ids=(track_id, "x\x00y"), rule=HOSTILE)
    store.write(tracks=[track], fixes=[(track, fix)], alerts=[alert])
    store.upsert_sensor(HOSTILE, name=HOSTILE)
    store.acknowledge(HOSTILE, by=HOSTILE, at=5.0)

    row = store.track(track_id)
    assert (row.uas_id, row.signature, row.macs, row.operator_kind) == (HOSTILE, HOSTILE, [HOSTILE], HOSTILE)
    assert row.callsign == HOSTILE + "nul"  # NULs are removed (PostgreSQL text cannot hold them)
    [pos] = store.positions(track_id)
    assert pos.sensor_id == HOSTILE
    [arow] = store.alerts()
    assert (arow.alert_id, arow.message, arow.rule, arow.acknowledged_by) == (HOSTILE, HOSTILE, HOSTILE, HOSTILE)
    assert arow.track_ids == [track_id, "xy"]
    [sensor] = store.sensors()
    assert (sensor.id, sensor.name) == (HOSTILE, HOSTILE)
    assert len(store.tracks()) == 1  # and nothing was dropped


def test_operator_and_home_history(url: str) -> None:
    store = Store(url)
    track = make_track(operator=GeoPoint(26.2, -98.3, 30.0, "live_gnss"))
    store.write(tracks=[track])
    store.write(tracks=[track])  # unchanged: nothing new
    track.operator = GeoPoint(26.25, -98.35, 31.0, "live_gnss")
    track.last_seen += 10
    store.write(tracks=[track])
    store.close()
    store = Store(url)  # knows what was written before: no duplicate after reopening
    try:
        store.write(tracks=[track])
        rows = store.operator_positions()
        assert [(r.role, r.lat) for r in rows] == [("operator", 26.2), ("home", 26.21), ("operator", 26.25)]
        assert rows[2].time == track.last_seen and rows[2].kind == "live_gnss"
        assert rows[1].kind == "home" and rows[1].alt_geodetic_m is None
        assert len(store.operator_positions(track.track_id, since=track.last_seen)) == 1
    finally:
        store.close()


def test_sensors(store: Store) -> None:
    store.upsert_sensor("s1", name="roof", lat=26.0, lon=-98.0, alt_m=40.0, last_seen=1.0)
    store.upsert_sensor("s1", last_seen=2.0)  # None keeps what is stored
    store.upsert_sensor("s0")
    rows = store.sensors()
    assert [(r.id, r.name, r.lat, r.lon, r.alt_m, r.last_seen) for r in rows] == [
        ("s0", None, None, None, None, None), ("s1", "roof", 26.0, -98.0, 40.0, 2.0)]


def test_closed_store_refuses(store: Store) -> None:
    store.close()
    with pytest.raises(StorageError, match="closed"):
        store.tracks()


def test_sqlite_file_created_with_wal(tmp_path) -> None:
    path = tmp_path / "new.db"
    with Store(f"sqlite:///{path}") as store:
        store.write(tracks=[make_track()])
    assert path.exists()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Store(str(path)) as store:  # a bare path means SQLite
        assert len(store.tracks()) == 1


@pytest.mark.parametrize("bad", [
    "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/nothing",
    "postgresql://postgres:s3cret@127.0.0.1:1/nothing",
    "mysql://root:s3cret@localhost/db",
    "not a url://:s3cret@",
])
def test_unreachable_or_malformed_url(bad: str) -> None:
    with pytest.raises(StorageError) as info:
        Store(bad)
    assert "s3cret" not in str(info.value)
    assert "***" in str(info.value)


def test_missing_database_names_it(pg_database) -> None:
    db = pg_database
    url = f"postgresql+psycopg://{db['user']}:pw@{db['host']}:{db['port']}/{db['dbname']}_missing"
    with pytest.raises(StorageError, match="does not exist") as info:
        Store(url)
    assert "pw@" not in str(info.value)


def test_sqlite_directory_missing(tmp_path) -> None:
    with pytest.raises(StorageError, match="unable to open"):
        Store(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
