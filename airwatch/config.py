"""Settings, read once from ``config.toml`` into typed objects, with errors that say where.

Only what the running code uses is here; each part of airwatch adds its own section.  An
unknown key is an error (a typo in a threshold must not silently fall back to a default).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration file that cannot be used, with the file and key in the message."""


@dataclass(frozen=True, slots=True)
class SensorSettings:
    id: str = "local"
    lat: float | None = None
    lon: float | None = None
    alt_m: float | None = None  # WGS-84 height of the antenna


@dataclass(frozen=True, slots=True)
class CorrelatorSettings:
    """Thresholds of the correlator; defaults and their sources in docs/alerts.md."""

    non_cooperative_window_s: float = 30.0  # drone heard with no standard Remote ID for this long
    stale_after_s: float = 60.0  # track shown as stale after this silence
    end_after_s: float = 600.0  # track ended (a new flight starts after this gap)
    max_tracks: int = 5000  # bounded state: the oldest silent tracks go first
    compliance_grace_s: float = 10.0  # time to hear every required message before calling one missing
    location_interval_max_s: float = 1.5  # shortest Location interval above this is too slow (standard: 1 s)
    operator_max_distance_m: float = 15000.0  # operator farther than this from the drone: spoofing
    max_speed_ms: float = 100.0  # implied speed between fixes above this: spoofing (teleport)
    divergence_m: float = 500.0  # one identity reported at places this far apart within 2 s
    flood_identities_per_min: int = 20  # more new drone identities than this in a minute: flood
    identities_per_transmitter: int = 3  # more identities than this from one transmitter: spoofing
    # SP-4: a drone heard from farther than its transport reaches is lying about where it is.
    # About twice the ranges reported in the field (Wi-Fi 1.5 km, Bluetooth 5 LR 2 km, DroneID
    # 10 km, detection-rules.md), so that a well-equipped sensor does not cry wolf: set them to
    # what your site measures.
    radio_range_wifi_m: float = 3000.0  # Wi-Fi beacon and NaN Remote ID, the French beacon
    radio_range_bluetooth_m: float = 4000.0  # Bluetooth 4 legacy and 5 long range
    radio_range_droneid_m: float = 15_000.0  # DJI DroneID
    tx_power_dbm: float = 20.0  # SP-5: what a drone transmits at most (typical 19 dBm, CRFS)
    rssi_excess_db: float = 20.0  # SP-5: heard this much stronger than free space allows (add antenna gain)
    max_height_m: float = 121.92  # RID-14: 400 ft above take-off or ground (14 CFR 107.51; EU open: 120 m)
    max_ground_speed_ms: float = 44.7  # RID-14: 87 kt (14 CFR 107.51)
    uav_allow_list: tuple[str, ...] = ()  # B6: ICAO addresses (hex) or callsigns of the UAVs expected here
    nmac_horizontal_m: float = 152.4  # 500 ft
    nmac_vertical_m: float = 30.48  # 100 ft
    well_clear_horizontal_m: float = 1222.3  # 0.66 NM (DO-365 DWC)
    well_clear_vertical_m: float = 137.16  # 450 ft
    well_clear_lookahead_s: float = 55.0
    well_clear_warning_s: float = 25.0
    proximity_max_fix_age_s: float = 10.0  # fixes older than this are not compared
    alert_clear_after_s: float = 60.0  # a condition gone this long may raise a new alert later


@dataclass(frozen=True, slots=True)
class Zone:
    """A protected zone: a circle or a polygon, with an optional floor and ceiling (metres)."""

    name: str
    lat: float | None = None  # circle centre
    lon: float | None = None
    radius_m: float | None = None
    polygon: tuple[tuple[float, float], ...] = ()  # (lat, lon) vertices
    floor_m: float | None = None
    ceiling_m: float | None = None
    altitude_ref: str = "height"  # "height" (above take-off/ground) or "geodetic" (WGS-84)
    severity: str = "high"


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """The MQTT broker that carries contacts from sensors and tracks/alerts from the correlator.

    No ``[mqtt]`` section means no broker: ``airwatch monitor`` then runs everything in one
    process on an in-process bus.
    """

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    password_file: str | None = None  # read at start; keeps the secret out of config.toml
    tls: bool = False
    ca_file: str | None = None  # CA that signed the broker's certificate (default: system store)
    cert_file: str | None = None  # client certificate, for brokers that require one
    key_file: str | None = None
    client_id: str | None = None  # default: airwatch-<role>-<sensor id>
    topic_prefix: str = "airwatch/v1"
    keepalive_s: float = 30.0
    spool_dir: str | None = None  # sensor spool (default: ./spool/<sensor id>)
    spool_max_mb: float = 512.0


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """The operator console."""

    refresh_hz: float = 4.0
    bell_repeat_s: float = 10.0  # high/critical alerts ring again this often until acknowledged
    mute_s: float = 300.0  # what `m` mutes the alarm for
    operator: str | None = None  # name stored with acknowledgements (default: the login name)
    range_rings_m: tuple[float, ...] = (500.0, 1000.0, 2000.0, 5000.0)
    hide_after_s: float = 300.0  # silent tracks leave the table after this long


