"""Many sensors' streams into one, in time order, each contact once: the correlator's front door.

Per sensor (:class:`SensorStream`):

* **Duplicates and gaps.**  QoS 1 is at-least-once, so a contact can come twice; every contact
  carries its sensor's sequence number within a stream (a spool's lifetime).  Contacts are put
  back in sequence order (batches of different kinds interleave), a number already seen is a
  duplicate (dropped, counted), and a number still missing after ``max_hold`` wall seconds is a
  gap (counted as lost; the stream moves on).
* **Watermark.**  A sensor's contacts are in time order, so once a contact of time ``t`` has
  arrived, nothing earlier will come from that sensor; the heartbeat on the status topic also
  says "everything up to sequence number n, and nothing before time t, has been sent", which moves
  the watermark of a sensor that is quiet.

Across sensors (:class:`TimeMerge`): the earliest waiting contact is released once every other
sensor that is up (or configured and not yet heard) has a watermark at or beyond its time, or when
it has waited ``max_hold`` wall seconds.  A sensor whose stream ended or that stopped no longer
holds the others back, nor does one whose last will said it is down, ``max_hold`` after that.  Ties in time go to the sensor first in
``[[sensors]]`` order (then first heard), which is how ``airwatch replay`` orders its inputs.
With every stream complete, the result is the order ``airwatch replay`` gives the same inputs.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from airwatch.bus.payload import finite
from airwatch.config import SensorSettings
from airwatch.contact import Contact

log = logging.getLogger("airwatch.bus.merge")

NEVER = float("-inf")
HOLDING = ("unknown", "up")


@dataclass(slots=True)
class StreamCounts:
    contacts: int = 0  # released to the correlator
    duplicates: int = 0  # dropped: already seen
    lost: int = 0  # sequence numbers never received
    gaps: int = 0  # times the stream skipped missing numbers
    forced: int = 0  # released after max_hold while another sensor was behind (order not guaranteed)


@dataclass(slots=True)
class SensorStream:
    sensor_id: str
    order: int
    state: str = "unknown"  # unknown (configured, never heard), up, ended, stopped, down
    stream: str | None = None
    contiguous: int | None = None  # every number up to this one has arrived
    ahead: dict[int, tuple[Contact, float]] = field(default_factory=dict)  # arrived early, by number
    queue: deque[tuple[Contact, float]] = field(default_factory=deque)  # in order, waiting for the merge
    watermark: float = NEVER
    mark: tuple[int, float] | None = None  # heartbeat watermark waiting for its sequence number
    end_seq: int | None = None
    end_at: float | None = None  # wall time the end of the stream was announced
    down_at: float | None = None  # wall time the last will said "down"
    status: dict[str, Any] = field(default_factory=dict)  # the last status document
    position: SensorSettings | None = None
    counts: StreamCounts = field(default_factory=StreamCounts)

    def holding(self, now: float, max_hold: float) -> bool:
        """Does this stream hold the others back (it may still send something earlier)?

        A sensor whose last will said "down" holds them ``max_hold`` longer: a broker restart
        sends every client's will, and the sensors are back a moment later.
        """
        if self.state in HOLDING:
            return True
        if self.state == "down":
            return self.down_at is not None and now - self.down_at < max_hold
        return self.state == "ended" and not self.complete

    @property
    def complete(self) -> bool:
        """Ended, and every contact up to the last number has arrived (or was given up)."""
        return (self.state == "ended" and not self.ahead
                and (self.end_seq is None or (self.contiguous or 0) >= self.end_seq))

    def add(self, stream: str, seq: int, contact: Contact, now: float) -> None:
        if stream != self.stream:
            self._new_stream(stream)
        if self.contiguous is None:
            self.contiguous = seq - 1
        if seq <= self.contiguous or seq in self.ahead:
            self.counts.duplicates += 1
            log.debug("sensor %s: duplicate seq %d (stream %s)", self.sensor_id, seq, stream)
            return
        if seq == self.contiguous + 1:
            self._accept(contact, now)
            self.contiguous = seq
            if self.ahead:
                self._pull()
        else:
            self.ahead[seq] = (contact, now)
        self._apply_mark()

    def _accept(self, contact: Contact, now: float) -> None:
        self.queue.append((contact, now))
        if contact.time > self.watermark:
            self.watermark = contact.time

    def _pull(self) -> None:
        ahead = self.ahead
        nxt = (self.contiguous or 0) + 1
        while nxt in ahead:
            self._accept(*ahead.pop(nxt))
            self.contiguous = nxt
            nxt += 1

    def _new_stream(self, stream: str) -> None:
        if self.stream is not None:
            log.info("sensor %s: new stream %s (was %s): sequence numbers start again", self.sensor_id, stream,
                     self.stream)
            if self.ahead:
                self._skip_gap()
        self.stream = stream
        self.contiguous = None
        self.mark = None
        self.end_seq = None

    def _skip_gap(self) -> None:
        """Give up on the missing numbers before the first contact that arrived early."""
        first = min(self.ahead)
        missing = first - (self.contiguous or 0) - 1
        if missing > 0:
            self.counts.lost += missing
            self.counts.gaps += 1
            log.warning("sensor %s: %d contacts lost (seq %d..%d never arrived)", self.sensor_id, missing,
                        first - missing, first - 1)
        self.contiguous = first - 1
        self._pull()

    def _apply_mark(self) -> None:
        if self.mark is not None and (self.contiguous or 0) >= self.mark[0]:
            if self.mark[1] > self.watermark:
                self.watermark = self.mark[1]
            self.mark = None

    def expire(self, now: float, max_hold: float) -> None:
        """Skip gaps that have waited ``max_hold``; close an ended stream whose tail never came."""
        while self.ahead and now - min(a for _, a in self.ahead.values()) >= max_hold:
            self._skip_gap()
        if (self.state == "ended" and self.end_seq is not None and self.end_at is not None
                and now - self.end_at >= max_hold and (self.contiguous or 0) < self.end_seq):
            missing = self.end_seq - (self.contiguous or 0)
            self.counts.lost += missing
            self.counts.gaps += 1
            log.warning("sensor %s: stream ended; its last %d contacts never arrived", self.sensor_id, missing)
            self.contiguous = self.end_seq

    def on_status(self, doc: dict[str, Any], now: float) -> None:
        """A status document: up (heartbeat), ended, stopped or down (the last will)."""
        status = doc.get("status")
        if status not in ("up", "ended", "stopped", "down"):
            raise ValueError(f"unknown status {status!r}")
        stream = doc.get("stream")
        if isinstance(stream, str) and stream and stream != self.stream and status != "down":
            self._new_stream(stream)
        if status == "down" and self.state != "down":
            self.down_at = now
        self.state = status
        self.status = doc
        seq = doc.get("seq")
        wm = finite(doc.get("watermark"))
        if isinstance(seq, int) and wm is not None and status in ("up", "ended"):
            self.mark = (seq, wm)
            if self.contiguous is None and seq == 0:
                self.contiguous = 0
            self._apply_mark()
        if status == "ended":
            self.end_seq = seq if isinstance(seq, int) else None
            self.end_at = now
            if self.contiguous is None and self.end_seq == 0:
                self.contiguous = 0
        lat, lon = finite(doc.get("lat")), finite(doc.get("lon"))
        if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
            self.position = SensorSettings(self.sensor_id, lat, lon, finite(doc.get("alt_m")))


class TimeMerge:
    def __init__(self, max_hold: float = 0.1, expected: Iterable[str] = ()) -> None:
        self.max_hold = max_hold
        self.streams: dict[str, SensorStream] = {}
        for sensor_id in expected:
            self.stream(sensor_id)

    def stream(self, sensor_id: str) -> SensorStream:
        s = self.streams.get(sensor_id)
        if s is None:
            s = self.streams[sensor_id] = SensorStream(sensor_id, len(self.streams))
        return s

    def add(self, sensor_id: str, stream: str, items: list[tuple[int, Contact]], now: float) -> None:
        s = self.stream(sensor_id)
        if s.state == "unknown" or s.state == "down":
            s.state = "up"  # contacts flowing: it is up, whatever the last status said
        if items:
            if s.stream != stream:
                s._new_stream(stream)
            if s.contiguous is None:  # the first contacts heard of this stream: the lowest number starts it
                s.contiguous = min(seq for seq, _ in items) - 1
        for seq, contact in items:
            s.add(stream, seq, contact, now)

    def release(self, now: float, force: bool = False) -> list[Contact]:
        """The contacts that may go to the correlator now, in merged order (``force``: all of them)."""
        streams = list(self.streams.values())
        for s in streams:
            s.expire(now, 0.0 if force else self.max_hold)
        out: list[Contact] = []
        max_hold = self.max_hold
        holding = [s for s in streams if s.holding(now, 0.0 if force else max_hold)]
        while True:
            best = None
            for s in streams:
                if s.queue and (best is None or s.queue[0][0].time < best.queue[0][0].time):
                    best = s  # equal times: the first stream in order wins (streams are in order)
            if best is None:
                break
            contact, arrived = best.queue[0]
            t = contact.time
            if not force:
                behind = None
                for r in holding:
                    if r is best or r.queue:
                        continue
                    if r.watermark > t or (r.watermark == t and r.order > best.order):
                        continue
                    behind = r
                    break
                if behind is not None:
                    if now - arrived < max_hold:
                        break
                    best.counts.forced += 1
                    if best.counts.forced == 1 or best.counts.forced % 1000 == 0:
                        log.info("sensor %s: contacts released after waiting %.1f s for sensor %s (%d so far)",
                                 best.sensor_id, max_hold, behind.sensor_id, best.counts.forced)
            best.queue.popleft()
            best.counts.contacts += 1
            out.append(contact)
        return out

    def watermark(self, now: float) -> float | None:
        """The time before which nothing more can come (``None``: unknown)."""
        marks = [s.watermark for s in self.streams.values() if s.queue or s.holding(now, self.max_hold)]
        if not marks:
            return None
        low = min(marks)
        return None if low == NEVER else low

    def all_ended(self) -> bool:
        """Every known stream ended and was released in full (and at least one stream exists)."""
        return bool(self.streams) and all(s.complete and not s.queue for s in self.streams.values())

    def waiting(self) -> int:
        return sum(len(s.queue) + len(s.ahead) for s in self.streams.values())

    def counts(self) -> StreamCounts:
        total = StreamCounts()
        for s in self.streams.values():
            for f in ("contacts", "duplicates", "lost", "gaps", "forced"):
                setattr(total, f, getattr(total, f) + getattr(s.counts, f))
        return total
