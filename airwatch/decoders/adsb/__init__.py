"""ADS-B and Mode S decoding: messages in, aircraft contacts out (pure, no I/O).

* :mod:`.decode` turns one Mode S message into at most one contact (:class:`AdsbDecoder`).
* :mod:`.state` keeps the per-aircraft state: CPR even/odd pairing, local decoding and the
  plausibility checks that keep CRC-lucky phantoms out.
"""

from airwatch.decoders.adsb.decode import AdsbDecoder
from airwatch.decoders.adsb.state import AircraftState, AircraftTable

__all__ = ["AdsbDecoder", "AircraftState", "AircraftTable"]
