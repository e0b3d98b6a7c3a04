"""AVR text framing (dump1090/readsb port 30002, ``--raw`` files): feed it bytes, get frames.

One message per line, ending in ``;`` (then ``\\n`` or ``\\r\\n``)::

    *8D4840D6202CC371C32CE0576098;      plain
    @0000236AB4F18D4840D6202CC371C32CE0576098;   12 hex digits of 12 MHz clock, then the message
    %0000236AB4F1<message>;             same, CRC already checked upstream
    <0000236AB4F1A3<message>;           clock, 2 hex digits of signal, message (Beast-AVR)
    :<message>;                         VRS "parity stripped"
    *0000;                              heartbeat / Mode A/C (4 hex digits)

Frames come out as :class:`~airwatch.sources.beast.BeastFrame` tuples (kind 0x31/0x32/0x33 by
length, timestamp 0 when the line has none), so files and feeds of either format feed the same
decoder.  Bad lines are counted in ``counters`` (``avr_bad_prefix``, ``avr_bad_hex``,
``avr_bad_length``, ``avr_overlong``) and skipped; the lines around them are unaffected.
"""

from __future__ import annotations

import re

from airwatch.sources.beast import MODE_AC, MODE_S_LONG, MODE_S_SHORT, BeastFrame, Framer

_KIND_BY_BYTES = {2: MODE_AC, 7: MODE_S_SHORT, 14: MODE_S_LONG}
_MAX_LINE = 256
_HEX = re.compile(rb"[0-9A-Fa-f]*")


class AvrFramer(Framer):
    __slots__ = ()
    prefix = "avr"

    def feed(self, data: bytes) -> list[BeastFrame]:
        buf = self._buf + data if self._buf else data
        # a message ends at ';' or at an end of line, whichever comes first
        parts = buf.replace(b"\r", b"\n").replace(b";", b"\n").split(b"\n")
        tail = parts.pop()
        if len(tail) > _MAX_LINE:
            self.counters["avr_overlong"] += 1
            tail = b""
        self._buf = tail
        out: list[BeastFrame] = []
        for line in parts:
            line = line.strip()
            if line:
                frame = self.parse_line(line)
                if frame is not None:
                    out.append(frame)
        return out

    def parse_line(self, line: bytes) -> BeastFrame | None:
        """One AVR message, without its ``;`` (leading/trailing spaces allowed)."""
        line = line.strip().rstrip(b";")
        if not line:
            return None
        prefix = line[:1]
        body = line[1:]
        ts = 0
        sig = 0
        if prefix in (b"*", b":"):
            pass
        elif prefix in (b"@", b"%"):
            ts_hex, body = body[:12], body[12:]
            ts = self._hex_int(ts_hex, 12)
            if ts is None:
                return None
        elif prefix == b"<":
            ts_hex, sig_hex, body = body[:12], body[12:14], body[14:]
            ts = self._hex_int(ts_hex, 12)
            sig_v = self._hex_int(sig_hex, 2)
            if ts is None or sig_v is None:
                return None
            sig = sig_v
        else:
            self.counters["avr_bad_prefix"] += 1
            return None
        if len(body) % 2 or not _HEX.fullmatch(body):
            self.counters["avr_bad_hex"] += 1
            return None
        data = bytes.fromhex(body.decode("ascii"))
        kind = _KIND_BY_BYTES.get(len(data))
        if kind is None:
            self.counters["avr_bad_length"] += 1
            return None
        self.counters["avr_frames"] += 1
        return BeastFrame(kind, ts, sig, data)

    def _hex_int(self, text: bytes, digits: int) -> int | None:
        if len(text) != digits or not _HEX.fullmatch(text):
            self.counters["avr_bad_hex"] += 1
            return None
        return int(text, 16)


def format_avr(data: bytes, timestamp: int | None = None) -> bytes:
    """One AVR line for ``data`` (``@`` form when a clock value is given)."""
    if timestamp is None:
        return b"*" + data.hex().upper().encode() + b";\n"
    return b"@" + f"{timestamp:012X}".encode() + data.hex().upper().encode() + b";\n"
