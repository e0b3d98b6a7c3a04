"""The bus between sensors, the correlator and consoles: MQTT, or in-process for one machine.

* :mod:`~airwatch.bus.topics` and :mod:`~airwatch.bus.payload`: what travels (docs/mqtt.md);
* :mod:`~airwatch.bus.base`: the interface every bus has, reconnection, the ordered outbox;
* :mod:`~airwatch.bus.mqtt` (aiomqtt) and :mod:`~airwatch.bus.inproc`: the two buses;
* :mod:`~airwatch.bus.spool`: the sensor's on-disk spool; :mod:`~airwatch.bus.merge`: the
  correlator's ordering, duplicate and gap handling; :mod:`~airwatch.bus.feed`: the console's feed.

The services are :class:`airwatch.sensor.SensorService` and :class:`airwatch.correlate.CorrelateService`.
"""

from airwatch.bus.base import Bus, BusError, BusRefused, BusUnavailable, Message
from airwatch.bus.inproc import InProcessBus

__all__ = ["Bus", "BusError", "BusRefused", "BusUnavailable", "InProcessBus", "Message", "make_bus"]


def make_bus(settings):  # type: ignore[no-untyped-def]
    """The bus of ``settings``: MQTT when ``[mqtt]`` is there, else a new in-process bus."""
    if settings.mqtt is None:
        return InProcessBus()
    from airwatch.bus.mqtt import MqttBus

    return MqttBus(settings.mqtt)
