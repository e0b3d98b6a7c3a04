"""Snapshot tests (pytest-textual-snapshot) of the console on a fixed replay.

The demo is replayed to a fixed capture time and paused; the clocks the console reads are fixed,
so the screen is the same on every run.  After an intended change to the console's look, review
the differences (``snapshot_report.html``) and update with ``pytest --snapshot-update``.
"""

from __future__ import annotations

from console_helpers import START, demo_app, settle

SIZE = (170, 48)


def fixed_app():  # type: ignore[no-untyped-def]
    app = demo_app(START + 100)
    app.alarm.repeat_s = 1e9  # no flash in the middle of a snapshot
    return app


async def _ready(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    await settle(pilot, app)
    app.ring = lambda: None  # the flash is a timer; the alarm itself is tested elsewhere
    app.remove_class("-flash")
    app.refresh_picture()
    await pilot.pause()


def test_main_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=_ready)


def test_detail_pane(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def select_intruder(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        app = pilot.app
        app.table.move_cursor(row=app.table.get_row_index("rid:1581FNTRUDER00000002"))
        await pilot.pause()
        await pilot.press("3")
        app.refresh_picture()
        await pilot.pause()

    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=select_intruder)


def test_help_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def help_open(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=help_open)
