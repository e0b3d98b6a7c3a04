"""Bluetooth LE: Remote ID in advertising, from the four capture link types that carry it.

One public function per link type, each ``(frame, sensor_id=None) -> list[Contact]``, and
:data:`DECODERS` mapping the pcap LINKTYPE to it.  Everything is hand-parsed with int and bytes
operations (no scapy: it is far too slow for the hot path).

Layouts and their sources (see also ``../shared/reference/remote-id-wire-formats.md`` §2.11,
§2.12, §2.15):

* LINKTYPE_BLUETOOTH_LE_LL (251), tcpdump.org link-type list: access address (4, LE), PDU
  header (2), payload, CRC (3); no preamble.
* LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR (256), tcpdump.org LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR page
  and Wireshark ``packet-btle_rf.c``: RF channel u8, signal dBm s8, noise dBm s8, access
  address offenses u8, reference access address u32, flags u16 (0x0002 signal valid,
  0x0380 PDU type: 0 advertising or data, 1 auxiliary advertising, 2..6 data / isochronous,
  0x0400 CRC checked, 0x0800 CRC valid, 0xC000 PHY 0 1M / 1 2M / 2 Coded), then the 251 layout.
  On LE Coded a coding indicator byte sits between the access address and the PDU header
  (Wireshark ``packet-btle.c``; Sniffle ``python_cli/sniffle/pcap.py`` writes it).
* LINKTYPE_NORDIC_BLE (272), Wireshark ``packet-nordic_ble.c``: board id, then (header version
  >= 2) payload length u16, protocol version, packet counter u16, packet id (v3: 0x02 advertising
  PDU, 0x06 data PDU; v1/v2: 0x06 any PDU, told apart by the access address), then the event
  packet: its length (10), flags (bit 0 CRC OK, bits 4..6 PHY), channel index, RSSI (negated),
  event counter u16, timestamp u32; the link-layer packet starts at offset 17 in every header
  version (the legacy ``BE EF`` version 0 and version 1 included).  On LE Coded the coding
  indicator byte follows the access address, as above.
* LINKTYPE_BLUETOOTH_HCI_H4 (187) and LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR (201, a 4-byte
  big-endian direction word first), tcpdump.org link-type list: H4 packet indicator 0x04
  (event), event code 0x3E (LE Meta), parameter length, subevent 0x02 LE Advertising Report or
  0x0D LE Extended Advertising Report (Core spec Vol 4 Part E 7.7.65.2 / 7.7.65.13).

Remote ID is AD type 0x16 (Service Data, 16-bit UUID) with UUID 0xFFFA and application code
0x0D, then the message counter and the ODID message or pack (ASTM F3411).

Error policy: a frame that does not contain the bytes ``16 FA FF 0D`` returns ``[]`` before any
parsing beyond the capture header (the common case).  Structural damage in a frame that does
raises :class:`DecodeError`.  A CRC-failed *advertising* PDU raises ``ble_crc_failed`` whatever
it carries (its bytes cannot be trusted to say whether it was Remote ID, and the counter is what
makes the loss visible; the Wi-Fi decoder does the same with a bad FCS).  Where the capture does
not say whether the CRC was checked (251, or 256 without the "CRC checked" flag), the CRC of
advertising-channel PDUs that carry Remote ID is computed here.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

from airwatch.contact import Contact, Transport
from airwatch.decoders.errors import DecodeError
from airwatch.decoders.remoteid import decode_odid
from airwatch.frame import Frame

LINKTYPE_BLUETOOTH_HCI_H4 = 187
LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR = 201
LINKTYPE_BLUETOOTH_LE_LL = 251
LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR = 256
LINKTYPE_NORDIC_BLE = 272

#: Access address of every advertising physical channel PDU (primary and secondary channels).
ADV_ACCESS_ADDRESS = 0x8E89BED6
_ADV_AA_BYTES = ADV_ACCESS_ADDRESS.to_bytes(4, "little")

#: AD type Service Data - 16-bit UUID, UUID 0xFFFA (little-endian), application code 0x0D.
RID_SIGNATURE = b"\x16\xfa\xff\x0d"

# Legacy advertising PDU types that carry AdvA + AdvData.
_LEGACY_WITH_DATA = frozenset((0, 2, 4, 6))  # ADV_IND, ADV_NONCONN_IND, SCAN_RSP, ADV_SCAN_IND
_PDU_EXTENDED = 7  # ADV_EXT_IND, AUX_ADV_IND, AUX_SCAN_RSP, AUX_SYNC_IND, AUX_CHAIN_IND

# Common Extended Advertising Payload header fields, in order: (flag, size).
_EXT_FIELDS = ((0x01, 6), (0x02, 6), (0x04, 1), (0x08, 2), (0x10, 3), (0x20, 18), (0x40, 1))

_PHY_NAMES = {0: "le_1m", 1: "le_2m", 2: "le_coded"}  # capture headers (256, 272)
_HCI_PHY_NAMES = {1: "le_1m", 2: "le_2m", 3: "le_coded"}  # HCI Primary_PHY / Secondary_PHY

# LINKTYPE 256 flags
_PHDR_SIGNAL_VALID = 0x0002
_PHDR_CRC_CHECKED = 0x0400
_PHDR_CRC_VALID = 0x0800

_HCI_EVENT = 0x04
_HCI_LE_META = 0x3E
_LE_ADVERTISING_REPORT = 0x02
_LE_EXTENDED_ADVERTISING_REPORT = 0x0D
_HCI_RSSI_UNAVAILABLE = 127


# --- CRC-24 of the BLE link layer (polynomial 0x00065B, LSB first) ------------------------------

def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xDA6000 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC_TABLE = _crc_table()
# CRC init 0x555555 for advertising channel PDUs, bit-reversed into the LSB-first register.
_ADV_CRC_INIT = int(f"{0x555555:024b}"[::-1], 2)


def ble_crc(pdu: bytes, init: int = _ADV_CRC_INIT) -> bytes:
    """The three CRC bytes as they follow ``pdu`` (header + payload) in a capture."""
    crc = init
    table = _CRC_TABLE
    for b in pdu:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc.to_bytes(3, "little")


# --- shared pieces --------------------------------------------------------------------------------

def _rf_to_channel_index(rf: int) -> int | None:
    """RF channel (0..39, 2402 + 2k MHz) to BLE channel index, as Wireshark's btle_rf does."""
    if rf == 0:
        return 37
    if rf == 12:
        return 38
    if rf == 39:
        return 39
    if 1 <= rf <= 11:
        return rf - 1
    if 13 <= rf <= 38:
        return rf - 2
    return None


