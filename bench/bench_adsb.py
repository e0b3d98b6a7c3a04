"""ADS-B throughput and first-position delay: airwatch next to pyModeS's PipeDecoder.

    .venv/bin/python bench/bench_adsb.py [--captures ../shared/captures] [--runs 5]

Throughput, on long_flight.csv (172,432 real frames, 1.96 h), one core, median of ``--runs``
timed runs after one warm-up, ``gc.collect()`` before each:

* airwatch: the whole path from the file: CSV parsing and Beast-hex framing
  (``AdsbRecording``), pre-filter, CRC, pyModeS field decoding, CPR pairing, plausibility,
  per-aircraft state and contact objects (``AdsbDecoder``).  Also with ``iter_contacts`` (adds
  the time-ordering buffer).
* SBS: the same flight as dump1090-fa would have written it on port 30003 (the contacts above
  written back with ``airwatch.encoders.sbs``, one line per message dump1090 reports), read from a
  temporary file: line framing, parsing, per-aircraft state and contacts (``AdsbRecording``,
  ``SbsDecoder``), in SBS lines/s.  Fewer lines than frames: SBS has no CPR pairs or repeats.
* reference: ``pyModeS.PipeDecoder.decode(hex, timestamp=t)`` on the same messages, preloaded
  as hex strings (no file reading or framing: the reference is given a head start).

First-position delay: for every aircraft with airborne positions, the time from its first
airborne-position frame to the first message that reports a position (PipeDecoder: the dict
as returned, before any retro-fill), on each real recording with absolute times.

Nothing here is a test: figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyModeS
from pyModeS import PipeDecoder

from airwatch.decoders.adsb import AdsbDecoder
from airwatch.decoders.adsb.sbs import SbsDecoder
from airwatch.encoders.sbs import format_sbs
from airwatch.sources.adsb_recording import AdsbRecording, iter_contacts

ROOT = Path(__file__).resolve().parent.parent


def timed(fn, runs: int) -> tuple[float, object]:
    result = fn()  # warm-up
    times = []
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def airwatch_path(path: Path):
    def run():
        dec = AdsbDecoder()
        decode = dec.decode
        n = 0
        for t, data, sig, number in AdsbRecording(path, fmt="adsb_csv").messages():
            decode(data, t, signal_dbfs=sig, frame=number)
            n += 1
        return dec, n

    return run


def airwatch_contacts(path: Path):
    def run():
        return sum(1 for _ in iter_contacts(path, fmt="adsb_csv"))

    return run


def sbs_path(path: Path):
    def run():
        dec = SbsDecoder()
        apply = dec.apply
        n = 0
        for t, m, line, number in AdsbRecording(path, fmt="sbs").sbs_messages():
            apply(m, t, frame=number, raw=line)
            n += 1
        return dec, n

    return run


def write_sbs(source: Path, target: Path) -> int:
    lines = [line for c in iter_contacts(source) if (line := format_sbs(c)) is not None]
    target.write_bytes(b"".join(lines))
    return len(lines)


def pipe_path(hexes: list[str], stamps: list[float]):
    def run():
        pipe = PipeDecoder()
        decode = pipe.decode
        for h, t in zip(hexes, stamps):
            decode(h, timestamp=t)
        return pipe

    return run


def pipe_first_fix(rows: list[tuple[float, str]], surface_ref=None) -> list[float | None]:
    pipe = PipeDecoder(surface_ref=surface_ref)
    first_frame: dict[str, float] = {}
    first_fix: dict[str, float] = {}
    for t, h in rows:
        r = pipe.decode(h, timestamp=t)
        if r.get("bds") != "0,5" or r.get("crc_valid") is not True:
            continue
        icao = r["icao"]
        first_frame.setdefault(icao, t)
        if r.get("latitude") is not None:
            first_fix.setdefault(icao, t)
    return [first_fix[k] - v if k in first_fix else None for k, v in first_frame.items()]


def airwatch_first_fix(rows: list[tuple[float, str]]) -> list[float | None]:
    dec = AdsbDecoder()
    for t, h in rows:
        dec.decode(bytes.fromhex(h), t)
    return dec.first_fix_delays()


def describe(delays: list[float | None]) -> str:
    got = sorted(d for d in delays if d is not None)
    missing = len(delays) - len(got)
    if not got:
        return f"no position ({len(delays)} aircraft)"
    text = (
        f"median {statistics.median(got):.2f} s, max {got[-1]:.2f} s, "
        f"min {got[0]:.2f} s over {len(got)} aircraft"
    )
    return text + (f" ({missing} never positioned)" if missing else "")


def read_rows(path: Path) -> list[tuple[float, str]]:
    rows = []
    for t, data, _sig, _n in AdsbRecording(path).messages():
        rows.append((t, data.hex().upper()))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--captures",
        type=Path,
        default=Path(os.environ.get("AIRWATCH_CAPTURES", ROOT.parent / "shared" / "captures")),
    )
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    adsb = args.captures / "adsb"
    long_flight = adsb / "long_flight.csv"
    if not long_flight.is_file():
        print(f"long_flight.csv not found under {adsb}", file=sys.stderr)
        return 2

    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, pyModeS {pyModeS.__version__}"
    )
    rows = read_rows(long_flight)
    hexes = [h for _, h in rows]
    stamps = [t for t, _ in rows]
    n = len(rows)
    print(f"long_flight.csv: {n} messages, {stamps[-1] - stamps[0]:.0f} s of traffic\n")

    t_ours, (dec, count) = timed(airwatch_path(long_flight), args.runs)
    assert count == n
    t_contacts, _ = timed(airwatch_contacts(long_flight), args.runs)
    t_pipe, pipe = timed(pipe_path(hexes, stamps), args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        sbs_file = Path(tmp) / "long_flight.sbs"
        n_sbs = write_sbs(long_flight, sbs_file)
        t_sbs, (sbs_dec, sbs_count) = timed(sbs_path(sbs_file), args.runs)
    assert sbs_count == n_sbs

    width = 64
    print(f"{'path':<{width}} {'msg/s':>10} {'s':>7}")
    print(f"{'airwatch: file -> framing -> decode/CPR/state -> contacts':<{width}} "
          f"{n / t_ours:>10,.0f} {t_ours:>7.3f}")
    print(f"{'airwatch: iter_contacts (adds the time-ordering buffer)':<{width}} "
          f"{n / t_contacts:>10,.0f} {t_contacts:>7.3f}")
    print(f"{'pyModeS PipeDecoder.decode(hex, timestamp), hex preloaded':<{width}} "
          f"{n / t_pipe:>10,.0f} {t_pipe:>7.3f}")
    print(f"{'airwatch SBS: file -> lines -> parse/state -> contacts (lines/s)':<{width}} "
          f"{n_sbs / t_sbs:>10,.0f} {t_sbs:>7.3f}   ({n_sbs} lines)")
    print(f"ratio airwatch / PipeDecoder: {t_pipe / t_ours:.2f}x\n")
    c = dec.counters
    print(f"airwatch: {c['contacts']} contacts, {len(dec.table) + c['aircraft_evicted']} aircraft; "
          f"PipeDecoder: {pipe.stats['decoded']} decoded\n")

    print("first-position delay (first airborne-position frame -> first reported position)")
    recordings = [long_flight, adsb / "sample_data_adsb.csv"]
    all_ours: list[float | None] = []
    all_pipe: list[float | None] = []
    for path in recordings:
        if not path.is_file():
            continue
        r = rows if path == long_flight else read_rows(path)
        ours = airwatch_first_fix(r)
        theirs = pipe_first_fix(r)
        all_ours += ours
        all_pipe += theirs
        print(f"  {path.name}")
        print(f"    airwatch:    {describe(ours)}")
        print(f"    PipeDecoder: {describe(theirs)}")
    print("  all recordings")
    print(f"    airwatch:    {describe(all_ours)}")
    print(f"    PipeDecoder: {describe(all_pipe)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
