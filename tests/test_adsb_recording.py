"""ADS-B recordings: sniffing, every format, --start, and long_flight.csv against PipeDecoder."""

from __future__ import annotations

import os

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyModeS import PipeDecoder

from airwatch.decoders.adsb import AdsbDecoder
from airwatch.sources.adsb_recording import (
    AdsbRecording,
    ReceiverClock,
    iter_contacts,
    looks_like_gps_clock,
    parse_start,
    sniff_adsb,
)
from airwatch.sources.avr import format_avr
from airwatch.sources.beast import MODE_S_LONG, MODE_S_SHORT, BeastFramer, encode_frame

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LFBO = (43.6294, 1.3678)
EHAM = (52.3086, 4.7639)
START = 1581508800.0  # 2020-02-12 12:00 UTC


@pytest.fixture(scope="module")
def adsb(captures):
    return captures / "adsb"


@pytest.fixture(scope="module")
def long_rows(adsb):
    rows = []
    for line in (adsb / "long_flight.csv").read_text().splitlines():
        ts, beast = line.split(",")
        rows.append((float(ts), beast[18:]))
    return rows


def test_sniff(adsb, captures):
    assert sniff_adsb((adsb / "sample_dump1090.bin").read_bytes()[:8192]) == "beast"
    assert sniff_adsb((adsb / "long_flight.csv").read_bytes()[:8192]) == "adsb_csv"
    assert sniff_adsb((adsb / "sample_data_adsb.csv").read_bytes()[:8192]) == "adsb_csv"
    assert sniff_adsb(b"*8D4840D6202CC371C32CE0576098;\n*5D3C6614E0C4A1;\n") == "avr"
    assert sniff_adsb(b'{"timestamp": 1.5, "frame": "8d4840d6202cc371c32ce0576098"}\n') == "adsb_jsonl"
    for name in ("pymodes_golden_v2.json", "dump1090_cpr_vectors.json",
                 "pymodes_interesting_messages.md", "opensky_parity_zeroed_messages.txt"):
        assert sniff_adsb((adsb / name).read_bytes()[:8192]) is None, name
    for pcap in (captures / "remoteid").iterdir():
        assert sniff_adsb(pcap.read_bytes()[:8192]) is None, pcap.name
    assert sniff_adsb(b"") is None
    assert sniff_adsb(b"\x1a\x32garbage") is None


def test_beast_file_with_start(adsb):
    rec = AdsbRecording(adsb / "sample_dump1090.bin", start=START)
    msgs = list(rec.messages())
    assert len(msgs) == 239
    assert msgs[0].time == START and not rec.time_is_guessed
    assert 23.5 < msgs[-1].time - START < 24.5
    assert all(b.time >= a.time for a, b in zip(msgs, msgs[1:]))
    assert [m.number for m in msgs] == list(range(1, 240))
    contacts = list(iter_contacts(adsb / "sample_dump1090.bin", start="2020-02-12T12:00:00Z",
                                  sensor_id="rx1"))
    assert all(c.sensor_id == "rx1" and c.source == "sample_dump1090.bin" for c in contacts)
    pos = [c for c in contacts if c.has_position]
    assert pos and all(c.aircraft.icao == "48520A" for c in pos)
    assert all(abs(c.location.lat - 43.64) < 0.1 and abs(c.location.lon - 1.23) < 0.1 for c in pos)
    assert all(abs(c.location.alt_pressure_m - 38000 * 0.3048) < 100 for c in pos)
    assert any(c.aircraft.callsign == "TRA89M" for c in contacts)
    assert all(START <= c.time < START + 25 for c in contacts)


def test_beast_file_without_start_uses_mtime(adsb):
    rec = AdsbRecording(adsb / "sample_dump1090.bin")
    first = next(iter(rec.messages()))
    assert rec.time_is_guessed
    assert first.time == os.stat(adsb / "sample_dump1090.bin").st_mtime