def _find_rid(data: bytes, start: int, end: int, partial_ok: bool = False) -> tuple[int, int] | None:
    """Walk the AD structures in ``data[start:end]``; the (start, end) of the Remote ID one.

    A length of 0 ends the data.  A structure that runs past ``end`` stops the walk; if it is
    the Remote ID one that is ``ble_truncated_ad`` unless ``partial_ok`` (a controller that said
    the data is incomplete), in which case what is there is returned.
    """
    i = start
    while i < end:
        n = data[i]
        if n == 0:
            return None
        j = i + 1 + n
        if j > end:
            if n >= 4 and data.startswith(RID_SIGNATURE, i + 1):
                if partial_ok and end - i >= 6:
                    return i, end
                raise DecodeError("ble_truncated_ad",
                                  f"Remote ID AD structure of {n} bytes, {end - i - 1} present")
            return None
        if n >= 4 and data[i + 1] == 0x16 and data.startswith(RID_SIGNATURE, i + 1):
            if n < 5:
                raise DecodeError("ble_truncated_ad", "Remote ID service data without a message counter")
            return i, j
        i = j
    return None


def _rid_contact(frame: Frame, sensor_id: str | None, transport: Transport, data: bytes,
                 ad: tuple[int, int], transmitter: str | None, channel: int | None,
                 phy: str | None, rssi: int | None) -> Contact:
    i, j = ad
    c = Contact(time=frame.time, transport=transport, sensor_id=sensor_id, source=frame.source,
                frame=frame.number, channel=channel, phy=phy, rssi_dbm=rssi,
                transmitter=transmitter, counter=data[i + 5], raw=data[i:j])
    body = data[i + 6:j]
    if transport is Transport.BT4_LEGACY and body and body[0] >> 4 == 0xF:
        c.anomalies.append("pack_on_bt4")
    decode_odid(body, c)
    return c


