"""A live feed of made-up traffic: thousands of moving tracks through the real correlator.

For the console benchmark and for tests that need a busy picture without captures.  A worker
thread builds contacts and feeds them to a :class:`~airwatch.correlator.engine.Correlator`
and a :class:`~airwatch.console.keeper.PictureKeeper`, exactly as a live feed does, with the
contacts' time taken from ``clock`` (wall time by default: the correlator's clock is the
contacts' own).

The mix, around the configured sensor position (or Geneva if none): Remote ID drones on Wi-Fi
beacons (serial, position, take-off point, 1 s updates), ADS-B aircraft on wide circles, and
drones known only by their Wi-Fi signature (no position; they turn non-cooperative after the
correlator's window).  Every object sends about ``rate_hz`` contacts a second, spread evenly
over the second.  The layout is fixed by ``seed``.
"""

from __future__ import annotations

import math
import random
import threading
import time as _time
from collections.abc import Callable
from dataclasses import dataclass

from airwatch.config import SensorSettings, Settings
from airwatch.console.keeper import PictureKeeper
from airwatch.console.picture import LiveControls, Picture
from airwatch.contact import Aircraft, BasicID, Contact, GeoPoint, Location, Transport
from airwatch.correlator.engine import Correlator
from airwatch.correlator.geo import free_space_loss_db
from airwatch.sources.health import SourceHealth

DEFAULT_CENTRE = (46.2044, 6.1432, 420.0)  # lat, lon, ground height (WGS-84 m)
M_PER_DEG = 111_320.0
TICK_S = 0.05  # the worker wakes this often and sends what is due
BATCH = 100  # contacts processed per lock hold
DRONE_FIELD_M = 2500.0  # drones start within this distance of the sensor (orbits add up to 400 m)


@dataclass(slots=True)
class _Object:
    kind: str  # "rid", "adsb", "signature"
    ident: str  # serial, ICAO address or SSID
    mac: str | None
    north0: float  # circle centre, metres from the sensor
    east0: float
    radius: float
    omega: float  # rad/s, signed
    phase: float
    height: float  # above ground (drones) or pressure altitude (aircraft)
    speed: float
    offset: float  # when in each period it transmits (0..1)
    counter: int = 0
    operator: GeoPoint | None = None


