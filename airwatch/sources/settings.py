"""Typed settings of live sources: the ``[[sources]]`` tables of ``config.toml``.

Each table names its ``type``; the other keys belong to that type, and an unknown key is an
error, like everywhere else in the configuration::

    [[sources]]
    type = "wifi"            # a monitor-mode Wi-Fi interface, with channel hopping
    interface = "wlan1"

    [[sources]]
    type = "bluetooth"       # Bluetooth LE scanning on a Linux HCI adapter
    adapter = "hci0"

    [[sources]]
    type = "pcap"            # a pcap/pcapng stream: "-" (standard input), a named pipe or a file
    path = "/run/airwatch/sniffle.pipe"

    [[sources]]
    type = "adsb"            # a dump1090/readsb feed
    host = "127.0.0.1"
    port = 30005
    format = "beast"         # "beast" (port 30005), "avr" (30002) or "sbs" (30003)

    [[sources]]
    type = "replay"          # captures and recordings replayed as if live (tests, demos, training)
    inputs = ["captures/demo_scenario.pcapng"]
    speed = 1.0
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

#: ADS-B feed formats and their dump1090/readsb ports (as in :mod:`airwatch.sources.adsb_feed`,
#: which imports them from here so that reading the configuration needs no asyncio).
FEED_FORMATS = ("beast", "avr", "sbs")
DEFAULT_PORTS = {"beast": 30005, "avr": 30002, "sbs": 30003}

#: Channels where Remote ID must be: 6 (2.4 GHz beacon and NaN) and 149 (5.8 GHz beacon).
PRIORITY_CHANNELS = (6, 149)
#: The rest of the plan, visited between the priority channels.
OTHER_CHANNELS = (1, 11, 36, 40, 44, 48, 153, 157, 161, 165)


@dataclass(frozen=True, slots=True)
class WifiSource:
    interface: str
    name: str | None = None
    priority_channels: tuple[int, ...] = PRIORITY_CHANNELS
    channels: tuple[int, ...] = OTHER_CHANNELS
    priority_dwell_s: float = 0.5  # time on each priority channel per visit
    dwell_s: float = 0.2  # time on each other channel
    hop: bool = True  # false: stay on the first priority channel
    retry_s: float = 5.0  # wait before reopening a missing or broken interface


@dataclass(frozen=True, slots=True)
class BluetoothSource:
    adapter: str = "hci0"
    name: str | None = None
    extended: bool = True  # extended scanning (Bluetooth 5, coded PHY where the adapter has it)
    retry_s: float = 5.0


@dataclass(frozen=True, slots=True)
class PcapSource:
    path: str  # "-" for standard input, a named pipe, or a file
    name: str | None = None
    retry_s: float = 5.0  # a named pipe whose writer went away is reopened after this


@dataclass(frozen=True, slots=True)
class AdsbSource:
    host: str = "127.0.0.1"
    port: int | None = None  # default: 30005 for beast, 30002 for avr, 30003 for sbs
    format: str = "beast"
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ReplaySource:
    inputs: tuple[str, ...]
    name: str | None = None
    speed: float | None = None  # None: as fast as possible (time order kept)
    start: str | None = None  # start of undated ADS-B recordings (UNIX or ISO 8601)


SOURCE_TYPES: dict[str, type] = {
    "wifi": WifiSource, "bluetooth": BluetoothSource, "pcap": PcapSource, "adsb": AdsbSource,
    "replay": ReplaySource,
}


def source_from_dict(raw: dict[str, Any], where: str) -> Any:
    """One ``[[sources]]`` table as its typed settings.  Raises ``ConfigError``."""
    from airwatch.config import ConfigError, _coerce

    raw = dict(raw)
    kind = raw.pop("type", None)
    cls = SOURCE_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ConfigError(f"{where}.type: expected one of {', '.join(SOURCE_TYPES)}, got {kind!r}")
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        f = known.get(key)
        if f is None:
            raise ConfigError(f"{where}.{key}: unknown setting for a {kind} source "
                              f"(known: type, {', '.join(sorted(known))})")
        if key in ("priority_channels", "channels"):
            if not isinstance(value, list) or not all(isinstance(c, int) and not isinstance(c, bool) and c > 0
                                                      for c in value):
                raise ConfigError(f"{where}.{key}: expected a list of channel numbers")
            values[key] = tuple(value)
        elif key == "inputs":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
                raise ConfigError(f"{where}.inputs: expected a list of file names")
            values[key] = tuple(value)
        else:
            values[key] = _coerce(value, f.type, f"{where}.{key}")
    required = [f.name for f in fields(cls) if f.name not in values and _is_required(f)]
    if required:
        raise ConfigError(f"{where}: a {kind} source needs {', '.join(required)}")
    source = cls(**values)
    _check(source, where)
    return source


def _is_required(f: Any) -> bool:
    from dataclasses import MISSING

    return f.default is MISSING and f.default_factory is MISSING


def _check(source: Any, where: str) -> None:
    from airwatch.config import ConfigError

    for attr in ("dwell_s", "priority_dwell_s", "retry_s", "speed"):
        value = getattr(source, attr, None)
        if value is not None and value <= 0:
            raise ConfigError(f"{where}.{attr}: must be positive")
    if isinstance(source, AdsbSource):
        if source.format not in FEED_FORMATS:
            raise ConfigError(f"{where}.format: expected one of {', '.join(FEED_FORMATS)}, got {source.format!r}")
        if source.port is not None and not 0 < source.port < 65536:
            raise ConfigError(f"{where}.port: {source.port} is not a TCP port")
    if isinstance(source, WifiSource) and not source.priority_channels and not source.channels:
        raise ConfigError(f"{where}: a wifi source needs at least one channel")


def source_name(source: Any) -> str:
    """What the console and the status topic call this source."""
    if source.name:
        return source.name
    if isinstance(source, WifiSource):
        return source.interface
    if isinstance(source, BluetoothSource):
        return source.adapter
    if isinstance(source, PcapSource):
        return "stdin" if source.path == "-" else source.path
    if isinstance(source, AdsbSource):
        return f"adsb {source.host}:{source.port or DEFAULT_PORTS[source.format]}"
    return "replay"
