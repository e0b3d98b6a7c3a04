"""The alert log: newest first, repeats folded into one line with a count, acknowledged never deleted.

The correlator already folds repeats of one condition into one alert (``count``,
``last_time``); the log shows that alert once and updates its count.  Acknowledged alerts stay,
marked with who acknowledged them and when.
"""

from __future__ import annotations

from rich.text import Text

from airwatch.console import format as fmt
from airwatch.console.widgets.row_table import Column, RowTable
from airwatch.correlator.model import Alert

#: key, label, width (fixed: a width that followed the content would depend on when rows arrived)
COLUMNS = (("time", "TIME", 8), ("sev", "SEV", 8), ("type", "TYPE", 11), ("subject", "SUBJECT", 22),
           ("count", "×", 4), ("ack", "ACK", 17), ("message", "EVIDENCE", 110))
MAX_ROWS = 2000  # acknowledged alerts beyond this many rows leave the screen (storage keeps them)


class AlertLog(RowTable):
    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(zebra_stripes=True, **kwargs)
        self._shown: dict[str, Alert] = {}
        self._plain: dict[str, dict[str, tuple[str, object]]] = {}  # what each row shows, to compare
        self.set_columns(tuple(Column(key, label, width) for key, label, width in COLUMNS))

    def alert(self, alert_id: str | None) -> Alert | None:
        return self._shown.get(alert_id) if alert_id else None

    @property
    def alerts(self) -> list[Alert]:
        return list(self._shown.values())

    @staticmethod
    def cells(alert: Alert) -> dict[str, Text]:
        style = fmt.SEVERITY_STYLE.get(alert.severity, "")
        if alert.acknowledged:
            ack = Text(f"✓ {fmt.plain(alert.acknowledged_by or '')} {fmt.utc(alert.acknowledged_at)}".strip(),
                       style="green", no_wrap=True)
            style = "dim"
        else:
            ack = Text("[ ]", style="bold")
        return {
            "time": Text(fmt.utc(alert.time), style=style),
            "sev": Text(str(alert.severity).upper(), style=style),
            "type": Text(f"{fmt.ALERT_SHORT[alert.type]} {alert.rule or ''}".strip(), style=style),
            "subject": fmt.safe(fmt.alert_subject(alert), style),
            "count": Text(f"{alert.count}" if alert.count > 1 else "", style=style),
            "ack": ack,
            "message": fmt.safe(alert.message, style),
        }

    def show(self, alerts: list[Alert]) -> None:
        keep = alerts[-MAX_ROWS:]
        if len(alerts) > MAX_ROWS:  # older unacknowledged alerts never leave the log
            keep = [a for a in alerts[:-MAX_ROWS] if not a.acknowledged] + keep
        selected = self.selected_id
        at_top = self.cursor_row == 0
        wanted = {a.alert_id for a in keep}
        added = len(wanted) != len(self._shown) or any(aid not in wanted for aid in self._shown)
        for aid in [aid for aid in self._shown if aid not in wanted]:
            del self._shown[aid], self._plain[aid]
        for alert in keep:
            old = self._shown.get(alert.alert_id)
            if old is alert:
                continue
            cells = self.cells(alert)
            plain = {k: (c.plain, c.style) for k, c in cells.items()}
            if old is None:
                self.set_cells(alert.alert_id, cells)
            else:
                before = self._plain[alert.alert_id]
                changed = {k: c for k, c in cells.items() if plain[k] != before[k]}
                if changed:
                    self.set_cells(alert.alert_id, changed)
            self._shown[alert.alert_id] = alert
            self._plain[alert.alert_id] = plain
        if added:
            order = sorted(self._shown.values(), key=lambda a: (-a.time, a.alert_id))
            self.set_rows([a.alert_id for a in order], cursor=0 if at_top or selected is None else selected)

    def next_unacked(self) -> str | None:
        """Move the cursor to the next unacknowledged alert below it (wrapping); its id."""
        order = sorted(self._shown.values(), key=lambda a: (-a.time, a.alert_id))
        if not order:
            return None
        start = self.cursor_row + 1
        for i in range(len(order)):
            alert = order[(start + i) % len(order)]
            if not alert.acknowledged:
                self.move_cursor(row=self.get_row_index(alert.alert_id))
                return alert.alert_id
        return None
