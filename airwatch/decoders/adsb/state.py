"""Per-aircraft state: CPR even/odd pairing, local decoding, and plausibility checks.

What an analyst would expect from a ground station, written down:

* **Global CPR decoding.**  The newest even and odd airborne-position frames of one address pair
  up when they are at most ``pair_window`` (10 s) apart; the newer frame's zone decides.
  Surface frames pair separately (25 s window) and need a reference to pick the quadrant: the
  aircraft's own last position, or the receiver's position from the configuration.  An airborne
  frame is never paired with a surface frame (that mix gives latitudes beyond the pole).
* **First position at once.**  The first valid pair gives the first position (pyModeS's
  PipeDecoder waits for three agreeing fixes, 2 to 14 s on real data).  A first fix is accepted
  only when the pair is self-consistent (decoding it with the other frame as the newer one lands
  within the distance the aircraft can fly between the two frames) and, when a receiver range is
  configured, inside that range.
* **Local CPR decoding** against the aircraft's last position (airborne: 30 s, and only after two
  agreeing fixes, so a lone phantom cannot steer later positions), or against the receiver's
  position (surface always; airborne only when the configured range is under 180 NM, where the
  answer is unambiguous).
* **Plausibility.**  A position farther from the last accepted one than 1500 kt for the elapsed
  time plus 2 km is rejected (``position_jump``); three rejected fixes in a row that agree with
  each other move the anchor (``position_reanchored``), so a phantom first fix cannot lock an
  aircraft out.  A barometric altitude that jumps more than max(500 ft, 100 ft/s) from the last
  one (capped at 5000 ft) is a CRC-lucky ghost and the whole frame is dropped; so is a velocity
  whose ground speed or track jumps more than max(20 kt, 5 kt/s) or max(20 deg, 10 deg/s).  The
  thresholds follow pyModeS's PipeDecoder (see ``pymodes_interesting_messages.md``).

The CPR arithmetic itself is pyModeS's (:mod:`pyModeS.position`); this module only decides which
frames to combine and whether to believe the answer.
"""

from __future__ import annotations

from collections import Counter
from math import asin, cos, radians, sin, sqrt

from pyModeS.position import (
    airborne_position_pair,
    airborne_position_with_ref,
    surface_position_pair,
    surface_position_with_ref,
)

KNOT = 1852.0 / 3600.0  # m/s
FOOT = 0.3048  # m
FT_PER_MIN = FOOT / 60.0  # m/s

MAX_SPEED_KMPS = 1500 * 1.852 / 3600.0
MOTION_MARGIN_KM = 2.0
PAIR_SELF_MARGIN_KM = 0.5
HALF_ZONE_KM = 180 * 1.852  # airborne local decoding is unambiguous within 180 NM
SURFACE_REF_KM = 45 * 1.852


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1 = radians(lat1)
    p2 = radians(lat2)
    a = sin((p2 - p1) / 2) ** 2 + cos(p1) * cos(p2) * sin(radians(lon2 - lon1) / 2) ** 2
    return 12742.0176 * asin(min(1.0, sqrt(a)))


