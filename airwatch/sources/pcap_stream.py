"""A live pcap or pcapng stream: standard input, a named pipe, or a file.

For ``ssh sensor tcpdump -i mon0 -w - | airwatch ...`` (standard input, ``path = "-"``) and for
sniffers that write a capture into a named pipe (Sniffle's ``-o /run/airwatch/sniffle.pipe``,
``tcpdump -w pipe``, a Wireshark extcap...).  The stream is read by
:func:`~airwatch.sources.pcap.read_capture` in a thread of its own, through a file descriptor
polled with ``select`` (so the event loop never blocks and cancelling stops the thread at once);
frames keep the time the sniffer recorded.

A named pipe whose writer goes away is reopened after ``retry_s`` and waits for the next writer
(which starts a new capture with its own header).  A record cut off by a writer that died in
mid-write is counted (``pcap_truncated_record`` among the refusals, and a health error), never
fatal.  Standard input and regular files end the source when they end: status ``stopped``.
"""

from __future__ import annotations

import asyncio
import os
import select
import stat
import sys
from collections.abc import Callable
from typing import IO

from airwatch.decoders.signatures import SignatureMatcher
from airwatch.sources.capture import POLL_S, DeviceError, LiveCapture, os_error_text, permission_problem
from airwatch.sources.pcap import CaptureError, read_capture
from airwatch.sources.settings import PcapSource

TRUNCATED = "pcap_truncated_record"


class FdReader:
    """``read1`` on a file descriptor that waits with ``select`` and gives up when told to stop."""

    def __init__(self, fd: int, check_stop: Callable[[], None]) -> None:
        self.fd = fd
        self.check_stop = check_stop

    def read1(self, size: int = -1) -> bytes:
        size = size if size > 0 else 1 << 16
        while True:
            self.check_stop()
            if not select.select([self.fd], [], [], POLL_S)[0]:
                continue
            try:
                return os.read(self.fd, size)
            except (BlockingIOError, InterruptedError):
                continue

    read = read1


class PcapStream(LiveCapture):
    kind = "pcap"

    def __init__(self, source: PcapSource, sensor_id: str | None = None, *, name: str | None = None,
                 signatures: SignatureMatcher | None = None, stdin: IO[bytes] | None = None,
                 **kwargs: object) -> None:
        path = source.path
        super().__init__(name or source.name or ("stdin" if path == "-" else path), sensor_id,
                         retry_s=source.retry_s, signatures=signatures, **kwargs)  # type: ignore[arg-type]
        self.source = source
        self.path = path
        self.stdin = stdin
        self.writers = 0  # writers (captures) read so far
        self.last_error: str | None = None
        self.last_writer = ""  # how the last writer ended, for the detail while waiting for the next

    def describe_ok(self) -> str:
        return "reading standard input" if self.path == "-" else f"reading {self.path}"

    async def attempt(self) -> bool:
        path = self.path
        if path == "-":
            fd, kind, own = (self.stdin or sys.stdin).fileno(), "stdin", False
        else:
            fd, kind = self._open(path)
            own = True
        if kind == "fifo":
            self.waiting(f"waiting for a writer on {path}{self.last_writer}")
        else:
            self.waiting(self.describe_ok())
        before = self.frames
        try:
            error = await self.in_thread(lambda: self._read(fd))
        finally:
            if own:
                os.close(fd)
        frames = self.frames - before
        if error is not None:
            self.health.errors += 1
        if frames or error:  # a writer came and went (a writer that wrote nothing says nothing)
            self.writers += 1
            self.last_error = error
            self.last_writer = (f" (the last one closed after {frames} frames)" if error is None
                                else f" (the last one broke off: {error})")
        if kind == "fifo":
            what = f"the writer closed {path} after {frames} frames" if error is None else error
            self.health.set("down", f"{what}; reopening in {self.retry_s:g} s", self.clock())
            await asyncio.sleep(self.retry_s)
            return False
        where = "standard input" if kind == "stdin" else path
        self.health.set("stopped", error or f"end of {where} after {self.frames} frames", self.clock())
        return True

    def _open(self, path: str) -> tuple[int, str]:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise DeviceError(f"{path} does not exist (mkfifo {path} to make a named pipe for the sniffer)") from None
        except OSError as e:
            raise DeviceError(f"cannot read {path}: {os_error_text(e)}") from e
        kind = "fifo" if stat.S_ISFIFO(st.st_mode) else "file"
        try:  # non-blocking: opening a named pipe must not wait for its writer here
            return os.open(path, os.O_RDONLY | os.O_NONBLOCK), kind
        except OSError as e:
            if permission_problem(e):
                raise DeviceError(f"cannot read {path}: permission denied (the sensor's user needs read "
                                  "access to it)") from e
            raise DeviceError(f"cannot read {path}: {os_error_text(e)}") from e

    def _read(self, fd: int) -> str | None:
        """Capture thread: frames until the writer closes.  What broke the stream, if anything."""
        reader = FdReader(fd, self.check_stop)
        try:
            for frame in read_capture(reader, self.name):  # type: ignore[arg-type]
                self.frame(frame)
        except CaptureError as e:
            if "truncated" in str(e):  # a writer that died in mid-record
                self.decoder.rejected[TRUNCATED] += 1
            return str(e)
        return None
