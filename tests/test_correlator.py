"""The correlator on real captures and on built traffic: tracks, classification, alerts."""

from __future__ import annotations

import random
import tracemalloc
from collections import Counter

from airwatch.config import Settings, settings_from_dict
from airwatch.contact import BasicID, Contact, DjiInfo, GeoPoint, Location, Transport
from airwatch.correlator.engine import Correlator
from airwatch.correlator.model import AlertType, Classification, TrackKind
from airwatch.encoders import remoteid as rid
from airwatch.encoders import wifi
from airwatch.encoders.pcap import write_pcap
from airwatch.replay import replay


def run(paths, settings: Settings | None = None):
    return replay([str(p) for p in paths], settings)


def types(result) -> Counter:
    return Counter(a.type for a in result.alerts)


def test_background_wifi_gives_one_drone_track_and_nothing_for_the_access_points(captures):
    result = run([captures / "remoteid/odid_with_background_wifi.pcap"])
    drones = [t for t in result.tracks if t.kind is TrackKind.DRONE]
    assert len(drones) == 1 and len(result.tracks) == 1
    (drone,) = drones
    assert drone.macs == {"84:cc:a8:60:43:24"} and drone.classification is Classification.COOPERATIVE_DRONE
    assert drone.sources == {Transport.WIFI_BEACON, Transport.WIFI_NAN}
    assert all(a.track_ids == (drone.track_id,) for a in result.alerts)  # nothing about the 26 others


def test_dji_droneid_spoofer_gives_a_dji_track(captures):
    result = run([captures / "remoteid/dji_droneid_v2_spoofed_single.pcapng"])
    (track,) = result.tracks
    assert track.track_id == "dji:K6RE0WENAH9P8QAL" and track.uas_id == "K6RE0WENAH9P8QAL"
    assert track.classification is Classification.PROPRIETARY_DRONE and not track.cooperative
    assert (round(track.last_fix.lat, 6), round(track.last_fix.lon, 6)) == (12.0, 13.0)
    assert (round(track.operator.lat, 6), round(track.operator.lon, 6)) == (56.0, 43.0)
    kinds = types(result)
    assert kinds[AlertType.NON_COOPERATIVE] == 1  # DroneID only: no standard Remote ID
    assert kinds[AlertType.SPOOFING] == 1  # the operator 5,500 km away
    spoof = next(a for a in result.alerts if a.type is AlertType.SPOOFING)
    assert spoof.rule == "SP-3" and spoof.uas_id == "K6RE0WENAH9P8QAL" and spoof.mac == "60:60:1f:c6:0e:cc"


def test_real_parrot_and_dji_air3_one_track_each_with_operator_and_no_spoofing(captures):
    for name, serial in (("parrot_anafi4_real.pcapng", "1588E040445AC004418"),
                         ("dji_air3.pcapng", "1581F6N8A23B2ML3Y3KR")):
        result = run([captures / "remoteid" / name])
        assert [t.uas_id for t in result.tracks] == [serial], name
        (track,) = result.tracks
        assert track.operator is not None and track.operator.kind == "live_gnss"
        assert track.cooperative and track.positions > 0
        assert AlertType.SPOOFING not in types(result), [a.message for a in result.alerts]


def _beacon(t: float, mac: str, serial: str, lat: float, lon: float, counter: int = 0) -> tuple[float, bytes]:
    loc = Location(lat=lat, lon=lon, alt_geodetic_m=500.0, height_m=50.0, direction=0.0, speed_horizontal=5.0,
                   speed_vertical=0.0, status=2, timestamp=round(t % 3600, 1))
    pack = rid.encode_pack([rid.encode_basic_id(BasicID(1, 2, serial)), rid.encode_location(loc)])
    return t, wifi.radiotap_frame(wifi.odid_beacon(mac, pack, counter, ssid="x"))


