"""The operator console driven headless with Textual's Pilot, on the bundled demo replay.

Expectations come from the demo's truth file (captures/demo_scenario.truth.json): which drones
and aircraft are up at a given time, and which alerts the scenario raises.
"""

from __future__ import annotations

import pytest
from console_helpers import START, TRUTH, FakeClock, cell_text, demo_app, settle, table_keys

from airwatch.console.widgets.contact_table import ContactTable
from airwatch.correlator.model import Severity
from airwatch.storage import Store

SIZE = (180, 50)


def drones_up(at: float) -> set[str]:
    """Truth: drones broadcasting an identity the console can show at ``at``."""
    return {o["identity"]["uas_id"] for o in TRUTH["objects"]
            if o["kind"] == "drone" and not o["noncooperative"] and o["active"][0] <= at <= o["active"][1]}


async def test_demo_screen_shows_drones_aircraft_and_alerts() -> None:
    app = demo_app(START + 100)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        pic = app.picture_
        assert pic is not None and pic.replay is not None and pic.replay.paused
        assert pic.replay.position == pytest.approx(START + 100, abs=1.0)
        idents = {cell_text(app.table, k, "ident") for k in table_keys(app.table)}
        for uas_id in drones_up(START + 100):
            assert uas_id in idents
        classes = [cell_text(app.table, k, "cls") for k in table_keys(app.table)]
        assert classes.count("ADSB") + classes.count("UAV") == 2  # the helicopter and the B6 UAV
        assert "NONCO" in classes  # the Mavic heard only by its Wi-Fi signature
        assert app.log_pane.row_count == len(pic.alerts) > 0
        status = app.status.current.plain
        assert "REPLAY PAUSED" in status
        assert f"{sum(not a.acknowledged for a in pic.alerts)} UNACKED" in status


async def test_most_dangerous_first_and_sort_cycle() -> None:
    app = demo_app(START + 100)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        keys = table_keys(app.table)
        by_id = {t.track_id: t for t in app.picture_.tracks}
        from airwatch.console import format as fmt

        threats = fmt.threats(app.picture_.alerts)
        first = threats.get(keys[0])
        worst = max((t.unacked for t in threats.values() if t.unacked is not None), default=None)
        assert first is not None and first.unacked == worst  # the worst unacknowledged alert is on top
        assert by_id[keys[-1]].kind.value in ("aircraft", "drone", "unknown")
        modes = []
        for _ in range(6):
            await pilot.press("s")
            await pilot.pause()
            modes.append(app.table.sort_mode)
            if app.table.sort_mode == "identity":
                idents = [cell_text(app.table, k, "ident").lower() for k in table_keys(app.table)]
                assert idents == sorted(idents)
        assert modes == ["range", "age", "identity", "altitude", "kind", "threat"]
        await pilot.press("s", "s", "s")  # identity
        await pilot.press("r")
        await pilot.pause()
        idents = [cell_text(app.table, k, "ident").lower() for k in table_keys(app.table)]
        assert idents == sorted(idents, reverse=True)


async def test_vim_keys_move_the_selection_and_the_detail_follows() -> None:
    app = demo_app(START + 100)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        keys = table_keys(app.table)
        assert app.table.cursor_row == 0
        await pilot.press("j", "j")
        await pilot.pause()
        assert app.table.cursor_row == 2
        assert app.selected == keys[2]
        from console_helpers import render_text

        text = render_text(app.detail.current)
        assert keys[2] in text
        await pilot.press("k")
        await pilot.press("G")
        await pilot.pause()
        assert app.table.cursor_row == len(keys) - 1
        await pilot.press("g")
        await pilot.pause()
        assert app.table.cursor_row == 0


async def test_filter_keeps_matching_rows_and_escape_clears_it() -> None:
    app = demo_app(START + 100)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        everything = len(table_keys(app.table))
        await pilot.press("slash", *"adsb")
        await pilot.pause()
        shown = [cell_text(app.table, k, "cls") for k in table_keys(app.table)]
        assert shown == ["ADSB"]
        await pilot.press("enter")
        app.filter_box.value = "zone"
        await pilot.pause()
        for k in table_keys(app.table):
            assert "ZONE" in cell_text(app.table, k, "alerts")
        assert table_keys(app.table)
        await pilot.press("escape")
        await pilot.pause()
        assert len(table_keys(app.table)) == everything
        assert not app.filter_box.display


async def test_acknowledge_keeps_the_alert_and_stores_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 'ack.db'}")
    app = demo_app(START + 100, store=store)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app)
            before = len(app.picture_.alerts)
            await pilot.press("2")  # the alert log
            await pilot.pause()
            alert_id = app.log_pane.selected_id
            assert alert_id is not None
            await pilot.press("a")
            await settle(pilot, app)
            alerts = {a.alert_id: a for a in app.picture_.alerts}
            assert len(alerts) == before  # nothing deleted
            assert alerts[alert_id].acknowledged and alerts[alert_id].acknowledged_by == "tester"
            assert cell_text(app.log_pane, alert_id, "ack").startswith("✓ tester")
            assert alert_id in table_keys(app.log_pane)
            # `a` on a contact acknowledges that contact's alerts
            await pilot.press("1")
            track_id = next(k for k in table_keys(app.table)
                            if any(k in a.track_ids and not a.acknowledged for a in app.picture_.alerts))
            app.table.move_cursor(row=app.table.get_row_index(track_id))
            await pilot.pause()
            await pilot.press("a")
            await settle(pilot, app)
            assert all(a.acknowledged for a in app.picture_.alerts if track_id in a.track_ids)
        stored = {row.alert_id: row for row in store.alerts()}
        assert stored[alert_id].acknowledged and stored[alert_id].acknowledged_by == "tester"
    finally:
        store.close()


