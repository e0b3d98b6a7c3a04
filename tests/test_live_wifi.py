"""Wi-Fi capture without a radio: the channel plan, the iw commands it issues (injected runner and
clock), frames from an injected socket, interface errors, and the real packet socket on loopback."""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
import time

import pytest
from live_helpers import DRONE, beacon_frames, rid_pack, scripted, stop, until

from airwatch.contact import Transport
from airwatch.encoders import wifi as wenc
from airwatch.sources.capture import CAP_NET_RAW, NEEDS_CAP_NET_RAW, capabilities
from airwatch.decoders.wifi import frequency_mhz
from airwatch.sources.channels import ChannelHopper, ChannelPlan, Hop, iw_set_channel, run_command
from airwatch.sources.settings import WifiSource
from airwatch.sources.wifi import WifiCapture, interface_problem

# --- the plan ---------------------------------------------------------------------------------------


def test_default_plan_visits_6_and_149_between_the_others():
    plan = ChannelPlan()
    cycle = plan.cycle()
    assert [h.channel for h in cycle[:9]] == [6, 149, 1, 6, 149, 11, 6, 149, 36]
    assert [h.channel for h in cycle[2::3]] == [1, 11, 36, 40, 44, 48, 153, 157, 161, 165]
    assert {h.dwell_s for h in cycle if h.channel in (6, 149)} == {0.5}
    assert {h.dwell_s for h in cycle if h.channel not in (6, 149)} == {0.2}
    assert plan.channels == (6, 149, 1, 11, 36, 40, 44, 48, 153, 157, 161, 165)


def test_plans_from_settings_and_degenerate_plans():
    source = WifiSource(interface="mon0", priority_channels=(6,), channels=(1, 11), priority_dwell_s=1.0, dwell_s=0.1)
    assert ChannelPlan.from_settings(source).cycle() == [Hop(6, 1.0), Hop(1, 0.1), Hop(6, 1.0), Hop(11, 0.1)]
    assert ChannelPlan((6, 149), ()).cycle() == [Hop(6, 0.5), Hop(149, 0.5)]
    assert ChannelPlan((), (1, 6)).cycle() == [Hop(1, 0.2), Hop(6, 0.2)]
    assert ChannelPlan((6, 149), (1,)).without(149).cycle() == [Hop(6, 0.5), Hop(1, 0.2)]
    hops = ChannelPlan((6,), (1,)).hops()
    assert [next(hops).channel for _ in range(5)] == [6, 1, 6, 1, 6]
    assert list(ChannelPlan((), ()).hops()) == []


def test_frequencies_and_the_iw_command():
    assert [frequency_mhz(c) for c in (1, 6, 13, 14, 36, 149, 165, 0, 15, 200)] == [
        2412, 2437, 2472, 2484, 5180, 5745, 5825, None, None, None]
    assert iw_set_channel("mon0", 149) == ["iw", "dev", "mon0", "set", "channel", "149"]


# --- the hopper: exact commands and dwell times on an injected clock ----------------------------


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Enough(Exception):
    pass


def fake_io(clock: Clock, answers: dict[int, tuple[int, str]] | None = None, sleeps: int = 1000):
    """A runner that records (time, argv) and answers from ``answers`` (default success), and a
    sleep that advances ``clock`` and stops the hopper after ``sleeps`` dwells."""
    commands: list[tuple[float, list[str]]] = []
    dwells: list[float] = []

    async def runner(argv):
        commands.append((clock.t, list(argv)))
        await asyncio.sleep(0)
        return (answers or {}).get(int(argv[-1]), (0, ""))

    async def sleep(s):
        dwells.append(s)
        clock.t += s
        if len(dwells) >= sleeps:
            raise Enough
        await asyncio.sleep(0)

    return runner, sleep, commands, dwells


async def test_hopper_issues_the_exact_iw_commands_with_their_dwells():
    clock = Clock()
    runner, sleep, commands, dwells = fake_io(clock, sleeps=32)
    seen = []
    hopper = ChannelHopper("mon0", ChannelPlan(), runner=runner, sleep=sleep, on_change=seen.append)
    with pytest.raises(Enough):
        await hopper.run()
    expected = []
    t = 0.0
    cycle = ChannelPlan().cycle()
    for hop in (cycle + cycle)[:32]:
        expected.append((pytest.approx(t), ["iw", "dev", "mon0", "set", "channel", str(hop.channel)]))
        t += hop.dwell_s
    assert commands == expected
    assert dwells == [h.dwell_s for h in (cycle + cycle)[:32]]
    assert sum(dwells[:30]) == pytest.approx(12.0)  # one full cycle: 10 x (0.5 + 0.5 + 0.2)
    assert seen[:4] == [6, 149, 1, 6] and hopper.current == seen[-1] and hopper.problem is None


