"""The contacts table: drones, operators and aircraft together, most dangerous first.

Rows are keyed by track id; a row on screen is formatted again only when its track changed (or
its age did), a row off screen when it scrolls into view.  Rows are re-ordered only when the
order changed.  Columns collapse with the table's width (as jet1090 and pyModeS's console do).
Cells are always ``Text`` objects (never markup strings).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message

from airwatch.config import SensorSettings
from airwatch.console import format as fmt
from airwatch.console.widgets.row_table import Column, RowTable
from airwatch.correlator.model import Track, TrackStatus

#: key, label, width, minimum table width at which the column shows
COLUMNS: tuple[tuple[str, str, int, int], ...] = (
    ("threat", "!", 1, 0), ("cls", "CLASS", 5, 0), ("ident", "ID / NAME", 24, 0), ("src", "SRC", 9, 96),
    ("brg", "BRG", 3, 84), ("rng", "RNG", 6, 0), ("alt", "ALT", 10, 0), ("gs", "GS", 4, 104),
    ("trk", "TRK", 3, 124), ("rssi", "RSSI", 4, 112), ("age", "AGE", 4, 0), ("op", "OPR", 6, 132),
    ("alerts", "ALERTS", 22, 0),
)
SORTS = ("threat", "range", "age", "identity", "altitude", "kind")


@dataclass(slots=True)
class _Row:
    track: Track
    cells: dict[str, Text]
    plain: dict[str, str]
    stale: bool = False  # off screen when its track changed: formatted when it scrolls into view


class ContactTable(RowTable):
    #: (threats, now, sensor) of the last refresh, for rows formatted when they scroll into view
    _shown_with: tuple[dict[str, fmt.Threat], float | None, SensorSettings | None] | None = None

    class Selected(Message):
        def __init__(self, track_id: str | None) -> None:
            super().__init__()
            self.track_id = track_id

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(zebra_stripes=True, **kwargs)
        self.sort_mode = "threat"
        self.reverse = False
        self.filter = ""
        self.hide_after_s = 300.0
        self._rows: dict[str, _Row] = {}

    # -- columns -------------------------------------------------------------------------------

    def columns_for(self, width: int) -> tuple[str, ...]:
        return tuple(key for key, _, _, min_width in COLUMNS if width >= min_width)

    def _ensure_columns(self) -> None:
        wanted = self.columns_for(self.size.width or 80)
        self.set_columns(tuple(Column(key, label, width) for key, label, width, _ in COLUMNS if key in wanted))

    def on_resize(self) -> None:
        self._ensure_columns()

    # -- rows ----------------------------------------------------------------------------------

    def _cells(self, track: Track, threat: fmt.Threat | None, now: float | None,
               sensor: SensorSettings | None) -> dict[str, Text]:
        dim = "dim" if track.status is not TrackStatus.ACTIVE else ""
        rng, brg = fmt.range_bearing(track, sensor)
        alt_text, _ = fmt.altitude(track)
        fix = track.last_fix
        threat_cell = Text(fmt.glyph(track), style="bold red" if threat and threat.unacked else dim)
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

    # Every rank ends with the track id: ties always sort the same way.

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
        gone = {tid for tid in self._rows if tid not in visible}
        for tid in gone:
            del self._rows[tid]
        ranks = {tid: self._rank(track, threats.get(tid), sensor, now) for tid, track in visible.items()}
        order = sorted(ranks, key=ranks.__getitem__, reverse=self.reverse)
        self._shown_with = (threats, now, sensor)
        window = self._window(order, selected)
        for tid, track in visible.items():
            row = self._rows.get(tid)
            if row is None:
                cells = self._cells(track, threats.get(tid), now, sensor)
                self._rows[tid] = _Row(track, cells, {k: v.plain for k, v in cells.items()})
                self.set_cells(tid, cells)
            elif tid in window:
                self._refresh_row(tid, row, track)
            else:  # off screen: format it when it scrolls into view (2,000 rows, 40 on screen)
                row.track, row.stale = track, True
        self.set_rows(order, cursor=0 if at_top else selected if selected in self._rows else None)

    def _window(self, order: list[str], selected: str | None) -> set[str]:
        """Rows on screen, and the selected one."""
        top = int(self.scroll_offset.y)
        window = set(order[top: top + max(self.size.height, 1)])
        if selected is not None:
            window.add(selected)
        return window

    def _refresh_row(self, tid: str, row: _Row, track: Track, repaint: bool = True) -> None:
        assert self._shown_with is not None
        threats, now, sensor = self._shown_with
        threat = threats.get(tid)
        if row.stale or row.track is not track or fmt.badges(threat).plain != row.plain.get("alerts"):
            self._update(tid, row, self._cells(track, threat, now, sensor), repaint)
            row.track, row.stale = track, False
        else:  # unchanged track: only its age moves
            age = fmt.age(None if now is None else now - track.last_seen)
            if age != row.plain["age"]:
                self._update(tid, row, {"age": Text(age, style=row.cells["age"].style)}, repaint)

    def row_cells(self, key: str) -> dict[str, Text]:
        row = self._rows.get(key)
        if row is not None and row.stale:  # scrolled into view since its track changed
            self._refresh_row(key, row, row.track, repaint=False)
        return super().row_cells(key)

    def _update(self, tid: str, row: _Row, cells: dict[str, Text], repaint: bool) -> None:
        changed = {}
        for key, cell in cells.items():
            if cell.plain != row.plain.get(key) or cell.style != row.cells[key].style:
                row.cells[key], row.plain[key] = cell, cell.plain
                changed[key] = cell
        if changed:
            self.set_cells(tid, changed, repaint)

    def on_row_table_row_highlighted(self, event: RowTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.Selected(event.key))
