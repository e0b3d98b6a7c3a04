"""Bluetooth LE capture without a radio: the HCI commands (checked against scapy's HCI classes),
a fake controller that answers them and then sends recorded advertising report events, and the
errors (no AF_BLUETOOTH in this Python, no permission, adapter down or pulled out)."""

from __future__ import annotations

import asyncio
import errno
import queue
import socket
import struct

import pytest
from live_helpers import LR_MAC, hci_split_events, rid_pack, scripted, stop, until
from scapy.layers.bluetooth import (
    HCI_Cmd_LE_Read_Local_Supported_Features,
    HCI_Cmd_LE_Set_Extended_Scan_Enable,
    HCI_Cmd_LE_Set_Extended_Scan_Parameters,
    HCI_Cmd_LE_Set_Scan_Enable,
    HCI_Cmd_LE_Set_Scan_Parameters,
    HCI_Command_Hdr,
    HCI_Event_Command_Complete,
    HCI_Event_Command_Status,
    HCI_Event_Hdr,
    HCI_Hdr,
)
from scapy.packet import Raw

from airwatch.contact import Transport
from airwatch.encoders import bluetooth as ble
from airwatch.sources import hci
from airwatch.sources.capture import DeviceError
from airwatch.sources.hci import NO_AF_BLUETOOTH, BluetoothCapture
from airwatch.sources.settings import BluetoothSource

EXT_AND_CODED = hci.FEATURE_LE_EXTENDED_ADVERTISING | hci.FEATURE_LE_CODED_PHY
LEGACY_MAC = "c0:11:22:33:44:55"


def scapy_command(layer) -> bytes:
    return bytes(HCI_Hdr() / HCI_Command_Hdr() / layer)


def test_command_bytes_agree_with_scapy():
    assert hci.read_le_features() == scapy_command(HCI_Cmd_LE_Read_Local_Supported_Features())
    assert hci.set_scan_parameters() == scapy_command(HCI_Cmd_LE_Set_Scan_Parameters(
        type=0, interval=0x60, window=0x60, addr_type=0, policy=0))
    for on in (True, False):
        assert hci.set_scan_enable(on) == scapy_command(HCI_Cmd_LE_Set_Scan_Enable(enable=int(on), filter_dups=0))
        assert hci.set_extended_scan_enable(on) == scapy_command(HCI_Cmd_LE_Set_Extended_Scan_Enable(
            enable=int(on), filter_dups=0, duration=0, period=0))
    assert hci.set_extended_scan_parameters(hci.SCAN_PHY_1M | hci.SCAN_PHY_CODED) == scapy_command(
        HCI_Cmd_LE_Set_Extended_Scan_Parameters(scanning_phys=5, scan_type_1m=0, scan_interval_1m=0x60,
                                                scan_window_1m=0x60, scan_type_coded=0, scan_interval_coded=0x60,
                                                scan_window_coded=0x60))
    assert hci.set_extended_scan_parameters(hci.SCAN_PHY_1M) == scapy_command(
        HCI_Cmd_LE_Set_Extended_Scan_Parameters(scanning_phys=1, scan_type_1m=0, scan_interval_1m=0x60,
                                                scan_window_1m=0x60))


def test_answers_and_filters():
    complete = bytes(HCI_Hdr() / HCI_Event_Hdr() / HCI_Event_Command_Complete(number=1, opcode=0x2003, status=0)
                     / Raw(EXT_AND_CODED.to_bytes(8, "little")))
    assert hci.command_result(complete, 0x2003) == b"\x00" + EXT_AND_CODED.to_bytes(8, "little")
    assert hci.command_result(complete, 0x200B) is None
    status = bytes(HCI_Hdr() / HCI_Event_Hdr() / HCI_Event_Command_Status(status=1, number=1, opcode=0x2041))
    assert hci.command_result(status, 0x2041) == b"\x01"
    assert hci.command_result(hci_split_events()[0], 0x2041) is None
    assert hci.is_advertising_report(hci_split_events()[0]) and not hci.is_advertising_report(complete)
    type_mask, ev0, ev1, opcode = struct.unpack("<IIIH2x", hci.hci_filter())
    assert type_mask == 1 << 4 and ev0 == 1 << 0x0E | 1 << 0x0F and ev1 == 1 << (0x3E - 32) and opcode == 0
    assert hci.adapter_index("hci0") == 0 and hci.adapter_index("hci12") == 12
    with pytest.raises(DeviceError, match="expected a name like hci0"):
        hci.adapter_index("bluetooth0")


