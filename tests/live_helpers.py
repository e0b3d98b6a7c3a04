"""Shared pieces of the live-source tests: frames with known contents, and polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from airwatch.contact import BasicID, Location, SelfID
from airwatch.encoders import bluetooth as ble
from airwatch.encoders import remoteid as rid
from airwatch.encoders import wifi
from airwatch.encoders.pcap import write_pcap, write_pcapng

T0 = 1_700_000_000.0
DRONE = "60:60:1f:71:93:3b"
LR_MAC = "e0:7d:ea:eb:2f:1c"


def rid_pack(serial: str, text: str = "live test") -> bytes:
    return rid.encode_pack([rid.encode_basic_id(BasicID(1, 2, serial)),
                            rid.encode_location(Location(lat=46.2, lon=6.1, alt_geodetic_m=420.0)),
                            rid.encode_self_id(SelfID(0, text))])


def beacon_frames(n: int, serial: str = "1581F6N8A23B2ML3Y3KR", channel: int = 6, t0: float = T0,
                  signal_dbm: int = -61) -> list[tuple[float, bytes]]:
    """``n`` radiotap Remote ID beacons (LINKTYPE 127), 0.1 s apart."""
    pack = rid_pack(serial)
    return [(t0 + i / 10, wifi.radiotap_frame(wifi.odid_beacon(DRONE, pack, i, ssid="RID-test", seq=i),
                                              channel=channel, signal_dbm=signal_dbm))
            for i in range(n)]


def hci_split_events(serial: str = "LONGRANGE0001") -> list[bytes]:
    """A BT5 pack padded to 9 slots: a controller hands it over in two HCI events."""
    return ble.hci_le_ext_adv_reports(LR_MAC, ble.bt5_advdata(rid_pack(serial, "coded"), 3, pad_slots=9))


def pcap_bytes(tmp: Path, frames: list[tuple[float, bytes]], linktype: int = 127) -> bytes:
    path = tmp / f"f{len(list(tmp.iterdir()))}.pcap"
    write_pcap(path, frames, linktype)
    return path.read_bytes()


def pcapng_bytes(tmp: Path, frames: list[tuple[float, bytes, int]]) -> bytes:
    path = tmp / f"f{len(list(tmp.iterdir()))}.pcapng"
    write_pcapng(path, frames)
    return path.read_bytes()


async def until(condition: Callable[[], object], what: str = "condition", timeout: float = 30.0) -> None:
    """Poll ``condition`` (generous timeout: this is no timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def scripted(items: list) -> tuple[Callable[[object], object], list]:
    """An opener that hands out ``items`` in turn (raising the exceptions among them), and the
    list of what it was asked to open."""
    opened: list = []

    def open_next(what: object) -> object:
        opened.append(what)
        item = items.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    return open_next, opened


async def stop(task: asyncio.Task) -> None:
    """Cancel a running source and see it end by cancellation."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return
    raise AssertionError("the source ended before it was cancelled")
