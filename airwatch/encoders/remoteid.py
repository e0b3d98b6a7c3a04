"""ASTM F3411 messages from contact records: the inverse of ``decoders.remoteid.messages``.

Layouts and scalings are opendroneid-core-c's (``opendroneid.c`` ``encode*Message``); every
multi-byte field is little-endian.  See ``../shared/reference/remote-id-wire-formats.md`` §2.

Each function takes the record the decoder produces and returns the 25-byte message, so that
``decode_odid(encode_pack([encode_x(r)]), contact)`` gives ``r`` back to the field's quantisation.
``None`` becomes the value the decoder reads back as ``None`` (unknown).

Quantisation follows core-c: direction and timestamps are rounded (half away from zero),
speeds and altitudes are truncated toward zero.  Two deliberate differences: latitude and
longitude are *rounded* to 1e-7 degree (core-c truncates, which turns ``raw * 1e-7`` back into
``raw - 1``), and a direction that rounds to 360 is written as 0.  Values are saturated to what
the wire field can hold, not to what the standard allows, so out-of-range values can still be
produced on purpose (anomaly and fuzz tests).
"""

from __future__ import annotations

import math
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
from airwatch.decoders.remoteid.messages import EPOCH_2019, MESSAGE_SIZE, PACK_MAX_MESSAGES

# Message type numbers (header bits 7..4).
BASIC_ID, LOCATION, AUTH, SELF_ID, SYSTEM, OPERATOR_ID, MESSAGE_PACK = 0, 1, 2, 3, 4, 5, 0xF

# Field layouts after the header byte, named after the standard's fields.
BASIC_ID_FMT = struct.Struct("<B20s3x")  # id_type<<4 | ua_type, UAS ID, reserved
LOCATION_FMT = struct.Struct(
    "<B"  # status<<4 | height_type<<2 | ew_direction<<1 | speed_multiplier
    "B"  # direction
    "B"  # horizontal speed
    "b"  # vertical speed
    "i"  # latitude * 1e7
    "i"  # longitude * 1e7
    "H"  # pressure altitude
    "H"  # geodetic altitude
    "H"  # height
    "B"  # vertical_accuracy<<4 | horizontal_accuracy
    "B"  # baro_accuracy<<4 | speed_accuracy
    "H"  # timestamp, tenths of seconds after the hour
    "B"  # timestamp accuracy (low nibble)
    "x"  # reserved
)
AUTH_PAGE0_FMT = struct.Struct("<BBBI17s")  # type<<4|page, last page index, length, timestamp, data
AUTH_PAGE_FMT = struct.Struct("<B23s")  # type<<4|page, data
SELF_ID_FMT = struct.Struct("<B23s")  # description type, description
SYSTEM_FMT = struct.Struct(
    "<B"  # classification_type<<2 | operator_location_type
    "i"  # operator latitude * 1e7
    "i"  # operator longitude * 1e7
    "H"  # area count
    "B"  # area radius / 10 m
    "H"  # area ceiling
    "H"  # area floor
    "B"  # category<<4 | class
    "H"  # operator geodetic altitude
    "I"  # timestamp, seconds since 2019-01-01
    "x"  # reserved
)
OPERATOR_ID_FMT = struct.Struct("<B20s3x")  # operator ID type, operator ID, reserved
PACK_HEADER_FMT = struct.Struct("<BBB")  # 0xF<<4 | version, message size, message count

AUTH_PAGE0_DATA = 17
AUTH_PAGE_DATA = 23
AUTH_MAX_PAGES = 16

UNKNOWN_DIRECTION = 361
UNKNOWN_SPEED_RAW = 255  # with the speed multiplier set
UNKNOWN_VSPEED_RAW = 126  # 63 m/s
UNKNOWN_TIMESTAMP = 0xFFFF
UNKNOWN_ALTITUDE_RAW = 0  # -1000 m


def _clamp(value: int, low: int, high: int) -> int:
    return low if value < low else high if value > high else value


