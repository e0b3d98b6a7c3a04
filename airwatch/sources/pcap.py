"""Streaming reader for pcap and pcapng capture files, from a path, a file object or a pipe.

Formats
    *Classic pcap*: magic ``a1b2c3d4`` (microsecond timestamps) and ``a1b23c4d`` (nanosecond
    timestamps), written in either byte order.  The link type is the low 16 bits of the link
    type field of the global header (the high bits carry FCS information).

    *pcapng*: a file is a sequence of sections, each opened by a section header block (SHB)
    whose byte-order magic decides the byte order of every block up to the next SHB, so
    sections of both byte orders can follow each other in one file.  Interface description
    blocks (IDB) are numbered from 0 in each section and give each interface its link type,
    snap length and the ``if_tsresol`` (power of 10 or, with the high bit set, power of 2;
    microseconds when absent) and ``if_tsoffset`` (seconds added to every timestamp) options.
    Packets come from enhanced packet blocks (EPB), simple packet blocks (SPB: interface 0 and
    no timestamp, so the frame takes the previous frame's time, 0.0 before any) and the
    obsolete packet blocks (PB, type 2).  Every other block type (name resolution, interface
    statistics, decryption secrets, custom blocks...) is skipped without being parsed.

    The format is told by the first four bytes; anything else raises :class:`CaptureError`.

Error policy
    Every problem with the input raises :class:`CaptureError`, never anything else: its
    ``offset`` is the file offset of the record or block that could not be read (everything
    before it was read and yielded) and ``frames`` the number of frames yielded before.
    A cut-off file yields every complete frame and then raises, saying where and how much is
    missing; a file that ends exactly between two records ends cleanly.  Records that claim
    more than :data:`MAX_CAPLEN` captured bytes, pcapng blocks whose length is not a multiple
    of 4, below the minimum for their type, above :data:`MAX_BLOCK` or different from the
    trailing copy of the length, options that overrun their block, an unknown byte-order
    magic or major version, and a packet block naming an interface that its section never
    described are all errors (a reader cannot tell the link type of such a frame, and
    Wireshark refuses them too).  Length fields are checked before any read is sized by them.
    ``OSError`` from opening or reading becomes a :class:`CaptureError` naming the file.
    Errors surface on iteration: nothing is opened before the first ``next()``.  Every
    record or block consumes at least 12 bytes, so no input can make the reader loop.

Streaming design
    The input is read in chunks of up to :data:`CHUNK` bytes, one ``read`` call each (paths
    are opened unbuffered; file objects are read with ``read1`` where they have it), so a pipe
    from a live ``tcpdump -w -`` yields each frame as soon as it arrives instead of waiting for
    a full chunk.  Records are sliced out of the chunk in memory with precompiled ``struct``
    unpackers, a few operations per frame.  Only the unparsed tail of a chunk is carried over
    to the next one, so memory stays bounded by one chunk plus one record (at most
    :data:`MAX_BLOCK`) whatever the file size, and nothing needs ``seek``: pipes and standard
    input work like files (non-blocking streams do not).  Unknown blocks larger than a chunk
    are read and discarded piecewise.  64 KiB chunks measured faster than 1 MiB ones (the
    chunk stays in the CPU cache while frames are sliced out of it), and 64 KiB is what a
    Linux pipe holds anyway.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from airwatch.frame import Frame

__all__ = ["CHUNK", "MAX_BLOCK", "MAX_CAPLEN", "CaptureError", "read_capture"]

CHUNK = 1 << 16  # bytes asked of the stream per read (see "Streaming design")
MAX_CAPLEN = 256 * 1024  # largest captured length accepted (tcpdump's default snap length)
MAX_BLOCK = 16 << 20  # largest pcapng block accepted

# classic pcap: magic as the file's first four bytes -> (byte order, timestamp fraction units)
_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e6),
    b"\xa1\xb2\xc3\xd4": (">", 1e6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e9),
    b"\xa1\xb2\x3c\x4d": (">", 1e9),
}

# pcapng block types
SECTION_HEADER_BLOCK = 0x0A0D0D0A  # the same bytes in both byte orders
INTERFACE_DESCRIPTION_BLOCK = 1
PACKET_BLOCK = 2  # obsolete
SIMPLE_PACKET_BLOCK = 3
ENHANCED_PACKET_BLOCK = 6
_SHB_MAGIC = b"\x0a\x0d\x0d\x0a"
_BYTE_ORDER_MAGICS = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}
_MIN_BLOCK = {
    SECTION_HEADER_BLOCK: 28,
    INTERFACE_DESCRIPTION_BLOCK: 20,
    PACKET_BLOCK: 32,
    SIMPLE_PACKET_BLOCK: 16,
    ENHANCED_PACKET_BLOCK: 32,
}
_BLOCK_NAMES = {
    SECTION_HEADER_BLOCK: "section header block",
    INTERFACE_DESCRIPTION_BLOCK: "interface description block",
    PACKET_BLOCK: "packet block",
    SIMPLE_PACKET_BLOCK: "simple packet block",
    ENHANCED_PACKET_BLOCK: "enhanced packet block",
}
_PACKET_BLOCKS = (ENHANCED_PACKET_BLOCK, SIMPLE_PACKET_BLOCK, PACKET_BLOCK)
# IDB options
_OPT_ENDOFOPT = 0
_IF_TSRESOL = 9
_IF_TSOFFSET = 14


class CaptureError(Exception):
    """The capture cannot be read (further): corrupt, cut off, not a capture, or unreadable.

    ``offset`` is the byte offset of the record or block that could not be read, ``frames``
    the number of frames yielded before the error.
    """

    def __init__(self, message: str, offset: int = 0, frames: int = 0) -> None:
        super().__init__(message)
        self.offset = offset
        self.frames = frames


def read_capture(source: str | os.PathLike | BinaryIO, name: str | None = None) -> Iterator[Frame]:
    """Yield the frames of a pcap or pcapng capture, one at a time, in file order.

    ``source`` is a path, ``"-"`` for standard input, or a binary file object (left open).
    ``name`` is what frames and error messages call the source; by default the path, ``"-"``
    for standard input, or the file object's ``name``.
    """
    if isinstance(source, (str, bytes, os.PathLike)) and source not in ("-", b"-"):
        path = os.fsdecode(source)
        name = path if name is None else name
        try:
            f = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the with below
        except OSError as e:
            raise CaptureError(f"{name}: cannot open: {e.strerror or e}") from e
        with f:
            yield from _read_stream(f, name)
    else:
        if isinstance(source, (str, bytes)):  # "-"
            source, name = sys.stdin.buffer, "-" if name is None else name
        elif name is None:
            name = getattr(source, "name", None)
            name = name if isinstance(name, str) else "<stream>"
        yield from _read_stream(source, name)


def _read_stream(f: BinaryIO, name: str) -> Iterator[Frame]:
    s = _Stream(f, name)
    buf = s.fill(b"", 0, 4)
    if len(buf) < 4:
        what = "an empty file" if not buf else f"only {len(buf)} bytes"
        raise CaptureError(f"{name}: not a pcap or pcapng file ({what})")
    magic = buf[:4]
    if magic == _SHB_MAGIC:
        yield from _read_pcapng(s, buf)
    elif magic in _PCAP_MAGICS:
        yield from _read_pcap(s, buf, *_PCAP_MAGICS[magic])
    else:
        start = " ".join(f"{b:02x}" for b in buf[:8])
        raise CaptureError(f"{name}: not a pcap or pcapng file (starts with {start} ...)")


class _Stream:
    """Chunked reads from a binary stream.  The parsers hold the current chunk ``buf`` and
    their position ``pos`` in it; ``base`` is the file offset of ``buf[0]``."""

    __slots__ = ("_read", "name", "base")

    def __init__(self, f: BinaryIO, name: str) -> None:
        self._read = getattr(f, "read1", None) or f.read
        self.name = name
        self.base = 0

    def read(self, size: int, frames: int) -> bytes:
        try:
            chunk = self._read(size)
        except OSError as e:
            message = f"{self.name}: read error at byte {self.base}: {e}"
            raise CaptureError(message, self.base, frames) from e
        if isinstance(chunk, bytes):
            return chunk
        if chunk is None:  # a non-blocking stream with nothing to read yet
            problem = "non-blocking streams are not supported"
        elif isinstance(chunk, str):
            problem = "stream opened in text mode, need binary"
        else:
            return bytes(chunk)  # bytearray, memoryview
        raise CaptureError(f"{self.name}: {problem}", self.base, frames)

    def fill(self, buf: bytes, pos: int, need: int, frames: int = 0) -> bytes:
        """Drop ``buf[:pos]`` and read until at least ``need`` bytes are buffered or the stream
        ends.  Returns the new buffer; the caller's position in it is 0."""
        self.base += pos
        have = len(buf) - pos
        parts = [buf[pos:]]
        while have < need:
            chunk = self.read(max(CHUNK, need - have), frames)
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        return b"".join(parts)

    def skip(self, buf: bytes, pos: int, count: int, frames: int) -> tuple[bytes, int]:
        """Discard ``count`` bytes from ``buf[pos:]`` on, reading no more than a chunk at a time.
        Returns the buffer after them (position 0) and how many bytes were really there."""
        start = self.base + pos
        have = len(buf) - pos
        if have >= count:
            self.base = start + count
            return buf[pos + count :], count
        while have < count:
            chunk = self.read(min(CHUNK, count - have), frames)
            if not chunk:
                break
            have += len(chunk)  # read() never returns more than asked, so have <= count
        self.base = start + have
        return b"", have


