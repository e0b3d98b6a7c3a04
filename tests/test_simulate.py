"""airwatch.simulate: every shipped scenario is simulated, then read back through the real decode
path (``airwatch.inputs.read_inputs``) and compared with the scenario's own ground truth."""

from __future__ import annotations

import copy
import json
import math
import tomllib
from collections import Counter, defaultdict
from itertools import islice
from pathlib import Path

import pytest
from pyModeS import Message

from airwatch.contact import Contact, Transport
from airwatch.inputs import InputOptions, read_inputs
from airwatch.simulate import (
    ScenarioError,
    _frames,
    cpr_encode,
    distance_m,
    load_scenario,
    main,
    serial_valid,
    simulate,
    velocity_me,
)
from airwatch.sources.pcap import read_capture

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "captures" / "scenarios"
SHIPPED = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
RID = {Transport.WIFI_BEACON, Transport.WIFI_NAN, Transport.BT4_LEGACY, Transport.BT5_LONG_RANGE}
DRONE_SIGNALS = RID | {Transport.DJI_DRONEID, Transport.FRENCH_BEACON}
# Position quantisation of each encoding, in degrees (RID 1e-7, DJI radians*1e7, French 1e-5).
LATLON_TOL = {Transport.WIFI_BEACON: 2e-7, Transport.WIFI_NAN: 2e-7, Transport.BT4_LEGACY: 2e-7,
              Transport.BT5_LONG_RANGE: 2e-7, Transport.DJI_DRONEID: 1e-5, Transport.FRENCH_BEACON: 1e-5}


