"""Benchmark: `airwatch decode` throughput and memory on a generated Wi-Fi capture.

    python bench/bench_decode.py [--rid 200000] [--ratios 1,3.5] [--keep DIR]

For each ratio, writes a pcap of ``--rid`` Remote ID beacons (message packs of 3 to 5 messages
from 500 drones) mixed with that many ordinary Wi-Fi frames per beacon (access-point beacons
with the usual elements and a WPS vendor element, probe requests, data frames), then measures,
in the same run and on the same file:

* the whole ``airwatch decode`` command (a child process writing JSON Lines to /dev/null):
  wall time, frames/s, and peak memory (max RSS); again on a file four times smaller, to show
  memory does not grow with the file;
* reference: scapy's RawPcapReader with a plain hand walk to the Remote ID element (what the
  feasibility probe measured at ~470,000 frames/s), and scapy's full dissection on a sample.

Never run as a test: the machines are shared and timings are noisy.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from airwatch.contact import BasicID, GeoPoint, Location, OperatorID, SelfID, System
from airwatch.encoders import remoteid as rid
from airwatch.encoders import wifi

PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 127)
RECORD = struct.Struct("<IIII")


def _ordinary_frames(rng: random.Random) -> list[bytes]:
    """A few hundred templates of ordinary traffic: AP beacons, probe requests, data frames."""
    frames = []
    for i in range(200):
        ap = f"a4:2b:b0:{i >> 8:02x}:{i & 0xFF:02x}:01"
        ies = [wifi.ssid_ie(f"HomeNet-{i}"), wifi.ie(1, b"\x82\x84\x8b\x96\x24\x30\x48\x6c"),
               wifi.ie(3, bytes([rng.choice((1, 6, 11))])),
               wifi.ie(48, bytes.fromhex("0100000fac040100000fac040100000fac020c00")),
               wifi.vendor_ie(b"\x00\x50\xf2", bytes.fromhex("04104a0001101044000102"))]
        frames.append(wifi.radiotap_frame(wifi.beacon(ap, ies, seq=i), channel=rng.choice((1, 6, 11)),
                                          signal_dbm=-rng.randint(40, 90)))
    for i in range(50):
        sta = f"da:a1:19:{i:02x}:00:02"
        mpdu = wifi.mgmt_header(0x40, "ff:ff:ff:ff:ff:ff", sta, "ff:ff:ff:ff:ff:ff") + wifi.ssid_ie("")
        frames.append(wifi.radiotap_frame(mpdu, channel=6, signal_dbm=-70))
    for i in range(100):
        sta = f"3c:22:fb:{i:02x}:00:03"
        mpdu = struct.pack("<BBH", 0x08, 0x01, 0) + wifi.mac("a4:2b:b0:00:01:01") + wifi.mac(sta) * 2 + b"\x00\x00"
        frames.append(wifi.radiotap_frame(mpdu + os.urandom(rng.randint(40, 1400)), channel=6, signal_dbm=-60))
    return frames


def _rid_frame(rng: random.Random, drone: int, n: int, t: float) -> bytes:
    mac = f"60:60:1f:{drone >> 8:02x}:{drone & 0xFF:02x}:3b"
    serial = f"1581F{drone:05d}B2ML3Y3KR"
    loc = Location(lat=33.66 + drone * 1e-4 + n * 1e-6, lon=-82.19 + rng.random() * 1e-3,
                   alt_pressure_m=None, alt_geodetic_m=80.0 + rng.random() * 40, height_m=1.5 + n % 50,
                   direction=float(rng.randrange(360)), speed_horizontal=rng.random() * 20,
                   speed_vertical=0.0, status=2, accuracy_horizontal=10, accuracy_vertical=4,
                   accuracy_baro=0, accuracy_speed=3, timestamp=round(t % 3600, 1), timestamp_accuracy=0.2)
    messages = [rid.encode_basic_id(BasicID(1, 2, serial)), rid.encode_location(loc),
                rid.encode_system(System(1, 1, 1, 0, None, None, 1, 2, float(int(t))),
                                  GeoPoint(33.663, -82.19, 80.0, "live_gnss"))]
    if n % 2:
        messages += [rid.encode_self_id(SelfID(0, "Survey")), rid.encode_operator_id(OperatorID(0, "FIN87astrdge12k8"))]
    pack = rid.encode_pack(messages)
    return wifi.radiotap_frame(wifi.odid_beacon(mac, pack, n, ssid=f"RID-{serial}"), channel=6,
                               signal_dbm=-rng.randint(40, 90))


def generate(path: Path, n_rid: int, ratio: float, seed: int = 1) -> int:
    rng = random.Random(seed)
    ordinary = _ordinary_frames(rng)
    t = 1_728_307_374.0
    total = 0
    with path.open("wb", buffering=1 << 20) as f:
        f.write(PCAP_HEADER)
        debt = 0.0
        for i in range(n_rid):
            frames = [_rid_frame(rng, i % 500, i // 500, t)]
            debt += ratio
            while debt >= 1.0:
                frames.append(ordinary[rng.randrange(len(ordinary))])
                debt -= 1.0
            for data in frames:
                t += 0.0005
                f.write(RECORD.pack(int(t), int(t % 1 * 1e6), len(data), len(data)))
                f.write(data)
                total += 1
    return total


def run_decode(path: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) and the summary line of one `airwatch decode` child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "airwatch", "decode", str(path)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=True)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before), done.stderr.strip().splitlines()[-1]


def rss_of_child(path: Path) -> int:
    code = ("import resource,subprocess,sys;"
            "subprocess.run([sys.executable,'-m','airwatch','decode',sys.argv[1]],stdout=subprocess.DEVNULL,"
            "stderr=subprocess.DEVNULL,check=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    return int(subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                              check=True).stdout)


def reference_plain_walk(path: Path) -> tuple[float, int]:
    """scapy RawPcapReader + a hand walk to the Remote ID element (the probe's method ii)."""
    from scapy.utils import RawPcapReader

    found = n = 0
    start = time.perf_counter()
    for data, _meta in RawPcapReader(str(path)):
        n += 1
        rt = data[2] | data[3] << 8
        if data[rt] != 0x80:
            continue
        off, end = rt + 36, len(data)
        while off + 2 <= end:
            eid, length = data[off], data[off + 1]
            if eid == 221 and data[off + 2:off + 6] == b"\xfa\x0b\xbc\x0d":
                found += 1
                break
            off += 2 + length
    return time.perf_counter() - start, n


def reference_scapy(path: Path, sample: int) -> float:
    from scapy.layers.dot11 import Dot11Elt
    from scapy.utils import PcapReader

    start = time.perf_counter()
    n = 0
    for pkt in PcapReader(str(path)):
        elt = pkt.getlayer(Dot11Elt)
        while elt is not None:
            elt = elt.payload.getlayer(Dot11Elt)
        n += 1
        if n >= sample:
            break
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rid", type=int, default=200_000, help="Remote ID beacons in each capture")
    ap.add_argument("--ratios", default="1,3.5",
                    help="ordinary frames per Remote ID beacon, one capture per value (default 1 and 3.5: "
                         "worst case, and the densest real mix, parrot_anafi4_real.pcapng with the drone 6 m away)")
    ap.add_argument("--scapy-sample", type=int, default=3000, help="frames for scapy's full dissection")
    ap.add_argument("--keep", type=Path, help="write the captures here and keep them")
    args = ap.parse_args()
    ratios = [float(r) for r in args.ratios.split(",")]

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="airwatch-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{'capture':44} {'frames':>9} {'airwatch decode':>16} {'plain walk':>11} {'scapy':>7}  frames/s")
    written = []
    for ratio in ratios:
        big, small = workdir / f"bench_{ratio:g}.pcap", workdir / f"bench_{ratio:g}_quarter.pcap"
        written += [big, small]
        n_big = generate(big, args.rid, ratio)
        wall, _, summary = run_decode(big)
        walk_s, walk_n = reference_plain_walk(big)
        scapy_fps = reference_scapy(big, args.scapy_sample)
        label = f"{args.rid:,} RID beacons + {ratio:g} ordinary per beacon"
        print(f"{label:44} {n_big:>9,} {n_big / wall:>16,.0f} {walk_n / walk_s:>11,.0f} {scapy_fps:>7,.0f}", flush=True)
        n_small = generate(small, args.rid // 4, ratio, seed=2)
        rss_big, rss_small = rss_of_child(big), rss_of_child(small)
        print(f"    peak memory (max RSS) of airwatch decode: {rss_small / 1024:.0f} MiB on {n_small:,} frames, "
              f"{rss_big / 1024:.0f} MiB on {n_big:,} frames", flush=True)
        print(f"    {summary}", flush=True)
    print("\nairwatch decode: the whole command, JSON Lines to /dev/null. plain walk: scapy RawPcapReader and a "
          "bare walk to the Remote ID element, no decoding. scapy: full dissection of a sample.")
    if not args.keep:
        for p in written:
            p.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