def test_identity_flood_raises_one_alert_and_memory_stays_bounded(tmp_path):
    rng = random.Random(7)
    frames = []
    t0 = 1_763_700_000.0
    for i in range(10_000):  # ten thousand random identities in one minute
        mac = "02:%02x:%02x:%02x:%02x:%02x" % tuple(rng.randrange(256) for _ in range(5))
        frames.append(_beacon(t0 + i * 0.006, mac, f"FAKE{rng.randrange(10**12):012d}", 46.2, 6.1))
    path = tmp_path / "flood.pcap"
    write_pcap(path, frames, 127)
    settings = settings_from_dict({"correlator": {"max_tracks": 500}})
    tracemalloc.start()
    result = run([path], settings)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    floods = [a for a in result.alerts if a.rule == "SP-9"]
    assert len(floods) == 1 and floods[0].type is AlertType.SPOOFING and floods[0].count > 1000
    assert floods[0].time < t0 + 1.0  # raised as soon as the 21st new identity in a minute arrives
    assert peak < 60 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    live = [t for t in result.tracks if t.status.value != "ended"]
    assert len(live) <= 500


def test_a_broken_frame_among_good_ones_changes_nothing_else(tmp_path):
    good = [_beacon(1_763_700_000.0 + i, "02:00:00:00:00:01", "1581F6DEMX0000000001", 46.2, 6.1 + i * 1e-5, i)
            for i in range(20)]
    broken = list(good)
    t, data = good[10]
    broken.insert(10, (t - 0.5, data[:-30]))  # a beacon cut inside its pack
    a, b = tmp_path / "good.pcap", tmp_path / "broken.pcap"
    write_pcap(a, good, 127)
    write_pcap(b, broken, 127)
    ra, rb = run([a]), run([b])
    assert rb.reports[0].rejected == {"wifi_truncated_element": 1}
    assert [(t.track_id, t.positions, t.contacts) for t in ra.tracks] == [(t.track_id, t.positions, t.contacts)
                                                                          for t in rb.tracks]
    assert [(x.type, x.rule, x.time) for x in ra.alerts] == [(x.type, x.rule, x.time) for x in rb.alerts]


def _contact(t: float, transport: Transport, mac: str, serial: str | None, lat: float, lon: float,
             operator: GeoPoint | None = None) -> Contact:
    c = Contact(time=t, transport=transport, transmitter=mac, sensor_id="local")
    if serial:
        c.basic_ids.append(BasicID(1, 2, serial))
    c.location = Location(lat=lat, lon=lon, alt_geodetic_m=500.0, height_m=50.0, speed_horizontal=2.0,
                          direction=90.0, status=2, timestamp=t % 3600, time=t)
    c.operator = operator
    return c


def test_one_drone_over_four_transports_with_rotating_bluetooth_addresses_is_one_track():
    corr = Correlator()
    serial = "1581F6DEMX0000000001"
    op = GeoPoint(46.2, 6.1, 400.0, "live_gnss")
    for i in range(40):
        t = 1_763_700_000.0 + i
        lat, lon = 46.2 + i * 1e-5, 6.1
        corr.process(_contact(t, Transport.WIFI_BEACON, "60:60:1f:00:00:01", serial, lat, lon, op))
        corr.process(_contact(t + 0.1, Transport.WIFI_NAN, "60:60:1f:00:00:01", None, lat, lon))
        corr.process(_contact(t + 0.2, Transport.BT4_LEGACY, f"c4:00:00:00:00:{i // 10:02x}", serial, lat, lon))
        corr.process(_contact(t + 0.3, Transport.BT5_LONG_RANGE, f"c5:00:00:00:00:{i // 10:02x}", serial, lat, lon))
    (track,) = corr.tracks
    assert track.sources == {Transport.WIFI_BEACON, Transport.WIFI_NAN, Transport.BT4_LEGACY, Transport.BT5_LONG_RANGE}
    assert len(track.macs) == 9 and track.contacts == 160
    assert not [a for a in corr.alerts if a.type is AlertType.SPOOFING]