class Run:
    """One simulated scenario, decoded."""

    def __init__(self, name: str, out: Path) -> None:
        self.name = name
        self.result = simulate(SCENARIOS / f"{name}.toml", out)
        self.scenario = load_scenario(SCENARIOS / f"{name}.toml")
        self.truth = json.loads(self.result.truth.read_text())
        files = [str(p) for p in (self.result.pcapng, self.result.adsb_csv) if p is not None]
        sensor = self.truth["sensor"]
        contacts, self.reports = read_inputs(files, InputOptions(receiver=(sensor["lat"], sensor["lon"])))
        self.contacts: list[Contact] = list(contacts)
        self.objects = {o["name"]: o for o in self.truth["objects"]}
        self.by_tx: dict[str, list[Contact]] = defaultdict(list)
        for c in self.contacts:
            self.by_tx[c.transmitter or ""].append(c)

    def transport_contacts(self, obj: dict, transport: str) -> list[Contact]:
        """Contacts of one object on one transport, matched by transmitter (and BLE address window)."""
        entry = obj["transports"][transport]
        out = []
        if "addresses" in entry:
            for a in entry["addresses"]:
                out += [c for c in self.by_tx[a["address"]]
                        if c.transport == transport and a["from"] <= c.time < a["until"]]
        else:
            out = [c for c in self.by_tx[entry["transmitter"]] if c.transport == transport]
        return sorted(out, key=lambda c: c.time)

    def seconds(self, obj: dict) -> float:
        return obj["active"][1] - obj["active"][0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    out = tmp_path_factory.mktemp("sim")
    return {name: Run(name, out) for name in SHIPPED}


def test_the_focused_scenarios_are_shipped() -> None:
    for name in ("demo", "noncooperative", "noncompliant", "spoofing", "proximity", "geofence", "emergency",
                 "flood"):
        assert name in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_decodes_cleanly(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    for r in run.reports:
        assert r.error is None, r.error
        assert not r.rejected, (r.name, r.rejected)
    assert run.result.wifi_frames + run.result.ble_frames == sum(
        r.frames for r in run.reports if r.kind == "capture")
    if run.result.adsb_csv is not None:
        assert sum(r.frames for r in run.reports if r.kind.startswith("adsb")) == run.result.adsb_messages


@pytest.mark.parametrize("name", SHIPPED)
def test_identities_per_transport(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    for obj in run.truth["objects"]:
        if obj["kind"] not in ("drone", "spoofer") or obj.get("spoof", {}).get("mode") in ("flood", "multi_identity"):
            continue
        omitted = set(obj.get("faults", {}).get("omit", []))
        for transport, entry in obj["transports"].items():
            got = run.transport_contacts(obj, transport)
            if transport == "wifi_signature":  # the decoder's drone signature rules match every beacon
                assert len(got) == entry["frames"] > 0
                assert {c.ssid for c in got} == {entry["ssid"]} and all(c.signature for c in got)
                continue
            assert len(got) == entry["frames"] > 0, (obj["name"], transport)
            if transport in RID:
                ids = {c.uas_id for c in got if c.basic_ids}
                if "basic_id" in omitted:
                    assert ids == set()
                else:
                    assert ids == {obj["identity"]["uas_id"]}, (obj["name"], transport)
                if "operator_id" in obj["identity"] and "operator_id" not in omitted:
                    assert {c.operator_id.operator_id for c in got if c.operator_id} == {obj["identity"]["operator_id"]}
                if "self_id" in obj["identity"]:
                    assert {c.self_id.description for c in got if c.self_id} == {obj["identity"]["self_id"]}
            elif transport == "dji_droneid":
                assert {c.dji.serial for c in got} == {obj["identity"]["uas_id"]}
                assert {c.ssid for c in got} == {obj["signature"]["ssid"]}
            elif transport == "french_beacon":
                assert {c.french.french_id for c in got} == {obj["identity"].get("french_id", obj["identity"]["uas_id"])}


@pytest.mark.parametrize("name", SHIPPED)
def test_positions_follow_the_path(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    sc = run.scenario
    checked = 0
    for obj in run.truth["objects"]:
        if obj["kind"] != "drone" and not (obj["kind"] == "spoofer" and obj["spoof"]["mode"] in (
                "far_operator", "counter_regression", "null_island", "teleport")):
            continue
        sim = sc.object(obj["name"])
        faults = obj.get("faults", {})
        for transport in obj["transports"]:
            if transport == "wifi_signature":
                continue
            for c in run.transport_contacts(obj, transport):
                if c.location is None or "location" in faults.get("omit", []):
                    continue
                st = sim.state(c.time - sc.start)
                if "position" in faults.get("out_of_range", []):
                    assert c.location.lat is None and "position" in c.anomalies
                    continue
                if st.lat == 0.0 and st.lon == 0.0:  # exactly null island reads as "unknown"
                    assert c.location.lat is None
                    continue
                tol = LATLON_TOL[c.transport]
                assert abs(c.location.lat - st.lat) <= tol and abs(c.location.lon - st.lon) <= tol, (obj["name"], c)
                if c.transport in RID:
                    assert c.location.alt_geodetic_m == pytest.approx(st.alt_m, abs=0.5)
                    assert c.location.height_m == pytest.approx(st.alt_m - obj["takeoff"][2], abs=0.5)
                    assert c.location.alt_pressure_m == pytest.approx(st.alt_m - obj["geo_minus_baro_m"], abs=0.5)
                    if "direction" not in faults.get("out_of_range", []) and st.speed > 1:
                        assert abs((c.location.direction - st.track + 180) % 360 - 180) <= 0.6
                        assert c.location.speed_horizontal == pytest.approx(st.speed, abs=0.25)
                    if not faults.get("invalid_timestamp") and "timestamp" not in faults.get("out_of_range", []):
                        assert c.location.time == pytest.approx(c.time, abs=0.051)
                checked += 1
    if any(o["kind"] == "drone" and not o["noncooperative"] for o in run.truth["objects"]):
        assert checked > 0


@pytest.mark.parametrize("name", [n for n in SHIPPED if n in ("demo", "proximity")])
def test_adsb_aircraft(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    sc = run.scenario
    for obj in run.truth["objects"]:
        if obj["kind"] != "aircraft":
            continue
        sim = sc.object(obj["name"])
        got = run.by_tx[obj["icao"]]
        assert len(got) == sum(obj["messages"].values())
        assert all(c.transport == Transport.ADSB for c in got)
        # identification every 5 s, then every later contact carries the identity
        first_ident = min(c.time for c in got if c.aircraft.callsign)
        for c in got:
            if c.time >= first_ident:
                assert c.aircraft.callsign == obj["callsign"]
                assert c.aircraft.emitter_category == obj["category"]
        assert any(c.aircraft.is_uav for c in got) == (obj["category"] == "B6")
        positions = [c for c in got if c.location is not None and c.location.lat is not None]
        # every airborne position but the first (it waits for its even/odd partner) is decoded
        assert len(positions) == obj["messages"]["airborne_position"] - 1
        for c in positions:
            st = sim.state(c.time - sc.start)
            assert distance_m(c.location.lat, c.location.lon, st.lat, st.lon) < 10.0
            assert c.location.alt_pressure_m == pytest.approx(st.alt_m - obj["geo_minus_baro_m"], abs=25 * 0.3048)
            assert c.aircraft.position_method == "global"
        velocities = [c for c in got if c.location is not None and c.location.speed_horizontal is not None]
        assert len(velocities) == obj["messages"]["velocity"]
        for c in velocities:
            st = sim.state(c.time - sc.start)
            assert c.location.speed_horizontal == pytest.approx(st.speed, abs=1.5 * 0.5144)
            assert abs((c.location.direction - st.track + 180) % 360 - 180) < 1.0
            assert c.location.speed_vertical == pytest.approx(st.v_up, abs=64 * 0.3048 / 60 + 0.01)
            assert c.aircraft.gnss_baro_diff_m == pytest.approx(obj["geo_minus_baro_m"], abs=25 * 0.3048)
        # transponder rates: 2 Hz positions, 2 Hz velocity, identification every 5 s
        seconds = run.seconds(obj)
        assert obj["messages"]["airborne_position"] / seconds == pytest.approx(2.0, rel=0.05)
        assert obj["messages"]["velocity"] / seconds == pytest.approx(2.0, rel=0.05)
        assert obj["messages"]["identification"] == pytest.approx(seconds / 5.0, abs=1)


def test_adsb_even_odd_alternate(runs: dict[str, Run]) -> None:
    run = runs["proximity"]
    formats = defaultdict(list)
    for line in run.result.adsb_csv.read_text().splitlines():
        ts, beast = line.split(",")
        assert beast.startswith("1a33") and len(beast) == 46
        msg = Message(bytes.fromhex(beast[18:]))
        assert msg.crc == 0
        d = msg.decode()
        if 9 <= d.get("typecode", 0) <= 18:
            formats[msg.icao].append(d["cpr_format"])
    for fmts in formats.values():
        assert fmts == [i % 2 for i in range(len(fmts))]


@pytest.mark.parametrize("name", SHIPPED)
def test_rates(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    for obj in run.truth["objects"]:
        if obj["kind"] not in ("drone", "spoofer") or "spoof" in obj and obj["spoof"]["mode"] == "flood":
            continue
        for transport, entry in obj["transports"].items():
            expected = entry["rate_hz"] * run.seconds(obj)
            assert entry["frames"] == pytest.approx(expected, abs=1.5), (obj["name"], transport)
            if transport == "wifi_signature":
                frames = [f for f in read_capture(run.result.pcapng) if f.linktype == 127
                          and bytes.fromhex(entry["transmitter"].replace(":", "")) in f.data[:60]]
                assert len(frames) == entry["frames"]


def test_location_interval_fault(runs: dict[str, Run]) -> None:
    run = runs["noncompliant"]
    obj = run.objects["slow-location"]
    got = run.transport_contacts(obj, "wifi_beacon")
    with_loc = [c.time for c in got if c.location is not None]
    gaps = [b - a for a, b in zip(with_loc, with_loc[1:])]
    assert min(gaps) >= 3.5 - 0.05 and max(gaps) < 3.5 + 0.6
    assert len(got) > 2 * len(with_loc)  # the other messages keep their 2 Hz
    assert {"rule": "RID-1", "severity": "MEDIUM", "why": "Location interval 3.5 s"} in obj["expect"]


def test_compliance_faults(runs: dict[str, Run]) -> None:
    run = runs["noncompliant"]
    rules = {name: {e.get("rule") for e in o["expect"]} for name, o in run.objects.items()}
    assert rules["reference"] == set()
    no_basic = run.transport_contacts(run.objects["no-basic-id"], "bt5_long_range")
    assert no_basic and all(not c.basic_ids and c.operator is None and c.system is not None for c in no_basic)
    assert {"RID-2", "RID-4"} <= rules["no-basic-id"]
    stamp = run.transport_contacts(run.objects["bad-timestamp"], "wifi_nan")
    assert stamp and all(c.location.timestamp is None and c.location.time is None for c in stamp)
    assert "RID-6" in rules["bad-timestamp"]
    oor = run.transport_contacts(run.objects["out-of-range"], "wifi_beacon")
    assert oor and all({"direction", "speed_vertical"} <= set(c.anomalies) for c in oor)
    assert "RID-8" in rules["out-of-range"]
    bad = run.transport_contacts(run.objects["bad-ids"], "bt4_legacy")
    assert {c.uas_id for c in bad if c.basic_ids} == {"IO12ZNOTVALID"}
    assert {"RID-9", "RID-10"} <= rules["bad-ids"]
    assert not serial_valid("IO12ZNOTVALID") and serial_valid("1581F5FKD2294000000A")


@pytest.mark.parametrize("name", ["noncooperative", "demo"])
def test_noncooperative_drone_sends_no_remote_id(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    noncoop = [o for o in run.truth["objects"] if o["kind"] == "drone" and o["noncooperative"]]
    assert noncoop
    for obj in noncoop:
        mac = obj["signature"]["transmitter"]
        assert mac.startswith("60:60:1f")
        assert not [c for c in run.by_tx[mac] if c.transport in DRONE_SIGNALS]
        # the decoder makes signature contacts of its beacons, with no identity or position
        sig = run.by_tx[mac]
        assert sig and all(c.transport == Transport.WIFI_SIGNATURE for c in sig)
        assert all(c.uas_id is None and not c.has_position for c in sig)
        ssid = obj["signature"]["ssid"].encode()
        beacons = [f for f in read_capture(run.result.pcapng)
                   if f.linktype == 127 and bytes.fromhex(mac.replace(":", "")) in f.data and ssid in f.data]
        assert len(beacons) == obj["transports"]["wifi_signature"]["frames"] > 0
        assert {e["rule"] for e in obj["expect"]} >= {"NC-1", "NC-4"}
    ids = {c.uas_id for c in run.contacts if c.transport in DRONE_SIGNALS}
    for obj in run.truth["objects"]:
        if obj["kind"] == "drone" and not obj["noncooperative"]:
            assert obj["identity"]["uas_id"] in ids
    droneid = [o for o in run.truth["objects"] if set(o.get("transports", {})) == {"dji_droneid"}]
    for obj in droneid:
        got = run.transport_contacts(obj, "dji_droneid")
        assert got and all(c.operator is not None and c.home is not None for c in got)
        assert not [c for c in run.by_tx[obj["transports"]["dji_droneid"]["transmitter"]] if c.transport in RID]


def test_ble_address_rotation(runs: dict[str, Run]) -> None:
    run = runs["demo"]
    obj = run.objects["compliant"]
    addresses = obj["transports"]["bt4_legacy"]["addresses"]
    assert len({a["address"] for a in addresses}) == 3
    for a in addresses:
        got = [c for c in run.by_tx[a["address"]] if c.transport in (Transport.BT4_LEGACY, Transport.BT5_LONG_RANGE)]
        assert got and all(a["from"] <= c.time < a["until"] for c in got)


def test_flood_identities(runs: dict[str, Run]) -> None:
    run = runs["flood"]
    obj = run.objects["flood"]
    n = obj["spoof"]["identities"]
    assert n == 60
    ids = {c.uas_id for c in run.contacts if c.transport == Transport.WIFI_BEACON}
    assert ids == {i["uas_id"] for i in obj["identities"]}
    assert len(ids) == n
    assert len({c.transmitter for c in run.contacts}) == n
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for c in run.contacts:
        first.setdefault(c.uas_id, c.time)
        last[c.uas_id] = c.time
    assert max(last[i] - first[i] for i in ids) <= obj["spoof"]["lifetime_s"]
    assert obj["expect"][0]["rule"] == "SP-9"


def test_spoofers(runs: dict[str, Run]) -> None:
    run = runs["spoofing"]
    o = run.objects
    rules = {name: obj["expect"][0]["rule"] for name, obj in o.items()}
    assert rules == {"teleport": "SP-1", "far-operator": "SP-3", "duplicate": "SP-6", "multi-identity": "SP-7",
                     "counter": "SP-8", "null-island": "SP-12"}

    tele = [c for c in run.transport_contacts(o["teleport"], "wifi_beacon") if c.has_position]
    jumps = [distance_m(a.location.lat, a.location.lon, b.location.lat, b.location.lon)
             for a, b in zip(tele, tele[1:])]
    assert max(jumps) == pytest.approx(3000, rel=0.01) and sum(j > 2000 for j in jumps) >= 5

    far = [c for c in run.transport_contacts(o["far-operator"], "bt4_legacy") if c.operator]
    last_pos = [c for c in run.transport_contacts(o["far-operator"], "bt4_legacy") if c.has_position][-1]
    assert far and all(distance_m(c.operator.lat, c.operator.lon, last_pos.location.lat, last_pos.location.lon)
                       > 15000 for c in far)

    dup = o["duplicate"]
    macs = [t["wifi_beacon"]["transmitter"] for t in dup["transmitters"]]
    assert len(set(macs)) == 2
    tracks = [[c for c in run.by_tx[m] if c.has_position] for m in macs]
    assert {c.uas_id for tr in tracks for c in tr} == {dup["identity"]["uas_id"]}
    a, b = tracks[0][-1], tracks[1][-1]
    assert distance_m(a.location.lat, a.location.lon, b.location.lat, b.location.lon) > 500

    multi = o["multi-identity"]
    got = run.by_tx[multi["transports"]["wifi_beacon"]["transmitter"]]
    assert {c.uas_id for c in got} == {i["uas_id"] for i in multi["identities"]}
    assert len(multi["identities"]) == 4

    counter = run.transport_contacts(o["counter"], "wifi_nan")
    drops = [(b.time - run.truth["scenario"]["start"], a.counter - b.counter)
             for a, b in zip(counter, counter[1:]) if b.counter < a.counter]
    assert [round(d) for _, d in drops] == [4, 4]
    assert [t for t, _ in drops] == [pytest.approx(20, abs=1.01), pytest.approx(40, abs=1.01)]

    null = [c for c in run.transport_contacts(o["null-island"], "bt5_long_range") if c.has_position]
    assert null and all(distance_m(c.location.lat, c.location.lon, 0.0, 0.0) < 600 for c in null)


def test_emergency_and_system_failure(runs: dict[str, Run]) -> None:
    run = runs["emergency"]
    start = run.truth["scenario"]["start"]
    got = run.transport_contacts(run.objects["emergency"], "wifi_beacon")
    for c in got:
        assert (c.location.status == 3) == (c.time - start >= 40), c.time - start
        assert (c.self_id.description_type == 1) == (c.time - start >= 40)
    ev = run.objects["emergency"]["events"]
    assert ev[0]["t_s"] == 40 and ev[0]["expect"][0]["rule"] == "RID-11"
    fail = run.transport_contacts(run.objects["rid-failure"], "bt5_long_range")
    assert {c.location.status for c in fail if c.time - start >= 30} == {4}
    assert {c.location.status for c in fail if c.time - start < 30} == {2}
    assert run.objects["rid-failure"]["events"][0]["expect"][0]["rule"] == "RID-12"
    demo = runs["demo"]
    em = demo.transport_contacts(demo.objects["emergency"], "wifi_beacon")
    assert any(c.location.status == 3 for c in em)


def test_geofence_truth(runs: dict[str, Run]) -> None:
    run = runs["geofence"]
    zone = run.truth["zones"][0]
    assert zone == {"name": "border-post", "lat": 46.2044, "lon": 6.1432, "radius_m": 250.0, "ceiling_m": 300.0,
                    "altitude_ref": "height", "severity": "high"}
    crossings = run.truth["zone_crossings"]
    assert [c["object"] for c in crossings] == ["intruder"]
    start = run.truth["scenario"]["start"]
    enter, leave = crossings[0]["enter"] - start, crossings[0]["exit"] - start
    assert 30 < enter < 45 < leave < 60
    # the decoded positions agree: inside the zone only between enter and exit
    for c in run.transport_contacts(run.objects["intruder"], "wifi_beacon"):
        inside = distance_m(zone["lat"], zone["lon"], c.location.lat, c.location.lon) <= zone["radius_m"]
        if abs(c.time - start - enter) > 1 and abs(c.time - start - leave) > 1:
            assert inside == (enter < c.time - start < leave)


def test_proximity_truth(runs: dict[str, Run]) -> None:
    run = runs["proximity"]
    enc = {(e["aircraft"], e["drone"]): e for e in run.truth["encounters"]}
    nmac = enc[("helicopter", "hover")]
    assert nmac["expect"] == {"rule": "PROXIMITY", "level": "NMAC", "severity": "CRITICAL"}
    assert nmac["closest"]["horizontal_m"] < 152.4 and nmac["closest"]["vertical_m"] < 30.5
    assert nmac["closest"]["t"] == pytest.approx(run.truth["scenario"]["start"] + 45, abs=1)
    assert "NMAC" not in enc.get(("uav", "hover"), {}).get("first", {})
    assert {e["rule"] for e in run.objects["uav"]["expect"]} == {"B6"}
    demo = runs["demo"]
    levels = {(e["aircraft"], e["drone"]): e["expect"]["level"] for e in demo.truth["encounters"]}
    assert levels[("helicopter", "hover")] == "NMAC"


def test_demo_scenario_contents(runs: dict[str, Run]) -> None:
    run = runs["demo"]
    compliant = run.objects["compliant"]
    assert set(compliant["transports"]) == {"wifi_beacon", "wifi_nan", "bt4_legacy", "bt5_long_range"}
    assert compliant["expect"] == []
    assert [c["object"] for c in run.truth["zone_crossings"] if c["object"] == "intruder"] == ["intruder"]
    kinds = Counter(o["kind"] for o in run.truth["objects"])
    assert kinds["aircraft"] == 2 and kinds["background"] == 1
    assert {o["category"] for o in run.truth["objects"] if o["kind"] == "aircraft"} == {"A7", "B6"}
    background = run.objects["background"]
    for ap in background["access_points"]:
        assert not run.by_tx[ap["bssid"]]
    for name in ("pcapng", "adsb_csv", "truth"):
        path = getattr(run.result, name)
        assert path.stat().st_size < 1_000_000


def test_shipped_demo_capture_is_current(tmp_path: Path) -> None:
    r = simulate(SCENARIOS / "demo.toml", tmp_path)
    for made in (r.pcapng, r.adsb_csv, r.truth):
        shipped = ROOT / "captures" / made.name
        assert shipped.read_bytes() == made.read_bytes(), (
            f"{shipped} is stale: run `python -m airwatch.simulate captures/scenarios/demo.toml -o captures`")


def test_deterministic(tmp_path: Path) -> None:
    a = simulate(SCENARIOS / "spoofing.toml", tmp_path / "a")
    b = simulate(SCENARIOS / "spoofing.toml", tmp_path / "b")
    c = simulate(SCENARIOS / "spoofing.toml", tmp_path / "c", seed=999)
    assert a.pcapng.read_bytes() == b.pcapng.read_bytes()
    assert a.truth.read_bytes() == b.truth.read_bytes()
    assert a.pcapng.read_bytes() != c.pcapng.read_bytes()


def _large_scenario() -> dict:
    objects = []
    for i in range(50):
        objects.append({"kind": "drone", "name": f"d{i}", "transports": ["wifi_beacon", "bt4_legacy"],
                        "path": {"type": "circle", "center": {"north_m": 10 * i, "east_m": 0}, "radius_m": 200,
                                 "period_s": 120 + i, "height_m": 50}})
    objects.append({"kind": "spoofer", "name": "flood", "mode": "flood", "transports": ["wifi_beacon"]})
    return {"scenario": {"start": 1_700_000_000, "duration_s": 3600, "seed": 5},
            "sensor": {"lat": 46.2, "lon": 6.1}, "objects": objects}


def test_large_scenario_streams_in_time_order() -> None:
    sc = load_scenario(_large_scenario())
    items = list(islice(_frames(sc), 20000))  # an hour of 50 drones and a flood, read lazily
    times = [i[0] for i in items]
    assert times == sorted(times)
    assert times[-1] - times[0] < 200  # only the first minutes were built
    assert {i[1] for i in items} == set(range(51))


def test_encoders_round_trip_with_pymodes() -> None:
    from pyModeS.position import airborne_position_pair

    lat, lon = 46.2044, 6.1432
    even, odd = cpr_encode(lat, lon, 0), cpr_encode(lat, lon, 1)
    got = airborne_position_pair(*even, *odd, even_is_newer=True)
    assert got == pytest.approx((lat, lon), abs=6e-5)
    from airwatch.encoders.adsb import extended_squitter

    d = Message(extended_squitter("4b1a2c", velocity_me(-30.0, 40.0, -2.0, -50.0))).decode()
    assert d["groundspeed"] == pytest.approx(50 / 0.5144, abs=1.5)
    assert d["track"] == pytest.approx(126.87, abs=1)
    assert d["vertical_rate"] == pytest.approx(-2 / 0.3048 * 60, abs=64)
    assert d["geo_minus_baro"] == pytest.approx(-50 / 0.3048, abs=25)


def _base() -> dict:
    with (SCENARIOS / "proximity.toml").open("rb") as f:
        return tomllib.load(f)


def _set(raw: dict, path: str, value: object) -> dict:
    raw = copy.deepcopy(raw)
    keys = path.split(".")
    node = raw
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if value is KeyError:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return raw


@pytest.mark.parametrize(("path", "value", "message"), [
    ("scenario.start", "yesterday", "scenario.start: 'yesterday' is not ISO 8601"),
    ("scenario.duration_s", -5, "scenario.duration_s: must be greater than 0"),
    ("scenario.duration_s", KeyError, "scenario.duration_s: required"),
    ("scenario.durations", 5, "scenario.durations: unknown key"),
    ("sensor.lat", 91, "sensor.lat: must be at most 90"),
    ("objects.0.kind", "balloon", "objects[0].kind: 'balloon' is not one of drone, spoofer, aircraft, background"),
    ("objects.0.transports", ["wifi_beacon", "lora"], "objects[0].transports[1]: 'lora' is not one of"),
    ("objects.0.channel", 15, "objects[0].channel: 15 is not a 2.4 GHz"),
    ("objects.0.path.type", "spiral", "objects[0].path.type: 'spiral' is not one of waypoints, circle, stationary"),
    ("objects.0.path.at.height_m", "high", "objects[0].path.at.height_m: expected a number, got 'high'"),
    ("objects.0.rates", {"wifi_nan": 2.0}, "objects[0].rates.wifi_nan: rate for a transport the drone does not use"),
    ("objects.0.faults", {"omit": ["basic_id", "colour"]}, "objects[0].faults.omit[1]: 'colour' is not one of"),
    ("objects.0.events", [{"t": 5, "status": "panic"}], "objects[0].events[0].status: 'panic' is not one of"),
    ("objects.0.mac", "60:60:1f", "objects[0].mac: '60:60:1f' is not a MAC address"),
    ("objects.0.colour", "red", "objects[0].colour: unknown key"),
    ("objects.1.icao", "4b1a2", "objects[1].icao: '4b1a2' is not a 24-bit address"),
    ("objects.1.category", "D1", "objects[1].category: 'D1' is not an emitter category"),
    ("objects.1.name", "hover", "objects[1].name: 'hover' is used by another object"),
    ("objects.1.path.points.1.t", 0, "objects[1].path.points[1].t: times must increase"),
    ("objects.1.path.points.0.t", KeyError, "objects[1].path.points[0].t: required"),
    ("objects.2.path.radius_m", KeyError, "objects[2].path.radius_m: required"),
])
def test_validation_errors(path: str, value: object, message: str) -> None:
    with pytest.raises(ScenarioError) as e:
        load_scenario(_set(_base(), path, value))
    assert message in str(e.value)


def test_spoofer_mode_is_checked() -> None:
    raw = _set(_base(), "objects.0.kind", "spoofer")
    with pytest.raises(ScenarioError, match=r"objects\[0\].mode: required"):
        load_scenario(raw)
    with pytest.raises(ScenarioError, match=r"objects\[0\].mode: 'ghost' is not one of"):
        load_scenario(_set(raw, "objects.0.mode", "ghost"))


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(bad)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(SCENARIOS / "emergency.toml"), "-o", str(tmp_path), "--name", "x"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.pcapng", "x.truth.json"]
    assert "x:" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nstart = 0\nduration_s = 10\n[sensor]\nlat = 1\nlon = 2\n[[objects]]\nkind = "ufo"\n')
    assert main([str(bad), "-o", str(tmp_path)]) == 2
    assert "objects[0].kind" in capsys.readouterr().err


def test_serial_validity() -> None:
    assert serial_valid("1581F5FKD2294000000A")
    assert not serial_valid("1581F5FKD229400A")  # length char F says 15, 11 follow
    assert not serial_valid("1O81F5FKD2294000000A")  # O is not a code point
    assert math.isclose(distance_m(0, 0, 0, 1), 111195, rel_tol=1e-3)
