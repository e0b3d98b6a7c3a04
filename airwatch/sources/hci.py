"""Live Bluetooth LE: passive scanning on a Linux HCI adapter, advertising reports to contacts.

:class:`BluetoothCapture` opens a raw HCI socket on the adapter (``AF_BLUETOOTH``,
``BTPROTO_HCI``: CAP_NET_RAW to send commands, CAP_NET_ADMIN to bring a down adapter up), asks
the controller what it supports (LE Read Local Supported Features) and starts a passive scan:

* extended scanning (LE Set Extended Scan Parameters / Enable) where the controller has LE
  Extended Advertising and the settings allow it, on LE 1M and, where the controller has LE
  Coded PHY, on LE Coded too: Bluetooth 5 long-range Remote ID reaches the host as LE Extended
  Advertising Reports (the controller follows the AUX chains);
* legacy scanning (LE Set Scan Parameters / Enable) otherwise, or when the controller refuses
  the extended commands.

Duplicate filtering is off (every advertisement is reported: Remote ID changes from one to the
next).  Every HCI event read is an H4 packet (indicator byte, then the event), handed as a
LINKTYPE 187 frame to :class:`~airwatch.decoders.frames.FrameDecoder`, which joins extended
reports split over several events.  Frame times are the wall clock at receipt; RSSI and PHY
come from the reports.

This Python may have no ``socket.AF_BLUETOOTH`` (built without the Bluetooth headers, like the
pyenv build of the development machine): the source then stays ``down`` with a message saying
to use the distro ``python3``, and does not crash.  The raw socket shares the adapter with
BlueZ: ``bluetoothd`` may stop a scan it did not start, so a scan that stays silent for
``rescan_s`` is enabled again.  Command bytes follow the Core spec (Vol 4 Part E 7.8) and the
layout BlueZ sends (one Scan_Type/Interval/Window group per PHY); the tests check them against
scapy's HCI classes.
"""

from __future__ import annotations

import errno
import fcntl
import re
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Protocol

from airwatch.decoders.bluetooth import LINKTYPE_BLUETOOTH_HCI_H4
from airwatch.decoders.signatures import SignatureMatcher
from airwatch.frame import Frame
from airwatch.sources.capture import POLL_S, DeviceError, LiveCapture, device_problem, os_error_text, permission_problem
from airwatch.sources.settings import BluetoothSource

NO_AF_BLUETOOTH = ("this Python has no Bluetooth socket support (AF_BLUETOOTH); use the distro python3 "
                   "(apt install python3-venv; python3 -m venv ...) to run Bluetooth capture "
                   "(see docs/sensor-raspberry-pi.md)")

H4_COMMAND = 0x01
H4_EVENT = 0x04
EVT_COMMAND_COMPLETE = 0x0E
EVT_COMMAND_STATUS = 0x0F
EVT_LE_META = 0x3E

OGF_LE = 0x08
LE_READ_LOCAL_SUPPORTED_FEATURES = OGF_LE << 10 | 0x0003
LE_SET_SCAN_PARAMETERS = OGF_LE << 10 | 0x000B
LE_SET_SCAN_ENABLE = OGF_LE << 10 | 0x000C
LE_SET_EXTENDED_SCAN_PARAMETERS = OGF_LE << 10 | 0x0041
LE_SET_EXTENDED_SCAN_ENABLE = OGF_LE << 10 | 0x0042

FEATURE_LE_CODED_PHY = 1 << 11
FEATURE_LE_EXTENDED_ADVERTISING = 1 << 12
SCAN_PHY_1M = 0x01
SCAN_PHY_CODED = 0x04
PASSIVE = 0x00
#: Scan interval and window in 0.625 ms units: 60 ms, listening all the time.
SCAN_INTERVAL = 0x0060
SCAN_WINDOW = 0x0060
#: Seconds to wait for a command's answer.
COMMAND_TIMEOUT_S = 2.0
#: Seconds without an advertising report after which the scan is enabled again.
RESCAN_S = 30.0

