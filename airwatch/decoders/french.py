"""The French "signalement electronique" beacon (Arrete du 27 decembre 2019).

Vendor-specific element, OUI 6A:5C:35, type 0x01, then TLVs ``[type][length][value]`` with
big-endian numbers (reference: remote-id-wire-formats.md §2.14; opendroneid-core-c
``frdid_build``, sxjack/unix_rid_capture ``france.c``).
"""

from __future__ import annotations

from airwatch.contact import Contact, FrenchInfo, GeoPoint, HeightRef, Location, Transport
from airwatch.decoders.errors import DecodeError
from airwatch.decoders.remoteid.messages import text_field

OUI = b"\x6a\x5c\x35"
OUI_TYPE = 0x01

PROTOCOL_VERSION = 1
FRENCH_ID = 2
SERIAL = 3
LATITUDE = 4
LONGITUDE = 5
ALTITUDE_MSL = 6
HEIGHT_TAKEOFF = 7
TAKEOFF_LATITUDE = 8
TAKEOFF_LONGITUDE = 9
SPEED = 10
COURSE = 11

#: Value length each known TLV type must have (identity strings vary).
LENGTHS = {PROTOCOL_VERSION: 1, LATITUDE: 4, LONGITUDE: 4, ALTITUDE_MSL: 2, HEIGHT_TAKEOFF: 2,
           TAKEOFF_LATITUDE: 4, TAKEOFF_LONGITUDE: 4, SPEED: 1, COURSE: 2}
SIGNED = {LATITUDE, LONGITUDE, ALTITUDE_MSL, HEIGHT_TAKEOFF, TAKEOFF_LATITUDE, TAKEOFF_LONGITUDE, SPEED}



def _coords(lat: int | None, lon: int | None, anomalies: list[str], what: str) -> tuple[float, float] | None:
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None
    if -9000000 <= lat <= 9000000 and -18000000 <= lon <= 18000000:
        return lat / 1e5, lon / 1e5
    anomalies.append(what)
    return None


def decode_french(body: bytes, contact: Contact) -> None:
    """Fill ``contact`` from a French beacon element body (OUI first).  Raises DecodeError."""
    values: dict[int, int | bytes] = {}
    anomalies = contact.anomalies
    off, n = 4, len(body)
    while off + 2 <= n:
        t, length = body[off], body[off + 1]
        value = body[off + 2:off + 2 + length]
        if len(value) < length:
            anomalies.append("truncated_tlv")
            break
        off += 2 + length
        want = LENGTHS.get(t)
        if want is not None:
            if length != want:
                anomalies.append(f"tlv_{t}_length")
                continue
            values[t] = int.from_bytes(value, "big", signed=t in SIGNED)
        elif t in (FRENCH_ID, SERIAL):
            values[t] = value
    if not values:
        raise DecodeError("french_empty", "no known field in the French beacon element")
    contact.transport = Transport.FRENCH_BEACON
    version = values.get(PROTOCOL_VERSION)
    contact.protocol_version = version
    french_id = values.get(FRENCH_ID)
    serial = values.get(SERIAL)
    contact.french = FrenchInfo(
        protocol_version=version,
        french_id=text_field(french_id) if isinstance(french_id, bytes) else None,
        serial=text_field(serial) if isinstance(serial, bytes) else None,
    )
    pos = _coords(values.get(LATITUDE), values.get(LONGITUDE), anomalies, "position")
    course = values.get(COURSE)
    if course is not None and course > 359:
        anomalies.append("direction")
        course = None
    speed = values.get(SPEED)
    if speed is not None and speed < 0:
        anomalies.append("speed_horizontal")
        speed = None
    height = values.get(HEIGHT_TAKEOFF)
    contact.location = Location(
        lat=pos[0] if pos else None,
        lon=pos[1] if pos else None,
        alt_msl_m=values.get(ALTITUDE_MSL),
        height_m=height,
        height_ref=HeightRef.TAKEOFF if height is not None else None,
        direction=course,
        speed_horizontal=speed,
        time=contact.time,
    )
    takeoff = _coords(values.get(TAKEOFF_LATITUDE), values.get(TAKEOFF_LONGITUDE), anomalies, "takeoff_position")
    if takeoff is not None:
        contact.home = GeoPoint(takeoff[0], takeoff[1], None, "takeoff")
