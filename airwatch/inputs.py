"""Recorded inputs (captures, and ADS-B recordings) opened by content and read as contacts.

Every input gets an :class:`InputReport`: frames read, contacts, frames refused by reason,
and the error that stopped it, if any.  A broken input never stops the others; what was read
before the break is kept.  Contacts of several inputs come out merged in time order.
"""

from __future__ import annotations

import heapq
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from typing import BinaryIO

from airwatch.contact import Contact
from airwatch.decoders.frames import FrameDecoder
from airwatch.sources.pcap import CaptureError, read_capture

PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
               b"\x0a\x0d\x0d\x0a")
READ_BUFFER = 1 << 20


@dataclass
class InputReport:
    name: str
    kind: str = "unknown"
    frames: int = 0
    contacts: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    error: str | None = None


def _open(name: str) -> BinaryIO:
    if name == "-":
        return sys.stdin.buffer
    return open(name, "rb", buffering=READ_BUFFER)  # noqa: SIM115 - closed by the reader's generator


def _head(stream: BinaryIO, n: int = 64) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return peek(n)[:n]
    return b""


def _capture_contacts(stream: BinaryIO, report: InputReport, sensor_id: str | None) -> Iterator[Contact]:
    decoder = FrameDecoder(sensor_id)
    report.kind = "capture"
    try:
        for frame in read_capture(stream, report.name):
            yield from decoder.decode(frame)
    except CaptureError as e:
        report.error = str(e)
    finally:
        report.frames = decoder.frames
        report.contacts = decoder.contacts
        report.rejected = decoder.rejected


def read_input(name: str, report: InputReport, sensor_id: str | None = None) -> Iterator[Contact]:
    """Contacts of one input, recognised by its first bytes.  Errors land in ``report``."""
    try:
        stream = _open(name)
    except OSError as e:
        report.error = f"{name}: cannot open: {e.strerror or e}"
        return
    try:
        head = _head(stream)
        if head[:4] in PCAP_MAGICS:
            yield from _capture_contacts(stream, report, sensor_id)
        elif not head:
            report.error = f"{name}: empty input"
        else:
            report.error = f"{name}: not a pcap/pcapng capture (starts with {head[:8].hex(' ')})"
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def read_inputs(names: Iterable[str], sensor_id: str | None = None) -> tuple[Iterator[Contact], list[InputReport]]:
    """Contacts of all inputs merged in time order, and one report per input (filled as they are read)."""
    reports = [InputReport(name) for name in names]
    streams = [read_input(r.name, r, sensor_id) for r in reports]
    if len(streams) == 1:
        return streams[0], reports
    return heapq.merge(*streams, key=attrgetter("time")), reports