def _decode_ll(frame: Frame, sensor_id: str | None, data: bytes, off: int, coded: bool,
               crc_ok: bool | None, channel: int | None, phy: str | None,
               rssi: int | None) -> list[Contact]:
    """A link-layer packet at ``off`` (access address first) that is known to be advertising.

    The caller has checked that ``data`` contains the Remote ID signature.  ``crc_ok`` is
    ``None`` where the capture does not say; the CRC is then computed for advertising-channel
    access addresses.
    """
    n = len(data)
    aa_end = off + 4
    hdr = aa_end + 1 if coded else aa_end
    if hdr + 2 > n:
        raise DecodeError("ble_truncated", f"{n} bytes, no room for the PDU header")
    h0 = data[hdr]
    length = data[hdr + 1]
    payload = hdr + 2
    pend = payload + length
    if pend + 3 > n:
        raise DecodeError("ble_truncated", f"PDU of {length} bytes + CRC, {n - payload} present")
    if crc_ok is None and data[off:aa_end] == _ADV_AA_BYTES:
        if ble_crc(data[hdr:pend]) != data[pend:pend + 3]:
            raise DecodeError("ble_crc_failed", "computed CRC does not match")
    pdu_type = h0 & 0x0F
    if pdu_type in _LEGACY_WITH_DATA:
        if length < 6:
            raise DecodeError("ble_truncated", f"legacy PDU of {length} bytes, AdvA needs 6")
        ad = _find_rid(data, payload + 6, pend)
        if ad is None:
            return []
        mac = data[payload:payload + 6][::-1].hex(":")
        # legacy advertising PDUs exist only on LE 1M
        return [_rid_contact(frame, sensor_id, Transport.BT4_LEGACY, data, ad, mac, channel,
                             phy or "le_1m", rssi)]
    if pdu_type != _PDU_EXTENDED:
        return []
    if length < 1:
        raise DecodeError("ble_truncated", "extended PDU without its header byte")
    hl = data[payload] & 0x3F
    hend = payload + 1 + hl
    if hend > pend:
        raise DecodeError("ble_bad_ext_header", f"extended header of {hl} bytes, PDU payload {length}")
    mac = None
    if hl:
        flags = data[payload + 1]
        q = payload + 2
        for bit, size in _EXT_FIELDS:
            if flags & bit:
                if bit == 0x01:
                    mac = data[q:q + 6][::-1].hex(":")
                q += size
        if q > hend:
            raise DecodeError("ble_bad_ext_header",
                              f"extended header fields need {q - payload - 1} bytes, header length {hl}")
    ad = _find_rid(data, hend, pend)
    if ad is None:
        return []
    return [_rid_contact(frame, sensor_id, Transport.BT5_LONG_RANGE, data, ad, mac, channel, phy, rssi)]


# --- LINKTYPE_BLUETOOTH_LE_LL (251) ---------------------------------------------------------------

def decode_le_ll(frame: Frame, sensor_id: str | None = None) -> list[Contact]:
    """LINKTYPE 251: a bare link-layer packet.  No channel, PHY or RSSI in the capture."""
    data = frame.data
    if RID_SIGNATURE not in data or not data.startswith(_ADV_AA_BYTES):
        return []
    return _decode_ll(frame, sensor_id, data, 0, False, None, None, None, None)


# --- LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR (256) -----------------------------------------------------

def decode_le_ll_phdr(frame: Frame, sensor_id: str | None = None) -> list[Contact]:
    """LINKTYPE 256: a 10-byte pseudo-header (channel, signal, flags) then the 251 layout."""
    data = frame.data
    if len(data) < 14:
        return []
    flags = data[8] | data[9] << 8
    kind = (flags >> 7) & 7
    # 0: advertising or data, told apart by the access address; 1: auxiliary advertising (an
    # AUX_SYNC_IND has its own access address); 2..7: data, isochronous, reserved.
    if kind > 1 or (kind == 0 and not data.startswith(_ADV_AA_BYTES, 10)):
        return []
    crc_ok: bool | None = None
    if flags & _PHDR_CRC_CHECKED:
        if not flags & _PHDR_CRC_VALID:
            raise DecodeError("ble_crc_failed", "capture says the CRC failed")
        crc_ok = True
    if RID_SIGNATURE not in data:
        return []
    phy_code = flags >> 14
    rssi = None
    if flags & _PHDR_SIGNAL_VALID:
        rssi = data[1] - 256 if data[1] > 127 else data[1]
    return _decode_ll(frame, sensor_id, data, 10, phy_code == 2, crc_ok, _rf_to_channel_index(data[0]),
                      _PHY_NAMES.get(phy_code), rssi)


