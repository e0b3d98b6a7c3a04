"""Shared pieces of the console tests: the demo replay, waiting for the feed, reading the screen."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from airwatch.config import load_settings
from airwatch.console.app import AirwatchConsole
from airwatch.console.replay_feed import ReplayFeed

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "captures"
DEMO_INPUTS = [str(DEMO / "demo_scenario.pcapng"), str(DEMO / "demo_scenario.adsb.csv")]
TRUTH = json.loads((DEMO / "demo_scenario.truth.json").read_text())
START = TRUTH["scenario"]["start"]


class FakeClock:
    """A clock the test moves by hand (alarm repeats and mute countdowns)."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def demo_settings():  # type: ignore[no-untyped-def]
    return load_settings(DEMO / "demo_scenario.config.toml")


def demo_app(pause_at: float | None = START + 100, *, paused: bool = False, speed: float = 1.0,
             store=None, alarm_clock=None) -> AirwatchConsole:  # type: ignore[no-untyped-def]
    settings = demo_settings()
    feed = ReplayFeed(DEMO_INPUTS, settings, store=store, speed=speed, paused=paused, pause_at=pause_at)
    return AirwatchConsole(feed, settings, operator="tester", alarm_clock=alarm_clock or FakeClock(),
                           wall_clock=lambda: START)


async def settle(pilot, app: AirwatchConsole, rounds: int = 400) -> None:  # type: ignore[no-untyped-def]
    """Wait until the replay has done what it was asked (run ahead, jump, acknowledge), then refresh."""
    feed = app.feed
    for _ in range(rounds):
        if not feed.busy:
            break
        await pilot.pause(0.05)
    assert not feed.busy, "the replay feed did not finish its command"
    app.refresh_picture()
    await pilot.pause()


def table_keys(table) -> list[str]:  # type: ignore[no-untyped-def]
    return table.row_keys


def cell_text(table, row_key: str, column: str) -> str:  # type: ignore[no-untyped-def]
    return table.get_cell(row_key, column).plain


def render_text(renderable, width: int = 120) -> str:  # type: ignore[no-untyped-def]
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()
