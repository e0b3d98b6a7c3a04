"""Benchmark: `airwatch replay` throughput with storage on, on a large simulated scenario.

    python bench/bench_replay.py [--minutes 10] [--drones 40] [--aircraft 10] [--keep DIR]

Simulates a busy site (cooperative drones on Wi-Fi and Bluetooth, non-cooperative ones, aircraft
on ADS-B, access points, phones and Bluetooth advertisers), then measures in the same run, on
the same pcapng and ADS-B recording:

* ``airwatch replay --db sqlite:///...``: the whole pipeline, decoding, correlation, alert
  rules and SQLite storage (frames/s over frames in both inputs; peak memory);
* reference: ``airwatch decode`` on the same inputs (decoding and JSON only).

Never run as a test: the machines are shared and timings are noisy.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from airwatch.simulate import simulate


def scenario(minutes: int, drones: int, aircraft: int) -> dict:  # type: ignore[type-arg]
    objects: list[dict] = []  # type: ignore[type-arg]
    for i in range(drones):
        transports = ["wifi_beacon", "bt4_legacy"] if i % 2 else ["wifi_beacon", "wifi_nan", "bt5_long_range"]
        objects.append({"kind": "drone", "name": f"drone{i}", "serial": f"1581F{i:015d}",
                        "operator_id": f"CHEbench{i:08d}x", "transports": transports, "channel": 6,
                        "operator": {"north_m": -100.0 * i, "east_m": 50.0},
                        "path": {"type": "circle", "center": {"north_m": 300.0 * (i % 7), "east_m": -250.0 * (i % 5)},
                                 "radius_m": 200 + 10 * i, "period_s": 120 + i, "height_m": 60 + i}})
    for i in range(drones // 8):
        objects.append({"kind": "drone", "name": f"mavic{i}", "transports": [],
                        "signature": {"ssid": f"Mavic-{i:06x}", "oui": "60:60:1f", "rate_hz": 2},
                        "path": {"type": "stationary", "at": {"north_m": 900.0, "east_m": 100.0 * i, "height_m": 80}}})
    for i in range(aircraft):
        objects.append({"kind": "aircraft", "name": f"ac{i}", "icao": f"4b{i:04x}", "callsign": f"BENCH{i}",
                        "category": "A3", "geo_minus_baro_m": 40,
                        "path": {"type": "circle", "center": {"north_m": 0, "east_m": 0}, "radius_m": 8000 + 500 * i,
                                 "period_s": 600, "alt_m": 1500 + 150 * i}})
    objects.append({"kind": "background", "name": "background", "access_points": 40, "ap_beacon_hz": 10.0,
                    "phones": 20, "probe_interval_s": 5, "data_hz": 30.0, "ble_advertisers": 20, "ble_adv_hz": 2.0,
                    "channels": [1, 6, 11]})
    return {"scenario": {"name": "bench", "start": 1_763_700_000, "duration_s": minutes * 60, "seed": 1},
            "sensor": {"id": "bench", "lat": 46.2044, "lon": 6.1432, "ground_alt_m": 420.0},
            "objects": objects}


def timed(args: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS of the child (KiB) and the last stderr line."""
    code = ("import resource,subprocess,sys,time;t=time.perf_counter();"
            "p=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE,text=True);"
            "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
            "print(p.stderr.strip().splitlines()[-1] if p.stderr.strip() else '')")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    first, last = done.stdout.splitlines()[:2]
    wall, rss = first.split()
    return float(wall), int(rss), last


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=int, default=10)
    ap.add_argument("--drones", type=int, default=40)
    ap.add_argument("--aircraft", type=int, default=10)
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="airwatch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    result = simulate(scenario(args.minutes, args.drones, args.aircraft), work)
    pcap, adsb = work / "bench.pcapng", work / "bench.adsb.csv"
    print(f"simulated {args.minutes} min, {args.drones} drones, {args.aircraft} aircraft in "
          f"{time.perf_counter() - t0:.0f} s: {result}", flush=True)
    cli = [sys.executable, "-m", "airwatch"]
    db = work / "bench.db"
    db.unlink(missing_ok=True)
    wall_r, rss_r, summary_r = timed([*cli, "replay", "-q", "--db", f"sqlite:///{db}", str(pcap), str(adsb)])
    wall_d, rss_d, summary_d = timed([*cli, "decode", str(pcap), str(adsb)])
    frames = int(summary_d.split(" frames")[0].split()[-1])
    print(f"\n{'path':56} {'frames/s':>9} {'peak RSS':>9}")
    print(f"{'airwatch replay, SQLite storage on':56} {frames / wall_r:>9,.0f} {rss_r / 1024:>7.0f} MiB")
    print(f"{'  reference: airwatch decode on the same inputs':56} {frames / wall_d:>9,.0f} {rss_d / 1024:>7.0f} MiB")
    print(f"\n{summary_r}\n{summary_d}")
    if not args.keep:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