# --- LINKTYPE_NORDIC_BLE (272) --------------------------------------------------------------------

_NORDIC_LL = 17  # offset of the access address in every header version


def decode_nordic_ble(frame: Frame, sensor_id: str | None = None) -> list[Contact]:
    """LINKTYPE 272: nRF Sniffer for Bluetooth LE (board id, UART header, event packet, LL packet)."""
    data = frame.data
    n = len(data)
    if n < _NORDIC_LL + 4:
        return []
    if data[0] == 0xBE and data[1] == 0xEF:  # legacy header (version 0)
        version = 0
        packet_id = data[2]
        total = 8 + data[7]
    else:
        version = data[3]
        packet_id = data[6]
        total = 7 + (data[1] | data[2] << 8) if version >= 2 else 1 + data[1] + data[2]
    if version >= 3:
        if packet_id != 0x02:  # 0x06 is a data channel PDU, the rest are not packets
            return []
    elif packet_id != 0x06 or not data.startswith(_ADV_AA_BYTES, _NORDIC_LL):
        return []
    flags = data[8]
    if not flags & 0x01:
        raise DecodeError("ble_crc_failed", "nRF Sniffer says the CRC failed")
    if RID_SIGNATURE not in data:
        return []
    if total != n:
        raise DecodeError("ble_bad_length", f"nRF Sniffer header says {total} bytes, frame has {n}")
    phy_code = (flags >> 4) & 7
    return _decode_ll(frame, sensor_id, data, _NORDIC_LL, phy_code == 2, True, data[9],
                      _PHY_NAMES.get(phy_code), -data[10])


# --- LINKTYPE_BLUETOOTH_HCI_H4 (187) and _WITH_PHDR (201) -----------------------------------------

# A report: (transport, address type, address offset, phy, rssi, data start, data end,
# data status (0 complete, 1 incomplete with more to come, 2 incomplete and truncated),
# advertising SID (0xFF: none, as in legacy reports)).
_Report = tuple[Transport, int, int, "str | None", int, int, int, int, int]


def decode_hci_h4(frame: Frame, sensor_id: str | None = None) -> list[Contact]:
    """LINKTYPE 187: H4 packet indicator then an HCI packet; LE advertising reports only.

    Stateless: a report the controller split over several events is decoded from what each
    part holds.  :class:`HciReassembler` (what :class:`~airwatch.decoders.frames.FrameDecoder`
    uses) joins the parts first.
    """
    data = frame.data
    if RID_SIGNATURE not in data:
        return []
    return _decode_hci(frame, sensor_id, data, 0)


def decode_hci_h4_phdr(frame: Frame, sensor_id: str | None = None) -> list[Contact]:
    """LINKTYPE 201: a 4-byte direction word, then as 187 (events only flow controller to host)."""
    data = frame.data
    if RID_SIGNATURE not in data:
        return []
    return _decode_hci(frame, sensor_id, data, 4)


def _decode_hci(frame: Frame, sensor_id: str | None, data: bytes, off: int) -> list[Contact]:
    reports = _hci_reports(data, off)
    if not reports:
        return []
    return _report_contacts(frame, sensor_id, data, reports)


def _hci_reports(data: bytes, off: int) -> list[_Report]:
    """The reports of an LE (Extended) Advertising Report event at ``off``; [] for other packets."""
    n = len(data)
    if off + 4 > n or data[off] != _HCI_EVENT or data[off + 1] != _HCI_LE_META:
        return []
    start = off + 3
    end = start + data[off + 2]
    if end > n:
        raise DecodeError("ble_truncated", f"HCI event of {end - start} parameter bytes, {n - start} present")
    sub = data[start]
    if sub == _LE_ADVERTISING_REPORT:
        return _legacy_reports(data, start + 1, end)
    if sub == _LE_EXTENDED_ADVERTISING_REPORT:
        return _extended_reports(data, start + 1, end)
    return []


