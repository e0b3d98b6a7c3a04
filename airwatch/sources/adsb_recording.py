"""ADS-B recordings: recognise one by its content, read its messages, decode them to contacts.

Formats (``sniff_adsb`` returns the name):

``beast``
    Mode S Beast binary as dump1090/readsb write it (``--beastfile``, ``nc host 30005 > f``).
    The clock is the receiver's: a free-running 12 MHz counter (dump1090/readsb with an SDR)
    or GPS time of day (Radarcape/GNS: ``seconds << 30 | nanoseconds``), chosen by
    ``clock="12mhz" | "gps" | "auto"``.  Neither is an absolute date, so ``start`` (UNIX
    seconds) gives the first frame its time; without it the file's modification time is used
    and ``time_is_guessed`` is set.
``avr``
    AVR text (``*hex;``, ``@<12 hex clock>hex;``, ``%...;``, ``<...;``).  ``@``/``%``/``<`` lines
    carry the 12 MHz clock (handled as for Beast); ``*`` lines carry no time at all: every
    message gets ``start`` (or the file's modification time).
``adsb_csv``
    ``unix_ts,beast_hex`` as jet1090/rs1090 write it (``1a32``/``1a33`` + 12 hex clock + 2 hex
    signal + message), or ``ts,hex`` with the plain message (pyModeS ``modes decode`` files;
    quotes and extra columns are ignored).  Times are absolute; ``start`` is ignored.
``sbs``
    SBS / BaseStation lines as dump1090/readsb write them on port 30003 (``nc host 30003 > f``):
    ``MSG,<type>,...`` with 22 fields (:mod:`airwatch.decoders.adsb.sbs`).  Times are the
    lines' generated date and time, read as **UTC**: dump1090-fa writes its machine's local time,
    so run it with ``TZ=UTC`` or give ``start``, which places the first line at that time and
    shifts the rest.  A time more than 2 s behind the newest (a clock change) continues from the
    newest and is counted (``clock_discontinuity``), so lines always come out in time order.
``adsb_jsonl``
    JSON Lines with a time (``timestamp``, ``ts``, ``time``, ``t``, ``mintime``: UNIX seconds or
    an ISO 8601 string) and a hex message (``frame``, ``raw``, ``rawmsg``, ``hex``, ``msg``,
    ``message``).  Times are absolute; ``start`` is ignored.

:class:`AdsbRecording` yields :class:`RawMessage` tuples ``(time, data, signal_dbfs, number)``
where ``data`` is the Mode S message (7 or 14 bytes; 2 for Mode A/C; for ``sbs``, the line) and
``number`` the 1-based line or frame number.  :func:`iter_contacts` runs them through
:class:`~airwatch.decoders.adsb.AdsbDecoder` and yields contacts in time order.  Nothing here
raises on bad content: malformed lines and frames are counted in ``counters`` and skipped.
"""

from __future__ import annotations

import heapq
import math
import os
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import orjson

from airwatch.contact import Contact
from airwatch.decoders.adsb import AdsbDecoder
from airwatch.decoders.adsb.sbs import MAX_LINE as SBS_MAX_LINE
from airwatch.decoders.adsb.sbs import SbsDecoder, SbsMessage, parse_sbs
from airwatch.sources.avr import AvrFramer
from airwatch.sources.beast import (
    _DBFS,
    BODY_LENGTH,
    MODE_AC,
    MODE_S_LONG,
    MODE_S_SHORT,
    SYNTHETIC_TIMESTAMPS,
    BeastFramer,
    rssi_dbfs,
)

FORMATS = ("beast", "avr", "adsb_csv", "adsb_jsonl", "sbs")
TICKS_PER_SECOND = 12_000_000.0
_GPS_NS_MASK = (1 << 30) - 1
_BLOCK = 1 << 16

