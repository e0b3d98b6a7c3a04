"""What every live source shares: health, retries, and a capture thread that hands contacts over.

A live source (:class:`LiveCapture` subclasses: Wi-Fi, Bluetooth HCI, pcap stream, replay)
runs until cancelled.  Each attempt (:meth:`LiveCapture.attempt`) opens its device and reads
it; a device problem raises :class:`DeviceError`, whose message goes to
``health.detail`` with status ``down``, and the source tries again after ``retry_s``.  No
device error ever leaves :meth:`LiveCapture.run`: a missing interface, a lost permission or a
vanished pipe writer are things the operator reads on the status bar, not tracebacks.

Blocking reads (a packet socket, an HCI socket, a pipe) run in a daemon thread of their own,
never on the event loop.  The thread decodes each frame (:class:`FrameDecoder`, the same as for
files), counts it in the health record, and hands the contacts to the event loop in order with
``call_soon_threadsafe``; ``emit`` is always called on the event loop.  At most
:data:`INFLIGHT_BATCHES` batches wait for the loop at once, so a slow consumer slows the reader
(and the kernel drops frames, which it counts) instead of filling memory.  The thread polls
every :data:`POLL_S` seconds for the stop flag, so cancelling a source ends its thread promptly.

Health: ``starting`` until the first frame, ``ok`` while frames flow, ``stale`` after
``stale_after_s`` without a frame, ``down`` on a device error (until frames flow again),
``stopped`` when the source ended (cancelled, or an input that has nothing more to give).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from airwatch.contact import Contact
from airwatch.decoders.frames import FrameDecoder
from airwatch.decoders.signatures import SignatureMatcher
from airwatch.frame import Frame
from airwatch.signature_rules import default_matcher
from airwatch.sources.health import SourceHealth

log = logging.getLogger(__name__)

T = TypeVar("T")
Emit = Callable[[Contact], None]

#: Seconds without a frame after which a running source shows as stale.
STALE_AFTER_S = 30.0
#: How often the capture thread looks at its stop flag (and a blocking read times out).
POLL_S = 0.2
#: Batches of contacts handed to the event loop and not yet emitted, at most.
INFLIGHT_BATCHES = 8
#: What an operator reads when the capture lacks its capability.
NEEDS_CAP_NET_RAW = "needs CAP_NET_RAW (see docs/sensor-raspberry-pi.md)"
#: Seconds to wait for the capture thread once a source is cancelled.
JOIN_S = 5.0


class DeviceError(Exception):
    """A problem with the device or input that the operator must see; the source retries."""


class Stopped(Exception):
    """Raised inside the capture thread when the source was cancelled."""


CAP_NET_ADMIN = 12
CAP_NET_RAW = 13


def capabilities(status: str = "/proc/self/status") -> set[int] | None:
    """This process's effective capabilities (numbers), None where they cannot be read."""
    try:
        for line in Path(status).read_text().splitlines():
            if line.startswith("CapEff:"):
                mask = int(line.split()[1], 16)
                return {bit for bit in range(64) if mask >> bit & 1}
    except (OSError, ValueError, IndexError):
        return None
    return None


def os_error_text(e: OSError) -> str:
    """``[Errno 19] No such device`` as ``No such device``."""
    return e.strerror or str(e) or type(e).__name__


def permission_problem(e: OSError) -> bool:
    return isinstance(e, PermissionError) or e.errno in (errno.EPERM, errno.EACCES)


def device_problem(e: OSError, device: str, missing: str) -> str | None:
    """The message for what every device shares: no permission, or no such device (``missing``)."""
    if permission_problem(e):
        return f"{device}: {NEEDS_CAP_NET_RAW}"
    if e.errno in (errno.ENODEV, errno.ENXIO):
        return missing
    return None


