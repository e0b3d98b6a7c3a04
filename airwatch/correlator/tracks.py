"""One track per physical object: contacts are keyed to tracks by identity.

Identity, strongest first: the Remote ID UAS ID (serial, session ID, CAA ID), the DJI serial,
the French ID, the ICAO address; failing those, the transmitter address.  The same drone heard
over Wi-Fi beacon, NaN, Bluetooth 4 and 5 is one track, whatever its (rotating) Bluetooth
address.  A Remote ID frame without a Basic ID (packs of one message) joins the track its
transmitter was last seen with; a transmitter first heard without one gets a provisional track
that merges into the identity's track once the Basic ID arrives.

State is bounded: at most ``max_tracks`` tracks (the longest silent are dropped first) and as
many transmitter bindings.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from airwatch.contact import Contact, Transport
from airwatch.correlator.model import Classification, Fix, Radio, Track, TrackKind, TrackStatus
from airwatch.decoders.signatures import SignatureMatcher

REMOTE_ID = frozenset({Transport.WIFI_BEACON, Transport.WIFI_NAN, Transport.BT4_LEGACY, Transport.BT5_LONG_RANGE})


@dataclass(slots=True)
class Update:
    """What one contact did to the track table."""

    track: Track
    fix: Fix | None
    new: bool
    merged: tuple[str, ...] = ()  # provisional tracks folded into this one
    evicted: tuple[str, ...] = ()  # tracks dropped to keep the table bounded


def identity_key(contact: Contact) -> str | None:
    if contact.transport in REMOTE_ID:
        uas_id = contact.uas_id
        return f"rid:{uas_id}" if uas_id else None
    if contact.transport is Transport.ADSB and contact.aircraft is not None:
        return f"icao:{contact.aircraft.icao}"
    if contact.transport is Transport.DJI_DRONEID and contact.dji is not None and contact.dji.serial:
        return f"dji:{contact.dji.serial}"
    if contact.transport is Transport.FRENCH_BEACON and contact.french is not None:
        ident = contact.french.french_id or contact.french.serial
        return f"fr:{ident}" if ident else None
    return None


class TrackTable:
    def __init__(self, max_tracks: int = 5000, signatures: SignatureMatcher | None = None) -> None:
        self.max_tracks = max_tracks
        self.signatures = signatures
        self.tracks: OrderedDict[str, Track] = OrderedDict()  # least recently heard first
        self.by_transmitter: OrderedDict[str, str] = OrderedDict()  # address -> track id
        self.evicted = 0
        # last time standard Remote ID was heard, by transmitter and by identity (for non-cooperative checks)
        self.rid_by_transmitter: OrderedDict[str, float] = OrderedDict()
        self.rid_by_identity: OrderedDict[str, float] = OrderedDict()

    def get(self, track_id: str) -> Track | None:
        return self.tracks.get(track_id)

    def update(self, contact: Contact) -> Update:
        key = identity_key(contact)
        mac = contact.transmitter
        merged: tuple[str, ...] = ()
        if key is None:
            key = self.by_transmitter.get(mac) if mac else None
            if key is None or key not in self.tracks:
                key = f"mac:{mac}" if mac else f"unknown:{contact.transport.value}"
        elif mac:
            previous = self.by_transmitter.get(mac)
            if previous is not None and previous != key and previous.startswith("mac:") and previous in self.tracks:
                merged = (previous,)
        track = self.tracks.get(key)
        new = track is None
        if new:
            track = self._new_track(key, contact)
            self.tracks[key] = track
        else:
            self.tracks.move_to_end(key)
        for old in merged:
            self._merge(self.tracks.pop(old), track)
        if mac:
            self.by_transmitter[mac] = key
            self.by_transmitter.move_to_end(mac)
        fix = self._apply(track, contact)
        return Update(track, fix, new, merged, self._bound())

    def _new_track(self, key: str, contact: Contact) -> Track:
        kind, classification, confidence = TrackKind.UNKNOWN, Classification.UNKNOWN, 0.0
        t = contact.transport
        signature = None
        if t in REMOTE_ID:
            kind, classification, confidence = TrackKind.DRONE, Classification.COOPERATIVE_DRONE, 1.0
        elif t is Transport.DJI_DRONEID or t is Transport.FRENCH_BEACON:
            kind, classification, confidence = TrackKind.DRONE, Classification.PROPRIETARY_DRONE, 1.0
        elif t is Transport.ADSB:
            kind, classification, confidence = TrackKind.AIRCRAFT, Classification.AIRCRAFT, 1.0
        elif t is Transport.WIFI_SIGNATURE and contact.signature and self.signatures is not None:
            rule = next((r for r in self.signatures.rules if r.id == contact.signature), None)
            if rule is not None:
                signature = rule.id
                confidence = rule.confidence
                if rule.role == "operator":
                    classification = Classification.OPERATOR_EMITTER
                else:
                    kind, classification = TrackKind.DRONE, Classification.DRONE_SIGNATURE
        track = Track(track_id=key, kind=kind, classification=classification, first_seen=contact.time,
                      last_seen=contact.time, signature=signature, confidence=confidence)
        return track

    def _apply(self, track: Track, contact: Contact) -> Fix | None:
        t = contact.transport
        track.last_seen = max(track.last_seen, contact.time)
        track.status = TrackStatus.ACTIVE
        track.contacts += 1
        track.sources.add(t)
        if contact.sensor_id:
            track.sensors.add(contact.sensor_id)
        if contact.transmitter and t is not Transport.ADSB:
            track.macs.add(contact.transmitter)
        if t in REMOTE_ID:
            track.last_rid_time = contact.time
            for book, key in ((self.rid_by_transmitter, contact.transmitter), (self.rid_by_identity, contact.uas_id)):
                if key:
                    book[key] = contact.time
                    book.move_to_end(key)
            if track.classification in (Classification.DRONE_SIGNATURE, Classification.PROPRIETARY_DRONE,
                                        Classification.UNKNOWN):
                track.kind, track.classification, track.confidence = (
                    TrackKind.DRONE, Classification.COOPERATIVE_DRONE, 1.0)
        uas_id = contact.uas_id
        if uas_id and track.uas_id is None:
            track.uas_id = uas_id
        if contact.aircraft is not None:
            a = contact.aircraft
            track.icao = a.icao
            if a.callsign:
                track.callsign = a.callsign
            if a.emitter_category == "B6":
                track.classification = Classification.COOPERATIVE_UAV
            if a.gnss_baro_diff_m is not None:
                track.geo_minus_baro_m = a.gnss_baro_diff_m
        if contact.operator is not None:
            track.operator = contact.operator
        if contact.home is not None:
            track.home = contact.home
        self._remember(track, contact)
        loc = contact.location
        if loc is None or loc.lat is None or loc.lon is None:
            return None
        geodetic = loc.alt_geodetic_m
        if geodetic is None and loc.alt_pressure_m is not None and track.geo_minus_baro_m is not None:
            geodetic = loc.alt_pressure_m + track.geo_minus_baro_m  # ADS-B: baro + GNSS-minus-baro
        fix = Fix(time=contact.time, lat=loc.lat, lon=loc.lon, alt_pressure_m=loc.alt_pressure_m,
                  alt_geodetic_m=geodetic, height_m=loc.height_m, speed_horizontal=loc.speed_horizontal,
                  direction=loc.direction, speed_vertical=loc.speed_vertical, sensor_id=contact.sensor_id,
                  transport=t, transmitter=contact.transmitter)
        track.last_fix = fix
        track.trail.append(fix)
        track.positions += 1
        return fix

    @staticmethod
    def _remember(track: Track, contact: Contact) -> None:
        """Keep the last record of each kind (the detail pane shows every decoded field)."""
        latest = track.latest
        if contact.rssi_dbm is not None:
            track.rssi_dbm = contact.rssi_dbm
            track.rssi_trail.append(contact.rssi_dbm)
        latest["radio"] = Radio(contact.time, contact.transport, contact.sensor_id, contact.transmitter,
                                contact.channel, contact.freq_mhz, contact.phy, contact.rssi_dbm, contact.ssid,
                                contact.protocol_version, contact.legacy_oui, tuple(contact.anomalies))
        for b in contact.basic_ids:
            latest[f"basic_id:{b.id_type}"] = b
        for key, record in (("location", contact.location), ("system", contact.system),
                            ("self_id", contact.self_id), ("operator_id", contact.operator_id),
                            ("auth", contact.auth), ("dji", contact.dji), ("french", contact.french),
                            ("aircraft", contact.aircraft)):
            if record is not None:
                latest[key] = record

    def _merge(self, old: Track, into: Track) -> None:
        into.first_seen = min(into.first_seen, old.first_seen)
        into.contacts += old.contacts
        into.positions += old.positions
        into.macs |= old.macs
        into.sources |= old.sources
        into.sensors |= old.sensors
        into.alert_types |= old.alert_types
        if old.last_rid_time is not None:
            into.last_rid_time = max(into.last_rid_time or 0.0, old.last_rid_time)
        into.operator = into.operator or old.operator
        into.latest = {**old.latest, **into.latest}
        if into.rssi_dbm is None:
            into.rssi_dbm = old.rssi_dbm
        into.home = into.home or old.home
        if into.last_fix is None or (old.last_fix is not None and old.last_fix.time > into.last_fix.time):
            into.last_fix = old.last_fix
        into.trail = type(into.trail)(sorted([*old.trail, *into.trail], key=lambda f: f.time),
                                      maxlen=into.trail.maxlen)
        for mac, key in list(self.by_transmitter.items()):
            if key == old.track_id:
                self.by_transmitter[mac] = into.track_id

    def _bound(self) -> tuple[str, ...]:
        evicted = []
        while len(self.tracks) > self.max_tracks:
            evicted.append(self.tracks.popitem(last=False)[0])
            self.evicted += 1
        for book in (self.by_transmitter, self.rid_by_transmitter, self.rid_by_identity):
            while len(book) > 2 * self.max_tracks:
                book.popitem(last=False)
        return tuple(evicted)

    def last_remote_id(self, track: Track) -> float | None:
        """When standard Remote ID was last heard from this object: same track, transmitter or identity."""
        times = [track.last_rid_time] if track.last_rid_time is not None else []
        times += [self.rid_by_transmitter[m] for m in track.macs if m in self.rid_by_transmitter]
        for ident in (track.uas_id,):
            if ident and ident in self.rid_by_identity:
                times.append(self.rid_by_identity[ident])
        return max(times) if times else None

    def age(self, now: float, stale_after: float, end_after: float) -> list[Track]:
        """Mark silent tracks stale or ended; returns the tracks that ended (and drops them)."""
        ended = []
        for track in self.tracks.values():  # least recently heard first
            silence = now - track.last_seen
            if silence < stale_after:
                break
            if silence >= end_after:
                track.status = TrackStatus.ENDED
                ended.append(track)
            else:
                track.status = TrackStatus.STALE
        for track in ended:
            del self.tracks[track.track_id]
        return ended