def test_remote_id_without_basic_id_first_merges_into_the_identified_track():
    corr = Correlator()
    mac = "02:00:00:00:00:07"
    for i in range(5):  # packs of one Location message first
        corr.process(_contact(1_763_700_000.0 + i, Transport.WIFI_BEACON, mac, None, 46.2, 6.1))
    assert [t.track_id for t in corr.tracks] == [f"mac:{mac}"]
    step = corr.process(_contact(1_763_700_005.0, Transport.WIFI_BEACON, mac, "1581F6DEMX0000000001", 46.2, 6.1))
    assert step.merged == (f"mac:{mac}",)
    (track,) = corr.tracks
    assert track.track_id == "rid:1581F6DEMX0000000001" and track.positions == 6 and track.contacts == 6


def test_replay_stores_a_merged_track_under_its_identity(tmp_path, captures):
    from airwatch.storage import Store

    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    replay([str(captures / "remoteid/parrot_anafi4_real.pcapng")], store=store)
    store.close()
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    assert [t.track_id for t in store.tracks()] == ["rid:1588E040445AC004418"]
    positions = store.positions()
    assert len(positions) == 1140 and {p.track_id for p in positions} == {"rid:1588E040445AC004418"}
    store.close()


def test_tracks_go_stale_then_end_after_the_configured_gaps():
    settings = settings_from_dict({"correlator": {"stale_after_s": 20, "end_after_s": 50}})
    corr = Correlator(settings)
    t0 = 1_763_700_000.0
    corr.process(_contact(t0, Transport.WIFI_BEACON, "02:00:00:00:00:08", "1581F6DEMX0000000001", 46.2, 6.1))
    (track,) = corr.tracks
    corr.advance(t0 + 10)
    assert track.status.value == "active"
    corr.advance(t0 + 25)
    assert track.status.value == "stale"
    step = corr.advance(t0 + 55)
    assert step.ended == [track] and track.status.value == "ended" and corr.tracks == []


def test_signature_rules_from_config_classify_a_wifi_transmitter(tmp_path):
    settings = settings_from_dict({"signatures": [
        {"id": "fpv_goggles", "maker": "Acme", "model": "FPV", "ssid": "ACME-FPV-", "confidence": 0.7}]})
    frames = [(1_763_700_000.0 + i, wifi.radiotap_frame(wifi.ap_beacon("02:aa:bb:cc:dd:ee", "ACME-FPV-0042", 6)))
              for i in range(40)]
    path = tmp_path / "fpv.pcap"
    write_pcap(path, frames, 127)
    result = run([path], settings)
    (track,) = result.tracks
    assert track.classification is Classification.DRONE_SIGNATURE and track.signature == "fpv_goggles"
    assert track.confidence == 0.7 and not track.cooperative
    assert [a.type for a in result.alerts] == [AlertType.NON_COOPERATIVE]
    assert run([path]).tracks == []  # without the rule, an ordinary access point: nothing


def test_replay_paces_itself_at_the_requested_speed(captures):
    now = [0.0]  # a clock that only the replay's sleeps move: the pacing logic, not the machine

    def sleep(seconds: float) -> None:
        assert seconds > 0
        now[0] += seconds

    path = captures / "remoteid/parrot_anafi4_real.pcapng"  # 122.7 s of capture
    result = replay([str(path)], speed=100.0, sleep=sleep, clock=lambda: now[0])
    (track,) = result.tracks
    assert abs(now[0] - (track.last_seen - track.first_seen) / 100.0) < 1e-6  # capture time / speed
    assert 1.0 < now[0] < 1.23


def _dji(t: float, serial: str, lat: float, lon: float) -> Contact:
    """A drone heard only by its DJI DroneID beacon: not cooperative (the NC-4 tick rule)."""
    c = _contact(t, Transport.DJI_DRONEID, "60:60:1f:00:00:99", None, lat, lon)
    c.dji = DjiInfo(2, 1, 0, serial, 68, "", None, None, None, 0, 0, 0, 0, 0, None)
    return c


