"""DJI DroneID: the proprietary telemetry element of older Wi-Fi-linked DJI drones.

Vendor-specific element, OUI 26:37:12, subcommand 0x10 ("flight registration": telemetry),
versions 1 and 2.  Layout from Kismet's ``dot11_ie_221_dji_droneid`` and
cyber-defence-campus/RemoteIDReceiver's parser (reference: remote-id-wire-formats.md §2.13).
Coordinates are int32 radians x 1e7, so degrees = raw / 174533.0.  Altitude, height and
velocity units disagree between the public sources: they are kept raw in :class:`DjiInfo`,
and the location carries only what is certain (position, yaw-free course is not sent).

``body`` below is the element body (after the 2-byte element header), so body offsets are
the reference's element offsets minus two.
"""

from __future__ import annotations

import struct

from airwatch.contact import Contact, DjiInfo, GeoPoint, Location, Transport
from airwatch.decoders.errors import DecodeError
from airwatch.decoders.remoteid.messages import text_field

OUI = b"\x26\x37\x12"
SUBCOMMAND_TELEMETRY = 0x10
SUBCOMMAND_FLIGHT_PURPOSE = 0x11
RAD_E7_PER_DEGREE = 174533.0

#: State bits as Kismet reads them (several marked "guessed" there).
STATE_BITS = {
    0x0001: "serial_valid", 0x0002: "private_mode_disabled", 0x0004: "home_set",
    0x0008: "uuid_set", 0x0010: "motor_on", 0x0020: "in_air", 0x0040: "gps_valid",
    0x0080: "altitude_valid", 0x0100: "height_valid", 0x0200: "horizontal_velocity_valid",
    0x0400: "vertical_velocity_valid", 0x0800: "attitude_valid",
}

# Common part from body offset 8: sequence, state, serial, lon, lat, altitude, height,
# v_north, v_east, v_up.
_COMMON = struct.Struct("<HH16siihhhhh")
# Version 1 from body offset 46: pitch, roll, yaw, home lon, home lat, product type.
_V1 = struct.Struct("<hhhiiB")
# Version 2 from body offset 46: yaw, GPS time (ms), pilot lat, pilot lon, home lon, home lat, product type.
_V2 = struct.Struct("<hQiiiiB")
_COMMON_END = 8 + _COMMON.size
MIN_LENGTH = {1: _COMMON_END + _V1.size, 2: _COMMON_END + _V2.size}


def _point(lat_raw: int, lon_raw: int, kind: str, anomalies: list[str]) -> GeoPoint | None:
    if lat_raw == 0 and lon_raw == 0:
        return None
    lat = lat_raw / RAD_E7_PER_DEGREE
    lon = lon_raw / RAD_E7_PER_DEGREE
    if -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0:
        return GeoPoint(lat, lon, None, kind)
    anomalies.append(f"{kind}_position")
    return None



def decode_dji(body: bytes, contact: Contact) -> None:
    """Fill ``contact`` from a DroneID element body (OUI first).  Raises DecodeError."""
    if len(body) < 8:
        raise DecodeError("dji_truncated", f"element body of {len(body)} bytes")
    subcommand = body[6]
    version = body[7]
    if subcommand != SUBCOMMAND_TELEMETRY:
        raise DecodeError("dji_unsupported_subcommand", f"subcommand 0x{subcommand:02x}")
    need = MIN_LENGTH.get(version)
    if need is None:
        raise DecodeError("dji_unknown_version", f"version {version}")
    if len(body) < need:
        raise DecodeError("dji_truncated", f"version {version} needs {need} bytes, {len(body)} present")
    (seq, state, serial, lon, lat, alt, height, v_n, v_e, v_u) = _COMMON.unpack_from(body, 8)
    anomalies = contact.anomalies
    if version == 1:
        pitch, roll, yaw, home_lon, home_lat, product = _V1.unpack_from(body, _COMMON_END)
        gps_time = pilot = None
        pitch_d, roll_d = pitch / 100.0, roll / 100.0
    else:
        yaw, gps_ms, pilot_lat, pilot_lon, home_lon, home_lat, product = _V2.unpack_from(body, _COMMON_END)
        gps_time = gps_ms / 1000.0 if gps_ms else None
        pilot = _point(pilot_lat, pilot_lon, "pilot", anomalies)
        pitch_d = roll_d = None
    uuid_len = body[need] if len(body) > need else 0
    # the UUID is length-prefixed; transmitters seen in the wild pad it with NULs on either side
    uuid = body[need + 1:need + 1 + min(uuid_len, 20)].strip(b"\0").decode("ascii", "replace")
    position = _point(lat, lon, "drone", anomalies)
    contact.transport = Transport.DJI_DRONEID
    contact.protocol_version = version
    contact.counter = seq
    contact.dji = DjiInfo(
        version=version, sequence=seq, state=state, serial=text_field(serial), product_type=product,
        uuid=uuid, yaw=yaw / 100.0, pitch=pitch_d, roll=roll_d, v_north=v_n, v_east=v_e,
        v_up=v_u, altitude_raw=alt, height_raw=height, gps_time=gps_time,
    )
    if position is not None:
        contact.location = Location(lat=position.lat, lon=position.lon, time=contact.time)
    contact.operator = pilot
    contact.home = _point(home_lat, home_lon, "home", anomalies)
