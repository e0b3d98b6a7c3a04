"""How a decoder says a frame is broken."""


class DecodeError(ValueError):
    """A frame that claimed to carry drone or aircraft data but could not be decoded.

    ``reason`` is a short stable slug used as a counter key (``odid_truncated_pack``,
    ``ble_crc_failed``, ...); the message is for people.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
