"""The contacts table: drones, operators and aircraft together, most dangerous first.

Rows are keyed by track id and only the cells whose text changed are updated; rows are
re-sorted only when the order changed.  Columns collapse with the table's width (as jet1090
and pyModeS's console do).  Cells are always ``Text`` objects (never markup strings).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from airwatch.config import SensorSettings
from airwatch.console import format as fmt
from airwatch.console.widgets.cell_cache import CellCache
from airwatch.correlator.model import Track, TrackStatus

#: key, label, width, minimum table width at which the column shows
COLUMNS: tuple[tuple[str, str, int, int], ...] = (
    ("threat", "!", 1, 0), ("cls", "CLASS", 5, 0), ("ident", "ID / NAME", 24, 0), ("src", "SRC", 9, 96),
    ("brg", "BRG", 3, 84), ("rng", "RNG", 6, 0), ("alt", "ALT", 10, 0), ("gs", "GS", 4, 104),
    ("trk", "TRK", 3, 124), ("rssi", "RSSI", 4, 112), ("age", "AGE", 4, 0), ("op", "OPR", 6, 132),
    ("alerts", "ALERTS", 22, 0),
)
#: vim-style movement, for both tables
VIM_KEYS = [
    Binding("j", "cursor_down", "Down", show=False),
    Binding("k", "cursor_up", "Up", show=False),
    Binding("g", "scroll_top", "Top", show=False),
    Binding("G", "scroll_bottom", "Bottom", show=False),
]
SORTS = ("threat", "range", "age", "identity", "altitude", "kind")


class RankedText(Text):
    """A cell that carries the row's sort key (DataTable sorts on cell values)."""

    rank: tuple = ()


@dataclass(slots=True)
class _Row:
    track: Track
    cells: dict[str, Text]
    plain: dict[str, str]
    stale: bool = False  # off screen when its track changed: formatted when it scrolls into view


class KeyedTable(CellCache, DataTable):
    """A table whose rows are keyed by id: the id under the cursor."""

    @property
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - no row under the cursor
            return None


