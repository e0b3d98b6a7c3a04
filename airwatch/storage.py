"""Persistent storage of sensors, tracks, positions and alerts (SQLite or PostgreSQL).

One job: write what the correlator produces, in batches, and read it back by time range.  No
classification or rule logic lives here.

Tables (sqlmodel):

* ``sensors`` (:class:`SensorRow`): one row per sensor, last position and last time heard.
* ``tracks`` (:class:`TrackRow`): one row per track, the latest state (upserted).
* ``positions`` (:class:`PositionRow`): one row per fix of a track (insert only; the hot path).
* ``operator_positions`` (:class:`OperatorPositionRow`): the history of a track's operator and
  home positions, one row each time the position (or its kind) changes; ``role`` is
  ``"operator"`` or ``"home"``.  Kept apart from ``positions`` so that the hot table stays narrow
  and its rows are all fixes of the object itself (no ``role`` filter in every query); the
  track's *current* operator and home are also columns of ``tracks``.
* ``alerts`` (:class:`AlertRow`): one row per alert (upserted), with its acknowledgement.

Conventions:

* **Times are UNIX seconds (float, UTC)** everywhere, as in :mod:`airwatch.contact` and the
  correlator model: indexable, compact, fast to compare, and identical on both databases
  (``DOUBLE PRECISION`` on PostgreSQL, ``REAL`` on SQLite: sub-microsecond resolution today).
* Altitudes keep their reference in the column name, as in the contact model.  The sensor's
  ``alt_m`` is the WGS-84 height of the antenna (as in :class:`airwatch.config.SensorSettings`).
* Enumerations are stored as their values (text, and the severity as its number); sets as
  sorted JSON lists.
* Text is stored literally (parameters are always bound, never formatted into SQL), with one
  exception: NUL characters are removed, because PostgreSQL text cannot hold them and both
  backends must return the same thing.
* Time ranges are half-open: ``since <= t < until``; ``None`` leaves that end open.  A track is in
  a range when it was seen during it (``last_seen >= since and first_seen < until``); an alert
  when it was active during it (``coalesce(last_time, time) >= since and time < until``).

Writing is batched: :meth:`Store.add_positions`, :meth:`Store.upsert_tracks` and
:meth:`Store.upsert_alerts` only queue; :meth:`Store.flush` writes everything queued in one
transaction (positions with one Core ``executemany``, or ``COPY`` on PostgreSQL with psycopg 3,
twice as fast there; tracks and alerts with the dialect's ``INSERT ... ON CONFLICT DO UPDATE``).  :meth:`Store.write` queues and flushes.  Tracks and alerts
are queued by id and read when flushed, so a flush writes their latest state; fixes are copied
when queued.  On a failed flush the queue is kept (retry with another ``flush``, or
:meth:`Store.discard`).  Upsert rules: a track's ``first_seen`` keeps the earliest value ever
written; an alert stays acknowledged once acknowledged (a later upsert from a correlator that
does not know of the acknowledgement does not undo it).  A ``Store`` is not thread-safe: use it
from one thread.
"""

from __future__ import annotations

import re
import time as _time
from collections.abc import Iterable
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, event, func, insert, or_, select, update, delete
from sqlalchemy.dialects import postgresql as _pg
from sqlalchemy.dialects import sqlite as _sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlmodel import Field, Session, SQLModel, create_engine
from sqlmodel import select as _orm_select

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

__all__ = [
    "AlertRow",
    "OperatorPositionRow",
    "PositionRow",
    "SensorRow",
    "Store",
    "StorageError",
    "TrackRow",
]


class StorageError(RuntimeError):
    """The database cannot be opened, read or written; the message names it (password hidden)."""


def _id_column(**kw: Any) -> Column:
    # BIGINT on PostgreSQL (50,000 positions/s would exhaust INTEGER in half a day); plain
    # INTEGER on SQLite, where only "INTEGER PRIMARY KEY" is the auto-numbered rowid.
    return Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True, **kw)


def _json(nullable: bool = False) -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=nullable))


class SensorRow(SQLModel, table=True):
    __tablename__ = "sensors"

    id: str = Field(primary_key=True)
    name: str | None = None
    lat: float | None = None
    lon: float | None = None
    alt_m: float | None = None  # WGS-84 height of the antenna
    last_seen: float | None = None


