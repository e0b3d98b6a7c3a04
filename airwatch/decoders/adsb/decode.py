"""One Mode S message in, at most one aircraft contact out.

:class:`AdsbDecoder` is pure (no I/O): sources hand it the message bytes (7 or 14; a short
message padded to 14 bytes is cut back to 7) with their receive time, and it returns a
:class:`~airwatch.contact.Contact` with ``transport=ADSB`` or ``None``.

What it reads:

* DF17 (ADS-B) and DF18 (CF 0/1 non-transponder ADS-B, CF 2/5 fine TIS-B, CF 6 ADS-R; coarse
  TIS-B and management messages are skipped).  CRC must be zero.  Type codes used:
  1-4 identification and emitter category, 5-8 surface position, 9-18 airborne position with
  barometric altitude, 19 velocity, 20-22 airborne position with GNSS height, 28 emergency and
  squawk, 29 and 31 (NACp, ADS-B version; state only, no contact).  Others are dropped before
  any decoding: the pre-filter is two integer operations on the first bytes.
* DF4/20 (altitude) and DF5/21 (squawk): only for an address heard in a CRC-valid extended
  squitter in the last ``known_ttl`` seconds, since their address is the parity remainder and
  any corrupted reply yields *some* address.  A DF4/20 altitude that disagrees with the
  aircraft's ADS-B altitude is dropped (a CRC collision).  These replies repeat the same value
  several times a second, so they give a contact only when the value changes (the squawk, or
  the altitude since the last surveillance reply); repeats are counted as
  ``surveillance_unchanged``.
* Everything else (DF0/11/16/24, Mode A/C) is counted and skipped.

Field decoding is pyModeS 3's (``Message.decode``, ``pyModeS.util.altcode/idcode``), CPR
arithmetic is ``pyModeS.position``; pairing, local decoding and plausibility live in
:mod:`.state`.

Each contact carries what its message said in ``location`` (position, altitude, velocity) plus
the aircraft's identity and quality as known so far in ``aircraft`` (callsign, emitter category,
squawk, NACp/NACv, GNSS-minus-baro difference).  Units are SI: metres, m/s, degrees.
Barometric altitude goes to ``alt_pressure_m``, GNSS height to ``alt_geodetic_m``.

Rejected input never raises: every reason has a counter in :attr:`AdsbDecoder.counters`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pyModeS import Message
from pyModeS.util import altcode, idcode

from airwatch.contact import Aircraft, Contact, Location, Transport
from airwatch.decoders.adsb.state import FOOT, FT_PER_MIN, KNOT, AircraftTable, AircraftState

# DF17/18 type codes worth decoding (0 = no position, 23 test, 24-27 reserved, 30 reserved)
USEFUL_TC = frozenset(range(1, 23)) | {28, 29, 31}
_CONTACT_TC = frozenset(range(1, 23)) | {28}
# DF18 control field -> source; CF 3 (coarse TIS-B), 4 (management) and 7 are skipped
DF18_SOURCE = {0: "adsb", 1: "adsb", 2: "tisb", 5: "tisb", 6: "adsr"}
DF18_NON_ICAO = frozenset((1, 5))
_EMITTER_SET = {4: "A", 3: "B", 2: "C", 1: "D"}
_SHORT_DF = frozenset((0, 4, 5, 11))
_SURV_DF = frozenset((4, 5, 20, 21))


class AdsbDecoder:
    """Mode S / ADS-B messages of one receiver (or one merged stream) to aircraft contacts.

    ``receiver``: (lat, lon) of the receiver, used for surface positions and, with
    ``max_range_km`` under 180 NM, for airborne local decoding; ``max_range_km`` also rejects
    positions beyond it.  ``sensor_id`` and ``source`` are copied into every contact.
    """

    def __init__(
        self,
        *,
        receiver: tuple[float, float] | None = None,
        max_range_km: float | None = None,
        sensor_id: str | None = None,
        source: str | None = None,
        known_ttl: float = 60.0,
        surveillance: bool = True,
    ) -> None:
        self.counters: Counter[str] = Counter()
        self.table = AircraftTable(
            receiver=receiver, max_range_km=max_range_km, counters=self.counters
        )
        self.sensor_id = sensor_id
        self.source = source
        self.known_ttl = known_ttl
        self.surveillance = surveillance

    # The hot path: keep it flat.
    def decode(
        self,
        msg: bytes,
        t: float,
        *,
        signal_dbfs: float | None = None,
        frame: int | None = None,
    ) -> Contact | None:
        counters = self.counters
        counters["messages"] += 1
        n = len(msg)
        if n == 14 or n == 7:
            df = msg[0] >> 3
        elif n == 2:
            counters["mode_ac_ignored"] += 1
            return None
        else:
            counters["bad_length"] += 1
            return None
        if df == 17 or df == 18:
            if n != 14:
                counters["bad_length"] += 1
                return None
            tc = msg[4] >> 3
            if tc not in USEFUL_TC:
                counters["es_tc_ignored"] += 1
                return None
            return self._extended_squitter(msg, df, tc, t, signal_dbfs, frame)
        if n == 14 and df in _SHORT_DF:
            if msg[7:] == b"\x00\x00\x00\x00\x00\x00\x00":
                msg = msg[:7]  # padded to 28 hex digits by the feed
                n = 7
                counters["short_padding_removed"] += 1
            else:
                counters["bad_length"] += 1
                return None
        if df in _SURV_DF:
            if not self.surveillance:
                counters["df_ignored"] += 1
                return None
            if (n == 7) != (df < 16):
                counters["bad_length"] += 1
                return None
            return self._surveillance(msg, df, t, signal_dbfs, frame)
        counters["df_ignored"] += 1
        return None

    # ------------------------------------------------------------------ DF17/18

    def _extended_squitter(
        self,
        msg: bytes,
        df: int,
        tc: int,
        t: float,
        signal_dbfs: float | None,
        frame: int | None,
    ) -> Contact | None:
        counters = self.counters
        if df == 18:
            cf = msg[0] & 7
            source = DF18_SOURCE.get(cf)
            if source is None:
                counters["df18_cf_ignored"] += 1
                return None
        else:
            cf = -1
            source = "adsb"
        m = Message(msg)
        if m.crc:
            counters["crc_failed"] += 1
            return None
        d = m.decode()
        key = m.icao
        if cf in DF18_NON_ICAO:
            key = "~" + key
        table = self.table
        st = table.touch(key, source, t)
        location = None
        method = None
        anomalies: list[str] | None = None
        velocity_source = heading = airspeed = airspeed_type = vr_source = None

        if 9 <= tc <= 22 and tc != 19:
            alt = d.get("altitude")
            if tc <= 18:
                if not table.check_altitude(st, t, alt):
                    return None
                location = Location(alt_pressure_m=None if alt is None else alt * FOOT, time=t)
            else:
                location = Location(alt_geodetic_m=None if alt is None else alt * FOOT, time=t)
            pos = table.airborne(st, t, d["cpr_format"], d["cpr_lat"], d["cpr_lon"])
            if pos is not None:
                location.lat, location.lon, method = pos
            elif st.rejected and st.rejected[-1][2] == t:
                anomalies = ["position"]
        elif tc == 19:
            sub = d.get("subtype")
            vr = d.get("vertical_rate")
            location = Location(speed_vertical=None if vr is None else vr * FT_PER_MIN, time=t)
            if vr is not None:
                vr_source = "baro" if d.get("vr_source") == "BARO" else "gnss"
            if sub == 1 or sub == 2:
                gs = d.get("groundspeed")
                trk = d.get("track")
                if not table.check_velocity(st, t, gs, trk):
                    return None
                velocity_source = "ground"
                if gs is not None:
                    location.speed_horizontal = gs * KNOT
                    location.direction = trk
            elif sub == 3 or sub == 4:
                velocity_source = "air"
                heading = d.get("heading")
                a = d.get("airspeed")
                if a is not None:
                    airspeed = a * KNOT
                    airspeed_type = d.get("airspeed_type")
            else:
                counters["velocity_subtype_ignored"] += 1
                return None
            st.nac_v = d.get("nac_v")
            gmb = d.get("geo_minus_baro")
            if gmb is not None:
                st.gnss_baro_diff_m = gmb * FOOT
        elif tc <= 4:
            cs = d.get("callsign")
            if cs and "#" not in cs:
                st.callsign = cs
            elif cs:
                anomalies = ["callsign"]
            cat = d.get("category")
            st.category = f"{_EMITTER_SET[tc]}{cat}" if cat and tc > 1 else None
        elif tc <= 8:
            gs = d.get("groundspeed")
            location = Location(
                speed_horizontal=None if gs is None else gs * KNOT,
                direction=d.get("track"),
                time=t,
            )
            pos = table.surface(st, t, d["cpr_format"], d["cpr_lat"], d["cpr_lon"])
            if pos is not None:
                location.lat, location.lon, method = pos
            elif st.rejected and st.rejected[-1][2] == t:
                anomalies = ["position"]
            st.on_ground = True
        elif tc == 28:
            if d.get("subtype") != 1:
                counters["es_tc_ignored"] += 1
                return None
            st.squawk = d.get("squawk")
            st.emergency = d.get("emergency_state")
        else:  # 29, 31: quality and version only
            nac_p = d.get("nac_p")
            if nac_p is not None:
                st.nac_p = nac_p
            if tc == 31:
                st.version = d.get("version")
            counters["es_state_only"] += 1
            return None

        contact = self._contact(st, t, df, source, location, msg, frame, signal_dbfs,
                                velocity_source=velocity_source, heading=heading, airspeed=airspeed,
                                airspeed_type=airspeed_type, vertical_rate_source=vr_source,
                                position_method=method)
        if anomalies:
            contact.anomalies = anomalies
        return contact

    # ------------------------------------------------------------------ DF4/5/20/21

    def _surveillance(
        self, msg: bytes, df: int, t: float, signal_dbfs: float | None, frame: int | None
    ) -> Contact | None:
        counters = self.counters
        m = Message(msg)
        st: AircraftState | None = self.table.get(m.icao)  # parity remainder = address
        if st is None or abs(t - st.last_es) > self.known_ttl:
            counters["surveillance_unknown_address"] += 1
            return None
        if t > st.last_seen:
            st.last_seen = t
        hexmsg = msg.hex()
        location = None
        if df == 4 or df == 20:
            alt = altcode(hexmsg)
            if alt is None:
                counters["surveillance_no_altitude"] += 1
                return None
            if not self.table.altitude_agrees(st, t, alt):
                counters["surveillance_altitude_mismatch"] += 1
                return None
            if alt == st.modes_alt_ft:
                counters["surveillance_unchanged"] += 1
                return None
            st.modes_alt_ft = alt
            location = Location(alt_pressure_m=alt * FOOT, time=t)
        else:
            sq = idcode(hexmsg)
            if sq is None:
                counters["surveillance_no_squawk"] += 1
                return None
            if sq == st.squawk:
                counters["surveillance_unchanged"] += 1
                return None
            st.squawk = sq
        return self._contact(st, t, df, "modes", location, msg, frame, signal_dbfs)

    def _contact(self, st: AircraftState, t: float, df: int, source: str, location: Location | None,
                 msg: bytes, frame: int | None, signal_dbfs: float | None, **state: Any) -> Contact:
        """The contact for one message: the aircraft's identity and state, plus what it said."""
        self.counters["contacts"] += 1
        return Contact(
            time=t, transport=Transport.ADSB, sensor_id=self.sensor_id, source=self.source, frame=frame,
            transmitter=st.key.lower(), location=location, raw=msg,
            aircraft=Aircraft(
                icao=st.key, df=df, source=source, callsign=st.callsign, emitter_category=st.category,
                squawk=st.squawk, on_ground=st.on_ground, nac_p=st.nac_p, nac_v=st.nac_v,
                gnss_baro_diff_m=st.gnss_baro_diff_m, emergency=st.emergency, adsb_version=st.version,
                signal_dbfs=signal_dbfs, **state,
            ),
        )

    # ------------------------------------------------------------------ introspection

    def first_fix_delays(self) -> list[float | None]:
        """Per aircraft: seconds from its first airborne-position frame to its first position."""
        return self.table.first_fix_delays()
