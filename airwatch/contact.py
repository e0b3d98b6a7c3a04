"""The contact: one model for every observation any source produces.

A contact is what one receiver heard from one transmitter at one instant: a Remote ID frame
(whatever its transport), a DJI DroneID beacon, a French beacon, a Wi-Fi frame whose signature
looks like a drone's, or an ADS-B message.  Decoders build contacts; the correlator merges them
into tracks; sinks store, publish and show them.

Rules that every decoder follows:

* Unknown or invalid values are ``None``, never a sentinel number: latitude/longitude 0/0,
  direction 361, speed 255, vertical speed 63, altitude -1000 and timestamp 0xFFFF all become
  ``None``.  A value that was out of the range the standard allows is also ``None`` and its
  field name is added to :attr:`Contact.anomalies` so compliance rules can see it.
* Every altitude keeps its reference in its name: ``alt_pressure_m`` (barometric, standard
  atmosphere), ``alt_geodetic_m`` (WGS-84 height above ellipsoid), ``alt_msl_m`` (above mean sea
  level, French beacon), ``height_m`` with ``height_ref`` (above take-off or above ground).
* Times are UNIX seconds (float, UTC).
* Enumerations keep the number the standard gives (``IntEnum`` members where the value is
  defined, the plain ``int`` where it is reserved), so nothing the transmitter said is lost.

The classes are plain ``slots`` dataclasses: they are built hundreds of thousands of times a
second on the decode path, and ``orjson`` serialises them natively.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Transport(StrEnum):
    """How a contact reached the receiver."""

    WIFI_BEACON = "wifi_beacon"  # ASTM F3411 / EN 4709-002 in a beacon vendor element
    WIFI_NAN = "wifi_nan"  # ASTM F3411 in a Wi-Fi NaN service discovery frame
    BT4_LEGACY = "bt4_legacy"  # ASTM F3411 in Bluetooth 4 legacy advertising
    BT5_LONG_RANGE = "bt5_long_range"  # ASTM F3411 in Bluetooth 5 extended advertising
    DJI_DRONEID = "dji_droneid"  # DJI's proprietary DroneID beacon element
    FRENCH_BEACON = "french_beacon"  # French "signalement electronique" beacon element
    WIFI_SIGNATURE = "wifi_signature"  # a Wi-Fi frame whose sender looks like a drone
    ADSB = "adsb"  # Mode S extended squitter (DF17), and DF18 TIS-B / ADS-R


class HeightRef(StrEnum):
    TAKEOFF = "takeoff"
    GROUND = "ground"


@dataclass(slots=True)
class BasicID:
    """ASTM F3411 Basic ID message (type 0): who the unmanned aircraft is."""

    id_type: int  # IdType
    ua_type: int  # UAType
    uas_id: str  # serial / CAA registration as text, UUID for type 3, hex for type 4


@dataclass(slots=True)
class Location:
    """Where the object is and how it moves.  ASTM Location/Vector, DJI, French or ADS-B."""

    lat: float | None = None
    lon: float | None = None
    alt_pressure_m: float | None = None
    alt_geodetic_m: float | None = None
    alt_msl_m: float | None = None
    height_m: float | None = None
    height_ref: HeightRef | None = None
    direction: float | None = None  # track over ground, degrees from true north
    speed_horizontal: float | None = None  # m/s
    speed_vertical: float | None = None  # m/s, up is positive
    status: int | None = None  # remoteid.enums.OperationalStatus
    accuracy_horizontal: int | None = None  # remoteid.enums.HorizontalAccuracy
    accuracy_vertical: int | None = None  # remoteid.enums.VerticalAccuracy
    accuracy_baro: int | None = None  # remoteid.enums.VerticalAccuracy
    accuracy_speed: int | None = None  # remoteid.enums.SpeedAccuracy
    timestamp: float | None = None  # seconds after the full hour as transmitted (0..3600)
    timestamp_accuracy: float | None = None  # seconds
    time: float | None = None  # UNIX time of the fix: the hour comes from the receive time


@dataclass(slots=True)
class GeoPoint:
    """An operator, take-off or home position."""

    lat: float
    lon: float
    alt_geodetic_m: float | None = None
    kind: str = "operator"  # "takeoff", "live_gnss", "fixed", "pilot", "home"


@dataclass(slots=True)
class SelfID:
    description_type: int  # DescriptionType
    description: str


@dataclass(slots=True)
class System:
    """ASTM System message (type 4), less the operator position (see Contact.operator)."""

    operator_location_type: int  # OperatorLocationType
    classification_type: int  # ClassificationType
    area_count: int
    area_radius_m: int
    area_ceiling_m: float | None
    area_floor_m: float | None
    ua_category: int  # EU category (Category)
    ua_class: int  # EU class (UAClass)
    timestamp: float | None  # UNIX time (transmitted as seconds since 2019-01-01)


@dataclass(slots=True)
class OperatorID:
    operator_id_type: int
    operator_id: str


@dataclass(slots=True)
class AuthPage:
    """One Authentication message (type 2) page as transmitted."""

    auth_type: int
    page_number: int
    last_page_index: int | None  # page 0 only
    length: int | None  # page 0 only: total authentication data bytes
    timestamp: float | None  # page 0 only: UNIX time
    data: bytes


@dataclass(slots=True)
class Authentication:
    """Authentication data reassembled from its pages (all pages heard)."""

    auth_type: int
    last_page_index: int
    length: int
    timestamp: float | None
    data: bytes  # exactly ``length`` bytes


@dataclass(slots=True)
class DjiInfo:
    """DJI DroneID telemetry (proprietary Wi-Fi beacon element, OUI 26:37:12)."""

    version: int
    sequence: int
    state: int  # state bit field, see decoders.dji.STATE_BITS
    serial: str
    product_type: int | None
    uuid: str
    yaw: float | None  # degrees
    pitch: float | None  # degrees (version 1)
    roll: float | None  # degrees (version 1)
    v_north: int  # raw, unit unverified
    v_east: int
    v_up: int
    altitude_raw: int  # raw, unit unverified (sources disagree)
    height_raw: int
    gps_time: float | None  # UNIX time (version 2)


@dataclass(slots=True)
class FrenchInfo:
    """French "signalement electronique" identity (OUI 6A:5C:35)."""

    protocol_version: int | None
    french_id: str | None
    serial: str | None


@dataclass(slots=True)
class Aircraft:
    """Mode S / ADS-B identity and state of a manned (or B6 unmanned) aircraft."""

    icao: str
    df: int
    source: str = "adsb"  # "adsb", "tisb", "adsr"
    callsign: str | None = None
    emitter_category: str | None = None  # "A3", "B6" (UAV), ...
    squawk: str | None = None
    on_ground: bool | None = None
    nac_p: int | None = None
    nac_v: int | None = None
    velocity_source: str | None = None  # "ground" or "air"
    gnss_baro_diff_m: float | None = None
    # Added for the ADS-B ingest; all optional, so older constructors keep working.
    heading: float | None = None  # degrees, from an airspeed (subtype 3/4) velocity message
    airspeed: float | None = None  # m/s, with airspeed_type
    airspeed_type: str | None = None  # "IAS" or "TAS"
    vertical_rate_source: str | None = None  # "gnss" or "baro"
    position_method: str | None = None  # CPR: "global", "local" (last position), "receiver"
    emergency: int | None = None  # DF17 TC28 emergency state (0 none, 1 general, ...)
    adsb_version: int | None = None  # from the operational status message (TC31)
    signal_dbfs: float | None = None  # receiver signal level (Beast), dB full scale

    @property
    def is_uav(self) -> bool:
        """Emitter category B6: an unmanned aircraft that broadcasts ADS-B."""
        return self.emitter_category == "B6"


@dataclass(slots=True)
class Contact:
    """One observation: what one sensor heard from one transmitter at one instant."""

    time: float  # receive time, UNIX seconds
    transport: Transport
    sensor_id: str | None = None
    source: str | None = None  # where it was read from: file name, interface, feed
    frame: int | None = None  # frame number in the source (1-based, as Wireshark counts)
    channel: int | None = None  # Wi-Fi channel, or BLE channel index (37..39 primary)
    freq_mhz: int | None = None
    phy: str | None = None  # "le_1m", "le_2m", "le_coded", "ofdm", "cck", ...
    rssi_dbm: int | None = None
    transmitter: str | None = None  # MAC / Bluetooth advertiser address, lower case
    ssid: str | None = None
    protocol_version: int | None = None  # ASTM message protocol version (0, 1, 2)
    counter: int | None = None  # transport message counter
    legacy_oui: bool = False  # Remote ID under the pre-standard OUI 90:3A:E6
    basic_ids: list[BasicID] = field(default_factory=list)
    location: Location | None = None
    operator: GeoPoint | None = None
    home: GeoPoint | None = None
    self_id: SelfID | None = None
    system: System | None = None
    operator_id: OperatorID | None = None
    auth_pages: list[AuthPage] = field(default_factory=list)
    auth: Authentication | None = None
    dji: DjiInfo | None = None
    french: FrenchInfo | None = None
    aircraft: Aircraft | None = None
    signature: str | None = None  # id of the drone signature rule a Wi-Fi transmitter matched
    anomalies: list[str] = field(default_factory=list)  # fields dropped as out of range
    raw: bytes | None = None  # the payload the contact was decoded from

    @property
    def uas_id(self) -> str | None:
        """The identity the track is keyed on: serial first, then any Basic ID, DJI, French."""
        best = None
        for b in self.basic_ids:
            if b.uas_id:
                if b.id_type == 1:
                    return b.uas_id
                best = best or b.uas_id
        if best:
            return best
        if self.dji is not None and self.dji.serial:
            return self.dji.serial
        if self.french is not None:
            return self.french.serial or self.french.french_id
        return None

    @property
    def has_position(self) -> bool:
        loc = self.location
        return loc is not None and loc.lat is not None and loc.lon is not None