def _traffic(seed: int) -> list[Contact]:
    """Bursts of traffic separated by quiet stretches: shorter than stale, between stale and
    end, longer than end, and two days."""
    rng = random.Random(seed)
    t = 1_763_700_000.0
    out = []
    for burst in range(8):
        for i in range(rng.randint(5, 40)):
            t += rng.choice((0.3, 0.5, 1.0, 1.7))
            k = rng.randrange(3)
            if k == 0:
                out.append(_dji(t, f"DJI{burst % 3}", 46.2, 6.1))
            elif k == 1:  # cooperative, but never an operator position (RID-4 on tick)
                out.append(_contact(t, Transport.WIFI_BEACON, f"02:00:00:00:00:{burst % 4:02x}",
                                    f"1581F6DEMX000000000{burst % 4}", 46.2, 6.1))
            else:
                out.append(_contact(t, Transport.BT4_LEGACY, "c4:00:00:00:00:01", "1581F6DEMX0000000009", 46.2, 6.1,
                                    GeoPoint(46.2, 6.1, 400.0, "live_gnss")))
        t += rng.choice((3.0, 45.0, 130.0, 2 * 86400.0)) + rng.random()
    return out


def _outcome(corr: Correlator, contacts: list[Contact]) -> list[tuple]:
    events = []
    for i, c in enumerate([*contacts, None]):
        step = corr.process(c) if c is not None else corr.advance(contacts[-1].time + 200)
        events += [(i, "ended", tr.track_id, tr.last_seen) for tr in step.ended]
        events += [(i, "alert", a.type, a.rule, a.time, a.track_ids) for a in step.alerts]
    events += [("final", tr.track_id, tr.status, tr.contacts) for tr in corr.tracks]
    return events


def test_quiet_stretches_are_skipped_and_change_nothing(monkeypatch):
    """Ticks between two captures days apart are skipped (every track silent), with exactly
    the tracks, endings and alerts of ticking through every second, also when contacts arrive
    late (a late contact must not replay ticks, nor hide which track ends first)."""
    settings = settings_from_dict({"correlator": {"stale_after_s": 20, "end_after_s": 60,
                                                  "non_cooperative_window_s": 5}})
    for seed in range(12):
        contacts = _traffic(seed % 6)
        if seed >= 6:  # late contacts: some swapped with the one three places on (a slow sensor)
            rng = random.Random(seed)
            for i in range(0, len(contacts) - 3, 7):
                if rng.random() < 0.5:
                    contacts[i], contacts[i + 3] = contacts[i + 3], contacts[i]
        fast = Correlator(settings)
        ticks = [0]
        for rule in fast.rules:
            def counted(now, _tick=rule.on_tick):  # type: ignore[no-untyped-def]
                ticks[0] += 1
                return _tick(now)
            rule.on_tick = counted  # type: ignore[method-assign]
        got = _outcome(fast, contacts)
        with monkeypatch.context() as m:  # the reference: every second of every gap ticked
            m.setattr(Correlator, "_after_quiet", lambda self, next_tick, end_after: next_tick)
            m.setattr(Correlator, "_wake", lambda self, now: None)
            want = _outcome(Correlator(settings), contacts)
        assert got == want, seed
        assert any(e[1] == "ended" for e in got) and any(e[1] == "alert" for e in got)
        span = contacts[-1].time - contacts[0].time
        if span > 86400:
            assert ticks[0] < 20_000 * len(fast.rules), (seed, ticks[0])  # not the 172,800 seconds of two days


