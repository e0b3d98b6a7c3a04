"""Beast binary and AVR text framing, on the real dump1090 recording and on built frames."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyModeS import Message
from pyModeS.cli._source import _parse_beast_buffer  # independent framer (pyModeS's own)

from airwatch.sources.avr import AvrFramer, format_avr
from airwatch.sources.beast import (
    MODE_AC,
    MODE_S_LONG,
    MODE_S_SHORT,
    STATUS,
    BeastFrame,
    BeastFramer,
    encode_frame,
    rssi_dbfs,
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def sample_bin(captures) -> bytes:
    return (captures / "adsb" / "sample_dump1090.bin").read_bytes()


def test_sample_dump1090_frames_exactly(sample_bin):
    framer = BeastFramer()
    frames = framer.feed(sample_bin)
    assert len(frames) == 239
    assert sum(f.kind == MODE_S_SHORT for f in frames) == 185
    assert sum(f.kind == MODE_S_LONG for f in frames) == 54
    assert framer.pending == 0
    assert set(framer.counters) == {"beast_frames"}
    # 16 escaped 0x1A pairs on the wire, all restored in the bodies
    restored = sum(
        f.timestamp.to_bytes(6, "big").count(0x1A) + (f.signal == 0x1A) + f.data.count(0x1A)
        for f in frames
    )
    assert restored == 16
    assert len(sample_bin) == sum(2 + 7 + len(f.data) for f in frames) + 16
    # the same frames as pyModeS's framer, timestamps included
    ref, rest = _parse_beast_buffer(sample_bin)
    assert rest == b""
    assert [(f.timestamp, f.data.hex().upper()) for f in frames] == ref
    # 12 MHz clock: about 24 s of traffic
    assert 23.5 < (frames[-1].timestamp - frames[0].timestamp) / 12e6 < 24.5


def test_sample_dump1090_extended_squitters_pass_crc(sample_bin):
    es = [f for f in BeastFramer().feed(sample_bin) if f.data[0] >> 3 == 17]
    assert len(es) == 23
    assert all(Message(f.data).crc == 0 for f in es)
    assert {Message(f.data).icao for f in es} == {"48520A"}
    # the other aircraft, 3981E4, is heard only in all-call replies here
    df11 = {f.data[1:4].hex().upper() for f in BeastFramer().feed(sample_bin) if f.data[0] >> 3 == 11}
    assert "3981E4" in df11


def test_byte_by_byte_and_random_chunks_give_the_same_frames(sample_bin):
    whole = BeastFramer().feed(sample_bin)
    framer = BeastFramer()
    one = [fr for b in sample_bin for fr in framer.feed(bytes((b,)))]
    assert one == whole
    rng = random.Random(7)
    for _ in range(20):
        framer = BeastFramer()
        out, i = [], 0
        while i < len(sample_bin):
            j = i + rng.randint(1, 64)
            out += framer.feed(sample_bin[i:j])
            i = j
        assert out == whole


def test_mode_ac_status_and_escapes_in_timestamp():
    ac = encode_frame(MODE_AC, 0x1A1A00001A00, 0x1A, b"\x1a\x05")
    assert ac.count(b"\x1a\x1a") == 5
    status = encode_frame(STATUS, 5, 0, bytes(14))
    short = encode_frame(MODE_S_SHORT, 0x1A, 200, bytes.fromhex("5D3C6614E0C4A1"))
    framer = BeastFramer()
    frames = framer.feed(ac + status + short)
    assert frames == [
        BeastFrame(MODE_AC, 0x1A1A00001A00, 0x1A, b"\x1a\x05"),
        BeastFrame(MODE_S_SHORT, 0x1A, 200, bytes.fromhex("5D3C6614E0C4A1")),
    ]
    assert framer.counters["beast_other"] == 1


def test_truncated_frame_is_dropped_and_the_next_one_kept(sample_bin):
    frames = BeastFramer().feed(sample_bin)
    a = encode_frame(frames[5].kind, frames[5].timestamp, frames[5].signal, frames[5].data)
    b = encode_frame(frames[6].kind, frames[6].timestamp, frames[6].signal, frames[6].data)
    framer = BeastFramer()
    out = framer.feed(a[:10] + b + a)
    assert out == [frames[6], frames[5]]
    assert framer.counters["beast_truncated"] == 1


def test_garbage_and_unknown_types_are_counted_and_skipped():
    good = encode_frame(MODE_S_SHORT, 1, 2, bytes.fromhex("5D3C6614E0C4A1"))
    framer = BeastFramer()
    out = framer.feed(b"hello" + good + b"\x1a\x99junk" + good + b"\x1a\x1a" + good)
    assert len(out) == 3
    assert framer.counters["beast_garbage_bytes"] == 5 + 4 + 2
    assert framer.counters["beast_unknown_type"] == 1


def test_reset_drops_the_half_frame(sample_bin):
    frames = BeastFramer().feed(sample_bin)
    wire = encode_frame(frames[0].kind, frames[0].timestamp, frames[0].signal, frames[0].data)
    framer = BeastFramer()
    assert framer.feed(wire[:12]) == []
    assert framer.pending == 12
    framer.reset()
    assert framer.pending == 0
    assert framer.feed(wire) == [frames[0]]


def test_rssi():
    assert rssi_dbfs(255) == 0.0
    assert rssi_dbfs(0) is None
    assert rssi_dbfs(128) == -6.0


@FUZZ
@given(st.binary(max_size=600), st.integers(1, 50))
def test_beast_fuzz_random_bytes_never_crash(data, chunk):
    framer = BeastFramer()
    for i in range(0, len(data), chunk):
        for f in framer.feed(data[i : i + chunk]):
            assert len(f.data) in (2, 7, 14)
    assert framer.pending <= 4096


@FUZZ
@given(st.data())
def test_beast_fuzz_garbage_between_real_frames(sample_bin, data):
    frames = BeastFramer().feed(sample_bin)[:30]
    noise = st.binary(max_size=12).map(lambda b: b.replace(b"\x1a", b""))
    wire = b""
    for f in frames:
        wire += data.draw(noise) + encode_frame(f.kind, f.timestamp, f.signal, f.data)
    chunk = data.draw(st.integers(1, 80))
    framer = BeastFramer()
    out = [fr for i in range(0, len(wire), chunk) for fr in framer.feed(wire[i : i + chunk])]
    assert out == frames


# --------------------------------------------------------------------------- AVR


def test_avr_all_line_forms():
    framer = AvrFramer()
    out = framer.feed(
        b"*8D4840D6202CC371C32CE0576098;\n"
        b"@0000236AB4F18D4840D6202CC371C32CE0576098;\r\n"
        b"%0000236AB4F15D3C6614E0C4A1;\n"
        b"<0000236AB4F1A35D3C6614E0C4A1;\n"
        b":5D3C6614E0C4A1;\n"
        b"*0000;\n"
    )
    es = bytes.fromhex("8D4840D6202CC371C32CE0576098")
    short = bytes.fromhex("5D3C6614E0C4A1")
    assert out == [
        BeastFrame(MODE_S_LONG, 0, 0, es),
        BeastFrame(MODE_S_LONG, 0x236AB4F1, 0, es),
        BeastFrame(MODE_S_SHORT, 0x236AB4F1, 0, short),
        BeastFrame(MODE_S_SHORT, 0x236AB4F1, 0xA3, short),
        BeastFrame(MODE_S_SHORT, 0, 0, short),
        BeastFrame(MODE_AC, 0, 0, b"\0\0"),
    ]


def test_avr_bad_lines_are_counted_and_neighbours_kept():
    framer = AvrFramer()
    out = framer.feed(
        b"*8D4840D6202CC371C32CE0576098;\n*zz;\n#abc;\n*8D4840;\n*8d 48;\n"
        b"@12;\n*8D4840D6202CC371C32CE0576098;\n"
    )
    assert len(out) == 2
    assert framer.counters["avr_bad_hex"] == 3
    assert framer.counters["avr_bad_prefix"] == 1
    assert framer.counters["avr_bad_length"] == 1


def test_avr_split_anywhere(sample_bin):
    frames = BeastFramer().feed(sample_bin)
    text = b"".join(format_avr(f.data, f.timestamp) for f in frames)
    framer = AvrFramer()
    out = [fr for i in range(0, len(text), 7) for fr in framer.feed(text[i : i + 7])]
    assert [(f.timestamp, f.data) for f in out] == [(f.timestamp, f.data) for f in frames]


@FUZZ
@given(st.binary(max_size=400))
def test_avr_fuzz(data):
    framer = AvrFramer()
    for f in framer.feed(data):
        assert len(f.data) in (2, 7, 14)
    assert framer.pending <= 256