class TrackRow(SQLModel, table=True):
    __tablename__ = "tracks"

    track_id: str = Field(primary_key=True)
    kind: str
    classification: str
    cooperative: bool
    uas_id: str | None = None
    icao: str | None = None
    callsign: str | None = None
    macs: list[str] = _json()
    sources: list[str] = _json()
    sensors: list[str] = _json()
    first_seen: float = Field(index=True)
    last_seen: float = Field(index=True)
    contacts: int = 0
    positions: int = 0
    last_time: float | None = None  # time of the last fix
    last_lat: float | None = None
    last_lon: float | None = None
    last_alt_pressure_m: float | None = None
    last_alt_geodetic_m: float | None = None
    last_height_m: float | None = None
    operator_lat: float | None = None
    operator_lon: float | None = None
    operator_alt_geodetic_m: float | None = None
    operator_kind: str | None = None
    home_lat: float | None = None
    home_lon: float | None = None
    home_alt_geodetic_m: float | None = None
    last_rid_time: float | None = None
    signature: str | None = None
    confidence: float = 1.0
    status: str = TrackStatus.ACTIVE.value
    alert_types: list[str] = _json()

    def to_track(self) -> Track:
        """The correlator model of this row (no trail; ``last_fix`` from the last_* columns)."""
        last_fix = None
        if self.last_lat is not None and self.last_lon is not None:
            last_fix = Fix(time=self.last_time if self.last_time is not None else self.last_seen,
                           lat=self.last_lat, lon=self.last_lon, alt_pressure_m=self.last_alt_pressure_m,
                           alt_geodetic_m=self.last_alt_geodetic_m, height_m=self.last_height_m)
        operator = home = None
        if self.operator_lat is not None and self.operator_lon is not None:
            operator = GeoPoint(self.operator_lat, self.operator_lon, self.operator_alt_geodetic_m,
                                self.operator_kind or "operator")
        if self.home_lat is not None and self.home_lon is not None:
            home = GeoPoint(self.home_lat, self.home_lon, self.home_alt_geodetic_m, "home")
        return Track(
            track_id=self.track_id, kind=_enum(TrackKind, self.kind),
            classification=_enum(Classification, self.classification),
            first_seen=self.first_seen, last_seen=self.last_seen, uas_id=self.uas_id, icao=self.icao,
            callsign=self.callsign, macs=set(self.macs or ()),
            sources={_enum(Transport, s) for s in self.sources or ()}, sensors=set(self.sensors or ()),
            contacts=self.contacts, positions=self.positions, last_fix=last_fix, operator=operator,
            home=home, last_rid_time=self.last_rid_time, signature=self.signature,
            confidence=self.confidence, status=_enum(TrackStatus, self.status),
            alert_types={_enum(AlertType, a) for a in self.alert_types or ()},
        )


