"""Contacts as JSON Lines (for scripts) and as one readable line each (for people).

JSON: every field of :class:`~airwatch.contact.Contact`, nested records as objects, unknown
values as ``null``, enumerations as the standard's numbers, raw bytes as hex.  The schema is
documented in ``docs/contact-json.md``.

Readable lines: text that came over the air is printed with control characters escaped, so a
hostile SSID or Self-ID cannot move the cursor, clear the screen or retitle the terminal.
"""

from __future__ import annotations

import time as _time
from typing import Any

import orjson

from airwatch.contact import Contact
from airwatch.decoders.remoteid import enums


def _default(obj: Any) -> Any:
    if isinstance(obj, bytes | bytearray | memoryview):
        return bytes(obj).hex()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


_OPTIONS = orjson.OPT_APPEND_NEWLINE


def contact_json(contact: Contact, raw: bool = True) -> bytes:
    """One JSON line (with its newline) for a contact; ``raw=False`` leaves the payload bytes out."""
    if raw or contact.raw is None:
        return orjson.dumps(contact, default=_default, option=_OPTIONS)
    kept = contact.raw
    contact.raw = None
    try:
        return orjson.dumps(contact, default=_default, option=_OPTIONS)
    finally:
        contact.raw = kept


# C0 and C1 controls, DEL, and the bidirectional overrides that can reorder what a terminal shows
_ESCAPES = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]}
_ESCAPES.update({c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]})
_ESCAPES[ord("\\")] = "\\\\"


def plain(text: str | None) -> str:
    """Broadcast text made safe to print: control characters escaped, nothing interpreted."""
    if text is None:
        return "-"
    return text.translate(_ESCAPES)


def _fmt(value: float | None, unit: str, digits: int = 1) -> str | None:
    return None if value is None else f"{value:.{digits}f}{unit}"


def contact_line(contact: Contact) -> str:
    """A one-line human summary of a contact."""
    c = contact
    t = _time.strftime("%Y-%m-%d %H:%M:%S", _time.gmtime(c.time)) + f".{int(c.time % 1 * 1000):03d}Z"
    parts = [t, c.transport.value]
    if c.channel is not None:
        parts.append(f"ch{c.channel}")
    if c.rssi_dbm is not None:
        parts.append(f"{c.rssi_dbm}dBm")
    if c.transmitter:
        parts.append(c.transmitter)
    for b in c.basic_ids:
        parts.append(f"{enums.name(enums.IdType, b.id_type)}={plain(b.uas_id)!s}")
    if c.dji is not None:
        parts.append(f"dji_serial={plain(c.dji.serial)}")
    if c.french is not None:
        parts.append(f"french_id={plain(c.french.french_id)} serial={plain(c.french.serial)}")
    if c.aircraft is not None:
        a = c.aircraft
        parts.append(f"icao={a.icao}")
        if a.callsign:
            parts.append(f"callsign={plain(a.callsign)}")
    loc = c.location
    if loc is not None:
        if loc.status is not None:
            parts.append(enums.name(enums.OperationalStatus, loc.status))
        parts.append(f"{loc.lat:.7f},{loc.lon:.7f}" if loc.lat is not None and loc.lon is not None else "no-position")
        for label, value in (("baro", loc.alt_pressure_m), ("geo", loc.alt_geodetic_m), ("msl", loc.alt_msl_m)):
            if value is not None:
                parts.append(f"{label}={value:.1f}m")
        if loc.height_m is not None:
            ref = loc.height_ref.value if loc.height_ref is not None else "?"
            parts.append(f"height={loc.height_m:.1f}m({ref})")
        for label, value, unit in (("speed", loc.speed_horizontal, "m/s"), ("vs", loc.speed_vertical, "m/s"),
                                   ("dir", loc.direction, "deg")):
            text = _fmt(value, unit)
            if text is not None:
                parts.append(f"{label}={text}")
    if c.operator is not None:
        parts.append(f"{c.operator.kind}={c.operator.lat:.7f},{c.operator.lon:.7f}")
    if c.home is not None and c.home is not c.operator:
        parts.append(f"{c.home.kind}={c.home.lat:.7f},{c.home.lon:.7f}")
    if c.operator_id is not None:
        parts.append(f"operator_id={plain(c.operator_id.operator_id)}")
    if c.self_id is not None:
        parts.append(f"self_id={plain(c.self_id.description)!s}")
    if c.ssid:
        parts.append(f"ssid={plain(c.ssid)}")
    if c.anomalies:
        parts.append("anomalies=" + ",".join(c.anomalies))
    return " ".join(parts)
