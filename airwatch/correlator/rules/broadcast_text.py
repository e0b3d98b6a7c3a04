"""SPOOFING, what a drone writes (detection-rules.md §2.5 C): SP-14, control characters or markup.

A UAS ID, Self-ID, operator ID or SSID carrying control characters (terminal escapes, bells) or
Rich/Textual markup (``[b]``, ``[@click=...]``) is an attack on whoever displays it: a real drone
has no reason to send them.  airwatch always shows them escaped, and says so once per field.
"""

from __future__ import annotations

import re

from airwatch.contact import Contact
from airwatch.correlator.alerts import Finding
from airwatch.correlator.model import AlertType, Fix, Severity, Track, TrackKind
from airwatch.correlator.rules.base import Rule

#: Rich/Textual markup tags ([b], [/], [@click=...], [#ff0000]) in broadcast text
MARKUP = re.compile(r"\[/?[@#a-zA-Z]?[^\[\]]*\]")


class BroadcastText(Rule):
    def on_contact(self, contact: Contact, track: Track, fix: Fix | None, new: bool) -> list[Finding]:
        if track.kind is not TrackKind.DRONE:
            return []
        return self._text(contact, track, track.uas_id or track.track_id, contact.time)

    @staticmethod
    def _text(contact: Contact, track: Track, who: str, now: float) -> list[Finding]:
        """SP-14: control characters or markup in the strings a drone broadcasts.  They are always
        shown escaped; a real drone has no reason to send them."""
        fields = [("UAS ID", b.uas_id) for b in contact.basic_ids]
        if contact.self_id is not None:
            fields.append(("Self-ID", contact.self_id.description))
        if contact.operator_id is not None:
            fields.append(("operator ID", contact.operator_id.operator_id))
        if contact.ssid:
            fields.append(("SSID", contact.ssid))
        found = []
        for name, value in fields:
            if not value:
                continue
            if not value.isprintable():
                what = "control characters"
            elif MARKUP.search(value):
                what = "markup"
            else:
                continue
            found.append(Finding(AlertType.SPOOFING, Severity.MEDIUM, "SP-14",
                                 f"{who}: the {name} carries {what}: {value!r}", (track,), now, f"text:{name}"))
        return found
