"""DataTable cells rendered again only when they change.

Textual's ``DataTable`` keys its render caches on a counter that every ``update_cell``,
``add_row`` and ``sort`` bumps, so one changed cell makes it render every visible cell again.
With 2,000 tracks some visible row changes at every refresh, and rendering the visible
cells (a few hundred, through Rich's padding and styling) was most of the console's CPU.
:class:`CellCache` keeps each cell's rendering for as long as the cell holds the same value
object at the same row position, width and style; the tables always put a new ``Text`` in a
cell that changed.  Everything else (layout, cursor, hover, zebra stripes, CSS) still decides
the key or clears the cache, as it clears Textual's own.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from textual.cache import LRUCache

CACHE_SIZE = 20_000  # rendered cells kept: a few screens' worth


class CellCache:
    """Mixin for a ``DataTable`` subclass: ``class MyTable(CellCache, DataTable)``."""

    _cell_cache: LRUCache[tuple[Any, ...], tuple[object, Any]]

    def _cells_cached(self) -> LRUCache[tuple[Any, ...], tuple[object, Any]]:
        try:
            return self._cell_cache
        except AttributeError:
            self._cell_cache = LRUCache(CACHE_SIZE)
            return self._cell_cache

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> Any:
        render = super()._render_cell  # type: ignore[misc]
        if row_index < 0 or column_index < 0:  # header and row labels: as Textual does
            return render(row_index, column_index, base_style, width, cursor, hover)
        table: Any = self
        row_key = table._row_locations.get_key(row_index)
        column_key = table._column_locations.get_key(column_index)
        value = table._data.get(row_key, {}).get(column_key)
        key = (row_key, column_key, row_index, width, base_style, cursor, hover, table._show_hover_cursor,
               table._pseudo_class_state)
        cache = self._cells_cached()
        hit = cache.get(key)
        if hit is not None and hit[0] is value:
            return hit[1]
        lines = render(row_index, column_index, base_style, width, cursor, hover)
        cache[key] = (value, lines)
        return lines

    def _clear_caches(self) -> None:
        super()._clear_caches()  # type: ignore[misc]
        self._cells_cached().clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()  # type: ignore[misc]
        self._cells_cached().clear()
