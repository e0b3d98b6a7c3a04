"""Benchmark: the operator console's CPU use and refresh time with 2,000 live tracks updating.

    python bench/bench_console.py [--seconds 20] [--warmup 8] [--tmux] [--no-reference]
                                  [--drones 1500] [--aircraft 50] [--signatures 450]

A :class:`~airwatch.console.synthetic_feed.SyntheticFeed` drives the real correlator and
picture keeper on its worker thread: 1,500 Remote ID drones, 50 ADS-B aircraft and 450 drones
known by their Wi-Fi signature around a sensor, each heard once a second (about 2,000
contacts/s), positions moving, the non-cooperative window shortened to 5 s so that the
signature drones' alerts are on screen while measuring, and one protected zone.  The console
(``AirwatchConsole``, 200x60, refreshing at ``[console] refresh_hz`` = 4 Hz) runs for
``--warmup`` seconds, then is measured for ``--seconds``:

* UI-thread CPU (``time.thread_time()`` on the event loop's thread) as a share of one core:
  the target is under 50 % at 4 Hz;
* the feed's worker thread (the correlator), and the whole process;
* refreshes per second against the 4 Hz target, the largest gap between two refreshes, and the
  time of one ``refresh_picture`` call (the handler: picture, table, scope, log, detail,
  status), median / p95 / max.  The rendering Textual does after the handler is in the UI CPU
  but not in that time, so the UI CPU per refresh is printed too.

Then the same apps with fixed work per refresh, which a busy shared machine does not change:
no worker thread, the feed driven on its own clock with 0.25 s of traffic (a quarter of the
tracks moved) before each refresh, the UI CPU of one refresh (handler, layout and rendering)
and what four a second would take of one core.  Live, a console that falls behind sees more
tracks changed at each refresh, so its live figures depend on the CPU it was given.

Reference, measured in the same run on the same traffic: the pattern the dependency probe warns
about, a plain ``DataTable`` showing the same tracks (same columns, nearest first) rebuilt with
``clear()`` + ``add_rows`` at 4 Hz.

Headless (``App.run_test``) Textual composes every frame but writes nothing to a terminal, so
it leaves out turning frames into escape sequences and writing them.  ``--tmux`` also runs both
apps in a real terminal (a detached 200x60 tmux session on a private socket) and reports the
same figures from inside the console process, plus the tmux server's CPU (the terminal's side).

Never run as a test: the machines are shared and timings are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from dataclasses import replace

from airwatch.config import ConsoleSettings, CorrelatorSettings, SensorSettings, Settings, Zone
from airwatch.console import format as fmt
from airwatch.console.app import AirwatchConsole
from airwatch.console.synthetic_feed import SyntheticFeed
from airwatch.correlator.model import Track
from airwatch.heap import tune_gc

SIZE = (200, 60)
TMUX_SOCKET = "airwatch-bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SENSOR = SensorSettings(id="bench", lat=46.2044, lon=6.1432, alt_m=420.0)


def settings() -> Settings:
    zone = Zone(name="hospital", lat=SENSOR.lat + 1500 / 111_320, lon=SENSOR.lon, radius_m=600.0,  # type: ignore[operator]
                ceiling_m=150.0, severity="high")
    return Settings(sensor=SENSOR, correlator=CorrelatorSettings(non_cooperative_window_s=5.0), zones=(zone,),
                    console=ConsoleSettings(refresh_hz=4.0, operator="bench"))


def feed(args: argparse.Namespace) -> SyntheticFeed:
    return SyntheticFeed(settings(), drones=args.drones, aircraft=args.aircraft, signatures=args.signatures)


# -- the reference: a plain DataTable rebuilt every tick -------------------------------------

COLUMNS = ("!", "CLASS", "ID / NAME", "SRC", "BRG", "RNG", "ALT", "GS", "TRK", "RSSI", "AGE", "OPR")


def naive_row(t: Track, now: float | None) -> tuple[Any, ...]:
    rng, brg = fmt.range_bearing(t, SENSOR)
    fix = t.last_fix
    return (fmt.glyph(t), fmt.class_text(t), fmt.safe(fmt.identity(t)), Text(fmt.sources_short(t)),
            Text("" if brg is None else f"{brg:03.0f}"), Text(fmt.metres(rng)), Text(fmt.altitude(t)[0]),
            Text("" if fix is None or fix.speed_horizontal is None else f"{fix.speed_horizontal:.0f}"),
            Text("" if fix is None or fix.direction is None else f"{fix.direction:03.0f}"),
            Text("" if t.rssi_dbm is None else str(t.rssi_dbm)),
            Text(fmt.age(None if now is None else now - t.last_seen)), Text(fmt.metres(fmt.operator_distance(t))))


class NaiveTable(App[None]):
    """Every tick: a new picture, every row formatted, ``clear()`` and ``add_rows``."""

    def __init__(self, feed: SyntheticFeed, hz: float = 4.0, start_feed: bool = True) -> None:
        super().__init__()
        self.feed, self.hz, self.start_feed = feed, hz, start_feed

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        if self.start_feed:
            self.feed.start()
        self.set_interval(1.0 / self.hz, self.tick)

    def on_unmount(self) -> None:
        if self.start_feed:
            self.feed.stop()

    def tick(self) -> None:
        pic = self.feed.picture()
        tracks = sorted(pic.tracks, key=lambda t: fmt.range_bearing(t, SENSOR)[0] or 1e18)
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows([naive_row(t, pic.now) for t in tracks])


# -- measuring ---------------------------------------------------------------------------------

def thread_cpu(native_id: int | None) -> float:
    """CPU seconds (user + system) of one thread of this process, from /proc."""
    if native_id is None:
        return 0.0
    try:
        with open(f"/proc/self/task/{native_id}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Probe:
    """Times each refresh call and samples CPU clocks; sample() must run on the UI thread."""

    def __init__(self, app: App[None], feed: SyntheticFeed, method: str) -> None:
        self.app, self.feed = app, feed
        self.calls: list[tuple[float, float]] = []  # (start, duration) of each refresh call
        original = getattr(app, method)

        def timed() -> None:
            t0 = time.perf_counter()
            original()
            self.calls.append((t0, time.perf_counter() - t0))

        setattr(app, method, timed)  # the interval looks the method up on the instance at each call

    def sample(self) -> dict[str, float]:
        worker = self.feed.thread
        return {"wall": time.perf_counter(), "ui": time.thread_time(), "process": time.process_time(),
                "worker": thread_cpu(worker.native_id if worker is not None else None),
                "contacts": float(self.feed.sent), "calls": float(len(self.calls)), "ui_tid": threading.get_native_id()}

    def result(self, a: dict[str, float], b: dict[str, float]) -> dict[str, Any]:
        wall = b["wall"] - a["wall"]
        calls = [c for c in self.calls if a["wall"] <= c[0] < b["wall"]]
        starts = [a["wall"], *(c[0] for c in calls), b["wall"]]
        durations = sorted(c[1] for c in calls)
        pic = self.feed.picture()
        return {
            "wall": wall, "ui": (b["ui"] - a["ui"]) / wall, "worker": (b["worker"] - a["worker"]) / wall,
            "process": (b["process"] - a["process"]) / wall, "rate": len(calls) / wall,
            "contacts": (b["contacts"] - a["contacts"]) / wall,
            "median_ms": 1000 * statistics.median(durations) if durations else float("nan"),
            "p95_ms": 1000 * durations[int(0.95 * (len(durations) - 1))] if durations else float("nan"),
            "max_ms": 1000 * durations[-1] if durations else float("nan"),
            "max_gap_ms": 1000 * max(y - x for x, y in zip(starts, starts[1:])),
            "ui_per_refresh_ms": 1000 * (b["ui"] - a["ui"]) / max(len(calls), 1),
            "tracks": len(pic.tracks), "alerts": len(pic.alerts),
        }


def build(kind: str, args: argparse.Namespace) -> tuple[App[None], Probe]:
    f = feed(args)
    if kind == "console":
        app: App[None] = AirwatchConsole(f, f.settings, operator="bench")
        return app, Probe(app, f, "_refresh_picture")
    app = NaiveTable(f)
    return app, Probe(app, f, "tick")


async def run_headless(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    app, probe = build(kind, args)
    async with app.run_test(size=SIZE):
        await asyncio.sleep(args.warmup)
        a = probe.sample()
        await asyncio.sleep(args.seconds)
        b = probe.sample()
        return probe.result(a, b)


async def run_child(kind: str, args: argparse.Namespace) -> None:
    """In the tmux session: the same measurement with Textual's real terminal driver."""
    app, probe = build(kind, args)
    task = asyncio.create_task(app.run_async())
    await asyncio.sleep(args.warmup)
    a = probe.sample()
    Path(args.child_out + ".start").write_text("")
    await asyncio.sleep(args.seconds)
    b = probe.sample()
    result = probe.result(a, b)
    other = (b["process"] - a["process"]) - (b["ui"] - a["ui"]) - (b["worker"] - a["worker"])
    result["other_threads"] = other / result["wall"]
    app.exit()
    await task
    Path(args.child_out).write_text(json.dumps(result))


