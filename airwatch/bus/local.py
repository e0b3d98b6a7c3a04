"""One machine, no broker: the sensor and correlate services on an in-process bus, on a worker thread.

For ``airwatch monitor``::

    feed = LocalSite(settings, store=store).feed()   # settings: [sensor], [[sources]], zones, thresholds
    feed.start()     # the site's services on their worker thread, then the console's feed
    ...
    feed.stop()      # the feed, then the services (storage flushed)

The sensor publishes its contacts and status on the :class:`~airwatch.bus.inproc.InProcessBus`
exactly as it would to Mosquitto (its spool lives in memory), the correlator takes them from
there, stores and publishes tracks and alerts, and the feed rebuilds the picture from those, so
the console sees the same thing on a laptop as in a control room far from the sensors.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from airwatch.bus.base import run_in_thread
from airwatch.bus.inproc import InProcessBus
from airwatch.config import Settings

log = logging.getLogger("airwatch.bus.local")


class LocalSite:
    def __init__(self, settings: Settings, *, store: Any | None = None, bus: InProcessBus | None = None,
                 max_hold: float | None = None) -> None:
        from airwatch.correlate import MAX_HOLD_S, CorrelateService
        from airwatch.sensor import SensorService

        self.settings = settings
        self.bus = bus or InProcessBus()
        self.correlate = CorrelateService(settings, self.bus, store=store,
                                          max_hold=MAX_HOLD_S if max_hold is None else max_hold)
        self.sensor = SensorService(settings, self.bus) if settings.sources else None
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    def feed(self) -> Any:
        """A console :class:`~airwatch.console.picture.Feed` that starts and stops this site with it."""
        from airwatch.bus.feed import BusFeed

        site = self

        class LocalFeed(BusFeed):
            def start(self) -> None:
                site.start()
                super().start()

            def stop(self) -> None:
                super().stop()
                site.stop()

            def picture(self):  # type: ignore[no-untyped-def]
                pic = super().picture()
                pic.error = pic.error or site.error
                return pic

        return LocalFeed(self.settings, self.bus, client_id="airwatch-console")

    def start(self) -> None:
        if self._thread is None:
            self._thread = run_in_thread(self._main, "airwatch-local-site", self._failed)
            self.correlate.ready.wait(10.0)

    def _failed(self, e: BaseException) -> None:
        self.error = f"{type(e).__name__}: {e}"

    async def _main(self) -> None:
        correlating = asyncio.create_task(self.correlate.run())
        while not self.correlate.ready.is_set() and not correlating.done():
            await asyncio.sleep(0.01)
        services = [correlating]
        if self.sensor is not None:
            services.append(asyncio.create_task(self.sensor.run()))
        await asyncio.gather(*services)

    def stop(self) -> None:
        if self.sensor is not None:
            self.sensor.stop()
        self.correlate.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
