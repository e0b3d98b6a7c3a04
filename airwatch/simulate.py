"""``airwatch simulate``: build a capture, an ADS-B recording and their ground truth from a scenario.

A scenario (TOML) describes a stretch of time around one sensor: drones (cooperative or not),
spoofers, aircraft and background radio traffic.  :func:`simulate` turns it into

* ``<name>.pcapng``: Wi-Fi frames (radiotap, LINKTYPE 127) and Bluetooth LE link-layer frames
  (LINKTYPE 256) as a monitor-mode card and a BLE sniffer beside the sensor would record them;
* ``<name>.adsb.csv``: the aircraft's Mode S extended squitters as jet1090 writes them
  (``unix_ts,beast_hex``, absolute times, CRC-valid);
* ``<name>.truth.json``: the ground truth: every object with its identity, transmitters and
  transports, path samples, zone crossings, aircraft/drone encounters, and what the scenario
  says the correlator should raise (``expect``, rule ids of ``detection-rules.md``).

A file is written only when it has content (a scenario without aircraft has no ``.adsb.csv``);
the truth file names the files written.  Every frame is built with :mod:`airwatch.encoders`.
Everything is deterministic: the same scenario and seed give the same bytes.  Frames are
streamed to the writers in time order (a heap merge of per-object generators), so an hour with
fifty drones does not sit in memory.

Scenario format
===============

Times inside a scenario (``t``, ``start_s``, ``end_s``, event times) are seconds after the
scenario start.  A *point* is either ``{north_m = .., east_m = ..}`` (metres from the sensor) or
``{lat = .., lon = ..}``; its vertical part is either ``height_m`` (above the object's ground,
see ``ground_alt_m``) or ``alt_m`` (WGS-84 height above the ellipsoid).  Unknown keys are
errors, so a typo never silently falls back to a default.

.. code-block:: toml

    [scenario]
    name = "demo_scenario"          # output base name (default: the file's stem)
    description = "free text"
    start = "2025-11-21T04:40:00Z"  # ISO 8601 (or a TOML datetime), or UNIX seconds
    duration_s = 180
    seed = 2025                     # every random choice derives from it

    [sensor]
    id = "post-1"
    lat = 46.2044
    lon = 6.1432
    ground_alt_m = 420.0            # WGS-84 height of the ground at the sensor (default 0)

    [[zones]]                       # protected zones the scenario intends (they belong to the
    name = "post"                   # correlator's config; they are copied to the truth file
    center = {north_m = 0, east_m = 0}   # with each object's entries and exits)
    radius_m = 250
    ceiling_m = 150                 # above the sensor's ground (optional)

    [[objects]]
    kind = "drone"                  # drone | spoofer | aircraft | background
    name = "compliant"              # unique
    start_s = 0                     # active window (default: the whole scenario)
    end_s = 180
    ground_alt_m = 420.0            # take-off ground, WGS-84 (default: the sensor's)
    geo_minus_baro_m = 0.0          # WGS-84 altitude minus pressure altitude
    serial = "1581F6DEMO000000001"  # the UAS ID
    id_type = "serial"              # serial | caa | uuid | session (or 0..4)
    ua_type = 2                     # ASTM UA type
    operator_id = "CHEdemo1234567k" # optional
    self_id = "Fence survey"        # optional
    transports = ["wifi_beacon", "wifi_nan", "bt4_legacy", "bt5_long_range"]
                                    # also dji_droneid, french_beacon, wifi_signature;
                                    # [] = non-cooperative: only the Wi-Fi signature
    rates = {wifi_beacon = 1.0}     # Hz per transport (defaults: DEFAULT_RATES)
    channel = 6                     # Wi-Fi channel of the drone's Wi-Fi transports
    mac = "60:60:1f:12:34:56"       # Wi-Fi transmitter (default: derived from the seed)
    ble_address = "c4:12:34:56:78:9a"   # default: derived from the seed
    ble_rotation_s = 0              # > 0: a new BLE address every so many seconds
    ssid = "RID-..."                # SSID of the Remote ID beacons
    signature = {ssid = "Mavic-3f2a1c", oui = "60:60:1f", rate_hz = 2}
                                    # the drone's own AP (default for transports = [])
    dji = {product_type = 68}       # DJI DroneID model code
    french_id = "..."               # French beacon identifier (default: the serial)
    operator_location_type = "live_gnss"   # takeoff | live_gnss | fixed
    operator = {north_m = -300, east_m = 150}   # fixed; or a path table (moving operator)
    events = [{t = 40, status = "emergency"}]   # status: undeclared | ground | airborne |
                                    # emergency | system_failure; an event may add
                                    # expect = ["..."] (free text, copied to the truth)
    expect = ["..."]                # extra expectations, copied to the truth
    [objects.path]                  # how it moves (also the operator's moving form):
    type = "waypoints"              #   waypoints: points = [{t = 0, north_m = .., east_m = ..,
    points = [...]                  #     height_m = ..}, ...] (linear; held before/after)
                                    #   circle: center = {point}, radius_m, period_s,
                                    #     height_m | alt_m, clockwise = true, start_bearing_deg = 0
                                    #   stationary: at = {point with height_m | alt_m}
    [objects.faults]                # break the rules on purpose (compliance tests)
    omit = ["basic_id"]             # any of basic_id, location, system, operator_id, self_id
    location_interval_s = 3.0       # Location only this often (other messages keep their rate)
    no_operator_position = true     # System message with the operator position unknown (0/0)
    invalid_timestamp = true        # Location timestamp 0xFFFF
    out_of_range = ["position"]     # position (lat 95), direction (400), speed_vertical (70 m/s),
                                    # timestamp (4000 s after the hour)

``kind = "spoofer"`` takes every drone key plus ``mode`` and its parameters (rule ids of
detection-rules.md §2.5 C):

* ``teleport`` (SP-1): every ``jump_every_s`` (5) the position alternates between the path and
  the path moved ``jump_m`` (3000) toward ``jump_bearing_deg`` (90).
* ``far_operator`` (SP-3): the operator is ``operator_distance_m`` (20000) away toward
  ``operator_bearing_deg`` (0) from the drone's first position.
* ``duplicate`` (SP-6): a second transmitter (``mac2``, ``ble_address2``) sends the same
  identity; its position moves away from the real one at ``divergence_m_per_s`` (20) toward
  ``divergence_bearing_deg`` (45), at most ``divergence_m`` (1000).
* ``multi_identity`` (SP-7): ``identities`` (5) serials from one transmitter, each drifting away
  from the path at ``divergence_m_per_s`` (10) on its own bearing.
* ``flood`` (SP-9): ``rate_per_min`` (60) new random identities per minute, each with a new
  transmitter, living ``lifetime_s`` (3) and placed within ``radius_m`` (300) of the path.
* ``counter_regression`` (SP-8): each transport's message counter drops by ``regress_by`` (5)
  at every time in ``regress_at_s`` ([20, 40]).
* ``null_island`` (SP-12): flies a circle of ``radius_m`` (500; 0 = exactly 0/0, the "invalid"
  marker) around latitude 0, longitude 0.

``kind = "aircraft"``: ``icao`` (6 hex digits), ``callsign``, ``category`` (A0..A7, B0..B7,
C0..C7), ``geo_minus_baro_m`` (GNSS minus baro, sent in the velocity message), ``path`` (as
above; ``alt_m`` is the WGS-84 altitude, the pressure altitude is that minus
``geo_minus_baro_m``), ``position_hz`` (2, even/odd alternating), ``velocity_hz`` (2),
``ident_period_s`` (5), ``df`` (17 or 18), ``nac_v`` (1).

``kind = "background"``: ``access_points`` (8) beaconing at ``ap_beacon_hz`` (1) each on
``channels`` ([1, 6, 11]); ``phones`` (3) sending a probe request every ``probe_interval_s``
(10); ``data_hz`` (2) data frames per second between the phones and the APs;
``ble_advertisers`` (4) non-Remote-ID BLE advertisers at ``ble_adv_hz`` (1) each.

API
===

* :func:`simulate` ``(scenario_path_or_dict, out_dir, *, name=None, seed=None) -> SimulationResult``
* :func:`load_scenario` ``(scenario_path_or_dict) -> Scenario`` (validated; objects expose
  their kinematics for tests: ``scenario.object("x").state(t)``)
* :func:`add_arguments` / :func:`run` for ``airwatch simulate``, and :func:`main` ``(argv)``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyModeS.util import cprNL

from airwatch.config import read_toml
from airwatch.contact import BasicID, DjiInfo, FrenchInfo, GeoPoint, HeightRef, Location, OperatorID, SelfID, System
from airwatch.correlator.geo import free_space_loss_db
from airwatch.encoders import adsb as modes
from airwatch.encoders import bluetooth as ble
from airwatch.encoders import remoteid as rid
from airwatch.encoders import wifi
from airwatch.encoders.pcap import PcapNgWriter

RADIOTAP = wifi.LINKTYPE_IEEE802_11_RADIOTAP
LE_PHDR = ble.LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR
INTERFACE_NAMES = {RADIOTAP: "wlan0mon", LE_PHDR: "ble0"}

RID_TRANSPORTS = ("wifi_beacon", "wifi_nan", "bt4_legacy", "bt5_long_range")
TRANSPORTS = RID_TRANSPORTS + ("dji_droneid", "french_beacon", "wifi_signature")
WIFI_TRANSPORTS = frozenset(("wifi_beacon", "wifi_nan", "dji_droneid", "french_beacon", "wifi_signature"))
DEFAULT_RATES = {"wifi_beacon": 1.0, "wifi_nan": 1.0, "bt4_legacy": 4.0, "bt5_long_range": 1.0,
                 "dji_droneid": 2.0, "french_beacon": 1.0, "wifi_signature": 2.0}
MESSAGES = ("basic_id", "location", "self_id", "system", "operator_id")
STATUS = {"undeclared": 0, "ground": 1, "airborne": 2, "emergency": 3, "system_failure": 4}
ID_TYPES = {"none": 0, "serial": 1, "caa": 2, "uuid": 3, "session": 4}
OPERATOR_LOCATION_TYPES = {"takeoff": 0, "live_gnss": 1, "fixed": 2}
OUT_OF_RANGE = ("position", "direction", "speed_vertical", "timestamp")
SPOOF_MODES = ("teleport", "far_operator", "duplicate", "multi_identity", "flood", "counter_regression",
               "null_island")
SPOOF_RULES = {"teleport": ("SP-1", "HIGH"), "far_operator": ("SP-3", "HIGH"), "duplicate": ("SP-6", "CRITICAL"),
               "multi_identity": ("SP-7", "HIGH"), "flood": ("SP-9", "CRITICAL"),
               "counter_regression": ("SP-8", "HIGH"), "null_island": ("SP-12", "HIGH")}
KINDS = ("drone", "spoofer", "aircraft", "background")

EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG = math.pi / 180.0 * EARTH_RADIUS_M
FT = 0.3048
KT = 1852.0 / 3600.0
CPR_BITS = 1 << 17
BEAST_TICKS = 12_000_000
SAMPLE_STEP_S = 0.5  # geometry sampling for zone crossings and encounters
TRUTH_PATH_STEP_S = 5.0
# Separation volumes of detection-rules.md §3.2/3.4 (metres).
NMAC_H, NMAC_V = 500 * FT, 100 * FT
DWC_H, DWC_V = 0.66 * 1852.0, 450 * FT
DWC_NONCOOP_H = 2200 * FT
ADVISORY_H, ADVISORY_AGL = 5 * 1852.0, 3000 * FT
PART107_HEIGHT, PART107_SPEED = 400 * FT, 87 * KT
WIFI_MAX_FRAME = 2346
SENSOR_DEFAULT_CHANNELS = (1, 6, 11)
PHONE_OUIS = ("da:a1:19", "3c:22:fb", "f0:18:98", "a4:83:e7")  # phone-ish, none of them a drone maker
AP_OUIS = ("a4:2b:b0", "00:1d:aa", "b0:be:76", "dc:a6:32")
SERIAL_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # ANSI/CTA-2063-A code points


class ScenarioError(ValueError):
    """A scenario that cannot be simulated, with the file and key in the message."""


@dataclass
class SimulationResult:
    name: str
    truth: Path
    pcapng: Path | None
    adsb_csv: Path | None
    start: float
    end: float
    wifi_frames: int = 0
    ble_frames: int = 0
    adsb_messages: int = 0
    objects: int = 0


# ------------------------------------------------------------------------------------ validation

_REQUIRED = object()


class _Table:
    """A TOML table being read: typed getters that name the key in their errors, and a check
    that nothing unknown was left over."""

    def __init__(self, raw: Any, where: str, source: str) -> None:
        if not isinstance(raw, dict):
            raise ScenarioError(f"{source}: {where}: must be a table, not {type(raw).__name__}")
        self.raw, self.where, self.source = raw, where, source
        self.known: set[str] = set()

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def error(self, key: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {self.path(key)}: {message}")

    def has(self, key: str) -> bool:
        self.known.add(key)
        return key in self.raw

    def _get(self, key: str, default: Any) -> Any:
        self.known.add(key)
        if key in self.raw:
            return self.raw[key]
        if default is _REQUIRED:
            raise ScenarioError(f"{self.source}: {self.path(key)}: required")
        return default

    def num(self, key: str, default: Any = _REQUIRED, *, low: float | None = None, high: float | None = None,
            positive: bool = False) -> Any:
        value = self._get(key, default)
        if value is default and key not in self.raw:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(key, f"expected a number, got {value!r}")
        if positive and value <= 0:
            raise self.error(key, f"must be greater than 0, got {value!r}")
        if low is not None and value < low:
            raise self.error(key, f"must be at least {low}, got {value!r}")
        if high is not None and value > high:
            raise self.error(key, f"must be at most {high}, got {value!r}")
        return float(value)

    def int(self, key: str, default: Any = _REQUIRED, *, low: int | None = None, high: int | None = None) -> Any:
        value = self._get(key, default)
        if value is default and key not in self.raw:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected a whole number, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.error(key, f"must be in {low}..{high}, got {value!r}")
        return value

    def str(self, key: str, default: Any = _REQUIRED, *, choices: Iterable[str] | None = None) -> Any:
        value = self._get(key, default)
        if value is default and key not in self.raw:
            return value
        if not isinstance(value, str):
            raise self.error(key, f"expected text, got {value!r}")
        if choices is not None and value not in choices:
            raise self.error(key, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def bool(self, key: str, default: Any = False) -> Any:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def list(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is default and key not in self.raw:
            return value
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {value!r}")
        return value

    def table(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is default and key not in self.raw:
            return value
        return _Table(value, self.path(key), self.source)

    def sub(self, value: Any, suffix: str) -> _Table:
        return _Table(value, f"{self.where}{suffix}", self.source)

    def done(self) -> None:
        unknown = [k for k in self.raw if k not in self.known]
        if unknown:
            raise self.error(unknown[0], f"unknown key (known here: {', '.join(sorted(self.known))})")


def _mac_text(t: _Table, key: str, default: Any = None) -> Any:
    value = t.str(key, default)
    if value is None:
        return None
    try:
        raw = bytes.fromhex(value.replace(":", "").replace("-", ""))
    except ValueError:
        raw = b""
    if len(raw) != 6:
        raise t.error(key, f"{value!r} is not a MAC address (aa:bb:cc:dd:ee:ff)")
    return raw.hex(":")


def _parse_start(t: _Table) -> float:
    value = t._get("start", _REQUIRED)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, bool):
        raise t.error("start", f"expected ISO 8601 text or UNIX seconds, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise t.error("start", f"{value!r} is not ISO 8601 (2025-11-21T04:40:00Z) or UNIX seconds") from None
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    raise t.error("start", f"expected ISO 8601 text or UNIX seconds, got {value!r}")


# -------------------------------------------------------------------------------------- geometry

class Origin:
    """A local east/north/up plane around one point (flat-earth; good for a few km)."""

    def __init__(self, lat: float, lon: float) -> None:
        self.lat, self.lon = lat, lon
        self.m_per_deg_lon = M_PER_DEG * math.cos(math.radians(lat))

    def latlon(self, north: float, east: float) -> tuple[float, float]:
        return self.lat + north / M_PER_DEG, self.lon + east / self.m_per_deg_lon

    def ne(self, lat: float, lon: float) -> tuple[float, float]:
        return (lat - self.lat) * M_PER_DEG, (lon - self.lon) * self.m_per_deg_lon


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(slots=True)
class State:
    """Where an object is at one instant, and how it moves."""

    lat: float
    lon: float
    alt_m: float  # WGS-84 height above the ellipsoid
    v_north: float  # m/s
    v_east: float
    v_up: float

    @property
    def speed(self) -> float:
        return math.hypot(self.v_north, self.v_east)

    @property
    def track(self) -> float:
        return math.degrees(math.atan2(self.v_east, self.v_north)) % 360.0


class Motion:
    """Kinematics in a local plane: ``state(t)`` with ``t`` in seconds after the scenario start."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin

    def ne_up(self, t: float) -> tuple[float, float, float, float, float, float]:
        raise NotImplementedError

    def state(self, t: float) -> State:
        n, e, up, vn, ve, vu = self.ne_up(t)
        lat, lon = self.origin.latlon(n, e)
        return State(lat, lon, up, vn, ve, vu)