class ContactTable(KeyedTable):
    BINDINGS = VIM_KEYS

    #: (threats, now, sensor) of the last refresh, for rows formatted when they scroll into view
    _shown_with: tuple[dict[str, fmt.Threat], float | None, SensorSettings | None] | None = None

    class Selected(Message):
        def __init__(self, track_id: str | None) -> None:
            super().__init__()
            self.track_id = track_id

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.sort_mode = "threat"
        self.reverse = False
        self.filter = ""
        self.hide_after_s = 300.0
        self._rows: dict[str, _Row] = {}
        self._order: list[str] = []
        self._columns: tuple[str, ...] = ()

    # -- columns -------------------------------------------------------------------------------

    def columns_for(self, width: int) -> tuple[str, ...]:
        return tuple(key for key, _, _, min_width in COLUMNS if width >= min_width)

    def _ensure_columns(self) -> None:
        wanted = self.columns_for(self.size.width or 80)
        if wanted == self._columns:
            return
        selected = self.selected_id
        at_top = self.cursor_row == 0
        self.clear(columns=True)
        spec = {key: (label, width) for key, label, width, _ in COLUMNS}
        for key in wanted:
            self.add_column(spec[key][0], key=key, width=spec[key][1])
        self._columns = wanted
        rows = self._rows
        self._rows = {}
        shown = set(self._order)
        for tid in [*self._order, *(t for t in rows if t not in shown)]:  # in the order shown
            if tid in rows:
                self._add(tid, rows[tid])
        if at_top:
            self.move_cursor(row=0, animate=False)
        else:
            self._select(selected)

    def on_resize(self) -> None:
        self._ensure_columns()

    # -- rows ----------------------------------------------------------------------------------

    def _select(self, track_id: str | None) -> None:
        if track_id is not None and track_id in self._rows:
            self.move_cursor(row=self.get_row_index(track_id), animate=False)

    def _add(self, tid: str, row: _Row) -> None:
        self.add_row(*(row.cells[c] for c in self._columns), key=tid)
        self._rows[tid] = row

    def _cells(self, track: Track, threat: fmt.Threat | None, now: float | None,
               sensor: SensorSettings | None) -> dict[str, Text]:
        dim = "dim" if track.status is not TrackStatus.ACTIVE else ""
        rng, brg = fmt.range_bearing(track, sensor)
        alt_text, _ = fmt.altitude(track)
        fix = track.last_fix
        threat_cell = RankedText(fmt.glyph(track), style="bold red" if threat and threat.unacked else dim)
        op = fmt.operator_distance(track)
        return {
            "threat": threat_cell,
            "cls": fmt.class_text(track),
            "ident": fmt.safe(fmt.identity(track), dim),
            "src": Text(fmt.sources_short(track), style=dim),
            "brg": Text("" if brg is None else f"{brg:03.0f}", style=dim),
            "rng": Text(fmt.metres(rng), style=dim),
            "alt": Text(alt_text, style=dim),
            "gs": Text("" if fix is None or fix.speed_horizontal is None else f"{fix.speed_horizontal:.0f}", style=dim),
            "trk": Text("" if fix is None or fix.direction is None else f"{fix.direction:03.0f}", style=dim),
            "rssi": Text("" if track.rssi_dbm is None else f"{track.rssi_dbm}", style=dim),
            "age": Text(fmt.age(None if now is None else now - track.last_seen), style=dim),
            "op": Text(fmt.metres(op), style=dim),
            "alerts": fmt.badges(threat),
        }

    def _rank(self, track: Track, threat: fmt.Threat | None, sensor: SensorSettings | None,
              now: float | None) -> tuple:
        rng, _ = fmt.range_bearing(track, sensor) if self.sort_mode in ("threat", "range") else (None, None)
        mode = self.sort_mode
        if mode == "threat":
            return (*fmt.threat_rank(track, threat, rng), track.track_id)
        if mode == "range":
            return (rng if rng is not None else float("inf"), track.track_id)
        if mode == "age":
            return (-(track.last_seen), track.track_id)
        if mode == "identity":
            return (fmt.identity(track).lower(), track.track_id)
        if mode == "altitude":
            _, alt = fmt.altitude(track)
            return (-(alt if alt is not None else -1e9), track.track_id)
        return (track.kind.value, track.classification.value, track.track_id)

    # Every rank ends with the track id: ties must sort the same way in the table as here.

    def show(self, tracks: list[Track], threats: dict[str, fmt.Threat], now: float | None,
             sensor: SensorSettings | None) -> None:
        """Bring the table in line with ``tracks``: add, remove, update changed cells, re-sort."""
        self._ensure_columns()
        needle = self.filter.lower()
        visible: dict[str, Track] = {}
        for t in tracks:
            if now is not None and now - t.last_seen > self.hide_after_s:
                continue
            if needle and needle not in fmt.search_text(t, threats.get(t.track_id)):
                continue
            visible[t.track_id] = t
        selected = self.selected_id
        at_top = self.cursor_row == 0  # the top row follows the most dangerous contact
        for tid in [tid for tid in self._rows if tid not in visible]:
            self.remove_row(tid)
            del self._rows[tid]
        ranks = {tid: self._rank(track, threats.get(tid), sensor, now) for tid, track in visible.items()}
        order = sorted(ranks, key=ranks.__getitem__, reverse=self.reverse)
        self._shown_with = (threats, now, sensor)
        window = self._window(order, selected)
        for tid, track in visible.items():
            row = self._rows.get(tid)
            if row is None:
                cells = self._cells(track, threats.get(tid), now, sensor)
                self._add(tid, _Row(track, cells, {k: v.plain for k, v in cells.items()}))
            elif tid in window:
                self._refresh_row(tid, row, track)
            else:  # off screen: format it when it scrolls into view (2,000 rows, 40 on screen)
                row.track, row.stale = track, True
        if order != self._order:
            for tid in order:
                self._rows[tid].cells["threat"].rank = ranks[tid]  # type: ignore[attr-defined]
            self.sort("threat", key=lambda cell: cell.rank, reverse=self.reverse)
            self._order = order
            if at_top:
                self.move_cursor(row=0, animate=False)
            else:
                self._select(selected)

    def _window(self, order: list[str], selected: str | None) -> set[str]:
        """Rows on screen (with a screen's margin either side), and the selected one."""
        top = int(self.scroll_offset.y)
        height = max(self.size.height, 1)
        window = set(order[max(top - height, 0): top + 2 * height])
        if selected is not None:
            window.add(selected)
        return window

    def _refresh_row(self, tid: str, row: _Row, track: Track) -> None:
        threats, now, sensor = self._shown_with
        threat = threats.get(tid)
        if row.stale or row.track is not track or fmt.badges(threat).plain != row.plain.get("alerts"):
            self._update(tid, row, self._cells(track, threat, now, sensor))
            row.track, row.stale = track, False
        else:  # unchanged track: only its age moves
            age = fmt.age(None if now is None else now - track.last_seen)
            if age != row.plain["age"]:
                self._update(tid, row, {"age": Text(age, style=row.cells["age"].style)})

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._shown_with is None or not hasattr(self, "_rows"):
            return
        for tid in self._window(self._order, self.selected_id):
            row = self._rows.get(tid)
            if row is not None and row.stale:
                self._refresh_row(tid, row, row.track)

    def _update(self, tid: str, row: _Row, cells: dict[str, Text]) -> None:
        for key, cell in cells.items():
            text = cell.plain
            if key == "threat":
                cell.rank = row.cells["threat"].rank  # type: ignore[attr-defined]
                if text == row.plain.get(key) and cell.style == row.cells[key].style:
                    continue
            elif text == row.plain.get(key) and cell.style == row.cells[key].style:
                continue
            row.cells[key], row.plain[key] = cell, text
            if key in self._columns:
                self.update_cell(tid, key, cell)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.post_message(self.Selected(event.row_key.value if event.row_key else None))
