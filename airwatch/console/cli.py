"""``python tui.py`` / ``airwatch tui``: start the console on a replay, the demo, or live sources."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from airwatch.config import ConfigError, Settings, load_settings
from airwatch.heap import tune_gc

ROOT = Path(__file__).resolve().parent.parent.parent
DEMO_DIR = ROOT / "captures"
DEMO_INPUTS = ("demo_scenario.pcapng", "demo_scenario.adsb.csv")
DEMO_CONFIG = "demo_scenario.config.toml"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="config.toml (sensor position, zones, thresholds, [console], live [[sources]])")
    p.add_argument("--replay", nargs="+", metavar="INPUT",
                   help="replay these captures and ADS-B recordings instead of watching live")
    p.add_argument("--demo", action="store_true",
                   help="replay the bundled demo (captures/demo_scenario.*) with its config")
    p.add_argument("--speed", type=float, default=1.0, help="replay speed, 1 to 100 (default 1)")
    p.add_argument("--paused", action="store_true", help="start the replay paused")
    p.add_argument("--at", help="run the replay to this capture time (UNIX, or +SECONDS from its start) and pause")
    p.add_argument("--start", help="start time of undated ADS-B recordings, or of an SBS recording's "
                                   "first line (UNIX or ISO 8601)")
    p.add_argument("--db", help="store tracks, positions, alerts and acknowledgements: sqlite:///file.db or postgresql+psycopg://...")
    p.add_argument("--operator", help="name stored with acknowledgements (default: [console] operator, else the login)")


def build_feed(args: argparse.Namespace, settings: Settings, store):  # type: ignore[no-untyped-def]
    from airwatch.console.replay_feed import ReplayFeed

    inputs = args.replay
    if args.demo:
        inputs = [str(DEMO_DIR / name) for name in DEMO_INPUTS]
    if inputs:
        pause_at = None
        if args.at:
            pause_at = _at(args.at, inputs, settings, args.start)
        return ReplayFeed(inputs, settings, store=store, speed=args.speed, paused=args.paused,
                          pause_at=pause_at, start=args.start)
    from airwatch.console.live import live_feed

    return live_feed(settings, store=store)


def _at(text: str, inputs: list[str], settings: Settings, start: str | None) -> float:
    if text.startswith("+"):
        from airwatch.inputs import InputOptions, read_inputs

        contacts, _ = read_inputs(inputs, InputOptions(sensor_id=settings.sensor.id, start=start))
        first = next(iter(contacts), None)
        if first is None:
            raise ConfigError("--at: the replay has no contacts")
        return first.time + float(text[1:])
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"--at: expected UNIX seconds or +SECONDS, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from airwatch.console.app import AirwatchConsole

    config = args.config
    if args.demo:
        if not (DEMO_DIR / DEMO_INPUTS[0]).is_file():
            print(f"airwatch tui: the demo files are not in {DEMO_DIR} (run from a checkout)", file=sys.stderr)
            return 2
        config = config or str(DEMO_DIR / DEMO_CONFIG)
    if not 1.0 <= args.speed <= 100.0:
        print("airwatch tui: --speed must be between 1 and 100", file=sys.stderr)
        return 2
    settings = load_settings(config)
    store = None
    if args.db:
        from airwatch.storage import Store

        store = Store(args.db)
    try:
        tune_gc()  # before the feed: what it builds may become garbage, and frozen objects never are collected
        feed = build_feed(args, settings, store)
        AirwatchConsole(feed, settings, operator=args.operator).run()
    finally:
        if store is not None:
            store.close()
    return 0


def add_monitor_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="config.toml with the [[sources]] to run (and [sensor], zones, ...)")
    p.add_argument("--db", default="sqlite:///airwatch.db",
                   help="where tracks, positions, alerts and acknowledgements go (default: sqlite:///airwatch.db)")
    p.add_argument("--operator", help="name stored with acknowledgements (default: [console] operator, else the login)")


def run_monitor(args: argparse.Namespace) -> int:
    """Sources, correlator, storage and console in one process, on an in-process bus."""
    from airwatch.console.app import AirwatchConsole
    from airwatch.console.live import live_feed
    from airwatch.storage import Store

    settings = load_settings(args.config)
    store = Store(args.db) if args.db else None
    try:
        tune_gc()
        feed = live_feed(settings, store=store, embedded=True)
        AirwatchConsole(feed, settings, operator=args.operator).run()
    finally:
        if store is not None:
            store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tui.py", description="airwatch operator console")
    add_arguments(parser)
    args = parser.parse_args(argv)
    from airwatch.storage import StorageError

    try:
        return run(args)
    except (ConfigError, StorageError) as e:
        print(f"airwatch tui: {e}", file=sys.stderr)
        return 2
