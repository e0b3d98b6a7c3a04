"""Mode S messages built on purpose: the inverse of ``decoders.adsb`` for tests and test feeds.

Only what tests need and no real capture provides (a B6 UAV identification, DF18 TIS-B and
ADS-R, a surveillance reply for a chosen address).  Parity is computed with pyModeS's CRC, so
the frames are valid Mode S.
"""

from __future__ import annotations

from pyModeS.util import crc

_CHARSET = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"


def with_parity(body: int, bits: int, address: int = 0) -> bytes:
    """``body`` (the message without its 24 parity bits) plus parity, XORed with ``address``."""
    n = body << 24
    width = bits // 4
    parity = crc(f"{n:0{width}X}") ^ address
    return (n | parity).to_bytes(bits // 8, "big")


def extended_squitter(icao: str, me: int, *, df: int = 17, ca: int = 5) -> bytes:
    """DF17 (``ca`` = capability) or DF18 (``ca`` = control field CF) with a 56-bit ME."""
    body = (((df << 3) | ca) << 80) | (int(icao, 16) << 56) | me
    return with_parity(body, 112)


def ident_me(callsign: str, *, tc: int = 4, category: int = 3) -> int:
    """TC 1-4 identification: set (TC 4 = A, 3 = B, 2 = C), category 0-7, 8 characters."""
    me = (tc << 51) | (category << 48)
    for i, ch in enumerate(callsign.upper().ljust(8)[:8]):
        me |= _CHARSET.index(ch) << (42 - 6 * i)
    return me


def airborne_position_me(
    alt_ft: float, fmt: int, cpr_lat: int, cpr_lon: int, *, tc: int = 11
) -> int:
    """TC 9-18 airborne position, barometric altitude with 25 ft resolution (Q bit set)."""
    n = int(round((alt_ft + 1000) / 25))
    ac12 = ((n >> 4) << 5) | 0x10 | (n & 0xF)
    return (tc << 51) | (ac12 << 36) | (fmt << 34) | (cpr_lat << 17) | cpr_lon


def surveillance_reply(df: int, icao: str, code13: int) -> bytes:
    """DF4/5 (short) or DF20/21 (long, zero MB) with a 13-bit altitude or identity code."""
    head = (df << 27) | code13  # DF(5) FS(3)=0 DR(5)=0 UM(6)=0 AC/ID(13)
    if df >= 16:
        return with_parity(head << 56, 112, int(icao, 16))
    return with_parity(head, 56, int(icao, 16))