_CSV_LINE = re.compile(r'\s*-?\d+(?:\.\d*)?\s*,\s*"?([0-9A-Fa-f]+)"?\s*(?:,.*)?')
_AVR_LINE = re.compile(rb"\s*[*@%<:][0-9A-Fa-f]+;")
_TIME_KEYS = ("timestamp", "ts", "time", "t", "mintime", "unix_ts")
_HEX_KEYS = ("frame", "raw", "rawmsg", "hex", "msg", "message")
_BEAST_BYTES = {MODE_AC: 11, MODE_S_SHORT: 16, MODE_S_LONG: 23}  # unescaped 1A TYPE TS SIG DATA
_PLAIN_HEX_LENGTHS = frozenset((4, 14, 28))
_BEAST_HEX_LENGTHS = frozenset((22, 32, 46))
_SBS_BACKWARDS = 2.0  # seconds an SBS time may run behind the newest (iter_contacts reorders that much)


class RawMessage(NamedTuple):
    time: float  # UNIX seconds
    data: bytes  # the Mode S message (7 or 14 bytes) or Mode A/C (2)
    signal_dbfs: float | None
    number: int  # 1-based frame (binary) or line (text) number in the file


_raw = tuple.__new__  # builds RawMessage instances without the Python-level __new__


def _hex_len_ok(h: str) -> bool:
    n = len(h)
    return n in _PLAIN_HEX_LENGTHS or (n in _BEAST_HEX_LENGTHS and h[:3].lower() in ("1a3",))


def sniff_adsb(head: bytes) -> str | None:
    """The recording format if ``head`` (the first few kB of a file) looks like one, else None."""
    if not head:
        return None
    if head[0] == 0x1A and len(head) > 1 and head[1] in BODY_LENGTH:
        framer = BeastFramer()
        frames = framer.feed(head[:4096])
        garbage = framer.counters["beast_garbage_bytes"] + framer.counters["beast_unknown_type"]
        if frames and garbage <= len(frames):
            return "beast"
        return None
    text_lines = [ln for ln in head.split(b"\n")[:-1] if ln.strip()] or [head]
    first = text_lines[0].lstrip(b"\xef\xbb\xbf")
    if first.startswith(b"MSG,") and first.rstrip(b"\r\n").count(b",") == 21:
        return "sbs"
    if _AVR_LINE.match(first):
        return "avr"
    stripped = first.strip()
    if stripped.startswith(b"{"):
        try:
            obj = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            if any(k in obj for k in _HEX_KEYS) and any(k in obj for k in _TIME_KEYS):
                return "adsb_jsonl"
            return None
        if any(b'"%s"' % k.encode() in stripped for k in _HEX_KEYS):
            return "adsb_jsonl"
        return None
    for line in text_lines[:2]:  # allow one header line
        try:
            m = _CSV_LINE.fullmatch(line.decode("ascii").strip())
        except UnicodeDecodeError:
            return None
        if m and _hex_len_ok(m.group(1)):
            return "adsb_csv"
    return None


def parse_start(start: float | int | str | datetime | None) -> float | None:
    """UNIX seconds from a number, a datetime (naive = UTC) or an ISO 8601 string."""
    if start is None:
        return None
    if isinstance(start, datetime):
        dt = start
    elif isinstance(start, (int, float)):
        return float(start)
    else:
        text = start.strip()
        try:
            return float(text)
        except ValueError:
            pass
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


class ReceiverClock:
    """Turns 48-bit receiver clock values into UNIX seconds, anchored at ``base``.

    12 MHz mode: the first clock value maps to ``base``; a clock that runs backwards (receiver
    restart) or jumps ahead by more than an hour starts a new segment at the last time seen.
    GPS mode: seconds since midnight UTC of ``base``'s day, plus nanoseconds.  Clock values 0
    and readsb's MLAT/UAT markers carry no time: the last time is reused.
    """

    __slots__ = ("base", "gps", "_t0", "_last", "counters")

    def __init__(self, base: float, gps: bool = False, counters: Counter[str] | None = None):
        self.base = base
        self.gps = gps
        self._t0: int | None = None
        self._last = base
        self.counters = counters if counters is not None else Counter()

    def time(self, ts: int) -> float:
        if ts in SYNTHETIC_TIMESTAMPS:
            return self._last
        if self.gps:
            secs = (ts >> 30) + (ts & _GPS_NS_MASK) / 1e9
            day = self.base - self.base % 86400.0
            t = day + secs
            if t < self._last - 43200.0:  # crossed midnight
                self.base += 86400.0
                t += 86400.0
            self._last = t
            return t
        if self._t0 is None:
            self._t0 = ts
            self._last = self.base
            return self.base
        dt = (ts - self._t0) / TICKS_PER_SECOND
        t = self.base + dt
        if t < self._last - 1.0 or t > self._last + 3600.0:
            self.counters["clock_discontinuity"] += 1
            self.base = self._last
            self._t0 = ts
            t = self._last
        elif t > self._last:
            self._last = t
        return t


