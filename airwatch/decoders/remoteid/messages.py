"""ASTM F3411 messages and the message pack: 25-byte messages into contact fields.

Layouts and scalings are opendroneid-core-c's (``opendroneid.h`` / ``opendroneid.c``); every
multi-byte field is little-endian.  See ``../shared/reference/remote-id-wire-formats.md`` §2.

The entry point is :func:`decode_odid`: it takes what a transport carried after its message
counter (one message, or a message pack) and fills a :class:`~airwatch.contact.Contact`.
Structural damage raises :class:`~airwatch.decoders.errors.DecodeError`; a field whose value
is outside what the standard allows becomes ``None`` and is named in ``contact.anomalies``.
"""

from __future__ import annotations

import struct
import uuid

from airwatch.contact import (
    AuthPage,
    Authentication,
    BasicID,
    Contact,
    GeoPoint,
    HeightRef,
    Location,
    OperatorID,
    SelfID,
    System,
)
from airwatch.decoders.errors import DecodeError
from airwatch.decoders.remoteid.enums import (
    AuthType,
    Category,
    ClassificationType,
    DescriptionType,
    HorizontalAccuracy,
    IdType,
    OperationalStatus,
    OperatorIdType,
    OperatorLocationType,
    SpeedAccuracy,
    UAClass,
    UAType,
    VerticalAccuracy,
    table,
)

MESSAGE_SIZE = 25
PACK_MAX_MESSAGES = 9
AUTH_MAX_PAGES = 16
PROTOCOL_VERSION_MAX = 2  # F3411-22a; newer versions are decoded with the latest layout
#: F3411 timestamps in Authentication and System count seconds from 2019-01-01 00:00:00 UTC.
EPOCH_2019 = 1546300800

# Location/Vector from offset 1: flags, direction, speed, vertical speed, lat, lon,
# pressure alt, geodetic alt, height, accuracies (2 bytes), timestamp, timestamp accuracy.
_LOCATION = struct.Struct("<BBBbiiHHHBBHB")
# System from offset 1: flags, operator lat, lon, area count, radius, ceiling, floor,
# category/class, operator geodetic alt, timestamp.
_SYSTEM = struct.Struct("<BiiHBHHBHI")
_AUTH_PAGE0 = struct.Struct("<BBBI")  # from offset 1: type/page, last page, length, timestamp

_HEIGHT_REF = (HeightRef.TAKEOFF, HeightRef.GROUND)
# byte value -> enum member (or the int, where the standard reserves the value)
_ID_TYPE = table(IdType)
_UA_TYPE = table(UAType)
_STATUS = table(OperationalStatus)
_H_ACC = table(HorizontalAccuracy)
_V_ACC = table(VerticalAccuracy)
_S_ACC = table(SpeedAccuracy)
_AUTH_TYPE = table(AuthType)
_DESCRIPTION_TYPE = table(DescriptionType)
_OPERATOR_LOCATION_TYPE = table(OperatorLocationType)
_CLASSIFICATION_TYPE = table(ClassificationType)
_CATEGORY = table(Category)
_UA_CLASS = table(UAClass)
_OPERATOR_ID_TYPE = table(OperatorIdType)


def text_field(raw: bytes) -> str:
    """ASCII text as transmitted, up to the first NUL; other bytes are replaced, never lost silently."""
    end = raw.find(b"\0")
    if end >= 0:
        raw = raw[:end]
    return raw.decode("ascii", "replace")


def _altitude(raw: int) -> float | None:
    return None if raw == 0 else raw * 0.5 - 1000.0


def resolve_hour(seconds_after_hour: float, receive_time: float) -> float:
    """UNIX time of a "tenths of seconds after the full hour" timestamp.

    The hour comes from the receiver's clock; when the two sit on either side of an hour
    boundary (fix at 59:59.9, received at 00:00.2) the nearer hour wins.
    """
    hour = receive_time - receive_time % 3600.0
    t = hour + seconds_after_hour
    if t - receive_time > 1800.0:
        t -= 3600.0
    elif receive_time - t > 1800.0:
        t += 3600.0
    return t


def decode_basic_id(msg: bytes) -> BasicID:
    b = msg[1]
    id_type = b >> 4
    raw = msg[2:22]
    if id_type == 3 and not any(raw[16:]):
        uas_id = str(uuid.UUID(bytes=raw[:16]))
    elif id_type in (3, 4):
        uas_id = raw.hex()
    else:
        uas_id = text_field(raw)
    return BasicID(_ID_TYPE[id_type], _UA_TYPE[b & 0x0F], uas_id)


