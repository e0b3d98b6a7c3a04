"""Bluetooth LE Remote ID decoders (airwatch.decoders.bluetooth) on real and built frames.

The real capture is ../shared/captures/remoteid/odid_bt5_lr_sample.pcapng (nRF Sniffer, LINKTYPE
272); its ground truth is in MANIFEST.md.  Frames the captures lack (Bluetooth 4 legacy, link
types 251 / 256 / 187 / 201, HCI reports) are built here with scapy, whose CRC and HCI layers are
an independent oracle; the ODID messages come from a tiny local helper with fixed values.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.bluetooth import (
    EIR_CompleteLocalName,
    EIR_Flags,
    EIR_Hdr,
    EIR_ServiceData16BitUUID,
    HCI_Event_Hdr,
    HCI_Event_LE_Meta,
    HCI_Hdr,
    HCI_LE_Meta_Advertising_Report,
    HCI_LE_Meta_Advertising_Reports,
    HCI_LE_Meta_Extended_Advertising_Report,
    HCI_LE_Meta_Extended_Advertising_Reports,
)
from scapy.layers.bluetooth4LE import (
    BTLE,
    BTLE_ADV,
    BTLE_ADV_IND,
    BTLE_ADV_NONCONN_IND,
    BTLE_RF,
)
from scapy.packet import Raw
from scapy.utils import RawPcapNgReader

from airwatch.contact import Contact, Transport
from airwatch.decoders import bluetooth as bt
from airwatch.decoders.errors import DecodeError
from airwatch.decoders.remoteid import decode_odid
from airwatch.frame import Frame

T0 = 1_700_000_000.25
MAC = "c0:11:22:33:44:55"
LR_MAC = "e0:7d:ea:eb:2f:1c"


# --- ODID messages (fixed values; protocol version 2) ---------------------------------------------

def _msg(header: int, body: bytes) -> bytes:
    assert len(body) == 24
    return bytes([header]) + body


MESSAGES = {
    "basic_id": _msg(0x02, bytes([0x12]) + b"SERIAL123".ljust(20, b"\0") + bytes(3)),
    "location": _msg(0x12, struct.pack("<BBBbiiHHHBBHBx", 0x20, 90, 40, 4, 473977420, 85455940,
                                       2200, 2240, 2100, 0x3B, 0x24, 6000, 1)),
    "auth": _msg(0x22, struct.pack("<BBBI17s", 0x10, 0, 17, 150_000_000, b"0123456789abcdefg")),
    "self_id": _msg(0x32, bytes([0]) + b"Survey flight".ljust(23, b"\0")),
    "system": _msg(0x42, struct.pack("<BiiHBHHBHIx", 0x05, 473970000, 85450000, 1, 0, 0, 0,
                                     0x12, 2300, 150_000_000)),
    "operator_id": _msg(0x52, bytes([0]) + b"CHEop1234567".ljust(20, b"\0") + bytes(3)),
}


def pack(*messages: bytes) -> bytes:
    return bytes([0xF2, 25, len(messages)]) + b"".join(messages)


def rid_ad(body: bytes, counter: int = 7) -> bytes:
    """The Remote ID AD structure: length, 0x16, FA FF, 0x0D, counter, message or pack."""
    return bytes([5 + len(body), 0x16, 0xFA, 0xFF, 0x0D, counter]) + body


FLAGS_AD = b"\x02\x01\x06"


def odid_fields(c: Contact) -> tuple:
    return (c.protocol_version, c.basic_ids, c.location, c.operator, c.self_id, c.system,
            c.operator_id, c.auth_pages, c.auth)


def expected(body: bytes) -> tuple:
    c = Contact(time=T0, transport=Transport.BT4_LEGACY)
    decode_odid(body, c)
    return odid_fields(c)


def frame(linktype: int, data: bytes, number: int = 1) -> Frame:
    return Frame(time=T0, linktype=linktype, data=bytes(data), number=number, source="built")


def decode(linktype: int, data: bytes) -> list[Contact]:
    return bt.DECODERS[linktype](frame(linktype, data), "sensor-1")


# --- frame builders ----------------------------------------------------------------------------------

def scapy_ad(body: bytes, counter: int = 7, flags: bool = False) -> list:
    ads = [EIR_Hdr(type=0x01) / EIR_Flags(flags=6)] if flags else []
    ads.append(EIR_Hdr(type=0x16) / EIR_ServiceData16BitUUID(svc_uuid=0xFFFA)
               / Raw(bytes([0x0D, counter]) + body))
    return ads


def legacy_ll(body: bytes, *, flags: bool = False, counter: int = 7, pdu=BTLE_ADV_NONCONN_IND,
              pdu_type: int = 2) -> bytes:
    """LINKTYPE 251 bytes of a legacy advertising PDU built (and CRC'd) by scapy."""
    p = (BTLE(access_addr=bt.ADV_ACCESS_ADDRESS) / BTLE_ADV(TxAdd=1, PDU_type=pdu_type)
         / pdu(AdvA=MAC, data=scapy_ad(body, counter, flags)))
    return bytes(p)


def phdr(ll: bytes, *, rf: int = 0, signal: int = -60, crc_checked: int = 1, crc_valid: int = 1,
         phy: int = 0, kind: int = 0) -> bytes:
    """LINKTYPE 256: scapy's BTLE_RF pseudo-header in front of ``ll``."""
    hdr = BTLE_RF(rf_channel=rf, signal=signal, sig_power_valid=1, dewhitened=1,
                  crc_checked=crc_checked, crc_valid=crc_valid, phy=phy, type=kind)
    return bytes(hdr)[:10] + ll


def aux_adv_ind(ad: bytes, *, coded: bool = False, hl_delta: int = 0, ext_flags: int = 0x49) -> bytes:
    """A BT5 AUX_ADV_IND built by hand: AdvA + ADI + TxPower in the extended header."""
    fields = b""
    if ext_flags & 0x01:
        fields += bytes.fromhex(LR_MAC.replace(":", ""))[::-1]
    if ext_flags & 0x08:
        fields += b"\x75\x0e"
    if ext_flags & 0x40:
        fields += b"\x04"
    ext = bytes([ext_flags]) + fields
    payload = bytes([(len(ext) + hl_delta) & 0x3F]) + ext + ad
    pdu = bytes([0x07, len(payload)]) + payload
    aa = bt.ADV_ACCESS_ADDRESS.to_bytes(4, "little")
    return aa + (b"\x00" if coded else b"") + pdu + BTLE.compute_crc(pdu)


def nordic(ll: bytes, *, version: int = 3, packet_id: int = 0x02, flags: int = 0x01, channel: int = 37,
           rssi: int = 60) -> bytes:
    """LINKTYPE 272 (nRF Sniffer) in each header version, per Wireshark's packet-nordic_ble.c."""
    tail = bytes([flags, channel, rssi]) + b"\x00\x00" + (123456).to_bytes(4, "little") + ll
    if version == 0:
        return b"\xbe\xef" + bytes([packet_id]) + b"\x01\x00\x00\x00" + bytes([len(tail)]) + tail
    event = bytes([10]) + tail
    if version == 1:
        return bytes([3, 6, len(event), 1]) + b"\x01\x00" + bytes([packet_id]) + event
    return bytes([3]) + len(event).to_bytes(2, "little") + bytes([version]) + b"\x01\x00" + bytes([packet_id]) + event


def hci_adv_report(*reports, phdr_word: bool = False) -> bytes:
    h = bytes(HCI_Hdr(type=4) / HCI_Event_Hdr(code=0x3E) / HCI_Event_LE_Meta(event=2)
              / HCI_LE_Meta_Advertising_Reports(reports=list(reports)))
    return (b"\x00\x00\x00\x01" + h) if phdr_word else h


def hci_ext_report(*reports, phdr_word: bool = False) -> bytes:
    h = bytes(HCI_Hdr(type=4) / HCI_Event_Hdr(code=0x3E) / HCI_Event_LE_Meta(event=0x0D)
              / HCI_LE_Meta_Extended_Advertising_Reports(reports=list(reports)))
    return (b"\x00\x00\x00\x01" + h) if phdr_word else h


# --- API -------------------------------------------------------------------------------------------

def test_linktype_table():
    assert bt.DECODERS == {
        251: bt.decode_le_ll,
        256: bt.decode_le_ll_phdr,
        272: bt.decode_nordic_ble,
        187: bt.decode_hci_h4,
        201: bt.decode_hci_h4_phdr,
    }
    assert bt.LINKTYPES == frozenset({187, 201, 251, 256, 272})


def test_module_does_not_import_scapy():
    code = ("import sys, airwatch.decoders.bluetooth; "
            "sys.exit(any(m == 'scapy' or m.startswith('scapy.') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_crc_matches_scapy():
    for body in MESSAGES.values():
        ll = legacy_ll(body)
        assert bt.ble_crc(ll[4:-3]) == ll[-3:] == BTLE.compute_crc(ll[4:-3])


# --- real capture: nRF Sniffer, Bluetooth 5 Long Range (LINKTYPE 272) -----------------------------

def read_frames(path) -> list[Frame]:
    frames = []
    for i, (data, meta) in enumerate(RawPcapNgReader(str(path))):
        assert meta.linktype == 272
        t = ((meta.tshigh << 32) | meta.tslow) / meta.tsresol
        frames.append(Frame(time=t, linktype=meta.linktype, data=data, number=i + 1, source=path.name))
    return frames


@pytest.fixture(scope="module")
def lr_frames(captures) -> list[Frame]:
    return read_frames(captures / "remoteid" / "odid_bt5_lr_sample.pcapng")


def test_bt5_long_range_capture_ground_truth(lr_frames):
    assert len(lr_frames) == 274
    outcome: Counter[str] = Counter()
    pack_sizes: Counter[int] = Counter()
    altitudes: Counter[tuple] = Counter()
    kinds_seen: Counter[int] = Counter()
    for f in lr_frames:
        crc_ok = f.data[8] & 1  # the sniffer's own CRC flag, read independently of the decoder
        try:
            contacts = bt.decode_nordic_ble(f, "nrf")
        except DecodeError as e:
            outcome[e.reason] += 1
            # every CRC-bad frame is refused (and counted) as ble_crc_failed, nothing else is
            assert (e.reason == "ble_crc_failed") == (not crc_ok), f.number
            continue
        assert crc_ok, f.number
        assert len(contacts) == 1, f.number
        outcome["contact"] += 1
        c = contacts[0]
        pack_sizes[c.raw[8]] += 1
        assert c.time == f.time and c.frame == f.number and c.source == f.source and c.sensor_id == "nrf"
        assert c.transport is Transport.BT5_LONG_RANGE
        assert c.phy == "le_coded"
        assert c.transmitter == LR_MAC
        assert c.rssi_dbm is not None and c.rssi_dbm < 0
        assert c.rssi_dbm == -f.data[10]
        assert 0 <= c.channel <= 36  # AUX_ADV_IND is on the secondary channels
        assert c.counter == c.raw[5]
        assert c.raw[:5] == b"\xe9\x16\xfa\xff\x0d"  # AD length 233 whatever the pack size
        assert c.protocol_version == 0
        assert not c.anomalies
        n = c.raw[8]
        kinds = [c.raw[9 + 25 * k] >> 4 for k in range(n)]
        kinds_seen.update(kinds)
        if 0 in kinds:
            assert [(b.id_type, b.ua_type, b.uas_id) for b in c.basic_ids] == [(1, 2, "SSEVTFG93700070")]
        if 1 in kinds:
            loc = c.location
            assert loc.status == 2
            assert loc.lat is None and loc.lon is None and not c.has_position
            assert loc.direction is None and loc.speed_horizontal is None
            assert loc.alt_geodetic_m is None
            # MANIFEST gives the usual values (-55.0 m, -0.5 m); the sample also has a few frames
            # at -54.5 m baro and height 0.0 m, so check the exact set and the majority
            altitudes[(loc.alt_pressure_m, loc.height_m)] += 1
        if 3 in kinds:
            assert c.self_id.description == "Drone ID demo"
        if 4 in kinds:
            s = c.system
            assert (s.classification_type, s.ua_category, s.ua_class) == (1, 1, 1)
            assert c.operator is None
        if 5 in kinds:
            assert c.operator_id.operator_id == "FIN87astrdge12kxyz8"
    assert outcome == {"contact": 225, "ble_crc_failed": 30, "odid_empty_pack": 19}
    assert min(kinds_seen[k] for k in (0, 1, 3, 4, 5)) >= 199 and set(kinds_seen) == {0, 1, 3, 4, 5}
    assert set(altitudes) == {(-55.0, -0.5), (-55.0, 0.0), (-54.5, 0.0)}
    assert altitudes.most_common(1)[0] == ((-55.0, -0.5), 168)
    assert sum(v for k, v in pack_sizes.items() if 1 <= k <= 4) == 26
    assert pack_sizes[5] == 199 and set(pack_sizes) <= {1, 2, 3, 4, 5}


def test_crc_agrees_with_the_sniffer(lr_frames):
    """Our CRC-24 (used for 251 / unchecked 256) against the nRF Sniffer's verdict on real frames."""
    for f in lr_frames:
        d = f.data
        length = d[23]  # PDU header after AA (17..20) and the coding indicator (21)
        pdu, crc = d[22:24 + length], d[24 + length:27 + length]
        assert (bt.ble_crc(pdu) == crc) == bool(d[8] & 1), f.number


def rf_of(index: int) -> int:
    """BLE channel index to RF channel (the inverse of what LINKTYPE 256 decoding does)."""
    return {37: 0, 38: 12, 39: 39}.get(index, index + 1 if index <= 10 else index + 2)


def test_real_frame_rewrapped_as_256_and_251(lr_frames):
    """The same over-the-air packets in the other pseudo-headers decode the same."""
    good = [f for f in lr_frames if f.data[8] & 1][:20]
    for f in good:
        ll = f.data[17:]  # AA, CI, PDU, CRC
        try:
            ref = bt.decode_nordic_ble(f)
        except DecodeError as e:
            with pytest.raises(DecodeError) as info:
                bt.decode_le_ll_phdr(frame(256, phdr(ll, rf=rf_of(f.data[9]), phy=2, kind=1)))
            assert info.value.reason == e.reason
            continue
        (c,) = bt.decode_le_ll_phdr(frame(256, phdr(ll, rf=rf_of(f.data[9]), phy=2, kind=1, crc_checked=0)))
        assert odid_fields(c) == odid_fields(ref[0])
        assert c.channel == f.data[9] and c.phy == "le_coded" and c.rssi_dbm == -60
        # 251 has no coding indicator: drop it
        (c,) = bt.decode_le_ll(frame(251, ll[:4] + ll[5:]))
        assert odid_fields(c) == odid_fields(ref[0]) and c.transmitter == LR_MAC
        assert c.phy is None and c.channel is None and c.rssi_dbm is None


# --- Bluetooth 4 legacy advertising, LINKTYPE 251 and 256 ------------------------------------------

@pytest.mark.parametrize("name", sorted(MESSAGES))
@pytest.mark.parametrize("flags", [False, True], ids=["no_flags_ad", "flags_ad_first"])
@pytest.mark.parametrize("linktype", [251, 256])
def test_bt4_legacy_each_message(name, flags, linktype):
    body = MESSAGES[name]
    ll = legacy_ll(body, flags=flags, counter=42)
    data = ll if linktype == 251 else phdr(ll, rf=12, signal=-71)
    (c,) = decode(linktype, data)
    assert c.transport is Transport.BT4_LEGACY
    assert c.transmitter == MAC
    assert c.phy == "le_1m"
    assert c.counter == 42
    assert c.raw == rid_ad(body, 42)
    assert c.time == T0 and c.frame == 1 and c.source == "built" and c.sensor_id == "sensor-1"
    assert not c.anomalies
    assert odid_fields(c) == expected(body)
    if linktype == 256:
        assert c.channel == 38 and c.rssi_dbm == -71
    else:
        assert c.channel is None and c.rssi_dbm is None


def test_bt4_values_decoded():
    (c,) = decode(251, legacy_ll(MESSAGES["basic_id"]))
    assert [(b.id_type, b.ua_type, b.uas_id) for b in c.basic_ids] == [(1, 2, "SERIAL123")]
    (c,) = decode(251, legacy_ll(MESSAGES["location"]))
    loc = c.location
    assert (round(loc.lat, 7), round(loc.lon, 7)) == (47.397742, 8.545594)
    assert loc.speed_horizontal == 10.0 and loc.speed_vertical == 2.0 and loc.direction == 90
    assert (loc.alt_pressure_m, loc.alt_geodetic_m, loc.height_m) == (100.0, 120.0, 50.0)
    assert loc.status == 2 and loc.timestamp == 600.0
    (c,) = decode(251, legacy_ll(MESSAGES["operator_id"]))
    assert c.operator_id.operator_id == "CHEop1234567"


@pytest.mark.parametrize("pdu_type,pdu", [(0, BTLE_ADV_IND), (2, BTLE_ADV_NONCONN_IND)])
def test_bt4_other_legacy_pdus(pdu_type, pdu):
    (c,) = decode(251, legacy_ll(MESSAGES["self_id"], pdu=pdu, pdu_type=pdu_type))
    assert c.self_id.description == "Survey flight"


@pytest.mark.parametrize("rf,index", [(0, 37), (12, 38), (39, 39), (1, 0), (11, 10), (13, 11), (38, 36)])
def test_256_rf_channel_to_index(rf, index):
    (c,) = decode(256, phdr(legacy_ll(MESSAGES["basic_id"]), rf=rf))
    assert c.channel == index


def test_bt4_pack_is_accepted_with_anomaly():
    body = pack(MESSAGES["basic_id"])
    (c,) = decode(251, legacy_ll(body))
    assert "pack_on_bt4" in c.anomalies
    assert c.basic_ids[0].uas_id == "SERIAL123"


def test_crc_failed_256_flag():
    ll = legacy_ll(MESSAGES["basic_id"])
    with pytest.raises(DecodeError) as info:
        decode(256, phdr(ll, crc_valid=0))
    assert info.value.reason == "ble_crc_failed"
    # a CRC-bad advertising PDU without Remote ID is refused the same way (it cannot be trusted)
    other = bytes(BTLE() / BTLE_ADV(PDU_type=2) / BTLE_ADV_NONCONN_IND(
        AdvA=MAC, data=[EIR_Hdr(type=0x09) / EIR_CompleteLocalName(local_name=b"kettle")]))
    with pytest.raises(DecodeError):
        decode(256, phdr(other, crc_valid=0))


@pytest.mark.parametrize("linktype", [251, 256])
def test_crc_computed_when_not_checked(linktype):
    ll = bytearray(legacy_ll(MESSAGES["basic_id"]))
    ll[-1] ^= 0x01
    data = bytes(ll) if linktype == 251 else phdr(bytes(ll), crc_checked=0, crc_valid=0)
    with pytest.raises(DecodeError) as info:
        decode(linktype, data)
    assert info.value.reason == "ble_crc_failed"
    # a flipped payload bit is caught too
    ll = bytearray(legacy_ll(MESSAGES["basic_id"]))
    ll[20] ^= 0x10
    with pytest.raises(DecodeError) as info:
        decode(251, bytes(ll))
    assert info.value.reason == "ble_crc_failed"


def test_not_remote_id_returns_nothing():
    name = [EIR_Hdr(type=0x01) / EIR_Flags(flags=6), EIR_Hdr(type=0x09) / EIR_CompleteLocalName(local_name=b"kettle")]
    p = bytes(BTLE() / BTLE_ADV(PDU_type=0) / BTLE_ADV_IND(AdvA=MAC, data=name))
    assert decode(251, p) == []
    assert decode(256, phdr(p)) == []
    # FFFA service data with another application code is not Open Drone ID
    other_app = bytes(BTLE() / BTLE_ADV(PDU_type=2) / BTLE_ADV_NONCONN_IND(
        AdvA=MAC, data=[EIR_Hdr(type=0x16) / EIR_ServiceData16BitUUID(svc_uuid=0xFFFA) / Raw(b"\x0e\x01" + bytes(25))]))
    assert decode(251, other_app) == []
    # the signature inside another AD structure (here a name) is not Remote ID
    inside = bytes(BTLE() / BTLE_ADV(PDU_type=2) / BTLE_ADV_NONCONN_IND(
        AdvA=MAC, data=[EIR_Hdr(type=0x09) / EIR_CompleteLocalName(local_name=b"x\x16\xfa\xff\x0d" + bytes(20))]))
    assert decode(251, inside) == []


def test_data_channel_and_other_pdus_return_nothing():
    ll = legacy_ll(MESSAGES["basic_id"])
    assert decode(256, phdr(ll, kind=2)) == []  # data, master to slave
    assert decode(256, phdr(ll, kind=3)) == []
    assert decode(256, phdr(ll, kind=6)) == []
    data_aa = b"\x11\x22\x33\x44" + ll[4:]
    assert decode(251, data_aa) == []
    assert decode(256, phdr(data_aa)) == []
    # ADV_DIRECT_IND (1), SCAN_REQ (3), CONNECT_IND (5) carry no AdvData
    for t in (1, 3, 5):
        raw = bytearray(ll)
        raw[4] = (raw[4] & 0xF0) | t
        pdu = bytes(raw[4:-3])
        assert decode(251, bytes(raw[:4]) + pdu + BTLE.compute_crc(pdu)) == []


def test_zero_length_ad_ends_the_data():
    body = MESSAGES["basic_id"]
    ad = b"\x00" + rid_ad(body)
    payload = bytes.fromhex(MAC.replace(":", ""))[::-1] + ad
    pdu = bytes([0x42, len(payload)]) + payload
    data = bt.ADV_ACCESS_ADDRESS.to_bytes(4, "little") + pdu + BTLE.compute_crc(pdu)
    assert decode(251, data) == []
    # and a legacy PDU with no AdvData at all
    payload = bytes.fromhex(MAC.replace(":", ""))[::-1]
    pdu = bytes([0x42, 6]) + payload
    data = bt.ADV_ACCESS_ADDRESS.to_bytes(4, "little") + pdu + BTLE.compute_crc(pdu)
    assert decode(251, data) == []


# --- Bluetooth 5 extended advertising built by hand -----------------------------------------------

def test_bt5_aux_adv_ind_on_251_and_256_coded():
    body = pack(*MESSAGES.values())
    ad = FLAGS_AD + rid_ad(body, 9)
    (c,) = decode(251, aux_adv_ind(ad))
    assert c.transport is Transport.BT5_LONG_RANGE and c.transmitter == LR_MAC and c.counter == 9
    assert c.phy is None and not c.anomalies
    assert odid_fields(c) == expected(body)
    assert c.auth is not None and c.auth.data == b"0123456789abcdefg"
    (c,) = decode(256, phdr(aux_adv_ind(ad, coded=True), rf=5, phy=2, kind=1, signal=-88))
    assert c.phy == "le_coded" and c.channel == 4 and c.rssi_dbm == -88
    assert odid_fields(c) == expected(body)
    (c,) = decode(256, phdr(aux_adv_ind(ad), rf=5, phy=1, kind=1))
    assert c.phy == "le_2m"


def test_bt5_without_adva_has_no_transmitter():
    (c,) = decode(251, aux_adv_ind(rid_ad(pack(MESSAGES["basic_id"])), ext_flags=0x08))
    assert c.transmitter is None and c.basic_ids


def test_bt5_every_extended_header_field():
    """All seven optional fields (AdvA, TargetA, CTEInfo, ADI, AuxPtr, SyncInfo, TxPower) + ACAD."""
    fields = (bytes.fromhex(LR_MAC.replace(":", ""))[::-1] + bytes(6) + b"\x01" + b"\x75\x0e"
              + b"\x05\x10\x20" + bytes(18) + b"\x04" + b"\x02\x01\x06")  # ACAD: 3 bytes
    ext = b"\x7f" + fields
    payload = bytes([len(ext) | 0x40]) + ext + rid_ad(MESSAGES["system"])
    pdu = bytes([0x07, len(payload)]) + payload
    data = bt.ADV_ACCESS_ADDRESS.to_bytes(4, "little") + pdu + BTLE.compute_crc(pdu)
    (c,) = decode(251, data)
    assert c.transmitter == LR_MAC and c.system.ua_class == 2


def test_bt5_adv_ext_ind_without_data():
    """ADV_EXT_IND (ADI + AuxPtr, no AdvData); the signature bytes sit in its ACAD."""
    ext = b"\x18" + b"\x75\x0e" + b"\x05\x10\x20" + bt.RID_SIGNATURE
    payload = bytes([len(ext)]) + ext
    pdu = bytes([0x07, len(payload)]) + payload
    data = bt.ADV_ACCESS_ADDRESS.to_bytes(4, "little") + pdu + BTLE.compute_crc(pdu)
    assert decode(251, data) == []


def test_bt5_ext_header_length_lies():
    # shorter than the fields its flags announce
    data = aux_adv_ind(rid_ad(pack(MESSAGES["basic_id"])), hl_delta=-1)
    with pytest.raises(DecodeError) as info:
        decode(251, data)
    assert info.value.reason == "ble_bad_ext_header"
    # longer: the header swallows the start of the AdvData as ACAD, so no Remote ID is found
    # (ACAD may hold anything; this is not told apart from a frame without Remote ID)
    assert decode(251, aux_adv_ind(rid_ad(pack(MESSAGES["basic_id"])), hl_delta=30)) == []


def test_bt5_ext_header_longer_than_pdu():
    ad = rid_ad(pack(MESSAGES["basic_id"]))
    payload = bytes([0x3F, 0x01]) + bytes(6) + ad  # claims 63 header bytes, fewer in the PDU
    pdu = bytes([0x07, len(payload)]) + payload
    data = bt.ADV_ACCESS_ADDRESS.to_bytes(4, "little") + pdu + BTLE.compute_crc(pdu)
    with pytest.raises(DecodeError) as info:
        decode(251, data)
    assert info.value.reason == "ble_bad_ext_header"


def test_remote_id_ad_overrun():
    ad = bytearray(rid_ad(pack(MESSAGES["basic_id"])))
    ad[0] += 10
    ll = aux_adv_ind(bytes(ad))
    with pytest.raises(DecodeError) as info:
        decode(251, ll)
    assert info.value.reason == "ble_truncated_ad"
    # an overrunning structure that is not Remote ID just ends the walk
    other = FLAGS_AD + b"\x40\x09abc" + rid_ad(pack(MESSAGES["basic_id"]))
    assert decode(251, aux_adv_ind(other)) == []


def test_pdu_length_must_fit():
    ll = legacy_ll(MESSAGES["basic_id"])
    with pytest.raises(DecodeError) as info:
        decode(251, ll[:-4])
    assert info.value.reason == "ble_truncated"
    with pytest.raises(DecodeError) as info:
        decode(256, phdr(ll[:-1]))
    assert info.value.reason == "ble_truncated"


# --- nRF Sniffer header versions, built ------------------------------------------------------------

@pytest.mark.parametrize("version,packet_id", [(0, 0x06), (1, 0x06), (2, 0x06), (3, 0x02)])
def test_nordic_header_versions(version, packet_id):
    body = MESSAGES["location"]
    (c,) = decode(272, nordic(legacy_ll(body), version=version, packet_id=packet_id, rssi=61))
    assert c.transport is Transport.BT4_LEGACY and c.channel == 37 and c.rssi_dbm == -61
    assert c.phy == "le_1m" and c.transmitter == MAC
    assert odid_fields(c) == expected(body)


def test_nordic_bt5_coded_built():
    body = pack(MESSAGES["basic_id"], MESSAGES["location"])
    (c,) = decode(272, nordic(aux_adv_ind(rid_ad(body), coded=True), flags=0x21, channel=10))
    assert c.transport is Transport.BT5_LONG_RANGE and c.phy == "le_coded" and c.channel == 10
    assert odid_fields(c) == expected(body)
    (c,) = decode(272, nordic(aux_adv_ind(rid_ad(body)), flags=0x11, channel=10))
    assert c.phy == "le_2m"


def test_nordic_data_pdus_and_crc():
    ll = legacy_ll(MESSAGES["basic_id"])
    assert decode(272, nordic(ll, packet_id=0x06)) == []  # v3: 0x06 is a data channel PDU
    assert decode(272, nordic(ll, packet_id=0x06, flags=0x00)) == []  # bad CRC on data: not ours
    assert decode(272, nordic(ll, packet_id=0x0E)) == []  # ping response, not a packet
    assert decode(272, nordic(b"\x11\x22\x33\x44" + ll[4:], version=2, packet_id=0x06)) == []
    for version, pid in ((3, 0x02), (2, 0x06)):
        with pytest.raises(DecodeError) as info:
            decode(272, nordic(ll, version=version, packet_id=pid, flags=0x00))
        assert info.value.reason == "ble_crc_failed"


def test_nordic_length_field_must_match():
    data = nordic(legacy_ll(MESSAGES["basic_id"]))
    for bad in (data + b"\x00", data[:-1]):
        with pytest.raises(DecodeError) as info:
            decode(272, bad)
        assert info.value.reason == "ble_bad_length"


# --- HCI H4 (187) and H4 with direction pseudo-header (201) ------------------------------------------

@pytest.mark.parametrize("linktype", [187, 201])
def test_hci_le_advertising_report(linktype):
    body = MESSAGES["basic_id"]
    r = HCI_LE_Meta_Advertising_Report(type=3, addr_type=1, addr=MAC, data=scapy_ad(body, 5, flags=True), rssi=-70)
    (c,) = decode(linktype, hci_adv_report(r, phdr_word=linktype == 201))
    assert c.transport is Transport.BT4_LEGACY and c.transmitter == MAC and c.rssi_dbm == -70
    assert c.phy == "le_1m" and c.channel is None and c.counter == 5
    assert odid_fields(c) == expected(body)


def test_hci_two_reports_as_linux_sends_them():
    r1 = HCI_LE_Meta_Advertising_Report(type=3, addr_type=1, addr=MAC, data=scapy_ad(MESSAGES["basic_id"], 1), rssi=-70)
    r2 = HCI_LE_Meta_Advertising_Report(type=0, addr_type=0, addr="00:11:22:33:44:66",
                                        data=[EIR_Hdr(type=0x01) / EIR_Flags(flags=6)], rssi=-50)
    r3 = HCI_LE_Meta_Advertising_Report(type=3, addr_type=1, addr="c0:11:22:33:44:77",
                                        data=scapy_ad(MESSAGES["self_id"], 2), rssi=127)
    c1, c3 = decode(187, hci_adv_report(r1, r2, r3))
    assert (c1.transmitter, c1.counter, c1.rssi_dbm) == (MAC, 1, -70)
    assert (c3.transmitter, c3.counter, c3.rssi_dbm) == ("c0:11:22:33:44:77", 2, None)
    assert c1.basic_ids and c3.self_id.description == "Survey flight"


def test_hci_two_reports_core_spec_layout():
    """Core spec Vol 4 Part E 7.7.65.2: arrays field by field."""
    ad1 = rid_ad(MESSAGES["basic_id"], 1)
    ad2 = FLAGS_AD + rid_ad(MESSAGES["operator_id"], 2)
    a1 = bytes.fromhex(MAC.replace(":", ""))[::-1]
    a2 = bytes.fromhex("c011223344aa")[::-1]
    params = (b"\x02" + b"\x03\x02" + b"\x01\x01" + a1 + a2 + bytes([len(ad1), len(ad2)]) + ad1 + ad2
              + bytes([256 - 70, 256 - 40]))
    data = b"\x04\x3e" + bytes([len(params) + 1, 0x02]) + params
    c1, c2 = decode(187, data)
    assert (c1.transmitter, c1.counter, c1.rssi_dbm) == (MAC, 1, -70)
    assert (c2.transmitter, c2.counter, c2.rssi_dbm) == ("c0:11:22:33:44:aa", 2, -40)
    assert c1.basic_ids[0].uas_id == "SERIAL123" and c2.operator_id.operator_id == "CHEop1234567"


def test_hci_num_reports_lies():
    r = HCI_LE_Meta_Advertising_Report(type=3, addr_type=1, addr=MAC, data=scapy_ad(MESSAGES["basic_id"]), rssi=-70)
    data = bytearray(hci_adv_report(r))
    for num in (2, 5, 255):
        data[4] = num
        with pytest.raises(DecodeError) as info:
            decode(187, bytes(data))
        assert info.value.reason == "hci_bad_reports"
    data[4] = 0
    assert decode(187, bytes(data)) == []
    ext = bytearray(hci_ext_report(HCI_LE_Meta_Extended_Advertising_Report(
        addr_type=1, addr=MAC, primary_phy=3, secondary_phy=3, data=scapy_ad(MESSAGES["basic_id"]))))
    ext[4] = 3
    with pytest.raises(DecodeError) as info:
        decode(187, bytes(ext))
    assert info.value.reason == "hci_bad_reports"


def test_hci_event_length_must_fit():
    r = HCI_LE_Meta_Advertising_Report(type=3, addr_type=1, addr=MAC, data=scapy_ad(MESSAGES["basic_id"]), rssi=-70)
    data = hci_adv_report(r)
    with pytest.raises(DecodeError) as info:
        decode(187, data[:-2])
    assert info.value.reason == "ble_truncated"


def test_hci_other_packets_return_nothing():
    r = HCI_LE_Meta_Advertising_Report(type=3, addr_type=1, addr=MAC, data=scapy_ad(MESSAGES["basic_id"]), rssi=-70)
    data = bytearray(hci_adv_report(r))
    data[0] = 0x02  # ACL data
    assert decode(187, bytes(data)) == []
    data[0], data[1] = 0x04, 0x0E  # Command Complete
    assert decode(187, bytes(data)) == []
    data[1], data[3] = 0x3E, 0x01  # LE Connection Complete
    assert decode(187, bytes(data)) == []


@pytest.mark.parametrize("linktype", [187, 201])
def test_hci_extended_report_with_pack(linktype):
    body = pack(*MESSAGES.values())
    r = HCI_LE_Meta_Extended_Advertising_Report(addr_type=1, addr=LR_MAC, primary_phy=3, secondary_phy=3,
                                                rssi=-80, data=scapy_ad(body, 11))
    (c,) = decode(linktype, hci_ext_report(r, phdr_word=linktype == 201))
    assert c.transport is Transport.BT5_LONG_RANGE and c.phy == "le_coded" and c.rssi_dbm == -80
    assert c.transmitter == LR_MAC and c.counter == 11 and c.channel is None and not c.anomalies
    assert odid_fields(c) == expected(body)


def test_hci_extended_report_legacy_and_phys():
    body = MESSAGES["basic_id"]
    r = HCI_LE_Meta_Extended_Advertising_Report(legacy=1, addr_type=1, addr=MAC, primary_phy=1, secondary_phy=0,
                                                rssi=-60, data=scapy_ad(body))
    (c,) = decode(187, hci_ext_report(r))
    assert c.transport is Transport.BT4_LEGACY and c.phy == "le_1m"
    r = HCI_LE_Meta_Extended_Advertising_Report(addr_type=0xFF, addr=MAC, primary_phy=1, secondary_phy=2,
                                                rssi=127, data=scapy_ad(pack(body)))
    (c,) = decode(187, hci_ext_report(r))
    assert c.transport is Transport.BT5_LONG_RANGE and c.phy == "le_2m" and c.rssi_dbm is None
    assert c.transmitter is None  # anonymous advertiser


def test_hci_extended_two_reports_both_layouts():
    body1, body2 = pack(MESSAGES["basic_id"]), pack(MESSAGES["self_id"])
    r1 = HCI_LE_Meta_Extended_Advertising_Report(addr_type=1, addr=MAC, primary_phy=3, secondary_phy=3,
                                                 rssi=-80, data=scapy_ad(body1, 1))
    r2 = HCI_LE_Meta_Extended_Advertising_Report(addr_type=1, addr=LR_MAC, primary_phy=1, secondary_phy=2,
                                                 rssi=-81, data=scapy_ad(body2, 2))
    c1, c2 = decode(187, hci_ext_report(r1, r2))
    assert (c1.transmitter, c1.phy, c2.transmitter, c2.phy) == (MAC, "le_coded", LR_MAC, "le_2m")
    # the same two reports laid out field by field, as the Core spec describes the arrays
    raw1, raw2 = bytes(r1), bytes(r2)
    sizes = (2, 1, 6, 1, 1, 1, 1, 1, 2, 1, 6, 1)
    arrays, off = [], 0
    for s in sizes:
        arrays.append(raw1[off:off + s] + raw2[off:off + s])
        off += s
    params = b"\x02" + b"".join(arrays) + raw1[24:] + raw2[24:]
    data = b"\x04\x3e" + bytes([len(params) + 1, 0x0D]) + params
    c1, c2 = decode(187, data)
    assert (c1.transmitter, c1.phy, c1.rssi_dbm) == (MAC, "le_coded", -80)
    assert (c2.transmitter, c2.phy, c2.rssi_dbm) == (LR_MAC, "le_2m", -81)
    assert odid_fields(c1) == expected(body1) and odid_fields(c2) == expected(body2)


def test_hci_extended_report_incomplete_data():
    """A controller that splits a long AD over events: the first fragment still holds the pack."""
    body = pack(MESSAGES["basic_id"], MESSAGES["location"]) + bytes(100)  # padded like the TI sample
    ad = rid_ad(body, 3)
    cut = ad[:5 + 1 + 3 + 50 + 10]
    for status in (1, 2):
        r = HCI_LE_Meta_Extended_Advertising_Report(data_status=status, addr_type=1, addr=LR_MAC, primary_phy=3,
                                                    secondary_phy=3, rssi=-80, data=[Raw(cut)])
        (c,) = decode(187, hci_ext_report(r))
        assert "ad_incomplete" in c.anomalies and c.basic_ids and c.location is not None
    # complete status with the same cut: the AD structure overruns the data
    r = HCI_LE_Meta_Extended_Advertising_Report(data_status=0, addr_type=1, addr=LR_MAC, primary_phy=3,
                                                secondary_phy=3, rssi=-80, data=[Raw(cut)])
    with pytest.raises(DecodeError) as info:
        decode(187, hci_ext_report(r))
    assert info.value.reason == "ble_truncated_ad"
    # too short for the pack it announces
    r = HCI_LE_Meta_Extended_Advertising_Report(data_status=1, addr_type=1, addr=LR_MAC, primary_phy=3,
                                                secondary_phy=3, rssi=-80, data=[Raw(ad[:40])])
    with pytest.raises(DecodeError) as info:
        decode(187, hci_ext_report(r))
    assert info.value.reason == "ble_ad_fragmented"


def test_hci_zero_length_data():
    r = HCI_LE_Meta_Advertising_Report(type=3, addr_type=1, addr=MAC, data=[], rssi=-70)
    r2 = HCI_LE_Meta_Advertising_Report(type=3, addr_type=1, addr=MAC, data=scapy_ad(MESSAGES["basic_id"]), rssi=-70)
    (c,) = decode(187, hci_adv_report(r, r2))
    assert c.basic_ids


# --- malformed input: never anything but DecodeError or [] ---------------------------------------

def _checked(linktype: int, data: bytes) -> None:
    try:
        out = bt.DECODERS[linktype](frame(linktype, data))
    except DecodeError as e:
        assert e.reason and isinstance(e.reason, str)
        return
    assert isinstance(out, list) and all(isinstance(c, Contact) for c in out)


def built_frames() -> dict[int, list[bytes]]:
    body = pack(*MESSAGES.values())
    legacy = legacy_ll(MESSAGES["location"], flags=True)
    ext_r = HCI_LE_Meta_Extended_Advertising_Report(addr_type=1, addr=LR_MAC, primary_phy=3, secondary_phy=3,
                                                    rssi=-80, data=scapy_ad(body))
    adv_r = HCI_LE_Meta_Advertising_Report(type=3, addr_type=1, addr=MAC, data=scapy_ad(MESSAGES["basic_id"]), rssi=-7)
    return {
        251: [legacy, aux_adv_ind(FLAGS_AD + rid_ad(body))],
        256: [phdr(legacy), phdr(aux_adv_ind(rid_ad(body), coded=True), phy=2, kind=1, rf=3),
              phdr(legacy, crc_checked=0)],
        272: [nordic(legacy), nordic(aux_adv_ind(rid_ad(body), coded=True), flags=0x21, channel=4),
              nordic(legacy, version=0, packet_id=6)],
        187: [hci_adv_report(adv_r), hci_ext_report(ext_r)],
        201: [hci_adv_report(adv_r, phdr_word=True), hci_ext_report(ext_r, phdr_word=True)],
    }


BUILT = built_frames()


def test_built_seeds_decode():
    for linktype, seeds in BUILT.items():
        for data in seeds:
            assert len(decode(linktype, data)) == 1, (linktype, data.hex())


@pytest.mark.parametrize("linktype", sorted(BUILT))
def test_truncated_at_every_length(linktype):
    for data in BUILT[linktype]:
        for n in range(len(data)):
            _checked(linktype, data[:n])


def test_real_frames_truncated_at_every_length(lr_frames):
    for f in lr_frames[:6] + [f for f in lr_frames if not f.data[8] & 1][:2]:
        for n in range(len(f.data)):
            _checked(272, f.data[:n])


_FUZZ = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def with_signature(draw) -> bytes:
    """Random bytes, often with the Remote ID signature somewhere so the parsers go deep."""
    data = draw(st.binary(max_size=300))
    if draw(st.booleans()):
        i = draw(st.integers(0, len(data)))
        data = data[:i] + bt.RID_SIGNATURE + data[i:]
    return data


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 3))
        if op == 0 and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif op == 1:
            data = data[:draw(st.integers(0, len(data)))]
        elif op == 2:
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif data:
            i = draw(st.integers(0, len(data) - 1))
            del data[i:i + draw(st.integers(1, 8))]
    return bytes(data)


