"""How a source is doing: what the status bar and the sensor status topic show.

Every live source keeps one :class:`SourceHealth` and updates it as it runs; readers (the
console, the MQTT status publisher) only read it.  Plain attribute writes from one thread and
reads from another are safe enough here: each field is replaced whole, never mutated in place.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

RATE_WINDOW_S = 10.0


@dataclass(slots=True)
class SourceHealth:
    name: str  # "wlan1", "hci0", "adsb 127.0.0.1:30005", "sensor north"
    kind: str  # "wifi", "bluetooth", "pcap", "adsb", "replay", "sensor"
    sensor_id: str | None = None
    status: str = "starting"  # starting, ok, stale, down, stopped
    since: float | None = None  # when the status began (UNIX seconds)
    detail: str = ""  # channel, last error, retry countdown: one short line for the operator
    messages: int = 0  # frames or messages read since start
    contacts: int = 0  # contacts produced since start
    errors: int = 0
    last_message: float | None = None  # wall-clock time of the last frame
    _marks: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=64))

    def set(self, status: str, detail: str | None = None, now: float | None = None) -> None:
        if status != self.status:
            self.status, self.since = status, time.time() if now is None else now
        if detail is not None:
            self.detail = detail

    def count(self, messages: int = 1, contacts: int = 0, now: float | None = None) -> None:
        self.messages += messages
        self.contacts += contacts
        self.last_message = time.time() if now is None else now

    def rate(self, now: float | None = None) -> float:
        """Messages per second over the last ``RATE_WINDOW_S`` (call it about once a second)."""
        now = time.time() if now is None else now
        marks = self._marks
        marks.append((now, self.messages))
        while len(marks) > 1 and now - marks[0][0] > RATE_WINDOW_S:
            marks.popleft()
        t0, n0 = marks[0]
        return (self.messages - n0) / (now - t0) if now > t0 else 0.0