async def test_a_refused_channel_is_left_out_without_dwelling_on_it():
    clock = Clock()
    refused = (1, "command failed: Invalid argument (-22)")
    runner, sleep, commands, dwells = fake_io(clock, {149: refused}, sleeps=40)
    hopper = ChannelHopper("wlan1", ChannelPlan((6, 149), (1, 11)), runner=runner, sleep=sleep)
    with pytest.raises(Enough):
        await hopper.run()
    channels_tried = [int(argv[-1]) for _, argv in commands]
    assert channels_tried[:9] == [6, 149, 1, 6, 149, 11, 6, 149, 6]  # third refusal: a new cycle without it
    assert channels_tried.count(149) == 3 and 149 not in channels_tried[9:]
    assert hopper.dropped == [149]
    assert hopper.problem == "channel 149 left out of the plan: command failed: Invalid argument (-22)"
    # no time spent on a refused channel: each command comes exactly one dwell after the last success
    times = [t for t, argv in commands if argv[-1] != "149"]
    assert [round(b - a, 6) for a, b in zip(times, times[1:])][:4] == [0.5, 0.2, 0.5, 0.2]


async def test_every_channel_refused_or_iw_missing_stops_hopping_with_a_message():
    clock = Clock()
    runner, sleep, commands, _ = fake_io(clock, {6: (237, "No such device (-19)"), 1: (237, "No such device (-19)")})
    hopper = ChannelHopper("wlan1", ChannelPlan((6,), (1,)), runner=runner, sleep=sleep)
    await hopper.run()  # returns
    assert hopper.dropped == [6, 1] and "refused every channel" in hopper.problem

    async def no_iw(argv):
        raise FileNotFoundError(2, "No such file or directory", argv[0])

    hopper = ChannelHopper("wlan1", ChannelPlan(), runner=no_iw, sleep=sleep)
    await hopper.run()
    assert hopper.problem == "iw not found (apt install iw): not hopping, wlan1 stays on its channel"


async def test_without_hopping_the_interface_is_tuned_once():
    clock = Clock()
    runner, sleep, commands, dwells = fake_io(clock)
    hopper = ChannelHopper("wlan1", ChannelPlan((149, 6), (1,)), hop=False, runner=runner, sleep=sleep)
    await hopper.run()
    assert commands == [(0.0, ["iw", "dev", "wlan1", "set", "channel", "149"])] and dwells == []


async def test_the_real_command_runner():
    assert await run_command(["true"]) == (0, "")
    assert await run_command(["sh", "-c", "echo 'command failed: Device or resource busy (-16)' >&2; exit 240"]) == (
        240, "command failed: Device or resource busy (-16)")
    with pytest.raises(FileNotFoundError):
        await run_command(["airwatch-no-such-command"])


# --- the capture, with injected sockets --------------------------------------------------------


def sysfs_with(tmp_path, name: str, kind: int, operstate: str = "unknown"):
    d = tmp_path / "net" / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "type").write_text(f"{kind}\n")
    (d / "operstate").write_text(f"{operstate}\n")
    return tmp_path / "net"


class FakeSocket:
    """Frames (or exceptions) handed out one per recv, then silence."""

    def __init__(self, items) -> None:
        self.items = list(items)
        self.closed = False
        self.lock = threading.Lock()

    def recv(self, timeout: float):
        with self.lock:
            item = self.items.pop(0) if self.items else None
        if item is None:
            time.sleep(min(timeout, 0.01))
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self.closed = True


def no_channel_radiotap(mpdu: bytes) -> bytes:
    """A radiotap header with no field at all (some drivers give no channel)."""
    return bytes((0, 0, 8, 0, 0, 0, 0, 0)) + mpdu


