"""The alarm: a bell and a flash for high and critical alerts, until someone acknowledges them.

It rings at once for every new unacknowledged high or critical alert, then again every
``repeat_s`` while any is left unacknowledged.  ``mute`` silences it for ``mute_s``; the
status bar shows the mute and its countdown for as long as it lasts, and the unacknowledged
count stays red whether muted or not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from airwatch.correlator.model import Alert, Severity

ALARM_SEVERITY = Severity.HIGH


class Alarm:
    def __init__(self, repeat_s: float = 10.0, mute_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.repeat_s = repeat_s
        self.mute_s = mute_s
        self.clock = clock
        self.rings = 0  # how many times it rang (tests and the status bar read it)
        self.active = 0  # unacknowledged high/critical alerts
        self._seen: set[str] = set()
        self._last_ring: float | None = None
        self._muted_until: float | None = None

    def update(self, alerts: Iterable[Alert]) -> bool:
        """Look at the alerts; True when the console must ring and flash now."""
        now = self.clock()
        pending = [a for a in alerts if not a.acknowledged and a.severity >= ALARM_SEVERITY]
        self.active = len(pending)
        new = [a for a in pending if a.alert_id not in self._seen]
        self._seen.update(a.alert_id for a in new)
        if not pending or self.muted:
            return False
        due = self._last_ring is None or now - self._last_ring >= self.repeat_s
        if new or due:
            self._last_ring = now
            self.rings += 1
            return True
        return False

    def mute(self) -> None:
        self._muted_until = self.clock() + self.mute_s

    def unmute(self) -> None:
        self._muted_until = None

    @property
    def muted(self) -> bool:
        return self.muted_for > 0

    @property
    def muted_for(self) -> float:
        """Seconds of mute left (0 when not muted)."""
        if self._muted_until is None:
            return 0.0
        left = self._muted_until - self.clock()
        if left <= 0:
            self._muted_until = None
            return 0.0
        return left