async def run_steady(kind: str, args: argparse.Namespace, refreshes: int = 40) -> dict[str, Any]:
    """Fixed work per refresh, whatever the machine's load: no worker thread; the feed runs on
    its own clock, 0.25 s of traffic (a quarter of the tracks move) before each refresh."""
    clock = [1_763_700_000.0]
    base = settings()
    quiet = replace(base, console=replace(base.console, refresh_hz=0.001))  # refreshes only when told
    f = SyntheticFeed(quiet, drones=args.drones, aircraft=args.aircraft, signatures=args.signatures,
                      clock=lambda: clock[0])
    for _ in range(int(args.warmup / 0.25)):
        clock[0] += 0.25
        f.advance_to(clock[0])
    if kind == "console":
        app: App[None] = AirwatchConsole(f, quiet, operator="bench", start_feed=False, wall_clock=lambda: clock[0])
        refresh = app.refresh_picture
    else:
        app = NaiveTable(f, hz=0.001, start_feed=False)
        refresh = app.tick
    cpu, handler = [], []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for i in range(refreshes + 4):
            clock[0] += 0.25
            f.advance_to(clock[0])
            t0, w0 = time.thread_time(), time.perf_counter()
            refresh()
            w1 = time.perf_counter()
            await asyncio.sleep(0.1)  # Textual lays out and renders the frame
            if i >= 4:
                cpu.append(time.thread_time() - t0)
                handler.append(w1 - w0)
    cpu.sort()
    handler.sort()
    return {"cpu_ms": 1000 * statistics.median(cpu), "cpu_p95_ms": 1000 * cpu[int(0.95 * (len(cpu) - 1))],
            "handler_ms": 1000 * statistics.median(handler), "core_at_4hz": 4 * statistics.median(cpu)}


def proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def run_tmux(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    tmux = ["tmux", "-L", TMUX_SOCKET]
    work = Path(tempfile.mkdtemp(prefix="airwatch-bench-console-"))
    out = work / f"{kind}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--child-out", str(out),
           "--seconds", str(args.seconds), "--warmup", str(args.warmup), "--drones", str(args.drones),
           "--aircraft", str(args.aircraft), "--signatures", str(args.signatures)]
    shell = f"cd {shlex.quote(os.getcwd())} && {shlex.join(cmd)}"  # Textual draws on stderr: keep it the pane
    session = f"bench-{os.getpid()}-{kind}"
    subprocess.run([*tmux, "new-session", "-d", "-x", str(SIZE[0]), "-y", str(SIZE[1]), "-s", session, shell],
                   check=True, env={**os.environ, "TERM": "xterm-256color"})
    try:
        server = int(subprocess.run([*tmux, "display-message", "-p", "-t", session, "#{pid}"], check=True,
                                    capture_output=True, text=True).stdout)
        deadline = time.monotonic() + args.warmup + args.seconds + 60
        start = Path(str(out) + ".start")
        while not start.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        t0, s0 = time.perf_counter(), proc_cpu(server)
        screen = ""
        while not out.exists() and time.monotonic() < deadline:
            if time.perf_counter() - t0 > args.seconds - 1 and not screen:
                screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", session], capture_output=True,
                                        text=True).stdout
            time.sleep(0.05)
        t1, s1 = time.perf_counter(), proc_cpu(server)
        if not out.exists():
            err = Path(str(out) + ".err")
            raise RuntimeError(f"the {kind} in tmux gave no result:\n{err.read_text()[-2000:] if err.exists() else ''}")
        result = json.loads(out.read_text())
        result["tmux_server"] = (s1 - s0) / (t1 - t0)
        result["screen_ok"] = ("CLASS" in screen) if kind == "console" else ("ID / NAME" in screen)
        return result
    finally:
        subprocess.run([*tmux, "kill-session", "-t", session], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


# -- the report ----------------------------------------------------------------------------------

def table(title: str, rows: list[tuple[str, dict[str, Any]]], terminal: bool) -> None:
    print(f"\n{title}")
    head = f"{'':44} {'UI CPU':>7} {'refresh/s':>9} {'refresh ms med/p95/max':>23} {'max gap':>8} {'UI ms/refresh':>13}"
    head += f" {'worker':>7} {'process':>8}" + (f" {'other':>6} {'tmux':>6}" if terminal else "")
    print(head)
    for name, r in rows:
        line = (f"{name:44} {r['ui']:>7.0%} {r['rate']:>9.2f} "
                f"{r['median_ms']:>7.1f} /{r['p95_ms']:>6.1f} /{r['max_ms']:>6.1f} {r['max_gap_ms']:>6.0f}ms"
                f" {r['ui_per_refresh_ms']:>13.1f} {r['worker']:>7.0%} {r['process']:>8.0%}")
        if terminal:
            line += f" {r['other_threads']:>6.0%} {r['tmux_server']:>6.0%}"
            if not r["screen_ok"]:
                line += "  (screen not seen in capture-pane!)"
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0, help="measured time per app (default 20)")
    ap.add_argument("--warmup", type=float, default=8.0, help="time before measuring (default 8)")
    ap.add_argument("--drones", type=int, default=1500)
    ap.add_argument("--aircraft", type=int, default=50)
    ap.add_argument("--signatures", type=int, default=450)
    ap.add_argument("--tmux", action="store_true", help="also measure both apps in a real terminal under tmux")
    ap.add_argument("--no-reference", action="store_true", help="skip the clear()+add_rows reference")
    ap.add_argument("--child", choices=("console", "naive"), help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    tune_gc()  # as tui.py does: both apps, the console and the reference, run with it
    if args.child:
        try:
            asyncio.run(run_child(args.child, args))
        except BaseException:
            import traceback

            Path(args.child_out + ".err").write_text(traceback.format_exc())
            raise
        return
    kinds = ["console"] + ([] if args.no_reference else ["naive"])
    names = {"console": "airwatch console (keyed rows, dirty cells)",
             "naive": "  reference: DataTable clear() + add_rows"}
    tracks = args.drones + args.aircraft + args.signatures
    print(f"{tracks:,} tracks ({args.drones:,} Remote ID drones, {args.aircraft} ADS-B aircraft, "
          f"{args.signatures} Wi-Fi signature drones), each heard once a second; {SIZE[0]}x{SIZE[1]}, "
          f"4 Hz refresh; {args.warmup:.0f} s warm-up, {args.seconds:.0f} s measured per app; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} (a shared machine: other work takes CPU too)",
          flush=True)
    headless = [(names[k], asyncio.run(run_headless(k, args))) for k in kinds]
    r = headless[0][1]
    print(f"picture: {r['tracks']:,} tracks, {r['alerts']:,} alerts, {r['contacts']:,.0f} contacts/s into the "
          f"correlator")
    table("headless (App.run_test: frames composed, nothing written to a terminal)", headless, False)
    steady = [(names[k], asyncio.run(run_steady(k, args))) for k in kinds]
    print("\nfixed work per refresh (no worker thread, 0.25 s of traffic between refreshes: what one 4 Hz "
          "refresh costs)")
    print(f"{'':44} {'UI CPU per refresh med/p95':>27} {'handler med':>12} {'= share of a core at 4 Hz':>26}")
    for name, r in steady:
        print(f"{name:44} {r['cpu_ms']:>12.0f} /{r['cpu_p95_ms']:>5.0f} ms {r['handler_ms']:>9.0f} ms "
              f"{r['core_at_4hz']:>25.0%}")
    if args.tmux:
        if shutil.which("tmux") is None:
            print("\n--tmux: tmux is not installed")
            return
        real = [(names[k], run_tmux(k, args)) for k in kinds]
        table("real terminal (tmux 200x60; other = Textual's input and writer threads; tmux = the tmux server)",
              real, True)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print("\nUI CPU: the event loop's thread, share of one core (target: under 50 % at 4 Hz).  refresh ms: one "
          "refresh handler call;\nUI ms/refresh adds Textual's layout and rendering.  worker: the feed's "
          "correlator thread.  process: all threads.")


if __name__ == "__main__":
    main()