def _report_contacts(frame: Frame, sensor_id: str | None, data: bytes, reports: list[_Report]) -> list[Contact]:
    contacts = []
    for transport, addr_type, addr, phy, rssi, d0, d1, status, _sid in reports:
        partial = status != 0
        ad = _find_rid(data, d0, d1, partial)
        if ad is None:
            continue
        mac = None if addr_type == 0xFF else data[addr:addr + 6][::-1].hex(":")
        rssi_dbm = None if rssi == _HCI_RSSI_UNAVAILABLE else rssi
        if partial and ad[1] - ad[0] < data[ad[0]] + 1:
            # The controller split the AD over several events (at most 229 data bytes fit in
            # one) and this is one part of it: decode what the part holds.
            try:
                c = _rid_contact(frame, sensor_id, transport, data, ad, mac, None, phy, rssi_dbm)
            except DecodeError as e:
                if e.reason.startswith("odid_truncated"):
                    raise DecodeError("ble_ad_fragmented",
                                      f"Remote ID data continues in a later event: {e}") from e
                raise
            c.anomalies.append("ad_incomplete")
        else:
            c = _rid_contact(frame, sensor_id, transport, data, ad, mac, None, phy, rssi_dbm)
        contacts.append(c)
    return contacts


#: Longest advertising data one advertiser's chain may carry (Core spec, Vol 6 Part B 2.3.4.9).
EXT_ADV_DATA_MAX = 1650
#: Advertisers whose split report may wait for its next part at once.
HCI_PENDING_MAX = 64
#: Seconds a split report waits for its next part (the parts of a chain come milliseconds apart).
HCI_PENDING_MAX_AGE = 1.0
_DATA_STATUS_MORE = 1  # Data_Status 0b01: incomplete, more data to come


class _Held:
    __slots__ = ("time", "parts", "size")

    def __init__(self, time: float) -> None:
        self.time = time
        self.parts: list[bytes] = []
        self.size = 0


