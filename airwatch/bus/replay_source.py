"""A ``[[sources]] type = "replay"`` source: captures and recordings played to a sensor as if live.

The same reading as ``airwatch replay`` (:func:`airwatch.inputs.read_inputs`: every input merged
in time order, decoded with the sensor's id and position), handed to ``emit`` one contact at a
time: as fast as the sensor takes them, or paced so that capture time passes ``speed`` times
faster than wall time.  It has the live sources' interface: ``await run(emit)`` and ``health``.

:attr:`ReplaySource.watermark` is the capture time the replay has reached (nothing earlier will
come), which the sensor's heartbeat passes on so the correlator need not wait for this sensor.
"""

from __future__ import annotations

import asyncio
import time as _time
from collections.abc import Callable

from airwatch.config import Settings
from airwatch.contact import Contact
from airwatch.inputs import InputOptions, InputReport, read_inputs
from airwatch.signature_rules import matcher_with
from airwatch.sources.health import SourceHealth
from airwatch.sources.settings import ReplaySource as ReplaySettings
from airwatch.sources.settings import source_name

SLICE = 256  # contacts decoded between two yields to the event loop when not paced


class ReplaySource:
    def __init__(self, source: ReplaySettings, settings: Settings,
                 clock: Callable[[], float] = _time.monotonic) -> None:
        self.source = source
        self.settings = settings
        self.clock = clock
        sensor = settings.sensor
        self.health = SourceHealth(name=source_name(source), kind="replay", sensor_id=sensor.id)
        self.watermark: float | None = None
        self.reports: list[InputReport] = []
        self.finished = False

    async def run(self, emit: Callable[[Contact], None]) -> None:
        sensor = self.settings.sensor
        receiver = (sensor.lat, sensor.lon) if sensor.lat is not None and sensor.lon is not None else None
        options = InputOptions(sensor_id=sensor.id, receiver=receiver, start=self.source.start,
                               signatures=matcher_with(list(self.settings.signatures)))
        contacts, self.reports = read_inputs(list(self.source.inputs), options)
        health, speed = self.health, self.source.speed
        health.set("ok", f"replaying {len(self.source.inputs)} input(s)" + (f" at {speed:g}x" if speed else ""))
        wall0 = capture0 = None
        n = 0
        try:
            for contact in contacts:
                if speed is not None:
                    if wall0 is None:
                        wall0, capture0 = self.clock(), contact.time
                    ahead = (contact.time - capture0) / speed - (self.clock() - wall0)
                    if ahead > 0:
                        self.watermark = capture0 + (self.clock() - wall0) * speed
                        await asyncio.sleep(ahead)
                elif n % SLICE == 0:
                    await asyncio.sleep(0)
                n += 1
                health.count(1, 1)
                self.watermark = contact.time
                emit(contact)
        finally:
            errors = [r.error for r in self.reports if r.error]
            health.errors = len(errors)
            health.set("stopped", errors[0] if errors else f"replay finished: {n} contacts")
            self.finished = True
