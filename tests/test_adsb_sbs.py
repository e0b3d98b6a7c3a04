"""SBS / BaseStation (port 30003): a recording made from a real one, the live feed over TCP,
hostile lines, fuzzing, and the [[sources]] configuration."""

from __future__ import annotations

import asyncio
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from feed_helpers import Server
from live_helpers import stop, until

from airwatch.config import ConfigError, settings_from_dict
from airwatch.contact import Contact, Transport
from airwatch.decoders.adsb.sbs import MAX_LINE, SbsDecoder, SbsMessage, parse_sbs
from airwatch.decoders.adsb.state import FOOT, KNOT
from airwatch.encoders.sbs import format_sbs
from airwatch.inputs import InputOptions, read_inputs
from airwatch.sinks.jsonl import contact_json
from airwatch.sources.adsb_feed import AdsbFeed
from airwatch.sources.adsb_recording import AdsbRecording, iter_contacts, sniff_adsb
from airwatch.sources.live import AdsbLive, open_source
from airwatch.sources.sbs import SbsFramer

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TIMEOUT = 20.0
GOOD = b"MSG,3,1,1,4CA2D6,1,2024/05/01,10:00:00.250,2024/05/01,10:00:00.251,,35000,,,52.31234,4.76123,,,,,,0\r\n"


@pytest.fixture(scope="module")
def beast_contacts(captures):
    """long_flight.csv (real, Beast frames) through airwatch's own pipeline."""
    contacts, (report,) = read_inputs([str(captures / "adsb" / "long_flight.csv")])
    got = list(contacts)
    assert report.error is None and len(got) > 20000
    return got


@pytest.fixture(scope="module")
def sbs_lines(beast_contacts):
    """What dump1090 would have written on port 30003 for those messages: (line, original contact)."""
    pairs = [(format_sbs(c), c) for c in beast_contacts]
    return [(line, c) for line, c in pairs if line is not None]


def write(path, lines):
    path.write_bytes(b"".join(lines))
    return path


# --- (a) a recording made from a real one ----------------------------------------------------------


def test_sbs_recording_from_a_real_recording(tmp_path, sbs_lines):
    path = write(tmp_path / "long_flight.sbs", [line for line, _ in sbs_lines])
    assert sniff_adsb(path.read_bytes()[:8192]) == "sbs"
    kinds = {line[:6] for line, _ in sbs_lines}
    assert {b"MSG,1,", b"MSG,2,", b"MSG,3,", b"MSG,4,", b"MSG,5,", b"MSG,6,"} <= kinds

    contacts, (report,) = read_inputs([str(path)])
    got = list(contacts)
    assert report.kind == "adsb:sbs" and report.error is None and report.warning is None
    assert not report.rejected
    assert report.frames == len(sbs_lines) and len(got) == len(sbs_lines)
    assert [c.time for c in got] == sorted(c.time for c in got)

    positions = altitudes = velocities = 0
    for c in got:
        line, o = sbs_lines[c.frame - 1]
        assert c.transport is Transport.ADSB and c.transmitter == o.transmitter
        assert c.aircraft.icao == o.aircraft.icao and c.aircraft.callsign == o.aircraft.callsign
        assert c.time == pytest.approx(o.time, abs=0.0006)
        assert c.raw == line.rstrip(b"\r\n")
        if c.aircraft.df == 5:
            assert c.aircraft.squawk == o.aircraft.squawk
        lo, lg = o.location, c.location
        if lo is None:
            continue
        if lo.lat is not None:
            assert (lg.lat, lg.lon) == (round(lo.lat, 5), round(lo.lon, 5))
            positions += 1
        else:
            assert lg is None or lg.lat is None
        if lo.alt_pressure_m is not None:
            assert lg.alt_pressure_m == pytest.approx(lo.alt_pressure_m, abs=1e-9)
            altitudes += 1
        if lo.speed_horizontal is not None:
            assert lg.speed_horizontal == pytest.approx(lo.speed_horizontal, abs=0.5 * KNOT + 1e-9)
            velocities += 1
        if lo.direction is not None and o.aircraft.velocity_source != "air":
            d = abs(lg.direction - lo.direction) % 360.0
            assert min(d, 360.0 - d) <= 0.5 + 1e-9
        if lo.speed_vertical is not None:
            assert lg.speed_vertical == pytest.approx(lo.speed_vertical, abs=1e-9)
            assert c.aircraft.vertical_rate_source == o.aircraft.vertical_rate_source
    assert positions > 5000 and altitudes > 5000 and velocities > 5000
    assert {c.aircraft.icao for c in got} == {o.aircraft.icao for _, o in sbs_lines}
    assert "KLM1302" in {c.aircraft.callsign for c in got}


