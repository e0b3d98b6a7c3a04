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
from airwatch.decoders.adsb.sbs import SBS_REFUSALS
from airwatch.decoders.frames import FrameDecoder
from airwatch.decoders.signatures import SignatureMatcher
from airwatch.sources.adsb_recording import AdsbRecording, iter_contacts, make_decoder, sniff_adsb
from airwatch.signature_rules import default_matcher
from airwatch.sources.pcap import CaptureError, read_capture

PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
               b"\x0a\x0d\x0d\x0a")
READ_BUFFER = 1 << 20
SNIFF_BYTES = 8192
#: ADS-B counters that mean a message was refused (the others count what was read or kept).
ADSB_REFUSALS = frozenset({
    "crc_failed", "bad_length", "position_invalid", "position_jump", "position_out_of_range",
    "altitude_jump", "velocity_jump", "cpr_pair_inconsistent", "cpr_zone_mismatch",
    "surveillance_altitude_mismatch", "avr_bad_hex", "avr_bad_length", "avr_bad_prefix", "avr_overlong",
    "beast_garbage_bytes", "beast_truncated", "beast_truncated_at_end", "beast_unknown_type",
    "csv_bad_beast_frame", "csv_bad_length", "csv_bad_line", "jsonl_bad_json", "jsonl_bad_length",
    "jsonl_bad_value", "jsonl_missing_field",
}) | SBS_REFUSALS


@dataclass
class InputReport:
    name: str
    kind: str = "unknown"
    frames: int = 0
    contacts: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    warning: str | None = None


def _open(name: str) -> BinaryIO:
    if name == "-":
        return sys.stdin.buffer
    return open(name, "rb", buffering=READ_BUFFER)  # noqa: SIM115 - closed by the reader's generator


def _head(stream: BinaryIO, n: int = SNIFF_BYTES) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return peek(n)[:n]
    return b""


def _capture_contacts(stream: BinaryIO, report: InputReport, options: InputOptions) -> Iterator[Contact]:
    signatures = options.signatures if options.signatures is not None else default_matcher()
    decoder = FrameDecoder(options.sensor_id, signatures)
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


def _adsb_contacts(name: str, fmt: str, report: InputReport, options: InputOptions) -> Iterator[Contact]:
    report.kind = f"adsb:{fmt}"
    try:
        recording = AdsbRecording(name, fmt=fmt, start=options.start)
    except (OSError, ValueError) as e:
        report.error = f"{name}: {e}"
        return
    decoder = make_decoder(fmt, receiver=options.receiver, sensor_id=options.sensor_id, source=name)
    try:
        yield from iter_contacts(name, recording=recording, decoder=decoder)
    except OSError as e:
        report.error = f"{name}: read failed: {e.strerror or e}"
    finally:
        if recording.time_is_guessed:  # known once the recording has been read
            report.warning = (f"{name}: {fmt} recordings carry no date; times start at the file's "
                              "modification time (give --start to place it beside a capture)")
        counters = decoder.counters + recording.counters
        report.frames = decoder.counters["messages"]
        report.contacts = decoder.counters["contacts"]
        report.rejected = Counter({k: v for k, v in counters.items() if k in ADSB_REFUSALS and v})


@dataclass(frozen=True)
class InputOptions:
    sensor_id: str | None = None
    receiver: tuple[float, float] | None = None  # the sensor's position, for local ADS-B decoding
    start: float | str | None = None  # UNIX time or ISO 8601 for recordings that carry no date
    signatures: SignatureMatcher | None = None  # drone Wi-Fi signature rules (default: the shipped ones)


def read_input(name: str, report: InputReport, options: InputOptions | None = None) -> Iterator[Contact]:
    """Contacts of one input, recognised by its first bytes.  Errors land in ``report``."""
    options = options or InputOptions()
    try:
        stream = _open(name)
    except OSError as e:
        report.error = f"{name}: cannot open: {e.strerror or e}"
        return
    try:
        head = _head(stream)
        if head[:4] in PCAP_MAGICS:
            yield from _capture_contacts(stream, report, options)
            return
        fmt = sniff_adsb(head) if head and name != "-" else None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if fmt is not None:
        yield from _adsb_contacts(name, fmt, report, options)
    elif not head:
        report.error = f"{name}: empty input"
    else:
        report.error = (f"{name}: not a pcap/pcapng capture or an ADS-B recording "
                        f"(starts with {head[:8].hex(' ')})")


def read_inputs(names: Iterable[str], options: InputOptions | None = None) -> tuple[Iterator[Contact], list[InputReport]]:
    """Contacts of all inputs merged in time order, and one report per input (filled as they are read)."""
    reports = [InputReport(name) for name in names]
    streams = [read_input(r.name, r, options) for r in reports]
    if len(streams) == 1:
        return streams[0], reports
    return heapq.merge(*streams, key=attrgetter("time")), reports
