"""Tests for airwatch.sources.pcap: real captures against scapy, synthetic pcap/pcapng built
here with struct, pipes and standard input, truncation at every offset, and fuzzing."""

from __future__ import annotations

import io
import os
import random
import re
import struct
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airwatch.frame import Frame
from airwatch.sources import pcap
from airwatch.sources.pcap import CaptureError, read_capture

REAL = [
    # file, frames, link type
    ("remoteid/odid_wifi_bcn_sample.pcap", 21, 127),
    ("remoteid/odid_with_background_wifi.pcap", 816, 127),
    ("remoteid/odid_bt5_lr_sample.pcapng", 274, 272),
    ("remoteid/dji_air3.pcapng", 12, 127),
    ("remoteid/parrot_anafi4_real.pcapng", 5091, 127),
]


def read_all(source, name=None) -> list[Frame]:
    return list(read_capture(source, name))


def read_until_error(source, name=None) -> tuple[list[Frame], CaptureError | None]:
    frames: list[Frame] = []
    try:
        for frame in read_capture(source, name):
            frames.append(frame)
    except CaptureError as e:
        return frames, e
    return frames, None


# --- builders for synthetic captures ---------------------------------------------------------


def pcap_file(records, order="<", nano=False, linktype=127) -> bytes:
    """records: (seconds, fraction, data[, wire length])."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype)]
    for sec, frac, data, *wire in records:
        length = wire[0] if wire else len(data)
        out.append(struct.pack(order + "IIII", sec, frac, len(data), length) + data)
    return b"".join(out)


def pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def block(order: str, btype: int, body: bytes) -> bytes:
    length = 12 + len(pad4(body))
    return struct.pack(order + "II", btype, length) + pad4(body) + struct.pack(order + "I", length)


def option(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + pad4(value)


def shb(order: str, major: int = 1) -> bytes:
    return block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, major, 0, -1))


def idb(
    order: str,
    linktype: int,
    snaplen: int = 0,
    tsresol: int | None = None,
    tsoffset: int | None = None,
) -> bytes:
    opts = option(order, 2, b"wlan0mon")  # if_name, to be ignored
    if tsresol is not None:
        opts += option(order, 9, bytes([tsresol]))
    if tsoffset is not None:
        opts += option(order, 14, struct.pack(order + "q", tsoffset))
    opts += option(order, 0, b"")
    return block(order, 1, struct.pack(order + "HHI", linktype, 0, snaplen) + opts)


def epb(order: str, iface: int, ts: int, data: bytes, opts: bytes = b"") -> bytes:
    head = struct.pack(order + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
    return block(order, 6, head + pad4(data) + opts)


def spb(order: str, data: bytes, orig_len: int | None = None) -> bytes:
    orig_len = len(data) if orig_len is None else orig_len
    return block(order, 3, struct.pack(order + "I", orig_len) + data)


def pb(order: str, iface: int, ts: int, data: bytes) -> bytes:
    head = struct.pack(order + "HHIIII", iface, 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
    return block(order, 2, head + pad4(data))


def build_multi_section() -> tuple[bytes, list[tuple[float, int, bytes, int]]]:
    """Three sections (little-, big-, little-endian) with several interfaces, timestamp
    resolutions and offsets, every packet block type, and blocks to skip in between.
    Returns the file and the expected (time, link type, data, interface) of each frame."""
    le, be = "<", ">"
    data = [
        shb(le),
        idb(le, 127),  # interface 0: radiotap, microseconds (default)
        block(le, 4, b"\x00\x00\x00\x00"),  # name resolution block
        idb(le, 256, tsresol=0x80 | 20, tsoffset=1000),  # interface 1: BT LE, 2^-20 s, +1000 s
        epb(le, 0, 1_700_000_000_250_000, b"first frame"),
        block(le, 5, struct.pack(le + "III", 1, 0, 0)),  # interface statistics block
        epb(le, 1, (1_700_000_000 << 20) + (1 << 19), b"\x01\x02\x03", option(le, 1, b"comment")),
        spb(le, b"simple!"),  # interface 0, time of the previous frame
        block(le, 0x00000BAD, b"custom block to skip"),
        pb(le, 1, (1_700_000_001 << 20) + (1 << 18), b"old packet block"),
        block(le, 10, b"TLSK" + b"\0" * 8),  # decryption secrets block
        shb(be),
        idb(be, 272, tsresol=9),  # interface 0 of section 2: nanoseconds
        idb(be, 105, snaplen=4),  # interface 1 of section 2
        epb(be, 0, 1_700_000_002_125_000_000, b"big-endian frame"),
        epb(be, 1, 1_700_000_003_000_000, b"\xff" * 3),
        block(be, 0x40000BAD, b""),
        shb(le),
        idb(le, 1, snaplen=5, tsresol=3),  # milliseconds, SPB cut to the snap length
        spb(le, b"0123456789", orig_len=10),
        epb(le, 0, 1_700_000_004_500, b""),
    ]
    expected = [
        (1700000000.25, 127, b"first frame", 0),
        (1700001000.5, 256, b"\x01\x02\x03", 1),
        (1700001000.5, 127, b"simple!", 0),
        (1700001001.25, 256, b"old packet block", 1),
        (1700000002.125, 272, b"big-endian frame", 0),
        (1700000003.0, 105, b"\xff" * 3, 1),
        (1700000003.0, 1, b"01234", 0),  # the previous frame's time
        (1700000004.5, 1, b"", 0),
    ]
    return b"".join(data), expected


def boundaries(data: bytes) -> tuple[int, list[int], list[int]]:
    """Where each record (pcap) or block (pcapng) starts: (header size, record starts with the
    end of the file last, number of frames complete at each start).  An independent walk."""
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        starts, frames, pos, order, n = [], [], 0, "<", 0
        while pos < len(data):
            if data[pos : pos + 4] == b"\x0a\x0d\x0d\x0a":
                order = "<" if data[pos + 8 : pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            btype, length = struct.unpack_from(order + "II", data, pos)
            starts.append(pos)
            frames.append(n)
            n += btype in (2, 3, 6)
            pos += length
        return 0, starts + [pos], frames + [n]
    order = "<" if data[0] == 0xD4 else ">"
    starts, frames, pos, n = [], [], 24, 0
    while pos < len(data):
        starts.append(pos)
        frames.append(n)
        n += 1
        pos += 16 + struct.unpack_from(order + "I", data, pos + 8)[0]
    return 24, starts + [pos], frames + [n]


# --- real captures against scapy -------------------------------------------------------------


def scapy_frames(path: Path) -> list[tuple[float, int, bytes]]:
    """(time, link type, bytes) of every frame, from scapy's raw readers: the oracle."""
    from scapy.utils import RawPcapNgReader, RawPcapReader

    out = []
    with RawPcapReader(str(path)) as reader:  # dispatches to RawPcapNgReader for pcapng
        for data, meta in reader:
            if isinstance(reader, RawPcapNgReader):
                out.append((((meta.tshigh << 32) | meta.tslow) / meta.tsresol, meta.linktype, data))
            else:
                out.append((meta.sec + meta.usec / 1e6, reader.linktype, data))
    return out


