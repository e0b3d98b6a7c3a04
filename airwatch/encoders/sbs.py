"""SBS / BaseStation lines as dump1090-fa writes them on port 30003, from decoded ADS-B contacts.

For tests and the benchmark: an SBS recording made from a real Beast recording.  The SBS message
type comes from the contact's Mode S message (``contact.raw``) exactly as in dump1090-fa's
``modesSendSBSOutput``: DF17/18 type code 1-4 -> ``MSG,1``, 5-8 -> 2, 9-18 -> 3, 19 -> 4,
DF4/20 -> 5, DF5/21 -> 6, DF0/16 -> 7, DF11 -> 8; other type codes (GNSS-height positions
20-22, 28, 29, 31) give no line.  Values are written with dump1090's precision: altitude,
ground speed, track and vertical rate as integers, latitude and longitude with 5 decimals,
times in UTC with milliseconds (what dump1090-fa writes when its machine runs in UTC).
"""

from __future__ import annotations

import time as _time

from airwatch.contact import Contact
from airwatch.decoders.adsb.state import FOOT, FT_PER_MIN, KNOT


def sbs_type(raw: bytes) -> int | None:
    """The SBS message type for one Mode S message (None: dump1090 writes no line for it)."""
    if not raw:
        return None
    df = raw[0] >> 3
    if df in (4, 20):
        return 5
    if df in (5, 21):
        return 6
    if df in (0, 16):
        return 7
    if df == 11:
        return 8
    if df in (17, 18) and len(raw) == 14:
        tc = raw[4] >> 3
        if 1 <= tc <= 4:
            return 1
        if 5 <= tc <= 8:
            return 2
        if 9 <= tc <= 18:
            return 3
        if tc == 19:
            return 4
    return None


def _stamp(t: float) -> str:
    secs = int(t)
    ms = int(round((t - secs) * 1000))
    if ms == 1000:
        secs, ms = secs + 1, 0
    tm = _time.gmtime(secs)
    return f"{tm.tm_year:04d}/{tm.tm_mon:02d}/{tm.tm_mday:02d},{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}.{ms:03d}"


def format_sbs(contact: Contact) -> bytes | None:
    """The SBS line (with ``\\r\\n``) dump1090-fa would have written for this contact's message."""
    a = contact.aircraft
    if a is None or contact.raw is None:
        return None
    kind = sbs_type(contact.raw)
    if kind is None:
        return None
    loc = contact.location
    stamp = _stamp(contact.time)
    callsign = f"{a.callsign:<8}" if kind == 1 and a.callsign else ""
    alt = gs = trk = lat = lon = vr = squawk = ""
    if loc is not None:
        if loc.alt_pressure_m is not None:
            alt = f"{round(loc.alt_pressure_m / FOOT)}"
        elif loc.alt_geodetic_m is not None:
            alt = f"{round(loc.alt_geodetic_m / FOOT)}H"
        if loc.speed_horizontal is not None:
            gs = f"{loc.speed_horizontal / KNOT:.0f}"
        if loc.direction is not None and (kind == 2 or a.velocity_source == "ground"):
            trk = f"{loc.direction:.0f}"
        if loc.lat is not None and loc.lon is not None:
            lat, lon = f"{loc.lat:1.5f}", f"{loc.lon:1.5f}"
        if loc.speed_vertical is not None:
            vr = f"{round(loc.speed_vertical / FT_PER_MIN)}" + ("H" if a.vertical_rate_source == "gnss" else "")
    emergency = ""
    if kind == 6 and a.squawk:
        squawk = a.squawk
        emergency = "-1" if squawk in ("7500", "7600", "7700") else "0"
    if kind == 2:
        ground = "-1"
    elif kind == 3:
        ground = "0"
    elif contact.raw[0] >> 3 == 17:  # capability 4: on the ground, 5: airborne
        ground = {4: "-1", 5: "0"}.get(contact.raw[0] & 7, "")
    else:
        ground = ""
    line = (f"MSG,{kind},1,1,{a.icao},1,{stamp},{stamp},{callsign},{alt},{gs},{trk},{lat},{lon},{vr},"
            f"{squawk},,{emergency},,{ground}\r\n")
    return line.encode("ascii")
