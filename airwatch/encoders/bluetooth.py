"""Bluetooth LE frames carrying Remote ID, as sniffers and HCI logs record them.

* Link-layer packets: LINKTYPE 251 (``BLUETOOTH_LE_LL``: access address, PDU, CRC) and 256
  (``BLUETOOTH_LE_LL_WITH_PHDR``: a 10-byte little-endian pseudo-header first).
* HCI: LE (Extended) Advertising Report events as H4 packets, LINKTYPE 187 (plain H4) or 201
  (H4 with a 4-byte big-endian direction word: 1 = received by the host from the controller,
  0 = sent; Wireshark's wiretap ``LIBPCAP_BT_PHDR_RECV``/``SENT``).

Formats: ``../shared/reference/remote-id-wire-formats.md`` §2.11 (BT4) and §2.12 (BT5).  The
LINKTYPE 256 flags and RF channel numbering follow the tcpdump LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR
page and Sniffle's writer (coded PHY adds the 1-byte coding indicator after the access address).
Device addresses are written ``"e0:7d:ea:eb:2f:1c"`` (most significant byte first) or 6 bytes in
that order; on air and in HCI they are little-endian, so they are reversed here.
"""

from __future__ import annotations

import struct

LINKTYPE_BLUETOOTH_HCI_H4 = 187
LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR = 201
LINKTYPE_BLUETOOTH_LE_LL = 251
LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR = 256

ADV_ACCESS_ADDRESS = 0x8E89BED6
ADV_CRC_INIT = 0x555555

# Advertising PDU types (header bits 3..0).
ADV_NONCONN_IND = 0x2
ADV_EXT_IND = 0x7  # also AUX_ADV_IND, AUX_CHAIN_IND, ... on the secondary channel
HEADER_CHSEL, HEADER_TXADD = 0x20, 0x40

# ASTM Remote ID service data AD: type 0x16 (Service Data - 16-bit UUID), UUID 0xFFFA, app code 0x0D.
AD_FLAGS = 0x01
AD_SERVICE_DATA_16 = 0x16
ASTM_UUID = 0xFFFA
ODID_APP_CODE = 0x0D
ODID_AD_HEADER = struct.Struct("<BBHBB")  # AD length, AD type, UUID, application code, counter
MESSAGE_SIZE = 25

# Extended advertising common payload: ext header length | AdvMode << 6, ext header flags.
EXT_FLAG_ADVA, EXT_FLAG_ADI = 0x01, 0x08

# LINKTYPE 256 pseudo-header: RF channel, signal dBm, noise dBm, AA offenses, reference AA, flags.
PHDR = struct.Struct("<BbbBIH")
PHDR_DEWHITENED = 0x0001
PHDR_SIGNAL_VALID = 0x0002
PHDR_NOISE_VALID = 0x0004
PHDR_REF_AA_VALID = 0x0010
PHDR_CRC_CHECKED = 0x0400
PHDR_CRC_VALID = 0x0800
PHDR_PDU_SHIFT = 7  # bits 9..7: 0 advertising, 1 auxiliary advertising, 2/3 data
PHDR_AUX_SHIFT = 12  # bits 13..12 for auxiliary advertising: 0 AUX_ADV_IND, 1 AUX_CHAIN_IND, ...
PHDR_PHY_SHIFT = 14  # bits 15..14: 0 LE 1M, 1 LE 2M, 2 LE Coded
PHY_CODES = {"le_1m": 0, "le_2m": 1, "le_coded": 2, "le_coded_s8": 2, "le_coded_s2": 2}
CODING_INDICATOR = {"le_coded": 0, "le_coded_s8": 0, "le_coded_s2": 1}

# HCI (Core spec Vol 4 Part E 7.7.65): H4 packet type 4 = event, 0x3E = LE Meta event.
H4_EVENT = 0x04
HCI_LE_META = 0x3E
LE_ADVERTISING_REPORT = 0x02
LE_EXTENDED_ADVERTISING_REPORT = 0x0D
LEGACY_REPORT = struct.Struct("<BBBB6sB")  # subevent, num reports, event type, address type, address, data length
EXT_REPORT = struct.Struct("<BBHB6sBBBbbHB6sB")
# subevent, num reports, event type, address type, address, primary PHY, secondary PHY, SID,
# TX power, RSSI, periodic advertising interval, direct address type, direct address, data length
EXT_REPORT_DATA_MAX = 255 - EXT_REPORT.size
EXT_EVENT_INCOMPLETE_MORE = 0x0020  # data status 01: incomplete, more data to come
HCI_PHY = {"le_1m": 1, "le_2m": 2, "le_coded": 3, "le_coded_s8": 3, "le_coded_s2": 3}
LEGACY_EVENT_ADV_NONCONN_IND = 0x03


def address(addr: str | bytes) -> bytes:
    """A device address in air/HCI byte order (least significant byte first)."""
    raw = addr if isinstance(addr, bytes) else bytes.fromhex(addr.replace(":", ""))
    if len(raw) != 6:
        raise ValueError(f"Bluetooth address of {len(raw)} bytes")
    return raw[::-1]


