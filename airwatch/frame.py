"""A frame as a source hands it to the decoders: bytes plus where and when they were heard."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Frame:
    time: float  # receive time, UNIX seconds
    linktype: int  # pcap LINKTYPE_* of ``data``
    data: bytes
    number: int  # 1-based frame number within its source
    source: str  # file name, "-" for standard input, interface name
    interface: int = 0  # pcapng interface id