class SyntheticFeed(LiveControls):
    mode = "live"

    def __init__(self, settings: Settings | None = None, *, drones: int = 1500, aircraft: int = 50,
                 signatures: int = 450, rate_hz: float = 1.0, duration_s: float | None = None, seed: int = 1,
                 clock: Callable[[], float] = _time.time) -> None:
        self.settings = settings or Settings()
        s = self.settings.sensor
        if s.lat is None or s.lon is None:
            s = SensorSettings(id=s.id, lat=DEFAULT_CENTRE[0], lon=DEFAULT_CENTRE[1], alt_m=DEFAULT_CENTRE[2])
        self.sensor = s
        self.ground_m = s.alt_m if s.alt_m is not None else DEFAULT_CENTRE[2]
        self.rate_hz = rate_hz
        self.duration_s = duration_s
        self.clock = clock
        self.correlator = Correlator(self.settings, sensors={s.id: s})
        self.keeper = PictureKeeper(self.correlator)
        self.health = SourceHealth(name="synthetic", kind="synthetic", sensor_id=s.id)
        self.objects = _layout(drones, aircraft, signatures, random.Random(seed))
        for obj in self.objects:
            if obj.kind == "rid":
                lat, lon = self._latlon(obj.north0 + 30.0, obj.east0 - 20.0)
                obj.operator = GeoPoint(lat, lon, self.ground_m + 1.5, "takeoff")
        self.health.set("ok", f"{len(self.objects):,} synthetic objects")
        self._order: list[_Object] | None = None  # by when in each period they send
        self._start, self._next, self._cycle = 0.0, 0, 0
        self._lock = threading.Lock()
        self._wanted = threading.Event()  # the console is waiting for the lock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        self.sent = 0  # contacts processed so far
        self.cpu_s = 0.0  # the worker thread's CPU time so far (time.thread_time), for the benchmark

    # -- contacts ----------------------------------------------------------------------------

    def contact(self, obj: _Object, now: float) -> Contact:
        """What ``obj`` sends at ``now``."""
        obj.counter = (obj.counter + 1) % 256
        if obj.kind == "signature":
            return Contact(time=now, transport=Transport.WIFI_SIGNATURE, sensor_id=self.sensor.id, source="synthetic",
                           channel=6, rssi_dbm=-70 - obj.counter % 7, transmitter=obj.mac, ssid=obj.ident,
                           signature="dji_m1p")
        angle = obj.phase + obj.omega * now
        north = obj.north0 + obj.radius * math.cos(angle)
        east = obj.east0 + obj.radius * math.sin(angle)
        lat, lon = self._latlon(north, east)
        direction = (math.degrees(angle) + (90.0 if obj.omega > 0 else -90.0)) % 360.0
        if obj.kind == "adsb":
            loc = Location(lat=lat, lon=lon, alt_pressure_m=obj.height, direction=direction,
                           speed_horizontal=obj.speed, speed_vertical=0.0, time=now)
            return Contact(time=now, transport=Transport.ADSB, sensor_id=self.sensor.id, source="synthetic",
                           location=loc, aircraft=Aircraft(icao=obj.ident, df=17, callsign=f"SYN{obj.ident[-4:]}",
                                                           emitter_category="A3", gnss_baro_diff_m=40.0))
        distance = math.hypot(north, east)
        loc = Location(lat=lat, lon=lon, alt_geodetic_m=self.ground_m + obj.height, height_m=obj.height,
                       direction=direction, speed_horizontal=obj.speed, speed_vertical=0.0,
                       timestamp=now % 3600.0, time=now)
        return Contact(time=now, transport=Transport.WIFI_BEACON, sensor_id=self.sensor.id, source="synthetic",
                       channel=6, rssi_dbm=_rssi(distance, obj.counter), transmitter=obj.mac,
                       counter=obj.counter, basic_ids=[BasicID(1, 2, obj.ident)], location=loc,
                       operator=obj.operator)

    def _latlon(self, north: float, east: float) -> tuple[float, float]:
        lat0, lon0 = self.sensor.lat, self.sensor.lon
        assert lat0 is not None and lon0 is not None
        return lat0 + north / M_PER_DEG, lon0 + east / (M_PER_DEG * math.cos(math.radians(lat0)))

    # -- the worker --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="airwatch-synthetic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as e:  # noqa: BLE001 - the console shows why the feed stopped
            self.error = f"synthetic feed stopped: {type(e).__name__}: {e}"
            self.health.set("down", self.error)
            raise
        finally:
            self.cpu_s = _time.thread_time()

    def _loop(self) -> None:
        start = self.clock()
        while not self._stop.is_set():
            now = self.clock()
            if self.duration_s is not None and now - start >= self.duration_s:
                break
            self.advance_to(now)
            self.cpu_s = _time.thread_time()
            self._stop.wait(TICK_S)

    def advance_to(self, now: float) -> int:
        """Send every contact due by ``now`` through the correlator; how many were sent.

        The worker calls it every ``TICK_S``; a test or benchmark can call it instead of
        starting the worker, with a clock of its own.
        """
        if self._order is None:
            self._order = sorted(self.objects, key=lambda o: o.offset)
            self._start, self._next, self._cycle = now, 0, 0
        objects, n, period = self._order, len(self._order), 1.0 / self.rate_hz
        due: list[tuple[_Object, float]] = []  # with when it was due: its contact's time, however late the worker is
        while n and (when := self._start + (self._cycle + objects[self._next].offset) * period) <= now:
            due.append((objects[self._next], when))
            self._next += 1
            if self._next == n:
                self._next, self._cycle = 0, self._cycle + 1
        for k in range(0, len(due), BATCH):
            if self._wanted.is_set():
                _time.sleep(0.001)  # a lock is not fair: let the console take its picture first
            with self._lock:
                for obj, when in due[k:k + BATCH]:
                    self.keeper.note(self.correlator.process(self.contact(obj, when)))
            self.health.count(len(due[k:k + BATCH]), len(due[k:k + BATCH]), now)
        self.sent += len(due)
        with self._lock:  # age tracks and run the once-a-second rules even when nothing was due
            self.keeper.note(self.correlator.advance(now))
        return len(due)

    # -- what the console calls --------------------------------------------------------------

    def picture(self) -> Picture:
        self._wanted.set()
        with self._lock:
            self._wanted.clear()
            tracks, alerts = self.keeper.collect()
            now = self.correlator.now
            version = self.keeper.version
        s = self.sensor
        return Picture(mode=self.mode, now=now, tracks=tracks, alerts=alerts, sources=[self.health],
                       sensors={s.id: s}, zones=self.settings.zones, version=version, error=self.error)

    def acknowledge(self, alert_id: str, by: str) -> None:
        with self._lock:
            self.correlator.manager.acknowledge(alert_id, self.correlator.now or self.clock(), by)


def _rssi(distance: float, counter: int) -> int:
    """What a receiver hears from an 18 dBm Wi-Fi transmitter over free space on channel 6, give or
    take 2 dB (the correlator checks signal strength against the claimed distance)."""
    return max(-100, round(18.0 - free_space_loss_db(distance, 2437.0)) + counter % 5 - 2)


def _layout(drones: int, aircraft: int, signatures: int, rng: random.Random) -> list[_Object]:
    """Where everything flies: drones within 2.5 km (a Wi-Fi receiver's reach) at 20-120 m,
    aircraft on 2-30 km circles."""
    out = []
    for i in range(drones):
        r0, a0 = DRONE_FIELD_M * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        radius, speed = rng.uniform(30.0, 400.0), rng.uniform(2.0, 18.0)
        out.append(_Object("rid", f"1581F{i:014d}A", _mac(0x02, i), r0 * math.cos(a0), r0 * math.sin(a0), radius,
                           rng.choice((1, -1)) * speed / radius, rng.uniform(0, 2 * math.pi),
                           rng.uniform(20.0, 120.0), speed, rng.random()))
    for i in range(aircraft):
        radius, speed = rng.uniform(2000.0, 30_000.0), rng.uniform(60.0, 240.0)
        low = i % 50 == 0  # a few helicopters low over the site
        out.append(_Object("adsb", f"3c{i:04x}", None, rng.uniform(-3000, 3000), rng.uniform(-3000, 3000), radius,
                           rng.choice((1, -1)) * speed / radius, rng.uniform(0, 2 * math.pi),
                           rng.uniform(600.0, 900.0) if low else rng.uniform(1500.0, 11_000.0), speed,
                           rng.random()))
    for i in range(signatures):
        out.append(_Object("signature", f"Mavic-{i:06x}", f"60:60:1f:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
                           0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, rng.random()))
    return out


def _mac(prefix: int, i: int) -> str:
    return f"{prefix:02x}:00:{i >> 24 & 255:02x}:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}"
