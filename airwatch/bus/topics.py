"""MQTT topic names, version 1 (the full table, with payloads, is in docs/mqtt.md).

Everything lives under ``MqttSettings.topic_prefix`` (default ``airwatch/v1``; the ``v1`` is the
version of these topics and payloads):

=====================================  ========  ===========================================
``{prefix}/sensors/{id}/contacts/{k}``  QoS 1     contacts of kind ``k`` (remoteid, dji, french,
                                                   wifi, adsb), in batches
``{prefix}/sensors/{id}/status``        retained  heartbeat and status; the last will says "down"
``{prefix}/correlator/status``          retained  the correlator's own status; last will "down"
``{prefix}/tracks/{track id}``          retained  a track's state, at most about once a second;
                                                   an empty payload clears an ended track
``{prefix}/alerts``                     events    alerts raised, updated and acknowledged
``{prefix}/state/alerts``               retained  the most recent alerts, for a console that joins
``{prefix}/acks``                       QoS 1     acknowledgements from consoles
=====================================  ========  ===========================================

Identifiers that go into a topic level (sensor ids, track ids, which can hold broadcast text
written by strangers) are escaped: ``/``, ``+``, ``#``, ``%`` and control characters become
``%XX``, so a hostile Remote ID serial cannot add levels or wildcards.
"""

from __future__ import annotations

from airwatch.contact import Transport

KINDS: dict[Transport, str] = {
    Transport.WIFI_BEACON: "remoteid", Transport.WIFI_NAN: "remoteid", Transport.BT4_LEGACY: "remoteid",
    Transport.BT5_LONG_RANGE: "remoteid", Transport.DJI_DRONEID: "dji", Transport.FRENCH_BEACON: "french",
    Transport.WIFI_SIGNATURE: "wifi", Transport.ADSB: "adsb",
}

_UNSAFE = {c: f"%{c:02X}" for c in [*range(0x20), 0x7F, ord("/"), ord("+"), ord("#"), ord("%")]}


def escape(level: str) -> str:
    """A string made safe as one topic level (reversible with :func:`unescape`)."""
    return level.translate(_UNSAFE)


def unescape(level: str) -> str:
    if "%" not in level:
        return level
    out, i = [], 0
    while i < len(level):
        c = level[i]
        if c == "%" and _hex(level[i + 1:i + 3]):
            out.append(chr(int(level[i + 1:i + 3], 16)))
            i += 3
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789ABCDEFabcdef" for c in text)


class Topics:
    """The topic names under one prefix."""

    def __init__(self, prefix: str = "airwatch/v1") -> None:
        self.prefix = prefix.rstrip("/")
        p = self.prefix
        self.all_contacts = f"{p}/sensors/+/contacts/#"
        self.all_status = f"{p}/sensors/+/status"
        self.all_tracks = f"{p}/tracks/+"
        self.alerts = f"{p}/alerts"
        self.alert_state = f"{p}/state/alerts"
        self.acks = f"{p}/acks"
        self.correlator_status = f"{p}/correlator/status"
        self._sensors = f"{p}/sensors/"
        self._tracks = f"{p}/tracks/"

    def contacts(self, sensor_id: str, kind: str) -> str:
        return f"{self._sensors}{escape(sensor_id)}/contacts/{kind}"

    def status(self, sensor_id: str) -> str:
        return f"{self._sensors}{escape(sensor_id)}/status"

    def track(self, track_id: str) -> str:
        return f"{self._tracks}{escape(track_id)}"

    def parse(self, topic: str) -> tuple[str, str | None, str | None]:
        """What a topic is: ``("contacts", sensor id, kind)``, ``("status", sensor id, None)``,
        ``("track", track id, None)``, ``("alerts"|"alert_state"|"acks"|"correlator", None, None)``
        or ``("other", None, None)``."""
        if topic.startswith(self._sensors):
            parts = topic[len(self._sensors):].split("/")
            if len(parts) == 3 and parts[1] == "contacts":
                return "contacts", unescape(parts[0]), parts[2]
            if len(parts) == 2 and parts[1] == "status":
                return "status", unescape(parts[0]), None
            return "other", None, None
        if topic.startswith(self._tracks):
            rest = topic[len(self._tracks):]
            return ("track", unescape(rest), None) if "/" not in rest else ("other", None, None)
        named = {self.alerts: "alerts", self.alert_state: "alert_state", self.acks: "acks",
                 self.correlator_status: "correlator"}
        return named.get(topic, "other"), None, None