def test_a_drone_after_a_month_of_silence_is_judged_on_time():
    corr = Correlator(settings_from_dict({"correlator": {"non_cooperative_window_s": 5}}))
    t0 = 1_763_700_000.0
    corr.process(_dji(t0, "DJIFIRST", 46.2, 6.1))
    corr.advance(t0 + 30 * 86400)  # a month: ticks skipped once the first drone has ended
    assert corr.tracks == [] and corr._next_tick > t0 + 30 * 86400 - 1
    t1 = t0 + 30 * 86400 + 10.5
    alerts = []
    for i in range(10):
        alerts += corr.process(_dji(t1 + i, "DJISECOND", 46.2, 6.1)).alerts
    nc = [a for a in alerts if a.type is AlertType.NON_COOPERATIVE]
    assert len(nc) == 1 and t1 + 5 <= nc[0].time <= t1 + 6  # the window after it was first heard, not later


SITE = {"sensor": {"id": "local", "lat": 46.2, "lon": 6.1}}


def _rules(corr: Correlator, rule: str) -> list:
    return [a for a in corr.alerts if a.rule == rule]


def test_sp4_a_position_beyond_the_radio_range_of_its_transport():
    corr = Correlator(settings_from_dict(SITE))
    t = 1_763_700_000.0
    north = 0.0315  # about 3.5 km north of the sensor
    corr.process(_contact(t, Transport.BT5_LONG_RANGE, "c5:00:00:00:00:01", "1581F6DEMX0000000001", 46.2 + north, 6.1))
    assert not _rules(corr, "SP-4")  # 3.5 km over Bluetooth 5 long range: within its 4 km
    corr.process(_contact(t + 1, Transport.WIFI_BEACON, "02:00:00:00:00:01", "1581F6DEMX0000000002", 46.2 + north, 6.1))
    (alert,) = _rules(corr, "SP-4")
    assert alert.uas_id == "1581F6DEMX0000000002" and "3.5 km from sensor local" in alert.message
    assert "wifi_beacon to 3.0 km" in alert.message
    corr.process(_dji(t + 2, "DJI12KMAWAY", 46.2 + 0.108, 6.1))  # 12 km: DroneID reaches 15 km
    assert len(_rules(corr, "SP-4")) == 1
    tight = Correlator(settings_from_dict({**SITE, "correlator": {"radio_range_bluetooth_m": 1000.0}}))
    tight.process(_contact(t, Transport.BT4_LEGACY, "c4:00:00:00:00:01", "1581F6DEMX0000000001", 46.2 + 0.015, 6.1))
    assert _rules(tight, "SP-4")  # a site that measured its reach
    blind = Correlator()  # no sensor position: nothing to measure from
    blind.process(_contact(t, Transport.WIFI_BEACON, "02:00:00:00:00:01", "1581F6DEMX0000000002", 46.2 + north, 6.1))
    assert not _rules(blind, "SP-4")


def _located(t: float, stamp: float, lat: float, mac: str = "02:00:00:00:00:03") -> Contact:
    c = _contact(t, Transport.WIFI_BEACON, mac, "1581F6DEMX0000000003", lat, 6.1)
    c.location.timestamp = stamp  # type: ignore[union-attr]
    return c


def test_sp13_frozen_or_backwards_location_timestamps():
    t = 1_763_700_000.0
    # a real drone: each Location repeated in several frames, the hour wrapping from 3599.5 to 0.5
    honest = Correlator()
    for i in range(12):
        stamp = (3595.5 + i) % 3600
        for repeat in range(3):
            honest.process(_located(t + i + repeat * 0.1, stamp, 46.2 + i * 1e-4))
    assert not _rules(honest, "SP-13")
    # a spoofer: the position moves, the timestamp does not
    frozen = Correlator()
    for i in range(6):
        frozen.process(_located(t + i, 100.0, 46.2 + i * 1e-4))
    (alert,) = _rules(frozen, "SP-13")
    assert "frozen while the position moves (3 in a row)" in alert.message
    assert alert.time == t + 3  # the third frozen stamp, not before
    # a replay: the timestamps run backwards
    backwards = Correlator()
    for i in range(6):
        backwards.process(_located(t + i, 500.0 - i, 46.2))
    (alert,) = _rules(backwards, "SP-13")
    assert "going back from 498.0 s to 497.0 s" in alert.message
    # two stamps back, then forward again: not three in a row
    glitch = Correlator()
    for i, stamp in enumerate((10.0, 9.0, 8.0, 11.0, 12.0, 11.5, 13.0)):
        glitch.process(_located(t + i, stamp, 46.2))
    assert not _rules(glitch, "SP-13")


