"""Whole Wi-Fi frames as a monitor-mode capture holds them (LINKTYPE 127, radiotap).

Builders return the 802.11 MAC frame (the "MPDU", from frame control on); :func:`radiotap_frame`
puts a radiotap header in front and, if asked, a valid FCS behind.  Formats:
``../shared/reference/remote-id-wire-formats.md`` §2.9 (ASTM beacon), §2.10 (NaN), §2.13 (DJI
DroneID), §2.14 (French beacon).  MAC addresses are ``"aa:bb:cc:dd:ee:ff"`` strings or 6 bytes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable

from airwatch.contact import DjiInfo, FrenchInfo, GeoPoint, Location
from airwatch.decoders.wifi import frequency_mhz

LINKTYPE_IEEE802_11_RADIOTAP = 127

BROADCAST = b"\xff" * 6
ASTM_OUI = bytes.fromhex("fa0bbc")  # ASD-STAN
LEGACY_OUI = bytes.fromhex("903ae6")  # pre-standard (Parrot)
ODID_OUI_TYPE = 0x0D
WFA_OUI = bytes.fromhex("506f9a")
NAN_OUI_TYPE = 0x13
NAN_DA = bytes.fromhex("516f9a010000")
NAN_CLUSTER_ID = bytes.fromhex("506f9a0100ff")  # core-c's fixed cluster ID
NAN_SERVICE_ID = bytes.fromhex("8869199d9209")  # SHA-256("org.opendroneid.remoteid")[:6]
DJI_OUI = bytes.fromhex("263712")
DJI_VENDOR_TYPE = bytes.fromhex("586213")  # "vendor type, unk1, unk2" as observed
DJI_SUBCOMMAND_TELEMETRY = 0x10
DJI_COORD_SCALE = 174533.0  # int32 = degrees * 174533.0 (radians * 1e7)
FRENCH_OUI = bytes.fromhex("6a5c35")
FRENCH_OUI_TYPE = 0x01

# Frame control, first byte (type/subtype); the second (flags) is 0 for everything built here.
FC_BEACON = 0x80
FC_PROBE_REQUEST = 0x40
FC_ACTION = 0xD0
FC_DATA = 0x08

# 802.11 headers and bodies, named after the standard's fields.
MGMT_HEADER = struct.Struct("<BBH6s6s6sH")  # fc, flags, duration, addr1 (DA), addr2 (SA), addr3 (BSSID), seq ctl
DATA_HEADER = MGMT_HEADER  # same layout; addresses depend on the DS bits
BEACON_FIXED = struct.Struct("<QHH")  # TSF timestamp (µs), beacon interval (TU), capability info
NAN_SDF_HEADER = struct.Struct("<BB3sB")  # category 4 (public), action 9 (vendor specific), OUI, OUI type
NAN_SDA = struct.Struct("<BH6sBBBB")  # attribute 3, length, service ID, instance, requestor instance, control, info length
NAN_SDEA = struct.Struct("<BHBHB")  # attribute 0x0E, length 4, instance ID, control, service update indicator
NAN_MASTER_INDICATION = struct.Struct("<BHBB")  # attribute 0, length 2, master preference, random factor
NAN_CLUSTER = struct.Struct("<BH6sBBBI")  # attribute 1, length 13, anchor master MAC, random factor, preference, hop count, AMBTT
NAN_SERVICE_ID_LIST = struct.Struct("<BH6s")  # attribute 2, length 6, service ID
DJI_HEADER = struct.Struct("<3s3sBB")  # OUI, vendor type, subcommand, version
DJI_V1 = struct.Struct("<HH16siihhhhhhhhiiBB20s")
# sequence, state, serial, lon, lat, altitude, height, v_north, v_east, v_up, pitch, roll, yaw,
# home lon, home lat, product type, UUID length, UUID
DJI_V2 = struct.Struct("<HH16siihhhhhhQiiiiBB20s")
# sequence, state, serial, lon, lat, altitude, height, v_north, v_east, v_up, yaw, GPS time (ms),
# pilot lat, pilot lon, home lon, home lat, product type, UUID length, UUID

# Radiotap: version, pad, length, present; then Flags (bit 1), Rate (bit 2), Channel (bit 3:
# frequency + flags), dBm antenna signal (bit 5) - natural alignment holds without padding.
RADIOTAP = struct.Struct("<BBHI" "B" "B" "HH" "b")
RADIOTAP_PRESENT = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 5)
RADIOTAP_FLAG_FCS = 0x10
CHAN_CCK, CHAN_OFDM, CHAN_2GHZ, CHAN_5GHZ = 0x0020, 0x0040, 0x0080, 0x0100
CCK_RATES = (1.0, 2.0, 5.5, 11.0)


def channel_freq(channel: int) -> int:
    """Centre frequency in MHz of a 2.4 GHz or 5 GHz channel (the decoders' table), or ValueError."""
    freq = frequency_mhz(channel)
    if freq is None:
        raise ValueError(f"no 2.4/5 GHz channel {channel}")
    return freq


def mac(address: str | bytes) -> bytes:
    if isinstance(address, bytes):
        if len(address) != 6:
            raise ValueError(f"MAC address of {len(address)} bytes")
        return address
    return bytes.fromhex(address.replace(":", "").replace("-", ""))


def fcs(mpdu: bytes) -> bytes:
    """802.11 frame check sequence: CRC-32 of the MAC frame, little-endian."""
    return struct.pack("<I", zlib.crc32(mpdu))


def radiotap(freq_mhz: int, *, rate_mbps: float = 6.0, signal_dbm: int = -50, fcs_present: bool = False,
             flags: int = 0) -> bytes:
    chan_flags = (CHAN_5GHZ if freq_mhz >= 5000 else CHAN_2GHZ) | (
        CHAN_CCK if rate_mbps in CCK_RATES and freq_mhz < 5000 else CHAN_OFDM)
    return RADIOTAP.pack(0, 0, RADIOTAP.size, RADIOTAP_PRESENT,
                         flags | (RADIOTAP_FLAG_FCS if fcs_present else 0), round(rate_mbps * 2),
                         freq_mhz, chan_flags, signal_dbm)


def radiotap_frame(mpdu: bytes, *, channel: int = 6, signal_dbm: int = -50, rate_mbps: float = 6.0,
                   with_fcs: bool = False) -> bytes:
    """A LINKTYPE 127 frame: radiotap + MPDU (+ FCS, flagged in radiotap, if ``with_fcs``)."""
    header = radiotap(channel_freq(channel), rate_mbps=rate_mbps, signal_dbm=signal_dbm, fcs_present=with_fcs)
    return header + mpdu + (fcs(mpdu) if with_fcs else b"")


def ie(element_id: int, body: bytes) -> bytes:
    if len(body) > 255:
        raise ValueError(f"information element body of {len(body)} bytes")
    return bytes((element_id, len(body))) + body


def ssid_ie(ssid: str | bytes) -> bytes:
    return ie(0, ssid.encode() if isinstance(ssid, str) else ssid)


def vendor_ie(oui: bytes, body: bytes) -> bytes:
    return ie(221, oui + body)


def odid_ie(pack: bytes, counter: int, *, legacy_oui: bool = False) -> bytes:
    """ASTM Remote ID vendor IE: DD, len, FA:0B:BC (or 90:3A:E6), 0x0D, counter, pack."""
    return vendor_ie(LEGACY_OUI if legacy_oui else ASTM_OUI, bytes((ODID_OUI_TYPE, counter & 0xFF)) + pack)


def mgmt_header(fc: int, da: str | bytes, sa: str | bytes, bssid: str | bytes, seq: int = 0) -> bytes:
    return MGMT_HEADER.pack(fc, 0, 0, mac(da), mac(sa), mac(bssid), (seq & 0x0FFF) << 4)


def beacon(transmitter: str | bytes, ies: Iterable[bytes], *, bssid: str | bytes | None = None, seq: int = 0,
           tsf_us: int = 0, interval_tu: int = 100, capability: int = 0x0421) -> bytes:
    """Beacon MPDU: DA broadcast, SA = transmitter, BSSID (default = transmitter), fixed fields, IEs."""
    return (mgmt_header(FC_BEACON, BROADCAST, transmitter, transmitter if bssid is None else bssid, seq)
            + BEACON_FIXED.pack(tsf_us, interval_tu, capability) + b"".join(ies))


def odid_beacon(transmitter: str | bytes, pack: bytes, counter: int, *, ssid: str | bytes = "",
                ies_before: Iterable[bytes] = (), legacy_oui: bool = False, **fixed) -> bytes:
    """ASTM Remote ID beacon MPDU: SSID IE, any other IEs, then the Remote ID vendor IE."""
    return beacon(transmitter, [ssid_ie(ssid), *ies_before, odid_ie(pack, counter, legacy_oui=legacy_oui)], **fixed)


def nan_sdf(transmitter: str | bytes, pack: bytes, counter: int, *, cluster: str | bytes = NAN_CLUSTER_ID,
            seq: int = 0, instance_id: int = 1, update_indicator: int | None = None) -> bytes:
    """NaN Service Discovery Frame (public action) carrying a Remote ID pack, §2.10.

    ``update_indicator`` (the SDEA's last byte) defaults to the counter, as the ESP32 sends it.
    """
    info = bytes((counter & 0xFF,)) + pack
    sda = NAN_SDA.pack(0x03, 10 + len(info), NAN_SERVICE_ID, instance_id, 0, 0x10, len(info)) + info
    sdea = NAN_SDEA.pack(0x0E, 4, instance_id, 0x0200, (counter if update_indicator is None else update_indicator) & 0xFF)
    return (mgmt_header(FC_ACTION, NAN_DA, transmitter, cluster, seq)
            + NAN_SDF_HEADER.pack(0x04, 0x09, WFA_OUI, NAN_OUI_TYPE) + sda + sdea)


def nan_sync_beacon(transmitter: str | bytes, *, cluster: str | bytes = NAN_CLUSTER_ID, seq: int = 0,
                    tsf_us: int = 0, master_preference: int = 0xFE, random_factor: int = 0xEA) -> bytes:
    """NaN synchronisation beacon (no Remote ID data), as core-c and the ESP32 send it."""
    attrs = (NAN_MASTER_INDICATION.pack(0x00, 2, master_preference, random_factor)
             + NAN_CLUSTER.pack(0x01, 13, mac(transmitter), random_factor, master_preference, 0, 0)
             + NAN_SERVICE_ID_LIST.pack(0x02, 6, NAN_SERVICE_ID))
    return beacon(transmitter, [vendor_ie(WFA_OUI, bytes((NAN_OUI_TYPE,)) + attrs)], bssid=cluster, seq=seq,
                  tsf_us=tsf_us, interval_tu=0x0200, capability=0x0420)


def _dji_coord(degrees: float | None) -> int:
    return 0 if degrees is None else round(degrees * DJI_COORD_SCALE)


def _centidegrees(degrees: float | None) -> int:
    return 0 if degrees is None else round(degrees * 100)


def dji_droneid_ie(info: DjiInfo, location: Location | None = None, pilot: GeoPoint | None = None,
                   home: GeoPoint | None = None) -> bytes:
    """DJI DroneID telemetry IE (OUI 26:37:12, subcommand 0x10), version 1 or 2 per ``info.version``.

    Coordinates: ``int32 = round(degrees * 174533.0)``; unknown -> 0.  Angles are centidegrees.
    Version 1 has no pilot position or GPS time; version 2 has no pitch or roll.
    """
    lat = lon = None
    if location is not None:
        lat, lon = location.lat, location.lon
    serial = info.serial.encode("ascii", "replace")[:16]
    uuid = info.uuid.encode("ascii", "replace")[:20]
    product = info.product_type or 0
    common = (info.sequence & 0xFFFF, info.state & 0xFFFF, serial, _dji_coord(lon), _dji_coord(lat),
              info.altitude_raw, info.height_raw, info.v_north, info.v_east, info.v_up)
    home_lon, home_lat = (0, 0) if home is None else (_dji_coord(home.lon), _dji_coord(home.lat))
    if info.version == 1:
        body = DJI_V1.pack(*common, _centidegrees(info.pitch), _centidegrees(info.roll), _centidegrees(info.yaw),
                           home_lon, home_lat, product, len(uuid), uuid)
    else:
        gps_ms = 0 if info.gps_time is None else round(info.gps_time * 1000)
        pilot_lat, pilot_lon = (0, 0) if pilot is None else (_dji_coord(pilot.lat), _dji_coord(pilot.lon))
        body = DJI_V2.pack(*common, _centidegrees(info.yaw), gps_ms, pilot_lat, pilot_lon,
                           home_lon, home_lat, product, len(uuid), uuid)
    return ie(221, DJI_HEADER.pack(DJI_OUI, DJI_VENDOR_TYPE, DJI_SUBCOMMAND_TELEMETRY, info.version) + body)


def _tlv(kind: int, value: bytes) -> bytes:
    return bytes((kind, len(value))) + value


def french_ie(french: FrenchInfo, location: Location | None = None, takeoff: GeoPoint | None = None) -> bytes:
    """French "signalement electronique" IE: OUI 6A:5C:35, type 1, then big-endian TLVs (§2.14).

    A TLV is written only for a value that is not ``None``.
    """
    tlvs = []
    if french.protocol_version is not None:
        tlvs.append(_tlv(1, bytes((french.protocol_version & 0xFF,))))
    if french.french_id is not None:
        tlvs.append(_tlv(2, french.french_id.encode("ascii", "replace")[:30].ljust(30, b"\0")))
    if french.serial is not None:
        tlvs.append(_tlv(3, french.serial.encode("ascii", "replace")))
    loc = location or Location()
    if loc.lat is not None and loc.lon is not None:
        tlvs += [_tlv(4, struct.pack(">i", round(loc.lat * 1e5))), _tlv(5, struct.pack(">i", round(loc.lon * 1e5)))]
    if loc.alt_msl_m is not None:
        tlvs.append(_tlv(6, struct.pack(">h", round(loc.alt_msl_m))))
    if loc.height_m is not None:
        tlvs.append(_tlv(7, struct.pack(">h", round(loc.height_m))))
    if takeoff is not None:
        tlvs += [_tlv(8, struct.pack(">i", round(takeoff.lat * 1e5))), _tlv(9, struct.pack(">i", round(takeoff.lon * 1e5)))]
    if loc.speed_horizontal is not None:
        tlvs.append(_tlv(10, struct.pack(">b", max(-128, min(127, round(loc.speed_horizontal))))))
    if loc.direction is not None:
        tlvs.append(_tlv(11, struct.pack(">H", round(loc.direction) % 360)))
    return vendor_ie(FRENCH_OUI, bytes((FRENCH_OUI_TYPE,)) + b"".join(tlvs))


# Background traffic ------------------------------------------------------------------------------

def probe_request(transmitter: str | bytes, ssid: str | bytes = "", *, seq: int = 0,
                  rates: bytes = bytes.fromhex("82848b96")) -> bytes:
    """Probe request MPDU (wildcard SSID by default) with a Supported Rates IE."""
    return mgmt_header(FC_PROBE_REQUEST, BROADCAST, transmitter, BROADCAST, seq) + ssid_ie(ssid) + ie(1, rates)


def data_frame(transmitter: str | bytes, receiver: str | bytes, bssid: str | bytes, payload: bytes = b"", *,
               to_ds: bool = True, seq: int = 0) -> bytes:
    """Data MPDU from a station to its AP (``to_ds``: addr1 BSSID, addr2 SA, addr3 DA) or back."""
    if to_ds:
        addrs, flags = (mac(bssid), mac(transmitter), mac(receiver)), 0x01
    else:
        addrs, flags = (mac(receiver), mac(bssid), mac(transmitter)), 0x02
    return DATA_HEADER.pack(FC_DATA, flags, 0, *addrs, (seq & 0x0FFF) << 4) + payload


def ap_beacon(bssid: str | bytes, ssid: str, channel: int, *, seq: int = 0, tsf_us: int = 0) -> bytes:
    """An ordinary access point's beacon: SSID, supported rates, DS parameter set."""
    return beacon(bssid, [ssid_ie(ssid), ie(1, bytes.fromhex("82848b960c121824")), ie(3, bytes((channel,)))],
                  seq=seq, tsf_us=tsf_us, capability=0x0411)
