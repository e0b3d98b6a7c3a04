"""UNLISTED_UAV: a UAV that broadcasts ADS-B (emitter category B6) and is not expected here.

Small drones may not carry ADS-B Out (14 CFR 107.53), so a B6 target near a border is usually a
large UAS, often a government one (detection-rules.md §3.1): it is a cooperative aircraft, not a
threat, and never a party to the proximity rule.  A site lists the UAVs it expects in
``[correlator] uav_allow_list`` (ICAO addresses or callsigns); any other B6 raises one medium
alert, so the operator looks at it once.
"""

from __future__ import annotations

from airwatch.contact import Contact
from airwatch.correlator.alerts import Finding
from airwatch.correlator.model import AlertType, Classification, Fix, Severity, Track
from airwatch.correlator.rules.base import Rule


class UnlistedUav(Rule):
    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.allowed = frozenset(entry.strip().upper() for entry in ctx.settings.uav_allow_list)

    def on_contact(self, contact: Contact, track: Track, fix: Fix | None, new: bool) -> list[Finding]:
        if track.classification is not Classification.COOPERATIVE_UAV:
            return []
        names = {n.strip().upper() for n in (track.icao, track.callsign) if n}
        if names & self.allowed:
            return []
        who = " ".join(n for n in (track.callsign, track.icao) if n) or track.track_id
        return [Finding(AlertType.UNLISTED_UAV, Severity.MEDIUM, "B6",
                        f"UAV {who} broadcasts ADS-B (emitter category B6) and is not on the allow-list",
                        (track,), contact.time, "b6")]