def _round(value: float) -> int:
    """Round half away from zero, as C's ``roundf``."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _header(kind: int, version: int) -> bytes:
    return bytes(((kind << 4) | (version & 0x0F),))


def _text(value: str | None, size: int) -> bytes:
    """ASCII, truncated to the field; ``struct`` pads with NULs."""
    return (value or "").encode("ascii", "replace")[:size]


def altitude(metres: float | None) -> int:
    """Altitude encoding: (m + 1000) / 0.5, truncated; unknown -> 0."""
    if metres is None:
        return UNKNOWN_ALTITUDE_RAW
    return _clamp(int((metres + 1000.0) / 0.5), 0, 0xFFFF)


def latlon(degrees: float | None) -> int:
    return 0 if degrees is None else _clamp(_round(degrees * 1e7), -(2**31), 2**31 - 1)


def direction(degrees: float | None) -> tuple[int, int]:
    """(direction byte, E/W bit)."""
    d = UNKNOWN_DIRECTION if degrees is None else _clamp(_round(degrees), 0, 255 + 180)
    if d == 360:
        d = 0
    return (d, 0) if d < 180 else (d - 180, 1)


def speed_horizontal(mps: float | None) -> tuple[int, int]:
    """(speed byte, multiplier bit)."""
    if mps is None:
        return UNKNOWN_SPEED_RAW, 1
    if mps <= 255 * 0.25:
        return _clamp(int(mps / 0.25), 0, 255), 0
    return _clamp(int((mps - 255 * 0.25) / 0.75), 0, 255), 1


def speed_vertical(mps: float | None) -> int:
    return UNKNOWN_VSPEED_RAW if mps is None else _clamp(int(mps / 0.5), -128, 127)


def tenths_after_hour(seconds: float | None) -> int:
    return UNKNOWN_TIMESTAMP if seconds is None else _clamp(_round(seconds * 10), 0, 0xFFFF)


def seconds_since_2019(unix_time: float | None) -> int:
    """F3411 32-bit timestamps (System, Authentication); unknown -> 0."""
    return 0 if unix_time is None else _clamp(_round(unix_time - EPOCH_2019), 0, 0xFFFFFFFF)


def uas_id_bytes(id_type: int, uas_id: str) -> bytes:
    """The 20 UAS ID bytes.  Type 3 (UUID) and 4 (session ID) are the decoder's text inverted:
    a UUID string -> 16 bytes + 4 zeros, 40 hex characters -> 20 bytes; anything else is ASCII."""
    if id_type in (3, 4):
        if len(uas_id) == 40:
            try:
                return bytes.fromhex(uas_id)
            except ValueError:
                pass
        if id_type == 3:
            try:
                return uuid.UUID(uas_id).bytes
            except ValueError:
                pass
    return _text(uas_id, 20)


def encode_basic_id(basic: BasicID, version: int = 2) -> bytes:
    types = ((basic.id_type & 0x0F) << 4) | (basic.ua_type & 0x0F)
    return _header(BASIC_ID, version) + BASIC_ID_FMT.pack(types, uas_id_bytes(basic.id_type, basic.uas_id))


def encode_location(loc: Location, version: int = 2) -> bytes:
    dir_raw, ew = direction(loc.direction)
    speed_raw, mult = speed_horizontal(loc.speed_horizontal)
    if loc.lat is None or loc.lon is None:
        lat = lon = 0
    else:
        lat, lon = latlon(loc.lat), latlon(loc.lon)
    seconds = loc.timestamp
    if seconds is None and loc.time is not None:
        seconds = loc.time % 3600.0
    flags = (
        ((loc.status or 0) & 0x0F) << 4
        | (1 if loc.height_ref == HeightRef.GROUND else 0) << 2
        | ew << 1
        | mult
    )
    ts_acc = 0 if loc.timestamp_accuracy is None else _clamp(_round(loc.timestamp_accuracy * 10), 0, 15)
    return _header(LOCATION, version) + LOCATION_FMT.pack(
        flags,
        dir_raw,
        speed_raw,
        speed_vertical(loc.speed_vertical),
        lat,
        lon,
        altitude(loc.alt_pressure_m),
        altitude(loc.alt_geodetic_m),
        altitude(loc.height_m),
        ((loc.accuracy_vertical or 0) & 0x0F) << 4 | ((loc.accuracy_horizontal or 0) & 0x0F),
        ((loc.accuracy_baro or 0) & 0x0F) << 4 | ((loc.accuracy_speed or 0) & 0x0F),
        tenths_after_hour(seconds),
        ts_acc,
    )


def encode_auth_page(page: AuthPage, version: int = 2) -> bytes:
    """One Authentication page exactly as given (data padded or cut to the page's room)."""
    type_page = (page.auth_type & 0x0F) << 4 | (page.page_number & 0x0F)
    if page.page_number == 0:
        body = AUTH_PAGE0_FMT.pack(
            type_page,
            (page.last_page_index or 0) & 0xFF,
            (page.length or 0) & 0xFF,
            seconds_since_2019(page.timestamp),
            page.data[:AUTH_PAGE0_DATA],
        )
    else:
        body = AUTH_PAGE_FMT.pack(type_page, page.data[:AUTH_PAGE_DATA])
    return _header(AUTH, version) + body


def auth_to_pages(auth: Authentication) -> list[AuthPage]:
    """Split reassembled authentication data into its pages (17 bytes, then 23 per page).

    ``auth.last_page_index`` is written as given; the data must fit in that many pages.
    """
    last = auth.last_page_index
    room = AUTH_PAGE0_DATA + AUTH_PAGE_DATA * last
    if not 0 <= last < AUTH_MAX_PAGES or len(auth.data) > room:
        raise ValueError(f"{len(auth.data)} bytes of authentication data in {last + 1} pages")
    data = auth.data.ljust(room, b"\0")
    pages = [AuthPage(auth.auth_type, 0, last, auth.length, auth.timestamp, data[:AUTH_PAGE0_DATA])]
    for n in range(1, last + 1):
        start = AUTH_PAGE0_DATA + AUTH_PAGE_DATA * (n - 1)
        pages.append(AuthPage(auth.auth_type, n, None, None, None, data[start:start + AUTH_PAGE_DATA]))
    return pages


def encode_auth_pages(auth: Authentication | list[AuthPage], version: int = 2) -> list[bytes]:
    pages = auth_to_pages(auth) if isinstance(auth, Authentication) else auth
    return [encode_auth_page(p, version) for p in pages]


def encode_self_id(self_id: SelfID, version: int = 2) -> bytes:
    return _header(SELF_ID, version) + SELF_ID_FMT.pack(self_id.description_type & 0xFF, _text(self_id.description, 23))


def encode_system(system: System, operator: GeoPoint | None = None, version: int = 2) -> bytes:
    flags = (system.classification_type & 0x07) << 2 | (system.operator_location_type & 0x03)
    if operator is None:
        lat = lon = 0
        op_alt = UNKNOWN_ALTITUDE_RAW
    else:
        lat, lon, op_alt = latlon(operator.lat), latlon(operator.lon), altitude(operator.alt_geodetic_m)
    return _header(SYSTEM, version) + SYSTEM_FMT.pack(
        flags,
        lat,
        lon,
        _clamp(system.area_count, 0, 0xFFFF),
        _clamp(int(system.area_radius_m // 10), 0, 255),
        altitude(system.area_ceiling_m),
        altitude(system.area_floor_m),
        (system.ua_category & 0x0F) << 4 | (system.ua_class & 0x0F),
        op_alt,
        seconds_since_2019(system.timestamp),
    )


def encode_operator_id(op: OperatorID, version: int = 2) -> bytes:
    return _header(OPERATOR_ID, version) + OPERATOR_ID_FMT.pack(op.operator_id_type & 0xFF, _text(op.operator_id, 20))


def encode_pack(messages: list[bytes], version: int = 2) -> bytes:
    """Message pack: 0xFv, 0x19, N, then the N 25-byte messages (1 <= N <= 9)."""
    if not 1 <= len(messages) <= PACK_MAX_MESSAGES:
        raise ValueError(f"a message pack holds 1..{PACK_MAX_MESSAGES} messages, not {len(messages)}")
    for m in messages:
        if len(m) != MESSAGE_SIZE:
            raise ValueError(f"message of {len(m)} bytes, must be {MESSAGE_SIZE}")
    return PACK_HEADER_FMT.pack(MESSAGE_PACK << 4 | (version & 0x0F), MESSAGE_SIZE, len(messages)) + b"".join(messages)


def encode_contact_messages(contact: Contact, version: int | None = None) -> list[bytes]:
    """Every F3411 message the contact carries, in message-type order.

    Authentication comes from ``contact.auth_pages`` (as transmitted, so bytes after the
    declared length survive) or, failing those, ``contact.auth`` split into pages.  ``version`` defaults to ``contact.protocol_version`` or 2.
    """
    v = version if version is not None else contact.protocol_version if contact.protocol_version is not None else 2
    out = [encode_basic_id(b, v) for b in contact.basic_ids]
    if contact.location is not None:
        out.append(encode_location(contact.location, v))
    if contact.auth_pages:
        out += encode_auth_pages(contact.auth_pages, v)
    elif contact.auth is not None:
        out += encode_auth_pages(contact.auth, v)
    if contact.self_id is not None:
        out.append(encode_self_id(contact.self_id, v))
    if contact.system is not None:
        out.append(encode_system(contact.system, contact.operator, v))
    if contact.operator_id is not None:
        out.append(encode_operator_id(contact.operator_id, v))
    return out


def encode_contact_pack(contact: Contact, version: int | None = None) -> bytes:
    """The contact's messages as one pack (at most 9 messages: raises otherwise)."""
    v = version if version is not None else contact.protocol_version if contact.protocol_version is not None else 2
    return encode_pack(encode_contact_messages(contact, v), v)
