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
                                   "recording without dates (Beast, AVR) begins")
    p.add_argument("--pretty", action="store_true", help="one readable line per contact instead of JSON")
    p.add_argument("--raw", action="store_true",
                   help="add each contact's payload bytes as hex (source and frame always point at them)")
    p.add_argument("--sensor-id", help="sensor id stamped on every contact (default: from the config)")
    p.add_argument("--config", help="config.toml to read")
    p.set_defaults(run=_decode)
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
    except KeyboardInterrupt:
        return 130
