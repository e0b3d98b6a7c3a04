"""Write built frames to capture files: pcap (one link type) or pcapng (one interface per link type).

Both writers stream through scapy's raw writers (scapy is the project's choice for pcap output):

* :class:`PcapWriter` wraps ``RawPcapWriter``.  Its header must be written with
  ``write_header(None)`` before ``write_packet`` (``write_packet`` alone emits no global header).
* :class:`PcapNgWriter` wraps ``RawPcapNgWriter``.  Its public ``write_packet`` has no link-type
  argument; the per-packet link type and interface go through ``_write_packet(linktype=,
  ifname=)``, which writes an Interface Description Block the first time an ``ifname`` appears.
  The writer's built-in interface 0 (``ifname=None``, created with the header) is never used
  for packets, so every interface here has a name and a link type of its own.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import TracebackType

from scapy.utils import RawPcapNgWriter, RawPcapWriter


def _split_time(t: float) -> tuple[int, int]:
    frac, whole = math.modf(t)
    usec = round(frac * 1_000_000)
    if usec >= 1_000_000:
        return int(whole) + 1, usec - 1_000_000
    return int(whole), usec


class PcapWriter:
    """``with PcapWriter(path, linktype) as w: w.write(time, data)`` - classic pcap, µs timestamps."""

    def __init__(self, path: str | Path, linktype: int) -> None:
        self.linktype = linktype
        self._w = RawPcapWriter(str(path), linktype=linktype)
        self._w.write_header(None)

    def write(self, time: float, data: bytes, linktype: int | None = None) -> None:
        if linktype is not None and linktype != self.linktype:
            raise ValueError(f"pcap file of LINKTYPE {self.linktype} cannot hold a LINKTYPE {linktype} frame")
        sec, usec = _split_time(time)
        self._w.write_packet(data, sec=sec, usec=usec)

    def close(self) -> None:
        self._w.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class PcapNgWriter:
    """``with PcapNgWriter(path) as w: w.write(time, data, linktype)`` - pcapng, any mix of link types.

    Each link type gets its own interface, named ``interface_names.get(linktype, f"lt{linktype}")``.
    """

    def __init__(self, path: str | Path, interface_names: dict[int, str] | None = None) -> None:
        self._names = interface_names or {}
        self._w = RawPcapNgWriter(str(path))
        self._w.linktype = 0  # interface 0, written with the header and never used (see module doc)

    def write(self, time: float, data: bytes, linktype: int) -> None:
        name = self._names.get(linktype, f"lt{linktype}").encode()
        if not self._w.header_present:
            self._w.write_header(None)
        self._w._write_packet(data, linktype=linktype, sec=time, ifname=name)

    def close(self) -> None:
        self._w.close()

    def __enter__(self) -> PcapNgWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def write_pcap(path: str | Path, frames: list[tuple[float, bytes]], linktype: int) -> None:
    """Write ``(time, data)`` frames of one link type to a pcap file."""
    with PcapWriter(path, linktype) as w:
        for t, data in frames:
            w.write(t, data)


def write_pcapng(path: str | Path, frames: list[tuple[float, bytes, int]]) -> None:
    """Write ``(time, data, linktype)`` frames to a pcapng file, one interface per link type."""
    with PcapNgWriter(path) as w:
        for t, data, linktype in frames:
            w.write(t, data, linktype)