class Stationary(Motion):
    def __init__(self, origin: Origin, alt: float) -> None:
        super().__init__(origin)
        self.alt = alt

    def ne_up(self, t: float) -> tuple[float, float, float, float, float, float]:
        return 0.0, 0.0, self.alt, 0.0, 0.0, 0.0


class Waypoints(Motion):
    def __init__(self, origin: Origin, points: list[tuple[float, float, float, float]]) -> None:
        super().__init__(origin)
        self.points = points  # (t, north, east, alt)

    def ne_up(self, t: float) -> tuple[float, float, float, float, float, float]:
        pts = self.points
        if t <= pts[0][0]:
            return pts[0][1], pts[0][2], pts[0][3], 0.0, 0.0, 0.0
        if t >= pts[-1][0]:
            return pts[-1][1], pts[-1][2], pts[-1][3], 0.0, 0.0, 0.0
        lo, hi = 0, len(pts) - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if pts[mid][0] <= t:
                lo = mid
            else:
                hi = mid
        (t0, n0, e0, a0), (t1, n1, e1, a1) = pts[lo], pts[hi]
        f = (t - t0) / (t1 - t0)
        dt = t1 - t0
        return (n0 + (n1 - n0) * f, e0 + (e1 - e0) * f, a0 + (a1 - a0) * f,
                (n1 - n0) / dt, (e1 - e0) / dt, (a1 - a0) / dt)


class Circle(Motion):
    def __init__(self, origin: Origin, radius: float, period: float, alt: float, clockwise: bool,
                 start_bearing: float) -> None:
        super().__init__(origin)
        self.radius, self.period, self.alt = radius, period, alt
        self.sign = 1.0 if clockwise else -1.0
        self.start = math.radians(start_bearing)

    def ne_up(self, t: float) -> tuple[float, float, float, float, float, float]:
        w = self.sign * 2 * math.pi / self.period
        b = self.start + w * t  # bearing from the centre
        r = self.radius
        return (r * math.cos(b), r * math.sin(b), self.alt, -r * w * math.sin(b), r * w * math.cos(b), 0.0)


class Offset(Motion):
    """Another path moved by ``offset(t) -> (north, east)`` metres (spoofed positions)."""

    def __init__(self, base: Motion, offset: Callable[[float], tuple[float, float]]) -> None:
        super().__init__(base.origin)
        self.base, self.offset = base, offset

    def ne_up(self, t: float) -> tuple[float, float, float, float, float, float]:
        n, e, up, vn, ve, vu = self.base.ne_up(t)
        dn, de = self.offset(t)
        h = 1e-3
        dn2, de2 = self.offset(t + h)
        return n + dn, e + de, up, vn + (dn2 - dn) / h, ve + (de2 - de) / h, vu


# ----------------------------------------------------------------------------- scenario objects

def _rng(*parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in parts))


def _random_mac(rng: random.Random, oui: str | None = None) -> str:
    if oui is None:
        first = (rng.randrange(256) & 0xFC) | 0x02  # locally administered, unicast
        head = bytes((first, rng.randrange(256), rng.randrange(256)))
    else:
        head = bytes.fromhex(oui.replace(":", ""))
    return (head + rng.randbytes(3)).hex(":")


def _random_ble(rng: random.Random, static: bool = True) -> str:
    raw = bytearray(rng.randbytes(6))
    raw[0] = (raw[0] | 0xC0) if static else (raw[0] & 0x3F)  # static random / non-resolvable private
    return bytes(raw).hex(":")


def _random_serial(rng: random.Random, mfr: str = "1SMX") -> str:
    body = "".join(rng.choice(SERIAL_CHARS) for _ in range(15))
    return f"{mfr}F{body}"


def serial_valid(serial: str) -> bool:
    """ANSI/CTA-2063-A: 4-char manufacturer code, a length char 1-F, then exactly that many chars."""
    if len(serial) < 6 or any(c not in SERIAL_CHARS for c in serial[:4]):
        return False
    if serial[4] not in "123456789ABCDEF":
        return False
    body = serial[5:]
    return len(body) == int(serial[4], 16) and all(c in SERIAL_CHARS for c in body)