@pytest.mark.parametrize(("relpath", "count", "linktype"), REAL)
def test_real_capture_matches_scapy(
    captures: Path, relpath: str, count: int, linktype: int
) -> None:
    path = captures / relpath
    frames = read_all(path)
    assert len(frames) == count
    assert [f.number for f in frames] == list(range(1, count + 1))
    assert {f.linktype for f in frames} == {linktype}
    assert {f.source for f in frames} == {str(path)}
    assert {f.interface for f in frames} == {0}
    oracle = scapy_frames(path)
    assert len(oracle) == count
    assert [(f.time, f.linktype, f.data) for f in frames] == oracle


def test_real_capture_times(captures: Path) -> None:
    # first/last receive times, from scapy and from the capture's documented dates
    bcn = read_all(captures / "remoteid/odid_wifi_bcn_sample.pcap")
    assert bcn[0].time == pytest.approx(1621633931.161999, abs=1e-6)  # 2021-05-21
    assert bcn[-1].time == pytest.approx(1621633945.961949, abs=1e-6)
    parrot = read_all(captures / "remoteid/parrot_anafi4_real.pcapng")
    assert parrot[0].time == pytest.approx(1680365730.383876, abs=1e-6)  # 2023-04-01
    assert parrot[-1].time - parrot[0].time == pytest.approx(122.7, abs=0.05)
    dji = read_all(captures / "remoteid/dji_air3.pcapng")
    # 2024-10-07 13:22:54..13:23:04 UTC
    assert 1728307374 <= dji[0].time < dji[-1].time < 1728307385
    bt5 = read_all(captures / "remoteid/odid_bt5_lr_sample.pcapng")
    assert bt5[0].time == pytest.approx(1696390917.558003, abs=1e-6)  # 2023-10-04
    assert bt5[-1].time == pytest.approx(1696390935.168293, abs=1e-6)


