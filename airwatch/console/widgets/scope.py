"""The radar scope: a plan view around the sensor, north up.

Range rings, protected zones, drones (◆, ▲ when hiding), operators (×), home points (⌂),
aircraft (✈), short trails, and a dotted line from each drone to its operator.  One character
cell is about twice as tall as it is wide, so east-west distances use two columns per row.
"""

from __future__ import annotations

import math

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from airwatch.config import SensorSettings, Zone
from airwatch.console import format as fmt
from airwatch.correlator.geo import offset_m
from airwatch.contact import GeoPoint
from airwatch.correlator.model import Classification, Fix, Track, TrackKind

RANGES_M = (250.0, 500.0, 1000.0, 2000.0, 5000.0, 10_000.0, 20_000.0, 50_000.0, 100_000.0)

STYLE = {
    "ring": "grey37", "zone": "yellow", "trail": "grey50", "link": "magenta", "sensor": "bold white",
    "drone": "bold green", "hidden": "bold red", "operator": "bold magenta", "home": "magenta",
    "aircraft": "bold cyan", "label": "grey70", "north": "bold white",
}


class Canvas:
    """A grid of characters with a style each, drawn back to front."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.chars = [[" "] * width for _ in range(height)]
        self.styles = [[""] * width for _ in range(height)]

    def put(self, x: int, y: int, ch: str, style: str) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.chars[y][x] = ch
            self.styles[y][x] = style

    def blank(self, x: int, y: int) -> bool:
        return 0 <= x < self.width and 0 <= y < self.height and self.chars[y][x] == " "

    def text(self, x: int, y: int, s: str, style: str) -> None:
        for i, ch in enumerate(s):
            self.put(x + i, y, ch, style)

    def line(self, x0: int, y0: int, x1: int, y1: int, ch: str, style: str) -> None:
        """Bresenham, end points excluded (symbols go there)."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err, x, y = dx + dy, x0, y0
        for _ in range(self.width + self.height):
            if x == x1 and y == y1:
                break
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x += sx
            if e2 <= dx:
                err += dx
                y += sy
            if (x, y) != (x1, y1) and self.blank(x, y):
                self.put(x, y, ch, style)

    def runs(self, y: int) -> list[tuple[str, str]]:
        """Row ``y`` as (characters, style) runs."""
        row, styles = self.chars[y], self.styles[y]
        out, start = [], 0
        for x in range(1, self.width + 1):
            if x == self.width or styles[x] != styles[start]:
                out.append(("".join(row[start:x]), styles[start]))
                start = x
        return out

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        for y in range(self.height):
            row, styles = self.chars[y], self.styles[y]
            start = 0
            for x in range(1, self.width + 1):
                if x == self.width or styles[x] != styles[start]:
                    out.append("".join(row[start:x]), style=styles[start] or None)
                    start = x
            if y < self.height - 1:
                out.append("\n")
        return out