def operator_id_valid(op: str) -> bool:
    """EN 4709-002 public part: 3 upper-case letters then 13 of [0-9a-z] (no checksum check)."""
    return len(op) == 16 and op[:3].isascii() and op[:3].isalpha() and op[:3].isupper() and all(
        c in "0123456789abcdefghijklmnopqrstuvwxyz" for c in op[3:])


def _rssi(distance: float, freq_mhz: float, tx_dbm: float, rng: random.Random) -> int:
    return int(max(-100, min(-20, round(tx_dbm - free_space_loss_db(distance, freq_mhz) + rng.gauss(0, 2)))))


@dataclass
class Identity:
    """What one Remote ID identity says about itself, and where it is."""

    uas_id: str
    id_type: int
    ua_type: int
    path: Motion
    takeoff: tuple[float, float, float]  # lat, lon, WGS-84 alt
    geo_minus_baro: float
    operator: Motion | None
    operator_location_type: int
    operator_id: str | None
    self_id: str | None
    status_events: list[tuple[float, int]]
    french_id: str | None = None
    dji_product: int = 68

    def status(self, t: float, state: State) -> int:
        status = STATUS["airborne"] if state.alt_m - self.takeoff[2] > 0.5 else STATUS["ground"]
        for at, value in self.status_events:
            if t >= at:
                status = value
        return status


@dataclass
class Faults:
    omit: frozenset[str] = frozenset()
    location_interval_s: float | None = None
    no_operator_position: bool = False
    invalid_timestamp: bool = False
    out_of_range: frozenset[str] = frozenset()

    def any(self) -> bool:
        return bool(self.omit or self.location_interval_s or self.no_operator_position or self.invalid_timestamp
                    or self.out_of_range)


Item = tuple  # (time, object index, stream index, sequence, linktype or 0 for ADS-B, data)


class SimObject:
    """Base of everything that transmits.  ``streams(index)`` yields items in time order."""

    kind = ""

    def __init__(self, scenario: Scenario, name: str, t0: float, t1: float) -> None:
        self.scenario, self.name, self.t0, self.t1 = scenario, name, t0, t1
        self.counts: dict[str, int] = {}
        self.expect: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def streams(self, index: int) -> list[Iterator[Item]]:
        raise NotImplementedError

    def state(self, t: float) -> State | None:
        return None

    def truth(self) -> dict[str, Any]:
        raise NotImplementedError

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def _times(self, rate: float, *streamkey: object, t0: float | None = None, t1: float | None = None) -> Iterator[float]:
        """Emission times at ``rate`` Hz with a seeded phase and ±2 % jitter, in [t0, t1)."""
        start = self.t0 if t0 is None else t0
        end = self.t1 if t1 is None else t1
        period = 1.0 / rate
        rng = _rng(self.scenario.seed, self.name, "times", *streamkey)
        phase = rng.uniform(0.0, period)
        k = 0
        while True:
            t = max(start, start + phase + k * period + rng.uniform(-0.02, 0.02) * period)
            if t >= end:
                return
            yield round(self.scenario.start + t, 6)
            k += 1