@pytest.mark.parametrize("linktype", sorted(bt.LINKTYPES))
@_FUZZ
@given(data=st.data())
def test_fuzz_random_bytes(linktype, data):
    _checked(linktype, data.draw(with_signature()))


@pytest.mark.parametrize("linktype", sorted(bt.LINKTYPES))
@_FUZZ
@given(data=st.data())
def test_fuzz_mutated_built_frames(linktype, data):
    _checked(linktype, data.draw(mutated(BUILT[linktype])))


@_FUZZ
@given(data=st.data())
def test_fuzz_mutated_real_frames(lr_frames, data):
    seeds = [f.data for f in lr_frames[:40]]
    _checked(272, data.draw(mutated(seeds)))


# --- interoperability with airwatch.encoders (the project's own frame builders) -------------------

def test_frames_from_project_encoders():
    enc = pytest.importorskip("airwatch.encoders.bluetooth")
    rid = pytest.importorskip("airwatch.encoders.remoteid")
    from airwatch.contact import BasicID, OperatorID, SelfID

    basic = rid.encode_basic_id(BasicID(1, 2, "1581F6N8A23B2ML3Y3KR"))
    for linktype in (251, 256):
        for flags_ad in (False, True):
            (c,) = decode(linktype, enc.bt4_frame(basic, 17, MAC, linktype=linktype, flags_ad=flags_ad,
                                                  channel=39, rssi_dbm=-66))
            assert c.transport is Transport.BT4_LEGACY and c.transmitter == MAC and c.counter == 17
            assert c.basic_ids[0].uas_id == "1581F6N8A23B2ML3Y3KR"
            if linktype == 256:
                assert (c.channel, c.rssi_dbm) == (39, -66)
        with pytest.raises(DecodeError) as info:
            decode(linktype, enc.bt4_frame(basic, 17, MAC, linktype=linktype, crc_ok=False))
        assert info.value.reason == "ble_crc_failed"
    msgs = [basic, rid.encode_self_id(SelfID(0, "interop")), rid.encode_operator_id(OperatorID(0, "OP-1"))]
    pk = rid.encode_pack(msgs)
    for phy in ("le_coded_s8", "le_coded_s2", "le_1m", "le_2m"):
        (c,) = decode(256, enc.bt5_frame(pk, 3, LR_MAC, channel=22, phy=phy, pad_slots=9))
        assert c.transport is Transport.BT5_LONG_RANGE and c.phy == phy[:8] and c.channel == 22
        assert c.self_id.description == "interop" and c.operator_id.operator_id == "OP-1"
    (c,) = decode(187, enc.hci_le_adv_report(MAC, enc.bt4_advdata(basic, 5)))
    assert c.basic_ids and c.transmitter == MAC
    (c,) = decode(201, enc.h4_with_phdr(enc.hci_le_adv_report(MAC, enc.bt4_advdata(basic, 5))))
    assert c.basic_ids
    (event,) = enc.hci_le_ext_adv_reports(LR_MAC, enc.bt5_advdata(pk, 8))
    (c,) = decode(187, event)
    assert c.phy == "le_coded" and c.operator_id.operator_id == "OP-1" and not c.anomalies
    # a 9-slot padded pack (234 bytes) is split over two events; the first holds the 3 messages
    first, second = enc.hci_le_ext_adv_reports(LR_MAC, enc.bt5_advdata(pk, 8, pad_slots=9))
    (c,) = decode(187, first)
    assert c.anomalies == ["ad_incomplete"] and c.self_id.description == "interop"
    assert decode(187, second) == []
    # a full 9-message pack cannot be decoded from its first fragment alone
    full = rid.encode_pack([basic] * 9)
    first, second = enc.hci_le_ext_adv_reports(LR_MAC, enc.bt5_advdata(full, 8))
    with pytest.raises(DecodeError) as info:
        decode(187, first)
    assert info.value.reason == "ble_ad_fragmented"
    assert decode(187, second) == []
