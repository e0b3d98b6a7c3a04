"""HCI LE Extended Advertising Reports split over several events, joined by FrameDecoder.

The events are built by hand (airwatch.encoders.bluetooth) and with scapy's HCI classes; the
stateless per-frame decoders keep decoding each part on its own (tests/test_bluetooth.py).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.bluetooth import (
    HCI_Event_Hdr,
    HCI_Event_LE_Meta,
    HCI_Hdr,
    HCI_LE_Meta_Extended_Advertising_Report,
    HCI_LE_Meta_Extended_Advertising_Reports,
)
from scapy.packet import Raw

from airwatch.contact import BasicID, OperatorID, SelfID, Transport
from airwatch.decoders import bluetooth as bt
from airwatch.decoders.errors import DecodeError
from airwatch.decoders.frames import FrameDecoder
from airwatch.encoders import bluetooth as enc
from airwatch.encoders import remoteid as rid
from airwatch.encoders.pcap import write_pcap
from airwatch.frame import Frame
from airwatch.inputs import read_inputs

LR_MAC = "e0:7d:ea:eb:2f:1c"
OTHER_MAC = "c0:11:22:33:44:55"
ORPHANED = "ble_ad_fragment_orphaned"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def operator_pack(n: int, text: str = "OP") -> bytes:
    """A pack of ``n`` messages whose last one, a Self-ID saying ``text``, shows it arrived whole."""
    pad = [rid.encode_basic_id(BasicID(1, 2, f"PAD{i:04d}")) for i in range(n - 1)]
    return rid.encode_pack(pad + [rid.encode_self_id(SelfID(0, text))])


def ext_event(adva: str, chunk: bytes, *, status: int = 0, sid: int = 0, rssi: int = -70,
              address_type: int = 1, phy: str = "le_coded") -> bytes:
    """One LE Extended Advertising Report event with one report (Data_Status ``status``)."""
    params = enc.EXT_REPORT.pack(enc.LE_EXTENDED_ADVERTISING_REPORT, 1, (status & 3) << 5, address_type,
                                 enc.address(adva), enc.HCI_PHY[phy], enc.HCI_PHY[phy], sid, 127, rssi, 0, 0,
                                 b"\0" * 6, len(chunk))
    return bytes((enc.H4_EVENT, enc.HCI_LE_META, len(params) + len(chunk))) + params + chunk


def split(adva: str, advdata: bytes, cuts: list[int], *, sid: int = 0, last_status: int = 0) -> list[bytes]:
    """``advdata`` cut at ``cuts`` into parts, each but the last "incomplete, more to come"."""
    bounds = [0, *cuts, len(advdata)]
    parts = [advdata[a:b] for a, b in zip(bounds, bounds[1:])]
    return [ext_event(adva, p, status=1 if i < len(parts) - 1 else last_status, sid=sid)
            for i, p in enumerate(parts)]


def feed(decoder: FrameDecoder, events: list[bytes], linktype: int = 187, t0: float = 1000.0,
         step: float = 0.001) -> list[list]:
    out = []
    for i, e in enumerate(events):
        data = enc.h4_with_phdr(e) if linktype == 201 else e
        out.append(decoder.decode(Frame(t0 + i * step, linktype, data, i + 1, "hci0")))
    return out


@pytest.mark.parametrize("linktype", [187, 201])
def test_a_nine_message_pack_split_over_two_events_is_joined(linktype):
    pk = operator_pack(9)
    first, second = enc.hci_le_ext_adv_reports(LR_MAC, enc.bt5_advdata(pk, 8), rssi_dbm=-77)
    with pytest.raises(DecodeError, match="fragment"):  # the stateless decoder cannot
        bt.DECODERS[linktype](Frame(0.0, linktype, enc.h4_with_phdr(first) if linktype == 201 else first, 1, "x"))
    decoder = FrameDecoder("s1")
    held, (c,) = feed(decoder, [first, second], linktype)
    assert held == []
    assert c.transport is Transport.BT5_LONG_RANGE and c.transmitter == LR_MAC and c.counter == 8
    assert c.self_id.description == "OP"  # the last of the nine
    assert c.anomalies == [] and c.rssi_dbm == -77 and c.phy == "le_coded" and c.sensor_id == "s1"
    assert c.frame == 2 and c.time == pytest.approx(1000.001)
    assert decoder.rejected == {} and decoder.hci.pending == 0


def test_scapy_built_parts_are_joined():
    pk = operator_pack(5, "split by scapy")
    ad = enc.bt5_advdata(pk, 42)
    cut = 7  # inside the AD header: neither part holds the whole Remote ID signature

    def event(status: int, chunk: bytes) -> bytes:
        r = HCI_LE_Meta_Extended_Advertising_Report(data_status=status, addr_type=1, addr=LR_MAC, primary_phy=3,
                                                    secondary_phy=3, advertising_sid=3, rssi=-90, data=[Raw(chunk)])
        return bytes(HCI_Hdr(type=4) / HCI_Event_Hdr(code=0x3E) / HCI_Event_LE_Meta(event=0x0D)
                     / HCI_LE_Meta_Extended_Advertising_Reports(reports=[r]))

    decoder = FrameDecoder()
    held, (c,) = feed(decoder, [event(1, ad[:cut]), event(0, ad[cut:])])
    assert held == [] and c.counter == 42 and c.self_id.description == "split by scapy"
    assert c.rssi_dbm == -90 and c.phy == "le_coded"


def test_three_parts_and_other_advertisers_in_between():
    pk = operator_pack(9, "A")
    ad = enc.bt5_advdata(pk, 1)
    a1, a2, a3 = split(LR_MAC, ad, [100, 200])
    b1, b2 = split(LR_MAC, enc.bt5_advdata(operator_pack(9, "B"), 2), [150], sid=5)  # same address, other SID
    c1, c2 = split(OTHER_MAC, enc.bt5_advdata(operator_pack(9, "C"), 3), [60])
    single = enc.hci_le_ext_adv_reports(OTHER_MAC, enc.bt5_advdata(operator_pack(2, "D"), 4), sid=9)[0]
    decoder = FrameDecoder()
    out = feed(decoder, [a1, b1, c1, a2, single, c2, b2, a3])
    got = {(c.transmitter, c.counter): c for cs in out for c in cs}
    assert sorted(got) == [(OTHER_MAC, 3), (OTHER_MAC, 4), (LR_MAC, 1), (LR_MAC, 2)]
    assert [len(cs) for cs in out] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert got[(LR_MAC, 1)].self_id.description == "A"
    assert got[(LR_MAC, 2)].self_id.description == "B"
    assert got[(OTHER_MAC, 3)].self_id.description == "C"
    assert decoder.rejected == {} and decoder.hci.pending == 0


def test_a_truncated_chain_is_decoded_as_partial():
    """The controller lost the rest of a chain: its last report says "incomplete, truncated"."""
    decoder = FrameDecoder()
    padded = enc.bt5_advdata(operator_pack(3, "kept"), 5, pad_slots=9)  # 3 messages in 9 slots
    held, (c,) = feed(decoder, split(LR_MAC, padded[:150], [100], last_status=2))
    assert held == [] and c.self_id.description == "kept" and c.anomalies == ["ad_incomplete"]
    full = enc.bt5_advdata(operator_pack(9), 6)  # 150 bytes cannot hold the 9 messages announced
    assert feed(decoder, split(LR_MAC, full[:150], [100], last_status=2), t0=2000.0) == [[], []]
    assert decoder.rejected == {"ble_ad_fragmented": 1} and decoder.hci.pending == 0


def test_orphans_are_counted_and_state_is_bounded():
    decoder = FrameDecoder()
    ad = enc.bt5_advdata(operator_pack(9), 1)
    first, second = split(LR_MAC, ad, [120])
    # the next part never comes: forgotten once a later frame is past the age limit
    feed(decoder, [first], t0=10.0)
    assert decoder.hci.pending == 1
    assert feed(decoder, [second], t0=10.0 + bt.HCI_PENDING_MAX_AGE + 0.5) == [[]]  # taken as a lone last part
    assert decoder.rejected[ORPHANED] == 1 and decoder.hci.pending == 0
    # more advertisers waiting than the bound: the oldest goes
    events = [ext_event(f"c0:00:00:00:{i >> 8:02x}:{i & 0xFF:02x}", b"\x02\x01\x06", status=1)
              for i in range(bt.HCI_PENDING_MAX + 5)]
    feed(decoder, events, t0=100.0, step=0.0)
    assert decoder.hci.pending == bt.HCI_PENDING_MAX
    assert decoder.rejected[ORPHANED] == 1 + 5
    # a chain longer than the Core spec allows
    long_parts = [ext_event(LR_MAC, bytes(200), status=1, sid=7) for _ in range(bt.EXT_ADV_DATA_MAX // 200 + 2)]
    feed(decoder, long_parts, t0=200.0, step=0.0)
    assert decoder.rejected[ORPHANED] >= 1 + 5 + bt.HCI_PENDING_MAX + 1


def test_split_reports_in_a_capture_file_decode_whole(tmp_path):
    """`airwatch decode` on a pcap of HCI events (btmon/hcidump style) gets the whole pack."""
    events = enc.hci_le_ext_adv_reports(LR_MAC, enc.bt5_advdata(operator_pack(9), 8))
    path = tmp_path / "hci.pcap"
    write_pcap(path, [(1700000000.0 + i * 0.002, e) for i, e in enumerate(events)], 187)
    contacts, reports = read_inputs([str(path)])
    (c,) = list(contacts)
    assert c.self_id.description == "OP" and reports[0].rejected == {}


def test_legacy_and_unsplit_extended_reports_pass_straight_through():
    decoder = FrameDecoder()
    msg = rid.encode_operator_id(OperatorID(0, "legacy"))
    (c,) = decoder.decode(Frame(1.0, 187, enc.hci_le_adv_report(OTHER_MAC, enc.bt4_advdata(msg, 1)), 1, "x"))
    assert c.operator_id.operator_id == "legacy"
    (event,) = enc.hci_le_ext_adv_reports(LR_MAC, enc.bt5_advdata(operator_pack(3), 2))
    (c,) = decoder.decode(Frame(1.0, 187, event, 2, "x"))
    assert c.self_id.description == "OP" and decoder.hci.pending == 0
    # a split report from something that is not Remote ID: held, joined, nothing to say
    feed(decoder, split(OTHER_MAC, b"\x02\x01\x06" + b"\x1e\xff" + bytes(29) * 9, [100]))
    assert decoder.rejected == {} and decoder.hci.pending == 0


# --- hypothesis -----------------------------------------------------------------------------------

@FUZZ
@given(n=st.integers(1, 9), counter=st.integers(0, 255), data=st.data())
def test_any_split_gives_the_unsplit_contact(n, counter, data):
    ad = enc.bt5_advdata(operator_pack(n), counter, pad_slots=data.draw(st.sampled_from([None, 9])))
    whole = bt.decode_hci_h4(Frame(5.0, 187, ext_event(LR_MAC, ad), 1, "x")) if len(ad) <= 229 else None
    parts = data.draw(st.integers(1, 5))
    cuts = sorted(data.draw(st.lists(st.integers(1, len(ad) - 1), min_size=parts - 1, max_size=parts - 1,
                                     unique=True)))
    bounds = [0, *cuts, len(ad)]
    if any(b - a > 229 for a, b in zip(bounds, bounds[1:])):
        cuts = sorted({*cuts, *range(200, len(ad), 200)})
    events = split(LR_MAC, ad, cuts)
    noise = data.draw(st.lists(st.binary(max_size=40), max_size=3))
    decoder = FrameDecoder()
    out = []
    for i, e in enumerate(events):
        out += decoder.decode(Frame(5.0 + i * 0.001, 187, e, i + 1, "x"))
        for junk in noise:  # other packets between the parts change nothing
            out += decoder.decode(Frame(5.0 + i * 0.001, 187, junk, 0, "x"))
    (c,) = out
    assert c.self_id.description == "OP" and c.counter == counter and not c.anomalies
    if whole is not None:
        (w,) = whole
        assert (w.self_id, w.counter, w.transmitter, w.rssi_dbm) == (c.self_id, c.counter, c.transmitter,
                                                                         c.rssi_dbm)
    assert decoder.hci.pending == 0


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.binary(max_size=229), st.floats(0, 3)),
                max_size=40),
       st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)), max_size=6))
def test_hostile_sequences_never_break_the_reassembler(reports, flips):
    """Random parts, statuses, advertisers and times, then random byte flips: contacts or a
    counted refusal, and the pending state stays within its bound."""
    decoder = FrameDecoder()
    decoder.hci.max_pending = 3
    t = 0.0
    rid_ad = enc.bt5_advdata(operator_pack(2), 1)
    for k, (who, status, chunk, dt) in enumerate(reports):
        t += dt
        body = rid_ad[: len(chunk)] if k % 3 == 0 else chunk
        event = bytearray(ext_event(f"c0:00:00:00:00:0{who}", body, status=status, sid=who))
        for pos, value in flips:
            if pos < len(event):
                event[pos] = value
        for c in decoder.decode(Frame(t, 187, bytes(event), k + 1, "x")):
            assert c.transport in (Transport.BT5_LONG_RANGE, Transport.BT4_LEGACY)
        assert decoder.hci.pending <= 3
    assert all(" " not in reason for reason in decoder.rejected)


def test_reports_in_the_core_spec_layout_are_joined_too():
    """Two reports in one event laid out field by field; the first is a part, the second whole."""
    ad = enc.bt5_advdata(operator_pack(9), 6)
    r1 = enc.EXT_REPORT.pack(0, 0, 0x20, 1, enc.address(LR_MAC), 3, 3, 0, 127, -60, 0, 0, b"\0" * 6, 0)[2:]
    r2 = enc.EXT_REPORT.pack(0, 0, 0x00, 1, enc.address(OTHER_MAC), 1, 1, 0, 127, -61, 0, 0, b"\0" * 6, 0)[2:]
    part1, part2 = ad[:120], ad[120:]
    other = enc.bt5_advdata(operator_pack(1, "X"), 9)
    sizes = (2, 1, 6, 1, 1, 1, 1, 1, 2, 1, 6)
    arrays, off = [], 0
    for s in sizes:
        arrays.append(r1[off:off + s] + r2[off:off + s])
        off += s
    params = bytes((0x0D, 2)) + b"".join(arrays) + bytes((len(part1), len(other))) + part1 + other
    event1 = bytes((4, 0x3E, len(params))) + params
    decoder = FrameDecoder()
    (x,) = decoder.decode(Frame(1.0, 187, event1, 1, "x"))
    assert x.transmitter == OTHER_MAC and x.self_id.description == "X"
    (c,) = decoder.decode(Frame(1.001, 187, ext_event(LR_MAC, part2), 2, "x"))
    assert c.self_id.description == "OP" and c.rssi_dbm == -70
