"""The pcap-stream source end to end: a real named pipe with writer processes, and standard input."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from live_helpers import T0, beacon_frames, hci_split_events, pcap_bytes, pcapng_bytes, stop, until

from airwatch.contact import Transport
from airwatch.sources.pcap_stream import TRUNCATED, PcapStream
from airwatch.sources.settings import PcapSource

# A writer like tcpdump: opens the pipe (waiting for the reader), writes its capture in small
# pieces, then holds the pipe open until told to close it (its standard input closes).
WRITER = r"""
import sys, time
fifo, data_file, hold, piece = sys.argv[1], sys.argv[2], sys.argv[3] == "hold", int(sys.argv[4])
data = open(data_file, "rb").read()
with open(fifo, "wb", buffering=0) as out:
    for i in range(0, len(data), piece):
        out.write(data[i:i + piece])
        time.sleep(0.001)
    if hold:
        sys.stdin.read()
"""


def start_writer(fifo: Path, data: bytes, tmp: Path, hold: bool = False, piece: int = 100) -> subprocess.Popen:
    data_file = tmp / f"writer{len(list(tmp.iterdir()))}.bin"
    data_file.write_bytes(data)
    return subprocess.Popen([sys.executable, "-c", WRITER, str(fifo), str(data_file), "hold" if hold else "go",
                             str(piece)], stdin=subprocess.PIPE)


async def finished(proc: subprocess.Popen) -> int:
    """The writer's exit status, waited for off the event loop."""
    return await asyncio.to_thread(proc.wait, 60)


def stream(path: str, **kwargs) -> PcapStream:
    return PcapStream(PcapSource(path=path, retry_s=0.05), "north-1", **kwargs)


def on_a_pipe(tmp_path: Path, name: str) -> tuple[Path, Path, PcapStream, list, asyncio.Task]:
    """A named pipe, a folder for the writers' data, and a running source reading the pipe."""
    fifo = tmp_path / name
    os.mkfifo(fifo)
    data = tmp_path / "data"
    data.mkdir()
    source = stream(str(fifo))
    got: list = []
    return fifo, data, source, got, asyncio.create_task(source.run(got.append))


async def test_named_pipe_with_two_writers_one_cut_off(tmp_path):
    fifo, data, source, got, task = on_a_pipe(tmp_path, "sniffer.pipe")
    await until(lambda: "waiting for a writer" in source.health.detail, "the source to wait for a writer")
    assert source.health.status == "starting"

    # writer 1: Wi-Fi beacons in classic pcap, then it closes the pipe
    w1 = start_writer(fifo, pcap_bytes(data, beacon_frames(20)), data)
    await until(lambda: len(got) == 20, "20 contacts from the first writer")
    assert await finished(w1) == 0
    await until(lambda: source.writers == 1 and source.health.status == "down", "the first writer to be seen closing")
    assert source.health.detail in (f"the writer closed {fifo} after 20 frames; reopening in 0.05 s",
                                    f"waiting for a writer on {fifo} (the last one closed after 20 frames)")
    c = got[0]
    assert c.transport is Transport.WIFI_BEACON and c.sensor_id == "north-1" and c.source == str(fifo)
    assert c.time == pytest.approx(T0) and c.channel == 6 and c.rssi_dbm == -61  # the sniffer's time, radiotap
    assert c.basic_ids[0].uas_id == "1581F6N8A23B2ML3Y3KR" and [x.counter for x in got] == list(range(20))

    # writer 2: pcapng with Bluetooth HCI events (one report split over two) and a cut last record
    events = hci_split_events()
    ng = pcapng_bytes(data, [(T0 + 5, events[0], 187), (T0 + 5.001, events[1], 187),
                             (T0 + 6, beacon_frames(1, serial="SECONDWRITER")[0][1], 127)])
    w2 = start_writer(fifo, ng[:-10], data)
    await until(lambda: len(got) == 21, "the joined Bluetooth contact")
    await until(lambda: source.health.errors == 1, "the cut record to be counted")
    assert await finished(w2) == 0
    lr = got[20]
    assert lr.transport is Transport.BT5_LONG_RANGE and lr.self_id.description == "coded" and not lr.anomalies
    assert source.decoder.rejected[TRUNCATED] == 1 and source.frames == 20 + 2
    await until(lambda: source.health.status == "down", "down after the cut writer")
    assert "truncated" in source.health.detail

    # writer 3 holds the pipe open: frames flow, then silence makes the source stale
    source.stale_after_s, source.check_s = 0.3, 0.05
    w3 = start_writer(fifo, pcap_bytes(data, beacon_frames(3, serial="THIRDWRITER")), data, hold=True)
    await until(lambda: len(got) == 24, "the third writer's contacts")
    assert source.health.status in ("ok", "stale")
    await until(lambda: source.health.status == "stale", "stale after silence")
    assert "no frames for 0.3 s" in source.health.detail
    w3.stdin.close()
    assert await finished(w3) == 0
    await until(lambda: source.health.status == "down", "down once the third writer closed")

    assert source.health.contacts == 24 and source.health.messages == 25
    await stop(task)
    assert source.health.status == "stopped"
    await until(lambda: not [t for t in threading.enumerate() if t.name.startswith("airwatch pcap")],
                "the reader thread to end")


