"""Live pictures for the console: the in-process monitor, or a correlator reached over MQTT."""

from __future__ import annotations

from typing import Any

from airwatch.config import ConfigError, Settings


def live_feed(settings: Settings, store: Any | None = None):  # type: ignore[no-untyped-def]
    raise ConfigError("live watching needs the sensors and MQTT bus (issue #6), not built yet; "
                      "use --demo or --replay")
