"""Hostile bytes: the decoders raise DecodeError or return contacts, nothing else, and never hang.

The long run (a million frames and more) is ``python bench/fuzz_decoders.py``; see the README.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airwatch.contact import Contact, Transport
from airwatch.decoders import dji, french, wifi
from airwatch.decoders.errors import DecodeError
from airwatch.decoders.frames import DECODERS, FrameDecoder
from airwatch.decoders.remoteid import decode_odid
from airwatch.frame import Frame
from airwatch.sources.pcap import read_capture

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Real frames to mutate: a Remote ID beacon, a NaN frame, a DJI DroneID beacon, a Parrot beacon
# with FCS, and Bluetooth 5 long range.
SEEDS = {
    "odid_wifi_bcn_sample.pcap": (1,),
    "odid_wifi_nan_and_beacon_sample.pcap": (1, 2, 3),
    "dji_droneid_v2_spoofed_single.pcapng": (1,),
    "parrot_anafi4_real.pcapng": (1, 2, 3, 4, 5, 6),
    "dji_air3.pcapng": (1,),
    "odid_bt5_lr_sample.pcapng": (1, 2, 5, 30),
}


@pytest.fixture(scope="module")
def seeds(captures) -> list[Frame]:
    frames = []
    for name, numbers in SEEDS.items():
        for f in read_capture(captures / "remoteid" / name):
            if f.number in numbers:
                frames.append(f)
    # keep only the ones that decode, so mutations start from real drone frames
    return [f for f in frames if _decodes(f)]


def _decodes(frame: Frame) -> bool:
    try:
        return bool(DECODERS[frame.linktype](frame, None))
    except DecodeError:
        return False


def check(frame: Frame) -> None:
    """The contract: contacts or DecodeError, and contacts that serialise."""
    try:
        contacts = DECODERS[frame.linktype](frame, None)
    except DecodeError as e:
        assert e.reason and " " not in e.reason
        return
    from airwatch.sinks.jsonl import contact_json, contact_line

    for c in contacts:
        assert isinstance(c, Contact)
        contact_json(c)
        contact_line(c)
        loc = c.location
        if loc is not None and loc.lat is not None:
            assert -90 <= loc.lat <= 90 and -180 <= loc.lon <= 180
            assert (loc.lat, loc.lon) != (0.0, 0.0)


@FUZZ
@given(linktype=st.sampled_from(sorted(DECODERS)), data=st.binary(max_size=400))
def test_random_bytes(linktype, data):
    check(Frame(0.0, linktype, data, 1, "fuzz"))


@FUZZ
@given(data=st.data())
def test_mutated_real_frames(seeds, data):
    seed = data.draw(st.sampled_from(seeds))
    raw = bytearray(seed.data)
    for _ in range(data.draw(st.integers(1, 8))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "set"]))
        pos = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del raw[pos:]
        elif op == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=40))
        elif raw:
            raw[pos] = data.draw(st.sampled_from([0, 1, 0x0F, 0x19, 0x7F, 0x80, 0xF0, 0xFF]))
    check(Frame(seed.time, seed.linktype, bytes(raw), 1, "fuzz"))


@FUZZ
@given(body=st.binary(max_size=300))
def test_odid_body(body):
    c = Contact(time=1.7e9, transport=Transport.WIFI_BEACON)
    try:
        decode_odid(body, c)
    except DecodeError:
        pass


@FUZZ
@given(body=st.binary(max_size=200))
def test_dji_and_french_bodies(body):
    for decode, oui in ((dji.decode_dji, dji.OUI + b"\x58\x62\x13"), (french.decode_french, french.OUI + b"\x01")):
        c = Contact(time=1.7e9, transport=Transport.WIFI_BEACON)
        try:
            decode(oui + body, c)
        except DecodeError:
            pass


# ---- the malformed shapes the issue names, one by one ----------------------------------------

def _beacon(ie_body: bytes, declared: int | None = None) -> Frame:
    radiotap = b"\x00\x00\x08\x00\x00\x00\x00\x00"
    mgmt = b"\x80\x00\x00\x00" + b"\xff" * 6 + b"\x02\x11\x22\x33\x44\x55" * 2 + b"\x00\x00"
    fixed = b"\x00" * 8 + b"\x64\x00\x01\x00"
    length = len(ie_body) if declared is None else declared
    return Frame(1.7e9, 127, radiotap + mgmt + fixed + b"\x00\x03RID" + bytes([221, length]) + ie_body, 1, "t")


def _location() -> bytes:
    return bytes([0x12, 0x20, 90, 40, 0]) + struct.pack("<ii", 473000000, 85000000) + b"\x00" * 16


def _pack(messages: list[bytes], count: int | None = None, size: int = 25, version: int = 2) -> bytes:
    return bytes([0xF0 | version, size, len(messages) if count is None else count]) + b"".join(messages)


ODID = b"\xfa\x0b\xbc\x0d\x07"


def test_a_good_pack_decodes():
    (c,) = wifi.decode_radiotap(_beacon(ODID + _pack([_location()])))
    assert c.location.lat == 47.3 and c.location.lon == 8.5 and not c.anomalies


@pytest.mark.parametrize("body, reason", [
    (ODID + _pack([_location()], count=2), "odid_truncated_pack"),  # count says 2, one present
    (ODID + _pack([_location()], count=10), "odid_pack_count"),  # more than 9
    (ODID + _pack([_location()], size=24), "odid_pack_message_size"),
    (ODID + _pack([], count=0), "odid_empty_pack"),
    (ODID + _location()[:20], "odid_truncated"),
    (ODID[:4], "odid_truncated"),  # no counter
])
def test_malformed_packs_are_refused_with_their_reason(body, reason):
    with pytest.raises(DecodeError) as e:
        wifi.decode_radiotap(_beacon(body))
    assert e.value.reason == reason


def test_element_longer_than_the_frame():
    with pytest.raises(DecodeError) as e:
        wifi.decode_radiotap(_beacon(ODID + _pack([_location()]), declared=250))
    assert e.value.reason == "wifi_truncated_element"


def test_nested_pack_is_skipped_and_named():
    inner = _pack([_location()])[:25]
    (c,) = wifi.decode_radiotap(_beacon(ODID + _pack([inner, _location()])))
    assert "nested_pack" in c.anomalies and c.location.lat == 47.3


def test_unknown_version_still_decodes_and_is_named():
    loc = bytearray(_location())
    loc[0] = 0x17  # Location, protocol version 7
    (c,) = wifi.decode_radiotap(_beacon(ODID + _pack([bytes(loc)], version=7)))
    assert c.location.lat == 47.3 and "protocol_version" in c.anomalies


def test_unknown_message_type_is_named():
    (c,) = wifi.decode_radiotap(_beacon(ODID + _pack([b"\x62" + b"\x00" * 24, _location()])))
    assert "unknown_message_type" in c.anomalies and c.location is not None


def test_out_of_range_values_become_none_and_are_named():
    loc = bytearray(_location())
    struct.pack_into("<ii", loc, 5, 950000000, 85000000)  # latitude 95 degrees
    loc[2] = 200  # direction 200 + nothing = 200 is fine; make it 360 with the E/W bit
    loc[1] |= 0x02
    loc[2] = 180
    struct.pack_into("<H", loc, 21, 40000)  # timestamp past the hour
    (c,) = wifi.decode_radiotap(_beacon(ODID + _pack([bytes(loc)])))
    assert c.location.lat is None and c.location.direction is None and c.location.timestamp is None
    assert {"position", "direction", "timestamp"} <= set(c.anomalies)


def test_a_broken_frame_among_good_ones_changes_nothing_else():
    good = _beacon(ODID + _pack([_location()]))
    bad = _beacon(ODID + _pack([_location()], count=3))
    decoder = FrameDecoder()
    out = [decoder.decode(f) for f in (good, bad, good)]
    assert [len(x) for x in out] == [1, 0, 1]
    assert decoder.rejected == {"odid_truncated_pack": 1} and decoder.contacts == 2
