"""Every real Wi-Fi capture decodes to the ground truth of ../shared/captures/MANIFEST.md."""

from __future__ import annotations

import calendar
from collections import Counter

import pytest

from airwatch.contact import HeightRef, Transport
from airwatch.inputs import InputReport, read_input


def decode(path) -> tuple[list, InputReport]:
    report = InputReport(str(path))
    contacts = list(read_input(str(path), report))
    assert report.error is None, report.error
    return contacts, report


def utc(y, mo, d, h, mi, s) -> float:
    return float(calendar.timegm((y, mo, d, h, mi, s)))


def test_esp32_beacons(captures):
    contacts, report = decode(captures / "remoteid/odid_wifi_bcn_sample.pcap")
    assert report.frames == 21 and len(contacts) == 21 and not report.rejected
    lats, lons = [], []
    for c in contacts:
        assert c.transport is Transport.WIFI_BEACON
        assert c.transmitter == "84:cc:a8:60:43:24"
        assert c.ssid == "GBR-OP-123ABCD"
        assert c.channel == 6 and c.freq_mhz == 2437
        assert c.protocol_version == 0 and not c.legacy_oui and not c.anomalies
        assert 208 <= c.counter <= 230
        assert [(b.id_type, b.ua_type, b.uas_id) for b in c.basic_ids] == [(0, 0, "MFG1A0123456789")]
        assert c.self_id.description == "Recreational" and c.self_id.description_type == 0
        assert c.operator_id.operator_id == "GBR-OP-123ABCD"
        loc = c.location
        assert loc.speed_horizontal == 20.5
        assert loc.speed_vertical is None  # 63 m/s = unknown
        assert loc.alt_geodetic_m == 237.0
        assert loc.height_m == 100.0 and loc.height_ref is HeightRef.TAKEOFF
        lats.append(loc.lat)
        lons.append(loc.lon)
        assert (c.operator.lat, c.operator.lon, c.operator.kind) == (45.5443876, -122.9726866, "takeoff")
        s = c.system
        assert (s.classification_type, s.ua_category, s.ua_class) == (1, 1, 5)
    assert (min(lats), max(lats)) == (45.5457355, 45.5470818)
    assert (min(lons), max(lons)) == (-122.9681496, -122.9666906)
    counters = [c.counter for c in contacts]
    assert counters == sorted(counters) and (counters[0], counters[-1]) == (208, 230)


def _nan_and_beacon_checks(contacts):
    by_transport = Counter(c.transport for c in contacts)
    assert by_transport == {Transport.WIFI_NAN: 21, Transport.WIFI_BEACON: 21}
    kinds = Counter()
    lats, lons = [], []
    for c in contacts:
        assert c.transmitter == "84:cc:a8:60:43:24"
        assert not c.basic_ids  # no Basic ID in this window
        present = [name for name in ("location", "self_id", "system", "operator_id") if getattr(c, name)]
        assert len(present) == 1, present  # packs of one message
        kinds[present[0]] += 1
        if c.location is not None:
            lats.append(c.location.lat)
            lons.append(c.location.lon)
    assert set(kinds) == {"location", "self_id", "system", "operator_id"}
    assert min(lats) == 45.5448998 and max(lats) == 45.5456905
    assert min(lons) == -122.9736204 and max(lons) == -122.9722283


def test_nan_and_beacon(captures):
    contacts, report = decode(captures / "remoteid/odid_wifi_nan_and_beacon_sample.pcap")
    assert report.frames == 63
    _nan_and_beacon_checks(contacts)
    assert all(c.transport is not Transport.WIFI_NAN or c.channel == 6 for c in contacts)


def test_background_wifi_gives_only_the_drone(captures):
    contacts, report = decode(captures / "remoteid/odid_with_background_wifi.pcap")
    assert report.frames == 816
    _nan_and_beacon_checks(contacts)  # the 26 other transmitters give nothing