def test_sp14_control_characters_or_markup_in_broadcast_text():
    from airwatch.contact import OperatorID, SelfID

    corr = Correlator()
    t = 1_763_700_000.0
    clean = _contact(t, Transport.WIFI_BEACON, "02:00:00:00:00:04", "1581F6DEMX0000000004", 46.2, 6.1)
    clean.self_id = SelfID(0, "Survey flight, café 2")
    clean.operator_id = OperatorID(0, "FIN87astrdge12k8")
    corr.process(clean)
    assert not _rules(corr, "SP-14")
    hostile = _contact(t + 1, Transport.WIFI_BEACON, "02:00:00:00:00:04", "1581F6DEMX0000000004", 46.2, 6.1)
    hostile.self_id = SelfID(0, "[@click=app.quit]X[/]")
    hostile.operator_id = OperatorID(0, "OP\x1b[2J")
    hostile.ssid = "ok"
    corr.process(hostile)
    alerts = sorted(_rules(corr, "SP-14"), key=lambda a: a.message)
    assert [a.severity.name for a in alerts] == ["MEDIUM", "MEDIUM"]
    assert "the Self-ID carries markup: '[@click=app.quit]X[/]'" in alerts[0].message
    assert "the operator ID carries control characters: 'OP\\x1b[2J'" in alerts[1].message


def test_rid14_higher_or_faster_than_the_rules_allow():
    corr = Correlator()
    t = 1_763_700_000.0
    c = _contact(t, Transport.WIFI_BEACON, "02:00:00:00:00:05", "1581F6DEMX0000000005", 46.2, 6.1)
    c.location.height_m, c.location.speed_horizontal = 120.0, 30.0  # type: ignore[union-attr]
    corr.process(c)
    assert not _rules(corr, "RID-14")  # 120 m and 30 m/s are allowed
    c = _contact(t + 1, Transport.WIFI_BEACON, "02:00:00:00:00:05", "1581F6DEMX0000000005", 46.2, 6.1)
    c.location.height_m, c.location.speed_horizontal = 180.0, 50.0  # type: ignore[union-attr]
    corr.process(c)
    messages = sorted(a.message for a in _rules(corr, "RID-14"))
    assert len(messages) == 2 and "180 m above" in messages[0] and "ground speed 50.0 m/s" in messages[1]


def test_a_transmitter_without_a_clock_is_non_compliant_not_a_spoofer(captures):
    """The opendroneid ESP32 sends every Location at 0 s after the hour while it flies: a missing
    time source (RID-6), not timestamps frozen by a spoofer (SP-13)."""
    for name in ("odid_wifi_bcn_sample.pcap", "odid_wifi_nan_and_beacon_sample.pcap"):
        result = run([captures / "remoteid" / name])
        assert not [a for a in result.alerts if a.type is AlertType.SPOOFING], name
        (stuck,) = [a for a in result.alerts if a.rule == "RID-6"]
        assert "stuck at 0 while the position moves" in stuck.message
    frozen = Correlator()  # the same pattern at any other second is frozen time: spoofing
    for i in range(4):
        frozen.process(_located(1_763_700_000.0 + i, 1234.5, 46.2 + i * 1e-4))
    assert _rules(frozen, "SP-13") and not _rules(frozen, "RID-6")


