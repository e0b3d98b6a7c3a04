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
class Settings:
    sensor: SensorSettings = field(default_factory=SensorSettings)
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
    if "float" in text:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if "int" in text:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
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
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    known = {"sensor"}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{path}: unknown section [{key}] (known: {', '.join(sorted(known))})")
    sensor = _section(SensorSettings, raw.get("sensor", {}), f"{path}: sensor")
    _check_sensor(sensor, f"{path}: sensor")
    return Settings(sensor=sensor, source=str(path))