def test_dji_air3(captures):
    contacts, report = decode(captures / "remoteid/dji_air3.pcapng")
    assert report.frames == 12 and len(contacts) == 9  # the 3 probe requests carry no Remote ID
    start, end = utc(2024, 10, 7, 13, 22, 54), utc(2024, 10, 7, 13, 23, 5)
    for c in contacts:
        assert c.transport is Transport.WIFI_BEACON and not c.anomalies
        assert c.transmitter == "60:60:1f:71:93:3b" and c.ssid == "RID-1581F6N8A23B2ML3Y3KR"
        assert c.channel == 6 and c.phy == "ofdm"
        assert c.protocol_version == 2 and 34 <= c.counter <= 84
        assert [(b.id_type, b.ua_type, b.uas_id) for b in c.basic_ids] == [(1, 2, "1581F6N8A23B2ML3Y3KR")]
        loc = c.location
        assert loc.status == 2
        assert (loc.lat, loc.lon) == (33.6652717, -82.1918334)
        assert 82.0 <= loc.alt_geodetic_m <= 83.0 and loc.alt_pressure_m is None
        assert loc.height_m == 1.5
        assert loc.direction is None and loc.speed_horizontal == 0.0
        assert loc.accuracy_horizontal == 12
        assert 1373.5 <= loc.timestamp <= 1384.3
        # the hour comes from the capture: 13:00 UTC
        assert loc.time == utc(2024, 10, 7, 13, 0, 0) + loc.timestamp
        assert start - 1 <= loc.time <= end and abs(loc.time - c.time) < 1.5
        op = c.operator  # a live operator position: it wanders by a metre or two
        assert op.kind == "live_gnss" and 79.0 <= op.alt_geodetic_m <= 80.0
        assert op.lat == pytest.approx(33.6632364, abs=2e-5) and op.lon == pytest.approx(-82.1916647, abs=2e-5)
        assert abs(c.system.timestamp - loc.time) <= 1.0  # whole seconds against tenths
        assert c.self_id is None and c.operator_id is None
    first = contacts[0]
    assert (first.operator.lat, first.operator.lon, first.operator.alt_geodetic_m) == (33.6632364, -82.1916647, 80.0)
    assert first.system.timestamp == utc(2024, 10, 7, 13, 22, 53)
    counters = [c.counter for c in contacts]
    assert (min(counters), max(counters)) == (34, 84)


def test_parrot_anafi_on_channel_1(captures):
    contacts, report = decode(captures / "remoteid/parrot_anafi4_real.pcapng")
    assert report.frames == 5091 and len(contacts) == 1140
    sizes = Counter()
    statuses = []
    for c in contacts:
        assert c.transport is Transport.WIFI_BEACON
        assert c.transmitter == "90:3a:e6:5b:c8:a8" and c.ssid == "AnafiThermal-A004418"
        assert c.channel == 1 and c.freq_mhz == 2412
        assert c.protocol_version == 0
        loc = c.location
        assert 47.1986439 <= loc.lat <= 47.198713 and 8.7301779 <= loc.lon <= 8.7302371
        assert loc.alt_pressure_m is None and loc.alt_geodetic_m is None
        assert 0.0 <= loc.height_m <= 11.0 and loc.height_ref is HeightRef.TAKEOFF
        assert (loc.accuracy_horizontal, loc.accuracy_vertical, loc.accuracy_speed) == (0, 0, 0)
        assert 929.1 <= loc.timestamp <= 1052.1
        statuses.append(loc.status)
        n = sum(x is not None for x in (c.location, c.system, c.operator_id)) + len(c.basic_ids)
        sizes[n] += 1
        if c.basic_ids:
            assert [(b.id_type, b.ua_type, b.uas_id) for b in c.basic_ids] == [(1, 2, "1588E040445AC004418")]
            assert c.operator_id.operator_id == ""
            assert c.operator.kind == "live_gnss"
            assert (c.operator.lat, c.operator.lon) == pytest.approx((47.198656, 8.7302205), abs=2e-4)  # the pilot walks about
            assert (c.system.classification_type, c.system.ua_category, c.system.ua_class) == (1, 1, 2)
    assert set(sizes) == {1, 4}
    first_operator = next(c.operator for c in contacts if c.operator is not None)
    assert (first_operator.lat, first_operator.lon) == (47.198656, 8.7302205)
    assert statuses[:15] == [1] * 15 and set(statuses[15:]) == {2}
    assert {c.location.height_m for c in contacts[:15]} == {0.0}  # on the ground: height 0
    lats = [c.location.lat for c in contacts]
    assert (min(lats), max(lats)) == (47.1986439, 47.198713)


def test_dji_droneid_spoofed(captures):
    contacts, report = decode(captures / "remoteid/dji_droneid_v2_spoofed_single.pcapng")
    assert report.frames == 10 and len(contacts) == 10
    for c in contacts:
        assert c.transport is Transport.DJI_DRONEID
        assert c.transmitter == "60:60:1f:c6:0e:cc" and c.ssid == "fabiassid"
        assert c.dji.version == 2 and c.dji.serial == "K6RE0WENAH9P8QAL"
        assert c.uas_id == "K6RE0WENAH9P8QAL"
        assert (c.location.lat, c.location.lon) == pytest.approx((12.0, 13.0), abs=1e-6)
        assert (c.operator.lat, c.operator.lon, c.operator.kind) == pytest.approx((56.0, 43.0, "pilot"), abs=1e-6)
        assert (c.home.lat, c.home.lon) == pytest.approx((56.0, 43.0), abs=1e-6)
