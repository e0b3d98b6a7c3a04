"""Modal screens: help (every key, generated from the bindings) and jump to a time."""

from __future__ import annotations

import calendar
import re
import time

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

TABLE_KEYS = (("j / k, ↓ / ↑", "move in the focused table"), ("g / G", "top / bottom of the focused table"),
              ("tab / shift+tab", "next / previous pane"), ("escape", "clear the filter, close a dialog"))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, bindings: list[Binding]) -> None:
        super().__init__()
        self.bindings_list = bindings

    def compose(self) -> ComposeResult:
        table = Table(title="airwatch console keys", show_header=True, header_style="bold", expand=False)
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("what it does")
        for b in self.bindings_list:
            if b.description:
                table.add_row(Text(b.key_display or _key_name(b.key)), Text(b.description))
        for key, what in TABLE_KEYS:
            table.add_row(Text(key), Text(what))
        legend = Text.assemble(
            ("\nSymbols: ", "bold"), "◆ drone with Remote ID  ▲ drone hiding (no Remote ID)  × operator  ",
            "⌂ home  ✈ aircraft  + sensor  # protected zone\n",
            ("Altitudes: ", "bold"), "geo = WGS-84, baro = barometric, hgt = above take-off or ground\n",
            ("Alarm: ", "bold"), "high and critical alerts ring and flash until acknowledged; m mutes for a while.",
        )
        self.renderables = (table, legend)  # what the screen shows (tests read it)
        with VerticalScroll(id="help"):
            yield Static(table)
            yield Static(legend)
            yield Static(Text("escape or ? to close", style="dim"))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


def _key_name(key: str) -> str:
    names = {"question_mark": "?", "slash": "/", "space": "space", "plus": "+", "minus": "-",
             "right_square_bracket": "]", "right_curly_bracket": "}", "full_stop": "."}
    return ", ".join(names.get(k, k) for k in key.split(","))


def parse_time(text: str, reference: float | None) -> float | None:
    """``HH:MM[:SS]`` (UTC, on the reference's day), ``+SECONDS`` from the reference, or UNIX seconds."""
    text = text.strip()
    if re.fullmatch(r"[+-]\d+(\.\d+)?", text) and reference is not None:
        return reference + float(text)
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if m and reference is not None:
        day = time.gmtime(reference)
        return float(calendar.timegm((day.tm_year, day.tm_mon, day.tm_mday, int(m[1]), int(m[2]),
                                      int(m[3] or 0), 0, 0, 0)))
    if re.fullmatch(r"\d{9,}(\.\d+)?", text):
        return float(text)
    return None


class JumpScreen(ModalScreen[float | None]):
    """Ask for a capture time to jump to."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, reference: float | None) -> None:
        super().__init__()
        self.reference = reference

    def compose(self) -> ComposeResult:
        with Vertical(id="jump"):
            yield Static(Text("Jump to UTC time HH:MM[:SS], +seconds from the start, or UNIX time"))
            yield Input(placeholder="02:14:00", id="jump-input")
            yield Static(Text(""), id="jump-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        when = parse_time(event.value, self.reference)
        if when is None:
            self.query_one("#jump-error", Static).update(Text("not a time I understand", style="red"))
            return
        self.dismiss(when)

    def action_cancel(self) -> None:
        self.dismiss(None)
