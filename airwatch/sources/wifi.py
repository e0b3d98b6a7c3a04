"""Live Wi-Fi: a monitor-mode interface read through a packet socket, with channel hopping.

:class:`WifiCapture` checks the interface (``/sys/class/net/<if>/type`` must be 803, radiotap
monitor), opens scapy's ``L2ListenSocket`` on it (an ``AF_PACKET`` raw socket: CAP_NET_RAW) and
hands each frame's raw bytes, radiotap header first (LINKTYPE 127), to the same
:class:`~airwatch.decoders.frames.FrameDecoder` as the capture files: scapy never dissects a
frame on this path.  Meanwhile a :class:`~airwatch.sources.channels.ChannelHopper` task tunes
the interface with ``iw`` (CAP_NET_ADMIN).

An interface that is missing, not in monitor mode, or that disappears or leaves monitor mode
mid-capture sets the health to ``down`` with a message saying what to do, and the capture is
tried again after ``retry_s``.  The socket opener, the command runner and the sysfs folder are
injectable, so all of this is tested without a radio.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import select
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from airwatch.contact import Contact
from airwatch.decoders.signatures import SignatureMatcher
from airwatch.decoders.wifi import LINKTYPE_IEEE802_11_RADIOTAP
from airwatch.frame import Frame
from airwatch.sources.capture import POLL_S, DeviceError, LiveCapture, device_problem, os_error_text
from airwatch.sources.channels import ChannelHopper, ChannelPlan, Runner, run_command
from airwatch.sources.settings import WifiSource

SYSFS_NET = "/sys/class/net"
ARPHRD_IEEE80211_RADIOTAP = 803
ARPHRD_NAMES = {1: "Ethernet / managed Wi-Fi", 772: "loopback", 801: "802.11 without radiotap",
                802: "Prism header monitor"}
#: Seconds between two checks that the interface is still there and in monitor mode.
RECHECK_S = 2.0
RECV_SIZE = 65535


class PacketSocket(Protocol):
    def recv(self, timeout: float) -> tuple[bytes, float | None] | None:
        """The next frame and its kernel timestamp, or None after ``timeout`` seconds."""

    def close(self) -> None: ...


class ScapyListenSocket:
    """scapy's ``L2ListenSocket`` (AF_PACKET, every protocol) on one interface, raw bytes only."""

    def __init__(self, interface: str) -> None:
        from scapy.arch.linux import L2ListenSocket

        try:
            self._sock = L2ListenSocket(iface=interface, promisc=False)
        except ValueError as e:  # scapy's "Interface 'x' not found !" (after reloading its list)
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV), interface) from e
        self._fd = self._sock.fileno()

    def recv(self, timeout: float) -> tuple[bytes, float | None] | None:
        if not select.select([self._fd], [], [], timeout)[0]:
            return None
        _cls, data, ts = self._sock.recv_raw(RECV_SIZE)
        if data is None:  # an outgoing frame scapy filtered
            return None
        return data, ts

    def close(self) -> None:
        self._sock.close()


def interface_problem(interface: str, sysfs: str | os.PathLike[str] = SYSFS_NET) -> str | None:
    """What is wrong with ``interface`` for capture, or None if it is a radiotap monitor."""
    path = Path(sysfs) / interface
    try:
        kind = int((path / "type").read_text().strip())
    except FileNotFoundError:
        return (f"interface {interface} not found (iw dev lists the Wi-Fi interfaces; "
                "see docs/sensor-raspberry-pi.md to make a monitor interface)")
    except (OSError, ValueError) as e:
        return f"cannot read {path / 'type'}: {e}"
    if kind != ARPHRD_IEEE80211_RADIOTAP:
        what = ARPHRD_NAMES.get(kind, f"type {kind}")
        return (f"{interface} is not in monitor mode ({what}, need {ARPHRD_IEEE80211_RADIOTAP} radiotap "
                f"monitor): ip link set {interface} down && iw dev {interface} set type monitor && "
                f"ip link set {interface} up")
    try:
        state = (path / "operstate").read_text().strip()
    except OSError:
        return None
    if state == "down":
        return f"{interface} is down: ip link set {interface} up"
    return None


