"""Live sources: what a sensor runs, one per ``[[sources]]`` table of ``config.toml``.

Every live source follows :class:`LiveSource`: a ``name``, a :class:`SourceHealth` it keeps up
to date, and ``run(emit)``, which captures until cancelled and calls ``emit`` (on the event
loop) with each contact.  Device problems (a missing interface, a permission, a writer gone)
never raise out of ``run``: they set the health to ``down`` with a message and the source tries
again after its ``retry_s``.  ``run`` returns by itself only when its input has ended for good
(standard input or a regular file read to its end, a replay finished); status ``stopped``.

:func:`open_source` makes the source for one settings object:

=========================  ==============================================================
``WifiSource``             :class:`~airwatch.sources.wifi.WifiCapture`: a monitor-mode
                           interface, channel hopping with ``iw``
``BluetoothSource``        :class:`~airwatch.sources.hci.BluetoothCapture`: LE scanning on a
                           Linux HCI adapter (legacy and extended, coded PHY)
``PcapSource``             :class:`~airwatch.sources.pcap_stream.PcapStream`: standard input,
                           a named pipe or a file
``AdsbSource``             :class:`AdsbLive`: a dump1090/readsb Beast, AVR or SBS feed
``ReplaySource``           :class:`ReplayRunner`: captures and recordings in time order,
                           optionally paced
=========================  ==============================================================

Contacts carry the sensor id, the source name and, for radios, the wall-clock receive time
(pcap streams and replays keep the time their input recorded).  ``python -m airwatch.sources.live
--config config.toml`` runs the configured sources and prints their contacts as JSON Lines and
their health on standard error: a sensor's self-test (``--check`` only prints :func:`describe`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from airwatch.config import Settings
from airwatch.contact import Contact
from airwatch.decoders.adsb import AdsbDecoder
from airwatch.decoders.adsb.sbs import SbsDecoder
from airwatch.inputs import InputOptions, InputReport, read_inputs
from airwatch.signature_rules import matcher_with
from airwatch.sources.adsb_feed import AdsbFeed, FeedState
from airwatch.sources.capture import CAP_NET_ADMIN, CAP_NET_RAW, STALE_AFTER_S, LiveCapture, capabilities
from airwatch.sources.health import SourceHealth
from airwatch.sources.hci import BluetoothCapture
from airwatch.sources.pcap_stream import PcapStream
from airwatch.sources.settings import (
    DEFAULT_PORTS,
    AdsbSource,
    BluetoothSource,
    PcapSource,
    ReplaySource,
    WifiSource,
    source_name,
)
from airwatch.sources.wifi import SYSFS_NET, WifiCapture, interface_problem

__all__ = ["AdsbLive", "LiveSource", "ReplayRunner", "describe", "open_source"]

AnySource = WifiSource | BluetoothSource | PcapSource | AdsbSource | ReplaySource


@runtime_checkable
class LiveSource(Protocol):
    name: str
    health: SourceHealth  # updated as it runs: status starting/ok/stale/down/stopped, detail, counts

    async def run(self, emit: Callable[[Contact], None]) -> None:
        """Runs until cancelled; device errors -> health + retry, never raised."""


def _receiver(settings: Settings) -> tuple[float, float] | None:
    s = settings.sensor
    return (s.lat, s.lon) if s.lat is not None and s.lon is not None else None


def open_source(source: AnySource, settings: Settings) -> LiveSource:
    """The live source for one ``[[sources]]`` table (nothing is opened before ``run``)."""
    if not isinstance(source, WifiSource | BluetoothSource | PcapSource | AdsbSource | ReplaySource):
        raise TypeError(f"not a source's settings: {source!r}")
    sensor_id = settings.sensor.id
    name = source_name(source)
    if isinstance(source, AdsbSource):
        return AdsbLive(source, sensor_id, name=name, receiver=_receiver(settings))
    signatures = matcher_with(list(settings.signatures))
    if isinstance(source, ReplaySource):
        options = InputOptions(sensor_id=sensor_id, receiver=_receiver(settings), start=source.start,
                               signatures=signatures)
        return ReplayRunner(source, options, name=name)
    if isinstance(source, WifiSource):
        return WifiCapture(source, sensor_id, name=name, signatures=signatures)
    if isinstance(source, BluetoothSource):
        return BluetoothCapture(source, sensor_id, name=name, signatures=signatures)
    return PcapStream(source, sensor_id, name=name, signatures=signatures)


# --- ADS-B feeds ----------------------------------------------------------------------------------

class AdsbLive:
    """An :class:`AdsbFeed` (reconnecting TCP client) as a live source.

    The feed's :class:`FeedState` is mapped onto the health record: connecting -> ``starting``,
    connected -> ``ok`` (``stale`` after ``stale_after_s`` without a message), reconnecting ->
    ``down`` with the last error and the backoff, stopped -> ``stopped``.
    """

    kind = "adsb"

    def __init__(self, source: AdsbSource, sensor_id: str | None = None, *, name: str | None = None,
                 receiver: tuple[float, float] | None = None, feed: AdsbFeed | None = None,
                 stale_after_s: float = STALE_AFTER_S, sync_s: float = 1.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.name = name or source_name(source)
        self.source = source
        self.feed = feed or AdsbFeed(source.host, source.port, fmt=source.format)
        decoder = SbsDecoder if self.feed.fmt == "sbs" else AdsbDecoder
        self.decoder: AdsbDecoder | SbsDecoder = decoder(receiver=receiver, sensor_id=sensor_id, source=self.name)
        self.health = SourceHealth(self.name, self.kind, sensor_id)
        self.stale_after_s = stale_after_s
        self.sync_s = sync_s
        self.clock = clock

    async def run(self, emit: Callable[[Contact], None]) -> None:
        syncing = asyncio.create_task(self._sync_every())
        try:
            async for contact in self.feed.contacts(self.decoder):
                self.health.contacts += 1
                self.sync()
                emit(contact)
        finally:
            self.feed.stop()
            syncing.cancel()
            self.sync()
            self.health.set("stopped", None, self.clock())

    async def _sync_every(self) -> None:
        while True:
            self.sync()
            await asyncio.sleep(self.sync_s)

    def sync(self) -> None:
        """Copy the feed's state into the health record."""
        st: FeedState = self.feed.state
        h = self.health
        where = f"{st.host}:{st.port}"
        h.messages = st.messages
        h.last_message = st.last_message_time
        h.errors = self.feed.counters["feed_disconnects"]
        now = self.clock()
        if st.status == "connected":
            quiet = st.seconds_since_message(now)
            if quiet is None and st.since is not None:  # connected, nothing yet
                quiet = now - st.since
            if quiet is not None and quiet > self.stale_after_s:
                h.set("stale", f"connected to {where} ({st.fmt}), no message for {self.stale_after_s:g} s", now)
            else:
                h.set("ok", f"connected to {where} ({st.fmt})", now)
        elif st.status == "reconnecting":
            retry = f"; retrying in {st.retry_in:.1f} s" if st.retry_in is not None else "; retrying"
            h.set("down", f"{where}: {st.last_error or 'disconnected'}{retry}", now)
        elif st.status == "stopped":
            h.set("stopped", None, now)
        else:  # idle, connecting
            h.set("starting", f"connecting to {where} ({st.fmt})", now)