def _error(s: _Stream, offset: int, frames: int, message: str) -> CaptureError:
    return CaptureError(f"{s.name}: {message}", offset, frames)


def _truncated(
    s: _Stream, offset: int, frames: int, what: str, needs: str, have: int
) -> CaptureError:
    """``what``, starting at ``offset``, was cut off: ``needs`` says how long it should be."""
    message = f"truncated at byte {offset} inside {what} ({needs}, {have} present)"
    return _error(s, offset, frames, message)


def _read_pcap(s: _Stream, buf: bytes, order: str, units: float) -> Iterator[Frame]:
    name = s.name
    if len(buf) < 24:
        buf = s.fill(buf, 0, 24)
        if len(buf) < 24:
            raise _truncated(s, 0, 0, "the pcap global header", "which is 24 bytes", len(buf))
    linktype = struct.unpack_from(order + "I", buf, 20)[0] & 0xFFFF  # high bits: FCS length
    record = struct.Struct(order + "IIII").unpack_from  # seconds, fraction, caplen, length
    number = 0
    pos = 24
    end = len(buf)
    while True:
        if end - pos < 16:
            buf = s.fill(buf, pos, 16, number)
            pos = 0
            end = len(buf)
            if end < 16:
                if end:
                    needs = "a record header is 16 bytes"
                    raise _truncated(s, s.base, number, f"frame {number + 1}", needs, end)
                return
        sec, frac, caplen, _length = record(buf, pos)
        stop = pos + 16 + caplen
        if stop > end or caplen > MAX_CAPLEN:
            if caplen > MAX_CAPLEN:
                at = s.base + pos
                message = (
                    f"record at byte {at} (frame {number + 1}) claims {caplen} captured bytes, "
                    f"more than the {MAX_CAPLEN} accepted: corrupt file"
                )
                raise _error(s, at, number, message)
            buf = s.fill(buf, pos, 16 + caplen, number)
            pos = 0
            end = len(buf)
            stop = 16 + caplen
            if stop > end:
                needs = f"record header says {caplen} bytes"
                raise _truncated(s, s.base, number, f"frame {number + 1}", needs, end - 16)
        number += 1
        yield Frame(sec + frac / units, linktype, buf[pos + 16 : stop], number, name, 0)
        pos = stop


