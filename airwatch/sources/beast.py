"""Mode S Beast binary framing: feed it bytes, get frames back.

The format (dump1090/readsb port 30005, Beast and Radarcape receivers, ``--beastfile`` dumps)::

    frame := 0x1A TYPE BODY                 no length field, no checksum, no terminator
    BODY  := TS[6] SIG[1] DATA[n]           the unescaped view
    TYPE  0x31 '1' Mode A/C      n = 2
          0x32 '2' Mode S short  n = 7      DF0/4/5/11
          0x33 '3' Mode S long   n = 14     DF16/17/18/19/20/21/24
          0x34 '4' status        body 21 bytes (receiver DIP switches), framed and skipped
          0x35 '5' Radarcape receiver position, body 21 bytes, skipped
          0xE3 readsb receiver id (8 bytes), 0xE4 feeder UUID (36), 0xE8 system time (8), skipped

Every 0x1A inside BODY is sent doubled (0x1A 0x1A).  A single 0x1A followed by anything else
inside a body means the frame was cut: it is dropped and parsing resumes at that 0x1A, which is
the start of the next frame.  Bytes that are not part of a frame (garbage, an unknown TYPE) are
skipped up to the next lone 0x1A and counted.

:class:`BeastFramer` is incremental: it keeps an unfinished frame between calls, so a file read
in blocks and a TCP stream cut anywhere give the same frames.  ``reset()`` drops the unfinished
tail (call it after a reconnection: the half frame can never be completed).
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

ESC = 0x1A
MODE_AC = 0x31
MODE_S_SHORT = 0x32
MODE_S_LONG = 0x33
STATUS = 0x34

# TYPE -> unescaped body length (timestamp + signal + data, or the vendor payload)
BODY_LENGTH = {
    MODE_AC: 6 + 1 + 2,
    MODE_S_SHORT: 6 + 1 + 7,
    MODE_S_LONG: 6 + 1 + 14,
    STATUS: 6 + 1 + 14,
    0x35: 21,
    0xE3: 8,
    0xE4: 36,
    0xE8: 8,
}
# Types whose frames carry a receiver message (the rest are framed and skipped).
MESSAGE_TYPES = frozenset((MODE_AC, MODE_S_SHORT, MODE_S_LONG))

# Timestamps readsb writes instead of a receiver clock value.
TS_MLAT = 0xFF004D4C4154  # frame synthesised from a multilateration result
TS_UAT = 0xFF004D4C4155  # frame converted from UAT
TS_ANY = 0xFFFFFFFFFFFF  # reduced dumps
TS_NONE = 0
SYNTHETIC_TIMESTAMPS = frozenset((TS_MLAT, TS_UAT, TS_ANY, TS_NONE))

# Keep at most this many unparsed bytes: a frame is at most 2 + 2*36 bytes on the wire.
_MAX_PENDING = 4096


class BeastFrame(NamedTuple):
    kind: int  # 0x31, 0x32, 0x33
    timestamp: int  # 48-bit receiver clock (12 MHz counter or GPS seconds<<30|ns); 0 = none
    signal: int  # 0..255 amplitude byte
    data: bytes  # 2, 7 or 14 bytes: the Mode A/C or Mode S message


def escape(body: bytes) -> bytes:
    """The wire form of a frame body: every 0x1A doubled."""
    return body.replace(b"\x1a", b"\x1a\x1a")


def encode_frame(kind: int, timestamp: int, signal: int, data: bytes) -> bytes:
    """Build one Beast frame as it appears on the wire (used by tests and the feed server)."""
    body = timestamp.to_bytes(6, "big") + bytes((signal,)) + data
    return bytes((ESC, kind)) + escape(body)


class Framer:
    """What the Beast and AVR framers share: the bytes held back for a frame cut in half."""

    __slots__ = ("_buf", "counters")
    prefix = "beast"  # counter key prefix

    def __init__(self) -> None:
        self._buf = b""
        self.counters: Counter[str] = Counter()

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget any half-received frame (after a reconnection or a seek)."""
        if self._buf:
            self.counters[f"{self.prefix}_reset_dropped_bytes"] += len(self._buf)
        self._buf = b""


