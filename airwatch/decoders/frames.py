"""From a captured frame to contacts, whatever its link type, with counters for what was refused.

:class:`FrameDecoder` is the one place a frame enters the decoders.  It picks the decoder for
the frame's link type, counts every frame it refuses by reason, and never lets a broken frame
stop the frames around it.  Its only state is bounded: the Authentication pages of transports
that send one page per frame (Bluetooth 4), waiting for their siblings.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter, OrderedDict
from collections.abc import Callable

from airwatch.contact import AuthPage, Contact
from airwatch.decoders import bluetooth, wifi
from airwatch.decoders.errors import DecodeError
from airwatch.decoders.remoteid import assemble_auth
from airwatch.decoders.signatures import SignatureMatcher
from airwatch.frame import Frame

log = logging.getLogger(__name__)

Decoder = Callable[[Frame, "str | None"], list[Contact]]

DECODERS: dict[int, Decoder] = {
    wifi.LINKTYPE_IEEE802_11_RADIOTAP: wifi.decode_radiotap,
    wifi.LINKTYPE_IEEE802_11: wifi.decode_80211,
    **bluetooth.DECODERS,
}

#: Transmitters whose Authentication pages are kept while they wait for the rest.
AUTH_MAX_TRANSMITTERS = 1024
#: Seconds after which a partial Authentication is forgotten.
AUTH_MAX_AGE = 10.0


class AuthAssembler:
    """Reassembles Authentication pages that arrive one per frame, keyed by transmitter."""

    def __init__(self, max_transmitters: int = AUTH_MAX_TRANSMITTERS, max_age: float = AUTH_MAX_AGE) -> None:
        self.max_transmitters = max_transmitters
        self.max_age = max_age
        self._pending: OrderedDict[tuple[str | None, int], tuple[float, dict[int, AuthPage]]] = OrderedDict()

    def add(self, contact: Contact) -> None:
        for page in contact.auth_pages:
            key = (contact.transmitter, page.auth_type)
            entry = self._pending.get(key)
            if entry is None or contact.time - entry[0] > self.max_age or page.page_number == 0:
                pages: dict[int, AuthPage] = {}
            else:
                pages = entry[1]
            pages[page.page_number] = page
            self._pending[key] = (contact.time, pages)
            self._pending.move_to_end(key)
            done = assemble_auth(pages)
            if done is not None:
                contact.auth = done
                del self._pending[key]
        while len(self._pending) > self.max_transmitters:
            self._pending.popitem(last=False)


class FrameDecoder:
    """Decodes frames of any supported link type and keeps the counters a summary needs."""

    def __init__(self, sensor_id: str | None = None, signatures: SignatureMatcher | None = None) -> None:
        self.sensor_id = sensor_id
        self.frames = 0
        self.contacts = 0
        self.rejected: Counter[str] = Counter()
        self.auth = AuthAssembler()
        self.hci = bluetooth.HciReassembler(self.rejected)  # its orphans count as refusals
        self.decoders: dict[int, Decoder] = {
            **DECODERS,
            bluetooth.LINKTYPE_BLUETOOTH_HCI_H4: self.hci.decode_h4,
            bluetooth.LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR: self.hci.decode_h4_phdr,
        }
        if signatures is not None:  # drone Wi-Fi signatures too, for the correlator
            radiotap = functools.partial(wifi.decode_radiotap, signatures=signatures)
            self.decoders[wifi.LINKTYPE_IEEE802_11_RADIOTAP] = radiotap

    def decode(self, frame: Frame) -> list[Contact]:
        self.frames += 1
        decoder = self.decoders.get(frame.linktype)
        if decoder is None:
            self.rejected[f"linktype_{frame.linktype}_unsupported"] += 1
            return []
        try:
            contacts = decoder(frame, self.sensor_id)
        except DecodeError as e:
            self.rejected[e.reason] += 1
            log.debug("%s frame %d: %s", frame.source, frame.number, e)
            return []
        except Exception as e:  # a decoder bug must not stop the frames around it
            self.rejected["decoder_error"] += 1
            log.warning("%s frame %d: decoder failed: %r", frame.source, frame.number, e)
            return []
        for c in contacts:
            if c.auth_pages and c.auth is None:
                self.auth.add(c)
        self.contacts += len(contacts)
        return contacts