def test_real_capture_bytes(captures: Path) -> None:
    frames = read_all(captures / "remoteid/dji_air3.pcapng")
    assert len(frames[0].data) == 207
    assert frames[0].data[:2] == b"\x00\x00"  # radiotap version 0
    assert b"RID-1581F6N8A23B2ML3Y3KR" in frames[0].data
    bcn = read_all(captures / "remoteid/odid_wifi_bcn_sample.pcap")
    assert all(b"GBR-OP-123ABCD" in f.data for f in bcn)


def test_name_and_file_object(captures: Path) -> None:
    path = captures / "remoteid/dji_air3.pcapng"
    expected = read_all(path)
    with open(path, "rb") as f:
        frames = read_all(f)
        assert not f.closed  # a file object handed in stays open
    assert {fr.source for fr in frames} == {str(path)}  # the file object's name
    assert [(fr.time, fr.data) for fr in frames] == [(fr.time, fr.data) for fr in expected]
    assert {fr.source for fr in read_all(io.BytesIO(path.read_bytes()))} == {"<stream>"}
    assert {fr.source for fr in read_all(str(path), name="air3")} == {"air3"}


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_small_chunks(captures: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    path = captures / "remoteid/odid_bt5_lr_sample.pcapng"
    expected = read_all(path)
    monkeypatch.setattr(pcap, "CHUNK", chunk)
    assert read_all(path) == expected


# --- synthetic files -------------------------------------------------------------------------


def test_multi_section_multi_interface_pcapng() -> None:
    data, expected = build_multi_section()
    frames = read_all(io.BytesIO(data), name="multi.pcapng")
    assert [(f.time, f.linktype, f.data, f.interface) for f in frames] == expected
    assert [f.number for f in frames] == list(range(1, len(expected) + 1))
    assert {f.source for f in frames} == {"multi.pcapng"}


@pytest.mark.parametrize("chunk", [1, 5, 13, 100])
def test_multi_section_small_chunks(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    data, _expected = build_multi_section()
    full = read_all(io.BytesIO(data))
    monkeypatch.setattr(pcap, "CHUNK", chunk)
    assert read_all(io.BytesIO(data)) == full


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_classic_pcap_variants(order: str, nano: bool) -> None:
    frac = 250_000_000 if nano else 250_000
    records = [
        (1_700_000_000, frac, b"abc"),
        (1_700_000_001, 0, b""),
        (1_700_000_002, frac * 2, bytes(range(256))),
    ]
    data = pcap_file(records, order, nano, linktype=0x1000007F)  # with FCS bits set
    frames = read_all(io.BytesIO(data))
    assert [(f.time, f.linktype, f.data, f.number) for f in frames] == [
        (1700000000.25, 127, b"abc", 1),
        (1700000001.0, 127, b"", 2),
        (1700000002.5, 127, bytes(range(256)), 3),
    ]


def test_empty_captures_end_cleanly() -> None:
    assert read_all(io.BytesIO(pcap_file([]))) == []
    assert read_all(io.BytesIO(shb("<") + idb("<", 127))) == []
    assert read_all(io.BytesIO(shb(">"))) == []


def test_big_unknown_block_is_skipped_piecewise(monkeypatch: pytest.MonkeyPatch) -> None:
    big = block("<", 0x00000BAD, b"\xab" * (3 << 20))  # 3 MiB custom block, more than a chunk
    data = shb("<") + idb("<", 127) + epb("<", 0, 1, b"one") + big + epb("<", 0, 2, b"two")
    assert [f.data for f in read_all(io.BytesIO(data))] == [b"one", b"two"]
    monkeypatch.setattr(pcap, "CHUNK", 64)
    small = block("<", 0x00000BAD, b"\xab" * 1000)
    data = shb("<") + idb("<", 127) + epb("<", 0, 1, b"one") + small + epb("<", 0, 2, b"two")
    assert [f.data for f in read_all(io.BytesIO(data))] == [b"one", b"two"]
    start = len(shb("<") + idb("<", 127) + epb("<", 0, 1, b"one"))
    for cut in (start + 12, start + 500, start + len(small) - 4, start + len(small) - 1):
        frames, err = read_until_error(io.BytesIO(data[:cut]), "cut.pcapng")
        assert [f.data for f in frames] == [b"one"]
        assert err is not None and err.offset == start and err.frames == 1
        assert str(err).startswith(
            f"cut.pcapng: truncated at byte {start} inside a block of type 0xbad after frame 1"
        )
    bad = bytearray(data)
    bad[start + len(small) - 4] ^= 0x10  # trailing length
    frames, err = read_until_error(io.BytesIO(bytes(bad)))
    assert [f.data for f in frames] == [b"one"]
    assert err is not None and err.offset == start and "differ" in str(err)


# --- pipes and standard input ----------------------------------------------------------------


def write_in_pieces(fd: int, data: bytes, seed: int) -> None:
    rng = random.Random(seed)
    with os.fdopen(fd, "wb", buffering=0) as w:
        pos = 0
        while pos < len(data):
            n = rng.randint(1, 3000)
            w.write(data[pos : pos + n])
            pos += n


@pytest.mark.parametrize("buffering", [0, -1])
def test_os_pipe(captures: Path, buffering: int) -> None:
    path = captures / "remoteid/parrot_anafi4_real.pcapng"
    expected = read_all(path, name="pipe")
    r, w = os.pipe()
    writer = threading.Thread(target=write_in_pieces, args=(w, path.read_bytes(), 1), daemon=True)
    writer.start()
    with os.fdopen(r, "rb", buffering=buffering) as f:
        assert read_all(f, name="pipe") == expected
    writer.join(10)


def test_subprocess_pipe(captures: Path) -> None:
    path = captures / "remoteid/odid_with_background_wifi.pcap"
    code = f"import sys; sys.stdout.buffer.write(open({str(path)!r}, 'rb').read())"
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        frames = read_all(proc.stdout, name="-")
    assert frames == read_all(path, name="-")


def test_live_pipe_yields_frames_before_the_writer_is_done() -> None:
    """A frame must come out as soon as it is in the pipe, not when a chunk is full."""
    first = pcap_file([(1, 0, b"first")])
    second = pcap_file([(2, 0, b"second")])[24:]
    got_first = threading.Event()
    writer_saw: list[bool] = []
    r, w = os.pipe()

    def writer() -> None:
        with os.fdopen(w, "wb", buffering=0) as f:
            f.write(first)
            # the reader must hand out the first frame while this waits; the 10 s limit only
            # keeps a broken reader from hanging the test run, it is not a timing assertion
            writer_saw.append(got_first.wait(10))
            f.write(second)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    frames = []
    with os.fdopen(r, "rb") as f:
        for frame in read_capture(f):
            if frame.data == b"first":
                got_first.set()
            frames.append(frame.data)
    thread.join(10)
    assert frames == [b"first", b"second"]
    assert writer_saw == [True]


def test_stdin_dash(captures: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (captures / "remoteid/odid_wifi_bcn_sample.pcap").read_bytes()
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))
    frames = read_all("-")
    assert len(frames) == 21
    assert {f.source for f in frames} == {"-"}


class Trickle(io.RawIOBase):
    """A raw stream returning at most a few bytes per read, like a slow pipe."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos, self.rng = data, 0, random.Random(2)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def, override]
        n = min(len(b), self.rng.randint(1, 9), len(self.data) - self.pos)
        b[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


def test_trickling_stream() -> None:
    data, expected = build_multi_section()
    frames = read_all(Trickle(data))
    assert [(f.time, f.linktype, f.data, f.interface) for f in frames] == expected


# --- truncation ------------------------------------------------------------------------------


def check_cuts(data: bytes, cuts, name: str) -> None:
    full = read_all(io.BytesIO(data), name)
    header, starts, complete = boundaries(data)
    for cut in cuts:
        frames, err = read_until_error(io.BytesIO(data[:cut]), name)
        assert frames == full[: len(frames)], cut
        if cut < 4:
            assert err is not None, cut
            assert str(err).startswith(f"{name}: not a pcap or pcapng file"), cut
            continue
        if cut < header:
            assert err is not None and err.offset == 0, cut
            message = f"{name}: truncated at byte 0 inside the pcap global header"
            assert str(err).startswith(message), cut
            continue
        # the record or block the cut falls in
        i = max(k for k, start in enumerate(starts) if start <= cut)
        if starts[i] == cut:  # between two records: a clean end
            assert err is None, cut
            assert len(frames) == complete[i], cut
            continue
        assert err is not None, cut
        assert len(frames) == complete[i] == err.frames, cut
        assert err.offset == starts[i], cut
        assert str(err).startswith(f"{name}: truncated at byte {starts[i]} inside "), cut
        present = cut - starts[i]
        if header and present >= 16:  # pcap: the record header was there, count the data
            present -= 16
        assert f", {present} present)" in str(err), (cut, str(err))


def test_truncated_pcap_every_offset(captures: Path) -> None:
    data = (captures / "remoteid/odid_wifi_bcn_sample.pcap").read_bytes()
    check_cuts(data, range(len(data) + 1), "cut.pcap")


def test_truncated_pcapng_every_offset(captures: Path) -> None:
    data = (captures / "remoteid/dji_air3.pcapng").read_bytes()
    check_cuts(data, range(len(data) + 1), "cut.pcapng")


def test_truncated_synthetic_every_offset() -> None:
    data, _expected = build_multi_section()
    check_cuts(data, range(len(data) + 1), "multi.pcapng")


def test_truncated_large_captures_sampled(captures: Path) -> None:
    rng = random.Random(42)
    for relpath in (
        "remoteid/parrot_anafi4_real.pcapng",
        "remoteid/odid_with_background_wifi.pcap",
    ):
        data = (captures / relpath).read_bytes()
        cuts = [*range(600), *rng.sample(range(600, len(data)), 150)]
        check_cuts(data, cuts, Path(relpath).name)


def test_truncation_message() -> None:
    data = pcap_file([(1, 0, b"a" * 100), (2, 0, b"b" * 200)])
    frames, err = read_until_error(io.BytesIO(data[: 24 + 116 + 16 + 17]), "capture.pcap")
    assert [f.data for f in frames] == [b"a" * 100]
    assert str(err) == (
        "capture.pcap: truncated at byte 140 inside frame 2 "
        "(record header says 200 bytes, 17 present)"
    )
    assert err is not None and err.offset == 140 and err.frames == 1


# --- errors ----------------------------------------------------------------------------------


def test_not_a_capture(captures: Path, tmp_path: Path) -> None:
    beast = captures / "adsb/sample_dump1090.bin"  # Mode S Beast binary, starts with 1a 33
    message = r"sample_dump1090\.bin: not a pcap or pcapng file \(starts with 1a 3"
    with pytest.raises(CaptureError, match=message):
        read_all(beast)
    message = r"^x\.bin: not a pcap or pcapng file \(starts with 1a 33 [0-9a-f ]+ \.\.\.\)$"
    with pytest.raises(CaptureError, match=message):
        read_all(io.BytesIO(b"\x1a\x33" + bytes(30)), "x.bin")
    with pytest.raises(CaptureError, match="empty"):
        read_all(io.BytesIO(b""), "empty.pcap")
    (tmp_path / "short").write_bytes(b"\xd4\xc3")
    with pytest.raises(CaptureError, match="short: not a pcap or pcapng file"):
        read_all(tmp_path / "short")


def test_os_errors_become_capture_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pcap"
    message = re.escape(f"{missing}: cannot open: No such file")
    with pytest.raises(CaptureError, match=message) as info:
        read_all(missing)
    assert isinstance(info.value.__cause__, FileNotFoundError)
    with pytest.raises(CaptureError, match=re.escape(f"{tmp_path}: cannot open")):
        read_all(tmp_path)
    with pytest.raises(CaptureError, match="text mode"):
        read_all(io.StringIO("\xd4\xc3\xb2\xa1"))

    class Failing(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:  # type: ignore[no-untyped-def, override]
            raise OSError(5, "Input/output error")

    with pytest.raises(CaptureError, match="disk: read error at byte 0"):
        read_all(Failing(), "disk")

    class NonBlocking(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b) -> None:  # type: ignore[no-untyped-def, override]
            return None  # "no data yet" from a non-blocking stream

    with pytest.raises(CaptureError, match="non-blocking"):
        read_all(NonBlocking())


def test_oversized_pcap_record() -> None:
    data = pcap_file([(1, 0, b"ok")]) + struct.pack("<IIII", 2, 0, 300_000, 300_000) + b"x" * 10
    frames, err = read_until_error(io.BytesIO(data), "big.pcap")
    assert [f.data for f in frames] == [b"ok"]
    assert err is not None and err.offset == 24 + 18 and err.frames == 1
    assert "300000 captured bytes" in str(err)
    # a huge length must be refused before any attempt to read or allocate it
    data = pcap_file([]) + struct.pack("<IIII", 2, 0, 0xFFFFFFFF, 0xFFFFFFFF)
    with pytest.raises(CaptureError, match="4294967295 captured bytes"):
        read_all(io.BytesIO(data))


def corrupt_pcapng_cases() -> list[tuple[str, bytes, str]]:
    le = "<"
    head = shb(le) + idb(le, 127)
    good = epb(le, 0, 1, b"ok")
    cases = [
        ("length not a multiple of 4", struct.pack("<II", 6, 34) + bytes(30), "length of 34"),
        ("length below the minimum", struct.pack("<II", 6, 28) + bytes(24), "length of 28"),
        ("length below 12", struct.pack("<II", 0xBAD, 8) + bytes(8), "length of 8"),
        ("length above 16 MiB", struct.pack("<II", 6, 16 << 20 | 4) + bytes(40), "of 16777220"),
        ("trailer differs", epb(le, 0, 1, b"abcd")[:-4] + struct.pack("<I", 40), "lengths differ"),
        ("caplen beyond the block",
         struct.pack("<IIIIIII", 6, 36, 0, 0, 1, 50, 50) + bytes(4) + struct.pack("<I", 36),
         "claims 50 captured bytes in a 36-byte block"),
        ("unknown interface", epb(le, 1, 1, b"x"),
         "names interface 1, but its section has 1 interface description block"),
        ("bad option", block(le, 1, struct.pack("<HHI", 127, 0, 0) + struct.pack("<HH", 9, 200)),
         "option 9 runs past the end"),
    ]  # fmt: skip
    out = [(what, head + good + bad, message) for what, bad, message in cases]
    no_idb = "names interface 0, but its section has 0 interface description blocks"
    out.append(("SPB without IDB", shb(le) + spb(le, b"x"), no_idb))
    out.append(("EPB of a previous section's interface", head + shb(le) + good, no_idb))
    bad_magic = bytearray(shb(le))
    bad_magic[8:12] = b"\x01\x02\x03\x04"
    out.append(("byte-order magic", bytes(bad_magic), "byte-order magic 01 02 03 04"))
    out.append(("major version", shb(le, major=2), "pcapng 2.0"))
    return out


CORRUPT = corrupt_pcapng_cases()


@pytest.mark.parametrize(("what", "data", "message"), CORRUPT, ids=[case[0] for case in CORRUPT])
def test_corrupt_pcapng(what: str, data: bytes, message: str) -> None:
    frames, err = read_until_error(io.BytesIO(data), "bad.pcapng")
    assert err is not None, what
    assert message in str(err), (what, str(err))
    assert str(err).startswith("bad.pcapng: ")
    assert err.frames == len(frames) == (1 if frames else 0)
    assert [f.data for f in frames] in ([], [b"ok"])
    assert 0 <= err.offset < len(data)


# --- fuzzing ---------------------------------------------------------------------------------

MAGICS = [bytes.fromhex(m) for m in ("d4c3b2a1", "a1b2c3d4", "4d3cb2a1", "a1b23c4d", "0a0d0d0a")]
INTERESTING = [0, 1, 3, 4, 8, 12, 16, 28, 32, 0x80, 0xFFFF, 0x40000, 0x40001, 0x1000000, 0xFFFFFFFF]
FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def check_never_fails_badly(data: bytes) -> None:
    frames, err = read_until_error(io.BytesIO(data), "fuzz")  # anything but CaptureError propagates
    assert len(frames) <= len(data) // 12
    assert [f.number for f in frames] == list(range(1, len(frames) + 1))
    assert all(len(f.data) <= pcap.MAX_CAPLEN for f in frames)
    if err is not None:
        assert str(err).startswith("fuzz: ")
        assert err.frames == len(frames)
        assert 0 <= err.offset <= len(data)


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=600),
        st.tuples(st.sampled_from(MAGICS), st.binary(max_size=600)).map(b"".join),
    )
)
def test_fuzz_random_bytes(data: bytes) -> None:
    check_never_fails_badly(data)


def mutations() -> st.SearchStrategy:
    byte = st.tuples(st.just("byte"), st.integers(0, 1 << 20), st.integers(0, 255))
    word = st.tuples(
        st.just("word"),
        st.integers(0, 1 << 18),
        st.sampled_from(INTERESTING),
        st.sampled_from("<>"),
    )
    cut = st.tuples(st.just("cut"), st.integers(0, 1 << 20))
    splice = st.tuples(st.just("splice"), st.integers(0, 1 << 20), st.binary(max_size=40))
    return st.lists(st.one_of(byte, word, cut, splice), min_size=1, max_size=8)


def mutate(data: bytes, ops) -> bytes:
    buf = bytearray(data)
    for op, *args in ops:
        if not buf:
            break
        if op == "byte":
            buf[args[0] % len(buf)] = args[1]
        elif op == "word":  # aimed at length fields: 4-byte aligned
            at = (args[0] * 4) % len(buf)
            buf[at : at + 4] = struct.pack(args[2] + "I", args[1])
        elif op == "cut":
            del buf[args[0] % (len(buf) + 1) :]
        else:
            at = args[0] % (len(buf) + 1)
            buf[at:at] = args[1]
    return bytes(buf)


@pytest.fixture(scope="module")
def fuzz_seeds(captures: Path) -> list[bytes]:
    return [
        (captures / "remoteid/odid_wifi_bcn_sample.pcap").read_bytes(),
        (captures / "remoteid/dji_air3.pcapng").read_bytes(),
        (captures / "remoteid/odid_bt5_lr_sample.pcapng").read_bytes()[:4000],
        build_multi_section()[0],
    ]


@FUZZ
@given(seed=st.integers(0, 3), ops=mutations())
def test_fuzz_mutated_real_files(fuzz_seeds: list[bytes], seed: int, ops: list) -> None:
    check_never_fails_badly(mutate(fuzz_seeds[seed], ops))