def decode_location(msg: bytes, receive_time: float, anomalies: list[str]) -> Location:
    (flags, direction, speed, vspeed, lat, lon, alt_p, alt_g, height,
     acc_vh, acc_bs, ts, ts_acc) = _LOCATION.unpack_from(msg, 1)

    if flags & 0x02:
        direction += 180
    if direction > 359:
        if direction != 361:
            anomalies.append("direction")
        direction = None

    if flags & 0x01:
        speed_h = None if speed == 255 else speed * 0.75 + 63.75
    else:
        speed_h = speed * 0.25

    speed_v = vspeed * 0.5
    if speed_v > 62.0 or speed_v < -62.0:
        if speed_v != 63.0:
            anomalies.append("speed_vertical")
        speed_v = None

    if lat == 0 and lon == 0:
        lat_d = lon_d = None
    elif -900000000 <= lat <= 900000000 and -1800000000 <= lon <= 1800000000:
        lat_d = lat / 1e7
        lon_d = lon / 1e7
    else:
        anomalies.append("position")
        lat_d = lon_d = None

    if ts == 0xFFFF:
        ts_s = fix_time = None
    elif ts > 36000:
        anomalies.append("timestamp")
        ts_s = fix_time = None
    else:
        ts_s = ts / 10.0
        fix_time = resolve_hour(ts_s, receive_time)

    ts_acc &= 0x0F
    # positional: this runs for every Location message heard (see the field order in contact.Location)
    return Location(
        lat_d, lon_d,
        None if alt_p == 0 else alt_p * 0.5 - 1000.0,  # alt_pressure_m
        None if alt_g == 0 else alt_g * 0.5 - 1000.0,  # alt_geodetic_m
        None,  # alt_msl_m
        None if height == 0 else height * 0.5 - 1000.0,  # height_m
        _HEIGHT_REF[(flags >> 2) & 1],
        direction, speed_h, speed_v,
        _STATUS[flags >> 4],
        _H_ACC[acc_vh & 0x0F], _V_ACC[acc_vh >> 4], _V_ACC[acc_bs >> 4], _S_ACC[acc_bs & 0x0F],
        ts_s,
        ts_acc / 10.0 if ts_acc else None,  # timestamp_accuracy
        fix_time,
    )


def decode_auth_page(msg: bytes) -> AuthPage:
    b = msg[1]
    page = b & 0x0F
    if page == 0:
        _, last, length, ts = _AUTH_PAGE0.unpack_from(msg, 1)
        return AuthPage(_AUTH_TYPE[b >> 4], 0, last, length,
                        EPOCH_2019 + ts if ts else None, bytes(msg[8:25]))
    return AuthPage(_AUTH_TYPE[b >> 4], page, None, None, None, bytes(msg[2:25]))


def assemble_auth(pages: dict[int, AuthPage], anomalies: list[str] | None = None) -> Authentication | None:
    """Authentication data from its pages, or ``None`` while any page is missing."""
    first = pages.get(0)
    if first is None or first.last_page_index is None or first.length is None:
        return None
    last = first.last_page_index
    if last >= AUTH_MAX_PAGES:
        if anomalies is not None:
            anomalies.append("auth_last_page_index")
        return None
    chunks = [first.data]
    for n in range(1, last + 1):
        page = pages.get(n)
        if page is None:
            return None
        chunks.append(page.data)
    data = b"".join(chunks)
    if first.length > len(data):
        if anomalies is not None:
            anomalies.append("auth_length")
        return None
    return Authentication(first.auth_type, last, first.length, first.timestamp, data[: first.length])


def decode_self_id(msg: bytes) -> SelfID:
    return SelfID(_DESCRIPTION_TYPE[msg[1]], text_field(msg[2:25]))