async def test_alarm_rings_repeats_until_acknowledged_and_mute_is_visible() -> None:
    clock = FakeClock()
    app = demo_app(START + 100, alarm_clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        high = [a for a in app.picture_.alerts if a.severity >= Severity.HIGH]
        assert high, "the demo raises high alerts by +100 s"
        rings = app.alarm.rings
        assert rings >= 1 and app.flashes == rings
        assert app.has_class("-alarm")
        app.refresh_picture()
        assert app.alarm.rings == rings  # not again before the repeat interval
        clock.t += app.settings.console.bell_repeat_s
        app.refresh_picture()
        assert app.alarm.rings == rings + 1  # repeats while unacknowledged
        await pilot.press("m")
        await pilot.pause()
        assert "MUTED 5:00" in app.status.current.plain
        clock.t += 70
        app.refresh_picture()
        assert app.alarm.rings == rings + 1  # muted
        assert "MUTED 3:50" in app.status.current.plain
        await pilot.press("A")  # acknowledge every alert in the log
        await settle(pilot, app)
        clock.t += app.settings.console.mute_s  # the mute runs out
        app.refresh_picture()
        assert "MUTED" not in app.status.current.plain
        assert app.alarm.active == 0 and app.alarm.rings == rings + 1  # nothing left to ring for
        assert not app.has_class("-alarm")
        assert "no unacked alerts" in app.status.current.plain


async def test_replay_pause_resume_speed_step_jump_and_next_alert() -> None:
    app = demo_app(START + 30)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        feed = app.feed
        assert feed.state.paused
        await pilot.press("space")
        await pilot.pause()
        assert not feed.state.paused
        await pilot.press("space")
        await pilot.pause()
        assert feed.state.paused
        await pilot.press("plus", "plus")
        assert feed.state.speed == 5.0
        await pilot.press("minus")
        assert feed.state.speed == 2.0
        for _ in range(10):
            await pilot.press("plus")
        assert feed.state.speed == 100.0
        await settle(pilot, app)
        position = feed.state.position
        await pilot.press("right_square_bracket")
        await settle(pilot, app)
        assert feed.state.position == pytest.approx(position + 1.0, abs=1e-6)
        assert feed.state.paused
        alerts = len(app.picture_.alerts)
        await pilot.press("right_curly_bracket")
        await settle(pilot, app)
        assert len(app.picture_.alerts) > alerts  # ran to the next alert, then paused
        assert feed.state.paused
        newest = max(a.time for a in app.picture_.alerts)
        assert feed.state.position == pytest.approx(newest, abs=1.0)
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"+150", "enter")
        await settle(pilot, app)
        assert feed.state.position == pytest.approx(START + 150, abs=1.0)
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"04:40:20", "enter")  # backwards: the replay runs again from the start
        await settle(pilot, app)
        assert feed.state.position == pytest.approx(START + 20, abs=1.0)
        assert all(a.time <= START + 21 for a in app.picture_.alerts)


async def test_acknowledgement_survives_a_backwards_jump() -> None:
    app = demo_app(START + 100)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        first = min(app.picture_.alerts, key=lambda a: a.time)
        app.feed.acknowledge(first.alert_id, "tester")
        await settle(pilot, app)
        app.feed.jump(first.time - 5)
        await settle(pilot, app)
        assert first.alert_id not in {a.alert_id for a in app.picture_.alerts}
        app.feed.jump(START + 100)
        await settle(pilot, app)
        again = {a.alert_id: a for a in app.picture_.alerts}[first.alert_id]
        assert again.acknowledged and again.acknowledged_by == "tester"


async def test_help_lists_every_key() -> None:
    app = demo_app(START + 10)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        await pilot.pause()
        from console_helpers import render_text

        from airwatch.console.screens import HelpScreen

        screen = app.screen
        assert isinstance(screen, HelpScreen)
        text = "\n".join(render_text(r) for r in screen.renderables)
        for binding in app.BINDINGS:
            assert binding.description in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        assert isinstance(app.table, ContactTable)


async def test_columns_collapse_on_a_narrow_terminal() -> None:
    app = demo_app(START + 60)
    async with app.run_test(size=(90, 40)) as pilot:
        await settle(pilot, app)
        narrow = {c.key for c in app.table.columns}
        assert {"ident", "rng", "alt", "age", "alerts"} <= narrow
        assert "op" not in narrow and "trk" not in narrow
    app = demo_app(START + 60)
    async with app.run_test(size=(260, 40)) as pilot:
        await settle(pilot, app)
        wide = {c.key for c in app.table.columns}
        assert {"op", "trk", "rssi", "gs", "src", "brg"} <= wide


async def test_flash_shows_on_the_panels_without_moving_them() -> None:
    """The flash changes the panels' borders (heavy, error colour) but never their size: a new
    layout of a 2,000-row screen at every ring froze the console for a quarter of a second."""
    app = demo_app(START + 100)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        app.remove_class("-flash")
        await pilot.pause()
        panels = [app.table, app.log_pane, app.scope, app.detail]
        before = [(w.region, w.styles.border_top) for w in panels]
        app.ring()
        await pilot.pause()
        assert app.has_class("-flash")
        during = [(w.region, w.styles.border_top) for w in panels]
        assert [r for r, _ in during] == [r for r, _ in before]  # nothing moved or resized
        for (_, (kind_before, colour_before)), (_, (kind, colour)) in zip(before, during, strict=True):
            assert kind == "heavy" and kind_before != "heavy" and colour != colour_before
