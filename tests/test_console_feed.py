"""The console's replay feed and formatting, without a screen."""

from __future__ import annotations

import time

from console_helpers import DEMO_INPUTS, START, TRUTH, demo_settings

from airwatch.console import format as fmt
from airwatch.console.replay_feed import ReplayFeed
from airwatch.console.screens import parse_time
from airwatch.correlator.model import Fix, Track, TrackKind, Classification
from airwatch.replay import replay


def wait(feed: ReplayFeed, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while feed.busy and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not feed.busy


def test_pictures_are_copies_the_worker_does_not_change() -> None:
    feed = ReplayFeed(DEMO_INPUTS, demo_settings(), pause_at=START + 50)
    feed.start()
    try:
        wait(feed)
        early = feed.picture()
        before = {t.track_id: (t.last_fix, t.contacts, len(t.trail)) for t in early.tracks}
        feed.jump(START + 120)
        wait(feed)
        late = feed.picture()
        after = {t.track_id: (t.last_fix, t.contacts, len(t.trail)) for t in early.tracks}
        assert after == before  # the early picture did not move
        moved = {t.track_id for t in late.tracks if t.track_id in before and t.contacts != before[t.track_id][1]}
        assert moved  # while the tracks themselves did
        assert late.version > early.version
    finally:
        feed.stop()


def test_replay_to_the_end_gives_the_same_alerts_as_airwatch_replay() -> None:
    settings = demo_settings()
    expected = replay(DEMO_INPUTS, settings)
    feed = ReplayFeed(DEMO_INPUTS, settings, pause_at=TRUTH["scenario"]["end"] + 3600)
    feed.start()
    try:
        wait(feed)
        pic = feed.picture()
        assert pic.replay.finished
        assert sorted(a.alert_id for a in pic.alerts) == sorted(a.alert_id for a in expected.alerts)
    finally:
        feed.stop()


def test_paced_replay_follows_the_capture_clock() -> None:
    """At 100x, a fake wall clock moved by 0.5 s lets 50 s of capture through, no more."""
    now = [0.0]
    feed = ReplayFeed(DEMO_INPUTS, demo_settings(), speed=100.0, clock=lambda: now[0])
    feed.start()
    try:
        deadline = time.monotonic() + 30
        while feed.state.position is None and time.monotonic() < deadline:
            time.sleep(0.01)
        now[0] = 0.5
        # The worker has run as far as it may once it holds back a contact beyond +50 s.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            held = feed._next
            if held is not None and held.time > START + 50:
                break
            time.sleep(0.01)
        assert held is not None and held.time > START + 50
        assert START + 49 <= feed.state.position <= START + 50
    finally:
        feed.stop()


def test_inputs_that_cannot_be_read_show_as_down_and_the_rest_replays(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cut = tmp_path / "cut.pcapng"
    from pathlib import Path

    data = Path(DEMO_INPUTS[0]).read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    missing = tmp_path / "missing.pcap"
    feed = ReplayFeed([str(cut), str(missing), DEMO_INPUTS[1]], demo_settings(),
                      pause_at=TRUTH["scenario"]["end"] + 3600)
    feed.start()
    try:
        wait(feed)
        pic = feed.picture()
        health = {h.name: h for h in pic.sources}
        assert health["missing.pcap"].status == "down" and "cannot open" in health["missing.pcap"].detail
        assert health["cut.pcapng"].status == "down" and health["cut.pcapng"].contacts > 0
        assert health["demo_scenario.adsb.csv"].status == "ok"
        assert any(t.kind is TrackKind.AIRCRAFT for t in pic.tracks)
        assert any(t.kind is TrackKind.DRONE for t in pic.tracks)  # what came before the cut
    finally:
        feed.stop()


def test_tui_bad_arguments_and_config_are_clear_errors(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from airwatch.console.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text("[console]\nrefresh_hz = 0\n")
    for argv, message in ((["--demo", "--db", "nosuch://x"], "unsupported database"),
                          (["--demo", "--at", "soon"], "--at"),
                          (["--demo", "--speed", "500"], "--speed"),
                          (["--config", str(bad), "--demo"], "refresh_hz"),
                          (["--config", str(tmp_path / "none.toml"), "--demo"], "no such configuration file")):
        assert main(argv) == 2
        assert message in capsys.readouterr().err


def test_formatting() -> None:
    assert fmt.age(0.5) == "" and fmt.age(5) == "5s" and fmt.age(600) == "10m"
    assert fmt.metres(950) == "950m" and fmt.metres(1500) == "1.5km" and fmt.metres(25_000) == "25km"
    t = Track("rid:X", TrackKind.DRONE, Classification.COOPERATIVE_DRONE, 0, 0, uas_id="X")
    assert fmt.altitude(t) == ("", None)
    t.last_fix = Fix(0, 46.0, 6.0, alt_pressure_m=510.0, alt_geodetic_m=520.0, height_m=90.0)
    assert fmt.altitude(t) == ("90m hgt", 90.0)  # a drone's height above take-off first
    a = Track("icao:4b1a2c", TrackKind.AIRCRAFT, Classification.AIRCRAFT, 0, 0, icao="4b1a2c", callsign="HBZRH")
    a.last_fix = Fix(0, 46.0, 6.0, alt_pressure_m=625.0, alt_geodetic_m=650.0, height_m=None)
    assert fmt.altitude(a) == ("625m baro", 625.0)
    assert fmt.identity(a) == "HBZRH 4b1a2c"
    assert fmt.safe("[b]x\x1b[31m").plain == "[b]x\\x1b[31m"


def test_jump_times() -> None:
    ref = 1763700000.0  # 2025-11-21 04:40:00Z
    assert parse_time("+90", ref) == ref + 90
    assert parse_time("04:41:30", ref) == ref + 90
    assert parse_time("04:42", ref) == ref + 120
    assert parse_time("1763700100", ref) == 1763700100.0
    assert parse_time("soon", ref) is None