# --- replay ---------------------------------------------------------------------------------------

class ReplayRunner(LiveCapture):
    """Captures and recordings through :func:`~airwatch.inputs.read_inputs`, in time order.

    The blocking reader runs in a thread; contacts reach ``emit`` in order, in batches.  With
    ``speed`` the replay is paced so capture time passes ``speed`` times faster than the wall
    clock (``clock`` and ``wait`` are injectable); without it, as fast as the consumer takes them.
    Contacts keep their recorded times.  The source ends (``stopped``) after the last input.
    """

    kind = "replay"
    BATCH = 512

    def __init__(self, source: ReplaySource, options: InputOptions | None = None, *, name: str | None = None,
                 clock: Callable[[], float] = time.monotonic, wait: Callable[[float], bool] | None = None,
                 **kwargs: Any) -> None:
        options = options or InputOptions()
        super().__init__(name or source.name or "replay", options.sensor_id, retry_s=1.0, **kwargs)
        self.source = source
        self.options = options
        self.pace_clock = clock
        self.wait = wait
        self.reports: list[InputReport] = []

    def describe_ok(self) -> str:
        speed = f" at {self.source.speed:g}x" if self.source.speed else ""
        return f"replaying {len(self.source.inputs)} input(s){speed}"

    async def attempt(self) -> bool:
        self.waiting(self.describe_ok())
        contacts, self.reports = read_inputs(list(self.source.inputs), self.options)
        await self.in_thread(lambda: self._replay(contacts))
        h = self.health
        h.messages = sum(r.frames for r in self.reports)
        errors = [r.error for r in self.reports if r.error]
        h.errors += len(errors)
        n = sum(r.contacts for r in self.reports)
        h.set("stopped", f"replay finished: {n} contacts" + (f"; {errors[0]}" if errors else ""), self.clock())
        return True

    def _replay(self, contacts: Iterator[Contact]) -> None:
        speed = self.source.speed
        wait = self.wait or self._stop.wait
        h = self.health
        batch: list[Contact] = []
        wall0 = capture0 = None
        for c in contacts:
            self.check_stop()
            if speed is not None:
                if wall0 is None:
                    wall0, capture0 = self.pace_clock(), c.time
                ahead = (c.time - capture0) / speed - (self.pace_clock() - wall0)
                if ahead > 0:
                    if batch:
                        self.deliver(batch)
                        batch = []
                    if wait(ahead):
                        return  # stopped while waiting
            h.count(1, 1, self.clock())
            if h.status != "ok":
                h.set("ok", self.describe_ok(), self.clock())
            batch.append(c)
            if len(batch) >= self.BATCH:
                self.deliver(batch)
                batch = []
        if batch:
            self.deliver(batch)


