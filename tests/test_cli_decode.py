"""`airwatch decode` as a user runs it: a real child process, real files, real pipes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from airwatch import demo
from airwatch.encoders import remoteid as rid
from airwatch.encoders import wifi
from airwatch.encoders.pcap import write_pcap
from airwatch.contact import BasicID, SelfID

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "captures" / "demo.pcapng"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "airwatch", "decode", *args], input=stdin,
                          capture_output=True, timeout=120)


def lines(out: bytes) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_demo_is_what_the_recipe_builds(tmp_path):
    rebuilt = tmp_path / "demo.pcapng"
    demo.main([str(rebuilt)])
    assert rebuilt.read_bytes() == DEMO.read_bytes(), "captures/demo.pcapng is stale: python -m airwatch.demo"


def test_demo_decodes_every_transport():
    done = run(str(DEMO))
    assert done.returncode == 0, done.stderr
    contacts = lines(done.stdout)
    transports = Counter(c["transport"] for c in contacts)
    assert transports == {"wifi_beacon": 120 + 60 + 1, "bt4_legacy": 120, "bt5_long_range": 120, "dji_droneid": 120,
                          "wifi_nan": 60, "french_beacon": 20}
    ids = Counter(c["basic_ids"][0]["uas_id"] for c in contacts if c["basic_ids"])
    assert ids["1581F6DEMX0000000001"] == 120 + 24 + 120  # beacon, BT4 Basic ID slots, BT5
    nan = [c for c in contacts if c["transport"] == "wifi_nan"]
    assert {c["channel"] for c in nan} == {149} and {c["freq_mhz"] for c in nan} == {5745}
    assert {c["dji"]["serial"] for c in contacts if c["dji"]} == {"0K1ZA2B3C4D5E6F7"}
    times = [c["time"] for c in contacts]
    assert times == sorted(times)
    summary = done.stderr.decode().strip().splitlines()[-1]
    assert summary.startswith("airwatch decode: 1 input(s), 1508 frames, 621 contacts, 1 frames rejected")
    assert "wifi_truncated_element 1" in summary


def test_stdin_pipe_and_several_inputs_merge_in_time_order(captures):
    a = captures / "remoteid/dji_air3.pcapng"
    b = captures / "remoteid/odid_wifi_bcn_sample.pcap"
    piped = run("-", stdin=a.read_bytes())
    assert piped.returncode == 0 and len(lines(piped.stdout)) == 9
    both = run(str(b), str(a))
    merged = lines(both.stdout)
    assert len(merged) == 30 and [c["time"] for c in merged] == sorted(c["time"] for c in merged)
    assert {c["source"] for c in merged} == {str(a), str(b)}


def test_unreadable_inputs_exit_1_and_say_why(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x1a\x33hello, not a capture")
    done = run(str(tmp_path / "missing.pcap"), str(junk), str(DEMO))
    assert done.returncode == 1
    err = done.stderr.decode()
    assert "missing.pcap: cannot open" in err and "junk.bin: not a pcap/pcapng capture or an ADS-B recording (starts with 1a 33" in err
    assert len(lines(done.stdout)) == 621  # the good input is still decoded


def test_cut_off_capture_keeps_the_frames_before_the_cut(tmp_path, captures):
    full = (captures / "remoteid/parrot_anafi4_real.pcapng").read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(full[: len(full) // 2])
    whole = lines(run(str(captures / "remoteid/parrot_anafi4_real.pcapng")).stdout)
    done = run(str(cut))
    assert done.returncode == 1
    got = lines(done.stdout)
    assert 0 < len(got) < len(whole)
    assert got == [dict(c, source=str(cut)) for c in whole[: len(got)]]
    assert "truncated" in done.stderr.decode() and "byte" in done.stderr.decode()


def test_pretty_escapes_control_characters_and_keeps_markup_literal(tmp_path):
    pack = rid.encode_pack([rid.encode_basic_id(BasicID(1, 2, "AB\x1b[2J\x07CD")),
                            rid.encode_self_id(SelfID(0, "[@click=app.quit]X[/]"))])
    frame = wifi.radiotap_frame(wifi.odid_beacon("02:00:00:00:00:01", pack, 1, ssid="\x1b]0;pwned\x07"))
    path = tmp_path / "hostile.pcap"
    write_pcap(path, [(1.7e9, frame)], 127)
    done = run("--pretty", str(path))
    out = done.stdout.decode()
    assert "\x1b" not in out and "\x07" not in out
    assert "serial_number=AB\\x1b[2J\\x07CD" in out
    assert "self_id=[@click=app.quit]X[/]" in out and "ssid=\\x1b]0;pwned\\x07" in out
    raw = lines(run(str(path)).stdout)[0]
    assert raw["basic_ids"][0]["uas_id"] == "AB\x1b[2J\x07CD"  # JSON keeps the text, escaped by JSON


def test_raw_adds_the_payload_hex():
    first = lines(run("--raw", str(DEMO)).stdout)[0]
    assert first["raw"] and bytes.fromhex(first["raw"])
    assert lines(run(str(DEMO)).stdout)[0]["raw"] is None


@pytest.mark.parametrize("config, message", [
    ("[sensor]\nlat = 95.0\nlon = 1.0\n", "sensor.lat: 95.0 is not a latitude"),
    ("[sensor]\nid = 3\n", "sensor.id: expected text"),
    ("[sensr]\n", "unknown section [sensr]"),
    ("[sensor\n", "not valid TOML"),
])
def test_bad_config_is_a_clear_error(tmp_path, config, message):
    path = tmp_path / "config.toml"
    path.write_text(config)
    done = run("--config", str(path), str(DEMO))
    assert done.returncode == 2 and message in done.stderr.decode()


def test_sensor_id_from_config_and_flag(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[sensor]\nid = "north-fence"\nlat = 46.2\nlon = 6.1\n')
    assert lines(run("--config", str(path), str(DEMO)).stdout)[0]["sensor_id"] == "north-fence"
    assert lines(run("--sensor-id", "gate", str(DEMO)).stdout)[0]["sensor_id"] == "gate"


def test_shipped_config_loads():
    from airwatch.config import load_settings

    settings = load_settings(ROOT / "config.toml")
    assert settings.sensor.id == "local"


def test_adsb_recordings_merge_with_captures_in_time_order(captures):
    beast = captures / "adsb/sample_dump1090.bin"
    pcap = captures / "remoteid/odid_wifi_bcn_sample.pcap"
    # the ESP32 capture was made on 2021-05-21 from 21:52:11 UTC; put the Beast recording 5 s before it
    done = run("--start", "2021-05-21T21:52:06Z", str(beast), str(pcap))
    assert done.returncode == 0, done.stderr
    contacts = lines(done.stdout)
    assert [c["time"] for c in contacts] == sorted(c["time"] for c in contacts)
    kinds = Counter(c["transport"] for c in contacts)
    assert kinds["wifi_beacon"] == 21 and kinds["adsb"] > 0
    aircraft = {c["aircraft"]["icao"] for c in contacts if c["aircraft"]}
    assert "48520A" in aircraft
    first = min(c["time"] for c in contacts if c["transport"] == "adsb")
    assert 1621633926.0 <= first < 1621633926.0 + 25  # the recording lasts about 24 s
    assert "warning" not in done.stderr.decode()


def test_adsb_recording_without_start_warns(captures):
    done = run(str(captures / "adsb/sample_dump1090.bin"))
    assert done.returncode == 0
    assert "carry no date" in done.stderr.decode() and "--start" in done.stderr.decode()


def test_adsb_csv_summary_counts_messages(captures):
    done = run(str(captures / "adsb/long_flight.csv"))
    assert done.returncode == 0
    summary = done.stderr.decode().strip().splitlines()[-1]
    assert summary.startswith("airwatch decode: 1 input(s), 172432 frames,")
    icaos = Counter(c["aircraft"]["icao"] for c in lines(done.stdout))
    assert icaos.most_common(1)[0][0] == "486257"