def test_parse_start():
    assert parse_start("2020-02-12T12:00:00Z") == START
    assert parse_start("2020-02-12 12:00:00") == START
    assert parse_start(START) == START
    assert parse_start("1581508800") == START
    assert parse_start(None) is None


def test_gps_clock():
    day = START - START % 86400
    stamps = [(s << 30) | ns for s in (43200, 43201, 43202) for ns in (0, 500_000_000)]
    assert looks_like_gps_clock(stamps)
    clock = ReceiverClock(START, gps=True)
    assert clock.time(stamps[1]) == day + 43200.5
    # a 12 MHz counter over a few minutes shows low parts above 1e9
    assert not looks_like_gps_clock([i * 12_000_000 for i in range(0, 300, 3)])


def test_12mhz_clock_restart_keeps_time_monotonic():
    clock = ReceiverClock(100.0)
    assert clock.time(12_000_000) == 100.0
    assert clock.time(24_000_000) == 101.0
    assert clock.time(6_000_000) == 101.0  # receiver restarted: new segment
    assert clock.time(18_000_000) == 102.0
    assert clock.time(0) == 102.0  # no timestamp
    assert clock.counters["clock_discontinuity"] == 1


def test_gps_clock_file(tmp_path, adsb):
    frames = BeastFramer().feed((adsb / "sample_dump1090.bin").read_bytes())
    t0 = frames[0].timestamp
    wire = b""
    for f in frames:
        ns = int((f.timestamp - t0) / 12e6 * 1e9) + 43200 * 10**9
        wire += encode_frame(f.kind, ((ns // 10**9) << 30) | (ns % 10**9), f.signal, f.data)
    path = tmp_path / "gps.bin"
    path.write_bytes(wire)
    msgs = list(AdsbRecording(path, start=START).messages())
    assert len(msgs) == 239
    assert msgs[0].time == pytest.approx(START - START % 86400 + 43200)
    assert msgs[-1].time - msgs[0].time == pytest.approx(23.9, abs=0.1)


def test_all_formats_give_the_same_contacts(tmp_path, adsb, long_rows):
    rows = long_rows[30000:45000]
    csv = tmp_path / "a.csv"
    csv.write_text("".join(f"{t},{h}\n" for t, h in rows))
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_bytes(b"".join(orjson.dumps({"timestamp": t, "frame": h}) + b"\n" for t, h in rows))
    t0 = rows[0][0]
    avr = tmp_path / "a.avr"
    avr.write_bytes(b"".join(format_avr(bytes.fromhex(h), round((t - t0 + 1000) * 12e6)) for t, h in rows))
    beast = tmp_path / "a.bin"
    beast.write_bytes(
        b"".join(
            encode_frame(MODE_S_LONG if len(h) == 28 else MODE_S_SHORT, round((t - t0 + 1000) * 12e6),
                         100, bytes.fromhex(h))
            for t, h in rows
        )
    )
    assert [sniff_adsb(p.read_bytes()[:8192]) for p in (csv, jsonl, avr, beast)] == [
        "adsb_csv", "adsb_jsonl", "avr", "beast"]

    def summary(path, **kw):
        return [
            (round(c.time, 3), c.aircraft.icao, c.aircraft.df,
             c.has_position and (round(c.location.lat, 6), round(c.location.lon, 6)))
            for c in iter_contacts(path, **kw)
        ]

    ref = summary(csv)
    assert sum(1 for r in ref if r[3]) > 1000
    assert summary(jsonl) == ref
    assert summary(avr, start=t0) == ref
    assert summary(beast, start=t0) == ref


def test_bad_lines_are_counted_not_fatal(tmp_path):
    good = "1698140962.171425,1a33000023bb50f025903907dbc1b50fca1ad701efd570\n"
    path = tmp_path / "bad.csv"
    path.write_text(good + "nan,8d4840d6202cc371c32ce0576098\n1,zz\n2,8d4840\n3\n"
                    "4,1a3300\n" + good)
    rec = AdsbRecording(path)
    assert len(list(rec.messages())) == 2
    assert rec.counters["csv_bad_line"] == 3
    assert rec.counters["csv_bad_length"] == 1
    assert rec.counters["csv_bad_beast_frame"] == 1
    jl = tmp_path / "bad.jsonl"
    jl.write_text('{"timestamp": 1, "frame": "5d3c6614e0c4a1"}\n[1]\n{"timestamp": 1}\n'
                  '{"ts": "x", "raw": "00"}\nnot json\n{"time": "2020-02-12T12:00:00Z", '
                  '"hex": "*5D3C6614E0C4A1;"}\n')
    rec = AdsbRecording(jl)
    msgs = list(rec.messages())
    assert [m.time for m in msgs] == [1.0, START]
    assert rec.counters["jsonl_bad_json"] == 2
    assert rec.counters["jsonl_missing_field"] == 1
    assert rec.counters["jsonl_bad_value"] == 1


def test_not_a_recording(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("hello\n")
    with pytest.raises(ValueError, match="not a recognised ADS-B recording"):
        AdsbRecording(path)


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from(["beast", "avr", "adsb_csv", "adsb_jsonl"]))
def test_fuzz_files_of_random_bytes(tmp_path_factory, data, fmt):
    path = tmp_path_factory.mktemp("fz") / "f"
    path.write_bytes(data)
    for c in iter_contacts(path, fmt=fmt, start=START):
        assert c.aircraft is not None


# --------------------------------------------------------------------------- long_flight.csv


def pipe_positions(rows, surface_ref):
    pipe = PipeDecoder(surface_ref=surface_ref)
    out = {}
    for i, (t, h) in enumerate(rows, 1):
        r = pipe.decode(h, timestamp=t)
        if r.get("latitude") is not None:  # a copy at return time (PipeDecoder retro-fills)
            out[i] = (r["latitude"], r["longitude"])
    return out


def test_long_flight_positions_agree_with_pipedecoder(adsb, long_rows):
    dec = AdsbDecoder(receiver=LFBO)
    ours = {
        c.frame: (c.location.lat, c.location.lon, c.aircraft.on_ground)
        for c in iter_contacts(adsb / "long_flight.csv", decoder=dec)
        if c.has_position
    }
    # PipeDecoder takes one surface reference: run it for each airport, compare each surface
    # position with the run whose reference airport is near it
    pipes = {ref: pipe_positions(long_rows, ref) for ref in ("LFBO", "EHAM")}
    common = agree = 0
    for frame, (lat, lon, ground) in ours.items():
        ref = "EHAM" if lat > 48 else "LFBO"
        theirs = pipes[ref].get(frame)
        if theirs is None:
            continue
        common += 1
        agree += abs(theirs[0] - lat) <= 1e-4 and abs(theirs[1] - lon) <= 1e-4
    assert common > 12000
    assert agree / common >= 0.99
    # surface positions at both ends of the flight
    assert sum(1 for lat, lon, g in ours.values() if g and abs(lat - EHAM[0]) < 0.05) > 500
    assert sum(1 for lat, lon, g in ours.values() if g and abs(lat - LFBO[0]) < 0.05) > 500
    # the first position comes sooner than PipeDecoder's
    delays = [d for d in dec.first_fix_delays() if d is not None]
    assert delays and max(delays) < 2.0


def test_sample_data_adsb_csv_positions(adsb):
    pos = [c.location for c in iter_contacts(adsb / "sample_data_adsb.csv") if c.has_position]
    assert len(pos) > 900
    assert all(51.1 < p.lat < 51.71 and 4.77 < p.lon < 7.25 for p in pos)
    assert pos[0].lat == pytest.approx(51.1457, abs=0.01)
    assert pos[-1].lon == pytest.approx(4.7734, abs=0.01)
    assert all(abs(p.alt_pressure_m / 0.3048 - 36000) < 100 for p in pos)