# Linux: SOL_HCI options and the HCIDEVUP ioctl (_IOW('H', 201, int)), from <bluetooth/hci.h>.
SOL_HCI = 0
HCI_FILTER = 2
HCIDEVUP = 0x400448C9
RECV_SIZE = 1024


# --- commands (pure bytes) ----------------------------------------------------------------------

def command(opcode: int, params: bytes = b"") -> bytes:
    """An H4 HCI command packet."""
    return struct.pack("<BHB", H4_COMMAND, opcode, len(params)) + params


def read_le_features() -> bytes:
    return command(LE_READ_LOCAL_SUPPORTED_FEATURES)


def set_scan_parameters() -> bytes:
    """Legacy: passive, 100 % duty cycle, public own address, accept every advertiser."""
    return command(LE_SET_SCAN_PARAMETERS, struct.pack("<BHHBB", PASSIVE, SCAN_INTERVAL, SCAN_WINDOW, 0, 0))


def set_scan_enable(enable: bool) -> bytes:
    """Legacy scan on or off, duplicate filtering off."""
    return command(LE_SET_SCAN_ENABLE, bytes((int(enable), 0)))


def set_extended_scan_parameters(phys: int) -> bytes:
    """Extended: passive on each PHY of ``phys`` (bit 0 LE 1M, bit 2 LE Coded), full duty cycle."""
    params = struct.pack("<BBB", 0, 0, phys)
    for bit in (SCAN_PHY_1M, 0x02, SCAN_PHY_CODED):
        if phys & bit:
            params += struct.pack("<BHH", PASSIVE, SCAN_INTERVAL, SCAN_WINDOW)
    return command(LE_SET_EXTENDED_SCAN_PARAMETERS, params)


def set_extended_scan_enable(enable: bool) -> bytes:
    """Extended scan on or off: duplicate filtering off, no duration, no period (until told)."""
    return command(LE_SET_EXTENDED_SCAN_ENABLE, struct.pack("<BBHH", int(enable), 0, 0, 0))


def command_result(event: bytes, opcode: int) -> bytes | None:
    """The return parameters (status first) if ``event`` answers ``opcode``, else None.

    A Command Status answer (a controller refusing a command it does not know) gives its status.
    """
    if len(event) >= 6 and event[0] == H4_EVENT and event[1] == EVT_COMMAND_COMPLETE:
        if event[4] | event[5] << 8 == opcode:
            return event[6:3 + event[2]] or b"\xff"
    elif len(event) >= 7 and event[0] == H4_EVENT and event[1] == EVT_COMMAND_STATUS:
        if event[5] | event[6] << 8 == opcode:
            return event[3:4]
    return None


def is_advertising_report(event: bytes) -> bool:
    return len(event) >= 4 and event[0] == H4_EVENT and event[1] == EVT_LE_META and event[3] in (0x02, 0x0D)


def hci_filter() -> bytes:
    """struct hci_ufilter: event packets only; Command Complete, Command Status, LE Meta."""
    events = 1 << EVT_COMMAND_COMPLETE | 1 << EVT_COMMAND_STATUS | 1 << EVT_LE_META
    return struct.pack("<IIIH2x", 1 << H4_EVENT, events & 0xFFFFFFFF, events >> 32, 0)


def adapter_index(adapter: str) -> int:
    m = re.fullmatch(r"hci(\d+)", adapter)
    if m is None:
        raise DeviceError(f"adapter {adapter!r}: expected a name like hci0 (hciconfig or btmgmt info lists them)")
    return int(m.group(1))


# --- the socket ---------------------------------------------------------------------------------

class HciTransport(Protocol):
    def send(self, packet: bytes) -> None: ...

    def recv(self, timeout: float) -> bytes | None:
        """The next H4 packet, or None after ``timeout`` seconds."""

    def bring_up(self) -> None:
        """Power the adapter up (HCIDEVUP)."""

    def close(self) -> None: ...


