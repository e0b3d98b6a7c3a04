"""Wi-Fi frames to contacts: radiotap, 802.11 management frames, their elements, NaN.

Remote ID reaches a Wi-Fi receiver three ways, all handled here by a plain walk over the bytes
(scapy's dissection reads about 1,400 frames/s; this walk, hundreds of thousands):

* a beacon (or probe response) vendor-specific element, OUI FA:0B:BC type 0x0D (ASTM F3411 /
  EN 4709-002), or the pre-standard OUI 90:3A:E6 type 0x0D (tagged ``legacy_oui``);
* a NaN service discovery frame: a public action frame, Wi-Fi Alliance OUI type 0x13, whose
  Service Descriptor Attribute carries the Remote ID service ID;
* DJI DroneID (OUI 26:37:12) and the French beacon (OUI 6A:5C:35) in beacon elements.

Every vendor element of a frame is looked at, not only the first (Parrot beacons carry other
vendor elements first), and the frame-control flags byte is ignored when matching frame types.
A frame that carries none of these costs one ``bytes.find`` per OUI after the header checks.
"""

from __future__ import annotations

import struct

from airwatch.contact import Contact, Transport
from airwatch.decoders import dji, french
from airwatch.decoders.errors import DecodeError
from airwatch.decoders.remoteid import decode_odid
from airwatch.decoders.signatures import SignatureMatcher
from airwatch.frame import Frame

LINKTYPE_IEEE802_11 = 105
LINKTYPE_IEEE802_11_RADIOTAP = 127

ODID_OUI = b"\xfa\x0b\xbc"
LEGACY_OUI = b"\x90\x3a\xe6"  # Parrot, before ASD-STAN had its own
ODID_OUI_TYPE = 0x0D
WFA_OUI = b"\x50\x6f\x9a"
NAN_OUI_TYPE = 0x13
NAN_SERVICE_DESCRIPTOR = 0x03
#: First six bytes of SHA-256("org.opendroneid.remoteid").
NAN_SERVICE_ID = bytes.fromhex("8869199d9209")

# Frame-control byte 0 (type and subtype; byte 1 holds flags and is not matched).
FC_PROBE_REQUEST = 0x40
FC_PROBE_RESPONSE = 0x50
FC_BEACON = 0x80
FC_ACTION = 0xD0
FC_ACTION_NO_ACK = 0xE0
MGMT_HEADER = 24
FIXED_FIELDS = {FC_BEACON: 12, FC_PROBE_RESPONSE: 12, FC_PROBE_REQUEST: 0}

# Radiotap fields up to the antenna signal: (bit, alignment, size).
_RADIOTAP_FIELDS = ((0, 8, 8), (1, 1, 1), (2, 1, 1), (3, 2, 4), (4, 1, 2), (5, 1, 1))
RADIOTAP_FLAG_FCS = 0x10
RADIOTAP_FLAG_BAD_FCS = 0x40
CHANNEL_CCK = 0x0020
CHANNEL_OFDM = 0x0040
_U16 = struct.Struct("<H")
_CHANNEL = struct.Struct("<HH")


def frequency_mhz(channel: int) -> int | None:
    """Centre frequency of a 2.4 GHz or 5 GHz channel number; None for other numbers."""
    if channel == 14:
        return 2484
    if 1 <= channel <= 13:
        return 2407 + 5 * channel
    if 32 <= channel <= 177:
        return 5000 + 5 * channel
    return None


def channel_from_freq(freq: int) -> int | None:
    if 2412 <= freq <= 2472:
        return (freq - 2407) // 5
    if freq == 2484:
        return 14
    if 5150 <= freq <= 5895:
        return (freq - 5000) // 5
    if 5955 <= freq <= 7115:
        return (freq - 5950) // 5
    return None


class _Radiotap:
    """Offsets of the fields airwatch reads, for one layout of radiotap ``present`` words."""

    __slots__ = ("flags", "channel", "signal")

    def __init__(self, present: int, start: int) -> None:
        self.flags = self.channel = self.signal = -1
        off = start
        for bit, align, size in _RADIOTAP_FIELDS:
            if present & (1 << bit):
                off = (off + align - 1) & ~(align - 1)
                if bit == 1:
                    self.flags = off
                elif bit == 3:
                    self.channel = off
                elif bit == 5:
                    self.signal = off
                off += size


_layouts: dict[bytes, _Radiotap] = {}


def _radiotap_layout(data: bytes, length: int) -> _Radiotap:
    # The present words run while bit 31 is set; the fields follow them.
    end = 8
    while end <= length and data[end - 1] & 0x80:
        end += 4
    if end > length:
        raise DecodeError("radiotap_truncated", "present words run past the header")
    key = data[4:end]
    layout = _layouts.get(key)
    if layout is None:
        layout = _Radiotap(int.from_bytes(data[4:8], "little"), end)
        if len(_layouts) < 256:  # a hostile stream of layouts must not grow the cache
            _layouts[key] = layout
    return layout