class LiveCapture:
    """Base of the live sources: the :class:`~airwatch.sources.live.LiveSource` protocol.

    Subclasses set :attr:`kind` and implement :meth:`attempt`, which returns ``True`` when the
    source has ended for good (standard input closed, a replay finished), ``False`` to be
    started again at once, and raises :class:`DeviceError` to be retried after ``retry_s``.
    """

    kind = "live"

    def __init__(self, name: str, sensor_id: str | None, *, retry_s: float = 5.0,
                 signatures: SignatureMatcher | None = None, stale_after_s: float = STALE_AFTER_S,
                 check_s: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.sensor_id = sensor_id
        self.retry_s = retry_s
        self.stale_after_s = stale_after_s
        self.check_s = check_s
        self.clock = clock
        self.health = SourceHealth(name, self.kind, sensor_id)
        self.decoder = FrameDecoder(sensor_id, signatures if signatures is not None else default_matcher())
        self.frames = 0  # frames read by this source, across attempts
        self._emit: Emit | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._inflight = threading.BoundedSemaphore(INFLIGHT_BATCHES)

    # --- the protocol ---------------------------------------------------------------------------

    async def run(self, emit: Emit) -> None:
        """Capture until cancelled (or until the input has ended for good); never raises for
        device errors."""
        self._emit = emit
        self._loop = asyncio.get_running_loop()
        watchdog = asyncio.create_task(self._watch_stale(), name=f"{self.name} stale watch")
        try:
            while True:
                try:
                    if await self.attempt():
                        return
                except DeviceError as e:
                    self.health.errors += 1
                    self.health.set("down", f"{e}; retrying in {self.retry_s:g} s", self.clock())
                    log.warning("%s: %s", self.name, e)
                except Exception as e:  # a bug must not end the sensor: say it, retry
                    self.health.errors += 1
                    self.health.set("down", f"internal error: {e!r}; retrying in {self.retry_s:g} s",
                                    self.clock())
                    log.exception("%s: capture failed", self.name)
                else:
                    continue
                await asyncio.sleep(self.retry_s)
        finally:
            watchdog.cancel()
            if self.health.status != "stopped":
                self.health.set("stopped", None, self.clock())

    async def attempt(self) -> bool:
        raise NotImplementedError

    def describe_ok(self) -> str:
        """The detail shown while frames flow."""
        return ""

    # --- health ---------------------------------------------------------------------------------

    def waiting(self, detail: str) -> None:
        """Opened, no frame yet: ``starting`` the first time, otherwise keep ``down``'s status."""
        status = "starting" if self.health.status in ("starting", "stopped") else self.health.status
        self.health.set(status, detail, self.clock())

    async def _watch_stale(self) -> None:
        h = self.health
        while True:
            await asyncio.sleep(self.check_s)
            last = h.last_message
            if h.status == "ok" and last is not None and self.clock() - last > self.stale_after_s:
                h.set("stale", f"no frames for {self.stale_after_s:g} s; {self.describe_ok()}".rstrip("; "),
                      self.clock())

    # --- the capture thread ---------------------------------------------------------------------

    def frame(self, frame: Frame) -> None:
        """One frame read (capture thread): decode, count, hand the contacts to the loop."""
        self.frames += 1
        contacts = self.decoder.decode(frame)
        h = self.health
        h.count(1, len(contacts), self.clock())
        if h.status != "ok":
            h.set("ok", self.describe_ok(), self.clock())
        if contacts:
            self.annotate(contacts)
            self.deliver(contacts)

    def annotate(self, contacts: list[Contact]) -> None:
        """Fill what the capture knows and the frame did not say (the hopper's channel)."""

    def deliver(self, contacts: list[Contact]) -> None:
        """Hand contacts to the event loop, in order (capture thread).  Dropped once stopped."""
        loop = self._loop
        while not self._inflight.acquire(timeout=POLL_S):
            if self._stop.is_set():
                return
        if loop is None or self._stop.is_set():
            self._inflight.release()
            return
        try:
            loop.call_soon_threadsafe(self._emit_batch, contacts)
        except RuntimeError:  # the loop has closed
            self._inflight.release()
            self._stop.set()

    def _emit_batch(self, contacts: list[Contact]) -> None:
        try:
            emit = self._emit
            if emit is not None:
                for c in contacts:
                    emit(c)
        finally:
            self._inflight.release()

    def check_stop(self) -> None:
        if self._stop.is_set():
            raise Stopped

    async def in_thread(self, work: Callable[[], T], unblock: Callable[[], None] | None = None) -> T:
        """Run the blocking ``work`` in a daemon thread; its result, or the exception it raised.

        Cancelled, it sets the stop flag (``work`` polls it through :meth:`check_stop` and gets
        :class:`Stopped`), calls ``unblock``, and waits up to :data:`JOIN_S` for the thread.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()
        self._stop = threading.Event()

        def settle(ok: bool, value: Any) -> None:
            if done.done():
                return
            if ok:
                done.set_result(value)
            else:
                done.set_exception(value)

        def target() -> None:
            try:
                outcome = (True, work())
            except Stopped:
                outcome = (True, None)
            except BaseException as e:  # handed to the awaiting task
                outcome = (False, e)
            try:
                loop.call_soon_threadsafe(settle, *outcome)
            except RuntimeError:
                pass  # the loop is gone; nobody is waiting

        thread = threading.Thread(target=target, name=f"airwatch {self.kind} {self.name}", daemon=True)
        thread.start()
        try:
            return await done
        except asyncio.CancelledError:
            self._stop.set()
            if unblock is not None:
                try:
                    unblock()
                except OSError:
                    pass
            deadline = time.monotonic() + JOIN_S
            while thread.is_alive() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            raise
        finally:
            self._stop.set()