class FakeController:
    """Answers commands like a controller; once scanning is enabled, sends ``reports``."""

    def __init__(self, features: int = EXT_AND_CODED, refuse: dict[int, int] | None = None,
                 silent: tuple[int, ...] = (), reports: list = (), powered: bool = True,
                 bring_up_error: OSError | None = None) -> None:
        self.features = features
        self.refuse = refuse or {}
        self.silent = silent
        self.reports = list(reports)
        self.powered = powered
        self.bring_up_error = bring_up_error
        self.sent: list[bytes] = []
        self.out: queue.Queue = queue.Queue()
        self.closed = False
        self.brought_up = False

    def send(self, packet: bytes) -> None:
        if not self.powered:
            raise OSError(errno.ENETDOWN, "Network is down")
        self.sent.append(packet)
        opcode = packet[1] | packet[2] << 8
        if opcode in self.silent:
            return
        status = self.refuse.get(opcode, 0)
        params = bytes((status,))
        if opcode == hci.LE_READ_LOCAL_SUPPORTED_FEATURES:
            params += self.features.to_bytes(8, "little")
        if status == 0x01 and opcode in self.refuse:  # unknown command: Command Status
            self.out.put(bytes((4, 0x0F, 4, status, 1, packet[1], packet[2])))
        else:
            self.out.put(bytes((4, 0x0E, 3 + len(params), 1, packet[1], packet[2])) + params)
        if opcode in (hci.LE_SET_SCAN_ENABLE, hci.LE_SET_EXTENDED_SCAN_ENABLE) and packet[4] == 1 and status == 0:
            for r in self.reports:
                self.out.put(r)

    def recv(self, timeout: float):
        try:
            item = self.out.get(timeout=min(timeout, 0.05))
        except queue.Empty:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def bring_up(self) -> None:
        if self.bring_up_error is not None:
            raise self.bring_up_error
        self.brought_up = True
        self.powered = True

    def close(self) -> None:
        self.closed = True

    def opcodes(self) -> list[int]:
        return [p[1] | p[2] << 8 for p in self.sent]


def capture(controllers, extended=True, **kwargs):
    open_hci, opened = scripted(controllers)
    cap = BluetoothCapture(BluetoothSource(adapter="hci1", extended=extended, retry_s=0.05), "north-3",
                           open_hci=open_hci, af_bluetooth=True, **kwargs)
    return cap, opened


def legacy_report(serial: str = "LEGACY000001") -> bytes:
    msg = rid_pack(serial)[3:3 + 25]  # the Basic ID message alone
    return ble.hci_le_adv_report(LEGACY_MAC, ble.bt4_advdata(msg, 4), rssi_dbm=-66)


async def test_extended_scan_on_coded_phy_and_reports_to_contacts():
    other = bytes((4, 0x0E, 4, 1, 0x05, 0x0C, 0))  # another program's command answered: not a frame
    ctrl = FakeController(reports=[legacy_report(), other, *hci_split_events()])
    cap, opened = capture([ctrl])
    got = []
    task = asyncio.create_task(cap.run(got.append))
    await until(lambda: len(got) == 2, "two contacts")
    assert opened == [1]
    assert ctrl.sent == [hci.read_le_features(), hci.set_extended_scan_enable(False),
                         hci.set_extended_scan_parameters(5), hci.set_extended_scan_enable(True)]
    bt4, bt5 = got
    assert bt4.transport is Transport.BT4_LEGACY and bt4.transmitter == LEGACY_MAC and bt4.rssi_dbm == -66
    assert bt4.basic_ids[0].uas_id == "LEGACY000001" and bt4.sensor_id == "north-3" and bt4.source == "hci1"
    assert bt5.transport is Transport.BT5_LONG_RANGE and bt5.transmitter == LR_MAC and bt5.phy == "le_coded"
    assert bt5.self_id.description == "coded" and not bt5.anomalies  # joined from two events
    assert cap.health.status == "ok" and cap.health.detail == "extended scan on LE 1M + LE Coded"
    assert cap.health.messages == 3 and cap.health.contacts == 2  # the three advertising events
    await stop(task)
    assert ctrl.sent[-1] == hci.set_extended_scan_enable(False) and ctrl.closed
    assert cap.health.status == "stopped"


