"""The console live: ``airwatch monitor``'s in-process site (sources, bus, correlator, storage)."""

from __future__ import annotations

import asyncio

import pytest
from console_helpers import DEMO_INPUTS, TRUTH, demo_settings

from airwatch.config import ConfigError, settings_from_dict
from airwatch.console.app import AirwatchConsole
from airwatch.console.live import live_feed
from airwatch.sources.settings import ReplaySource
from airwatch.storage import Store


async def wait_for(pilot, condition, rounds: int = 600) -> None:  # type: ignore[no-untyped-def]
    for _ in range(rounds):
        pilot.app.refresh_picture()
        if condition():
            return
        await pilot.pause(0.05)
    pic = pilot.app.picture_
    raise AssertionError(f"the live console never showed what was expected: "
                         f"{[(a.alert_id, a.acknowledged) for a in pic.alerts] if pic else None}")


async def test_monitor_runs_sources_correlator_storage_and_console_in_one_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    settings = replace(demo_settings(), sources=(ReplaySource(inputs=tuple(DEMO_INPUTS)),))
    store = Store(f"sqlite:///{tmp_path / 'monitor.db'}")
    try:
        app = AirwatchConsole(live_feed(settings, store=store), settings, operator="guard")
        async with app.run_test(size=(180, 50)) as pilot:
            drones = {o["identity"]["uas_id"] for o in TRUTH["objects"]
                      if o["kind"] == "drone" and not o["noncooperative"]}

            def all_drones_and_alerts() -> bool:
                pic = app.picture_
                return pic is not None and drones <= {t.uas_id for t in pic.tracks} and len(pic.alerts) >= 6

            await wait_for(pilot, all_drones_and_alerts)
            pic = app.picture_
            assert pic.mode == "live"
            # the table shows them too: ages run on the correlator's clock, not on today's date
            shown = {app.table.get_cell(k, "ident").plain for k in app.table.row_keys}
            assert drones <= shown
            assert "LIVE" in app.status.current.plain
            assert any(h.name.startswith("sensor ") for h in pic.sources)
            await pilot.press("2")
            await pilot.pause()
            alert_id = app.log_pane.selected_id
            await pilot.press("a")
            await wait_for(pilot, lambda: any(a.alert_id == alert_id and a.acknowledged for a in app.picture_.alerts))
        for _ in range(100):
            stored = {a.alert_id: a for a in store.alerts()}
            if alert_id in stored and stored[alert_id].acknowledged:
                break
            await asyncio.sleep(0.05)
        assert stored[alert_id].acknowledged and stored[alert_id].acknowledged_by == "guard"
    finally:
        store.close()


def test_nothing_to_watch_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"\[\[sources\]\]"):
        live_feed(settings_from_dict({}), embedded=True)
    with pytest.raises(ConfigError, match=r"\[mqtt\]"):
        live_feed(settings_from_dict({}), embedded=False)
