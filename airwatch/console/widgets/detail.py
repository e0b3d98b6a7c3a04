"""The detail pane: everything known about the selected track.

Identity, position with every altitude and its reference, range and bearing, the operator and
the distance to it, every field of the last decoded record of each kind, the radio it was heard
on with an RSSI sparkline, the Remote ID compliance checklist, and the evidence behind each
alert.  All broadcast text goes through ``safe`` (plain text, never markup).
"""

from __future__ import annotations

import dataclasses
from enum import IntEnum

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from airwatch.config import SensorSettings
from airwatch.console import format as fmt
from airwatch.contact import BasicID, OperatorID
from airwatch.correlator.model import Alert, Radio, Track, TrackKind
from airwatch.correlator.rules.compliance import EU_OPERATOR_ID, serial_valid
from airwatch.decoders.remoteid import enums

ENUMS: dict[str, type[IntEnum]] = {
    "id_type": enums.IdType, "ua_type": enums.UAType, "status": enums.OperationalStatus,
    "accuracy_horizontal": enums.HorizontalAccuracy, "accuracy_vertical": enums.VerticalAccuracy,
    "accuracy_baro": enums.VerticalAccuracy, "accuracy_speed": enums.SpeedAccuracy,
    "auth_type": enums.AuthType, "description_type": enums.DescriptionType,
    "operator_location_type": enums.OperatorLocationType, "classification_type": enums.ClassificationType,
    "ua_category": enums.Category, "ua_class": enums.UAClass, "operator_id_type": enums.OperatorIdType,
}
SPARK = "▁▂▃▄▅▆▇█"
OK, BAD, UNKNOWN = Text("✓", style="bold green"), Text("✗", style="bold red"), Text("?", style="yellow")