@pytest.mark.parametrize(("features", "extended", "refuse", "detail", "expected"), [
    (hci.FEATURE_LE_EXTENDED_ADVERTISING, True, {}, "extended scan on LE 1M (no LE Coded PHY)",
     [hci.read_le_features(), hci.set_extended_scan_enable(False), hci.set_extended_scan_parameters(1),
      hci.set_extended_scan_enable(True)]),
    (0, True, {}, "legacy scan (the controller has no extended advertising)",
     [hci.read_le_features(), hci.set_scan_enable(False), hci.set_scan_parameters(), hci.set_scan_enable(True)]),
    (EXT_AND_CODED, False, {}, "legacy scan (settings ask for legacy scanning)",
     [hci.read_le_features(), hci.set_scan_enable(False), hci.set_scan_parameters(), hci.set_scan_enable(True)]),
    (EXT_AND_CODED, True, {hci.LE_SET_EXTENDED_SCAN_PARAMETERS: 0x01},
     "legacy scan (extended scanning refused, status 0x01)",
     [hci.read_le_features(), hci.set_extended_scan_enable(False), hci.set_extended_scan_parameters(5),
      hci.set_scan_enable(False), hci.set_scan_parameters(), hci.set_scan_enable(True)]),
])
async def test_scan_fallbacks(features, extended, refuse, detail, expected):
    ctrl = FakeController(features=features, refuse=refuse, reports=[legacy_report()])
    cap, _ = capture([ctrl], extended=extended)
    got = []
    task = asyncio.create_task(cap.run(got.append))
    await until(lambda: got, "a contact")
    assert ctrl.sent == expected and cap.health.detail == detail
    await stop(task)
    off = hci.set_extended_scan_enable(False) if detail.startswith("extended") else hci.set_scan_enable(False)
    assert ctrl.sent[-1] == off


async def test_a_controller_that_refuses_or_does_not_answer():
    refusing = FakeController(features=0, refuse={hci.LE_SET_SCAN_PARAMETERS: 0x0C})
    mute = FakeController(silent=(hci.LE_READ_LOCAL_SUPPORTED_FEATURES,))
    cap, opened = capture([refusing, mute, FakeController(reports=[legacy_report()])], command_timeout_s=0.2)
    got = []
    task = asyncio.create_task(cap.run(got.append))
    await until(lambda: cap.health.errors == 1, "the refusal")
    assert cap.health.status == "down" and cap.health.detail.startswith(
        "hci1 refused LE scanning (HCI status 0x0c); is another program scanning? (systemctl stop bluetooth)")
    assert refusing.closed
    await until(lambda: cap.health.errors == 2, "the silence")
    assert cap.health.detail == "hci1 did not answer HCI command 0x2003 within 0.2 s; retrying in 0.05 s"
    await until(lambda: got, "a contact from the third attempt")
    assert cap.health.status == "ok" and opened == [1, 1, 1]
    await stop(task)


async def test_no_bluetooth_sockets_in_this_python():
    cap = BluetoothCapture(BluetoothSource(retry_s=0.05), "s", af_bluetooth=False,
                           open_hci=lambda i: pytest.fail("must not open"))
    task = asyncio.create_task(cap.run(lambda c: None))
    await until(lambda: cap.health.errors >= 2, "two attempts")
    assert cap.health.status == "down"
    assert cap.health.detail == f"{NO_AF_BLUETOOTH}; retrying in 0.05 s"
    assert cap.health.detail.startswith("this Python has no Bluetooth socket support (AF_BLUETOOTH); "
                                        "use the distro python3")
    await stop(task)


