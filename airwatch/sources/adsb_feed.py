"""Live ADS-B feeds: an asyncio TCP client for dump1090/readsb Beast (30005), AVR (30002) and
SBS / BaseStation (30003).

:class:`AdsbFeed` connects, frames what arrives (:mod:`.beast`, :mod:`.avr` or :mod:`.sbs`:
lines), stamps each message with the wall-clock receive time and yields :class:`RawMessage`
tuples (for SBS, ``data`` is the line); with a decoder, :meth:`AdsbFeed.contacts` yields aircraft
contacts (``AdsbDecoder``, or ``SbsDecoder`` for SBS; SBS lines keep the receive time, not the
time written in the line).  It never gives up: a refused connection, a
server that closes, or a stream with no frames for ``idle_timeout`` seconds (silence or garbage)
leads to a reconnection after an exponential backoff (``backoff_initial`` doubling up to
``backoff_max``; reset once a connection delivers frames).  A frame cut by the disconnection is
dropped, never glued to the next connection's bytes.

:attr:`AdsbFeed.state` (:class:`FeedState`) is what the console shows: status (``connecting``,
``connected``, ``reconnecting``, ``stopped``), since when, the last message time, the last
error, counts of connections and messages, and the recent outages.  Framing rejects are in
:attr:`AdsbFeed.counters`.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from airwatch.contact import Contact
from airwatch.decoders.adsb import AdsbDecoder
from airwatch.decoders.adsb.sbs import SbsDecoder
from airwatch.sources.adsb_recording import RawMessage
from airwatch.sources.avr import AvrFramer
from airwatch.sources.beast import BeastFramer, rssi_dbfs
from airwatch.sources.sbs import SbsFramer
from airwatch.sources.settings import DEFAULT_PORTS, FEED_FORMATS

_FRAMERS = {"beast": BeastFramer, "avr": AvrFramer, "sbs": SbsFramer}
_MAX_OUTAGES = 50


@dataclass(slots=True)
class FeedState:
    host: str
    port: int
    fmt: str
    status: str = "idle"  # idle, connecting, connected, reconnecting, stopped
    since: float | None = None  # when the current status began (UNIX seconds)
    last_message_time: float | None = None
    last_error: str | None = None
    connections: int = 0  # successful connections
    attempts: int = 0
    messages: int = 0
    bytes: int = 0
    retry_in: float | None = None  # seconds until the next attempt, while reconnecting
    outages: list[tuple[float, float | None]] = field(default_factory=list)  # (start, end)

    @property
    def connected(self) -> bool:
        return self.status == "connected"

    def seconds_since_message(self, now: float | None = None) -> float | None:
        if self.last_message_time is None:
            return None
        return (time.time() if now is None else now) - self.last_message_time


class AdsbFeed:
    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        fmt: str = "beast",
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        connect_timeout: float = 10.0,
        idle_timeout: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if fmt not in FEED_FORMATS:
            raise ValueError(f"feed format must be one of {FEED_FORMATS}, not {fmt!r}")
        self.host = host
        self.port = DEFAULT_PORTS[fmt] if port is None else port
        self.fmt = fmt
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.clock = clock
        self.framer: BeastFramer | AvrFramer | SbsFramer = _FRAMERS[fmt]()
        self.counters: Counter[str] = self.framer.counters
        self.state = FeedState(host, self.port, fmt)
        self._stop = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._number = 0

    @property
    def name(self) -> str:
        return f"{self.fmt}://{self.host}:{self.port}"

    def stop(self) -> None:
        """Close the feed: a pending read or backoff wait ends at once, iteration stops."""
        self._stop.set()
        if self._writer is not None:
            self._writer.close()  # the reader then sees end of stream

    def _set(self, status: str) -> None:
        st = self.state
        if st.status != status:
            st.status = status
            st.since = self.clock()

    def _outage_begins(self, error: str) -> None:
        st = self.state
        st.last_error = error
        self.counters["feed_disconnects"] += 1
        if not st.outages or st.outages[-1][1] is not None:
            st.outages.append((self.clock(), None))
            del st.outages[:-_MAX_OUTAGES]

    def _outage_ends(self) -> None:
        st = self.state
        if st.outages and st.outages[-1][1] is None:
            st.outages[-1] = (st.outages[-1][0], self.clock())

    async def _pause(self, seconds: float) -> None:
        self.state.retry_in = seconds
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            pass
        self.state.retry_in = None

    async def messages(self) -> AsyncIterator[RawMessage]:
        """Messages as they arrive, across reconnections, until :meth:`stop`."""
        backoff = self.backoff_initial
        st = self.state
        framer = self.framer
        while not self._stop.is_set():
            self._set("connecting" if st.connections == 0 and st.attempts == 0 else "reconnecting")
            st.attempts += 1
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), self.connect_timeout
                )
            except (OSError, TimeoutError) as e:
                self._outage_begins(f"connect: {e or type(e).__name__}")
                self._set("reconnecting")
                await self._pause(backoff)
                backoff = min(backoff * 2, self.backoff_max)
                continue
            self._writer = writer
            if self._stop.is_set():
                writer.close()
                break
            st.connections += 1
            self._set("connected")
            st.last_error = None
            self._outage_ends()
            framer.reset()
            last_frame = self.clock()
            error = "closed by the server"
            try:
                while not self._stop.is_set():
                    wait = max(0.01, self.idle_timeout - (self.clock() - last_frame))
                    try:
                        data = await asyncio.wait_for(reader.read(65536), wait)
                    except TimeoutError:
                        error = f"no frames for {self.idle_timeout:g} s"
                        self.counters["feed_idle_timeouts"] += 1
                        break
                    if not data:
                        break
                    st.bytes += len(data)
                    frames = framer.feed(data)
                    now = self.clock()
                    if not frames:
                        if now - last_frame >= self.idle_timeout:
                            error = f"no frames for {self.idle_timeout:g} s"
                            self.counters["feed_idle_timeouts"] += 1
                            break
                        continue
                    last_frame = now
                    st.last_message_time = now
                    st.messages += len(frames)
                    backoff = self.backoff_initial
                    for fr in frames:
                        self._number += 1
                        yield RawMessage(now, fr.data, rssi_dbfs(fr.signal), self._number)
            except OSError as e:
                error = f"read: {e or type(e).__name__}"
            finally:
                self._writer = None
                writer.close()
                try:
                    await asyncio.wait_for(writer.wait_closed(), 1.0)
                except (OSError, TimeoutError):
                    pass
                except asyncio.CancelledError:
                    raise
            framer.reset()
            if self._stop.is_set():
                break
            self._outage_begins(error)
            self._set("reconnecting")
            await self._pause(backoff)
            backoff = min(backoff * 2, self.backoff_max)
        self._set("stopped")

    async def contacts(self, decoder: AdsbDecoder | SbsDecoder | None = None) -> AsyncIterator[Contact]:
        """Aircraft contacts from this feed (a decoder for its format is made if none is given)."""
        if decoder is None:
            decoder = SbsDecoder(source=self.name) if self.fmt == "sbs" else AdsbDecoder(source=self.name)
        elif decoder.source is None:
            decoder.source = self.name
        decode = decoder.decode
        async for t, data, sig, number in self.messages():
            c = decode(data, t, signal_dbfs=sig, frame=number)
            if c is not None:
                yield c
