"""Broadcast text is shown literally: markup in a Self-ID, a serial, an operator ID or an SSID
is neither rendered nor acted upon (Textual markup can carry ``@click`` actions)."""

from __future__ import annotations

from console_helpers import cell_text, render_text, settle, table_keys
from textual.geometry import Region

from airwatch.config import settings_from_dict
from airwatch.console import format as fmt
from airwatch.console.app import AirwatchConsole
from airwatch.console.replay_feed import ReplayFeed
from airwatch.contact import BasicID, GeoPoint, Location, OperatorID, SelfID, System
from airwatch.encoders import pcap
from airwatch.encoders import remoteid as rid
from airwatch.encoders import wifi

T0 = 1_763_700_000.0
SELF_ID = "[@click=app.quit]X[/]"
UAS_ID = "[@click=quit]Q[/]"
OPERATOR_ID = "[red]OP[/red][b]"
SSID = "[@click=app.bell]ring[/]\x1b[2J\x07"  # and terminal control characters
LAT, LON = 46.2044, 6.1432


def hostile_capture(path) -> None:  # type: ignore[no-untyped-def]
    frames = []
    for i in range(20):
        t = T0 + i * 0.5
        messages = [
            rid.encode_basic_id(BasicID(2, 2, UAS_ID)),
            rid.encode_location(Location(lat=LAT + 0.001, lon=LON + 0.001, height_m=50.0, alt_geodetic_m=470.0,
                                         speed_horizontal=3.0, direction=90.0, status=2, timestamp=(t % 3600))),
            rid.encode_self_id(SelfID(0, SELF_ID)),
            rid.encode_system(System(1, 1, 1, 0, None, None, 1, 1, t), GeoPoint(LAT + 0.002, LON, kind="takeoff")),
            rid.encode_operator_id(OperatorID(0, OPERATOR_ID)),
        ]
        mpdu = wifi.odid_beacon("02:11:22:33:44:55", rid.encode_pack(messages), i, ssid=SSID.encode())
        frames.append((t, wifi.radiotap_frame(mpdu, channel=6, signal_dbm=-60)))
    pcap.write_pcap(path, frames, 127)


async def test_broadcast_markup_is_shown_literally_and_triggers_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    capture = tmp_path / "hostile.pcap"
    hostile_capture(capture)
    settings = settings_from_dict({"sensor": {"id": "s1", "lat": LAT, "lon": LON}})
    feed = ReplayFeed([str(capture)], settings, pause_at=T0 + 9.5)
    app = AirwatchConsole(feed, settings, operator="tester")
    bells = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]  # count rings, the terminal is headless
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(pilot, app)
        keys = table_keys(app.table)
        assert keys == [f"rid:{UAS_ID}"]
        assert cell_text(app.table, keys[0], "ident") == UAS_ID  # literally, brackets and all
        text = render_text(app.detail.current, width=200)
        for literal in (SELF_ID, UAS_ID, OPERATOR_ID, SSID):
            assert fmt.plain(literal) in text, literal  # control characters escaped, as \x1b
        assert "ring[/]\\x1b[2J\\x07" in text
        for widget in (app.table, app.log_pane, app.detail, app.status):  # what reaches the terminal
            lines = "".join(strip.text for strip in widget.render_lines(Region(0, 0, *widget.outer_size)))
            assert "\x1b" not in lines and "\x07" not in lines
        # the scope labels the drone with the first characters of its id, literally
        await pilot.press("z", "z", "z")  # zoom in to 250 m
        await pilot.pause()
        scope = render_text(app.scope.render(), width=app.scope.size.width)
        assert UAS_ID[:10] in scope
        # click the identity cell, the detail pane and the scope: no action runs
        await pilot.click("#contacts", offset=(12, 2))
        await pilot.click("#detail", offset=(5, 1))
        await pilot.click("#scope", offset=(10, 5))
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert bells == []  # the SSID's @click=app.bell never rang (and no alert is high here)
