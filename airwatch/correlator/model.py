"""Tracks and alerts: what the correlator makes of contacts.

A track is one physical object over time (a drone, an operator-side emitter, an aircraft);
an alert is something an operator must see about one or two tracks, with its evidence in
words.  Both are plain dataclasses: storage, MQTT, JSON Lines and the console all read them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from airwatch.contact import GeoPoint, Transport


class TrackKind(StrEnum):
    DRONE = "drone"
    AIRCRAFT = "aircraft"
    UNKNOWN = "unknown"


class Classification(StrEnum):
    COOPERATIVE_DRONE = "cooperative_drone"  # standard Remote ID heard
    PROPRIETARY_DRONE = "proprietary_drone"  # identified only by a proprietary beacon (DJI DroneID, French)
    DRONE_SIGNATURE = "drone_signature"  # Wi-Fi transmitter matching a drone maker's signature
    OPERATOR_EMITTER = "operator_emitter"  # controller / phone of a drone pilot
    AIRCRAFT = "aircraft"  # ADS-B, manned
    COOPERATIVE_UAV = "cooperative_uav"  # ADS-B emitter category B6
    UNKNOWN = "unknown"


class TrackStatus(StrEnum):
    ACTIVE = "active"
    STALE = "stale"
    ENDED = "ended"


class AlertType(StrEnum):
    NON_COOPERATIVE = "non_cooperative"
    NON_COMPLIANT = "non_compliant"
    SPOOFING = "spoofing"
    PROXIMITY = "proximity"
    GEOFENCE = "geofence"
    EMERGENCY = "emergency"
    UNLISTED_UAV = "unlisted_uav"  # an ADS-B UAV (emitter category B6) not on the allow-list


class Severity(IntEnum):
    """Kismet's scale, so integrators can map it."""

    INFO = 0
    LOW = 5
    MEDIUM = 10
    HIGH = 15
    CRITICAL = 20

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(slots=True)
class Fix:
    """One position of a track, with each altitude keeping its reference."""

    time: float
    lat: float
    lon: float
    alt_pressure_m: float | None = None
    alt_geodetic_m: float | None = None
    height_m: float | None = None
    speed_horizontal: float | None = None
    direction: float | None = None
    speed_vertical: float | None = None
    sensor_id: str | None = None
    transport: Transport | None = None
    transmitter: str | None = None


@dataclass(slots=True)
class Radio:
    """How the track was last heard: the radio side of its last contact."""

    time: float
    transport: Transport
    sensor_id: str | None = None
    transmitter: str | None = None
    channel: int | None = None
    freq_mhz: int | None = None
    phy: str | None = None
    rssi_dbm: int | None = None
    ssid: str | None = None
    protocol_version: int | None = None
    legacy_oui: bool = False
    anomalies: tuple[str, ...] = ()


@dataclass(slots=True)
class Track:
    track_id: str  # "rid:<uas id>", "dji:<serial>", "fr:<id>", "mac:<address>", "icao:<address>"
    kind: TrackKind
    classification: Classification
    first_seen: float
    last_seen: float
    uas_id: str | None = None
    icao: str | None = None
    callsign: str | None = None
    macs: set[str] = field(default_factory=set)
    sources: set[Transport] = field(default_factory=set)
    sensors: set[str] = field(default_factory=set)
    contacts: int = 0
    positions: int = 0
    last_fix: Fix | None = None
    trail: deque[Fix] = field(default_factory=lambda: deque(maxlen=64))
    operator: GeoPoint | None = None
    home: GeoPoint | None = None
    last_rid_time: float | None = None  # last time standard Remote ID was heard for this object
    geo_minus_baro_m: float | None = None  # ADS-B: GNSS minus barometric altitude, last reported
    signature: str | None = None  # the signature rule that matched (drone signatures)
    confidence: float = 1.0
    status: TrackStatus = TrackStatus.ACTIVE
    alert_types: set[AlertType] = field(default_factory=set)
    rssi_dbm: int | None = None  # last signal level heard (any sensor)
    rssi_trail: deque[int] = field(default_factory=lambda: deque(maxlen=32))
    #: The last decoded record of each kind, for the detail pane and the compliance checklist:
    #: "basic_id:<id type>", "location", "system", "self_id", "operator_id", "auth", "dji",
    #: "french", "aircraft", and "radio" (a :class:`Radio`).
    latest: dict[str, object] = field(default_factory=dict)

    @property
    def cooperative(self) -> bool:
        return self.classification in (Classification.COOPERATIVE_DRONE, Classification.AIRCRAFT,
                                       Classification.COOPERATIVE_UAV)


@dataclass(slots=True)
class Alert:
    alert_id: str  # stable: "<type>:<track ids>:<first time>"
    type: AlertType
    severity: Severity
    time: float  # when it was raised (capture time in replay)
    track_ids: tuple[str, ...]
    message: str  # the evidence, in words
    uas_id: str | None = None
    icao: str | None = None
    mac: str | None = None
    rule: str | None = None  # catalogue id, e.g. "SP-3"
    last_time: float | None = None  # last time the condition was seen (repeats fold into the alert)
    count: int = 1
    acknowledged: bool = False
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