class AircraftState:
    """What is known about one transmitter address."""

    __slots__ = (
        "key",
        "source",
        "first_seen",
        "last_seen",
        "last_es",
        "callsign",
        "category",
        "squawk",
        "emergency",
        "version",
        "nac_p",
        "nac_v",
        "gnss_baro_diff_m",
        "on_ground",
        "even_air",
        "odd_air",
        "even_surf",
        "odd_surf",
        "lat",
        "lon",
        "pos_t",
        "pos_surface",
        "pos_confirmed",
        "rejected",
        "alt_ft",
        "alt_t",
        "alt_rejects",
        "modes_alt_ft",
        "vel_gs",
        "vel_trk",
        "vel_t",
        "vel_rejects",
        "first_position_frame",
        "first_fix",
        "messages",
    )

    def __init__(self, key: str, source: str, t: float) -> None:
        self.key = key
        self.source = source
        self.first_seen = t
        self.last_seen = t
        self.last_es = t
        self.callsign: str | None = None
        self.category: str | None = None
        self.squawk: str | None = None
        self.emergency: int | None = None
        self.version: int | None = None
        self.nac_p: int | None = None
        self.nac_v: int | None = None
        self.gnss_baro_diff_m: float | None = None
        self.on_ground: bool | None = None
        self.even_air: tuple[float, int, int] | None = None
        self.odd_air: tuple[float, int, int] | None = None
        self.even_surf: tuple[float, int, int] | None = None
        self.odd_surf: tuple[float, int, int] | None = None
        self.lat: float | None = None
        self.lon: float | None = None
        self.pos_t: float | None = None
        self.pos_surface = False
        self.pos_confirmed = 0
        self.rejected: list[tuple[float, float, float]] = []
        self.alt_ft: float | None = None
        self.alt_t: float | None = None
        self.alt_rejects = 0
        self.modes_alt_ft: float | None = None  # last altitude from a surveillance reply
        self.vel_gs: float | None = None
        self.vel_trk: float | None = None
        self.vel_t: float | None = None
        self.vel_rejects = 0
        self.first_position_frame: float | None = None  # time of the first airborne position frame
        self.first_fix: float | None = None  # time of the first reported airborne position
        self.messages = 0