@dataclass(frozen=True, slots=True)
class Settings:
    sensor: SensorSettings = field(default_factory=SensorSettings)
    correlator: CorrelatorSettings = field(default_factory=CorrelatorSettings)
    zones: tuple[Zone, ...] = ()
    signatures: tuple[dict, ...] = ()  # extra drone signature rules, checked by airwatch.signature_rules
    mqtt: MqttSettings | None = None  # None: no broker (one process, in-process bus)
    sensors: tuple[SensorSettings, ...] = ()  # correlator: the site's sensors and their positions
    sources: tuple[Any, ...] = ()  # live sources ([[sources]]), typed by airwatch.sources.settings
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    source: str = "<defaults>"


def _section(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table, not {type(raw).__name__}")
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in raw.items():
        f = known.get(key)
        if f is None:
            raise ConfigError(f"{where}.{key}: unknown setting (known: {', '.join(sorted(known))})")
        values[key] = _coerce(value, f.type, f"{where}.{key}")
    return cls(**values)


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    text = str(annotation)
    if text.startswith("tuple[str"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        return tuple(value)
    if text.startswith("tuple"):
        if not isinstance(value, list) or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                                  for v in value):
            raise ConfigError(f"{where}: expected a list of numbers, got {value!r}")
        return tuple(float(v) for v in value)
    if "float" in text:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if "int" in text:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return value
    if "bool" in text:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if "str" in text:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    return value


def _check_sensor(sensor: SensorSettings, where: str) -> None:
    if sensor.lat is not None and not -90.0 <= sensor.lat <= 90.0:
        raise ConfigError(f"{where}.lat: {sensor.lat} is not a latitude (-90..90)")
    if sensor.lon is not None and not -180.0 <= sensor.lon <= 180.0:
        raise ConfigError(f"{where}.lon: {sensor.lon} is not a longitude (-180..180)")
    if (sensor.lat is None) != (sensor.lon is None):
        raise ConfigError(f"{where}: give both lat and lon, or neither")
    if not sensor.id:
        raise ConfigError(f"{where}.id: must not be empty")


def load_settings(path: str | Path | None) -> Settings:
    """Read ``path`` (``None``: built-in defaults).  Raises :class:`ConfigError`."""
    if path is None:
        return Settings()
    path = Path(path)
    return settings_from_dict(read_toml(path, ConfigError, "configuration file"), str(path))


def read_toml(path: Path, error: type[Exception] = ConfigError, what: str = "file") -> dict[str, Any]:
    """A TOML file as a dict; a missing, unreadable or malformed file raises ``error`` saying so."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except OSError as e:
        raise error(f"{path}: cannot read: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise error(f"{path}: not valid TOML: {e}") from None


def _zone(raw: Any, where: str) -> Zone:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table")
    raw = dict(raw)
    polygon = raw.pop("polygon", None)
    zone = _section(Zone, raw, where)
    if not zone.name:
        raise ConfigError(f"{where}.name: every zone needs a name")
    if polygon is not None:
        try:
            vertices = tuple((float(lat), float(lon)) for lat, lon in polygon)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}.polygon: expected a list of [lat, lon] pairs") from None
        if len(vertices) < 3:
            raise ConfigError(f"{where}.polygon: a polygon needs at least 3 vertices")
        if any(not (-90 <= la <= 90 and -180 <= lo <= 180) for la, lo in vertices):
            raise ConfigError(f"{where}.polygon: a vertex is not a latitude/longitude")
        zone = Zone(**{**{f.name: getattr(zone, f.name) for f in fields(Zone)}, "polygon": vertices})
    circle = zone.lat is not None and zone.lon is not None and zone.radius_m is not None
    if circle == bool(zone.polygon):
        raise ConfigError(f"{where}: give either lat, lon and radius_m (a circle) or polygon")
    if circle and zone.radius_m <= 0:
        raise ConfigError(f"{where}.radius_m: must be positive")
    if zone.altitude_ref not in ("height", "geodetic"):
        raise ConfigError(f"{where}.altitude_ref: 'height' or 'geodetic'")
    if zone.severity not in ("low", "medium", "high", "critical"):
        raise ConfigError(f"{where}.severity: low, medium, high or critical")
    if zone.floor_m is not None and zone.ceiling_m is not None and zone.floor_m >= zone.ceiling_m:
        raise ConfigError(f"{where}: floor_m must be below ceiling_m")
    return zone


def settings_from_dict(raw: dict[str, Any], where: str = "<settings>") -> Settings:
    """Settings from already-parsed TOML (a scenario's or a test's).  Raises :class:`ConfigError`."""
    known = {"sensor", "correlator", "zones", "signatures", "mqtt", "sensors", "sources", "console"}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{where}: unknown section [{key}] (known: {', '.join(sorted(known))})")
    sensor = _section(SensorSettings, raw.get("sensor", {}), f"{where}: sensor")
    _check_sensor(sensor, f"{where}: sensor")
    correlator = _section(CorrelatorSettings, raw.get("correlator", {}), f"{where}: correlator")
    for f in fields(CorrelatorSettings):
        value = getattr(correlator, f.name)
        if isinstance(value, int | float) and value <= 0:
            raise ConfigError(f"{where}: correlator.{f.name}: must be positive")
    zones_raw = raw.get("zones", [])
    if not isinstance(zones_raw, list):
        raise ConfigError(f"{where}: zones must be [[zones]] tables")
    zones = tuple(_zone(z, f"{where}: zones[{i}]") for i, z in enumerate(zones_raw))
    signatures = raw.get("signatures", [])
    if not isinstance(signatures, list) or not all(isinstance(r, dict) for r in signatures):
        raise ConfigError(f"{where}: signatures must be [[signatures]] tables")
    from airwatch.decoders.signatures import SignatureError, rule_from_dict

    for i, rule in enumerate(signatures):
        try:
            rule_from_dict(rule, f"{where}: signatures[{i}]")
        except SignatureError as e:
            raise ConfigError(str(e)) from None
    mqtt = None
    if "mqtt" in raw:
        mqtt = _section(MqttSettings, raw["mqtt"], f"{where}: mqtt")
        if not 0 < mqtt.port < 65536:
            raise ConfigError(f"{where}: mqtt.port: {mqtt.port} is not a TCP port")
        if mqtt.password is not None and mqtt.password_file is not None:
            raise ConfigError(f"{where}: mqtt: give password or password_file, not both")
        if (mqtt.cert_file is None) != (mqtt.key_file is None):
            raise ConfigError(f"{where}: mqtt: give both cert_file and key_file, or neither")
        if mqtt.keepalive_s <= 0 or mqtt.spool_max_mb <= 0:
            raise ConfigError(f"{where}: mqtt: keepalive_s and spool_max_mb must be positive")
    sensors_raw = raw.get("sensors", [])
    if not isinstance(sensors_raw, list):
        raise ConfigError(f"{where}: sensors must be [[sensors]] tables")
    sensors = tuple(_section(SensorSettings, s, f"{where}: sensors[{i}]") for i, s in enumerate(sensors_raw))
    for i, s in enumerate(sensors):
        _check_sensor(s, f"{where}: sensors[{i}]")
    if len({s.id for s in sensors}) != len(sensors):
        raise ConfigError(f"{where}: sensors: two [[sensors]] share an id")
    sources_raw = raw.get("sources", [])
    if not isinstance(sources_raw, list) or not all(isinstance(r, dict) for r in sources_raw):
        raise ConfigError(f"{where}: sources must be [[sources]] tables")
    sources: tuple[Any, ...] = ()
    if sources_raw:
        from airwatch.sources.settings import source_from_dict

        sources = tuple(source_from_dict(r, f"{where}: sources[{i}]") for i, r in enumerate(sources_raw))
    console = _section(ConsoleSettings, raw.get("console", {}), f"{where}: console")
    if console.refresh_hz <= 0 or console.bell_repeat_s <= 0 or console.mute_s <= 0 or console.hide_after_s <= 0:
        raise ConfigError(f"{where}: console: refresh_hz, bell_repeat_s, mute_s and hide_after_s must be positive")
    if any(r <= 0 for r in console.range_rings_m):
        raise ConfigError(f"{where}: console.range_rings_m: ranges must be positive")
    return Settings(sensor=sensor, correlator=correlator, zones=zones, signatures=tuple(signatures), mqtt=mqtt,
                    sensors=sensors, sources=sources, console=console, source=where)
