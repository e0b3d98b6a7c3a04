"""ASTM F3411 / ASD-STAN EN 4709-002 Remote ID: messages and message packs.

Transports (Wi-Fi beacon, Wi-Fi NaN, Bluetooth 4 and 5) find the Remote ID payload in their
frames and hand it to :func:`decode_odid`.
"""

from airwatch.decoders.remoteid.messages import assemble_auth, decode_odid, resolve_hour

__all__ = ["assemble_auth", "decode_odid", "resolve_hour"]