class _Section:
    """Bound unpackers for one pcapng byte order."""

    __slots__ = ("header", "u32", "epb", "pb", "idb", "shb", "option", "i64")

    def __init__(self, order: str) -> None:
        def unpacker(fmt: str) -> Callable[..., tuple[Any, ...]]:
            return struct.Struct(order + fmt).unpack_from

        self.header = unpacker("II")  # block type, block total length
        self.u32 = unpacker("I")
        self.epb = unpacker("IIIII")  # interface, timestamp high, low, captured length, length
        self.pb = unpacker("HHIIII")  # interface, drops, timestamp high, low, captured, length
        self.idb = unpacker("HHI")  # link type, reserved, snap length
        self.shb = unpacker("HH")  # major, minor version
        self.option = self.shb  # option code, option length
        self.i64 = unpacker("q")


_SECTIONS = {order: _Section(order) for order in "<>"}


def _block_name(btype: int) -> str:
    return _BLOCK_NAMES.get(btype) or f"block of type {btype:#x}"


def _interface(sec: _Section, buf: bytes, pos: int, blen: int) -> tuple[int, int, int, int] | str:
    """Parse an interface description block into (link type, timestamp units per second,
    timestamp offset in those units, snap length), or say what is wrong with it."""
    linktype, _reserved, snaplen = sec.idb(buf, pos + 8)
    units, offset = 10**6, 0
    p, stop = pos + 16, pos + blen - 4
    while p + 4 <= stop:
        code, length = sec.option(buf, p)
        if code == _OPT_ENDOFOPT:
            break
        p += 4
        if p + length > stop:
            return f"option {code} runs past the end of the block ({length} bytes)"
        if code == _IF_TSRESOL and length == 1:
            v = buf[p]
            units = 2 ** (v & 0x7F) if v & 0x80 else 10**v
        elif code == _IF_TSOFFSET and length == 8:
            offset = sec.i64(buf, p)[0]
        p += (length + 3) & ~3
    return linktype, units, offset * units, snaplen


