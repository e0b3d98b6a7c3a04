"""What every rule sees."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from airwatch.config import CorrelatorSettings, SensorSettings, Zone
from airwatch.contact import Contact
from airwatch.correlator.alerts import Finding
from airwatch.correlator.model import Fix, Track
from airwatch.correlator.tracks import TrackTable


@dataclass(slots=True)
class Context:
    settings: CorrelatorSettings
    table: TrackTable
    zones: tuple[Zone, ...] = ()
    sensors: dict[str, SensorSettings] | None = None  # sensor id -> position


class Rule:
    """Base class: override what the rule needs."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def on_contact(self, contact: Contact, track: Track, fix: Fix | None, new: bool) -> list[Finding]:
        return []

    def on_tick(self, now: float) -> list[Finding]:
        """Once a second of the contacts' clock.  Look at ACTIVE tracks only: while every track
        is silent the engine skips the ticks (a gap of days between captures), so a rule that
        needs ticks then must change ``Correlator._after_quiet`` too."""
        return []

    def forget(self, track_id: str) -> None:
        """The track ended or was evicted: drop any state kept for it."""


def remember(book: OrderedDict[Any, Any], key: Any, value: Any, limit: int) -> None:
    """Put ``key`` last in ``book`` with ``value``; drop the oldest keys beyond ``limit``: state
    kept per transmitter or track stays bounded however many strangers transmit."""
    book[key] = value
    book.move_to_end(key)
    while len(book) > limit:
        book.popitem(last=False)


def in_a_row(book: OrderedDict[Any, int], key: Any, hit: bool, limit: int) -> int:
    """How many times in a row ``key``'s condition has held, this time included (0 once it does
    not): the rules that want a condition several times running before they speak."""
    if not hit:
        book.pop(key, None)
        return 0
    count = book.get(key, 0) + 1
    remember(book, key, count, limit)
    return count
