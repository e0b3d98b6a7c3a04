"""SBS / BaseStation lines (dump1090 and readsb port 30003) to aircraft contacts (pure, no I/O).

One line, 22 comma-separated fields, ``\\r\\n`` at the end (dump1090-fa ``modesSendSBSOutput``,
after the "Barebones42" socket data description)::

    MSG,3,1,1,4CA2D6,1,2024/05/01,10:00:00.123,2024/05/01,10:00:00.125,,35000,,,52.31234,4.76123,,,0,,0,0
    0   1 2 3 4      5 6          7            8          9            10 11  12 13 14 15     16..21

    type  1 identification (callsign)           5 DF4/20 altitude
          2 surface position (gs, track, pos)   6 DF5/21 squawk
          3 airborne position (alt, pos)        7 DF0/16 air-air, 8 DF11 all-call (both skipped)
          4 velocity (gs, track, vertical rate)
    fields 10 callsign, 11 altitude (ft; an ``H`` suffix means GNSS height, otherwise barometric),
          12 ground speed (kt), 13 track (deg), 14/15 lat/lon (5 decimals), 16 vertical rate
          (ft/min, ``H`` = GNSS), 17 squawk (4 octal digits), 18-21 flags alert, emergency, SPI,
          on ground (``-1`` true, ``0`` false)

Empty fields are normal (each type fills only its own).  A vertical rate without ``H`` is taken
as barometric (dump1090 and readsb write the barometric rate when the aircraft sends one).
``MSG,5`` and ``MSG,6`` give a contact only when the altitude or squawk changes, as DF4/5
replies do with ``AdsbDecoder`` (repeats: ``surveillance_unchanged``).  Fields 6/7 are the time the message was
generated (``YYYY/MM/DD``, ``HH:MM:SS.mmm``); :func:`parse_sbs` reads them as UTC.  SBS carries
positions already decoded by the receiver: there is no CPR here, and no CRC.

:func:`parse_sbs` turns one line into an :class:`SbsMessage` or counts why not, and
:class:`SbsDecoder` keeps the per-aircraft state (the same :class:`~.state.AircraftTable` as
:class:`~.decode.AdsbDecoder`: bounded, evicted after ``ttl``) and makes the same contacts:
``transport=ADSB``, an :class:`~airwatch.contact.Aircraft` with what is known of the aircraft so
far, a :class:`~airwatch.contact.Location` with what the line said, SI units.  Its ``decode``
has :meth:`AdsbDecoder.decode`'s signature, so feeds and recordings drive either decoder.
``position_method`` is None (the receiver decoded the position), ``raw`` the line's bytes.

Rejected lines never raise; every reason has a counter (``sbs_overlong``, ``sbs_not_ascii``,
``sbs_not_msg``, ``sbs_field_count``, ``sbs_bad_type``, ``sbs_bad_icao``, ``sbs_bad_time``,
``sbs_bad_altitude``, ``sbs_bad_speed``, ``sbs_bad_track``, ``sbs_bad_position``,
``sbs_bad_vertical_rate``, ``sbs_bad_squawk``, ``sbs_bad_flag``).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import NamedTuple

from airwatch.contact import Aircraft, Contact, Location, Transport
from airwatch.decoders.adsb.state import FOOT, FT_PER_MIN, KNOT, AircraftTable, haversine_km

#: Longest line accepted (a full dump1090 line is about 130 bytes).
MAX_LINE = 512
FIELDS = 22
#: Counters that mean a line was refused.
SBS_REFUSALS = frozenset({
    "sbs_overlong", "sbs_not_ascii", "sbs_not_msg", "sbs_field_count", "sbs_bad_type", "sbs_bad_icao",
    "sbs_bad_time", "sbs_bad_altitude", "sbs_bad_speed", "sbs_bad_track", "sbs_bad_position",
    "sbs_bad_vertical_rate", "sbs_bad_squawk", "sbs_bad_flag", "sbs_no_time",
})
_HEX = frozenset("0123456789ABCDEFabcdef")
_OCTAL = frozenset("01234567")
_CALLSIGN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ")
_FLAGS = {"": None, "0": False, "-1": True, "1": True}
_DF = {1: 17, 2: 17, 3: 17, 4: 17, 5: 4, 6: 5}
_MAX_NUMBER = 16  # characters of one numeric field
_dates: dict[str, float | None] = {}


class SbsMessage(NamedTuple):
    type: int  # 1..8
    icao: str  # 6 upper-case hex digits; "~" + 6 for a non-ICAO address (readsb)
    time: float | None  # the generated date and time as UTC, UNIX seconds; None when empty
    callsign: str | None  # stripped; None when empty or not a valid callsign
    callsign_bad: bool  # the field held something that is not a callsign
    alt_ft: float | None
    alt_gnss: bool  # altitude had the "H" suffix
    gs_kt: float | None
    track: float | None
    lat: float | None
    lon: float | None
    vrate_fpm: float | None
    vrate_gnss: bool
    squawk: str | None
    alert: bool | None
    emergency: bool | None
    spi: bool | None
    on_ground: bool | None


class _Reject(Exception):
    """A line refused, with the counter key (raised and caught inside :func:`parse_sbs` only)."""


def _gnss_marked(text: str, lo: float, hi: float, reason: str) -> tuple[float | None, bool]:
    """An altitude or vertical rate field: the number, and whether an ``H`` suffix marks it GNSS."""
    if not text:
        return None, False
    gnss = text[-1] == "H"
    if gnss:
        text = text[:-1]
        if not text:
            raise _Reject(reason)
    return _number(text, lo, hi, reason), gnss


def _number(s: str, lo: float, hi: float, reason: str) -> float:
    body = s[1:] if s[0] == "-" else s
    if len(s) > _MAX_NUMBER or not (body.isdigit() or (body.count(".") == 1 and body.replace(".", "").isdigit())):
        raise _Reject(reason)
    v = float(s)
    if not lo <= v <= hi:  # also false for NaN (which cannot get here)
        raise _Reject(reason)
    return v


def _date(text: str) -> float | None:
    """UNIX seconds of midnight UTC of ``YYYY/MM/DD`` (cached: a recording has few dates)."""
    midnight = _dates.get(text, -1.0)
    if midnight != -1.0:
        return midnight
    midnight = None
    parts = text.split("/")
    if len(parts) == 3 and [len(p) for p in parts] == [4, 2, 2] and all(p.isdigit() for p in parts):
        try:
            midnight = datetime(int(parts[0]), int(parts[1]), int(parts[2]), tzinfo=UTC).timestamp()
        except ValueError:
            midnight = None
        if midnight is not None and midnight < 0:
            midnight = None
    if len(_dates) > 1024:
        _dates.clear()
    _dates[text] = midnight
    return midnight


def _time(date: str, clock: str) -> float | None:
    if not date and not clock:
        return None
    midnight = _date(date)
    if midnight is None or len(clock) < 8 or len(clock) > 18 or clock[2] != ":" or clock[5] != ":":
        raise _Reject("sbs_bad_time")
    hh, mm, ss = clock[:2], clock[3:5], clock[6:]
    if not (hh.isdigit() and mm.isdigit() and ss[:2].isdigit()):
        raise _Reject("sbs_bad_time")
    if len(ss) > 2 and not (ss[2] == "." and (len(ss) == 3 or ss[3:].isdigit())):
        raise _Reject("sbs_bad_time")
    h, m, s = int(hh), int(mm), float(ss)
    if h > 23 or m > 59 or s >= 61.0:
        raise _Reject("sbs_bad_time")
    return midnight + h * 3600 + m * 60 + s


def parse_sbs(line: bytes | bytearray | memoryview | str, counters: Counter[str] | None = None) -> SbsMessage | None:
    """One SBS line (with or without its line end) as an :class:`SbsMessage`; None, counted, if refused."""
    try:
        return _parse(line)
    except _Reject as e:
        if counters is not None:
            counters[e.args[0]] += 1
        return None


def _parse(line: bytes | bytearray | memoryview | str) -> SbsMessage:
    if len(line) > MAX_LINE:
        raise _Reject("sbs_overlong")
    if isinstance(line, str):
        text = line
        if not text.isascii():
            raise _Reject("sbs_not_ascii")
    else:
        try:
            text = bytes(line).decode("ascii")
        except UnicodeDecodeError:
            raise _Reject("sbs_not_ascii") from None
    f = text.rstrip("\r\n").split(",")
    if f[0] != "MSG":
        raise _Reject("sbs_not_msg")
    if len(f) != FIELDS:
        raise _Reject("sbs_field_count")
    kind = f[1]
    if len(kind) != 1 or not "1" <= kind <= "8":
        raise _Reject("sbs_bad_type")
    icao = f[4]
    non_icao = icao[:1] == "~"
    hexpart = icao[1:] if non_icao else icao
    if len(hexpart) != 6 or not _HEX.issuperset(hexpart):
        raise _Reject("sbs_bad_icao")
    icao = icao.upper()
    t = _time(f[6], f[7])

    cs = f[10]
    callsign = None
    callsign_bad = False
    if cs:
        cs = cs.strip()
        if len(cs) <= 8 and _CALLSIGN.issuperset(cs):
            callsign = cs or None
        else:
            callsign_bad = True

    alt_ft, alt_gnss = _gnss_marked(f[11], -2000.0, 130000.0, "sbs_bad_altitude")
    gs = _number(f[12], 0.0, 4000.0, "sbs_bad_speed") if f[12] else None
    trk = _number(f[13], 0.0, 360.0, "sbs_bad_track") if f[13] else None
    la, lo = f[14], f[15]
    lat = lon = None
    if la or lo:
        if not (la and lo):
            raise _Reject("sbs_bad_position")
        lat = _number(la, -90.0, 90.0, "sbs_bad_position")
        lon = _number(lo, -180.0, 180.0, "sbs_bad_position")
    vr, vr_gnss = _gnss_marked(f[16], -40000.0, 40000.0, "sbs_bad_vertical_rate")
    sq = f[17]
    if sq and (len(sq) != 4 or not _OCTAL.issuperset(sq)):
        raise _Reject("sbs_bad_squawk")
    try:
        alert, emergency, spi, ground = _FLAGS[f[18]], _FLAGS[f[19]], _FLAGS[f[20]], _FLAGS[f[21]]
    except KeyError:
        raise _Reject("sbs_bad_flag") from None
    return SbsMessage(int(kind), icao, t, callsign, callsign_bad, alt_ft, alt_gnss, gs, trk, lat, lon,
                      vr, vr_gnss, sq or None, alert, emergency, spi, ground)


class SbsDecoder:
    """SBS lines of one feed or recording to aircraft contacts (the SBS twin of ``AdsbDecoder``).

    ``receiver`` and ``max_range_km``: positions farther than that from the receiver are refused
    (``position_out_of_range``; the contact keeps the rest, with ``anomalies=["position"]``).
    ``sensor_id`` and ``source`` are copied into every contact.  The receiver upstream has
    already paired CPR frames and checked them; this decoder checks ranges only.
    """

    def __init__(
        self,
        *,
        receiver: tuple[float, float] | None = None,
        max_range_km: float | None = None,
        sensor_id: str | None = None,
        source: str | None = None,
        ttl: float = 300.0,
    ) -> None:
        self.counters: Counter[str] = Counter()
        self.table = AircraftTable(receiver=receiver, max_range_km=max_range_km, counters=self.counters, ttl=ttl)
        self.receiver = receiver
        self.max_range_km = max_range_km
        self.sensor_id = sensor_id
        self.source = source

    def parse(self, line: bytes | str) -> SbsMessage | None:
        return parse_sbs(line, self.counters)

    def decode(
        self,
        msg: bytes | str | SbsMessage,
        t: float,
        *,
        signal_dbfs: float | None = None,
        frame: int | None = None,
    ) -> Contact | None:
        """One line (or an already parsed message) received at ``t`` to at most one contact."""
        raw = None
        if not isinstance(msg, SbsMessage):
            raw = msg.encode("ascii", "replace") if isinstance(msg, str) else bytes(msg)
            parsed = parse_sbs(msg, self.counters)
            if parsed is None:
                return None
            msg = parsed
            raw = raw.rstrip(b"\r\n")
        return self.apply(msg, t, frame=frame, raw=raw)

    def apply(self, m: SbsMessage, t: float, *, frame: int | None = None, raw: bytes | None = None) -> Contact | None:
        counters = self.counters
        counters["messages"] += 1
        kind = m.type
        if kind >= 7:  # DF0/16 air-air and DF11 all-call: AdsbDecoder skips these too
            counters["df_ignored"] += 1
            return None
        st = self.table.touch(m.icao, "adsb", t)
        anomalies = None
        if m.callsign is not None:
            st.callsign = m.callsign
        elif m.callsign_bad:
            anomalies = ["callsign"]
        if kind == 5:
            if m.alt_ft is None:
                counters["surveillance_no_altitude"] += 1
                return None
            if m.alt_ft == st.modes_alt_ft:
                counters["surveillance_unchanged"] += 1
                return None
            st.modes_alt_ft = m.alt_ft
        elif kind == 6:
            if m.squawk is None:
                counters["surveillance_no_squawk"] += 1
                return None
            if m.squawk == st.squawk:
                counters["surveillance_unchanged"] += 1
                return None
        if m.squawk is not None:
            st.squawk = m.squawk
        if m.on_ground is not None:
            st.on_ground = m.on_ground
        elif kind == 2:
            st.on_ground = True
        elif kind == 3 and m.lat is not None:
            st.on_ground = False

        location = None
        if m.alt_ft is not None or m.gs_kt is not None or m.track is not None or m.lat is not None \
                or m.vrate_fpm is not None:
            location = Location(time=t)
            if m.alt_ft is not None:
                if m.alt_gnss:
                    location.alt_geodetic_m = m.alt_ft * FOOT
                else:
                    location.alt_pressure_m = m.alt_ft * FOOT
            if m.gs_kt is not None:
                location.speed_horizontal = m.gs_kt * KNOT
            location.direction = m.track
            if m.vrate_fpm is not None:
                location.speed_vertical = m.vrate_fpm * FT_PER_MIN
            lat = m.lat
            if lat is not None:
                if self._plausible(lat, m.lon):  # type: ignore[arg-type]
                    location.lat, location.lon = lat, m.lon
                    st.lat, st.lon, st.pos_t, st.pos_surface = lat, m.lon, t, kind == 2
                    if kind == 3:
                        if st.first_position_frame is None:
                            st.first_position_frame = t
                        if st.first_fix is None:
                            st.first_fix = t
                else:
                    anomalies = (anomalies or []) + ["position"]
        counters["contacts"] += 1
        contact = Contact(
            time=t, transport=Transport.ADSB, sensor_id=self.sensor_id, source=self.source, frame=frame,
            transmitter=st.key.lower(), location=location, raw=raw,
            aircraft=Aircraft(
                icao=st.key, df=_DF[kind], source="adsb" if kind <= 4 else "modes", callsign=st.callsign,
                squawk=st.squawk, on_ground=st.on_ground,
                velocity_source="ground" if kind == 4 and m.gs_kt is not None else None,
                vertical_rate_source=("gnss" if m.vrate_gnss else "baro") if m.vrate_fpm is not None else None,
            ),
        )
        if anomalies:
            contact.anomalies = anomalies
        return contact

    def _plausible(self, lat: float, lon: float) -> bool:
        if lat == 0.0 and lon == 0.0:  # "no position", never a point off Africa
            self.counters["position_invalid"] += 1
            return False
        rx = self.receiver
        if rx is not None and self.max_range_km is not None and haversine_km(rx[0], rx[1], lat, lon) > self.max_range_km:
            self.counters["position_out_of_range"] += 1
            return False
        return True
