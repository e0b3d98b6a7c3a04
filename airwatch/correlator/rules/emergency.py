"""EMERGENCY: the drone itself says it is in trouble (RID-11, RID-12).

An emergency status and an emergency Self-ID are one event: one alert.
"""

from __future__ import annotations

from airwatch.contact import Contact
from airwatch.correlator.alerts import Finding
from airwatch.correlator.model import AlertType, Fix, Severity, Track
from airwatch.correlator.rules.base import Rule
from airwatch.decoders.remoteid.enums import DescriptionType, OperationalStatus


class Emergency(Rule):
    def on_contact(self, contact: Contact, track: Track, fix: Fix | None, new: bool) -> list[Finding]:
        found = []
        loc = contact.location
        who = track.uas_id or track.track_id
        if loc is not None and loc.status == OperationalStatus.EMERGENCY:
            found.append(Finding(AlertType.EMERGENCY, Severity.HIGH, "RID-11",
                                 f"{who} declares an emergency (Remote ID status 3)", (track,), contact.time, "emergency"))
        elif loc is not None and loc.status == OperationalStatus.REMOTE_ID_SYSTEM_FAILURE:
            found.append(Finding(AlertType.EMERGENCY, Severity.HIGH, "RID-12",
                                 f"{who} reports a Remote ID system failure (status 4)", (track,), contact.time,
                                 "failure"))
        if contact.self_id is not None and contact.self_id.description_type == DescriptionType.EMERGENCY:
            found.append(Finding(AlertType.EMERGENCY, Severity.HIGH, "RID-11",
                                 f"{who} sends an emergency description", (track,), contact.time, "emergency"))
        return found