def looks_like_gps_clock(stamps: list[int]) -> bool:
    """Radarcape GPS stamps never have a nanosecond part >= 1e9 and wrap it every second.

    A 12 MHz counter spends 7 % of every 89 s with its low 30 bits above 1e9, so a run of
    several wraps with none of those values means GPS time.
    """
    real = [s for s in stamps if s not in SYNTHETIC_TIMESTAMPS]
    if len(real) < 3:
        return False
    if any((s & _GPS_NS_MASK) >= 1_000_000_000 or (s >> 30) >= 86400 for s in real):
        return False
    wraps = sum(1 for a, b in zip(real, real[1:]) if (b >> 30) == (a >> 30) + 1)
    return wraps >= 2


class AdsbRecording:
    """Messages of one recording file, in file order.

    ``fmt``: one of :data:`FORMATS` (sniffed when None; ``ValueError`` when not recognised).
    ``start``: UNIX seconds (or ISO string / datetime) for recordings without absolute time.
    ``clock``: ``"auto"``, ``"12mhz"`` or ``"gps"`` for Beast files and timestamped AVR.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fmt: str | None = None,
        start: float | str | datetime | None = None,
        clock: str = "auto",
    ) -> None:
        self.path = Path(path)
        if fmt is None:
            with open(self.path, "rb") as f:
                fmt = sniff_adsb(f.read(8192))
            if fmt is None:
                raise ValueError(f"{self.path}: not a recognised ADS-B recording")
        if fmt not in FORMATS:
            raise ValueError(f"unknown ADS-B recording format {fmt!r}")
        if clock not in ("auto", "12mhz", "gps"):
            raise ValueError(f"clock must be auto, 12mhz or gps, not {clock!r}")
        self.fmt = fmt
        self.start = parse_start(start)
        self.clock = clock
        self.counters: Counter[str] = Counter()
        self.time_is_guessed = False

    def _base(self) -> float:
        if self.start is not None:
            return self.start
        self.time_is_guessed = True
        return self.path.stat().st_mtime

    def messages(self) -> Iterator[RawMessage]:
        if self.fmt == "beast":
            return self._beast()
        if self.fmt == "avr":
            return self._avr()
        if self.fmt == "adsb_csv":
            return self._csv()
        if self.fmt == "sbs":
            return (RawMessage(t, line, None, number) for t, _, line, number in self.sbs_messages())
        return self._jsonl()

    __iter__ = messages

    # -------------------------------------------------------------- binary

    def _beast(self) -> Iterator[RawMessage]:
        framer = BeastFramer()
        framer.counters = self.counters
        clock: ReceiverClock | None = None
        backlog: list = []
        number = 0
        with open(self.path, "rb") as f:
            while True:
                block = f.read(_BLOCK)
                frames = framer.feed(block) if block else []
                if clock is None:
                    backlog.extend(frames)
                    if block and len(backlog) < 200:
                        continue
                    clock = self._make_clock([fr.timestamp for fr in backlog])
                    frames = backlog
                for fr in frames:
                    number += 1
                    yield RawMessage(clock.time(fr.timestamp), fr.data, rssi_dbfs(fr.signal), number)
                if not block:
                    break
        if framer.pending:
            self.counters["beast_truncated_at_end"] += 1

    def _make_clock(self, stamps: list[int]) -> ReceiverClock:
        gps = self.clock == "gps" or (self.clock == "auto" and looks_like_gps_clock(stamps))
        return ReceiverClock(self._base(), gps=gps, counters=self.counters)

    # -------------------------------------------------------------- text

    def _lines(self) -> Iterator[tuple[int, str]]:
        with open(self.path, encoding="ascii", errors="replace", newline=None) as f:
            for number, line in enumerate(f, 1):
                yield number, line

    def _avr(self) -> Iterator[RawMessage]:
        framer = AvrFramer()
        framer.counters = self.counters
        base = self._base()
        clock: ReceiverClock | None = None
        backlog: list[tuple[int, object]] = []
        with open(self.path, "rb") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                fr = framer.parse_line(line)
                if fr is None:
                    continue
                if clock is None:
                    backlog.append((number, fr))
                    if len(backlog) < 200:
                        continue
                    clock = self._make_clock([b.timestamp for _, b in backlog])  # type: ignore[attr-defined]
                    for num, b in backlog:
                        yield self._avr_message(b, num, clock, base)
                    backlog = []
                    continue
                yield self._avr_message(fr, number, clock, base)
        if clock is None and backlog:
            clock = self._make_clock([b.timestamp for _, b in backlog])  # type: ignore[attr-defined]
            for num, b in backlog:
                yield self._avr_message(b, num, clock, base)

    @staticmethod
    def _avr_message(fr, number: int, clock: ReceiverClock, base: float) -> RawMessage:  # type: ignore[no-untyped-def]
        t = clock.time(fr.timestamp) if fr.timestamp else base
        return RawMessage(t, fr.data, rssi_dbfs(fr.signal) if fr.signal else None, number)

    def _csv(self) -> Iterator[RawMessage]:
        counters = self.counters
        fromhex = bytes.fromhex
        raw_message = RawMessage
        dbfs = _DBFS
        for number, line in self._lines():
            parts = line.split(",", 2)
            if len(parts) < 2:
                if line.strip():
                    counters["csv_bad_line"] += 1
                continue
            h = parts[1].strip().strip('"')
            try:
                t = float(parts[0])
                raw = fromhex(h)
                if not math.isfinite(t):
                    raise ValueError
            except ValueError:
                if number == 1:  # a header line
                    continue
                counters["csv_bad_line"] += 1
                continue
            n = len(raw)
            if raw[:1] == b"\x1a":
                if n == _BEAST_BYTES.get(raw[1]):
                    yield _raw(raw_message, (t, raw[9:], dbfs[raw[8]], number))
                else:
                    counters["csv_bad_beast_frame"] += 1
            elif n == 14 or n == 7 or n == 2:
                yield _raw(raw_message, (t, raw, None, number))
            else:
                counters["csv_bad_length"] += 1

    def _jsonl(self) -> Iterator[RawMessage]:
        counters = self.counters
        for number, line in self._lines():
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                counters["jsonl_bad_json"] += 1
                continue
            if not isinstance(obj, dict):
                counters["jsonl_bad_json"] += 1
                continue
            t = _first(obj, _TIME_KEYS)
            h = _first(obj, _HEX_KEYS)
            if t is None or not isinstance(h, str):
                counters["jsonl_missing_field"] += 1
                continue
            try:
                t = parse_start(t) if not isinstance(t, bool) else None
                raw = bytes.fromhex(h.strip().removeprefix("*").removesuffix(";"))
            except (ValueError, TypeError, AttributeError, OverflowError):
                counters["jsonl_bad_value"] += 1
                continue
            if t is None or not math.isfinite(t):
                counters["jsonl_bad_value"] += 1
                continue
            if raw[:1] == b"\x1a" and len(raw) in (11, 16, 23):
                yield RawMessage(t, raw[9:], rssi_dbfs(raw[8]), number)
            elif len(raw) in (2, 7, 14):
                yield RawMessage(t, raw, None, number)
            else:
                counters["jsonl_bad_length"] += 1


    def sbs_messages(self) -> Iterator[tuple[float, SbsMessage, bytes, int]]:
        """SBS lines as ``(time, parsed message, line without its end, line number)``, in time order."""
        counters = self.counters
        start = self.start
        offset: float | None = None
        newest = float("-inf")
        with open(self.path, "rb") as f:
            for number, line in _bounded_lines(f, SBS_MAX_LINE, counters):
                m = parse_sbs(line, counters)
                if m is None:
                    continue
                t = m.time
                if t is None:
                    counters["sbs_no_time"] += 1
                    continue
                if offset is None:
                    offset = 0.0 if start is None else start - t
                t += offset
                if t < newest - _SBS_BACKWARDS:
                    counters["clock_discontinuity"] += 1
                    offset += newest - t
                    t = newest
                elif t > newest:
                    newest = t
                yield t, m, line, number


def _bounded_lines(f, limit: int, counters: Counter[str]) -> Iterator[tuple[int, bytes]]:  # type: ignore[no-untyped-def]
    """Non-blank lines without their ends, numbered; a line over ``limit`` bytes is counted
    (``sbs_overlong``) and skipped without ever holding more than ``limit`` bytes of it."""
    readline = f.readline
    number = 0
    while True:
        line = readline(limit + 2)
        if not line:
            return
        number += 1
        if len(line) > limit and not (line.endswith(b"\n") and len(line.rstrip(b"\r\n")) <= limit):
            counters["sbs_overlong"] += 1
            while line and not line.endswith(b"\n"):
                line = readline(1 << 16)
            continue
        line = line.rstrip(b"\r\n")
        if line.strip():
            yield number, line


def _first(obj: dict, keys: tuple[str, ...]):  # type: ignore[no-untyped-def,type-arg]
    for k in keys:
        v = obj.get(k)
        if v is not None:
            return v
    return None


def make_decoder(fmt: str, **options) -> AdsbDecoder | SbsDecoder:  # type: ignore[no-untyped-def]
    """The decoder for a recording or feed format: ``SbsDecoder`` for ``sbs``, else ``AdsbDecoder``."""
    return SbsDecoder(**options) if fmt == "sbs" else AdsbDecoder(**options)


def iter_contacts(
    path: str | os.PathLike[str],
    *,
    start: float | str | datetime | None = None,
    sensor_id: str | None = None,
    receiver: tuple[float, float] | None = None,
    max_range_km: float | None = None,
    fmt: str | None = None,
    clock: str = "auto",
    decoder: AdsbDecoder | SbsDecoder | None = None,
    reorder_window: float = 2.0,
    recording: AdsbRecording | None = None,
) -> Iterator[Contact]:
    """Decode a recording to aircraft contacts, in time order.

    Messages are decoded in file order (the order the receiver produced them, which CPR pairing
    needs); contacts then pass a ``reorder_window``-second buffer so slightly out-of-order
    stamps (merged receivers) still come out sorted.  ``contact.source`` is the file name and
    ``contact.frame`` the line or frame number.  Pass ``decoder`` (or ``recording``) to read its
    counters afterwards.
    """
    rec = recording or AdsbRecording(path, fmt=fmt, start=start, clock=clock)
    dec = decoder or make_decoder(
        rec.fmt, receiver=receiver, max_range_km=max_range_km, sensor_id=sensor_id, source=rec.path.name
    )
    if dec.source is None:
        dec.source = rec.path.name
    if rec.fmt == "sbs":
        if not isinstance(dec, SbsDecoder):
            raise TypeError("an SBS recording needs an SbsDecoder")
        apply = dec.apply
        yield from _in_order(
            ((t, apply(m, t, frame=number, raw=line)) for t, m, line, number in rec.sbs_messages()),
            reorder_window,
        )
        return
    if isinstance(dec, SbsDecoder):
        raise TypeError(f"a {rec.fmt} recording needs an AdsbDecoder")
    decode = dec.decode
    yield from _in_order(
        ((t, decode(data, t, signal_dbfs=sig, frame=number)) for t, data, sig, number in rec.messages()),
        reorder_window,
    )


def _in_order(decoded: Iterator[tuple[float, Contact | None]], window: float) -> Iterator[Contact]:
    """Contacts through a ``window``-second reordering buffer: recordings are nearly in time order
    (receivers interleave), and contacts leave once nothing earlier can come."""
    heap: list[tuple[float, int, Contact]] = []
    seq = 0
    newest = float("-inf")
    for t, c in decoded:
        if c is None:
            continue
        seq += 1
        heapq.heappush(heap, (t, seq, c))
        if t > newest:
            newest = t
        limit = newest - window
        while heap[0][0] <= limit:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]