def decode_radiotap(frame: Frame, sensor_id: str | None = None,
                    signatures: SignatureMatcher | None = None) -> list[Contact]:
    """LINKTYPE 127: a radiotap header then an 802.11 frame.

    With ``signatures``, beacons and probe responses carrying no drone element are also matched
    against the drone Wi-Fi signature rules (a ``wifi_signature`` contact when one matches).
    """
    data = frame.data
    n = len(data)
    if n < 8:
        raise DecodeError("radiotap_truncated", f"{n} bytes")
    length = _U16.unpack_from(data, 2)[0]
    if length < 8 or length > n:
        raise DecodeError("radiotap_truncated", f"header length {length}, frame {n} bytes")
    if length + MGMT_HEADER > n:
        return []
    fc = data[length]
    signature = None
    if fc in FIXED_FIELDS:
        if not _has_drone_oui(data, length + MGMT_HEADER, n):
            # the common case: ordinary beacons and probes stop here
            if signatures is None or fc == FC_PROBE_REQUEST:
                return []
            signature = _signature(data, length, n, signatures)
            if signature is None:
                return []
    elif fc == FC_ACTION or fc == FC_ACTION_NO_ACK:
        if data.find(b"\x04\x09\x50\x6f\x9a\x13", length + MGMT_HEADER, length + MGMT_HEADER + 10) < 0:
            return []
    else:
        return []
    layout = _radiotap_layout(data, length)
    end = n
    if layout.flags >= 0 and layout.flags < length:
        flags = data[layout.flags]
        if flags & RADIOTAP_FLAG_BAD_FCS:
            raise DecodeError("wifi_bad_fcs", "radiotap says the frame check sequence failed")
        if flags & RADIOTAP_FLAG_FCS:
            end -= 4
    freq = channel = rssi = None
    phy = None
    if 0 <= layout.channel <= length - 4:
        freq, chflags = _CHANNEL.unpack_from(data, layout.channel)
        channel = channel_from_freq(freq)
        phy = "ofdm" if chflags & CHANNEL_OFDM else "cck" if chflags & CHANNEL_CCK else None
    if 0 <= layout.signal < length:
        rssi = data[layout.signal]
        if rssi > 127:
            rssi -= 256
    if signature is not None:
        contacts = [signature]
        signature.time, signature.sensor_id, signature.source, signature.frame = (
            frame.time, sensor_id, frame.source, frame.number)
    else:
        contacts = _decode_80211(data, length, end, frame, sensor_id, oui_checked=True)
    for c in contacts:
        c.freq_mhz = freq
        c.channel = channel if channel is not None else c.channel
        c.rssi_dbm = rssi
        c.phy = phy
    return contacts


def _signature(data: bytes, start: int, end: int, signatures: SignatureMatcher) -> Contact | None:
    """A ``wifi_signature`` contact if this beacon / probe response matches a drone signature rule."""
    mac = data[start + 10:start + 16]
    ies = start + MGMT_HEADER + (4 if data[start + 1] & 0x80 else 0) + 12
    ssid = b""
    if ies + 2 <= end and data[ies] == 0:
        ssid = data[ies + 2:min(ies + 2 + data[ies + 1], end)]
    if not signatures.could_match(mac, ssid):
        return None
    text = ssid.decode("utf-8", "replace")
    address = mac.hex(":")
    rule = signatures.match(address, text)
    if rule is None:
        return None
    return Contact(time=0.0, transport=Transport.WIFI_SIGNATURE, transmitter=address, ssid=text,
                   signature=rule.id)


def decode_80211(frame: Frame, sensor_id: str | None = None) -> list[Contact]:
    """LINKTYPE 105: a bare 802.11 frame (no FCS)."""
    return _decode_80211(frame.data, 0, len(frame.data), frame, sensor_id)


def _has_drone_oui(data: bytes, start: int, end: int) -> bool:
    return (data.find(ODID_OUI, start, end) >= 0 or data.find(LEGACY_OUI, start, end) >= 0
            or data.find(dji.OUI, start, end) >= 0 or data.find(french.OUI, start, end) >= 0)