class WifiCapture(LiveCapture):
    kind = "wifi"

    def __init__(self, source: WifiSource, sensor_id: str | None = None, *, name: str | None = None,
                 signatures: SignatureMatcher | None = None,
                 open_socket: Callable[[str], PacketSocket] = ScapyListenSocket,
                 runner: Runner = run_command, sleep: Callable[[float], object] = asyncio.sleep,
                 sysfs: str | os.PathLike[str] = SYSFS_NET, **kwargs: object) -> None:
        super().__init__(name or source.name or source.interface, sensor_id, retry_s=source.retry_s,
                         signatures=signatures, **kwargs)  # type: ignore[arg-type]
        self.source = source
        self.interface = source.interface
        self.plan = ChannelPlan.from_settings(source)
        self.open_socket = open_socket
        self.runner = runner
        self.hop_sleep = sleep
        self.sysfs = sysfs
        self.hopper: ChannelHopper | None = None
        self.channel: int | None = None
        self.recheck_s = RECHECK_S

    def describe_ok(self) -> str:
        hopper = self.hopper
        where = f"channel {self.channel}" if self.channel is not None else "channel not set yet"
        if hopper is not None and hopper.hop and not hopper.problem:
            where += f", hopping {len(self.plan.channels) - len(hopper.dropped)} channels"
        if hopper is not None and hopper.problem:
            where += f"; {hopper.problem}"
        return where

    def _tuned(self, channel: int) -> None:
        self.channel = channel
        if self.health.status == "ok":
            self.health.detail = self.describe_ok()

    def annotate(self, contacts: list[Contact]) -> None:
        channel = self.channel
        if channel is not None:
            for c in contacts:
                if c.channel is None:
                    c.channel = channel

    def check_interface(self) -> None:
        problem = interface_problem(self.interface, self.sysfs)
        if problem is not None:
            raise DeviceError(problem)

    async def attempt(self) -> bool:
        self.check_interface()
        self.waiting(f"opening {self.interface}")
        self.hopper = ChannelHopper(self.interface, self.plan, hop=self.source.hop, runner=self.runner,
                                    sleep=self.hop_sleep, on_change=self._tuned)  # type: ignore[arg-type]
        await self.hopper.start()  # on the first channel before the first frame
        hopping = asyncio.create_task(self.hopper.run(), name=f"{self.interface} channel hopper")
        try:
            await self.in_thread(self._capture)
        finally:
            hopping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await hopping
        return False

    def _capture(self) -> None:
        """The capture thread: open, read until stopped or the interface goes away."""
        iface = self.interface
        try:
            sock = self.open_socket(iface)
        except OSError as e:
            what = os_error_text(e)
            raise DeviceError(device_problem(e, iface, f"interface {iface} not found ({what})")
                              or f"cannot capture on {iface}: {what}") from e
        try:
            self.waiting(f"listening on {iface}")
            recv, frame, check_stop = sock.recv, self.frame, self.check_stop
            wall = time.time
            next_check = time.monotonic() + self.recheck_s
            while True:
                check_stop()
                try:
                    got = recv(POLL_S)
                except OSError as e:
                    problem = interface_problem(iface, self.sysfs)
                    what = f"{iface} went away ({os_error_text(e)})"
                    raise DeviceError(f"{what}: {problem}" if problem else what) from e
                if got is not None:
                    data, ts = got
                    frame(Frame(ts or wall(), LINKTYPE_IEEE802_11_RADIOTAP, data, self.frames + 1, self.name))
                if time.monotonic() >= next_check:
                    self.check_interface()  # gone, or taken out of monitor mode
                    next_check = time.monotonic() + self.recheck_s
        finally:
            sock.close()
