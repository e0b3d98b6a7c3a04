"""Live pictures for the console: the whole site over MQTT, or everything in this process.

With ``[mqtt]`` in the config the console follows a correlator that runs elsewhere (``airwatch
correlate``), through the broker: every sensor's health, the tracks, the alerts, and
acknowledgements sent back.  Without it, ``airwatch monitor`` (or ``tui.py`` with no replay)
runs the configured ``[[sources]]``, the correlator and storage in this process on an
in-process bus: one laptop, no server.
"""

from __future__ import annotations

from typing import Any

from airwatch.config import ConfigError, Settings


def live_feed(settings: Settings, store: Any | None = None, *, embedded: bool | None = None):  # type: ignore[no-untyped-def]
    """The feed for live watching; ``embedded`` forces (True) or forbids (False) the in-process site."""
    if embedded is None:
        embedded = settings.mqtt is None
    if not embedded:
        if settings.mqtt is None:
            raise ConfigError("watching a remote correlator needs [mqtt] in the config")
        from airwatch.bus.feed import MqttFeed

        return MqttFeed(settings)
    if not settings.sources:
        raise ConfigError(f"{settings.source}: nothing to watch: add [[sources]] (see docs/sensor-raspberry-pi.md), "
                          "or [mqtt] to follow a correlator, or use --demo / --replay")
    from airwatch.bus.local import LocalSite

    return LocalSite(settings, store=store).feed()