def _decode_80211(data: bytes, start: int, end: int, frame: Frame, sensor_id: str | None,
                  oui_checked: bool = False) -> list[Contact]:
    if end - start < MGMT_HEADER:
        return []
    fc = data[start]
    header = MGMT_HEADER + (4 if data[start + 1] & 0x80 else 0)  # +HT Control when Order is set
    fixed = FIXED_FIELDS.get(fc)
    if fixed is not None:
        ies = start + header + fixed
        if not oui_checked and not _has_drone_oui(data, ies, end):
            return []
        return _decode_elements(data, ies, end, frame, sensor_id, _mac(data, start + 10))
    if fc == FC_ACTION or fc == FC_ACTION_NO_ACK:
        body = start + header
        # public action (4), vendor specific (9), Wi-Fi Alliance OUI, NaN
        if data[body:body + 6] == b"\x04\x09\x50\x6f\x9a\x13":
            return _decode_nan(data, body + 6, end, frame, sensor_id, _mac(data, start + 10))
    return []


def _mac(data: bytes, off: int) -> str:
    return data[off:off + 6].hex(":")


def _new_contact(frame: Frame, transport: Transport, sensor_id: str | None, mac: str) -> Contact:
    return Contact(time=frame.time, transport=transport, sensor_id=sensor_id, source=frame.source,
                   frame=frame.number, transmitter=mac)


def _decode_elements(data: bytes, off: int, end: int, frame: Frame, sensor_id: str | None,
                     mac: str) -> list[Contact]:
    contacts: list[Contact] = []
    ssid = None
    channel = None
    while off + 2 <= end:
        eid = data[off]
        length = data[off + 1]
        body_start = off + 2
        off = body_start + length
        if off > end:
            if eid == 221 and _has_drone_oui(data, body_start, end):
                raise DecodeError("wifi_truncated_element",
                                  f"vendor element of {length} bytes, {end - body_start} present")
            break
        if eid == 221 and length >= 4:
            oui = data[body_start:body_start + 3]
            kind = data[body_start + 3]
            if (oui == ODID_OUI or oui == LEGACY_OUI) and kind == ODID_OUI_TYPE:
                if length < 5:
                    raise DecodeError("odid_truncated", "vendor element without a message counter")
                c = _new_contact(frame, Transport.WIFI_BEACON, sensor_id, mac)
                c.legacy_oui = oui == LEGACY_OUI
                c.counter = data[body_start + 4]
                c.raw = data[body_start:off]
                decode_odid(data[body_start + 5:off], c)
                contacts.append(c)
            elif oui == dji.OUI:
                c = _new_contact(frame, Transport.DJI_DRONEID, sensor_id, mac)
                c.raw = data[body_start:off]
                dji.decode_dji(c.raw, c)
                contacts.append(c)
            elif oui == french.OUI and kind == french.OUI_TYPE:
                c = _new_contact(frame, Transport.FRENCH_BEACON, sensor_id, mac)
                c.raw = data[body_start:off]
                french.decode_french(c.raw, c)
                contacts.append(c)
        elif eid == 0:
            ssid = data[body_start:off].decode("utf-8", "replace")
        elif eid == 3 and length == 1:
            channel = data[body_start]
    for c in contacts:
        c.ssid = ssid
        c.channel = channel
    return contacts


def _decode_nan(data: bytes, off: int, end: int, frame: Frame, sensor_id: str | None,
                mac: str) -> list[Contact]:
    """NaN attributes: ``[id u8][length u16 LE][body]``; Remote ID is in a Service Descriptor."""
    contacts: list[Contact] = []
    while off + 3 <= end:
        attr = data[off]
        length = data[off + 1] | data[off + 2] << 8
        body = off + 3
        off = body + length
        if off > end:
            if attr == NAN_SERVICE_DESCRIPTOR and data[body:body + 6] == NAN_SERVICE_ID:
                raise DecodeError("nan_truncated", f"service descriptor of {length} bytes, {end - body} present")
            break
        if attr != NAN_SERVICE_DESCRIPTOR or length < 9 or data[body:body + 6] != NAN_SERVICE_ID:
            continue
        # service ID (6), instance ID, requestor instance ID, service control
        control = data[body + 8]
        p = body + 9
        if control & 0x40:  # binding bitmap
            p += 2
        if control & 0x04:  # matching filter
            p += 1 + (data[p] if p < off else 0)
        if control & 0x08:  # service response filter
            p += 1 + (data[p] if p < off else 0)
        if not control & 0x10 or p >= off:
            raise DecodeError("nan_no_service_info", "Remote ID service descriptor without service info")
        info_len = data[p]
        info = data[p + 1:min(p + 1 + info_len, off)]
        if len(info) < info_len or info_len < 1:
            raise DecodeError("nan_truncated", f"service info of {info_len} bytes, {len(info)} present")
        c = _new_contact(frame, Transport.WIFI_NAN, sensor_id, mac)
        c.counter = info[0]
        c.raw = info
        decode_odid(info[1:], c)
        contacts.append(c)
    return contacts