def test_start_shifts_the_recording_and_local_time_jumps_keep_order(tmp_path, sbs_lines):
    lines = [line for line, _ in sbs_lines[:3000]]
    path = write(tmp_path / "part.sbs", lines)
    plain = list(read_inputs([str(path)])[0])
    start = 1_714_557_600.0  # 2024-05-01 10:00 UTC
    shifted = list(read_inputs([str(path)], InputOptions(start="2024-05-01T10:00:00Z"))[0])
    assert len(shifted) == len(plain) and shifted[0].time == pytest.approx(start)
    assert all(s.time - p.time == pytest.approx(start - plain[0].time, abs=1e-6) for s, p in zip(shifted, plain))

    # the receiver's clock goes back an hour (local time, end of summer time) in the middle
    half = len(lines) // 2
    jumped = lines[:half] + [_earlier(line, 3600) for line in lines[half:]]
    path = write(tmp_path / "jump.sbs", jumped)
    rec = AdsbRecording(path)
    got = list(iter_contacts(path, recording=rec))
    assert len(got) == len(plain)
    assert [c.time for c in got] == sorted(c.time for c in got)
    assert rec.counters["clock_discontinuity"] == 1


def _earlier(line: bytes, seconds: int) -> bytes:
    f = line.decode().split(",")
    t = parse_sbs(line).time - seconds
    stamp = time.strftime("%Y/%m/%d,%H:%M:%S", time.gmtime(int(t))) + f".{round((t % 1) * 1000) % 1000:03d}"
    f[6], f[7] = stamp.split(",")
    return ",".join(f).encode()


# --- (c) hostile lines -----------------------------------------------------------------------------


def _with(field: int, value: str, line: bytes = GOOD) -> bytes:
    f = line.decode().rstrip("\r\n").split(",")
    f[field] = value
    return (",".join(f) + "\r\n").encode()


HOSTILE = [
    (b"MSG,3,1,1,4CA2D6,1,2024/05/01,10:00:00.250,2024/05/01,10:00:00.251,,35000,,,52.3,4.7,,,,,\r\n", "sbs_field_count"),
    (GOOD.rstrip(b"\r\n") + b",,\r\n", "sbs_field_count"),
    (_with(4, "4CA2DZ"), "sbs_bad_icao"),
    (_with(4, "4CA2D"), "sbs_bad_icao"),
    (_with(4, ""), "sbs_bad_icao"),
    (_with(1, "9"), "sbs_bad_type"),
    (_with(1, "33"), "sbs_bad_type"),
    (_with(11, "nan"), "sbs_bad_altitude"),
    (_with(11, "1_000"), "sbs_bad_altitude"),
    (_with(11, "H"), "sbs_bad_altitude"),
    (_with(11, "9999999"), "sbs_bad_altitude"),
    (_with(14, "inf"), "sbs_bad_position"),
    (_with(14, "91.00000"), "sbs_bad_position"),
    (_with(15, "1e400"), "sbs_bad_position"),
    (_with(15, ""), "sbs_bad_position"),
    (_with(12, "-5"), "sbs_bad_speed"),
    (_with(12, "Infinity"), "sbs_bad_speed"),
    (_with(13, "361"), "sbs_bad_track"),
    (_with(16, "99999"), "sbs_bad_vertical_rate"),
    (_with(17, "7800"), "sbs_bad_squawk"),
    (_with(17, "77"), "sbs_bad_squawk"),
    (_with(21, "2"), "sbs_bad_flag"),
    (_with(6, "2024/13/01"), "sbs_bad_time"),
    (_with(7, "25:00:00.000"), "sbs_bad_time"),
    (_with(7, "10:00:0x.000"), "sbs_bad_time"),
    (_with(6, "", _with(7, "")), "sbs_no_time"),
    (_with(10, "K\xe9M"), "sbs_not_ascii"),
    (GOOD.replace(b"35000", b"\xff\xfe\xfd"), "sbs_not_ascii"),
    (b"MSG," + b"A" * 100_000 + b"\r\n", "sbs_overlong"),
    (b"SEL,,496,2286,4CA4E5,27215,2010/02/19,18:06:07.710,2010/02/19,18:06:07.710,RYR1427\r\n", "sbs_not_msg"),
    (b"\x00" * 40 + b"\n", "sbs_not_msg"),
    (b"garbage\n", "sbs_not_msg"),
]