def _read_pcapng(s: _Stream, buf: bytes) -> Iterator[Frame]:
    name = s.name
    sec = _SECTIONS["<"]  # replaced by the first section header block, before any use
    header, u32, epb = sec.header, sec.u32, sec.epb  # the hot ones, as locals
    min_length = _MIN_BLOCK.get
    interfaces: list[tuple[int, int, int, int]] = []  # of the current section
    number = 0
    time = 0.0
    pos = 0
    end = len(buf)
    while True:
        if end - pos < 12:
            buf = s.fill(buf, pos, 12, number)
            pos = 0
            end = len(buf)
            if end < 12:
                if end:
                    what = f"the block after frame {number}"
                    raise _truncated(s, s.base, number, what, "a block is at least 12 bytes", end)
                return
        btype, blen = header(buf, pos)
        if btype == SECTION_HEADER_BLOCK:  # new section, maybe in the other byte order
            order = _BYTE_ORDER_MAGICS.get(buf[pos + 8 : pos + 12])
            if order is None:
                at = s.base + pos
                magic = buf[pos + 8 : pos + 12].hex(" ")
                message = f"section header block at byte {at}: byte-order magic {magic}"
                raise _error(s, at, number, message)
            sec = _SECTIONS[order]
            header, u32, epb = sec.header, sec.u32, sec.epb
            blen = header(buf, pos)[1]
            interfaces = []
        if blen & 3 or blen < min_length(btype, 12) or blen > MAX_BLOCK:
            at = s.base + pos
            message = (
                f"{_block_name(btype)} at byte {at} after frame {number} has an impossible length "
                f"of {blen} bytes: corrupt file"
            )
            raise _error(s, at, number, message)
        if end - pos < blen:
            if blen > CHUNK and btype not in _BLOCK_NAMES:  # a big block we do not need
                at = s.base + pos
                buf, have = s.skip(buf, pos, blen - 4, number)
                buf = s.fill(buf, 0, 4, number) if have == blen - 4 else b""
                if len(buf) < 4:
                    what = f"a {_block_name(btype)} after frame {number}"
                    needs = f"block header says {blen} bytes"
                    raise _truncated(s, at, number, what, needs, have + len(buf))
                if u32(buf, 0)[0] != blen:
                    raise _mismatch(s, at, number, blen, u32(buf, 0)[0])
                pos = 4
                end = len(buf)
                continue
            buf = s.fill(buf, pos, blen, number)
            pos = 0
            end = len(buf)
            if end < blen:
                if btype in _PACKET_BLOCKS:
                    what = f"frame {number + 1}"
                else:
                    what = f"a {_block_name(btype)} after frame {number}"
                needs = f"{_block_name(btype)} header says {blen} bytes"
                raise _truncated(s, s.base, number, what, needs, end)
        stop = pos + blen
        if u32(buf, stop - 4)[0] != blen:
            raise _mismatch(s, s.base + pos, number, blen, u32(buf, stop - 4)[0])
        if btype == ENHANCED_PACKET_BLOCK:
            iface, hi, lo, caplen, _length = epb(buf, pos + 8)
            data = pos + 28
        elif btype == SIMPLE_PACKET_BLOCK:
            iface, hi, lo = 0, -1, 0  # hi < 0: no timestamp
            caplen = min(u32(buf, pos + 8)[0], blen - 16)  # the original length, unless cut
            if interfaces and 0 < interfaces[0][3] < caplen:  # to the snap length
                caplen = interfaces[0][3]
            data = pos + 12
        elif btype == PACKET_BLOCK:
            iface, _drops, hi, lo, caplen, _length = sec.pb(buf, pos + 8)
            data = pos + 28
        else:
            if btype == INTERFACE_DESCRIPTION_BLOCK:
                idb = _interface(sec, buf, pos, blen)
                if isinstance(idb, str):
                    at = s.base + pos
                    raise _error(s, at, number, f"interface description block at byte {at}: {idb}")
                interfaces.append(idb)
            elif btype == SECTION_HEADER_BLOCK:
                major, minor = sec.shb(buf, pos + 12)
                if major != 1:
                    at = s.base + pos
                    raise _error(s, at, number, f"section at byte {at} is pcapng {major}.{minor}")
            pos = stop  # every other block type is skipped unread
            continue
        if data + caplen > stop - 4 or caplen > MAX_CAPLEN:
            at = s.base + pos
            message = (
                f"{_BLOCK_NAMES[btype]} at byte {at} (frame {number + 1}) claims {caplen} "
                f"captured bytes in a {blen}-byte block: corrupt file"
            )
            raise _error(s, at, number, message)
        if iface >= len(interfaces):
            at, n = s.base + pos, len(interfaces)
            message = (
                f"{_BLOCK_NAMES[btype]} at byte {at} (frame {number + 1}) names interface {iface}, "
                f"but its section has {n} interface description block{'' if n == 1 else 's'}"
            )
            raise _error(s, at, number, message)
        linktype, units, offset, _snaplen = interfaces[iface]
        if hi >= 0:
            time = ((hi << 32 | lo) + offset) / units  # integer division: correctly rounded
        number += 1
        yield Frame(time, linktype, buf[data : data + caplen], number, name, iface)
        pos = stop


def _mismatch(s: _Stream, offset: int, frames: int, blen: int, trailer: int) -> CaptureError:
    message = (
        f"block at byte {offset} after frame {frames}: leading and trailing lengths differ "
        f"({blen} and {trailer}): corrupt file"
    )
    return _error(s, offset, frames, message)
