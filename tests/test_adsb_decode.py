"""Mode S / ADS-B decoding against the real ground truth in ../shared/captures/adsb."""

from __future__ import annotations

import base64
import json
import re

import pyModeS
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airwatch.contact import Transport
from airwatch.decoders.adsb import AdsbDecoder, AircraftTable
from airwatch.decoders.adsb.state import FOOT, FT_PER_MIN, KNOT, haversine_km
from airwatch.encoders.adsb import (
    airborne_position_me,
    extended_squitter,
    ident_me,
    surveillance_reply,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KDCA = (38.8521, -77.0377)


@pytest.fixture(scope="module")
def adsb(captures):
    return captures / "adsb"


@pytest.fixture(scope="module")
def golden(adsb):
    return json.loads((adsb / "pymodes_golden_v2.json").read_text())


def known(icao: str, t: float = 0.0) -> AdsbDecoder:
    """A decoder that has heard ``icao`` in a CRC-valid DF17 identification."""
    dec = AdsbDecoder()
    assert dec.decode(extended_squitter(icao, ident_me("TEST1234")), t) is not None
    return dec


# --------------------------------------------------------------------------- golden set


def test_golden_df17_fields(golden):
    checked = 0
    for hexmsg, g in golden.items():
        if g["df"] != 17:
            continue
        c = AdsbDecoder().decode(bytes.fromhex(hexmsg), 1000.0)
        assert c is not None, hexmsg
        assert c.transport is Transport.ADSB
        assert c.aircraft.icao == g["icao"].upper()
        assert c.aircraft.df == 17
        assert c.aircraft.source == "adsb"
        tc = g["typecode"]
        if tc == 4:
            assert c.aircraft.callsign == g["callsign"].rstrip("_")
            assert c.aircraft.emitter_category == (f"A{g['category']}" if g["category"] else None)
        elif 9 <= tc <= 18:
            assert c.location.alt_pressure_m == pytest.approx(g["altitude"] * FOOT)
            assert c.location.alt_geodetic_m is None
        elif tc == 19:
            assert c.location.speed_horizontal == pytest.approx(g["groundspeed"] * KNOT)
            assert c.location.direction == pytest.approx(g["track"], abs=1e-9)
            assert c.location.speed_vertical == pytest.approx(g["vertical_rate"] * FT_PER_MIN)
            assert c.aircraft.velocity_source == "ground"
        checked += 1
    assert checked == 200


def test_golden_df20_df21_for_known_addresses(golden):
    n20 = n21 = 0
    for hexmsg, g in golden.items():
        if g["df"] not in (20, 21):
            continue
        dec = known(g["icao"])
        c = dec.decode(bytes.fromhex(hexmsg), 1.0)
        assert c is not None, hexmsg
        assert c.aircraft.icao == g["icao"].upper()
        assert c.aircraft.source == "modes"
        if g["df"] == 20:
            assert c.location.alt_pressure_m == pytest.approx(g["altitude"] * FOOT)
            n20 += 1
        else:
            assert c.aircraft.squawk == g["squawk"]
            n21 += 1
    assert (n20, n21) == (200, 200)


def test_surveillance_replies_need_a_known_address(golden):
    dec = AdsbDecoder()
    for hexmsg, g in golden.items():
        if g["df"] in (20, 21):
            assert dec.decode(bytes.fromhex(hexmsg), 1.0) is None
    assert dec.counters["surveillance_unknown_address"] == 400
    assert len(dec.table) == 0


def test_repeated_surveillance_values_give_one_contact():
    dec = known("ABC123")
    reply = surveillance_reply(5, "ABC123", 0x0C38)
    assert dec.decode(reply, 1.0).aircraft.squawk == "1321"
    assert dec.decode(reply, 1.5) is None
    assert dec.counters["surveillance_unchanged"] == 1
    # and the squawk stays on the aircraft's later contacts
    assert dec.decode(extended_squitter("ABC123", ident_me("TEST1234")), 2.0).aircraft.squawk == "1321"


def test_short_frame_padded_to_28_hex_is_cut_to_14():
    reply = surveillance_reply(4, "48520A", 0x1C10)
    dec = known("48520A")
    c = dec.decode(reply + bytes(7), 1.0)
    assert c is not None and c.aircraft.icao == "48520A" and c.aircraft.df == 4
    assert dec.counters["short_padding_removed"] == 1
    # a padded DF4 whose padding is not zero is a wrong length, not an aircraft
    assert dec.decode(reply + b"\x01" * 7, 1.1) is None
    assert dec.counters["bad_length"] == 1


# --------------------------------------------------------------------------- CRC


def test_parity_zeroed_opensky_file_is_crc_failures(adsb):
    dec = AdsbDecoder()
    lines = [ln.strip() for ln in (adsb / "opensky_parity_zeroed_messages.txt").read_text().split()]
    contacts = [dec.decode(bytes.fromhex(h), 1e9 + i) for i, h in enumerate(lines) if h]
    assert len(contacts) == 15000
    assert contacts.count(None) == 15000
    assert len(dec.table) == 0
    # every message of a type the decoder reads is reported as a CRC failure
    assert dec.counters["crc_failed"] == 13168
    assert dec.counters["crc_failed"] + dec.counters["es_tc_ignored"] == 15000


# --------------------------------------------------------------------------- identity and DF18


def test_b6_uav_and_df18_sources():
    dec = AdsbDecoder()
    c = dec.decode(extended_squitter("ABC123", ident_me("DRONE1", tc=3, category=6)), 1.0)
    assert c.aircraft.emitter_category == "B6" and c.aircraft.is_uav
    assert c.aircraft.callsign == "DRONE1"
    tisb = dec.decode(extended_squitter("4CA123", ident_me("TISB"), df=18, ca=2), 2.0)
    assert (tisb.aircraft.source, tisb.aircraft.icao, tisb.aircraft.df) == ("tisb", "4CA123", 18)
    adsr = dec.decode(extended_squitter("4CA124", ident_me("ADSR"), df=18, ca=6), 3.0)
    assert adsr.aircraft.source == "adsr"
    anon = dec.decode(extended_squitter("000042", ident_me("ANON"), df=18, ca=5), 4.0)
    assert (anon.aircraft.source, anon.aircraft.icao) == ("tisb", "~000042")
    nt = dec.decode(extended_squitter("000043", ident_me("VEH"), df=18, ca=1), 5.0)
    assert (nt.aircraft.source, nt.aircraft.icao) == ("adsb", "~000043")
    assert dec.decode(extended_squitter("4CA125", ident_me("X"), df=18, ca=3), 6.0) is None
    assert dec.counters["df18_cf_ignored"] == 1


# --------------------------------------------------------------------------- CPR


def test_dump1090_airborne_cpr_vectors(adsb):
    vectors = json.loads((adsb / "dump1090_cpr_vectors.json").read_text())["airborne_global"]
    for v in vectors:
        for even_first, lat_key, lon_key in ((True, "odd_newer_lat", "odd_newer_lon"),
                                             (False, "even_newer_lat", "even_newer_lon")):
            table = AircraftTable()
            st_ = table.touch("ABCDEF", "adsb", 0.0)
            frames = [(0, v["even_cprlat"], v["even_cprlon"]), (1, v["odd_cprlat"], v["odd_cprlon"])]
            if not even_first:
                frames.reverse()
            assert table.airborne(st_, 10.0, *frames[0]) is None
            lat, lon, method = table.airborne(st_, 10.5, *frames[1])
            assert method == "global"
            assert lat == pytest.approx(v[lat_key], abs=1e-6)
            assert lon == pytest.approx(v[lon_key], abs=1e-6)


# pyModeS 3.6.1 picks the other hemisphere for this pole/equator corner (see MANIFEST.md)
PYMODES_SURFACE_CORNER = {(46.0, -180.0)}


def test_dump1090_surface_cpr_vectors(adsb):
    vectors = json.loads((adsb / "dump1090_cpr_vectors.json").read_text())["surface_global"]
    misses = set()
    for v in vectors:
        for odd_newer, lat_key, lon_key in ((True, "odd_newer_lat", "odd_newer_lon"),
                                            (False, "even_newer_lat", "even_newer_lon")):
            table = AircraftTable(receiver=(v["reflat"], v["reflon"]))
            st_ = table.touch("ABCDEF", "adsb", 0.0)
            even = (10.0, v["even_cprlat"], v["even_cprlon"])
            odd = (10.0, v["odd_cprlat"], v["odd_cprlon"])
            # the older frame is already stored; the newer one arrives
            if odd_newer:
                st_.even_surf = even
                got = table.surface(st_, 10.5, 1, odd[1], odd[2])
            else:
                st_.odd_surf = odd
                got = table.surface(st_, 10.5, 0, even[1], even[2])
            assert got is not None and got[2] == "global"
            ok = abs(got[0] - v[lat_key]) < 1e-5 and abs(got[1] - v[lon_key]) < 1e-5
            if not ok:
                misses.add((v["reflat"], v["reflon"]))
    assert misses == PYMODES_SURFACE_CORNER


def test_kdca_surface_positions_within_lib1090_tolerance(adsb):
    records = json.loads((adsb / "lib1090_surface_positions_a53436.json").read_text())
    dec = AdsbDecoder(receiver=KDCA)
    surface, airborne = [], []
    for rec in records:
        r = rec["reply"][0]
        c = dec.decode(base64.b64decode(r["reply"]), int(r["sensorTimestamp"]) / 1000)
        if c is not None and c.has_position:
            (surface if c.aircraft.on_ground else airborne).append(c)
    assert len(surface) == 5
    for c in surface:
        assert c.aircraft.icao == "A53436"
        assert abs(c.location.lat - 38.85) <= 0.005
        assert abs(c.location.lon - (-77.038)) <= 0.0003
    assert len(airborne) >= 60  # 62 airborne position frames, the first pair gives the first fix
    assert all(haversine_km(*KDCA, c.location.lat, c.location.lon) < 60 for c in airborne)


# --------------------------------------------------------------------------- phantoms


def interesting(adsb, heading: str) -> list[tuple[float, bytes]]:
    """(seconds of day, frame) of every message line in one section of the catalogue."""
    text = (adsb / "pymodes_interesting_messages.md").read_text()
    start = text.index(heading)
    end = text.find("\n## ", start + 1)
    rows = []
    for hh, mm, ss, hexmsg in re.findall(
        r"^(\d\d):(\d\d):(\d\d\.\d+)\s+DF=\s*\d+.*?\b([0-9A-F]{28})\b", text[start:end], re.M
    ):
        rows.append((int(hh) * 3600 + int(mm) * 60 + float(ss), bytes.fromhex(hexmsg)))
    assert rows
    return rows


def test_crc_valid_velocity_phantom_is_rejected(adsb):
    rows = interesting(adsb, "## DF17 TC=19 velocity")
    dec = AdsbDecoder()
    out = [dec.decode(m, t) for t, m in rows]
    phantom = bytes.fromhex("8D484556990CB8423008844B2DE1")
    assert [m for (t, m), c in zip(rows, out) if c is None] == [phantom]
    assert dec.counters["velocity_jump"] == 1
    assert all(abs(c.location.speed_horizontal / KNOT - 445) < 2 for c in out if c)


def test_altitude_ghost_and_df20_at_the_same_altitude(adsb):
    rows = interesting(adsb, "## DF17 TC=11 airborne position — CRC-valid altitude ghost")
    dec = AdsbDecoder()
    out = [dec.decode(m, t) for t, m in rows]
    ghost = bytes.fromhex("8D4845565C6AAA206D6E6095C950")
    assert [m for (t, m), c in zip(rows, out) if c is None and m[0] >> 3 == 17] == [ghost]
    assert dec.counters["altitude_jump"] == 1
    alts = [c.location.alt_pressure_m / FOOT for c in out if c and c.location.alt_pressure_m]
    assert alts and all(a == 34000 for a in alts)
    # the interleaved DF20 replies are from the known aircraft and agree with it
    assert any(c.aircraft.df == 20 for c in out if c)


def test_df20_crc_collision_ghost_is_rejected(adsb):
    anchors = interesting(adsb, "## DF20 Comm-B — CRC-collision altcode ghost")
    dec = AdsbDecoder()
    es = [(t, m) for t, m in anchors if m[0] >> 3 == 17]
    assert len(es) == 2
    for t, m in es:
        assert dec.decode(m, t) is not None
    ghost_t = 5 * 3600 + 37 * 60 + 29.913
    assert dec.decode(bytes.fromhex("A3A142168C14F64881711E2DB71A"), ghost_t) is None
    assert dec.counters["surveillance_altitude_mismatch"] == 1
    real = dec.decode(bytes.fromhex("A00015BCEF8A233160E41AA910CC"), ghost_t + 0.1)
    assert real.aircraft.icao == "484163"
    assert real.location.alt_pressure_m == pytest.approx(34100 * FOOT)


def test_surface_and_airborne_frames_never_pair(adsb):
    rows = interesting(adsb, "## DF17 CPR pair resolving to impossible latitude")
    dec = AdsbDecoder()
    out = [dec.decode(m, t) for t, m in rows]
    positions = [c for c in out if c and c.has_position]
    assert positions, "the climb-out frames give positions"
    assert all(-90 <= c.location.lat <= 90 for c in positions)
    # everything reported stays on the climb-out near EHAM
    first = positions[0].location
    assert all(
        haversine_km(first.lat, first.lon, c.location.lat, c.location.lon) < 10 for c in positions
    )
    assert not any(c.aircraft.on_ground for c in positions)


def test_position_jump_and_altitude_ghosts_near_lszh(adsb):
    rows = interesting(adsb, "## Position jump rejected by motion-consistency")
    dec = AdsbDecoder()
    out = [dec.decode(m, t) for t, m in rows]
    positions = [c.location for c in out if c and c.has_position]
    assert positions
    for loc in positions:
        assert haversine_km(47.617, 8.385, loc.lat, loc.lon) < 20
    assert dec.counters["altitude_jump"] == 2  # the two 4075 ft ghosts
    assert all(7300 <= c.location.alt_pressure_m / FOOT <= 7500 for c in out if c)


def test_first_position_from_the_first_pair(adsb):
    rows = interesting(adsb, "## Cold-start position bootstrap")
    dec = AdsbDecoder()
    out = [dec.decode(m, t) for t, m in rows]
    assert out[0] is not None and not out[0].has_position
    first = out[1]
    assert first.has_position and first.aircraft.position_method == "global"
    assert first.location.lat == pytest.approx(52.3200, abs=1e-4)
    assert first.location.lon == pytest.approx(4.7390, abs=1e-4)
    # 0.51 s after the aircraft's first airborne-position frame
    assert dec.first_fix_delays() == [pytest.approx(rows[1][0] - rows[0][0])]
    assert all(c.has_position for c in out[1:])


def test_phantom_first_fix_is_replaced_by_the_real_track():
    """A phantom first pair 700 km away must not lock the aircraft out."""
    dec = AdsbDecoder()
    # a consistent pair 700 km away: the CPR of a real pair near LSZH under 485A33's address
    phantom = []
    for h in ("8D484164602B33D825DF33A49786", "8D484164602B275037D32FB795B8"):
        d = pyModeS.decode(h)
        me = airborne_position_me(100, d["cpr_format"], d["cpr_lat"], d["cpr_lon"])
        phantom.append(extended_squitter("485A33", me))
    dec.decode(phantom[0], 0.0)
    c = dec.decode(phantom[1], 0.2)
    assert c.has_position and haversine_km(47.6, 8.4, c.location.lat, c.location.lon) < 50
    base = 1.0
    real = [
        "8D485A33580572E136F2A2037D58",
        "8D485A335805864C74EBE5B0CC6B",
        "8D485A33580592E156F2A215806A",
        "8D485A335805B64CAAEBE6E13238",
        "8D485A335805B2E18AF2A490B664",
        "8D485A335805C64CC8EBE6A65861",
        "8D485A335805D2E1ACF2A45AD98B",
        "8D485A335805E64CE4EBE7247A8D",
    ]
    last = None
    for i, h in enumerate(real):
        last = dec.decode(bytes.fromhex(h), base + 0.5 * i) or last
    assert last.has_position
    assert haversine_km(52.32, 4.739, last.location.lat, last.location.lon) < 2
    assert dec.counters["position_reanchored"] == 1


def test_gnss_and_baro_altitudes_kept_apart(adsb):
    dec = AdsbDecoder()
    lines = (adsb / "long_flight.csv").read_text().splitlines()
    baro = gnss_diff = 0
    for line in lines:
        ts, beast = line.split(",")
        c = dec.decode(bytes.fromhex(beast[18:]), float(ts))
        if c is None or c.location is None:
            continue
        if c.location.alt_pressure_m is not None and c.aircraft.df == 17:
            baro += 1
            assert c.location.alt_geodetic_m is None
        if c.aircraft.gnss_baro_diff_m is not None:
            gnss_diff += 1
    assert baro > 1000 and gnss_diff > 1000


# --------------------------------------------------------------------------- bad input


@FUZZ
@given(st.binary(max_size=20), st.floats(allow_nan=False, allow_infinity=False))
def test_fuzz_random_bytes(data, t):
    dec = AdsbDecoder(receiver=KDCA, max_range_km=400)
    dec.decode(data, t)
    assert sum(dec.counters.values()) >= 1


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from([17, 18]),
            st.integers(0, 7),
            st.sampled_from(["ABC123", "4840D6", "000001"]),
            st.integers(0, (1 << 56) - 1),
            st.floats(0, 1000),
        ),
        max_size=40,
    )
)
def test_fuzz_crc_valid_extended_squitters(messages):
    """Any CRC-valid DF17/18 content, in any order and timing, never raises."""
    dec = AdsbDecoder(receiver=KDCA)
    for df, ca, icao, me, t in messages:
        c = dec.decode(extended_squitter(icao, me, df=df, ca=ca), t)
        if c is not None and c.has_position:
            assert -90 <= c.location.lat <= 90 and -180 <= c.location.lon <= 180
