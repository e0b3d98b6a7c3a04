"""What the console shows, and where it comes from.

The console never runs decoders or the correlator on its own event loop.  A :class:`Feed` does
that work on its own thread (a replay of captures, the in-process monitor, or a correlator
reached over MQTT) and hands the console a :class:`Picture` a few times a second: copies of
the tracks and alerts that are safe to read on the UI thread.  Operator actions
(acknowledge, replay controls) go back to the feed as method calls, which it applies on its
own thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from airwatch.config import SensorSettings, Zone
from airwatch.correlator.model import Alert, Track
from airwatch.sources.health import SourceHealth


@dataclass(slots=True)
class ReplayState:
    paused: bool = False
    speed: float = 1.0
    start: float | None = None  # capture time of the first contact
    end: float | None = None  # capture time of the last contact, once known
    position: float | None = None  # capture time the replay has reached
    finished: bool = False


@dataclass(slots=True)
class Picture:
    mode: str  # "live" or "replay"
    now: float | None  # the picture's clock: capture time in a replay, receive time live
    tracks: list[Track] = field(default_factory=list)  # copies, safe to read on the UI thread
    alerts: list[Alert] = field(default_factory=list)  # copies, oldest first
    sources: list[SourceHealth] = field(default_factory=list)
    sensors: dict[str, SensorSettings] = field(default_factory=dict)  # id -> position
    zones: tuple[Zone, ...] = ()
    replay: ReplayState | None = None
    version: int = 0  # grows whenever anything changed
    error: str | None = None  # a feed that stopped says why


class Feed(Protocol):
    """A source of pictures for the console."""

    mode: str

    def start(self) -> None:
        """Start the worker thread(s); returns at once."""

    def stop(self) -> None:
        """Stop and join the workers; flush storage."""

    def picture(self) -> Picture:
        """A consistent snapshot (thread-safe)."""

    def acknowledge(self, alert_id: str, by: str) -> None:
        """Acknowledge an alert (stored; never deletes it)."""

    # Replay controls; a live feed ignores them.
    def pause(self, paused: bool) -> None: ...

    def set_speed(self, speed: float) -> None: ...

    def step(self) -> None:
        """While paused: advance by one second of capture time."""

    def jump(self, when: float) -> None:
        """Run forward to capture time ``when`` (a replay never runs backwards)."""

    def jump_next_alert(self) -> None:
        """Run forward until the next alert is raised, then pause."""


class LiveControls:
    """Mixin for live feeds: the replay controls do nothing (there is no replay to steer)."""

    def pause(self, paused: bool) -> None:
        pass

    def set_speed(self, speed: float) -> None:
        pass

    def step(self) -> None:
        pass

    def jump(self, when: float) -> None:
        pass

    def jump_next_alert(self) -> None:
        pass