class PositionRow(SQLModel, table=True):
    __tablename__ = "positions"
    # (track_id, time) serves "one track's positions"; (time) serves "everything in a range".
    __table_args__ = (
        Index("ix_positions_track_id_time", "track_id", "time"),
        Index("ix_positions_time", "time"),
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    track_id: str
    time: float
    lat: float
    lon: float
    alt_pressure_m: float | None = None
    alt_geodetic_m: float | None = None
    height_m: float | None = None
    speed_horizontal: float | None = None  # m/s
    direction: float | None = None  # degrees from true north
    speed_vertical: float | None = None  # m/s, up is positive
    sensor_id: str | None = None
    transport: str | None = None

    def to_fix(self) -> Fix:
        return Fix(time=self.time, lat=self.lat, lon=self.lon, alt_pressure_m=self.alt_pressure_m,
                   alt_geodetic_m=self.alt_geodetic_m, height_m=self.height_m,
                   speed_horizontal=self.speed_horizontal, direction=self.direction,
                   speed_vertical=self.speed_vertical, sensor_id=self.sensor_id,
                   transport=None if self.transport is None else _enum(Transport, self.transport))


class OperatorPositionRow(SQLModel, table=True):
    __tablename__ = "operator_positions"
    __table_args__ = (
        Index("ix_operator_positions_track_id_time", "track_id", "time"),
        Index("ix_operator_positions_time", "time"),
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    track_id: str
    time: float  # the track's last_seen when the change was written
    role: str  # "operator" or "home"
    kind: str | None = None  # GeoPoint.kind: "takeoff", "live_gnss", "fixed", "pilot", "home"
    lat: float
    lon: float
    alt_geodetic_m: float | None = None


class AlertRow(SQLModel, table=True):
    __tablename__ = "alerts"

    alert_id: str = Field(primary_key=True)
    type: str
    severity: int
    time: float = Field(index=True)
    last_time: float | None = None
    count: int = 1
    track_ids: list[str] = _json()
    message: str
    uas_id: str | None = None
    icao: str | None = None
    mac: str | None = None
    rule: str | None = None
    acknowledged: bool = False
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None

    def to_alert(self) -> Alert:
        return Alert(alert_id=self.alert_id, type=_enum(AlertType, self.type),
                     severity=_enum(Severity, self.severity), time=self.time,
                     track_ids=tuple(self.track_ids or ()), message=self.message, uas_id=self.uas_id,
                     icao=self.icao, mac=self.mac, rule=self.rule, last_time=self.last_time,
                     count=self.count, acknowledged=self.acknowledged,
                     acknowledged_at=self.acknowledged_at, acknowledged_by=self.acknowledged_by)


_TABLES = [SensorRow.__table__, TrackRow.__table__, PositionRow.__table__,
           OperatorPositionRow.__table__, AlertRow.__table__]

E = TypeVar("E", bound=Enum)


def _enum(cls: type[E], value: Any) -> Any:
    """The enumeration member for a stored value; the value itself if a later version added it."""
    try:
        return cls(value)
    except ValueError:
        return value


def _text(value: Any) -> Any:
    """Text as stored: NULs removed (PostgreSQL cannot hold them), enumerations as values."""
    if value is None:
        return None
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "")
    return value


def _text_list(values: Iterable[Any]) -> list[str]:
    return sorted(_text(v) for v in values)


_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")


def _safe_url(url: str) -> str:
    """The URL for messages, password hidden (also when SQLAlchemy cannot parse it)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is reported, not raised from here
        return _PASSWORD.sub(r"\1***@", url)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class Store:
    """Sensors, tracks, positions and alerts in one database.

    ``url`` is an SQLAlchemy URL: ``sqlite:///path.db`` (created if absent; WAL journal,
    ``synchronous=NORMAL``), ``postgresql+psycopg://user:password@host:port/db`` (plain
    ``postgresql://`` is taken as psycopg 3); a bare file path means SQLite.  The tables are
    created if missing.  Raises :class:`StorageError` when the URL is malformed or the database
    cannot be reached.
    """

    def __init__(self, url: str) -> None:
        if "://" not in url:
            url = f"sqlite:///{url}"
        self.url = _safe_url(url)
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StorageError(f"malformed database URL {self.url}: {exc}") from None
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise StorageError(f"unsupported database {backend!r} in {self.url}: "
                               "use sqlite:///path.db or postgresql+psycopg://...")
        connect_args: dict[str, Any] = {}
        if backend == "postgresql" and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = 10
        try:
            self.engine: Engine = create_engine(parsed, connect_args=connect_args)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise StorageError(f"unsupported database URL {self.url}: {exc}") from None
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._insert = _sqlite.insert if self.dialect == "sqlite" else _pg.insert
        self._least = func.min if self.dialect == "sqlite" else func.least
        self._copy = self.dialect == "postgresql" and self.engine.dialect.driver == "psycopg"
        try:
            SQLModel.metadata.create_all(self.engine, tables=_TABLES)
            with self.engine.connect() as conn:
                self._places = self._load_places(conn)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StorageError(f"cannot open database {self.url}: {_reason(exc)}") from None
        self._positions: list[dict[str, Any]] = []
        self._tracks: dict[str, Track] = {}
        self._alerts: dict[str, Alert] = {}
        self._closed = False

    # -- writing ------------------------------------------------------------------------------

    def upsert_sensor(self, sensor_id: str, name: str | None = None, lat: float | None = None,
                      lon: float | None = None, alt_m: float | None = None,
                      last_seen: float | None = None) -> None:
        """Create or update a sensor now (not queued); ``None`` keeps the stored value."""
        values = {"id": _text(sensor_id), "name": _text(name), "lat": lat, "lon": lon, "alt_m": alt_m,
                  "last_seen": last_seen}
        table = SensorRow.__table__
        stmt = self._insert(table).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={k: func.coalesce(stmt.excluded[k], table.c[k]) for k in values if k != "id"},
        )
        self._run(lambda conn: conn.execute(stmt))

    def add_positions(self, fixes: Iterable[tuple[Track, Fix]]) -> None:
        """Queue fixes (each with its track) for the next :meth:`flush`."""
        append = self._positions.append
        for track, fix in fixes:
            append({
                "track_id": _text(track.track_id), "time": fix.time, "lat": fix.lat, "lon": fix.lon,
                "alt_pressure_m": fix.alt_pressure_m, "alt_geodetic_m": fix.alt_geodetic_m,
                "height_m": fix.height_m, "speed_horizontal": fix.speed_horizontal,
                "direction": fix.direction, "speed_vertical": fix.speed_vertical,
                "sensor_id": _text(fix.sensor_id),
                "transport": None if fix.transport is None else _text(fix.transport),
            })

    def upsert_tracks(self, tracks: Iterable[Track]) -> None:
        """Queue tracks for the next :meth:`flush` (their state at flush time is written)."""
        for track in tracks:
            self._tracks[track.track_id] = track

    def upsert_alerts(self, alerts: Iterable[Alert]) -> None:
        """Queue alerts for the next :meth:`flush` (their state at flush time is written)."""
        for alert in alerts:
            self._alerts[alert.alert_id] = alert

    @property
    def pending(self) -> int:
        """Number of queued positions, tracks and alerts."""
        return len(self._positions) + len(self._tracks) + len(self._alerts)

    def discard(self) -> None:
        """Drop everything queued."""
        self._positions = []
        self._tracks = {}
        self._alerts = {}

    def write(self, tracks: Iterable[Track] = (), fixes: Iterable[tuple[Track, Fix]] = (),
              alerts: Iterable[Alert] = ()) -> None:
        """Queue and flush: everything pending is written in one transaction."""
        self.upsert_tracks(tracks)
        self.add_positions(fixes)
        self.upsert_alerts(alerts)
        self.flush()

    def flush(self) -> None:
        """Write everything queued in one transaction; on failure it stays queued and this raises."""
        if not self.pending:
            return
        track_rows = [self._track_row(t) for t in self._tracks.values()]
        alert_rows = [self._alert_row(a) for a in self._alerts.values()]
        places, new_places = self._place_rows(self._tracks.values())

        def work(conn: Any) -> None:
            if self._positions:
                self._insert_positions(conn, self._positions)
            if track_rows:
                conn.execute(self._track_upsert(), track_rows)
            if places:
                conn.execute(insert(OperatorPositionRow.__table__), places)
            if alert_rows:
                conn.execute(self._alert_upsert(), alert_rows)

        self._run(work)
        self._places.update(new_places)
        self.discard()

    def merge_track(self, old_id: str, new_id: str) -> None:
        """A provisional track turned out to be part of ``new_id``: move its history there."""
        self._tracks.pop(old_id, None)
        for row in self._positions:
            if row["track_id"] == old_id:
                row["track_id"] = new_id
        positions, places, tracks = PositionRow.__table__, OperatorPositionRow.__table__, TrackRow.__table__

        def work(conn: Any) -> None:
            conn.execute(update(positions).where(positions.c.track_id == old_id).values(track_id=new_id))
            conn.execute(update(places).where(places.c.track_id == old_id).values(track_id=new_id))
            conn.execute(delete(tracks).where(tracks.c.track_id == old_id))

        self._run(work)

    def acknowledge(self, alert_id: str, by: str | None, at: float | None = None) -> bool:
        """Mark an alert acknowledged (now, unless ``at``); False if no such alert is stored.

        Anything queued is flushed first, so an alert raised just before is found.
        """
        self.flush()
        table = AlertRow.__table__
        stmt = (update(table).where(table.c.alert_id == _text(alert_id))
                .values(acknowledged=True, acknowledged_at=_time.time() if at is None else at,
                        acknowledged_by=_text(by)))
        return bool(self._run(lambda conn: conn.execute(stmt).rowcount))

    # -- reading ------------------------------------------------------------------------------

    def sensors(self) -> list[SensorRow]:
        return self._select(_orm_select(SensorRow).order_by(SensorRow.id))

    def tracks(self, since: float | None = None, until: float | None = None) -> list[TrackRow]:
        """Tracks seen during ``[since, until)``, by first_seen."""
        q = _orm_select(TrackRow)
        if since is not None:
            q = q.where(TrackRow.last_seen >= since)
        if until is not None:
            q = q.where(TrackRow.first_seen < until)
        return self._select(q.order_by(TrackRow.first_seen, TrackRow.track_id))

    def track(self, track_id: str) -> TrackRow | None:
        rows = self._select(_orm_select(TrackRow).where(TrackRow.track_id == track_id))
        return rows[0] if rows else None

    def positions(self, track_id: str | None = None, since: float | None = None,
                  until: float | None = None) -> list[PositionRow]:
        """Fixes in ``[since, until)`` (of one track, or all), in time order."""
        q = _orm_select(PositionRow)
        if track_id is not None:
            q = q.where(PositionRow.track_id == track_id)
        q = _time_range(q, PositionRow.time, since, until)
        return self._select(q.order_by(PositionRow.time, PositionRow.id))

    def operator_positions(self, track_id: str | None = None, since: float | None = None,
                           until: float | None = None) -> list[OperatorPositionRow]:
        """Operator and home positions (as they changed) in ``[since, until)``, in time order."""
        q = _orm_select(OperatorPositionRow)
        if track_id is not None:
            q = q.where(OperatorPositionRow.track_id == track_id)
        q = _time_range(q, OperatorPositionRow.time, since, until)
        return self._select(q.order_by(OperatorPositionRow.time, OperatorPositionRow.id))

    def alerts(self, since: float | None = None, until: float | None = None,
               unacknowledged_only: bool = False) -> list[AlertRow]:
        """Alerts active during ``[since, until)``, by time."""
        q = _orm_select(AlertRow)
        if since is not None:
            q = q.where(func.coalesce(AlertRow.last_time, AlertRow.time) >= since)
        if until is not None:
            q = q.where(AlertRow.time < until)
        if unacknowledged_only:
            q = q.where(AlertRow.acknowledged == False)  # noqa: E712 - SQL expression
        return self._select(q.order_by(AlertRow.time, AlertRow.alert_id))

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Flush what is queued and release the connections (idempotent)."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    # -- internals ----------------------------------------------------------------------------

    def _run(self, work: Any) -> Any:
        if self._closed:
            raise StorageError(f"store {self.url} is closed")
        try:
            with self.engine.begin() as conn:
                return work(conn)
        except SQLAlchemyError as exc:
            raise StorageError(f"database {self.url}: {_reason(exc)}") from exc

    def _select(self, query: Any) -> list[Any]:
        if self._closed:
            raise StorageError(f"store {self.url} is closed")
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                return list(session.exec(query).all())
        except SQLAlchemyError as exc:
            raise StorageError(f"database {self.url}: {_reason(exc)}") from exc

    def _insert_positions(self, conn: Any, rows: list[dict[str, Any]]) -> None:
        if self._copy:
            # psycopg 3: COPY is about twice as fast as executemany (same transaction)
            keys = list(rows[0])
            with conn.connection.dbapi_connection.cursor() as cur, \
                    cur.copy(f"COPY positions ({', '.join(keys)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(tuple(row.values()))
        else:
            conn.execute(insert(PositionRow.__table__), rows)  # Core executemany

    @staticmethod
    def _track_row(t: Track) -> dict[str, Any]:
        fix, op, home = t.last_fix, t.operator, t.home
        return {
            "track_id": _text(t.track_id), "kind": _text(t.kind), "classification": _text(t.classification),
            "cooperative": t.cooperative, "uas_id": _text(t.uas_id), "icao": _text(t.icao),
            "callsign": _text(t.callsign), "macs": _text_list(t.macs), "sources": _text_list(t.sources),
            "sensors": _text_list(t.sensors), "first_seen": t.first_seen, "last_seen": t.last_seen,
            "contacts": t.contacts, "positions": t.positions,
            "last_time": None if fix is None else fix.time,
            "last_lat": None if fix is None else fix.lat,
            "last_lon": None if fix is None else fix.lon,
            "last_alt_pressure_m": None if fix is None else fix.alt_pressure_m,
            "last_alt_geodetic_m": None if fix is None else fix.alt_geodetic_m,
            "last_height_m": None if fix is None else fix.height_m,
            "operator_lat": None if op is None else op.lat,
            "operator_lon": None if op is None else op.lon,
            "operator_alt_geodetic_m": None if op is None else op.alt_geodetic_m,
            "operator_kind": None if op is None else _text(op.kind),
            "home_lat": None if home is None else home.lat,
            "home_lon": None if home is None else home.lon,
            "home_alt_geodetic_m": None if home is None else home.alt_geodetic_m,
            "last_rid_time": t.last_rid_time, "signature": _text(t.signature),
            "confidence": t.confidence, "status": _text(t.status), "alert_types": _text_list(t.alert_types),
        }

    @staticmethod
    def _alert_row(a: Alert) -> dict[str, Any]:
        return {
            "alert_id": _text(a.alert_id), "type": _text(a.type), "severity": int(a.severity),
            "time": a.time, "last_time": a.last_time, "count": a.count,
            "track_ids": [_text(t) for t in a.track_ids], "message": _text(a.message),
            "uas_id": _text(a.uas_id), "icao": _text(a.icao), "mac": _text(a.mac), "rule": _text(a.rule),
            "acknowledged": bool(a.acknowledged), "acknowledged_at": a.acknowledged_at,
            "acknowledged_by": _text(a.acknowledged_by),
        }

    def _track_upsert(self) -> Any:
        table = TrackRow.__table__
        stmt = self._insert(table)
        set_ = {c.name: stmt.excluded[c.name] for c in table.columns if c.name != "track_id"}
        set_["first_seen"] = self._least(table.c.first_seen, stmt.excluded.first_seen)
        return stmt.on_conflict_do_update(index_elements=[table.c.track_id], set_=set_)

    def _alert_upsert(self) -> Any:
        table = AlertRow.__table__
        stmt = self._insert(table)
        set_ = {c.name: stmt.excluded[c.name] for c in table.columns if c.name != "alert_id"}
        # an acknowledgement is never undone by a later upsert
        set_["acknowledged"] = or_(table.c.acknowledged, stmt.excluded.acknowledged)
        set_["acknowledged_at"] = func.coalesce(table.c.acknowledged_at, stmt.excluded.acknowledged_at)
        set_["acknowledged_by"] = func.coalesce(table.c.acknowledged_by, stmt.excluded.acknowledged_by)
        return stmt.on_conflict_do_update(index_elements=[table.c.alert_id], set_=set_)

    def _load_places(self, conn: Any) -> dict[tuple[str, str], tuple[Any, ...]]:
        """The operator and home positions last written per track, to write only changes."""
        t = TrackRow.__table__.c
        places: dict[tuple[str, str], tuple[Any, ...]] = {}
        rows = conn.execute(select(t.track_id, t.operator_lat, t.operator_lon, t.operator_alt_geodetic_m,
                                   t.operator_kind, t.home_lat, t.home_lon, t.home_alt_geodetic_m)
                            .where(or_(t.operator_lat.is_not(None), t.home_lat.is_not(None))))
        for tid, olat, olon, oalt, okind, hlat, hlon, halt in rows:
            if olat is not None:
                places[(tid, "operator")] = (olat, olon, oalt, okind)
            if hlat is not None:
                places[(tid, "home")] = (hlat, hlon, halt, "home")
        return places

    def _place_rows(self, tracks: Iterable[Track]) -> tuple[list[dict[str, Any]], dict[tuple[str, str], tuple[Any, ...]]]:
        rows: list[dict[str, Any]] = []
        changed: dict[tuple[str, str], tuple[Any, ...]] = {}
        for t in tracks:
            for role, point in (("operator", t.operator), ("home", t.home)):
                if point is None:
                    continue
                key = (_text(t.track_id), role)
                value = (point.lat, point.lon, point.alt_geodetic_m, _text(point.kind))
                if self._places.get(key) != value:
                    changed[key] = value
                    rows.append({"track_id": key[0], "time": t.last_seen, "role": role,
                                 "kind": value[3], "lat": point.lat, "lon": point.lon,
                                 "alt_geodetic_m": point.alt_geodetic_m})
        return rows, changed


def _time_range(q: Any, column: Any, since: float | None, until: float | None) -> Any:
    if since is not None:
        q = q.where(column >= since)
    if until is not None:
        q = q.where(column < until)
    return q


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's message without SQLAlchemy's statement and parameters dump."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