async def test_the_real_socket_in_this_python_and_kernel():
    """The default opener, for real: this Python may lack AF_BLUETOOTH, and this VM's kernel has
    no Bluetooth; either way the source is down with the reason, and nothing crashes."""
    cap = BluetoothCapture(BluetoothSource(adapter="hci0", retry_s=0.05), "s")
    task = asyncio.create_task(cap.run(lambda c: None))
    await until(lambda: cap.health.errors >= 2, "two attempts")
    if hasattr(socket, "AF_BLUETOOTH"):
        assert cap.health.detail.split(";")[0] in (
            "the kernel has no Bluetooth support (address family not supported)",
            "adapter hci0 not found (hciconfig or btmgmt info lists the adapters)")
    else:
        assert cap.health.detail.startswith(NO_AF_BLUETOOTH)
    await stop(task)


async def test_no_permission_and_a_powered_down_adapter():
    denied = PermissionError(errno.EPERM, "Operation not permitted")
    down = FakeController(powered=False, reports=[legacy_report()])
    cap, opened = capture([denied, down])
    got = []
    task = asyncio.create_task(cap.run(got.append))
    await until(lambda: cap.health.errors == 1, "the refusal")
    assert cap.health.detail == "hci1: needs CAP_NET_RAW (see docs/sensor-raspberry-pi.md); retrying in 0.05 s"
    await until(lambda: got, "scanning once the adapter was brought up")
    assert down.brought_up and cap.health.status == "ok"
    await stop(task)

    stuck = FakeController(powered=False, bring_up_error=PermissionError(errno.EPERM, "Operation not permitted"))
    rfkill = OSError(errno.ERFKILL, "Operation not possible due to RF-kill")
    blocked = FakeController(powered=False, bring_up_error=rfkill)
    cap, _ = capture([stuck, blocked])
    task = asyncio.create_task(cap.run(lambda c: None))
    await until(lambda: cap.health.errors == 1, "the first failure")
    assert cap.health.detail.startswith("hci1 is down and bringing it up needs CAP_NET_ADMIN: hciconfig hci1 up")
    await until(lambda: cap.health.errors == 2, "the second failure")
    assert cap.health.detail.startswith("hci1 is blocked by rfkill: rfkill unblock bluetooth")
    await stop(task)


async def test_an_adapter_pulled_out_mid_capture_comes_back():
    pulled = FakeController(reports=[legacy_report("FIRST0000001"), OSError(errno.ENODEV, "No such device")])
    missing = OSError(errno.ENODEV, "No such device")
    back = FakeController(reports=[legacy_report("SECOND000001")])
    cap, opened = capture([pulled, missing, back])
    got = []
    task = asyncio.create_task(cap.run(got.append))
    await until(lambda: cap.health.errors == 1, "the adapter to go")
    assert cap.health.status == "down" and cap.health.detail.startswith(
        "hci1 went away: adapter hci1 not found (hciconfig or btmgmt info lists the adapters)")
    await until(lambda: cap.health.errors == 2, "a retry while it is missing")
    assert cap.health.detail.startswith("adapter hci1 not found")
    await until(lambda: len(got) == 2, "contacts again")
    assert [c.basic_ids[0].uas_id for c in got] == ["FIRST0000001", "SECOND000001"]
    assert pulled.closed and opened == [1, 1, 1] and cap.health.status == "ok"
    await stop(task)


async def test_a_silent_scan_is_enabled_again():
    ctrl = FakeController()
    cap, _ = capture([ctrl], rescan_s=0.1)
    task = asyncio.create_task(cap.run(lambda c: None))
    await until(lambda: ctrl.opcodes().count(hci.LE_SET_EXTENDED_SCAN_ENABLE) >= 4, "the scan enabled again")
    assert ctrl.opcodes()[:4] == [hci.LE_READ_LOCAL_SUPPORTED_FEATURES, hci.LE_SET_EXTENDED_SCAN_ENABLE,
                                  hci.LE_SET_EXTENDED_SCAN_PARAMETERS, hci.LE_SET_EXTENDED_SCAN_ENABLE]
    assert set(ctrl.sent[4:]) == {hci.set_extended_scan_enable(True)}
    await stop(task)