class BeastFramer(Framer):
    """Incremental Beast framer.  ``feed(bytes) -> list[BeastFrame]``; counters in ``counters``.

    Counter keys: ``beast_frames`` (Mode S/AC frames out), ``beast_other`` (status, position and
    vendor frames skipped), ``beast_truncated`` (a frame cut by a lone 0x1A), ``beast_unknown_type``,
    ``beast_garbage_bytes`` (bytes outside any frame), ``beast_overflow`` (pending buffer dropped).
    """

    __slots__ = ()

    def feed(self, data: bytes) -> list[BeastFrame]:
        buf = self._buf + data if self._buf else bytes(data)
        out: list[BeastFrame] = []
        append = out.append
        counters = self.counters
        n = len(buf)
        i = 0
        find = buf.find
        while True:
            if i >= n:
                buf = b""
                break
            if buf[i] != ESC:
                j = find(b"\x1a", i)
                if j < 0:
                    counters["beast_garbage_bytes"] += n - i
                    buf = b""
                    break
                counters["beast_garbage_bytes"] += j - i
                i = j
            if i + 1 >= n:
                buf = buf[i:]
                break
            kind = buf[i + 1]
            length = BODY_LENGTH.get(kind)
            if length is None:
                if kind == ESC:
                    # an escaped 0x1A outside a frame: garbage, skip both bytes
                    counters["beast_garbage_bytes"] += 2
                    i += 2
                else:
                    counters["beast_unknown_type"] += 1
                    i += 2
                continue
            start = i + 2
            end = start + length
            if end > n:
                # maybe incomplete; but a lone 0x1A inside means it was cut
                cut = _find_cut(buf, start, n)
                if cut is None:
                    buf = buf[i:]
                    break
                counters["beast_truncated"] += 1
                i = cut
                continue
            body = buf[start:end]
            if ESC in body:
                body, end = _unescape(buf, start, length)
                if body is None:
                    if end < 0:  # ran out of bytes: wait for more
                        buf = buf[i:]
                        break
                    counters["beast_truncated"] += 1
                    i = end  # resync at the lone 0x1A
                    continue
            i = end
            if kind in MESSAGE_TYPES:
                append(
                    BeastFrame(kind, int.from_bytes(body[:6], "big"), body[6], bytes(body[7:]))
                )
                counters["beast_frames"] += 1
            else:
                counters["beast_other"] += 1
        if len(buf) > _MAX_PENDING:  # cannot happen with well-formed lengths; be safe
            counters["beast_overflow"] += 1
            buf = b""
        self._buf = buf
        return out


def _find_cut(buf: bytes, start: int, n: int) -> int | None:
    """Position of a lone 0x1A in buf[start:n] (a cut frame), or None."""
    j = start
    while True:
        j = buf.find(b"\x1a", j, n)
        if j < 0 or j + 1 >= n:
            return None
        if buf[j + 1] != ESC:
            return j
        j += 2


def _unescape(buf: bytes, start: int, length: int) -> tuple[bytes | None, int]:
    """Unescape ``length`` body bytes from ``start``.

    Returns (body, end) on success; (None, cut) when a lone 0x1A cuts the frame (cut is its
    index); (None, -1) when the buffer ends before the body does.
    """
    out = bytearray()
    n = len(buf)
    j = start
    while len(out) < length:
        if j >= n:
            return None, -1
        b = buf[j]
        if b == ESC:
            if j + 1 >= n:
                return None, -1
            if buf[j + 1] != ESC:
                return None, j
            j += 2
        else:
            j += 1
        out.append(b)
    return bytes(out), j


def _dbfs(b: int) -> float | None:
    from math import log10

    return round(20.0 * log10(b / 255.0), 1) if b > 0 else None


_DBFS = tuple(_dbfs(b) for b in range(256))


def rssi_dbfs(signal: int) -> float | None:
    """dump1090 writes round(sqrt(power)*255): the level is 20*log10(b/255) dBFS."""
    return _DBFS[signal]