class HciReassembler:
    """Joins LE Extended Advertising Reports that a controller split over several HCI events.

    A controller passes at most 229 data bytes in one report: longer advertising data (a BT5
    message pack padded to 9 slots is 234 bytes, and an AUX chain may carry up to 1650) comes as
    reports with data status "incomplete, more data to come" followed by a last one with
    "complete" or "incomplete, truncated" (the controller lost the rest of the chain).  The
    parts are keyed by advertiser address type, address and advertising SID: every part but the
    last is held and yields nothing; the last one yields the contacts of the whole data, with
    the last part's RSSI and PHY.  A truncated whole is decoded as a partial report
    (``ad_incomplete``), as the stateless decoders do.

    State is bounded: at most ``max_pending`` advertisers, ``max_age`` seconds (frame time)
    between two parts, :data:`EXT_ADV_DATA_MAX` bytes each.  A sequence dropped unfinished
    (its next part never came, it was pushed out, or it grew too long) is counted in
    ``counters["ble_ad_fragment_orphaned"]``.  Pure bytes: no I/O.
    """

    ORPHANED = "ble_ad_fragment_orphaned"

    def __init__(self, counters: Counter[str] | None = None, max_pending: int = HCI_PENDING_MAX,
                 max_age: float = HCI_PENDING_MAX_AGE) -> None:
        self.counters: Counter[str] = Counter() if counters is None else counters
        self.max_pending = max_pending
        self.max_age = max_age
        self._pending: OrderedDict[bytes, _Held] = OrderedDict()

    @property
    def pending(self) -> int:
        """Advertisers whose split report waits for its next part."""
        return len(self._pending)

    def decode_h4(self, frame: Frame, sensor_id: str | None = None) -> list[Contact]:
        """As :func:`decode_hci_h4`, with split reports joined."""
        return self._decode(frame, sensor_id, 0)

    def decode_h4_phdr(self, frame: Frame, sensor_id: str | None = None) -> list[Contact]:
        """As :func:`decode_hci_h4_phdr`, with split reports joined."""
        return self._decode(frame, sensor_id, 4)

    def _decode(self, frame: Frame, sensor_id: str | None, off: int) -> list[Contact]:
        data = frame.data
        if self._pending:
            self._expire(frame.time)
        if (len(data) < off + 4 or data[off] != _HCI_EVENT or data[off + 1] != _HCI_LE_META
                or data[off + 3] != _LE_EXTENDED_ADVERTISING_REPORT):
            return _decode_hci(frame, sensor_id, data, off) if RID_SIGNATURE in data else []
        try:
            reports = _hci_reports(data, off)
        except DecodeError:
            if RID_SIGNATURE in data:
                raise
            return []  # as the stateless decoder: damage in a frame without Remote ID is not counted
        pending = self._pending
        items: list[tuple[bytes, _Report]] = []
        for r in reports:
            addr, status, d0, d1 = r[2], r[7], r[5], r[6]
            key = data[addr:addr + 6] + bytes((r[1], r[8]))
            held = pending.pop(key, None)
            if held is None and status != _DATA_STATUS_MORE:
                if RID_SIGNATURE in data:
                    items.append((data, r))
                continue
            if held is None:
                held = _Held(frame.time)
            held.parts.append(data[d0:d1])
            held.size += d1 - d0
            if held.size > EXT_ADV_DATA_MAX:
                self.counters[self.ORPHANED] += 1
                continue
            if status == _DATA_STATUS_MORE:
                held.time = frame.time
                pending[key] = held
                continue
            whole = data[addr:addr + 6] + b"".join(held.parts)
            items.append((whole, (r[0], r[1], 0, r[3], r[4], 6, len(whole), status, r[8])))
        while len(pending) > self.max_pending:
            pending.popitem(last=False)
            self.counters[self.ORPHANED] += 1
        contacts: list[Contact] = []
        for buf, r in items:
            contacts.extend(_report_contacts(frame, sensor_id, buf, [r]))
        return contacts

    def _expire(self, now: float) -> None:
        pending = self._pending
        while pending:
            key = next(iter(pending))
            if now - pending[key].time <= self.max_age:
                return
            del pending[key]
            self.counters[self.ORPHANED] += 1



def _s8(b: int) -> int:
    return b - 256 if b > 127 else b


def _legacy_reports(data: bytes, p: int, end: int) -> list[_Report]:
    """LE Advertising Report (subevent 0x02) parameters after the subevent code.

    The Core spec lays the arrays out field by field (all Event_Type, then all Address_Type,
    ...); Linux, BlueZ, Wireshark and scapy read one report after the other.  With one report
    the two agree.  With more, the layout whose lengths account exactly for the parameters (and
    whose types are in range) is taken, the Core spec's first.
    """
    if p >= end:
        raise DecodeError("hci_bad_reports", "no Num_Reports")
    num = data[p]
    if num == 0:
        return []
    return _by_field_legacy(data, p + 1, end, num) or _interleaved_legacy(data, p + 1, end, num) or _bad(num)


def _bad(num: int) -> list[_Report]:
    raise DecodeError("hci_bad_reports", f"{num} reports do not fit the event parameters")


def _by_field_legacy(data: bytes, p: int, end: int, num: int) -> list[_Report] | None:
    lens = p + 8 * num
    dstart = lens + num
    if dstart > end:
        return None
    total = sum(data[lens:dstart])
    if dstart + total + num != end:
        return None
    if any(t > 4 for t in data[p:p + num]) or any(t > 3 for t in data[p + num:p + 2 * num]):
        return None
    reports = []
    d0 = dstart
    for k in range(num):
        d1 = d0 + data[lens + k]
        reports.append((Transport.BT4_LEGACY, data[p + num + k], p + 2 * num + 6 * k, "le_1m",
                        _s8(data[dstart + total + k]), d0, d1, 0, 0xFF))
        d0 = d1
    return reports