def decode_system(msg: bytes, anomalies: list[str]) -> tuple[System, GeoPoint | None]:
    (flags, lat, lon, area_count, radius, ceiling, floor, cat_class,
     alt_g, ts) = _SYSTEM.unpack_from(msg, 1)
    loc_type = _OPERATOR_LOCATION_TYPE[flags & 0x03]
    system = System(  # positional, in contact.System's field order
        loc_type,
        _CLASSIFICATION_TYPE[(flags >> 2) & 0x07],
        area_count,
        radius * 10,  # area_radius_m
        None if ceiling == 0 else ceiling * 0.5 - 1000.0,
        None if floor == 0 else floor * 0.5 - 1000.0,
        _CATEGORY[cat_class >> 4],
        _UA_CLASS[cat_class & 0x0F],
        EPOCH_2019 + ts if ts else None,
    )
    operator = None
    if lat or lon:
        if -900000000 <= lat <= 900000000 and -1800000000 <= lon <= 1800000000:
            operator = GeoPoint(lat / 1e7, lon / 1e7, _altitude(alt_g), _OPERATOR_KIND.get(loc_type, "operator"))
        else:
            anomalies.append("operator_position")
    return system, operator


_OPERATOR_KIND = {0: "takeoff", 1: "live_gnss", 2: "fixed"}


def decode_operator_id(msg: bytes) -> OperatorID:
    return OperatorID(_OPERATOR_ID_TYPE[msg[1]], text_field(msg[2:22]))


def _apply(contact: Contact, msg: bytes, receive_time: float, auth: dict[int, AuthPage]) -> None:
    """Decode one 25-byte message into ``contact``."""
    header = msg[0]
    kind = header >> 4
    if (header & 0x0F) > PROTOCOL_VERSION_MAX and "protocol_version" not in contact.anomalies:
        contact.anomalies.append("protocol_version")
    if kind == 1:
        if contact.location is not None:
            contact.anomalies.append("duplicate_location")
            return
        contact.location = decode_location(msg, receive_time, contact.anomalies)
    elif kind == 0:
        contact.basic_ids.append(decode_basic_id(msg))
    elif kind == 4:
        if contact.system is not None:
            contact.anomalies.append("duplicate_system")
            return
        contact.system, contact.operator = decode_system(msg, contact.anomalies)
    elif kind == 3:
        if contact.self_id is not None:
            contact.anomalies.append("duplicate_self_id")
            return
        contact.self_id = decode_self_id(msg)
    elif kind == 5:
        if contact.operator_id is not None:
            contact.anomalies.append("duplicate_operator_id")
            return
        contact.operator_id = decode_operator_id(msg)
    elif kind == 2:
        page = decode_auth_page(msg)
        contact.auth_pages.append(page)
        auth[page.page_number] = page
    elif kind == 0xF:
        contact.anomalies.append("nested_pack")
    else:
        contact.anomalies.append("unknown_message_type")


def decode_odid(body: bytes, contact: Contact) -> None:
    """Decode a message or a message pack into ``contact``.

    ``body`` starts at the message (or pack) header, after the transport's counter byte; bytes
    after the last message (padding, as in the Bluetooth 5 sample) are ignored.  The message
    pack's own count is trusted over the transport's length.
    """
    n = len(body)
    if n < MESSAGE_SIZE:
        if n >= 3 and body[0] >> 4 == 0xF and body[2] == 0:
            raise DecodeError("odid_empty_pack", "message pack with no messages")
        raise DecodeError("odid_truncated", f"{n} bytes, a message needs {MESSAGE_SIZE}")
    header = body[0]
    version = header & 0x0F
    auth: dict[int, AuthPage] = {}
    receive_time = contact.time
    if header >> 4 == 0xF:
        size = body[1]
        count = body[2]
        if size != MESSAGE_SIZE:
            raise DecodeError("odid_pack_message_size", f"message size {size}, must be {MESSAGE_SIZE}")
        if count == 0:
            raise DecodeError("odid_empty_pack", "message pack with no messages")
        if count > PACK_MAX_MESSAGES:
            raise DecodeError("odid_pack_count", f"{count} messages, at most {PACK_MAX_MESSAGES}")
        end = 3 + MESSAGE_SIZE * count
        if end > n:
            raise DecodeError("odid_truncated_pack", f"pack of {count} needs {end} bytes, {n} present")
        if version > PROTOCOL_VERSION_MAX:
            contact.anomalies.append("protocol_version")
        # message versions are what the pack says about its content; the pack header agrees in practice
        contact.protocol_version = body[3] & 0x0F
        for off in range(3, end, MESSAGE_SIZE):
            _apply(contact, body[off:off + MESSAGE_SIZE], receive_time, auth)
    else:
        contact.protocol_version = version
        _apply(contact, body[:MESSAGE_SIZE], receive_time, auth)
    if auth:
        contact.auth = assemble_auth(auth, contact.anomalies)