class AircraftTable:
    """All aircraft heard by one receiver, with the CPR and plausibility logic.

    ``receiver`` is the receiver's (lat, lon) from the configuration; ``max_range_km`` its
    plausible range (positions beyond it are rejected; under 180 NM it also enables airborne
    local decoding against the receiver).  ``counters`` is shared with the decoder.
    """

    def __init__(
        self,
        *,
        receiver: tuple[float, float] | None = None,
        max_range_km: float | None = None,
        counters: Counter[str] | None = None,
        pair_window: float = 10.0,
        surface_pair_window: float = 25.0,
        local_window: float = 30.0,
        surface_ref_window: float = 600.0,
        anchor_ttl: float = 300.0,
        ttl: float = 300.0,
    ) -> None:
        self.receiver = receiver
        self.max_range_km = max_range_km
        self.receiver_local_airborne = (
            receiver is not None and max_range_km is not None and max_range_km <= HALF_ZONE_KM
        )
        self.counters: Counter[str] = counters if counters is not None else Counter()
        self.pair_window = pair_window
        self.surface_pair_window = surface_pair_window
        self.local_window = local_window
        self.surface_ref_window = surface_ref_window
        self.anchor_ttl = anchor_ttl
        self.ttl = ttl
        self.aircraft: dict[str, AircraftState] = {}
        self._next_sweep = float("-inf")
        # first-position delays of aircraft already evicted (kept for statistics)
        self.evicted_first_fix: list[tuple[str, float, float | None]] = []

    def __len__(self) -> int:
        return len(self.aircraft)

    def get(self, key: str) -> AircraftState | None:
        return self.aircraft.get(key)

    def touch(self, key: str, source: str, t: float) -> AircraftState:
        """The state for an address heard in a CRC-valid extended squitter."""
        if t >= self._next_sweep:
            self.evict(t)
        st = self.aircraft.get(key)
        if st is None:
            st = AircraftState(key, source, t)
            self.aircraft[key] = st
            self.counters["aircraft_new"] += 1
        else:
            if t > st.last_seen:
                st.last_seen = t
            if t > st.last_es:
                st.last_es = t
            st.source = source
        st.messages += 1
        return st

    def evict(self, now: float) -> None:
        cutoff = now - self.ttl
        stale = [k for k, st in self.aircraft.items() if st.last_seen < cutoff]
        for k in stale:
            st = self.aircraft.pop(k)
            if st.first_position_frame is not None:
                self.evicted_first_fix.append((k, st.first_position_frame, st.first_fix))
        if stale:
            self.counters["aircraft_evicted"] += len(stale)
        self._next_sweep = now + min(10.0, self.ttl)

    def first_fix_delays(self) -> list[float | None]:
        """Per aircraft: seconds from its first airborne-position frame to its first position."""
        rows = list(self.evicted_first_fix)
        rows += [
            (k, st.first_position_frame, st.first_fix)
            for k, st in self.aircraft.items()
            if st.first_position_frame is not None
        ]
        return [None if fix is None else fix - first for _, first, fix in rows]

    # ---------------------------------------------------------------- altitude and velocity

    def check_altitude(self, st: AircraftState, t: float, alt_ft: float | None) -> bool:
        """Barometric altitude from an extended squitter: True to keep the frame."""
        if alt_ft is None:
            return True
        prev_t = st.alt_t
        if prev_t is not None and abs(t - prev_t) <= self.anchor_ttl:
            tol = max(500.0, min(abs(t - prev_t) * 100.0, 5000.0))
            if abs(alt_ft - st.alt_ft) > tol:  # type: ignore[operator]
                st.alt_rejects += 1
                if st.alt_rejects < 3:
                    self.counters["altitude_jump"] += 1
                    return False
                self.counters["altitude_reanchored"] += 1
        st.alt_ft = alt_ft
        st.alt_t = t
        st.alt_rejects = 0
        return True

    def altitude_agrees(self, st: AircraftState, t: float, alt_ft: float | None) -> bool:
        """A surveillance-reply altitude (DF4/20) against the extended-squitter anchor."""
        if alt_ft is None or st.alt_t is None or abs(t - st.alt_t) > self.anchor_ttl:
            return True
        tol = max(500.0, min(abs(t - st.alt_t) * 100.0, 5000.0))
        return abs(alt_ft - st.alt_ft) <= tol  # type: ignore[operator]

    def check_velocity(self, st: AircraftState, t: float, gs: float | None, trk: float | None) -> bool:
        """Ground speed (kt) and track from a TC19 message: True to keep it."""
        if gs is None or trk is None:
            return True
        prev_t = st.vel_t
        if prev_t is not None and abs(t - prev_t) <= self.anchor_ttl:
            dt = abs(t - prev_t)
            bad = abs(gs - st.vel_gs) > max(20.0, min(dt * 5.0, 200.0))  # type: ignore[operator]
            if not bad and gs >= 50.0 and st.vel_gs >= 50.0:  # type: ignore[operator]
                d = abs(trk - st.vel_trk) % 360.0  # type: ignore[operator]
                bad = min(d, 360.0 - d) > max(20.0, min(dt * 10.0, 180.0))
            if bad:
                st.vel_rejects += 1
                if st.vel_rejects < 3:
                    self.counters["velocity_jump"] += 1
                    return False
                self.counters["velocity_reanchored"] += 1
        st.vel_gs = gs
        st.vel_trk = trk
        st.vel_t = t
        st.vel_rejects = 0
        return True

    # ---------------------------------------------------------------- positions

    def airborne(
        self, st: AircraftState, t: float, fmt: int, clat: int, clon: int
    ) -> tuple[float, float, str] | None:
        """Store an airborne CPR frame and return (lat, lon, method) when a position results."""
        if st.first_position_frame is None:
            st.first_position_frame = t
        frame = (t, clat, clon)
        if fmt:
            st.odd_air = frame
            opp = st.even_air
        else:
            st.even_air = frame
            opp = st.odd_air
        anchored = st.pos_t is not None and abs(t - st.pos_t) <= self.anchor_ttl
        if opp is not None and abs(t - opp[0]) <= self.pair_window:
            this_newer = t >= opp[0]
            if fmt:
                even, odd, even_newer = opp, frame, not this_newer
            else:
                even, odd, even_newer = frame, opp, this_newer
            pos = airborne_position_pair(
                even[1], even[2], odd[1], odd[2], even_is_newer=even_newer
            )
            if pos is None:
                self.counters["cpr_zone_mismatch"] += 1
            else:
                if not anchored:
                    other = airborne_position_pair(
                        even[1], even[2], odd[1], odd[2], even_is_newer=not even_newer
                    )
                    limit = MAX_SPEED_KMPS * abs(t - opp[0]) + PAIR_SELF_MARGIN_KM
                    if other is None or haversine_km(pos[0], pos[1], other[0], other[1]) > limit:
                        self.counters["cpr_pair_inconsistent"] += 1
                        return None
                return self._accept(st, max(t, opp[0]), pos[0], pos[1], "global", False)
        if (
            anchored
            and not st.pos_surface
            and st.pos_confirmed >= 2
            and t - st.pos_t <= self.local_window  # type: ignore[operator]
        ):
            lat, lon = airborne_position_with_ref(fmt, clat, clon, st.lat, st.lon)
            return self._accept(st, t, lat, lon, "local", False)
        if self.receiver_local_airborne and not anchored:
            rlat, rlon = self.receiver  # type: ignore[misc]
            lat, lon = airborne_position_with_ref(fmt, clat, clon, rlat, rlon)
            return self._accept(st, t, lat, lon, "receiver", False)
        return None

    def surface(
        self, st: AircraftState, t: float, fmt: int, clat: int, clon: int
    ) -> tuple[float, float, str] | None:
        """Store a surface CPR frame and return (lat, lon, method) when a position results."""
        frame = (t, clat, clon)
        if fmt:
            st.odd_surf = frame
            opp = st.even_surf
        else:
            st.even_surf = frame
            opp = st.odd_surf
        own = st.pos_t is not None and abs(t - st.pos_t) <= self.surface_ref_window
        if own:
            ref = (st.lat, st.lon)
            local_method = "local"
        elif self.receiver is not None:
            ref = self.receiver
            local_method = "receiver"
        else:
            self.counters["surface_no_reference"] += 1
            return None
        if opp is not None and abs(t - opp[0]) <= self.surface_pair_window:
            this_newer = t >= opp[0]
            if fmt:
                even, odd, even_newer = opp, frame, not this_newer
            else:
                even, odd, even_newer = frame, opp, this_newer
            pos = surface_position_pair(
                even[1],
                even[2],
                odd[1],
                odd[2],
                lat_ref=ref[0],  # type: ignore[arg-type]
                lon_ref=ref[1],  # type: ignore[arg-type]
                even_is_newer=even_newer,
            )
            if pos is not None:
                return self._accept(st, max(t, opp[0]), pos[0], pos[1], "global", True)
            self.counters["cpr_zone_mismatch"] += 1
        lat, lon = surface_position_with_ref(fmt, clat, clon, ref[0], ref[1])  # type: ignore[arg-type]
        return self._accept(st, t, lat, lon, local_method, True)

    def _accept(
        self, st: AircraftState, t: float, lat: float, lon: float, method: str, surface: bool
    ) -> tuple[float, float, str] | None:
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            self.counters["position_invalid"] += 1
            return None
        rx = self.receiver
        if rx is not None and self.max_range_km is not None:
            if haversine_km(rx[0], rx[1], lat, lon) > self.max_range_km:
                self.counters["position_out_of_range"] += 1
                return None
        if st.pos_t is not None and abs(t - st.pos_t) <= self.anchor_ttl:
            limit = MAX_SPEED_KMPS * abs(t - st.pos_t) + MOTION_MARGIN_KM
            if haversine_km(st.lat, st.lon, lat, lon) > limit:  # type: ignore[arg-type]
                self.counters["position_jump"] += 1
                rej = st.rejected
                rej.append((lat, lon, t))
                del rej[:-3]
                if len(rej) < 3 or not _mutually_consistent(rej):
                    return None
                self.counters["position_reanchored"] += 1
                st.pos_confirmed = 0
            else:
                st.pos_confirmed += 1
        else:
            st.pos_confirmed = 1
        st.rejected.clear()
        st.lat = lat
        st.lon = lon
        st.pos_t = t
        st.pos_surface = surface
        st.on_ground = surface
        if not surface and st.first_fix is None:
            st.first_fix = t
        return lat, lon, method


def _mutually_consistent(points: list[tuple[float, float, float]]) -> bool:
    for i, (la, lo, t) in enumerate(points):
        for la2, lo2, t2 in points[i + 1 :]:
            if haversine_km(la, lo, la2, lo2) > MAX_SPEED_KMPS * abs(t - t2) + MOTION_MARGIN_KM:
                return False
    return True
