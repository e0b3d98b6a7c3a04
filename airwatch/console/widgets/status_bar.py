"""The status bar: mode, each source's health and rate, the UTC clock, unacknowledged alerts, mute."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from airwatch.console import format as fmt
from airwatch.console.alarm import Alarm
from airwatch.console.picture import Picture

HEALTH_STYLE = {"ok": "green", "starting": "yellow", "stale": "yellow", "down": "bold red", "stopped": "dim"}
HEALTH_MARK = {"ok": "✓", "starting": "…", "stale": "?", "down": "✗", "stopped": "-"}


def status_text(picture: Picture, alarm: Alarm, unacked: int, wall: float | None = None) -> Text:
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(" airwatch ", style="bold reverse")
    replay = picture.replay
    if picture.mode == "replay" and replay is not None:
        state = "FINISHED" if replay.finished else "PAUSED" if replay.paused else "PLAY"
        out.append(f" REPLAY {state} {replay.speed:g}x ", style="bold black on yellow")
        if replay.start is not None and replay.position is not None:
            out.append(f" +{replay.position - replay.start:.0f}s")
            if replay.end is not None:
                out.append(f"/{replay.end - replay.start:.0f}s")
    else:
        out.append(" ● LIVE ", style="bold black on green")
    for h in picture.sources:
        out.append("  ")
        out.append_text(fmt.safe(h.name))
        out.append(" " + HEALTH_MARK.get(h.status, "?"), style=HEALTH_STYLE.get(h.status, ""))
        if picture.mode == "live" and h.status in ("ok", "stale"):
            out.append(f" {h.rate(wall):.0f}/s", style="dim")
    clock = picture.now if picture.mode == "replay" else (wall if wall is not None else time.time())
    out.append(f"   UTC {fmt.utc(clock)}")
    if alarm.muted:
        left = alarm.muted_for
        out.append(f"  MUTED {int(left // 60)}:{int(left % 60):02d}", style="bold black on magenta")
    if unacked:
        out.append(f"  ⚠ {unacked} UNACKED ", style="bold white on red")
    else:
        out.append("  no unacked alerts", style="dim")
    if picture.error:
        out.append("  ")
        out.append_text(fmt.safe(picture.error, "bold red"))
    return out


class StatusBar(Static):
    DEFAULT_CSS = "StatusBar { height: 1; }"

    current = Text("")  # what the bar shows (tests read it)

    def show(self, picture: Picture, alarm: Alarm, unacked: int, wall: float | None = None) -> None:
        text = status_text(picture, alarm, unacked, wall)
        if text == self.current:
            return
        self.current = text
        self.update(text, layout=False)  # one line, always: no need to lay the whole screen out again