class RawHciSocket:
    """A raw HCI socket bound to one adapter, filtered to the events the scan needs."""

    def __init__(self, index: int) -> None:
        af = getattr(socket, "AF_BLUETOOTH", None)
        if af is None:
            raise DeviceError(NO_AF_BLUETOOTH)
        self.index = index
        s = socket.socket(af, socket.SOCK_RAW, socket.BTPROTO_HCI)  # type: ignore[attr-defined]
        try:
            s.setsockopt(SOL_HCI, HCI_FILTER, hci_filter())
            s.bind((index,))
        except BaseException:
            s.close()
            raise
        self._sock = s

    def send(self, packet: bytes) -> None:
        self._sock.send(packet)

    def recv(self, timeout: float) -> bytes | None:
        if not select.select([self._sock], [], [], timeout)[0]:
            return None
        return self._sock.recv(RECV_SIZE)

    def bring_up(self) -> None:
        try:
            fcntl.ioctl(self._sock.fileno(), HCIDEVUP, self.index)
        except OSError as e:
            if e.errno != errno.EALREADY:
                raise

    def close(self) -> None:
        self._sock.close()


# --- the source ---------------------------------------------------------------------------------

class BluetoothCapture(LiveCapture):
    kind = "bluetooth"

    def __init__(self, source: BluetoothSource, sensor_id: str | None = None, *, name: str | None = None,
                 signatures: SignatureMatcher | None = None,
                 open_hci: Callable[[int], HciTransport] = RawHciSocket,
                 af_bluetooth: bool | None = None, command_timeout_s: float = COMMAND_TIMEOUT_S,
                 rescan_s: float = RESCAN_S, **kwargs: object) -> None:
        super().__init__(name or source.name or source.adapter, sensor_id, retry_s=source.retry_s,
                         signatures=signatures, **kwargs)  # type: ignore[arg-type]
        self.source = source
        self.adapter = source.adapter
        self.open_hci = open_hci
        self.af_bluetooth = hasattr(socket, "AF_BLUETOOTH") if af_bluetooth is None else af_bluetooth
        self.command_timeout_s = command_timeout_s
        self.rescan_s = rescan_s
        self.scan_mode: str | None = None  # "extended scan on LE 1M + LE Coded", "legacy scan", ...
        self._extended_on = False

    def describe_ok(self) -> str:
        return self.scan_mode or ""

    async def attempt(self) -> bool:
        await self.in_thread(self._capture)
        return False

    # everything below runs in the capture thread

    def _capture(self) -> None:
        if not self.af_bluetooth:
            raise DeviceError(NO_AF_BLUETOOTH)
        index = adapter_index(self.adapter)
        try:
            hci = self.open_hci(index)
        except OSError as e:
            raise DeviceError(self._os_problem(e)) from e
        self._extended_on = False
        try:
            self.scan_mode = self._start_scan(hci)
            self.waiting(f"{self.scan_mode} on {self.adapter}, no report yet")
            last_report = time.monotonic()
            while True:
                self.check_stop()
                try:
                    packet = hci.recv(POLL_S)
                except OSError as e:
                    raise DeviceError(f"{self.adapter} went away: {self._os_problem(e)}") from e
                if packet is not None:
                    if is_advertising_report(packet):  # not the answers to other programs' commands
                        self.frame(Frame(time.time(), LINKTYPE_BLUETOOTH_HCI_H4, packet, self.frames + 1, self.name))
                        last_report = time.monotonic()
                elif time.monotonic() - last_report > self.rescan_s:
                    # bluetoothd (or another program) may have stopped the scan: enable it again
                    enable = set_extended_scan_enable(True) if self._extended_on else set_scan_enable(True)
                    self._command(hci, enable)
                    last_report = time.monotonic()
        finally:
            try:  # best effort: leave the adapter as it was
                hci.send(set_extended_scan_enable(False) if self._extended_on else set_scan_enable(False))
            except OSError:
                pass
            hci.close()

    def _os_problem(self, e: OSError) -> str:
        known = device_problem(e, self.adapter,
                               f"adapter {self.adapter} not found (hciconfig or btmgmt info lists the adapters)")
        if known is not None:
            return known
        if e.errno == errno.EAFNOSUPPORT:
            return "the kernel has no Bluetooth support (address family not supported)"
        if e.errno == errno.ERFKILL:
            return f"{self.adapter} is blocked by rfkill: rfkill unblock bluetooth"
        if e.errno == errno.ENETDOWN:
            return f"{self.adapter} is down: hciconfig {self.adapter} up (or btmgmt power on)"
        return f"{self.adapter}: {os_error_text(e)}"

    def _command(self, hci: HciTransport, packet: bytes) -> int:
        """Send a command and wait for its answer; its status (0 success)."""
        return self._exchange(hci, packet)[0]

    def _exchange(self, hci: HciTransport, packet: bytes) -> bytes:
        opcode = packet[1] | packet[2] << 8
        try:
            hci.send(packet)
        except OSError as e:
            if e.errno != errno.ENETDOWN:
                raise DeviceError(self._os_problem(e)) from e
            try:  # a powered-down adapter: bring it up (CAP_NET_ADMIN) and try once more
                hci.bring_up()
                hci.send(packet)
            except OSError as e2:
                if permission_problem(e2):
                    raise DeviceError(f"{self.adapter} is down and bringing it up needs CAP_NET_ADMIN: "
                                      f"hciconfig {self.adapter} up (see docs/sensor-raspberry-pi.md)") from e2
                raise DeviceError(self._os_problem(e2)) from e2
        deadline = time.monotonic() + self.command_timeout_s
        while True:
            self.check_stop()
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceError(f"{self.adapter} did not answer HCI command {opcode:#06x} "
                                  f"within {self.command_timeout_s:g} s")
            try:
                event = hci.recv(min(left, POLL_S))
            except OSError as e:
                raise DeviceError(self._os_problem(e)) from e
            if event is None:
                continue
            result = command_result(event, opcode)
            if result is not None:
                return result
            if is_advertising_report(event):  # a scan already running: not lost
                self.frame(Frame(time.time(), LINKTYPE_BLUETOOTH_HCI_H4, event, self.frames + 1, self.name))

    def _start_scan(self, hci: HciTransport) -> str:
        """Configure and enable a passive scan; what was started, for the health detail."""
        answer = self._exchange(hci, read_le_features())
        features = int.from_bytes(answer[1:9], "little") if answer[0] == 0 and len(answer) >= 9 else 0
        why_legacy = "settings ask for legacy scanning"
        if self.source.extended:
            why_legacy = "the controller has no extended advertising"
            if features & FEATURE_LE_EXTENDED_ADVERTISING:
                coded = bool(features & FEATURE_LE_CODED_PHY)
                phys = SCAN_PHY_1M | (SCAN_PHY_CODED if coded else 0)
                self._command(hci, set_extended_scan_enable(False))  # parameters need it off
                status = self._command(hci, set_extended_scan_parameters(phys))
                if status == 0:
                    status = self._command(hci, set_extended_scan_enable(True))
                if status == 0:
                    self._extended_on = True
                    return "extended scan on LE 1M + LE Coded" if coded else "extended scan on LE 1M (no LE Coded PHY)"
                why_legacy = f"extended scanning refused, status {status:#04x}"
        self._command(hci, set_scan_enable(False))
        status = self._command(hci, set_scan_parameters())
        if status == 0:
            status = self._command(hci, set_scan_enable(True))
        if status != 0:
            raise DeviceError(f"{self.adapter} refused LE scanning (HCI status {status:#04x}); "
                              "is another program scanning? (systemctl stop bluetooth)")
        return f"legacy scan ({why_legacy})"
