"""SPOOFING, where a drone says it is (detection-rules.md §2.5 C): positions no radio could hear.

SP-12 null island, or farther from the sensor that heard it than any Wi-Fi or Bluetooth link
reaches (50 km); SP-4 farther than that transport reaches (Wi-Fi 1.5 km, Bluetooth 2 km, DroneID
10 km by default); SP-5 heard far stronger than a drone's transmitter allows over the distance it
claims (free-space loss, the least there can be): it is nearer than it says.
"""

from __future__ import annotations

from collections import OrderedDict

from airwatch.contact import Contact, Transport
from airwatch.correlator import geo
from airwatch.correlator.alerts import Finding
from airwatch.correlator.model import AlertType, Fix, Severity, Track, TrackKind
from airwatch.correlator.rules.base import Rule, in_a_row
from airwatch.decoders.wifi import frequency_mhz

NULL_ISLAND_DEG = 0.5
FAR_WORLD_M = 50_000.0  # a claimed position this far from every sensor is not heard over Wi-Fi or Bluetooth
RSSI_MIN_RANGE_M = 100.0  # SP-5: nearer than this, antennas and reflections decide, not distance
RSSI_STRIKES = 3  # SP-5: this many contacts in a row too strong


class ClaimedPosition(Rule):
    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.too_strong: OrderedDict[str, int] = OrderedDict()  # track id -> contacts in a row too strong (SP-5)

    def forget(self, track_id: str) -> None:
        self.too_strong.pop(track_id, None)

    def on_contact(self, contact: Contact, track: Track, fix: Fix | None, new: bool) -> list[Finding]:
        loc = contact.location
        if loc is None or loc.lat is None or loc.lon is None or track.kind is not TrackKind.DRONE:
            return []
        who = track.uas_id or track.track_id
        if abs(loc.lat) < NULL_ISLAND_DEG and abs(loc.lon) < NULL_ISLAND_DEG:
            return [Finding(AlertType.SPOOFING, Severity.HIGH, "SP-12",
                            f"{who} claims a position at null island ({loc.lat:.5f}, {loc.lon:.5f})",
                            (track,), contact.time, "null_island")]
        if contact.transport is Transport.ADSB:
            return []
        return self._range(contact, track, who, contact.time)

    def _range(self, contact: Contact, track: Track, who: str, now: float) -> list[Finding]:
        """SP-12 beyond any radio (50 km), SP-4 beyond this transport's radio range."""
        sensors = self.ctx.sensors or {}
        sensor = sensors.get(contact.sensor_id or "")
        loc = contact.location
        if sensor is None or sensor.lat is None or sensor.lon is None or loc is None:
            return []
        d = geo.distance_m(sensor.lat, sensor.lon, loc.lat, loc.lon)  # type: ignore[arg-type]
        if d > FAR_WORLD_M:
            return [Finding(AlertType.SPOOFING, Severity.HIGH, "SP-12",
                            f"{who} claims a position more than {FAR_WORLD_M / 1000:.0f} km from the sensor that "
                            f"heard it ({loc.lat:.5f}, {loc.lon:.5f})", (track,), now, "far")]
        s = self.ctx.settings
        t = contact.transport
        reach = (s.radio_range_droneid_m if t is Transport.DJI_DRONEID else
                 s.radio_range_bluetooth_m if t in (Transport.BT4_LEGACY, Transport.BT5_LONG_RANGE) else
                 s.radio_range_wifi_m)
        found = self._strength(contact, track, who, now, d, sensor.id)
        if d > reach:
            found.append(Finding(AlertType.SPOOFING, Severity.HIGH, "SP-4",
                                 f"{who} claims a position {d / 1000:.1f} km from sensor {sensor.id}, which hears "
                                 f"{t.value} to {reach / 1000:.1f} km", (track,), now, "range"))
        return found

    def _strength(self, contact: Contact, track: Track, who: str, now: float, d: float,
                  sensor_id: str) -> list[Finding]:
        """SP-5: heard far stronger than a drone's transmitter allows over the distance it claims
        (free-space loss, the least there can be): it is nearer than it says."""
        rssi = contact.rssi_dbm
        if rssi is None or d < RSSI_MIN_RANGE_M:
            return []
        s = self.ctx.settings
        freq = contact.freq_mhz if contact.freq_mhz and contact.freq_mhz > 0 else _frequency(contact)
        excess = rssi - (s.tx_power_dbm - geo.free_space_loss_db(d, freq))
        strikes = in_a_row(self.too_strong, track.track_id, excess > s.rssi_excess_db, 2 * s.max_tracks)
        if strikes < RSSI_STRIKES:
            return []
        return [Finding(AlertType.SPOOFING, Severity.HIGH, "SP-5",
                        f"{who} heard by {sensor_id} at {rssi} dBm, {excess:.0f} dB stronger than a "
                        f"{s.tx_power_dbm:.0f} dBm transmitter {d / 1000:.1f} km away can be: it is nearer than it "
                        f"claims", (track,), now, "strength")]


def _frequency(contact: Contact) -> float:
    """MHz, when the capture did not say: the Wi-Fi channel's, else the 2.4 GHz band's middle (a
    5.8 GHz signal loses more, so this errs towards no alert)."""
    if contact.transport in (Transport.WIFI_BEACON, Transport.WIFI_NAN, Transport.DJI_DRONEID,
                             Transport.FRENCH_BEACON) and contact.channel is not None:
        return float(frequency_mhz(contact.channel) or 2440)
    return 2440.0
