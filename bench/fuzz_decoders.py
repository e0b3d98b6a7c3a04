"""Long fuzz run of the frame decoders: millions of random and mutated frames.

    python bench/fuzz_decoders.py [--frames 1000000] [--seed N] [--captures DIR]

Half the frames are real frames from ../shared/captures/remoteid mutated at random (bit flips,
cuts, insertions, interesting byte values), half are random bytes behind a valid-looking
header of each link type. Every frame goes through the decoder of its link type; anything but
contacts or a DecodeError is a failure, printed with the frame's hex so it can become a test.
The hypothesis tests in tests/test_decoder_fuzz.py run a short version of this in CI.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

from airwatch.decoders.errors import DecodeError
from airwatch.decoders.frames import DECODERS
from airwatch.frame import Frame
from airwatch.sinks.jsonl import contact_json
from airwatch.sources.pcap import read_capture

INTERESTING = (0, 1, 0x0F, 0x10, 0x19, 0x7F, 0x80, 0xF0, 0xF2, 0xFF)


def seeds(captures: Path) -> list[Frame]:
    frames = []
    for path in sorted((captures / "remoteid").iterdir()):
        for f in read_capture(path):
            try:
                if DECODERS[f.linktype](f, None):
                    frames.append(f)
            except DecodeError:
                pass
    return frames


def mutate(rng: random.Random, data: bytes) -> bytes:
    raw = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        pos = rng.randrange(len(raw)) if raw else 0
        if op < 0.4 and raw:
            raw[pos] ^= 1 << rng.randrange(8)
        elif op < 0.55:
            del raw[pos:]
        elif op < 0.7:
            raw[pos:pos] = rng.randbytes(rng.randint(1, 40))
        elif raw:
            raw[pos] = rng.choice(INTERESTING)
    return bytes(raw)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "little"))
    ap.add_argument("--captures", type=Path,
                    default=Path(os.environ.get("AIRWATCH_CAPTURES", Path(__file__).resolve().parents[2] / "shared" / "captures")))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pool = seeds(args.captures)
    heads = {lt: [f.data[:24] for f in pool if f.linktype == lt] or [b""] for lt in DECODERS}
    linktypes = sorted(DECODERS)
    outcomes: Counter[str] = Counter()
    failures = 0
    start = time.perf_counter()
    for i in range(args.frames):
        if i % 2 and pool:
            seed = rng.choice(pool)
            frame = Frame(seed.time, seed.linktype, mutate(rng, seed.data), i, "fuzz")
        else:
            lt = rng.choice(linktypes)
            head = rng.choice(heads[lt])[: rng.randint(0, 24)]
            frame = Frame(1.7e9, lt, head + rng.randbytes(rng.randint(0, 300)), i, "fuzz")
        try:
            for c in DECODERS[frame.linktype](frame, None):
                contact_json(c)
            outcomes["decoded"] += 1
        except DecodeError as e:
            outcomes[e.reason] += 1
        except Exception as e:  # noqa: BLE001 - this is what we hunt
            failures += 1
            print(f"FAIL linktype {frame.linktype}: {e!r}\n  {frame.data.hex()}", file=sys.stderr)
    elapsed = time.perf_counter() - start
    print(f"{args.frames:,} frames in {elapsed:.0f} s ({args.frames / elapsed:,.0f}/s), seed {args.seed}, "
          f"{len(pool)} real seed frames, {failures} failures")
    for reason, n in outcomes.most_common(12):
        print(f"  {reason:32} {n:>9,}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