def test_hostile_lines_are_counted_and_the_lines_around_them_decode(tmp_path, sbs_lines):
    good = [line for line, _ in sbs_lines[:len(HOSTILE) * 20]]
    clean = list(read_inputs([str(write(tmp_path / "clean.sbs", good))])[0])
    mixed = []
    for i, line in enumerate(good):
        mixed.append(line)
        if i % 20 == 0:
            mixed.append(HOSTILE[i // 20][0])
            mixed.append(b"\r\n")  # dump1090's heartbeat: an empty line, not an error
    contacts, (report,) = read_inputs([str(write(tmp_path / "mixed.sbs", mixed))])
    got = list(contacts)
    assert report.error is None
    expected: dict[str, int] = {}
    for _, reason in HOSTILE:
        expected[reason] = expected.get(reason, 0) + 1
    assert dict(report.rejected) == expected
    key = lambda c: (c.time, c.aircraft.icao, c.aircraft.callsign, c.location)  # noqa: E731
    assert [key(c) for c in got] == [key(c) for c in clean]


def test_the_decoder_on_its_own():
    dec = SbsDecoder(sensor_id="gate-2", source="sbs")
    for line, reason in HOSTILE:
        if reason == "sbs_no_time":  # a live line needs no time of its own: it gets the receive time
            assert dec.decode(line, 1.0).time == 1.0
            continue
        assert dec.decode(line, 1.0) is None
        assert dec.counters[reason] >= 1
    c = dec.decode(GOOD, 5.0, frame=7)
    assert isinstance(c, Contact) and c.time == 5.0 and c.frame == 7 and c.sensor_id == "gate-2"
    assert c.aircraft.icao == "4CA2D6" and c.aircraft.df == 17 and c.aircraft.on_ground is False
    assert (c.location.lat, c.location.lon) == (52.31234, 4.76123)
    assert c.location.alt_pressure_m == pytest.approx(35000 * FOOT) and c.location.alt_geodetic_m is None
    # str or bytes, \n or \r\n, an "H" altitude is GNSS height, a padded callsign is stripped
    c = dec.decode(_with(11, "35500H").decode().rstrip("\r\n") + "\n", 6.0)
    assert c.location.alt_geodetic_m == pytest.approx(35500 * FOOT) and c.location.alt_pressure_m is None
    ident = _with(1, "1", _with(10, "KLM1302 ", _with(11, "", _with(14, "", _with(15, "")))))
    c = dec.decode(ident, 7.0)
    assert c.aircraft.callsign == "KLM1302" and c.location is None
    vel = _with(1, "4", _with(12, "451", _with(13, "271", _with(16, "-1024", _with(14, "", _with(15, "", _with(11, "")))))))
    c = dec.decode(vel, 8.0)
    assert c.location.speed_horizontal == pytest.approx(451 * KNOT) and c.location.direction == 271.0
    assert c.location.speed_vertical == pytest.approx(-1024 * FOOT / 60)
    assert c.aircraft.velocity_source == "ground" and c.aircraft.vertical_rate_source == "baro"
    assert c.aircraft.callsign == "KLM1302"  # the aircraft's state carries over
    # a squawk (MSG,6) gives a contact when it changes, not when it repeats
    sq = _with(1, "6", _with(17, "7700", _with(11, "", _with(14, "", _with(15, "")))))
    assert dec.decode(sq, 9.0).aircraft.squawk == "7700"
    assert dec.decode(sq, 9.5) is None and dec.counters["surveillance_unchanged"] == 1
    # 0/0 is no position; a position beyond the configured range is refused, the rest kept
    c = dec.decode(_with(14, "0.00000", _with(15, "0.00000")), 10.0)
    assert c.location.lat is None and c.anomalies == ["position"]
    near = SbsDecoder(receiver=(52.3, 4.76), max_range_km=50.0)
    assert near.decode(GOOD, 1.0).location.lat == 52.31234
    far = near.decode(_with(14, "40.00000"), 2.0)
    assert far.location.lat is None and far.anomalies == ["position"] and far.location.alt_pressure_m
    assert near.counters["position_out_of_range"] == 1


def test_framer_cuts_anywhere_and_drops_overlong_lines_without_holding_them():
    stream = GOOD + b"\r\n" + b"MSG," + b"9" * (5 * MAX_LINE) + b"\r\n" + GOOD.replace(b"\r\n", b"\n") + b"MSG,3"
    for size in (1, 7, 100, len(stream)):
        framer = SbsFramer()
        lines = []
        for i in range(0, len(stream), size):
            lines += [f.data for f in framer.feed(stream[i:i + size])]
            assert framer.pending <= MAX_LINE
        assert lines == [GOOD.rstrip(b"\r\n")] * 2, size
        assert framer.counters["sbs_overlong"] == 1 and framer.pending == 5


# --- (d) fuzzing -------------------------------------------------------------------------------------

TOKENS = ["", "0", "-1", "1", "H", "-", ".", "nan", "inf", "-inf", "1e308", "9" * 40, "1_0", " 1", "7700",
          "4CA2D6", "~4CA2D6", "2024/05/01", "2024/02/30", "23:59:60.999", "10:00:00.250", "KLM1302 ",
          "\x00", "\u0661\u0662", "90.00000", "-180.00000", "35000H", "-0", "0.", "3"]


def _check(dec: SbsDecoder, line) -> None:  # type: ignore[no-untyped-def]
    m = parse_sbs(line)
    if m is not None:
        assert isinstance(m, SbsMessage) and 1 <= m.type <= 8
        for v in (m.alt_ft, m.gs_kt, m.track, m.lat, m.lon, m.vrate_fpm, m.time):
            assert v is None or math.isfinite(v)
    c = dec.decode(line, 1_700_000_000.0, frame=1)
    if c is not None:
        contact_json(c)
        loc = c.location
        if loc is not None and loc.lat is not None:
            assert -90 <= loc.lat <= 90 and -180 <= loc.lon <= 180 and (loc.lat, loc.lon) != (0.0, 0.0)


@FUZZ
@given(data=st.binary(max_size=300))
def test_fuzz_random_bytes(data):
    _check(SbsDecoder(), data)
    _check(SbsDecoder(), b"MSG," + data)


@FUZZ
@given(fields=st.lists(st.tuples(st.integers(0, 23), st.one_of(st.sampled_from(TOKENS), st.text(max_size=12))),
                       max_size=6))
def test_fuzz_mutated_fields(fields):
    f = GOOD.decode().rstrip("\r\n").split(",")
    for i, value in fields:
        if i < len(f):
            f[i] = value
        else:
            f.append(value)
    line = ",".join(f)
    dec = SbsDecoder()
    _check(dec, line)
    _check(dec, line.encode("utf-8", "surrogatepass"))


# --- (b) the live feed over TCP, and (e) the configuration --------------------------------------------


async def test_sbs_feed_with_a_line_cut_by_a_disconnection(sbs_lines):
    lines = [line for line, _ in sbs_lines[:400]]
    k = 150  # line cut in half by the receiver going away
    text = b"".join(lines)
    offset = sum(len(x) for x in lines[:k])
    before = time.time()
    async with Server([(text[: offset + 20], True), (text[offset + len(lines[k]):], False)]) as srv:
        feed = AdsbFeed("127.0.0.1", srv.port, fmt="sbs", backoff_initial=0.05)
        got = []

        async def run():
            async for m in feed.messages():
                got.append(m)
                if len(got) == len(lines) - 1:
                    feed.stop()

        await asyncio.wait_for(run(), TIMEOUT)
    assert [m.data for m in got] == [x.rstrip(b"\r\n") for x in lines[:k] + lines[k + 1:]]
    assert all(m.time >= before for m in got)  # the receive time, not the time in the line
    st_ = feed.state
    assert st_.status == "stopped" and st_.connections == 2 and len(st_.outages) == 1
    assert feed.counters["feed_disconnects"] == 1 and feed.counters["sbs_reset_dropped_bytes"] == 20
    assert feed.port == srv.port and AdsbFeed("127.0.0.1", fmt="sbs").port == 30003


async def test_sbs_source_from_the_configuration_over_tcp(sbs_lines):
    lines = [line for line, _ in sbs_lines[:300]]
    idents = [line for line in lines if line.startswith(b"MSG,1,")]
    assert idents
    async with Server([(b"".join(lines), True), (b"\r\n" + idents[0], False)]) as srv:
        settings = settings_from_dict({
            "sensor": {"id": "gate-2", "lat": 52.3, "lon": 4.76},
            "sources": [{"type": "adsb", "host": "127.0.0.1", "port": srv.port, "format": "sbs"}],
        })
        live = open_source(settings.sources[0], settings)
        assert isinstance(live, AdsbLive) and isinstance(live.decoder, SbsDecoder)
        assert live.decoder.table.receiver == (52.3, 4.76)
        live.feed.backoff_initial = 0.05
        live.sync_s = 0.02
        got = []
        before = time.time()
        task = asyncio.create_task(live.run(got.append))
        await until(lambda: srv.connections == 2 and live.health.status == "ok" and live.health.messages == len(lines) + 1,
                    "all lines, a disconnection and the line after it")
        await stop(task)
    assert len(got) == len(lines) + 1
    assert all(c.transport is Transport.ADSB and c.sensor_id == "gate-2" and c.source == f"adsb 127.0.0.1:{srv.port}"
               and c.time >= before for c in got)
    assert got[-1].aircraft.callsign and live.health.errors == 1
    assert live.health.status == "stopped"


def test_sbs_format_in_the_configuration():
    settings = settings_from_dict({"sources": [{"type": "adsb", "format": "sbs"}]})
    (source,) = settings.sources
    live = open_source(source, settings)
    assert live.feed.fmt == "sbs" and live.feed.port == 30003 and live.name == "adsb 127.0.0.1:30003"
    assert isinstance(live.decoder, SbsDecoder)
    with pytest.raises(ConfigError, match=r"sources\[0\]\.format: expected one of beast, avr, sbs, got 'basestation'"):
        settings_from_dict({"sources": [{"type": "adsb", "format": "basestation"}]})