async def test_a_missing_pipe_is_waited_for(tmp_path):
    fifo = tmp_path / "later.pipe"
    source = stream(str(fifo))
    got = []
    task = asyncio.create_task(source.run(got.append))
    await until(lambda: source.health.status == "down", "down while the pipe is missing")
    assert f"{fifo} does not exist (mkfifo {fifo}" in source.health.detail
    assert "retrying in 0.05 s" in source.health.detail
    os.mkfifo(fifo)
    data = tmp_path / "d"
    data.mkdir()
    w = start_writer(fifo, pcap_bytes(data, beacon_frames(2)), data)
    await until(lambda: len(got) == 2, "contacts once the pipe exists")
    assert await finished(w) == 0
    await stop(task)


async def test_garbage_on_the_pipe_then_a_capture(tmp_path):
    fifo, data, source, got, task = on_a_pipe(tmp_path, "g.pipe")
    # one write, read whole: nothing of it is left in the pipe for the next writer
    assert await finished(start_writer(fifo, b"this is not a capture\n" * 10, data, piece=4096)) == 0
    await until(lambda: "(the last one broke off: " in source.health.detail, "the garbage to be reported")
    assert "not a pcap or pcapng file" in source.health.detail
    assert source.health.status == "down" and source.health.errors >= 1
    assert await finished(start_writer(fifo, pcap_bytes(data, beacon_frames(4)), data)) == 0
    await until(lambda: len(got) == 4, "the capture after the garbage")
    await stop(task)


async def test_cancel_while_waiting_for_a_writer_ends_the_thread(tmp_path):
    fifo = tmp_path / "idle.pipe"
    os.mkfifo(fifo)
    source = stream(str(fifo), name="idle")
    task = asyncio.create_task(source.run(lambda c: None))
    await until(lambda: "waiting for a writer" in source.health.detail, "waiting")
    await stop(task)
    assert not [t for t in threading.enumerate() if t.name == "airwatch pcap idle"]
    assert source.health.status == "stopped"


async def test_a_regular_file_is_read_once(tmp_path):
    path = tmp_path / "c.pcap"
    path.write_bytes(pcap_bytes(tmp_path, beacon_frames(5)))
    source = stream(str(path))
    got = []
    await asyncio.wait_for(source.run(got.append), 60)  # returns: nothing more will come
    assert len(got) == 5 and source.health.status == "stopped"
    assert source.health.detail == f"end of {path} after 5 frames"


async def test_standard_input_in_process(tmp_path):
    r, w = os.pipe()
    data = pcap_bytes(tmp_path, beacon_frames(7))
    source = PcapStream(PcapSource(path="-"), "s", stdin=os.fdopen(r, "rb"))
    assert source.name == "stdin"
    got = []
    task = asyncio.create_task(source.run(got.append))
    os.write(w, data[:50])  # the header and part of a record: nothing yet
    await until(lambda: source.health.detail == "reading standard input", "reading")
    os.write(w, data[50:])
    await until(lambda: len(got) == 7, "contacts from standard input")
    os.close(w)
    await asyncio.wait_for(task, 60)
    assert source.health.status == "stopped" and source.health.detail == "end of standard input after 7 frames"