def test_sp2_claimed_speed_against_the_speed_of_the_positions():
    t = 1_763_700_000.0
    metres_per_degree = 111_195.0

    def flight(claimed: float, actual: float, accuracy: int | None = None) -> Correlator:
        corr = Correlator()
        for i in range(8):  # one Location a second, each sent twice (a repeat changes nothing)
            for repeat in range(2):
                c = _located(t + i + repeat * 0.2, 100.0 + i, 46.2 + i * actual / metres_per_degree)
                c.location.speed_horizontal, c.location.accuracy_speed = claimed, accuracy  # type: ignore[union-attr]
                corr.process(c)
        return corr

    assert not _rules(flight(claimed=12.0, actual=12.0), "SP-2")
    assert not _rules(flight(claimed=12.0, actual=20.0), "SP-2")  # 8 m/s apart: within 10 m/s
    (alert,) = _rules(flight(claimed=0.0, actual=25.0), "SP-2")  # hovering, it says; 25 m/s, say its positions
    assert alert.severity.name == "MEDIUM" and "claims 0.0 m/s" in alert.message and "at 25.0 m/s" in alert.message
    assert alert.time == t + 3 + 0.0  # the third disagreement in a row
    assert not _rules(flight(claimed=0.0, actual=25.0, accuracy=1), "SP-2")  # speed good to 10 m/s: limit 30


def _uav(t: float, icao: str, callsign: str | None, lat: float = 46.3, lon: float = 6.2, alt_m: float = 3000.0,
         category: str = "B6") -> Contact:
    from airwatch.contact import Aircraft

    c = Contact(time=t, transport=Transport.ADSB, transmitter=icao.lower(), sensor_id="local")
    c.aircraft = Aircraft(icao=icao, df=17, callsign=callsign, emitter_category=category)
    c.location = Location(lat=lat, lon=lon, alt_pressure_m=alt_m, speed_horizontal=60.0, direction=90.0, time=t)
    return c


def test_an_ads_b_uav_not_on_the_allow_list_is_flagged_once():
    corr = Correlator(settings_from_dict({"correlator": {"uav_allow_list": ["ae5f01", "BORDER7"]}}))
    t = 1_763_700_000.0
    for i in range(5):
        corr.process(_uav(t + i, "AE5F01", "CBP104"))  # listed by its ICAO address (any case)
        corr.process(_uav(t + i, "AE1234", "BORDER7"))  # listed by its callsign
        corr.process(_uav(t + i, "3C0042", "UNKNOWN1"))
    (alert,) = [a for a in corr.alerts if a.type is AlertType.UNLISTED_UAV]
    assert alert.rule == "B6" and alert.track_ids == ("icao:3C0042",) and alert.count == 5
    assert "UAV UNKNOWN1 3C0042" in alert.message
    assert all(t.classification is Classification.COOPERATIVE_UAV for t in corr.tracks)


def test_the_allow_list_must_be_a_list_of_strings():
    import pytest

    from airwatch.config import ConfigError

    assert settings_from_dict({"correlator": {"uav_allow_list": []}}).correlator.uav_allow_list == ()
    for bad in ("AE5F01", [1, 2], [["AE5F01"]]):
        with pytest.raises(ConfigError, match="uav_allow_list: expected a list of strings"):
            settings_from_dict({"correlator": {"uav_allow_list": bad}})


