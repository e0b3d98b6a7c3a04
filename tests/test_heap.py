"""The garbage-collector settings of long-running processes (airwatch/heap.py)."""

from __future__ import annotations

import gc
import subprocess
import sys

from airwatch.heap import YOUNG_THRESHOLD, tune_gc


def test_tune_gc_raises_the_young_threshold_and_freezes_start_up() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == (YOUNG_THRESHOLD, before[1], before[2])
        assert gc.isenabled() and gc.get_freeze_count() > 0
        # cyclic garbage made after start-up is still collected
        collected: list[int] = []

        class Node:
            def __del__(self) -> None:
                collected.append(1)

        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
        del a, b
        gc.collect()
        assert len(collected) == 2
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_long_running_commands_tune_the_collector(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`airwatch correlate`, `airwatch sensor`, `tui.py` and `airwatch monitor` call tune_gc()
    before they start (checked on the real entry points, stopped right after the call)."""
    probe = (
        "import gc, sys, airwatch.heap as heap\n"
        "def stop():\n"
        "    raise SystemExit(f'tuned {gc.get_threshold()[0]}')\n"
        "heap.tune_gc = stop\n"
        "import airwatch.console.cli as ccli; ccli.tune_gc = stop\n"
        "from airwatch.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    site = tmp_path / "site.toml"
    site.write_text('[[sources]]\ntype = "replay"\ninputs = ["captures/demo_scenario.adsb.csv"]\n')
    for args in (["correlate", "--config", "config.toml"], ["sensor", "--config", "config.toml"],
                 ["tui", "--demo"], ["monitor", "--config", str(site), "--db", f"sqlite:///{tmp_path}/m.db"]):
        out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60)
        assert "tuned" in out.stderr, (args, out.stderr[-2000:])