# --- diagnostics ------------------------------------------------------------------------------------

def describe(settings: Settings, *, sysfs: str = SYSFS_NET, status: str = "/proc/self/status") -> list[str]:
    """One line per configured source saying whether it can run here, and why not."""
    lines = []
    caps = capabilities(status)
    radios = any(isinstance(s, WifiSource | BluetoothSource) for s in settings.sources)
    if radios and caps is not None:
        missing = [n for n, bit in (("CAP_NET_RAW", CAP_NET_RAW), ("CAP_NET_ADMIN", CAP_NET_ADMIN)) if bit not in caps]
        if missing:
            lines.append(f"capabilities: missing {', '.join(missing)} (see docs/sensor-raspberry-pi.md)")
        else:
            lines.append("capabilities: CAP_NET_RAW and CAP_NET_ADMIN present")
    if not settings.sources:
        lines.append("no [[sources]] configured")
    for source in settings.sources:
        name = source_name(source)
        lines.append(f"{type(source).__name__.removesuffix('Source').lower()} {name}: {_check(source, sysfs)}")
    return lines


def _check(source: AnySource, sysfs: str) -> str:
    if isinstance(source, WifiSource):
        problem = interface_problem(source.interface, sysfs)
        iw = shutil.which("iw")
        hop = "" if not source.hop or iw else "; iw not found (apt install iw): no channel hopping"
        return (problem or "monitor-mode interface ready") + hop
    if isinstance(source, BluetoothSource):
        if not hasattr(socket, "AF_BLUETOOTH"):
            from airwatch.sources.hci import NO_AF_BLUETOOTH

            return NO_AF_BLUETOOTH
        if not Path(f"/sys/class/bluetooth/{source.adapter}").exists():
            return f"adapter {source.adapter} not found (hciconfig or btmgmt info lists the adapters)"
        return "adapter present" + ("" if source.extended else " (legacy scanning)")
    if isinstance(source, PcapSource):
        if source.path == "-":
            return "standard input"
        try:
            st = os.stat(source.path)
        except OSError as e:
            return f"{source.path}: {e.strerror or e} (mkfifo {source.path} to make a named pipe)"
        return "named pipe" if stat.S_ISFIFO(st.st_mode) else "file (read once)"
    if isinstance(source, AdsbSource):
        port = source.port or DEFAULT_PORTS[source.format]
        try:
            with socket.create_connection((source.host, port), timeout=2.0):
                return f"{source.format} feed at {source.host}:{port} accepts connections"
        except OSError as e:
            return f"{source.format} feed at {source.host}:{port}: {e.strerror or e} (the source keeps retrying)"
    missing = [i for i in source.inputs if i != "-" and not os.path.exists(i)]
    return f"missing input(s): {', '.join(missing)}" if missing else f"{len(source.inputs)} input(s)"


# --- self-test: python -m airwatch.sources.live ------------------------------------------------------

async def _run_all(sources: list[LiveSource], out: Any, every_s: float) -> None:
    from airwatch.sinks.jsonl import contact_json

    def emit(c: Contact) -> None:
        out.write(contact_json(c, raw=False))
        out.flush()

    async def report() -> None:
        while True:
            await asyncio.sleep(every_s)
            for s in sources:
                h = s.health
                print(f"{h.name}: {h.status} {h.messages} frames {h.contacts} contacts "
                      f"{h.rate():.0f}/s {h.detail}", file=sys.stderr)

    reporter = asyncio.create_task(report())
    try:
        await asyncio.gather(*(s.run(emit) for s in sources))
    finally:
        reporter.cancel()


def main(argv: list[str] | None = None) -> int:
    import argparse
    import logging

    from airwatch.config import ConfigError, load_settings

    parser = argparse.ArgumentParser(prog="python -m airwatch.sources.live",
                                     description="Run the configured live sources; contacts as JSON Lines.")
    parser.add_argument("--config", help="config.toml with [[sources]] tables")
    parser.add_argument("--check", action="store_true", help="only say whether each source can run here")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between health lines (stderr)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    try:
        settings = load_settings(args.config)
    except ConfigError as e:
        print(f"{parser.prog}: {e}", file=sys.stderr)
        return 2
    if args.check:
        for line in describe(settings):
            print(line)
        return 0
    if not settings.sources:
        print(f"{parser.prog}: no [[sources]] in the configuration", file=sys.stderr)
        return 2
    sources = [open_source(s, settings) for s in settings.sources]
    try:
        asyncio.run(_run_all(sources, sys.stdout.buffer, args.every))
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