def test_sp5_a_signal_too_strong_for_the_distance_claimed():
    t = 1_763_700_000.0

    def heard(rssis: list[int], north_deg: float = 0.009, channel: int | None = 6) -> Correlator:
        corr = Correlator(settings_from_dict(SITE))
        for i, rssi in enumerate(rssis):  # about 1 km north of the sensor, it says
            c = _contact(t + i, Transport.WIFI_BEACON, "02:00:00:00:00:06", "1581F6DEMX0000000006",
                         46.2 + north_deg, 6.1)
            c.rssi_dbm, c.channel = rssi, channel
            corr.process(c)
        return corr

    # 20 dBm over 1 km of free space at 2437 MHz arrives at about -80 dBm
    assert not _rules(heard([-85, -78, -70, -62] * 2), "SP-5")  # up to 18 dB above: a good antenna
    (alert,) = _rules(heard([-45, -44, -46, -45]), "SP-5")  # 35 dB too strong: it is close
    assert alert.severity.name == "HIGH" and "at -46 dBm, 34 dB stronger" in alert.message
    assert alert.time == t + 2  # the third in a row
    assert not _rules(heard([-45, -44, -80, -45, -44, -80]), "SP-5")  # never three in a row
    assert not _rules(heard([-30] * 5, north_deg=0.0005), "SP-5")  # 55 m: too near to judge by distance
    assert _rules(heard([-45] * 4, channel=None), "SP-5")  # no channel: the 2.4 GHz band's middle


def test_sp11_geodetic_altitude_against_take_off_plus_height():
    from airwatch.contact import HeightRef

    t = 1_763_700_000.0

    def flight(geodetic: float, accuracy: int | None = 3, takeoff_alt: float | None = 400.0) -> Correlator:
        corr = Correlator()
        takeoff = GeoPoint(46.2, 6.1, takeoff_alt, "takeoff")
        for i in range(4):
            c = _contact(t + i, Transport.WIFI_BEACON, "02:00:00:00:00:07", "1581F6DEMX0000000007", 46.2, 6.1,
                         takeoff)
            loc = c.location
            loc.alt_geodetic_m, loc.height_m, loc.height_ref, loc.accuracy_vertical = (  # type: ignore[union-attr]
                geodetic, 60.0, HeightRef.TAKEOFF, accuracy)
            corr.process(c)
        return corr

    assert not _rules(flight(geodetic=470.0), "SP-11")  # 400 + 60 = 460: 10 m off, fine
    (alert,) = _rules(flight(geodetic=560.0), "SP-11")  # 100 m off with a 25 m accuracy
    assert alert.severity.name == "MEDIUM" and "560 m, but take-off at 400 m plus 60 m" in alert.message
    assert alert.time == t + 2
    assert not _rules(flight(geodetic=560.0, accuracy=1), "SP-11")  # accurate to 150 m only: limit 300 m
    assert not _rules(flight(geodetic=560.0, takeoff_alt=None), "SP-11")  # nothing to compare with


def test_a_drone_without_a_position_and_a_low_aircraft_near_the_same_sensor():
    settings = settings_from_dict({"sensor": {"id": "local", "lat": 46.2, "lon": 6.1, "alt_m": 400.0}})
    t = 1_763_700_000.0

    def site(north_m: float, alt_m: float, drone_fix: bool = False) -> Correlator:
        corr = Correlator(settings)
        for i in range(5):
            d = _dji(t + i, "DJIHIDDEN", 46.2, 6.1)
            if not drone_fix:
                d.location = None  # heard, not placed
            corr.process(d)
            corr.process(_uav(t + i + 0.5, "4B0001", "HELI1", 46.2 + north_m / 111_195.0, 6.1, alt_m, "A7"))
        corr.advance(t + 6)
        return corr

    (alert,) = _rules(site(north_m=1852.0, alt_m=400.0 + 240.0), "PX-P")  # 1 NM out, about 790 ft above
    assert alert.severity.name == "MEDIUM" and alert.type is AlertType.PROXIMITY
    assert alert.track_ids == ("dji:DJIHIDDEN", "icao:4B0001")
    assert "DJIHIDDEN, position unknown, heard by local while HELI1 flies 1.0 NM from it, 787 ft" in alert.message
    assert not _rules(site(north_m=5000.0, alt_m=640.0), "PX-P")  # 2.7 NM: too far
    assert not _rules(site(north_m=1852.0, alt_m=400.0 + 600.0), "PX-P")  # 1,970 ft above: too high
    assert not _rules(site(north_m=1852.0, alt_m=640.0, drone_fix=True), "PX-P")  # placed: PX judges it