def capture(tmp_path, sockets, interface="wlan9", hop=True, **kwargs):
    open_socket, opened = scripted(sockets)
    runner, _, commands, _ = fake_io(Clock())  # real dwells: the hopper runs beside the capture
    source = WifiSource(interface=interface, retry_s=0.05, hop=hop)
    cap = WifiCapture(source, "north-2", open_socket=open_socket, runner=runner,
                      sysfs=kwargs.pop("sysfs", None) or sysfs_with(tmp_path, interface, 803), **kwargs)
    return cap, opened, commands


async def test_frames_flow_from_a_monitor_interface(tmp_path):
    frames = beacon_frames(5, channel=149, signal_dbm=-48)
    plain = wenc.odid_beacon(DRONE, rid_pack("NOCHANNEL01"), 99)
    sock = FakeSocket([(data, 1_800_000_000.0 + i) for i, (_, data) in enumerate(frames)]
                      + [(no_channel_radiotap(plain), None)])
    cap, opened, commands = capture(tmp_path, [sock])
    got = []
    task = asyncio.create_task(cap.run(got.append))
    await until(lambda: len(got) == 6, "six contacts")
    c = got[0]
    assert c.transport is Transport.WIFI_BEACON and c.sensor_id == "north-2" and c.source == "wlan9"
    assert c.time == 1_800_000_000.0 and c.channel == 149 and c.rssi_dbm == -48  # kernel time, radiotap
    assert got[5].basic_ids[0].uas_id == "NOCHANNEL01"
    assert got[5].channel in (6, 149, 1) and abs(got[5].time - time.time()) < 3600  # the hopper's; wall clock
    assert cap.health.status == "ok" and cap.health.messages == 6 and cap.health.contacts == 6
    assert cap.health.detail.startswith("channel ") and "hopping 12 channels" in cap.health.detail
    assert opened == ["wlan9"] and commands[0][1] == ["iw", "dev", "wlan9", "set", "channel", "6"]
    await stop(task)
    assert sock.closed and cap.health.status == "stopped"


async def test_a_missing_interface_is_retried_with_a_clear_message(tmp_path):
    cap = WifiCapture(WifiSource(interface="airwatch-nope0", retry_s=0.05), "s")  # the real /sys/class/net
    task = asyncio.create_task(cap.run(lambda c: None))
    await until(lambda: cap.health.errors >= 3, "three attempts")
    assert cap.health.status == "down"
    assert cap.health.detail.startswith("interface airwatch-nope0 not found (iw dev lists the Wi-Fi interfaces")
    assert cap.health.detail.endswith("; retrying in 0.05 s")
    await stop(task)


async def test_an_interface_not_in_monitor_mode(tmp_path):
    sysfs = sysfs_with(tmp_path, "wlan0", 1)
    assert interface_problem("wlan0", sysfs) == (
        "wlan0 is not in monitor mode (Ethernet / managed Wi-Fi, need 803 radiotap monitor): "
        "ip link set wlan0 down && iw dev wlan0 set type monitor && ip link set wlan0 up")
    down = sysfs_with(tmp_path, "wlan0", 803, "down")
    assert interface_problem("wlan0", down) == "wlan0 is down: ip link set wlan0 up"
    assert interface_problem("wlan0", sysfs_with(tmp_path, "wlan0", 803, "up")) is None
    cap, opened, commands = capture(tmp_path, [], interface="wlan0", sysfs=sysfs_with(tmp_path, "wlan0", 1))
    task = asyncio.create_task(cap.run(lambda c: None))
    await until(lambda: cap.health.errors >= 2, "two attempts")
    assert cap.health.status == "down" and "not in monitor mode" in cap.health.detail
    assert opened == [] and commands == []  # nothing opened, no channel set
    await stop(task)


async def test_an_interface_that_disappears_mid_capture_comes_back(tmp_path):
    sysfs = sysfs_with(tmp_path, "wlan9", 803)
    (_, first), (_, second) = beacon_frames(2)

    class Vanishing(FakeSocket):
        def recv(self, timeout):
            item = super().recv(timeout)
            if item is not None and item[0] == first:
                (sysfs / "wlan9" / "type").unlink()  # the dongle was pulled out
            return item

    gone = OSError(errno.ENETDOWN, "Network is down")
    vanishing, replugged = Vanishing([(first, None), gone]), FakeSocket([(second, None)])
    cap, opened, _ = capture(tmp_path, [vanishing, replugged], sysfs=sysfs)
    got = []
    task = asyncio.create_task(cap.run(got.append))
    await until(lambda: cap.health.status == "down", "down once the interface is gone")
    assert cap.health.detail.startswith("wlan9 went away (Network is down): interface wlan9 not found")
    assert len(got) == 1 and vanishing.closed
    await until(lambda: cap.health.errors >= 2, "a retry while it is missing")
    assert opened == ["wlan9"]
    (sysfs / "wlan9" / "type").write_text("803\n")  # plugged back in
    await until(lambda: len(got) == 2, "frames again")
    assert cap.health.status == "ok" and opened == ["wlan9", "wlan9"]
    await stop(task)