def _interleaved_legacy(data: bytes, p: int, end: int, num: int) -> list[_Report] | None:
    reports = []
    for _ in range(num):
        if p + 9 > end:
            return None
        ev, at = data[p], data[p + 1]
        if ev > 4 or at > 3:
            return None
        d0 = p + 9
        d1 = d0 + data[p + 8]
        if d1 + 1 > end:
            return None
        reports.append((Transport.BT4_LEGACY, at, p + 2, "le_1m", _s8(data[d1]), d0, d1, 0, 0xFF))
        p = d1 + 1
    return reports if p == end else None


# LE Extended Advertising Report, per report: Event_Type u16, Address_Type, Address(6),
# Primary_PHY, Secondary_PHY, Advertising_SID, TX_Power, RSSI, Periodic_Advertising_Interval u16,
# Direct_Address_Type, Direct_Address(6), Data_Length, Data.
_EXT_FIXED = 24


def _extended_reports(data: bytes, p: int, end: int) -> list[_Report]:
    """LE Extended Advertising Report (subevent 0x0D), same two layouts as the legacy one."""
    if p >= end:
        raise DecodeError("hci_bad_reports", "no Num_Reports")
    num = data[p]
    if num == 0:
        return []
    return _by_field_ext(data, p + 1, end, num) or _interleaved_ext(data, p + 1, end, num) or _bad(num)


def _ext_report(ev: int, at: int, addr: int, pphy: int, sphy: int, sid: int, rssi: int, d0: int,
                d1: int) -> _Report | None:
    if (at > 3 and at != 0xFF) or pphy not in (1, 3) or sphy > 3:
        return None
    legacy = ev & 0x10
    status = (ev >> 5) & 3
    phy = _HCI_PHY_NAMES.get(sphy or pphy)
    return (Transport.BT4_LEGACY if legacy else Transport.BT5_LONG_RANGE, at, addr, phy, _s8(rssi),
            d0, d1, status, sid)


def _by_field_ext(data: bytes, p: int, end: int, num: int) -> list[_Report] | None:
    lens = p + (_EXT_FIXED - 1) * num
    dstart = lens + num
    if dstart > end:
        return None
    if dstart + sum(data[lens:dstart]) != end:
        return None
    at0 = p + 2 * num
    addr0 = at0 + num
    pphy0 = addr0 + 6 * num
    sphy0 = pphy0 + num
    sid0 = sphy0 + num
    rssi0 = sphy0 + 3 * num  # after Secondary_PHY, Advertising_SID, TX_Power
    reports = []
    d0 = dstart
    for k in range(num):
        d1 = d0 + data[lens + k]
        r = _ext_report(data[p + 2 * k] | data[p + 2 * k + 1] << 8, data[at0 + k], addr0 + 6 * k,
                        data[pphy0 + k], data[sphy0 + k], data[sid0 + k], data[rssi0 + k], d0, d1)
        if r is None:
            return None
        reports.append(r)
        d0 = d1
    return reports


def _interleaved_ext(data: bytes, p: int, end: int, num: int) -> list[_Report] | None:
    reports = []
    for _ in range(num):
        if p + _EXT_FIXED > end:
            return None
        d0 = p + _EXT_FIXED
        d1 = d0 + data[p + 23]
        if d1 > end:
            return None
        r = _ext_report(data[p] | data[p + 1] << 8, data[p + 2], p + 3, data[p + 9], data[p + 10],
                        data[p + 11], data[p + 13], d0, d1)
        if r is None:
            return None
        reports.append(r)
        p = d1
    return reports if p == end else None


DECODERS = {
    LINKTYPE_BLUETOOTH_LE_LL: decode_le_ll,
    LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR: decode_le_ll_phdr,
    LINKTYPE_NORDIC_BLE: decode_nordic_ble,
    LINKTYPE_BLUETOOTH_HCI_H4: decode_hci_h4,
    LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR: decode_hci_h4_phdr,
}
LINKTYPES = frozenset(DECODERS)

__all__ = [
    "ADV_ACCESS_ADDRESS",
    "DECODERS",
    "EXT_ADV_DATA_MAX",
    "HciReassembler",
    "LINKTYPES",
    "RID_SIGNATURE",
    "ble_crc",
    "decode_hci_h4",
    "decode_hci_h4_phdr",
    "decode_le_ll",
    "decode_le_ll_phdr",
    "decode_nordic_ble",
]