def value_text(name: str, value: object) -> Text:
    if value is None:
        return Text("–", style="dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, bytes):
        return Text(value.hex(" ") if len(value) <= 32 else value[:32].hex(" ") + " …", style="dim")
    enum = ENUMS.get(name)
    if enum is not None and isinstance(value, int):
        try:
            return Text(f"{enum(value).name.lower()} ({value})")
        except ValueError:
            return Text(f"reserved ({value})")
    if isinstance(value, float):
        if name in ("time", "timestamp", "gps_time") and value > 1e9:
            return Text(fmt.utc(value, with_date=True) + "Z")
        return Text(f"{value:.7g}")
    if isinstance(value, tuple | list):
        return fmt.safe(", ".join(str(v) for v in value))
    return fmt.safe(value)


def sparkline(values: list[int]) -> str:
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = max(hi - lo, 1)
    return "".join(SPARK[min(len(SPARK) - 1, int((v - lo) / span * (len(SPARK) - 1)))] for v in values)


def checklist(track: Track) -> list[tuple[Text, str]]:
    """The Remote ID compliance checklist (detection-rules §2.5): mark and line of text."""
    latest = track.latest
    basics = [v for k, v in latest.items() if k.startswith("basic_id:") and isinstance(v, BasicID)]
    rid = track.last_rid_time is not None
    items: list[tuple[Text, str]] = [(OK if rid else BAD, "standard Remote ID heard" if rid else "no standard Remote ID")]
    if not rid:
        return items
    items.append((OK if basics else BAD, "Basic ID"))
    serials = [b.uas_id for b in basics if b.id_type == enums.IdType.SERIAL_NUMBER]
    if serials:
        valid = all(serial_valid(s) for s in serials)
        items.append((OK if valid else BAD, "serial number valid (ANSI/CTA-2063-A)" if valid
                      else "serial number not valid ANSI/CTA-2063-A"))
    items.append((OK if "location" in latest else BAD, "Location/Vector"))
    fixes = [f.time for f in track.trail]
    if len(fixes) >= 3:
        gaps = sorted(b - a for a, b in zip(fixes, fixes[1:], strict=False) if b > a)
        gap = gaps[len(gaps) // 2] if gaps else None
        if gap is not None:
            items.append((OK if gap <= 1.5 else BAD, f"Location every {gap:.1f} s (standard: 1 s)"))
    items.append((OK if track.operator is not None else BAD, "operator or take-off position (System)"))
    op = latest.get("operator_id")
    if isinstance(op, OperatorID):
        eu = EU_OPERATOR_ID.fullmatch(op.operator_id) is not None
        items.append((OK if eu else UNKNOWN, "operator ID in EN 4709-002 format" if eu
                      else "operator ID not in EN 4709-002 format"))
    else:
        items.append((UNKNOWN, "no operator ID (required in the EU)"))
    radio = latest.get("radio")
    anomalies = radio.anomalies if isinstance(radio, Radio) else ()
    items.append((BAD if anomalies else OK, "values out of range: " + ", ".join(anomalies) if anomalies
                  else "values within the standard's ranges"))
    return items


class Detail(VerticalScroll):
    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.body = Static(Text("Select a contact to see its details.", style="dim"), id="detail-body")
        self._shown: tuple[int, int, int] | None = None
        self.current: object = Text("")
        self._shape: tuple[object, ...] | None = None  # what decides the pane's line count  # what the pane shows (tests read it)

    def compose(self):  # type: ignore[no-untyped-def]
        yield self.body

    def show(self, track: Track | None, alerts: list[Alert], sensor: SensorSettings | None,
             now: float | None) -> None:
        key = (id(track), len(alerts), int(now or 0))
        if key == self._shown:
            return
        self._shown = key
        if track is None:
            self.current = Text("Select a contact to see its details.", style="dim")
            shape: tuple[object, ...] = ()
        else:
            self.current = Group(*self.sections(track, alerts, sensor, now))
            shape = (track.track_id, sum(track.track_id in a.track_ids for a in alerts), tuple(sorted(track.latest)),
                     track.last_fix is None, track.operator is None, track.home is None, track.signature,
                     track.icao)
        # Laying the screen out again costs as much as drawing it: only when the pane's lines change.
        self.body.update(self.current, layout=shape != self._shape)
        self._shape = shape

    def sections(self, track: Track, alerts: list[Alert], sensor: SensorSettings | None,
                 now: float | None) -> list:  # type: ignore[type-arg]
        out: list = []  # type: ignore[type-arg]
        title = Text()
        title.append(fmt.glyph(track) + " ", style="bold")
        title.append_text(fmt.safe(fmt.identity(track), "bold"))
        title.append("  ")
        title.append_text(fmt.class_text(track))
        title.append("  cooperative" if track.cooperative else "  NOT cooperative",
                     style="green" if track.cooperative else "bold red")
        out.append(title)
        rows = [("track", fmt.safe(track.track_id)), ("kind", Text(track.kind.value)),
                ("classification", Text(f"{track.classification.value} ({track.confidence:.0%})")),
                ("status", Text(track.status.value)),
                ("first / last seen", Text(f"{fmt.utc(track.first_seen)}Z / {fmt.utc(track.last_seen)}Z"
                                           + _ago(now, track.last_seen))),
                ("contacts / fixes", Text(f"{track.contacts} / {track.positions}")),
                ("heard over", Text(fmt.sources_short(track))),
                ("sensors", fmt.safe(", ".join(sorted(track.sensors)))),
                ("transmitters", fmt.safe(", ".join(sorted(track.macs)[:6]) + (" …" if len(track.macs) > 6 else "")))]
        if track.signature:
            rows.append(("signature", fmt.safe(track.signature)))
        if track.icao:
            rows.append(("ICAO / callsign", fmt.safe(f"{track.icao} {track.callsign or ''}".strip())))
        out.append(self._table("Identity", rows))
        fix = track.last_fix
        if fix is not None:
            rng, brg = fmt.range_bearing(track, sensor)
            rows = [("position", Text(f"{fix.lat:.6f}, {fix.lon:.6f}")),
                    ("range / bearing", Text(f"{fmt.metres(rng)} / {brg:03.0f}°" if rng is not None and brg is not None
                                             else "– (no sensor position)")),
                    ("altitude geodetic (WGS-84)", value_text("m", fix.alt_geodetic_m)),
                    ("altitude barometric", value_text("m", fix.alt_pressure_m)),
                    ("height", value_text("m", fix.height_m)),
                    ("speed / course", Text(f"{_n(fix.speed_horizontal, '.1f')} m/s / {_n(fix.direction, '03.0f')}°")),
                    ("vertical speed", Text(f"{_n(fix.speed_vertical, '+.1f')} m/s")),
                    ("fix time", Text(fmt.utc(fix.time) + "Z"))]
            out.append(self._table("Position", rows))
        if track.operator is not None or track.home is not None:
            rows = []
            if track.operator is not None:
                op = track.operator
                rows.append((f"operator ({op.kind})", Text(f"{op.lat:.6f}, {op.lon:.6f}")))
                d = fmt.operator_distance(track)
                rows.append(("operator to drone", Text(fmt.metres(d) or "–")))
            if track.home is not None:
                rows.append((f"home ({track.home.kind})", Text(f"{track.home.lat:.6f}, {track.home.lon:.6f}")))
            out.append(self._table("Operator", rows))
        if track.kind is TrackKind.DRONE:
            grid = Table.grid(padding=(0, 1))
            grid.add_column(width=1)
            grid.add_column()
            for mark, line in checklist(track):
                grid.add_row(mark, Text(line))
            out.append(Text("Compliance", style="bold underline"))
            out.append(grid)
        mine = [a for a in alerts if track.track_id in a.track_ids]
        if mine:
            out.append(Text("Alerts", style="bold underline"))
            for a in reversed(mine):
                line = Text()
                line.append(f"{fmt.utc(a.time)}Z ", style="dim")
                line.append(f"{str(a.severity).upper():8} ", style=fmt.SEVERITY_STYLE.get(a.severity, ""))
                line.append(f"{a.type.value} {a.rule or ''} ")
                if a.count > 1:
                    line.append(f"×{a.count} ")
                line.append("✓ acknowledged" if a.acknowledged else "unacknowledged",
                            style="green" if a.acknowledged else "bold")
                out.append(line)
                out.append(fmt.safe("    " + a.message, "italic"))
        for key in sorted(track.latest):
            record = track.latest[key]
            if isinstance(record, Radio):
                continue
            out.append(self._record(key, record))
        radio = track.latest.get("radio")
        if isinstance(radio, Radio):
            rows = [(f.name, value_text(f.name, getattr(radio, f.name))) for f in dataclasses.fields(radio)]
            rows.append(("rssi history", Text(sparkline(list(track.rssi_trail)), style="cyan")))
            out.append(self._table("Radio", rows))
        return out

    def _record(self, key: str, record: object) -> Table:
        if not dataclasses.is_dataclass(record):
            return self._table(key, [("value", fmt.safe(record))])
        rows = [(f.name, value_text(f.name, getattr(record, f.name))) for f in dataclasses.fields(record)]
        return self._table(key.replace("_", " ").replace(":", " type "), rows)

    @staticmethod
    def _table(title: str, rows: list[tuple[str, Text]]) -> Table:
        table = Table.grid(padding=(0, 1))
        table.title = title
        table.title_justify = "left"
        table.title_style = "bold underline"
        table.add_column(style="grey70", no_wrap=True)
        table.add_column()
        for name, value in rows:
            table.add_row(Text(name), value)
        return table


def _ago(now: float | None, then: float) -> str:
    if now is None:
        return ""
    age = fmt.age(now - then)
    return f" ({age} ago)" if age else " (now)"


def _n(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)
