"""The Line-API table under both console tables (airwatch/console/widgets/row_table.py), and the
contacts table's rows formatted only when on screen."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from test_console_synthetic_feed import feed, run
from textual.geometry import Region

from airwatch.console.app import AirwatchConsole
from airwatch.console.widgets.row_table import Column, RowTable

COLUMNS = (Column("id", "ID", 6), Column("name", "NAME", 12), Column("far", "FAR", 30))


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.highlighted: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield RowTable(id="t")

    def on_mount(self) -> None:
        t = self.query_one(RowTable)
        t.set_columns(COLUMNS)
        for i in range(50):
            t.set_cells(f"r{i}", {"id": Text(f"{i:03d}"), "name": Text(f"[b]n{i}[/b]", style="red"),
                                  "far": Text(f"far{i}")})
        t.set_rows([f"r{i}" for i in range(50)])
        t.focus()

    def on_row_table_row_highlighted(self, event: RowTable.RowHighlighted) -> None:
        self.highlighted.append(event.key)


def busy_console():  # type: ignore[no-untyped-def]
    """The console on 350 synthetic tracks that have flown for 4 s (no worker: the test moves time)."""
    f, clock = feed(drones=300, aircraft=20, signatures=30)
    f.advance_to(clock[0])
    run(f, clock, 4.0)
    return AirwatchConsole(f, f.settings, operator="test", start_feed=False, wall_clock=lambda: clock[0]), f, clock


def line(table: RowTable, y: int) -> str:
    return table.render_lines(table.size.region)[y].text


async def test_rows_keys_cursor_and_literal_cells() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        t = app.query_one(RowTable)
        await pilot.pause()
        assert t.row_count == 50 and t.row_keys[:2] == ["r0", "r1"] and t.selected_id == "r0"
        assert "ID" in line(t, 0) and "NAME" in line(t, 0)  # the header stays on top
        assert "[b]n0[/b]" in line(t, 1)  # markup-like text is shown as it is
        await pilot.press("j", "j", "down")
        assert t.cursor_row == 3 and t.selected_id == "r3" and app.highlighted[-1] == "r3"
        await pilot.press("G")
        await pilot.pause()
        assert t.selected_id == "r49" and "049" in line(t, t.size.height - 1 - t.scrollbar_size_horizontal)
        await pilot.press("g", "pagedown")
        assert 5 <= t.cursor_row <= 12
        await pilot.press("home")
        await pilot.click("#t", offset=(2, 4))  # the fourth row under the header
        assert t.selected_id == "r3"
        assert t.get_cell("r3", "name").plain == "[b]n3[/b]"


async def test_the_cursor_follows_rows_only_when_asked_and_reports_the_row_under_it() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        t = app.query_one(RowTable)
        await pilot.pause()
        t.move_cursor(row=2)
        await pilot.pause()
        order = list(reversed(t.row_keys))
        t.set_rows(order)  # the rows move under the cursor: another row is highlighted
        await pilot.pause()
        assert t.cursor_row == 2 and t.selected_id == "r47" and app.highlighted[-1] == "r47"
        t.set_rows(list(reversed(order)), cursor="r47")  # the cursor follows the row it was on
        await pilot.pause()
        assert t.selected_id == "r47" and t.cursor_row == 47
        t.set_rows(["r1", "r47"])  # rows left out are forgotten
        assert t.row_count == 2 and t.selected_id == "r47"
        t.set_cells("r1", {"name": Text("changed")})
        await pilot.pause()
        assert "changed" in line(t, 1) and "001" in line(t, 1)  # the other cells kept


async def test_cursor_is_drawn_focused_or_blurred_and_wins_over_cell_colours() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        t = app.query_one(RowTable)
        await pilot.pause()

        def styles(y: int):  # type: ignore[no-untyped-def]
            """The styles of the id cell and of the red name cell on line y."""
            strip = t.render_lines(t.size.region)[y]
            ident = next(s for s in strip if s.text.strip().isdigit()).style
            name = next(s for s in strip if "[b]" in s.text).style
            return ident, name

        cursor_id, cursor_name = styles(1)
        plain_id, plain_name = styles(2)
        assert plain_name.color != plain_id.color  # the cell's own colour (red) off the cursor
        assert cursor_name.color == cursor_id.color  # on the cursor row, the cursor's colours win
        assert cursor_name.bgcolor != plain_name.bgcolor
        t.blur()
        await pilot.pause()
        blurred_id, _ = styles(1)
        assert blurred_id.bgcolor != cursor_id.bgcolor  # a table without focus shows a quieter cursor


async def test_wide_rows_scroll_sideways() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        t = app.query_one(RowTable)
        await pilot.pause()
        assert "far1" not in line(t, 1) and t.virtual_size.width == sum(c.width + 2 for c in COLUMNS)
        t.scroll_to(x=t.max_scroll_x, animate=False)
        await pilot.pause()
        assert "far0" in line(t, 1) and "FAR" in line(t, 0)


async def test_contacts_off_screen_are_formatted_when_they_scroll_into_view() -> None:
    app, f, clock = busy_console()
    async with app.run_test(size=(200, 40)) as pilot:
        app.refresh_picture()
        await pilot.pause()
        table = app.table
        run(f, clock, 3.0)  # every track moves on; the bottom rows are off screen
        app.refresh_picture()
        await pilot.pause()
        tid = table.row_keys[-1]
        assert table._rows[tid].stale  # not formatted while out of sight
        track = next(t for t in app.picture_.tracks if t.track_id == tid)
        await pilot.press("G")  # scroll to the bottom
        await pilot.pause()
        assert not table._rows[tid].stale
        expected = table._cells(track, None, app.picture_.now, app.sensor)
        for column in ("rng", "alt", "age"):
            assert table.get_cell(tid, column).plain == expected[column].plain
        shown = [strip.text for strip in table.render_lines(Region(0, 0, *table.outer_size))]
        assert table.get_cell(tid, "ident").plain in shown[-2]  # the last row, above the bottom border


async def test_a_click_selects_the_row_under_the_pointer_inside_the_border() -> None:
    from console_helpers import START, demo_app, settle

    app = demo_app(START + 100)
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(pilot, app)
        table = app.table
        keys = table.row_keys
        assert len(keys) >= 4
        await pilot.click("#contacts", offset=(10, 1 + 1 + 2))  # border, header, then the third row
        await pilot.pause()
        assert table.selected_id == keys[2]
        await pilot.click("#contacts", offset=(10, 1))  # the header: the selection stays
        await pilot.click("#contacts", offset=(10, 0))  # the border
        await pilot.pause()
        assert table.selected_id == keys[2]


async def test_a_row_drawn_then_changed_off_screen_is_drawn_anew_when_it_comes_back() -> None:
    app, f, clock = busy_console()
    async with app.run_test(size=(200, 40)) as pilot:
        app.refresh_picture()
        await pilot.pause()
        table = app.table

        def bottom_line() -> str:
            return [s.text for s in table.render_lines(Region(0, 0, *table.outer_size))][-2]

        await pilot.press("G")
        await pilot.pause()
        tid = table.selected_id
        before = bottom_line()
        await pilot.press("g")  # away: the bottom rows go off screen
        run(f, clock, 30.0)  # and everything moves on
        app.refresh_picture()
        await pilot.pause()
        await pilot.press("G")
        await pilot.pause()
        assert table.selected_id == tid
        after = bottom_line()
        pic = app.picture_
        track = next(t for t in pic.tracks if t.track_id == tid)
        fresh = table._cells(track, None, pic.now, app.sensor)
        assert after != before
        for column in ("ident", "brg", "rng", "alt", "age"):
            assert fresh[column].plain in after, (column, after)