class RidEmitter:
    """One transmitter sending Remote ID (or DJI / French / signature beacons) for identities."""

    def __init__(self, owner: Drone, tag: str, identities: list[Identity], transports: dict[str, float], *,
                 mac: str, ble_address: str, ble_rotation_s: float, channel: int, ssid: str | None,
                 signature: tuple[str, str] | None, faults: Faults, t0: float, t1: float,
                 counter_drops: list[float] = (), counter_drop_by: int = 0) -> None:
        self.owner, self.tag, self.identities = owner, tag, identities
        self.transports, self.mac, self.ble_address = transports, mac, ble_address
        self.ble_rotation_s, self.channel, self.ssid, self.signature = ble_rotation_s, channel, ssid, signature
        self.faults, self.t0, self.t1 = faults, t0, t1
        self.counter_drops, self.counter_drop_by = sorted(counter_drops), counter_drop_by
        self.ble_addresses: list[dict[str, Any]] = []
        if any(tr in ("bt4_legacy", "bt5_long_range") for tr in transports):
            self._plan_ble_addresses()

    def _plan_ble_addresses(self) -> None:
        sc = self.owner.scenario
        if self.ble_rotation_s <= 0:
            self.ble_addresses = [{"address": self.ble_address, "from": sc.start + self.t0, "until": sc.start + self.t1}]
            return
        k = 0
        while k * self.ble_rotation_s < self.t1 - self.t0:
            a = self.ble_address if k == 0 else _random_ble(_rng(sc.seed, self.owner.name, self.tag, "ble", k), False)
            lo = self.t0 + k * self.ble_rotation_s
            self.ble_addresses.append({"address": a, "from": sc.start + lo,
                                       "until": sc.start + min(self.t1, lo + self.ble_rotation_s)})
            k += 1

    def ble_at(self, t_rel: float) -> str:
        if self.ble_rotation_s <= 0:
            return self.ble_address
        k = min(int((t_rel - self.t0) // self.ble_rotation_s), len(self.ble_addresses) - 1)
        return self.ble_addresses[max(k, 0)]["address"]

    def counter(self, k: int, t_rel: float) -> int:
        drops = sum(1 for d in self.counter_drops if t_rel >= d)
        return (k - drops * self.counter_drop_by) & 0xFF

    # -- message building

    def location(self, ident: Identity, t: float, st: State, t_rel: float) -> Location:
        f = self.faults
        alt = st.alt_m
        loc = Location(lat=st.lat, lon=st.lon, alt_pressure_m=alt - ident.geo_minus_baro, alt_geodetic_m=alt,
                       height_m=alt - ident.takeoff[2], height_ref=HeightRef.TAKEOFF, direction=st.track,
                       speed_horizontal=st.speed, speed_vertical=st.v_up, status=ident.status(t_rel, st),
                       accuracy_horizontal=11, accuracy_vertical=4, accuracy_baro=3, accuracy_speed=3,
                       timestamp=(round(t * 10) % 36000) / 10.0, timestamp_accuracy=0.1)
        if f.invalid_timestamp:
            loc.timestamp = None  # with time None the encoder writes 0xFFFF
        if "position" in f.out_of_range:
            loc.lat = 95.0
        if "direction" in f.out_of_range:
            loc.direction = 400.0
        if "speed_vertical" in f.out_of_range:
            loc.speed_vertical = 70.0
        if "timestamp" in f.out_of_range:
            loc.timestamp = 4000.0
        return loc

    def operator_point(self, ident: Identity, t_rel: float) -> GeoPoint | None:
        if self.faults.no_operator_position:
            return None
        kind = {0: "takeoff", 1: "live_gnss", 2: "fixed"}[ident.operator_location_type]
        if ident.operator is None or ident.operator_location_type == 0:
            lat, lon, alt = ident.takeoff
            return GeoPoint(lat, lon, alt, kind)
        st = ident.operator.state(t_rel)
        return GeoPoint(st.lat, st.lon, st.alt_m, kind)

    def messages(self, ident: Identity, t: float, t_rel: float, st: State, with_location: bool) -> dict[str, bytes]:
        omit = self.faults.omit
        out: dict[str, bytes] = {}
        if "basic_id" not in omit:
            out["basic_id"] = rid.encode_basic_id(BasicID(ident.id_type, ident.ua_type, ident.uas_id))
        if with_location and "location" not in omit:
            out["location"] = rid.encode_location(self.location(ident, t, st, t_rel))
        if ident.self_id is not None and "self_id" not in omit:
            desc_type = 1 if ident.status(t_rel, st) == STATUS["emergency"] else 0
            out["self_id"] = rid.encode_self_id(SelfID(desc_type, ident.self_id))
        if "system" not in omit:
            system = System(ident.operator_location_type, 1, 1, 0, None, None, 1, 2, float(int(t)))
            out["system"] = rid.encode_system(system, self.operator_point(ident, t_rel))
        if ident.operator_id is not None and "operator_id" not in omit:
            out["operator_id"] = rid.encode_operator_id(OperatorID(0, ident.operator_id))
        return out

    # -- streams

    def streams(self, obj_index: int, base: int) -> list[Iterator[Item]]:
        out = []
        for n, (tr, rate) in enumerate(sorted(self.transports.items())):
            out.append(self._stream(tr, rate, obj_index, base + n))
        return out

    def _stream(self, transport: str, rate: float, obj_index: int, stream: int) -> Iterator[Item]:
        owner = self.owner
        sc = owner.scenario
        rng = _rng(sc.seed, owner.name, self.tag, transport, "radio")
        interval = self.faults.location_interval_s
        last_loc = -1e9
        static_turn = 0
        statics = [m for m in MESSAGES if m != "location"]
        n_ident = len(self.identities)
        key = f"{self.tag}:{transport}" if self.tag else transport
        for k, t in enumerate(owner._times(rate, self.tag, transport, t0=self.t0, t1=self.t1)):
            t_rel = t - sc.start
            ident = self.identities[(k // 2 if transport == "bt4_legacy" else k) % n_ident]
            st = ident.path.state(t_rel)
            dist = math.hypot(*sc.origin.ne(st.lat, st.lon), st.alt_m - sc.ground_alt) if abs(st.lat) < 89 else 1e7
            counter = self.counter(k, t_rel)
            if transport in RID_TRANSPORTS:
                due = interval is None or t_rel - last_loc >= interval - 1e-6
                if transport == "bt4_legacy":
                    want_loc = due and k % 2 == 0
                    msgs = self.messages(ident, t, t_rel, st, want_loc)
                    if want_loc and "location" in msgs:
                        message = msgs["location"]
                        last_loc = t_rel
                    else:
                        names = [m for m in statics if m in msgs]
                        if not names:
                            continue
                        message = msgs[names[static_turn % len(names)]]
                        static_turn += 1
                    data = ble.bt4_frame(message, counter, self.ble_at(t_rel), linktype=LE_PHDR,
                                         channel=37 + k % 3, rssi_dbm=_rssi(dist, 2402, 4, rng))
                    linktype = LE_PHDR
                else:
                    msgs = self.messages(ident, t, t_rel, st, due)
                    if due and "location" in msgs:
                        last_loc = t_rel
                    if not msgs:
                        continue
                    pack = rid.encode_pack([msgs[m] for m in MESSAGES if m in msgs])
                    if transport == "bt5_long_range":
                        data = ble.bt5_frame(pack, counter, self.ble_at(t_rel), channel=rng.randrange(37),
                                             rssi_dbm=_rssi(dist, 2440, 8, rng))
                        linktype = LE_PHDR
                    elif transport == "wifi_beacon":
                        mpdu = wifi.odid_beacon(self.mac, pack, counter, ssid=self.ssid or "", seq=k,
                                                tsf_us=int((t_rel - self.t0) * 1e6))
                        data = wifi.radiotap_frame(mpdu, channel=self.channel,
                                                   signal_dbm=_rssi(dist, wifi.channel_freq(self.channel), 18, rng))
                        linktype = RADIOTAP
                    else:
                        mpdu = wifi.nan_sdf(self.mac, pack, counter, seq=k)
                        data = wifi.radiotap_frame(mpdu, channel=self.channel,
                                                   signal_dbm=_rssi(dist, wifi.channel_freq(self.channel), 18, rng))
                        linktype = RADIOTAP
            elif transport == "dji_droneid":
                data = self._dji(ident, t, t_rel, st, k, dist, rng)
                linktype = RADIOTAP
            elif transport == "french_beacon":
                data = self._french(ident, st, k, dist, rng)
                linktype = RADIOTAP
            else:  # wifi_signature: the drone's own access point
                ssid, mac = self.signature or ("", self.mac)
                mpdu = wifi.ap_beacon(mac, ssid, self.channel, seq=k, tsf_us=int((t_rel - self.t0) * 1e6))
                data = wifi.radiotap_frame(mpdu, channel=self.channel,
                                           signal_dbm=_rssi(dist, wifi.channel_freq(self.channel), 18, rng))
                linktype = RADIOTAP
            owner._count(key)
            yield (t, obj_index, stream, k, linktype, data)

    def _dji(self, ident: Identity, t: float, t_rel: float, st: State, k: int, dist: float,
             rng: random.Random) -> bytes:
        height = st.alt_m - ident.takeoff[2]
        state_bits = 0x0001 | 0x0002 | 0x0004 | 0x0040 | 0x0080 | 0x0100 | 0x0200 | 0x0400
        if height > 0.5:
            state_bits |= 0x0010 | 0x0020
        yaw = (st.track + 180.0) % 360.0 - 180.0
        info = DjiInfo(version=2, sequence=k & 0xFFFF, state=state_bits, serial=ident.uas_id,
                       product_type=ident.dji_product, uuid="", yaw=yaw, pitch=None, roll=None,
                       v_north=round(st.v_north * 100), v_east=round(st.v_east * 100), v_up=round(st.v_up * 100),
                       altitude_raw=round(st.alt_m - ident.geo_minus_baro), height_raw=round(height * 10),
                       gps_time=t)
        pilot = self.operator_point(ident, t_rel)
        home = GeoPoint(ident.takeoff[0], ident.takeoff[1], None, "home")
        ie = wifi.dji_droneid_ie(info, Location(lat=st.lat, lon=st.lon), pilot, home)
        ssid = self.signature[0] if self.signature else ""
        mpdu = wifi.beacon(self.mac, [wifi.ssid_ie(ssid), ie], seq=k)
        return wifi.radiotap_frame(mpdu, channel=self.channel,
                                   signal_dbm=_rssi(dist, wifi.channel_freq(self.channel), 20, rng))

    def _french(self, ident: Identity, st: State, k: int, dist: float, rng: random.Random) -> bytes:
        loc = Location(lat=st.lat, lon=st.lon, alt_msl_m=st.alt_m - ident.geo_minus_baro,
                       height_m=st.alt_m - ident.takeoff[2], speed_horizontal=st.speed, direction=st.track)
        ie = wifi.french_ie(FrenchInfo(1, ident.french_id or ident.uas_id, None), loc,
                            GeoPoint(ident.takeoff[0], ident.takeoff[1], None, "takeoff"))
        mpdu = wifi.beacon(self.mac, [wifi.ssid_ie(self.ssid or ""), ie], seq=k)
        return wifi.radiotap_frame(mpdu, channel=self.channel,
                                   signal_dbm=_rssi(dist, wifi.channel_freq(self.channel), 18, rng))

    def truth(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for tr, rate in sorted(self.transports.items()):
            entry: dict[str, Any] = {"rate_hz": rate}
            if tr in ("bt4_legacy", "bt5_long_range"):
                entry["addresses"] = self.ble_addresses
            else:
                entry["transmitter"] = self.signature[1] if tr == "wifi_signature" and self.signature else self.mac
                entry["channel"] = self.channel
            if tr == "wifi_signature" and self.signature:
                entry["ssid"] = self.signature[0]
            key = f"{self.tag}:{tr}" if self.tag else tr
            entry["frames"] = self.owner.counts.get(key, 0)
            out[tr] = entry
        return out


def _parse_point(t: _Table, raw: Any, suffix: str, sc: Scenario, ground: float, *, need_alt: bool = True,
                 extra: tuple[str, ...] = ()) -> tuple[float, float, float | None, dict[str, Any]]:
    """(lat, lon, WGS-84 alt or None, extra values) of a point table."""
    p = t.sub(raw, suffix)
    if p.has("lat") or p.has("lon"):
        lat = p.num("lat", low=-90, high=90)
        lon = p.num("lon", low=-180, high=180)
        if p.has("north_m") or p.has("east_m"):
            raise p.error("north_m", "give lat/lon or north_m/east_m, not both")
    else:
        north = p.num("north_m", 0.0)
        east = p.num("east_m", 0.0)
        lat, lon = sc.origin.latlon(north, east)
    alt = None
    if p.has("alt_m"):
        alt = p.num("alt_m", low=-1000, high=30000)
        if p.has("height_m"):
            raise p.error("height_m", "give height_m or alt_m, not both")
    elif p.has("height_m"):
        alt = ground + p.num("height_m", low=-1000, high=30000)
    elif need_alt:
        alt = ground
    values = {}
    for key in extra:
        values[key] = p._get(key, None)
    p.done()
    return lat, lon, alt, values


def _parse_path(t: _Table, key: str, sc: Scenario, ground: float, default: Motion | None = None) -> Motion:
    if not t.has(key):
        if default is not None:
            return default
        raise t.error(key, "required (a table with type = waypoints | circle | stationary)")
    p = t.table(key)
    kind = p.str("type", choices=("waypoints", "circle", "stationary"))
    if kind == "stationary":
        lat, lon, alt, _ = _parse_point(p, p._get("at", _REQUIRED), ".at", sc, ground)
        p.done()
        return Stationary(Origin(lat, lon), alt)
    if kind == "circle":
        lat, lon, _, _ = _parse_point(p, p._get("center", _REQUIRED), ".center", sc, ground, need_alt=False)
        radius = p.num("radius_m", low=0)
        period = p.num("period_s", positive=True)
        if p.has("alt_m"):
            alt = p.num("alt_m")
        else:
            alt = ground + p.num("height_m", 0.0)
        clockwise = p.bool("clockwise", True)
        bearing = p.num("start_bearing_deg", 0.0)
        p.done()
        return Circle(Origin(lat, lon), radius, period, alt, clockwise, bearing)
    raw_points = p.list("points")
    if len(raw_points) < 1:
        raise p.error("points", "needs at least one point")
    parsed = []
    for i, rp in enumerate(raw_points):
        lat, lon, alt, extra = _parse_point(p, rp, f".points[{i}]", sc, ground, extra=("t",))
        tt = extra["t"]
        if isinstance(tt, bool) or not isinstance(tt, int | float):
            raise ScenarioError(f"{p.source}: {p.where}.points[{i}].t: required, a number of seconds")
        if parsed and tt <= parsed[-1][0]:
            raise ScenarioError(f"{p.source}: {p.where}.points[{i}].t: times must increase ({tt} after {parsed[-1][0]})")
        parsed.append((float(tt), lat, lon, alt))
    p.done()
    origin = Origin(parsed[0][1], parsed[0][2])
    return Waypoints(origin, [(tt, *origin.ne(lat, lon), alt) for tt, lat, lon, alt in parsed])


def _window(t: _Table, sc: Scenario) -> tuple[float, float]:
    t0 = t.num("start_s", 0.0, low=0)
    t1 = t.num("end_s", sc.duration, low=0)
    if t1 <= t0:
        raise t.error("end_s", f"must be after start_s ({t1} <= {t0})")
    return t0, min(t1, sc.duration)


class Drone(SimObject):
    kind = "drone"

    def __init__(self, sc: Scenario, t: _Table, name: str, index: int) -> None:
        t0, t1 = _window(t, sc)
        super().__init__(sc, name, t0, t1)
        rng = _rng(sc.seed, name, "identity")
        self.ground = t.num("ground_alt_m", sc.ground_alt)
        self.geo_minus_baro = t.num("geo_minus_baro_m", 0.0)
        self.path = _parse_path(t, "path", sc, self.ground, Stationary(sc.origin, self.ground))
        start = self.path.state(t0)
        takeoff = (start.lat, start.lon, self.ground)
        serial = t.str("serial", None)
        if serial is None:
            serial = _random_serial(rng)
        id_type = t._get("id_type", "serial")
        if isinstance(id_type, str) and id_type in ID_TYPES:
            id_type = ID_TYPES[id_type]
        elif isinstance(id_type, bool) or not isinstance(id_type, int) or not 0 <= id_type <= 15:
            raise t.error("id_type", f"{id_type!r} is not one of {', '.join(ID_TYPES)} or 0..15")
        ua_type = t.int("ua_type", 2, low=0, high=15)
        operator_id = t.str("operator_id", None)
        self_id = t.str("self_id", None)
        transports = t.list("transports", list(RID_TRANSPORTS))
        for i, tr in enumerate(transports):
            if tr not in TRANSPORTS:
                raise ScenarioError(f"{t.source}: {t.path('transports')}[{i}]: {tr!r} is not one of "
                                    f"{', '.join(TRANSPORTS)}")
        if len(set(transports)) != len(transports):
            raise t.error("transports", "lists a transport twice")
        self.noncooperative = not any(tr in RID_TRANSPORTS or tr in ("dji_droneid", "french_beacon")
                                      for tr in transports)
        if not transports:
            transports = ["wifi_signature"]
        sig = t.table("signature", None)
        self.signature: tuple[str, str] | None = None
        wants_signature = sig is not None or "wifi_signature" in transports or "dji_droneid" in transports
        oui = ssid_sig = None
        sig_rate = None
        if wants_signature:
            if sig is None:
                sig = _Table({}, t.path("signature"), t.source)
            oui = sig.str("oui", "60:60:1f")
            try:
                if len(bytes.fromhex(oui.replace(":", ""))) != 3:
                    raise ValueError
            except ValueError:
                raise sig.error("oui", f"{oui!r} is not an OUI (aa:bb:cc)") from None
            ssid_sig = sig.str("ssid", f"Mavic-{rng.randbytes(3).hex()}")
            if len(ssid_sig.encode()) > 32:
                raise sig.error("ssid", "longer than 32 bytes")
            sig_rate = sig.num("rate_hz", None, positive=True, high=50)
            sig.done()
            if "wifi_signature" not in transports and "dji_droneid" not in transports:
                transports.append("wifi_signature")
        rates = {tr: DEFAULT_RATES[tr] for tr in transports}
        if sig_rate is not None and "wifi_signature" in rates:
            rates["wifi_signature"] = sig_rate
        rates_raw = t.table("rates", None)
        if rates_raw is not None:
            for k in list(rates_raw.raw):
                if k not in TRANSPORTS:
                    raise rates_raw.error(k, f"not a transport ({', '.join(TRANSPORTS)})")
                if k not in rates:
                    raise rates_raw.error(k, "rate for a transport the drone does not use")
                rates[k] = rates_raw.num(k, positive=True, high=50)
            rates_raw.done()
        channel = t.int("channel", 6)
        try:
            wifi.channel_freq(channel)
        except ValueError:
            raise t.error("channel", f"{channel} is not a 2.4 GHz (1-14) or 5 GHz (36-177) channel") from None
        mac = _mac_text(t, "mac", _random_mac(_rng(sc.seed, name, "mac"), oui))
        if wants_signature:
            self.signature = (ssid_sig, mac)
        ble_address = _mac_text(t, "ble_address", _random_ble(_rng(sc.seed, name, "ble")))
        ble_rotation = t.num("ble_rotation_s", 0.0, low=0)
        ssid = t.str("ssid", None)
        if ssid is not None and len(ssid.encode()) > 32:
            raise t.error("ssid", "longer than 32 bytes")
        if ssid is None:
            ssid = f"RID-{serial}"[:32]
        dji = t.table("dji", None)
        product = 68
        if dji is not None:
            product = dji.int("product_type", 68, low=0, high=255)
            dji.done()
        french_id = t.str("french_id", None)
        olt = t.str("operator_location_type", "live_gnss", choices=tuple(OPERATOR_LOCATION_TYPES))
        operator = self._operator(t, sc)
        events = []
        for i, ev in enumerate(t.list("events", [])):
            e = t.sub(ev, f".events[{i}]")
            at = e.num("t", low=0)
            status = e.str("status", choices=tuple(STATUS))
            extra = e.list("expect", [])
            e.done()
            events.append((at, STATUS[status], status, extra))
        events.sort(key=lambda x: x[0])
        self.user_expect = [str(x) for x in t.list("expect", [])]
        faults = self._faults(t)
        self.identity = Identity(serial, id_type, ua_type, self.path, takeoff, self.geo_minus_baro, operator,
                                 OPERATOR_LOCATION_TYPES[olt], operator_id, self_id,
                                 [(a, s) for a, s, _, _ in events], french_id, product)
        self.event_list = events
        self.transports, self.rates, self.channel, self.faults = transports, rates, channel, faults
        self.mac, self.ble_address, self.ble_rotation, self.ssid = mac, ble_address, ble_rotation, ssid
        self._spoof_setup(t, sc, rng)
        t.done()

    def _operator(self, t: _Table, sc: Scenario) -> Motion | None:
        if not t.has("operator"):
            return None
        raw = t.raw["operator"]
        if isinstance(raw, dict) and "type" in raw:
            return _parse_path(t, "operator", sc, self.ground)
        lat, lon, alt, _ = _parse_point(t, raw, ".operator", sc, self.ground)
        return Stationary(Origin(lat, lon), alt)

    def _faults(self, t: _Table) -> Faults:
        f = t.table("faults", None)
        if f is None:
            return Faults()
        omit = f.list("omit", [])
        for i, m in enumerate(omit):
            if m not in MESSAGES:
                raise ScenarioError(f"{f.source}: {f.path('omit')}[{i}]: {m!r} is not one of {', '.join(MESSAGES)}")
        oor = f.list("out_of_range", [])
        for i, m in enumerate(oor):
            if m not in OUT_OF_RANGE:
                raise ScenarioError(f"{f.source}: {f.path('out_of_range')}[{i}]: {m!r} is not one of "
                                    f"{', '.join(OUT_OF_RANGE)}")
        faults = Faults(frozenset(omit), f.num("location_interval_s", None, positive=True),
                        f.bool("no_operator_position"), f.bool("invalid_timestamp"), frozenset(oor))
        f.done()
        return faults

    def _spoof_setup(self, t: _Table, sc: Scenario, rng: random.Random) -> None:
        self.emitters = [RidEmitter(self, "", [self.identity], self.rates, mac=self.mac, ble_address=self.ble_address,
                                    ble_rotation_s=self.ble_rotation, channel=self.channel, ssid=self.ssid,
                                    signature=self.signature, faults=self.faults, t0=self.t0, t1=self.t1)]

    def state(self, t: float) -> State:
        return self.path.state(t)

    def streams(self, index: int) -> list[Iterator[Item]]:
        out: list[Iterator[Item]] = []
        for n, em in enumerate(self.emitters):
            out += em.streams(index, n * 16)
        return out

    def identity_truth(self, ident: Identity) -> dict[str, Any]:
        out: dict[str, Any] = {"uas_id": ident.uas_id, "id_type": ident.id_type, "ua_type": ident.ua_type}
        if ident.id_type == 1:
            out["serial_valid"] = serial_valid(ident.uas_id)
        if ident.operator_id is not None:
            out["operator_id"] = ident.operator_id
            out["operator_id_valid"] = operator_id_valid(ident.operator_id)
        if ident.self_id is not None:
            out["self_id"] = ident.self_id
        if ident.french_id is not None:
            out["french_id"] = ident.french_id
        return out

    def derive_expectations(self) -> None:
        ident = self.identity
        tr = set(self.transports)
        x = self.expect
        if self.noncooperative:
            x.append({"rule": "NC-1", "severity": "MEDIUM", "why": "Wi-Fi AP with a drone maker's OUI and SSID"})
            x.append({"rule": "NC-4", "severity": "HIGH", "why": "drone signature and no Remote ID",
                      "position_broadcast": False})
        elif not tr & set(RID_TRANSPORTS):
            if "dji_droneid" in tr:
                x.append({"rule": "NC-3", "severity": "MEDIUM", "why": "DJI DroneID (proprietary) only"})
            x.append({"rule": "NC-4", "severity": "HIGH", "why": "no ASTM/ASD-STAN Remote ID",
                      "position_broadcast": True})
        if tr & set(RID_TRANSPORTS):
            f = self.faults
            if "location" in f.omit or (f.location_interval_s or 0) > 3.0:
                x.append({"rule": "RID-1", "severity": "MEDIUM", "why": "Location interval "
                          + ("infinite" if "location" in f.omit else f"{f.location_interval_s} s")})
            if "basic_id" in f.omit or "system" in f.omit:
                x.append({"rule": "RID-2", "severity": "LOW", "why": "Basic ID / System never sent"})
            missing = sorted(f.omit & {"basic_id", "location", "system", "operator_id"})
            if f.no_operator_position:
                missing.append("operator_position")
            if missing:
                x.append({"rule": "RID-4", "severity": "MEDIUM", "why": f"missing: {', '.join(missing)}"})
            wifi_rid = tr & {"wifi_beacon"}
            if wifi_rid and self.channel not in (6, 149) and self.rates["wifi_beacon"] < 5:
                x.append({"rule": "RID-3", "severity": "LOW", "why": f"beacon on channel {self.channel} below 5 Hz"})
            if f.invalid_timestamp:
                x.append({"rule": "RID-6", "severity": "MEDIUM", "why": "Location timestamp 0xFFFF"})
            if f.out_of_range:
                x.append({"rule": "RID-8", "severity": "HIGH", "why": f"out of range: {', '.join(sorted(f.out_of_range))}"})
            if ident.id_type == 1 and "basic_id" not in f.omit and not serial_valid(ident.uas_id):
                x.append({"rule": "RID-9", "severity": "MEDIUM", "why": f"serial {ident.uas_id!r} fails ANSI/CTA-2063-A"})
            if ident.operator_id is not None and "operator_id" not in f.omit and not operator_id_valid(ident.operator_id):
                x.append({"rule": "RID-10", "severity": "LOW", "why": f"operator ID {ident.operator_id!r} malformed"})
        for at, _, status, extra in self.event_list:
            ev: dict[str, Any] = {"t": self.scenario.start + at, "t_s": at, "status": status}
            expect = []
            if status == "emergency":
                expect.append({"rule": "RID-11", "severity": "HIGH"})
            elif status == "system_failure":
                expect.append({"rule": "RID-12", "severity": "HIGH"})
            expect += [{"note": str(e)} for e in extra]
            ev["expect"] = expect
            self.events.append(ev)
        if tr & set(RID_TRANSPORTS) or "dji_droneid" in tr or "french_beacon" in tr:
            top_h = top_v = 0.0
            step = max(1.0, (self.t1 - self.t0) / 2000)
            tt = self.t0
            while tt <= self.t1:
                st = self.state(tt)
                top_h = max(top_h, st.alt_m - ident.takeoff[2])
                top_v = max(top_v, st.speed)
                tt += step
            if top_h > PART107_HEIGHT or top_v > PART107_SPEED:
                x.append({"rule": "RID-14", "severity": "LOW",
                          "why": f"max height {top_h:.0f} m, max speed {top_v:.1f} m/s"})
        x += [{"note": e} for e in self.user_expect]

    def truth(self) -> dict[str, Any]:
        em = self.emitters[0]
        out: dict[str, Any] = {
            "name": self.name, "kind": self.kind, "identity": self.identity_truth(self.identity),
            "active": [self.scenario.start + self.t0, self.scenario.start + self.t1],
            "noncooperative": self.noncooperative,
            "transports": em.truth(),
        }
        if self.signature:
            out["signature"] = {"ssid": self.signature[0], "transmitter": self.signature[1]}
        if self.faults.any():
            f = self.faults
            out["faults"] = {"omit": sorted(f.omit), "location_interval_s": f.location_interval_s,
                             "no_operator_position": f.no_operator_position,
                             "invalid_timestamp": f.invalid_timestamp, "out_of_range": sorted(f.out_of_range)}
        out["takeoff"] = list(self.identity.takeoff)
        if self.identity.operator is not None:
            st = self.identity.operator.state(self.t0)
            out["operator_start"] = [st.lat, st.lon, st.alt_m]
        out["geo_minus_baro_m"] = self.geo_minus_baro
        out["path"] = _samples(self.state, self.scenario, self.t0, self.t1)
        return out


class Spoofer(Drone):
    kind = "spoofer"

    def _spoof_setup(self, t: _Table, sc: Scenario, rng: random.Random) -> None:
        mode = t.str("mode", choices=SPOOF_MODES)
        self.mode = mode
        self.spoof: dict[str, Any] = {"mode": mode}
        base = dict(ble_rotation_s=self.ble_rotation, channel=self.channel, ssid=self.ssid,
                    signature=self.signature, faults=self.faults, t0=self.t0, t1=self.t1)
        ident = self.identity
        if mode == "teleport":
            every = t.num("jump_every_s", 5.0, positive=True)
            jump = t.num("jump_m", 3000.0, positive=True)
            bearing = math.radians(t.num("jump_bearing_deg", 90.0))
            self.spoof.update(jump_every_s=every, jump_m=jump)

            def off(tt: float) -> tuple[float, float]:
                on = int((tt - self.t0) // every) % 2 == 1
                return (jump * math.cos(bearing), jump * math.sin(bearing)) if on else (0.0, 0.0)

            self.path = ident.path = Offset(self.path, off)
        elif mode == "far_operator":
            dist = t.num("operator_distance_m", 20000.0, positive=True)
            bearing = math.radians(t.num("operator_bearing_deg", 0.0))
            st = self.path.state(self.t0)
            ident.operator = Stationary(Origin(*Origin(st.lat, st.lon).latlon(dist * math.cos(bearing),
                                                                             dist * math.sin(bearing))), self.ground)
            self.spoof["operator_distance_m"] = dist
        elif mode == "null_island":
            radius = t.num("radius_m", 500.0, low=0)
            alt = self.path.state(self.t0).alt_m
            self.path = ident.path = Circle(Origin(0.0, 0.0), radius, 120.0, alt, True, 0.0) if radius > 0 \
                else Stationary(Origin(0.0, 0.0), alt)
            first = self.path.state(self.t0)  # 0/0 itself would read back as "unknown"
            ident.takeoff = (first.lat, first.lon, self.ground)
            self.spoof["radius_m"] = radius
        elif mode == "counter_regression":
            at = [float(x) for x in t.list("regress_at_s", [20.0, 40.0])]
            by = t.int("regress_by", 5, low=1, high=255)
            base.update(counter_drops=at, counter_drop_by=by)
            self.spoof.update(regress_at_s=at, regress_by=by)
        elif mode == "duplicate":
            speed = t.num("divergence_m_per_s", 20.0, positive=True)
            cap = t.num("divergence_m", 1000.0, positive=True)
            bearing = math.radians(t.num("divergence_bearing_deg", 45.0))
            mac2 = _mac_text(t, "mac2", _random_mac(_rng(sc.seed, self.name, "mac2"), self.mac[:8]))
            ble2 = _mac_text(t, "ble_address2", _random_ble(_rng(sc.seed, self.name, "ble2")))

            def off(tt: float) -> tuple[float, float]:
                d = min(cap, speed * max(0.0, tt - self.t0))
                return d * math.cos(bearing), d * math.sin(bearing)

            twin = Identity(**{**ident.__dict__, "path": Offset(self.path, off)})
            self.emitters = [
                RidEmitter(self, "", [ident], self.rates, mac=self.mac, ble_address=self.ble_address, **base),
                RidEmitter(self, "twin", [twin], self.rates, mac=mac2, ble_address=ble2, **base)]
            self.twin = twin
            self.spoof.update(divergence_m_per_s=speed, divergence_m=cap)
            return
        elif mode == "multi_identity":
            n = t.int("identities", 5, low=2, high=100)
            speed = t.num("divergence_m_per_s", 10.0, positive=True)
            idents = []
            for i in range(n):
                bearing = 2 * math.pi * i / n

                def off(tt: float, b: float = bearing) -> tuple[float, float]:
                    d = speed * max(0.0, tt - self.t0)
                    return d * math.cos(b), d * math.sin(b)

                serial = ident.uas_id if i == 0 else _random_serial(_rng(sc.seed, self.name, "serial", i))
                idents.append(Identity(**{**ident.__dict__, "uas_id": serial, "path": Offset(self.path, off)}))
            self.idents = idents
            rates = {tr: r * n for tr, r in self.rates.items()}  # each identity keeps the per-identity rate
            self.emitters = [RidEmitter(self, "", idents, rates, mac=self.mac, ble_address=self.ble_address, **base)]
            self.spoof.update(identities=n, divergence_m_per_s=speed)
            return
        elif mode == "flood":
            per_min = t.num("rate_per_min", 60.0, positive=True)
            life = t.num("lifetime_s", 3.0, positive=True)
            radius = t.num("radius_m", 300.0, low=0)
            self.flood = (per_min, life, radius)
            self.emitters = []
            k = 0
            while True:
                born = self.t0 + k * 60.0 / per_min
                if born >= self.t1:
                    break
                r = _rng(sc.seed, self.name, "flood", k)
                d, b = radius * math.sqrt(r.random()), r.uniform(0, 2 * math.pi)

                def off(tt: float, dn: float = d * math.cos(b), de: float = d * math.sin(b)) -> tuple[float, float]:
                    return dn, de

                one = Identity(**{**ident.__dict__, "uas_id": _random_serial(r, "1FLD"), "path": Offset(self.path, off),
                                  "operator_id": None})
                fb = {**base, "t0": born, "t1": min(self.t1, born + life), "ssid": ""}
                self.emitters.append(RidEmitter(self, f"id{k}", [one], self.rates, mac=_random_mac(r),
                                                ble_address=_random_ble(r), **fb))
                k += 1
            self.spoof.update(rate_per_min=per_min, lifetime_s=life, radius_m=radius, identities=k)
            return
        self.emitters = [RidEmitter(self, "", [ident], self.rates, mac=self.mac, ble_address=self.ble_address, **base)]

    def streams(self, index: int) -> list[Iterator[Item]]:
        if self.mode != "flood":
            return super().streams(index)
        start = self.scenario.start
        return [_lazy_merge((start + em.t0, em.streams(index, 16 * n)) for n, em in enumerate(self.emitters))]

    def derive_expectations(self) -> None:
        super().derive_expectations()
        rule, severity = SPOOF_RULES[self.mode]
        self.expect.insert(0, {"rule": rule, "severity": severity, "why": self.mode.replace("_", " ")})

    def truth(self) -> dict[str, Any]:
        out = super().truth()
        out["spoof"] = self.spoof
        if self.mode == "duplicate":
            out["transmitters"] = [em.truth() for em in self.emitters]
        elif self.mode == "multi_identity":
            out["identities"] = [self.identity_truth(i) for i in self.idents]
        elif self.mode == "flood":
            out["identities"] = [{"uas_id": em.identities[0].uas_id, "active": [self.scenario.start + em.t0,
                                                                                self.scenario.start + em.t1],
                                  "transports": em.truth()} for em in self.emitters]
            out.pop("path", None)
            out["transports"] = {tr: {"rate_hz": r, "frames": sum(v for k, v in self.counts.items()
                                                                  if k.endswith(":" + tr))}
                                 for tr, r in sorted(self.rates.items())}
        return out


def _lazy_merge(births: Iterable[tuple[float, list[Iterator[Item]]]]) -> Iterator[Item]:
    """Merge streams that start at known, increasing times, opening each only when it is due."""
    heap: list[tuple[Item, int, Iterator[Item]]] = []
    it = iter(births)
    nxt = next(it, None)
    n = 0
    while heap or nxt is not None:
        while nxt is not None and (not heap or nxt[0] <= heap[0][0][0]):
            for g in nxt[1]:
                first = next(g, None)
                if first is not None:
                    heapq.heappush(heap, (first, n, g))
                    n += 1
            nxt = next(it, None)
        if not heap:
            continue
        item, _, g = heapq.heappop(heap)
        yield item
        following = next(g, None)
        if following is not None:
            heapq.heappush(heap, (following, n, g))
            n += 1


class Aircraft(SimObject):
    kind = "aircraft"

    def __init__(self, sc: Scenario, t: _Table, name: str, index: int) -> None:
        t0, t1 = _window(t, sc)
        super().__init__(sc, name, t0, t1)
        icao = t.str("icao")
        try:
            if len(icao) != 6:
                raise ValueError
            int(icao, 16)
        except ValueError:
            raise t.error("icao", f"{icao!r} is not a 24-bit address (6 hex digits)") from None
        self.icao = icao.lower()
        callsign = t.str("callsign", "")
        if len(callsign) > 8 or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 " for c in callsign.upper()):
            raise t.error("callsign", f"{callsign!r}: at most 8 of A-Z, 0-9, space")
        self.callsign = callsign.upper()
        category = t.str("category", "A1")
        if len(category) != 2 or category[0] not in "ABC" or category[1] not in "01234567":
            raise t.error("category", f"{category!r} is not an emitter category (A0..A7, B0..B7, C0..C7)")
        self.category = category
        self.geo_minus_baro = t.num("geo_minus_baro_m", 0.0)
        if abs(self.geo_minus_baro) > 3150 * FT:
            raise t.error("geo_minus_baro_m", "beyond what the velocity message carries (±3150 ft)")
        self.ground = t.num("ground_alt_m", sc.ground_alt)
        self.path = _parse_path(t, "path", sc, self.ground)
        self.position_hz = t.num("position_hz", 2.0, positive=True, high=10)
        self.velocity_hz = t.num("velocity_hz", 2.0, positive=True, high=10)
        self.ident_period = t.num("ident_period_s", 5.0, positive=True)
        self.df = t.int("df", 17, low=17, high=18)
        self.nac_v = t.int("nac_v", 1, low=0, high=7)
        self.user_expect = [str(x) for x in t.list("expect", [])]
        t.done()

    def state(self, t: float) -> State:
        return self.path.state(t)

    def baro_ft(self, st: State) -> float:
        return (st.alt_m - self.geo_minus_baro) / FT

    def streams(self, index: int) -> list[Iterator[Item]]:
        return [self._positions(index, 0), self._velocities(index, 1), self._idents(index, 2)]

    def _squitter(self, me: int) -> bytes:
        return modes.extended_squitter(self.icao, me, df=self.df, ca=5 if self.df == 17 else 0)

    def _positions(self, index: int, stream: int) -> Iterator[Item]:
        for k, t in enumerate(self._times(self.position_hz, "pos")):
            st = self.state(t - self.scenario.start)
            fmt = k % 2
            lat, lon = cpr_encode(st.lat, st.lon, fmt)
            alt_ft = max(-1000.0, min(50175.0, self.baro_ft(st)))
            self._count("airborne_position")
            yield (t, index, stream, k, 0, self._squitter(modes.airborne_position_me(alt_ft, fmt, lat, lon)))

    def _velocities(self, index: int, stream: int) -> Iterator[Item]:
        for k, t in enumerate(self._times(self.velocity_hz, "vel")):
            st = self.state(t - self.scenario.start)
            self._count("velocity")
            yield (t, index, stream, k, 0, self._squitter(velocity_me(st.v_north, st.v_east, st.v_up,
                                                                      self.geo_minus_baro, self.nac_v)))

    def _idents(self, index: int, stream: int) -> Iterator[Item]:
        tc = {"A": 4, "B": 3, "C": 2}[self.category[0]]
        me = modes.ident_me(self.callsign, tc=tc, category=int(self.category[1]))
        for k, t in enumerate(self._times(1.0 / self.ident_period, "ident")):
            self._count("identification")
            yield (t, index, stream, k, 0, self._squitter(me))

    def derive_expectations(self) -> None:
        if self.category == "B6":
            self.expect.append({"rule": "B6", "severity": "MEDIUM", "why": "UAV broadcasting ADS-B (not allow-listed)"})
        self.expect += [{"note": e} for e in self.user_expect]

    def truth(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "icao": self.icao, "callsign": self.callsign,
                "category": self.category, "df": self.df, "geo_minus_baro_m": self.geo_minus_baro,
                "active": [self.scenario.start + self.t0, self.scenario.start + self.t1],
                "rates": {"airborne_position_hz": self.position_hz, "velocity_hz": self.velocity_hz,
                          "identification_period_s": self.ident_period},
                "messages": dict(sorted(self.counts.items())),
                "path": _samples(self.state, self.scenario, self.t0, self.t1, baro=self.geo_minus_baro)}


class Background(SimObject):
    kind = "background"

    def __init__(self, sc: Scenario, t: _Table, name: str, index: int) -> None:
        t0, t1 = _window(t, sc)
        super().__init__(sc, name, t0, t1)
        self.n_aps = t.int("access_points", 8, low=0, high=500)
        self.ap_hz = t.num("ap_beacon_hz", 1.0, positive=True, high=10)
        self.n_phones = t.int("phones", 3, low=0, high=500)
        self.probe_interval = t.num("probe_interval_s", 10.0, positive=True)
        self.data_hz = t.num("data_hz", 2.0, low=0, high=200)
        self.n_ble = t.int("ble_advertisers", 4, low=0, high=500)
        self.ble_hz = t.num("ble_adv_hz", 1.0, positive=True, high=50)
        channels = t.list("channels", list(SENSOR_DEFAULT_CHANNELS))
        for i, ch in enumerate(channels):
            try:
                wifi.channel_freq(ch)
            except (ValueError, TypeError):
                raise ScenarioError(f"{t.source}: {t.path('channels')}[{i}]: {ch!r} is not a Wi-Fi channel") from None
        if not channels:
            raise t.error("channels", "needs at least one channel")
        t.done()
        rng = _rng(sc.seed, name, "setup")
        self.aps = [(_random_mac(rng, rng.choice(AP_OUIS)), f"{rng.choice(('Post', 'Guest', 'Office', 'Cam'))}-{i}",
                     rng.choice(channels)) for i in range(self.n_aps)]
        self.phones = [_random_mac(rng) for _ in range(self.n_phones)]
        self.ble = [_random_ble(rng) for _ in range(self.n_ble)]

    def streams(self, index: int) -> list[Iterator[Item]]:
        out = [self._ap(index, n, ap) for n, ap in enumerate(self.aps)]
        base = len(out)
        out += [self._probes(index, base + n, phone) for n, phone in enumerate(self.phones)]
        base = len(out)
        if self.data_hz > 0 and self.aps and self.phones:
            out.append(self._data(index, base))
        base += 1
        out += [self._ble(index, base + n, addr) for n, addr in enumerate(self.ble)]
        return out

    def _ap(self, index: int, stream: int, ap: tuple[str, str, int]) -> Iterator[Item]:
        bssid, ssid, ch = ap
        rng = _rng(self.scenario.seed, self.name, "ap", stream)
        level = rng.randint(-85, -45)
        for k, t in enumerate(self._times(self.ap_hz, "ap", stream)):
            mpdu = wifi.ap_beacon(bssid, ssid, ch, seq=k, tsf_us=int((t - self.scenario.start) * 1e6))
            self._count("ap_beacon")
            yield (t, index, stream, k, RADIOTAP,
                   wifi.radiotap_frame(mpdu, channel=ch, signal_dbm=level + rng.randint(-3, 3)))

    def _probes(self, index: int, stream: int, phone: str) -> Iterator[Item]:
        rng = _rng(self.scenario.seed, self.name, "probe", stream)
        for k, t in enumerate(self._times(1.0 / self.probe_interval, "probe", stream)):
            ch = SENSOR_DEFAULT_CHANNELS[k % 3]
            self._count("probe_request")
            yield (t, index, stream, k, RADIOTAP,
                   wifi.radiotap_frame(wifi.probe_request(phone, seq=k), channel=ch, signal_dbm=rng.randint(-90, -50),
                                       rate_mbps=1.0))

    def _data(self, index: int, stream: int) -> Iterator[Item]:
        rng = _rng(self.scenario.seed, self.name, "data")
        for k, t in enumerate(self._times(self.data_hz, "data")):
            bssid, _, ch = self.aps[rng.randrange(len(self.aps))]
            phone = self.phones[rng.randrange(len(self.phones))]
            up = rng.random() < 0.5
            mpdu = wifi.data_frame(phone if up else bssid, bssid if up else phone, bssid,
                                   rng.randbytes(rng.randint(40, 160)), to_ds=up, seq=k)
            self._count("data")
            yield (t, index, stream, k, RADIOTAP, wifi.radiotap_frame(mpdu, channel=ch, signal_dbm=rng.randint(-90, -40)))

    def _ble(self, index: int, stream: int, addr: str) -> Iterator[Item]:
        rng = _rng(self.scenario.seed, self.name, "ble", stream)
        payload = rng.randbytes(rng.randint(6, 20))
        company = rng.choice((0x004C, 0x0006, 0x0075, 0x00E0))
        for k, t in enumerate(self._times(self.ble_hz, "ble", stream)):
            pdu = ble.adv_nonconn_ind(addr, manufacturer_advdata(company, payload))
            self._count("ble_advertisement")
            yield (t, index, stream, k, LE_PHDR,
                   ble.le_ll_phdr_frame(pdu, channel=37 + k % 3, rssi_dbm=rng.randint(-95, -55)))

    def truth(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind,
                "active": [self.scenario.start + self.t0, self.scenario.start + self.t1],
                "access_points": [{"bssid": b, "ssid": s, "channel": c} for b, s, c in self.aps],
                "phones": self.phones, "ble_advertisers": self.ble,
                "frames": dict(sorted(self.counts.items()))}

    def derive_expectations(self) -> None:
        self.expect.append({"rule": "none", "why": "background traffic: no alert, no drone contact"})


# ------------------------------------------------------------------------- Mode S / BLE helpers

def cpr_encode(lat: float, lon: float, fmt: int) -> tuple[int, int]:
    """Airborne CPR (17 bits) of a position, even (0) or odd (1), as DO-260B defines it."""
    dlat = 360.0 / (60 - fmt)
    yz = math.floor(CPR_BITS * ((lat % dlat) / dlat) + 0.5)
    rlat = dlat * (yz / CPR_BITS + math.floor(lat / dlat))
    ni = max(cprNL(rlat) - fmt, 1)
    dlon = 360.0 / ni
    xz = math.floor(CPR_BITS * ((lon % dlon) / dlon) + 0.5)
    return yz & (CPR_BITS - 1), xz & (CPR_BITS - 1)


def velocity_me(v_north: float, v_east: float, v_up: float, geo_minus_baro_m: float, nac_v: int = 1) -> int:
    """TC 19 subtype 1 (ground speed, subsonic) ME field: 1 kt east/north, 64 ft/min vertical rate
    (GNSS source), GNSS-minus-baro difference in 25 ft steps.

    Not in :mod:`airwatch.encoders.adsb` (which has no velocity message yet): kept here, and
    checked against pyModeS's decoder by the tests.
    """
    def comp(v_mps: float) -> tuple[int, int]:
        kt = round(abs(v_mps) / KT)
        return (1 if v_mps < 0 else 0), min(kt + 1, 1023)

    s_ew, v_ew = comp(v_east)
    s_ns, v_ns = comp(v_north)
    fpm = v_up / FT * 60.0
    s_vr, vr = (1 if fpm < 0 else 0), min(round(abs(fpm) / 64) + 1, 511)
    diff_ft = geo_minus_baro_m / FT
    s_dif, dif = (1 if diff_ft < 0 else 0), min(round(abs(diff_ft) / 25) + 1, 127)
    me = 19 << 51 | 1 << 48  # TC, subtype 1; intent change 0, IFR 0
    me |= (nac_v & 7) << 43 | s_ew << 42 | v_ew << 32 | s_ns << 31 | v_ns << 21
    me |= 0 << 20 | s_vr << 19 | vr << 10  # vertical rate source 0 = GNSS
    me |= s_dif << 7 | dif
    return me


def manufacturer_advdata(company: int, payload: bytes) -> bytes:
    """Flags AD + Manufacturer Specific Data AD (not Remote ID): background BLE advertisers."""
    return bytes((2, 0x01, 0x06, 3 + len(payload), 0xFF, company & 0xFF, company >> 8)) + payload


# ------------------------------------------------------------------------------- the scenario

def _samples(state: Callable[[float], State], sc: Scenario, t0: float, t1: float,
             baro: float | None = None) -> list[list[float]]:
    """Path every TRUTH_PATH_STEP_S: [time, lat, lon, WGS-84 alt] (+ pressure alt for aircraft)."""
    out = []
    tt = t0
    while True:
        st = state(tt)
        row = [round(sc.start + tt, 3), round(st.lat, 7), round(st.lon, 7), round(st.alt_m, 1)]
        if baro is not None:
            row.append(round(st.alt_m - baro, 1))
        out.append(row)
        if tt >= t1:
            return out
        tt = min(t1, tt + TRUTH_PATH_STEP_S)


@dataclass
class Zone:
    name: str
    lat: float
    lon: float
    radius_m: float
    ceiling_m: float | None
    floor_m: float | None

    severity: str = "high"

    def config(self) -> dict[str, Any]:
        """The zone as a ``[[zones]]`` table of airwatch's config.toml (heights above ground/take-off)."""
        out: dict[str, Any] = {"name": self.name, "lat": round(self.lat, 7), "lon": round(self.lon, 7),
                               "radius_m": self.radius_m}
        if self.floor_m is not None:
            out["floor_m"] = self.floor_m
        if self.ceiling_m is not None:
            out["ceiling_m"] = self.ceiling_m
        out["altitude_ref"] = "height"
        out["severity"] = self.severity
        return out

    def contains(self, st: State, ground: float) -> bool:
        if distance_m(self.lat, self.lon, st.lat, st.lon) > self.radius_m:
            return False
        h = st.alt_m - ground
        return (self.ceiling_m is None or h <= self.ceiling_m) and (self.floor_m is None or h >= self.floor_m)


@dataclass
class Scenario:
    source: str
    name: str
    description: str
    start: float
    duration: float
    seed: int
    sensor_id: str
    sensor_lat: float
    sensor_lon: float
    ground_alt: float
    origin: Origin = field(init=False)
    zones: list[Zone] = field(default_factory=list)
    objects: list[SimObject] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.origin = Origin(self.sensor_lat, self.sensor_lon)

    def object(self, name: str) -> SimObject:
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(name)


_CLASSES: dict[str, type[SimObject]] = {"drone": Drone, "spoofer": Spoofer, "aircraft": Aircraft,
                                         "background": Background}


def load_scenario(scenario: str | Path | dict[str, Any], *, name: str | None = None,
                  seed: int | None = None) -> Scenario:
    """Read and validate a scenario (a TOML file or its parsed dict).  Raises :class:`ScenarioError`."""
    if isinstance(scenario, dict):
        raw, source, stem = scenario, "<scenario>", "scenario"
    else:
        path = Path(scenario)
        source, stem = str(path), path.stem
        raw = read_toml(path, ScenarioError, "scenario file")
    top = _Table(raw, "", source)
    s = top.table("scenario")
    sc_name = s.str("name", stem)
    sc_name = name or sc_name
    if not sc_name or any(c in sc_name for c in "/\\\0") or sc_name.startswith("."):
        raise s.error("name", f"{sc_name!r} cannot be a file name")
    description = s.str("description", "")
    start = _parse_start(s)
    duration = s.num("duration_s", positive=True, high=86400)
    sc_seed = s.int("seed", 0)
    sc_seed = sc_seed if seed is None else seed
    s.done()
    sen = top.table("sensor")
    sc = Scenario(source, sc_name, description, start, duration, sc_seed, sen.str("id", "sim"),
                  sen.num("lat", low=-90, high=90), sen.num("lon", low=-180, high=180),
                  sen.num("ground_alt_m", 0.0, low=-1000, high=9000))
    sen.done()
    for i, rz in enumerate(top.list("zones", [])):
        z = top.sub(rz, f"zones[{i}]")
        zname = z.str("name")
        lat, lon, _, _ = _parse_point(z, z._get("center", _REQUIRED), ".center", sc, sc.ground_alt, need_alt=False)
        sc.zones.append(Zone(zname, lat, lon, z.num("radius_m", positive=True), z.num("ceiling_m", None),
                             z.num("floor_m", None), z.str("severity", "high",
                                                          choices=("low", "medium", "high", "critical"))))
        z.done()
    names: set[str] = set()
    for i, ro in enumerate(top.list("objects", [])):
        o = top.sub(ro, f"objects[{i}]")
        kind = o.str("kind", choices=KINDS)
        oname = o.str("name", f"{kind}{i}")
        if oname in names:
            raise o.error("name", f"{oname!r} is used by another object")
        names.add(oname)
        sc.objects.append(_CLASSES[kind](sc, o, oname, i))
    top.done()
    return sc


def _frames(sc: Scenario) -> Iterator[Item]:
    streams: list[Iterator[Item]] = []
    for i, o in enumerate(sc.objects):
        streams += o.streams(i)
    return heapq.merge(*streams)


def _geometry(sc: Scenario) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Zone crossings of every positioned drone, and aircraft/drone encounters (§3.4 levels)."""
    drones = [o for o in sc.objects if isinstance(o, Drone) and not (isinstance(o, Spoofer) and o.mode == "flood")]
    aircraft = [o for o in sc.objects if isinstance(o, Aircraft)]
    crossings: list[dict[str, Any]] = []
    for z in sc.zones:
        for d in drones:
            inside = False
            tt = d.t0
            entry: dict[str, Any] | None = None
            while tt <= d.t1:
                now = z.contains(d.state(tt), sc.ground_alt)
                if now and not inside:
                    entry = {"zone": z.name, "object": d.name, "enter": round(sc.start + tt, 3), "exit": None}
                    crossings.append(entry)
                elif inside and not now and entry is not None:
                    entry["exit"] = round(sc.start + tt, 3)
                inside = now
                tt += SAMPLE_STEP_S
    encounters: list[dict[str, Any]] = []
    for a in aircraft:
        for d in drones:
            lo, hi = max(a.t0, d.t0), min(a.t1, d.t1)
            best: tuple[float, float, float] | None = None
            levels: dict[str, float] = {}
            h_dwc = DWC_NONCOOP_H if d.noncooperative else DWC_H
            tt = lo
            while tt <= hi:
                sa, sd = a.state(tt), d.state(tt)
                h = distance_m(sa.lat, sa.lon, sd.lat, sd.lon)
                v = abs(sa.alt_m - sd.alt_m)
                if best is None or math.hypot(h, v) < math.hypot(best[1], best[2]):
                    best = (tt, h, v)
                if h < NMAC_H and v < NMAC_V:
                    levels.setdefault("NMAC", tt)
                if h < h_dwc and v < DWC_V:
                    levels.setdefault("WARNING", tt)
                if h < ADVISORY_H and sa.alt_m - sc.ground_alt < ADVISORY_AGL:
                    levels.setdefault("ADVISORY", tt)
                tt += SAMPLE_STEP_S
            if best is None or not levels:
                continue
            order = ("NMAC", "WARNING", "ADVISORY")
            top = next(lv for lv in order if lv in levels)
            sev = {"NMAC": "CRITICAL", "WARNING": "HIGH", "ADVISORY": "LOW"}[top]
            encounters.append({
                "aircraft": a.name, "drone": d.name, "drone_position_broadcast": not d.noncooperative,
                "closest": {"t": round(sc.start + best[0], 3), "horizontal_m": round(best[1], 1),
                            "vertical_m": round(best[2], 1)},
                "first": {lv: round(sc.start + levels[lv], 3) for lv in order if lv in levels},
                "expect": {"rule": "PROXIMITY" if not d.noncooperative else "PROXIMITY-PRESENCE",
                           "level": top, "severity": sev}})
    return crossings, encounters


def _truth(sc: Scenario, files: dict[str, str | None]) -> dict[str, Any]:
    for o in sc.objects:
        o.derive_expectations()
    crossings, encounters = _geometry(sc)
    return {
        "format": "airwatch-simulation-truth/1",
        "scenario": {"name": sc.name, "description": sc.description, "start": sc.start,
                     "end": sc.start + sc.duration, "duration_s": sc.duration, "seed": sc.seed,
                     "start_iso": datetime.fromtimestamp(sc.start, UTC).isoformat().replace("+00:00", "Z")},
        "sensor": {"id": sc.sensor_id, "lat": sc.sensor_lat, "lon": sc.sensor_lon, "ground_alt_m": sc.ground_alt},
        "files": files,
        "zones": [z.config() for z in sc.zones],
        "objects": [{**o.truth(), "expect": o.expect, **({"events": o.events} if o.events else {})}
                    for o in sc.objects],
        "zone_crossings": crossings,
        "encounters": encounters,
    }


def simulate(scenario: str | Path | dict[str, Any], out_dir: str | Path, *, name: str | None = None,
             seed: int | None = None) -> SimulationResult:
    """Run a scenario; write ``<name>.pcapng``, ``<name>.adsb.csv`` (when there are aircraft) and
    ``<name>.truth.json`` into ``out_dir``.  Raises :class:`ScenarioError`."""
    sc = load_scenario(scenario, name=name, seed=seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pcap_path, csv_path = out / f"{sc.name}.pcapng", out / f"{sc.name}.adsb.csv"
    truth_path = out / f"{sc.name}.truth.json"
    for p in (pcap_path, csv_path):
        p.unlink(missing_ok=True)
    result = SimulationResult(sc.name, truth_path, None, None, sc.start, sc.start + sc.duration,
                              objects=len(sc.objects))
    pcap: PcapNgWriter | None = None
    csv = None
    start_ticks = 0
    try:
        for item in _frames(sc):
            t, linktype, data = item[0], item[4], item[5]
            if linktype:
                if pcap is None:
                    pcap = PcapNgWriter(pcap_path, INTERFACE_NAMES)
                pcap.write(t, data, linktype)
                if linktype == RADIOTAP:
                    result.wifi_frames += 1
                else:
                    result.ble_frames += 1
            else:
                if csv is None:
                    csv = csv_path.open("w", encoding="ascii", newline="\n")
                ticks = start_ticks + round((t - sc.start) * BEAST_TICKS)
                signal = 0x40 + (result.adsb_messages * 37) % 0x60
                csv.write(f"{t:.6f},1a33{ticks:012x}{signal:02x}{data.hex()}\n")
                result.adsb_messages += 1
    finally:
        if pcap is not None:
            pcap.close()
        if csv is not None:
            csv.close()
    result.pcapng = pcap_path if pcap is not None else None
    result.adsb_csv = csv_path if csv is not None else None
    files = {"pcapng": pcap_path.name if result.pcapng else None,
             "adsb_csv": csv_path.name if result.adsb_csv else None}
    truth = _truth(sc, files)
    truth["counts"] = {"wifi_frames": result.wifi_frames, "ble_frames": result.ble_frames,
                       "adsb_messages": result.adsb_messages}
    truth_path.write_text(json.dumps(truth, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return result


# ---------------------------------------------------------------------------------------- CLI

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO.toml", help="scenario file (format: airwatch.simulate)")
    parser.add_argument("-o", "--output-dir", default=".", metavar="DIR",
                        help="where to write NAME.pcapng, NAME.adsb.csv and NAME.truth.json (default: .)")
    parser.add_argument("--name", help="output base name (default: the scenario's name, or the file's stem)")
    parser.add_argument("--seed", type=int, help="override the scenario's seed")


def run(args: argparse.Namespace) -> int:
    try:
        r = simulate(args.scenario, args.output_dir, name=args.name, seed=args.seed)
    except ScenarioError as e:
        print(f"airwatch simulate: {e}", file=sys.stderr)
        return 2
    written = [str(p) for p in (r.pcapng, r.adsb_csv, r.truth) if p is not None]
    print(f"airwatch simulate: {r.name}: {r.wifi_frames} Wi-Fi frames, {r.ble_frames} BLE frames, "
          f"{r.adsb_messages} ADS-B messages over {r.end - r.start:g} s; wrote {', '.join(written)}",
          file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="airwatch simulate",
                                     description="Build a capture, an ADS-B recording and their ground truth "
                                                 "from a scenario file.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
