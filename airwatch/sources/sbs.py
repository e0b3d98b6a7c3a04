"""SBS / BaseStation line framing (dump1090/readsb port 30003): feed it bytes, get lines.

Lines end in ``\\r\\n`` (``\\n`` alone is accepted); dump1090's heartbeat is an empty line.  Lines
come out as :class:`~airwatch.sources.beast.BeastFrame` tuples (kind :data:`SBS_LINE`, no clock,
no signal, ``data`` the line without its end) so the feed's loop is the same for Beast, AVR and
SBS; :class:`~airwatch.decoders.adsb.sbs.SbsDecoder` parses them.  A line longer than
:data:`~airwatch.decoders.adsb.sbs.MAX_LINE` is counted (``sbs_overlong``) and dropped up to its
end, without being held in memory; the lines around it are unaffected.
"""

from __future__ import annotations

from airwatch.decoders.adsb.sbs import MAX_LINE
from airwatch.sources.beast import BeastFrame, Framer

SBS_LINE = 0


class SbsFramer(Framer):
    __slots__ = ("_skipping",)
    prefix = "sbs"

    def __init__(self) -> None:
        super().__init__()
        self._skipping = False  # inside an overlong line: drop bytes up to the next line end

    def reset(self) -> None:
        super().reset()
        self._skipping = False

    def feed(self, data: bytes) -> list[BeastFrame]:
        buf = self._buf + data if self._buf else bytes(data)
        parts = buf.split(b"\n")
        tail = parts.pop()
        out: list[BeastFrame] = []
        for line in parts:
            if self._skipping:  # the end of an overlong line
                self._skipping = False
                continue
            line = line.rstrip(b"\r")
            if len(line) > MAX_LINE:
                self.counters["sbs_overlong"] += 1
            elif line.strip():
                out.append(BeastFrame(SBS_LINE, 0, 0, line))
        if len(tail) > MAX_LINE:
            if not self._skipping:
                self.counters["sbs_overlong"] += 1
            self._skipping = True
            tail = b""
        self._buf = tail
        return out
