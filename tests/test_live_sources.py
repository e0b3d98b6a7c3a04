"""open_source for every [[sources]] type, the ADS-B feed as a live source, the replay runner,
describe() diagnostics and the self-test command (python -m airwatch.sources.live)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from live_helpers import T0, beacon_frames, pcap_bytes, stop, until

from airwatch.config import settings_from_dict
from airwatch.contact import Transport
from airwatch.encoders import adsb as aenc
from airwatch.encoders import wifi as wenc
from airwatch.frame import Frame
from airwatch.encoders.pcap import write_pcap
from airwatch.inputs import InputOptions
from airwatch.sources.adsb_feed import AdsbFeed
from airwatch.sources.beast import encode_frame
from airwatch.sources.hci import BluetoothCapture
from airwatch.sources.live import AdsbLive, LiveSource, ReplayRunner, describe, main, open_source
from airwatch.sources.pcap_stream import PcapStream
from airwatch.sources.settings import AdsbSource, ReplaySource
from airwatch.sources.wifi import WifiCapture

ROOT = Path(__file__).resolve().parent.parent

CONFIG = {
    "sensor": {"id": "gate-2", "lat": 46.2, "lon": 6.1},
    "signatures": [{"id": "test-rule", "maker": "Test", "model": "Drone", "ssid": "TESTDRONE-"}],
    "sources": [
        {"type": "wifi", "interface": "wlan1", "channels": [1, 11], "dwell_s": 0.3},
        {"type": "bluetooth", "adapter": "hci0", "name": "ble north"},
        {"type": "pcap", "path": "-"},
        {"type": "adsb", "host": "127.0.0.1", "port": 1, "format": "avr"},
        {"type": "replay", "inputs": ["a.pcap", "b.csv"], "speed": 4.0},
    ],
}


def test_open_source_for_every_type():
    settings = settings_from_dict(CONFIG)
    wifi, ble, pcap, adsb, replay = (open_source(s, settings) for s in settings.sources)
    for source in (wifi, ble, pcap, adsb, replay):
        assert isinstance(source, LiveSource)
        assert source.health.status == "starting" and source.health.name == source.name
        assert source.health.sensor_id == "gate-2"
    assert isinstance(wifi, WifiCapture) and wifi.name == "wlan1" and wifi.health.kind == "wifi"
    assert [h.channel for h in wifi.plan.cycle()[:3]] == [6, 149, 1] and wifi.plan.dwell_s == 0.3
    assert isinstance(ble, BluetoothCapture) and ble.name == "ble north" and ble.health.kind == "bluetooth"
    assert isinstance(pcap, PcapStream) and pcap.name == "stdin" and pcap.health.kind == "pcap"
    assert isinstance(adsb, AdsbLive) and adsb.name == "adsb 127.0.0.1:1" and adsb.feed.fmt == "avr"
    assert adsb.decoder.table.receiver == (46.2, 6.1) and adsb.decoder.sensor_id == "gate-2"
    assert isinstance(replay, ReplayRunner) and replay.options.receiver == (46.2, 6.1)
    assert replay.options.sensor_id == "gate-2" and replay.source.speed == 4.0
    # the configured signature rules reach the Wi-Fi decoder
    frame = wenc.radiotap_frame(wenc.beacon("12:34:56:78:9a:bc", [wenc.ssid_ie("TESTDRONE-7")]))
    (c,) = wifi.decoder.decode(Frame(T0, 127, frame, 1, "wlan1"))
    assert c.transport is Transport.WIFI_SIGNATURE and c.sensor_id == "gate-2"
    with pytest.raises(TypeError):
        open_source(object(), settings)  # type: ignore[arg-type]


# --- ADS-B -------------------------------------------------------------------------------------------


def beast_ident(icao: str, callsign: str) -> bytes:
    return encode_frame(0x33, 0, 200, aenc.extended_squitter(icao, aenc.ident_me(callsign)))


async def test_adsb_feed_as_a_live_source():
    connections = []

    async def handle(reader, writer):
        connections.append(writer)
        if len(connections) == 1:
            writer.write(beast_ident("4840d6", "KLM1023") + beast_ident("3c6586", "DLH4AB"))
            await writer.drain()
            writer.close()  # the receiver restarts
            return
        writer.write(beast_ident("4840d6", "KLM1023"))
        await writer.drain()
        await asyncio.sleep(60)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    feed = AdsbFeed("127.0.0.1", port, backoff_initial=0.3)
    live = AdsbLive(AdsbSource(port=port), "gate-2", name="adsb local", feed=feed, sync_s=0.02)
    got = []
    task = asyncio.create_task(live.run(got.append))
    await until(lambda: len(got) >= 2, "two aircraft")
    assert {c.aircraft.icao.lower() for c in got} == {"4840d6", "3c6586"}
    assert all(c.transport is Transport.ADSB and c.sensor_id == "gate-2" and c.source == "adsb local" for c in got)
    await until(lambda: live.health.status == "down", "down while the receiver restarts")
    assert live.health.detail.startswith(f"127.0.0.1:{port}: closed by the server; retrying")
    await until(lambda: live.health.status == "ok" and len(connections) == 2, "connected again")
    assert live.health.detail == f"connected to 127.0.0.1:{port} (beast)"
    await until(lambda: live.health.messages == 3, "three messages")
    assert live.health.errors == 1 and live.health.contacts == len(got)
    live.stale_after_s = 0.2
    await until(lambda: live.health.status == "stale", "stale when the aircraft go quiet")
    assert "no message for 0.2 s" in live.health.detail
    await stop(task)
    assert live.health.status == "stopped"
    server.close()


async def test_adsb_feed_that_cannot_connect():
    with_nothing = AdsbFeed("127.0.0.1", 1, backoff_initial=0.05)
    live = AdsbLive(AdsbSource(port=1), feed=with_nothing, sync_s=0.02)
    task = asyncio.create_task(live.run(lambda c: None))
    await until(lambda: live.health.status == "down", "down")
    assert live.health.detail.startswith("127.0.0.1:1: connect:")
    await stop(task)


# --- replay -------------------------------------------------------------------------------------------


class PaceClock:
    def __init__(self) -> None:
        self.t = 100.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.t

    def wait(self, seconds: float) -> bool:
        self.waits.append(round(seconds, 6))
        self.t += seconds
        return False


async def test_replay_in_time_order_paced_by_an_injected_clock(tmp_path):
    a, b = tmp_path / "a.pcap", tmp_path / "b.pcap"
    write_pcap(a, beacon_frames(3, serial="AAAAAAAA", t0=T0), 127)  # T0, T0+0.1, T0+0.2
    write_pcap(b, beacon_frames(2, serial="BBBBBBBB", t0=T0 + 0.05), 127)  # T0+0.05, T0+0.15
    clock = PaceClock()
    runner = ReplayRunner(ReplaySource(inputs=(str(a), str(b)), speed=2.0), InputOptions(sensor_id="r1"),
                          clock=clock, wait=clock.wait)
    got = []
    await asyncio.wait_for(runner.run(got.append), 60)  # ends by itself
    assert [c.basic_ids[0].uas_id[0] for c in got] == ["A", "B", "A", "B", "A"]
    assert [round(c.time - T0, 3) for c in got] == [0.0, 0.05, 0.1, 0.15, 0.2]  # recorded times kept
    assert clock.waits == [0.025, 0.025, 0.025, 0.025]  # 0.05 s of capture at 2x
    assert all(c.sensor_id == "r1" for c in got)
    h = runner.health
    assert h.status == "stopped" and h.detail == "replay finished: 5 contacts" and h.messages == 5


async def test_replay_as_fast_as_possible_and_a_missing_input(tmp_path):
    a = tmp_path / "a.pcap"
    write_pcap(a, beacon_frames(1200), 127)
    runner = ReplayRunner(ReplaySource(inputs=(str(a), str(tmp_path / "gone.pcap"))))
    got = []
    await asyncio.wait_for(runner.run(got.append), 120)
    assert len(got) == 1200 and [c.counter for c in got] == [i % 256 for i in range(1200)]
    assert runner.health.status == "stopped" and runner.health.errors == 1
    assert runner.health.detail.startswith("replay finished: 1200 contacts; ") and "gone.pcap" in runner.health.detail


async def test_a_cancelled_replay_stops_its_thread(tmp_path):
    a = tmp_path / "a.pcap"
    write_pcap(a, beacon_frames(50), 127)
    runner = ReplayRunner(ReplaySource(inputs=(str(a),), speed=1.0))  # 5 s of capture, real pacing
    got = []
    task = asyncio.create_task(runner.run(got.append))
    await until(lambda: got, "the first contact")
    await stop(task)
    assert len(got) < 50 and runner.health.status == "stopped"


# --- diagnostics and the self-test command ----------------------------------------------------


def test_describe(tmp_path):
    net = tmp_path / "net"
    (net / "wlan1").mkdir(parents=True)
    (net / "wlan1" / "type").write_text("803\n")
    (net / "wlan1" / "operstate").write_text("up\n")
    fifo = tmp_path / "sniffle.pipe"
    os.mkfifo(fifo)
    status = tmp_path / "status"
    status.write_text("Name:\tpython3\nCapEff:\t0000000000001000\n")  # CAP_NET_ADMIN only
    settings = settings_from_dict({
        "sources": [
            {"type": "wifi", "interface": "wlan1"},
            {"type": "wifi", "interface": "wlan7"},
            {"type": "pcap", "path": str(fifo)},
            {"type": "pcap", "path": str(tmp_path / "nope.pipe")},
            {"type": "adsb", "host": "127.0.0.1", "port": 1},
            {"type": "replay", "inputs": [str(fifo), str(tmp_path / "x.csv")]},
        ]})
    lines = describe(settings, sysfs=str(net), status=str(status))
    assert lines[0] == "capabilities: missing CAP_NET_RAW (see docs/sensor-raspberry-pi.md)"
    assert lines[1].startswith("wifi wlan1: monitor-mode interface ready")
    assert lines[2].startswith("wifi wlan7: interface wlan7 not found")
    assert lines[3] == f"pcap {fifo}: named pipe"
    assert lines[4].startswith(f"pcap {tmp_path / 'nope.pipe'}: ") and "mkfifo" in lines[4]
    assert lines[5].startswith("adsb adsb 127.0.0.1:1: beast feed at 127.0.0.1:1:")
    assert lines[6] == f"replay replay: missing input(s): {tmp_path / 'x.csv'}"
    assert describe(settings_from_dict({})) == ["no [[sources]] configured"]


def test_self_test_check_and_bad_config(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[[sources]]\ntype = "pcap"\npath = "-"\n')
    assert main(["--config", str(config), "--check"]) == 0
    assert capsys.readouterr().out == "pcap stdin: standard input\n"
    config.write_text('[[sources]]\ntype = "wifi"\n')
    assert main(["--config", str(config)]) == 2
    assert "a wifi source needs interface" in capsys.readouterr().err
    config.write_text("")
    assert main(["--config", str(config)]) == 2


def test_standard_input_of_a_real_process(tmp_path):
    """`tcpdump -w - | python -m airwatch.sources.live --config c.toml`: JSON Lines, then exit at EOF."""
    config = tmp_path / "c.toml"
    config.write_text('[sensor]\nid = "pi-east"\n\n[[sources]]\ntype = "pcap"\npath = "-"\n')
    data = pcap_bytes(tmp_path, beacon_frames(6))
    proc = subprocess.run([sys.executable, "-m", "airwatch.sources.live", "--config", str(config), "--every", "0.2"],
                          input=data, capture_output=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = [orjson.loads(x) for x in proc.stdout.splitlines()]
    assert len(lines) == 6
    assert {x["sensor_id"] for x in lines} == {"pi-east"} and {x["source"] for x in lines} == {"stdin"}
    assert lines[0]["basic_ids"][0]["uas_id"] == "1581F6N8A23B2ML3Y3KR"