def rf_channel(channel_index: int) -> int:
    """RF channel (0..39, 2402 + 2k MHz) of a link-layer channel index (0..36 data, 37..39 advertising)."""
    if channel_index == 37:
        return 0
    if channel_index == 38:
        return 12
    if channel_index == 39:
        return 39
    if 0 <= channel_index <= 10:
        return channel_index + 1
    if 11 <= channel_index <= 36:
        return channel_index + 2
    raise ValueError(f"no BLE channel index {channel_index}")


def crc24(pdu: bytes, init: int = ADV_CRC_INIT) -> bytes:
    """BLE CRC-24 (polynomial x^24+x^10+x^9+x^6+x^4+x^3+x+1) over the PDU, as the 3 bytes sent.

    The LFSR runs LSB-first on the data, so it is kept bit-reversed: ``0x5A6000`` is the
    reflected polynomial and the state's bit 0 is the register's most significant bit.
    """
    state = int(f"{init:024b}"[::-1], 2)
    for byte in pdu:
        for _ in range(8):
            bit = (state ^ byte) & 1
            byte >>= 1
            state >>= 1
            if bit:
                state |= 1 << 23
                state ^= 0x5A6000
    return state.to_bytes(3, "little")


def odid_ad(payload: bytes, counter: int) -> bytes:
    """The Remote ID service data AD structure: len, 0x16, FA FF, 0x0D, counter, payload."""
    return ODID_AD_HEADER.pack(5 + len(payload), AD_SERVICE_DATA_16, ASTM_UUID, ODID_APP_CODE, counter & 0xFF) + payload


def bt4_advdata(message: bytes, counter: int, *, flags_ad: bool = False) -> bytes:
    """Legacy AdvData: one 25-byte message (BT4 carries no packs).

    ``flags_ad`` puts a Flags AD (02 01 06) first, as one device in wireshark-dissector#23 does;
    the AdvData is then 34 bytes, over the 31 legacy advertising allows - it exists to test
    decoders that walk AD structures instead of assuming offset 0.
    """
    if len(message) != MESSAGE_SIZE:
        raise ValueError(f"message of {len(message)} bytes, must be {MESSAGE_SIZE}")
    return (bytes((2, AD_FLAGS, 0x06)) if flags_ad else b"") + odid_ad(message, counter)


def bt5_advdata(pack: bytes, counter: int, *, pad_slots: int | None = None) -> bytes:
    """Extended AdvData with a message pack; ``pad_slots=9`` zero-pads the pack to 9 message slots,
    as the TI transmitter does (AD length always 233)."""
    if pad_slots is not None:
        pack = pack.ljust(3 + MESSAGE_SIZE * pad_slots, b"\0")
    return odid_ad(pack, counter)


def adv_nonconn_ind(adva: str | bytes, advdata: bytes, *, random_address: bool = True) -> bytes:
    """ADV_NONCONN_IND PDU: header (type 2, TxAdd) + AdvA + AdvData."""
    payload = address(adva) + advdata
    return bytes((ADV_NONCONN_IND | (HEADER_TXADD if random_address else 0), len(payload))) + payload


def aux_adv_ind(adva: str | bytes, advdata: bytes, *, did: int = 0, sid: int = 0,
                random_address: bool = True) -> bytes:
    """AUX_ADV_IND PDU (type 7): extended header with AdvA and ADI, AdvMode 0, then AdvData."""
    ext = bytes((EXT_FLAG_ADVA | EXT_FLAG_ADI,)) + address(adva) + struct.pack("<H", (sid & 0xF) << 12 | (did & 0xFFF))
    payload = bytes((len(ext),)) + ext + advdata  # AdvMode 0: non-connectable, non-scannable
    if len(payload) > 255:
        raise ValueError(f"extended advertising payload of {len(payload)} bytes")
    return bytes((ADV_EXT_IND | (HEADER_TXADD if random_address else 0), len(payload))) + payload


def ll_packet(pdu: bytes, *, access_address: int = ADV_ACCESS_ADDRESS, crc_init: int = ADV_CRC_INIT,
              crc_ok: bool = True, phy: str = "le_1m") -> bytes:
    """Access address (+ coding indicator on LE Coded) + PDU + CRC; ``crc_ok=False`` corrupts the CRC."""
    crc = crc24(pdu, crc_init)
    if not crc_ok:
        crc = bytes((crc[0] ^ 0xFF,)) + crc[1:]
    ci = bytes((CODING_INDICATOR[phy],)) if phy in CODING_INDICATOR else b""
    return struct.pack("<I", access_address) + ci + pdu + crc


def le_ll_frame(pdu: bytes, *, crc_ok: bool = True) -> bytes:
    """A LINKTYPE 251 frame (LE 1M advertising)."""
    return ll_packet(pdu, crc_ok=crc_ok)


