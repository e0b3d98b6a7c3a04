"""ASTM F3411 / ASD-STAN EN 4709-002 enumerations, numbered as the standard numbers them.

Names follow opendroneid-core-c's ``opendroneid.h``.  A value the standard reserves has no
member: :func:`lookup` returns the plain ``int`` so nothing the transmitter sent is lost.
"""

from __future__ import annotations

from enum import IntEnum


class MessageType(IntEnum):
    BASIC_ID = 0
    LOCATION = 1
    AUTH = 2
    SELF_ID = 3
    SYSTEM = 4
    OPERATOR_ID = 5
    MESSAGE_PACK = 0xF


class IdType(IntEnum):
    NONE = 0
    SERIAL_NUMBER = 1  # ANSI/CTA-2063-A
    CAA_REGISTRATION_ID = 2
    UTM_ASSIGNED_UUID = 3
    SPECIFIC_SESSION_ID = 4


class UAType(IntEnum):
    NONE = 0
    AEROPLANE = 1
    HELICOPTER_OR_MULTIROTOR = 2
    GYROPLANE = 3
    HYBRID_LIFT = 4  # fixed wing that can take off vertically
    ORNITHOPTER = 5
    GLIDER = 6
    KITE = 7
    FREE_BALLOON = 8
    CAPTIVE_BALLOON = 9
    AIRSHIP = 10
    FREE_FALL_PARACHUTE = 11
    ROCKET = 12
    TETHERED_POWERED_AIRCRAFT = 13
    GROUND_OBSTACLE = 14
    OTHER = 15


class OperationalStatus(IntEnum):
    UNDECLARED = 0
    GROUND = 1
    AIRBORNE = 2
    EMERGENCY = 3
    REMOTE_ID_SYSTEM_FAILURE = 4


class HeightType(IntEnum):
    ABOVE_TAKEOFF = 0
    ABOVE_GROUND_LEVEL = 1


class HorizontalAccuracy(IntEnum):
    UNKNOWN = 0
    NM_10 = 1
    NM_4 = 2
    NM_2 = 3
    NM_1 = 4
    NM_0_5 = 5
    NM_0_3 = 6
    NM_0_1 = 7
    NM_0_05 = 8
    METER_30 = 9
    METER_10 = 10
    METER_3 = 11
    METER_1 = 12


class VerticalAccuracy(IntEnum):
    UNKNOWN = 0
    METER_150 = 1
    METER_45 = 2
    METER_25 = 3
    METER_10 = 4
    METER_3 = 5
    METER_1 = 6


class SpeedAccuracy(IntEnum):
    UNKNOWN = 0
    METER_PER_SECOND_10 = 1
    METER_PER_SECOND_3 = 2
    METER_PER_SECOND_1 = 3
    METER_PER_SECOND_0_3 = 4


class AuthType(IntEnum):
    NONE = 0
    UAS_ID_SIGNATURE = 1
    OPERATOR_ID_SIGNATURE = 2
    MESSAGE_SET_SIGNATURE = 3
    NETWORK_REMOTE_ID = 4
    SPECIFIC_AUTHENTICATION = 5


class DescriptionType(IntEnum):
    TEXT = 0
    EMERGENCY = 1
    EXTENDED_STATUS = 2


class OperatorLocationType(IntEnum):
    TAKEOFF = 0
    LIVE_GNSS = 1
    FIXED = 2


class ClassificationType(IntEnum):
    UNDECLARED = 0
    EU = 1


class Category(IntEnum):
    """EU UAS category (System message, when the classification type is EU)."""

    UNDECLARED = 0
    OPEN = 1
    SPECIFIC = 2
    CERTIFIED = 3


class UAClass(IntEnum):
    """EU UA class: the wire value is one more than the class number (1 = C0)."""

    UNDECLARED = 0
    CLASS_0 = 1
    CLASS_1 = 2
    CLASS_2 = 3
    CLASS_3 = 4
    CLASS_4 = 5
    CLASS_5 = 6
    CLASS_6 = 7


class OperatorIdType(IntEnum):
    OPERATOR_ID = 0


#: Metres an accuracy enum guarantees (upper bound), for the correlator and the console.
HORIZONTAL_ACCURACY_M = {
    1: 18520.0, 2: 7408.0, 3: 3704.0, 4: 1852.0, 5: 926.0, 6: 555.6, 7: 185.2, 8: 92.6,
    9: 30.0, 10: 10.0, 11: 3.0, 12: 1.0,
}
VERTICAL_ACCURACY_M = {1: 150.0, 2: 45.0, 3: 25.0, 4: 10.0, 5: 3.0, 6: 1.0}
SPEED_ACCURACY_MS = {1: 10.0, 2: 3.0, 3: 1.0, 4: 0.3}


def table(enum: type[IntEnum]) -> tuple[int, ...]:
    """Index it with a byte value: the member where the value is defined, else the plain ``int``.

    The decoders index these tuples directly: a function call per field costs more than the rest
    of the field's decoding.
    """
    members = {m.value: m for m in enum}
    return tuple(members.get(v, v) for v in range(256))


def lookup(enum: type[IntEnum], value: int) -> int:
    """``enum(value)`` where the value is defined, else the plain ``int`` (reserved values)."""
    return table(enum)[value] if 0 <= value < 256 else value


def name(enum: type[IntEnum], value: int | None) -> str:
    """A readable name for a value: ``serial_number``, ``reserved(7)``, ``unknown``."""
    if value is None:
        return "unknown"
    try:
        return enum(value).name.lower()
    except ValueError:
        if enum in (DescriptionType, OperatorIdType) and value >= 201:
            return f"private({value})"
        return f"reserved({value})"