async def test_an_interface_taken_out_of_monitor_mode_is_noticed(tmp_path):
    sysfs = sysfs_with(tmp_path, "wlan9", 803)
    cap, opened, _ = capture(tmp_path, [FakeSocket([])], sysfs=sysfs)
    cap.recheck_s = 0.05
    task = asyncio.create_task(cap.run(lambda c: None))
    await until(lambda: cap.health.detail == "listening on wlan9", "listening")
    (sysfs / "wlan9" / "type").write_text("1\n")  # NetworkManager took it back
    await until(lambda: cap.health.status == "down", "down")
    assert "wlan9 is not in monitor mode" in cap.health.detail
    await stop(task)


async def test_no_permission_to_open_the_socket(tmp_path):
    denied = PermissionError(errno.EPERM, "Operation not permitted")
    cap, opened, _ = capture(tmp_path, [denied, denied, denied, FakeSocket([(beacon_frames(1)[0][1], None)])])
    got = []
    task = asyncio.create_task(cap.run(got.append))
    await until(lambda: cap.health.errors >= 1, "the refusal")
    assert cap.health.status == "down"
    assert cap.health.detail == "wlan9: needs CAP_NET_RAW (see docs/sensor-raspberry-pi.md); retrying in 0.05 s"
    await until(lambda: len(got) == 1, "capture once allowed")  # the capability was granted
    assert len(opened) == 4
    await stop(task)


async def test_the_real_packet_socket(tmp_path):
    """scapy's L2ListenSocket for real: on an interface that does not exist, then on loopback
    (sysfs faked to call it a monitor interface).  Without CAP_NET_RAW both say so instead."""
    privileged = CAP_NET_RAW in (capabilities() or set())
    sysfs = sysfs_with(tmp_path, "awnope0", 803)
    cap = WifiCapture(WifiSource(interface="awnope0", retry_s=0.05, hop=False), "s", sysfs=sysfs,
                      runner=fake_io(Clock())[0])
    task = asyncio.create_task(cap.run(lambda c: None))
    await until(lambda: cap.health.status == "down", "down")
    expected = "interface awnope0 not found (No such device)" if privileged else f"awnope0: {NEEDS_CAP_NET_RAW}"
    assert cap.health.detail == f"{expected}; retrying in 0.05 s"
    await stop(task)

    sysfs = sysfs_with(tmp_path, "lo", 803)
    cap = WifiCapture(WifiSource(interface="lo", retry_s=0.05, hop=False), "s", sysfs=sysfs,
                      runner=fake_io(Clock())[0])
    task = asyncio.create_task(cap.run(lambda c: None))
    if privileged:
        await until(lambda: cap.health.detail == "listening on lo" or cap.health.status == "ok", "the socket")
        before = cap.health.messages
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(3):
                s.sendto(b"not radiotap", ("127.0.0.1", 9))
        await until(lambda: cap.health.messages >= before + 3, "loopback frames through the real socket")
        assert cap.health.status == "ok" and cap.decoder.frames >= 3
    else:
        await until(lambda: cap.health.status == "down", "down")
        assert NEEDS_CAP_NET_RAW in cap.health.detail
    await stop(task)


async def test_started_hopper_dwells_first_then_hops():
    clock = Clock()
    runner, sleep, commands, dwells = fake_io(clock, sleeps=4)
    hopper = ChannelHopper("mon0", ChannelPlan((6, 149), (1,)), runner=runner, sleep=sleep)
    assert await hopper.start() is True and hopper.current == 6
    with pytest.raises(Enough):
        await hopper.run()
    assert [(t, argv[-1]) for t, argv in commands] == [(0.0, "6"), (0.5, "149"), (1.0, "1"), (1.2, "6")]
    assert dwells == [0.5, 0.5, 0.2, 0.5]