def le_ll_phdr_frame(pdu: bytes, *, channel: int = 37, rssi_dbm: int = -60, noise_dbm: int | None = None,
                     phy: str = "le_1m", crc_ok: bool = True, aux: bool = False,
                     access_address: int = ADV_ACCESS_ADDRESS) -> bytes:
    """A LINKTYPE 256 frame: PHDR (CRC checked, valid or not) + link-layer packet.

    ``channel`` is the link-layer channel index (37..39 primary, 0..36 secondary); the PHDR
    holds its RF channel.  ``aux`` marks an auxiliary advertising PDU (AUX_ADV_IND).
    """
    flags = (PHDR_DEWHITENED | PHDR_SIGNAL_VALID | PHDR_REF_AA_VALID | PHDR_CRC_CHECKED
             | (PHDR_CRC_VALID if crc_ok else 0) | (PHDR_NOISE_VALID if noise_dbm is not None else 0)
             | (1 if aux else 0) << PHDR_PDU_SHIFT | PHY_CODES[phy] << PHDR_PHY_SHIFT)
    header = PHDR.pack(rf_channel(channel), rssi_dbm, -128 if noise_dbm is None else noise_dbm, 0,
                       access_address, flags)
    return header + ll_packet(pdu, access_address=access_address, crc_ok=crc_ok, phy=phy)


def bt4_frame(message: bytes, counter: int, adva: str | bytes, *, linktype: int = LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR,
              flags_ad: bool = False, channel: int = 37, rssi_dbm: int = -60, crc_ok: bool = True) -> bytes:
    """A whole BT4 legacy Remote ID frame for LINKTYPE 251 or 256."""
    pdu = adv_nonconn_ind(adva, bt4_advdata(message, counter, flags_ad=flags_ad))
    if linktype == LINKTYPE_BLUETOOTH_LE_LL:
        return le_ll_frame(pdu, crc_ok=crc_ok)
    if linktype == LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR:
        return le_ll_phdr_frame(pdu, channel=channel, rssi_dbm=rssi_dbm, crc_ok=crc_ok)
    raise ValueError(f"BT4 frames are built for LINKTYPE 251 or 256, not {linktype}")


def bt5_frame(pack: bytes, counter: int, adva: str | bytes, *, channel: int = 22, rssi_dbm: int = -70,
              phy: str = "le_coded_s8", crc_ok: bool = True, pad_slots: int | None = None,
              did: int = 0, sid: int = 0) -> bytes:
    """A whole BT5 Long Range AUX_ADV_IND frame (LINKTYPE 256) carrying a message pack."""
    pdu = aux_adv_ind(adva, bt5_advdata(pack, counter, pad_slots=pad_slots), did=did, sid=sid)
    return le_ll_phdr_frame(pdu, channel=channel, rssi_dbm=rssi_dbm, phy=phy, crc_ok=crc_ok, aux=True)


# HCI ---------------------------------------------------------------------------------------------

def _le_meta_event(params: bytes) -> bytes:
    return bytes((H4_EVENT, HCI_LE_META, len(params))) + params


def hci_le_adv_report(adva: str | bytes, advdata: bytes, *, rssi_dbm: int = -60, random_address: bool = True,
                      event_type: int = LEGACY_EVENT_ADV_NONCONN_IND) -> bytes:
    """H4 LE Advertising Report event (legacy, subevent 0x02) with one report."""
    if len(advdata) > 31:
        raise ValueError(f"legacy advertising data of {len(advdata)} bytes")
    params = LEGACY_REPORT.pack(LE_ADVERTISING_REPORT, 1, event_type, 1 if random_address else 0,
                                address(adva), len(advdata)) + advdata + struct.pack("<b", rssi_dbm)
    return _le_meta_event(params)


def hci_le_ext_adv_reports(adva: str | bytes, advdata: bytes, *, rssi_dbm: int = -70, random_address: bool = True,
                           primary_phy: str = "le_coded", secondary_phy: str = "le_coded", sid: int = 0,
                           tx_power: int = 127, event_type: int = 0x0000) -> list[bytes]:
    """H4 LE Extended Advertising Report events (subevent 0x0D) carrying ``advdata``.

    One event holds at most 229 data bytes; longer data (a 9-message BT5 pack is 234) is split
    the way controllers do it: every event but the last has data status "incomplete, more to
    come".  ``event_type`` 0 is non-connectable, non-scannable, undirected, extended.
    """
    chunks = [advdata[i:i + EXT_REPORT_DATA_MAX] for i in range(0, len(advdata), EXT_REPORT_DATA_MAX)] or [b""]
    events = []
    for n, chunk in enumerate(chunks):
        status = EXT_EVENT_INCOMPLETE_MORE if n < len(chunks) - 1 else 0
        params = EXT_REPORT.pack(LE_EXTENDED_ADVERTISING_REPORT, 1, event_type | status,
                                 1 if random_address else 0, address(adva), HCI_PHY[primary_phy],
                                 HCI_PHY[secondary_phy], sid, tx_power, rssi_dbm, 0, 0, b"\0" * 6, len(chunk))
        events.append(_le_meta_event(params + chunk))
    return events


def h4_with_phdr(h4_packet: bytes, *, received: bool = True) -> bytes:
    """A LINKTYPE 201 frame: big-endian direction (1 received from the controller, 0 sent) + H4 packet."""
    return struct.pack(">I", 1 if received else 0) + h4_packet
