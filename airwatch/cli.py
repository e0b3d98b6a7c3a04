"""The ``airwatch`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Sequence

from airwatch import __version__
from airwatch.config import ConfigError, load_settings

EXIT_OK = 0
EXIT_INPUT_ERROR = 1
EXIT_USAGE = 2


def _decode(args: argparse.Namespace) -> int:
    from airwatch.inputs import InputOptions, read_inputs
    from airwatch.sinks.jsonl import contact_json, contact_line

    settings = load_settings(args.config)
    sensor = settings.sensor
    receiver = (sensor.lat, sensor.lon) if sensor.lat is not None and sensor.lon is not None else None
    options = InputOptions(sensor_id=args.sensor_id or sensor.id, receiver=receiver, start=args.start)
    contacts, reports = read_inputs(args.inputs, options)
    out = sys.stdout.buffer
    try:
        if args.pretty:
            write = out.write
            for c in contacts:
                write(contact_line(c).encode("utf-8", "replace") + b"\n")
        else:
            out.writelines(contact_json(c, args.raw) for c in contacts)
        out.flush()
    except BrokenPipeError:  # `airwatch decode x.pcap | head`
        sys.stderr.close()
        return EXIT_OK
    frames = sum(r.frames for r in reports)
    n_contacts = sum(r.contacts for r in reports)
    rejected: Counter[str] = Counter()
    for r in reports:
        rejected.update(r.rejected)
    failed = [r for r in reports if r.error]
    for r in reports:
        if r.warning:
            print(f"airwatch decode: warning: {r.warning}", file=sys.stderr)
    for r in failed:
        print(f"airwatch decode: {r.error}", file=sys.stderr)
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0])))
    print(f"airwatch decode: {len(reports)} input(s), {frames} frames, {n_contacts} contacts, "
          f"{sum(rejected.values())} frames rejected" + (f" ({reasons})" if reasons else ""),
          file=sys.stderr)
    return EXIT_INPUT_ERROR if failed else EXIT_OK


def _replay(args: argparse.Namespace) -> int:
    from airwatch.replay import replay, rich_progress

    settings = load_settings(args.config)
    store = _open_store(args.db) if args.db else None
    if args.speed is not None and not 1.0 <= args.speed <= 10_000:
        print("airwatch replay: --speed must be between 1 and 10000", file=sys.stderr)
        return EXIT_USAGE
    progress, close = rich_progress() if args.speed is None and not args.quiet else (None, lambda: None)
    try:
        result = replay(args.inputs, settings, store=store, out=sys.stdout.buffer if args.json else None,
                        speed=args.speed, start=args.start, progress=progress)
        sys.stdout.flush()
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
    finally:
        close()
        if store is not None:
            store.close()
    failed = [r for r in result.reports if r.error]
    for r in result.reports:
        if r.warning:
            print(f"airwatch replay: warning: {r.warning}", file=sys.stderr)
    for r in failed:
        print(f"airwatch replay: {r.error}", file=sys.stderr)
    if not args.json:
        from airwatch.replay import alert_line

        for alert in result.alerts:
            print(alert_line(alert))
    frames = sum(r.frames for r in result.reports)
    print(f"airwatch replay: {len(result.reports)} input(s), {frames} frames, {result.contacts} contacts, "
          f"{len(result.tracks)} tracks, {len(result.alerts)} alerts", file=sys.stderr)
    return EXIT_INPUT_ERROR if failed else EXIT_OK


def _open_store(url: str):  # type: ignore[no-untyped-def]
    from airwatch.storage import Store

    return Store(url)


def _export(args: argparse.Namespace) -> int:
    from airwatch.export import export
    from airwatch.sources.adsb_recording import parse_start

    store = _open_store(args.db)
    try:
        since = parse_start(args.since) if args.since else None
        until = parse_start(args.until) if args.until else None
        out = open(args.output, "wb") if args.output else sys.stdout.buffer  # noqa: SIM115
        try:
            n = export(store, args.format, since, until, out)
        finally:
            if args.output:
                out.close()
    finally:
        store.close()
    print(f"airwatch export: {n} {args.format} records", file=sys.stderr)
    return EXIT_OK


def _sensor(args: argparse.Namespace) -> int:
    from airwatch.heap import tune_gc
    from airwatch.sensor import cli

    tune_gc()
    return cli(args)


def _correlate(args: argparse.Namespace) -> int:
    from airwatch.correlate import cli
    from airwatch.heap import tune_gc

    tune_gc()
    return cli(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airwatch", description="Passive airspace monitor for small drones.")
    parser.add_argument("--version", action="version", version=f"airwatch {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every refused frame")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("decode", help="decode captures and ADS-B recordings into contacts (JSON Lines)",
                       description="Decode Remote ID, DJI DroneID and French beacons from pcap/pcapng "
                                   "captures ('-' reads standard input), and aircraft from ADS-B recordings "
                                   "(Beast binary, jet1090 CSV, AVR text, JSON Lines), recognised by content. "
                                   "One JSON object per contact on stdout, all inputs merged in time order; "
                                   "a summary on stderr. Exit status 1 when an input could not be read to "
                                   "its end.")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="pcap/pcapng capture or ADS-B recording, or - for a capture on standard input")
    p.add_argument("--start", help="UNIX time or ISO 8601 (2024-05-01T10:00:00Z) at which an ADS-B "
                                   "recording without dates (Beast, AVR) begins; for SBS, the time of its "
                                   "first line (SBS times are read as UTC), the rest shifted with it")
    p.add_argument("--pretty", action="store_true", help="one readable line per contact instead of JSON")
    p.add_argument("--raw", action="store_true",
                   help="add each contact's payload bytes as hex (source and frame always point at them)")
    p.add_argument("--sensor-id", help="sensor id stamped on every contact (default: from the config)")
    p.add_argument("--config", help="config.toml to read")
    p.set_defaults(run=_decode)

    p = sub.add_parser("replay", help="run captures and recordings through the correlator",
                       description="Replay pcap/pcapng captures and ADS-B recordings, merged in time order, "
                                   "through the whole pipeline: tracks, classification, alerts, storage. "
                                   "With --json, alerts and tracks as JSON Lines on stdout (see "
                                   "docs/replay-json.md); otherwise one line per alert.")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--config", help="config.toml (sensor, correlator thresholds, zones, signatures)")
    p.add_argument("--db", help="store tracks, positions and alerts: sqlite:///file.db or postgresql+psycopg://...")
    p.add_argument("--json", action="store_true", help="alerts and tracks as JSON Lines on stdout")
    p.add_argument("--speed", type=float, help="pace the replay in real time, this many times faster (1-10000)")
    p.add_argument("--start", help="start time of undated ADS-B recordings, or of an SBS recording's "
                                   "first line (UNIX or ISO 8601)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line on stderr")
    p.set_defaults(run=_replay)

    p = sub.add_parser("simulate", help="write a capture and an ADS-B recording from a scenario")
    from airwatch import simulate

    simulate.add_arguments(p)
    p.set_defaults(run=simulate.run)

    p = sub.add_parser("export", help="export stored tracks, positions and alerts",
                       description="Export what a replay or the monitor stored: GeoJSON, KML, CSV of "
                                   "positions, or CSV of alerts, for a time range.")
    p.add_argument("--db", required=True, help="the database: sqlite:///file.db or postgresql+psycopg://...")
    p.add_argument("--format", required=True, choices=("geojson", "kml", "csv", "csv-alerts"))
    p.add_argument("--since", help="from this time (UNIX or ISO 8601)")
    p.add_argument("--until", help="until this time (UNIX or ISO 8601)")
    p.add_argument("-o", "--output", help="file to write (default: stdout)")
    p.set_defaults(run=_export)

    p = sub.add_parser("sensor", help="run a sensor's sources and publish its contacts to MQTT",
                       description="Run the [[sources]] of config.toml and publish every contact to the MQTT "
                                   "broker of [mqtt] (QoS 1, persistent session, an on-disk spool while the "
                                   "broker is away), with a status and heartbeat topic and a last will. "
                                   "Topics and payloads: docs/mqtt.md. Exit status 2 for bad configuration or "
                                   "a broker that refuses the credentials or certificate.")
    p.add_argument("--config", required=True, help="config.toml with [sensor], [mqtt] and [[sources]]")
    p.add_argument("--exit-at-end", action="store_true",
                   help="when every source has finished (a replay), send the rest, announce the end of the "
                        "stream and exit")
    p.add_argument("--raw", action="store_true", help="send each contact's payload bytes too (base64)")
    p.add_argument("--spool", help="spool file (default: [mqtt] spool_dir, else ./spool/<sensor id>/spool.sqlite)")
    p.set_defaults(run=_sensor)

    p = sub.add_parser("correlate", help="correlate every sensor's contacts from MQTT; publish tracks and alerts",
                       description="Subscribe to the sensors on the broker of [mqtt], correlate what they hear "
                                   "together (one track per object, whichever sensors hear it), store, and "
                                   "publish tracks (retained) and alerts (events). One line per alert on "
                                   "stdout, or with --json the same JSON Lines as airwatch replay.")
    p.add_argument("--config", required=True, help="config.toml with [mqtt], [[sensors]], zones and thresholds")
    p.add_argument("--db", help="store tracks, positions and alerts: sqlite:///file.db or postgresql+psycopg://...")
    p.add_argument("--json", action="store_true", help="alerts and tracks as JSON Lines on stdout (as replay)")
    p.add_argument("--max-hold", type=float, default=0.1, metavar="SECONDS",
                   help="how long a contact waits for the other sensors' streams to catch up (default 0.1; "
                        "give a minute when replaying captures through the bus, for replay's exact order)")
    p.add_argument("--until-ended", action="store_true",
                   help="exit once every sensor ([[sensors]] and any heard) has announced the end of its "
                        "stream, finishing like airwatch replay")
    p.add_argument("--client-id", help="MQTT client id (default: [mqtt] client_id, else airwatch-correlator); "
                                       "the broker keeps this client's session while it is away")
    p.set_defaults(run=_correlate)

    p = sub.add_parser("tui", help="the operator console (the same as python tui.py)",
                       description="The Textual operator console: the bundled demo (--demo), a replay of "
                                   "captures (--replay), or live.")
    from airwatch.console import cli as console_cli

    console_cli.add_arguments(p)
    p.set_defaults(run=console_cli.run)

    p = sub.add_parser("monitor", help="one laptop, no server: live sources, correlator, storage and console",
                       description="Run the [[sources]] of the config, the correlator and storage (SQLite by "
                                   "default) and the console in one process, on an in-process bus: no broker.")
    console_cli.add_monitor_arguments(p)
    p.set_defaults(run=console_cli.run_monitor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except ConfigError as e:
        print(f"airwatch: {e}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:  # storage errors and bad arguments met late: a message, not a traceback
        from airwatch.storage import StorageError

        if isinstance(e, StorageError | ValueError):
            print(f"airwatch: {e}", file=sys.stderr)
            return EXIT_USAGE
        raise
    except KeyboardInterrupt:
        return 130