class Scope(Widget):
    DEFAULT_CSS = "Scope { height: 1fr; }"
    _generation = 0  # bumped by every refresh(): the canvas is drawn again

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.range_index = 3
        self.follow = False
        self.rings: tuple[float, ...] = (500.0, 1000.0, 2000.0, 5000.0)
        self.tracks: list[Track] = []
        self.sensor: SensorSettings | None = None
        self.zones: tuple[Zone, ...] = ()
        self.selected: str | None = None
        self._strips_key: tuple[object, ...] = ()
        self._strips: list[Strip] = []
        # Where each fix or point was drawn, for the view it was drawn in: tracks keep their
        # fixes from one refresh to the next, so only new fixes need the geodesy.
        self._projected_view: tuple[float, ...] = ()
        self._projected: dict[int, tuple[object, int, int]] = {}
        # track id -> (track, its trail's fixes by id with their cells, the trail's cells, label), for
        # the same view: a track that did not change since the last frame draws from here.
        self._trails: dict[str, tuple[Track, dict[int, tuple[object, int, int]], frozenset[tuple[int, int]], str]] = {}

    @property
    def range_m(self) -> float:
        return RANGES_M[self.range_index]

    def zoom(self, step: int) -> None:
        self.range_index = min(max(self.range_index + step, 0), len(RANGES_M) - 1)
        self.refresh()

    def show(self, tracks: list[Track], sensor: SensorSettings | None, zones: tuple[Zone, ...],
             selected: str | None) -> None:
        self.tracks, self.sensor, self.zones, self.selected = tracks, sensor, zones, selected
        self.refresh()

    def _centre(self) -> tuple[float, float] | None:
        if self.follow and self.selected:
            for t in self.tracks:
                if t.track_id == self.selected and t.last_fix is not None:
                    return t.last_fix.lat, t.last_fix.lon
        if self.sensor is not None and self.sensor.lat is not None and self.sensor.lon is not None:
            return self.sensor.lat, self.sensor.lon
        for t in self.tracks:  # no sensor position configured: centre on the first drone
            if t.last_fix is not None and t.kind is TrackKind.DRONE:
                return t.last_fix.lat, t.last_fix.lon
        return None

    def render(self) -> Text:
        """The scope as one ``Text`` (for tests and screenshots; the screen uses ``render_line``)."""
        return self.draw().render()

    def render_line(self, y: int) -> Strip:
        """Line API: the canvas is drawn once per refresh and each line served from it."""
        key = (self._generation, self.size.width, self.size.height, self.rich_style)
        if key != self._strips_key:
            canvas = self.draw()
            base = self.rich_style
            styles: dict[str, Style] = {}
            strips = []
            for row in range(canvas.height):
                segments = []
                for chars, style in canvas.runs(row):
                    st = styles.get(style)
                    if st is None:
                        st = styles[style] = base + Style.parse(style) if style else base
                    segments.append(Segment(chars, st))
                strips.append(Strip(segments, canvas.width))
            self._strips, self._strips_key = strips, key
        return self._strips[y] if 0 <= y < len(self._strips) else Strip.blank(self.size.width, self.rich_style)

    def refresh(self, *regions, **kwargs):  # type: ignore[no-untyped-def, override]
        self._generation += 1
        return super().refresh(*regions, **kwargs)

    def draw(self) -> Canvas:
        width, height = max(self.size.width, 1), max(self.size.height, 1)
        canvas = Canvas(width, height)
        if width < 10 or height < 5:
            return canvas
        centre = self._centre()
        if centre is None:
            canvas.text(1, height // 2, "no position to centre on", "dim")
            return canvas
        lat0, lon0 = centre
        cx, cy = width // 2, height // 2
        scale = min((height / 2 - 1) / self.range_m, (width / 2 - 1) / (2 * self.range_m))  # rows per metre

        def xy(lat: float, lon: float) -> tuple[int, int]:
            east, north = offset_m(lat0, lon0, lat, lon)
            return round(cx + 2 * east * scale), round(cy - north * scale)

        view = (lat0, lon0, scale, cx, cy)
        if view != self._projected_view:
            self._projected_view, self._projected, self._trails = view, {}, {}
        known: dict[int, tuple[object, int, int]] = self._projected
        drawn: dict[int, tuple[object, int, int]] = {}

        def at(point: Fix | GeoPoint) -> tuple[int, int]:
            """xy() of a fix or point, remembered while it is on the scope (they are never changed)."""
            cell = known.get(id(point))
            if cell is None or cell[0] is not point:
                cell = (point, *xy(point.lat, point.lon))
            drawn[id(point)] = cell
            return cell[1], cell[2]

        for r in (*self.rings, self.range_m):
            if r > self.range_m:
                continue
            steps = max(24, int(2 * math.pi * r * scale * 2))
            for i in range(steps):
                a = 2 * math.pi * i / steps
                canvas.put(round(cx + 2 * r * scale * math.sin(a)), round(cy - r * scale * math.cos(a)), "·",
                           STYLE["ring"])
            canvas.text(cx + 2, round(cy - r * scale), fmt.metres(r), STYLE["ring"])
        for zone in self.zones:
            self._zone(canvas, zone, xy, scale)
        if self.sensor is not None and self.sensor.lat is not None and self.sensor.lon is not None:
            sx, sy = xy(self.sensor.lat, self.sensor.lon)
            canvas.put(sx, sy, "+", STYLE["sensor"])
        # Trails: every trail dot goes on a blank cell, whatever the order, so each track's cells
        # are kept while the track is the same object and the union is drawn once.
        old_trails, trails = self._trails, {}
        trail_cells: set[tuple[int, int]] = set()
        for t in self.tracks:
            entry = old_trails.get(t.track_id)
            if entry is None or entry[0] is not t:
                before = entry[1] if entry is not None else {}
                fixes: dict[int, tuple[object, int, int]] = {}
                for f in list(t.trail)[:-1]:
                    cell = before.get(id(f)) or known.get(id(f))
                    if cell is None or cell[0] is not f:
                        cell = (f, *xy(f.lat, f.lon))
                    fixes[id(f)] = cell
                entry = (t, fixes, frozenset((c[1], c[2]) for c in fixes.values()),
                         fmt.plain(fmt.identity(t))[:10])
            trails[t.track_id] = entry
            trail_cells |= entry[2]
        self._trails = trails
        for x, y in trail_cells:
            if canvas.blank(x, y):
                canvas.put(x, y, ".", STYLE["trail"])
        for t in self.tracks:
            fix = t.last_fix
            if fix is None:
                continue
            x, y = at(fix)
            if t.operator is not None:
                ox, oy = at(t.operator)
                canvas.line(x, y, ox, oy, "·", STYLE["link"])
                canvas.put(ox, oy, "×", STYLE["operator"])
            if t.home is not None:
                hx, hy = at(t.home)
                canvas.put(hx, hy, "⌂", STYLE["home"])
        for t in sorted(self.tracks, key=lambda t: t.track_id == self.selected):
            fix = t.last_fix
            if fix is None:
                continue
            x, y = at(fix)
            style = self._style(t)
            if t.track_id == self.selected:
                style += " reverse"
            canvas.put(x, y, fmt.glyph(t), style)
            label = trails[t.track_id][3]
            if all(canvas.blank(x + 2 + i, y) for i in range(len(label))):
                canvas.text(x + 2, y, label, STYLE["label"])
        self._projected = drawn
        canvas.text(cx, 0, "N", STYLE["north"])
        canvas.text(0, height - 1, f"R {fmt.metres(self.range_m)}" + (" follow" if self.follow else ""), "dim")
        return canvas

    @staticmethod
    def _style(t: Track) -> str:
        if t.kind is TrackKind.AIRCRAFT:
            return STYLE["aircraft"]
        if t.classification is Classification.OPERATOR_EMITTER:
            return STYLE["operator"]
        if t.kind is TrackKind.DRONE and not t.cooperative:
            return STYLE["hidden"]
        if t.alert_types:
            return STYLE["hidden"]
        return STYLE["drone"]

    @staticmethod
    def _zone(canvas: Canvas, zone: Zone, xy, scale: float) -> None:  # type: ignore[no-untyped-def]
        style = "red" if zone.severity in ("high", "critical") else STYLE["zone"]
        if zone.polygon:
            pts = [xy(lat, lon) for lat, lon in zone.polygon]
            for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
                canvas.put(x0, y0, "#", style)
                canvas.line(x0, y0, x1, y1, "#", style)
            lx = sum(p[0] for p in pts) // len(pts)
            ly = sum(p[1] for p in pts) // len(pts)
        else:
            assert zone.lat is not None and zone.lon is not None and zone.radius_m is not None
            zx, zy = xy(zone.lat, zone.lon)
            r = zone.radius_m * scale
            steps = max(16, int(2 * math.pi * r * 2))
            for i in range(steps):
                a = 2 * math.pi * i / steps
                canvas.put(round(zx + 2 * r * math.sin(a)), round(zy - r * math.cos(a)), "#", style)
            lx, ly = zx, zy
        canvas.text(lx - len(zone.name[:12]) // 2, ly + 1, zone.name[:12], style)
