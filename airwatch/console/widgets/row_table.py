"""A table of rows keyed by id, drawn through Textual's Line API.

Both of the console's tables (contacts and alerts) hold up to a few thousand rows, of which a
screenful is seen, and some of those change at every refresh.  Textual's ``DataTable`` renders
each visible cell through Rich's padding and styling again whenever any cell changes; measured
with 2,000 tracks, that was about 3 ms per visible line and most of the console's CPU.  This
table keeps one rendered strip per row, made again only when that row's cells, its place
(cursor, zebra stripe), the width or the styles change, and renders only the rows on screen.

Cells are always ``rich.text.Text`` (broadcast text is never parsed as markup).  A header line
stays at the top; the cursor is a whole row; the table scrolls both ways.  The look follows
``DataTable`` (the same theme variables), so the two read the same on the screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

PADDING = 1  # blank cells either side of a column, as DataTable's cell_padding


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int


class RowTable(ScrollView, can_focus=True):
    """Rows keyed by id; ``set_rows`` gives the order, ``set_cells`` what a row shows."""

    DEFAULT_CSS = """
    RowTable {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .row-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .row-table--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .row-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .row-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .row-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .row-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .row-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    COMPONENT_CLASSES = {"row-table--header", "row-table--even-row", "row-table--odd-row", "row-table--cursor"}
    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "scroll_top", "Top", show=False),
        Binding("end,G", "scroll_bottom", "Bottom", show=False),
        Binding("left", "scroll_left", "Left", show=False),
        Binding("right", "scroll_right", "Right", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=False, repaint=False)

    class RowHighlighted(Message):
        """The row under the cursor is another one (moved, or the rows moved under it)."""

        def __init__(self, table: RowTable, key: str | None) -> None:
            super().__init__()
            self.table, self.key = table, key

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(self, zebra_stripes: bool = True, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.zebra_stripes = zebra_stripes
        self._columns: tuple[Column, ...] = ()
        self._keys: list[str] = []  # the rows, in the order shown
        self._index: dict[str, int] = {}
        self._data: dict[str, dict[str, Text]] = {}
        self._version: dict[str, int] = {}  # bumped when a row's cells change
        self._strips: dict[str, tuple[tuple[object, ...], Strip]] = {}  # row -> (what it was drawn with, strip)
        self._header: tuple[tuple[object, ...], Strip] | None = None
        self._styles: dict[str, Style] | None = None  # the component styles of this render pass
        self._highlighted: str | None = None

    # -- columns and rows ----------------------------------------------------------------------

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def set_columns(self, columns: tuple[Column, ...]) -> None:
        if columns != self._columns:
            self._columns = columns
            self._strips.clear()
            self._header = None
            self._update_size()
            self.refresh()

    @property
    def row_keys(self) -> list[str]:
        """Row ids in the order shown."""
        return list(self._keys)

    @property
    def row_count(self) -> int:
        return len(self._keys)

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    def get_cell(self, key: str, column: str) -> Text:
        return self.row_cells(key).get(column, Text())

    def row_cells(self, key: str) -> dict[str, Text]:
        """What row ``key`` shows (a subclass may format rows lazily here)."""
        return self._data[key]

    def set_cells(self, key: str, cells: dict[str, Text], repaint: bool = True) -> None:
        """Give a row its cells, or change some of them.  A new row shows from the next
        ``set_rows``; ``repaint=False`` while the row is being drawn (a lazy row formatted in
        ``row_cells``)."""
        row = self._data.get(key)
        if row is None:
            self._data[key] = dict(cells)
            self._version[key] = 0
            return
        row.update(cells)
        self._version[key] += 1
        self._strips.pop(key, None)
        index = self._index.get(key)
        if repaint and index is not None:
            y = index - int(self.scroll_offset.y) + 1
            if 1 <= y < self.size.height:
                self.refresh(Region(0, y, self.size.width, 1))  # that line of the screen only

    def set_rows(self, order: list[str], cursor: str | int | None = None) -> None:
        """Show these rows in this order (each has its cells); rows left out are forgotten.  The
        cursor goes to ``cursor`` (a row id, or a row number), else stays on its row number."""
        if order == self._keys and len(self._data) == len(self._keys):
            if cursor is not None:
                self._move_to(cursor)
            return
        keep = set(order)
        for key in [k for k in self._data if k not in keep]:
            del self._data[key], self._version[key]
            self._strips.pop(key, None)
        self._keys = list(order)
        self._index = {key: i for i, key in enumerate(self._keys)}
        self._update_size()
        self._move_to(self.cursor_row if cursor is None else cursor)
        self.refresh()
        self._check_highlight()

    def _move_to(self, cursor: str | int) -> None:
        if isinstance(cursor, str):
            cursor = self._index.get(cursor, self.cursor_row)
        self.cursor_row = self._clamp(cursor)

    def clear(self) -> None:
        self._keys, self._index, self._data, self._version = [], {}, {}, {}
        self._strips.clear()
        self.cursor_row = 0
        self._update_size()
        self.refresh()
        self._check_highlight()

    def _update_size(self) -> None:
        width = sum(c.width + 2 * PADDING for c in self._columns)
        self.virtual_size = Size(width, len(self._keys) + 1)

    # -- the cursor ----------------------------------------------------------------------------

    @property
    def selected_id(self) -> str | None:
        """The id of the row under the cursor."""
        if not self._keys:
            return None
        return self._keys[self._clamp(self.cursor_row)]

    def _clamp(self, row: int) -> int:
        return min(max(row, 0), max(len(self._keys) - 1, 0))

    def move_cursor(self, *, row: int) -> None:
        self.cursor_row = self._clamp(row)

    def watch_cursor_row(self) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self._check_highlight()

    def _scroll_to_cursor(self) -> None:
        visible = max(self.scrollable_content_region.height - 1, 1)  # rows below the header
        top = int(self.scroll_offset.y)
        row = self.cursor_row
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False)

    def _check_highlight(self) -> None:
        key = self.selected_id
        if key != self._highlighted:
            self._highlighted = key
            self.post_message(self.RowHighlighted(self, key))

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - max(self.scrollable_content_region.height - 1, 1))

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + max(self.scrollable_content_region.height - 1, 1))

    def action_scroll_top(self) -> None:
        self.move_cursor(row=0)

    def action_scroll_bottom(self) -> None:
        self.move_cursor(row=len(self._keys) - 1)

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)  # inside the border and padding, or None
        if offset is None or offset.y < 1:  # not a row: the border or the header
            return
        row = int(self.scroll_offset.y) + offset.y - 1
        if 0 <= row < len(self._keys):
            self.move_cursor(row=row)

    # -- drawing -------------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # The styles of this pass (focus, theme, CSS): rows drawn with other styles are drawn again.
        base = self.rich_style
        self._styles = {name: base + self.get_component_rich_style(f"row-table--{name}")
                        for name in ("header", "even-row", "odd-row")}
        self._styles["base"] = base
        self._styles["cursor"] = self.get_component_rich_style("row-table--cursor")
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        styles = self._styles
        assert styles is not None, "render_line outside render_lines"
        scroll_x = int(self.scroll_offset.x)
        if y == 0:
            key = (self._columns, styles["header"])
            if self._header is None or self._header[0] != key:
                labels = {c.key: Text(c.label) for c in self._columns}
                self._header = (key, self._draw(labels, styles["header"]))
            strip = self._header[1]
        else:
            row = int(self.scroll_offset.y) + y - 1
            if not 0 <= row < len(self._keys):
                return Strip.blank(width, styles["base"])
            strip = self._row_strip(row, styles)
        return strip.crop_extend(scroll_x, scroll_x + width, styles["base"])

    def _row_strip(self, row: int, styles: dict[str, Style]) -> Strip:
        key = self._keys[row]
        cells = self.row_cells(key)  # may format a lazy row, bumping its version
        over = None
        if row == self.cursor_row:  # the cursor's colours win over the cells' (as DataTable)
            style, over = styles["odd-row"], styles["cursor"]
        elif self.zebra_stripes and row % 2 == 0:  # as DataTable: the first row is an even one
            style = styles["even-row"]
        else:
            style = styles["odd-row"]
        drawn_with = (self._version[key], style, over)
        cached = self._strips.get(key)
        if cached is not None and cached[0] == drawn_with:
            return cached[1]
        strip = self._draw(cells, style, over)
        self._strips[key] = (drawn_with, strip)
        return strip

    def _draw(self, cells: dict[str, Text], row_style: Style, over: Style | None = None) -> Strip:
        if over is not None:
            row_style += over
        segments: list[Segment] = []
        pad = Segment(" " * PADDING, row_style)
        for column in self._columns:
            cell = cells.get(column.key)
            segments.append(pad)
            if cell is None or not cell.plain:
                segments.append(Segment(" " * column.width, row_style))
            elif not cell.spans:  # one style: one segment, no Rich rendering
                text = cell.plain.replace("\n", " ")
                style = row_style + (Style.parse(cell.style) if isinstance(cell.style, str) else cell.style) \
                    if cell.style else row_style  # Style.parse is cached by Rich
                if over is not None:
                    style += over
                segments.extend(Segment.adjust_line_length([Segment(text, style)], column.width, row_style))
            else:
                parts = [Segment(s.text.replace("\n", " "), (row_style + s.style if s.style else row_style) + over)
                         for s in cell.render(self.app.console) if not s.control]
                segments.extend(Segment.adjust_line_length(parts, column.width, row_style))
            segments.append(pad)
        return Strip(segments, sum(c.width + 2 * PADDING for c in self._columns))

